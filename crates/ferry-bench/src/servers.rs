//! Starting the servers under test, each as its own process on loopback,
//! with files on tmpfs, and measuring their memory.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::procs;
use crate::reaper::{self, Reaped};

/// One server under test.
pub(crate) struct Server {
    pub(crate) name: &'static str,
    pub(crate) port: u16,
    pub(crate) user: String,
    pub(crate) password: String,
    /// The writable folder on disk.
    pub(crate) root: PathBuf,
    /// Its remote path prefix ("" or "pub/").
    pub(crate) prefix: &'static str,
    /// How logins are checked, for the report.
    pub(crate) login_note: &'static str,
    /// The server under its reaper; dropping it stops the server.
    run: Reaped,
}

impl Server {
    pub(crate) fn remote(&self, p: &str) -> String {
        format!("{}{p}", self.prefix)
    }

    pub(crate) fn url(&self, p: &str) -> String {
        format!("ftp://{}:{}@127.0.0.1:{}/{}", self.user, self.password, self.port, self.remote(p))
    }

    /// Whether the server runs a process per session (its idle memory
    /// grows by a whole process each).
    pub(crate) fn forks_per_session(&self) -> bool {
        matches!(self.name, "vsftpd" | "pure-ftpd")
    }

    /// The root of the server's process tree (its reaper).
    pub(crate) fn root_pid(&self) -> u32 {
        self.run.reaper.id()
    }

    /// The server's processes: its reaper, the server, and all that they
    /// started (a forking server's session processes).
    pub(crate) fn tree(&self) -> Vec<u32> {
        procs::tree(self.root_pid())
    }

    /// Proportional set size of the server's processes, in KiB (vsftpd
    /// and Pure-FTPd fork per session, so children count).
    pub(crate) fn pss_kib(&self) -> u64 {
        procs::pss_kib(&self.tree())
    }

    /// CPU time (user + system) the server has used so far, in seconds,
    /// counting its children: living ones directly, exited ones through
    /// their parents' `cutime`/`cstime`, orphans through the reaper's
    /// (forking servers end a process or two per session). The difference
    /// around a scenario is steadier than its wall-clock rate on a noisy
    /// machine.
    pub(crate) fn cpu_secs(&self) -> f64 {
        procs::cpu_secs(&self.tree())
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Start `cmd` under a reaper and wait until it listens on `port`.
pub(crate) fn start(cmd: &Command, port: u16) -> anyhow::Result<Reaped> {
    let mut run = reaper::spawn(cmd)?;
    wait_listening(port, &mut run.reaper)?;
    Ok(run)
}

fn wait_listening(port: u16, child: &mut std::process::Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!("exited with {status} before listening");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("did not start listening")
}

/// What the normal ferryd entry lifts from ferryd's defaults, the same
/// caps that the peers' configurations lift: sessions at once (1024) and
/// per address (64; every benchmark client comes from 127.0.0.1, and the
/// idle-session rows hold 10,000), and the guessing brakes (a ban after 10
/// failed logins, a 1 s pause after each), which no scenario should meet
/// but which would turn one failure into a stall. Its log level is `error`
/// (the default `info` writes a line per session and transfer).
pub(crate) const FERRYD_LIFTS: &[&str] = &[
    "--max-sessions",
    "20000",
    "--max-sessions-per-ip",
    "20000",
    "--ban-after",
    "1000000",
    "--failure-delay-ms",
    "0",
    "--log-level",
    "error",
];

/// ferryd (release build) with an argon2id users file and the caps in
/// [`FERRYD_LIFTS`] lifted.
pub(crate) fn ferryd(bin: &Path, dir: &Path) -> anyhow::Result<Server> {
    ferryd_with(bin, &dir.join("ferryd"), "ferryd", FERRYD_LIFTS)
}

/// The certificate and key that ferryd made for itself in `dir` (beside
/// its users file), which vsftpd's FTPS entry uses too.
pub(crate) fn ferryd_tls_files(dir: &Path) -> (PathBuf, PathBuf) {
    let base = dir.join("ferryd");
    (base.join("ferryd-cert.pem"), base.join("ferryd-key.pem"))
}

/// ferryd with its defaults: nothing lifted, only the port, the folder
/// and the users file that the bench user logs in with.
pub(crate) fn ferryd_defaults(bin: &Path, dir: &Path) -> anyhow::Result<Server> {
    ferryd_with(bin, &dir.join("ferryd-defaults"), "ferryd-defaults", &[])
}

fn ferryd_with(bin: &Path, base: &Path, name: &'static str, extra: &[&str]) -> anyhow::Result<Server> {
    let root = base.join("root");
    std::fs::create_dir_all(&root)?;
    let users = base.join("users.txt");
    ferry_server::auth::users_file::set_user(&users, "bench", "benchpw")?;
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["--port", &port.to_string()]).args(extra).arg("--root").arg(&root).arg("--users").arg(&users);
    let run = start(&cmd, port).with_context(|| format!("{name} ({})", bin.display()))?;
    Ok(Server { name, port, user: "bench".into(), password: "benchpw".into(), root, prefix: "", login_note: "argon2id", run })
}

/// pyftpdlib, if installed.
pub(crate) fn pyftpdlib(dir: &Path) -> anyhow::Result<Server> {
    let root = dir.join("pyftpdlib-root");
    std::fs::create_dir_all(&root)?;
    let port = free_port();
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "pyftpdlib", "-i", "127.0.0.1", "-p", &port.to_string(), "-w", "-u", "bench", "-P", "benchpw", "-d"]).arg(&root);
    let run = start(&cmd, port).context("pyftpdlib (pip install pyftpdlib)")?;
    Ok(Server { name: "pyftpdlib", port, user: "bench".into(), password: "benchpw".into(), root, prefix: "", login_note: "plain", run })
}

