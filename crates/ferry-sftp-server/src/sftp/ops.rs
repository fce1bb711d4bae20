//! Each SFTP request as one call on the user's view of the files
//! (`UserFs`), which applies home, permissions, names, quotas, claims and
//! events; this file only speaks the protocol. Runs on the blocking pool,
//! a batch of requests at a time (see `super::session`).
//!
//! | request | core call | permission |
//! |---|---|---|
//! | `OPEN` read | `open_random` | read |
//! | `OPEN` write, `CREAT`/`TRUNC` | `open_upload(Replace)`: a temporary file, renamed over the target at `CLOSE` | write |
//! | `OPEN` write, no `TRUNC` | `open_upload(At(size))`: in place, for resumes | write |
//! | `OPEN` `APPEND` | `open_upload(Append)` | write |
//! | `OPENDIR`/`READDIR`, `STAT`, `LSTAT`, `FSTAT` | `read_dir`, `metadata` | list |
//! | `SETSTAT`/`FSETSTAT` times, mode | `set_times`, `set_mode` | write |
//! | `REMOVE`, `MKDIR`, `RMDIR` | `remove_file`, `mkdir`, `rmdir` | delete, mkdir, delete |
//! | `RENAME` | `rename_keeping` (never over a file) | rename |
//! | `posix-rename@openssh.com` | `rename` (over a file: delete too) | rename |
//! | `SYMLINK`, `hardlink@openssh.com`, `READLINK` | refused: links could lead out of the home | — |

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use ferry_core::auth::settings::Permission;
use ferry_core::limits::Direction;
use ferry_core::sessions::SessionHandle;
use ferry_core::storage::{Detail, PartialOutcome, WriteMode};
use ferry_core::userfs::{FsError, UserFs};
use ferry_proto::VirtualPath;
use ferry_proto::listing::Kind;
use ferry_sftp::attrs::file_type;
use ferry_sftp::response::data_packet;
use ferry_sftp::{Attrs, Body, Limits, NameEntry, OpenFlags, Request, Response, StatusCode};

use super::attrs::{attrs_of, name_entry};
use super::errors::status_of;
use super::handles::{Handles, Open, Reading, Writing};
use super::statvfs;

/// The longest packet a client may send, length field not counted:
/// OpenSSH's own limit (256 KiB), which its clients expect.
pub(crate) const MAX_PACKET: usize = 256 * 1024;
/// The most one `READ` returns, and one `WRITE` may carry (what
/// `limits@openssh.com` tells clients; OpenSSH's values).
pub(crate) const MAX_IO: u32 = (MAX_PACKET - 1024) as u32;
/// Entries per `READDIR` reply.
const DIR_BATCH: usize = 128;

/// A refusal: the status code and the text the client shows.
type Refusal = (StatusCode, String);

fn refuse(code: StatusCode, text: &str) -> Refusal {
    (code, text.to_owned())
}

fn fs_err(e: FsError) -> Refusal {
    status_of(&e)
}

/// What a batch did, for the session: the replies to send, and the bytes
/// read and written (for the rate limits).
#[derive(Default)]
pub(crate) struct Done {
    pub(crate) replies: Vec<u8>,
    pub(crate) read: u64,
    pub(crate) written: u64,
}

/// One SFTP session's state beside the core: the user's view and the open
/// handles.
pub(crate) struct Ops {
    pub(crate) fs: UserFs,
    pub(crate) handles: Handles,
    registration: Arc<SessionHandle>,
    /// The folder `statvfs` reports on (the server's root on disk), when
    /// the storage is a local folder.
    disk: Option<PathBuf>,
}

impl Ops {
    pub(crate) fn new(fs: UserFs, registration: Arc<SessionHandle>, disk: Option<PathBuf>, budget: Arc<super::Budget>) -> Ops {
        Ops { fs, handles: Handles::new(budget), registration, disk }
    }

