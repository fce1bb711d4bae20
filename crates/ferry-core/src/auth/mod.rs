//! Who may log in, and what they may do.
//!
//! Layers, from the bottom:
//!
//! - [`store::AccountStore`]: where the secrets are — the users file
//!   ([`users_file`]) or PostgreSQL (`postgres`, feature `postgres`). A
//!   lookup either answers or fails (an outage, never "wrong password").
//! - [`hasher::Hasher`]: argon2 verifications on a few dedicated threads
//!   that reuse their memory.
//! - [`password::PasswordAuth`]: one store below the login rules — the
//!   equal-time dummy verification, the cache of recent logins
//!   ([`cache`]), anonymous access and the per-user [`settings`].
//! - [`Authenticator`]: what a server holds, swapped on reload through
//!   [`Current`].
//!
//! Beside the login path, [`directory::UserDirectory`] is the
//! administrator's view of one store: whole [`record::UserRecord`]s
//! (the account and its settings, never its secret) listed, read,
//! created, changed and removed — on the users file with its `users.toml`
//! ([`file_directory`]) or in PostgreSQL.
//!
//! Nothing here knows about FTP: the server's sessions call
//! [`Authenticator::login`] with the strings from `USER` and `PASS`.

pub mod cache;
pub mod date;
pub mod defender;
pub mod directory;
pub mod file_directory;
pub mod hash;
pub mod hasher;
pub mod network;
pub mod password;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod recheck;
pub mod record;
pub mod settings;
mod settings_edit;
pub mod store;
pub mod users_file;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use store::{AccountStore, BoxFuture, Secret, StoreError, StoredAccount};

/// A logged-in identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user name as stored (`anonymous` for anonymous logins).
    pub name: String,
    /// What the user may do: home folder, permissions, quotas, rates.
    pub policy: settings::Policy,
    /// An anonymous login (RFC 1635), not a stored account.
    pub anonymous: bool,
}

/// A login that could not be decided, or was refused for another reason
/// than a wrong password. None of these count as a failed guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The account store failed or did not answer in time.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The password was right, but the account is disabled.
    #[error("account disabled")]
    Disabled,
    /// The password was right, but the account's last day (`expires`,
    /// UTC) is past.
    #[error("account expired")]
    Expired,
    /// The password was right, but the client's address is outside the
    /// account's `allowed_networks` (or was not known).
    #[error("login not allowed from this address")]
    NetworkNotAllowed,
    /// No hashing thread answered in time (a login storm).
    #[error("the password check did not finish in time")]
    Busy,
}

/// Where a logged-in account stands now (after a reload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Still there, with this policy.
    Active(settings::Policy),
    /// The settings give this policy, but the account store could not be
    /// asked whether the account is still there (an outage): the session
    /// goes on under these settings and asks again later.
    Unconfirmed(settings::Policy),
    /// Still there, but disabled.
    Disabled,
    /// Still there, but past its last day.
    Expired,
    /// No longer there.
    Gone,
}

/// Where a login attempt comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginContext {
    /// The client's address.
    pub peer: std::net::SocketAddr,
    /// The protocol it speaks, lower case (`"ftp"`).
    pub protocol: &'static str,
}

/// Checks credentials.
pub trait Authenticator: Send + Sync + 'static {
    /// `Ok(Some(account))` if the pair opens an account, `Ok(None)` if it
    /// does not (a wrong password or an unknown user — which take the same
    /// time, so the answer does not reveal which user names exist).
    fn login<'a>(&'a self, user: &'a str, password: &'a str) -> BoxFuture<'a, Result<Option<Account>, AuthError>>;

    /// [`Authenticator::login`], told where the attempt comes from: for
    /// authenticators that ask an outside system (a `pre-login` hook),
    /// which may want the client's address and protocol. Others need not
    /// care (the default ignores it).
    fn login_from<'a>(
        &'a self,
        user: &'a str,
        password: &'a str,
        from: &'a LoginContext,
    ) -> BoxFuture<'a, Result<Option<Account>, AuthError>> {
        let _ = from;
        self.login(user, password)
    }

    /// `Ok(Some(account))` if `key` (a public key, base64 as in a `.pub`
    /// file, whose private half the client has proved it holds) is one of
    /// `user`'s `authorized_keys`; `Ok(None)` if not, or if this
    /// authenticator logs nobody in by key (the default). The account's
    /// rules (disabled, expired, allowed networks) apply as for a password.
    fn login_with_key<'a>(
        &'a self,
        user: &'a str,
        key: &'a str,
        from: &'a LoginContext,
    ) -> BoxFuture<'a, Result<Option<Account>, AuthError>> {
        let _ = (user, key, from);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Where a logged-in account stands now: the settings of a reload
    /// reach sessions that are already open through this.
    fn standing<'a>(&'a self, account: &'a Account) -> BoxFuture<'a, Result<Standing, StoreError>>;
}

/// The authenticator in force, replaced on reload. Every replacement
/// bumps a generation number, so a session sees with one atomic load per
/// command whether its account needs a fresh look.
///
/// The lock is held only to clone or swap an `Arc`, and a poisoned lock is
/// used as it is: a panic elsewhere can never lock everybody out.
pub struct Current {
    auth: Mutex<Arc<dyn Authenticator>>,
    generation: AtomicU64,
    /// Tells running transfers that the accounts changed.
    changes: tokio::sync::watch::Sender<u64>,
}

impl Current {
    /// Start with `auth`, at generation 0.
    pub fn new(auth: Arc<dyn Authenticator>) -> Current {
        Current { auth: Mutex::new(auth), generation: AtomicU64::new(0), changes: tokio::sync::watch::Sender::new(0) }
    }

    /// The authenticator in force.
    pub fn get(&self) -> Arc<dyn Authenticator> {
        crate::sync::lock(&self.auth).clone()
    }

    /// How many times it was replaced. Read it before [`Current::get`]: a
    /// replacement in between then shows as a newer generation later.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Follow replacements: the receiver sees each one (a transfer that
    /// runs for hours must learn that its user was disabled).
    pub fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Replace the authenticator.
    pub fn set(&self, auth: Arc<dyn Authenticator>) {
        let old = std::mem::replace(&mut *crate::sync::lock(&self.auth), auth);
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.changes.send_replace(generation);
        // The old one (a database pool, perhaps) is dropped outside the lock.
        drop(old);
    }
}

impl std::fmt::Debug for Current {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Current").field("generation", &self.generation()).finish_non_exhaustive()
    }
}
