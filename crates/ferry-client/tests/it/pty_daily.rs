//! The shell in a pseudo-terminal, for what annoyed a daily user
//! (issue 15): completion that quotes and reaches other folders, extra
//! words refused, a mistyped password asked again, `mget` prompts with
//! all and quit, and a reconnect after the server drops the session.

use std::time::Duration;

use ferry_testkit::{PASSWORD, TestServer, USER};

use crate::pty::{log_in, spawn};

/// Wait until the line editor is ready for the next line. On a real
/// terminal type (`xterm`) it turns bracketed paste on each time it
/// starts reading, so this does not match the redraws while a line is
/// edited; a line typed before that could be taken for the terminal's
/// answer to a query and lost.
fn next_prompt(p: &mut rexpect::session::PtySession) {
    p.exp_string("\u{1b}[?2004h").unwrap();
}

#[test]
fn completion_quotes_names_and_reaches_other_folders() {
    let s = TestServer::start();
    std::fs::create_dir_all(s.root().join("spaces in name")).unwrap();
    std::fs::write(s.root().join("spaces in name/inner file.txt"), b"inner").unwrap();
    std::fs::create_dir_all(s.root().join("a/b")).unwrap();
    std::fs::write(s.root().join("a/b/c.txt"), b"deep").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(&s, dir.path(), "xterm", &[]);
    log_in(&mut p);
    p.send("cd spa\t").unwrap();
    p.flush().unwrap();
    p.exp_string("cd spaces\\ in\\ name/").unwrap();
    p.send_line("").unwrap();
    next_prompt(&mut p);
    p.send_line("pwd").unwrap();
    p.exp_string("Remote directory: /spaces in name").unwrap();
    next_prompt(&mut p);
    p.send("get inn\t").unwrap();
    p.flush().unwrap();
    p.exp_string("get inner\\ file.txt").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Downloaded inner file.txt to inner file.txt").unwrap();
    next_prompt(&mut p);
    p.send_line("cd /").unwrap();
    next_prompt(&mut p);
    p.send("get a/b/c\t").unwrap();
    p.flush().unwrap();
    p.exp_string("get a/b/c.txt").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Downloaded a/b/c.txt to c.txt").unwrap();
    next_prompt(&mut p);
    // Unquoted words are not silently dropped.
    p.send_line("cd spaces in name").unwrap();
    p.exp_string("too many arguments; usage: cd DIR").unwrap();
    next_prompt(&mut p);
    p.send_line("pwd").unwrap();
    p.exp_string("Remote directory: /").unwrap();
    next_prompt(&mut p);
    p.send_line("bye").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(std::fs::read(dir.path().join("inner file.txt")).unwrap(), b"inner");
    assert_eq!(std::fs::read(dir.path().join("c.txt")).unwrap(), b"deep");
}

#[test]
fn a_mistyped_password_is_asked_again() {
    let s = TestServer::start_with(|c| c.failure_delay = Duration::from_millis(10));
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(&s, dir.path(), "dumb", &[]);
    p.exp_string("Name: ").unwrap();
    p.send_line(USER).unwrap();
    p.exp_string("Password: ").unwrap();
    p.send_line("wrong").unwrap();
    p.exp_string("login failed: 530").unwrap();
    p.exp_string("(try 1 of 3)").unwrap();
    p.exp_string("Name: ").unwrap();
    p.send_line(USER).unwrap();
    p.exp_string("Password: ").unwrap();
    p.send_line(PASSWORD).unwrap();
    p.exp_string("230 Logged in as alice.").unwrap();
    p.exp_string("ferry> ").unwrap();
    p.send_line("bye").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn three_wrong_passwords_leave_a_clear_state_that_user_mends() {
    let s = TestServer::start_with(|c| c.failure_delay = Duration::from_millis(10));
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(&s, dir.path(), "dumb", &[]);
    for _ in 0..3 {
        p.exp_string("Name: ").unwrap();
        p.send_line(USER).unwrap();
        p.exp_string("Password: ").unwrap();
        p.send_line("wrong").unwrap();
    }
    p.exp_string("Still connected to 127.0.0.1, not logged in: use user NAME to try again.").unwrap();
    p.exp_string("ferry> ").unwrap();
    p.send_line("ls").unwrap();
    p.exp_string("Not logged in; use user NAME to log in").unwrap();
    p.send_line("status").unwrap();
    p.exp_string(&format!("Connected to 127.0.0.1:{}, not logged in: use user NAME.", s.port())).unwrap();
    p.send_line("mirror --parallel 4 t t2").unwrap();
    p.exp_string("Not logged in").unwrap();
    p.send_line(&format!("user {USER}")).unwrap();
    p.exp_string("Password: ").unwrap();
    p.send_line(PASSWORD).unwrap();
    p.exp_string("230 Logged in as alice.").unwrap();
    p.send_line("status").unwrap();
    p.exp_string("as alice.").unwrap();
    p.send_line("bye").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn mget_asks_with_all_and_quit_and_ctrl_c_ends_it() {
    let s = TestServer::start();
    for n in ["a", "b", "c", "d"] {
        std::fs::write(s.root().join(format!("{n}.txt")), n).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    // A terminal the line editor drives (on `dumb`, Ctrl-C is a signal
    // and the line editor never sees it).
    let mut p = spawn(&s, dir.path(), "xterm", &[]);
    log_in(&mut p);
    p.send_line("mget *.txt").unwrap();
    p.exp_string("mget a.txt? [y]es [n]o [a]ll [q]uit [?] ").unwrap();
    p.send_line("?").unwrap();
    p.exp_string("a: this one and all the rest without asking").unwrap();
    p.exp_string("mget a.txt? ").unwrap();
    p.send_line("n").unwrap();
    p.exp_string("mget b.txt? ").unwrap();
    p.send_line("a").unwrap();
    p.exp_string("Downloaded d.txt").unwrap();
    next_prompt(&mut p);
    assert!(!dir.path().join("a.txt").exists());
    for n in ["b", "c", "d"] {
        assert_eq!(std::fs::read(dir.path().join(format!("{n}.txt"))).unwrap(), n.as_bytes());
    }
    p.send_line("mget *.txt").unwrap();
    p.exp_string("mget a.txt? ").unwrap();
    p.send_line("q").unwrap();
    next_prompt(&mut p);
    p.send_line("mget *.txt").unwrap();
    p.exp_string("mget a.txt? ").unwrap();
    p.send_control('c').unwrap();
    next_prompt(&mut p);
    assert!(!dir.path().join("a.txt").exists(), "quit and Ctrl-C download nothing");
    assert!(!dir.path().join("new_b.txt").exists());
    p.send_line("bye").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn a_dropped_session_reconnects_on_the_next_command_and_shows_why() {
    let s = TestServer::start_with(|c| c.idle_timeout = Duration::from_secs(2));
    std::fs::create_dir(s.root().join("sub")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(&s, dir.path(), "dumb", &[]);
    log_in(&mut p);
    p.send_line("cd sub").unwrap();
    p.exp_string("ferry> ").unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    p.send_line("pwd").unwrap();
    p.exp_string("Connection lost (421").unwrap();
    p.exp_string(&format!("reconnecting to 127.0.0.1:{} as alice.", s.port())).unwrap();
    // Back in the same folder, and the command ran.
    p.exp_string("Remote directory: /sub").unwrap();
    p.exp_string("ferry> ").unwrap();
    p.send_line("bye").unwrap();
    p.exp_eof().unwrap();
}
