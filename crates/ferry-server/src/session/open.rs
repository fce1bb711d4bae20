//! A session's start and end: the accepted connection becomes a
//! [`Session`], which is served until the client quits, goes idle too long
//! or disconnects.
//!
//! The session is built before its task starts, and the task's future is
//! a block that owns it and serves it in place: an idle session's memory
//! is mostly that future, sized for everything it holds across a wait, and
//! each layer of `async` around it would keep its own copy of what it
//! passed down (the stream, the addresses, the handles). An `async fn`
//! taking the session by value would hold it twice (its argument and the
//! local it is moved into): the block captures it once.

use std::net::SocketAddr;
use std::sync::Arc;

use ferry_proto::VirtualPath;
use ferry_proto::command::ChecksumAlgo;
use tracing::Instrument;

use super::data::DataSetup;
use super::state::State;
use super::{Session, closed_silently, control, stream};
use crate::shared::Shared;

/// What a session holds for its life and gives back when it ends: its
/// place under `max-sessions`, and its address's slot with the defender.
/// Only held: dropping it gives both back.
pub(crate) struct Admission {
    _permit: tokio::sync::OwnedSemaphorePermit,
    _slot: crate::auth::defender::SessionSlot,
}

impl Admission {
    pub(crate) fn new(permit: tokio::sync::OwnedSemaphorePermit, slot: crate::auth::defender::SessionSlot) -> Admission {
        Admission { _permit: permit, _slot: slot }
    }
}

/// The future that serves the client on `stream`, or `None` if the
/// connection is already unusable. With `implicit`, the connection is TLS
/// from the first byte (implicit FTPS, as on port 990). `peer` is the
/// client's address: the TCP peer, or what a trusted load balancer's PROXY
/// header said. The session is registered in the core's registry here (it
/// gives the session its number).
pub(crate) fn start(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    admission: Admission,
    implicit: bool,
) -> Option<impl Future<Output = ()> + Send + 'static> {
    let local = stream.local_addr().ok()?;
    // Listed for the administrator from here on, before any login.
    let registration = shared.services.sessions().open("ftp", peer);
    // `tls` is recorded once, when TLS starts (at the handshake for
    // implicit FTPS, at `AUTH TLS` otherwise): a field given a value here
    // and recorded again later would be written twice on every line.
    let id = registration.id();
    let span = tracing::info_span!("session", id, %peer, user = tracing::field::Empty, tls = tracing::field::Empty);
    // On Linux the socket has its options from the listener already.
    if !control::INHERITS_OPTIONS {
        control::set_options(&socket2::SockRef::from(&stream));
    }
    // Until the client sends a command, this may be a load balancer's
    // health check: its connections are logged at debug only.
    span.in_scope(|| tracing::debug!("connection open"));
    let config = &shared.config;
    let mut session = Session {
        // A client that reads no reply for as long as a session may sit
        // idle has stopped reading (vsftpd drops such clients within 15 s).
        ctl: control::Control::new(stream::Stream::Plain(stream), config.max_line, config.data_timeout.min(config.idle_timeout)),
        peer,
        local,
        state: State::new(implicit),
        cwd: VirtualPath::root(),
        data: DataSetup::None,
        mlst_facts: 0b1_1111,
        hash_algo: ChecksumAlgo::Sha256,
        login_failures: 0,
        pending: Default::default(),
        quit: false,
        closing: false,
        heard: false,
        tls: None,
        fs: None,
        registration,
        commit_settle: false,
        auth_generation: 0,
        auth_recheck: None,
        blocking: std::sync::OnceLock::new(),
        _admission: admission,
        shared,
    };
    Some(async move { session.serve(implicit).await }.instrument(span))
}

impl Session {
    /// The session's task: the implicit TLS handshake if there is one,
    /// the command loop, and what its end tells the logs and the events.
    async fn serve(&mut self, implicit: bool) {
        // The login phase starts now, the handshake included.
        self.ctl.set_deadline(Some(control::after(self.shared.config.login_timeout)));
        if implicit && !self.implicit_tls().await {
            return;
        }
        self.shared.metrics.sessions_open.inc();
        let result = self.run().await;
        self.shared.metrics.sessions_open.dec();
        if let Some(fs) = self.fs.take() {
            self.shared.services.events().logout(&self.info(), fs.user());
        }
        match (result, self.heard) {
            (Ok(()), true) => tracing::info!("session end"),
            (Err(e), true) => tracing::info!(error = %e, "session end: control connection lost"),
            (Ok(()), false) => tracing::debug!("connection closed without a command"),
            (Err(e), false) => tracing::debug!(error = %e, "connection lost without a command"),
        }
    }

    /// Implicit FTPS: the handshake, within the login and data timeouts.
    /// False when the session ends here.
    async fn implicit_tls(&mut self) -> bool {
        let Some(settings) = self.shared.tls() else { return false };
        let acceptor = self.shared.tls_state.session(&settings, self.peer.ip());
        let limit = self.shared.config.login_timeout.min(self.shared.config.data_timeout);
        // Boxed: the handshake future is large and needed only here.
        match Box::pin(self.ctl.upgrade(&acceptor, limit)).await {
            Ok(()) => {
                tracing::Span::current().record("tls", true);
                self.tls = Some(acceptor);
                true
            }
            // A TCP health check on the FTPS port closes without a hello.
            Err(e) if closed_silently(&e) => {
                tracing::debug!(error = %e, "connection closed without a command (before the TLS handshake)");
                false
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                tracing::info!("implicit TLS handshake timed out");
                false
            }
            Err(e) => {
                tracing::info!(error = %e, "implicit TLS handshake failed");
                false
            }
        }
    }
}
