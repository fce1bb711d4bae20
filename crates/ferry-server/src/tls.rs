//! FTPS (RFC 4217) on the server: the certificate, and the TLS acceptors
//! of control and data connections.
//!
//! # Which data connections are accepted
//!
//! With `require_reuse` (the default), a `PROT P` data connection must
//! resume a TLS session of this server, as vsftpd's `require_ssl_reuse`
//! demands, so that someone who connects to a session's passive port
//! cannot take its transfer. Every TLS session is bound to the login that
//! created it (`tls/binding.rs`): each control connection gets a token that
//! its tickets and TLS 1.2 session IDs carry, tamper-proof, and the server
//! remembers the client address and user behind each token. A data
//! connection is accepted only if it **resumed** (a full handshake is
//! refused) a session whose token is
//!
//! - this control connection's own, or
//! - another control connection's — still open, or ended less than 12
//!   hours ago — that is logged in as the **same user** from the **same
//!   client address** (after PROXY headers).
//!
//! The second rule serves clients that share one TLS session cache between
//! several control connections and offer whichever ticket came last (Go's
//! crypto/tls, so rclone), while a client on the same address that only
//! did `AUTH TLS`, or logged in as someone else, cannot use its own ticket
//! to open another login's data connection (`522`). A data connection
//! offering the ticket of a login from its address that is still between
//! `AUTH TLS` and `230` waits for that login (up to 10 seconds, or half
//! the data timeout if that is shorter).
//!
//! # Tickets
//!
//! One ticket key (rotated every 6 hours, tickets accepted up to 12) and
//! one TLS 1.2 session cache serve the whole server, and outlive
//! certificate reloads, so a session made before a `SIGHUP` still resumes
//! after it. Tickets are stateless and may be resumed many times (GnuTLS
//! and OpenSSL clients resume every data connection from one session).
//! rustls-based clients use each TLS 1.3 ticket once, so tickets are
//! handed out where they are read:
//!
//! - 8 on the control handshake (the most a rustls client keeps);
//! - 2 on each data connection that carries data to the client (`RETR`,
//!   `LIST`, `NLST`, `MLSD`), so downloading and listing never run out;
//! - none on upload connections (`STOR`, `APPE`, `STOU`) unless the client
//!   asks for them with RFC 9149's `ticket_request` (as `ferry` does). A
//!   TLS 1.3 ticket arrives after the client's handshake is done; a client
//!   that only writes never reads it, and closing a socket with unread
//!   input makes the client's kernel send a reset that throws away the
//!   client's unsent bytes: the end of the upload would be lost.
//!
//! Control connections never resume (always a full handshake), so every
//! session a control connection hands out carries its login's token. A
//! session handed out on a data connection carries a token of that data
//! connection, which the server ties to a login only once the connection's
//! handshake has **resumed** a session: to the login of that session (not
//! to the login the connection serves; the two differ under the second
//! rule above), whether the connection is then admitted or refused, so a
//! client never leaves with a session better than the one it offered. A
//! data connection that made a full handshake leaves with sessions that
//! open nothing. That holds also when rustls looked the offered session up
//! and then made a full handshake because it may not resume it (another
//! cipher suite or server name): a session copied off the wire and offered
//! at a passive port of one's own gains nothing. The server remembers the
//! 32 data connections last resumed from per login; a session of an older
//! one is refused.

mod binding;
mod registry;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ProducesTickets, ResolvesServerCert, ServerSessionMemoryCache, StoresServerSessions};
use rustls::sign::CertifiedKey;
use sha2::Digest;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;

use binding::{IssueOnly, NotingSessions, NotingTickets, StoreOnly, Token};
use registry::Registry;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{path}: {reason}")]
    File {
        /// Which file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The key does not suit the certificate or is unsupported.
    #[error("unusable TLS key: {0}")]
    Key(String),
    /// Generating a self-signed certificate failed.
    #[error("generating a certificate: {0}")]
    Generate(String),
}

/// The server's TLS settings.
#[derive(Debug)]
pub struct TlsSettings {
    key: Arc<CertifiedKey>,
    /// SHA-256 fingerprint of the certificate, `AB:CD:…`.
    pub fingerprint: String,
    /// Refuse logins and transfers in clear text.
    pub require_tls: bool,
    /// Data connections must resume a TLS session of their own login (or
    /// of another login of the same user from the same address).
    pub require_reuse: bool,
}

