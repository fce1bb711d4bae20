//! SFTP: ferryd's SFTP front door against OpenSSH's `sshd` with its
//! `sftp-server`, both on loopback, with OpenSSH's `sftp` as the client
//! (batch mode, a key, the ciphers both sides prefer: chacha20-poly1305).
//! Rows: one big file down and up, and 2,000 small files down and up.
//! Then the clients: `ferry` against OpenSSH's `sftp`, both on ferryd,
//! the big file down and up (each client with the ciphers it prefers).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::reaper::Reaped;
use crate::report::{Better, Table};
use crate::scenarios::timed_run;
use crate::servers::{FERRYD_LIFTS, free_port, start};

/// The columns: ferryd first, then the peer.
pub(crate) const COLUMNS: [&str; 2] = ["ferryd", "openssh"];

/// The SFTP table, empty.
pub(crate) fn table(size: u64, small: usize) -> Table {
    let mib = size >> 20;
    Table::new(&COLUMNS)
        .row("sftp:get", format!("SFTP get {mib} MiB, OpenSSH sftp (MB/s)"), Better::Higher)
        .row("sftp:put", format!("SFTP put {mib} MiB, OpenSSH sftp (MB/s)"), Better::Higher)
        .row("sftp:small-get", format!("SFTP get -r {small} small files, OpenSSH sftp (s)"), Better::Lower)
        .row("sftp:small-put", format!("SFTP put -r {small} small files, OpenSSH sftp (s)"), Better::Lower)
}

/// The client columns: ferry first, then OpenSSH's client.
pub(crate) const CLIENT_COLUMNS: [&str; 2] = ["ferry", "openssh-sftp"];

/// The SFTP client table, empty.
pub(crate) fn client_table(size: u64) -> Table {
    let mib = size >> 20;
    Table::new(&CLIENT_COLUMNS).row("sftp-client:get", format!("SFTP client: get {mib} MiB from ferryd (MB/s)"), Better::Higher).row(
        "sftp-client:put",
        format!("SFTP client: put {mib} MiB to ferryd (MB/s)"),
        Better::Higher,
    )
}

/// One SFTP server under test.
pub(crate) struct SftpServer {
    port: u16,
    /// Its host key's `.pub` file.
    host_key: PathBuf,
    user: String,
    /// Where its files are on disk.
    root: PathBuf,
    /// How its files are named remotely (ferryd: from the home, `/`;
    /// sshd: absolute paths).
    remote: String,
    _run: Reaped,
}

impl SftpServer {
    fn path(&self, p: &str) -> String {
        format!("{}{p}", self.remote)
    }
}

/// The client's key pair, made once per run.
pub(crate) struct ClientKey {
    private: PathBuf,
    public: String,
}

pub(crate) fn client_key(dir: &Path) -> anyhow::Result<ClientKey> {
    let private = dir.join("sftp-client-key");
    keygen(&private)?;
    let public = std::fs::read_to_string(dir.join("sftp-client-key.pub"))?.trim().to_owned();
    Ok(ClientKey { private, public })
}

fn keygen(path: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path);
    let out = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(path).stdin(Stdio::null()).output();
    match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => bail!("ssh-keygen failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => bail!("ssh-keygen not found ({e}); apt-get install openssh-client"),
    }
}

/// ferryd serving SFTP (and FTP, unused here) with the same caps lifted as
/// its FTP entry, the bench user logging in by key.
pub(crate) fn ferryd(bin: &Path, dir: &Path, key: &ClientKey) -> anyhow::Result<SftpServer> {
    let base = dir.join("sftp-ferryd");
    let root = base.join("root");
    std::fs::create_dir_all(&root)?;
    let users = base.join("users.txt");
    ferry_server::auth::users_file::set_user(&users, "bench", "benchpw")?;
    std::fs::write(base.join("users.toml"), format!("[users.bench]\nauthorized_keys = [\"{}\"]\n", key.public))?;
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["--port", &free_port().to_string(), "--sftp-port", &port.to_string(), "--no-tls"])
        .args(FERRYD_LIFTS)
        .arg("--root")
        .arg(&root)
        .arg("--users")
        .arg(&users);
    let run = start(&cmd, port).with_context(|| format!("ferryd with SFTP ({})", bin.display()))?;
    let host_key = base.join("ssh_host_ed25519_key.pub");
    Ok(SftpServer { port, host_key, user: "bench".into(), root, remote: String::new(), _run: run })
}

