//! [`SftpSession`]: an [`SftpClient`] with what a shell expects of a
//! session and SFTP lacks — a working folder (SFTP has none: every path is
//! the server's, relative ones from the login folder), and the requests
//! the FTP side names `SIZE`, `MDTM`, `MFMT`, `SITE CHMOD` — and the
//! download and resume policies of [`crate::download`] over it.
//!
//! A resume is checked by sizes and modification times (SFTP version 3
//! has no digests), as FTP's is against a server without `HASH`.

use std::path::Path;
use std::time::{Duration, SystemTime};

use ferry_proto::command::Password;
use ferry_proto::listing::{Entry, Kind};
use ferry_sftp::{Attrs, StatusCode};

use crate::client::StoreMode;
use crate::error::{Error, Result, local_at};
use crate::progress::Progress;
use crate::remote::Remote;
use crate::resume::{self, Case, Evidence, Resume};
use crate::sftp::{SftpClient, SftpConfig, UploadMode};

/// Where an SFTP session went and who it logged in as: enough to open
/// another like it (a reconnect, a worker of a mirror).
#[derive(Debug, Clone)]
pub struct SftpLogin {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// The password, if one was given or asked for (keys need none).
    pub password: Option<Password>,
    /// Host keys, identities, timeouts.
    pub config: SftpConfig,
}

impl SftpLogin {
    /// Connect, check the host key and log in.
    pub async fn open(&self) -> Result<SftpSession> {
        let client =
            SftpClient::connect(&self.host, self.port, &self.user, self.password.as_ref().map(|p| p.0.as_str()), &self.config).await?;
        let home = client.realpath(".").await?;
        Ok(SftpSession { client, login: self.clone(), cwd: home.clone(), home })
    }
}

/// One SFTP session with a working folder.
#[derive(Debug)]
pub struct SftpSession {
    client: SftpClient,
    login: SftpLogin,
    /// The working folder, absolute (as the server's `realpath` says).
    cwd: String,
    /// The login folder.
    home: String,
}

/// `base/rel`.
fn join(base: &str, rel: &str) -> String {
    if base.ends_with('/') { format!("{base}{rel}") } else { format!("{base}/{rel}") }
}

/// A server's refusal, named after the command the user typed (`size
/// x.txt`) rather than the request that carried it (`stat /home/x.txt`).
fn named(e: Error, what: &str, arg: &str) -> Error {
    match e {
        Error::Sftp { code, message, .. } => Error::Sftp { command: format!("{what} {arg}"), code, message },
        e => e,
    }
}

fn entry(e: crate::sftp::Entry) -> Entry {
    let a = &e.attrs;
    let kind = if a.is_dir() {
        Kind::Dir
    } else if a.is_symlink() {
        Kind::Symlink
    } else if a.is_file() || a.permissions.is_none() {
        Kind::File
    } else {
        Kind::Other
    };
    Entry { size: a.size.unwrap_or(0), modified: a.modified(), mode: a.permissions.map(|m| m & 0o7777), ..Entry::new(e.name, kind) }
}

impl SftpSession {
    /// The library session, for what the shell does not wrap.
    pub fn client(&self) -> &SftpClient {
        &self.client
    }

    /// True once the connection is gone: nothing more can be done on it.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// How this session logged in.
    pub fn login(&self) -> &SftpLogin {
        &self.login
    }

    /// The server's path for `path` as the user typed it: from the
    /// working folder unless absolute; `~` is the login folder.
    pub fn path(&self, path: &str) -> String {
        match path {
            "" | "." => self.cwd.clone(),
            "~" => self.home.clone(),
            p if p.starts_with('/') => p.to_owned(),
            p => match p.strip_prefix("~/") {
                Some(rest) => join(&self.home, rest),
                None => join(&self.cwd, p),
            },
        }
    }

    /// The working folder.
    pub fn pwd(&self) -> &str {
        &self.cwd
    }

    /// Change the working folder (it must exist and be a folder).
    pub async fn cwd(&mut self, dir: &str) -> Result<()> {
        let wanted = self.path(dir);
        let real = self.client.realpath(&wanted).await.map_err(|e| named(e, "cd", dir))?;
        let attrs = self.client.stat(&real).await.map_err(|e| named(e, "cd", dir))?;
        if !attrs.is_dir() {
            return Err(Error::Sftp { command: format!("cd {dir}"), code: StatusCode::Failure, message: "not a folder".into() });
        }
        self.cwd = real;
        Ok(())
    }