/// vsftpd with anonymous read-write access (its logins need system
/// accounts, which a benchmark should not create).
pub(crate) fn vsftpd(dir: &Path) -> anyhow::Result<Server> {
    vsftpd_with(dir, None)
}

/// vsftpd with TLS (OpenSSL) required, using the given PEM files.
pub(crate) fn vsftpd_tls(dir: &Path, cert: &Path, key: &Path) -> anyhow::Result<Server> {
    vsftpd_with(&dir.join("tls"), Some((cert, key)))
}

fn vsftpd_with(dir: &Path, tls: Option<(&Path, &Path)>) -> anyhow::Result<Server> {
    let bin = ["/usr/sbin/vsftpd", "/usr/bin/vsftpd"].into_iter().find(|p| Path::new(p).exists()).context("vsftpd not installed")?;
    let base = dir.join("vsftpd");
    let pub_dir = base.join("root/pub");
    std::fs::create_dir_all(&pub_dir)?;
    std::fs::create_dir_all(base.join("empty"))?;
    if !Command::new("chown").arg("ftp").arg(&pub_dir).status()?.success() {
        bail!("cannot chown {} to ftp", pub_dir.display());
    }
    let port = free_port();
    let conf = base.join("vsftpd.conf");
    std::fs::write(
        &conf,
        format!(
            "listen=YES\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\nanonymous_enable=YES\nno_anon_password=YES\nanon_root={}\n\
             local_enable=NO\nwrite_enable=YES\nanon_upload_enable=YES\nanon_mkdir_write_enable=YES\nanon_other_write_enable=YES\n\
             anon_umask=022\nsecure_chroot_dir={}\nseccomp_sandbox=NO\nxferlog_enable=NO\npasv_enable=YES\npasv_address=127.0.0.1\n\
             anon_world_readable_only=NO\nmax_per_ip=0\nmax_clients=0\nsyslog_enable=NO\nvsftpd_log_file=/dev/null\n{}",
            base.join("root").display(),
            base.join("empty").display(),
            tls.map(|(c, k)| format!(
                "ssl_enable=YES\nrsa_cert_file={}\nrsa_private_key_file={}\nallow_anon_ssl=YES\nforce_anon_logins_ssl=YES\nforce_anon_data_ssl=YES\n",
                c.display(),
                k.display()
            ))
            .unwrap_or_default()
        ),
    )?;
    let mut cmd = Command::new(bin);
    cmd.arg(&conf);
    let run = start(&cmd, port).context("vsftpd")?;
    Ok(Server {
        name: "vsftpd",
        port,
        user: "anonymous".into(),
        password: "bench".into(),
        root: pub_dir,
        prefix: "pub/",
        login_note: "anonymous",
        run,
    })
}

/// Where `bench/setup` unpacks Pure-FTPd: its Debian package conflicts with
/// vsftpd's, so it is extracted rather than installed.
const PURE_FTPD_BINS: [&str; 2] = ["/opt/ferry-bench/pure-ftpd/usr/sbin/pure-ftpd", "/usr/sbin/pure-ftpd"];

/// The caps Pure-FTPd's configuration lifts: clients at once (`-c`,
/// default 50) and per address (`-C`), and the listing cap (`-L
/// files:depth`, default 10000:5), raised to 2,000,000 files so the
/// 1,000,000-entry folder is listed whole.
pub(crate) const PURE_FTPD_LIFTS: &[&str] = &["-c", "20000", "-C", "20000", "-L", "2000000:5"];

