//! Files in a folder on the local disk, with the user confined beneath it.
//!
//! Confinement is not a string check: every call goes through a
//! [`cap_std::fs::Dir`] handle on the root, which resolves each path
//! component with `openat`-style calls (`openat2(RESOLVE_BENEATH)` where the
//! kernel has it) and refuses any `..`, absolute path or symlink that would
//! lead outside — including one swapped in after an earlier check.
//!
//! Uploads follow the "write beside, then rename" rule: `STOR` writes to a
//! hidden temporary file in the target's folder and renames it over the
//! target only after the last byte is on disk, so a failed upload never
//! destroys an existing file.

use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, MetadataExt, OpenOptions, OpenOptionsExt, Permissions, PermissionsExt};
use ferry_proto::VirtualPath;
use ferry_proto::listing::Kind;

use super::{Detail, Entries, FileInfo, PartialOutcome, ReadHandle, Storage, StorageError, Upload, WriteMode};

/// Prefix of temporary upload files; they are hidden from listings.
pub const TEMP_PREFIX: &str = ".~ferry-";

/// A [`Storage`] rooted at a folder.
#[derive(Debug)]
pub struct LocalStorage {
    root: Dir,
}

impl LocalStorage {
    /// Open `root` (which must exist and be a folder).
    pub fn open(root: &Path) -> io::Result<LocalStorage> {
        Ok(LocalStorage { root: Dir::open_ambient_dir(root, ambient_authority())? })
    }

    fn rel(path: &VirtualPath) -> &Path {
        match path.relative() {
            "" => Path::new("."),
            r => Path::new(r),
        }
    }
}

/// Turns folder entries into [`FileInfo`]s.
struct Lister {
    root: Dir,
    dir: VirtualPath,
    detail: Detail,
}

impl Lister {
    /// `None` for hidden upload temporaries and entries that vanished
    /// between readdir and stat.
    fn info(&self, entry: cap_std::fs::DirEntry) -> Option<FileInfo> {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(TEMP_PREFIX) {
            return None;
        }
        let file_type = entry.file_type().ok();
        if self.detail == Detail::Names
            && let Some(t) = file_type
        {
            return Some(FileInfo { name, kind: kind_of(t), size: 0, modified: None, mode: 0, unique: None, link_target: None });
        }
        // Symlinks are followed through the root handle (so a link leading
        // outside shows as a link, never as its target); everything else is
        // one `fstatat` relative to the open folder, not a walk from the root.
        let is_link = file_type.is_none_or(|t| t.is_symlink());
        match entry.metadata() {
            Ok(m) if !is_link => Some(to_info(name, &m, None)),
            _ => self.dir.join(&name).and_then(|child| info(&self.root, &child).ok()),
        }
    }
}

/// Entries read from the folder a batch at a time. Past the first
/// [`SERIAL_ENTRIES`], each batch is stat'ed by two threads: one `statx`
/// per entry is most of a big listing's cost, and it parallelises.
struct Batched {
    entries: cap_std::fs::ReadDir,
    lister: Lister,
    ready: std::collections::VecDeque<Result<FileInfo, StorageError>>,
    seen: usize,
    done: bool,
}

/// Entries stat'ed one by one before a folder counts as big.
const SERIAL_ENTRIES: usize = 1024;

/// Entries per batch in a big folder.
const BATCH: usize = 512;

impl Batched {
    fn fill(&mut self) {
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            match self.entries.next() {
                Some(Ok(e)) => batch.push(e),
                Some(Err(e)) => {
                    self.ready.push_back(Err(e.into()));
                    self.done = true;
                    break;
                }
                None => {
                    self.done = true;
                    break;
                }
            }
        }
        self.seen += batch.len();
        let lister = &self.lister;
        if self.seen <= SERIAL_ENTRIES || batch.len() < 64 {
            self.ready.extend(batch.into_iter().filter_map(|e| lister.info(e)).map(Ok));
            return;
        }
        let second = batch.split_off(batch.len() / 2);
        let (a, b) = std::thread::scope(|s| {
            let helper = s.spawn(|| second.into_iter().filter_map(|e| lister.info(e)).collect::<Vec<_>>());
            let a: Vec<_> = batch.into_iter().filter_map(|e| lister.info(e)).collect();
            (a, helper.join())
        });
        self.ready.extend(a.into_iter().map(Ok));
        match b {
            Ok(b) => self.ready.extend(b.into_iter().map(Ok)),
            Err(_) => self.ready.push_back(Err(StorageError::Io(io::Error::other("listing thread failed")))),
        }
    }
}

