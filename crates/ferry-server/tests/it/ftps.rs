//! FTPS (RFC 4217) at the protocol level, with a rustls client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use ferry_proto::{Reply, ReplyParser};
use ferry_testkit::{Control, PASSWORD, TestServer, USER, pseudo_random};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

/// Tests check the protocol, not the certificate: accept any, and
/// remember the last one seen. (Shared with the hardening tests' client.)
#[derive(Debug)]
pub(crate) struct AnyCert(pub(crate) Arc<rustls::crypto::CryptoProvider>, pub(crate) std::sync::Mutex<Option<Vec<u8>>>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        ee: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.1.lock().unwrap() = Some(ee.to_vec());
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn client_config() -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider, Default::default())))
        .with_no_client_auth();
    Arc::new(config)
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn wrap(tcp: TcpStream, config: &Arc<ClientConfig>) -> Tls {
    let conn = ClientConnection::new(config.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
    StreamOwned::new(conn, tcp)
}

/// A control connection over TLS.
struct TlsCtl {
    tls: Tls,
    parser: ReplyParser,
    config: Arc<ClientConfig>,
    peer: SocketAddr,
}

impl TlsCtl {
    /// Connect, read the greeting, AUTH TLS, shake hands.
    fn explicit(addr: SocketAddr) -> TlsCtl {
        let mut c = Control::connect(addr);
        c.expect("AUTH TLS", 234);
        let tcp = c.stream().try_clone().unwrap();
        let config = client_config();
        TlsCtl { tls: wrap(tcp, &config), parser: ReplyParser::new(), config, peer: addr }
    }

    /// Implicit FTPS: TLS first, then the greeting.
    fn implicit(addr: SocketAddr) -> TlsCtl {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let config = client_config();
        let mut c = TlsCtl { tls: wrap(tcp, &config), parser: ReplyParser::new(), config, peer: addr };
        assert_eq!(c.read_reply().code, 220);
        c
    }

    fn read_reply(&mut self) -> Reply {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(r) = self.parser.next_reply() {
                return r.unwrap();
            }
            let n = self.tls.read(&mut buf).expect("reply");
            assert!(n > 0, "server closed the connection");
            self.parser.feed(&buf[..n]);
        }
    }

    #[track_caller]
    fn expect(&mut self, line: &str, code: u16) -> Reply {
        self.tls.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.tls.flush().unwrap();
        let r = self.read_reply();
        assert_eq!(r.code, code, "{line:?} got {r:?}");
        r
    }

    fn login(&mut self) {
        self.expect(&format!("USER {USER}"), 331);
        self.expect(&format!("PASS {PASSWORD}"), 230);
    }

    fn data_tcp(&mut self) -> TcpStream {
        let r = self.expect("EPSV", 229);
        let port = ferry_proto::addr::parse_epsv_reply(&r.text()).unwrap();
        TcpStream::connect(SocketAddr::new(self.peer.ip(), port)).unwrap()
    }
}

#[test]
fn feat_and_command_sequence() {
    let s = TestServer::start_tls(|_| {});
    let mut c = Control::connect(s.addr);
    let feat = c.expect("FEAT", 211);
    for f in [" AUTH TLS", " PBSZ", " PROT"] {
        assert!(feat.lines.iter().any(|l| l == f), "{feat:?}");
    }
    c.expect("PBSZ 0", 503);
    c.expect("PROT P", 503);
    c.expect("AUTH KERBEROS_V4", 504);
    c.expect("CCC", 534);
    // Without TLS configured, AUTH is 502.
    let plain = TestServer::start();
    let mut c = Control::connect(plain.addr);
    c.expect("AUTH TLS", 502);
    assert!(!c.expect("FEAT", 211).lines.iter().any(|l| l.contains("AUTH")));
}

#[test]
fn explicit_ftps_login_and_transfers_over_tls() {
    let s = TestServer::start_tls(|_| {});
    let data = pseudo_random(2_000_000, 80);
    std::fs::write(s.root().join("secret.bin"), &data).unwrap();
    let mut c = TlsCtl::explicit(s.addr);
    c.expect("PROT P", 503); // PBSZ first
    c.expect("PBSZ 0", 200);
    c.expect("PROT S", 536);
    c.expect("PROT P", 200);
    c.login();
    c.expect("TYPE I", 200);
    // Download over a TLS data connection that resumes the control session.
    let tcp = c.data_tcp();
    c.expect("RETR secret.bin", 150);
    let mut d = wrap(tcp, &c.config.clone());
    let mut got = Vec::new();
    let _ = d.read_to_end(&mut got);
    assert_eq!(c.read_reply().code, 226);
    assert!(got == data, "TLS download differs");
    // Upload.
    let tcp = c.data_tcp();
    c.expect("STOR up.bin", 150);
    let mut d = wrap(tcp, &c.config.clone());
    d.write_all(&data).unwrap();
    d.conn.send_close_notify();
    d.flush().unwrap();
    let _ = d.read_to_end(&mut Vec::new());
    drop(d);
    assert_eq!(c.read_reply().code, 226);
    assert!(std::fs::read(s.root().join("up.bin")).unwrap() == data, "TLS upload differs");
    c.expect("CCC", 534);
    c.expect("AUTH TLS", 503);
    c.expect("QUIT", 221);
}

