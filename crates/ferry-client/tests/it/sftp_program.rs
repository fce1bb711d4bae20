//! `ferry get|put|ls sftp://…` against ferryd and OpenSSH's sshd: the
//! FTP side's local-file rules (a `new_` name, never an overwrite unless
//! asked), resumes, JSON, exit statuses, and the host key asked about on
//! a terminal, refused in a script.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use ferry_testkit::sshd::Sshd;
use ferry_testkit::{PASSWORD, TestServer, USER, pseudo_random};

use crate::program::text;

/// `ferry ARGS` at home in `home` (its `.ssh/known_hosts` is the one
/// checked), with no agent.
fn ferry(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["--no-progress"])
        .args(args)
        .current_dir(home)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join(".state"))
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn knows(home: &Path, known_hosts: &Path) {
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::copy(known_hosts, home.join(".ssh/known_hosts")).unwrap();
}

#[test]
fn get_put_and_ls_over_sftp_keep_the_local_file_rules() {
    let s = TestServer::start_sftp();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    let url = |p: &str| format!("sftp://{USER}:{PASSWORD}@127.0.0.1:{}/{p}", s.sftp_port());
    let data = pseudo_random(2_000_000, 61);
    std::fs::write(s.root().join("report.bin"), &data).unwrap();
    let out = ferry(home, &["get", &url("report.bin")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read(home.join("report.bin")).unwrap() == data);
    // Again: the existing file stays, the copy gets a `new_` name.
    std::fs::write(home.join("report.bin"), b"mine").unwrap();
    let out = ferry(home, &["get", &url("report.bin")]);
    assert!(out.status.success() && text(&out).contains("new_report.bin"), "{}", text(&out));
    assert_eq!(std::fs::read(home.join("report.bin")).unwrap(), b"mine");
    assert!(std::fs::read(home.join("new_report.bin")).unwrap() == data);
    // --resume continues a partial local file.
    std::fs::write(home.join("report.bin"), &data[..123_456]).unwrap();
    let out = ferry(home, &["--resume", "get", &url("report.bin")]);
    assert!(out.status.success() && text(&out).contains("Resumed"), "{}", text(&out));
    assert!(std::fs::read(home.join("report.bin")).unwrap() == data);
    // put, to a folder URL (keeps the local name) and resumed.
    std::fs::create_dir(s.root().join("in")).unwrap();
    let out = ferry(home, &["put", "report.bin", &url("in/")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read(s.root().join("in/report.bin")).unwrap() == data);
    std::fs::write(s.root().join("in/half.bin"), &data[..1000]).unwrap();
    let out = ferry(home, &["--resume", "put", "report.bin", &url("in/half.bin")]);
    assert!(out.status.success() && text(&out).contains("Resumed upload"), "{}", text(&out));
    assert!(std::fs::read(s.root().join("in/half.bin")).unwrap() == data);
    // Standard output and standard input.
    let out = ferry(home, &["get", &url("report.bin"), "-"]);
    assert!(out.status.success() && out.stdout == data, "get to stdout differs: {}", String::from_utf8_lossy(&out.stderr));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["--no-progress", "put", "-", &url("in/from-stdin.bin")])
        .env("HOME", home)
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read(s.root().join("in/from-stdin.bin")).unwrap() == data, "put from stdin differs");
    std::fs::remove_file(s.root().join("in/from-stdin.bin")).unwrap();
    // ls, plain and JSON.
    let out = ferry(home, &["ls", &url("in")]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("report.bin"), "{}", text(&out));
    let out = ferry(home, &["ls", "--json", &url("in")]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[1]["name"], "report.bin");
    assert_eq!(listed[1]["size"], data.len() as u64);
    assert_eq!(listed[1]["type"], "file");
    // Exit statuses: a missing file, a wrong password.
    let out = ferry(home, &["get", &url("nothing.bin")]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("No such file"));
    let out = ferry(home, &["ls", &format!("sftp://{USER}:wrong@127.0.0.1:{}/", s.sftp_port())]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
}

#[test]
fn an_unknown_host_is_refused_in_a_script_and_asked_about_on_a_terminal() {
    let s = TestServer::start_sftp();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let url = format!("sftp://{USER}:{PASSWORD}@127.0.0.1:{}/", s.sftp_port());
    let out = ferry(home, &["ls", &url]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("not known") && text(&out).contains(s.sftp_fingerprint()), "{}", text(&out));
    assert!(!home.join(".ssh/known_hosts").exists());
    // On a terminal: the fingerprint, a question, and a yes remembers it.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.args(["ls", &url]).current_dir(home).env("HOME", home).env_remove("SSH_AUTH_SOCK");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string(&format!("ssh-ed25519 key fingerprint is {}.", s.sftp_fingerprint())).unwrap();
    p.exp_string("Are you sure you want to continue connecting (yes/no)? ").unwrap();
    p.send_line("yes").unwrap();
    p.exp_eof().unwrap();
    let known = std::fs::read_to_string(home.join(".ssh/known_hosts")).unwrap();
    assert!(known.contains(s.sftp_host_key().split_whitespace().nth(1).unwrap()), "{known}");
    // Known now: a script goes through.
    let out = ferry(home, &["ls", &url]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn against_openssh_sshd_with_identity() {
    let Some(d) = Sshd::start() else { return };
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &d.known_hosts);
    let data = pseudo_random(3_000_000, 62);
    std::fs::write(home.join("up.bin"), &data).unwrap();
    let key = d.key.to_str().unwrap();
    let url = |p: &str| format!("sftp://{}@127.0.0.1:{}{}/{p}", d.user, d.port, d.files.display());
    let out = ferry(home, &["-i", key, "put", "up.bin", &url("up.bin")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read(d.files.join("up.bin")).unwrap() == data, "put to sshd differs");
    std::fs::remove_file(home.join("up.bin")).unwrap();
    let out = ferry(home, &["-i", key, "get", &url("up.bin")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read(home.join("up.bin")).unwrap() == data, "get from sshd differs");
    let out = ferry(home, &["-i", key, "ls", "--json", &url("")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"up.bin\""), "{}", text(&out));
    // Without the key: refused, exit 4.
    let out = ferry(home, &["ls", &url("")]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
}