    /// The entries of folder `dir` (the working one by default), sorted by
    /// name (SFTP gives them in the folder's order); for a file, that
    /// file's own entry, as `LIST FILE` gives.
    pub async fn list(&mut self, dir: Option<&str>) -> Result<Vec<Entry>> {
        let path = self.path(dir.unwrap_or("."));
        match self.client.list(&path).await {
            Ok(entries) => {
                let mut entries: Vec<Entry> = entries.into_iter().map(entry).collect();
                entries.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(entries)
            }
            Err(e) => match self.client.try_stat(&path).await {
                Ok(Some(attrs)) if !attrs.is_dir() => {
                    let name = crate::local::base_name(&path).to_owned();
                    Ok(vec![entry(crate::sftp::Entry { name, long_name: String::new(), attrs })])
                }
                _ => Err(e),
            },
        }
    }

    /// The server's `ls -l` lines for folder `dir`, sorted by name.
    pub async fn long_listing(&mut self, dir: Option<&str>) -> Result<Vec<String>> {
        let mut entries = self.client.list(&self.path(dir.unwrap_or("."))).await?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries.into_iter().map(|e| if e.long_name.is_empty() { e.name } else { e.long_name }).collect())
    }

    /// Make folder `dir`; returns its path.
    pub async fn mkdir(&mut self, dir: &str) -> Result<String> {
        let path = self.path(dir);
        self.client.mkdir(&path).await?;
        Ok(path)
    }

    /// Remove the empty folder `dir`.
    pub async fn rmdir(&mut self, dir: &str) -> Result<()> {
        self.client.rmdir(&self.path(dir)).await
    }

    /// Remove `file`.
    pub async fn delete(&mut self, file: &str) -> Result<()> {
        self.client.remove(&self.path(file)).await
    }

    /// Rename `from` to `to`, over an existing `to` where the server
    /// allows (as FTP's `RNFR`/`RNTO` do on Unix servers).
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.client.rename(&self.path(from), &self.path(to), true).await
    }

    /// The attributes of `file`, which must not be a folder (`what` names
    /// the command, for messages).
    async fn file_attrs(&mut self, what: &str, file: &str) -> Result<Attrs> {
        let attrs = self.client.stat(&self.path(file)).await.map_err(|e| named(e, what, file))?;
        if attrs.is_dir() {
            return Err(Error::Sftp { command: format!("{what} {file}"), code: StatusCode::Failure, message: "is a folder".into() });
        }
        Ok(attrs)
    }

    /// The size of `file`.
    pub async fn size(&mut self, file: &str) -> Result<u64> {
        let lacks =
            || Error::Sftp { command: format!("size {file}"), code: StatusCode::OpUnsupported, message: "the server gave no size".into() };
        self.file_attrs("size", file).await?.size.ok_or_else(lacks)
    }

    /// When `file` was last modified.
    pub async fn mdtm(&mut self, file: &str) -> Result<SystemTime> {
        let lacks = || Error::Sftp {
            command: format!("modtime {file}"),
            code: StatusCode::OpUnsupported,
            message: "the server gave no time".into(),
        };
        self.file_attrs("modtime", file).await?.modified().ok_or_else(lacks)
    }

    /// Set `file`'s modification (and access) time.
    pub async fn set_mtime(&mut self, file: &str, t: SystemTime) -> Result<()> {
        let secs = ferry_sftp::attrs::seconds(t);
        self.client.set_attrs(&self.path(file), Attrs { times: Some((secs, secs)), ..Attrs::default() }).await
    }

    /// Set `file`'s permission bits from an octal `mode` (`644`).
    pub async fn chmod(&mut self, mode: &str, file: &str) -> Result<()> {
        let bits = u32::from_str_radix(mode, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .ok_or_else(|| Error::BadArgument(format!("bad mode {mode:?}: give octal bits, as in chmod 644 FILE")))?;
        self.client.set_attrs(&self.path(file), Attrs { permissions: Some(bits), ..Attrs::default() }).await
    }

    /// A request that changes nothing, to keep the session alive and see
    /// that it is.
    pub async fn noop(&mut self) -> Result<()> {
        self.client.realpath(".").await.map(drop)
    }

    /// Upload `local` to `remote` as `mode` says (`Append`: after what the
    /// server has). Returns the bytes sent.
    pub async fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        mode: StoreMode,
        progress: &mut dyn Progress,
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        let meta = crate::upload::sendable(local)?;
        if !meta.is_file() {
            return self.upload_special(local, remote, mode, progress, interrupt).await;
        }
        let file = std::fs::File::open(local).map_err(local_at(local))?;
        let path = self.path(remote);
        let mode = match mode {
            StoreMode::Replace => UploadMode::Replace,
            StoreMode::At(n) => UploadMode::At(n),
            StoreMode::Append => UploadMode::After(self.client.try_stat(&path).await?.and_then(|a| a.size).unwrap_or(0)),
        };
        let offset = match mode {
            UploadMode::At(n) => n,
            UploadMode::Replace | UploadMode::After(_) => 0,
        };
        let name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        progress.start(&name, meta.is_file().then_some(meta.len()), offset);
        let sent = self.client.upload(&file, local, &path, mode, &mut |n| progress.advance(n), interrupt).await;
        progress.finish();
        sent
    }

    /// A FIFO, a device, `/dev/stdin`: no size and no seeking, so read to
    /// its end (opened off the runtime, as opening a FIFO waits for its
    /// writer, and not past Ctrl-C), and only as a whole new copy.
    async fn upload_special(
        &mut self,
        local: &Path,
        remote: &str,
        mode: StoreMode,
        progress: &mut dyn Progress,
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        if mode != StoreMode::Replace {
            return Err(Error::Local {
                path: local.to_owned(),
                source: std::io::Error::other("not a regular file: it can be sent whole, not resumed or appended"),
            });
        }
        let mut interrupt = std::pin::pin!(interrupt);
        let mut input = tokio::select! {
            opened = tokio::fs::File::open(local) => opened.map_err(local_at(local))?,
            () = &mut interrupt => return Err(Error::Interrupted),
        };
        let name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.upload_stream(&mut input, &name, remote, progress, interrupt).await
    }

    /// Upload all that `input` (named `name`) gives until its end to
    /// `remote`, created or replaced. Returns the bytes sent.
    pub async fn upload_stream(
        &mut self,
        input: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
        name: &str,
        remote: &str,
        progress: &mut dyn Progress,
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        let path = self.path(remote);
        progress.start(name, None, 0);
        let sent = self.client.upload_stream(input, Path::new(name), &path, &mut |n| progress.advance(n), interrupt).await;
        progress.finish();
        sent
    }

    /// Check what the server has of `remote` against `local`, and say how
    /// the upload goes on from it.
    pub async fn plan_resumed_upload(&mut self, local: &Path, remote: &str) -> Result<(StoreMode, Resume)> {
        let r = resume::check_put(self, local, remote).await?;
        Ok((if r.offset == 0 { StoreMode::Replace } else { StoreMode::At(r.offset) }, r))
    }

    /// The whole of a small remote file; `None` when there is none.
    pub async fn read_small(&mut self, remote: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(remote);
        if self.client.try_stat(&path).await?.is_none() {
            return Ok(None);
        }
        let mut out = Vec::new();
        self.client.download_to_stream(&path, &mut out, Path::new(remote), &mut |_| {}, std::future::pending()).await?;
        Ok(Some(out))
    }

    /// Create or replace `remote` with `bytes`.
    pub async fn write_small(&mut self, remote: &str, bytes: &[u8]) -> Result<u64> {
        self.client.upload_stream(&mut &bytes[..], Path::new("(memory)"), &self.path(remote), &mut |_| {}, std::future::pending()).await
    }

    /// End the session.
    pub async fn quit(self) {
        self.client.quit().await;
    }
}

