//! OpenSSH's own server, for testing ferry's SFTP side against the
//! reference: `sshd` on a free loopback port with its own host key,
//! configuration and `authorized_keys`, serving the user running the tests
//! with `internal-sftp` (no shell needed), stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Spawned;
use crate::sftp::client_key;

/// A running `sshd`.
pub struct Sshd {
    /// Its port.
    pub port: u16,
    /// The user to log in as (the one running the tests).
    pub user: String,
    /// A private key its `authorized_keys` lists.
    pub key: PathBuf,
    /// A folder for the test's files (address them by absolute path).
    pub files: PathBuf,
    /// `known_hosts` naming its host key.
    pub known_hosts: PathBuf,
    dir: tempfile::TempDir,
    _run: Spawned,
}

impl Sshd {
    /// Start one; `None` (with a note) when OpenSSH's server is missing,
    /// except under CI, where `.ci/run` installs it.
    pub fn start() -> Option<Sshd> {
        let Some(bin) = ["/usr/sbin/sshd", "/usr/bin/sshd"].into_iter().find(|p| Path::new(p).exists()) else {
            assert!(std::env::var_os("CI").is_none(), "sshd is missing; .ci/run installs openssh-server");
            eprintln!("skipping: OpenSSH's sshd is not installed");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let (host_key, host_pub) = client_key(base, "host_key");
        let (key, key_pub) = client_key(base, "client_key");
        std::fs::write(base.join("authorized_keys"), format!("{key_pub}\n")).unwrap();
        let files = base.join("files");
        std::fs::create_dir(&files).unwrap();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap().trim().to_owned();
        if is_root() {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let port = crate::free_port();
        let config = base.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n\
                 PidFile {}\nSubsystem sftp internal-sftp\nLogLevel ERROR\n",
                host_key.display(),
                base.join("authorized_keys").display(),
                base.join("sshd.pid").display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd");
        let run = Spawned(child);
        crate::wait_for_port(port);
        let known_hosts = base.join("known_hosts");
        std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_pub}\n")).unwrap();
        Some(Sshd { port, user, key, files, known_hosts, dir, _run: run })
    }

    /// A scratch folder outside [`Sshd::files`].
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("scratch");
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}
