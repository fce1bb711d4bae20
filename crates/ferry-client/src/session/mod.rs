//! [`Session`]: an FTP or an SFTP session behind one set of verbs, so
//! that a shell, a mirror or a script is written once for both
//! protocols. Each verb is one call on the protocol's own client; the
//! local-file rules (no-clobber names, `.ferry-part` files, checked
//! resume) are the library's ([`crate::download`], [`crate::resume`])
//! whichever protocol carries the bytes.
//!
//! What only FTP has (raw commands, ASCII mode, `FEAT`, TLS) stays on
//! [`Client`], reached with [`Session::ftp`].

mod sftp;

use std::path::Path;
use std::time::SystemTime;

use ferry_proto::command::ChecksumAlgo;
use ferry_proto::listing::Entry;
use ferry_sftp::StatusCode;

pub use sftp::{SftpLogin, SftpSession};

use crate::client::{Client, ClientConfig, Login, StoreMode};
use crate::download::{DownloadPlan, Fetched};
use crate::error::{Error, Result};
use crate::local::Clobber;
use crate::progress::Progress;
use crate::resume::Resume;

/// A session on either protocol.
#[derive(Debug)]
pub enum Session {
    /// FTP or FTPS.
    Ftp(Box<Client>),
    /// SFTP over SSH.
    Sftp(Box<SftpSession>),
}

/// How to open a session like one that exists.
#[derive(Debug, Clone)]
pub enum SessionLogin {
    /// An FTP login (the [`ClientConfig`] is given to [`SessionLogin::open`]).
    Ftp(Login),
    /// An SFTP login, with its own settings.
    Sftp(SftpLogin),
}

impl SessionLogin {
    /// Connect and log in; `config` is for FTP.
    pub async fn open(&self, config: ClientConfig) -> Result<Session> {
        match self {
            SessionLogin::Ftp(l) => Ok(Session::Ftp(Box::new(l.open(config).await?))),
            SessionLogin::Sftp(l) => Ok(Session::Sftp(Box::new(l.open().await?))),
        }
    }

    /// The host, as connected to.
    pub fn host(&self) -> &str {
        match self {
            SessionLogin::Ftp(l) => &l.host,
            SessionLogin::Sftp(l) => &l.host,
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        match self {
            SessionLogin::Ftp(l) => l.port,
            SessionLogin::Sftp(l) => l.port,
        }
    }

    /// The user logged in as.
    pub fn user(&self) -> &str {
        match self {
            SessionLogin::Ftp(l) => &l.user,
            SessionLogin::Sftp(l) => &l.user,
        }
    }
}

/// True when `e` says the remote file or folder is not there (or, on FTP,
/// any permanent refusal: servers use 550 for both).
pub fn is_missing(e: &Error) -> bool {
    match e {
        Error::Reply { reply, .. } => reply.class() == 5,
        Error::Sftp { code, .. } => *code == StatusCode::NoSuchFile,
        _ => false,
    }
}

/// Run the same call on whichever client `$s` holds.
macro_rules! both {
    ($s:expr, $c:ident => $call:expr) => {
        match $s {
            Session::Ftp($c) => $call,
            Session::Sftp($c) => $call,
        }
    };
}

impl Session {
    /// The FTP session, for what only FTP has.
    pub fn ftp(&mut self) -> Option<&mut Client> {
        match self {
            Session::Ftp(c) => Some(c),
            Session::Sftp(_) => None,
        }
    }

    /// True when an SFTP connection is known to be gone (the server closed
    /// it, or a stopped upload ended it); an FTP loss shows on the next
    /// command.
    pub fn is_closed(&self) -> bool {
        match self {
            Session::Ftp(_) => false,
            Session::Sftp(s) => s.is_closed(),
        }
    }

    /// True for SFTP.
    pub fn is_sftp(&self) -> bool {
        matches!(self, Session::Sftp(_))
    }

    /// The protocol's name, for messages.
    pub fn protocol(&self) -> &'static str {
        match self {
            Session::Ftp(c) if c.is_tls() => "FTPS",
            Session::Ftp(_) => "FTP",
            Session::Sftp(_) => "SFTP",
        }
    }

    /// The login, once accepted (an SFTP session is always logged in).
    pub fn login_details(&self) -> Option<SessionLogin> {
        match self {
            Session::Ftp(c) => c.login_details().map(SessionLogin::Ftp),
            Session::Sftp(s) => Some(SessionLogin::Sftp(s.login().clone())),
        }
    }

    /// `host:port`.
    pub fn address(&self) -> String {
        match self {
            Session::Ftp(c) => c.address(),
            Session::Sftp(s) => format!("{}:{}", s.login().host, s.login().port),
        }
    }

    /// The working folder.
    pub async fn pwd(&mut self) -> Result<String> {
        match self {
            Session::Ftp(c) => c.pwd().await,
            Session::Sftp(s) => Ok(s.pwd().to_owned()),
        }
    }

    /// Change the working folder.
    pub async fn cwd(&mut self, dir: &str) -> Result<()> {
        both!(self, c => c.cwd(dir).await)
    }

    /// Go up one folder.
    pub async fn cdup(&mut self) -> Result<()> {
        match self {
            Session::Ftp(c) => c.cdup().await,
            Session::Sftp(s) => s.cwd("..").await,
        }
    }

    /// The entries of a folder (the working one by default).
    pub async fn list(&mut self, dir: Option<&str>) -> Result<Vec<Entry>> {
        both!(self, c => c.list(dir).await)
    }

