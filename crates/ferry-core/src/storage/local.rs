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

use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, SystemTime};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, MetadataExt, OpenOptions, OpenOptionsExt, Permissions, PermissionsExt};
use ferry_proto::VirtualPath;
use ferry_proto::listing::Kind;

use super::{
    Capabilities, Detail, Entries, FileInfo, ReadAt, ReadHandle, Storage, StorageError, Upload, WriteMode, acceptable_new_name, is_reserved,
};

mod folder;
mod read_at;
mod upload;

use read_at::LocalReadAt;

use upload::{AtomicUpload, InPlaceUpload, Kept, UniqueUpload, lock, temp_name};

/// Prefix of temporary upload files; they are hidden from listings, never
/// counted against quotas, and refused for every command.
pub const TEMP_PREFIX: &str = super::RESERVED_PREFIX;

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

    /// Open a regular file for reading, with its size. One open and one
    /// fstat: the size comes from the opened file itself, so it is the
    /// file that is read. O_NONBLOCK keeps a FIFO from blocking the open
    /// (waiting for a writer); it changes nothing for regular files, and
    /// anything else is refused.
    fn open_regular(&self, path: &VirtualPath) -> Result<(std::fs::File, u64), StorageError> {
        let mut opts = OpenOptions::new();
        opts.read(true).custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
        let file = self.root.open_with(Self::checked(path)?, &opts)?.into_std();
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(if meta.is_dir() { StorageError::IsDirectory } else { StorageError::NotAFile });
        }
        Ok((file, meta.len()))
    }

    fn rel(path: &VirtualPath) -> &Path {
        match path.relative() {
            "" => Path::new("."),
            r => Path::new(r),
        }
    }

    /// [`Self::rel`], refusing paths through the server's reserved names
    /// (temporary upload files): no command may touch those.
    fn checked(path: &VirtualPath) -> Result<&Path, StorageError> {
        if is_reserved(path) {
            return Err(StorageError::InvalidName);
        }
        Ok(Self::rel(path))
    }

    /// Calls `each(folder, entry)` for every entry below `start`,
    /// depth first. Iterative, and at most one folder is open at a time
    /// (a handle per pending sibling would run out of file descriptors
    /// in a home of thousands of folders); folders that cannot be opened
    /// are skipped. Symlinks are neither followed nor walked into.
    fn walk(&self, start: &VirtualPath, mut each: impl FnMut(&Dir, &cap_std::fs::DirEntry)) -> Result<(), StorageError> {
        let mut pending = vec![Self::checked(start)?.to_path_buf()];
        let mut first = true;
        while let Some(rel) = pending.pop() {
            let dir = match self.root.open_dir(&rel) {
                Ok(d) => d,
                Err(e) if first => return Err(e.into()),
                Err(_) => continue,
            };
            first = false;
            for entry in dir.entries()? {
                let Ok(entry) = entry else { continue };
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    pending.push(rel.join(entry.file_name()));
                } else {
                    each(&dir, &entry);
                }
            }
        }
        Ok(())
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

impl Storage for LocalStorage {
    fn metadata(&self, path: &VirtualPath) -> Result<FileInfo, StorageError> {
        Self::checked(path)?;
        info(&self.root, path)
    }

    fn read_dir(&self, dir: &VirtualPath, detail: Detail) -> Result<Entries, StorageError> {
        let rel = Self::checked(dir)?;
        if !self.root.metadata(rel)?.is_dir() {
            return Err(StorageError::NotDirectory);
        }
        // Opened for reading (`open_dir` would give an `O_PATH` handle,
        // which `getdents64` refuses).
        let mut opts = OpenOptions::new();
        opts.read(true).custom_flags(rustix::fs::OFlags::DIRECTORY.bits() as i32);
        let folder = self.root.open_with(rel, &opts)?.into_std().into();
        Ok(Box::new(folder::Folder::new(folder, self.root.try_clone()?, dir.clone(), detail)))
    }

    fn open_read(&self, path: &VirtualPath, offset: u64) -> Result<ReadHandle, StorageError> {
        self.open_download(path, offset).map(|(_, r)| r)
    }

