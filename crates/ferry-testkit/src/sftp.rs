//! SFTP in tests: ferryd's SFTP front door on the same in-process server
//! (same accounts, storage, quotas and events as its FTP listener), and
//! OpenSSH's clients set up to reach it without reading or writing
//! anything of the user's `~/.ssh`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ferry_server::{Config, Server};
use ferry_sftp_server::{SftpServer, SftpSettings, Timeouts, host_key};

use crate::{PASSWORD, TestServer, USER};

/// The SFTP settings of a test server: a host key made in `dir`, and the
/// FTP side's deadlines and limits.
pub(crate) fn settings(dir: &Path, config: &Config) -> SftpSettings {
    let (key, _) = host_key::load_or_create(&dir.join("ssh_host_ed25519_key")).expect("make a host key");
    SftpSettings {
        host_keys: vec![key],
        timeouts: Timeouts { login: config.login_timeout, idle: config.idle_timeout, data: config.data_timeout },
        failure_delay: config.failure_delay,
        max_login_failures: config.max_login_failures,
        max_sessions: config.max_sessions,
        disk: Some(config.root.clone()),
        shutdown_grace: config.shutdown_grace,
    }
}

/// The host key's public half as a `.pub` line (`ssh-ed25519 AAAA…`),
/// and its fingerprint (`SHA256:…`).
pub(crate) fn host_key_line(settings: &SftpSettings) -> (String, String) {
    let public = settings.host_keys[0].public_key();
    (public.to_openssh().expect("encode the host key"), host_key::fingerprint(public))
}

/// Serve SFTP for `server` on a free port of `ip`; returns where.
pub(crate) async fn serve(server: &Server, settings: SftpSettings, ip: IpAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, 0)).await.expect("bind the SFTP listener");
    let addr = listener.local_addr().unwrap();
    let core = ferry_sftp_server::Core {
        services: server.services(),
        auth: server.accounts(),
        defender: server.defender(),
        metrics: server.metrics(),
    };
    let sftp = SftpServer::new(core, settings);
    let stopping = server.stopping();
    tokio::spawn(async move { sftp.serve(listener, stopping).await });
    addr
}

/// How an OpenSSH client logs in.
#[derive(Debug, Clone, Copy)]
pub enum Login<'a> {
    /// By password (given through `SSH_ASKPASS`, as a person would type it).
    Password(&'a str),
    /// By the private key in this file.
    Key(&'a Path),
}

impl TestServer {
    /// Start with SFTP as well as FTP, on default settings.
    pub fn start_sftp() -> TestServer {
        Self::start_sftp_with(None, |_| {})
    }

    /// Start with SFTP, per-user settings (`users.toml`) and an adjusted
    /// configuration.
    pub fn start_sftp_with(settings: Option<&str>, adjust: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_inner("127.0.0.1:0".parse().unwrap(), settings, adjust, None, true)
    }

    /// The SFTP port.
    pub fn sftp_port(&self) -> u16 {
        self.sftp_addr.expect("started with SFTP").port()
    }

    /// The host key's `.pub` line.
    pub fn sftp_host_key(&self) -> &str {
        &self.sftp_host_key.as_ref().expect("started with SFTP").0
    }

    /// The host key's SHA-256 fingerprint, as OpenSSH shows it (`SHA256:`
    /// and unpadded base64).
    pub fn sftp_fingerprint(&self) -> &str {
        &self.sftp_host_key.as_ref().expect("started with SFTP").1
    }

    /// A `known_hosts` file that names this server's host key, so that
    /// clients check it strictly.
    pub fn known_hosts(&self) -> PathBuf {
        let path = self.scratch().join("known_hosts");
        std::fs::write(&path, format!("[127.0.0.1]:{} {}\n", self.sftp_port(), self.sftp_host_key())).unwrap();
        path
    }

    /// OpenSSH's `program` (`sftp`, `scp` or `ssh`) ready to reach this
    /// server: no user configuration or agent, the host key checked
    /// strictly, every wait bounded, and `login` as the only way in.
    pub fn openssh(&self, program: &str, login: Login<'_>) -> Command {
        let mut c = Command::new(program);
        let port_flag = if program == "ssh" { "-p" } else { "-P" };
        c.args(["-F", "/dev/null", port_flag, &self.sftp_port().to_string()]);
        let known = self.known_hosts();
        for o in [
            format!("UserKnownHostsFile={}", known.display()),
            "StrictHostKeyChecking=yes".into(),
            "ConnectTimeout=20".into(),
            "ServerAliveInterval=5".into(),
            "ServerAliveCountMax=4".into(),
            "LogLevel=ERROR".into(),
        ] {
            c.args(["-o", &o]);
        }
        c.env_remove("SSH_AUTH_SOCK");
        match login {
            Login::Password(password) => {
                let askpass = self.askpass(password);
                // BatchMode would turn the password prompt off.
                c.args(["-o", "BatchMode=no", "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no"]);
                c.env("SSH_ASKPASS", askpass).env("SSH_ASKPASS_REQUIRE", "force");
            }
            Login::Key(key) => {
                c.args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey", "-i"]).arg(key);
            }
        }
        c.stdin(Stdio::null());
        c
    }

    /// Run an `sftp -b` batch as `user`; a line starting with `-` may
    /// fail without ending the batch (sftp's own rule).
    pub fn sftp_batch(&self, user: &str, login: Login<'_>, script: &str) -> Output {
        let batch = self.scratch().join(format!("batch-{}", script.len()));
        std::fs::write(&batch, script).unwrap();
        let mut c = self.openssh("sftp", login);
        c.arg("-b").arg(&batch).arg(format!("{user}@127.0.0.1"));
        c.output().expect("run sftp")
    }

    /// [`TestServer::sftp_batch`] as the hashed test account by password,
    /// asserting that every line succeeded; returns what sftp printed.
    pub fn sftp_ok(&self, script: &str) -> String {
        let out = self.sftp_batch(USER, Login::Password(PASSWORD), script);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "sftp batch failed:\n{script}\n--- output ---\n{text}");
        text
    }

    /// A script printing `password`, for `SSH_ASKPASS`.
    fn askpass(&self, password: &str) -> PathBuf {
        assert!(!password.contains('\''), "keep test passwords shell-safe");
        let id = std::hash::BuildHasher::hash_one(&std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default(), password);
        let path = self.scratch().join(format!("askpass-{id:x}"));
        if !path.exists() {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, format!("#!/bin/sh\nprintf '%s\\n' '{password}'\n")).unwrap();
            std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        }
        path
    }
}

/// A fresh Ed25519 key pair made with `ssh-keygen` in `dir`: the private
/// key's path and the public `.pub` line.
pub fn client_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("run ssh-keygen");
    assert!(out.status.success(), "ssh-keygen failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut public = path.as_os_str().to_owned();
    public.push(".pub");
    (path, std::fs::read_to_string(public).unwrap().trim().to_owned())
}
