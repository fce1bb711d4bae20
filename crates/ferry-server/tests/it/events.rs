//! The FTP front door tells the core what happened: each command that
//! changes something, each transfer and each login is one typed event on
//! the core's stream, in order, with the real sizes — and refusals, failed
//! uploads and temporary names are never told as what they are not.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::events::recorder::Recorder;
use ferry_core::events::{EventKind, Failure, LoginFailure};
use ferry_server::config::Subscribers;
use ferry_testkit::{PASSWORD, TestServer, USER};

fn recorded() -> (TestServer, Arc<Recorder>) {
    let recorder = Recorder::new();
    let r = recorder.clone();
    let s = TestServer::start_with(move |c| c.subscribers = Subscribers(vec![r]));
    (s, recorder)
}

/// Wait until `n` events were heard (the logout follows QUIT's reply).
fn wait_for(recorder: &Recorder, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while recorder.events().len() < n {
        assert!(Instant::now() < deadline, "only {:?}", recorder.names());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn each_ftp_command_that_changes_something_is_one_event() {
    let (s, recorder) = recorded();
    std::fs::write(s.root().join("down.bin"), vec![7u8; 1234]).unwrap();
    let mut c = s.login();
    assert_eq!(c.upload("STOR a.txt", b"hello").code, 226);
    let (bytes, r) = c.download("RETR down.bin");
    assert_eq!((bytes.len(), r.code), (1234, 226));
    c.expect("MKD d", 257);
    c.expect("RNFR a.txt", 350);
    c.expect("RNTO d/b.txt", 250);
    c.expect("DELE d/b.txt", 250);
    c.expect("RMD d", 250);
    // Listings and look-ups change nothing.
    c.list_lines("LIST");
    c.expect("SIZE down.bin", 213);
    c.expect("QUIT", 221);
    wait_for(&recorder, 8);
    assert_eq!(recorder.names(), ["login_ok", "upload", "download", "mkdir", "rename", "delete", "rmdir", "logout"]);
    let events = recorder.events();
    for e in &events {
        let actor = e.actor().expect("all of these are a user's doing");
        assert_eq!((&*actor.user, actor.session.protocol), (USER, "ftp"));
    }
    match &events[1].kind {
        EventKind::Upload { transfer, size, .. } => {
            assert_eq!((transfer.path.as_str(), transfer.bytes, *size), ("/a.txt", 5, 5));
        }
        other => panic!("{other:?}"),
    }
    match &events[2].kind {
        EventKind::Download { transfer, failure, .. } => {
            assert_eq!((transfer.path.as_str(), transfer.bytes, failure), ("/down.bin", 1234, &None));
        }
        other => panic!("{other:?}"),
    }
    match &events[4].kind {
        EventKind::Rename { from, to, .. } => assert_eq!((from.as_str(), to.as_str()), ("/a.txt", "/d/b.txt")),
        other => panic!("{other:?}"),
    }
    match &events[5].kind {
        EventKind::Delete { path, size, .. } => assert_eq!((path.as_str(), *size), ("/d/b.txt", 5)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn refusals_are_no_events_and_failures_are_told_as_failures() {
    let (s, recorder) = recorded();
    std::fs::write(s.root().join("keep.txt"), b"old").unwrap();
    let mut c = ferry_testkit::Control::connect(format!("127.0.0.1:{}", s.port()).parse().unwrap());
    c.expect(&format!("USER {USER}"), 331);
    c.expect("PASS wrong", 530);
    c.login(USER, PASSWORD);
    // Refused: no event.
    c.expect("DELE missing.txt", 550);
    c.expect("STOR .~ferry-sneaky", 553);
    c.expect("RNFR missing.txt", 550);
    // An upload that sent fewer bytes than ALLO announced broke off: the
    // old file stays, and the event says the upload failed.
    c.expect("ALLO 100", 202);
    let r = c.upload("STOR keep.txt", b"short");
    assert_eq!(r.code, 426, "{r:?}");
    assert_eq!(std::fs::read(s.root().join("keep.txt")).unwrap(), b"old");
    // An upload the client aborts is told as interrupted.
    c.aborted_upload("STOR part.bin", b"some bytes");
    c.expect("QUIT", 221);
    wait_for(&recorder, 5);
    assert_eq!(recorder.names(), ["login_failed", "login_ok", "upload_failed", "upload_failed", "logout"]);
    let events = recorder.events();
    assert!(matches!(&events[0].kind, EventKind::LoginFailed { reason: LoginFailure::Incorrect, actor } if &*actor.user == USER));
    match &events[2].kind {
        EventKind::UploadFailed { transfer, .. } => assert_eq!((transfer.path.as_str(), transfer.bytes), ("/keep.txt", 5)),
        other => panic!("{other:?}"),
    }
    match &events[3].kind {
        EventKind::UploadFailed { transfer, failure, .. } => {
            assert_eq!((transfer.path.as_str(), failure), ("/part.bin", &Failure::Interrupted));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        recorder.events().iter().all(|e| !format!("{:?}", e.kind).contains(".~ferry-")),
        "no event names a temporary file: {:?}",
        recorder.events()
    );
}

#[test]
fn an_upload_without_a_data_connection_fails_as_not_started() {
    let (s, recorder) = recorded();
    let mut c = s.login();
    c.expect("STOR never.txt", 425);
    c.expect("QUIT", 221);
    wait_for(&recorder, 3);
    assert_eq!(recorder.names(), ["login_ok", "upload_failed", "logout"]);
    assert!(matches!(&recorder.events()[1].kind, EventKind::UploadFailed { failure: Failure::NotStarted, .. }));
    assert!(!s.root().join("never.txt").exists(), "nothing was left behind");
}

#[test]
fn transfers_refused_before_they_start_are_not_logged_as_transfers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xferlog");
    let log = Arc::new(ferry_server::xferlog::XferLog::open(&path).unwrap());
    let s = TestServer::start_with(move |c| c.xferlog = Some(log));
    std::fs::write(s.root().join("down.bin"), b"data").unwrap();
    let mut c = s.login();
    // No PASV or PORT first: refused before anything moved.
    c.expect("RETR down.bin", 425);
    c.expect("STOR up.bin", 425);
    c.download("RETR down.bin");
    c.expect("QUIT", 221);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1, "only the download that happened:\n{text}");
    assert!(text.contains(" 4 /down.bin b _ o r "), "{text}");
    assert!(!s.root().join("up.bin").exists());
}

/// Refuses `*.exe`, as a `pre-upload` hook would.
struct NoExecutables;

impl ferry_core::userfs::UploadGate for NoExecutables {
    fn check(&self, request: &ferry_core::userfs::UploadRequest<'_>) -> Result<(), String> {
        if request.path.as_str().ends_with(".exe") { Err("executables are not accepted here".into()) } else { Ok(()) }
    }
}

#[test]
fn an_upload_gate_refuses_before_anything_is_written() {
    let recorder = Recorder::new();
    let r = recorder.clone();
    let s = TestServer::start_with(move |c| {
        c.subscribers = Subscribers(vec![r]);
        c.upload_gate = ferry_server::config::Gate(Some(Arc::new(NoExecutables)));
        c.upload_digests = true;
    });
    let mut c = s.login();
    let refused = c.expect("STOR setup.exe", 553);
    assert_eq!(refused.text(), "/setup.exe: executables are not accepted here");
    assert!(!s.root().join("setup.exe").exists(), "nothing on disk");
    assert_eq!(c.upload("STOR notes.txt", b"fine").code, 226);
    c.expect("QUIT", 221);
    wait_for(&recorder, 3);
    assert_eq!(recorder.names(), ["login_ok", "upload", "logout"], "a refusal is no event");
    match &recorder.events()[1].kind {
        EventKind::Upload { sha256, .. } => {
            use sha2::Digest as _;
            let want: String = sha2::Sha256::digest(b"fine").iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(sha256.as_deref(), Some(&*want));
        }
        other => panic!("{other:?}"),
    }
}