#[test]
fn data_connection_must_resume_the_control_session() {
    let s = TestServer::start_tls(|_| {});
    std::fs::write(s.root().join("f"), b"x").unwrap();
    let mut c = TlsCtl::explicit(s.addr);
    c.expect("PBSZ 0", 200);
    c.expect("PROT P", 200);
    c.login();
    // A data connection with a fresh TLS session (another client's config,
    // as a hijacker would have) is refused.
    let tcp = c.data_tcp();
    c.expect("RETR f", 150);
    let mut d = wrap(tcp, &client_config());
    let _ = d.read_to_end(&mut Vec::new());
    let r = c.read_reply();
    assert_eq!(r.code, 522, "{r:?}");
    c.expect("NOOP", 200);
}

#[test]
fn clear_text_after_auth_tls_ends_the_session() {
    let s = TestServer::start_tls(|_| {});
    let mut c = Control::connect(s.addr);
    // An attacker on the path appends a command to the client's AUTH TLS.
    c.send_raw(b"AUTH TLS\r\nUSER evil\r\n");
    assert_eq!(c.read_reply().code, 234);
    assert!(c.is_closed(), "the server must not take clear-text bytes sent after AUTH TLS");
}

#[test]
fn require_tls_refuses_clear_text() {
    let s = TestServer::start_tls(|c| {
        let mut t = ferry_server::tls::TlsSettings::ephemeral().unwrap();
        t.require_tls = true;
        c.tls = Some(Arc::new(t));
    });
    std::fs::write(s.root().join("f"), b"x").unwrap();
    let mut c = Control::connect(s.addr);
    c.expect(&format!("USER {USER}"), 534);
    c.expect(&format!("PASS {PASSWORD}"), 534);
    let mut c = TlsCtl::explicit(s.addr);
    c.login();
    let _tcp = c.data_tcp();
    c.expect("RETR f", 521);
    c.expect("PBSZ 0", 200);
    c.expect("PROT C", 534);
    c.expect("PROT P", 200);
}

#[test]
fn implicit_ftps() {
    let s = TestServer::start_tls(|_| {});
    std::fs::write(s.root().join("f"), b"implicit").unwrap();
    let mut c = TlsCtl::implicit(s.ftps_addr.unwrap());
    c.login();
    // Data is protected from the start.
    let tcp = c.data_tcp();
    c.expect("RETR f", 150);
    let mut d = wrap(tcp, &c.config.clone());
    let mut got = Vec::new();
    let _ = d.read_to_end(&mut got);
    assert_eq!(got, b"implicit");
    assert_eq!(c.read_reply().code, 226);
    // Plain text on the implicit port gets nothing.
    let mut raw = TcpStream::connect(s.ftps_addr.unwrap()).unwrap();
    raw.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    raw.write_all(b"USER x\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = raw.read(&mut buf).unwrap_or(0);
    assert!(!String::from_utf8_lossy(&buf[..n]).contains("331"));
}

/// The certificate a server on `port` presents after AUTH TLS.
fn presented_cert(port: u16) -> Vec<u8> {
    let mut c = Control::connect(format!("127.0.0.1:{port}").parse().unwrap());
    c.expect("AUTH TLS", 234);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let capture = Arc::new(AnyCert(provider.clone(), Default::default()));
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    let mut tls = wrap(c.stream().try_clone().unwrap(), &Arc::new(config));
    tls.write_all(b"NOOP\r\n").unwrap();
    let mut buf = [0u8; 64];
    let _ = tls.read(&mut buf);
    capture.1.lock().unwrap().clone().expect("a certificate")
}

#[test]
fn sighup_reloads_the_certificate_for_new_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (ferry_testkit::TestCa::new(), ferry_testkit::TestCa::new());
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::copy(first.cert_file(), &cert).unwrap();
    std::fs::copy(first.key_file(), &key).unwrap();
    let users = dir.path().join("users.txt");
    ferry_server::auth::users_file::set_user(&users, "alice", "pw").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferryd"))
        .args(["--port", &port.to_string(), "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--users")
        .arg(&users)
        .arg("--root")
        .arg(dir.path().join("root"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let before = presented_cert(port);
    std::fs::copy(second.cert_file(), &cert).unwrap();
    std::fs::copy(second.key_file(), &key).unwrap();
    assert!(std::process::Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let after = presented_cert(port);
    let _ = child.kill();
    let _ = child.wait();
    assert_ne!(before, after, "the renewed certificate is used after SIGHUP");
}

/// A data connection that stalls in its TLS handshake (TCP open, no
/// ClientHello) can still be cancelled with ABOR at once; the session goes
/// on.
#[test]
fn abor_cancels_a_data_connection_stalled_in_its_handshake() {
    let s = TestServer::start_tls(|c| c.data_timeout = std::time::Duration::from_secs(30));
    std::fs::write(s.root().join("f"), b"x").unwrap();
    let mut c = TlsCtl::explicit(s.addr);
    c.expect("PBSZ 0", 200);
    c.expect("PROT P", 200);
    c.login();
    let _stalled = c.data_tcp();
    c.expect("RETR f", 150);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    c.tls.write_all(b"ABOR\r\n").unwrap();
    let first = c.read_reply();
    assert!(matches!(first.code, 426 | 226), "{first:?}");
    if first.code == 426 {
        assert_eq!(c.read_reply().code, 226);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "ABOR answered after {:?}", started.elapsed());
    c.expect("NOOP", 200);
}