/// The SHA-256 fingerprint of a DER certificate, as colon-separated hex.
pub fn fingerprint(der: &[u8]) -> String {
    sha2::Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[derive(Debug)]
struct OneCert(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// The certificate in force on a server now: a reload (SIGHUP) reaches
/// the next handshake of listeners that use it.
/// It asks `current` at each handshake (the server's settings in force),
/// so this module need not know where they are kept.
pub(crate) struct FollowingCert(pub(crate) Box<dyn Fn() -> Option<Arc<TlsSettings>> + Send + Sync>);

impl std::fmt::Debug for FollowingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FollowingCert")
    }
}

impl ResolvesServerCert for FollowingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some((self.0)()?.key.clone())
    }
}

/// A plain TLS configuration (rustls's own session cache and tickets,
/// none of FTP's session binding) whose certificate follows the server's.
pub(crate) fn https_config(resolver: FollowingCert) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    Arc::new(config)
}

fn file_err(path: &Path) -> impl Fn(String) -> TlsError + '_ {
    move |reason| TlsError::File { path: path.to_owned(), reason }
}

impl TlsSettings {
    /// Load a certificate chain and key from PEM files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsSettings, TlsError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| file_err(cert)(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| file_err(cert)(e.to_string()))?;
        if certs.is_empty() {
            return Err(file_err(cert)("no certificate found".into()));
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| file_err(key)(e.to_string()))?;
        Self::from_der(certs, key_der)
    }

    fn from_der(certs: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<TlsSettings, TlsError> {
        let signing = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| TlsError::Key(e.to_string()))?;
        let fingerprint = fingerprint(&certs[0]);
        let key = Arc::new(CertifiedKey::new(certs, signing));
        Ok(TlsSettings { key, fingerprint, require_tls: false, require_reuse: true })
    }

    /// Load `ferryd-cert.pem`/`ferryd-key.pem` from `dir`, generating a
    /// self-signed pair on first use. Returns the settings and whether the
    /// files were just created.
    pub fn self_signed_in(dir: &Path) -> Result<(TlsSettings, bool), TlsError> {
        let (cert, key) = (dir.join("ferryd-cert.pem"), dir.join("ferryd-key.pem"));
        if cert.exists() && key.exists() {
            return Ok((Self::from_pem_files(&cert, &key)?, false));
        }
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
        let generated = rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
        crate::auth::users_file::write_atomically(&key, generated.signing_key.serialize_pem().as_bytes())
            .map_err(|e| file_err(&key)(e.to_string()))?;
        crate::auth::users_file::write_atomically(&cert, generated.cert.pem().as_bytes()).map_err(|e| file_err(&cert)(e.to_string()))?;
        Ok((Self::from_pem_files(&cert, &key)?, true))
    }

    /// Generate an in-memory self-signed certificate (for tests).
    pub fn ephemeral() -> Result<TlsSettings, TlsError> {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        let key = PrivateKeyDer::try_from(generated.signing_key.serialize_der()).map_err(|e| TlsError::Key(e.to_string()))?;
        Self::from_der(vec![generated.cert.der().clone()], key)
    }

    /// The certificate in PEM form (for clients that pin it as a CA).
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.key.cert[0]
    }
}

/// TLS 1.3 tickets sent on a control connection's handshake: as many as a
/// rustls client keeps per server.
const CONTROL_TICKETS: usize = 8;
/// Sent on each data connection that carries data to the client.
const DOWNLOAD_TICKETS: usize = 2;
/// At most this many on an upload connection, and only to a client that
/// asks (RFC 9149), so it will read them.
const UPLOAD_TICKETS_ON_REQUEST: usize = 2;
/// TLS 1.2 sessions (by session ID) remembered for the whole server.
const SESSION_CACHE: usize = 8192;
/// How long a data connection waits for the login its ticket came from.
const LOGIN_PATIENCE: Duration = Duration::from_secs(10);

/// The acceptors built from one [`TlsSettings`].
struct Acceptors {
    control: TlsAcceptor,
    download: TlsAcceptor,
    upload: TlsAcceptor,
}

