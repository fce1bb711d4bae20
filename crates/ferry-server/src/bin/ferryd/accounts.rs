//! The accounts side of `ferryd`: where the accounts live (the users file
//! or PostgreSQL), loading them at start and on `SIGHUP`, the `ferryd user`
//! commands and the first-run account.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use ferry_server::auth::Authenticator;
use ferry_server::auth::hash;
use ferry_server::auth::password::PasswordAuth;
use ferry_server::auth::settings::SettingsFile;
use ferry_server::auth::users_file::{self, UsersFile};

use crate::UserCmd;

#[cfg(not(feature = "postgres"))]
const NO_POSTGRES: &str =
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

#[cfg(feature = "postgres")]
async fn pg_connect(url: &str) -> anyhow::Result<ferry_server::auth::postgres::PgStore> {
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

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let p = rpassword::prompt_password("Password: ").context("reading the password (use --password-stdin without a terminal)")?;
        let again = rpassword::prompt_password("Again: ")?;
        if p != again {
            bail!("the passwords differ; nothing was changed");
        }
        p
    };
    if password.is_empty() {
        bail!("empty password refused");
    }
    Ok(password)
}

/// `ferryd user add|passwd|del|list`.
pub(crate) fn user_command(cmd: UserCmd) -> anyhow::Result<()> {
    let store = match &cmd {
        UserCmd::Add { store, .. } | UserCmd::Passwd { store, .. } | UserCmd::Del { store, .. } | UserCmd::List { store } => store,
    };
    if let Some(url) = store.postgres.clone() {
        return pg_user_command(cmd, &url);
    }
    match cmd {
        UserCmd::Add { name, password_stdin, store } => {
            let password = read_password(password_stdin)?;
            let replaced = users_file::set_user(&store.users, &name, &password)?;
            println!("{} user {name} in {}", if replaced { "updated" } else { "added" }, store.users.display());
        }
        UserCmd::Passwd { name, password_stdin, store } => {
            let users = &store.users;
            if !UsersFile::load(users)?.names().contains(&name) {
                bail!("no user {name:?} in {}; add it with `ferryd user add {name}`", users.display());
            }
            let password = read_password(password_stdin)?;
            users_file::set_user(users, &name, &password)?;
            println!("changed the password of {name} in {}", users.display());
        }
        UserCmd::Del { name, store } => {
            users_file::remove_user(&store.users, &name)?;
            println!("removed user {name} from {}", store.users.display());
        }
        UserCmd::List { store } => {
            for name in UsersFile::load(&store.users)?.names() {
                println!("{name}");
            }
        }
    }
    Ok(())
}

/// `ferryd user …` against the PostgreSQL table, on a small runtime of
/// its own (the driver is async).
#[cfg(feature = "postgres")]
fn pg_user_command(cmd: UserCmd, url: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        let db = pg_connect(url).await?;
        let place = "the PostgreSQL table ferry_users";
        match cmd {
            UserCmd::Add { name, password_stdin, .. } => {
                let password = read_password(password_stdin)?;
                let replaced = db.set_user(&name, &password).await?;
                println!("{} user {name} in {place}", if replaced { "updated" } else { "added" });
            }
            UserCmd::Passwd { name, password_stdin, .. } => {
                if !db.exists(&name).await? {
                    bail!("no user {name:?} in {place}; add it with `ferryd user add {name} --postgres ...`");
                }
                let password = read_password(password_stdin)?;
                db.set_user(&name, &password).await?;
                println!("changed the password of {name} in {place}");
            }
            UserCmd::Del { name, .. } => {
                db.remove_user(&name).await?;
                println!("removed user {name} from {place}");
            }
            UserCmd::List { .. } => {
                for name in db.names().await? {
                    println!("{name}");
                }
            }
        }
        Ok(())
    })
}

#[cfg(not(feature = "postgres"))]
fn pg_user_command(_cmd: UserCmd, _url: &str) -> anyhow::Result<()> {
    bail!("{}", NO_POSTGRES)
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