    /// Answer each request of `batch`, in order.
    pub(crate) fn run(&mut self, batch: Vec<Request>, now: SystemTime) -> Done {
        let mut done = Done::default();
        for req in batch {
            let id = req.id;
            let what = req.body.name();
            match self.answer(req, now, &mut done) {
                Ok(packet) => done.replies.extend_from_slice(&packet),
                Err((code, text)) => {
                    tracing::debug!(request = what, ?code, "{text}");
                    done.replies.extend_from_slice(&Response::status(id, code, text).encode());
                }
            }
        }
        done
    }

    fn answer(&mut self, req: Request, now: SystemTime, done: &mut Done) -> Result<Vec<u8>, Refusal> {
        let id = req.id;
        let ok = || Ok(Response::ok(id).encode());
        match req.body {
            Body::Open { path, flags, attrs: _ } => self.open(id, &path, flags),
            Body::Close { handle } => self.close(&handle).and_then(|()| ok()),
            Body::Read { handle, offset, len } => self.read(id, &handle, offset, len, done),
            Body::Write { handle, offset, data } => {
                self.write(&handle, offset, &data)?;
                done.written += data.len() as u64;
                ok()
            }
            Body::Stat { path } | Body::Lstat { path } => {
                let info = self.fs.metadata(&resolve(&path)?).map_err(fs_err)?;
                Ok(Response::Attrs { id, attrs: attrs_of(&info) }.encode())
            }
            Body::Fstat { handle } => Ok(Response::Attrs { id, attrs: self.fstat(&handle)? }.encode()),
            Body::Setstat { path, attrs } => self.set_attrs(&resolve(&path)?, &attrs).and_then(|()| ok()),
            Body::Fsetstat { handle, attrs } => self.fsetstat(&handle, attrs).and_then(|()| ok()),
            Body::Opendir { path } => {
                let entries = self.fs.read_dir(&resolve(&path)?, Detail::Full).map_err(fs_err)?;
                self.keep(id, Open::Dir(entries))
            }
            Body::Readdir { handle } => self.readdir(id, &handle, now),
            Body::Remove { path } => self.fs.remove_file(&resolve(&path)?).map_err(fs_err).and_then(|()| ok()),
            Body::Mkdir { path, attrs: _ } => self.fs.mkdir(&resolve(&path)?).map_err(fs_err).and_then(|()| ok()),
            Body::Rmdir { path } => self.fs.rmdir(&resolve(&path)?).map_err(fs_err).and_then(|()| ok()),
            Body::Realpath { path } => Ok(name_reply(id, resolve_any(&path)?)),
            Body::ExpandPath { path } => {
                let expanded = match path.strip_prefix(b"~") {
                    Some(rest) if rest.is_empty() || rest.starts_with(b"/") => rest.to_vec(),
                    _ => path,
                };
                Ok(name_reply(id, resolve_any(&expanded)?))
            }
            Body::Rename { from, to } => self.fs.rename_keeping(&resolve(&from)?, &resolve(&to)?).map_err(fs_err).and_then(|()| ok()),
            Body::PosixRename { from, to } => self.fs.rename(&resolve(&from)?, &resolve(&to)?).map_err(fs_err).and_then(|()| ok()),
            Body::Readlink { .. } => Err(refuse(StatusCode::OpUnsupported, "Symbolic links are not read on this server")),
            Body::Symlink { .. } => Err(refuse(StatusCode::PermissionDenied, "Symbolic links cannot be made on this server")),
            Body::Hardlink { .. } => Err(refuse(StatusCode::PermissionDenied, "Hard links cannot be made on this server")),
            Body::Statvfs { path } => {
                resolve(&path)?;
                Ok(Response::Extended { id, data: statvfs::of_home(&self.fs, self.disk.as_deref())?.to_bytes() }.encode())
            }
            Body::Fstatvfs { handle } => {
                self.handles.get(&handle).ok_or_else(bad_handle)?;
                Ok(Response::Extended { id, data: statvfs::of_home(&self.fs, self.disk.as_deref())?.to_bytes() }.encode())
            }
            Body::Fsync { handle } => match self.handles.get(&handle) {
                Some(Open::Write(w)) => match &w.upload {
                    Some(u) => u.sync_data().map_err(fs_err).and_then(|()| ok()),
                    None => Err(bad_handle()),
                },
                Some(_) => ok(),
                None => Err(bad_handle()),
            },
            Body::Limits => {
                let limits = Limits {
                    max_packet: MAX_PACKET as u64,
                    max_read: MAX_IO.into(),
                    max_write: MAX_IO.into(),
                    max_open_handles: super::handles::MAX_OPEN as u64,
                };
                Ok(Response::Extended { id, data: limits.to_bytes() }.encode())
            }
            Body::Extended { name, .. } => Err((
                StatusCode::OpUnsupported,
                format!("The extension \"{}\" is not supported", String::from_utf8_lossy(&name).escape_debug()),
            )),
        }
    }

