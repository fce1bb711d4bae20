//! `ferryd user add|passwd|del|list`: accounts managed through the
//! [`AccountStore`] trait, so the users file and PostgreSQL go through the
//! same code. Only opening the store differs.
//!
//! Where the accounts are is said by the server's own options, `--users`
//! and `--postgres` (taken from the one definition in `options.rs`), and
//! may come from the server's config file (`--config`), as for `ferryd`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};
use ferry_server::auth::AccountStore;
use ferry_server::auth::users_file::UsersFileStore;

use super::options::{self, Options};
use super::{accounts, settings};

#[derive(Subcommand, Debug)]
pub(crate) enum UserCmd {
    /// Add a user, or set a new password for an existing one (stored hashed).
    Add {
        /// User name: letters, digits, '.', '_', '-', '@'.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a new password for an existing user.
    Passwd {
        /// User name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a user.
    Del {
        /// User name.
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the user names.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

impl UserCmd {
    fn store(&self) -> &StoreArgs {
        match self {
            UserCmd::Add { store, .. } | UserCmd::Passwd { store, .. } | UserCmd::Del { store, .. } | UserCmd::List { store } => store,
        }
    }
}

/// Where `ferryd user` finds the accounts.
#[derive(Debug)]
pub(crate) struct StoreArgs {
    config: Option<PathBuf>,
    users: PathBuf,
    postgres: Option<String>,
    given: BTreeSet<String>,
}

/// The server's options that say where the accounts are.
const STORE_KEYS: [&str; 2] = ["users", "postgres"];

fn store_arguments() -> Vec<clap::Arg> {
    options::arguments().into_iter().filter(|a| STORE_KEYS.contains(&a.get_id().as_str())).collect()
}

#[derive(Args, Debug)]
struct ConfigFlag {
    /// Take --users and --postgres from this ferryd config file; flags
    /// override it.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
}

impl StoreArgs {
    /// The settings that say where the accounts are: the flags over the
    /// config file over the defaults (`ferryd admin` uses them too).
    pub(crate) fn resolve(&self) -> anyhow::Result<Options> {
        let from_command_line = Options { users: self.users.clone(), postgres: self.postgres.clone(), ..Options::default() };
        settings::layered(from_command_line, &self.given, self.config.as_deref())
    }
}

impl Args for StoreArgs {
    fn augment_args(cmd: Command) -> Command {
        ConfigFlag::augment_args(cmd).args(store_arguments())
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        StoreArgs::augment_args(cmd)
    }
}

impl FromArgMatches for StoreArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<StoreArgs, clap::Error> {
        let ConfigFlag { config } = ConfigFlag::from_arg_matches(matches)?;
        let users = matches.get_one::<PathBuf>("users").cloned().unwrap_or_else(|| Options::default().users);
        let postgres = matches.get_one::<String>("postgres").cloned();
        Ok(StoreArgs { config, users, postgres, given: settings::given(matches, &store_arguments()) })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = StoreArgs::from_arg_matches(matches)?;
        Ok(())
    }
}

/// An account store opened for `ferryd user`, and how messages name it.
struct Opened {
    store: Box<dyn AccountStore>,
    /// Where the accounts are: the users file's path, or the table.
    place: String,
    /// What `ferryd user add` needs besides the name to reach this store.
    flags: &'static str,
}

/// The users file, or the PostgreSQL table when `postgres` is set
/// (connected now, so that a wrong string fails before a password is
/// asked for).
async fn open(args: &StoreArgs) -> anyhow::Result<Opened> {
    let settings = args.resolve()?;
    match settings.postgres {
        None => Ok(Opened { place: settings.users.display().to_string(), store: Box::new(UsersFileStore::new(settings.users)), flags: "" }),
        Some(conninfo) => open_postgres(&conninfo).await,
    }
}

#[cfg(feature = "postgres")]
async fn open_postgres(conninfo: &str) -> anyhow::Result<Opened> {
    let db = accounts::pg_connect(conninfo).await?;
    Ok(Opened { store: Box::new(db), place: "the PostgreSQL table ferry_users".to_owned(), flags: " --postgres ..." })
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_conninfo: &str) -> anyhow::Result<Opened> {
    bail!("{}", accounts::NO_POSTGRES)
}

/// `ferryd user …`, on a small runtime of its own (stores are async).
pub(crate) fn run(cmd: UserCmd) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        let Opened { store, place, flags } = open(cmd.store()).await?;
        match cmd {
            UserCmd::Add { name, password_stdin, .. } => {
                let password = read_password(password_stdin)?;
                let replaced = store.set_password(&name, &password).await?;
                println!("{} user {name} in {place}", if replaced { "updated" } else { "added" });
            }
            UserCmd::Passwd { name, password_stdin, .. } => {
                if store.lookup(&name).await?.is_none() {
                    bail!("no user {name:?} in {place}; add it with `ferryd user add {name}{flags}`");
                }
                let password = read_password(password_stdin)?;
                store.set_password(&name, &password).await?;
                println!("changed the password of {name} in {place}");
            }
            UserCmd::Del { name, .. } => {
                store.remove(&name).await?;
                println!("removed user {name} from {place}");
            }
            UserCmd::List { .. } => {
                for name in store.names().await? {
                    println!("{name}");
                }
            }
        }
        Ok(())
    })
}

/// The new password: the first line of standard input, or asked twice on
/// the terminal without echo.
pub(crate) fn read_password(from_stdin: bool) -> anyhow::Result<String> {
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
