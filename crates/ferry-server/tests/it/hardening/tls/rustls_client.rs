//! A small blocking FTPS client on rustls, for tests that need control over
//! the TLS side: the protocol versions, a session store shared between
//! control connections (as Go's crypto/tls shares one), whether a data
//! connection resumed, and closing an upload the way curl does.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, LazyLock};

use ferry_proto::{Reply, ReplyParser};
use ferry_testkit::{Control, STEP_TIMEOUT};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, ResolvesClientCert, Resumption, Tls12ClientSessionValue, Tls13ClientSessionValue,
};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, HandshakeKind, NamedGroup, SignatureScheme, StreamOwned};

use crate::ftps::AnyCert;

/// No client certificate.
#[derive(Debug)]
struct NoClientCert;

impl ResolvesClientCert for NoClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<rustls::sign::CertifiedKey>> {
        None
    }
    fn has_certs(&self) -> bool {
        false
    }
}

// rustls resumes a stored session only with the verifier and certificate
// resolver that made it (the same `Arc`s), so every configuration here
// shares them: a session stored under one configuration can be offered
// under another (with other cipher suites, say).
static VERIFIER: LazyLock<Arc<dyn ServerCertVerifier>> =
    LazyLock::new(|| Arc::new(AnyCert(Arc::new(rustls::crypto::ring::default_provider()), Default::default())));
static NO_CLIENT_CERT: LazyLock<Arc<dyn ResolvesClientCert>> = LazyLock::new(|| Arc::new(NoClientCert));

/// Which TLS, and how TLS 1.2 resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// TLS 1.3 only (single-use tickets, as rustls uses them).
    Tls13,
    /// TLS 1.2 only, resuming with RFC 5077 tickets.
    Tls12Tickets,
    /// TLS 1.2 only, resuming by session ID (the server's session cache).
    Tls12SessionIds,
}

/// Every [`Version`].
pub(crate) const VERSIONS: [Version; 3] = [Version::Tls13, Version::Tls12Tickets, Version::Tls12SessionIds];

/// A client configuration for one protocol version, with `store` as its
/// session cache (pass the same store to share it between connections).
pub(crate) fn config(version: Version, store: Arc<dyn ClientSessionStore>) -> Arc<ClientConfig> {
    config_with_suites(version, store, "")
}

/// [`config`], offering only the cipher suites whose name contains
/// `suites` (such as `"CHACHA20"`).
pub(crate) fn config_with_suites(version: Version, store: Arc<dyn ClientSessionStore>, suites: &str) -> Arc<ClientConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.retain(|s| format!("{:?}", s.suite()).contains(suites));
    let versions: &[&'static rustls::SupportedProtocolVersion] = match version {
        Version::Tls13 => &[&rustls::version::TLS13],
        Version::Tls12Tickets | Version::Tls12SessionIds => &[&rustls::version::TLS12],
    };
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(VERIFIER.clone())
        .with_client_cert_resolver(NO_CLIENT_CERT.clone());
    config.resumption = Resumption::store(store);
    if version == Version::Tls12SessionIds {
        config.resumption = config.resumption.tls12_resumption(rustls::client::Tls12Resumption::SessionIdOnly);
    }
    Arc::new(config)
}

/// A fresh session store.
pub(crate) fn store() -> Arc<dyn ClientSessionStore> {
    Arc::new(ClientSessionMemoryCache::new(64))
}

/// The server name every connection here uses, unless told otherwise
/// (sent as SNI).
pub(crate) const SERVER_NAME: &str = "localhost";

/// A session store that starts with what an on-path observer copied of a
/// victim's sessions: it offers the victim's sessions (stored in `victim`
/// under [`SERVER_NAME`]) until it has sessions of its own, whatever
/// server name it is asked for, and keeps the sessions it gets to itself.
/// (A copied TLS 1.3 ticket is taken out of the victim's store, as rustls'
/// values cannot be cloned; the secret that comes with a copied session is
/// of no use to the tests, which make the server fall back to a full
/// handshake before it would check it.)
#[derive(Debug)]
pub(crate) struct Copied {
    victim: Arc<dyn ClientSessionStore>,
    own: ClientSessionMemoryCache,
}

