//! Quota bookkeeping: how much a home folder holds, counted instead of
//! walked on every upload, with the uploads in progress counted too.
//!
//! Each home folder with a quota has one [`Ledger`], shared by every
//! session of every user whose home it is. Its usage is walked once (and
//! again when older than [`RESCAN_AFTER`] or after a reload, to pick up
//! changes made outside the server), then kept up to date by the server's
//! own writes: commits, deletions, replaced files. An upload holds a
//! [`Reservation`] that grows with every chunk; the check "committed usage
//! plus every upload in flight" is made under one lock, so four sessions
//! of a 1 MiB quota cannot store 768 KiB each at once.
//!
//! An upload may count the bytes of the file it replaces as room for
//! itself, but other uploads may not (the replacement can still fail and
//! leave the old file in place).
//!
//! Homes that overlap (one user's home inside another's) have separate
//! ledgers: writes through one are seen by the other at its next rescan.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_proto::VirtualPath;

use crate::storage::{PartialOutcome, Storage, StorageError};

/// Usage older than this is walked again before the next upload.
pub const RESCAN_AFTER: Duration = Duration::from_secs(300);

/// A user's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes the home may hold.
    pub bytes: Option<u64>,
    /// Files the home may hold.
    pub files: Option<u64>,
}

/// One user's limits as they stand now, shared by that user's uploads: a
/// reload's new quota reaches the uploads already running through this.
/// (Limits are per user; usage is per home, which users may share.)
#[derive(Debug)]
pub struct UserLimits(Mutex<Limits>);

impl UserLimits {
    /// Limits that no reload will change (for tests and one-off uses).
    pub fn fixed(limits: Limits) -> Arc<UserLimits> {
        Arc::new(UserLimits(Mutex::new(limits)))
    }

    fn get(&self) -> Limits {
        *lock(&self.0)
    }
}

/// Every ledger of a server, by home folder, and every user's limits.
#[derive(Debug, Default)]
pub struct Quotas {
    ledgers: Mutex<HashMap<String, Arc<Ledger>>>,
    users: Mutex<HashMap<String, Arc<UserLimits>>>,
}

impl Quotas {
    /// The ledger of `home`.
    pub fn ledger(&self, home: &VirtualPath) -> Arc<Ledger> {
        lock(&self.ledgers).entry(home.as_str().to_owned()).or_default().clone()
    }

    /// `user`'s limits, now `limits`.
    pub fn user_limits(&self, user: &str, limits: Limits) -> Arc<UserLimits> {
        let handle = lock(&self.users).entry(user.to_owned()).or_insert_with(|| UserLimits::fixed(limits)).clone();
        *lock(&handle.0) = limits;
        handle
    }

    /// New limits for `user` (a reload), for the uploads already running
    /// too, if the user has uploaded under a quota before.
    pub fn update_user(&self, user: &str, limits: Limits) {
        if let Some(handle) = lock(&self.users).get(user) {
            *lock(&handle.0) = limits;
        }
    }

    /// Forget every walked usage (after a reload): each is walked again at
    /// its next upload. Uploads in progress stay counted.
    pub fn rescan_all(&self) {
        for ledger in lock(&self.ledgers).values() {
            lock(&ledger.state).walked = None;
        }
    }
}

use crate::sync::lock;

#[derive(Debug, Default)]
struct State {
    /// When the usage was last walked; `None` before the first walk.
    walked: Option<Instant>,
    /// Committed bytes and files.
    bytes: u64,
    files: u64,
    /// Bytes received by uploads still in progress.
    pending_bytes: u64,
    /// New files being uploaded.
    pending_files: u64,
    /// Counts every change made by uploads and removals, so that a walk
    /// can tell whether the tree changed under it.
    changes: u64,
}

/// The usage of one home folder.
#[derive(Debug, Default)]
pub struct Ledger {
    state: Mutex<State>,
    /// Held while walking, so that sessions arriving together walk once.
    walking: Mutex<()>,
}

