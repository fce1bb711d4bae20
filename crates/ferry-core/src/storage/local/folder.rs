//! Reading a folder for a listing as cheaply as the kernel allows. A
//! listing of a big folder is one `getdents64` per [`BUFFER`] bytes of
//! entries and one `statx` per entry, and little else: the buffer is kept
//! for the whole listing, and each name goes to `statx` straight from it,
//! relative to the open folder (no path walk from the root, no allocation
//! or copy on the way; the profile of the `cap_std` iterator this replaces
//! showed a mutex, an `Arc`, three allocations and a copy per entry).
//!
//! `statx` is most of a big listing's cost, and it parallelises. Once a
//! buffer holds [`PARALLEL_FROM`] entries, a helper thread is started for
//! the listing. Each buffer's entries are cut into groups of [`GROUP`]:
//! the reading thread takes them from the front, in order, as the caller
//! asks for entries; the helper takes them from the back, and stops where
//! the two meet. Neither waits for the other except for one group at the
//! meeting point, and the split balances itself: while the caller formats
//! lines, the helper is already stat'ing the next buffer (read ahead).
//!
//! Memory stays bounded whatever the folder's size: two buffers of names
//! and their facts at a time.

use std::collections::VecDeque;
use std::ffi::CStr;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, TryLockError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};

use cap_std::fs::Dir;
use ferry_proto::VirtualPath;
use ferry_proto::listing::Kind;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir, Statx, StatxFlags};

use super::{TEMP_PREFIX, info};
use crate::storage::{Detail, FileInfo, StorageError};

/// Bytes of directory entries read per `getdents64` (about 1,600 entries
/// of 15-character names).
const BUFFER: usize = 64 * 1024;

/// Entries in one buffer from which their stats are shared with the
/// helper thread: fewer take less time than the hand-off (and a small
/// folder never starts a thread).
const PARALLEL_FROM: usize = 256;

/// The facts `statx` is asked for.
const WANTED: StatxFlags = StatxFlags::TYPE.union(StatxFlags::MODE).union(StatxFlags::SIZE).union(StatxFlags::MTIME).union(StatxFlags::INO);

/// What both threads of a listing need: the open folder and how to turn
/// its entries into [`FileInfo`]s.
struct Lister {
    folder: OwnedFd,
    /// The root, for symlinks (followed only while they stay inside).
    root: Dir,
    dir: VirtualPath,
    detail: Detail,
}

impl Lister {
    /// `None` for entries that vanished between `getdents64` and `statx`.
    /// The name is left empty: [`Folder`] fills it in as it hands the entry
    /// out, on the thread that also frees it (the allocator's per-thread
    /// cache then recycles one name's memory for the next; allocated on the
    /// helper thread and freed on the other, each name cost a trip to the
    /// shared heap).
    fn info(&self, folder: BorrowedFd<'_>, name: &CStr, t: FileType) -> Option<FileInfo> {
        let names_only = self.detail == Detail::Names;
        if names_only && t != FileType::Unknown {
            return Some(nameless(kind_of(t)));
        }
        let st = rustix::fs::statx(folder, name, AtFlags::SYMLINK_NOFOLLOW, WANTED);
        if names_only && let Ok(st) = &st {
            return Some(nameless(kind_of(FileType::from_raw_mode(st.stx_mode.into()))));
        }
        // Symlinks are followed through the root handle (so a link leading
        // outside shows as a link, never as its target). So is an entry
        // `statx` could not read (vanished, or a kernel or sandbox without
        // `statx`): the root handle's own stat decides.
        match st {
            Ok(st) if t != FileType::Symlink && FileType::from_raw_mode(st.stx_mode.into()) != FileType::Symlink => Some(statx_info(&st)),
            _ => self.dir.join(&name_text(name)).and_then(|child| info(&self.root, &child).ok()),
        }
    }

    /// [`Lister::info`] for `names[from..to]`, relative to `folder`, one
    /// slot per name.
    fn infos(&self, folder: BorrowedFd<'_>, names: &Names, from: usize, to: usize) -> Vec<Option<FileInfo>> {
        (from..to)
            .map(|i| {
                let (n, t) = names.get(i);
                self.info(folder, n, t)
            })
            .collect()
    }
}

/// A name as listings show it (bytes that are not UTF-8 become U+FFFD).
fn name_text(name: &CStr) -> String {
    String::from_utf8_lossy(name.to_bytes()).into_owned()
}

fn nameless(kind: Kind) -> FileInfo {
    FileInfo { name: String::new(), kind, size: 0, modified: None, mode: 0, unique: None, link_target: None }
}

