//! The shell and `mirror` over SFTP: the same commands, messages and
//! local-file rules as over FTP, against ferryd and OpenSSH's sshd; what
//! only FTP has refused with a reason; a connection the server closed
//! is opened again; in a terminal, a password is asked for only when the
//! keys are refused.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ferry_testkit::sshd::Sshd;
use ferry_testkit::{PASSWORD, TestServer, USER, make_sample_tree, pseudo_random, tree};

use crate::program::text;
use crate::sftp_program::knows;

/// `ferry` at home in `home` (whose `.ssh/known_hosts` is checked), with
/// no ssh-agent and its state kept there.
fn ferry_at(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.current_dir(home).env("HOME", home).env("XDG_STATE_HOME", home.join(".state")).env_remove("SSH_AUTH_SOCK");
    cmd
}

/// `ferry ARGS` at home in `home` (whose `.ssh/known_hosts` is checked),
/// with `script` on standard input and no ssh-agent.
pub(crate) fn shell(home: &Path, args: &[&str], script: &str) -> Output {
    let mut child =
        ferry_at(home).arg("--no-progress").args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn url(s: &TestServer) -> String {
    format!("sftp://{USER}:{PASSWORD}@127.0.0.1:{}/", s.sftp_port())
}

#[test]
fn the_shell_commands_work_over_sftp() {
    let s = TestServer::start_sftp();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    let report = pseudo_random(2_000_000, 71);
    let up = pseudo_random(1_500_000, 72);
    std::fs::write(s.root().join("report.bin"), &report).unwrap();
    std::fs::create_dir(s.root().join("docs")).unwrap();
    std::fs::write(s.root().join("docs/a.txt"), b"a\n").unwrap();
    std::fs::write(s.root().join("docs/b.txt"), b"b\n").unwrap();
    std::fs::write(home.join("report.bin"), b"mine").unwrap();
    std::fs::write(home.join("up.bin"), &up).unwrap();
    let script = "pwd\ncd docs\npwd\nls -1\ncd ..\nget report.bin\nmkdir in\nput up.bin in/up.bin\nsize in/up.bin\n\
                  rename in/up.bin in/moved.bin\nls -1 in\nchmod 640 in/moved.bin\nmodtime in/moved.bin\n\
                  put up.bin gone.bin\ndelete gone.bin\nmkdir tmp\nrmdir tmp\nmget docs/*.txt\nstatus\nexit\n";
    let out = shell(home, &[&url(&s)], script);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Connected to 127.0.0.1 over SFTP.") && t.contains("Logged in as alice."), "{t}");
    assert!(t.contains("Remote directory: /\n") && t.contains("Remote directory: /docs\n"), "{t}");
    assert!(t.contains("ferry> ls -1\na.txt\nb.txt\n"), "{t}");
    // The seed's rule: the local file stays, the copy gets a new name.
    assert!(t.contains("report.bin exists here; saved report.bin as new_report.bin"), "{t}");
    assert_eq!(std::fs::read(home.join("report.bin")).unwrap(), b"mine");
    assert!(std::fs::read(home.join("new_report.bin")).unwrap() == report, "get differs");
    assert!(t.contains("in/up.bin\t1500000"), "{t}");
    assert!(t.contains("ferry> ls -1 in\nmoved.bin\n"), "{t}");
    let moved = s.root().join("in/moved.bin");
    assert!(std::fs::read(&moved).unwrap() == up, "put differs");
    assert_eq!(std::fs::metadata(&moved).unwrap().permissions().mode() & 0o777, 0o640);
    assert!(t.contains("Deleted gone.bin") && !s.root().join("gone.bin").exists(), "{t}");
    assert!(!s.root().join("tmp").exists(), "{t}");
    assert_eq!(std::fs::read(home.join("a.txt")).unwrap(), b"a\n");
    assert_eq!(std::fs::read(home.join("b.txt")).unwrap(), b"b\n");
    assert!(t.contains(&format!("Connected to 127.0.0.1:{} as alice over SFTP.", s.sftp_port())), "{t}");
    assert!(t.contains("posix-rename@openssh.com"), "{t}");
    assert!(String::from_utf8_lossy(&out.stdout).trim_end().ends_with("\nGoodbye."), "{t}");
}

#[test]
fn ftp_only_commands_are_refused_and_a_closed_connection_is_opened_again() {
    let s = TestServer::start_sftp_with(None, |c| c.idle_timeout = Duration::from_secs(2));
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    std::fs::write(s.root().join("here.txt"), b"x").unwrap();
    let script = format!("quote NOOP\nascii\nls -1\n!sleep 4\nls -1\nchmod 99 here.txt\nuser {USER} wrong\nls -1\nexit\n");
    let out = shell(home, &[&url(&s)], &script);
    let t = text(&out);
    // The refusals decide the exit status (usage); the rest goes on.
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("quote is FTP's; this session is SFTP"), "{t}");
    assert!(t.contains("ascii mode is FTP's; SFTP moves files byte for byte"), "{t}");
    assert!(t.contains(&format!("reconnecting to 127.0.0.1:{} as alice.", s.sftp_port())), "{t}");
    assert!(t.contains("chmod: bad mode \"99\": give octal bits"), "{t}");
    // A failed login as someone else keeps the session there was.
    assert!(t.contains(&format!("Still connected to 127.0.0.1:{} as alice.", s.sftp_port())), "{t}");
    assert_eq!(t.matches("\nhere.txt\n").count(), 3, "{t}");
}

