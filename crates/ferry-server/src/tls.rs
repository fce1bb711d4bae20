//! FTPS (RFC 4217) on the server: the certificate, and a TLS acceptor per
//! session.
//!
//! Each session gets its own rustls `ServerConfig` sharing the same
//! certificate but with its *own* session cache and ticket key. A data
//! connection can therefore only resume a TLS session that was issued on
//! its own control connection — the guarantee vsftpd calls
//! `require_ssl_reuse`, which stops another client from attaching to a
//! session's passive port.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache};
use rustls::sign::CertifiedKey;
use sha2::Digest;
use tokio_rustls::TlsAcceptor;

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
    /// Data connections must resume the control connection's TLS session.
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

    /// Fresh acceptors for one control connection and its data
    /// connections, sharing a session cache and ticket key of their own.
    pub fn session_acceptors(&self) -> SessionTls {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(OneCert(self.key.clone())));
        config.session_storage = ServerSessionMemoryCache::new(64);
        // TLS 1.3 stateful tickets are single-use, but clients such as lftp
        // (GnuTLS) resume every data connection from the same control
        // session ticket. Stateless tickets sealed with a key of this
        // session's own allow that, and still only this session can open
        // them.
        if let Ok(ticketer) = rustls::crypto::ring::Ticketer::new() {
            config.ticketer = ticketer;
        }
        // Data connections resume; they need not hand out tickets of their
        // own. Tickets sent after the handshake on an upload connection sit
        // unread by clients that only write, and GnuTLS clients then stall.
        let mut data = config.clone();
        data.send_tls13_tickets = 0;
        SessionTls { control: TlsAcceptor::from(Arc::new(config)), data: TlsAcceptor::from(Arc::new(data)) }
    }
}

/// The TLS acceptors of one session.
#[derive(Clone)]
pub struct SessionTls {
    /// For the control connection (`AUTH TLS` or implicit FTPS).
    pub control: TlsAcceptor,
    /// For its data connections.
    pub data: TlsAcceptor,
}
