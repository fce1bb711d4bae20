//! Running ferryd for real: the config file, check-config, JSON logs, the
//! xferlog, and graceful shutdown.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_server::xferlog::XferLog;
use ferry_testkit::{Control, Spawned, TestServer, USER, free_port, pseudo_random, wait_for_port};

const FERRYD: &str = env!("CARGO_BIN_EXE_ferryd");

/// A ferryd process on `port` (plain FTP, output discarded) with the
/// settings `with` adds, listening when this returns.
fn node(port: u16, with: impl FnOnce(&mut Command) -> &mut Command) -> Spawned {
    let mut cmd = Command::new(FERRYD);
    cmd.args(["--port", &port.to_string(), "--no-tls"]).stdout(Stdio::null()).stderr(Stdio::null());
    let child = Spawned(with(&mut cmd).spawn().unwrap());
    wait_for_port(port);
    child
}

fn users_file(dir: &std::path::Path) -> std::path::PathBuf {
    let users = dir.join("users.txt");
    ferry_server::auth::users_file::set_user(&users, "alice", "pw").unwrap();
    users
}

#[test]
fn config_file_flags_override_and_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("ferryd.toml");
    std::fs::write(&conf, "port = 2999\nidle-timeout = 42\nmax-sessions-per-ip = 3\nupload-rate = \"2M\"\nlog-format = \"json\"\n")
        .unwrap();
    let out = Command::new(FERRYD).args(["check-config", "--config"]).arg(&conf).args(["--port", "3001"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for line in [
        "port = 3001",
        "idle-timeout = 42",
        "max-sessions-per-ip = 3",
        "upload-rate = 2097152",
        "log-format = \"json\"",
        "login-timeout = 60",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    // The example config in the repository is valid.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ferryd.example.toml");
    let out = Command::new(FERRYD).args(["check-config", "--config", example]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // An unknown key names the key and its line.
    std::fs::write(&conf, "port = 21\nidle-timout = 5\n").unwrap();
    let out = Command::new(FERRYD).args(["check-config", "--config"]).arg(&conf).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("idle-timout") && err.contains("line 2"), "{err}");
}

#[test]
fn json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path());
    let port = free_port();
    let mut child = node(port, |c| {
        c.args(["--log-format", "json", "--root"]).arg(dir.path().join("root")).arg("--users").arg(&users).stderr(Stdio::piped())
    });
    let mut c = Control::connect(format!("127.0.0.1:{port}").parse().unwrap());
    c.login("alice", "pw");
    c.expect("QUIT", 221);
    std::thread::sleep(Duration::from_millis(200));
    let _ = child.0.kill();
    let mut err = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let login = err.lines().find(|l| l.contains("login ok")).unwrap_or_else(|| panic!("no login line in:\n{err}"));
    assert!(login.starts_with('{') && login.ends_with('}'), "{login}");
    assert!(login.contains("\"user\":\"alice\"") && login.contains("\"peer\""), "{login}");
    assert!(!err.contains("\"pw\""), "the password reached the log");
}

#[test]
fn xferlog_records_each_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xferlog");
    let log = Arc::new(XferLog::open(&path).unwrap());
    let s = TestServer::start_with(move |c| c.xferlog = Some(log));
    std::fs::write(s.root().join("down.bin"), vec![1u8; 1234]).unwrap();
    let mut c = s.login();
    c.download("RETR down.bin");
    c.upload("STOR my file.txt", b"hello");
    c.list_lines("LIST");
    c.expect("QUIT", 221);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "listings are not file transfers:\n{text}");
    assert!(lines[0].ends_with(&format!(" 127.0.0.1 1234 /down.bin b _ o r {USER} ftp 0 * c")), "{}", lines[0]);
    assert!(lines[1].ends_with(&format!(" 127.0.0.1 5 /my_file.txt b _ i r {USER} ftp 0 * c")), "{}", lines[1]);
}

#[test]
fn graceful_shutdown_lets_transfers_finish() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path());
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("slow.bin"), pseudo_random(3 << 20, 9)).unwrap();
    let port = free_port();
    let mut child = node(port, |c| {
        c.args(["--download-rate", "2M", "--shutdown-grace", "10", "--root"]).arg(&root).arg("--users").arg(&users).stderr(Stdio::piped())
    });
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut idle = Control::connect(addr);
    idle.login("alice", "pw");
    let mut busy = Control::connect(addr);
    busy.login("alice", "pw");
    let mut data = busy.epsv();
    busy.expect("RETR slow.bin", 150);
    std::thread::sleep(Duration::from_millis(300));
    assert!(Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap().success());
    // The idle session is told and closed.
    let r = idle.read_reply();
    assert_eq!(r.code, 421, "{r:?}");
    assert!(r.text().contains("shutting down"));
    // New connections get 421.
    std::thread::sleep(Duration::from_millis(200));
    let late = Control::connect(addr);
    assert_eq!(late.greeting.code, 421);
    // The running transfer completes.
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), 3 << 20);
    assert_eq!(busy.read_reply().code, 226);
    assert_eq!(busy.read_reply().code, 421, "then the session is closed");
    // And the process exits by itself, successfully.
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "ferryd did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let mut err = String::new();
    BufReader::new(child.0.stderr.take().unwrap()).read_to_string(&mut err).unwrap();
    assert!(err.contains("shutting down"), "{err}");
    let _ = err.lines().count();
    let _ = BufRead::lines(&b""[..]).count();
}

