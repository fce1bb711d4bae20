//! [`AdminAuth`]: the admin API's sign-in and token checks, above one
//! [`AdminStore`]. The HTTP layer holds one and asks it about every
//! request.
//!
//! - A password login costs the same whether the name exists or not (a
//!   dummy argon2 verification for unknown names), as FTP logins do.
//! - A token check is cheap: its secret is hashed with SHA-256, not
//!   argon2 (it is 32 random bytes, not a password), the record is found
//!   by id, and the digests compared in constant time. A token that
//!   passed is then remembered for at most [`CHECK_CACHE`] (2 s), so a
//!   dashboard that polls many times a second reads the store about once
//!   per token every 2 s. The price: a token revoked elsewhere (another
//!   process, another node) may work for up to 2 s more. One revoked
//!   through this `AdminAuth` stops at once.
//! - What this does not do: slow down or ban an address that guesses.
//!   The HTTP layer reports failed logins and bad tokens to the server's
//!   [`Defender`](crate::auth::defender::Defender), as the FTP sessions
//!   do, so that one ban covers both doors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::auth::hasher::{Hasher, VerifyError};
use crate::auth::password::HASH_DEADLINE;
use crate::auth::{AuthError, StoreError};

use super::store::AdminStore;
use super::token::{self, TokenKind, TokenRecord};

/// The longest a token that passed a check is taken on trust before the
/// store is asked again (how long a revocation elsewhere may take to
/// count).
pub const CHECK_CACHE: Duration = Duration::from_secs(2);
/// Tokens remembered at most; past this, the stale ones are forgotten,
/// then all of them.
const CACHE_CAP: usize = 4096;

/// A token just made. Its text is shown once and kept nowhere.
pub struct IssuedToken {
    /// `fy_<id>_<secret>`: what the client sends.
    pub token: String,
    /// What the store keeps of it.
    pub record: TokenRecord,
}

/// The token's text is left out.
impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken").field("token", &"****").field("record", &self.record).finish()
    }
}

/// Admin logins and tokens checked against one store.
pub struct AdminAuth {
    store: Arc<dyn AdminStore>,
    hasher: &'static Hasher,
    /// Tokens that passed a check lately, by id, with when they did.
    passed: Mutex<HashMap<String, (TokenRecord, Instant)>>,
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAuth").finish_non_exhaustive()
    }
}

impl AdminAuth {
    /// Admins from `store`, hashing on the process's [`Hasher::global`].
    pub fn new(store: Arc<dyn AdminStore>) -> AdminAuth {
        AdminAuth { store, hasher: Hasher::global(), passed: Mutex::new(HashMap::new()) }
    }

    /// The store below.
    pub fn store(&self) -> &Arc<dyn AdminStore> {
        &self.store
    }

    /// True if `password` is `name`'s. An unknown name takes as long as a
    /// wrong password, so the answer does not tell which names exist.
    /// `Err` when the store cannot answer or no hashing thread is free in
    /// time ([`HASH_DEADLINE`]): not a wrong password.
    pub async fn login(&self, name: &str, password: &str) -> Result<bool, AuthError> {
        // The store first, holding no hashing thread while it answers.
        let Some(phc) = self.store.lookup(name).await? else {
            self.dummy(password).await?;
            return Ok(false);
        };
        match tokio::time::timeout(HASH_DEADLINE, self.hasher.verify(password, &phc)).await {
            Ok(Ok(ok)) => Ok(ok),
            Ok(Err(VerifyError::Hash(e))) => {
                tracing::warn!(admin = name, "{e}; set the password again with `ferryd admin passwd`");
                self.dummy(password).await?;
                Ok(false)
            }
            Ok(Err(VerifyError::Stopped)) | Err(_) => Err(AuthError::Busy),
        }
    }

    async fn dummy(&self, password: &str) -> Result<(), AuthError> {
        match tokio::time::timeout(HASH_DEADLINE, self.hasher.verify_dummy(password)).await {
            Ok(_) => Ok(()),
            Err(_) => Err(AuthError::Busy),
        }
    }

