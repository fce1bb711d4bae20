//! Test support for Ferry: start `ferryd` in-process on a loopback port
//! chosen by the OS, with a temporary root folder and known accounts, and
//! drive it over a raw control connection.
//!
//! Everything here is synchronous from the test's point of view (the server
//! runs on its own thread and runtime), so tests can freely mix raw socket
//! checks with real client programs such as curl.

pub mod peers;
pub mod proxy;
pub mod sftp;
pub mod sshd;

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::{Reply, ReplyParser};
pub use ferry_server::Config;
use ferry_server::Server;
use ferry_server::auth::password::PasswordAuth;
use ferry_server::auth::settings::SettingsFile;
use ferry_server::auth::users_file::UsersFile;
use ferry_server::server::ListenerKind;
use ferry_server::storage::Storage;
use ferry_server::storage::local::LocalStorage;
pub use ferry_server::tls::TlsSettings;
pub use ferry_server::xferlog::XferLog;

/// Builds the served storage on the server's runtime.
type MakeStorage = Box<dyn FnOnce() -> Arc<dyn Storage> + Send>;

/// The hashed test account.
pub const USER: &str = "alice";
/// Its password.
pub const PASSWORD: &str = "wonderland";
/// An account stored in plain text, as in the seed's users.txt.
pub const PLAIN_USER: &str = "bob";
/// Its password.
pub const PLAIN_PASSWORD: &str = "builder";

/// How long any single step of a test may wait before failing.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running in-process server. Dropping it stops the server.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it serves implicit FTPS, when TLS is configured.
    pub ftps_addr: Option<SocketAddr>,
    /// Where it serves SFTP, when started with it ([`TestServer::start_sftp`]).
    pub sftp_addr: Option<SocketAddr>,
    /// The SFTP host key's public half, as a `.pub` line, and its SHA-256
    /// fingerprint.
    sftp_host_key: Option<(String, String)>,
    root: tempfile::TempDir,
    /// Where the served files are on disk (the temp root's `files`, or an
    /// S3 server's bucket folder).
    files: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    services: Arc<ferry_core::Services>,
}

impl TestServer {
    /// Start with default settings on 127.0.0.1.
    pub fn start() -> TestServer {
        Self::start_with(|_| {})
    }

