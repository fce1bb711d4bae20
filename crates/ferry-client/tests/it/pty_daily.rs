//! The shell in a pseudo-terminal, for what annoyed a daily user
//! (issue 15), against ferryd and pyftpdlib: a broken-off download kept
//! and continued, completion that quotes and reaches other folders, extra
//! words refused, a mistyped password asked again, `mget` prompts with
//! all and quit, a long `ls`, and a reconnect after the server drops the
//! session.

use std::time::Duration;

use ferry_testkit::pseudo_random;

use crate::peers::{Peer, ferryd_and_pyftpdlib};
use crate::pty::{log_in_as, spawn_on};

fn spawn(peer: &Peer, dir: &std::path::Path, term: &str, extra: &[&str]) -> rexpect::session::PtySession {
    spawn_on(peer.port(), dir, term, extra)
}

fn log_in(p: &mut rexpect::session::PtySession, peer: &Peer) {
    log_in_as(p, peer.user(), peer.password());
}

/// Wait until the line editor is ready for the next line. On a real
/// terminal type (`xterm`) it turns bracketed paste on each time it
/// starts reading, so this does not match the redraws while a line is
/// edited; a line typed before that could be taken for the terminal's
/// answer to a query and lost.
fn next_prompt(p: &mut rexpect::session::PtySession) {
    p.exp_string("\u{1b}[?2004h").unwrap();
}

/// Type `keys` (ending in Tab) and wait for the line to read `completed`.
fn complete(p: &mut rexpect::session::PtySession, keys: &str, completed: &str) {
    p.send(keys).unwrap();
    p.flush().unwrap();
    p.exp_string(completed).unwrap();
}

#[test]
fn completion_quotes_names_and_reaches_other_folders() {
    for peer in ferryd_and_pyftpdlib(|_| {}, "") {
        std::fs::create_dir_all(peer.root().join("spaces in name")).unwrap();
        std::fs::write(peer.root().join("spaces in name/inner file.txt"), b"inner").unwrap();
        std::fs::create_dir_all(peer.root().join("a/b")).unwrap();
        std::fs::write(peer.root().join("a/b/c.txt"), b"deep").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut p = spawn(&peer, dir.path(), "xterm", &[]);
        log_in(&mut p, &peer);
        next_prompt(&mut p);
        complete(&mut p, "cd spa\t", "cd spaces\\ in\\ name/");
        p.send_line("").unwrap();
        next_prompt(&mut p);
        p.send_line("pwd").unwrap();
        p.exp_string("Remote directory: /spaces in name").unwrap();
        next_prompt(&mut p);
        complete(&mut p, "get inn\t", "get inner\\ file.txt");
        p.send_line("").unwrap();
        p.exp_string("Downloaded inner file.txt to inner file.txt").unwrap();
        next_prompt(&mut p);
        p.send_line("cd /").unwrap();
        next_prompt(&mut p);
        complete(&mut p, "get a/b/c\t", "get a/b/c.txt");
        p.send_line("").unwrap();
        p.exp_string("Downloaded a/b/c.txt to c.txt").unwrap();
        next_prompt(&mut p);
        // Unquoted words are not silently dropped.
        p.send_line("cd spaces in name").unwrap();
        p.exp_string("too many arguments; usage: cd DIR").unwrap();
        next_prompt(&mut p);
        // ls is long: type, size, name; folders marked.
        p.send_line("ls").unwrap();
        p.exp_string("  spaces in name/").unwrap();
        next_prompt(&mut p);
        p.send_line("bye").unwrap();
        p.exp_eof().unwrap();
        assert_eq!(std::fs::read(dir.path().join("inner file.txt")).unwrap(), b"inner", "{}", peer.name());
        assert_eq!(std::fs::read(dir.path().join("c.txt")).unwrap(), b"deep", "{}", peer.name());
    }
}