fn kind_of(t: FileType) -> Kind {
    match t {
        FileType::Directory => Kind::Dir,
        FileType::RegularFile => Kind::File,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// As `cap_std`'s metadata would give it (the same `makedev` for the
/// device, the same rounding of times before 1970).
fn statx_info(st: &Statx) -> FileInfo {
    let mode = u32::from(st.stx_mode);
    let modified = if st.stx_mask & StatxFlags::MTIME.bits() != 0 {
        let (sec, nsec) = (st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec);
        if sec >= 0 {
            UNIX_EPOCH.checked_add(Duration::new(sec.unsigned_abs(), nsec))
        } else {
            UNIX_EPOCH.checked_sub(Duration::from_secs(sec.unsigned_abs())).and_then(|t| t.checked_add(Duration::new(0, nsec)))
        }
    } else {
        None
    };
    FileInfo {
        name: String::new(),
        kind: kind_of(FileType::from_raw_mode(mode)),
        size: st.stx_size,
        modified,
        mode: mode & 0o7777,
        unique: Some((rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor), st.stx_ino)),
        link_target: None,
    }
}

/// The names of one buffer, each with its NUL and its type, in one
/// allocation, so that they can be handed to the helper thread.
#[derive(Default)]
struct Names {
    bytes: Vec<u8>,
    /// Where each name ends (after its NUL), and its type.
    ends: Vec<(usize, FileType)>,
}

impl Names {
    fn push(&mut self, name: &CStr, t: FileType) {
        self.bytes.extend_from_slice(name.to_bytes_with_nul());
        self.ends.push((self.bytes.len(), t));
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> (&CStr, FileType) {
        let start = if i == 0 { 0 } else { self.ends[i - 1].0 };
        let (end, t) = self.ends[i];
        (CStr::from_bytes_with_nul(&self.bytes[start..end]).expect("one NUL, at the end"), t)
    }

    /// The `i`th name's bytes, without its NUL (and without the scan for
    /// it that [`Names::get`] makes).
    fn bytes(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1].0 };
        &self.bytes[start..self.ends[i].0 - 1]
    }
}

/// Entries stat'ed at a time by either thread.
const GROUP: usize = 32;

/// A group's facts.
enum Slot {
    /// Nobody has stat'ed it yet.
    Todo,
    /// The helper has (one slot per name).
    Done(Vec<Option<FileInfo>>),
    /// Handed out by the reading thread.
    Taken,
}

/// One buffer's names, shared by both threads, with a slot per group.
struct Shared {
    names: Names,
    groups: Vec<Mutex<Slot>>,
}

impl Shared {
    fn new(names: Names) -> Shared {
        let groups = (0..names.len().div_ceil(GROUP)).map(|_| Mutex::new(Slot::Todo)).collect();
        Shared { names, groups }
    }

    fn range(&self, g: usize) -> (usize, usize) {
        (g * GROUP, ((g + 1) * GROUP).min(self.names.len()))
    }
}