#[test]
fn mirror_both_ways_over_sftp() {
    let s = TestServer::start_sftp();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    make_sample_tree(&s.root().join("site"));
    let script = "mirror site copy\nmirror site copy\nmirror -R --parallel 3 copy back\nmirror -R copy back\nexit\n";
    let out = shell(home, &[&url(&s)], script);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(tree(&home.join("copy")) == tree(&s.root().join("site")), "mirror down differs: {t}");
    assert!(tree(&s.root().join("back")) == tree(&home.join("copy")), "mirror up differs: {t}");
    // Times are kept both ways, so the second runs send nothing.
    let files = tree(&s.root().join("site")).values().filter(|v| v.is_some()).count();
    assert_eq!(t.matches(&format!("{files} up to date, 0 transferred")).count(), 2, "{t}");
    // --delete removes what the source no longer has.
    std::fs::remove_file(home.join("copy/top.txt")).unwrap();
    std::fs::remove_dir(home.join("copy/empty-dir")).unwrap();
    let out = shell(home, &[&url(&s)], "mirror -R --delete copy back\nexit\n");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Removed back/top.txt") && t.contains("Removed back/empty-dir"), "{t}");
    assert!(tree(&s.root().join("back")) == tree(&home.join("copy")), "mirror --delete differs: {t}");
}

#[test]
fn the_shell_and_mirror_against_openssh_sshd() {
    let Some(d) = Sshd::start() else { return };
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &d.known_hosts);
    let data = pseudo_random(2_500_000, 73);
    std::fs::write(home.join("up.bin"), &data).unwrap();
    make_sample_tree(&home.join("tree"));
    let target = format!("sftp://{}@127.0.0.1:{}{}/", d.user, d.port, d.files.display());
    let script = "pwd\nput up.bin\nget up.bin\nmirror -R tree tree\nmirror tree tree2\nreget up.bin part.bin\nexit\n";
    std::fs::write(home.join("part.bin"), &data[..100_000]).unwrap();
    let out = shell(home, &["-i", d.key.to_str().unwrap(), &target], script);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains(&format!("Remote directory: {}", d.files.display())), "{t}");
    assert!(std::fs::read(d.files.join("up.bin")).unwrap() == data, "put to sshd differs");
    assert!(std::fs::read(home.join("new_up.bin")).unwrap() == data, "get from sshd differs");
    assert!(tree(&d.files.join("tree")) == tree(&home.join("tree")), "mirror -R to sshd differs: {t}");
    assert!(tree(&home.join("tree2")) == tree(&home.join("tree")), "mirror from sshd differs: {t}");
    // reget: the partial file checked (size and time) and continued.
    assert!(t.contains("Resumed up.bin at byte 100000"), "{t}");
    assert!(std::fs::read(home.join("part.bin")).unwrap() == data, "reget differs");
}

#[test]
fn in_a_terminal_the_password_is_asked_for_when_no_key_is_accepted() {
    let s = TestServer::start_sftp();
    std::fs::write(s.root().join("hello.txt"), b"hello\n").unwrap();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    let mut cmd = ferry_at(home);
    cmd.arg(format!("sftp://{USER}@127.0.0.1:{}/", s.sftp_port())).env("TERM", "dumb");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string(&format!("{USER}@127.0.0.1's password: ")).unwrap();
    p.send_line("wrong").unwrap();
    p.exp_string("(try 1 of 3)").unwrap();
    p.exp_string(&format!("{USER}@127.0.0.1's password: ")).unwrap();
    p.send_line(PASSWORD).unwrap();
    let after = p.exp_string("Logged in as alice.").unwrap();
    assert!(!after.contains(PASSWORD), "the password was echoed");
    p.exp_string("ferry> ").unwrap();
    p.send_line("get hello.txt").unwrap();
    p.exp_string("Downloaded hello.txt to hello.txt").unwrap();
    p.exp_string("ferry> ").unwrap();
    p.send_line("exit").unwrap();
    p.exp_string("Goodbye.").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(std::fs::read(home.join("hello.txt")).unwrap(), b"hello\n");
}