    /// Start after letting `adjust` change the configuration.
    pub fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_on("127.0.0.1:0".parse().unwrap(), adjust)
    }

    /// Start with FTPS on (an in-memory self-signed certificate), and an
    /// implicit FTPS listener at [`TestServer::ftps_addr`].
    pub fn start_tls(adjust: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_with(|c| {
            c.tls = Some(Arc::new(TlsSettings::ephemeral().expect("generate a certificate")));
            adjust(c);
        })
    }

    /// Start with per-user settings (the TOML of `users.toml`).
    pub fn start_with_settings(settings: &str, adjust: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_full("127.0.0.1:0".parse().unwrap(), Some(settings), adjust)
    }

    /// Start on a given address (port 0 for any), e.g. `[::1]:0`.
    pub fn start_on(bind: SocketAddr, adjust: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_full(bind, None, adjust)
    }

    /// Start on another [`Storage`]: `make` builds it on the server's
    /// runtime (an S3 store needs one); `files` is where its files can be
    /// seen on disk, for byte-for-byte checks ([`TestServer::root`]).
    pub fn start_on_storage(files: PathBuf, make: impl FnOnce() -> Arc<dyn Storage> + Send + 'static) -> TestServer {
        Self::start_inner("127.0.0.1:0".parse().unwrap(), None, |_| {}, Some((files, Box::new(make))), false)
    }

    fn start_full(bind: SocketAddr, settings: Option<&str>, adjust: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_inner(bind, settings, adjust, None, false)
    }

    fn start_inner(
        bind: SocketAddr,
        settings: Option<&str>,
        adjust: impl FnOnce(&mut Config),
        storage: Option<(PathBuf, MakeStorage)>,
        with_sftp: bool,
    ) -> TestServer {
        let root = tempfile::tempdir().expect("temp dir");
        let local_files = root.path().join("files");
        std::fs::create_dir(&local_files).unwrap();
        let files = storage.as_ref().map_or(local_files.clone(), |(f, _)| f.clone());
        // A short failure delay keeps tests quick while still exercising it.
        let mut config = Config {
            root: local_files,
            data_timeout: Duration::from_secs(10),
            failure_delay: Duration::from_millis(50),
            // Dropping a test server stops it at once.
            shutdown_grace: Duration::ZERO,
            ..Config::default()
        };
        adjust(&mut config);
        let hashed = ferry_server::auth::hash::hash_password(PASSWORD);
        let settings = settings.map(|t| SettingsFile::parse(t, Path::new("users.toml")).expect("valid settings")).unwrap_or_default();
        let users = UsersFile::parse(&format!("# test accounts\n{USER}:{hashed}\n{PLAIN_USER}:{PLAIN_PASSWORD}\n"), Path::new("users.txt"))
            .unwrap();
        let users = PasswordAuth::new(Arc::new(users), settings);
        let make: MakeStorage = match storage {
            Some((_, make)) => make,
            None => {
                let local = LocalStorage::open(&config.root).expect("open the served root");
                Box::new(move || Arc::new(local))
            }
        };
        let sftp_settings = with_sftp.then(|| sftp::settings(root.path(), &config));
        let sftp_host_key = sftp_settings.as_ref().map(sftp::host_key_line);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let blocking = ferry_server::server::blocking_threads(config.max_sessions);
            let rt =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).max_blocking_threads(blocking).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
                let mut listeners = vec![(listener, ListenerKind::Ftp)];
                if config.tls.is_some() {
                    listeners
                        .push((tokio::net::TcpListener::bind(SocketAddr::new(bind.ip(), 0)).await.unwrap(), ListenerKind::ImplicitFtps));
                }
                let addrs: Vec<SocketAddr> = listeners.iter().map(|(l, _)| l.local_addr().unwrap()).collect();
                let server = Server::new(config, make(), Arc::new(users));
                let sftp_addr = match sftp_settings {
                    Some(settings) => Some(sftp::serve(&server, settings, bind.ip()).await),
                    None => None,
                };
                addr_tx.send((addrs, sftp_addr, server.services())).unwrap();
                server
                    .serve(listeners, async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        });
        let (addrs, sftp_addr, services) = addr_rx.recv_timeout(STEP_TIMEOUT).expect("server did not start");
        TestServer {
            addr: addrs[0],
            ftps_addr: addrs.get(1).copied(),
            sftp_addr,
            sftp_host_key,
            root,
            files,
            stop: Some(stop_tx),
            thread: Some(thread),
            services,
        }
    }

    /// The server's core services: its session registry
    /// (`services().sessions()`), its event bus.
    pub fn services(&self) -> Arc<ferry_core::Services> {
        self.services.clone()
    }

    /// The served folder on disk.
    pub fn root(&self) -> PathBuf {
        self.files.clone()
    }

    /// A scratch folder outside the served root (for client-side files).
    pub fn scratch(&self) -> PathBuf {
        let p = self.root.path().join("scratch");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// An `ftp://` URL with the hashed account's credentials.
    pub fn url(&self, path: &str) -> String {
        format!("ftp://{USER}:{PASSWORD}@{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// A logged-in control connection.
    pub fn login(&self) -> Control {
        let mut c = Control::connect(self.addr);
        c.login(USER, PASSWORD);
        c
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A raw control connection for protocol-level tests.
pub struct Control {
    stream: TcpStream,
    parser: ReplyParser,
    /// The greeting.
    pub greeting: Reply,
}

impl Control {
    /// Connect and read the greeting.
    pub fn connect(addr: SocketAddr) -> Control {
        Self::from_stream(TcpStream::connect_timeout(&addr, STEP_TIMEOUT).expect("connect"))
    }

    /// Connect from a given local address (another loopback address such
    /// as 127.0.0.2 plays a second client host).
    pub fn connect_from(addr: SocketAddr, local: std::net::IpAddr) -> Control {
        Self::from_stream(connect_from(addr, local))
    }

    /// Use an already connected stream (for tests that send bytes first,
    /// such as a PROXY header); reads the greeting.
    pub fn from_tcp(stream: TcpStream) -> Control {
        Self::from_stream(stream)
    }

    fn from_stream(stream: TcpStream) -> Control {
        stream.set_read_timeout(Some(STEP_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut c = Control { stream, parser: ReplyParser::new(), greeting: Reply::new(0, "") };
        c.greeting = c.read_reply();
        c
    }

    /// Send raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Send one command line (CRLF added).
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    /// Read the next reply.
    pub fn read_reply(&mut self) -> Reply {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(r) = self.parser.next_reply() {
                return r.expect("well-formed reply");
            }
            let n = self.stream.read(&mut buf).expect("reply before timeout");
            assert!(n > 0, "server closed the control connection");
            self.parser.feed(&buf[..n]);
        }
    }

    /// True if the server closed the connection (after draining replies).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 512];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Send a command and return its reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(line);
        self.read_reply()
    }

    /// Send a command and assert the reply code.
    #[track_caller]
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let r = self.cmd(line);
        assert_eq!(r.code, code, "{line:?} got {r:?}");
        r
    }

    /// Log in.
    #[track_caller]
    pub fn login(&mut self, user: &str, password: &str) {
        self.expect(&format!("USER {user}"), 331);
        self.expect(&format!("PASS {password}"), 230);
    }

    /// Open a passive data connection with EPSV.
    #[track_caller]
    pub fn epsv(&mut self) -> TcpStream {
        let r = self.expect("EPSV", 229);
        let port = ferry_proto::addr::parse_epsv_reply(&r.text()).expect("EPSV port");
        let addr = SocketAddr::new(self.stream.peer_addr().unwrap().ip(), port);
        let s = TcpStream::connect_timeout(&addr, STEP_TIMEOUT).expect("data connect");
        s.set_read_timeout(Some(STEP_TIMEOUT)).unwrap();
        s
    }

    /// Run a command that sends data to us (RETR, LIST, ...): returns the
    /// bytes and the final reply. Asserts the preliminary 150.
    #[track_caller]
    pub fn download(&mut self, line: &str) -> (Vec<u8>, Reply) {
        let mut data = self.epsv();
        self.expect(line, 150);
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes).expect("data");
        (bytes, self.read_reply())
    }

    /// Run a command that takes data from us (STOR, APPE, STOU).
    #[track_caller]
    pub fn upload(&mut self, line: &str, bytes: &[u8]) -> Reply {
        let mut data = self.epsv();
        self.expect(line, 150);
        data.write_all(bytes).expect("data");
        drop(data);
        self.read_reply()
    }

    /// Start an upload (STOR, APPE), send `bytes`, then `ABOR` it: the
    /// server must answer 426 for the transfer and 226 for the abort.
    #[track_caller]
    pub fn aborted_upload(&mut self, line: &str, bytes: &[u8]) {
        let mut data = self.epsv();
        self.expect(line, 150);
        data.write_all(bytes).expect("data");
        data.flush().expect("data");
        // Let the bytes reach the server before the abort.
        std::thread::sleep(Duration::from_millis(200));
        self.send("ABOR");
        assert_eq!(self.read_reply().code, 426, "the aborted transfer");
        assert_eq!(self.read_reply().code, 226, "the ABOR itself");
    }

    /// Lines of a listing command.
    #[track_caller]
    pub fn list_lines(&mut self, line: &str) -> Vec<String> {
        let (bytes, r) = self.download(line);
        assert_eq!(r.code, 226, "{r:?}");
        let text = String::from_utf8(bytes).expect("UTF-8 listing");
        assert!(text.is_empty() || text.ends_with("\r\n"), "listing lines end in CRLF");
        text.lines().map(str::to_owned).collect()
    }

    /// The underlying stream, for tests that need out-of-band tricks.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

/// Is a program on PATH?
pub fn have(program: &str) -> bool {
    std::process::Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success())
}

/// Whether Python's paramiko can be imported: skip the test without it —
/// except under CI, where `.ci/run` installs it.
pub fn have_paramiko() -> bool {
    let found = std::process::Command::new("python3").args(["-c", "import paramiko"]).output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "paramiko is missing; .ci/run installs it");
        eprintln!("skipping: python3 paramiko is not installed");
    }
    found
}