impl Iterator for Batched {
    type Item = Result<FileInfo, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.ready.is_empty() && !self.done {
            self.fill();
        }
        self.ready.pop_front()
    }
}

/// Facts about `path` beneath `root`, following symlinks that stay inside.
fn info(root: &Dir, path: &VirtualPath) -> Result<FileInfo, StorageError> {
    let rel = LocalStorage::rel(path);
    let name = path.file_name().unwrap_or("/").to_owned();
    match root.metadata(rel) {
        Ok(m) => Ok(to_info(name, &m, None)),
        Err(e) => {
            // A symlink whose target is missing or outside the root: show
            // the link itself, but neither what it points to nor where
            // (that would reveal paths outside the root).
            let m = root.symlink_metadata(rel).map_err(|_| StorageError::from(e))?;
            Ok(to_info(name, &m, None))
        }
    }
}

fn kind_of(ft: cap_std::fs::FileType) -> Kind {
    if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else if ft.is_symlink() {
        Kind::Symlink
    } else {
        Kind::Other
    }
}

fn to_info(name: String, m: &cap_std::fs::Metadata, link_target: Option<String>) -> FileInfo {
    let kind = kind_of(m.file_type());
    FileInfo {
        name,
        kind,
        size: m.len(),
        modified: m.modified().ok().map(|t| t.into_std()),
        mode: m.mode() & 0o7777,
        unique: Some((m.dev(), m.ino())),
        link_target,
    }
}

/// Distinguishes temporary files made by concurrent uploads.
static UPLOAD_SEQ: AtomicU64 = AtomicU64::new(0);

fn temp_name() -> String {
    let n = UPLOAD_SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{TEMP_PREFIX}{}-{n}.part", std::process::id())
}

impl Storage for LocalStorage {
    fn metadata(&self, path: &VirtualPath) -> Result<FileInfo, StorageError> {
        info(&self.root, path)
    }

    fn read_dir(&self, dir: &VirtualPath, detail: Detail) -> Result<Entries, StorageError> {
        let rel = Self::rel(dir);
        if !self.root.metadata(rel)?.is_dir() {
            return Err(StorageError::NotDirectory);
        }
        let entries = self.root.read_dir(rel)?;
        let lister = Lister { root: self.root.try_clone()?, dir: dir.clone(), detail };
        Ok(Box::new(Batched { entries, lister, ready: std::collections::VecDeque::new(), seen: 0, done: false }))
    }

    fn open_read(&self, path: &VirtualPath, offset: u64) -> Result<ReadHandle, StorageError> {
        self.open_download(path, offset).map(|(_, r)| r)
    }

