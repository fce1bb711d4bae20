//! One logged-in user's view over storage, with the whole policy applied
//! in one place, whatever protocol the user speaks.
//!
//! A front-end opens a [`UserFs`] at login and calls it for everything:
//! `fs.mkdir(&path)`, `fs.open_download(&path, offset)`,
//! `fs.open_upload(&path, mode)`, `fs.rename(&from, &to)` ... Each call
//! either does the work or returns a typed refusal ([`FsError`]) that the
//! front-end words in its own protocol. In one place, for every front-end:
//!
//! - **home**: the user's home folder is their `/` (created at login if
//!   missing); nothing above it can be named;
//! - **permissions**: each operation needs its [`Permission`] (listing and
//!   facts `list`, downloads and checksums `read`, uploads and times and
//!   modes `write`, `delete`, `rename`, `mkdir`), and replacing a file by a
//!   rename needs `delete` too;
//! - **names**: the server's reserved names (temporary uploads, folder
//!   markers) are refused for every operation, and new names with control
//!   characters for anything that creates one;
//! - **quotas**: counted in the home's [`Ledger`], walked once and then kept
//!   up to date by the core's own writes: an upload reserves as it writes
//!   (so concurrent uploads share the quota exactly), deletions and
//!   replaced files give their bytes back;
//! - **uploads in progress**: an upload claims its file server-wide; a
//!   second upload, a deletion or a rename of it is refused as busy;
//! - **bandwidth**: [`UserFs::rate_limits`] hands the transfer the
//!   limiters that apply (the user's, shared by all their sessions, and the
//!   server's);
//! - **events**: what succeeded is emitted after the fact (see
//!   [`crate::events`]).
//!
//! Calls block (storage is blocking): front-ends run them on the blocking
//! pool. A `UserFs` is cheap to clone (one `Arc`) and `Send + Sync`, so a
//! session keeps one and hands clones to the jobs it starts.

mod changes;
mod download;
mod error;
mod upload;

#[cfg(test)]
mod tests;

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use ferry_proto::VirtualPath;
use ferry_proto::listing::Kind;

use crate::auth::Account;
use crate::auth::settings::{Permission, Policy};
use crate::events::{Actor, EventKind, SessionInfo};
use crate::limits::{Direction, RateLimiter};
use crate::quota::{Ledger, Limits};
use crate::services::Services;
use crate::storage::{Capabilities, Detail, Entries, FileInfo, Storage, StorageError, acceptable_new_name, is_reserved};

pub use crate::gate::{UploadGate, UploadRequest};
pub use download::{Download, DownloadGuard, ReadPurpose};
pub use error::FsError;
pub use upload::UserUpload;

/// One user's view over storage (see the module docs).
#[derive(Clone)]
pub struct UserFs {
    inner: Arc<Inner>,
}

struct Inner {
    services: Arc<Services>,
    /// The storage seen from the home down.
    storage: Arc<dyn Storage>,
    /// The session and the user, as events name them.
    actor: Actor,
    /// Replaced by a reload, never by one with another home: the home is
    /// read from here (not kept twice: every logged-in session has one of
    /// these).
    policy: RwLock<Policy>,
}

impl std::fmt::Debug for UserFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserFs").field("actor", &self.inner.actor).field("home", &self.home()).finish_non_exhaustive()
    }
}

impl UserFs {
    /// `account`'s view, for `session`: the home becomes `/` (created if
    /// missing). Blocking, unless the home is `/` (which needs no I/O). A
    /// home that cannot be made or opened is a storage error (the
    /// front-end refuses the login).
    pub fn open(services: &Arc<Services>, account: &Account, session: SessionInfo) -> Result<UserFs, FsError> {
        let home = &account.policy.home;
        // At the root, the shared storage serves as it is: no extra handle
        // per session.
        let storage = if home.is_root() { services.storage().clone() } else { services.storage().scoped(home)? };
        let actor = Actor { session, user: account.name.as_str().into() };
        let policy = RwLock::new(account.policy.clone());
        Ok(UserFs { inner: Arc::new(Inner { services: services.clone(), storage, actor, policy }) })
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.inner.actor.user
    }

    /// The session and the user, as events name them.
    pub fn actor(&self) -> &Actor {
        &self.inner.actor
    }

    /// The home folder, as the server sees it (a reload never changes it).
    pub fn home(&self) -> VirtualPath {
        crate::sync::read(&self.inner.policy).home.clone()
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        crate::sync::read(&self.inner.policy).clone()
    }

    /// Whether the policy in force allows `p`.
    pub fn allows(&self, p: Permission) -> bool {
        crate::sync::read(&self.inner.policy).allows(p)
    }

    /// A reload's new policy for this user, from the next call on (for
    /// transfers already running, see [`Services::apply_policy`]). A policy
    /// with another home does not fit this view: it is not taken, and false
    /// is returned (the user must log in again).
    pub fn set_policy(&self, policy: Policy) -> bool {
        let mut current = crate::sync::write(&self.inner.policy);
        if policy.home != current.home {
            return false;
        }
        *current = policy;
        true
    }

    /// What the storage can do beyond reading and writing files.
    pub fn capabilities(&self) -> Capabilities {
        self.inner.storage.capabilities()
    }

    /// Whether opening a download is quick enough for an async worker
    /// (see [`Storage::quick_open`]).
    pub fn quick_open(&self) -> bool {
        self.inner.storage.quick_open()
    }

    /// The limiters a transfer in `direction` consults after each chunk:
    /// the user's (shared by all their sessions) and the server's.
    pub fn rate_limits(&self, direction: Direction) -> Vec<Arc<RateLimiter>> {
        let rate = {
            let policy = crate::sync::read(&self.inner.policy);
            match direction {
                Direction::Upload => policy.upload_rate,
                Direction::Download => policy.download_rate,
            }
        };
        self.inner.services.rates().for_transfer(self.user(), rate, direction)
    }

