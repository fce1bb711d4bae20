//! The interactive shell in a pseudo-terminal, as a person uses it: the
//! seed's walkthrough with the prompts, the `new` rename, upload, exit;
//! Ctrl-C during a transfer; tab completion and saved history.

use std::process::Command;

use ferry_testkit::{PASSWORD, TestServer, USER, pseudo_random};

pub(crate) fn spawn(s: &TestServer, dir: &std::path::Path, term: &str, extra: &[&str]) -> rexpect::session::PtySession {
    spawn_on(s.port(), dir, term, extra)
}

/// `ferry [extra] 127.0.0.1 PORT` in a pseudo-terminal of type `term`,
/// at home in `dir`.
pub(crate) fn spawn_on(port: u16, dir: &std::path::Path, term: &str, extra: &[&str]) -> rexpect::session::PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.args(extra).args(["127.0.0.1", &port.to_string()]).current_dir(dir).env("HOME", dir).env_remove("XDG_STATE_HOME").env("TERM", term);
    rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn in a pty")
}

pub(crate) fn log_in(p: &mut rexpect::session::PtySession) {
    log_in_as(p, USER, PASSWORD);
    p.exp_string("ferry> ").unwrap();
}

/// Answer the Name: and Password: prompts, and see the login accepted.
pub(crate) fn log_in_as(p: &mut rexpect::session::PtySession, user: &str, password: &str) {
    p.exp_string("Name: ").unwrap();
    p.send_line(user).unwrap();
    p.exp_string("Password: ").unwrap();
    p.send_line(password).unwrap();
    p.exp_string(&format!("230 Logged in as {user}.")).unwrap();
}

#[test]
fn seed_walkthrough_in_a_terminal() {
    let s = TestServer::start();
    std::fs::write(s.root().join("hello.txt"), b"hello from the server\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), b"mine\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"notes\n").unwrap();
    let mut p = spawn(&s, dir.path(), "dumb", &[]);
    p.exp_string("220 Ferry FTP server ready.").unwrap();
    p.exp_string("Name: ").unwrap();
    p.send_line(USER).unwrap();
    p.exp_string("Password: ").unwrap();
    p.send_line(PASSWORD).unwrap();
    let after_password = p.exp_string("230 Logged in as alice.").unwrap();
    assert!(!after_password.contains(PASSWORD), "the password was echoed");
    p.exp_string("ferry> ").unwrap();
    p.send_line("get").unwrap();
    p.exp_string("Enter filename to download: ").unwrap();
    p.send_line("hello.txt").unwrap();
    p.exp_string("saved hello.txt as new_hello.txt").unwrap();
    p.exp_string("ferry> ").unwrap();
    p.send_line("upload").unwrap();
    p.exp_string("Enter filename to upload: ").unwrap();
    p.send_line("notes.txt").unwrap();
    p.exp_string("Uploaded notes.txt").unwrap();
    p.exp_string("ferry> ").unwrap();
    p.send_line("exit").unwrap();
    p.exp_string("221 Goodbye.").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(std::fs::read(dir.path().join("new_hello.txt")).unwrap(), b"hello from the server\n");
    assert_eq!(std::fs::read(dir.path().join("hello.txt")).unwrap(), b"mine\n");
    assert_eq!(std::fs::read(s.root().join("notes.txt")).unwrap(), b"notes\n");
}

#[test]
fn ctrl_c_aborts_a_transfer_keeps_the_part_and_get_continues_it() {
    let s = TestServer::start();
    let data = pseudo_random(3_000_000, 70);
    std::fs::write(s.root().join("slow.bin"), &data).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A rate limit keeps the transfer running long enough to interrupt.
    let mut p = spawn(&s, dir.path(), "dumb", &["--limit-rate", "2M"]);
    log_in(&mut p);
    p.send_line("get slow.bin").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    p.send_control('c').unwrap();
    p.exp_string("in slow.bin.ferry-part; `get slow.bin` continues it.").unwrap();
    p.exp_string("interrupted").unwrap();
    p.exp_string("ferry> ").unwrap();
    assert!(!dir.path().join("slow.bin").exists(), "an interrupted get leaves no file under the final name");
    let kept = std::fs::metadata(dir.path().join("slow.bin.ferry-part")).unwrap().len();
    assert!(kept > 0 && kept < 3_000_000, "kept {kept}");
    p.send_line("get slow.bin").unwrap();
    p.exp_string("Partial file slow.bin.ferry-part checked (SHA-256); resuming at byte").unwrap();
    p.exp_string("Resumed slow.bin at byte").unwrap();
    p.exp_string("ferry> ").unwrap();
    assert!(std::fs::read(dir.path().join("slow.bin")).unwrap() == data);
    assert!(!dir.path().join("slow.bin.ferry-part").exists());
    p.send_line("bye").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn tab_completion_and_history() {
    let s = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(&s, dir.path(), "xterm", &[]);
    log_in(&mut p);
    // "lpw" + Tab completes to the one command it can be.
    p.send("lpw\t").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Local directory:").unwrap();
    p.exp_string("ferry> ").unwrap();
    p.send_line("bye").unwrap();
    p.exp_eof().unwrap();
    let history = std::fs::read_to_string(dir.path().join(".local/state/ferry/history")).unwrap();
    assert!(history.contains("lpwd"), "{history}");
}
