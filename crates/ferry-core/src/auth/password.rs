//! The password authenticator: the login rules above any
//! [`AccountStore`].
//!
//! A login looks the secret up (the store may be slow or down: that is an
//! error of its own, never a wrong password), then verifies it on the
//! [`Hasher`] — for unknown users and plain-text accounts a dummy hash, so
//! that every answer costs the same. Logins verified moments ago are
//! answered from the [`LoginCache`]. Anonymous access and per-user
//! settings come from the [`SettingsFile`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cache::LoginCache;
use super::hasher::{Hasher, VerifyError};
use super::settings::SettingsFile;
use super::store::{AccountStore, BoxFuture, Secret, StoreError};
use super::{Account, AuthError, Authenticator, Standing, hash};

/// How long a login may wait for the hashing service (its queue in a
/// login storm, then the hash) before it is answered "busy".
pub const HASH_DEADLINE: Duration = Duration::from_secs(30);

/// User names that mean an anonymous login when no account has them.
fn is_anonymous_name(user: &str) -> bool {
    matches!(user, "anonymous" | "ftp")
}

/// Logins checked against one store, with settings.
pub struct PasswordAuth {
    store: Arc<dyn AccountStore>,
    settings: SettingsFile,
    /// Recently verified logins (a reload starts a fresh one).
    cache: LoginCache,
    hasher: &'static Hasher,
}

