//! [`SftpClient`]: one SFTP session (SFTP version 3 over SSH, with
//! russh), the second protocol `ferry` speaks.
//!
//! - this file: connecting, checking the host key, logging in, and the
//!   file and folder requests;
//! - `host_keys`: `known_hosts`, and what to do about a host it lacks;
//! - `channel`: request ids and replies, so that many requests can be in
//!   flight;
//! - `transfer`: downloads and uploads with reads and writes pipelined.
//!
//! Logins try, in OpenSSH's order, the ssh-agent (`SSH_AUTH_SOCK`), then
//! the identity files (`--identity`, else `~/.ssh/id_ed25519`,
//! `id_ecdsa`, `id_rsa`), then the password, if one was given.

mod channel;
pub mod host_keys;
mod transfer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_sftp::{Attrs, Body, NameEntry, Response, StatusCode, Version};
use russh::keys::PrivateKeyWithHashAlg;

use crate::error::{Error, Result};
use channel::Channel;
use host_keys::{Checker, Verdict};
pub use host_keys::{HostKeyDecision, HostKeyPrompt, RefuseUnknown};
pub use transfer::UploadMode;

/// Settings for an [`SftpClient`].
#[derive(Clone)]
pub struct SftpConfig {
    /// Give up connecting (and the key exchange) after this long.
    pub connect_timeout: Duration,
    /// Give up waiting for a reply after this long.
    pub reply_timeout: Duration,
    /// The `known_hosts` file (`None`: nothing is known, nothing kept).
    pub known_hosts: Option<PathBuf>,
    /// What to do about a host `known_hosts` does not know.
    pub prompt: Arc<dyn HostKeyPrompt>,
    /// Private keys to try (`--identity`); `None`: OpenSSH's defaults
    /// (`~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`, those that exist).
    pub identities: Option<Vec<PathBuf>>,
    /// Ask the ssh-agent for keys.
    pub agent: bool,
}

impl std::fmt::Debug for SftpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpConfig").field("known_hosts", &self.known_hosts).field("identities", &self.identities).finish_non_exhaustive()
    }
}

impl Default for SftpConfig {
    fn default() -> Self {
        SftpConfig {
            connect_timeout: Duration::from_secs(30),
            reply_timeout: Duration::from_secs(60),
            known_hosts: host_keys::default_known_hosts(),
            prompt: Arc::new(RefuseUnknown),
            identities: None,
            agent: true,
        }
    }
}

/// A file or folder as a listing names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name in the folder.
    pub name: String,
    /// The server's `ls -l` line for it.
    pub long_name: String,
    /// Its attributes.
    pub attrs: Attrs,
}

/// One SFTP session.
pub struct SftpClient {
    handle: russh::client::Handle<Checker>,
    channel: Channel,
    version: Version,
    /// Bytes per read and per write request.
    chunk: u32,
    /// [`SftpClient::abandon`] ended the connection.
    abandoned: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for SftpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpClient").field("chunk", &self.chunk).finish_non_exhaustive()
    }
}

/// The ciphers to offer, best first. AES-GCM leads where the processor
/// has AES instructions: measured against ferryd on this machine it moved
/// a file about 1.5 times as fast as chacha20-poly1305, whose Poly1305 is
/// ring's portable code (a quarter of a `put`'s profile). Without them
/// chacha20-poly1305 leads, as in OpenSSH (table-based AES is slow and
/// leaks timing). The CTR ciphers last, for old servers.
fn ciphers() -> &'static [russh::cipher::Name] {
    use russh::cipher::{AES_128_CTR, AES_128_GCM, AES_192_CTR, AES_256_CTR, AES_256_GCM, CHACHA20_POLY1305};
    const AES_FIRST: &[russh::cipher::Name] = &[AES_256_GCM, AES_128_GCM, CHACHA20_POLY1305, AES_256_CTR, AES_192_CTR, AES_128_CTR];
    const CHACHA_FIRST: &[russh::cipher::Name] = &[CHACHA20_POLY1305, AES_256_GCM, AES_128_GCM, AES_256_CTR, AES_192_CTR, AES_128_CTR];
    if aes_in_hardware() { AES_FIRST } else { CHACHA_FIRST }
}