impl Ledger {
    /// Walk the home (through `storage`, the user's view) if its usage is
    /// unknown or stale. Blocking: call it on the blocking pool.
    pub fn refresh(&self, storage: &dyn Storage, now: Instant) -> Result<(), StorageError> {
        let fresh = |s: &State| s.walked.is_some_and(|t| now.duration_since(t) < RESCAN_AFTER);
        if fresh(&lock(&self.state)) {
            return Ok(());
        }
        let _walking = lock(&self.walking);
        if fresh(&lock(&self.state)) {
            return Ok(());
        }
        let before = lock(&self.state).changes;
        let (bytes, files) = storage.usage(&VirtualPath::root())?;
        let mut s = lock(&self.state);
        // A commit or deletion during the walk may or may not be in what
        // it saw; the counted figures are the better ones then (a first
        // walk has none).
        if s.changes == before || s.walked.is_none() {
            (s.bytes, s.files) = (bytes, files);
        }
        s.walked = Some(now);
        Ok(())
    }

    /// Committed bytes and files, as last counted.
    pub fn usage(&self) -> (u64, u64) {
        let s = lock(&self.state);
        (s.bytes, s.files)
    }

    /// Start counting an upload, once its file is open. `replaced` is
    /// what it frees when it commits (the old file, or for a restart on
    /// storage that rewrites the whole object, the tail it leaves out);
    /// bytes the opening already cut off are not in it (they were counted
    /// with [`Ledger::removed`]). Fails when a new file would exceed the
    /// file count.
    pub fn reserve(self: &Arc<Self>, limits: Arc<UserLimits>, new_file: bool, replaced: u64) -> Result<Reservation, StorageError> {
        let mut s = lock(&self.state);
        if new_file && limits.get().files.is_some_and(|max| s.files + s.pending_files >= max) {
            return Err(StorageError::QuotaExceeded);
        }
        s.pending_files += u64::from(new_file);
        Ok(Reservation { ledger: self.clone(), limits, new_file, replaced, received: 0, settled: false })
    }

    /// Whether a new file would exceed the file count now (a check before
    /// opening; [`Ledger::reserve`] decides).
    pub fn files_full(&self, limits: Limits) -> bool {
        let s = lock(&self.state);
        limits.files.is_some_and(|max| s.files + s.pending_files >= max)
    }

    /// Bytes and files that left the home (a deletion, a file replaced by
    /// a rename).
    pub fn removed(&self, bytes: u64, files: u64) {
        let mut s = lock(&self.state);
        s.bytes = s.bytes.saturating_sub(bytes);
        s.files = s.files.saturating_sub(files);
        s.changes += 1;
    }
}

/// One upload's share of its ledger; settled when the upload commits or
/// aborts (or, failing both, when dropped).
#[derive(Debug)]
pub struct Reservation {
    ledger: Arc<Ledger>,
    limits: Arc<UserLimits>,
    new_file: bool,
    replaced: u64,
    received: u64,
    settled: bool,
}

impl Reservation {
    /// Count `n` more bytes, or refuse them if they would take the home
    /// past its byte quota.
    pub fn grow(&mut self, n: u64) -> Result<(), StorageError> {
        let mut s = lock(&self.ledger.state);
        // Saturating: a client-chosen size (an SFTP SETSTAT of 2^64-1)
        // must be refused, not wrap around to a small number.
        let after = s.bytes.saturating_add(s.pending_bytes).saturating_add(n);
        if self.limits.get().bytes.is_some_and(|max| after.saturating_sub(self.replaced) > max) {
            return Err(StorageError::QuotaExceeded);
        }
        s.pending_bytes += n;
        self.received += n;
        Ok(())
    }

    /// Stop counting `n` bytes counted by [`Reservation::grow`] that were
    /// never written after all (the storage refused them).
    pub fn give_back(&mut self, n: u64) {
        let n = n.min(self.received);
        let mut s = lock(&self.ledger.state);
        s.pending_bytes = s.pending_bytes.saturating_sub(n);
        self.received -= n;
    }

    /// The file was cut by `n` bytes: first what this upload added, then
    /// what it had before (which then counts as replaced).
    pub fn shrink(&mut self, n: u64) {
        let ours = n.min(self.received);
        self.give_back(ours);
        self.replaced += n - ours;
    }

    /// The upload ended; `outcome` is `None` when it committed.
    pub fn settle(mut self, outcome: Option<PartialOutcome>) {
        self.finish(outcome);
    }