#[test]
fn a_mistyped_password_is_asked_again() {
    for peer in ferryd_and_pyftpdlib(|c| c.failure_delay = Duration::from_millis(10), "h.auth_failed_timeout = 0.1") {
        let dir = tempfile::tempdir().unwrap();
        let mut p = spawn(&peer, dir.path(), "dumb", &[]);
        p.exp_string("Name: ").unwrap();
        p.send_line(peer.user()).unwrap();
        p.exp_string("Password: ").unwrap();
        p.send_line("wrong").unwrap();
        p.exp_string("login failed: 530").unwrap();
        p.exp_string("(try 1 of 3)").unwrap();
        log_in(&mut p, &peer);
        p.exp_string("ferry> ").unwrap();
        p.send_line("bye").unwrap();
        p.exp_eof().unwrap();
    }
}

#[test]
fn three_wrong_passwords_leave_a_clear_state_that_user_mends() {
    for peer in ferryd_and_pyftpdlib(|c| c.failure_delay = Duration::from_millis(10), "h.auth_failed_timeout = 0.1") {
        let dir = tempfile::tempdir().unwrap();
        let mut p = spawn(&peer, dir.path(), "dumb", &[]);
        for _ in 0..3 {
            p.exp_string("Name: ").unwrap();
            p.send_line(peer.user()).unwrap();
            p.exp_string("Password: ").unwrap();
            p.send_line("wrong").unwrap();
        }
        // ferryd keeps the connection; pyftpdlib hangs up after three.
        let (kept, not_in, status) = if peer.name() == "ferryd" {
            (
                "Still connected to 127.0.0.1, not logged in",
                "Not logged in; use user NAME to log in",
                format!("Connected to 127.0.0.1:{}, not logged in: use user NAME.", peer.port()),
            )
        } else {
            (
                "The server closed the connection after the failed logins",
                "Not connected; use open HOST [PORT].",
                "Not connected.".to_owned(),
            )
        };
        p.exp_string(&format!("{kept}: use user NAME to try again.")).unwrap();
        p.exp_string("ferry> ").unwrap();
        p.send_line("ls").unwrap();
        p.exp_string(not_in).unwrap();
        p.send_line("status").unwrap();
        p.exp_string(&status).unwrap();
        p.send_line("mirror --parallel 4 t t2").unwrap();
        p.exp_string(not_in).unwrap();
        p.send_line(&format!("user {}", peer.user())).unwrap();
        p.exp_string("Password: ").unwrap();
        p.send_line(peer.password()).unwrap();
        p.exp_string(&format!("230 Logged in as {}.", peer.user())).unwrap();
        p.send_line("status").unwrap();
        p.exp_string(&format!("as {}.", peer.user())).unwrap();
        p.send_line("bye").unwrap();
        p.exp_eof().unwrap();
    }
}

