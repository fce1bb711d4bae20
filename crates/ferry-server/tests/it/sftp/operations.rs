//! SFTP the way operators meet it: a client killed halfway through an
//! upload, the events, xferlog lines and session list every front door
//! shares (with `protocol = "sftp"`), an administrator's kick, and bans
//! that failed SFTP logins earn for FTP too.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::events::recorder::Recorder;
use ferry_core::events::{EventKind, Failure};
use ferry_core::storage::PartialOutcome;
use ferry_server::auth::defender::DefenderConfig;
use ferry_server::config::Subscribers;
use ferry_testkit::{Control, PASSWORD, TestServer, pseudo_random, require};

use super::paramiko::{have_paramiko, paramiko, paramiko_as};
use crate::sessions::eventually;

fn ready() -> bool {
    require("python3") && have_paramiko()
}

fn recorded() -> (TestServer, Arc<Recorder>) {
    let recorder = Recorder::new();
    let r = recorder.clone();
    (TestServer::start_sftp_with(None, move |c| c.subscribers = Subscribers(vec![r])), recorder)
}

/// A paramiko script that writes `half` bytes to `path` (opened with
/// `mode`), says so, and is then killed with SIGKILL: no close, no
/// goodbye, as a crashed client or a cut cable.
fn killed_halfway(s: &TestServer, path: &str, mode: &str, half: usize) {
    let code = format!(
        r#"
f = sftp.open("{path}", "{mode}")
f.set_pipelined(False)
f.write(b"n" * {half})
f.flush()
f.stat()
print("halfway", flush=True)
os.kill(os.getpid(), 9)
"#
    );
    let out = paramiko_as(s, ferry_testkit::USER, PASSWORD, &code);
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&out.status), Some(9), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("halfway"));
}

#[test]
fn an_upload_killed_halfway_leaves_the_old_file_intact() {
    if !ready() {
        return;
    }
    let (s, recorder) = recorded();
    let old = pseudo_random(3_000_000, 31);
    std::fs::write(s.root().join("report.bin"), &old).unwrap();
    killed_halfway(&s, "/report.bin", "wb", 1_000_000);
    let failed = eventually("the interrupted upload's event", || {
        recorder.events().into_iter().find_map(|e| match e.kind {
            EventKind::UploadFailed { failure, kept, transfer, .. } => Some((failure, kept, transfer)),
            _ => None,
        })
    });
    assert_eq!((failed.0, failed.1), (Failure::Interrupted, PartialOutcome::Discarded));
    assert_eq!(failed.2.path.as_str(), "/report.bin");
    assert!(std::fs::read(s.root().join("report.bin")).unwrap() == old, "the old file was damaged");
    assert!(super::temp_files(&s.root()).is_empty(), "the temporary file was left behind");
    // A new file keeps what arrived, for a resume (`reput`), as over FTP.
    killed_halfway(&s, "/fresh.bin", "wb", 500_000);
    eventually("the partial new file", || (std::fs::metadata(s.root().join("fresh.bin")).ok()?.len() == 500_000).then_some(()));
}

#[test]
fn an_update_in_place_killed_halfway_keeps_what_arrived() {
    if !ready() {
        return;
    }
    let (s, recorder) = recorded();
    std::fs::write(s.root().join("log.txt"), vec![b'o'; 400_000]).unwrap();
    // `r+b` opens without TRUNC: written in place, as a resume is.
    killed_halfway(&s, "/log.txt", "r+b", 100_000);
    eventually("the interrupted upload's event", || recorder.names().contains(&"upload_failed").then_some(()));
    let now = std::fs::read(s.root().join("log.txt")).unwrap();
    assert_eq!(now.len(), 400_000);
    assert!(now[..100_000].iter().all(|&b| b == b'n') && now[100_000..].iter().all(|&b| b == b'o'));
}

#[test]
fn events_and_xferlog_lines_say_sftp() {
    if !require("sftp") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("xferlog");
    let log = Arc::new(ferry_server::xferlog::XferLog::open(&log_path).unwrap());
    let recorder = Recorder::new();
    let r = recorder.clone();
    let s = TestServer::start_sftp_with(None, move |c| {
        c.subscribers = Subscribers(vec![r]);
        c.xferlog = Some(log);
    });
    std::fs::write(s.root().join("down.txt"), "12345").unwrap();
    std::fs::write(s.scratch().join("up.txt"), "abc").unwrap();
    s.sftp_ok(&format!(
        "put {} up.txt\nget down.txt {}\nmkdir d\nrmdir d\nrm up.txt\n",
        s.scratch().join("up.txt").display(),
        s.scratch().join("down.txt").display()
    ));
    eventually("the logout", || recorder.names().contains(&"logout").then_some(()));
    assert_eq!(recorder.names(), ["login_ok", "upload", "download", "mkdir", "rmdir", "delete", "logout"]);
    for e in recorder.events() {
        let actor = e.actor().expect("every one is a session's");
        assert_eq!((actor.session.protocol, &*actor.user), ("sftp", "alice"));
    }
    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains(" 3 /up.txt b _ i r alice sftp 0 * c"), "{text}");
    assert!(lines[1].contains(" 5 /down.txt b _ o r alice sftp 0 * c"), "{text}");
}