    fn open_download(&self, path: &VirtualPath, offset: u64) -> Result<(u64, ReadHandle), StorageError> {
        // One open and one fstat: the size comes from the opened file
        // itself, so it is the file that is sent. O_NONBLOCK keeps a FIFO
        // from blocking the open (waiting for a writer); it changes nothing
        // for regular files, and anything else is refused below.
        let mut opts = OpenOptions::new();
        opts.read(true).custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
        let mut file = self.root.open_with(Self::rel(path), &opts)?.into_std();
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(if meta.is_dir() { StorageError::IsDirectory } else { StorageError::PermissionDenied });
        }
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))?;
        }
        Ok((meta.len(), ReadHandle::File(file)))
    }

    fn open_write(&self, path: &VirtualPath, mode: WriteMode) -> Result<Box<dyn Upload>, StorageError> {
        let rel = Self::rel(path);
        let name = path.file_name().ok_or(StorageError::IsDirectory)?;
        if name.starts_with(TEMP_PREFIX) {
            return Err(StorageError::InvalidName);
        }
        let parent = self.root.open_dir(Self::rel(&path.parent()))?;
        match mode {
            WriteMode::Replace => {
                let existed = match parent.symlink_metadata(name) {
                    Ok(m) if m.is_dir() => return Err(StorageError::IsDirectory),
                    Ok(_) => true,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                    Err(e) => return Err(e.into()),
                };
                let temp = temp_name();
                let file = parent.open_with(&temp, OpenOptions::new().write(true).create_new(true))?.into_std();
                Ok(Box::new(AtomicUpload { parent, temp, target: name.to_owned(), file: Some(file), existed }))
            }
            WriteMode::At(offset) => {
                let mut file = self.root.open_with(rel, OpenOptions::new().write(true).create(true))?.into_std();
                if file.metadata()?.is_dir() {
                    return Err(StorageError::IsDirectory);
                }
                // Bytes past the restart point belong to the old attempt.
                file.set_len(offset)?;
                file.seek(SeekFrom::Start(offset))?;
                Ok(Box::new(InPlaceUpload { file, start_len: offset }))
            }
            WriteMode::Append => {
                let file = self.root.open_with(rel, OpenOptions::new().append(true).create(true))?.into_std();
                let meta = file.metadata()?;
                if meta.is_dir() {
                    return Err(StorageError::IsDirectory);
                }
                Ok(Box::new(InPlaceUpload { file, start_len: meta.len() }))
            }
        }
    }

    fn create_unique(&self, dir: &VirtualPath, hint: &str) -> Result<(VirtualPath, Box<dyn Upload>), StorageError> {
        let parent = self.root.open_dir(Self::rel(dir))?;
        let hint = if hint.is_empty() || hint.contains('/') || hint.starts_with('.') { "ferry.upload" } else { hint };
        for n in 0..10_000u32 {
            let name = if n == 0 { hint.to_owned() } else { format!("{hint}.{n}") };
            match parent.open_with(&name, OpenOptions::new().write(true).create_new(true)) {
                Ok(f) => {
                    let path = dir.join(&name).ok_or(StorageError::InvalidName)?;
                    return Ok((path, Box::new(UniqueUpload { parent, name, file: Some(f.into_std()) })));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StorageError::AlreadyExists)
    }

    fn mkdir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        if path.file_name().is_some_and(|n| n.starts_with(TEMP_PREFIX)) {
            return Err(StorageError::InvalidName);
        }
        Ok(self.root.create_dir(Self::rel(path))?)
    }

    fn rmdir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        if path.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        Ok(self.root.remove_dir(Self::rel(path))?)
    }

    fn remove_file(&self, path: &VirtualPath) -> Result<(), StorageError> {
        if self.root.symlink_metadata(Self::rel(path))?.is_dir() {
            return Err(StorageError::IsDirectory);
        }
        Ok(self.root.remove_file(Self::rel(path))?)
    }

    fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> Result<(), StorageError> {
        if from.is_root() || to.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        if to.file_name().is_some_and(|n| n.starts_with(TEMP_PREFIX)) {
            return Err(StorageError::InvalidName);
        }
        Ok(self.root.rename(Self::rel(from), &self.root, Self::rel(to))?)
    }

    fn set_modified(&self, path: &VirtualPath, time: SystemTime) -> Result<(), StorageError> {
        let rel = Self::rel(path);
        // futimens needs ownership, not write access, so a read-only handle works.
        let file =
            if self.root.metadata(rel)?.is_dir() { self.root.open_dir(rel)?.into_std_file() } else { self.root.open(rel)?.into_std() };
        file.set_times(std::fs::FileTimes::new().set_modified(time))?;
        Ok(())
    }

    fn scoped(&self, home: &VirtualPath) -> Result<std::sync::Arc<dyn Storage>, StorageError> {
        if home.is_root() {
            return Ok(std::sync::Arc::new(LocalStorage { root: self.root.try_clone()? }));
        }
        self.root.create_dir_all(Self::rel(home))?;
        Ok(std::sync::Arc::new(LocalStorage { root: self.root.open_dir(Self::rel(home))? }))
    }

    fn usage(&self, dir: &VirtualPath) -> Result<(u64, u64), StorageError> {
        let (mut bytes, mut files) = (0u64, 0u64);
        let mut stack = vec![self.root.open_dir(Self::rel(dir))?];
        while let Some(d) = stack.pop() {
            for entry in d.entries()? {
                let entry = entry?;
                // file_type() does not follow links: a link is neither
                // counted nor walked into.
                let ft = entry.file_type()?;
                if ft.is_dir() {
                    stack.push(entry.open_dir()?);
                } else if ft.is_file() {
                    bytes += entry.metadata()?.len();
                    files += 1;
                }
            }
        }
        Ok((bytes, files))
    }

    fn quick_open(&self) -> bool {
        // The file's data then goes out with sendfile on the same worker,
        // which already trusts the page cache; a lookup and an open are
        // cheaper than that.
        true
    }

    fn set_mode(&self, path: &VirtualPath, mode: u32) -> Result<(), StorageError> {
        Ok(self.root.set_permissions(Self::rel(path), Permissions::from_mode(mode & 0o7777))?)
    }
}