/// The helper thread: for each buffer it is sent, it stats groups from the
/// back until it meets the reading thread.
struct Helper {
    jobs: Option<mpsc::Sender<Arc<Shared>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Helper {
    fn start(lister: &Arc<Lister>) -> io::Result<Helper> {
        let (jobs, rx) = mpsc::channel::<Arc<Shared>>();
        let stop = Arc::new(AtomicBool::new(false));
        let (lister, stopped) = (lister.clone(), stop.clone());
        // Its own open file for the folder: every `statx` takes a reference
        // on the file it is relative to, and two threads sharing one would
        // pass its cache line back and forth on each call.
        let own = rustix::fs::openat(&lister.folder, c".", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        let thread = std::thread::Builder::new().name("ferry-list".into()).spawn(move || {
            for shared in rx {
                for g in (0..shared.groups.len()).rev() {
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    // A group the reading thread holds or has done: it has
                    // done every group before it too.
                    let mut slot = match shared.groups[g].try_lock() {
                        Ok(slot) => slot,
                        Err(TryLockError::Poisoned(p)) => p.into_inner(),
                        Err(TryLockError::WouldBlock) => break,
                    };
                    if !matches!(*slot, Slot::Todo) {
                        break;
                    }
                    let (from, to) = shared.range(g);
                    *slot = Slot::Done(lister.infos(own.as_fd(), &shared.names, from, to));
                }
            }
        })?;
        Ok(Helper { jobs: Some(jobs), stop, thread: Some(thread) })
    }

    /// Hand a buffer over (if the thread is gone, the reading thread just
    /// stats it alone).
    fn send(&self, shared: &Arc<Shared>) {
        if let Some(j) = &self.jobs {
            let _ = j.send(shared.clone());
        }
    }
}

impl Drop for Helper {
    /// The thread ends after the group in hand; it is waited for, so that
    /// a listing leaves nothing running behind it.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A buffer being handed out.
struct Batch {
    shared: Arc<Shared>,
    /// The next group to hand out.
    next: usize,
    /// The read error that ends the folder after these names.
    error: Option<StorageError>,
}

/// A folder's entries, read a buffer at a time (see the module docs).
pub(super) struct Folder {
    lister: Arc<Lister>,
    buf: Vec<u8>,
    ready: VecDeque<Result<FileInfo, StorageError>>,
    helper: Option<Helper>,
    /// The helper could not be started: stat alone.
    alone: bool,
    /// The buffer being handed out, and the next one, read ahead.
    current: Option<Batch>,
    ahead: Option<Batch>,
    /// Everything has been read from the folder.
    eof: bool,
    /// Nothing more will come (past `ready`).
    done: bool,
}

impl Folder {
    pub(super) fn new(folder: OwnedFd, root: Dir, dir: VirtualPath, detail: Detail) -> Folder {
        Folder {
            lister: Arc::new(Lister { folder, root, dir, detail }),
            buf: Vec::with_capacity(BUFFER),
            ready: VecDeque::new(),
            helper: None,
            alone: false,
            current: None,
            ahead: None,
            eof: false,
            done: false,
        }
    }

    /// One `getdents64`'s worth of names, without `.`, `..` and hidden
    /// upload temporaries; an error ends the folder after them.
    fn read_names(&mut self) -> (Names, Option<StorageError>) {
        let mut names = Names::default();
        let mut raw = RawDir::new(self.lister.folder.as_fd(), self.buf.spare_capacity_mut());
        loop {
            match raw.next() {
                None => {
                    self.eof = true;
                    return (names, None);
                }
                Some(Err(e)) => {
                    self.eof = true;
                    return (names, Some(io::Error::from(e).into()));
                }
                Some(Ok(e)) => {
                    let name = e.file_name().to_bytes();
                    if name != b"." && name != b".." && !name.starts_with(TEMP_PREFIX.as_bytes()) {
                        names.push(e.file_name(), e.file_type());
                    }
                }
            }
            // Stop at the end of what this call read: the next entry would
            // need another `getdents64`.
            if raw.is_buffer_empty() {
                return (names, None);
            }
        }
    }

    /// Read the next buffer and hand it to the helper (starting the helper
    /// when the folder first proves big).
    fn read_batch(&mut self) -> Option<Batch> {
        if self.eof {
            return None;
        }
        let (names, error) = self.read_names();
        // Names alone need no `statx` (the folder tells each kind), so no
        // helper either.
        let worth_helping = names.len() >= PARALLEL_FROM && self.lister.detail == Detail::Full;
        if worth_helping && self.helper.is_none() && !self.alone {
            match Helper::start(&self.lister) {
                Ok(h) => self.helper = Some(h),
                Err(e) => {
                    tracing::debug!(error = %e, "no listing helper thread; stat'ing alone");
                    self.alone = true;
                }
            }
        }
        let shared = Arc::new(Shared::new(names));
        if let Some(h) = self.helper.as_ref().filter(|_| shared.groups.len() > 1) {
            h.send(&shared);
        }
        Some(Batch { shared, next: 0, error })
    }

    /// Hand out the next group (stat'ing it here unless the helper has).
    fn fill(&mut self) {
        if self.current.is_none() {
            self.current = self.ahead.take().or_else(|| self.read_batch());
            match &self.current {
                None => {
                    self.done = true;
                    return;
                }
                // Read ahead now: the helper then has the next buffer in
                // hand while this one is handed out.
                Some(b) if b.error.is_none() => self.ahead = self.read_batch(),
                Some(_) => {}
            }
        }
        let Some(batch) = self.current.as_mut() else { return };
        if let Some(group) = batch.shared.groups.get(batch.next) {
            let (from, to) = batch.shared.range(batch.next);
            batch.next += 1;
            let mut slot = crate::sync::lock(group);
            // Held while stat'ing: that is how the helper knows to stop.
            let infos = match std::mem::replace(&mut *slot, Slot::Taken) {
                Slot::Done(infos) => infos,
                _ => self.lister.infos(self.lister.folder.as_fd(), &batch.shared.names, from, to),
            };
            drop(slot);
            for (i, info) in (from..to).zip(infos) {
                if let Some(mut info) = info {
                    info.name = String::from_utf8_lossy(batch.shared.names.bytes(i)).into_owned();
                    self.ready.push_back(Ok(info));
                }
            }
        } else if let Some(batch) = self.current.take()
            && let Some(e) = batch.error
        {
            self.ready.push_back(Err(e));
            (self.ahead, self.done) = (None, true);
        }
    }
}

impl Iterator for Folder {
    type Item = Result<FileInfo, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.ready.is_empty() && !self.done {
            self.fill();
        }
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests;
