//! Accounts in PostgreSQL (cargo feature `postgres`), shared by every
//! ferryd node of a deployment.
//!
//! One table holds what the users file holds, a name and an argon2id hash,
//! and the account's settings:
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS ferry_users (
//!     name       TEXT PRIMARY KEY,
//!     secret     TEXT NOT NULL,            -- argon2id PHC string
//!     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
//! );
//! ALTER TABLE ferry_users ADD COLUMN IF NOT EXISTS settings TEXT;  -- JSON, or NULL
//! ```
//!
//! ferryd creates it when missing, and adds the `settings` column to a
//! table made before it. Every login reads the row, so an account added
//! or changed on one node (`ferryd user add --postgres URL`, the admin
//! API) counts on all of them at once. `settings` holds the keys of a
//! `users.toml` user table as JSON (`{"home":"alice","quota_files":10}`,
//! see [`UserSettings`]), written by the admin API ([`directory`]); where
//! it is set it takes the place of the user's `[users.NAME]` table, still
//! over `users.toml`'s `[defaults]`, and where it is NULL (rows made by
//! `ferryd user add`) the table applies. Rows whose secret is not a
//! password hash are refused: plain-text passwords belong to the seed's
//! users file only.
//!
//! The client is `tokio-postgres`, so a hung database never holds a
//! thread: every operation — waiting for one of the [`POOL`] slots,
//! connecting when no idle connection is left, the query — has one
//! deadline, [`DB_DEADLINE`], after which its connection is dropped (and
//! its connection task aborted). TCP keepalives find dead peers between
//! logins. Connection strings are shown only as [`describe`] rebuilds them
//! from the driver's own parse, without the password.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

use super::hash;
use super::settings::UserSettings;
use super::store::{AccountStore, BoxFuture, Secret, StoreError, StoredAccount};
use super::users_file::{NAME_RULE, valid_name};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS ferry_users (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE ferry_users ADD COLUMN IF NOT EXISTS settings TEXT";

/// The most one database operation (waiting for a slot, connecting, the
/// query) may take.
pub const DB_DEADLINE: Duration = Duration::from_secs(5);
/// Database operations at once, and idle connections kept for the next.
pub const POOL: usize = 4;

/// A problem with the account database. No variant ever holds the
/// connection string or its password.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The connection string does not parse (not shown: it may hold a password).
    #[error(
        "the PostgreSQL connection string does not parse (it is not shown, as it may hold a password): \
         use `host=… port=… user=… dbname=… password=…` or postgresql://user@host:port/dbname"
    )]
    BadConnInfo,
    /// The server refused or failed.
    #[error("PostgreSQL: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No answer within the deadline.
    #[error("PostgreSQL did not answer within {} s", .0.as_secs_f32())]
    TimedOut(Duration),
    /// A user name that cannot work in FTP.
    #[error("invalid user name {0:?}: {NAME_RULE}")]
    BadName(String),
    /// A row's `settings` cannot be used (not written by ferryd, or by a
    /// newer one).
    #[error("the settings of user {name:?} in ferry_users cannot be used ({why}); save the user again through the admin API")]
    BadSettings {
        /// Whose row.
        name: String,
        /// What is wrong with it.
        why: String,
    },
    /// `passwd` or `del` of a user that is not there.
    #[error("no user {0:?} in the database")]
    NoSuchUser(String),
}

/// Parse a libpq-style connection string (`host=… user=…` or
/// `postgresql://…`) with the driver's parser.
pub fn parse(conninfo: &str) -> Result<Config, PgError> {
    // The driver's messages may quote part of the string: not repeated.
    Config::from_str(conninfo).map_err(|_| PgError::BadConnInfo)
}

/// The connection string as `key=value` pairs rebuilt from its parse, with
/// `password=***` in place of a password: safe for logs and messages.
pub fn describe(conninfo: &str) -> Result<String, PgError> {
    parse(conninfo).map(|c| shown(&c))
}

