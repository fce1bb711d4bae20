//! The accept loop: a cap on sessions, the defender's word on each
//! address, and for each connection the deadlines russh does not keep
//! (the login, writes to a client that stopped reading) and the signals
//! that end it (a kick from the admin API, the server's shutdown).

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use russh::{Disconnect, SshId};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::deadline::WriteDeadline;
use crate::ssh::Connection;
use crate::{Core, SftpSettings};

/// The SFTP server: settings and the core, ready to serve on listeners.
#[derive(Clone)]
pub struct SftpServer {
    core: Arc<Core>,
    settings: Arc<SftpSettings>,
    ssh: Arc<russh::server::Config>,
    budget: Arc<crate::sftp::Budget>,
}

impl SftpServer {
    /// A server with `settings` on `core`.
    pub fn new(core: Core, settings: SftpSettings) -> SftpServer {
        let ssh = russh::server::Config {
            server_id: SshId::Standard(Cow::Borrowed(concat!("SSH-2.0-ferryd_", env!("CARGO_PKG_VERSION")))),
            methods: russh::MethodSet::from(&[russh::MethodKind::PublicKey, russh::MethodKind::Password][..]),
            // Every refusal waits as long as FTP's (the first `none` probe,
            // which every client sends, need not).
            auth_rejection_time: settings.failure_delay,
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: settings.host_keys.clone(),
            preferred: crate::algorithms::preferred(),
            // Key probes count here too; failed passwords are counted by
            // the connection, to the configured limit.
            max_auth_attempts: 20,
            inactivity_timeout: Some(settings.timeouts.idle),
            nodelay: true,
            window_size: 8 << 20,
            ..Default::default()
        };
        let budget = Arc::new(crate::sftp::Budget::from_rlimit());
        SftpServer { core: Arc::new(core), settings: Arc::new(settings), ssh: Arc::new(ssh), budget }
    }

    /// Serve on `listener` until `stopping` turns true; then sessions are
    /// told to end, and given the shutdown grace to do so.
    pub async fn serve(&self, listener: TcpListener, mut stopping: tokio::sync::watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.settings.max_sessions));
        let mut sessions = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
                r = stopping.wait_for(|s| *s) => { let _ = r; break }
            };
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "sftp accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                tracing::warn!(%peer, limit = self.settings.max_sessions, "refused SFTP connection: too many sessions (max-sessions)");
                continue;
            };
            let slot = match self.core.defender.admit(peer.ip(), std::time::Instant::now()) {
                Ok(slot) => slot,
                Err(refusal) => {
                    tracing::warn!(%peer, "refused SFTP connection: {}", refusal.text());
                    continue;
                }
            };
            let this = self.clone();
            sessions.spawn(async move {
                let _held = (permit, slot);
                this.connection(stream, peer).await;
            });
        }
        self.core.services.sessions().shut_down("sftp");
        let _ = tokio::time::timeout(self.settings.shutdown_grace, async { while sessions.join_next().await.is_some() {} }).await;
        sessions.shutdown().await;
    }

    async fn connection(&self, stream: TcpStream, peer: SocketAddr) {
        /// Counts the connection as an open session while it lives.
        struct Open(Arc<ferry_core::events::metrics::Metrics>);
        impl Drop for Open {
            fn drop(&mut self) {
                self.0.sessions_open.dec();
            }
        }
        self.core.metrics.sessions_open.inc();
        let _open = Open(self.core.metrics.clone());
        let registration = Arc::new(self.core.services.sessions().open("sftp", peer));
        let span = tracing::info_span!("sftp", session = registration.id(), %peer, user = tracing::field::Empty);
        let _enter = span.enter();
        let handler =
            Connection::new(self.core.clone(), self.settings.clone(), peer, registration.clone(), self.budget.clone(), span.clone());
        let authenticated = handler.authenticated.clone();
        // A second descriptor of the socket, to cut the connection when
        // russh cannot say goodbye (a disconnect before the key exchange
        // is never sent) or the client does not go.
        let closer = std::os::fd::AsFd::as_fd(&stream).try_clone_to_owned().ok().map(std::net::TcpStream::from);
        let cut = move || {
            if let Some(c) = &closer {
                let _ = c.shutdown(std::net::Shutdown::Both);
            }
        };
        let stream = WriteDeadline::new(stream, self.settings.timeouts.data);
        // The login deadline runs from the accept: the version exchange
        // and the key exchange count, as FTP's greeting does.
        let login_by = tokio::time::Instant::now() + self.settings.timeouts.login;
        drop(_enter);
        let run = async {
            let started = tokio::time::timeout_at(login_by, russh::server::run_stream(self.ssh.clone(), stream, handler)).await;
            let mut running = match started {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => return tracing::debug!(error = %e, "connection ended before the SSH handshake"),
                Err(_) => {
                    tracing::info!("disconnecting: no SSH version in time");
                    return cut();
                }
            };
            let handle = running.handle();
            let deadline = tokio::time::sleep_until(login_by);
            tokio::pin!(deadline);
            let kicked = registration.kicked();
            let ending = registration.ending();
            tokio::pin!(kicked, ending);
            let mut waiting_for_login = true;
            let reason = loop {
                tokio::select! {
                    r = &mut running => {
                        match r {
                            Ok(()) => tracing::debug!("connection closed"),
                            Err(e) => tracing::info!("connection ended: {e}"),
                        }
                        return;
                    }
                    () = &mut deadline, if waiting_for_login => {
                        if !authenticated.load(Ordering::Acquire) {
                            break "no login in time";
                        }
                        waiting_for_login = false;
                    }
                    () = &mut kicked => break "your session was ended by an administrator",
                    () = &mut ending => break "the server is shutting down",
                }
            };
            tracing::info!("disconnecting: {reason}");
            let _ = handle.disconnect(Disconnect::ByApplication, reason.to_owned(), "en".to_owned()).await;
            if tokio::time::timeout(Duration::from_secs(5), &mut running).await.is_err() {
                cut();
                let _ = tokio::time::timeout(Duration::from_secs(5), running).await;
            }
        };
        tracing::Instrument::instrument(run, span).await;
    }
}