    fn keep(&mut self, id: u32, open: Open) -> Result<Vec<u8>, Refusal> {
        match self.handles.insert(open) {
            Some(handle) => Ok(Response::Handle { id, handle }.encode()),
            // Dropping what was opened ends it (an upload's drop aborts it).
            None => Err(refuse(StatusCode::Failure, "Too many files open (in this session, or on the server); close some first")),
        }
    }

    fn open(&mut self, id: u32, raw: &[u8], flags: OpenFlags) -> Result<Vec<u8>, Refusal> {
        let path = resolve(raw)?;
        if !flags.has(OpenFlags::WRITE) && !flags.has(OpenFlags::APPEND) {
            let d = self.fs.open_random(&path).map_err(fs_err)?;
            let progress = self.registration.transfer(path.as_str(), Direction::Download, Some(d.size));
            let reading = Reading { path, reader: d.reader, guard: Some(d.report), sent: 0, progress, revoked: false };
            return self.keep(id, Open::Read(reading));
        }
        let found = self.fs.upload_target(&path).map_err(fs_err)?;
        let mode = match found {
            None if !flags.has(OpenFlags::CREAT) => return Err(refuse(StatusCode::NoSuchFile, "No such file")),
            None => WriteMode::Replace,
            Some(info) if info.kind == Kind::Dir => return Err(refuse(StatusCode::Failure, "Is a directory")),
            Some(_) if flags.has(OpenFlags::CREAT) && flags.has(OpenFlags::EXCL) => {
                return Err(refuse(StatusCode::Failure, "File exists"));
            }
            Some(_) if flags.has(OpenFlags::TRUNC) => WriteMode::Replace,
            Some(_) if flags.has(OpenFlags::APPEND) => WriteMode::Append,
            // Written in place, at any offset: what a resume needs (and
            // OpenSSH's scp, which then cuts the file at what it wrote).
            Some(_) => WriteMode::Update,
        };
        let upload = self.fs.open_upload(&path, mode).map_err(fs_err)?;
        let progress = self.registration.transfer(path.as_str(), Direction::Upload, None);
        self.keep(id, Open::Write(Writing { upload: Some(upload), pending: None, failed: None, progress }))
    }

    fn close(&mut self, handle: &[u8]) -> Result<(), Refusal> {
        match self.handles.remove(handle).ok_or_else(bad_handle)? {
            Open::Read(mut r) => {
                if let Some(g) = r.guard.take() {
                    g.finish(r.sent, None);
                }
                Ok(())
            }
            Open::Write(mut w) => {
                let upload = w.upload.take().ok_or_else(bad_handle)?;
                if let Some(failed) = w.failed {
                    let (error, why) = *failed;
                    // As FTP's failed upload: what arrived of a new file is
                    // kept for a resume, unless the quota or the disk ran
                    // out; a file being replaced is never touched.
                    let said = match upload.fail(&error) {
                        PartialOutcome::Discarded => "Upload not saved ({why}); any earlier file is unchanged",
                        PartialOutcome::KeptForResume => "Upload incomplete ({why}); what arrived is kept, to resume",
                        PartialOutcome::InPlace => "Upload incomplete ({why}); the file holds what arrived",
                    };
                    return Err((StatusCode::Failure, said.replace("{why}", &why)));
                }
                let path = upload.path().clone();
                upload.commit().map_err(fs_err)?;
                if let Some(attrs) = w.pending {
                    // The file is in place; a refusal of its times or mode
                    // fails the close but keeps the file.
                    self.set_attrs(&path, &attrs)?;
                }
                Ok(())
            }
            Open::Dir(_) => Ok(()),
        }
    }

