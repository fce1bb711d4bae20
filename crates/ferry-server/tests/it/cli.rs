//! The `ferryd` binary: first run, flags, user management.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use ferry_testkit::{Control, Spawned, free_port, wait_for_port};

const FERRYD: &str = env!("CARGO_BIN_EXE_ferryd");

#[test]
fn first_run_creates_users_and_root_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Spawned(
        Command::new(FERRYD).arg(port.to_string()).current_dir(dir.path()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut text = String::new();
    let mut password = None;
    while password.is_none() {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "no password printed: {text}");
        if let Some(p) = line.trim().strip_prefix("password:") {
            password = Some(p.trim().to_owned());
        }
        text.push_str(&line);
    }
    assert!(text.contains("user:     ferry"), "{text}");
    wait_for_port(port);
    let users = std::fs::read_to_string(dir.path().join("users.txt")).unwrap();
    assert!(users.starts_with("ferry:$argon2id$"), "stored hashed: {users}");
    assert!(!users.contains(password.as_deref().unwrap()));
    assert!(dir.path().join("ftp-root").is_dir());
    let mut c = Control::connect(format!("127.0.0.1:{port}").parse().unwrap());
    c.login("ferry", password.as_deref().unwrap());
    c.expect("QUIT", 221);
}

#[test]
fn user_add_with_password_stdin_and_plain_text_warning() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "# seed format\nseed:plainpw\n").unwrap();
    let mut add = Command::new(FERRYD)
        .args(["user", "add", "carol", "--password-stdin", "--users"])
        .arg(&users)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"c4rol-pw\n").unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("added user carol"));
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(text.starts_with("# seed format\nseed:plainpw\ncarol:$argon2id$"), "{text}");
    let list = Command::new(FERRYD).args(["user", "list", "--users"]).arg(&users).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&list.stdout), "carol\nseed\n");

    let bad = Command::new(FERRYD)
        .args(["user", "add", "bad name", "--password-stdin", "--users"])
        .arg(&users)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let port = free_port();
    let root = dir.path().join("srv");
    let mut child = Spawned(
        Command::new(FERRYD)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--root"])
            .arg(&root)
            .arg("--users")
            .arg(&users)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("users.txt:2") && line.contains("plain text"), "{line}");
    wait_for_port(port);
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut c = Control::connect(addr);
    c.login("carol", "c4rol-pw");
    let mut c = Control::connect(addr);
    c.login("seed", "plainpw");
    // Passwords never reach the log.
    drop(c);
    std::thread::sleep(Duration::from_millis(200));
    let _ = child.0.kill();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    assert!(!rest.contains("c4rol-pw") && !rest.contains("plainpw"), "{rest}");
}

#[test]
fn bad_flags_give_clear_errors() {
    let out = Command::new(FERRYD).args(["--passive-ports", "9-1"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 <= A <= B"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.txt"), "broken line\n").unwrap();
    let out = Command::new(FERRYD).arg("--port").arg(free_port().to_string()).current_dir(dir.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("users.txt:1: expected `name:secret`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn completions_and_man_page() {
    let bash = Command::new(FERRYD).args(["completions", "bash"]).output().unwrap();
    assert!(bash.status.success() && String::from_utf8_lossy(&bash.stdout).contains("_ferryd()"));
    let man = Command::new(FERRYD).arg("man").output().unwrap();
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(man.status.success() && page.contains(".TH ferryd") && page.contains("require\\-tls"), "{page}");
}
