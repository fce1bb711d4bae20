//! Who is connected, through every front door: the session registry.
//!
//! Each front door registers a connection as soon as it accepts it
//! ([`Sessions::open`], before any login: an administrator sees clients
//! that connected and never logged in too), and holds the
//! [`SessionHandle`] for the life of the session. The handle says who
//! logged in, registers each file transfer ([`SessionHandle::transfer`]),
//! and is how the session hears that an administrator ended it
//! ([`SessionHandle::kicked`]) or that its front door is shutting down
//! ([`Sessions::shut_down`], [`SessionHandle::ending`]). Dropping it takes
//! the session off the list.
//!
//! The registry allocates the session's number, and that number is the
//! one the core's events carry ([`SessionHandle::info`]): the session an
//! administrator lists is the `session` of its events.
//!
//! # Costs
//!
//! Opening and closing take one short lock of the registry; logins and
//! transfers one of their session's entry. Bytes are counted with a single
//! atomic add per chunk ([`TransferProgress::add`]): no lock, no clock, no
//! allocation on a transfer's hot path. The rate is worked out when
//! someone lists the sessions, from a few samples of that counter (see
//! [`rate`]).

mod kick;
pub mod rate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Instant, SystemTime};

use crate::events::SessionInfo;
pub use crate::limits::Direction;
use kick::{KICK, KickSignal, Raised, SHUTDOWN};
use rate::RateSamples;

/// The sessions open now, of every front door.
pub struct Sessions {
    next_id: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Entry>>>,
}

impl Default for Sessions {
    fn default() -> Self {
        // Numbers start at 1, as the events' have always done.
        Sessions { next_id: AtomicU64::new(1), open: Mutex::default() }
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").field("open", &self.len()).finish()
    }
}

/// One session as an administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// Its number, as its events name it.
    pub id: u64,
    /// `"ftp"`, later `"sftp"`.
    pub protocol: &'static str,
    /// The client's address (as a trusted proxy reported it, if any).
    pub peer: SocketAddr,
    /// When it connected.
    pub since: SystemTime,
    /// Who it is logged in as, if anyone yet (as the client gave the
    /// name: escape it where it is shown).
    pub user: Option<String>,
    /// The file transfer it is running, if any.
    pub transfer: Option<TransferView>,
}

/// A file transfer in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferView {
    /// The file, as the user sees it (their home is `/`).
    pub path: String,
    /// Which way the bytes go.
    pub direction: Direction,
    /// Bytes moved so far.
    pub bytes: u64,
    /// Bytes per second over the last few seconds (see [`rate`]).
    pub rate: u64,
    /// When it started.
    pub since: SystemTime,
    /// The bytes it is expected to move, when known: a download's file
    /// from its offset (or the range asked for), the size an upload
    /// announced.
    pub size: Option<u64>,
}

/// What the registry keeps of one session.
struct Entry {
    id: u64,
    protocol: &'static str,
    peer: SocketAddr,
    since: SystemTime,
    /// Weak: the registry holds the entry, not the other way round.
    registry: Weak<Sessions>,
    state: Mutex<EntryState>,
    /// Kept here, not in an allocation of its own: idle sessions add up.
    kick: KickSignal,
}

#[derive(Default)]
struct EntryState {
    /// Shared with whoever else keeps the name (the session's `UserFs`).
    user: Option<Arc<str>>,
    transfer: Option<Arc<Live>>,
}

/// A transfer's shared state: its counter (written by the transfer) and
/// its rate samples (read by listings).
struct Live {
    path: String,
    direction: Direction,
    size: Option<u64>,
    since: SystemTime,
    bytes: AtomicU64,
    samples: Mutex<RateSamples>,
}

impl Sessions {
    /// An empty registry.
    pub fn new() -> Arc<Sessions> {
        Arc::new(Sessions::default())
    }

    /// Register a session of `protocol` that `peer` just opened, and give
    /// it its number. The session is listed until the handle is dropped.
    pub fn open(self: &Arc<Self>, protocol: &'static str, peer: SocketAddr) -> SessionHandle {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(Entry {
            id,
            protocol,
            peer,
            since: SystemTime::now(),
            registry: Arc::downgrade(self),
            state: Mutex::default(),
            kick: KickSignal::default(),
        });
        crate::sync::lock(&self.open).insert(id, entry.clone());
        SessionHandle { entry }
    }

    /// Every session open now, by number.
    pub fn list(&self) -> Vec<SessionView> {
        self.list_at(Instant::now())
    }

    /// [`Sessions::list`] with the rates worked out at `now`.
    pub fn list_at(&self, now: Instant) -> Vec<SessionView> {
        // The entries are copied out first: no session waits on the
        // registry while the views are made.
        let entries: Vec<Arc<Entry>> = crate::sync::lock(&self.open).values().cloned().collect();
        entries.iter().map(|e| e.view(now)).collect()
    }

    /// Session `id`, if it is open.
    pub fn get(&self, id: u64) -> Option<SessionView> {
        let entry = crate::sync::lock(&self.open).get(&id).cloned();
        entry.map(|e| e.view(Instant::now()))
    }

    /// End session `id`: its front door stops what it is doing (a transfer
    /// as an abort would), says why and closes the connection. False if no
    /// such session is open.
    pub fn kick(&self, id: u64) -> bool {
        let Some(entry) = crate::sync::lock(&self.open).get(&id).cloned() else { return false };
        entry.kick.raise(KICK);
        true
    }

    /// Ask every open session of `protocol` to end at its next safe point
    /// (between commands): its front door is shutting down. Unlike a
    /// kick, a transfer running goes on (the front door gives it a grace
    /// period of its own). A session opened after this is not told: the
    /// front door refuses new ones, or checks its own flag, set first.
    pub fn shut_down(&self, protocol: &str) {
        let entries: Vec<Arc<Entry>> = crate::sync::lock(&self.open).values().filter(|e| e.protocol == protocol).cloned().collect();
        for entry in entries {
            entry.kick.raise(SHUTDOWN);
        }
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        crate::sync::lock(&self.open).len()
    }

    /// True when no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Entry {
    fn view(&self, now: Instant) -> SessionView {
        let (user, live) = {
            let state = crate::sync::lock(&self.state);
            (state.user.as_deref().map(str::to_owned), state.transfer.clone())
        };
        let transfer = live.map(|t| {
            let bytes = t.bytes.load(Ordering::Relaxed);
            let rate = crate::sync::lock(&t.samples).rate(now, bytes);
            TransferView { path: t.path.clone(), direction: t.direction, bytes, rate, since: t.since, size: t.size }
        });
        SessionView { id: self.id, protocol: self.protocol, peer: self.peer, since: self.since, user, transfer }
    }
}

