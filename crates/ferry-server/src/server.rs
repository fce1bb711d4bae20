//! The accept loop: one task per session, a cap on how many run at once,
//! and a shutdown signal.

use std::io;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ferry_proto::Reply;
use ferry_proto::reply::code;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::auth::Authenticator;
use crate::auth::defender::Defender;
use crate::config::Config;
pub use crate::shared::Shared;
use crate::storage::Storage;
use ferry_core::events::Events;
use ferry_core::limits::Rates;
use ferry_core::services::Services;

/// Threads the blocking pool may grow to for `max_sessions` sessions. A
/// session's blocking work is bounded (its file-system jobs by
/// `session::BLOCKING_SLOTS`, and one transfer pump), so a pool this size
/// holds every session's work at once: no set of sessions, however hostile,
/// can fill it and make the others wait. Threads are started on demand and
/// end after ten idle seconds; tokio's default of 512 is the floor.
pub fn blocking_threads(max_sessions: usize) -> usize {
    (max_sessions.saturating_mul(crate::session::BLOCKING_SLOTS + 1)).saturating_add(64).max(512)
}

/// A configured server, ready to serve on listeners.
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

impl Server {
    /// A server over `storage`, admitting who `auth` admits.
    pub fn new(config: Config, storage: Arc<dyn Storage>, auth: Arc<dyn Authenticator>) -> Server {
        // Logs, the xferlog and the metrics hear what happened from the
        // core's event stream.
        let events = Events::new();
        let metrics = Arc::new(crate::metrics::Metrics::default());
        events.subscribe(Arc::new(ferry_core::events::log::LogEvents::for_escaping_formatter()));
        events.subscribe(metrics.clone());
        if let Some(xferlog) = &config.xferlog {
            events.subscribe(xferlog.clone());
        }
        for subscriber in &config.subscribers.0 {
            events.subscribe(subscriber.clone());
        }
        let defender = Defender::with_events(config.defender.clone(), events.clone());
        let services = Services::new(storage, Rates::new(config.upload_rate, config.download_rate), events);
        services.set_upload_gate(config.upload_gate.0.clone());
        services.set_upload_digests(config.upload_digests);
        let shutdown = tokio::sync::watch::Sender::new(false);
        let passive_ip = RwLock::new(config.passive_address);
        let tls = config.tls.clone();
        Server {
            shared: Arc::new(Shared {
                config,
                services,
                auth: Arc::new(crate::auth::Current::new(auth)),
                defender,
                shutdown,
                stop_transfers: tokio::sync::watch::Sender::new(false),
                passive_ip,
                metrics,
                tls: RwLock::new(tls),
                tls_state: Default::default(),
            }),
        }
    }

    #[cfg(test)]
    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// The core's services: among them the registry of open sessions
    /// (`services().sessions()`) and the event bus.
    pub fn services(&self) -> Arc<Services> {
        self.shared.services.clone()
    }

    /// The accounts in force, replaced on reload (for the other front
    /// doors, which log in on the same accounts).
    pub fn accounts(&self) -> Arc<crate::auth::Current> {
        self.shared.auth.clone()
    }

    /// The per-address limits and bans (`bans`, `unban`).
    pub fn defender(&self) -> Arc<Defender> {
        self.shared.defender.clone()
    }

    /// The server's metrics (serve them with [`crate::metrics::serve`]).
    pub fn metrics(&self) -> Arc<crate::metrics::Metrics> {
        self.shared.metrics.clone()
    }

    /// A TLS configuration for the server's other listeners (the admin
    /// API's HTTPS), with the certificate FTPS uses — the one in force at
    /// each handshake, so a reloaded certificate reaches them too. `None`
    /// when TLS is off.
    pub fn https_config(&self) -> Option<Arc<rustls::ServerConfig>> {
        self.shared.tls()?;
        let shared = Arc::downgrade(&self.shared);
        let current = move || shared.upgrade()?.tls();
        Some(crate::tls::https_config(crate::tls::FollowingCert(Box::new(current))))
    }

