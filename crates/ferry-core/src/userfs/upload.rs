//! Uploads through a user's view: opened with every check made (permission,
//! names, the file claimed, the restart point, the file quota), written
//! with the byte quota charged as the bytes arrive, and ended by exactly
//! one of commit or abort — which is when the event is emitted.

use std::io::{self, Read as _};
use std::time::Instant;

use sha2::{Digest as _, Sha256};

use ferry_proto::VirtualPath;
use ferry_proto::listing::Kind;

use super::{FsError, UploadRequest, UserFs, existing, new_name};
use crate::auth::settings::Permission;
use crate::claims::Claim;
use crate::events::{EventKind, Failure, Transfer};
use crate::quota::{Ledger, Limits, Reservation};
use crate::storage::{PartialOutcome, StorageError, Upload, WriteMode};

/// How an opened upload stands against what was there.
struct Opened {
    /// No file was there.
    new_file: bool,
    /// Bytes of the old file the commit frees (all of it for a
    /// replacement, the tail past the restart point for a restart).
    replaced: u64,
    /// Where front-to-back writes begin.
    start: u64,
    /// Appending: every write lands at the end.
    append: bool,
    /// The commit may replace an existing file.
    replaces: bool,
}

impl UserFs {
    /// Start an upload to `path` (`write`): [`WriteMode::Replace`] writes
    /// beside the file and replaces it atomically at the commit,
    /// [`WriteMode::At`] and [`WriteMode::Append`] write in place. Refused
    /// while another upload to the same file runs, for a restart point the
    /// file does not reach, and for a new file the file quota has no room
    /// for. Blocking (it may walk the home to count its quota).
    pub fn open_upload(&self, path: &VirtualPath, mode: WriteMode) -> Result<UserUpload, FsError> {
        self.open_upload_announced(path, mode, None)
    }

    /// [`UserFs::open_upload`] of an upload whose size the client
    /// announced (FTP's `ALLO`), for the upload gate to see.
    pub fn open_upload_announced(&self, path: &VirtualPath, mode: WriteMode, size: Option<u64>) -> Result<UserUpload, FsError> {
        self.permit(Permission::Write)?;
        new_name(path)?;
        self.ask_gate(path, size)?;
        let claim = self.inner.services.claims().claim(self.server_key(path)).ok_or(FsError::AlreadyUploading)?;
        let found = self.storage().metadata(path);
        // Unless the storage said "no such file", something may be replaced.
        let may_replace = !matches!(found, Err(StorageError::NotFound));
        let size = found.ok().filter(|i| i.kind == Kind::File).map(|i| i.size);
        let old = size.unwrap_or(0);
        if let WriteMode::At(offset) = mode
            && offset > old
        {
            return Err(FsError::RestartPastEnd { offset, size: old });
        }
        let (replaced, start) = match mode {
            WriteMode::Replace => (old, 0),
            WriteMode::At(n) => (old - n, n),
            WriteMode::Append | WriteMode::Update => (0, old),
        };
        let opened = Opened {
            new_file: size.is_none(),
            replaced,
            start,
            append: mode == WriteMode::Append,
            replaces: mode == WriteMode::Replace && may_replace,
        };
        let quota = self.quota_room(opened.new_file)?;
        let upload = self.storage().open_write(path, mode)?;
        self.start_upload(path.clone(), upload, quota, claim, opened)
    }