/// A session's place in the registry, held by its front door for the
/// life of the session; dropping it takes the session off the list.
pub struct SessionHandle {
    entry: Arc<Entry>,
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle").field("id", &self.entry.id).field("protocol", &self.entry.protocol).finish()
    }
}

impl SessionHandle {
    /// The session's number (the `id` of its events).
    pub fn id(&self) -> u64 {
        self.entry.id
    }

    /// The session as the core's events name it.
    pub fn info(&self) -> SessionInfo {
        SessionInfo { id: self.entry.id, protocol: self.entry.protocol, peer: self.entry.peer }
    }

    /// The session logged in as `user` (an `Arc<str>` the session keeps
    /// anyway is shared, not copied).
    pub fn logged_in(&self, user: impl Into<Arc<str>>) {
        crate::sync::lock(&self.entry.state).user = Some(user.into());
    }

    /// The session logged out (it may log in again).
    pub fn logged_out(&self) {
        crate::sync::lock(&self.entry.state).user = None;
    }

    /// A file transfer of `path` (the user's virtual path) starts: it is
    /// listed with its progress until the returned value is dropped.
    /// `size` is what it is expected to move, when known.
    pub fn transfer(&self, path: &str, direction: Direction, size: Option<u64>) -> TransferProgress {
        let live = Arc::new(Live {
            path: path.to_owned(),
            direction,
            size,
            since: SystemTime::now(),
            bytes: AtomicU64::new(0),
            samples: Mutex::new(RateSamples::new(Instant::now())),
        });
        crate::sync::lock(&self.entry.state).transfer = Some(live.clone());
        TransferProgress { live, entry: self.entry.clone() }
    }

    /// Resolves once an administrator ended the session with
    /// [`Sessions::kick`], whether that was before or after this was
    /// called. Owns what it needs (it borrows nothing of the handle), so it
    /// can sit in a `select!` beside anything.
    pub fn kicked(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        // One pointer: sessions wait on it while idle (see `kick`).
        Raised::<KICK>(self.entry.clone())
    }

    /// True once an administrator ended the session.
    pub fn is_kicked(&self) -> bool {
        self.entry.kick.is_raised(KICK)
    }

    /// Resolves once the session is to end at its next safe point: an
    /// administrator ended it, or its front door is shutting down
    /// ([`Sessions::shut_down`]); [`SessionHandle::is_kicked`] tells which.
    /// Like [`SessionHandle::kicked`], one pointer that borrows nothing.
    pub fn ending(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        Raised::<{ KICK | SHUTDOWN }>(self.entry.clone())
    }

    /// True once the session was kicked or its front door shut down.
    pub fn is_ending(&self) -> bool {
        self.entry.kick.is_raised(KICK | SHUTDOWN)
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        if let Some(registry) = self.entry.registry.upgrade() {
            crate::sync::lock(&registry.open).remove(&self.entry.id);
        }
    }
}

/// The byte counter of one transfer in progress; dropping it ends the
/// transfer in the session's listing. Share it (in an `Arc`) with the
/// threads that move the bytes.
pub struct TransferProgress {
    live: Arc<Live>,
    entry: Arc<Entry>,
}

impl std::fmt::Debug for TransferProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferProgress")
            .field("session", &self.entry.id)
            .field("direction", &self.live.direction)
            .field("bytes", &self.bytes())
            .finish_non_exhaustive()
    }
}

impl TransferProgress {
    /// `bytes` more moved. Call it per chunk, not per byte: one atomic add.
    pub fn add(&self, bytes: u64) {
        self.live.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Bytes moved so far.
    pub fn bytes(&self) -> u64 {
        self.live.bytes.load(Ordering::Relaxed)
    }
}

impl Drop for TransferProgress {
    fn drop(&mut self) {
        let mut state = crate::sync::lock(&self.entry.state);
        // Only this transfer's: a newer one may have started already.
        if state.transfer.as_ref().is_some_and(|t| Arc::ptr_eq(t, &self.live)) {
            state.transfer = None;
        }
    }
}

#[cfg(test)]
mod tests;