    /// Turns true when the server begins to shut down (for listeners of
    /// other front doors, which stop with it).
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shared.shutdown.subscribe()
    }

    /// How long a failed login waits before it is answered.
    pub fn failure_delay(&self) -> std::time::Duration {
        self.shared.config.failure_delay
    }

    /// Use a new certificate (reloaded on SIGHUP) for sessions that start
    /// from now on; sessions already running keep theirs.
    pub fn set_tls(&self, tls: Arc<crate::tls::TlsSettings>) {
        *crate::sync::write(&self.shared.tls) = Some(tls);
    }

    /// After a reload (SIGHUP): quota usage is walked again at each home's
    /// next upload, and temporary upload files left behind by a crash are
    /// removed in the background.
    pub fn refresh_storage(&self) {
        self.shared.services.rescan_quotas();
        tokio::task::spawn_blocking({
            let storage = self.shared.services.storage().clone();
            move || clean_stale_uploads(&*storage)
        });
    }

    /// Swap the authenticator (for example after the users file changed).
    /// Sessions already logged in look their account up again at their
    /// next command: new settings apply to them, and a deleted, disabled
    /// or moved account ends them.
    pub fn set_authenticator(&self, auth: Arc<dyn Authenticator>) {
        self.shared.auth.set(auth);
    }

    /// Serve plain FTP on every listener until `shutdown` completes, then
    /// stop accepting and end the sessions.
    pub async fn run(&self, listeners: Vec<TcpListener>, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        self.serve(listeners.into_iter().map(|l| (l, ListenerKind::Ftp)).collect(), shutdown).await
    }

    /// Like [`Server::run`], with each listener's kind given.
    pub async fn serve(&self, listeners: Vec<(TcpListener, ListenerKind)>, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let permits = Arc::new(Semaphore::new(self.shared.config.max_sessions));
        let mut accepters = JoinSet::new();
        for (listener, kind) in listeners {
            crate::session::control::prepare_listener(&listener);
            let (shared, permits) = (self.shared.clone(), permits.clone());
            accepters.spawn(accept_loop(listener, shared, permits, kind == ListenerKind::ImplicitFtps));
        }
        // A passive host name is resolved now and every minute after.
        if let Some(host) = self.shared.config.passive_host.clone() {
            let shared = self.shared.clone();
            accepters.spawn(async move {
                loop {
                    match tokio::net::lookup_host((host.as_str(), 0)).await.map(|mut a| a.find(|a| a.is_ipv4())) {
                        Ok(Some(addr)) => {
                            let ip = addr.ip();
                            let old = crate::sync::write(&shared.passive_ip).replace(ip);
                            if old != Some(ip) {
                                tracing::info!(%host, %ip, "passive address resolved");
                            }
                        }
                        Ok(None) => tracing::warn!(%host, "passive host name has no IPv4 address; keeping the last one"),
                        Err(e) => tracing::warn!(%host, error = %e, "cannot resolve the passive host name; keeping the last address"),
                    }
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
            });
        }
        // Temporary files of uploads that a crash interrupted: at start,
        // again once those of a crash just before the start are old enough
        // to tell from new ones, then every hour.
        let storage = self.shared.services.storage().clone();
        accepters.spawn(async move {
            for pause in [STALE_UPLOAD_AGE * 2].into_iter().chain(std::iter::repeat(Duration::from_secs(3600))) {
                let s = storage.clone();
                let _ = tokio::task::spawn_blocking(move || clean_stale_uploads(&*s)).await;
                tokio::time::sleep(pause).await;
            }
        });
        // Forget expired bans now and then.
        let defender = self.shared.defender.clone();
        accepters.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                defender.sweep(std::time::Instant::now());
            }
        });
        shutdown.await;
        // Graceful: idle sessions are told 421 and closed, new connections
        // get 421, running transfers may finish within the grace period.
        let grace = self.shared.config.shutdown_grace;
        tracing::info!(grace_secs = grace.as_secs(), "shutting down");
        self.shared.shutdown.send_replace(true);
        // The flag first, then the sessions waiting between commands: one
        // registered after this sees the flag.
        self.shared.services.sessions().shut_down("ftp");
        let all = self.shared.config.max_sessions;
        let _ = tokio::time::timeout(grace, async {
            while permits.available_permits() < all {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        if permits.available_permits() < all {
            tracing::warn!(sessions = all - permits.available_permits(), "grace period over; stopping the transfers still running");
            // Stopped transfers wind down as an ABOR would (a replaced file
            // untouched, a new file's partial kept) and are answered.
            self.shared.stop_transfers.send_replace(true);
            let _ = tokio::time::timeout(STOP_TIMEOUT, async {
                while permits.available_permits() < all {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await;
        }
        accepters.shutdown().await;
        Ok(())
    }
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// FTP, with `AUTH TLS` when TLS is configured.
    Ftp,
    /// Implicit FTPS: TLS from the first byte.
    ImplicitFtps,
}

/// How long a refusal (`421`) may take to leave. It fits in any new
/// socket's buffer at once; the limit is for a client that never reads.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// Answer `421 text` and close.
async fn refuse(mut stream: tokio::net::TcpStream, text: String) {
    let reply = Reply::new(code::NOT_AVAILABLE, text).encode();
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, stream.write_all(&reply)).await;
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, permits: Arc<Semaphore>, implicit: bool) {
    // Sessions live in this set, so they end when the accept loop is dropped.
    let mut sessions = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if *shared.shutdown.borrow() {
            if !implicit {
                tokio::spawn(refuse(stream, "Server shutting down; try again later.".to_owned()));
            }
            continue;
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            let text =
                format!("Too many connections to this server (limit {}: max-sessions); try again later.", shared.config.max_sessions);
            tracing::warn!(%peer, "refused connection: {text}");
            if !implicit {
                tokio::spawn(refuse(stream, text));
            }
            continue;
        };
        let shared = shared.clone();
        if !crate::proxy::expected(&shared.config.proxy_from, peer) {
            match admit(stream, peer, shared, permit, implicit) {
                Admitted::Session(session) => drop(sessions.spawn(session)),
                Admitted::Refused(refusal) => drop(sessions.spawn(refusal)),
                Admitted::Closed => {}
            }
            continue;
        }
        // A PROXY header is read in the session's own task, so a slow
        // client never stalls the accept loop.
        sessions.spawn(async move {
            let mut stream = stream;
            // Boxed, as the session: only load balancers' connections
            // need the header's future, and no task keeps it past the
            // header.
            let limit = shared.config.data_timeout.min(Duration::from_secs(10));
            let peer = match Box::pin(crate::proxy::read_header(&mut stream, peer, limit)).await {
                Ok(client) => client,
                // A health check that closes before saying anything.
                Err(e) if crate::session::closed_silently(&e) => {
                    return tracing::debug!(%peer, error = %e, "load-balancer connection closed without a PROXY header");
                }
                Err(e) => return tracing::warn!(%peer, error = %e, "dropped a load-balancer connection without a valid PROXY header"),
            };
            match admit(stream, peer, shared, permit, implicit) {
                Admitted::Session(session) => Box::pin(session).await,
                Admitted::Refused(refusal) => refusal.await,
                Admitted::Closed => {}
            }
        });
    }
}

/// What becomes of an accepted connection.
enum Admitted<S, R> {
    /// Served: the session's future.
    Session(S),
    /// Refused by the defender: the future that says why (`421`).
    Refused(R),
    /// Closed at once (refused on the implicit FTPS port, where a
    /// clear-text reply would not be understood, or no longer usable).
    Closed,
}

/// Ask the defender about `peer` (the client, as a PROXY header may have
/// named it), and make the session or the refusal. Nothing here waits.
fn admit(
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    shared: Arc<Shared>,
    permit: tokio::sync::OwnedSemaphorePermit,
    implicit: bool,
) -> Admitted<impl Future<Output = ()> + Send + 'static, impl Future<Output = ()> + Send + 'static> {
    match shared.defender.admit(peer.ip(), std::time::Instant::now()) {
        Ok(slot) => {
            let admission = crate::session::open::Admission::new(permit, slot);
            crate::session::open::start(stream, peer, shared, admission, implicit).map_or(Admitted::Closed, Admitted::Session)
        }
        Err(refusal) => {
            let text = refusal.text();
            tracing::warn!(%peer, "refused connection: {text}");
            if implicit { Admitted::Closed } else { Admitted::Refused(refuse(stream, text)) }
        }
    }
}

/// How long transfers stopped at the end of the shutdown grace period may
/// take to wind down before their sessions are dropped.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Temporary upload files held by no upload are leftovers of a crash: a
/// live upload locks its file from the moment it creates it (see
/// `storage::local`). The age only covers that moment, between the
/// creation and the lock.
const STALE_UPLOAD_AGE: Duration = Duration::from_secs(2);

fn clean_stale_uploads(storage: &dyn Storage) {
    match storage.clean_stale_uploads(STALE_UPLOAD_AGE) {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "removed temporary upload files left behind by an earlier crash"),
        Err(e) => tracing::warn!(error = %e, "could not look for leftover temporary upload files"),
    }
}
