//! Where files live. Sessions talk to a [`Storage`]; [`local::LocalStorage`]
//! keeps files in a folder on disk.
//!
//! The trait is synchronous on purpose: file systems are blocking, and the
//! session calls it through `spawn_blocking`, so one slow disk never stalls
//! the async workers that serve other sessions.
//!
//! Besides the streaming calls FTP needs (a reader from an offset, an
//! upload written front to back, a folder read entry by entry), the trait
//! has the random-access ones a request-per-block protocol such as SFTP
//! needs: [`Storage::open_random`] for reads at any offset,
//! [`Upload::write_at`] for writes at any offset, and
//! [`Storage::set_times`]. A folder listing is already a stream:
//! [`Entries`] is an iterator that reads the folder as it is pulled, so a
//! front-end keeps it between requests and takes a batch at a time (on the
//! blocking pool, as every storage call).

use std::io::{Read, Write};
use std::time::SystemTime;

use ferry_proto::VirtualPath;
use ferry_proto::listing::Kind;

pub mod local;
#[cfg(feature = "s3")]
pub mod s3;

/// A file opened for reading.
pub enum ReadHandle {
    /// A local file: plain binary downloads can go straight from the page
    /// cache to the socket (`sendfile`).
    File(std::fs::File),
    /// Anything else that reads.
    Stream(Box<dyn Read + Send>),
}

impl Read for ReadHandle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ReadHandle::File(f) => f.read(buf),
            ReadHandle::Stream(s) => s.read(buf),
        }
    }
}

/// A regular file opened for reads at any offset, in any order and from
/// several threads at once (SFTP's `READ` requests each name an offset).
pub trait ReadAt: Send + Sync {
    /// Read up to `buf.len()` bytes starting at `offset`; fewer only at
    /// the end of the file, and 0 at or past it.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, StorageError>;
    /// The file's size when it was opened.
    fn size(&self) -> u64;
}

/// How an upload meets an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `STOR`: replace the file atomically when the upload completes.
    Replace,
    /// `STOR` after `REST n`: keep the first `n` bytes, write from there.
    At(u64),
    /// `APPE`: add to the end.
    Append,
    /// SFTP's open for writing without `TRUNC`: the file as it is, written
    /// in place at any offset (over its old bytes too); nothing is cut at
    /// the open, and a client that wants it shorter says so
    /// ([`Upload::set_len`]). Object storage, which writes front to back,
    /// takes it as [`WriteMode::Append`].
    Update,
}

/// A file being uploaded. Bytes go in through `Write`; nothing is final
/// until [`Upload::commit`].
pub trait Upload: Write + Send {
    /// Make the upload visible under its name (flush, `fsync`, rename).
    fn commit(self: Box<Self>) -> Result<(), StorageError>;
    /// The transfer failed or was aborted: never damage what was there
    /// before. With `keep_partial`, bytes that arrived may be kept for a
    /// resume where that is safe; without, the upload leaves nothing
    /// behind (a quota refusal). Returns what became of the partial data.
    fn abort(self: Box<Self>, keep_partial: bool) -> PartialOutcome;
    /// Bytes of the existing file that opening this upload cut off at
    /// once (a restart in place drops the old tail), for quota counts.
    fn cut_at_open(&self) -> u64 {
        0
    }
    /// Write all of `buf` at `offset`, counted from the start of the file,
    /// for clients that send blocks out of order (SFTP). Nothing is final
    /// until [`Upload::commit`], as with `Write`. An upload opened with
    /// [`WriteMode::Append`] adds `buf` at the end whatever the offset
    /// (SFTP's append flag means that too). Storage that can only write
    /// front to back (object storage) accepts the next offset in sequence
    /// and refuses others with [`StorageError::Unsupported`].
    fn write_at(&mut self, _buf: &[u8], _offset: u64) -> Result<(), StorageError> {
        Err(StorageError::Unsupported("this storage writes uploads front to back only"))
    }
    /// The open file that `Write` writes into at its current position,
    /// when there is one that the kernel may fill directly (`splice` from
    /// a socket, with no copy through user space); `None` when bytes must
    /// go through `write` (object storage, `O_APPEND` files, which
    /// `splice` refuses).
    fn file(&self) -> Option<&std::fs::File> {
        None
    }
    /// Make the file `len` bytes long, cutting or zero-filling its end
    /// (SFTP's `SETSTAT` of a size: OpenSSH's `scp` writes in place and then
    /// cuts the file at what it wrote). Storage that writes front to back
    /// refuses with [`StorageError::Unsupported`].
    fn set_len(&mut self, _len: u64) -> Result<(), StorageError> {
        Err(StorageError::Unsupported("this storage cannot change the length of a file being written"))
    }
}

