//! `UserFs` against real files in a temporary folder, with a recorder on
//! the event bus: every refusal and every event.

mod changes;
mod reads;
mod refusals;
mod uploads;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_proto::VirtualPath;

use super::UserFs;
use crate::auth::Account;
use crate::auth::settings::{Permission, Policy};
use crate::events::recorder::Recorder;
use crate::events::{Events, SessionInfo};
use crate::limits::Rates;
use crate::services::Services;
use crate::storage::local::LocalStorage;

/// A server root in a temporary folder, its services, and what they emit.
struct Fixture {
    dir: tempfile::TempDir,
    services: Arc<Services>,
    heard: Arc<Recorder>,
}

fn fixture() -> Fixture {
    fixture_with(Rates::default())
}

fn fixture_with(rates: Rates) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(LocalStorage::open(dir.path()).unwrap());
    let events = Events::new();
    let heard = Recorder::new();
    events.subscribe(heard.clone());
    Fixture { dir, services: Services::new(storage, rates, events), heard }
}

impl Fixture {
    /// The server's root folder on disk.
    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A file below the root, on disk.
    fn disk(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Put a file on disk, below the root.
    fn put(&self, rel: &str, contents: &[u8]) {
        let path = self.disk(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// A file's contents on disk, if it is there.
    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.disk(rel)).ok()
    }

    /// `alice`, with `policy`, on session 1.
    fn fs(&self, policy: Policy) -> UserFs {
        self.fs_as("alice", policy, 1)
    }

    fn fs_as(&self, user: &str, policy: Policy, session: u64) -> UserFs {
        let account = Account { name: user.into(), policy, anonymous: false };
        let session = SessionInfo { id: session, protocol: "ftp", peer: "192.0.2.1:4000".parse().unwrap() };
        UserFs::open(&self.services, &account, session).unwrap()
    }
}

/// Everything allowed, no limits, at the root.
fn all() -> Policy {
    Policy::default()
}

/// Every permission but `p`.
fn all_but(p: Permission) -> Policy {
    let rest: Vec<_> = Permission::ALL.into_iter().filter(|&q| q != p).collect();
    Policy::default().with_permissions(&rest)
}

fn path(p: &str) -> VirtualPath {
    VirtualPath::root().resolve(p).unwrap()
}

#[test]
fn a_view_is_cheap_to_share_between_threads() {
    fn shared<T: Send + Sync + Clone>() {}
    fn sent<T: Send>() {}
    shared::<UserFs>();
    sent::<super::UserUpload>();
    sent::<super::Download>();
    sent::<super::Download<Box<dyn crate::storage::ReadAt>>>();
}