fn shown(c: &Config) -> String {
    let mut parts: Vec<(&str, String)> = Vec::new();
    let join = |v: Vec<String>| v.join(",");
    if !c.get_hosts().is_empty() {
        let hosts = c
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        parts.push(("host", join(hosts)));
    }
    if !c.get_hostaddrs().is_empty() {
        parts.push(("hostaddr", join(c.get_hostaddrs().iter().map(|a| a.to_string()).collect())));
    }
    if !c.get_ports().is_empty() {
        parts.push(("port", join(c.get_ports().iter().map(|p| p.to_string()).collect())));
    }
    for (key, value) in
        [("user", c.get_user()), ("dbname", c.get_dbname()), ("application_name", c.get_application_name()), ("options", c.get_options())]
    {
        if let Some(v) = value {
            parts.push((key, v.to_owned()));
        }
    }
    if c.get_ssl_mode() != tokio_postgres::config::SslMode::Prefer {
        parts.push(("sslmode", format!("{:?}", c.get_ssl_mode()).to_lowercase()));
    }
    if let Some(t) = c.get_connect_timeout() {
        parts.push(("connect_timeout", t.as_secs().to_string()));
    }
    let mut out: Vec<String> = parts.into_iter().map(|(k, v)| format!("{k}={}", quote(&v))).collect();
    if c.get_password().is_some() {
        out.push("password=***".to_owned());
    }
    out.join(" ")
}

/// A value as libpq reads it back: quoted when it holds spaces, quotes or
/// backslashes.
fn quote(v: &str) -> String {
    if !v.is_empty() && !v.chars().any(|c| c.is_whitespace() || c == '\'' || c == '\\') {
        return v.to_owned();
    }
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `$query` (an expression using the client `$c`) on a leased connection,
/// within the deadline, retried once on a fresh connection when the
/// pooled one turns out dead. (A macro: a closure over the borrowed client
/// would make the login future lose `Send`.)
macro_rules! with_client {
    ($store:expr, |$c:ident| $query:expr) => {
        $store.within_deadline(async {
            let mut lease = $store.lease().await?;
            loop {
                let $c = lease.client();
                match $query.await {
                    Ok(v) => {
                        lease.give_back();
                        break Ok(v);
                    }
                    Err(e) => lease.after_error(e).await?,
                }
            }
        })
    };
}

/// One connection and the task that drives it; dropping it closes both.
struct Conn {
    client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accounts in a PostgreSQL table.
pub struct PgStore {
    config: Config,
    shown: String,
    idle: Mutex<Vec<Conn>>,
    slots: Semaphore,
    deadline: Duration,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("conninfo", &self.shown).finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connect with a libpq-style string (`host=… user=… dbname=…` or
    /// `postgres://…`), create the table if missing, and keep the
    /// connection for logins. Needs a tokio runtime (connections are
    /// driven by tasks on it).
    pub async fn connect(conninfo: &str) -> Result<PgStore, PgError> {
        let mut config = parse(conninfo)?;
        let shown = shown(&config);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DB_DEADLINE);
        }
        // Find a vanished database (a node's network, a frozen host)
        // between logins, not at the next one. Values the string set win.
        config.keepalives(true);
        if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
            config.keepalives_idle(Duration::from_secs(30));
        }
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval(Duration::from_secs(10));
        }
        if config.get_keepalives_retries().is_none() {
            config.keepalives_retries(3);
        }
        let store = PgStore { config, shown, idle: Mutex::new(Vec::new()), slots: Semaphore::new(POOL), deadline: DB_DEADLINE };
        with_client!(store, |c| c.batch_execute(SCHEMA)).await?;
        Ok(store)
    }

    /// The connection string, without its password (see [`describe`]).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn pooled(&self) -> Option<Conn> {
        let mut idle = crate::sync::lock(&self.idle);
        while let Some(conn) = idle.pop() {
            if !conn.client.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    fn give_back(&self, conn: Conn) {
        let mut idle = crate::sync::lock(&self.idle);
        if idle.len() < POOL && !conn.client.is_closed() {
            idle.push(conn);
        }
    }

    async fn open(&self) -> Result<Conn, PgError> {
        let (client, connection) = self.config.connect(NoTls).await?;
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "PostgreSQL connection ended");
            }
        });
        Ok(Conn { client, task })
    }

    /// A slot and a connection: an idle one, or a new one.
    async fn lease(&self) -> Result<Lease<'_>, PgError> {
        let slot = self.slots.acquire().await.map_err(|_| PgError::TimedOut(self.deadline))?;
        let (conn, pooled) = match self.pooled() {
            Some(conn) => (conn, true),
            None => (self.open().await?, false),
        };
        Ok(Lease { store: self, conn, pooled, _slot: slot })
    }

    /// `work` within the deadline; past it, its connection is dropped.
    async fn within_deadline<T>(&self, work: impl Future<Output = Result<T, PgError>>) -> Result<T, PgError> {
        tokio::time::timeout(self.deadline, work).await.unwrap_or(Err(PgError::TimedOut(self.deadline)))
    }

    /// The stored secret of `name`.
    pub async fn secret(&self, name: &str) -> Result<Option<String>, PgError> {
        let row = with_client!(self, |c| c.query_opt("SELECT secret FROM ferry_users WHERE name = $1", &[&name])).await?;
        Ok(row.map(|r| r.get::<_, String>(0)))
    }

    /// The stored secret of `name` and its settings, in one query.
    pub async fn account(&self, name: &str) -> Result<Option<(String, Option<UserSettings>)>, PgError> {
        let row = with_client!(self, |c| c.query_opt("SELECT secret, settings FROM ferry_users WHERE name = $1", &[&name])).await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((r.try_get(0)?, settings_of(name, r.try_get(1)?)?))),
        }
    }

    /// Add `name`, or set a new password if it exists; stores an argon2id
    /// hash. Returns true if the user already existed.
    pub async fn set_user(&self, name: &str, password: &str) -> Result<bool, PgError> {
        if !valid_name(name) {
            return Err(PgError::BadName(name.to_owned()));
        }
        let secret = hash::hash_password(password);
        let row = with_client!(self, |c| c.query_one(
            "INSERT INTO ferry_users (name, secret) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()
             RETURNING (xmax <> 0) AS existed",
            &[&name, &secret],
        ))
        .await?;
        Ok(row.try_get::<_, bool>(0)?)
    }

    /// Whether `name` has an account.
    pub async fn exists(&self, name: &str) -> Result<bool, PgError> {
        Ok(with_client!(self, |c| c.query_opt("SELECT 1 FROM ferry_users WHERE name = $1", &[&name])).await?.is_some())
    }

    /// Remove `name`.
    pub async fn remove_user(&self, name: &str) -> Result<(), PgError> {
        match with_client!(self, |c| c.execute("DELETE FROM ferry_users WHERE name = $1", &[&name])).await? {
            0 => Err(PgError::NoSuchUser(name.to_owned())),
            _ => Ok(()),
        }
    }

    /// Every user name, sorted.
    pub async fn names(&self) -> Result<Vec<String>, PgError> {
        let rows = with_client!(self, |c| c.query("SELECT name FROM ferry_users ORDER BY name", &[])).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// How many accounts there are.
    pub async fn count(&self) -> Result<i64, PgError> {
        Ok(with_client!(self, |c| c.query_one("SELECT count(*) FROM ferry_users", &[])).await?.get(0))
    }
}