    /// Resolve what a client typed against its working folder: `..` never
    /// climbs above `/`, and names reserved for the server are refused.
    pub fn resolve(cwd: &VirtualPath, input: &str) -> Result<VirtualPath, FsError> {
        let path = cwd.resolve(input).ok_or(FsError::NameNotAllowed)?;
        existing(&path)?;
        Ok(path)
    }

    /// Facts about a file or folder (`list`).
    pub fn metadata(&self, path: &VirtualPath) -> Result<FileInfo, FsError> {
        self.permit(Permission::List)?;
        existing(path)?;
        Ok(self.inner.storage.metadata(path)?)
    }

    /// Check that `path` is a folder the user may enter (`list`).
    pub fn change_dir(&self, path: &VirtualPath) -> Result<(), FsError> {
        match self.metadata(path)?.kind {
            Kind::Dir => Ok(()),
            _ => Err(StorageError::NotDirectory.into()),
        }
    }

    /// A folder's entries, read as they are pulled (`list`): a front-end
    /// keeps the iterator between requests to page through a big folder.
    pub fn read_dir(&self, dir: &VirtualPath, detail: Detail) -> Result<Entries, FsError> {
        self.permit(Permission::List)?;
        existing(dir)?;
        Ok(self.inner.storage.read_dir(dir, detail)?)
    }

    /// Set a modification time (`write`).
    pub fn set_modified(&self, path: &VirtualPath, time: SystemTime) -> Result<(), FsError> {
        self.set_times(path, Some(time), None)
    }

    /// Set modification and access times, each when given (`write`).
    pub fn set_times(&self, path: &VirtualPath, modified: Option<SystemTime>, accessed: Option<SystemTime>) -> Result<(), FsError> {
        self.permit(Permission::Write)?;
        existing(path)?;
        Ok(self.inner.storage.set_times(path, modified, accessed)?)
    }

    /// Whether a user may ask for `mode`: permission bits only, no set-id
    /// or sticky bits (for front doors that take a mode now and apply it
    /// later, as SFTP does for a file still being written).
    pub fn mode_allowed(mode: u32) -> Result<(), FsError> {
        if mode & !0o777 != 0 { Err(FsError::SpecialMode) } else { Ok(()) }
    }

    /// Set Unix permission bits (`write`). The home's own mode is the
    /// administrator's: locking oneself out of it helps nobody. Set-id and
    /// sticky bits are refused: a user who could make a set-uid file of the
    /// server's account would run as it.
    pub fn set_mode(&self, path: &VirtualPath, mode: u32) -> Result<(), FsError> {
        self.permit(Permission::Write)?;
        existing(path)?;
        if path.is_root() {
            return Err(FsError::HomeMode);
        }
        Self::mode_allowed(mode)?;
        Ok(self.inner.storage.set_mode(path, mode)?)
    }

    /// `Err` unless the policy allows `p`.
    fn permit(&self, p: Permission) -> Result<(), FsError> {
        if self.allows(p) { Ok(()) } else { Err(FsError::PermissionDenied(p)) }
    }

    fn storage(&self) -> &dyn Storage {
        &*self.inner.storage
    }

    /// `path` as the whole server sees it, to key uploads in progress by.
    fn server_key(&self, path: &VirtualPath) -> String {
        let policy = crate::sync::read(&self.inner.policy);
        let home = &policy.home;
        if home.is_root() { path.as_str().to_owned() } else { format!("{}{}", home.as_str(), path.as_str()) }
    }

    /// `Err(Busy)` while an upload to `path` runs.
    fn not_busy(&self, path: &VirtualPath) -> Result<(), FsError> {
        if self.inner.services.claims().is_claimed(&self.server_key(path)) { Err(FsError::Busy) } else { Ok(()) }
    }

    /// The home's ledger and the user's limits, when the user has a quota.
    fn quota(&self) -> Option<(Arc<Ledger>, Limits)> {
        let policy = crate::sync::read(&self.inner.policy);
        let limits = Limits { bytes: policy.quota_bytes, files: policy.quota_files };
        (limits.bytes.is_some() || limits.files.is_some()).then(|| (self.inner.services.quotas().ledger(&policy.home), limits))
    }

    /// The home's quota and what it holds now (counted, walked first if
    /// the count is stale), when the user has one: for front-ends that
    /// report free space (SFTP's `statvfs`). Blocking.
    pub fn quota_usage(&self) -> Result<Option<QuotaUsage>, FsError> {
        let Some((ledger, limits)) = self.quota() else { return Ok(None) };
        ledger.refresh(self.storage(), std::time::Instant::now())?;
        Ok(Some((ledger.usage(), limits)))
    }

    /// Count bytes and files that left the home.
    fn quota_removed(&self, bytes: u64, files: u64) {
        if let Some((ledger, _)) = self.quota() {
            ledger.removed(bytes, files);
        }
    }

    fn emit(&self, kind: EventKind) {
        self.inner.services.events().emit_now(kind);
    }
}

/// What a home holds, `(bytes, files)`, and its quota.
pub type QuotaUsage = ((u64, u64), Limits);

/// `Err` when `path` goes through a reserved name.
fn existing(path: &VirtualPath) -> Result<(), FsError> {
    if is_reserved(path) { Err(FsError::NameNotAllowed) } else { Ok(()) }
}

/// `Err` unless `path` may be given to something new.
fn new_name(path: &VirtualPath) -> Result<(), FsError> {
    existing(path)?;
    match path.file_name() {
        Some(name) if !acceptable_new_name(name) => Err(FsError::NewNameNotAllowed),
        _ => Ok(()),
    }
}
