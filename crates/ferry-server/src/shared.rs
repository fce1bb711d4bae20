//! What every session of one server shares: settings, storage, the
//! accounts in force, limits, bans, TLS state, metrics and the shutdown
//! signals. The accept loop (`crate::server`) makes it; sessions read it.

use std::sync::{Arc, RwLock};

use crate::auth::defender::Defender;
use crate::config::Config;
use crate::limits::RateLimiter;
use crate::storage::Storage;

/// State shared by every session of one server.
pub struct Shared {
    /// Settings.
    pub config: Config,
    /// The file tree.
    pub storage: Arc<dyn Storage>,
    /// Who may log in; replaced on reload (sessions notice through its
    /// generation).
    pub auth: crate::auth::Current,
    /// Per-address limits and bans.
    pub defender: Arc<Defender>,
    /// Server-wide bandwidth limits: (upload, download).
    pub global_limits: (Option<Arc<RateLimiter>>, Option<Arc<RateLimiter>>),
    /// The address announced in `227` replies (from `passive_address`, or
    /// the latest resolution of `passive_host`).
    pub(crate) passive_ip: RwLock<Option<std::net::IpAddr>>,
    /// FTPS settings in force; replaced when certificates are reloaded.
    pub(crate) tls: RwLock<Option<Arc<crate::tls::TlsSettings>>>,
    /// TLS state kept for the server's life, across reloads: ticket key,
    /// session cache, which login each TLS session belongs to.
    pub(crate) tls_state: crate::tls::ServerTls,
    /// Counters and gauges for Prometheus.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Set when the server begins to shut down.
    pub(crate) shutdown: tokio::sync::watch::Sender<bool>,
    /// Set when the shutdown grace period is over: transfers still running
    /// are stopped (and answered) then.
    pub(crate) stop_transfers: tokio::sync::watch::Sender<bool>,
    /// Per-user bandwidth limiters, shared by a user's sessions; keyed by
    /// user and direction (true for upload).
    pub user_limits: std::sync::Mutex<std::collections::HashMap<(String, bool), Arc<RateLimiter>>>,
    /// Quota usage per home folder.
    pub quotas: crate::quota::Quotas,
    /// Paths (as the whole server sees them) with an upload in progress.
    pub(crate) uploads: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Shared {
    /// The FTPS settings in force, if FTPS is on.
    pub(crate) fn tls(&self) -> Option<Arc<crate::tls::TlsSettings>> {
        crate::sync::read(&self.tls).clone()
    }
}