#[test]
fn an_sftp_session_is_listed_and_an_administrators_kick_ends_it() {
    if !ready() {
        return;
    }
    let (s, recorder) = recorded();
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "{}\nprint('in', flush=True)\ntry:\n    while True:\n        sftp.listdir('/'); time.sleep(0.05)\nexcept Exception as e:\n    print('ended', type(e).__name__, flush=True)\n",
            super::paramiko::PRELUDE
        ))
        .env("SFTP_PORT", s.sftp_port().to_string())
        .env("HOST_KEY", s.sftp_host_key().split_whitespace().nth(1).unwrap())
        .env("SFTP_USER", "alice")
        .env("SFTP_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The client says when its login is through (the server's list has
    // the user a moment before the client hears so).
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line, "in\n", "the client did not log in");
    let view = eventually("the SFTP session, logged in", || s.services().sessions().list().into_iter().find(|v| v.user.is_some()));
    assert_eq!((view.protocol, view.user.as_deref(), view.peer.ip()), ("sftp", Some("alice"), s.sftp_addr.unwrap().ip()));
    assert!(s.services().sessions().kick(view.id));
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the kicked client is still connected");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(rest.contains("ended"), "{rest}\n{}", String::from_utf8_lossy(&out.stderr));
    eventually("the session to go", || s.services().sessions().list().is_empty().then_some(()));
    eventually("the logout", || recorder.names().contains(&"logout").then_some(()));
}

#[test]
fn failed_sftp_passwords_earn_a_ban_that_holds_for_ftp_too() {
    if !ready() {
        return;
    }
    let s = TestServer::start_sftp_with(None, |c| c.defender = DefenderConfig { ban_after: 3, ..DefenderConfig::default() });
    // A good login first: that alone earns nothing.
    paramiko(&s, "sftp.listdir('/')");
    for _ in 0..3 {
        let out = paramiko_as(&s, "alice", "wrong password", "");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("Authentication failed"), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // Now the right password is no use from this address, by SFTP or FTP.
    let out = paramiko_as(&s, "alice", PASSWORD, "");
    assert!(!out.status.success(), "a banned address logged in");
    let c = Control::connect(s.addr);
    assert_eq!(c.greeting.code, 421, "{:?}", c.greeting);
}

#[test]
fn per_user_rate_limits_hold_over_sftp() {
    if !ready() {
        return;
    }
    let s = TestServer::start_sftp_with(Some("[users.alice]\ndownload_rate = \"1M\"\nupload_rate = \"1M\"\n"), |_| {});
    std::fs::write(s.root().join("two-megs"), pseudo_random(2 << 20, 5)).unwrap();
    std::fs::write(s.scratch().join("one-meg"), pseudo_random(1 << 20, 6)).unwrap();
    // A limit only ever slows a transfer down: a lower bound on the time
    // is safe to assert on any machine.
    let out = paramiko(
        &s,
        r#"
t0 = time.monotonic()
sftp.get("/two-megs", os.environ["SCRATCH"] + "/down")
print("down", time.monotonic() - t0)
t0 = time.monotonic()
sftp.put(os.environ["SCRATCH"] + "/one-meg", "/up")
print("up", time.monotonic() - t0)
"#,
    );
    let secs = |what: &str| -> f64 {
        out.lines().find_map(|l| l.strip_prefix(what)).and_then(|v| v.trim().parse().ok()).unwrap_or_else(|| panic!("{out}"))
    };
    assert!(secs("down ") >= 1.5, "2 MiB at 1 MB/s took {} s", secs("down "));
    assert!(secs("up ") >= 0.7, "1 MiB at 1 MB/s took {} s", secs("up "));
    assert_eq!(std::fs::metadata(s.root().join("up")).unwrap().len(), 1 << 20);
}

#[test]
fn a_client_that_stalls_in_the_ssh_handshake_is_cut_at_the_login_deadline() {
    use std::io::{Read, Write};
    let s = TestServer::start_sftp_with(None, |c| {
        c.login_timeout = Duration::from_secs(2);
        c.idle_timeout = Duration::from_secs(300);
    });
    // A version line and nothing more: no key exchange, no login.
    let mut tcp = std::net::TcpStream::connect(s.sftp_addr.unwrap()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    tcp.write_all(b"SSH-2.0-stalling\r\n").unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    assert!(started.elapsed() < Duration::from_secs(20), "held for {:?}, past the 2 s login deadline", started.elapsed());
}