#[test]
fn ctrl_c_stops_an_sftp_transfer_and_loses_nothing() {
    // Rate limits keep the transfers running long enough to interrupt.
    let s = TestServer::start_sftp_with(Some("[users.alice]\ndownload_rate = \"1M\"\nupload_rate = \"1M\"\n"), |_| {});
    let data = pseudo_random(3_000_000, 74);
    std::fs::write(s.root().join("slow.bin"), &data).unwrap();
    std::fs::write(s.root().join("old.bin"), b"the old file\n").unwrap();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    std::fs::write(home.join("big.bin"), &data).unwrap();
    let mut cmd = ferry_at(home);
    cmd.arg(url(&s)).env("TERM", "dumb");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string("ferry> ").unwrap();
    // A download: what arrived is kept in the part file, and continued.
    p.send_line("get slow.bin").unwrap();
    std::thread::sleep(Duration::from_millis(700));
    p.send_control('c').unwrap();
    p.exp_string("in slow.bin.ferry-part; `get slow.bin` continues it.").unwrap();
    p.exp_string("interrupted").unwrap();
    p.exp_string("ferry> ").unwrap();
    assert!(!home.join("slow.bin").exists(), "an interrupted get leaves no file under the final name");
    let kept = std::fs::metadata(home.join("slow.bin.ferry-part")).unwrap().len();
    assert!(kept > 0 && kept < 3_000_000, "kept {kept}");
    p.send_line("get slow.bin").unwrap();
    p.exp_string("Partial file slow.bin.ferry-part matches by size and modification time only").unwrap();
    p.exp_string("Resumed slow.bin at byte").unwrap();
    p.exp_string("ferry> ").unwrap();
    assert!(std::fs::read(home.join("slow.bin")).unwrap() == data, "the resumed get differs");
    // An upload over an existing file: stopped, the old file stays whole.
    p.send_line("put big.bin old.bin").unwrap();
    std::thread::sleep(Duration::from_millis(700));
    p.send_control('c').unwrap();
    p.exp_string("interrupted").unwrap();
    p.exp_string("The next command reconnects.").unwrap();
    p.exp_string("ferry> ").unwrap();
    p.send_line("ls -1").unwrap();
    p.exp_string("reconnecting to").unwrap();
    p.exp_string("old.bin").unwrap();
    p.exp_string("ferry> ").unwrap();
    assert_eq!(std::fs::read(s.root().join("old.bin")).unwrap(), b"the old file\n");
    p.send_line("exit").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn open_user_resumed_and_appended_uploads_checksum_and_deploy_over_sftp() {
    let s = TestServer::start_sftp();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    let data = pseudo_random(1_200_000, 75);
    std::fs::write(home.join("full.bin"), &data).unwrap();
    std::fs::write(home.join("head.bin"), &data[..500_000]).unwrap();
    std::fs::write(home.join("tail.txt"), b"two\n").unwrap();
    std::fs::create_dir(s.root().join("docs")).unwrap();
    std::fs::write(s.root().join("docs/log.txt"), b"one\n").unwrap();
    make_sample_tree(&home.join("site"));
    let script = format!(
        "open sftp://{USER}:{PASSWORD}@127.0.0.1:{}/docs\npwd\nput head.bin big.bin\nreput full.bin big.bin\nappend tail.txt log.txt\n\
         mirror --checksum /docs copy\nmirror --checksum /docs copy\nmirror -R --state state.json site /deployed\n\
         mirror -R --state state.json site /deployed\nuser {USER} {PASSWORD}\npwd\nexit\n",
        s.sftp_port()
    );
    let out = shell(home, &[], &script);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Remote directory: /docs\n"), "{t}");
    // reput: the remote part checked, then continued in place.
    assert!(t.contains("Remote part checked (size and modification time); resuming at byte 500000."), "{t}");
    assert!(std::fs::read(s.root().join("docs/big.bin")).unwrap() == data, "reput differs");
    assert_eq!(std::fs::read(s.root().join("docs/log.txt")).unwrap(), b"one\ntwo\n");
    assert!(t.contains("SFTP gives no digests of files; --checksum falls back to sizes and times"), "{t}");
    assert!(tree(&home.join("copy")) == tree(&s.root().join("docs")), "mirror --checksum differs: {t}");
    // Deploy mode: the state goes up beside the files; the second run sends nothing.
    assert!(t.contains("No state yet, here or on the server: every file is sent."), "{t}");
    let mut deployed = tree(&s.root().join("deployed"));
    assert!(deployed.remove(".ferry-state.json").is_some(), "no state on the server: {t}");
    assert!(deployed == tree(&home.join("site")), "deploy differs: {t}");
    assert!(t.contains(", 0 transferred, 0 deleted (state in state.json)"), "{t}");
    // `user` over SFTP is a new login, back in the login folder.
    assert!(t.contains("ferry> pwd\nRemote directory: /\n"), "{t}");
}

#[test]
fn get_to_standard_output_writes_after_what_it_already_holds() {
    let s = TestServer::start_sftp();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    let data = pseudo_random(700_000, 76);
    std::fs::write(s.root().join("one.bin"), &data).unwrap();
    // Standard output a regular file, with a header already in it (as
    // `{ echo HEADER; ferry get URL -; } > out` makes it).
    let out_path = home.join("out.bin");
    std::fs::write(&out_path, b"HEADER\n").unwrap();
    for _ in 0..2 {
        let mut out = std::fs::OpenOptions::new().write(true).open(&out_path).unwrap();
        std::io::Seek::seek(&mut out, std::io::SeekFrom::End(0)).unwrap();
        let status = ferry_at(home)
            .args(["--no-progress", "get", &format!("{}one.bin", url(&s)), "-"])
            .current_dir(home)
            .env("HOME", home)
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null())
            .stdout(out)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let mut want = b"HEADER\n".to_vec();
    want.extend_from_slice(&data);
    want.extend_from_slice(&data);
    assert!(std::fs::read(&out_path).unwrap() == want, "standard output was written at offsets");
}

#[test]
fn ctrl_c_stops_a_put_from_an_idle_standard_input() {
    let s = TestServer::start_sftp();
    std::fs::write(s.root().join("x.bin"), b"the old file\n").unwrap();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    // Standard input is the terminal, and nobody types.
    let mut cmd = ferry_at(home);
    cmd.args(["--no-progress", "put", "-", &format!("{}x.bin", url(&s))]);
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    p.send_control('c').unwrap();
    p.exp_string("interrupted").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(std::fs::read(s.root().join("x.bin")).unwrap(), b"the old file\n");
}

#[test]
fn ctrl_c_stops_a_get_to_a_pipe_nobody_reads() {
    let s = TestServer::start_sftp();
    std::fs::write(s.root().join("big.bin"), pseudo_random(8_000_000, 77)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    let mut child = ferry_at(home)
        .args(["--no-progress", "get", &format!("{}big.bin", url(&s)), "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The pipe fills and nobody reads it; then the user presses Ctrl-C.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "ferry ended before the pipe filled");
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("ferry did not stop on SIGINT while its output pipe was full");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("interrupted"), "{err}");
}

#[test]
fn put_reads_a_fifo_to_its_end() {
    let s = TestServer::start_sftp();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    let fifo = home.join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let data = pseudo_random(900_000, 78);
    let child = ferry_at(home)
        .args(["--no-progress", "put", "pipe", &format!("{}from-pipe.bin", url(&s))])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Opening for writing waits until ferry opens it for reading.
    std::fs::OpenOptions::new().write(true).open(&fifo).unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read(s.root().join("from-pipe.bin")).unwrap() == data, "the FIFO's bytes differ");
}

#[test]
fn an_open_that_fails_keeps_the_session_there_was() {
    let s = TestServer::start_sftp();
    std::fs::write(s.root().join("here.txt"), b"x").unwrap();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    knows(home, &s.known_hosts());
    let nobody = ferry_testkit::free_port();
    // Over FTP to a port nobody listens on, then over SFTP with a bad password.
    let script = format!("open 127.0.0.1 {nobody}\nls -1\nopen sftp://{USER}:wrong@127.0.0.1:{}/\nls -1\nexit\n", s.sftp_port());
    let out = shell(home, &[&url(&s)], &script);
    let t = text(&out);
    assert_eq!(t.matches(&format!("Still connected to 127.0.0.1:{} as alice.", s.sftp_port())).count(), 2, "{t}");
    assert_eq!(t.matches("\nhere.txt\n").count(), 2, "{t}");
}