    /// The names in a folder, as the server gives them.
    pub async fn nlst(&mut self, dir: Option<&str>) -> Result<Vec<String>> {
        match self {
            Session::Ftp(c) => c.nlst(dir).await,
            Session::Sftp(s) => {
                let mut names: Vec<String> = s.list(dir).await?.into_iter().map(|e| e.name).collect();
                names.sort();
                Ok(names)
            }
        }
    }

    /// Make a folder; returns its name as the server gives it.
    pub async fn mkdir(&mut self, dir: &str) -> Result<String> {
        both!(self, c => c.mkdir(dir).await)
    }

    /// Remove an empty folder.
    pub async fn rmdir(&mut self, dir: &str) -> Result<()> {
        both!(self, c => c.rmdir(dir).await)
    }

    /// Remove a file.
    pub async fn delete(&mut self, file: &str) -> Result<()> {
        both!(self, c => c.delete(file).await)
    }

    /// Rename (or move) `from` to `to`.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        both!(self, c => c.rename(from, to).await)
    }

    /// A file's size.
    pub async fn size(&mut self, file: &str) -> Result<u64> {
        both!(self, c => c.size(file).await)
    }

    /// A file's modification time.
    pub async fn mdtm(&mut self, file: &str) -> Result<SystemTime> {
        both!(self, c => c.mdtm(file).await)
    }

    /// Set a file's modification time; false when the server cannot.
    pub async fn set_mtime(&mut self, file: &str, t: SystemTime) -> Result<bool> {
        match self {
            Session::Ftp(c) => c.set_mtime(file, t).await,
            Session::Sftp(s) => s.set_mtime(file, t).await.map(|()| true),
        }
    }

    /// Set a file's permission bits (octal, as `chmod` takes them).
    pub async fn chmod(&mut self, mode: &str, file: &str) -> Result<()> {
        both!(self, c => c.chmod(mode, file).await)
    }

    /// Keep the session alive, and find out that it is.
    pub async fn noop(&mut self) -> Result<()> {
        both!(self, c => c.noop().await)
    }

    /// True when the server can give digests of files.
    pub fn offers_hash(&self) -> bool {
        match self {
            Session::Ftp(c) => c.offers_hash(),
            Session::Sftp(_) => false,
        }
    }

    /// The digest of a whole remote file, when the server computes one.
    pub async fn remote_digest(&mut self, file: &str, size: u64) -> Result<Option<(ChecksumAlgo, String)>> {
        match self {
            Session::Ftp(c) => c.remote_digest(file, size).await,
            Session::Sftp(_) => Ok(None),
        }
    }

    /// Decide what downloading `remote` to `target` does (see
    /// [`Client::plan_download`]).
    pub async fn plan_download(&mut self, remote: &str, target: &Path, policy: Clobber) -> Result<DownloadPlan> {
        match self {
            Session::Ftp(c) => c.plan_download(remote, target, policy).await,
            Session::Sftp(s) => crate::download::plan(s.as_mut(), remote, target, policy).await,
        }
    }

    /// Carry out `plan` (`segments` is FTP's: SFTP pipelines one stream).
    pub async fn download(
        &mut self,
        plan: &DownloadPlan,
        segments: usize,
        progress: &mut dyn Progress,
        interrupt: impl Future<Output = ()>,
    ) -> Result<Fetched> {
        match self {
            Session::Ftp(c) => c.download(plan, segments, progress, interrupt).await,
            Session::Sftp(s) => crate::download::run(s.as_mut(), plan, progress, interrupt).await,
        }
    }

    /// Upload a local file (see [`Client::upload`]).
    pub async fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        mode: StoreMode,
        progress: &mut dyn Progress,
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        both!(self, c => c.upload(local, remote, mode, progress, interrupt).await)
    }

    /// Upload what standard input gives until its end to `remote`.
    pub async fn upload_stdin(&mut self, remote: &str, progress: &mut dyn Progress, interrupt: impl Future<Output = ()>) -> Result<u64> {
        match self {
            Session::Ftp(c) => c.upload_stream(&mut tokio::io::stdin(), "stdin", remote, progress, interrupt).await,
            Session::Sftp(s) => s.upload_stream(&mut tokio::io::stdin(), "stdin", remote, progress, interrupt).await,
        }
    }

    /// Check the remote part of an upload, and say how it goes on.
    pub async fn plan_resumed_upload(&mut self, local: &Path, remote: &str) -> Result<(StoreMode, Resume)> {
        both!(self, c => c.plan_resumed_upload(local, remote).await)
    }

    /// The whole of a small remote file; `None` when there is none.
    pub async fn read_small(&mut self, remote: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Session::Ftp(c) => {
                let mut bytes = Vec::new();
                match c.retrieve(remote, 0, &mut bytes, &mut |_| {}, std::future::pending()).await {
                    Ok(_) => Ok(Some(bytes)),
                    Err(e) if is_missing(&e) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Session::Sftp(s) => s.read_small(remote).await,
        }
    }

    /// Create or replace a small remote file with `bytes`.
    pub async fn write_small(&mut self, remote: &str, bytes: &[u8]) -> Result<u64> {
        match self {
            Session::Ftp(c) => c.store(remote, StoreMode::Replace, &mut &bytes[..], &mut |_| {}, std::future::pending()).await,
            Session::Sftp(s) => s.write_small(remote, bytes).await,
        }
    }

    /// End the session politely.
    pub async fn quit(self) -> Result<()> {
        match self {
            Session::Ftp(c) => c.quit().await,
            Session::Sftp(s) => {
                s.quit().await;
                Ok(())
            }
        }
    }
}