/// OpenSSH's sshd on its own port, host key and configuration, serving
/// the user running the benchmark with `sftp-server` (its default).
pub(crate) fn openssh(dir: &Path, key: &ClientKey) -> anyhow::Result<SftpServer> {
    let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"].into_iter().find(|p| Path::new(p).exists()).context("sshd not installed")?;
    let sftp_server = ["/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/lib/ssh/sftp-server"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context("OpenSSH's sftp-server not found")?;
    let base = dir.join("sftp-openssh");
    let root = base.join("root");
    std::fs::create_dir_all(&root)?;
    keygen(&base.join("host_key"))?;
    std::fs::write(base.join("authorized_keys"), format!("{}\n", key.public))?;
    let user = String::from_utf8(Command::new("id").arg("-un").output()?.stdout)?.trim().to_owned();
    if rustix::process::geteuid().is_root() {
        // Its privilege-separation folder, which the package's service
        // would otherwise make.
        std::fs::create_dir_all("/run/sshd")?;
    }
    let port = free_port();
    let config = base.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nPidFile {pid}\n\
             MaxStartups 100\nMaxSessions 100\nSubsystem sftp {sftp_server}\n",
            hk = base.join("host_key").display(),
            ak = base.join("authorized_keys").display(),
            pid = base.join("sshd.pid").display(),
        ),
    )?;
    let mut cmd = Command::new(sshd);
    cmd.args(["-D", "-e", "-f"]).arg(&config);
    let run = start(&cmd, port).context("sshd (apt-get install openssh-server)")?;
    let remote = format!("{}/", root.display());
    Ok(SftpServer { port, host_key: base.join("host_key.pub"), user, root, remote, _run: run })
}