    /// What an upload to `path` would meet (`write`, not `list`: a
    /// drop-box user may not look, but may still be told that the name
    /// is taken): `None` when nothing is there. For front-ends whose open
    /// request depends on it (SFTP's `CREAT`, `EXCL` and `TRUNC`).
    pub fn upload_target(&self, path: &VirtualPath) -> Result<Option<crate::storage::FileInfo>, FsError> {
        self.permit(Permission::Write)?;
        new_name(path)?;
        match self.storage().metadata(path) {
            Ok(info) => Ok(Some(info)),
            Err(StorageError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Start an upload under a new, unused name in `dir` (`write`), made
    /// from `hint` where it is a fit name (FTP's `STOU`). The name is in
    /// [`UserUpload::path`].
    pub fn create_unique(&self, dir: &VirtualPath, hint: &str) -> Result<UserUpload, FsError> {
        self.permit(Permission::Write)?;
        existing(dir)?;
        let quota = self.quota_room(true)?;
        let (path, upload) = self.storage().create_unique(dir, hint)?;
        // The name is new, but from now on it is being uploaded like any
        // other: no upload, deletion or rename may meet it half-done.
        let Some(claim) = self.inner.services.claims().claim(self.server_key(&path)) else {
            upload.abort(false);
            return Err(FsError::AlreadyUploading);
        };
        if let Err(e) = self.ask_gate(&path, None) {
            upload.abort(false);
            return Err(e);
        }
        let opened = Opened { new_file: true, replaced: 0, start: 0, append: false, replaces: false };
        self.start_upload(path, upload, quota, claim, opened)
    }

    /// Let the upload gate, if there is one, refuse the upload.
    fn ask_gate(&self, path: &VirtualPath, size: Option<u64>) -> Result<(), FsError> {
        let Some(gate) = self.inner.services.upload_gate() else { return Ok(()) };
        gate.check(&UploadRequest { actor: self.actor(), path, size }).map_err(FsError::Refused)
    }

    /// The home's ledger, counted (walked if stale), when the user has a
    /// quota; refuses a new file the file count has no room for.
    fn quota_room(&self, new_file: bool) -> Result<Option<(std::sync::Arc<Ledger>, Limits)>, FsError> {
        let Some((ledger, limits)) = self.quota() else { return Ok(None) };
        ledger.refresh(self.storage(), Instant::now())?;
        if new_file && ledger.files_full(limits) {
            return Err(FsError::FileQuotaExceeded { files: ledger.usage().1 });
        }
        Ok(Some((ledger, limits)))
    }

    /// Count an opened upload against its ledger: what opening it cut off
    /// at once, and a reservation for what it will write and free. A new
    /// file that no longer fits (another upload took the last slot since
    /// the check) is refused, and the upload leaves nothing.
    fn start_upload(
        &self,
        path: VirtualPath,
        upload: Box<dyn Upload>,
        quota: Option<(std::sync::Arc<Ledger>, Limits)>,
        claim: Claim,
        opened: Opened,
    ) -> Result<UserUpload, FsError> {
        let reservation = match quota {
            None => None,
            Some((ledger, limits)) => {
                let cut = upload.cut_at_open();
                if cut > 0 {
                    ledger.removed(cut, 0);
                }
                let limits = self.inner.services.quotas().user_limits(self.user(), limits);
                match ledger.reserve(limits, opened.new_file, opened.replaced.saturating_sub(cut)) {
                    Ok(r) => Some(r),
                    Err(_) => {
                        upload.abort(false);
                        return Err(FsError::FileQuotaExceeded { files: ledger.usage().1 });
                    }
                }
            }
        };
        let digest = if self.inner.services.upload_digests() { Some(self.digest_prefix(&path, opened.start)) } else { None };
        Ok(UserUpload {
            fs: self.clone(),
            path,
            upload: Some(upload),
            quota: reservation,
            claim: Some(claim),
            append: opened.append,
            cursor: opened.start,
            end: opened.start,
            bytes: 0,
            replaces: opened.replaces,
            ascii: false,
            received: None,
            opened: Instant::now(),
            digest: digest.flatten(),
        })
    }

    /// A digest that has taken in the first `len` bytes already in the
    /// file (the part a restart or an append keeps); `None` when they
    /// cannot be read, and the upload then reports no digest.
    fn digest_prefix(&self, path: &VirtualPath, len: u64) -> Option<Box<Sha256>> {
        let mut digest = Box::new(Sha256::new());
        if len == 0 {
            return Some(digest);
        }
        let mut reader = self.storage().open_read(path, 0).ok()?.take(len);
        let mut buf = vec![0u8; 64 * 1024];
        let mut seen = 0u64;
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    digest.update(&buf[..n]);
                    seen += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        (seen == len).then_some(digest)
    }
}

/// An upload in progress: the storage's writer, its share of the quota
/// and its claim on the file, ended together by [`UserUpload::commit`] or
/// an abort. Dropping it without either counts as an abort (and blocks:
/// drop it on the blocking pool).
pub struct UserUpload {
    fs: UserFs,
    path: VirtualPath,
    /// `None` once ended.
    upload: Option<Box<dyn Upload>>,
    quota: Option<Reservation>,
    claim: Option<Claim>,
    append: bool,
    /// Where the next front-to-back write goes.
    cursor: u64,
    /// The file's size so far: the highest offset written.
    end: u64,
    /// Bytes received.
    bytes: u64,
    replaces: bool,
    ascii: bool,
    /// Set by the front-end: bytes as they came over the wire.
    received: Option<u64>,
    opened: Instant,
    /// The file's SHA-256 so far, while bytes arrive front to back (a
    /// write out of order loses it: the event then carries none).
    /// (Boxed: most uploads have none, and the state is 100-odd bytes.)
    digest: Option<Box<Sha256>>,
}

impl std::fmt::Debug for UserUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserUpload").field("path", &self.path).field("bytes", &self.bytes).field("end", &self.end).finish_non_exhaustive()
    }
}

impl UserUpload {
    /// The file, as the user sees it (for `create_unique`, the new name).
    pub fn path(&self) -> &VirtualPath {
        &self.path
    }