/// 127.0.0.1 plays the load balancer; the header says the client is
/// 203.0.113.9.
#[test]
fn proxy_protocol_from_a_trusted_load_balancer() {
    use std::io::Write;
    let s = TestServer::start_with(|c| c.proxy_from = vec!["127.0.0.1".parse().unwrap()]);
    std::fs::write(s.root().join("f"), b"through the proxy").unwrap();
    // v1 header, then the session as usual; STAT shows the real client.
    let mut raw = std::net::TcpStream::connect(s.addr).unwrap();
    raw.write_all(b"PROXY TCP4 203.0.113.9 127.0.0.1 40000 21\r\n").unwrap();
    let mut c = Control::from_tcp(raw);
    assert_eq!(c.greeting.code, 220);
    c.login(USER, ferry_testkit::PASSWORD);
    let stat = c.expect("STAT", 211);
    assert!(stat.text().contains("Connected from 203.0.113.9:40000"), "{stat:?}");
    // A data connection through the balancer carries a header too (v2).
    let r = c.expect("EPSV", 229);
    let port = ferry_proto::addr::parse_epsv_reply(&r.text()).unwrap();
    let mut data = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    v2.extend_from_slice(&[0x21, 0x11, 0, 12, 203, 0, 113, 9, 127, 0, 0, 1, 0x9C, 0x41, 0, 21]);
    data.write_all(&v2).unwrap();
    c.expect("RETR f", 150);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"through the proxy");
    assert_eq!(c.read_reply().code, 226);
    // A connection from the balancer without a header is dropped.
    let mut bare = std::net::TcpStream::connect(s.addr).unwrap();
    bare.write_all(b"USER x\r\n").unwrap();
    bare.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(bare.read(&mut buf).unwrap_or(0), 0, "no greeting without a PROXY header");
}

/// 1,000 concurrent transfers through a 100-port passive range: ports
/// return to the pool as soon as each data connection is accepted, so
/// every transfer succeeds; and when sessions hold every port, the next
/// PASV gets a clear 425 (never a hang) and succeeds once ports free up.
#[test]
fn passive_port_pool_serves_many_transfers_and_refuses_cleanly_when_exhausted() {
    const SESSIONS: usize = 1000;
    const PORTS: u16 = 100;
    // Below the kernel's ephemeral range (32768+), so no unrelated socket
    // of a parallel test can hold a port of ours; above the 10-port ranges
    // other tests take at 20,000–24,008.
    let base = 30_000 + (std::process::id() % 27) as u16 * PORTS;
    let range = base..=base + PORTS - 1;
    let s = Arc::new(TestServer::start_with(|c| {
        c.passive_ports = Some(range.clone());
        c.max_sessions = 2 * SESSIONS;
        c.defender.max_sessions_per_ip = 2 * SESSIONS as u32;
    }));
    std::fs::write(s.root().join("f"), b"pooled").unwrap();
    // Log in first (one after another: the first login pays argon2, the
    // rest hit the login cache), then start every transfer at once.
    let sessions: Vec<Control> = (0..SESSIONS).map(|_| s.login()).collect();
    let start_line = Arc::new(std::sync::Barrier::new(SESSIONS));
    let threads: Vec<_> = sessions
        .into_iter()
        .map(|mut c| {
            let start_line = start_line.clone();
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    start_line.wait();
                    let (bytes, r) = c.download("RETR f");
                    assert_eq!((bytes.as_slice(), r.code), (&b"pooled"[..], 226));
                })
                .unwrap()
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Sessions holding every port: the next one gets a clear 425.
    let mut holders: Vec<Control> = (0..PORTS).map(|_| s.login()).collect();
    for h in holders.iter_mut() {
        h.expect("EPSV", 229);
    }
    let mut late = s.login();
    let start = Instant::now();
    let r = late.expect("EPSV", 425);
    assert!(r.text().contains("every port in the passive range is in use"), "{r:?}");
    assert!(start.elapsed() < Duration::from_secs(10));
    drop(holders);
    std::thread::sleep(Duration::from_millis(200));
    late.expect("EPSV", 229);
}

