//! Issue 10 hardening tests: control.

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ferry_testkit::{Control, STEP_TIMEOUT, TestServer, pseudo_random};

/// A normal session works: log in, upload, download, byte for byte.
#[track_caller]
fn still_serves(s: &TestServer, name: &str) {
    let mut c = s.login();
    let body = pseudo_random(100_000, name.len() as u64);
    assert_eq!(c.upload(&format!("STOR {name}"), &body).code, 226);
    let (back, r) = c.download(&format!("RETR {name}"));
    assert_eq!(r.code, 226);
    assert!(back == body, "{name} came back different");
    c.expect("QUIT", 221);
}

/// A client socket whose receive buffer holds only 4 KiB, so that replies
/// it never reads back up into the server quickly.
fn small_window_socket(addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect_timeout(&addr.into(), STEP_TIMEOUT).unwrap();
    let s: TcpStream = socket.into();
    s.set_write_timeout(Some(STEP_TIMEOUT)).unwrap();
    s
}

/// `FEAT` and `HELP`, `pairs` times each, as one burst.
fn feat_help(pairs: usize) -> Vec<u8> {
    b"FEAT\r\nHELP\r\n".repeat(pairs)
}

/// A client that sends `burst` as fast as the server takes it, then a
/// `NOOP` every 100 ms, and never reads a reply.
struct NonReader {
    sock: TcpStream,
    burst: Vec<u8>,
    sent: usize,
}

impl NonReader {
    fn new(sock: TcpStream, burst: Vec<u8>) -> NonReader {
        sock.set_nonblocking(true).unwrap();
        NonReader { sock, burst, sent: 0 }
    }

    /// Send what the server will take now; false once the server has
    /// closed the connection (a closed socket answers with a reset, so the
    /// write, or the one after it, fails; a full buffer only means "still
    /// open").
    fn push(&mut self) -> bool {
        loop {
            let rest = if self.sent < self.burst.len() { &self.burst[self.sent..] } else { &b"NOOP\r\n"[..] };
            match self.sock.write(rest) {
                Ok(n) if self.sent < self.burst.len() => self.sent += n,
                Ok(_) => return self.sock.take_error().ok().flatten().is_none(),
                Err(e) => return e.kind() == ErrorKind::WouldBlock,
            }
        }
    }
}

