//! `ferryd`: the Ferry FTP server.
//!
//! With no arguments it serves `./ftp-root` on 127.0.0.1:2121 to the
//! accounts in `./users.txt`, creating both on first run.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use ferry_server::config_file::ConfigFile;
use ferry_server::server::ListenerKind;
use ferry_server::storage::Storage;
use ferry_server::storage::local::LocalStorage;
use ferry_server::tls::TlsSettings;
use ferry_server::xferlog::XferLog;
use ferry_server::{Config, Server};

#[path = "ferryd/validate.rs"]
mod validate;

/// `println!` in this file writes through [`write_stdout`]: standard
/// output may be a pipe whose reader has gone (`ferryd check-config | head
/// -1`), and std's `println!` panics then.
macro_rules! println {
    () => { $crate::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Write to standard output. A closed pipe means the reader has all it
/// wanted: the program ends quietly with status 0, as ripgrep does. Any
/// other failure ends it with an error.
fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    match std::io::stdout().lock().write_fmt(args) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("ferryd: cannot write to standard output: {e}");
            std::process::exit(1);
        }
    }
}

// After the macro above, so that the accounts commands print through it.
#[path = "ferryd/accounts.rs"]
mod accounts;

/// Ferry FTP server: RFC 959/2389/2428/3659 FTP with argon2id accounts and
/// every user confined to the served folder.
#[derive(Parser, Debug)]
#[command(name = "ferryd", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Args, Debug, Default)]
struct ServeArgs {
    /// Read settings from this TOML file (see ferryd.example.toml); flags override it.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Port to listen on (same as --port; the seed's `ferryd PORT` form).
    #[arg(value_name = "PORT")]
    port_positional: Option<u16>,
    /// Port to listen on [default: 2121].
    #[arg(short, long, conflicts_with = "port_positional")]
    port: Option<u16>,
    /// Address to listen on; repeat for several (IPv4 or IPv6, e.g. ::1) [default: 127.0.0.1].
    #[arg(short, long = "bind", value_name = "ADDR")]
    bind: Vec<IpAddr>,
    /// Folder to serve; created if missing [default: ftp-root].
    #[arg(short, long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Serve this S3 bucket instead of --root (needs a build with the `s3`
    /// feature; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
    #[arg(long, value_name = "BUCKET")]
    s3_bucket: Option<String>,
    /// Key prefix inside the bucket under which the served tree lives [default: none].
    #[arg(long, value_name = "PREFIX")]
    s3_prefix: Option<String>,
    /// Endpoint URL of an S3-compatible server, e.g. http://127.0.0.1:9000 [default: AWS].
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// S3 region [default: us-east-1, or AWS_REGION].
    #[arg(long, value_name = "REGION")]
    s3_region: Option<String>,
    /// Keep accounts in PostgreSQL instead of the users file (needs a build
    /// with the `postgres` feature), e.g. "host=127.0.0.1 user=ferry dbname=ferry".
    #[arg(long, value_name = "CONNINFO", env = "FERRYD_POSTGRES", hide_env_values = true)]
    postgres: Option<String>,
    /// Users file (`name:secret` lines); created with one random account if missing [default: users.txt].
    #[arg(short, long, value_name = "FILE")]
    users: Option<PathBuf>,
    /// Ports for passive data connections, 1024 or above, e.g. 50000-50100 [default: any free port].
    #[arg(long, value_name = "A-B")]
    passive_ports: Option<String>,
    /// Address (or host name, re-resolved every minute) to announce in PASV
    /// replies, for servers behind NAT.
    #[arg(long, value_name = "IP|HOST")]
    passive_address: Option<String>,
    /// Close control connections idle this many seconds [default: 300].
    #[arg(long, value_name = "SECS")]
    idle_timeout: Option<u64>,
    /// Maximum sessions at once; more are refused with 421 [default: 1024].
    #[arg(long, value_name = "N")]
    max_sessions: Option<usize>,
    /// Maximum sessions from one address at once [default: 64].
    #[arg(long, value_name = "N")]
    max_sessions_per_ip: Option<u32>,
    /// Close connections not logged in after this many seconds [default: 60].
    #[arg(long, value_name = "SECS")]
    login_timeout: Option<u64>,
    /// Milliseconds to wait before answering a failed login [default: 1000].
    #[arg(long, value_name = "MS")]
    failure_delay_ms: Option<u64>,
    /// Server-wide upload limit, e.g. 50M (bytes per second).
    #[arg(long, value_name = "RATE", value_parser = ferry_server::auth::settings::parse_bytes)]
    upload_rate: Option<u64>,
    /// Server-wide download limit, e.g. 100M (bytes per second).
    #[arg(long, value_name = "RATE", value_parser = ferry_server::auth::settings::parse_bytes)]
    download_rate: Option<u64>,
    /// Ban an address after this many failed logins within --ban-window [default: 10].
    #[arg(long, value_name = "N")]
    ban_after: Option<u32>,
    /// Seconds over which failed logins are counted [default: 600].
    #[arg(long, value_name = "SECS")]
    ban_window: Option<u64>,
    /// Seconds a ban lasts [default: 900].
    #[arg(long, value_name = "SECS")]
    ban_time: Option<u64>,
    /// TLS certificate chain (PEM) for FTPS; with neither this nor
    /// --tls-key, a self-signed certificate is made beside the users file.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Refuse USER/PASS and transfers in clear text (534/521).
    #[arg(long)]
    require_tls: bool,
    /// Serve implicit FTPS (TLS from the first byte) on this port too.
    #[arg(long, value_name = "PORT")]
    ftps_port: Option<u16>,
    /// Let data connections use a new TLS session instead of resuming the
    /// control connection's (weaker; for old clients).
    #[arg(long)]
    no_tls_reuse: bool,
    /// Turn FTPS off entirely.
    #[arg(long, conflicts_with_all = ["tls_cert", "require_tls", "ftps_port"])]
    no_tls: bool,
    /// Log level: error, warn, info, debug or trace, or target=level pairs (RUST_LOG overrides) [default: info].
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Write a transfer log in the wu-ftpd/vsftpd xferlog format to this file.
    #[arg(long, value_name = "FILE")]
    xferlog: Option<PathBuf>,
    /// On SIGTERM/SIGINT, let running transfers go on this many seconds [default: 30].
    #[arg(long, value_name = "SECS")]
    shutdown_grace: Option<u64>,
    /// A load balancer that sends PROXY protocol (v1/v2) headers; repeat for several.
    #[arg(long, value_name = "IP")]
    proxy_protocol_from: Vec<IpAddr>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9121).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
}