/// Pure-FTPd with one virtual user whose password is a sha512-crypt hash
/// (1,000 rounds, as in the issue's measurements), chrooted to its root.
pub(crate) fn pure_ftpd(dir: &Path) -> anyhow::Result<Server> {
    let bin = PURE_FTPD_BINS.into_iter().find(|p| Path::new(p).exists()).context("Pure-FTPd not found (run bench/setup)")?;
    let pure_pw = Path::new(bin).parent().and_then(Path::parent).map(|usr| usr.join("bin/pure-pw")).context("pure-pw path")?;
    let base = dir.join("pure-ftpd");
    let root = base.join("root");
    std::fs::create_dir_all(&root)?;
    // Virtual users run as a system account: the `ftp` one that vsftpd's
    // package creates, else nobody.
    let (uid, gid) = ["ftp", "nobody"]
        .into_iter()
        .find_map(|u| {
            let id = |flag: &str| Command::new("id").args([flag, u]).output().ok().filter(|o| o.status.success());
            let (uid, gid) = (id("-u")?, id("-g")?);
            Some((String::from_utf8_lossy(&uid.stdout).trim().to_owned(), String::from_utf8_lossy(&gid.stdout).trim().to_owned()))
        })
        .context("no ftp or nobody account")?;
    if !Command::new("chown").arg(format!("{uid}:{gid}")).arg(&root).status()?.success() {
        bail!("cannot chown {}", root.display());
    }
    let hash = Command::new("python3")
        .args(["-W", "ignore", "-c", "import crypt; print(crypt.crypt('benchpw', '$6$rounds=1000$ferrybench$'))"])
        .output()
        .context("python3 crypt for the sha512-crypt hash")?;
    let hash = String::from_utf8_lossy(&hash.stdout).trim().to_owned();
    if !hash.starts_with("$6$") {
        bail!("could not make a sha512-crypt hash with python3");
    }
    let passwd = base.join("pureftpd.passwd");
    std::fs::write(&passwd, format!("bench:{hash}:{uid}:{gid}::{}/./::::::::::::\n", root.display()))?;
    let pdb = base.join("pureftpd.pdb");
    let out = Command::new(&pure_pw).arg("mkdb").arg(&pdb).arg("-f").arg(&passwd).output().context("pure-pw mkdb")?;
    if !out.status.success() {
        bail!("pure-pw mkdb: {}", String::from_utf8_lossy(&out.stderr));
    }
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.arg("-S")
        .arg(format!("127.0.0.1,{port}"))
        .arg("-l")
        .arg(format!("puredb:{}", pdb.display()))
        // No anonymous, chroot everyone, any uid, no DNS, passive on
        // loopback, and room for the scenarios (PURE_FTPD_LIFTS).
        .args(["-E", "-A", "-u", "1", "-H", "-P", "127.0.0.1"])
        .args(PURE_FTPD_LIFTS);
    let run = start(&cmd, port).context("pure-ftpd")?;
    Ok(Server {
        name: "pure-ftpd",
        port,
        user: "bench".into(),
        password: "benchpw".into(),
        root,
        prefix: "",
        login_note: "sha512-crypt, 1,000 rounds",
        run,
    })
}

/// unFTP, the Rust FTP server (`cargo install unftp`; bench/setup does),
/// with a JSON users file holding a plain-text password.
pub(crate) fn unftp(dir: &Path) -> anyhow::Result<Server> {
    let cargo_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/unftp"));
    let bin = cargo_bin.filter(|p| p.exists()).unwrap_or_else(|| PathBuf::from("unftp"));
    let base = dir.join("unftp");
    let root = base.join("root");
    std::fs::create_dir_all(&root)?;
    let users = base.join("users.json");
    std::fs::write(&users, r#"[{"username": "bench", "password": "benchpw"}]"#)?;
    let port = free_port();
    let mut cmd = Command::new(&bin);
    cmd.arg(format!("--bind-address=127.0.0.1:{port}"))
        .arg(format!("--root-dir={}", root.display()))
        .args(["--auth-type=json", "--log-level=error"])
        .arg(format!("--auth-json-path={}", users.display()));
    let run = start(&cmd, port).with_context(|| format!("unftp ({}; bench/setup installs it)", bin.display()))?;
    Ok(Server {
        name: "unftp",
        port,
        user: "bench".into(),
        password: "benchpw".into(),
        root,
        prefix: "",
        login_note: "plain (JSON file)",
        run,
    })
}
