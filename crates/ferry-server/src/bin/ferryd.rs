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
use ferry_server::auth::hash;
use ferry_server::auth::users_file::{self, UsersFile};
use ferry_server::server::ListenerKind;
use ferry_server::storage::local::LocalStorage;
use ferry_server::tls::TlsSettings;
use ferry_server::{Config, Server};

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

#[derive(Args, Debug)]
struct ServeArgs {
    /// Port to listen on (same as --port; the seed's `ferryd PORT` form).
    #[arg(value_name = "PORT")]
    port_positional: Option<u16>,
    /// Port to listen on.
    #[arg(short, long, default_value_t = 2121, conflicts_with = "port_positional")]
    port: u16,
    /// Address to listen on; repeat for several (IPv4 or IPv6, e.g. ::1).
    #[arg(short, long = "bind", value_name = "ADDR", default_values_t = [IpAddr::from([127, 0, 0, 1])])]
    bind: Vec<IpAddr>,
    /// Folder to serve; created if missing.
    #[arg(short, long, value_name = "DIR", default_value = "ftp-root")]
    root: PathBuf,
    /// Users file (`name:secret` lines); created with one random account if missing.
    #[arg(short, long, value_name = "FILE", default_value = "users.txt")]
    users: PathBuf,
    /// Ports for passive data connections, e.g. 50000-50100 (default: any free port).
    #[arg(long, value_name = "A-B", value_parser = parse_range)]
    passive_ports: Option<(u16, u16)>,
    /// Address to announce in PASV replies, for servers behind NAT.
    #[arg(long, value_name = "IP")]
    passive_address: Option<IpAddr>,
    /// Close control connections idle this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    idle_timeout: u64,
    /// Maximum sessions at once; more are refused with 421.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_sessions: usize,
    /// Maximum sessions from one address at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    max_sessions_per_ip: u32,
    /// Close connections not logged in after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    login_timeout: u64,
    /// Milliseconds to wait before answering a failed login.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    failure_delay_ms: u64,
    /// Server-wide upload limit, e.g. 50M (bytes per second).
    #[arg(long, value_name = "RATE", value_parser = ferry_server::auth::settings::parse_bytes)]
    upload_rate: Option<u64>,
    /// Server-wide download limit, e.g. 100M (bytes per second).
    #[arg(long, value_name = "RATE", value_parser = ferry_server::auth::settings::parse_bytes)]
    download_rate: Option<u64>,
    /// Ban an address after this many failed logins within --ban-window.
    #[arg(long, value_name = "N", default_value_t = 10)]
    ban_after: u32,
    /// Seconds over which failed logins are counted.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    ban_window: u64,
    /// Seconds a ban lasts.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    ban_time: u64,
    /// TLS certificate chain (PEM) for FTPS; with neither this nor
    /// --tls-key, a self-signed certificate is made beside the users file.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
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
    /// Log level: error, warn, info, debug or trace (RUST_LOG overrides).
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: String,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Manage accounts in the users file.
    #[command(subcommand)]
    User(UserCmd),
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
        /// Users file to change.
        #[arg(short, long, value_name = "FILE", default_value = "users.txt")]
        users: PathBuf,
    },
    /// Set a new password for an existing user.
    Passwd {
        /// User name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Users file to change.
        #[arg(short, long, value_name = "FILE", default_value = "users.txt")]
        users: PathBuf,
    },
    /// Remove a user.
    Del {
        /// User name.
        name: String,
        /// Users file to change.
        #[arg(short, long, value_name = "FILE", default_value = "users.txt")]
        users: PathBuf,
    },
    /// List the user names.
    List {
        /// Users file to read.
        #[arg(short, long, value_name = "FILE", default_value = "users.txt")]
        users: PathBuf,
    },
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once('-').ok_or("expected A-B, like 50000-50100")?;
    let (a, b): (u16, u16) = (a.trim().parse().map_err(|e| format!("{e}"))?, b.trim().parse().map_err(|e| format!("{e}"))?);
    if a == 0 || b < a {
        return Err("expected 1 <= A <= B".into());
    }
    Ok((a, b))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::User(cmd)) => user_command(cmd),
        None => serve(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferryd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let p = rpassword::prompt_password("Password: ").context("reading the password (use --password-stdin without a terminal)")?;
        let again = rpassword::prompt_password("Again: ")?;
        if p != again {
            bail!("the passwords differ; nothing was changed");
        }
        p
    };
    if password.is_empty() {
        bail!("empty password refused");
    }
    Ok(password)
}

