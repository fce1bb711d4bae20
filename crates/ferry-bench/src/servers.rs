//! Starting the servers under test, each as its own process on loopback,
//! with files on tmpfs, and measuring their memory.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

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
    child: Child,
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

    /// Proportional set size of the server's processes, in KiB (vsftpd
    /// forks per session, so children count).
    pub(crate) fn pss_kib(&self) -> u64 {
        let mut total = 0;
        for pid in self.process_tree() {
            if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
                total += s
                    .lines()
                    .find(|l| l.starts_with("Pss:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        total
    }

    /// CPU time (user + system) the server has used so far, in seconds,
    /// counting its children: living ones directly, exited ones through
    /// their parents' `cutime`/`cstime` (forking servers end a process per
    /// session). The difference around a scenario is steadier than its
    /// wall-clock rate on a noisy machine.
    pub(crate) fn cpu_secs(&self) -> f64 {
        let ticks_per_sec = 100.0; // USER_HZ, fixed at 100 on Linux
        let mut ticks = 0u64;
        for pid in self.process_tree() {
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
                // Fields 14–17 of stat(5): utime stime cutime cstime; `after`
                // starts at field 3.
                ticks += after.split_whitespace().skip(11).take(4).filter_map(|v| v.parse::<u64>().ok()).sum::<u64>();
            }
        }
        ticks as f64 / ticks_per_sec
    }

    /// The server's process and all its descendants.
    fn process_tree(&self) -> Vec<u32> {
        let root = self.child.id();
        // One pass over /proc for the parent of every process, then walk
        // down from the server.
        let mut children: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
                if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
                    if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) {
                        children.entry(ppid).or_default().push(pid);
                    }
                }
            }
        }
        let mut pids = vec![root];
        let mut i = 0;
        while i < pids.len() {
            if let Some(kids) = children.get(&pids[i]) {
                pids.extend(kids);
            }
            i += 1;
        }
        pids
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_listening(port: u16, child: &mut Child) -> anyhow::Result<()> {
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

/// ferryd (release build) with an argon2id users file.
pub(crate) fn ferryd(bin: &Path, dir: &Path) -> anyhow::Result<Server> {
    let root = dir.join("ferryd-root");
    std::fs::create_dir_all(&root)?;
    let users = dir.join("ferryd-users.txt");
    ferry_server::auth::users_file::set_user(&users, "bench", "benchpw")?;
    let port = free_port();
    let mut child = Command::new(bin)
        .args(["--port", &port.to_string(), "--log-level", "error", "--max-sessions", "20000", "--max-sessions-per-ip", "20000"])
        .args(["--ban-after", "1000000", "--failure-delay-ms", "0", "--root"])
        .arg(&root)
        .arg("--users")
        .arg(&users)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    wait_listening(port, &mut child).context("ferryd")?;
    Ok(Server { name: "ferryd", port, user: "bench".into(), password: "benchpw".into(), root, prefix: "", login_note: "argon2id", child })
}

/// pyftpdlib, if installed.
pub(crate) fn pyftpdlib(dir: &Path) -> anyhow::Result<Server> {
    let root = dir.join("pyftpdlib-root");
    std::fs::create_dir_all(&root)?;
    let port = free_port();
    let mut child = Command::new("python3")
        .args(["-m", "pyftpdlib", "-i", "127.0.0.1", "-p", &port.to_string(), "-w", "-u", "bench", "-P", "benchpw", "-d"])
        .arg(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    wait_listening(port, &mut child).context("pyftpdlib (pip install pyftpdlib)")?;
    Ok(Server { name: "pyftpdlib", port, user: "bench".into(), password: "benchpw".into(), root, prefix: "", login_note: "plain", child })
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
    let mut child = Command::new(bin).arg(&conf).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
    wait_listening(port, &mut child).context("vsftpd")?;
    Ok(Server {
        name: "vsftpd",
        port,
        user: "anonymous".into(),
        password: "bench".into(),
        root: pub_dir,
        prefix: "pub/",
        login_note: "anonymous",
        child,
    })
}

/// Where `bench/setup` unpacks Pure-FTPd: its Debian package conflicts with
/// vsftpd's, so it is extracted rather than installed.
const PURE_FTPD_BINS: [&str; 2] = ["/opt/ferry-bench/pure-ftpd/usr/sbin/pure-ftpd", "/usr/sbin/pure-ftpd"];

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
    let mut child = Command::new(bin)
        .arg("-S")
        .arg(format!("127.0.0.1,{port}"))
        .arg("-l")
        .arg(format!("puredb:{}", pdb.display()))
        // No anonymous, chroot everyone, any uid, no DNS, room for the
        // session and listing scenarios, passive on loopback.
        .args(["-E", "-A", "-u", "1", "-H", "-c", "20000", "-C", "20000", "-L", "100000:5", "-P", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    wait_listening(port, &mut child).context("pure-ftpd")?;
    Ok(Server {
        name: "pure-ftpd",
        port,
        user: "bench".into(),
        password: "benchpw".into(),
        root,
        prefix: "",
        login_note: "sha512-crypt, 1,000 rounds",
        child,
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
    let mut child = Command::new(&bin)
        .arg(format!("--bind-address=127.0.0.1:{port}"))
        .arg(format!("--root-dir={}", root.display()))
        .args(["--auth-type=json", "--log-level=error"])
        .arg(format!("--auth-json-path={}", users.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {} (cargo install unftp)", bin.display()))?;
    wait_listening(port, &mut child).context("unftp")?;
    Ok(Server {
        name: "unftp",
        port,
        user: "bench".into(),
        password: "benchpw".into(),
        root,
        prefix: "",
        login_note: "plain (JSON file)",
        child,
    })
}