/// TLS state of the whole server, kept for its lifetime: the ticket key,
/// the TLS 1.2 session cache and the registry of logins. It lives in the
/// server's shared state rather than in [`TlsSettings`], which a
/// certificate reload replaces, and rather than in a process-wide static,
/// so that two servers in one process (tests) never take each other's
/// tickets.
pub(crate) struct ServerTls {
    ticketer: Option<Arc<dyn ProducesTickets>>,
    sessions: Arc<dyn StoresServerSessions>,
    registry: Arc<Registry>,
    /// The acceptors of the settings in force, built once per settings.
    built: Mutex<Option<(Arc<TlsSettings>, Arc<Acceptors>)>>,
}

impl Default for ServerTls {
    fn default() -> Self {
        let ticketer = match rustls::crypto::ring::Ticketer::new() {
            Ok(t) => Some(t),
            Err(e) => {
                // Without a ticket key, TLS 1.3 falls back to single-use
                // tickets from the session cache.
                tracing::error!(error = %e, "cannot make a TLS ticket key");
                None
            }
        };
        ServerTls {
            ticketer,
            sessions: ServerSessionMemoryCache::new(SESSION_CACHE),
            registry: Default::default(),
            built: Mutex::new(None),
        }
    }
}

impl ServerTls {
    fn acceptors(&self, settings: &Arc<TlsSettings>) -> Arc<Acceptors> {
        let mut built = crate::sync::lock(&self.built);
        if let Some((s, a)) = &*built
            && Arc::ptr_eq(s, settings)
        {
            return a.clone();
        }
        let acceptors = Arc::new(self.build(settings));
        *built = Some((settings.clone(), acceptors.clone()));
        acceptors
    }

    fn build(&self, settings: &TlsSettings) -> Acceptors {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let base = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(OneCert(settings.key.clone())));
        let mut control = base.clone();
        control.session_storage = Arc::new(StoreOnly(self.sessions.clone()));
        if let Some(t) = &self.ticketer {
            control.ticketer = Arc::new(IssueOnly(t.clone()));
        }
        (control.send_tls13_tickets, control.max_tls13_tickets) = (CONTROL_TICKETS, CONTROL_TICKETS);
        let mut data = base;
        data.session_storage = Arc::new(NotingSessions(self.sessions.clone()));
        if let Some(t) = &self.ticketer {
            data.ticketer = Arc::new(NotingTickets(t.clone()));
        }
        let mut download = data.clone();
        (download.send_tls13_tickets, download.max_tls13_tickets) = (DOWNLOAD_TICKETS, DOWNLOAD_TICKETS);
        let mut upload = data;
        (upload.send_tls13_tickets, upload.max_tls13_tickets) = (0, UPLOAD_TICKETS_ON_REQUEST);
        Acceptors {
            control: TlsAcceptor::from(Arc::new(control)),
            download: TlsAcceptor::from(Arc::new(download)),
            upload: TlsAcceptor::from(Arc::new(upload)),
        }
    }

    /// TLS for a new control connection from `peer`, with `settings`'
    /// certificate (kept for the whole session, even across a reload).
    pub(crate) fn session(&self, settings: &Arc<TlsSettings>, peer: IpAddr) -> SessionTls {
        let token = self.registry.open(peer);
        SessionTls { acceptors: self.acceptors(settings), login: Arc::new(Login { token, registry: self.registry.clone() }) }
    }
}

/// One control connection's entry in the registry; closed when the session
/// and its last data connection are gone.
struct Login {
    token: Token,
    registry: Arc<Registry>,
}

impl Drop for Login {
    fn drop(&mut self) {
        self.registry.close(self.token);
    }
}

/// The TLS side of one session.
#[derive(Clone)]
pub(crate) struct SessionTls {
    acceptors: Arc<Acceptors>,
    login: Arc<Login>,
}

impl SessionTls {
    /// Start the control connection's handshake (after `AUTH TLS`, or at
    /// once for implicit FTPS); its tickets carry this login's token.
    pub(crate) fn accept_control<IO: AsyncRead + AsyncWrite + Unpin>(&self, io: IO) -> tokio_rustls::Accept<IO> {
        let data = binding::resumption_data(self.login.token);
        self.acceptors.control.accept_with(io, |c| c.set_resumption_data(&data))
    }

