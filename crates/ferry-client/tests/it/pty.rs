//! The interactive shell in a pseudo-terminal, as a person uses it: the
//! seed's walkthrough with the prompts, the `new` rename, upload, exit.

use std::process::Command;

use ferry_testkit::{PASSWORD, TestServer, USER};

#[test]
fn seed_walkthrough_in_a_terminal() {
    let s = TestServer::start();
    std::fs::write(s.root().join("hello.txt"), b"hello from the server\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), b"mine\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"notes\n").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.args(["127.0.0.1", &s.port().to_string()])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("TERM", "dumb");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn in a pty");
    p.exp_string("220 Ferry FTP server ready.").unwrap();
    p.exp_string("Name: ").unwrap();
    p.send_line(USER).unwrap();
    p.exp_string("Password: ").unwrap();
    p.send_line(PASSWORD).unwrap();
    p.exp_string("230 Logged in as alice.").unwrap();
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
    // The password was not echoed.
    // (rexpect keeps what it read; a pty would show typed text if echo were on.)
}