/// The settings in force: flags over the config file over defaults.
#[derive(Debug, Clone)]
struct Settings {
    port: u16,
    bind: Vec<IpAddr>,
    root: PathBuf,
    s3_bucket: Option<String>,
    s3_prefix: String,
    s3_endpoint: Option<String>,
    s3_region: String,
    postgres: Option<String>,
    users: PathBuf,
    passive_ports: Option<(u16, u16)>,
    passive_address: Option<String>,
    idle_timeout: u64,
    login_timeout: u64,
    max_sessions: usize,
    max_sessions_per_ip: u32,
    failure_delay_ms: u64,
    ban_after: u32,
    ban_window: u64,
    ban_time: u64,
    upload_rate: Option<u64>,
    download_rate: Option<u64>,
    tls: bool,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    require_tls: bool,
    tls_reuse: bool,
    ftps_port: Option<u16>,
    log_level: String,
    log_format: String,
    xferlog: Option<PathBuf>,
    shutdown_grace: u64,
    proxy_protocol_from: Vec<IpAddr>,
    metrics_listen: Option<SocketAddr>,
}

fn resolve(cli: ServeArgs) -> anyhow::Result<Settings> {
    let file = match &cli.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let passive_ports = cli
        .passive_ports
        .or(file.passive_ports)
        .map(|r| validate::parse_range(&r).map_err(|e| anyhow::anyhow!("passive-ports {r:?}: {e}")))
        .transpose()?;
    let s = Settings {
        port: cli.port_positional.or(cli.port).or(file.port).unwrap_or(2121),
        bind: if !cli.bind.is_empty() { cli.bind } else { file.bind.unwrap_or_else(|| vec![IpAddr::from([127, 0, 0, 1])]) },
        root: cli.root.or(file.root).unwrap_or_else(|| "ftp-root".into()),
        s3_bucket: cli.s3_bucket.or(file.s3_bucket),
        s3_prefix: cli.s3_prefix.or(file.s3_prefix).unwrap_or_default(),
        s3_endpoint: cli.s3_endpoint.or(file.s3_endpoint),
        s3_region: cli.s3_region.or(file.s3_region).or_else(|| std::env::var("AWS_REGION").ok()).unwrap_or_else(|| "us-east-1".into()),
        postgres: cli.postgres.or(file.postgres),
        users: cli.users.or(file.users).unwrap_or_else(|| "users.txt".into()),
        passive_ports,
        passive_address: cli.passive_address.or(file.passive_address),
        idle_timeout: cli.idle_timeout.or(file.idle_timeout).unwrap_or(300),
        login_timeout: cli.login_timeout.or(file.login_timeout).unwrap_or(60),
        max_sessions: cli.max_sessions.or(file.max_sessions).unwrap_or(1024),
        max_sessions_per_ip: cli
            .max_sessions_per_ip
            .or(file.max_sessions_per_ip)
            .unwrap_or(ferry_server::auth::defender::DEFAULT_MAX_SESSIONS_PER_IP),
        failure_delay_ms: cli.failure_delay_ms.or(file.failure_delay_ms).unwrap_or(1000),
        ban_after: cli.ban_after.or(file.ban_after).unwrap_or(10),
        ban_window: cli.ban_window.or(file.ban_window).unwrap_or(600),
        ban_time: cli.ban_time.or(file.ban_time).unwrap_or(900),
        upload_rate: cli.upload_rate.or(file.upload_rate.map(|b| b.0)),
        download_rate: cli.download_rate.or(file.download_rate.map(|b| b.0)),
        tls: !cli.no_tls && file.tls.unwrap_or(true),
        tls_cert: cli.tls_cert.or(file.tls_cert),
        tls_key: cli.tls_key.or(file.tls_key),
        require_tls: cli.require_tls || file.require_tls.unwrap_or(false),
        tls_reuse: !cli.no_tls_reuse && file.tls_reuse.unwrap_or(true),
        ftps_port: cli.ftps_port.or(file.ftps_port),
        log_level: cli.log_level.or(file.log_level).unwrap_or_else(|| "info".into()),
        log_format: cli.log_format.or(file.log_format).unwrap_or_else(|| "text".into()),
        xferlog: cli.xferlog.or(file.xferlog),
        shutdown_grace: cli.shutdown_grace.or(file.shutdown_grace).unwrap_or(30),
        proxy_protocol_from: if !cli.proxy_protocol_from.is_empty() {
            cli.proxy_protocol_from
        } else {
            file.proxy_protocol_from.unwrap_or_default()
        },
        metrics_listen: cli.metrics_listen.or(file.metrics_listen),
    };
    match validate::problems(&s).as_slice() {
        [] => Ok(s),
        [one] => bail!("{one}"),
        many => bail!("{} problems with the settings:\n  {}", many.len(), many.join("\n  ")),
    }
}

