//! Other FTP servers, started for interoperability tests: pyftpdlib (from
//! PyPI) and vsftpd (from Debian). Each runs as a child process on a free
//! loopback port and is killed, by its own process id, on drop.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A running external FTP server.
pub struct ExternalServer {
    /// Which program.
    pub name: &'static str,
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// User and password to log in with.
    pub user: String,
    /// Password.
    pub password: String,
    dir: tempfile::TempDir,
    /// Remote path of the writable folder ("" or "pub/").
    pub prefix: &'static str,
}

impl ExternalServer {
    /// The writable folder it serves, on disk (remote path [`Self::remote`]("")).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root").join(self.prefix)
    }

    /// The remote path of `path` inside the writable folder.
    pub fn remote(&self, path: &str) -> String {
        format!("{}{}", self.prefix, path.trim_start_matches('/'))
    }

    /// A scratch folder outside the served root.
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("scratch");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// `ftp://user:pass@127.0.0.1:port/path`.
    pub fn url(&self, path: &str) -> String {
        format!("ftp://{}:{}@127.0.0.1:{}/{}", self.user, self.password, self.port, self.remote(path))
    }
}

impl Drop for ExternalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_listening(port: u16, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Start pyftpdlib with one read-write user, or `None` if it is not
/// installed (`python3 -c 'import pyftpdlib'` fails).
pub fn start_pyftpdlib() -> Option<ExternalServer> {
    let ok = Command::new("python3").args(["-c", "import pyftpdlib"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !ok {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    let root = dir.path().join("root");
    spawn_pyuser_server("pyftpdlib", dir, |port| {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "pyftpdlib", "-i", "127.0.0.1", "-p", &port.to_string(), "-w", "-u", "pyuser", "-P", "pypass", "-d"]).arg(&root);
        cmd
    })
}

/// Run the command `python3_on(port)` builds (a pyftpdlib server with the
/// user `pyuser`/`pypass`) on a free port.
fn spawn_pyuser_server(name: &'static str, dir: tempfile::TempDir, python3_on: impl Fn(u16) -> Command) -> Option<ExternalServer> {
    let (child, port) = spawn_on_free_port(python3_on)?;
    Some(ExternalServer { name, child, port, user: "pyuser".into(), password: "pypass".into(), dir, prefix: "" })
}

/// Start the server `command_on(port)` builds on a free loopback port and
/// wait until it listens; a port taken between choosing and binding it is
/// retried, up to three times. `None` if it cannot start.
fn spawn_on_free_port(command_on: impl Fn(u16) -> Command) -> Option<(Child, u16)> {
    for _ in 0..3 {
        let port = free_port();
        let mut child = command_on(port).stdout(Stdio::null()).stderr(Stdio::null()).spawn().ok()?;
        if wait_listening(port, &mut child) {
            return Some((child, port));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    None
}

/// Start pyftpdlib's plain handler with `setup` run on it first (Python
/// lines with the handler class as `h`, e.g. `h.timeout = 2` for a
/// two-second idle timeout), or `None` without pyftpdlib.
pub fn start_pyftpdlib_with(setup: &str) -> Option<ExternalServer> {
    start_pyftpdlib_script("pyftpdlib", "pyftpdlib", "FTPHandler", setup)
}

/// Start pyftpdlib with its TLS handler (explicit FTPS, TLS required for
/// login and data), or `None` without pyftpdlib and pyOpenSSL.
pub fn start_pyftpdlib_tls(cert: &Path, key: &Path) -> Option<ExternalServer> {
    let setup = format!(
        "h.certfile = {cert:?}\nh.keyfile = {key:?}\nh.tls_control_required = True\nh.tls_data_required = True",
        cert = cert.display().to_string(),
        key = key.display().to_string()
    );
    start_pyftpdlib_script("pyftpdlib-tls", "pyftpdlib, OpenSSL", "TLS_FTPHandler", &setup)
}

/// A pyftpdlib server from a script: the user `pyuser`/`pypass` with all
/// rights on a temporary folder, the handler class `handler` as `h` with
/// `setup` run on it; `None` unless Python can import `imports`.
fn start_pyftpdlib_script(name: &'static str, imports: &str, handler: &str, setup: &str) -> Option<ExternalServer> {
    let ok = Command::new("python3").args(["-c", &format!("import {imports}")]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !ok {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let script = format!(
        "import sys\nfrom pyftpdlib.authorizers import DummyAuthorizer\nfrom pyftpdlib.handlers import {handler}\n\
         from pyftpdlib.servers import FTPServer\na = DummyAuthorizer()\na.add_user('pyuser', 'pypass', {root:?}, perm='elradfmwMT')\n\
         h = {handler}\nh.authorizer = a\n{setup}\ns = FTPServer(('127.0.0.1', int(sys.argv[1])), h)\ns.serve_forever()\n",
        root = root.display().to_string(),
    );
    let script_path = dir.path().join("server.py");
    std::fs::write(&script_path, script).unwrap();
    spawn_pyuser_server(name, dir, |port| {
        let mut cmd = Command::new("python3");
        cmd.arg(&script_path).arg(port.to_string());
        cmd
    })
}

/// Start vsftpd serving anonymous read-write access to a temporary folder,
/// or `None` if it is not installed or cannot start here.
pub fn start_vsftpd() -> Option<ExternalServer> {
    start_vsftpd_with(None)
}

/// vsftpd with TLS required for logins and data (`require_ssl_reuse` is
/// on by default: data connections must resume the control session).
pub fn start_vsftpd_tls(cert: &Path, key: &Path) -> Option<ExternalServer> {
    start_vsftpd_with(Some((cert, key)))
}

fn start_vsftpd_with(tls: Option<(&Path, &Path)>) -> Option<ExternalServer> {
    let bin = ["/usr/sbin/vsftpd", "/usr/bin/vsftpd"].into_iter().find(|p| Path::new(p).exists())?;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    // vsftpd refuses a chroot root the session user can write to, so the
    // root stays root's and the writable folder is `pub/`, owned by `ftp`
    // (the user anonymous sessions run as).
    std::fs::create_dir(root.join("pub")).unwrap();
    let chown = Command::new("chown").arg("ftp").arg(root.join("pub")).status();
    if !chown.is_ok_and(|s| s.success()) {
        return None;
    }
    let port = free_port();
    let conf = dir.path().join("vsftpd.conf");
    std::fs::write(
        &conf,
        format!(
            "listen=YES\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\nanonymous_enable=YES\nno_anon_password=YES\nanon_root={}\n\
             local_enable=NO\nwrite_enable=YES\nanon_upload_enable=YES\nanon_mkdir_write_enable=YES\nanon_other_write_enable=YES\n\
             anon_umask=022\nsecure_chroot_dir={}\nseccomp_sandbox=NO\nxferlog_enable=NO\n\
             pasv_enable=YES\npasv_address=127.0.0.1\nport_enable=YES\nconnect_from_port_20=NO\nuse_localtime=NO\n\
             anon_world_readable_only=NO\nmax_per_ip=0\ndual_log_enable=NO\nsyslog_enable=NO\nvsftpd_log_file=/dev/null\n",
            root.display(),
            empty.display()
        ) + &tls
            .map(|(cert, key)| {
                format!(
                    "ssl_enable=YES\nrsa_cert_file={}\nrsa_private_key_file={}\nallow_anon_ssl=YES\nforce_anon_logins_ssl=YES\n\
                     force_anon_data_ssl=YES\nrequire_ssl_reuse=YES\nssl_request_cert=NO\n",
                    cert.display(),
                    key.display()
                )
            })
            .unwrap_or_default(),
    )
    .unwrap();
    let mut child = Command::new(bin).arg(&conf).stdout(Stdio::null()).stderr(Stdio::null()).spawn().ok()?;
    if !wait_listening(port, &mut child) {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    Some(ExternalServer {
        name: if tls.is_some() { "vsftpd-tls" } else { "vsftpd" },
        child,
        port,
        user: "anonymous".into(),
        password: "ferry@".into(),
        dir,
        prefix: "pub/",
    })
}

/// An S3-compatible server (`s3s-fs`, from crates.io) on loopback, storing
/// each bucket as a folder of plain files, so tests can compare what a
/// backend wrote byte for byte. It checks AWS SigV4 request signatures
/// against one access key. Killed by its own id when dropped.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket created for the test.
    pub bucket: String,
    /// Credentials it accepts.
    pub access_key: String,
    /// Credentials it accepts.
    pub secret_key: String,
    dir: tempfile::TempDir,
    child: Child,
    bin: PathBuf,
    port: u16,
}

impl S3Server {
    /// Start `s3s-fs` (on PATH or in ~/.cargo/bin) with an empty bucket, or
    /// `None` if it is not installed (`cargo install s3s-fs --features binary`).
    pub fn start() -> Option<S3Server> {
        let bin = Self::binary()?;
        let dir = tempfile::tempdir().unwrap();
        let bucket = "ferry-test".to_owned();
        // s3s-fs keeps each bucket as a folder under its root.
        std::fs::create_dir(dir.path().join(&bucket)).unwrap();
        let (access_key, secret_key) = ("FERRYTESTKEY".to_owned(), "ferry-test-secret-key".to_owned());
        let (child, port) = spawn_on_free_port(|port| Self::command(&bin, port, &access_key, &secret_key, dir.path()))?;
        Some(S3Server { endpoint: format!("http://127.0.0.1:{port}"), bucket, access_key, secret_key, dir, child, bin, port })
    }

    fn command(bin: &Path, port: u16, access_key: &str, secret_key: &str, dir: &Path) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", access_key, "--secret-key", secret_key]).arg(dir);
        cmd
    }

    /// Stop the server (an outage); [`S3Server::restart`] brings it back
    /// on the same port with the same objects.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start it again after [`S3Server::stop`]; waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = std::time::Instant::now() + crate::STEP_TIMEOUT;
        loop {
            let cmd = Self::command(&self.bin, self.port, &self.access_key, &self.secret_key, self.dir.path());
            let mut cmd = cmd;
            self.child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("restart s3s-fs");
            if wait_listening(self.port, &mut self.child) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "s3s-fs did not come back on port {}", self.port);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Freeze (`SIGSTOP`) or thaw (`SIGCONT`) the server: connections are
    /// still accepted by the kernel, but nothing answers.
    pub fn freeze(&self, frozen: bool) {
        let sig = if frozen { "-STOP" } else { "-CONT" };
        let _ = Command::new("kill").args([sig, &self.child.id().to_string()]).status();
    }

    fn binary() -> Option<PathBuf> {
        if crate::have("s3s-fs") {
            return Some(PathBuf::from("s3s-fs"));
        }
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        let p = home.join("bin/s3s-fs");
        p.exists().then_some(p)
    }

    /// Where the objects under `prefix` lie on disk.
    pub fn files(&self, prefix: &str) -> PathBuf {
        let b = self.dir.path().join(&self.bucket);
        if prefix.is_empty() { b } else { b.join(prefix) }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.freeze(false);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL server of its own (Debian's `postgresql` package: initdb
/// into a temporary folder, then `postgres` on a free loopback port, trust
/// authentication for the `ferry` role). As root it runs as the `postgres`
/// account, which PostgreSQL insists on. Stopped by its own id when dropped.
pub struct PgServer {
    /// libpq connection string for the `ferry` role.
    pub conninfo: String,
    _dir: tempfile::TempDir,
    child: Child,
    /// What [`PgServer::restart`] needs: the server binaries, the data
    /// folder, the port and the account it runs as.
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_user: Option<(u32, u32)>,
}

impl PgServer {
    /// Start one, or `None` when PostgreSQL's server binaries are missing.
    pub fn start() -> Option<PgServer> {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        let bin = Self::bin_dir()?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        // PostgreSQL refuses to run as root.
        let as_user = Self::is_root().then(Self::postgres_ids).flatten();
        if let Some((uid, _)) = as_user {
            let ok = Command::new("chown").arg(uid.to_string()).arg(&data).status().is_ok_and(|s| s.success());
            assert!(ok, "chown the PostgreSQL data folder");
        }
        let run = |program: &str| {
            let mut cmd = Command::new(bin.join(program));
            if let Some((uid, gid)) = as_user {
                cmd.uid(uid).gid(gid);
            }
            cmd
        };
        let init = run("initdb")
            .args(["-U", "ferry", "-A", "trust", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .ok()?;
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        let (child, port) = spawn_on_free_port(|port| Self::postgres_command(&bin, &data, port, as_user))?;
        let conninfo = format!("host=127.0.0.1 port={port} user=ferry dbname=postgres");
        let pg = PgServer { conninfo, _dir: dir, child, bin, data, port, as_user };
        pg.wait_ready();
        Some(pg)
    }

    fn postgres_command(bin: &Path, data: &Path, port: u16, as_user: Option<(u32, u32)>) -> Command {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(bin.join("postgres"));
        if let Some((uid, gid)) = as_user {
            cmd.uid(uid).gid(gid);
        }
        cmd.arg("-D").arg(data).args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-k"]).arg(data);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The postmaster and its children (backends, checkpointer, …): every
    /// process of this server, for signals such as `SIGSTOP`.
    pub fn pids(&self) -> Vec<u32> {
        let parent = self.child.id();
        let mut pids = vec![parent];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            // Field 4 of /proc/PID/stat is the parent; the name (field 2) may hold spaces, so count from its ')'.
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)).and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(parent) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Send `signal` (e.g. `STOP`, `CONT`) to every process of this server.
    pub fn signal_all(&self, signal: &str) {
        for pid in self.pids() {
            let _ = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status();
        }
    }

    /// Stop the server (fast shutdown); [`PgServer::restart`] brings it back.
    pub fn stop(&mut self) {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start the stopped server again, on the same port with the same data.
    pub fn restart(&mut self) {
        self.child = Self::postgres_command(&self.bin, &self.data, self.port, self.as_user).spawn().expect("restart postgres");
        assert!(wait_listening(self.port, &mut self.child), "PostgreSQL did not come back on port {}", self.port);
        self.wait_ready();
    }

    /// PostgreSQL listens before it accepts logins ("the database system
    /// is starting up"): wait for those too.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = self.port.to_string();
        while !Command::new(self.bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(Instant::now() < deadline, "PostgreSQL on port {port} did not get ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn bin_dir() -> Option<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists() && b.join("postgres").exists())
            .collect();
        found.sort();
        found.pop()
    }

    fn is_root() -> bool {
        Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    }

    fn postgres_ids() -> Option<(u32, u32)> {
        let id = |flag: &str| {
            let o = Command::new("id").args([flag, "postgres"]).output().ok().filter(|o| o.status.success())?;
            String::from_utf8_lossy(&o.stdout).trim().parse::<u32>().ok()
        };
        Some((id("-u")?, id("-g")?))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // A test may have frozen it (SIGSTOP): a stopped process would
        // ignore the shutdown.
        if let Ok(None) = self.child.try_wait() {
            self.signal_all("CONT");
        }
        // SIGINT is PostgreSQL's fast shutdown: backends end, nothing is
        // left running. SIGKILL only if it does not stop in time.
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
