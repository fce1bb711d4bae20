//! Accounts in PostgreSQL (feature `postgres`), against a real PostgreSQL
//! server of Debian's that each test starts for itself.

use std::io::Write;
use std::process::{Command, Stdio};

use ferry_testkit::peers::PgServer;
use ferry_testkit::{Control, Spawned, free_port, wait_for_port};

const FERRYD: &str = env!("CARGO_BIN_EXE_ferryd");

/// A PostgreSQL server, or `None` (test skipped) without one; under CI,
/// where `.ci/run` installs it, its absence fails the test.
fn pg() -> Option<PgServer> {
    let pg = PgServer::start();
    if pg.is_none() {
        assert!(std::env::var_os("CI").is_none(), "PostgreSQL is required under CI (apt-get install postgresql)");
        eprintln!("skipping: PostgreSQL server binaries not installed");
    }
    pg
}

/// `ferryd user ARGS --postgres CONNINFO`, with `stdin` as the password.
fn ferryd_user(pg: &PgServer, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(FERRYD)
        .arg("user")
        .args(args)
        .args(["--postgres", &pg.conninfo])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// One text value from the test database, on a small runtime of its own.
pub(crate) fn query_string(pg: &PgServer, sql: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&pg.conninfo, tokio_postgres::NoTls).await.unwrap();
        let task = tokio::spawn(connection);
        let value: String = client.query_one(sql, &[]).await.unwrap().get(0);
        drop(client);
        let _ = task.await;
        value
    })
}

fn node(pg: &PgServer, dir: &std::path::Path) -> (Spawned, u16) {
    let port = free_port();
    let child = Command::new(FERRYD)
        .args(["--port", &port.to_string(), "--no-tls", "--failure-delay-ms", "0", "--root"])
        .arg(dir.join("root"))
        // Per-user settings would come from users.toml beside this path.
        .arg("--users")
        .arg(dir.join("users.txt"))
        .env("FERRYD_POSTGRES", &pg.conninfo)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_port(port);
    (Spawned(child), port)
}

fn try_login(port: u16, user: &str, password: &str) -> u16 {
    let mut c = Control::connect(format!("127.0.0.1:{port}").parse().unwrap());
    c.expect(&format!("USER {user}"), 331);
    c.send(&format!("PASS {password}"));
    c.read_reply().code
}

/// `ferryd user add/passwd/del/list --postgres` manage the table; two
/// ferryd nodes on it see every change at once; passwords are stored as
/// argon2id hashes.
#[test]
fn accounts_in_postgres_are_shared_by_two_nodes() {
    let Some(pg) = pg() else { return };
    let (ok, out) = ferryd_user(&pg, &["add", "alice", "--password-stdin"], "first-pw\n");
    assert!(ok && out.contains("added user alice"), "{out}");
    let (ok, out) = ferryd_user(&pg, &["add", "bob", "--password-stdin"], "bobs-pw\n");
    assert!(ok, "{out}");
    let (ok, out) = ferryd_user(&pg, &["list"], "");
    assert!(ok && out == "alice\nbob\n", "{out}");

    let secret = query_string(&pg, "SELECT secret FROM ferry_users WHERE name = 'alice'");
    assert!(secret.starts_with("$argon2id$") && !secret.contains("first-pw"), "stored hashed: {secret}");

    let dir = tempfile::tempdir().unwrap();
    let (_a, port_a) = node(&pg, dir.path());
    let (_b, port_b) = node(&pg, dir.path());
    for port in [port_a, port_b] {
        assert_eq!(try_login(port, "alice", "first-pw"), 230);
        assert_eq!(try_login(port, "alice", "wrong"), 530);
        assert_eq!(try_login(port, "nobody", "first-pw"), 530);
    }

    // A new password counts on both nodes at once, the old one no longer
    // (not even from a node's cache of recent logins).
    let (ok, out) = ferryd_user(&pg, &["passwd", "alice", "--password-stdin"], "second-pw\n");
    assert!(ok, "{out}");
    for port in [port_a, port_b] {
        assert_eq!(try_login(port, "alice", "first-pw"), 530);
        assert_eq!(try_login(port, "alice", "second-pw"), 230);
    }
    let (ok, out) = ferryd_user(&pg, &["del", "bob"], "");
    assert!(ok, "{out}");
    assert_eq!(try_login(port_b, "bob", "bobs-pw"), 530);
    let (ok, out) = ferryd_user(&pg, &["del", "bob"], "");
    assert!(!ok && out.contains("no user \"bob\""), "{out}");
    let (ok, out) = ferryd_user(&pg, &["passwd", "bob", "--password-stdin"], "x\n");
    assert!(!ok && out.contains("add it with"), "{out}");
}

/// With the database gone, logins are answered 421 (try again later: an
/// outage is not a wrong password) and the server keeps serving (each
/// login opens a fresh connection when the pooled ones are gone). The log
/// says why, without the password.
#[test]
fn database_outage_refuses_logins_and_the_server_survives() {
    let Some(pg) = pg() else { return };
    assert!(ferryd_user(&pg, &["add", "alice", "--password-stdin"], "pw-123\n").0);
    let dir = tempfile::tempdir().unwrap();
    let (mut node, port) = node(&pg, dir.path());
    assert_eq!(try_login(port, "alice", "pw-123"), 230);
    drop(pg);
    assert_eq!(try_login(port, "alice", "pw-123"), 421, "no database, no login");
    let mut c = Control::connect(format!("127.0.0.1:{port}").parse().unwrap());
    c.expect("NOOP", 200);
    let _ = Command::new("kill").args(["-TERM", &node.0.id().to_string()]).status();
    let mut log = String::new();
    std::io::Read::read_to_string(node.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("account database unavailable"), "{log}");
    assert!(!log.contains("pw-123"), "no password in the log");
}

/// Bad connection strings and unreachable servers fail at start with a
/// message naming the flag; check-config never prints the password.
#[test]
fn postgres_settings_errors_and_masking() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = Command::new(FERRYD)
        .args(["--no-tls", "--postgres", &format!("host=127.0.0.1 port={port} user=ferry password=hunter2 connect_timeout=2"), "--root"])
        .arg(dir.path().join("root"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("check --postgres") && err.contains("password=***") && !err.contains("hunter2"), "{err}");

    let out = Command::new(FERRYD)
        .args(["check-config", "--postgres", "postgres://ferry:hunter2@db.example/ferry"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("postgres = \"host=db.example port=5432 user=ferry dbname=ferry password=***\"") && !text.contains("hunter2"),
        "{text}"
    );
}