impl Settings {
    /// The effective settings as TOML, for `ferryd check-config`.
    fn to_toml(&self) -> String {
        let opt = |v: &Option<String>| v.as_ref().map_or("# (not set)".to_owned(), |v| format!("{v:?}"));
        let path = |v: &Option<PathBuf>| opt(&v.as_ref().map(|p| p.display().to_string()));
        let num = |v: Option<u64>| v.map_or("# (not set)".to_owned(), |v| v.to_string());
        let bind: Vec<String> = self.bind.iter().map(|b| format!("{:?}", b.to_string())).collect();
        [
            format!("port = {}", self.port),
            format!("bind = [{}]", bind.join(", ")),
            format!("ftps-port = {}", num(self.ftps_port.map(u64::from))),
            format!("root = {:?}", self.root.display().to_string()),
            format!("s3-bucket = {}", opt(&self.s3_bucket)),
            format!("s3-prefix = {:?}", self.s3_prefix),
            format!("s3-endpoint = {}", opt(&self.s3_endpoint)),
            format!("s3-region = {:?}", self.s3_region),
            format!("postgres = {}", opt(&self.postgres.as_deref().map(accounts::shown_conninfo))),
            format!("users = {:?}", self.users.display().to_string()),
            format!("passive-ports = {}", opt(&self.passive_ports.map(|(a, b)| format!("{a}-{b}")))),
            format!("passive-address = {}", opt(&self.passive_address)),
            format!("idle-timeout = {}", self.idle_timeout),
            format!("login-timeout = {}", self.login_timeout),
            format!("max-sessions = {}", self.max_sessions),
            format!("max-sessions-per-ip = {}", self.max_sessions_per_ip),
            format!("failure-delay-ms = {}", self.failure_delay_ms),
            format!("ban-after = {}", self.ban_after),
            format!("ban-window = {}", self.ban_window),
            format!("ban-time = {}", self.ban_time),
            format!("upload-rate = {}", num(self.upload_rate)),
            format!("download-rate = {}", num(self.download_rate)),
            format!("tls = {}", self.tls),
            format!("tls-cert = {}", path(&self.tls_cert)),
            // The key file's contents are the secret; only its path is shown.
            format!("tls-key = {}", path(&self.tls_key)),
            format!("require-tls = {}", self.require_tls),
            format!("tls-reuse = {}", self.tls_reuse),
            format!("log-level = {:?}", self.log_level),
            format!("log-format = {:?}", self.log_format),
            format!("xferlog = {}", path(&self.xferlog)),
            format!("shutdown-grace = {}", self.shutdown_grace),
            format!("metrics-listen = {}", opt(&self.metrics_listen.map(|a| a.to_string()))),
            format!(
                "proxy-protocol-from = [{}]",
                self.proxy_protocol_from.iter().map(|i| format!("{:?}", i.to_string())).collect::<Vec<_>>().join(", ")
            ),
        ]
        .join("\n")
    }
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Manage accounts in the users file.
    #[command(subcommand)]
    User(UserCmd),
    /// Check the configuration (file and flags) and print the settings in force.
    CheckConfig(Box<ServeArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `ferryd man > ferryd.1`.
    Man,
}

#[derive(Subcommand, Debug)]
enum UserCmd {
    /// Add a user, or set a new password for an existing one (stored hashed).
    Add {
        /// User name: letters, digits, '.', '_', '-', '@'.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: AccountStore,
    },
    /// Set a new password for an existing user.
    Passwd {
        /// User name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: AccountStore,
    },
    /// Remove a user.
    Del {
        /// User name.
        name: String,
        #[command(flatten)]
        store: AccountStore,
    },
    /// List the user names.
    List {
        #[command(flatten)]
        store: AccountStore,
    },
}

/// Where `ferryd user` finds the accounts.
#[derive(Args, Debug)]
struct AccountStore {
    /// Users file.
    #[arg(short, long, value_name = "FILE", default_value = "users.txt")]
    users: PathBuf,
    /// The accounts in PostgreSQL instead (see `ferryd --postgres`).
    #[arg(long, value_name = "CONNINFO", env = "FERRYD_POSTGRES", hide_env_values = true)]
    postgres: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::User(cmd)) => accounts::user_command(cmd),
        Some(Cmd::CheckConfig(args)) => check_config(*args),
        // Written to a buffer first: a closed pipe (`| head`) is not an error.
        Some(Cmd::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "ferryd", &mut out);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &out);
            Ok(())
        }
        Some(Cmd::Man) => {
            let mut out = Vec::new();
            let _ = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &out);
            Ok(())
        }
        None => resolve(cli.serve).and_then(serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferryd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str, format: &str) -> anyhow::Result<()> {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| level.to_owned());
    let filter: tracing_subscriber::filter::Targets = spec.parse().with_context(|| format!("invalid log level {spec:?}"))?;
    use ferry_server::log_escape::{EscapedFields, JsonControls};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let registry = tracing_subscriber::registry().with(filter);
    // Clients choose user names and paths: both formats escape control
    // characters in them, so that no client can forge a line or send the
    // terminal an escape sequence.
    if format == "json" {
        // One JSON object per line for log collectors, with the session
        // span (id, peer, user) on every event.
        registry.with(tracing_subscriber::fmt::layer().json().with_current_span(true).with_writer(JsonControls(std::io::stderr))).init();
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(EscapedFields)
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            )
            .init();
    }
    Ok(())
}