/// A row's `settings` column, read and checked as users.toml's tables
/// are (a home outside the root is refused, not served).
pub(crate) fn settings_of(name: &str, column: Option<String>) -> Result<Option<UserSettings>, PgError> {
    let Some(json) = column else { return Ok(None) };
    let bad = |why: String| PgError::BadSettings { name: name.to_owned(), why };
    let settings: UserSettings = serde_json::from_str(&json).map_err(|e| bad(e.to_string()))?;
    settings.check().map_err(bad)?;
    Ok(Some(settings))
}

/// A connection lent to one operation, with its slot.
struct Lease<'a> {
    store: &'a PgStore,
    conn: Conn,
    /// It came from the pool (and may have died while idle).
    pooled: bool,
    _slot: tokio::sync::SemaphorePermit<'a>,
}

impl Lease<'_> {
    fn client(&self) -> &Client {
        &self.conn.client
    }

    /// The operation succeeded: keep the connection for the next.
    fn give_back(self) {
        self.store.give_back(self.conn);
    }

    /// After an error: a pooled connection that died while idle (a
    /// database restart) is replaced once by a fresh one, for a retry;
    /// anything else is the operation's error (and the connection goes).
    async fn after_error(&mut self, e: tokio_postgres::Error) -> Result<(), PgError> {
        let dead = e.is_closed() || self.conn.client.is_closed() || e.as_db_error().is_none();
        if !(self.pooled && dead) {
            return Err(e.into());
        }
        tracing::debug!(error = %e, "pooled PostgreSQL connection lost; reconnecting");
        self.conn = self.store.open().await?;
        self.pooled = false;
        Ok(())
    }
}