/// What happened to the bytes of an upload that did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartialOutcome {
    /// Discarded; any earlier file is untouched.
    Discarded,
    /// Kept under the target name (it did not exist before), so the client
    /// can resume with `REST`+`STOR` or `APPE`.
    KeptForResume,
    /// Written in place (`REST`/`APPE`): the file holds what arrived.
    InPlace,
}

/// Facts about one file or folder.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// The file name (last component).
    pub name: String,
    /// File, folder, link.
    pub kind: Kind,
    /// Bytes.
    pub size: u64,
    /// Last change of contents.
    pub modified: Option<SystemTime>,
    /// Unix mode bits.
    pub mode: u32,
    /// (device, inode): a stable identity for the `unique` fact.
    pub unique: Option<(u64, u64)>,
    /// Target of a symlink, when the entry is one.
    pub link_target: Option<String>,
}

/// Names starting with this are reserved for the server's own temporary
/// upload files: hidden from listings, never counted against quotas, and
/// refused for every command, whatever the backend ([`FOLDER_MARKER`] is
/// reserved the same way).
pub const RESERVED_PREFIX: &str = ".~ferry-";

/// The name of the hidden marker object that lets an empty folder exist
/// in object storage; reserved like the temporary files.
pub const FOLDER_MARKER: &str = ".ferry-dir";

fn reserved_name(name: &str) -> bool {
    name.starts_with(RESERVED_PREFIX) || name == FOLDER_MARKER
}

/// True if any component of `path` is a reserved name.
pub fn is_reserved(path: &VirtualPath) -> bool {
    path.components().any(reserved_name)
}

/// True if `name` may be given to a new file or folder: no control
/// characters (a CR or LF in a name would forge lines in listings and
/// logs) and not reserved.
pub fn acceptable_new_name(name: &str) -> bool {
    !reserved_name(name) && !name.chars().any(char::is_control)
}

/// `Ok` for a regular file, else why a command that needs one refuses
/// (a folder, or a link that leads nowhere usable, a device, a FIFO).
pub fn require_file(kind: Kind) -> Result<(), StorageError> {
    match kind {
        Kind::File => Ok(()),
        Kind::Dir => Err(StorageError::IsDirectory),
        _ => Err(StorageError::NotAFile),
    }
}

/// Optional operations a storage supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Setting a file's modification time (`MFMT`).
    pub set_modified: bool,
    /// Setting a file's access time too ([`Storage::set_times`]).
    pub set_accessed: bool,
    /// Setting Unix permission bits (`SITE CHMOD`, the `UNIX.mode` fact).
    pub set_mode: bool,
    /// Reads at any offset ([`Storage::open_random`]).
    pub read_at: bool,
    /// Writes at any offset of an upload ([`Upload::write_at`]); without
    /// it, only front-to-back writes.
    pub write_at: bool,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No such file or folder.
    #[error("No such file or directory")]
    NotFound,
    /// The OS refused, or the path would leave the user's root.
    #[error("Permission denied")]
    PermissionDenied,
    /// The target exists already.
    #[error("File exists")]
    AlreadyExists,
    /// A folder that should be empty is not.
    #[error("Directory not empty")]
    NotEmpty,
    /// A folder where a file was needed.
    #[error("Is a directory")]
    IsDirectory,
    /// A file where a folder was needed.
    #[error("Not a directory")]
    NotDirectory,
    /// Neither a file nor a folder (a symlink that leads nowhere usable, a
    /// device, a FIFO) where a regular file was needed.
    #[error("Not a regular file")]
    NotAFile,
    /// The disk is full.
    #[error("No space left on device")]
    NoSpace,
    /// The user's quota is used up.
    #[error("Disk quota exceeded")]
    QuotaExceeded,
    /// The name is not allowed.
    #[error("File name not allowed")]
    InvalidName,
    /// The storage cannot do this at all (e.g. set a time on an object).
    #[error("Not supported: {0}")]
    Unsupported(&'static str),
    /// A restart point (`REST`) beyond the end of the file an upload
    /// would continue (it would make a sparse file out of nothing).
    #[error("Restart point is past the end of the file")]
    RestartPastEnd,
    /// A wildcard pattern needed more matching work than a listing may
    /// spend (a hostile pattern; see `ferry_proto::glob`).
    #[error("Wildcard pattern too costly to match; use a simpler one")]
    PatternTooCostly,
    /// The storage behind the server is unreachable or failing (an object
    /// store outage). The detail is for the log only: it names internal
    /// endpoints and buckets, which clients must not see.
    #[error("Storage unavailable; try again later")]
    Unavailable(String),
    /// Anything else, with the OS's words.
    #[error("{0}")]
    Io(std::io::Error),
}