#[test]
fn mget_asks_with_all_and_quit_and_ctrl_c_ends_it() {
    for peer in ferryd_and_pyftpdlib(|_| {}, "") {
        for n in ["a", "b", "c", "d"] {
            std::fs::write(peer.root().join(format!("{n}.txt")), n).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        // A terminal the line editor drives (on `dumb`, Ctrl-C is a signal
        // and the line editor never sees it).
        let mut p = spawn(&peer, dir.path(), "xterm", &[]);
        log_in(&mut p, &peer);
        next_prompt(&mut p);
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
        assert!(!dir.path().join("a.txt").exists(), "{}", peer.name());
        for n in ["b", "c", "d"] {
            assert_eq!(std::fs::read(dir.path().join(format!("{n}.txt"))).unwrap(), n.as_bytes(), "{}", peer.name());
        }
        p.send_line("mget *.txt").unwrap();
        p.exp_string("mget a.txt? ").unwrap();
        p.send_line("q").unwrap();
        next_prompt(&mut p);
        p.send_line("mget *.txt").unwrap();
        p.exp_string("mget a.txt? ").unwrap();
        p.send_control('c').unwrap();
        next_prompt(&mut p);
        assert!(!dir.path().join("a.txt").exists(), "{}: quit and Ctrl-C download nothing", peer.name());
        assert!(!dir.path().join("new_b.txt").exists(), "{}", peer.name());
        p.send_line("bye").unwrap();
        p.exp_eof().unwrap();
    }
}

#[test]
fn ctrl_c_keeps_the_part_and_get_continues_it() {
    for peer in ferryd_and_pyftpdlib(|_| {}, "") {
        let data = pseudo_random(3_000_000, 71);
        std::fs::write(peer.root().join("slow.bin"), &data).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut p = spawn(&peer, dir.path(), "dumb", &["--limit-rate", "2M"]);
        log_in(&mut p, &peer);
        p.exp_string("ferry> ").unwrap();
        p.send_line("get slow.bin").unwrap();
        std::thread::sleep(Duration::from_millis(600));
        p.send_control('c').unwrap();
        p.exp_string("in slow.bin.ferry-part; `get slow.bin` continues it.").unwrap();
        p.exp_string("ferry> ").unwrap();
        assert!(!dir.path().join("slow.bin").exists(), "{}", peer.name());
        p.send_line("get slow.bin").unwrap();
        // ferryd offers HASH; pyftpdlib only sizes and times.
        p.exp_string("Partial file slow.bin.ferry-part").unwrap();
        p.exp_string("Resumed slow.bin at byte").unwrap();
        p.exp_string("ferry> ").unwrap();
        assert!(std::fs::read(dir.path().join("slow.bin")).unwrap() == data, "{}", peer.name());
        p.send_line("bye").unwrap();
        p.exp_eof().unwrap();
    }
}

#[test]
fn a_dropped_session_reconnects_on_the_next_command_and_shows_why() {
    for peer in ferryd_and_pyftpdlib(|c| c.idle_timeout = Duration::from_secs(2), "h.timeout = 2") {
        std::fs::create_dir(peer.root().join("sub")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut p = spawn(&peer, dir.path(), "dumb", &[]);
        log_in(&mut p, &peer);
        p.exp_string("ferry> ").unwrap();
        p.send_line("cd sub").unwrap();
        p.exp_string("ferry> ").unwrap();
        std::thread::sleep(Duration::from_millis(3500));
        p.send_line("pwd").unwrap();
        p.exp_string("Connection lost (").unwrap();
        p.exp_string(&format!("reconnecting to 127.0.0.1:{} as {}.", peer.port(), peer.user())).unwrap();
        // Back in the same folder, and the command ran.
        p.exp_string("Remote directory: /sub").unwrap();
        p.exp_string("ferry> ").unwrap();
        p.send_line("bye").unwrap();
        p.exp_eof().unwrap();
    }
}

#[test]
fn a_resumed_bar_counts_only_the_bytes_moving_now() {
    let peer = ferryd_and_pyftpdlib(|_| {}, "").remove(0);
    let data = pseudo_random(4_000_000, 72);
    std::fs::write(peer.root().join("r.bin"), &data).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Half of it is here already, from an earlier broken-off get.
    std::fs::write(dir.path().join("r.bin.ferry-part"), &data[..2_000_000]).unwrap();
    let mut p = spawn(&peer, dir.path(), "xterm", &["--limit-rate", "1M"]);
    log_in(&mut p, &peer);
    next_prompt(&mut p);
    p.send_line("get r.bin").unwrap();
    p.exp_string("resuming at byte 2000000").unwrap();
    // The bar's rates while the second half comes at 1 MiB/s: never the
    // 2 MB already there counted as moved in no time.
    let mut rates = Vec::new();
    for _ in 0..5 {
        let (_, m) = p.exp_regex(r"[0-9.]+ [KMG]?i?B/s").unwrap();
        let (num, unit) = m.split_once(' ').unwrap();
        let scale = match unit.chars().next() {
            Some('K') => 1024.0,
            Some('M') => 1024.0 * 1024.0,
            Some('G') => 1024.0 * 1024.0 * 1024.0,
            _ => 1.0,
        };
        rates.push(num.parse::<f64>().unwrap() * scale);
    }
    assert!(rates.iter().all(|r| *r < 3.0 * 1024.0 * 1024.0), "rates shown: {rates:?}");
    p.exp_string("Resumed r.bin at byte 2000000").unwrap();
    assert!(std::fs::read(dir.path().join("r.bin")).unwrap() == data);
    next_prompt(&mut p);
    p.send_line("bye").unwrap();
    p.exp_eof().unwrap();
}