/// `STOR`: a hidden temporary file renamed over the target on commit.
struct AtomicUpload {
    parent: Dir,
    temp: String,
    target: String,
    file: Option<std::fs::File>,
    /// Whether the target existed when the upload began.
    existed: bool,
}

impl Write for AtomicUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("open until commit/abort").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Upload for AtomicUpload {
    fn commit(mut self: Box<Self>) -> Result<(), StorageError> {
        let file = self.file.take().expect("open until commit");
        let result = file.sync_all().and_then(|()| self.parent.rename(&self.temp, &self.parent, &self.target));
        if let Err(e) = result {
            let _ = self.parent.remove_file(&self.temp);
            return Err(e.into());
        }
        Ok(())
    }

    fn abort(mut self: Box<Self>, keep_partial: bool) -> PartialOutcome {
        let file = self.file.take();
        let got_bytes = file.as_ref().and_then(|f| f.metadata().ok()).is_some_and(|m| m.len() > 0);
        drop(file);
        // A brand-new file keeps what arrived so that the client can resume
        // (REST+STOR or APPE); an existing file is never replaced by a part.
        if keep_partial && !self.existed && got_bytes && self.parent.rename(&self.temp, &self.parent, &self.target).is_ok() {
            return PartialOutcome::KeptForResume;
        }
        let _ = self.parent.remove_file(&self.temp);
        PartialOutcome::Discarded
    }
}

impl Drop for AtomicUpload {
    fn drop(&mut self) {
        // Dropped without commit or abort (a panic): leave no litter.
        if self.file.take().is_some() {
            let _ = self.parent.remove_file(&self.temp);
        }
    }
}

/// `REST`+`STOR` and `APPE`: written in place, as their meaning requires.
struct InPlaceUpload {
    file: std::fs::File,
    /// The length before this upload began, restored by a discarding abort.
    start_len: u64,
}

impl Write for InPlaceUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Upload for InPlaceUpload {
    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        Ok(self.file.sync_all()?)
    }
    fn abort(self: Box<Self>, keep_partial: bool) -> PartialOutcome {
        if !keep_partial && self.file.set_len(self.start_len).is_ok() {
            let _ = self.file.sync_all();
            return PartialOutcome::Discarded;
        }
        let _ = self.file.sync_all();
        PartialOutcome::InPlace
    }
}

/// `STOU`: the unique name was created exclusively; no rename needed.
struct UniqueUpload {
    parent: Dir,
    name: String,
    file: Option<std::fs::File>,
}

impl Write for UniqueUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("open until commit/abort").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Upload for UniqueUpload {
    fn commit(mut self: Box<Self>) -> Result<(), StorageError> {
        Ok(self.file.take().expect("open until commit").sync_all()?)
    }
    fn abort(mut self: Box<Self>, _keep_partial: bool) -> PartialOutcome {
        self.file.take();
        let _ = self.parent.remove_file(&self.name);
        PartialOutcome::Discarded
    }
}