/// AES and carry-less multiplication instructions (for GCM's GHASH).
fn aes_in_hardware() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("aes") && std::arch::is_aarch64_feature_detected!("pmull")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// The keys OpenSSH tries when none is named.
fn default_identities() -> Vec<PathBuf> {
    let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else { return Vec::new() };
    let ssh = PathBuf::from(home).join(".ssh");
    ["id_ed25519", "id_ecdsa", "id_rsa"].iter().map(|n| ssh.join(n)).filter(|p| p.exists()).collect()
}

fn remote_error(what: &str, path: &str, code: StatusCode, message: String) -> Error {
    Error::Sftp { command: format!("{what} {path}"), code, message }
}

/// A reply that should have been a status: OK, or the error it says.
fn status(reply: Response, what: &str, path: &str) -> Result<()> {
    match reply {
        Response::Status { code: StatusCode::Ok, .. } => Ok(()),
        Response::Status { code, message, .. } => Err(remote_error(what, path, code, message)),
        other => Err(Error::Protocol(format!("{what} {path}: unexpected reply {other:?}"))),
    }
}

impl SftpClient {
    /// Connect to `host:port`, check its host key, and log in as `user`
    /// (keys first, then `password` if given).
    pub async fn connect(host: &str, port: u16, user: &str, password: Option<&str>, config: &SftpConfig) -> Result<SftpClient> {
        let verdict = Arc::new(Mutex::new(None));
        let checker = Checker {
            host: host.to_owned(),
            port,
            known_hosts: config.known_hosts.clone(),
            prompt: config.prompt.clone(),
            verdict: verdict.clone(),
        };
        let ssh = Arc::new(russh::client::Config {
            inactivity_timeout: Some(config.reply_timeout.max(Duration::from_secs(60)) * 2),
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 4,
            nodelay: true,
            window_size: 8 << 20,
            preferred: russh::Preferred { cipher: std::borrow::Cow::Borrowed(ciphers()), ..Default::default() },
            ..Default::default()
        });
        let addr = format!("{host}:{port}");
        let connecting = russh::client::connect(ssh, (host, port), checker);
        let mut handle = match tokio::time::timeout(config.connect_timeout, connecting).await {
            Err(_) => return Err(Error::Timeout("connecting")),
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                let refused = match verdict.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    Some(Verdict::Refused(why)) => Some(why),
                    _ => None,
                };
                return Err(match (refused, e) {
                    (Some(why), _) => Error::HostKey(why),
                    (None, russh::Error::IO(source)) => Error::Connect { addr, source },
                    (None, e) => Error::Ssh(format!("{addr}: {e}")),
                });
            }
        };
        if !authenticate(&mut handle, user, password, config).await? {
            return Err(Error::SshLogin(format!(
                "{user}@{host} was refused: wrong password, or no key the server accepts (tried the agent and {})",
                if config.identities.is_none() { "~/.ssh/id_*" } else { "--identity" }
            )));
        }
        let session = handle.channel_open_session().await.map_err(|e| Error::Ssh(e.to_string()))?;
        let (channel, version) = Channel::start(session, config.reply_timeout).await?;
        let mut client = SftpClient { handle, channel, version, chunk: 32 * 1024, abandoned: Default::default() };
        client.chunk = client.negotiate_chunk().await;
        Ok(client)
    }

    /// Read and write sizes: what `limits@openssh.com` allows, up to 255
    /// KiB; 32 KiB (what every server takes) without it.
    async fn negotiate_chunk(&self) -> u32 {
        if !self.version.offers(ferry_sftp::request::ext::LIMITS) {
            return 32 * 1024;
        }
        match self.channel.call(Body::Limits).await {
            Ok(Response::Extended { data, .. }) => match ferry_sftp::Limits::from_bytes(&data) {
                Ok(l) => {
                    let most = if l.max_read == 0 { 64 * 1024 } else { l.max_read.min(l.max_write.max(1)) };
                    most.clamp(4 * 1024, 255 * 1024) as u32
                }
                Err(_) => 32 * 1024,
            },
            _ => 32 * 1024,
        }
    }

    /// The extensions the server offers, by name.
    pub fn extensions(&self) -> Vec<String> {
        self.version.extensions.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Whether the server offers an extension (`posix-rename@openssh.com`).
    pub fn offers(&self, extension: &str) -> bool {
        self.version.offers(extension)
    }

    /// The absolute form of `path` (`.` is the home).
    pub async fn realpath(&self, path: &str) -> Result<String> {
        match self.channel.call(Body::Realpath { path: path.as_bytes().to_vec() }).await? {
            Response::Name { entries, .. } if !entries.is_empty() => Ok(String::from_utf8_lossy(&entries[0].filename).into_owned()),
            Response::Status { code, message, .. } => Err(remote_error("realpath", path, code, message)),
            other => Err(Error::Protocol(format!("realpath: unexpected reply {other:?}"))),
        }
    }

    /// A path's attributes (following links).
    pub async fn stat(&self, path: &str) -> Result<Attrs> {
        match self.channel.call(Body::Stat { path: path.as_bytes().to_vec() }).await? {
            Response::Attrs { attrs, .. } => Ok(attrs),
            Response::Status { code, message, .. } => Err(remote_error("stat", path, code, message)),
            other => Err(Error::Protocol(format!("stat: unexpected reply {other:?}"))),
        }
    }

    /// A path's attributes, or `None` when there is no such file.
    pub async fn try_stat(&self, path: &str) -> Result<Option<Attrs>> {
        match self.stat(path).await {
            Ok(a) => Ok(Some(a)),
            Err(Error::Sftp { code: StatusCode::NoSuchFile, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The entries of folder `dir`, without `.` and `..`.
    pub async fn list(&self, dir: &str) -> Result<Vec<Entry>> {
        let handle = self.open_handle(Body::Opendir { path: dir.as_bytes().to_vec() }, "list", dir).await?;
        let mut out = Vec::new();
        let result = loop {
            match self.channel.call(Body::Readdir { handle: handle.clone() }).await {
                Ok(Response::Name { entries, .. }) => out.extend(entries.into_iter().filter_map(entry)),
                Ok(Response::Status { code: StatusCode::Eof, .. }) => break Ok(()),
                Ok(Response::Status { code, message, .. }) => break Err(remote_error("list", dir, code, message)),
                Ok(other) => break Err(Error::Protocol(format!("readdir: unexpected reply {other:?}"))),
                Err(e) => break Err(e),
            }
        };
        let _ = self.channel.call(Body::Close { handle }).await;
        result.map(|()| out)
    }

    async fn open_handle(&self, body: Body, what: &str, path: &str) -> Result<Vec<u8>> {
        match self.channel.call(body).await? {
            Response::Handle { handle, .. } => Ok(handle),
            Response::Status { code, message, .. } => Err(remote_error(what, path, code, message)),
            other => Err(Error::Protocol(format!("{what}: unexpected reply {other:?}"))),
        }
    }

    /// Make folder `path`.
    pub async fn mkdir(&self, path: &str) -> Result<()> {
        status(self.channel.call(Body::Mkdir { path: path.as_bytes().to_vec(), attrs: Attrs::default() }).await?, "mkdir", path)
    }

    /// Remove the empty folder `path`.
    pub async fn rmdir(&self, path: &str) -> Result<()> {
        status(self.channel.call(Body::Rmdir { path: path.as_bytes().to_vec() }).await?, "rmdir", path)
    }

    /// Remove file `path`.
    pub async fn remove(&self, path: &str) -> Result<()> {
        status(self.channel.call(Body::Remove { path: path.as_bytes().to_vec() }).await?, "rm", path)
    }

    /// Rename `from` to `to`; with `replace`, over an existing `to`
    /// (`posix-rename@openssh.com`, where the server has it).
    pub async fn rename(&self, from: &str, to: &str, replace: bool) -> Result<()> {
        let (from_b, to_b) = (from.as_bytes().to_vec(), to.as_bytes().to_vec());
        let body = if replace && self.offers(ferry_sftp::request::ext::POSIX_RENAME) {
            Body::PosixRename { from: from_b, to: to_b }
        } else {
            Body::Rename { from: from_b, to: to_b }
        };
        status(self.channel.call(body).await?, "rename", from)
    }

    /// Set times or mode of `path`.
    pub async fn set_attrs(&self, path: &str, attrs: Attrs) -> Result<()> {
        status(self.channel.call(Body::Setstat { path: path.as_bytes().to_vec(), attrs }).await?, "setstat", path)
    }

    /// True once the connection or the SFTP channel is gone (the server
    /// closed it, or [`SftpClient::abandon`] did): nothing more can be
    /// done on this session.
    pub fn is_closed(&self) -> bool {
        self.abandoned.load(std::sync::atomic::Ordering::Relaxed) || self.handle.is_closed() || self.channel.is_closed()
    }

    /// End the connection at once, without closing open handles: the
    /// server then drops an upload in progress rather than keeping it.
    pub async fn abandon(&self) {
        self.abandoned.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ =
            tokio::time::timeout(Duration::from_secs(5), self.handle.disconnect(russh::Disconnect::ByApplication, "stopped", "en")).await;
        self.channel.close().await;
    }

    /// End the session politely.
    pub async fn quit(self) {
        self.channel.close().await;
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "bye", "en").await;
    }
}

/// A folder entry, unless its name is `.`, `..` or not a name at all (a
/// hostile server's `../../x` or `/etc/x`): those are left out.
fn entry(e: NameEntry) -> Option<Entry> {
    let name = String::from_utf8_lossy(&e.filename).into_owned();
    ferry_proto::path::is_plain_name(&name).then(|| Entry {
        name,
        long_name: String::from_utf8_lossy(&e.longname).into_owned(),
        attrs: e.attrs,
    })
}

/// Log in: the agent's keys, the identity files, then the password.
async fn authenticate(
    handle: &mut russh::client::Handle<Checker>,
    user: &str,
    password: Option<&str>,
    config: &SftpConfig,
) -> Result<bool> {
    let rsa_hash = handle.best_supported_rsa_hash().await.ok().flatten().flatten();
    if config.agent
        && let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await
        && let Ok(ids) = agent.request_identities().await
    {
        for id in ids {
            let key = id.public_key().into_owned();
            if let Ok(r) = handle.authenticate_publickey_with(user, key, rsa_hash, &mut agent).await
                && r.success()
            {
                return Ok(true);
            }
        }
    }
    let named = config.identities.is_some();
    let files = config.identities.clone().unwrap_or_else(default_identities);
    for path in files {
        let key = match russh::keys::load_secret_key(&path, None) {
            Ok(k) => k,
            // Named on the command line: say why it cannot be used.
            Err(e) if named => {
                return Err(Error::Local { path: path.clone(), source: std::io::Error::other(format!("cannot use this key: {e}")) });
            }
            // A default key with a passphrase (the agent has it, or not).
            Err(_) => continue,
        };
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), rsa_hash);
        if handle.authenticate_publickey(user, key).await.map_err(|e| Error::Ssh(e.to_string()))?.success() {
            return Ok(true);
        }
    }
    if let Some(pw) = password {
        return Ok(handle.authenticate_password(user, pw).await.map_err(|e| Error::Ssh(e.to_string()))?.success());
    }
    Ok(false)
}
