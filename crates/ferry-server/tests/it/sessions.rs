//! The core's session registry, as the FTP front door fills it: every
//! connection is listed from its accept (before any login), with its user
//! once logged in and the transfer it runs, bytes growing as they move;
//! and an administrator's kick ends a session, idle or mid-transfer, the
//! way an abort would, with `421 Session ended by an administrator.`

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::events::recorder::Recorder;
use ferry_core::events::{EventKind, Failure};
use ferry_core::sessions::{Direction, SessionView, TransferView};
use ferry_server::config::Subscribers;
use ferry_testkit::{Control, Spawned, TestServer, USER, pseudo_random, require};

const KICKED: &str = "Session ended by an administrator.";

fn recorded() -> (TestServer, Arc<Recorder>) {
    let recorder = Recorder::new();
    let r = recorder.clone();
    let s = TestServer::start_with(move |c| c.subscribers = Subscribers(vec![r]));
    (s, recorder)
}

/// Wait (bounded) until `cond` gives something.
#[track_caller]
pub(crate) fn eventually<T>(what: &str, mut cond: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sessions(s: &TestServer) -> Vec<SessionView> {
    s.services().sessions().list()
}

/// The one session's running transfer, once it has moved more than `after` bytes.
#[track_caller]
fn transfer_past(s: &TestServer, after: u64) -> (SessionView, TransferView) {
    eventually(&format!("a transfer past {after} bytes"), || {
        let list = sessions(s);
        let view = list.into_iter().next()?;
        let t = view.transfer.clone().filter(|t| t.bytes > after)?;
        Some((view, t))
    })
}

/// Temporary upload files (`.~ferry-…`) anywhere below `dir`.
pub(crate) fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(".~ferry-") {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn a_session_is_listed_from_its_accept_with_its_user_and_a_live_uploads_growing_bytes() {
    let (s, recorder) = recorded();
    assert!(sessions(&s).is_empty());
    let mut c = Control::connect(s.addr);
    let view = eventually("the new connection to be listed", || sessions(&s).into_iter().next());
    assert_eq!((view.protocol, view.peer.ip(), view.user.clone(), view.transfer.clone()), ("ftp", s.addr.ip(), None, None));
    c.login(USER, ferry_testkit::PASSWORD);
    let listed = sessions(&s);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user.as_deref(), Some(USER));
    // The registry's number is the events' session number.
    match &recorder.events()[0].kind {
        EventKind::LoginOk { actor } => assert_eq!(actor.session.id, listed[0].id),
        other => panic!("{other:?}"),
    }

    // A raw upload, a piece at a time: the listing follows it.
    c.expect("TYPE I", 200);
    c.expect("ALLO 300000", 202);
    let mut data = c.epsv();
    c.expect("STOR up.bin", 150);
    data.write_all(&[1u8; 100_000]).unwrap();
    let (_, first) = transfer_past(&s, 0);
    assert_eq!((first.path.as_str(), first.direction, first.size), ("/up.bin", Direction::Upload, Some(300_000)));
    data.write_all(&[2u8; 200_000]).unwrap();
    let (_, later) = transfer_past(&s, first.bytes);
    assert!(later.bytes > first.bytes && later.bytes <= 300_000, "{first:?} then {later:?}");
    assert_eq!(later.since, first.since, "the same transfer");
    drop(data);
    assert_eq!(c.read_reply().code, 226);
    assert_eq!(sessions(&s)[0].transfer, None, "a finished transfer is no longer listed");

    // A real client, throttled: bytes grow, at a rate that says so.
    if require("curl") {
        let local = s.scratch().join("curl.bin");
        std::fs::write(&local, pseudo_random(3 << 20, 3)).unwrap();
        let child = Command::new("curl")
            .args(["-s", "--limit-rate", "1M", "-T"])
            .arg(&local)
            .arg(s.url("curl.bin"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut child = Spawned(child);
        let curl_session = |after: u64| {
            eventually("curl's upload to grow", || {
                sessions(&s)
                    .into_iter()
                    .find_map(|v| v.transfer.clone().filter(|t| t.path == "/curl.bin" && t.bytes > after).map(|t| (v, t)))
            })
        };
        let (v, t1) = curl_session(0);
        assert_eq!((v.user.as_deref(), t1.direction, t1.size), (Some(USER), Direction::Upload, None));
        std::thread::sleep(Duration::from_millis(600));
        let (_, t2) = curl_session(t1.bytes);
        assert!(t2.rate > 0 && t2.rate < 20 << 20, "about 1 MiB/s: {t2:?}");
        assert!(child.0.wait().unwrap().success());
        assert_eq!(std::fs::read(s.root().join("curl.bin")).unwrap(), std::fs::read(&local).unwrap());
    }
    c.expect("QUIT", 221);
    eventually("the session to leave the list", || sessions(&s).is_empty().then_some(()));
}

#[test]
fn a_kick_ends_an_idle_session_with_421_and_its_logout_event() {
    let (s, recorder) = recorded();
    let mut c = s.login();
    let id = sessions(&s)[0].id;
    assert!(s.services().sessions().kick(id));
    let r = c.read_reply();
    assert_eq!((r.code, r.text()), (421, KICKED.to_owned()));
    assert!(c.is_closed(), "the control connection closes");
    eventually("the session to leave the list", || sessions(&s).is_empty().then_some(()));
    assert!(!s.services().sessions().kick(id), "no such session any more");
    eventually("the logout event", || (recorder.names() == ["login_ok", "logout"]).then_some(()));

    // One that never logged in is listed, and kicked, too.
    let mut c = Control::connect(s.addr);
    let id = eventually("the new connection", || sessions(&s).first().map(|v| v.id));
    assert!(s.services().sessions().kick(id));
    assert_eq!(c.read_reply().code, 421);
    assert!(c.is_closed());
    assert_eq!(recorder.names(), ["login_ok", "logout"], "no login, so no logout");
    // The server goes on.
    s.login().expect("QUIT", 221);
}

#[test]
fn a_kick_during_a_curl_upload_keeps_the_old_file_and_tells_an_interrupted_upload() {
    if !require("curl") {
        return;
    }
    let (s, recorder) = recorded();
    let old = pseudo_random(100_000, 1);
    std::fs::write(s.root().join("victim.bin"), &old).unwrap();
    let local = s.scratch().join("big.bin");
    std::fs::write(&local, pseudo_random(16 << 20, 2)).unwrap();
    let child = Command::new("curl")
        .args(["-s", "-S", "--limit-rate", "1M", "-T"])
        .arg(&local)
        .arg(s.url("victim.bin"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Spawned(child);
    let (view, t) = transfer_past(&s, 64 * 1024);
    assert_eq!((t.path.as_str(), t.direction), ("/victim.bin", Direction::Upload));
    assert!(s.services().sessions().kick(view.id));
    let status = child.0.wait().unwrap();
    let mut stderr = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!status.success(), "curl must see the upload fail: {stderr}");
    eventually("the upload's clean-up", || temp_files(&s.root()).is_empty().then_some(()));
    assert!(std::fs::read(s.root().join("victim.bin")).unwrap() == old, "the old file is intact");
    eventually("the session's end", || sessions(&s).is_empty().then_some(()));
    eventually("the events", || (recorder.names() == ["login_ok", "upload_failed", "logout"]).then_some(()));
    match &recorder.events()[1].kind {
        EventKind::UploadFailed { actor, transfer, failure, .. } => {
            assert_eq!((actor.session.id, transfer.path.as_str(), failure), (view.id, "/victim.bin", &Failure::Interrupted));
            assert!(transfer.bytes >= t.bytes, "{transfer:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_kick_during_a_download_answers_426_then_421_and_closes() {
    let (s, recorder) = recorded();
    std::fs::write(s.root().join("big.bin"), pseudo_random(32 << 20, 4)).unwrap();
    let mut c = s.login();
    c.expect("TYPE I", 200);
    c.expect("REST 1000", 350);
    let mut data = c.epsv();
    c.expect("RETR big.bin", 150);
    // Read a little, then stop reading: the server's sends block.
    let mut got = vec![0u8; 256 * 1024];
    data.read_exact(&mut got).unwrap();
    let (view, t) = transfer_past(&s, 256 * 1024);
    assert_eq!((t.path.as_str(), t.direction, t.size), ("/big.bin", Direction::Download, Some((32 << 20) - 1000)));
    assert!(s.services().sessions().kick(view.id));
    let aborted = c.read_reply();
    assert_eq!(aborted.code, 426, "{aborted:?}");
    assert!(aborted.text().ends_with("bytes: the session was ended by an administrator."), "{aborted:?}");
    let r = c.read_reply();
    assert_eq!((r.code, r.text()), (421, KICKED.to_owned()));
    assert!(c.is_closed());
    // The data connection ends with the transfer.
    data.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    let _ = data.read_to_end(&mut rest);
    assert!(got.len() + rest.len() < (32 << 20) - 1000, "the download stopped part-way");
    eventually("the events", || (recorder.names() == ["login_ok", "download", "logout"]).then_some(()));
    match &recorder.events()[1].kind {
        EventKind::Download { transfer, failure, .. } => {
            assert_eq!((transfer.path.as_str(), failure), ("/big.bin", &Some(Failure::Interrupted)));
        }
        other => panic!("{other:?}"),
    }
    eventually("the session's end", || sessions(&s).is_empty().then_some(()));
}