/// An outage detail carried inside an `io::Error` (through `Read` and
/// `Write`), so that it becomes [`StorageError::Unavailable`] again.
#[derive(Debug)]
pub(crate) struct Unavailable(pub(crate) String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        if let Some(detail) = e.get_ref().and_then(|inner| inner.downcast_ref::<Unavailable>()) {
            return StorageError::Unavailable(detail.0.clone());
        }
        match e.kind() {
            K::NotFound => StorageError::NotFound,
            K::PermissionDenied | K::ReadOnlyFilesystem => StorageError::PermissionDenied,
            K::AlreadyExists => StorageError::AlreadyExists,
            K::DirectoryNotEmpty => StorageError::NotEmpty,
            K::IsADirectory => StorageError::IsDirectory,
            K::NotADirectory => StorageError::NotDirectory,
            K::StorageFull => StorageError::NoSpace,
            K::QuotaExceeded => StorageError::QuotaExceeded,
            K::InvalidFilename | K::InvalidInput => StorageError::InvalidName,
            _ => match e.raw_os_error() {
                // ELOOP: a symlink loop, or a link the resolver will not follow.
                Some(40) => StorageError::PermissionDenied,
                _ => StorageError::Io(e),
            },
        }
    }
}

/// A folder's entries as the storage reads them: in no particular order,
/// one at a time, so that a folder of any size is never held in memory.
/// An error ends the listing (the transfer then fails with it).
pub type Entries = Box<dyn Iterator<Item = Result<FileInfo, StorageError>> + Send>;

/// How much a folder listing needs to know about each entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Names and kinds only (`NLST`): no per-entry `stat`, where the
    /// storage can tell the kind without one.
    Names,
    /// Everything in [`FileInfo`] (`LIST`, `MLSD`).
    Full,
}

