//! Accounts in PostgreSQL (cargo feature `postgres`), shared by every
//! ferryd node of a deployment.
//!
//! One table holds what the users file holds, a name and an argon2id hash:
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS ferry_users (
//!     name       TEXT PRIMARY KEY,
//!     secret     TEXT NOT NULL,            -- argon2id PHC string
//!     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
//! );
//! ```
//!
//! ferryd creates it when missing. Every login reads the row, so an
//! account added or changed on one node (`ferryd user add --postgres URL`)
//! counts on all of them at once. Per-user settings (home, permissions,
//! quotas) still come from `users.toml`. Rows whose secret is not a
//! password hash are refused: plain-text passwords belong to the seed's
//! users file only.
//!
//! The client is the synchronous `postgres` crate: logins already run on
//! the blocking pool (the password hash is slow on purpose), and the
//! `ferryd user` commands have no async runtime at all.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferry_proto::command::Password;
use postgres::{Client, NoTls};

use super::cache::LoginCache;
use super::settings::SettingsFile;
use super::users_file::valid_name;
use super::{Account, Authenticator, hash};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS ferry_users (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// Idle connections kept for the next logins.
const POOL: usize = 4;

/// A problem with the account database.
#[derive(Debug, thiserror::Error)]
pub enum PgUsersError {
    /// The connection string does not parse.
    #[error("the PostgreSQL connection string is not valid: {0}")]
    BadUrl(String),
    /// The server refused or failed (the message never holds the password).
    #[error("PostgreSQL: {0}")]
    Db(#[from] postgres::Error),
    /// A user name that cannot work in FTP.
    #[error("invalid user name {0:?}: use letters, digits, '.', '_', '-' or '@'")]
    BadName(String),
    /// `passwd` or `del` of a user that is not there.
    #[error("no user {0:?} in the database")]
    NoSuchUser(String),
}

/// Accounts in a PostgreSQL table.
pub struct PgUsers {
    config: postgres::Config,
    idle: Mutex<Vec<Client>>,
    cache: LoginCache,
    settings: SettingsFile,
}

impl std::fmt::Debug for PgUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config holds the database password: show only where it points.
        f.debug_struct("PgUsers").field("hosts", &self.config.get_hosts()).field("dbname", &self.config.get_dbname()).finish()
    }
}

impl PgUsers {
    /// Connect with a libpq-style string (`host=… user=… dbname=…` or
    /// `postgres://…`), create the table if missing, and keep the
    /// connection for logins.
    pub fn connect(url: &str, settings: SettingsFile) -> Result<PgUsers, PgUsersError> {
        // Parse errors may quote the string, which can hold a password.
        let mut config = postgres::Config::from_str(url).map_err(|_| PgUsersError::BadUrl("check its syntax".into()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let users = PgUsers { config, idle: Mutex::new(Vec::new()), cache: LoginCache::default(), settings };
        users.with_client(|c| c.batch_execute(SCHEMA))?;
        Ok(users)
    }

    /// Run `f` on a pooled connection (a new one if none is idle). A
    /// connection that failed is dropped, so the next call reconnects.
    fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>) -> Result<T, postgres::Error> {
        let pooled = self.idle.lock().expect("pool lock").pop();
        let mut client = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.config.connect(NoTls)?,
        };
        let result = f(&mut client);
        if result.is_ok() {
            let mut idle = self.idle.lock().expect("pool lock");
            if idle.len() < POOL {
                idle.push(client);
            }
        }
        result
    }

    /// Add `name`, or set a new password if it exists; stores an argon2id
    /// hash. Returns true if the user already existed.
    pub fn set_user(&self, name: &str, password: &str) -> Result<bool, PgUsersError> {
        if !valid_name(name) {
            return Err(PgUsersError::BadName(name.to_owned()));
        }
        let secret = hash::hash_password(password);
        let existed = self.with_client(|c| {
            let row = c.query_one(
                "INSERT INTO ferry_users (name, secret) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()
                 RETURNING (xmax <> 0) AS existed",
                &[&name, &secret],
            )?;
            row.try_get::<_, bool>(0)
        })?;
        Ok(existed)
    }

    /// Whether `name` has an account.
    pub fn exists(&self, name: &str) -> Result<bool, PgUsersError> {
        Ok(self.with_client(|c| c.query_opt("SELECT 1 FROM ferry_users WHERE name = $1", &[&name]))?.is_some())
    }

    /// Remove `name`.
    pub fn remove_user(&self, name: &str) -> Result<(), PgUsersError> {
        match self.with_client(|c| c.execute("DELETE FROM ferry_users WHERE name = $1", &[&name]))? {
            0 => Err(PgUsersError::NoSuchUser(name.to_owned())),
            _ => Ok(()),
        }
    }

    /// Every user name, sorted.
    pub fn names(&self) -> Result<Vec<String>, PgUsersError> {
        let rows = self.with_client(|c| c.query("SELECT name FROM ferry_users ORDER BY name", &[]))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// How many accounts there are.
    pub fn count(&self) -> Result<i64, PgUsersError> {
        Ok(self.with_client(|c| c.query_one("SELECT count(*) FROM ferry_users", &[]))?.get(0))
    }
}

impl Authenticator for PgUsers {
    fn authenticate(&self, user: &str, password: &Password) -> Option<Account> {
        if matches!(user, "anonymous" | "ftp") && !self.exists(user).unwrap_or(false) {
            return self.settings.anonymous_policy().map(|policy| Account { name: "anonymous".to_owned(), policy });
        }
        let secret = match self.with_client(|c| c.query_opt("SELECT secret FROM ferry_users WHERE name = $1", &[&user])) {
            Ok(row) => row.map(|r| r.get::<_, String>(0)),
            Err(e) => {
                tracing::error!("account database unavailable; login refused: {e}");
                hash::verify_dummy(&password.0);
                return None;
            }
        };
        let now = Instant::now();
        let ok = match secret {
            Some(phc) if phc.starts_with("$argon2") => {
                // The row's hash is part of the cache key: a password changed
                // on another node ends the cached login here at once.
                let key = format!("{user}\0{phc}");
                if self.cache.hit(&key, &password.0, now) {
                    true
                } else {
                    let ok = hash::verify(&password.0, &phc);
                    if ok {
                        self.cache.remember(&key, &password.0, now);
                    }
                    ok
                }
            }
            Some(_) => {
                tracing::warn!(user, "the ferry_users row is not an argon2 hash; set the password with `ferryd user add --postgres`");
                hash::verify_dummy(&password.0);
                false
            }
            None => {
                hash::verify_dummy(&password.0);
                false
            }
        };
        ok.then(|| Account { name: user.to_owned(), policy: self.settings.policy(user) })
    }
}
