//! The admin view of accounts in PostgreSQL (`UserDirectory` on
//! `PgStore`): records with their settings in the row, paged and searched
//! in SQL, and those settings applied at the next login on any node.

use std::path::Path;
use std::sync::Arc;

use ferry_server::auth::date::Date;
use ferry_server::auth::directory::{DirectoryError, UserDirectory, UserPage, UserQuery};
use ferry_server::auth::password::PasswordAuth;
use ferry_server::auth::postgres::PgStore;
use ferry_server::auth::record::UserRecord;
use ferry_server::auth::settings::{Permission, SettingsFile};
use ferry_server::auth::{AuthError, Standing};
use ferry_testkit::peers::PgServer;

fn pg() -> Option<PgServer> {
    let pg = PgServer::start();
    if pg.is_none() {
        assert!(std::env::var_os("CI").is_none(), "PostgreSQL is required under CI (apt-get install postgresql)");
        eprintln!("skipping: PostgreSQL server binaries not installed");
    }
    pg
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn q(search: Option<&str>, offset: usize, limit: usize) -> UserQuery {
    UserQuery { search: search.map(str::to_owned), offset, limit }
}

fn names(page: &UserPage) -> Vec<&str> {
    page.users.iter().map(|r| r.name.as_str()).collect()
}

#[test]
fn postgres_user_directory_crud() {
    let Some(pg) = pg() else { return };
    rt().block_on(async {
        let db = PgStore::connect(&pg.conninfo).await.unwrap();
        let mut alice = UserRecord::new("alice");
        alice.home = Some("homes/alice".into());
        alice.permissions = Some(vec![Permission::Read, Permission::List]);
        alice.quota_bytes = Some(1 << 30);
        alice.allowed_networks = vec!["2001:DB8::/32".into(), "127.0.0.1".into()];
        alice.expires = Some("2999-12-31".into());
        db.create(&alice, "pw").await.unwrap();
        let stored = db.get("alice").await.unwrap().unwrap();
        assert_eq!(stored, alice.canonical().unwrap());
        assert_eq!(stored.allowed_networks, ["2001:db8::/32", "127.0.0.1/32"], "canonical text");
        assert_eq!(db.create(&alice, "again").await, Err(DirectoryError::Exists("alice".into())));
        let Err(DirectoryError::Invalid(e)) = db.create(&UserRecord::new("bob"), "").await else { panic!("empty password") };
        assert_eq!(e[0].field, "password");
        let Err(DirectoryError::Invalid(e)) =
            db.create(&UserRecord { expires: Some("2026-02-30".into()), ..UserRecord::new("bob") }, "pw").await
        else {
            panic!("bad date")
        };
        assert_eq!(e[0].field, "expires");
        assert_eq!(db.get("bob").await.unwrap(), None, "nothing was written");

        // Settings only: the password stays; with a password: it changes.
        let phc = db.secret("alice").await.unwrap().unwrap();
        let changed = UserRecord { read_only: true, enabled: false, ..stored.clone() };
        db.update(&changed, None).await.unwrap();
        assert_eq!(db.get("alice").await.unwrap(), Some(changed.clone()));
        assert_eq!(db.secret("alice").await.unwrap(), Some(phc.clone()));
        db.update(&changed, Some("new")).await.unwrap();
        let new_phc = db.secret("alice").await.unwrap().unwrap();
        assert!(new_phc != phc && ferry_server::auth::hash::verify("new", &new_phc));
        assert_eq!(db.update(&UserRecord::new("nobody"), None).await, Err(DirectoryError::NotFound("nobody".into())));

        // `ferryd user add` rows (no settings) show the defaults.
        db.set_user("carol", "pw").await.unwrap();
        assert_eq!(db.get("carol").await.unwrap(), Some(UserRecord::new("carol")));
        db.delete("alice").await.unwrap();
        assert_eq!(db.get("alice").await.unwrap(), None);
        assert_eq!(db.delete("alice").await, Err(DirectoryError::NotFound("alice".into())));
        assert_eq!(db.list(&q(None, 0, 10)).await.unwrap(), UserPage { users: vec![UserRecord::new("carol")], total: 1 });
    });
}

#[test]
fn postgres_user_paging_and_search() {
    let Some(pg) = pg() else { return };
    rt().block_on(async {
        let db = PgStore::connect(&pg.conninfo).await.unwrap();
        for name in ["Zoe", "alice", "ALBERT", "a_b", "axb", "a.b", "malia", "bob"] {
            // Plain rows through the store, settings through the directory, mixed.
            if name.len() % 2 == 0 {
                db.set_user(name, "pw").await.unwrap_or_else(|e| panic!("{name}: {e}"));
            } else {
                db.create(&UserRecord::new(name), "pw").await.unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
        let page = db.list(&q(None, 0, 3)).await.unwrap();
        assert_eq!((names(&page), page.total), (vec!["ALBERT", "Zoe", "a.b"], 8), "sorted by name, byte order");
        let page = db.list(&q(None, 6, 5)).await.unwrap();
        assert_eq!((names(&page), page.total), (vec!["bob", "malia"], 8));
        let page = db.list(&q(None, 100, 5)).await.unwrap();
        assert_eq!((page.users.len(), page.total), (0, 8), "a page past the end still counts");
        let page = db.list(&q(Some("AL"), 0, 10)).await.unwrap();
        assert_eq!((names(&page), page.total), (vec!["ALBERT", "alice", "malia"], 3), "case-insensitive substring");
        let page = db.list(&q(Some("al"), 1, 1)).await.unwrap();
        assert_eq!((names(&page), page.total), (vec!["alice"], 3));
        assert_eq!(db.list(&q(Some("%"), 0, 10)).await.unwrap().total, 0, "% is a character, not a wildcard");
        assert_eq!(names(&db.list(&q(Some("a_b"), 0, 10)).await.unwrap()), ["a_b"], "_ too");
        assert_eq!(db.list(&q(Some("a\\"), 0, 10)).await.unwrap().total, 0, "and \\ (which would end the pattern unescaped)");
        assert_eq!(db.list(&q(Some("x"), 0, 0)).await.unwrap(), UserPage { users: vec![], total: 1 }, "limit 0 counts only");
    });
}

/// The row's settings reach logins at once: PasswordAuth prefers them to
/// the users.toml table (still over its [defaults]), and a change through
/// the directory counts at the next login and the next standing.
#[test]
fn postgres_user_settings_in_the_row_apply_at_login() {
    let Some(pg) = pg() else { return };
    rt().block_on(async {
        // A table made before the settings column: connecting adds it.
        let (client, connection) = tokio_postgres::connect(&pg.conninfo, tokio_postgres::NoTls).await.unwrap();
        let task = tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "CREATE TABLE ferry_users (name TEXT PRIMARY KEY, secret TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
                 INSERT INTO ferry_users (name, secret) VALUES ('old', '{}')",
                ferry_server::auth::hash::hash_password("pw")
            ))
            .await
            .unwrap();
        let db = Arc::new(PgStore::connect(&pg.conninfo).await.unwrap());
        let file = SettingsFile::parse(
            "[defaults]\ndownload_rate = 1000\n\n[users.old]\nhome = \"old-home\"\n\n[users.alice]\nhome = \"file-home\"\ndisabled = true\n",
            Path::new("users.toml"),
        )
        .unwrap();
        let auth = PasswordAuth::new(db.clone(), file);
        let today = Date::parse("2026-06-01").unwrap();
        let v4 = Some("192.0.2.10".parse().unwrap());
        let v6 = Some("2001:db8::10".parse().unwrap());

        let old = auth.login_at("old", "pw", v4, today).await.unwrap().unwrap();
        assert_eq!(old.policy.home.as_str(), "/old-home", "a row without settings: the users.toml table");

        let mut alice = UserRecord::new("alice");
        alice.home = Some("row-home".into());
        alice.allowed_networks = vec!["192.0.2.0/24".into()];
        db.create(&alice, "pw").await.unwrap();
        let a = auth.login_at("alice", "pw", v4, today).await.unwrap().unwrap();
        assert_eq!(a.policy.home.as_str(), "/row-home", "the row, not [users.alice] (which would disable her)");
        assert_eq!(a.policy.download_rate, Some(1000), "over [defaults]");
        assert_eq!(auth.login_at("alice", "pw", v6, today).await, Err(AuthError::NetworkNotAllowed));
        assert_eq!(auth.login_at("alice", "wrong", v6, today).await, Ok(None));

        // Changed through the directory (as on another node): the same
        // authenticator sees it at the next login, cached or not.
        alice.allowed_networks = vec!["2001:db8::/32".into()];
        alice.expires = Some("2026-05-31".into());
        db.update(&alice, None).await.unwrap();
        assert_eq!(auth.login_at("alice", "pw", v6, today).await, Err(AuthError::Expired));
        assert_eq!(auth.standing_on(&a, today).await, Ok(Standing::Expired));
        alice.expires = Some("2026-06-01".into());
        db.update(&alice, None).await.unwrap();
        assert!(auth.login_at("alice", "pw", v6, today).await.unwrap().is_some(), "the last day itself");
        assert_eq!(auth.login_at("alice", "pw", v4, today).await, Err(AuthError::NetworkNotAllowed));
        alice.enabled = false;
        db.update(&alice, None).await.unwrap();
        assert_eq!(auth.login_at("alice", "pw", v6, today).await, Err(AuthError::Disabled));
        assert_eq!(auth.standing_on(&a, today).await, Ok(Standing::Disabled));

        // A row whose settings cannot be used is an error, not a login.
        client.batch_execute("UPDATE ferry_users SET settings = '{\"home\":\"../etc\"}' WHERE name = 'old'").await.unwrap();
        let e = auth.login_at("old", "pw", v4, today).await.unwrap_err();
        assert!(matches!(&e, AuthError::Store(s) if s.to_string().contains("cannot be used")), "{e:?}");
        drop(client);
        let _ = task.await;
    });
}

#[test]
fn postgres_rows_keep_their_public_keys_across_admin_updates() {
    let Some(pg) = pg() else { return };
    rt().block_on(async {
        let db = Arc::new(PgStore::connect(&pg.conninfo).await.unwrap());
        let auth = PasswordAuth::new(db.clone(), SettingsFile::default());
        let today = Date::parse("2026-06-01").unwrap();
        let v4 = Some("192.0.2.10".parse().unwrap());
        let mut carol = UserRecord::new("carol");
        db.create(&carol, "pw").await.unwrap();
        // Keys are put in the row by SQL (the admin API does not edit them).
        let (client, connection) = tokio_postgres::connect(&pg.conninfo, tokio_postgres::NoTls).await.unwrap();
        let task = tokio::spawn(connection);
        let key = "AAAAC3NzaC1lZDI1NTE5AAAAIOmqWrI6hJKYrF/Eb/3yOgW8XAVLroYvYwxQyhgGq3Rc";
        client
            .execute(
                "UPDATE ferry_users SET settings = $1 WHERE name = 'carol'",
                &[&format!("{{\"authorized_keys\":[\"ssh-ed25519 {key} carol@laptop\"]}}")],
            )
            .await
            .unwrap();
        assert!(auth.key_login_at("carol", key, v4, today).await.unwrap().is_some(), "the key in the row logs in");
        // An update through the directory (the admin API's PUT) changes the
        // settings and keeps the keys; so does one that clears every setting.
        carol.home = Some("carol-home".into());
        db.update(&carol, None).await.unwrap();
        let a = auth.key_login_at("carol", key, v4, today).await.unwrap().expect("the key survived the update");
        assert_eq!(a.policy.home.as_str(), "/carol-home");
        db.update(&UserRecord::new("carol"), Some("new")).await.unwrap();
        assert!(auth.key_login_at("carol", key, v4, today).await.unwrap().is_some(), "the key survived a reset");
        assert!(auth.key_login_at("carol", "AAAAC3NzaC1lZDI1NTE5AAAAIBBBB", v4, today).await.unwrap().is_none());
        drop(client);
        let _ = task.await;
    });
}
