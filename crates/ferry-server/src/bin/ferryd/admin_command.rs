//! `ferryd admin add|passwd|del|list|token|tokens|revoke`: the admin
//! accounts of the admin API and web admin, and their API tokens, through
//! the [`AdminStore`] trait (only opening the store differs).
//!
//! They are found where `ferryd user` finds the FTP accounts, with the
//! same options: `admins.txt` (and `admin-tokens.txt`) in the folder of
//! the users file (`--users`, or the config file's `users`), or the
//! PostgreSQL tables `ferry_admins` and `ferry_admin_tokens` with
//! `--postgres`. A running server reads the same files or tables at every
//! request, so a token made here works at once, and a revoked one stops
//! within two seconds.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use clap::Subcommand;
use ferry_core::admin::{AdminAuth, AdminStore, FileAdminStore, TokenKind, TokenRecord};
use ferry_server::auth::StoreError;

use super::user_command::{StoreArgs, read_password};

#[derive(Subcommand, Debug)]
pub(crate) enum AdminCmd {
    /// Add an admin, or set a new password for an existing one (stored hashed).
    Add {
        /// Admin name: letters, digits, '.', '_', '-', '@'.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a new password for an existing admin (their tokens stay valid).
    Passwd {
        /// Admin name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove an admin, revoking all of their tokens.
    Del {
        /// Admin name.
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the admin names.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Make an API token for an admin and print it (it is shown only now).
    Token {
        /// Admin name.
        name: String,
        /// Let it expire after this long, e.g. 30d, 12h, 90m [default: never].
        #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
        ttl: Option<Duration>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List an admin's live tokens: id, kind, created, expires (never the secret).
    Tokens {
        /// Admin name.
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token, by the id `ferryd admin tokens` lists.
    Revoke {
        /// Token id (16 hex digits).
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

impl AdminCmd {
    fn store(&self) -> &StoreArgs {
        match self {
            AdminCmd::Add { store, .. }
            | AdminCmd::Passwd { store, .. }
            | AdminCmd::Del { store, .. }
            | AdminCmd::List { store }
            | AdminCmd::Token { store, .. }
            | AdminCmd::Tokens { store, .. }
            | AdminCmd::Revoke { store, .. } => store,
        }
    }
}

/// `--ttl`: a duration as the config file writes them, more than zero.
fn parse_ttl(text: &str) -> Result<Duration, String> {
    match ferry_hooks::duration::parse(text) {
        Ok(d) if d.is_zero() => Err("a token that expires at once would be no use: give a duration above 0, e.g. 30d".to_owned()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// An admin store opened for `ferryd admin`, and how messages name it.
struct Opened {
    store: Arc<dyn AdminStore>,
    /// Where the admins are: `admins.txt`'s path, or the table.
    place: String,
    /// Where their tokens are.
    tokens_place: String,
    /// What the commands need besides their arguments to reach this store.
    flags: &'static str,
}

/// The admin files beside the users file, or the PostgreSQL tables when
/// `postgres` is set (connected now, so that a wrong string fails before
/// a password is asked for).
async fn open(args: &StoreArgs) -> anyhow::Result<Opened> {
    let settings = args.resolve()?;
    match settings.postgres {
        None => {
            let store = FileAdminStore::new(admins_file(&settings.users));
            Ok(Opened {
                place: store.admins_path().display().to_string(),
                tokens_place: store.tokens_path().display().to_string(),
                store: Arc::new(store),
                flags: "",
            })
        }
        Some(conninfo) => open_postgres(&conninfo).await,
    }
}

/// `admins.txt` in the folder of the users file.
fn admins_file(users: &std::path::Path) -> PathBuf {
    users.with_file_name("admins.txt")
}

#[cfg(feature = "postgres")]
async fn open_postgres(conninfo: &str) -> anyhow::Result<Opened> {
    let db = Arc::new(super::accounts::pg_connect(conninfo).await?);
    let store = ferry_core::admin::postgres::PgAdminStore::new(db).await.context("creating the admin tables")?;
    Ok(Opened {
        store: Arc::new(store),
        place: "the PostgreSQL table ferry_admins".to_owned(),
        tokens_place: "the PostgreSQL table ferry_admin_tokens".to_owned(),
        flags: " --postgres ...",
    })
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_conninfo: &str) -> anyhow::Result<Opened> {
    bail!("{}", super::accounts::NO_POSTGRES)
}

/// `ferryd admin …`, on a small runtime of its own (stores are async).
pub(crate) fn run(cmd: AdminCmd) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        let opened = open(cmd.store()).await?;
        let Opened { store, place, tokens_place, flags } = &opened;
        // What to do when the admin named is not there.
        let no_admin = |name: &str| anyhow::anyhow!("no admin {name:?} in {place}; add it with `ferryd admin add {name}{flags}`");
        let known = |e: StoreError, name: &str| match e {
            StoreError::NoSuchUser { .. } => no_admin(name),
            other => other.into(),
        };
        match cmd {
            AdminCmd::Add { name, password_stdin, .. } => {
                let password = read_password(password_stdin)?;
                let replaced = store.set_password(&name, &password).await?;
                println!("{} admin {name} in {place}", if replaced { "updated" } else { "added" });
            }
            AdminCmd::Passwd { name, password_stdin, .. } => {
                if !store.names().await?.contains(&name) {
                    return Err(no_admin(&name));
                }
                let password = read_password(password_stdin)?;
                store.set_password(&name, &password).await?;
                println!("changed the password of admin {name} in {place}");
            }
            AdminCmd::Del { name, .. } => {
                store.remove(&name).await.map_err(|e| match e {
                    StoreError::NoSuchUser { .. } => anyhow::anyhow!("no admin {name:?} in {place}; `ferryd admin list{flags}` lists them"),
                    other => other.into(),
                })?;
                println!("removed admin {name} and their tokens from {place}");
            }
            AdminCmd::List { .. } => {
                let names = store.names().await?;
                if names.is_empty() {
                    eprintln!("ferryd: no admins in {place}; add one with `ferryd admin add NAME{flags}`");
                }
                for name in names {
                    println!("{name}");
                }
            }
            AdminCmd::Token { name, ttl, .. } => {
                let auth = AdminAuth::new(store.clone());
                let issued = auth.issue(&name, TokenKind::Api, ttl).await.map_err(|e| known(e, &name))?;
                let id = &issued.record.id;
                // Only the token on standard output: `TOKEN=$(ferryd admin token alice)`.
                println!("{}", issued.token);
                eprintln!(
                    "ferryd: a new API token for {name} (id {id}, expires {}) in {tokens_place}; it is shown only now. \
                     Revoke it with `ferryd admin revoke {id}{flags}`.",
                    issued.record.expires.map_or_else(|| "never".to_owned(), utc)
                );
            }
            AdminCmd::Tokens { name, .. } => {
                let tokens = store.tokens(&name).await.map_err(|e| known(e, &name))?;
                if tokens.is_empty() {
                    eprintln!("ferryd: {name} has no live tokens; make one with `ferryd admin token {name}{flags}`");
                } else {
                    println!("{}", table(&tokens));
                }
            }
            AdminCmd::Revoke { id, .. } => {
                if !ferry_core::admin::token::valid_id(&id) {
                    bail!("{id:?} is not a token id: use the 16 hex digits that `ferryd admin tokens NAME{flags}` lists");
                }
                if !AdminAuth::new(store.clone()).revoke(&id).await? {
                    bail!(
                        "no live token {id} in {tokens_place} (revoked or expired already?); \
                         `ferryd admin tokens NAME{flags}` lists the live ones"
                    );
                }
                println!("revoked token {id}");
            }
        }
        Ok(())
    })
}

/// The tokens as a table with a header line, columns aligned.
fn table(tokens: &[TokenRecord]) -> String {
    let rows: Vec<[String; 4]> = tokens
        .iter()
        .map(|t| [t.id.clone(), t.kind.to_string(), utc(t.created), t.expires.map_or_else(|| "never".to_owned(), utc)])
        .collect();
    let header = ["ID", "KIND", "CREATED", "EXPIRES"].map(str::to_owned);
    let width = |i: usize| rows.iter().chain([&header]).map(|r| r[i].len()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2)];
    let line =
        |r: &[String; 4]| format!("{:w0$}  {:w1$}  {:w2$}  {}", r[0], r[1], r[2], r[3], w0 = widths[0], w1 = widths[1], w2 = widths[2]);
    std::iter::once(&header).chain(&rows).map(line).collect::<Vec<_>>().join("\n")
}

/// `2026-01-31T12:00:00Z`.
fn utc(t: SystemTime) -> String {
    let c = ferry_proto::time::civil(t);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_and_table() {
        assert_eq!(parse_ttl("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_ttl("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_ttl("0s").unwrap_err().contains("above 0"));
        assert!(parse_ttl("30").unwrap_err().contains("a unit must follow the number"));
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let record = |id: &str, kind, expires| TokenRecord { id: id.into(), admin: "a".into(), kind, hash: [0; 32], created: at, expires };
        let tokens = [
            record("00000000000000a1", TokenKind::Api, None),
            record("00000000000000b2", TokenKind::Browser, Some(at + Duration::from_secs(90))),
        ];
        assert_eq!(
            table(&tokens),
            "ID                KIND     CREATED               EXPIRES\n\
             00000000000000a1  api      2026-01-01T00:00:00Z  never\n\
             00000000000000b2  browser  2026-01-01T00:00:00Z  2026-01-01T00:01:30Z"
        );
        assert_eq!(admins_file(std::path::Path::new("users.txt")), PathBuf::from("admins.txt"));
        assert_eq!(admins_file(std::path::Path::new("/etc/ferry/accounts.txt")), PathBuf::from("/etc/ferry/admins.txt"));
    }
}