    fn read(&mut self, id: u32, handle: &[u8], offset: u64, len: u32, done: &mut Done) -> Result<Vec<u8>, Refusal> {
        let r = match self.handles.get(handle).ok_or_else(bad_handle)? {
            Open::Read(r) => r,
            _ => return Err(refuse(StatusCode::Failure, "This handle is not open for reading")),
        };
        if r.revoked {
            return Err(fs_err(FsError::PermissionDenied(Permission::Read)));
        }
        let len = len.min(MAX_IO) as usize;
        let (packet, n) = data_packet(id, len, |buf| r.reader.read_at(buf, offset)).map_err(|e| fs_err(e.into()))?;
        if n == 0 {
            return Ok(Response::status(id, StatusCode::Eof, "End of file").encode());
        }
        r.sent += n as u64;
        r.progress.add(n as u64);
        done.read += n as u64;
        Ok(packet)
    }

    fn write(&mut self, handle: &[u8], offset: u64, data: &[u8]) -> Result<(), Refusal> {
        let w = match self.handles.get(handle).ok_or_else(bad_handle)? {
            Open::Write(w) => w,
            _ => return Err(refuse(StatusCode::Failure, "This handle is not open for writing")),
        };
        if let Some(failed) = &w.failed {
            return Err((StatusCode::Failure, failed.1.clone()));
        }
        let upload = w.upload.as_mut().ok_or_else(bad_handle)?;
        match upload.write_at(data, offset) {
            Ok(()) => {
                w.progress.add(data.len() as u64);
                Ok(())
            }
            Err(e) => {
                let (code, why) = status_of(&e);
                w.failed = Some(Box::new((e, why.clone())));
                Err((code, why))
            }
        }
    }

    fn fstat(&mut self, handle: &[u8]) -> Result<Attrs, Refusal> {
        match self.handles.get(handle).ok_or_else(bad_handle)? {
            Open::Read(r) => {
                let path = r.path.clone();
                let size = r.reader.size();
                // The facts as now, with the size as opened (what reads see).
                let mut attrs = self.fs.metadata(&path).map(|i| attrs_of(&i)).unwrap_or_default();
                attrs.size = Some(size);
                attrs.permissions.get_or_insert(file_type::FILE | 0o644);
                Ok(attrs)
            }
            Open::Write(w) => {
                let size = w.upload.as_ref().map_or(0, |u| u.size());
                // The mode and times the file will have once in place: those
                // set on the handle, else the new file's (0644), and the
                // upload's times so far.
                let pending = w.pending.clone().unwrap_or_default();
                let mode = pending.permissions.map_or(0o644, |m| m & 0o7777);
                let now = ferry_sftp::attrs::seconds(SystemTime::now());
                let times = pending.times.or(Some((now, now)));
                Ok(Attrs { size: Some(size), permissions: Some(file_type::FILE | mode), times, ..Attrs::default() })
            }
            Open::Dir(_) => Err(refuse(StatusCode::Failure, "This handle is a folder listing")),
        }
    }

    fn fsetstat(&mut self, handle: &[u8], attrs: Attrs) -> Result<(), Refusal> {
        let path = match self.handles.get(handle).ok_or_else(bad_handle)? {
            Open::Write(w) => {
                if let Some(mode) = attrs.permissions {
                    UserFs::mode_allowed(mode & 0o7777).map_err(fs_err)?;
                }
                if let (Some(len), Some(upload)) = (attrs.size, w.upload.as_mut()) {
                    upload.set_len(len).map_err(fs_err)?;
                }
                // Applied to the file once it is in place.
                let p = w.pending.get_or_insert_with(Attrs::default);
                p.permissions = attrs.permissions.or(p.permissions);
                p.times = attrs.times.or(p.times);
                return Ok(());
            }
            Open::Read(r) => r.path.clone(),
            Open::Dir(_) => return Err(refuse(StatusCode::OpUnsupported, "Set the attributes of a folder by its path")),
        };
        self.set_attrs(&path, &attrs)
    }