impl std::fmt::Debug for PasswordAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordAuth").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl PasswordAuth {
    /// Accounts from `store`, with `settings`, hashing on the process's
    /// [`Hasher::global`].
    pub fn new(store: Arc<dyn AccountStore>, settings: SettingsFile) -> PasswordAuth {
        PasswordAuth { store, settings, cache: LoginCache::default(), hasher: Hasher::global() }
    }

    /// Hash on another service.
    pub fn with_hasher(mut self, hasher: &'static Hasher) -> PasswordAuth {
        self.hasher = hasher;
        self
    }

    /// The per-user settings in force.
    pub fn settings(&self) -> &SettingsFile {
        &self.settings
    }

    /// Check a user name and password; see [`Authenticator::login`].
    pub async fn login(&self, user: &str, password: &str) -> Result<Option<Account>, AuthError> {
        // The store first, without holding any hashing resource: a slow
        // database delays only the logins that wait for it.
        let secret = self.store.lookup(user).await?;
        let ok = match &secret {
            None if is_anonymous_name(user) => {
                // RFC 1635 anonymous access: only when enabled, and read-only.
                let policy = self.settings.anonymous_policy();
                return Ok(policy.map(|policy| Account { name: "anonymous".to_owned(), policy, anonymous: true }));
            }
            None => {
                self.dummy(password).await?;
                false
            }
            Some(Secret::Argon2(phc)) => {
                // The stored hash is part of the key: a password changed
                // elsewhere (another node, the database) ends the cached
                // login at once.
                let key = format!("{user}\0{phc}");
                let now = Instant::now();
                if self.cache.hit(&key, password, now) {
                    true
                } else {
                    let ok = self.verify(user, password, phc).await?;
                    if ok {
                        self.cache.remember(&key, password, now);
                    }
                    ok
                }
            }
            Some(Secret::Plain(stored)) => {
                // Pay the hash anyway, so timing does not tell plain from
                // missing accounts.
                self.dummy(password).await?;
                hash::plain_eq(password, stored)
            }
        };
        if !ok {
            return Ok(None);
        }
        if self.settings.disabled(user) {
            return Err(AuthError::Disabled);
        }
        Ok(Some(Account { name: user.to_owned(), policy: self.settings.policy(user), anonymous: false }))
    }

    /// Where `account` stands now; see [`Authenticator::standing`].
    pub async fn standing(&self, account: &Account) -> Result<Standing, StoreError> {
        if account.anonymous {
            return Ok(self.settings.anonymous_policy().map_or(Standing::Gone, Standing::Active));
        }
        // The settings need no store: a user made read-only or disabled is
        // so at once, even while the store is down.
        if self.settings.disabled(&account.name) {
            return Ok(Standing::Disabled);
        }
        let policy = self.settings.policy(&account.name);
        Ok(match self.store.lookup(&account.name).await {
            Ok(None) => Standing::Gone,
            Ok(Some(_)) => Standing::Active(policy),
            Err(e) => {
                tracing::warn!(error = %e, "cannot check the account after a reload; its new settings apply, existence is checked later");
                Standing::Unconfirmed(policy)
            }
        })
    }

    async fn verify(&self, user: &str, password: &str, phc: &str) -> Result<bool, AuthError> {
        match tokio::time::timeout(HASH_DEADLINE, self.hasher.verify(password, phc)).await {
            Ok(Ok(ok)) => Ok(ok),
            Ok(Err(VerifyError::Hash(e))) => {
                tracing::warn!(user, "{e}; set the password again with `ferryd user add`");
                // A broken hash must not answer faster than a wrong password.
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
}

impl Authenticator for PasswordAuth {
    fn login<'a>(&'a self, user: &'a str, password: &'a str) -> BoxFuture<'a, Result<Option<Account>, AuthError>> {
        Box::pin(PasswordAuth::login(self, user, password))
    }

    fn standing<'a>(&'a self, account: &'a Account) -> BoxFuture<'a, Result<Standing, StoreError>> {
        Box::pin(PasswordAuth::standing(self, account))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::users_file::UsersFile;
    use super::*;

    /// A store that is down.
    struct Down;

    impl AccountStore for Down {
        fn lookup<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>> {
            Box::pin(std::future::ready(Err(StoreError::Unavailable("connection refused".into()))))
        }
    }

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
    }

    fn auth(users: &str, settings: &str) -> PasswordAuth {
        let users = UsersFile::parse(users, Path::new("u.txt")).unwrap();
        PasswordAuth::new(Arc::new(users), SettingsFile::parse(settings, Path::new("u.toml")).unwrap())
    }

    #[test]
    fn outage_disabled_anonymous_and_standing() {
        let h = hash::hash_password("right");
        let a = auth(&format!("alice:{h}\nmallory:pw\n"), "[users.mallory]\ndisabled = true\n[anonymous]\nenabled = true\n");
        block_on(async {
            let alice = a.login("alice", "right").await.unwrap().unwrap();
            assert!(!alice.anonymous);
            assert_eq!(a.login("alice", "wrong").await, Ok(None));
            assert_eq!(a.login("nobody", "right").await, Ok(None));
            assert_eq!(a.login("mallory", "pw").await, Err(AuthError::Disabled), "right password, disabled account");
            assert_eq!(a.login("mallory", "bad").await, Ok(None), "a wrong password says nothing more");
            let anon = a.login("ftp", "guest@").await.unwrap().unwrap();
            assert!(anon.anonymous && anon.name == "anonymous");
            assert_eq!(a.standing(&alice).await, Ok(Standing::Active(alice.policy.clone())));
            assert_eq!(a.standing(&anon).await.map(|s| matches!(s, Standing::Active(_))), Ok(true));

            // After a reload: settings changed, alice gone.
            let b = auth("mallory:pw\n", "[users.mallory]\ndisabled = true\n");
            assert_eq!(b.standing(&alice).await, Ok(Standing::Gone));
            assert_eq!(b.standing(&Account { name: "mallory".into(), ..alice.clone() }).await, Ok(Standing::Disabled));
            assert_eq!(b.standing(&anon).await, Ok(Standing::Gone), "anonymous access turned off");

            let down = PasswordAuth::new(Arc::new(Down), SettingsFile::default());
            assert!(matches!(down.login("alice", "right").await, Err(AuthError::Store(_))), "an outage is not a wrong password");
            let policy = SettingsFile::default().policy("alice");
            assert_eq!(down.standing(&alice).await, Ok(Standing::Unconfirmed(policy)), "an outage keeps the session under its settings");
            let down_disabled =
                PasswordAuth::new(Arc::new(Down), SettingsFile::parse("[users.alice]\ndisabled = true\n", Path::new("u.toml")).unwrap());
            assert_eq!(down_disabled.standing(&alice).await, Ok(Standing::Disabled), "a disabled account needs no store to end");
        });
    }

    #[test]
    fn cache_answers_repeated_logins_keyed_by_the_stored_hash() {
        let h1 = hash::hash_password("pw");
        let a = auth(&format!("alice:{h1}\n"), "");
        block_on(async {
            assert!(a.login("alice", "pw").await.unwrap().is_some());
            let t = Instant::now();
            assert!(a.login("alice", "pw").await.unwrap().is_some());
            assert!(a.cache.hit(&format!("alice\0{h1}"), "pw", t));
            // Another hash for the same user (changed elsewhere) misses.
            assert!(!a.cache.hit(&format!("alice\0{}", hash::hash_password("pw")), "pw", t));
        });
    }
}