impl Remote for SftpSession {
    async fn remote_size(&mut self, remote: &str) -> Result<u64> {
        self.size(remote).await
    }

    async fn remote_size_if_any(&mut self, remote: &str) -> Result<Option<u64>> {
        match self.client.try_stat(&self.path(remote)).await? {
            Some(a) if a.is_dir() => {
                Err(Error::Sftp { command: format!("put {remote}"), code: StatusCode::Failure, message: "is a folder".into() })
            }
            found => Ok(found.and_then(|a| a.size)),
        }
    }

    async fn evidence(&mut self, case: &Case) -> Result<Evidence> {
        let remote = self.client.try_stat(&self.path(&case.remote)).await?.and_then(|a| a.modified());
        Ok(resume::times(case, remote))
    }

    async fn fetch_to_file(
        &mut self,
        remote: &str,
        offset: u64,
        file: std::fs::File,
        local: &Path,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        // A regular file (the part file, or one resumed) takes the replies
        // as they come, each at its offset.
        self.client.download(&self.path(remote), &file, local, offset, progress, interrupt).await
    }

    async fn fetch_to_stream(
        &mut self,
        remote: &str,
        file: std::fs::File,
        local: &Path,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        let mut out = tokio::fs::File::from_std(file);
        self.client.download_to_stream(&self.path(remote), &mut out, local, progress, interrupt).await
    }

    fn open_timeout(&self) -> Duration {
        self.login.config.reply_timeout
    }
}