fn user_command(cmd: UserCmd) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Add { name, password_stdin, users } => {
            let password = read_password(password_stdin)?;
            let replaced = users_file::set_user(&users, &name, &password)?;
            println!("{} user {name} in {}", if replaced { "updated" } else { "added" }, users.display());
        }
        UserCmd::Passwd { name, password_stdin, users } => {
            if !UsersFile::load(&users)?.names().contains(&name) {
                bail!("no user {name:?} in {}; add it with `ferryd user add {name}`", users.display());
            }
            let password = read_password(password_stdin)?;
            users_file::set_user(&users, &name, &password)?;
            println!("changed the password of {name} in {}", users.display());
        }
        UserCmd::Del { name, users } => {
            users_file::remove_user(&users, &name)?;
            println!("removed user {name} from {}", users.display());
        }
        UserCmd::List { users } => {
            for name in UsersFile::load(&users)?.names() {
                println!("{name}");
            }
        }
    }
    Ok(())
}

/// Create a users file with one random account, and say so once.
fn first_run_users(path: &Path) -> anyhow::Result<()> {
    let password = hash::random_password(16);
    users_file::set_user(path, "ferry", &password).with_context(|| format!("creating {}", path.display()))?;
    println!("ferryd: created {} with one account (the password is shown only now):", path.display());
    println!("    user:     ferry");
    println!("    password: {password}");
    println!("  Add accounts with `ferryd user add NAME`.");
    Ok(())
}

fn init_logging(level: &str) -> anyhow::Result<()> {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| level.to_owned());
    let filter: tracing_subscriber::filter::Targets = spec.parse().with_context(|| format!("invalid log level {spec:?}"))?;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())))
        .with(filter)
        .init();
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(&args.log_level)?;
    if !args.users.exists() {
        first_run_users(&args.users)?;
    }
    let users = UsersFile::load(&args.users)?;
    for (line, name) in users.plain_text_lines() {
        tracing::warn!(
            "{}:{line}: the password of {name:?} is stored in plain text; hash it with `ferryd user add {name}`",
            args.users.display()
        );
    }
    if users.is_empty() {
        tracing::warn!("{} has no accounts: nobody can log in", args.users.display());
    }
    if !args.root.exists() {
        std::fs::create_dir_all(&args.root).with_context(|| format!("creating the root folder {}", args.root.display()))?;
    }
    let storage = LocalStorage::open(&args.root).with_context(|| format!("opening the root folder {}", args.root.display()))?;
    let tls = if args.no_tls { None } else { Some(Arc::new(tls_settings(&args)?)) };
    let port = args.port_positional.unwrap_or(args.port);
    let config = Config {
        root: args.root.clone(),
        passive_ports: args.passive_ports.map(|(a, b)| a..=b),
        passive_address: args.passive_address,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_sessions: args.max_sessions,
        tls,
        login_timeout: Duration::from_secs(args.login_timeout),
        upload_rate: args.upload_rate,
        download_rate: args.download_rate,
        failure_delay: Duration::from_millis(args.failure_delay_ms),
        defender: ferry_server::auth::defender::DefenderConfig {
            max_sessions_per_ip: args.max_sessions_per_ip,
            ban_after: args.ban_after,
            window: Duration::from_secs(args.ban_window),
            ban_time: Duration::from_secs(args.ban_time),
        },
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
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
        let server = Server::new(config, Arc::new(storage), Arc::new(users));
        let root = std::fs::canonicalize(&args.root).unwrap_or(args.root.clone());
        for (l, kind) in &listeners {
            let what = if *kind == ListenerKind::ImplicitFtps { "implicit FTPS" } else { "FTP" };
            tracing::info!("serving {} over {what} on {} (accounts from {})", root.display(), l.local_addr()?, args.users.display());
        }
        let reload = {
            let server = server.clone();
            let path = args.users.clone();
            async move {
                let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
                    return;
                };
                while hup.recv().await.is_some() {
                    match UsersFile::load(&path) {
                        Ok(u) => {
                            tracing::info!(accounts = u.len(), "reloaded {}", path.display());
                            server.set_authenticator(Arc::new(u));
                        }
                        Err(e) => tracing::error!("keeping the old accounts: {e}"),
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
fn tls_settings(args: &ServeArgs) -> anyhow::Result<TlsSettings> {
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
    settings.require_reuse = !args.no_tls_reuse;
    Ok(settings)
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
