//! The accounts side of the server: where the accounts live (the users
//! file or PostgreSQL), loading them at start and on `SIGHUP`, what
//! `check-config` checks of them, and the first-run account. (`ferryd user
//! …` is in `user_command.rs`.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use ferry_server::auth::Authenticator;
use ferry_server::auth::hash;
use ferry_server::auth::password::PasswordAuth;
use ferry_server::auth::settings::SettingsFile;
use ferry_server::auth::users_file::{self, UsersFile};

/// Why `postgres` cannot be used by this build.
#[cfg(not(feature = "postgres"))]
pub(crate) const NO_POSTGRES: &str =
    "postgres is set, but this ferryd was built without PostgreSQL support: rebuild with `cargo build --release --features postgres`";

/// Where the accounts are, opened once at start and kept for reloads.
pub(crate) struct Accounts {
    /// The users file (with PostgreSQL, only its `users.toml` is read).
    users: PathBuf,
    store: Store,
}

enum Store {
    File,
    #[cfg(feature = "postgres")]
    Postgres(Arc<ferry_server::auth::postgres::PgStore>),
}

impl Accounts {
    /// The users file, or the PostgreSQL table when `postgres` is set
    /// (connected now, so that a wrong string or an unreachable server
    /// fails the start).
    pub(crate) async fn open(postgres: Option<&str>, users: &Path) -> anyhow::Result<Accounts> {
        let store = match postgres {
            None => Store::File,
            Some(url) => open_postgres(url).await?,
        };
        Ok(Accounts { users: users.to_owned(), store })
    }

    /// Where accounts come from, for log lines (never the database password).
    pub(crate) fn describe(&self) -> String {
        match &self.store {
            Store::File => self.users.display().to_string(),
            #[cfg(feature = "postgres")]
            Store::Postgres(db) => format!("PostgreSQL {}", db.shown()),
        }
    }

    /// Read the accounts and their settings (blocking: files). On a
    /// `reload`, an empty users file is refused, so that a truncated file
    /// does not lock everybody out: the caller keeps the old accounts.
    pub(crate) fn load(&self, reload: bool) -> anyhow::Result<Arc<dyn Authenticator>> {
        let settings = SettingsFile::load_optional(&users_file::settings_path(&self.users))?;
        match &self.store {
            Store::File => {
                let users = UsersFile::load(&self.users)?;
                for (line, name) in users.plain_text_lines() {
                    tracing::warn!(
                        "{}:{line}: the password of {name:?} is stored in plain text; hash it with `ferryd user add {name}`",
                        self.users.display()
                    );
                }
                if users.is_empty() {
                    if reload {
                        bail!("{} has no accounts (an unfinished edit?)", self.users.display());
                    }
                    tracing::warn!("{} has no accounts: nobody can log in", self.users.display());
                }
                Ok(Arc::new(PasswordAuth::new(Arc::new(users), settings)))
            }
            // The pool stays; only the settings are read again.
            #[cfg(feature = "postgres")]
            Store::Postgres(db) => Ok(Arc::new(PasswordAuth::new(db.clone(), settings))),
        }
    }
}

impl Accounts {
    /// The admin accounts and the user directory beside these accounts:
    /// `admins.txt` in the users file's folder and the users file itself,
    /// or the database's tables.
    pub(crate) async fn admin_stores(&self) -> anyhow::Result<super::admin::AdminStores> {
        use ferry_core::admin::FileAdminStore;
        use ferry_core::auth::file_directory::FileDirectory;
        match &self.store {
            Store::File => Ok(super::admin::AdminStores {
                admins: Arc::new(FileAdminStore::new(admins_path(&self.users))),
                directory: Arc::new(FileDirectory::new(self.users.clone())),
                reload_after_change: true,
            }),
            #[cfg(feature = "postgres")]
            Store::Postgres(db) => {
                let admins =
                    ferry_core::admin::postgres::PgAdminStore::new(db.clone()).await.context("preparing the ferry_admins tables")?;
                Ok(super::admin::AdminStores { admins: Arc::new(admins), directory: db.clone(), reload_after_change: false })
            }
        }
    }
}

/// Where the admin accounts are kept for a users file: `admins.txt` in the
/// same folder.
pub(crate) fn admins_path(users: &Path) -> PathBuf {
    users.with_file_name("admins.txt")
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> anyhow::Result<Store> {
    let db = pg_connect(url).await?;
    if db.count().await? == 0 {
        tracing::warn!("the ferry_users table is empty: nobody can log in; add accounts with `ferryd user add NAME --postgres ...`");
    }
    Ok(Store::Postgres(Arc::new(db)))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> anyhow::Result<Store> {
    bail!("{}", NO_POSTGRES)
}

/// Connect to the account database, saying which (without the password)
/// and which setting to check when that fails.
#[cfg(feature = "postgres")]
pub(crate) async fn pg_connect(url: &str) -> anyhow::Result<ferry_server::auth::postgres::PgStore> {
    use ferry_server::auth::postgres::{PgStore, describe};
    let shown = describe(url)?;
    PgStore::connect(url).await.with_context(|| format!("connecting to PostgreSQL at {shown}: check --postgres (or FERRYD_POSTGRES)"))
}

/// The connection string as `check-config` shows it: rebuilt from the
/// driver's parse, without the password.
pub(crate) fn shown_conninfo(url: &str) -> String {
    #[cfg(feature = "postgres")]
    return ferry_server::auth::postgres::describe(url).unwrap_or_else(|_| "(not shown: it does not parse)".to_owned());
    #[cfg(not(feature = "postgres"))]
    {
        let _ = url;
        "(not shown: this build has no PostgreSQL support)".to_owned()
    }
}

/// What `check-config` validates about the accounts: the users file (when
/// it exists) or the connection string, and the settings file.
pub(crate) fn check(postgres: Option<&str>, users: &Path) -> anyhow::Result<()> {
    match postgres {
        #[cfg(feature = "postgres")]
        Some(url) => drop(ferry_server::auth::postgres::describe(url)?),
        #[cfg(not(feature = "postgres"))]
        Some(_) => bail!("{}", NO_POSTGRES),
        None if users.exists() => drop(UsersFile::load(users)?),
        None => {}
    }
    SettingsFile::load_optional(&users_file::settings_path(users))?;
    Ok(())
}

/// Create a users file with one random account, and say so once.
pub(crate) fn first_run_users(path: &Path) -> anyhow::Result<()> {
    let password = hash::random_password(16);
    users_file::set_user(path, "ferry", &password).with_context(|| format!("creating {}", path.display()))?;
    println!("ferryd: created {} with one account (the password is shown only now):", path.display());
    println!("    user:     ferry");
    println!("    password: {password}");
    println!("  Add accounts with `ferryd user add NAME`.");
    Ok(())
}
