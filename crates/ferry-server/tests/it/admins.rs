//! `ferryd admin …` through the binary: the files it writes, what it
//! prints, and a running server's view of them (here this test process,
//! with the store an admin API would hold).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::SystemTime;

use ferry_core::admin::{AdminAuth, AdminStore, FileAdminStore, TokenKind};

const FERRYD: &str = env!("CARGO_BIN_EXE_ferryd");

/// `ferryd admin ARGS` in `dir`, with `stdin`.
fn admin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(FERRYD)
        .arg("admin")
        .args(args)
        .current_dir(dir)
        .env_remove("FERRYD_POSTGRES")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Standard output of a command that must succeed.
fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Standard error of a command that must fail.
fn fails(out: &Output) -> String {
    assert!(!out.status.success(), "succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

#[test]
fn admin_accounts_live_in_admins_txt_beside_the_users_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("etc")).unwrap();
    std::fs::write(d.join("etc/admins.txt"), "# admins of the web admin\n").unwrap();
    let users = ["--users", "etc/users.txt"];
    let with = |args: &[&'static str]| [args, &users[..]].concat();

    assert_eq!(ok(&admin(d, &with(&["add", "alice", "--password-stdin"]), "al1ce-pw\n")), "added admin alice in etc/admins.txt\n");
    assert_eq!(ok(&admin(d, &with(&["add", "bob", "--password-stdin"]), "b0b\n")), "added admin bob in etc/admins.txt\n");
    assert_eq!(ok(&admin(d, &with(&["add", "bob", "--password-stdin"]), "b0b-2\n")), "updated admin bob in etc/admins.txt\n");
    assert_eq!(ok(&admin(d, &with(&["list"]), "")), "alice\nbob\n");
    assert!(!d.join("etc/users.txt").exists(), "the FTP accounts are untouched");
    let text = std::fs::read_to_string(d.join("etc/admins.txt")).unwrap();
    assert!(text.starts_with("# admins of the web admin\nalice:$argon2id$"), "{text}");
    assert!(!text.contains("al1ce-pw") && !text.contains("b0b"), "stored hashed: {text}");
    assert_eq!(mode(&d.join("etc/admins.txt")), 0o600);

    assert_eq!(
        ok(&admin(d, &with(&["passwd", "alice", "--password-stdin"]), "new-pw\n")),
        "changed the password of admin alice in etc/admins.txt\n"
    );
    let auth = AdminAuth::new(Arc::new(FileAdminStore::new(d.join("etc/admins.txt"))));
    assert!(block_on(auth.login("alice", "new-pw")).unwrap());
    assert!(!block_on(auth.login("alice", "al1ce-pw")).unwrap());

    let err = fails(&admin(d, &with(&["passwd", "carol", "--password-stdin"]), "x\n"));
    assert_eq!(err, "ferryd: no admin \"carol\" in etc/admins.txt; add it with `ferryd admin add carol`\n");
    let err = fails(&admin(d, &with(&["del", "carol"]), ""));
    assert_eq!(err, "ferryd: no admin \"carol\" in etc/admins.txt; `ferryd admin list` lists them\n");
    let err = fails(&admin(d, &with(&["add", "bad name", "--password-stdin"]), "x\n"));
    assert!(err.contains("invalid user name \"bad name\""), "{err}");
    let err = fails(&admin(d, &with(&["add", "carol", "--password-stdin"]), "\n"));
    assert_eq!(err, "ferryd: empty password refused\n");
    assert_eq!(ok(&admin(d, &with(&["del", "bob"]), "")), "removed admin bob and their tokens from etc/admins.txt\n");
    assert_eq!(ok(&admin(d, &with(&["list"]), "")), "alice\n");

    // The config file says where, as for `ferryd user`.
    std::fs::write(d.join("ferryd.toml"), "users = \"etc/users.txt\"\n").unwrap();
    assert_eq!(ok(&admin(d, &["list", "--config", "ferryd.toml"], "")), "alice\n");
    // And with the default users file, admins.txt is in the working folder.
    let out = admin(d, &["list"], "");
    assert_eq!(
        (ok(&out).as_str(), String::from_utf8_lossy(&out.stderr).as_ref()),
        ("", "ferryd: no admins in admins.txt; add one with `ferryd admin add NAME`\n")
    );
}

/// `ferryd admin token` is another process: its tokens work in the running
/// server at once, and its revocations stop them (within the 2 s a check
/// is remembered; at once for the store).
#[test]
fn api_tokens_made_and_revoked_by_the_command_count_in_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&admin(d, &["add", "alice", "--password-stdin"], "pw\n"));
    let server = FileAdminStore::new(d.join("admins.txt"));
    let auth = AdminAuth::new(Arc::new(server.clone()));

    let out = admin(d, &["token", "alice"], "");
    let token = ok(&out).trim_end().to_owned();
    assert!(token.starts_with("fy_") && token.len() == 84 && !token.contains(' '), "only the token on stdout: {token:?}");
    let record = block_on(auth.check(&token, SystemTime::now())).unwrap().expect("valid in the server at once");
    assert_eq!((record.admin.as_str(), record.kind, record.expires), ("alice", TokenKind::Api, None));
    let hint = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        hint,
        format!(
            "ferryd: a new API token for alice (id {id}, expires never) in admin-tokens.txt; it is shown only now. \
             Revoke it with `ferryd admin revoke {id}`.\n",
            id = record.id
        )
    );
    let on_disk = std::fs::read_to_string(d.join("admin-tokens.txt")).unwrap();
    assert!(on_disk.contains(&record.id) && !on_disk.contains(&token[20..]), "the secret is not stored: {on_disk}");
    assert_eq!(mode(&d.join("admin-tokens.txt")), 0o600);

    let short = ok(&admin(d, &["token", "alice", "--ttl", "30d"], "")).trim_end().to_owned();
    let short = block_on(auth.check(&short, SystemTime::now())).unwrap().unwrap();
    assert_eq!(short.expires.unwrap().duration_since(short.created).unwrap().as_secs(), 30 * 86_400);

    let listed = ok(&admin(d, &["tokens", "alice"], ""));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(lines[0].starts_with("ID ") && lines[0].ends_with("EXPIRES"), "{listed}");
    assert!(listed.contains(&record.id) && listed.contains(&short.id) && listed.contains("never"), "{listed}");
    assert!(!listed.contains(&token[20..]), "no secret in the list");

    assert_eq!(ok(&admin(d, &["revoke", &record.id], "")), format!("revoked token {}\n", record.id));
    assert_eq!(block_on(server.find_token(&record.id)).unwrap(), None, "gone from the server's store at once");
    let fresh = AdminAuth::new(Arc::new(server.clone()));
    assert_eq!(block_on(fresh.check(&token, SystemTime::now())).unwrap(), None);
    let err = fails(&admin(d, &["revoke", &record.id], ""));
    assert!(err.contains(&format!("no live token {} in admin-tokens.txt", record.id)), "{err}");
    let err = fails(&admin(d, &["revoke", "alice"], ""));
    assert!(err.contains("is not a token id"), "{err}");

    let err = fails(&admin(d, &["token", "carol"], ""));
    assert_eq!(err, "ferryd: no admin \"carol\" in admins.txt; add it with `ferryd admin add carol`\n");
    let err = fails(&admin(d, &["tokens", "carol"], ""));
    assert!(err.contains("add it with `ferryd admin add carol`"), "{err}");
    let err = fails(&admin(d, &["token", "alice", "--ttl", "30"], ""));
    assert!(err.contains("a unit must follow the number"), "{err}");

    // Removing the admin revokes the rest.
    ok(&admin(d, &["del", "alice"], ""));
    assert_eq!(block_on(server.find_token(&short.id)).unwrap(), None);
    let on_disk = std::fs::read_to_string(d.join("admin-tokens.txt")).unwrap();
    assert!(on_disk.lines().all(|l| l.starts_with('#')), "{on_disk}");
}