/// `ferryd check-config`: validate everything a start would, print the
/// effective settings, start nothing.
fn check_config(args: ServeArgs) -> anyhow::Result<()> {
    let s = resolve(args)?;
    accounts::check(s.postgres.as_deref(), &s.users)?;
    if let (Some(cert), Some(key)) = (&s.tls_cert, &s.tls_key) {
        TlsSettings::from_pem_files(cert, key)?;
    }
    println!("{}", s.to_toml());
    eprintln!("ferryd: configuration OK");
    Ok(())
}

fn serve(args: Settings) -> anyhow::Result<()> {
    init_logging(&args.log_level, &args.log_format)?;
    if args.postgres.is_none() && !args.users.exists() {
        accounts::first_run_users(&args.users)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(ferry_server::server::blocking_threads(args.max_sessions))
        .build()
        .context("starting the async runtime")?;
    let accounts = Arc::new(runtime.block_on(accounts::Accounts::open(args.postgres.as_deref(), &args.users))?);
    let users = accounts.load(false)?;
    let storage = {
        // The S3 backend keeps a handle on the runtime it will wait on.
        let _runtime = runtime.enter();
        open_storage(&args)?
    };
    let tls = if args.tls { Some(Arc::new(tls_settings(&args)?)) } else { None };
    let port = args.port;
    let config = Config {
        root: args.root.clone(),
        passive_ports: args.passive_ports.map(|(a, b)| a..=b),
        passive_address: args.passive_address.as_deref().and_then(|a| a.parse().ok()),
        // (A host name was resolved once by `validate`, so that a typo
        // fails at start, not at the first PASV.)
        passive_host: args.passive_address.clone().filter(|a| a.parse::<IpAddr>().is_err()),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_sessions: args.max_sessions,
        tls,
        login_timeout: Duration::from_secs(args.login_timeout),
        upload_rate: args.upload_rate,
        download_rate: args.download_rate,
        failure_delay: Duration::from_millis(args.failure_delay_ms),
        xferlog: match &args.xferlog {
            Some(p) => Some(Arc::new(XferLog::open(p).with_context(|| format!("opening the transfer log {}", p.display()))?)),
            None => None,
        },
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        proxy_from: args.proxy_protocol_from.clone(),
        defender: ferry_server::auth::defender::DefenderConfig {
            max_sessions_per_ip: args.max_sessions_per_ip,
            ban_after: args.ban_after,
            window: Duration::from_secs(args.ban_window),
            ban_time: Duration::from_secs(args.ban_time),
        },
        ..Config::default()
    };
    runtime.block_on(async move {
        let mut listeners = Vec::new();
        let kinds = std::iter::once((port, ListenerKind::Ftp)).chain(args.ftps_port.map(|p| (p, ListenerKind::ImplicitFtps)));
        for (p, kind) in kinds {
            for ip in &args.bind {
                let addr = SocketAddr::new(*ip, p);
                let l = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (is another server using it? try --port)"))?;
                listeners.push((l, kind));
            }
        }
        let server = Server::new(config, storage, users);
        if let Some(addr) = args.metrics_listen {
            let l = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen for metrics on {addr}"))?;
            tracing::info!("metrics at http://{addr}/metrics");
            tokio::spawn(ferry_server::metrics::serve(l, server.metrics()));
        }
        let root = match &args.s3_bucket {
            Some(bucket) => PathBuf::from(format!("s3://{bucket}/{}", args.s3_prefix)),
            None => std::fs::canonicalize(&args.root).unwrap_or(args.root.clone()),
        };
        for (l, kind) in &listeners {
            let what = if *kind == ListenerKind::ImplicitFtps { "implicit FTPS" } else { "FTP" };
            tracing::info!("serving {} over {what} on {} (accounts from {})", root.display(), l.local_addr()?, accounts.describe());
        }
        let reload = {
            let server = server.clone();
            let settings = args.clone();
            let accounts = accounts.clone();
            async move {
                let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
                    return;
                };
                while hup.recv().await.is_some() {
                    let reloaded = {
                        let accounts = accounts.clone();
                        tokio::task::spawn_blocking(move || accounts.load(true)).await
                    };
                    match reloaded {
                        Ok(Ok(u)) => {
                            // In force before it is logged (tests wait for the line).
                            server.set_authenticator(u);
                            tracing::info!("reloaded the accounts from {}", accounts.describe());
                        }
                        Ok(Err(e)) => tracing::error!("keeping the old accounts: {e:#}"),
                        Err(e) => tracing::error!("keeping the old accounts: {e}"),
                    }
                    // Files changed behind ferryd's back are counted again,
                    // and a crash's leftover upload files are removed.
                    server.refresh_storage();
                    // Renewed certificates (e.g. from Let's Encrypt) take
                    // effect for new sessions.
                    if settings.tls {
                        match tls_settings(&settings) {
                            Ok(t) => {
                                tracing::info!("reloaded the TLS certificate");
                                server.set_tls(Arc::new(t));
                            }
                            Err(e) => tracing::error!("keeping the old TLS certificate: {e:#}"),
                        }
                    }
                }
            }
        };
        tokio::spawn(reload);
        server.serve(listeners, shutdown_signal()).await?;
        Ok(())
    })
}