/// Run an `sftp -b` batch against `s`: its wall time.
fn batch(s: &SftpServer, key: &ClientKey, script: &str, dir: &Path) -> anyhow::Result<std::time::Duration> {
    let file = dir.join("sftp-batch");
    std::fs::write(&file, script)?;
    let mut cmd = Command::new("sftp");
    cmd.args(["-F", "/dev/null", "-P", &s.port.to_string(), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"])
        .args(["-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i"])
        .arg(&key.private)
        .arg("-b")
        .arg(&file)
        .arg(format!("{}@127.0.0.1", s.user));
    timed_run(&mut cmd)
}

/// The files each server starts with: the big file and the small folder.
pub(crate) fn seed(s: &SftpServer, src: &Path, small: usize) -> anyhow::Result<()> {
    let big = s.root.join("big.bin");
    let _ = std::fs::remove_file(&big);
    if std::fs::hard_link(src, &big).is_err() {
        std::fs::copy(src, &big)?;
    }
    std::fs::create_dir_all(s.root.join("small"))?;
    let chunk = vec![7u8; 4096];
    for i in 0..small {
        std::fs::write(s.root.join(format!("small/{i}.dat")), &chunk)?;
    }
    Ok(())
}

/// One round of the four rows on `s` (column `col`).
pub(crate) fn round(t: &mut Table, col: usize, s: &SftpServer, key: &ClientKey, src: &Path, size: u64, dir: &Path) -> anyhow::Result<()> {
    let mb_s = |d: std::time::Duration| size as f64 / d.as_secs_f64() / 1e6;
    let got = batch(s, key, &format!("get {} /dev/null\n", s.path("big.bin")), dir)?;
    t.add("sftp:get", col, Some(mb_s(got)));
    let _ = std::fs::remove_file(s.root.join("up.bin"));
    let put = batch(s, key, &format!("put {} {}\n", src.display(), s.path("up.bin")), dir)?;
    t.add("sftp:put", col, Some(mb_s(put)));
    let _ = std::fs::remove_file(s.root.join("up.bin"));
    let local = dir.join("sftp-small-down");
    let _ = std::fs::remove_dir_all(&local);
    std::fs::create_dir_all(&local)?;
    let small_get = batch(s, key, &format!("get -r {} {}\n", s.path("small"), local.display()), dir)?;
    t.add("sftp:small-get", col, Some(small_get.as_secs_f64()));
    let _ = std::fs::remove_dir_all(s.root.join("small-up"));
    let small_put = batch(s, key, &format!("put -r {} {}\n", local.join("small").display(), s.path("small-up")), dir)?;
    t.add("sftp:small-put", col, Some(small_put.as_secs_f64()));
    let _ = std::fs::remove_dir_all(s.root.join("small-up"));
    let _ = std::fs::remove_dir_all(&local);
    Ok(())
}

/// A home for `ferry` whose `known_hosts` names `s`'s host key (ferry has
/// no way to skip the check, rightly).
pub(crate) fn ferry_home(s: &SftpServer, dir: &Path) -> anyhow::Result<PathBuf> {
    let home = dir.join("sftp-ferry-home");
    std::fs::create_dir_all(home.join(".ssh"))?;
    let public = std::fs::read_to_string(&s.host_key)?;
    let key: Vec<&str> = public.split_whitespace().take(2).collect();
    std::fs::write(home.join(".ssh/known_hosts"), format!("[127.0.0.1]:{} {}\n", s.port, key.join(" ")))?;
    Ok(home)
}

/// `ferry ARGS` at home in `home`, logging in with the bench key: its
/// wall time.
fn ferry(ferry: &Path, home: &Path, key: &ClientKey, args: &[&str]) -> anyhow::Result<std::time::Duration> {
    let mut cmd = Command::new("env");
    cmd.arg("-u").arg("SSH_AUTH_SOCK").arg(format!("HOME={}", home.display())).arg(ferry).args(["--no-progress", "-i"]);
    cmd.arg(&key.private).args(args);
    timed_run(&mut cmd)
}

/// One round of the client rows against ferryd `s`: ferry, then
/// OpenSSH's sftp, each getting and putting the big file.
pub(crate) fn client_round(
    t: &mut Table,
    s: &SftpServer,
    key: &ClientKey,
    src: &Path,
    size: u64,
    dir: &Path,
    bin: &Path,
) -> anyhow::Result<()> {
    let mb_s = |d: std::time::Duration| size as f64 / d.as_secs_f64() / 1e6;
    let home = ferry_home(s, dir)?;
    let url = |p: &str| format!("sftp://{}@127.0.0.1:{}/{p}", s.user, s.port);
    let got = ferry(bin, &home, key, &["get", &url("big.bin"), "/dev/null"])?;
    t.add("sftp-client:get", 0, Some(mb_s(got)));
    let got = batch(s, key, &format!("get {} /dev/null\n", s.path("big.bin")), dir)?;
    t.add("sftp-client:get", 1, Some(mb_s(got)));
    let _ = std::fs::remove_file(s.root.join("up.bin"));
    let put = ferry(bin, &home, key, &["put", &src.display().to_string(), &url("up.bin")])?;
    t.add("sftp-client:put", 0, Some(mb_s(put)));
    let _ = std::fs::remove_file(s.root.join("up.bin"));
    let put = batch(s, key, &format!("put {} {}\n", src.display(), s.path("up.bin")), dir)?;
    t.add("sftp-client:put", 1, Some(mb_s(put)));
    let _ = std::fs::remove_file(s.root.join("up.bin"));
    Ok(())
}
