//! The settings in force: flags over the config file over defaults, and
//! how `check-config` prints them back.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use ferry_server::config_file::ConfigFile;

use super::{accounts, validate};

#[derive(Args, Debug, Default)]
pub(super) struct ServeArgs {
    /// Read settings from this TOML file (see ferryd.example.toml); flags override it.
    #[arg(short, long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    /// Port to listen on (same as --port; the seed's `ferryd PORT` form).
    #[arg(value_name = "PORT")]
    pub(super) port_positional: Option<u16>,
    /// Port to listen on [default: 2121].
    #[arg(short, long, conflicts_with = "port_positional")]
    pub(super) port: Option<u16>,
    /// Address to listen on; repeat for several (IPv4 or IPv6, e.g. ::1) [default: 127.0.0.1].
    #[arg(short, long = "bind", value_name = "ADDR")]
    pub(super) bind: Vec<IpAddr>,
    /// Folder to serve; created if missing [default: ftp-root].
    #[arg(short, long, value_name = "DIR")]
    pub(super) root: Option<PathBuf>,
    /// Serve this S3 bucket instead of --root (needs a build with the `s3`
    /// feature; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
    #[arg(long, value_name = "BUCKET")]
    pub(super) s3_bucket: Option<String>,
    /// Key prefix inside the bucket under which the served tree lives [default: none].
    #[arg(long, value_name = "PREFIX")]
    pub(super) s3_prefix: Option<String>,
    /// Endpoint URL of an S3-compatible server, e.g. http://127.0.0.1:9000 [default: AWS].
    #[arg(long, value_name = "URL")]
    pub(super) s3_endpoint: Option<String>,
    /// S3 region [default: us-east-1, or AWS_REGION].
    #[arg(long, value_name = "REGION")]
    pub(super) s3_region: Option<String>,
    /// Keep accounts in PostgreSQL instead of the users file (needs a build
    /// with the `postgres` feature), e.g. "host=127.0.0.1 user=ferry dbname=ferry".
    #[arg(long, value_name = "CONNINFO", env = "FERRYD_POSTGRES", hide_env_values = true)]
    pub(super) postgres: Option<String>,
    /// Users file (`name:secret` lines); created with one random account if missing [default: users.txt].
    #[arg(short, long, value_name = "FILE")]
    pub(super) users: Option<PathBuf>,
    /// Ports for passive data connections, 1024 or above, e.g. 50000-50100 [default: any free port].
    #[arg(long, value_name = "A-B")]
    pub(super) passive_ports: Option<String>,
    /// Address (or host name, re-resolved every minute) to announce in PASV
    /// replies, for servers behind NAT.
    #[arg(long, value_name = "IP|HOST")]
    pub(super) passive_address: Option<String>,
    /// Close control connections idle this many seconds [default: 300].
    #[arg(long, value_name = "SECS")]
    pub(super) idle_timeout: Option<u64>,
    /// Maximum sessions at once; more are refused with 421 [default: 1024].
    #[arg(long, value_name = "N")]
    pub(super) max_sessions: Option<usize>,
    /// Maximum sessions from one address at once [default: 64].
    #[arg(long, value_name = "N")]
    pub(super) max_sessions_per_ip: Option<u32>,
    /// Close connections not logged in after this many seconds [default: 60].
    #[arg(long, value_name = "SECS")]
    pub(super) login_timeout: Option<u64>,
    /// Milliseconds to wait before answering a failed login [default: 1000].
    #[arg(long, value_name = "MS")]
    pub(super) failure_delay_ms: Option<u64>,
    /// Server-wide upload limit, e.g. 50M (bytes per second).
    #[arg(long, value_name = "RATE", value_parser = ferry_server::auth::settings::parse_bytes)]
    pub(super) upload_rate: Option<u64>,
    /// Server-wide download limit, e.g. 100M (bytes per second).
    #[arg(long, value_name = "RATE", value_parser = ferry_server::auth::settings::parse_bytes)]
    pub(super) download_rate: Option<u64>,
    /// Ban an address after this many failed logins within --ban-window [default: 10].
    #[arg(long, value_name = "N")]
    pub(super) ban_after: Option<u32>,
    /// Seconds over which failed logins are counted [default: 600].
    #[arg(long, value_name = "SECS")]
    pub(super) ban_window: Option<u64>,
    /// Seconds a ban lasts [default: 900].
    #[arg(long, value_name = "SECS")]
    pub(super) ban_time: Option<u64>,
    /// TLS certificate chain (PEM) for FTPS; with neither this nor
    /// --tls-key, a self-signed certificate is made beside the users file.
    #[arg(long, value_name = "FILE")]
    pub(super) tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub(super) tls_key: Option<PathBuf>,
    /// Refuse USER/PASS and transfers in clear text (534/521).
    #[arg(long)]
    pub(super) require_tls: bool,
    /// Serve implicit FTPS (TLS from the first byte) on this port too.
    #[arg(long, value_name = "PORT")]
    pub(super) ftps_port: Option<u16>,
    /// Let data connections use a new TLS session instead of resuming the
    /// control connection's (weaker; for old clients).
    #[arg(long)]
    pub(super) no_tls_reuse: bool,
    /// Turn FTPS off entirely.
    #[arg(long, conflicts_with_all = ["tls_cert", "require_tls", "ftps_port"])]
    pub(super) no_tls: bool,
    /// Log level: error, warn, info, debug or trace, or target=level pairs (RUST_LOG overrides) [default: info].
    #[arg(long, value_name = "LEVEL")]
    pub(super) log_level: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, value_name = "FORMAT")]
    pub(super) log_format: Option<String>,
    /// Write a transfer log in the wu-ftpd/vsftpd xferlog format to this file.
    #[arg(long, value_name = "FILE")]
    pub(super) xferlog: Option<PathBuf>,
    /// On SIGTERM/SIGINT, let running transfers go on this many seconds [default: 30].
    #[arg(long, value_name = "SECS")]
    pub(super) shutdown_grace: Option<u64>,
    /// A load balancer that sends PROXY protocol (v1/v2) headers; repeat for several.
    #[arg(long, value_name = "IP")]
    pub(super) proxy_protocol_from: Vec<IpAddr>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9121).
    #[arg(long, value_name = "ADDR")]
    pub(super) metrics_listen: Option<SocketAddr>,
}