    /// A new token for `admin`, valid for `ttl` — or, when `None`, the
    /// kind's [`default_ttl`](TokenKind::default_ttl) (an API token then
    /// lasts until revoked). Times are whole seconds, as every store keeps
    /// them.
    pub async fn issue(&self, admin: &str, kind: TokenKind, ttl: Option<Duration>) -> Result<IssuedToken, StoreError> {
        let now = whole_seconds(SystemTime::now());
        let expires = match ttl.or(kind.default_ttl()) {
            Some(ttl) => {
                Some(now.checked_add(ttl).ok_or_else(|| StoreError::Failed(format!("a lifetime of {} s is too long", ttl.as_secs())))?)
            }
            None => None,
        };
        let made = token::generate();
        let record =
            TokenRecord { id: made.id.clone(), admin: admin.to_owned(), kind, hash: token::digest(&made.secret), created: now, expires };
        self.store.add_token(&record).await?;
        Ok(IssuedToken { token: token::format(&made), record })
    }

    /// The record of `token` if it opens the API at `now`; `None` if it is
    /// unknown, revoked, expired, or not a token at all. A token that
    /// passed may be answered from memory for up to [`CHECK_CACHE`].
    pub async fn check(&self, token: &str, now: SystemTime) -> Result<Option<TokenRecord>, StoreError> {
        let Some(parsed) = token::parse(token) else { return Ok(None) };
        let remembered = crate::sync::lock(&self.passed).get(&parsed.id).filter(|(_, at)| at.elapsed() < CHECK_CACHE).cloned();
        let record = match remembered {
            Some((record, _)) => record,
            None => match self.store.find_token(&parsed.id).await? {
                Some(record) => record,
                None => {
                    crate::sync::lock(&self.passed).remove(&parsed.id);
                    return Ok(None);
                }
            },
        };
        if !record.matches(&parsed.secret) || record.expired(now) {
            return Ok(None);
        }
        self.remember(&record);
        Ok(Some(record))
    }

    fn remember(&self, record: &TokenRecord) {
        let mut passed = crate::sync::lock(&self.passed);
        if let Some((_, at)) = passed.get(&record.id) {
            // Keep the time of the store's answer: trust must not be
            // renewed by the cache itself.
            if at.elapsed() < CHECK_CACHE {
                return;
            }
        }
        if passed.len() >= CACHE_CAP {
            passed.retain(|_, (_, at)| at.elapsed() < CHECK_CACHE);
            if passed.len() >= CACHE_CAP {
                passed.clear();
            }
        }
        passed.insert(record.id.clone(), (record.clone(), Instant::now()));
    }

    /// Revoke a token, given its full text (a sign-out: only its holder
    /// can) or just its id (an admin's decision, as `ferryd admin revoke`
    /// takes it). `Ok(false)` if there was no such token, or the text's
    /// secret is not the token's. It stops working here at once.
    pub async fn revoke(&self, token_or_id: &str) -> Result<bool, StoreError> {
        let id = if token::valid_id(token_or_id) {
            token_or_id.to_owned()
        } else {
            let Some(parsed) = token::parse(token_or_id) else { return Ok(false) };
            match self.store.find_token(&parsed.id).await? {
                Some(record) if record.matches(&parsed.secret) => parsed.id,
                _ => return Ok(false),
            }
        };
        crate::sync::lock(&self.passed).remove(&id);
        self.store.revoke_token(&id).await
    }

    /// The CSRF token of a web session: the SHA-256 of a label and the
    /// session's token, in hex. Only the holder of the (HTTP-only) session
    /// cookie can know it, it needs no storage, and it is the same on
    /// every node; it reveals nothing of the session token.
    // A method, so that the HTTP layer needs nothing but its `AdminAuth`.
    #[allow(clippy::unused_self)]
    pub fn csrf_token(&self, session_token: &str) -> String {
        let mut input = Vec::with_capacity(CSRF_LABEL.len() + session_token.len());
        input.extend_from_slice(CSRF_LABEL);
        input.extend_from_slice(session_token.as_bytes());
        token::hex(&token::digest(&input))
    }

    /// True if `given` is the CSRF token of `session_token` (compared in
    /// constant time).
    pub fn csrf_ok(&self, session_token: &str, given: &str) -> bool {
        token::digests_equal(self.csrf_token(session_token).as_bytes(), given.as_bytes())
    }
}

/// What the CSRF digest is of, besides the session token: another label
/// would give another, unrelated digest.
const CSRF_LABEL: &[u8] = b"ferry-csrf\0";

fn whole_seconds(t: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
