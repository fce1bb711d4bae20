//! Reading files through a user's view: downloads, which report how they
//! ended so that the download event carries the real byte count, and
//! reads that are no download (checksums, sizes).

use std::time::Instant;

use ferry_proto::VirtualPath;

use super::{FsError, UserFs, existing};
use crate::auth::settings::Permission;
use crate::events::{EventKind, Failure, Transfer};
use crate::storage::{ReadAt, ReadHandle, require_file};

/// A file opened for a download: its size, a reader, and the guard that
/// reports how the download ended. Take the parts apart (the reader goes
/// to the transfer, the guard stays with whoever learns the outcome).
#[derive(Debug)]
pub struct Download<R = ReadHandle> {
    /// The file's size when it was opened.
    pub size: u64,
    /// Its bytes: a [`ReadHandle`] positioned at the offset asked for, or
    /// a [`ReadAt`] for reads anywhere.
    pub reader: R,
    /// Report the end of the download here.
    pub report: DownloadGuard,
}

/// Why a file is read without being downloaded; each needs its own
/// permission, and neither emits a download event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPurpose {
    /// A checksum of the contents (`read`: it tells about them).
    Checksum,
    /// Measuring the file (the size in ASCII mode): `list`, like the size
    /// itself; only a number leaves the server.
    Measure,
}

impl UserFs {
    /// Open a regular file for a download (`read`), positioned at
    /// `offset`. Folders are refused. Blocking (quick for local files:
    /// see [`UserFs::quick_open`]).
    pub fn open_download(&self, path: &VirtualPath, offset: u64) -> Result<Download, FsError> {
        self.permit(Permission::Read)?;
        existing(path)?;
        let (size, reader) = self.storage().open_download(path, offset)?;
        Ok(Download { size, reader, report: self.download_guard(path) })
    }

    /// Open a regular file for reads at any offset (`read`), for protocols
    /// that ask for blocks (SFTP). The guard reports the download when the
    /// front-end closes the file.
    pub fn open_random(&self, path: &VirtualPath) -> Result<Download<Box<dyn ReadAt>>, FsError> {
        self.permit(Permission::Read)?;
        existing(path)?;
        let reader = self.storage().open_random(path)?;
        Ok(Download { size: reader.size(), reader, report: self.download_guard(path) })
    }

    /// Open a regular file for reading that is not a download (see
    /// [`ReadPurpose`]): its size and a reader at `offset`. Anything but a
    /// regular file, as [`UserFs::metadata`] sees it, is refused (a folder,
    /// or a link that leads nowhere usable: "Not a regular file").
    pub fn open_read(&self, path: &VirtualPath, offset: u64, purpose: ReadPurpose) -> Result<(u64, ReadHandle), FsError> {
        self.permit(match purpose {
            ReadPurpose::Checksum => Permission::Read,
            ReadPurpose::Measure => Permission::List,
        })?;
        existing(path)?;
        let info = self.storage().metadata(path)?;
        require_file(info.kind)?;
        Ok((info.size, self.storage().open_read(path, offset)?))
    }

    fn download_guard(&self, path: &VirtualPath) -> DownloadGuard {
        DownloadGuard { fs: Some(self.clone()), path: path.clone(), ascii: false, opened: Instant::now() }
    }
}

/// Reports how a download ended, once: [`DownloadGuard::finish`], or when
/// dropped unreported, as a download that ended without an outcome.
pub struct DownloadGuard {
    /// `None` once reported.
    fs: Option<UserFs>,
    path: VirtualPath,
    ascii: bool,
    opened: Instant,
}

impl std::fmt::Debug for DownloadGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadGuard").field("path", &self.path).field("reported", &self.fs.is_none()).finish_non_exhaustive()
    }
}

impl DownloadGuard {
    /// Say that line ends are being converted (FTP's `TYPE A`), for the
    /// event.
    pub fn set_ascii(&mut self, ascii: bool) {
        self.ascii = ascii;
    }

    /// The download ended after `bytes`: complete when `failure` is
    /// `None`. Emits the download event.
    pub fn finish(mut self, bytes: u64, failure: Option<Failure>) {
        self.report(bytes, failure);
    }

    fn report(&mut self, bytes: u64, failure: Option<Failure>) {
        let Some(fs) = self.fs.take() else { return };
        let transfer = Transfer { path: self.path.clone(), bytes, ascii: self.ascii, duration: self.opened.elapsed() };
        fs.emit(EventKind::Download { actor: fs.actor().clone(), transfer, failure });
    }
}

impl Drop for DownloadGuard {
    fn drop(&mut self) {
        self.report(0, Some(Failure::Dropped));
    }
}