/// The settings in force: flags over the config file over defaults.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) port: u16,
    pub(super) bind: Vec<IpAddr>,
    pub(super) root: PathBuf,
    pub(super) s3_bucket: Option<String>,
    pub(super) s3_prefix: String,
    pub(super) s3_endpoint: Option<String>,
    pub(super) s3_region: String,
    pub(super) postgres: Option<String>,
    pub(super) users: PathBuf,
    pub(super) passive_ports: Option<(u16, u16)>,
    pub(super) passive_address: Option<String>,
    pub(super) idle_timeout: u64,
    pub(super) login_timeout: u64,
    pub(super) max_sessions: usize,
    pub(super) max_sessions_per_ip: u32,
    pub(super) failure_delay_ms: u64,
    pub(super) ban_after: u32,
    pub(super) ban_window: u64,
    pub(super) ban_time: u64,
    pub(super) upload_rate: Option<u64>,
    pub(super) download_rate: Option<u64>,
    pub(super) tls: bool,
    pub(super) tls_cert: Option<PathBuf>,
    pub(super) tls_key: Option<PathBuf>,
    pub(super) require_tls: bool,
    pub(super) tls_reuse: bool,
    pub(super) ftps_port: Option<u16>,
    pub(super) log_level: String,
    pub(super) log_format: String,
    pub(super) xferlog: Option<PathBuf>,
    pub(super) shutdown_grace: u64,
    pub(super) proxy_protocol_from: Vec<IpAddr>,
    pub(super) metrics_listen: Option<SocketAddr>,
}

pub(super) fn resolve(cli: ServeArgs) -> anyhow::Result<Settings> {
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
    pub(super) fn to_toml(&self) -> String {
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