    fn finish(&mut self, outcome: Option<PartialOutcome>) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        let mut s = lock(&self.ledger.state);
        s.pending_bytes = s.pending_bytes.saturating_sub(self.received);
        s.pending_files = s.pending_files.saturating_sub(u64::from(self.new_file));
        s.changes += 1;
        match outcome {
            None | Some(PartialOutcome::KeptForResume | PartialOutcome::InPlace) => {
                s.bytes = (s.bytes + self.received).saturating_sub(self.replaced);
                s.files += u64::from(self.new_file);
            }
            // Nothing of the upload stayed, and what it would have replaced
            // is still there.
            Some(PartialOutcome::Discarded) => {}
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.finish(Some(PartialOutcome::Discarded));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(bytes: u64, files: u64) -> Arc<Ledger> {
        let l = Arc::new(Ledger::default());
        {
            let mut s = lock(&l.state);
            (s.bytes, s.files, s.walked) = (bytes, files, Some(Instant::now()));
        }
        l
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn concurrent_uploads_share_the_quota() {
        let l = ledger(0, 0);
        let limits = UserLimits::fixed(Limits { bytes: Some(MIB), files: None });
        let mut r: Vec<_> = (0..4).map(|_| l.reserve(limits.clone(), true, 0).unwrap()).collect();
        let mut stored = 0;
        for chunk in 0..12 {
            for up in &mut r {
                if up.grow(64 << 10).is_ok() {
                    stored += 64 << 10;
                }
            }
            let _ = chunk;
        }
        assert_eq!(stored, MIB, "together they get exactly the quota");
        for up in r {
            up.settle(None);
        }
        assert_eq!(l.usage(), (MIB, 4));
    }

    #[test]
    fn a_replacement_may_use_the_bytes_it_frees_but_others_may_not() {
        let l = ledger(MIB, 1);
        let limits = UserLimits::fixed(Limits { bytes: Some(MIB), files: None });
        let mut replace = l.reserve(limits.clone(), false, MIB).unwrap();
        replace.grow(MIB).unwrap();
        let mut other = l.reserve(limits, true, 0).unwrap();
        assert!(other.grow(1).is_err(), "the old file still counts for everyone else");
        replace.settle(Some(PartialOutcome::Discarded));
        other.settle(Some(PartialOutcome::Discarded));
        assert_eq!(l.usage(), (MIB, 1), "an aborted replacement leaves the old file counted");
    }

    #[test]
    fn file_count_includes_uploads_in_progress() {
        let l = ledger(0, 1);
        let limits = UserLimits::fixed(Limits { bytes: None, files: Some(2) });
        let first = l.reserve(limits.clone(), true, 0).unwrap();
        assert!(l.reserve(limits.clone(), true, 0).is_err());
        assert!(l.reserve(limits.clone(), false, 0).is_ok(), "replacing a file adds none");
        drop(first);
        assert!(l.reserve(limits, true, 0).is_ok(), "a dropped reservation frees its slot");
    }

    #[test]
    fn bytes_given_back_free_room_and_are_not_committed() {
        let l = ledger(0, 0);
        let limits = UserLimits::fixed(Limits { bytes: Some(100), files: None });
        let mut up = l.reserve(limits.clone(), true, 0).unwrap();
        up.grow(100).unwrap();
        assert!(l.reserve(limits.clone(), true, 0).unwrap().grow(1).is_err());
        up.give_back(40);
        let mut other = l.reserve(limits, true, 0).unwrap();
        other.grow(40).unwrap();
        other.settle(Some(PartialOutcome::Discarded));
        up.settle(None);
        assert_eq!(l.usage(), (60, 1));
    }

    #[test]
    fn removals_and_kept_partials_are_counted() {
        let l = ledger(100, 2);
        l.removed(40, 1);
        assert_eq!(l.usage(), (60, 1));
        let mut up = l.reserve(UserLimits::fixed(Limits { bytes: None, files: None }), true, 0).unwrap();
        up.grow(10).unwrap();
        up.settle(Some(PartialOutcome::KeptForResume));
        assert_eq!(l.usage(), (70, 2));
    }
}
