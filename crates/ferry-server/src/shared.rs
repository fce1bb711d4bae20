//! What every session of one server shares: settings, the core's
//! services (storage, quotas, limits, events), the accounts in force,
//! bans, TLS state, metrics and the shutdown signals. The accept loop (`crate::server`) makes it; sessions read it.

use std::sync::{Arc, RwLock};

use crate::auth::defender::Defender;
use crate::config::Config;
use ferry_core::services::Services;

/// State shared by every session of one server.
pub struct Shared {
    /// Settings.
    pub config: Config,
    /// The core below the sessions: the file tree, quota ledgers, upload
    /// claims, bandwidth limiters and the event bus. Each session opens
    /// its user's view on it (`UserFs`) at login.
    pub services: Arc<Services>,
    /// Who may log in; replaced on reload (sessions notice through its
    /// generation).
    pub auth: Arc<crate::auth::Current>,
    /// Per-address limits and bans.
    pub defender: Arc<Defender>,
    /// The address announced in `227` replies (from `passive_address`, or
    /// the latest resolution of `passive_host`).
    pub(crate) passive_ip: RwLock<Option<std::net::IpAddr>>,
    /// FTPS settings in force; replaced when certificates are reloaded.
    pub(crate) tls: RwLock<Option<Arc<crate::tls::TlsSettings>>>,
    /// TLS state kept for the server's life, across reloads: ticket key,
    /// session cache, which login each TLS session belongs to.
    pub(crate) tls_state: crate::tls::ServerTls,
    /// Counters and gauges for Prometheus (a subscriber of the events,
    /// plus what sessions set directly).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Set when the server begins to shut down.
    pub(crate) shutdown: tokio::sync::watch::Sender<bool>,
    /// Set when the shutdown grace period is over: transfers still running
    /// are stopped (and answered) then.
    pub(crate) stop_transfers: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    /// The FTPS settings in force, if FTPS is on.
    pub(crate) fn tls(&self) -> Option<Arc<crate::tls::TlsSettings>> {
        crate::sync::read(&self.tls).clone()
    }
}
