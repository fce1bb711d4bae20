//! Server settings, independent of how they were given (flags today, a
//! config file later).

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a running server needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The folder served; every user is confined beneath it.
    pub root: PathBuf,
    /// Ports for passive data connections; `None` lets the OS choose.
    pub passive_ports: Option<RangeInclusive<u16>>,
    /// Address announced in `227` replies (for NAT); default: the address
    /// the client reached us on.
    pub passive_address: Option<IpAddr>,
    /// A host name to announce instead, re-resolved every minute (dynamic
    /// DNS, cloud load balancers).
    pub passive_host: Option<String>,
    /// Close a control connection idle this long.
    pub idle_timeout: Duration,
    /// Give up on a data connection that does not open or stalls this long.
    pub data_timeout: Duration,
    /// Longest accepted command line, in bytes.
    pub max_line: usize,
    /// Sessions served at once; more get `421`.
    pub max_sessions: usize,
    /// Failed logins allowed per session before it is closed.
    pub max_login_failures: u32,
    /// Text of the `220` greeting.
    pub greeting: String,
    /// Per-address session cap and failed-login bans.
    pub defender: crate::auth::defender::DefenderConfig,
    /// Pause after each failed login, to slow guessing.
    pub failure_delay: Duration,
    /// Close connections that have not logged in after this long.
    pub login_timeout: Duration,
    /// Server-wide upload cap, bytes per second.
    pub upload_rate: Option<u64>,
    /// Server-wide download cap, bytes per second.
    pub download_rate: Option<u64>,
    /// The xferlog transfer log, if one is kept.
    pub xferlog: Option<std::sync::Arc<crate::xferlog::XferLog>>,
    /// More listeners to the core's events, beside the log, the xferlog
    /// and the metrics (event hooks; tests that check what happened).
    pub subscribers: Subscribers,
    /// Asked before every upload starts (the `pre-upload` hooks).
    pub upload_gate: Gate,
    /// Uploads compute the SHA-256 of their file for their events.
    pub upload_digests: bool,
    /// On shutdown, how long running transfers may go on.
    pub shutdown_grace: Duration,
    /// Load balancers whose connections start with a PROXY protocol header
    /// (v1 or v2); their header's source address is used as the client's.
    pub proxy_from: Vec<std::net::IpAddr>,
    /// FTPS settings; `None` disables `AUTH TLS` and implicit FTPS.
    pub tls: Option<std::sync::Arc<crate::tls::TlsSettings>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            root: PathBuf::from("ftp-root"),
            passive_ports: None,
            passive_address: None,
            passive_host: None,
            idle_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(30),
            max_line: ferry_proto::line::DEFAULT_MAX_LINE,
            max_sessions: 1024,
            max_login_failures: 5,
            greeting: "Ferry FTP server ready.".to_owned(),
            tls: None,
            defender: crate::auth::defender::DefenderConfig::default(),
            failure_delay: Duration::from_secs(1),
            login_timeout: Duration::from_secs(60),
            upload_rate: None,
            download_rate: None,
            xferlog: None,
            subscribers: Subscribers::default(),
            upload_gate: Gate::default(),
            upload_digests: false,
            proxy_from: Vec::new(),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The upload gate (see [`Config::upload_gate`]).
#[derive(Clone, Default)]
pub struct Gate(pub Option<std::sync::Arc<dyn ferry_core::userfs::UploadGate>>);

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "an upload gate" } else { "no upload gate" })
    }
}

/// Listeners to the core's events (see [`Config::subscribers`]).
#[derive(Clone, Default)]
pub struct Subscribers(pub Vec<std::sync::Arc<dyn ferry_core::events::Subscriber>>);

impl std::fmt::Debug for Subscribers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} subscribers", self.0.len())
    }
}