    fn open_download(&self, path: &VirtualPath, offset: u64) -> Result<(u64, ReadHandle), StorageError> {
        let (mut file, size) = self.open_regular(path)?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))?;
        }
        Ok((size, ReadHandle::File(file)))
    }

    fn open_random(&self, path: &VirtualPath) -> Result<Box<dyn ReadAt>, StorageError> {
        let (file, size) = self.open_regular(path)?;
        Ok(Box::new(LocalReadAt { file, size }))
    }

    fn open_write(&self, path: &VirtualPath, mode: WriteMode) -> Result<Box<dyn Upload>, StorageError> {
        let rel = Self::checked(path)?;
        let name = path.file_name().ok_or(StorageError::IsDirectory)?;
        if !acceptable_new_name(name) {
            return Err(StorageError::InvalidName);
        }
        let parent = self.root.open_dir(Self::rel(&path.parent()))?;
        match mode {
            WriteMode::Replace => {
                let keep = match parent.symlink_metadata(name) {
                    Ok(m) if m.is_dir() => return Err(StorageError::IsDirectory),
                    // The replacement keeps the old file's permission bits
                    // and owner, so a `chmod 600` file does not become
                    // world-readable by being uploaded again. Set-id bits
                    // are not carried over to new contents.
                    Ok(m) if m.is_file() => Some(Kept { mode: m.mode() & 0o777, uid: m.uid(), gid: m.gid() }),
                    Ok(_) => None,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                    Err(e) => return Err(e.into()),
                };
                let existed = parent.symlink_metadata(name).is_ok();
                let temp = temp_name();
                let file = parent.open_with(&temp, OpenOptions::new().write(true).create_new(true))?.into_std();
                lock(&file);
                Ok(Box::new(AtomicUpload { parent, temp, target: name.to_owned(), file: Some(file), existed, keep }))
            }
            WriteMode::At(offset) => {
                let mut file = self.root.open_with(rel, OpenOptions::new().write(true).create(true))?.into_std();
                let meta = file.metadata()?;
                if meta.is_dir() {
                    return Err(StorageError::IsDirectory);
                }
                if offset > meta.len() {
                    // A restart point past the end would make a sparse file
                    // of any size out of nothing.
                    return Err(StorageError::RestartPastEnd);
                }
                // Bytes past the restart point belong to the old attempt.
                file.set_len(offset)?;
                file.seek(SeekFrom::Start(offset))?;
                Ok(Box::new(InPlaceUpload { file, start_len: offset, cut: meta.len() - offset, append: false, overwrites: false }))
            }
            WriteMode::Append => {
                let file = self.root.open_with(rel, OpenOptions::new().append(true).create(true))?.into_std();
                let meta = file.metadata()?;
                if meta.is_dir() {
                    return Err(StorageError::IsDirectory);
                }
                Ok(Box::new(InPlaceUpload { file, start_len: meta.len(), cut: 0, append: true, overwrites: false }))
            }
            WriteMode::Update => {
                let file = self.root.open_with(rel, OpenOptions::new().write(true).create(true))?.into_std();
                let meta = file.metadata()?;
                if meta.is_dir() {
                    return Err(StorageError::IsDirectory);
                }
                Ok(Box::new(InPlaceUpload { file, start_len: meta.len(), cut: 0, append: false, overwrites: true }))
            }
        }
    }

    fn create_unique(&self, dir: &VirtualPath, hint: &str) -> Result<(VirtualPath, Box<dyn Upload>), StorageError> {
        let parent = self.root.open_dir(Self::checked(dir)?)?;
        let hint = if hint.is_empty() || hint.contains('/') || hint.starts_with('.') || !acceptable_new_name(hint) {
            "ferry.upload"
        } else {
            hint
        };
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
        let rel = Self::checked(path)?;
        if !path.file_name().is_some_and(acceptable_new_name) {
            return Err(StorageError::InvalidName);
        }
        Ok(self.root.create_dir(rel)?)
    }

    fn rmdir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        if path.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        Ok(self.root.remove_dir(Self::checked(path)?)?)
    }

    fn remove_file(&self, path: &VirtualPath) -> Result<(), StorageError> {
        let rel = Self::checked(path)?;
        if self.root.symlink_metadata(rel)?.is_dir() {
            return Err(StorageError::IsDirectory);
        }
        Ok(self.root.remove_file(rel)?)
    }

    fn rename(&self, from: &VirtualPath, to: &VirtualPath, replace: bool) -> Result<(), StorageError> {
        if from.is_root() || to.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        let (from_rel, to_rel) = (Self::checked(from)?, Self::checked(to)?);
        let (Some(from_name), Some(to_name)) = (from.file_name(), to.file_name()) else {
            return Err(StorageError::PermissionDenied);
        };
        if !acceptable_new_name(to_name) {
            return Err(StorageError::InvalidName);
        }
        if replace {
            return Ok(self.root.rename(from_rel, &self.root, to_rel)?);
        }
        // Without the right to replace, the target must not exist, checked
        // atomically by the kernel: the parents are opened beneath the root
        // and the names are single components, so nothing can lead outside
        // (rename never follows a symlink in its last component).
        let from_parent = self.root.open_dir(Self::rel(&from.parent()))?;
        let to_parent = self.root.open_dir(Self::rel(&to.parent()))?;
        match rustix::fs::renameat_with(&from_parent, from_name, &to_parent, to_name, rustix::fs::RenameFlags::NOREPLACE) {
            Ok(()) => Ok(()),
            // A file system without RENAME_NOREPLACE: check, then rename.
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) if to_parent.symlink_metadata(to_name).is_err() => {
                Ok(self.root.rename(from_rel, &self.root, to_rel)?)
            }
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => Err(StorageError::AlreadyExists),
            Err(e) => Err(io::Error::from(e).into()),
        }
    }

    fn set_modified(&self, path: &VirtualPath, time: SystemTime) -> Result<(), StorageError> {
        self.set_times(path, Some(time), None)
    }

    fn set_times(&self, path: &VirtualPath, modified: Option<SystemTime>, accessed: Option<SystemTime>) -> Result<(), StorageError> {
        let rel = Self::checked(path)?;
        // futimens needs ownership, not write access, so a read-only handle
        // works; a folder is opened read-only too (a `Dir` handle may be
        // O_PATH, on which futimens fails with EBADF).
        let file = self.root.open_with(rel, OpenOptions::new().read(true).custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32))?;
        let mut times = std::fs::FileTimes::new();
        if let Some(t) = modified {
            times = times.set_modified(t);
        }
        if let Some(t) = accessed {
            times = times.set_accessed(t);
        }
        file.into_std().set_times(times)?;
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { set_modified: true, set_accessed: true, set_mode: true, read_at: true, write_at: true }
    }

    fn scoped(&self, home: &VirtualPath) -> Result<std::sync::Arc<dyn Storage>, StorageError> {
        if home.is_root() {
            return Ok(std::sync::Arc::new(LocalStorage { root: self.root.try_clone()? }));
        }
        self.root.create_dir_all(Self::checked(home)?)?;
        Ok(std::sync::Arc::new(LocalStorage { root: self.root.open_dir(Self::rel(home))? }))
    }

    fn usage(&self, dir: &VirtualPath) -> Result<(u64, u64), StorageError> {
        let (mut bytes, mut files) = (0u64, 0u64);
        self.walk(dir, |_, entry| {
            // file_type() does not follow links: a link is not counted.
            if entry.file_type().is_ok_and(|t| t.is_file()) && !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                bytes += entry.metadata().map_or(0, |m| m.len());
                files += 1;
            }
        })?;
        Ok((bytes, files))
    }

    fn clean_stale_uploads(&self, min_age: Duration) -> Result<u64, StorageError> {
        let mut removed = 0u64;
        let now = SystemTime::now();
        self.walk(&VirtualPath::root(), |dir, entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !name.starts_with(TEMP_PREFIX) || !entry.file_type().is_ok_and(|t| t.is_file()) {
                return;
            }
            let old = entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .is_some_and(|t| now.duration_since(t.into_std()).unwrap_or_default() >= min_age);
            // A live upload holds the lock for as long as its file is open;
            // a crashed server's lock went with it.
            let unused = dir.open(&*name).is_ok_and(|f| lock(&f.into_std()));
            if old && unused && dir.remove_file(&*name).is_ok() {
                tracing::info!(file = %name, "removed a temporary upload file left behind");
                removed += 1;
            }
        })?;
        Ok(removed)
    }

    fn quick_open(&self) -> bool {
        // The file's data then goes out with sendfile on the same worker,
        // which already trusts the page cache; a lookup and an open are
        // cheaper than that.
        true
    }

    fn set_mode(&self, path: &VirtualPath, mode: u32) -> Result<(), StorageError> {
        if path.is_root() {
            // Locking a user out of their own home (`SITE CHMOD 000 /`)
            // helps nobody; the home's mode is the administrator's.
            return Err(StorageError::PermissionDenied);
        }
        Ok(self.root.set_permissions(Self::checked(path)?, Permissions::from_mode(mode & 0o7777))?)
    }
}

#[cfg(test)]
mod tests;