/// A stored secret as a login may use it: only argon2 hashes.
fn usable(name: &str, secret: String) -> Option<Secret> {
    if secret.starts_with("$argon2") {
        return Some(Secret::Argon2(secret));
    }
    tracing::warn!(user = name, "the ferry_users row is not an argon2 hash; set the password with `ferryd user add --postgres`");
    None
}

impl AccountStore for PgStore {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>> {
        Box::pin(async move { Ok(self.secret(name).await?.and_then(|s| usable(name, s))) })
    }

    /// One query for the secret and the row's settings, so a change made
    /// on any node counts at the next login on every node.
    fn lookup_account<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<StoredAccount>, StoreError>> {
        Box::pin(async move {
            let found = self.account(name).await?;
            Ok(found.and_then(|(secret, settings)| usable(name, secret).map(|s| (s, settings))))
        })
    }

    fn names(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(async move { Ok(PgStore::names(self).await?) })
    }

    fn set_password<'a>(&'a self, name: &'a str, password: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.set_user(name, password).await?) })
    }

    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { Ok(self.remove_user(name).await?) })
    }
}

/// The store's view of a database error: a missed deadline and a failure
/// are outages; bad names and missing users keep their kind.
impl From<PgError> for StoreError {
    fn from(e: PgError) -> StoreError {
        match e {
            PgError::TimedOut(d) => StoreError::TimedOut(d),
            PgError::BadName(name) => StoreError::BadName(name),
            PgError::NoSuchUser(name) => StoreError::NoSuchUser { name, place: "the database" },
            bad @ PgError::BadSettings { .. } => StoreError::Failed(bad.to_string()),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

/// Statements for the admin tables ([`crate::admin::postgres`]), on this
/// store's pool with its deadline and its reconnect: the admins share the
/// users' database and connections.
impl PgStore {
    pub(crate) async fn run_batch(&self, sql: &str) -> Result<(), PgError> {
        with_client!(self, |c| c.batch_execute(sql)).await
    }

    pub(crate) async fn run_query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, PgError> {
        with_client!(self, |c| c.query(sql, params)).await
    }

    pub(crate) async fn run_execute(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<u64, PgError> {
        with_client!(self, |c| c.execute(sql, params)).await
    }
}

// After `with_client!`, which it uses.
pub mod directory;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn described_without_the_password_in_every_spelling() {
        let cases = [
            ("host=db port=5432 user=ferry password=hunter2 dbname=ferry", "host=db port=5432 user=ferry dbname=ferry password=***"),
            ("host=db user=ferry password = hunter2", "host=db user=ferry password=***"),
            ("host=db\tuser=ferry\tpassword=hunter2\tdbname=x", "host=db user=ferry dbname=x password=***"),
            ("host=db user=ferry password='hunter2 with spaces'", "host=db user=ferry password=***"),
            ("host=db user=ferry password='it\\'s hunter2'", "host=db user=ferry password=***"),
            ("postgresql://ferry:hunter2@db:5433/ferry", "host=db port=5433 user=ferry dbname=ferry password=***"),
            ("postgresql://ferry@127.0.0.1:37200/ferry?password=hunter2", "host=127.0.0.1 port=37200 user=ferry dbname=ferry password=***"),
            (
                "postgres://ferry@db/ferry?password=hunter2&application_name=my%20app",
                "host=db port=5432 user=ferry dbname=ferry application_name='my app' password=***",
            ),
            ("host=/run/postgresql user=ferry", "host=/run/postgresql user=ferry"),
        ];
        for (input, want) in cases {
            let got = describe(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got, want, "{input}");
            assert!(!got.contains("hunter2"));
        }
    }

    #[test]
    fn a_string_that_does_not_parse_is_not_echoed() {
        for bad in ["host=db password hunter2", "host=db password='hunter2", "postgresql://ferry:hunter2@db:notaport/x", "pasword=hunter2"]
        {
            let e = describe(bad).unwrap_err().to_string();
            assert!(e.contains("does not parse") && !e.contains("hunter2"), "{bad}: {e}");
        }
    }
}
