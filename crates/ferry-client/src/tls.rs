//! FTPS on the client (RFC 4217): which certificates to trust.
//!
//! In order: a pinned `--fingerprint` decides alone; `--insecure` accepts
//! anything (with a warning printed by the program); otherwise the chain
//! must verify against the webpki roots plus any `--ca-file`. A
//! certificate that does not verify — a self-signed server — falls back to
//! trust on first use, as ssh does: its SHA-256 fingerprint is remembered
//! in `known_hosts` the first time, and a later different certificate for
//! the same host and port is refused.
//!
//! Data connections reuse the control connection's `ClientConfig` and
//! server name, so rustls offers to resume the control connection's TLS
//! session, which servers such as vsftpd and ferryd require.
//!
//! rustls offers each TLS 1.3 ticket once (RFC 8446 §C.4 advises against
//! reuse, which links connections; for FTP data connections, already tied
//! to their control connection, that would not matter, but rustls moves a
//! stored ticket into the handshake that uses it, so a session store
//! cannot keep a copy). A session that only uploads would run out of
//! tickets after the few its control handshake brought, since servers send
//! none on upload connections (a client that never reads them would lose
//! the end of its upload). So ferry asks for fresh tickets on every
//! connection, data connections included, with RFC 9149's
//! `ticket_request`; it reads what the server sends on an upload before
//! closing, so tickets there are safe, and ferryd grants the request.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::Digest;

/// Whether and how to use TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain FTP.
    #[default]
    Off,
    /// Explicit FTPS: `AUTH TLS` after the greeting (`--tls`, `ftpes://`).
    Explicit,
    /// Implicit FTPS: TLS from the first byte (`ftps://`, port 990).
    Implicit,
}

/// What to trust.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Extra CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// Accept exactly the certificate with this SHA-256 fingerprint.
    pub fingerprint: Option<String>,
    /// Accept any certificate.
    pub insecure: bool,
    /// Where trust-on-first-use fingerprints are kept; `None` disables TOFU.
    pub known_hosts: Option<PathBuf>,
}

/// The TLS setup shared by a session's control and data connections: one
/// `ClientConfig` (and so one session cache) and one server name, so data
/// connections resume the control connection's TLS session.
#[derive(Debug, Clone)]
pub struct TlsContext {
    /// rustls settings, with ferry's certificate checks.
    pub config: Arc<rustls::ClientConfig>,
    /// The name the certificate is checked against.
    pub name: ServerName<'static>,
}

impl TlsContext {
    /// The context for `host:port` under `trust`.
    pub fn new(trust: &Trust, host: &str, port: u16) -> Result<TlsContext, String> {
        Ok(TlsContext { config: client_config(trust, host, port)?, name: server_name(host)? })
    }

    /// The same, with TLS session resumption turned off: every connection
    /// made with it is a full handshake.
    pub fn without_resumption(&self) -> TlsContext {
        let mut config = (*self.config).clone();
        config.resumption = rustls::client::Resumption::disabled();
        TlsContext { config: Arc::new(config), name: self.name.clone() }
    }
}

/// The default `known_hosts` file: `$XDG_CONFIG_HOME/ferry/known_hosts`
/// or `~/.config/ferry/known_hosts`.
pub fn default_known_hosts() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("ferry").join("known_hosts"))
}

/// SHA-256 of a certificate, as upper-case hex pairs joined by colons.
pub fn fingerprint(der: &[u8]) -> String {
    sha2::Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Normalise a fingerprint as users write it (any case, with or without
/// colons, optional `SHA256:` prefix).
fn normalise(fp: &str) -> String {
    let fp = fp.trim();
    let fp = fp.strip_prefix("SHA256:").or_else(|| fp.strip_prefix("sha256:")).unwrap_or(fp);
    fp.chars().filter(|c| c.is_ascii_hexdigit()).map(|c| c.to_ascii_uppercase()).collect()
}

/// Build the rustls configuration for one host.
pub fn client_config(trust: &Trust, host: &str, port: u16) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(ca) = &trust.ca_file {
        let certs = CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
        for cert in certs {
            roots.add(cert.map_err(|e| format!("{}: {e}", ca.display()))?).map_err(|e| format!("{}: {e}", ca.display()))?;
        }
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().map_err(|e| e.to_string())?;
    let verifier = Arc::new(FerryVerifier {
        webpki,
        provider: provider.clone(),
        pin: trust.fingerprint.as_deref().map(normalise),
        insecure: trust.insecure,
        known_hosts: trust.known_hosts.clone(),
        host_key: format!("{host}:{port}"),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let mut config = config;
    // 8: all a rustls client keeps per server; 2 per resumed connection
    // replace the one it used, with one to spare.
    config.send_ticket_request = Some(rustls::client::TicketRequest { new_session_count: 8, resumption_count: 2 });
    Ok(Arc::new(config))
}

/// The name to verify and to key session resumption on.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_owned()).map_err(|e| format!("{host}: {e}"))
}

#[derive(Debug)]
struct FerryVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    pin: Option<String>,
    insecure: bool,
    known_hosts: Option<PathBuf>,
    host_key: String,
}

fn refuse(msg: String) -> rustls::Error {
    rustls::Error::General(msg)
}

impl FerryVerifier {
    fn trust_on_first_use(&self, fp: &str, why: &rustls::Error) -> Result<ServerCertVerified, rustls::Error> {
        let Some(path) = &self.known_hosts else {
            return Err(refuse(format!("certificate not trusted ({why}); pin it with --fingerprint {fp} or use --ca-file")));
        };
        if let Some(stored) = lookup(path, &self.host_key) {
            if normalise(&stored) == normalise(fp) {
                return Ok(ServerCertVerified::assertion());
            }
            return Err(refuse(format!(
                "the certificate of {} CHANGED: {} remembers {stored}, the server now shows {fp}; \
                 if the change is expected, delete that line",
                self.host_key,
                path.display()
            )));
        }
        remember(path, &self.host_key, fp).map_err(|e| refuse(format!("cannot record the certificate in {}: {e}", path.display())))?;
        eprintln!("ferry: trusting {} on first use (SHA-256 {fp}); remembered in {}", self.host_key, path.display());
        Ok(ServerCertVerified::assertion())
    }
}

/// The fingerprint remembered for `key` (`host:port`), if any.
fn lookup(path: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|l| {
        let (k, fp) = l.split_once(' ')?;
        (k == key).then(|| fp.trim().to_owned())
    })
}

fn remember(path: &Path, key: &str, fp: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(f, "{key} {fp}")
}

impl ServerCertVerifier for FerryVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = fingerprint(end_entity);
        if let Some(pin) = &self.pin {
            return if normalise(&fp) == *pin {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(refuse(format!("the certificate's fingerprint {fp} does not match --fingerprint")))
            };
        }
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Ok(v) => Ok(v),
            Err(e) => self.trust_on_first_use(&fp, &e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_normalise() {
        assert_eq!(normalise("SHA256:ab:cd:EF"), "ABCDEF");
        assert_eq!(normalise("abcdef"), "ABCDEF");
    }

    #[test]
    fn known_hosts_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/known_hosts");
        assert_eq!(lookup(&p, "h:21"), None);
        remember(&p, "h:21", "AA:BB").unwrap();
        remember(&p, "g:990", "CC").unwrap();
        assert_eq!(lookup(&p, "h:21").as_deref(), Some("AA:BB"));
        assert_eq!(lookup(&p, "g:990").as_deref(), Some("CC"));
    }
}