/// Load the configured certificate, or make a self-signed one beside the
/// users file on first run (and say its fingerprint, for clients to pin).
fn tls_settings(args: &Settings) -> anyhow::Result<TlsSettings> {
    let mut settings = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => TlsSettings::from_pem_files(cert, key)?,
        _ => {
            let dir = args.users.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let (settings, created) = TlsSettings::self_signed_in(dir)?;
            if created {
                println!("ferryd: created a self-signed TLS certificate in {}", dir.join("ferryd-cert.pem").display());
                println!("    SHA-256 fingerprint: {}", settings.fingerprint);
            }
            settings
        }
    };
    tracing::info!("FTPS certificate SHA-256 fingerprint {}", settings.fingerprint);
    settings.require_tls = args.require_tls;
    settings.require_reuse = args.tls_reuse;
    Ok(settings)
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}

/// The local folder, or the S3 bucket when one is configured.
fn open_storage(args: &Settings) -> anyhow::Result<Arc<dyn Storage>> {
    if let Some(bucket) = &args.s3_bucket {
        return open_s3(args, bucket);
    }
    if !args.root.exists() {
        std::fs::create_dir_all(&args.root).with_context(|| format!("creating the root folder {}", args.root.display()))?;
    }
    let storage = LocalStorage::open(&args.root).with_context(|| format!("opening the root folder {}", args.root.display()))?;
    Ok(Arc::new(storage))
}

#[cfg(feature = "s3")]
fn open_s3(args: &Settings, bucket: &str) -> anyhow::Result<Arc<dyn Storage>> {
    use ferry_server::storage::s3::{S3Settings, S3Storage};
    let settings = S3Settings {
        bucket: bucket.to_owned(),
        prefix: args.s3_prefix.clone(),
        endpoint: args.s3_endpoint.clone(),
        region: args.s3_region.clone(),
        credentials: None,
        timeouts: Default::default(),
    };
    let storage = S3Storage::open(&settings).with_context(|| format!("configuring the S3 bucket {bucket}"))?;
    // Reach the bucket now, so that a wrong endpoint or key fails at start.
    storage.list(&ferry_proto::VirtualPath::root()).with_context(|| {
        format!("listing s3://{bucket}/{}: check the endpoint, the bucket and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", args.s3_prefix)
    })?;
    Ok(Arc::new(storage))
}

#[cfg(not(feature = "s3"))]
fn open_s3(_args: &Settings, bucket: &str) -> anyhow::Result<Arc<dyn Storage>> {
    bail!("s3-bucket {bucket:?} is set, but this ferryd was built without S3 support: rebuild with `cargo build --release --features s3`")
}