impl Copied {
    pub(crate) fn from(victim: Arc<dyn ClientSessionStore>) -> Arc<Copied> {
        Arc::new(Copied { victim, own: ClientSessionMemoryCache::new(64) })
    }
}

fn victims_name() -> ServerName<'static> {
    ServerName::try_from(SERVER_NAME).unwrap()
}

impl ClientSessionStore for Copied {
    fn set_kx_hint(&self, name: ServerName<'static>, group: NamedGroup) {
        self.own.set_kx_hint(name, group)
    }
    fn kx_hint(&self, name: &ServerName<'_>) -> Option<NamedGroup> {
        self.own.kx_hint(name)
    }
    fn set_tls12_session(&self, name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.own.set_tls12_session(name, value)
    }
    fn tls12_session(&self, name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.own.tls12_session(name).or_else(|| self.victim.tls12_session(&victims_name()))
    }
    fn remove_tls12_session(&self, name: &ServerName<'static>) {
        self.own.remove_tls12_session(name)
    }
    fn insert_tls13_ticket(&self, name: ServerName<'static>, value: Tls13ClientSessionValue) {
        self.own.insert_tls13_ticket(name, value)
    }
    fn take_tls13_ticket(&self, name: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.own.take_tls13_ticket(name).or_else(|| self.victim.take_tls13_ticket(&victims_name()))
    }
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn wrap(tcp: TcpStream, config: &Arc<ClientConfig>, server_name: &str) -> Tls {
    tcp.set_read_timeout(Some(STEP_TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(STEP_TIMEOUT)).unwrap();
    let conn = ClientConnection::new(config.clone(), ServerName::try_from(server_name).unwrap().to_owned()).unwrap();
    StreamOwned::new(conn, tcp)
}

/// How a data connection went.
pub(crate) struct Data {
    /// The bytes received (downloads and listings).
    pub(crate) bytes: Vec<u8>,
    /// The reply that ended the transfer.
    pub(crate) reply: Reply,
    /// The data connection resumed a TLS session.
    pub(crate) resumed: bool,
}

/// A control connection over TLS.
pub(crate) struct Ftps {
    tls: Tls,
    parser: ReplyParser,
    pub(crate) config: Arc<ClientConfig>,
    addr: SocketAddr,
}

impl Ftps {
    /// Greeting, `AUTH TLS`, handshake.
    pub(crate) fn explicit(addr: SocketAddr, config: &Arc<ClientConfig>) -> Ftps {
        let mut c = Control::connect(addr);
        c.expect("AUTH TLS", 234);
        let tcp = c.stream().try_clone().unwrap();
        let mut f = Ftps { tls: wrap(tcp, config, SERVER_NAME), parser: ReplyParser::new(), config: config.clone(), addr };
        // Finish the handshake (and take in the tickets) now.
        f.expect("NOOP", 200);
        f
    }

    /// The server's certificate (DER).
    pub(crate) fn peer_cert(&self) -> Vec<u8> {
        self.tls.conn.peer_certificates().expect("a certificate")[0].to_vec()
    }

    /// The protocol version in use.
    pub(crate) fn version(&self) -> Option<rustls::ProtocolVersion> {
        self.tls.conn.protocol_version()
    }

    fn read_reply(&mut self) -> Reply {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(r) = self.parser.next_reply() {
                return r.unwrap();
            }
            let n = self.tls.read(&mut buf).expect("reply");
            assert!(n > 0, "server closed the control connection");
            self.parser.feed(&buf[..n]);
        }
    }

    /// Send a command, return its reply.
    pub(crate) fn cmd(&mut self, line: &str) -> Reply {
        self.tls.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.tls.flush().unwrap();
        self.read_reply()
    }

    #[track_caller]
    pub(crate) fn expect(&mut self, line: &str, code: u16) -> Reply {
        let r = self.cmd(line);
        assert_eq!(r.code, code, "{line:?} got {r:?}");
        r
    }

    /// `USER`, `PASS`, `PBSZ 0`, `PROT P`, `TYPE I`.
    pub(crate) fn login(&mut self, user: &str, password: &str) {
        self.expect(&format!("USER {user}"), 331);
        self.expect(&format!("PASS {password}"), 230);
        self.expect("PBSZ 0", 200);
        self.expect("PROT P", 200);
        self.expect("TYPE I", 200);
    }

    fn data_tcp(&mut self) -> TcpStream {
        let r = self.expect("EPSV", 229);
        let port = ferry_proto::addr::parse_epsv_reply(&r.text()).unwrap();
        TcpStream::connect_timeout(&SocketAddr::new(self.addr.ip(), port), STEP_TIMEOUT).unwrap()
    }

    /// A command that sends data to us (`RETR`, `LIST`…), over a data
    /// connection using `config` and `server_name` (normally this
    /// connection's own).
    pub(crate) fn download_with(&mut self, line: &str, config: &Arc<ClientConfig>, server_name: &str) -> Data {
        let tcp = self.data_tcp();
        self.expect(line, 150);
        let mut d = wrap(tcp, config, server_name);
        let mut bytes = Vec::new();
        let _ = d.read_to_end(&mut bytes);
        let resumed = d.conn.handshake_kind() == Some(HandshakeKind::Resumed);
        drop(d);
        Data { bytes, reply: self.read_reply(), resumed }
    }

    /// [`Ftps::download_with`] this connection's own configuration.
    pub(crate) fn download(&mut self, line: &str) -> Data {
        let config = self.config.clone();
        self.download_with(line, &config, SERVER_NAME)
    }

    /// A command that takes data from us (`STOR`…), closed the way curl
    /// closes an upload: all bytes written, `close_notify`, then the socket
    /// closed without reading anything the server sent.
    pub(crate) fn upload_like_curl(&mut self, line: &str, bytes: &[u8]) -> Data {
        let tcp = self.data_tcp();
        self.expect(line, 150);
        let mut d = wrap(tcp, &self.config, SERVER_NAME);
        let _ = d.write_all(bytes);
        d.conn.send_close_notify();
        while d.conn.wants_write() {
            if d.conn.write_tls(&mut d.sock).is_err() {
                break;
            }
        }
        let resumed = d.conn.handshake_kind() == Some(HandshakeKind::Resumed);
        let _ = d.sock.shutdown(Shutdown::Write);
        drop(d);
        Data { bytes: Vec::new(), reply: self.read_reply(), resumed }
    }

    /// A command that takes data from us, cut off: the bytes written, then
    /// the connection closed without `close_notify` (a truncation).
    pub(crate) fn upload_cut(&mut self, line: &str, bytes: &[u8]) -> Reply {
        let tcp = self.data_tcp();
        self.expect(line, 150);
        let mut d = wrap(tcp, &self.config, SERVER_NAME);
        d.write_all(bytes).unwrap();
        d.flush().unwrap();
        let _ = d.sock.shutdown(Shutdown::Both);
        drop(d);
        self.read_reply()
    }

    /// `RETR` `name` and, with the download under way and unread, `ABOR`:
    /// the two replies that follow.
    pub(crate) fn abort_download(&mut self, name: &str) -> (Reply, Reply) {
        let tcp = self.data_tcp();
        self.expect(&format!("RETR {name}"), 150);
        let mut d = wrap(tcp, &self.config, SERVER_NAME);
        let mut first = [0u8; 1024];
        d.read_exact(&mut first).unwrap();
        self.tls.write_all(b"ABOR\r\n").unwrap();
        self.tls.flush().unwrap();
        let replies = (self.read_reply(), self.read_reply());
        drop(d);
        replies
    }
}
