//! The password authenticator: the login rules above any
//! [`AccountStore`].
//!
//! A login looks the secret up (the store may be slow or down: that is an
//! error of its own, never a wrong password), then verifies it on the
//! [`Hasher`] — for unknown users and plain-text accounts a dummy hash, so
//! that every answer costs the same. Logins verified moments ago are
//! answered from the [`LoginCache`]. Anonymous access and per-user
//! settings come from the [`SettingsFile`]; a store that keeps settings
//! with the account (PostgreSQL's `settings` column) has them override the
//! user's `[users.NAME]` table, still over `[defaults]`.
//!
//! Only once the password is right are the account's own rules applied —
//! disabled, past its last day (`expires`), or from an address outside
//! `allowed_networks` — each with an error of its own. A guesser learns
//! nothing from them (a wrong password is refused the same as ever), and
//! since they are not guesses they never count towards a ban.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cache::LoginCache;
use super::date::Date;
use super::hasher::{Hasher, VerifyError};
use super::settings::{Policy, SettingsFile, UserSettings};
use super::store::{AccountStore, BoxFuture, Secret, StoreError};
use super::{Account, AuthError, Authenticator, LoginContext, Standing, hash};

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

    /// Check a user name and password with no address known (so an
    /// account with `allowed_networks` is refused); see
    /// [`Authenticator::login`].
    pub async fn login(&self, user: &str, password: &str) -> Result<Option<Account>, AuthError> {
        self.login_at(user, password, None, Date::today()).await
    }

    /// Check a user name and password from `peer` (`None`: not known) on
    /// the day `today` (UTC): the account's rules apply once the password
    /// is right.
    pub async fn login_at(&self, user: &str, password: &str, peer: Option<IpAddr>, today: Date) -> Result<Option<Account>, AuthError> {
        // The store first, without holding any hashing resource: a slow
        // database delays only the logins that wait for it.
        let (secret, own) = match self.store.lookup_account(user).await? {
            Some((secret, own)) => (Some(secret), own),
            None => (None, None),
        };
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
        let own = own.as_ref().or_else(|| self.settings.users.get(user));
        let policy = match self.verdict(own, today) {
            Verdict::Open(policy) => policy,
            Verdict::Disabled => return Err(AuthError::Disabled),
            Verdict::Expired => return Err(AuthError::Expired),
        };
        if !policy.admits(peer) {
            return Err(AuthError::NetworkNotAllowed);
        }
        Ok(Some(Account { name: user.to_owned(), policy, anonymous: false }))
    }

    /// Check that `key` (base64) is one of `user`'s `authorized_keys`,
    /// for a login from `peer` on `today`. No hash is paid: the client
    /// proved it holds the private key, and an unknown user, a user
    /// without keys and a key that is not theirs are all refused alike.
    pub async fn key_login_at(&self, user: &str, key: &str, peer: Option<IpAddr>, today: Date) -> Result<Option<Account>, AuthError> {
        let Some((_, own)) = self.store.lookup_account(user).await? else { return Ok(None) };
        let own = own.as_ref().or_else(|| self.settings.users.get(user));
        if !own.is_some_and(|u| u.authorizes_key(key)) {
            return Ok(None);
        }
        let policy = match self.verdict(own, today) {
            Verdict::Open(policy) => policy,
            Verdict::Disabled => return Err(AuthError::Disabled),
            Verdict::Expired => return Err(AuthError::Expired),
        };
        if !policy.admits(peer) {
            return Err(AuthError::NetworkNotAllowed);
        }
        Ok(Some(Account { name: user.to_owned(), policy, anonymous: false }))
    }

    /// What the rules of an account whose own settings are `own` say on
    /// `today`. (The address is the caller's to check: only a login has
    /// one.)
    fn verdict(&self, own: Option<&UserSettings>, today: Date) -> Verdict {
        if self.settings.disabled_of(own) {
            return Verdict::Disabled;
        }
        let policy = self.settings.policy_of(own);
        if policy.expired_on(today) { Verdict::Expired } else { Verdict::Open(policy) }
    }

    /// Where `account` stands now; see [`Authenticator::standing`].
    pub async fn standing(&self, account: &Account) -> Result<Standing, StoreError> {
        self.standing_on(account, Date::today()).await
    }

    /// Where `account` stands on the day `today` (UTC): gone, disabled,
    /// expired, or active under its current settings.
    pub async fn standing_on(&self, account: &Account, today: Date) -> Result<Standing, StoreError> {
        if account.anonymous {
            return Ok(self.settings.anonymous_policy().map_or(Standing::Gone, Standing::Active));
        }
        let judge = |own: Option<&UserSettings>, standing: fn(Policy) -> Standing| match self.verdict(own, today) {
            Verdict::Open(policy) => standing(policy),
            Verdict::Disabled => Standing::Disabled,
            Verdict::Expired => Standing::Expired,
        };
        Ok(match self.store.lookup_account(&account.name).await {
            Ok(None) => Standing::Gone,
            Ok(Some((_, own))) => judge(own.as_ref().or_else(|| self.settings.users.get(&account.name)), Standing::Active),
            Err(e) => {
                // The settings file needs no store: a user made read-only
                // or disabled there is so at once, even while the store is
                // down.
                tracing::warn!(error = %e, "cannot check the account after a reload; its new settings apply, existence is checked later");
                judge(self.settings.users.get(&account.name), Standing::Unconfirmed)
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

/// What an account's own rules say, once its password was right.
enum Verdict {
    /// It may be used, under this policy.
    Open(Policy),
    /// `disabled = true`.
    Disabled,
    /// Past its last day.
    Expired,
}

impl Authenticator for PasswordAuth {
    fn login<'a>(&'a self, user: &'a str, password: &'a str) -> BoxFuture<'a, Result<Option<Account>, AuthError>> {
        Box::pin(PasswordAuth::login(self, user, password))
    }

    fn login_from<'a>(
        &'a self,
        user: &'a str,
        password: &'a str,
        from: &'a LoginContext,
    ) -> BoxFuture<'a, Result<Option<Account>, AuthError>> {
        Box::pin(self.login_at(user, password, Some(from.peer.ip()), Date::today()))
    }

    fn login_with_key<'a>(
        &'a self,
        user: &'a str,
        key: &'a str,
        from: &'a LoginContext,
    ) -> BoxFuture<'a, Result<Option<Account>, AuthError>> {
        Box::pin(self.key_login_at(user, key, Some(from.peer.ip()), Date::today()))
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

    /// A key logs in only the user whose `authorized_keys` hold it, and
    /// the account's rules apply as they do after a password.
    #[test]
    fn keys_log_in_their_own_user_under_the_same_rules() {
        let k = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        let settings = format!(
            "[users.p]\nauthorized_keys = [\"ssh-ed25519 {k} p@x\"]\n[users.off]\ndisabled = true\nauthorized_keys = [\"ssh-ed25519 {k}\"]\n\
             [users.lan]\nallowed_networks = [\"10.0.0.0/8\"]\nauthorized_keys = [\"ssh-ed25519 {k}\"]\n[users.gone]\nauthorized_keys = [\"ssh-ed25519 {k}\"]\n"
        );
        let a = auth("p:pw\nq:pw\noff:pw\nlan:pw\n", &settings);
        let today = day("2026-01-01");
        block_on(async {
            assert_eq!(a.key_login_at("p", k, None, today).await.unwrap().unwrap().name, "p");
            assert_eq!(a.key_login_at("q", k, None, today).await, Ok(None), "not q's key");
            assert_eq!(a.key_login_at("p", &k.replace('l', "m"), None, today).await, Ok(None));
            assert_eq!(a.key_login_at("gone", k, None, today).await, Ok(None), "settings without an account open nothing");
            assert_eq!(a.key_login_at("off", k, None, today).await, Err(AuthError::Disabled));
            assert_eq!(a.key_login_at("lan", k, ip("192.0.2.1"), today).await, Err(AuthError::NetworkNotAllowed));
            assert!(a.key_login_at("lan", k, ip("10.1.2.3"), today).await.unwrap().is_some());
            assert_eq!(a.key_login_at("ftp", k, None, today).await, Ok(None), "no anonymous logins by key");
        });
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn day(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    /// The rules apply only after the password: a wrong one is refused as
    /// ever, a right one from outside the ranges or after the last day
    /// gets an error of its own.
    #[test]
    fn networks_and_expiry_are_enforced_after_the_password() {
        let h = hash::hash_password("pw");
        let settings = "[users.lan]\nallowed_networks = [\"10.0.0.0/8\", \"2001:db8::/32\"]\n\
                        [users.temp]\nexpires = \"2026-03-01\"\n";
        let a = auth(&format!("lan:{h}\ntemp:{h}\nfree:{h}\n"), settings);
        let today = day("2026-03-01");
        block_on(async {
            for ok in ["10.1.2.3", "::ffff:10.1.2.3", "2001:db8::7"] {
                let account = a.login_at("lan", "pw", ip(ok), today).await.unwrap().unwrap();
                assert_eq!(account.policy.allowed_networks.len(), 2, "{ok}");
            }
            for refused in ["192.0.2.1", "2001:db9::1", "::1"] {
                assert_eq!(a.login_at("lan", "pw", ip(refused), today).await, Err(AuthError::NetworkNotAllowed), "{refused}");
                assert_eq!(a.login_at("lan", "bad", ip(refused), today).await, Ok(None), "a wrong password tells nothing more");
            }
            assert_eq!(a.login_at("lan", "pw", None, today).await, Err(AuthError::NetworkNotAllowed), "no address: refused");
            assert_eq!(a.login("lan", "pw").await, Err(AuthError::NetworkNotAllowed), "login without a context does not bypass it");
            assert!(a.login("free", "pw").await.unwrap().is_some(), "no list: from anywhere, even unknown");
            let from = LoginContext { peer: "[2001:db8::9]:40000".parse().unwrap(), protocol: "ftp" };
            assert!(Authenticator::login_from(&a, "lan", "pw", &from).await.unwrap().is_some(), "login_from passes the peer");
            let outside = LoginContext { peer: "192.0.2.1:40000".parse().unwrap(), protocol: "ftp" };
            assert_eq!(Authenticator::login_from(&a, "lan", "pw", &outside).await, Err(AuthError::NetworkNotAllowed));

            assert!(a.login_at("temp", "pw", None, today).await.unwrap().is_some(), "the last day itself is allowed");
            assert!(a.login_at("temp", "pw", None, day("2025-12-31")).await.unwrap().is_some());
            assert_eq!(a.login_at("temp", "pw", None, day("2026-03-02")).await, Err(AuthError::Expired), "the day after");
            assert_eq!(a.login_at("temp", "bad", None, day("2026-03-02")).await, Ok(None));

            // After a reload: the account expired while its session was open.
            let temp = a.login_at("temp", "pw", None, today).await.unwrap().unwrap();
            assert_eq!(a.standing_on(&temp, today).await, Ok(Standing::Active(temp.policy.clone())));
            assert_eq!(a.standing_on(&temp, day("2026-03-02")).await, Ok(Standing::Expired));
            let b = auth(&format!("temp:{h}\n"), "[users.temp]\nexpires = \"2026-02-28\"\n");
            assert_eq!(b.standing_on(&temp, today).await, Ok(Standing::Expired), "the last day moved back");
            let down = PasswordAuth::new(Arc::new(Down), SettingsFile::parse(settings, Path::new("u.toml")).unwrap());
            assert_eq!(down.standing_on(&temp, day("2027-01-01")).await, Ok(Standing::Expired), "no store needed to end it");
        });
    }

    /// A store that keeps settings with the account, like a database row.
    struct WithSettings(Secret, UserSettings);

    impl AccountStore for WithSettings {
        fn lookup<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>> {
            Box::pin(std::future::ready(Ok(Some(self.0.clone()))))
        }

        fn lookup_account<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, Result<Option<crate::auth::StoredAccount>, StoreError>> {
            Box::pin(std::future::ready(Ok(Some((self.0.clone(), Some(self.1.clone()))))))
        }
    }

    #[test]
    fn a_stores_own_settings_win_over_the_users_table_not_the_defaults() {
        let file = SettingsFile::parse(
            "[defaults]\ndownload_rate = 1000\n[users.alice]\nhome = \"from-file\"\ndisabled = true\n",
            Path::new("u.toml"),
        )
        .unwrap();
        let row = UserSettings { home: Some("from-row".into()), quota_files: Some(3), ..UserSettings::default() };
        let a = PasswordAuth::new(Arc::new(WithSettings(Secret::Argon2(hash::hash_password("pw")), row.clone())), file.clone());
        block_on(async {
            let alice = a.login("alice", "pw").await.unwrap().unwrap();
            assert_eq!(alice.policy.home.as_str(), "/from-row", "the row, not [users.alice] (which also disables)");
            assert_eq!((alice.policy.quota_files, alice.policy.download_rate), (Some(3), Some(1000)), "over [defaults]");
            assert_eq!(a.standing(&alice).await, Ok(Standing::Active(alice.policy.clone())));
            let off = UserSettings { disabled: Some(true), ..row };
            let b = PasswordAuth::new(Arc::new(WithSettings(Secret::Argon2(hash::hash_password("pw")), off)), file);
            assert_eq!(b.login("alice", "pw").await, Err(AuthError::Disabled));
            assert_eq!(b.standing(&alice).await, Ok(Standing::Disabled));
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
