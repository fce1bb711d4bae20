//! Running the server: the settings become a [`Config`], the listeners
//! are bound, and `SIGHUP` reloads accounts and certificates; and `ferryd
//! check-config`, which checks everything a start would and starts
//! nothing.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferry_server::server::ListenerKind;
use ferry_server::tls::TlsSettings;
use ferry_server::xferlog::XferLog;
use ferry_server::{Config, Server};

use super::options::Options;
use super::settings::{self, ServeArgs};
use super::{accounts, logging, storage, validate};

/// `ferryd check-config`: validate everything a start would, print the
/// effective settings, start nothing.
pub(crate) fn check_config(args: ServeArgs) -> anyhow::Result<()> {
    let s = settings::resolve(args)?;
    accounts::check(s.postgres.as_deref(), &s.users)?;
    if let (Some(cert), Some(key)) = (&s.tls_cert, &s.tls_key) {
        TlsSettings::from_pem_files(cert, key)?;
    }
    if let Some(key) = s.sftp_host_key.as_deref().filter(|_| s.sftp_port.is_some()) {
        ferry_sftp_server::host_key::load(key).context("checking the SFTP host key")?;
    }
    println!("{}", settings::to_toml(&s)?);
    eprintln!("ferryd: configuration OK");
    Ok(())
}

/// `ferryd`: serve with the settings in force until SIGTERM or SIGINT,
/// reloading accounts, settings and the certificate on SIGHUP.
pub(crate) fn serve(args: Options) -> anyhow::Result<()> {
    logging::init(&args.log_level, &args.log_format)?;
    if args.postgres.is_none() && !args.users.exists() {
        accounts::first_run_users(&args.users)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(ferry_server::server::blocking_threads(args.max_sessions))
        .build()
        .context("starting the async runtime")?;
    let accounts = Arc::new(runtime.block_on(accounts::Accounts::open(args.postgres.as_deref(), &args.users))?);
    let users = super::hooks::wrap_accounts(&args, accounts.load(false)?)?;
    let (storage, hooks) = {
        // The S3 backend keeps a handle on the runtime it will wait on;
        // the hooks' delivery task runs on it.
        let _runtime = runtime.enter();
        let super::hooks::Hooks { dispatcher, gate } = super::hooks::start(&args)?;
        (storage::open(&args)?, dispatcher.map(|d| (d, gate)))
    };
    let (hooks, upload_gate) = match hooks {
        Some((d, gate)) => (Some(d), gate),
        None => (None, None),
    };
    let tls = if args.tls { Some(Arc::new(tls_settings(&args)?)) } else { None };
    let port = args.port;
    let config = Config {
        root: args.root.clone(),
        passive_ports: args.passive_ports.as_deref().and_then(|r| validate::parse_range(r).ok()).map(|(a, b)| a..=b),
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
        subscribers: ferry_server::config::Subscribers(
            hooks.iter().map(|h| h.clone() as Arc<dyn ferry_core::events::Subscriber>).collect(),
        ),
        upload_digests: hooks.as_ref().is_some_and(|h| h.wants_sha256()),
        upload_gate: ferry_server::config::Gate(upload_gate.map(|g| g as Arc<dyn ferry_core::userfs::UploadGate>)),
        ..Config::default()
    };
    let sftp = match args.sftp_port {
        Some(_) => Some(super::sftp::settings(&args, &config)?),
        None => None,
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
        let mut sftp_listeners = Vec::new();
        if let Some(p) = args.sftp_port {
            for ip in &args.bind {
                let addr = SocketAddr::new(*ip, p);
                let l = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen for SFTP on {addr} (is sshd or another server using it? try --sftp-port)"))?;
                sftp_listeners.push(l);
            }
        }
        let server = Server::new(config, storage, users);
        if let Some(addr) = args.metrics_listen {
            let l = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen for metrics on {addr}"))?;
            tracing::info!("metrics at http://{addr}/metrics");
            tokio::spawn(ferry_server::metrics::serve(l, server.metrics()));
        }
        if let Some(h) = &hooks {
            server.metrics().register(|r| h.metrics().register(r));
        }
        let root = match &args.s3_bucket {
            Some(bucket) => PathBuf::from(format!("s3://{bucket}/{}", args.s3_prefix)),
            None => std::fs::canonicalize(&args.root).unwrap_or(args.root.clone()),
        };
        for (l, kind) in &listeners {
            let what = if *kind == ListenerKind::ImplicitFtps { "implicit FTPS" } else { "FTP" };
            tracing::info!("serving {} over {what} on {} (accounts from {})", root.display(), l.local_addr()?, accounts.describe());
        }
        let mut sftp_tasks = tokio::task::JoinSet::new();
        if let Some(settings) = sftp {
            let core = ferry_sftp_server::Core {
                services: server.services(),
                auth: server.accounts(),
                defender: server.defender(),
                metrics: server.metrics(),
            };
            let sftp = ferry_sftp_server::SftpServer::new(core, settings);
            for l in sftp_listeners {
                tracing::info!("serving {} over SFTP on {} (accounts from {})", root.display(), l.local_addr()?, accounts.describe());
                let (sftp, stopping) = (sftp.clone(), server.stopping());
                sftp_tasks.spawn(async move { sftp.serve(l, stopping).await });
            }
        }
        let reloader = super::reload::Reloader::new(server.clone(), args.clone(), accounts.clone());
        tokio::spawn(reloader.clone().on_sighup());
        if let Some(addr) = args.admin_listen {
            let mut shown = Vec::new();
            for (l, kind) in &listeners {
                shown.push((if *kind == ListenerKind::ImplicitFtps { "ftps" } else { "ftp" }, l.local_addr()?));
            }
            shown.extend(args.sftp_port.iter().flat_map(|p| args.bind.iter().map(|ip| ("sftp", SocketAddr::new(*ip, *p)))));
            shown.extend(args.metrics_listen.map(|a| ("metrics", a)));
            super::admin::start(addr, &reloader, &shown).await?;
        }
        server.serve(listeners, shutdown_signal()).await?;
        // SFTP sessions had the same grace period, at the same time.
        while sftp_tasks.join_next().await.is_some() {}
        // What is not delivered yet stays in the spool for the next start.
        if let Some(h) = hooks {
            h.stop().await;
        }
        Ok(())
    })
}

/// Load the configured certificate, or make a self-signed one beside the
/// users file on first run (and say its fingerprint, for clients to pin).
pub(crate) fn tls_settings(args: &Options) -> anyhow::Result<TlsSettings> {
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
