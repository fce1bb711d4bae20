//! What one server holds for all its front-ends and sessions: the storage
//! root, quota ledgers, the claims of uploads in progress, bandwidth
//! limiters, the event bus and the registry of the sessions open. A
//! session turns it into a user's view with
//! [`UserFs::open`](crate::userfs::UserFs::open).
//!
//! A reload does not replace these: accounts are swapped in
//! [`auth::Current`](crate::auth::Current), and what a reload changes here
//! is applied in place, so that transfers already running follow it —
//! [`Services::apply_policy`] for a user's new quotas and rates,
//! [`Services::rescan_quotas`] to walk the homes again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::auth::settings::Policy;
use crate::claims::UploadClaims;
use crate::events::Events;
use crate::gate::UploadGate;
use crate::limits::Rates;
use crate::quota::{Limits, Quotas};
use crate::sessions::Sessions;
use crate::storage::Storage;

/// The server-wide pieces below every user's view.
pub struct Services {
    storage: Arc<dyn Storage>,
    quotas: Quotas,
    claims: Arc<UploadClaims>,
    rates: Rates,
    events: Arc<Events>,
    /// Every front door's sessions, for the administrator.
    sessions: Arc<Sessions>,
    /// Uploads compute the SHA-256 of their file (for hooks that want it).
    digests: AtomicBool,
    /// Asked before each upload starts (the `pre-upload` hooks).
    gate: RwLock<Option<Arc<dyn UploadGate>>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("quotas", &self.quotas)
            .field("rates", &self.rates)
            .field("events", &self.events)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl Services {
    /// Services over `storage` (the server's root), limited by `rates`,
    /// telling `events`.
    pub fn new(storage: Arc<dyn Storage>, rates: Rates, events: Arc<Events>) -> Arc<Services> {
        Arc::new(Services {
            storage,
            quotas: Quotas::default(),
            claims: Arc::default(),
            rates,
            events,
            sessions: Sessions::new(),
            digests: AtomicBool::new(false),
            gate: RwLock::new(None),
        })
    }

    /// The whole tree, as the server sees it (for upkeep such as removing
    /// a crash's temporary files; sessions go through their `UserFs`).
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The quota ledgers and users' limits.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// The bandwidth limiters.
    pub fn rates(&self) -> &Rates {
        &self.rates
    }

    /// Have every upload from now on compute the SHA-256 of its file as the
    /// bytes stream in, for its upload event (a subscriber wants it).
    pub fn set_upload_digests(&self, on: bool) {
        self.digests.store(on, Ordering::Relaxed);
    }

    /// Ask `gate` before every upload from now on (`None`: nobody).
    pub fn set_upload_gate(&self, gate: Option<Arc<dyn UploadGate>>) {
        *crate::sync::write(&self.gate) = gate;
    }

    /// The gate in force, if any.
    pub(crate) fn upload_gate(&self) -> Option<Arc<dyn UploadGate>> {
        crate::sync::read(&self.gate).clone()
    }

    /// Whether uploads compute their file's SHA-256.
    pub fn upload_digests(&self) -> bool {
        self.digests.load(Ordering::Relaxed)
    }

    /// The event bus.
    pub fn events(&self) -> &Arc<Events> {
        &self.events
    }

    /// The sessions open now, of every front door: each registers there
    /// when it accepts a connection, and gets its number from it.
    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }

    pub(crate) fn claims(&self) -> &Arc<UploadClaims> {
        &self.claims
    }

    /// A reload gave `user` this policy: their uploads in progress check
    /// its quota from their next chunk, their transfers follow its rates.
    /// (The sessions' own views take it with `UserFs::set_policy`.)
    pub fn apply_policy(&self, user: &str, policy: &Policy) {
        self.quotas.update_user(user, Limits { bytes: policy.quota_bytes, files: policy.quota_files });
        self.rates.update_user(user, policy.upload_rate, policy.download_rate);
    }

    /// Forget every walked quota usage: each home is walked again at its
    /// next upload (after a reload, to see changes made outside the server).
    pub fn rescan_quotas(&self) {
        self.quotas.rescan_all();
    }
}
