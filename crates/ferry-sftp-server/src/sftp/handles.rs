//! What a session holds open: files being read, files being written and
//! folders being listed, each under a handle the client names in later
//! requests. A session may hold [`MAX_OPEN`] at once, so that no client
//! can pile up descriptors.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferry_core::auth::settings::Permission;
use ferry_core::events::Failure;
use ferry_core::sessions::TransferProgress;
use ferry_core::storage::{Entries, ReadAt};
use ferry_core::userfs::{DownloadGuard, FsError, UserUpload};
use ferry_proto::VirtualPath;
use ferry_sftp::Attrs;

/// Handles one session may hold open (OpenSSH's `sftp-server` has no
/// limit but the process's descriptors; ours are shared by every session).
pub(crate) const MAX_OPEN: usize = 256;

/// A file opened for reading.
pub(crate) struct Reading {
    pub(crate) path: VirtualPath,
    pub(crate) reader: Box<dyn ReadAt>,
    pub(crate) guard: Option<DownloadGuard>,
    /// Bytes sent, for the download event.
    pub(crate) sent: u64,
    pub(crate) progress: TransferProgress,
    /// A reload took the read permission away: no more reads.
    pub(crate) revoked: bool,
}

/// A file opened for writing.
pub(crate) struct Writing {
    pub(crate) upload: Option<UserUpload>,
    /// Times and mode set on the handle before it is closed: applied
    /// after the commit (before it, they would land on the old file or be
    /// lost with the temporary one).
    pub(crate) pending: Option<Attrs>,
    /// A write failed (and what the client was told): the close ends the
    /// upload as failed instead of committing, so that a short file never
    /// replaces a whole one.
    pub(crate) failed: Option<Box<(FsError, String)>>,
    pub(crate) progress: TransferProgress,
}

/// What a handle stands for.
pub(crate) enum Open {
    Read(Reading),
    Write(Writing),
    Dir(Entries),
}

/// Files every session together may hold open: a share of the process's
/// descriptor limit, so that SFTP clients can never take the descriptors
/// FTP sessions and new connections need.
pub(crate) struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    /// A budget of `max` handles.
    pub(crate) fn new(max: usize) -> Budget {
        Budget { used: AtomicUsize::new(0), max }
    }

    /// Half the soft `RLIMIT_NOFILE` (the other half for sockets, the
    /// listeners, logs and FTP), at least 64.
    pub(crate) fn from_rlimit() -> Budget {
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current.unwrap_or(8192);
        Budget::new(usize::try_from(soft / 2).unwrap_or(usize::MAX).max(64))
    }

    fn take(&self) -> bool {
        if self.used.fetch_add(1, Ordering::AcqRel) >= self.max {
            self.used.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    fn give_back(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// The open handles of one session.
pub(crate) struct Handles {
    next: u32,
    open: HashMap<u32, Open>,
    budget: Arc<Budget>,
}

impl Drop for Handles {
    fn drop(&mut self) {
        self.budget.give_back(self.open.len());
    }
}

impl Handles {
    pub(crate) fn new(budget: Arc<Budget>) -> Handles {
        Handles { next: 0, open: HashMap::new(), budget }
    }

    /// Keep `open`; its handle, or `None` when the session, or every
    /// session together, holds too many.
    pub(crate) fn insert(&mut self, open: Open) -> Option<Vec<u8>> {
        if self.open.len() >= MAX_OPEN || !self.budget.take() {
            return None;
        }
        self.next = self.next.wrapping_add(1);
        while self.open.contains_key(&self.next) {
            self.next = self.next.wrapping_add(1);
        }
        self.open.insert(self.next, open);
        Some(self.next.to_string().into_bytes())
    }

    fn key(handle: &[u8]) -> Option<u32> {
        std::str::from_utf8(handle).ok()?.parse().ok()
    }

    pub(crate) fn get(&mut self, handle: &[u8]) -> Option<&mut Open> {
        self.open.get_mut(&Self::key(handle)?)
    }

    pub(crate) fn remove(&mut self, handle: &[u8]) -> Option<Open> {
        let open = self.open.remove(&Self::key(handle)?)?;
        self.budget.give_back(1);
        Some(open)
    }

    /// The session ended with these still open: uploads are aborted (a
    /// file being replaced stays as it was; bytes written in place stay,
    /// for a resume) and downloads reported as they ended.
    pub(crate) fn close_all(&mut self) {
        self.budget.give_back(self.open.len());
        for (_, open) in self.open.drain() {
            match open {
                Open::Read(mut r) => {
                    if let Some(g) = r.guard.take() {
                        let whole = r.sent >= r.reader.size();
                        g.finish(r.sent, (!whole).then_some(Failure::Interrupted));
                    }
                }
                Open::Write(mut w) => {
                    if let Some(u) = w.upload.take() {
                        let outcome = u.abort(Failure::Interrupted);
                        tracing::info!(?outcome, "upload interrupted: the session ended before the file was closed");
                    }
                }
                Open::Dir(_) => {}
            }
        }
    }

    /// After a reload took a permission away, as FTP stops its running
    /// transfers: an upload without `write` fails from its next request
    /// (its close then commits nothing), a download without `read` reads
    /// no more.
    pub(crate) fn revoke(&mut self, write: bool, read: bool) {
        for open in self.open.values_mut() {
            match open {
                Open::Write(w) if !write && w.failed.is_none() => {
                    let e = FsError::PermissionDenied(Permission::Write);
                    w.failed = Some(Box::new((e, "write permission withdrawn".into())));
                }
                Open::Read(r) if !read => r.revoked = true,
                _ => {}
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_capped_and_never_reused_while_open() {
        let budget = Arc::new(Budget::new(MAX_OPEN + 1));
        let mut h = Handles::new(budget.clone());
        let empty = || Open::Dir(Box::new(std::iter::empty()));
        let first = h.insert(empty()).unwrap();
        for _ in 1..MAX_OPEN {
            assert_ne!(h.insert(empty()).unwrap(), first);
        }
        assert!(h.insert(empty()).is_none(), "one too many");
        assert!(h.remove(&first).is_some());
        assert!(h.remove(&first).is_none(), "closed twice");
        assert!(h.get(b"not a handle").is_none());
        assert!(h.insert(empty()).is_some());
        assert_eq!(h.len(), MAX_OPEN);
        // The server-wide budget: another session gets one, then none.
        let mut other = Handles::new(budget.clone());
        assert!(other.insert(empty()).is_some());
        assert!(other.insert(empty()).is_none(), "over the server's budget");
        drop(h);
        assert!(other.insert(empty()).is_some(), "a session that ends gives its share back");
    }
}