    /// The control connection logged in as `user`.
    pub(crate) fn logged_in(&self, user: &str) {
        self.login.registry.logged_in(self.login.token, user);
    }

    /// TLS for one data connection; `upload` when it carries data from the
    /// client.
    pub(crate) fn data(&self, upload: bool) -> DataTls {
        let acceptor = if upload { &self.acceptors.upload } else { &self.acceptors.download };
        DataTls { acceptor: acceptor.clone(), login: self.login.clone() }
    }
}

/// The reply to a data connection that made a full handshake.
const MUST_RESUME: &str = "the data connection must resume the control connection's TLS session";

/// Why a data connection was refused.
enum Refused {
    /// It made a full handshake.
    NotResumed,
    /// The session it resumed names no login.
    NoLogin,
    /// The login its session came from may not open this login's data
    /// connections.
    Registry(registry::Refusal),
}

/// TLS for one data connection.
pub(crate) struct DataTls {
    acceptor: TlsAcceptor,
    login: Arc<Login>,
}

impl DataTls {
    /// Shake hands and, with `require_reuse`, accept the connection only if
    /// it resumed a TLS session of this login or of one it may share (see
    /// the module documentation), waiting at most `patience` for a login in
    /// progress. The error says why, for the `522` reply.
    pub(crate) async fn accept<IO: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: IO,
        require_reuse: bool,
        patience: Duration,
    ) -> Result<tokio_rustls::server::TlsStream<IO>, String> {
        // The sessions this connection hands out carry a token of its own,
        // which stands for a login only once this handshake has resumed a
        // session of that login (see binding.rs).
        let data = self.login.registry.data_connection();
        let sealed = binding::resumption_data(data.token());
        let mut handshake = self.acceptor.accept_with(io, |c| c.set_resumption_data(&sealed));
        let mut noted = binding::Noted::default();
        let tls = std::future::poll_fn(|cx| binding::capturing(&mut noted, || std::pin::Pin::new(&mut handshake).poll(cx)))
            .await
            .map_err(|e| e.to_string())?;
        // Without `require_reuse` nothing is refused or waited for, but a
        // connection that resumed still hands out sessions of its login.
        let patience = if require_reuse { patience.min(LOGIN_PATIENCE) } else { Duration::ZERO };
        match self.admit(&tls, noted, &data, patience).await {
            Ok(()) => Ok(tls),
            Err(_) if !require_reuse => Ok(tls),
            Err(Refused::NotResumed) => {
                tracing::warn!("refused a data connection that did not resume a TLS session of this login");
                Err(MUST_RESUME.into())
            }
            Err(Refused::NoLogin) => {
                tracing::warn!("refused a data connection whose TLS session carries no login");
                Err(MUST_RESUME.into())
            }
            Err(Refused::Registry(why)) => {
                tracing::warn!(reason = why, "refused a data connection");
                Err(format!("data connection refused: {why}"))
            }
        }
    }

    /// Judge the TLS session that `tls` resumed. If it resumed one of a
    /// login, `data` stands for that login from now on, admitted or not.
    /// `noted` is what the ticket and session stores saw during the
    /// handshake.
    async fn admit<IO>(
        &self,
        tls: &tokio_rustls::server::TlsStream<IO>,
        noted: binding::Noted,
        data: &registry::Pending<'_>,
        patience: Duration,
    ) -> Result<(), Refused> {
        let conn = tls.get_ref().1;
        if conn.handshake_kind() != Some(rustls::HandshakeKind::Resumed) {
            return Err(Refused::NotResumed);
        }
        // TLS 1.3 (and TLS 1.2 with a rustls that reports it) hand back the
        // resumption data; for TLS 1.2 on rustls 0.23 it was noted.
        let issued_to = match conn.received_resumption_data() {
            Some(d) => binding::token_of(d),
            None => noted.token(),
        };
        let Some(issued_to) = issued_to else { return Err(Refused::NoLogin) };
        let own = self.login.token;
        self.login.registry.admit(own, issued_to, data, patience).await.map_err(Refused::Registry)?;
        if issued_to != own {
            tracing::debug!(issued_to, "data connection resumed a TLS session of another login of this user, or of a data connection");
        }
        Ok(())
    }
}