    /// `SETSTAT`: size, times and mode. Owner and group are the server's
    /// and are left as they are. A size is an upload in place (the same
    /// permission, quota, claim and event as writing the file).
    fn set_attrs(&self, path: &VirtualPath, attrs: &Attrs) -> Result<(), Refusal> {
        if let Some(len) = attrs.size {
            if self.fs.upload_target(path).map_err(fs_err)?.is_none() {
                return Err(refuse(StatusCode::NoSuchFile, "No such file"));
            }
            let mut upload = self.fs.open_upload(path, WriteMode::Update).map_err(fs_err)?;
            match upload.set_len(len) {
                Ok(()) => upload.commit().map(drop).map_err(fs_err)?,
                Err(e) => {
                    upload.fail(&e);
                    return Err(fs_err(e));
                }
            }
        }
        let caps = self.fs.capabilities();
        if let Some((atime, mtime)) = attrs.times {
            let at = |s: u32| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s.into());
            let accessed = caps.set_accessed.then(|| at(atime));
            self.fs.set_times(path, Some(at(mtime)), accessed).map_err(fs_err)?;
        }
        if let Some(mode) = attrs.permissions {
            if !caps.set_mode {
                return Err(refuse(StatusCode::OpUnsupported, "This storage keeps no permission bits"));
            }
            self.fs.set_mode(path, mode & 0o7777).map_err(fs_err)?;
        }
        Ok(())
    }

    fn readdir(&mut self, id: u32, handle: &[u8], now: SystemTime) -> Result<Vec<u8>, Refusal> {
        let entries = match self.handles.get(handle).ok_or_else(bad_handle)? {
            Open::Dir(e) => e,
            _ => return Err(refuse(StatusCode::Failure, "This handle is not a folder listing")),
        };
        let mut out: Vec<NameEntry> = Vec::new();
        for item in entries.by_ref() {
            match item {
                Ok(info) => out.push(name_entry(&info, now)),
                Err(e) if out.is_empty() => return Err(fs_err(e.into())),
                Err(e) => {
                    tracing::warn!(error = %e, "folder listing ended early");
                    break;
                }
            }
            if out.len() == DIR_BATCH {
                break;
            }
        }
        if out.is_empty() {
            return Ok(Response::status(id, StatusCode::Eof, "End of folder").encode());
        }
        Ok(Response::Name { id, entries: out }.encode())
    }
}

fn bad_handle() -> Refusal {
    refuse(StatusCode::Failure, "No such open handle")
}

/// A client's path as the user's view names it: relative paths start at
/// the home, `..` stops there, and reserved names are refused.
fn resolve(raw: &[u8]) -> Result<VirtualPath, Refusal> {
    let text = std::str::from_utf8(raw).map_err(|_| refuse(StatusCode::Failure, "File names must be UTF-8 on this server"))?;
    UserFs::resolve(&VirtualPath::root(), text).map_err(fs_err)
}

/// Like [`resolve`], for `REALPATH`, which names paths without opening
/// them.
fn resolve_any(raw: &[u8]) -> Result<VirtualPath, Refusal> {
    let text = std::str::from_utf8(raw).map_err(|_| refuse(StatusCode::Failure, "File names must be UTF-8 on this server"))?;
    VirtualPath::root().resolve(text).ok_or_else(|| fs_err(FsError::NameNotAllowed))
}

fn name_reply(id: u32, path: VirtualPath) -> Vec<u8> {
    let p = path.as_str().as_bytes().to_vec();
    Response::Name { id, entries: vec![NameEntry { filename: p.clone(), longname: p, attrs: Attrs::default() }] }.encode()
}
