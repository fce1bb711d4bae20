//! `ferryd`: the Ferry FTP server.
//!
//! With no arguments it serves `./ftp-root` on 127.0.0.1:2121 to the
//! accounts in `./users.txt`, creating both on first run.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
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
#[path = "ferryd/settings.rs"]
mod settings;

use settings::{ServeArgs, Settings, resolve};

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
    anyhow::bail!(
        "s3-bucket {bucket:?} is set, but this ferryd was built without S3 support: rebuild with `cargo build --release --features s3`"
    )
}