    /// Whether committing may replace an existing file. (A front-end may
    /// give a vanishing client a moment to show itself before that.)
    pub fn replaces(&self) -> bool {
        self.replaces
    }

    /// The file's size so far: what it kept at the open and the highest
    /// offset written since (SFTP's `FSTAT` of a file being written).
    pub fn size(&self) -> u64 {
        self.end
    }

    /// Flush what was written so far to disk (SFTP's `fsync`): where the
    /// storage writes a local file; elsewhere nothing is durable before
    /// the commit, which makes it so.
    pub fn sync_data(&self) -> Result<(), FsError> {
        match self.upload.as_ref().and_then(|u| u.file()) {
            Some(f) => f.sync_data().map_err(|e| StorageError::from(e).into()),
            None => Ok(()),
        }
    }

    /// Make the file `len` bytes long (SFTP's `SETSTAT` of a size on a file
    /// being written): growth counts against the quota like a write, and
    /// what is cut off stops counting. Refused by storage that writes front
    /// to back, unless `len` is the size already.
    pub fn set_len(&mut self, len: u64) -> Result<(), FsError> {
        if len == self.end {
            return Ok(());
        }
        if len > i64::MAX as u64 {
            return Err(StorageError::Unsupported("a size past the largest file").into());
        }
        let grown = self.charge(len, 0)?;
        let upload = self.upload.as_mut().expect("open until commit/abort");
        if let Err(e) = upload.set_len(len) {
            self.give_back(grown);
            return Err(e.into());
        }
        if let Some(q) = &mut self.quota
            && len < self.end
        {
            q.shrink(self.end - len);
        }
        if len < self.cursor {
            // The digest took in bytes that are gone.
            self.digest = None;
            self.cursor = len;
        }
        self.end = len;
        Ok(())
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Say that line ends are being converted (FTP's `TYPE A`), for the
    /// event.
    pub fn set_ascii(&mut self, ascii: bool) {
        self.ascii = ascii;
    }

    /// The bytes received from the client, when the front-end converts
    /// them on the way (ASCII line ends) and so writes a different number:
    /// the events report this count instead of the bytes written.
    pub fn set_received(&mut self, bytes: u64) {
        self.received = Some(bytes);
    }

    /// Write `buf` after what was written so far, counting it against the
    /// quota first ([`FsError::QuotaExceeded`] when it does not fit).
    pub fn write(&mut self, buf: &[u8]) -> Result<(), FsError> {
        let grown = self.charge(self.cursor, buf.len())?;
        let upload = self.upload.as_mut().expect("open until commit/abort");
        if let Err(e) = upload.write_all(buf) {
            self.give_back(grown);
            return Err(StorageError::from(e).into());
        }
        if let Some(d) = &mut self.digest {
            d.update(buf);
        }
        self.cursor += buf.len() as u64;
        self.wrote(self.cursor, buf.len());
        Ok(())
    }

    /// Whether [`UserUpload::write_direct`] may be used: the storage has a
    /// file the kernel can fill, and no digest needs to see the bytes.
    pub fn accepts_direct(&self) -> bool {
        self.digest.is_none() && self.upload.as_ref().is_some_and(|u| u.file().is_some())
    }

    /// Write `len` bytes after what was written so far without handing
    /// them to this process: `fill` moves up to the given count into the
    /// file at its current position (`splice` from a pipe) and says how
    /// many it moved; it is called until all `len` are in. The bytes count
    /// against the quota first, as with [`UserUpload::write`]. Refused
    /// with [`StorageError::Unsupported`] unless
    /// [`UserUpload::accepts_direct`].
    pub fn write_direct(&mut self, len: usize, mut fill: impl FnMut(&std::fs::File, usize) -> io::Result<usize>) -> Result<(), FsError> {
        if !self.accepts_direct() {
            return Err(StorageError::Unsupported("this upload takes bytes through write only").into());
        }
        let grown = self.charge(self.cursor, len)?;
        let file = self.upload.as_ref().and_then(|u| u.file()).expect("checked above");
        let mut left = len;
        while left > 0 {
            match fill(file, left) {
                Ok(0) => {
                    self.give_back(grown);
                    return Err(StorageError::from(io::Error::from(io::ErrorKind::WriteZero)).into());
                }
                Ok(n) => left -= n.min(left),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.give_back(grown);
                    return Err(StorageError::from(e).into());
                }
            }
        }
        self.cursor += len as u64;
        self.wrote(self.cursor, len);
        Ok(())
    }

    /// Write `buf` at `offset` from the start of the file (for clients
    /// that send blocks out of order). Only growth counts against the
    /// quota: writing over bytes already written costs nothing more. On an
    /// append, `buf` goes at the end whatever the offset (and counts in
    /// full). Storage that writes front to back only refuses other
    /// offsets ([`StorageError::Unsupported`]).
    pub fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<(), FsError> {
        if self.append {
            return self.write(buf);
        }
        let grown = self.charge(offset, buf.len())?;
        let upload = self.upload.as_mut().expect("open until commit/abort");
        if let Err(e) = upload.write_at(buf, offset) {
            self.give_back(grown);
            return Err(e.into());
        }
        // The digest follows only bytes that come in order.
        if offset == self.cursor {
            if let Some(d) = &mut self.digest {
                d.update(buf);
            }
            self.cursor += buf.len() as u64;
        } else {
            self.digest = None;
        }
        self.wrote(offset + buf.len() as u64, buf.len());
        Ok(())
    }

    /// Reserve quota for a write of `len` bytes at `offset`: what takes
    /// the file past its size so far. Returns the bytes reserved.
    fn charge(&mut self, offset: u64, len: usize) -> Result<u64, FsError> {
        let end = offset.checked_add(len as u64).ok_or(StorageError::Unsupported("an offset past the largest file"))?;
        let growth = end.saturating_sub(self.end);
        if let Some(q) = &mut self.quota
            && growth > 0
        {
            q.grow(growth).map_err(|_| FsError::QuotaExceeded)?;
        }
        Ok(growth)
    }

    fn give_back(&mut self, grown: u64) {
        if let Some(q) = &mut self.quota {
            q.give_back(grown);
        }
    }

    fn wrote(&mut self, end: u64, len: usize) {
        self.end = self.end.max(end);
        self.bytes += len as u64;
    }

    /// Make the upload visible under its name (for a replacement, in place
    /// of the old file, atomically), then emit the upload event. Returns
    /// the bytes written. A failed commit leaves the old file as it was
    /// and emits an upload-failed event.
    pub fn commit(mut self) -> Result<u64, FsError> {
        let upload = self.upload.take().expect("open until commit/abort");
        let result = upload.commit();
        if let Some(q) = self.quota.take() {
            q.settle(if result.is_ok() { None } else { Some(PartialOutcome::Discarded) });
        }
        // Released before anyone hears of it: a subscriber that reacts by
        // moving the file must not find it busy.
        self.claim.take();
        let actor = self.fs.actor().clone();
        let transfer = self.transfer();
        match result {
            Ok(()) => {
                let sha256 = self.digest.take().map(|d| hex(&d.finalize()));
                self.fs.emit(EventKind::Upload { actor, transfer, size: self.end, sha256 });
                Ok(self.bytes)
            }
            Err(e) => {
                let failure = Failure::Error(e.to_string());
                self.fs.emit(EventKind::UploadFailed { actor, transfer, failure, kept: PartialOutcome::Discarded });
                Err(e.into())
            }
        }
    }

    /// The transfer stopped (the client aborted or left, the connection
    /// broke, the server stopped it): end without committing. What arrived
    /// is kept where that is safe — a new file stays for a resume, an
    /// existing file is never replaced by a part — and what became of it
    /// is returned.
    pub fn abort(mut self, failure: Failure) -> PartialOutcome {
        self.end(true, failure)
    }

    /// Writing or receiving failed with `error`: end without committing,
    /// keeping what arrived unless the failure was a quota or a full disk
    /// (keeping would only hold on to the space).
    pub fn fail(mut self, error: &FsError) -> PartialOutcome {
        self.end(error.keeps_partial(), Failure::Error(error.to_string()))
    }

    fn end(&mut self, keep: bool, failure: Failure) -> PartialOutcome {
        let Some(upload) = self.upload.take() else { return PartialOutcome::Discarded };
        let kept = upload.abort(keep);
        if let Some(q) = self.quota.take() {
            q.settle(Some(kept));
        }
        self.claim.take();
        let (actor, transfer) = (self.fs.actor().clone(), self.transfer());
        self.fs.emit(EventKind::UploadFailed { actor, transfer, failure, kept });
        kept
    }

    fn transfer(&self) -> Transfer {
        let bytes = self.received.unwrap_or(self.bytes);
        Transfer { path: self.path.clone(), bytes, ascii: self.ascii, duration: self.opened.elapsed() }
    }
}

/// Dropped without an outcome (the front-end's task went away
/// mid-transfer): nothing of it is kept — an abandoned upload must not leave
/// a part under the real name — and the storage work (removing, renaming,
/// syncing) goes to the blocking pool when there is one, since the drop
/// may happen on an async worker.
impl Drop for UserUpload {
    fn drop(&mut self) {
        let Some(upload) = self.upload.take() else { return };
        let abandoned =
            Abandoned { upload, quota: self.quota.take(), claim: self.claim.take(), fs: self.fs.clone(), transfer: self.transfer() };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || abandoned.end())),
            Err(_) => abandoned.end(),
        }
    }
}

/// What a dropped upload still has to end.
struct Abandoned {
    upload: Box<dyn Upload>,
    quota: Option<Reservation>,
    claim: Option<Claim>,
    fs: UserFs,
    transfer: Transfer,
}

impl Abandoned {
    fn end(self) {
        let kept = self.upload.abort(false);
        if let Some(q) = self.quota {
            q.settle(Some(kept));
        }
        // Released once the storage is done with the file.
        drop(self.claim);
        let actor = self.fs.actor().clone();
        self.fs.emit(EventKind::UploadFailed { actor, transfer: self.transfer, failure: Failure::Dropped, kept });
    }
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