/// Keep every client sending until the server has closed it or `limit`
/// passes; returns, per client, how long after `since` its closing was seen.
fn wait_until_closed(clients: &mut [NonReader], since: Instant, limit: Duration) -> Vec<Option<Duration>> {
    let mut closed = vec![None; clients.len()];
    while closed.iter().any(Option::is_none) && since.elapsed() < limit {
        for (c, when) in clients.iter_mut().zip(closed.iter_mut()).filter(|(_, when)| when.is_none()) {
            if !c.push() {
                *when = Some(since.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    closed
}

#[test]
fn i04_clients_that_never_read_lose_their_slots_before_login() {
    let s = TestServer::start_with(|c| {
        c.login_timeout = Duration::from_secs(5);
        c.idle_timeout = Duration::from_secs(8);
    });
    let started = Instant::now();
    // 10,000 of each make 5.8 MB of replies: more than the kernel would
    // queue for a socket (tcp_wmem's 4 MiB), so without a write deadline
    // the server blocks on them for good.
    let mut attackers: Vec<NonReader> = (0..16).map(|_| NonReader::new(small_window_socket(s.addr), feat_help(10_000))).collect();
    for a in &mut attackers {
        a.push();
    }
    // The address is shared with the attackers; a real client still gets in.
    still_serves(&s, "during.bin");
    let closed = wait_until_closed(&mut attackers, started, Duration::from_secs(60));
    eprintln!("sixteen non-reading clients held their slots for {closed:?}");
    for (i, c) in closed.iter().enumerate() {
        let held = c.unwrap_or_else(|| panic!("attacker {i} still connected after {:?}", started.elapsed()));
        assert!(held < Duration::from_secs(20), "attacker {i} held its slot for {held:?} (login timeout 5 s)");
        // Sooner would mean it was refused at the door, not served.
        assert!(held > Duration::from_secs(4), "attacker {i} was closed after {held:?}, before its login deadline");
    }
    still_serves(&s, "after.bin");
}

#[test]
fn i04_client_that_keeps_commands_queued_is_cut_off_at_the_login_deadline() {
    use std::io::Read;
    let s = TestServer::start_with(|c| c.login_timeout = Duration::from_secs(2));
    let mut c = Control::connect(s.addr);
    let started = Instant::now();
    // Always 5,000 commands ahead of the replies, so that the server
    // never finds its input empty: one more for every reply read.
    c.send_raw(&b"NOOP\r\n".repeat(5000));
    let stream = c.stream();
    let (mut buf, mut seen) = ([0u8; 4096], Vec::new());
    let ended = loop {
        assert!(started.elapsed() < STEP_TIMEOUT, "still served {:?} after a 2 s login timeout", started.elapsed());
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break started.elapsed(),
            Ok(n) => {
                seen.extend_from_slice(&buf[..n]);
                let replies = buf[..n].iter().filter(|b| **b == b'\n').count();
                let _ = stream.write_all(&b"NOOP\r\n".repeat(replies));
            }
        }
    };
    eprintln!("a client that kept commands queued was cut off after {ended:?}");
    assert!(ended < Duration::from_secs(10), "cut off only after {ended:?}");
    let text = String::from_utf8_lossy(&seen);
    assert!(!text.contains("421") || text.contains("421 Login timeout"), "{}", &text[text.len().saturating_sub(200)..]);
    still_serves(&s, "after.bin");
}

#[test]
fn i04_logged_in_client_that_stops_reading_is_closed_within_the_data_timeout() {
    let s = TestServer::start_with(|c| c.data_timeout = Duration::from_secs(2));
    let mut c = Control::from_tcp(small_window_socket(s.addr));
    c.login(ferry_testkit::USER, ferry_testkit::PASSWORD);
    let started = Instant::now();
    let stream = c.stream().try_clone().unwrap();
    let closed = wait_until_closed(&mut [NonReader::new(stream, feat_help(10_000))], started, Duration::from_secs(60));
    eprintln!("a logged-in client that stopped reading was closed after {:?}", closed[0]);
    let held = closed[0].expect("still connected");
    assert!(held < Duration::from_secs(20), "held for {held:?} with a 2 s data timeout");
    still_serves(&s, "after.bin");
}

#[test]
fn i21_default_cap_admits_forty_sessions_and_names_the_limit() {
    let s = TestServer::start();
    // ferry get --segments 16, lftp mirror --parallel=8 with its control
    // connections, rclone's defaults: all well within the default.
    let mut held: Vec<Control> = (0..40).map(|_| Control::connect(s.addr)).collect();
    for (i, c) in held.iter_mut().enumerate() {
        assert_eq!(c.greeting.code, 220, "session {i}: {:?}", c.greeting);
        c.expect("NOOP", 200);
    }
    held.extend((40..64).map(|_| Control::connect(s.addr)));
    assert!(held.iter().all(|c| c.greeting.code == 220), "64 sessions are admitted");
    let refused = Control::connect(s.addr).greeting;
    assert_eq!(refused.code, 421);
    assert_eq!(refused.text(), "Too many connections from your address (limit 64: max-sessions-per-ip).");
    // One session closing makes room for one more.
    drop(held.pop());
    let deadline = Instant::now() + STEP_TIMEOUT;
    let mut again = loop {
        let c = Control::connect(s.addr);
        if c.greeting.code == 220 || Instant::now() > deadline {
            break c;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(again.greeting.code, 220);
    again.login(ferry_testkit::USER, ferry_testkit::PASSWORD);
}

#[test]
fn i21_server_wide_cap_names_its_limit() {
    let s = TestServer::start_with(|c| c.max_sessions = 3);
    let held: Vec<Control> = (0..3).map(|_| Control::connect(s.addr)).collect();
    assert!(held.iter().all(|c| c.greeting.code == 220));
    let refused = Control::connect(s.addr).greeting;
    assert_eq!(refused.code, 421);
    assert!(refused.text().contains("(limit 3: max-sessions)"), "{refused:?}");
}

const FERRYD: &str = env!("CARGO_BIN_EXE_ferryd");

/// A ferryd process (account alice:pw) whose standard error is collected.
struct Logged {
    child: ferry_testkit::Spawned,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Logged {
    fn start(args: &[&str]) -> Logged {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users.txt");
        ferry_server::auth::users_file::set_user(&users, "alice", "pw").unwrap();
        let port = ferry_testkit::free_port();
        let mut cmd = std::process::Command::new(FERRYD);
        cmd.args(["--port", &port.to_string(), "--failure-delay-ms", "10", "--root"])
            .arg(dir.path().join("root"))
            .arg("--users")
            .arg(&users)
            .arg("--xferlog")
            .arg(dir.path().join("xferlog"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = ferry_testkit::Spawned(cmd.spawn().unwrap());
        let mut pipe = child.0.stderr.take().unwrap();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        ferry_testkit::wait_for_port(port);
        Logged { child, stderr, reader: Some(reader), port, dir }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Wait until a line of the log contains every one of `needles`.
    #[track_caller]
    fn wait_for(&self, needles: &[&str]) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while !self.text().lines().any(|l| needles.iter().all(|n| l.contains(n))) {
            assert!(Instant::now() < deadline, "no {needles:?} in the log:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop the server; returns everything it wrote to standard error,
    /// and its xferlog.
    fn stop(mut self) -> (Vec<u8>, Vec<u8>) {
        let _ = self.child.0.kill();
        let _ = self.child.0.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let xferlog = std::fs::read(self.dir.path().join("xferlog")).unwrap_or_default();
        (self.stderr.lock().unwrap().clone(), xferlog)
    }
}

/// Every character is printable, apart from the newline ending each line.
#[track_caller]
fn assert_printable_lines(what: &str, bytes: &[u8]) {
    let text = String::from_utf8(bytes.to_vec()).unwrap_or_else(|e| panic!("{what} is not UTF-8: {e}"));
    assert!(text.is_empty() || text.ends_with('\n'), "{what} ends mid-line");
    for line in text.lines() {
        assert!(!line.chars().any(char::is_control), "{what} holds a raw control character: {line:?}");
    }
}

const FORGED_USER: &str = "evil\r2026-12-01T00:00:00Z  INFO login ok";
// ESC, then C1's CSI and DEL, which JSON (serde) would leave raw.
const ESC_NAME: &str = "\x1b[31mred\u{9b}2J\x7f";
const CR_NAME: &str = "lone\rcr.txt";

/// Send a forged user name (and fail), then log in and try to upload
/// files whose names hold an escape sequence and a lone CR (refused: new
/// names may not hold control characters), and download one such file
/// that was put on disk by other means.
fn hostile_session(addr: SocketAddr, root: &std::path::Path) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join(ESC_NAME), b"red bytes").unwrap();
    let mut c = Control::connect(addr);
    c.expect(&format!("USER {FORGED_USER}"), 331);
    c.expect("PASS wrong", 530);
    c.login("alice", "pw");
    let _data = c.epsv();
    c.expect(&format!("STOR {ESC_NAME}"), 553);
    let (back, r) = c.download(&format!("RETR {ESC_NAME}"));
    assert_eq!((back.as_slice(), r.code), (&b"red bytes"[..], 226));
    // A name with a lone CR is refused too; its log lines must stay clean.
    let _data = c.epsv();
    c.expect(&format!("STOR {CR_NAME}"), 553);
    c.expect("QUIT", 221);
}

/// The xferlog of [`hostile_session`]: printable, one record per line,
/// with the escaped name.
#[track_caller]
fn check_xferlog(xferlog: &[u8]) {
    assert_printable_lines("the xferlog", xferlog);
    let text = String::from_utf8_lossy(xferlog);
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty(), "{text}");
    for line in &lines {
        // wu-ftpd's 18 fields (the day of the month may be padded).
        assert_eq!(line.split_whitespace().count(), 18, "{line:?}");
    }
    assert!(lines.iter().any(|l| l.contains(" /\\x1b[31mred\\u{9b}2J\\x7f b _ o r alice ")), "{text}");
}

#[test]
fn i17_text_logs_escape_control_characters_from_clients() {
    let s = Logged::start(&["--no-tls", "--log-format", "text"]);
    hostile_session(s.addr(), &s.dir.path().join("root"));
    s.wait_for(&["session end"]);
    let (log, xferlog) = s.stop();
    assert_printable_lines("the text log", &log);
    let text = String::from_utf8(log).unwrap();
    for line in text.lines() {
        // Each line is a whole event: timestamp, level, then the rest.
        let mut words = line.split_whitespace();
        let (stamp, level) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        assert!(stamp.len() > 20 && stamp.as_bytes()[4] == b'-' && stamp.ends_with('Z'), "not a log line: {line:?}");
        assert!(matches!(level, "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE"), "not a log line: {line:?}");
    }
    let failed = text.lines().find(|l| l.contains("login failed")).unwrap_or_else(|| panic!("no failed login in:\n{text}"));
    assert!(failed.contains("user=evil\\r2026-12-01T00:00:00Z  INFO login ok"), "{failed}");
    assert!(text.contains("/\\x1b[31mred\\u{9b}2J\\x7f"), "the escaped name is logged:\n{text}");
    check_xferlog(&xferlog);
}

#[test]
fn i17_json_logs_escape_control_characters_from_clients() {
    let s = Logged::start(&["--no-tls", "--log-format", "json"]);
    hostile_session(s.addr(), &s.dir.path().join("root"));
    s.wait_for(&["session end"]);
    let (log, xferlog) = s.stop();
    assert_printable_lines("the JSON log", &log);
    let text = String::from_utf8(log).unwrap();
    let events: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object ({e}): {l:?}"))).collect();
    // The escapes are JSON's own: the values read back exactly as sent.
    let failed = events.iter().find(|e| e["fields"]["message"] == "login failed").unwrap_or_else(|| panic!("{text}"));
    assert_eq!(failed["fields"]["user"], FORGED_USER);
    assert!(events.iter().any(|e| e["fields"]["path"] == format!("/{ESC_NAME}")), "{text}");
    check_xferlog(&xferlog);
}

/// The log lines of the session whose client used local port `port`.
fn session_lines(text: &str, port: u16) -> Vec<&str> {
    let peer = format!("peer=127.0.0.1:{port}");
    text.lines().filter(|l| l.contains(&format!("{peer}}}")) || l.contains(&format!("{peer} "))).collect()
}

/// A TCP health check: connect, then close (FIN) or reset (as HAProxy
/// does); returns the local port it came from.
fn health_check(addr: SocketAddr, reset: bool) -> u16 {
    let sock = socket2::Socket::from(TcpStream::connect(addr).unwrap());
    if reset {
        sock.set_linger(Some(Duration::ZERO)).unwrap();
    }
    sock.local_addr().unwrap().as_socket().unwrap().port()
}

/// "Does this exist?" probes (ncftpput sends SIZE and MDTM before every
/// upload) are logged at debug, not as one INFO line each; a refusal that
/// matters (a permission, a bad name) still is.
#[test]
fn i08_existence_probes_log_at_debug() {
    let s = Logged::start(&["--no-tls"]);
    let mut c = Control::connect(s.addr());
    c.login("alice", "pw");
    for i in 0..50 {
        c.expect(&format!("SIZE missing{i}.txt"), 550);
        c.expect(&format!("MDTM missing{i}.txt"), 550);
    }
    c.expect("STOR .~ferry-reserved", 553);
    c.expect("QUIT", 221);
    s.wait_for(&["session end"]);
    let (log, _) = s.stop();
    let text = String::from_utf8(log).unwrap();
    let probes = text.lines().filter(|l| l.contains("missing")).count();
    assert_eq!(probes, 0, "100 probes made INFO lines:\n{text}");
    assert!(text.lines().any(|l| l.contains(" INFO ") && l.contains("login ok")), "{text}");
}

#[test]
fn i15_health_checks_log_at_debug_only() {
    let ftps_port = ferry_testkit::free_port();
    let s = Logged::start(&["--ftps-port", &ftps_port.to_string(), "--log-level", "info,ferry_server=debug"]);
    let ftps = SocketAddr::from(([127, 0, 0, 1], ftps_port));
    ferry_testkit::wait_for_port(ftps_port);
    let checks: Vec<u16> = [(s.addr(), false), (s.addr(), true), (ftps, false), (ftps, true)]
        .into_iter()
        .map(|(addr, reset)| health_check(addr, reset))
        .collect();
    // A real session, with commands.
    let mut c = Control::connect(s.addr());
    let real_port = c.stream().local_addr().unwrap().port();
    c.login("alice", "pw");
    c.expect("QUIT", 221);
    s.wait_for(&[&format!("peer=127.0.0.1:{real_port} "), "session end"]);
    for port in &checks {
        s.wait_for(&[&format!("peer=127.0.0.1:{port}}}"), "without a command"]);
    }
    let (log, _) = s.stop();
    let text = String::from_utf8(log).unwrap();
    for port in checks {
        let lines = session_lines(&text, port);
        assert!(lines.len() >= 2, "its start and end are logged at debug:\n{text}");
        assert!(lines.iter().all(|l| l.contains(" DEBUG ")), "a health check logged above debug:\n{}", lines.join("\n"));
    }
    let real = session_lines(&text, real_port);
    for what in ["session start", "login ok", "session end"] {
        assert!(real.iter().any(|l| l.contains(" INFO ") && l.ends_with(what)), "no INFO {what:?} for a real session:\n{text}");
    }
}

#[test]
fn i08_session_span_shows_tls_once() {
    if !ferry_testkit::require("curl") {
        return;
    }
    let ftps_port = ferry_testkit::free_port();
    let s = Logged::start(&["--ftps-port", &ftps_port.to_string()]);
    std::fs::create_dir_all(s.dir.path().join("root")).unwrap();
    std::fs::write(s.dir.path().join("root/t.txt"), b"over TLS").unwrap();
    let curl = |url: String, explicit: bool| {
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["--silent", "--show-error", "--max-time", "60", "-k"]);
        if explicit {
            cmd.arg("--ssl-reqd");
        }
        let out = cmd.arg(url).output().unwrap();
        assert!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"over TLS");
    };
    // AUTH TLS, then implicit FTPS.
    curl(format!("ftp://alice:pw@127.0.0.1:{}/t.txt", s.port), true);
    s.wait_for(&["session end"]);
    curl(format!("ftps://alice:pw@127.0.0.1:{ftps_port}/t.txt"), false);
    let deadline = Instant::now() + STEP_TIMEOUT;
    while s.text().matches("session end").count() < 2 {
        assert!(Instant::now() < deadline, "{}", s.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (log, _) = s.stop();
    let text = String::from_utf8(log).unwrap();
    let logins: Vec<&str> = text.lines().filter(|l| l.contains("login ok")).collect();
    assert_eq!(logins.len(), 2, "{text}");
    for line in logins {
        assert_eq!(line.matches("tls=").count(), 1, "{line}");
        assert!(line.contains("tls=true"), "{line}");
    }
    assert!(!text.contains("tls=false"), "{text}");
}

/// Run `ferryd ARGS` in an empty folder; returns its status and stderr.
fn ferryd_in(dir: &std::path::Path, args: &[&str], stdout: std::process::Stdio) -> (std::process::ExitStatus, String) {
    let out = std::process::Command::new(FERRYD)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn i20_check_config_refuses_nonsense_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let file = file.to_str().unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--root", file], &["root", file, "not a folder"]),
        (&["--max-sessions-per-ip", "0"], &["max-sessions-per-ip must be at least 1"]),
        (&["--max-sessions", "0"], &["max-sessions must be at least 1"]),
        (&["--idle-timeout", "0"], &["idle-timeout must be at least 1 second"]),
        (&["--login-timeout", "0"], &["login-timeout must be at least 1 second"]),
        (&["--port", "0"], &["port must be from 1 to 65535"]),
        (&["--ftps-port", "0"], &["ftps-port must be from 1 to 65535"]),
        (&["--port", "2121", "--ftps-port", "2121"], &["ftps-port and port are both 2121"]),
        (&["--passive-ports", "50100-50000"], &["passive-ports", "50100-50000", "1 <= A <= B"]),
        (&["--passive-ports", "80-90"], &["passive-ports", "80-90", "below 1024"]),
        (&["--ban-after", "0"], &["ban-after must be at least 1"]),
        (&["--ban-time", "0"], &["ban-time must be at least 1 second"]),
        (&["--upload-rate", "0"], &["upload-rate must be at least 1 byte per second"]),
        (&["--idle-timeout", "99999999999"], &["idle-timeout must be at most"]),
        (&["--log-level", "loud"], &["log-level \"loud\""]),
        (&["--xferlog", "/nonexistent/xferlog"], &["xferlog", "/nonexistent", "does not exist"]),
    ];
    for (args, words) in cases {
        let (status, err) = ferryd_in(dir.path(), &[&["check-config"], *args].concat(), std::process::Stdio::null());
        assert_eq!(status.code(), Some(1), "{args:?} was accepted: {err}");
        for w in *words {
            assert!(err.contains(w), "{args:?}: {w:?} not in {err:?}");
        }
    }
    // Several problems are reported together.
    let (_, err) = ferryd_in(dir.path(), &["check-config", "--port", "0", "--idle-timeout", "0"], std::process::Stdio::null());
    assert!(err.contains("2 problems") && err.contains("port must") && err.contains("idle-timeout must"), "{err}");
    // Serving checks the same, in the same place, before it creates anything.
    let (status, err) = ferryd_in(dir.path(), &["--idle-timeout", "0", "--no-tls"], std::process::Stdio::null());
    assert!(!status.success() && err.contains("idle-timeout must be at least 1 second"), "{err}");
    assert!(!dir.path().join("users.txt").exists() && !dir.path().join("ftp-root").exists());
    // Sensible values pass.
    let (status, err) =
        ferryd_in(dir.path(), &["check-config", "--idle-timeout", "1", "--passive-ports", "1024-1024"], std::process::Stdio::null());
    assert!(status.success(), "{err}");
}

#[test]
fn i20_check_config_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // `ferryd check-config | head -1`, with `head` gone before ferryd writes.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let (status, err) = ferryd_in(dir.path(), &["check-config"], writer.into());
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // And the same with the reader gone after the first line.
    let mut child = std::process::Command::new(FERRYD)
        .arg("check-config")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first).unwrap();
    assert!(first.starts_with("port = "), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
