//! Attacks on the admin listener found in review, each kept as a test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ferry_testkit::require;
use serde_json::json;

use super::{ADMIN, ADMIN_PASSWORD, Node, Start, curl_ftp};

/// A request whose body never comes must not hold its connection (one of
/// the listener's 256) for ever: 256 such requests, sent without signing
/// in, would shut every admin out.
#[test]
fn a_body_that_never_arrives_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), Start::default());
    let mut stream = TcpStream::connect(("127.0.0.1", node.admin)).unwrap();
    stream
        .write_all(b"POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        .unwrap();
    let limit = ferry_admin::listen::BODY_DEADLINE + Duration::from_secs(10);
    stream.set_read_timeout(Some(limit)).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    assert!(read.is_ok(), "still waiting for the body after {:?}: {read:?}", started.elapsed());
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(started.elapsed() >= ferry_admin::listen::BODY_DEADLINE - Duration::from_secs(1), "cut off too early");
}

/// Wrong passwords sent all at once each pass the ban check before the
/// first of them is counted; once the ban is in force, none may still be
/// answered as merely wrong (that would let a guesser go on), and a right
/// one is refused too.
#[test]
fn guesses_sent_at_once_stop_at_the_ban() {
    if !require("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), Start { args: &["--ban-after", "3"], ..Start::default() });
    let guesses: Vec<std::thread::JoinHandle<(u16, String)>> = (0..24)
        .map(|i| {
            let base = node.base();
            std::thread::spawn(move || {
                let body = json!({"name": ADMIN, "password": format!("guess-{i}")}).to_string();
                super::curl_http(&base, "POST", "/api/v1/login", None, Some(&body), &[])
            })
        })
        .collect();
    let answers: Vec<(u16, String)> = guesses.into_iter().map(|g| g.join().unwrap()).collect();
    let wrong = answers.iter().filter(|(status, _)| *status == 401).count();
    assert!(wrong <= 2, "{wrong} guesses were answered `wrong password` with a ban after 3: {answers:?}");
    assert!(answers.iter().all(|(status, _)| matches!(status, 401 | 403)), "{answers:?}");
    let body = json!({"name": ADMIN, "password": ADMIN_PASSWORD}).to_string();
    let (status, text) = node.api("POST", "/api/v1/login", None, Some(&body));
    assert_eq!(status, 403, "banned: {text}");
}

/// On a dual-stack socket FTP clients come as `::ffff:127.0.0.1`, the
/// admin listener sees `127.0.0.1`: one address, so one ban.
#[test]
fn an_ftp_ban_on_a_mapped_address_covers_the_admin_login() {
    if !require("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), Start { args: &["--bind", "::ffff:127.0.0.1", "--ban-after", "2"], ..Start::default() });
    let token = node.login();
    for _ in 0..2 {
        let (code, _) = curl_ftp(&["-u", "alice:wrong", &format!("ftp://127.0.0.1:{}/", node.ftp)]);
        assert_ne!(code, 0);
    }
    let body = json!({"name": ADMIN, "password": ADMIN_PASSWORD}).to_string();
    let (status, text) = node.api("POST", "/api/v1/login", None, Some(&body));
    assert_eq!(status, 403, "the FTP ban covers the admin door: {text}");
    let bans = node.api_json("GET", "/api/v1/bans", &token, None, 200);
    assert_eq!(bans["bans"].as_array().map(Vec::len), Some(1), "{bans}");
    assert_eq!(bans["bans"][0]["address"], "127.0.0.1", "{bans}");
    // Either spelling lifts it.
    node.api_json("DELETE", "/api/v1/bans/::ffff:127.0.0.1", &token, None, 204);
    let (status, text) = node.api("POST", "/api/v1/login", None, Some(&body));
    assert_eq!(status, 200, "{text}");
}

/// Sequence numbers start again at 1 when ferryd restarts, and a
/// browser's event stream reconnects with the last id it saw before: an
/// id ahead of the server's newest must not mute the stream until the
/// numbers catch up.
#[test]
fn a_stream_resumed_from_an_id_ahead_of_the_server_still_gets_new_events() {
    if !require("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), Start::default());
    let token = node.login();
    let (base, auth) = (node.base(), format!("Authorization: Bearer {token}"));
    let stream = std::thread::spawn(move || {
        let out = std::process::Command::new("curl")
            .args(["-sS", "-N", "--max-time", "5", "-H", &auth, "-H", "Last-Event-ID: 1000000"])
            .arg(format!("{base}/api/v1/events/stream?event=login-failed"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    std::thread::sleep(Duration::from_secs(1));
    let (code, _) = curl_ftp(&["-u", "alice:wrong", &format!("ftp://127.0.0.1:{}/", node.ftp)]);
    assert_ne!(code, 0);
    let got = stream.join().unwrap();
    assert!(got.contains("event: event") && got.contains(r#""event":"login-failed""#), "{got:?}");
}