/// Skip a test when `program` is missing — except under CI (`CI` set),
/// where `.ci/run` installs it and its absence is a failure.
pub fn require(program: &str) -> bool {
    if have(program) {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{program} is required under CI but not installed");
    }
    eprintln!("skipping: {program} not installed");
    false
}

/// Deterministic pseudo-random bytes (for files that compress badly).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Read lines from a child's output for debugging failed interop tests.
pub fn lines_of(bytes: &[u8]) -> Vec<String> {
    bytes.lines().map_while(Result::ok).collect()
}

/// Every file and folder under `dir`: relative path → contents (`None` for
/// folders). Two trees compare equal only if they match byte for byte.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Option<Vec<u8>>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
                out.insert(rel, None);
            } else {
                out.insert(rel, Some(std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out
}

/// A tree for mirror tests: nested folders, an empty folder, empty files,
/// binary files that span several transfer buffers, UTF-8 names.
pub fn make_sample_tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("a/b/c")).unwrap();
    std::fs::create_dir_all(dir.join("empty-dir")).unwrap();
    std::fs::create_dir_all(dir.join("dïr ünï 文件")).unwrap();
    std::fs::write(dir.join("top.txt"), b"top level\n").unwrap();
    std::fs::write(dir.join("empty.bin"), b"").unwrap();
    std::fs::write(dir.join("a/one.bin"), pseudo_random(300_000, 20)).unwrap();
    std::fs::write(dir.join("a/b/two.txt"), b"two\r\nlines\n").unwrap();
    std::fs::write(dir.join("a/b/c/deep empty"), b"").unwrap();
    std::fs::write(dir.join("a/b/c/three.bin"), pseudo_random(1_234_567, 21)).unwrap();
    std::fs::write(dir.join("dïr ünï 文件/naïve ☃.txt"), "snow ☃\n").unwrap();
}

/// A test certificate authority and a server certificate it signed (for
/// 127.0.0.1 and localhost), as PEM files.
pub struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    /// Make a CA and a leaf certificate.
    pub fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap().signed_by(&leaf_key, &ca).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), leaf_key.serialize_pem()).unwrap();
        TestCa { dir }
    }

    /// The CA certificate (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server certificate (PEM).
    pub fn cert_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The server key (PEM).
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// A TCP connection to `addr` from the local address `local`.
pub fn connect_from(addr: SocketAddr, local: std::net::IpAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::new(local, 0).into()).expect("bind the local address");
    socket.connect_timeout(&addr.into(), STEP_TIMEOUT).expect("connect");
    socket.into()
}

/// A child process (a `ferryd` started by a test), killed by its own id
/// when dropped.
pub struct Spawned(pub std::process::Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Wait until something listens on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16) {
    let deadline = std::time::Instant::now() + STEP_TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "nothing listened on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