/// A file tree that sessions read and write. All paths are virtual and
/// already normalised; implementations must still refuse anything that
/// would resolve outside their root.
pub trait Storage: Send + Sync + 'static {
    /// Facts about a path (following symlinks that stay inside the root).
    fn metadata(&self, path: &VirtualPath) -> Result<FileInfo, StorageError>;
    /// The entries of a folder, without `.` and `..`, streamed in the order
    /// the storage reads them. Entries that vanish while the folder is
    /// read are skipped. With [`Detail::Names`], only `name` and `kind` are
    /// meaningful.
    fn read_dir(&self, dir: &VirtualPath, detail: Detail) -> Result<Entries, StorageError>;
    /// The entries of a folder, sorted by name (in memory: for folders of
    /// ordinary size; listings to clients stream through [`Storage::read_dir`]).
    fn list(&self, dir: &VirtualPath) -> Result<Vec<FileInfo>, StorageError> {
        let mut out = self.read_dir(dir, Detail::Full)?.collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
    /// Open a file for reading, positioned at `offset`.
    fn open_read(&self, path: &VirtualPath, offset: u64) -> Result<ReadHandle, StorageError>;
    /// Open a regular file for reads at any offset. Folders are refused
    /// ([`StorageError::IsDirectory`]).
    fn open_random(&self, _path: &VirtualPath) -> Result<Box<dyn ReadAt>, StorageError> {
        Err(StorageError::Unsupported("this storage reads files front to back only"))
    }
    /// Open a regular file for a download: its size and a reader at
    /// `offset`. Folders are refused ([`StorageError::IsDirectory`]).
    fn open_download(&self, path: &VirtualPath, offset: u64) -> Result<(u64, ReadHandle), StorageError> {
        let info = self.metadata(path)?;
        require_file(info.kind)?;
        Ok((info.size, self.open_read(path, offset)?))
    }
    /// Start an upload.
    fn open_write(&self, path: &VirtualPath, mode: WriteMode) -> Result<Box<dyn Upload>, StorageError>;
    /// Start an upload under a new, unused name in `dir` (`STOU`).
    fn create_unique(&self, dir: &VirtualPath, hint: &str) -> Result<(VirtualPath, Box<dyn Upload>), StorageError>;
    /// Create a folder.
    fn mkdir(&self, path: &VirtualPath) -> Result<(), StorageError>;
    /// Remove an empty folder.
    fn rmdir(&self, path: &VirtualPath) -> Result<(), StorageError>;
    /// Remove a file.
    fn remove_file(&self, path: &VirtualPath) -> Result<(), StorageError>;
    /// Rename or move. With `replace`, an existing file at `to` is replaced
    /// (and an empty folder by a folder, as POSIX `rename` does); without,
    /// an existing `to` fails with [`StorageError::AlreadyExists`] and is
    /// never touched, atomically where the storage can.
    fn rename(&self, from: &VirtualPath, to: &VirtualPath, replace: bool) -> Result<(), StorageError>;
    /// Set the modification time (`MFMT`).
    fn set_modified(&self, path: &VirtualPath, time: SystemTime) -> Result<(), StorageError>;
    /// Set the modification and access times, each only when given (SFTP's
    /// `SETSTAT`). Storage that keeps no access time refuses one with
    /// [`StorageError::Unsupported`] ([`Capabilities::set_accessed`] tells).
    fn set_times(&self, path: &VirtualPath, modified: Option<SystemTime>, accessed: Option<SystemTime>) -> Result<(), StorageError> {
        match (modified, accessed) {
            (_, Some(_)) => Err(StorageError::Unsupported("this storage keeps no settable access times")),
            (Some(time), None) => self.set_modified(path, time),
            (None, None) => Ok(()),
        }
    }
    /// Set Unix permission bits (`SITE CHMOD`).
    fn set_mode(&self, path: &VirtualPath, mode: u32) -> Result<(), StorageError>;
    /// The same storage seen from `home` down (a user's home folder,
    /// created if missing): `home` becomes `/`.
    fn scoped(&self, home: &VirtualPath) -> Result<std::sync::Arc<dyn Storage>, StorageError>;
    /// Bytes and files below `dir`, for quotas. Temporary upload files do
    /// not count. Implementations walk iteratively, holding at most one
    /// folder open at a time.
    fn usage(&self, dir: &VirtualPath) -> Result<(u64, u64), StorageError>;
    /// What this storage can do beyond reading and writing files, so that
    /// `FEAT` and `MLST` advertise exactly what works.
    fn capabilities(&self) -> Capabilities {
        Capabilities { set_modified: true, set_accessed: false, set_mode: true, read_at: false, write_at: false }
    }
    /// Remove temporary upload files left behind by a crash: those no live
    /// upload holds and older than `min_age`. Returns how many went.
    fn clean_stale_uploads(&self, _min_age: std::time::Duration) -> Result<u64, StorageError> {
        Ok(0)
    }
    /// Whether looking a file up and opening it for reading is quick
    /// enough to do on an async worker instead of the blocking pool (whose
    /// hand-off costs two thread switches, about 50 µs of CPU per file).
    /// True for local files, whose metadata sits in the kernel's caches;
    /// never for anything that goes over a network.
    fn quick_open(&self) -> bool {
        false
    }
}