#[test]
fn unresolvable_passive_host_fails_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(FERRYD)
        .args(["--port", "0", "--no-tls", "--passive-address", "no-such-host.invalid"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot resolve passive-address"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn prometheus_metrics() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path());
    let (port, mport) = (free_port(), free_port());
    let metrics = format!("127.0.0.1:{mport}");
    let _child = node(port, |c| {
        c.args(["--failure-delay-ms", "0", "--metrics-listen", &metrics, "--root"]).arg(dir.path().join("root")).arg("--users").arg(&users)
    });
    wait_for_port(mport);
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut c = Control::connect(addr);
    c.login("alice", "pw");
    c.upload("STOR m.txt", b"metrics!");
    let mut bad = Control::connect(addr);
    bad.expect("USER alice", 331);
    bad.expect("PASS wrong", 530);
    // An HTTP client's request; the server side is hyper.
    let mut http = std::net::TcpStream::connect(("127.0.0.1", mport)).unwrap();
    http.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    http.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    for line in [
        "ferry_sessions_open 2",
        "ferry_logins_total{result=\"ok\"} 1",
        "ferry_logins_total{result=\"failed\"} 1",
        "ferry_transfers_total{direction=\"in\",result=\"ok\"} 1",
        "ferry_transfer_bytes_total{direction=\"in\"} 8",
    ] {
        assert!(body.lines().any(|l| l == line), "missing {line:?} in:\n{body}");
    }
    assert!(body.contains("ferry_command_duration_seconds_count"), "{body}");
}

/// Two nodes on different ports serving one shared folder: a file uploaded
/// through one is downloaded through the other, byte for byte.
#[test]
fn two_nodes_share_storage() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path());
    let root = dir.path().join("shared");
    std::fs::create_dir(&root).unwrap();
    let ports = [free_port(), free_port()];
    let _nodes = ports.map(|p| node(p, |c| c.arg("--root").arg(&root).arg("--users").arg(&users)));
    let data = pseudo_random(2_000_000, 77);
    let mut a = Control::connect(format!("127.0.0.1:{}", ports[0]).parse().unwrap());
    a.login("alice", "pw");
    assert_eq!(a.upload("STOR shared.bin", &data).code, 226);
    let mut b = Control::connect(format!("127.0.0.1:{}", ports[1]).parse().unwrap());
    b.login("alice", "pw");
    let (back, r) = b.download("RETR shared.bin");
    assert_eq!(r.code, 226);
    assert!(back == data, "the second node serves what the first stored");
}

/// The documented two-node deployment on object storage: two ferryd
/// processes (`--s3-bucket`, credentials from the standard AWS variables)
/// on one bucket; curl uploads through one and downloads through the other.
#[cfg(feature = "s3")]
#[test]
fn two_ferryd_processes_share_one_bucket() {
    let Some(s3) = ferry_testkit::peers::S3Server::start() else {
        assert!(std::env::var_os("CI").is_none(), "s3s-fs is required under CI");
        return;
    };
    if !ferry_testkit::require("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path());
    let ports = [free_port(), free_port()];
    let _nodes = ports.map(|p| {
        node(p, |c| {
            c.args(["--s3-bucket", &s3.bucket, "--s3-prefix", "site", "--s3-endpoint", &s3.endpoint])
                .arg("--users")
                .arg(&users)
                .env("AWS_ACCESS_KEY_ID", &s3.access_key)
                .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
        })
    });
    let data = pseudo_random(6_000_000, 78);
    let src = dir.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let url = |port: u16| format!("ftp://alice:pw@127.0.0.1:{port}/inbox/shared.bin");
    let up = Command::new("curl").args(["-sS", "--ftp-create-dirs", "-T"]).arg(&src).arg(url(ports[0])).output().unwrap();
    assert!(up.status.success(), "curl upload: {}", String::from_utf8_lossy(&up.stderr));
    assert!(std::fs::read(s3.files("site/inbox/shared.bin")).unwrap() == data, "the object holds the upload byte for byte");
    let down = Command::new("curl").args(["-sS", &url(ports[1])]).output().unwrap();
    assert!(down.status.success(), "curl download: {}", String::from_utf8_lossy(&down.stderr));
    assert!(down.stdout == data, "the second node serves what the first stored");
}

/// A wrong S3 secret stops ferryd at start with a message that says what
/// to check (s3s-fs verifies request signatures).
#[cfg(feature = "s3")]
#[test]
fn wrong_s3_credentials_fail_at_start() {
    let Some(s3) = ferry_testkit::peers::S3Server::start() else {
        assert!(std::env::var_os("CI").is_none(), "s3s-fs is required under CI");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(FERRYD)
        .args(["--port", &free_port().to_string(), "--no-tls", "--s3-bucket", &s3.bucket, "--s3-endpoint", &s3.endpoint, "--users"])
        .arg(users_file(dir.path()))
        .env("AWS_ACCESS_KEY_ID", &s3.access_key)
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AWS_SECRET_ACCESS_KEY") && err.contains("s3://ferry-test/"), "{err}");
    assert!(!err.contains("not-the-secret"), "the secret is never printed: {err}");
}

/// Without the `s3` feature, asking for a bucket is a clear error.
#[cfg(not(feature = "s3"))]
#[test]
fn s3_bucket_needs_the_s3_feature() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(FERRYD).args(["--no-tls", "--s3-bucket", "b", "--users"]).arg(users_file(dir.path())).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features s3"), "{}", String::from_utf8_lossy(&out.stderr));
}
