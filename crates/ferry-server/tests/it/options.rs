//! `ferryd`'s options through the binary: what `check-config` prints is a
//! config file that gives the same settings, and `ferryd user` finds the
//! accounts where the server's config file says.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const FERRYD: &str = env!("CARGO_BIN_EXE_ferryd");

fn ferryd(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(FERRYD)
        .args(args)
        .current_dir(dir)
        .env_remove("FERRYD_POSTGRES")
        .env_remove("AWS_REGION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn check_config_prints_a_config_file_that_gives_the_same_settings() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "check-config",
        "--port",
        "2999",
        "--bind",
        "::1",
        "--bind",
        "127.0.0.1",
        "--no-tls-reuse",
        "--upload-rate",
        "3M",
        "--passive-ports",
        "50000-50010",
        "--s3-prefix",
        "a \"quoted\" \\ prefix",
        "--proxy-protocol-from",
        "10.0.0.5",
    ];
    let printed = stdout(&ferryd(dir.path(), &flags, ""));
    for line in ["port = 2999", "bind = [\"::1\", \"127.0.0.1\"]", "tls-reuse = false", "upload-rate = 3145728", "# xferlog (not set)"] {
        assert!(printed.lines().any(|l| l == line), "no {line:?} in:\n{printed}");
    }
    std::fs::write(dir.path().join("printed.toml"), &printed).unwrap();
    let again = stdout(&ferryd(dir.path(), &["check-config", "--config", "printed.toml"], ""));
    assert_eq!(again, printed);
}

#[test]
fn user_commands_find_the_accounts_through_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("ferryd.toml"), "users = \"etc/accounts.txt\"\n").unwrap();
    let out = ferryd(dir.path(), &["user", "add", "bob", "--password-stdin", "--config", "ferryd.toml"], "b0b-pw\n");
    assert_eq!(stdout(&out), "added user bob in etc/accounts.txt\n");
    assert!(std::fs::read_to_string(dir.path().join("etc/accounts.txt")).unwrap().starts_with("bob:$argon2id$"));
    assert!(!dir.path().join("users.txt").exists());
    assert_eq!(stdout(&ferryd(dir.path(), &["user", "list", "-c", "ferryd.toml"], "")), "bob\n");
    // A flag wins over the file.
    let out = ferryd(dir.path(), &["user", "list", "--config", "ferryd.toml", "--users", "other.txt"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("other.txt: No such file"), "{}", String::from_utf8_lossy(&out.stderr));
    // The file is checked as the server checks it.
    std::fs::write(dir.path().join("ferryd.toml"), "user = \"etc/accounts.txt\"\n").unwrap();
    let out = ferryd(dir.path(), &["user", "list", "--config", "ferryd.toml"], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("unknown field `user`") && err.contains("line 1"), "{err}");
    // Passwd and del name the file they looked in.
    std::fs::write(dir.path().join("ferryd.toml"), "users = \"etc/accounts.txt\"\n").unwrap();
    let out = ferryd(dir.path(), &["user", "passwd", "carol", "--password-stdin", "-c", "ferryd.toml"], "x\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no user \"carol\" in etc/accounts.txt; add it with `ferryd user add carol`"), "{err}");
    let out = ferryd(dir.path(), &["user", "del", "bob", "-c", "ferryd.toml"], "");
    assert_eq!(stdout(&out), "removed user bob from etc/accounts.txt\n");
}
