//! Admin accounts and tokens in PostgreSQL (feature `postgres`): the
//! store, as two nodes on one database use it, and `ferryd admin …
//! --postgres`, against a throw-away PostgreSQL server of each test's own.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_core::admin::postgres::{PLACE, PgAdminStore};
use ferry_core::admin::{AdminAuth, AdminStore, TokenKind, TokenRecord, ensure_first_admin};
use ferry_core::auth::StoreError;
use ferry_core::auth::postgres::PgStore;
use ferry_testkit::peers::PgServer;

/// A PostgreSQL server, or `None` (test skipped) without one; under CI its
/// absence fails the test.
fn pg() -> Option<PgServer> {
    let pg = PgServer::start();
    if pg.is_none() {
        assert!(std::env::var_os("CI").is_none(), "PostgreSQL is required under CI (apt-get install postgresql)");
        eprintln!("skipping: PostgreSQL server binaries not installed");
    }
    pg
}

/// One node's admin store: a connection pool of its own.
async fn node(pg: &PgServer) -> PgAdminStore {
    PgAdminStore::new(Arc::new(PgStore::connect(&pg.conninfo).await.unwrap())).await.unwrap()
}

/// One text value from the test database (within the test's runtime).
async fn query_string(pg: &PgServer, sql: &str) -> String {
    let (client, connection) = tokio_postgres::connect(&pg.conninfo, tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(connection);
    let value: String = client.query_one(sql, &[]).await.unwrap().get(0);
    drop(client);
    let _ = task.await;
    value
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(t.duration_since(UNIX_EPOCH).unwrap().as_secs())
}

#[test]
fn admins_and_tokens_in_postgres_are_shared_by_every_node() {
    let Some(pg) = pg() else { return };
    runtime().block_on(async {
        let (a, b) = (node(&pg).await, node(&pg).await);
        assert_eq!(a.names().await.unwrap(), Vec::<String>::new());
        let (name, password) = ensure_first_admin(&a).await.unwrap().unwrap();
        assert_eq!(name, "admin");
        assert_eq!(ensure_first_admin(&b).await.unwrap(), None, "the other node sees it");
        assert!(!a.set_password("zoë", "one").await.unwrap());
        assert!(b.set_password("zoë", "two").await.unwrap(), "existed");
        assert_eq!(b.names().await.unwrap(), ["admin", "zoë"]);
        assert_eq!(a.set_password("bad name", "x").await.unwrap_err(), StoreError::BadName("bad name".into()));
        let secret = query_string(&pg, "SELECT secret FROM ferry_admins WHERE name = 'zoë'").await;
        assert!(secret.starts_with("$argon2id$") && !secret.contains("two"), "{secret}");

        let auth_a = AdminAuth::new(Arc::new(a.clone()));
        let auth_b = AdminAuth::new(Arc::new(b.clone()));
        assert!(auth_b.login("admin", &password).await.unwrap());
        assert!(auth_a.login("zoë", "two").await.unwrap() && !auth_a.login("zoë", "one").await.unwrap());
        assert!(!auth_a.login("nobody", "two").await.unwrap());

        // Issued on one node, good on the other; revoked there, gone here.
        let issued = auth_a.issue("zoë", TokenKind::Login, None).await.unwrap();
        let now = SystemTime::now();
        assert_eq!(auth_b.check(&issued.token, now).await.unwrap(), Some(issued.record.clone()));
        assert_eq!(b.find_token(&issued.record.id).await.unwrap(), Some(issued.record.clone()), "times and digest round-trip");
        let stored =
            query_string(&pg, &format!("SELECT encode(hash, 'hex') FROM ferry_admin_tokens WHERE id = '{}'", issued.record.id)).await;
        assert_eq!(stored.len(), 64);
        assert!(!issued.token.contains(&stored), "the digest, not the secret");
        assert!(auth_b.revoke(&issued.record.id).await.unwrap());
        assert_eq!(a.find_token(&issued.record.id).await.unwrap(), None, "revoked for every node at once");
        assert!(!a.revoke_token(&issued.record.id).await.unwrap());

        // Expired tokens are not found, and the next write deletes them.
        let created = whole_seconds(now) - Duration::from_secs(7200);
        let expired = TokenRecord {
            id: "00000000000000e1".into(),
            admin: "zoë".into(),
            kind: TokenKind::Browser,
            hash: [3; 32],
            created,
            expires: Some(created + Duration::from_secs(3600)),
        };
        a.add_token(&expired).await.unwrap();
        assert_eq!(a.find_token(&expired.id).await.unwrap(), None);
        let api = auth_b.issue("zoë", TokenKind::Api, None).await.unwrap();
        assert_eq!(query_string(&pg, "SELECT count(*)::text FROM ferry_admin_tokens WHERE id = '00000000000000e1'").await, "0", "pruned");
        assert_eq!(a.tokens("zoë").await.unwrap(), std::slice::from_ref(&api.record));
        assert_eq!(a.tokens("nobody").await.unwrap_err(), StoreError::NoSuchUser { name: "nobody".into(), place: PLACE });
        let e = a.add_token(&TokenRecord { admin: "nobody".into(), ..expired.clone() }).await.unwrap_err();
        assert_eq!(e, StoreError::NoSuchUser { name: "nobody".into(), place: PLACE });

        // Removing an admin removes their tokens (ON DELETE CASCADE).
        b.remove("zoë").await.unwrap();
        assert_eq!(a.find_token(&api.record.id).await.unwrap(), None);
        assert_eq!(auth_a.check(&api.token, SystemTime::now()).await.unwrap(), None);
        assert_eq!(query_string(&pg, "SELECT count(*)::text FROM ferry_admin_tokens").await, "0");
        assert_eq!(a.remove("zoë").await.unwrap_err(), StoreError::NoSuchUser { name: "zoë".into(), place: PLACE });
    });
}

/// `ferryd admin ARGS --postgres CONNINFO`, with `stdin`.
fn ferryd_admin(pg: &PgServer, args: &[&str], stdin: &str) -> (bool, String, String) {
    // With --postgres the users file only places users.toml: never read here.
    crate::admin::ferryd_admin(std::path::Path::new("users.txt"), Some(&pg.conninfo), args, stdin)
}

#[test]
fn admin_commands_with_postgres_reach_every_node() {
    let Some(pg) = pg() else { return };
    let (ok, out, err) = ferryd_admin(&pg, &["add", "alice", "--password-stdin"], "pw\n");
    assert!(ok && out == "added admin alice in the PostgreSQL table ferry_admins\n", "{out}{err}");
    let (ok, out, _) = ferryd_admin(&pg, &["list"], "");
    assert!(ok && out == "alice\n", "{out}");
    let (ok, token, err) = ferryd_admin(&pg, &["token", "alice", "--ttl", "1h"], "");
    assert!(ok && err.contains("in the PostgreSQL table ferry_admin_tokens"), "{err}");
    assert!(err.contains("Revoke it with `ferryd admin revoke ") && err.ends_with(" --postgres ...`.\n"), "{err}");
    let token = token.trim_end().to_owned();
    runtime().block_on(async {
        let auth = AdminAuth::new(Arc::new(node(&pg).await));
        let record = auth.check(&token, SystemTime::now()).await.unwrap().expect("valid on a node at once");
        assert_eq!(record.expires, Some(record.created + Duration::from_secs(3600)));
        let (ok, listed, _) = ferryd_admin(&pg, &["tokens", "alice"], "");
        assert!(ok && listed.lines().count() == 2 && listed.contains(&record.id), "{listed}");
        let (ok, out, err) = ferryd_admin(&pg, &["revoke", &record.id], "");
        assert!(ok && out == format!("revoked token {}\n", record.id), "{out}{err}");
        assert_eq!(auth.store().find_token(&record.id).await.unwrap(), None);
    });
    let (ok, _, err) = ferryd_admin(&pg, &["passwd", "bob", "--password-stdin"], "x\n");
    assert!(
        !ok && err.contains("no admin \"bob\" in the PostgreSQL table ferry_admins; add it with `ferryd admin add bob --postgres ...`"),
        "{err}"
    );
    let (ok, out, _) = ferryd_admin(&pg, &["del", "alice"], "");
    assert!(ok && out == "removed admin alice and their tokens from the PostgreSQL table ferry_admins\n", "{out}");
    let (ok, _, err) = ferryd_admin(&pg, &["tokens", "alice"], "");
    assert!(!ok && err.contains("no admin \"alice\""), "{err}");
}
