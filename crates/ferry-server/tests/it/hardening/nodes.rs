//! Issue 10 hardening tests: several nodes on S3 storage (items 6 and 15).
//! Each runs against a real S3-compatible server (`s3s-fs`), which CI
//! installs; elsewhere they skip when it is missing.

#[test]
fn i15_the_example_haproxy_configuration_is_valid() {
    if !ferry_testkit::require("haproxy") {
        return;
    }
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contrib/haproxy.cfg");
    let out = std::process::Command::new("haproxy").args(["-c", "-f", cfg]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(cfg).unwrap();
    for needed in ["tcp-check expect rstring ^220", "check-send-proxy", "option redispatch", "retries 3"] {
        assert!(text.contains(needed), "contrib/haproxy.cfg lacks {needed:?}");
    }
}

/// Two ferryd nodes on one folder behind HAProxy, configured as
/// `contrib/haproxy.cfg` is (PROXY v2 on control and passive ports, the
/// greeting health check): a node that greets with `421` instead of `220`
/// is taken out of rotation, and every client still gets in.
#[test]
fn i15_haproxy_takes_a_node_that_does_not_greet_out_of_rotation() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use ferry_testkit::{Control, Spawned, free_port, wait_for_port};
    if !ferry_testkit::require("haproxy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let users = dir.path().join("users.txt");
    ferry_server::auth::users_file::set_user(&users, "alice", "pw").unwrap();
    // Ports below the ephemeral range, away from other tests' ranges.
    let base = 25_000 + (std::process::id() % 200) as u16 * 20;
    let ranges = [(base, base + 9), (base + 10, base + 19)];
    let node_ports = [free_port(), free_port()];
    let front = free_port();
    let node = |i: usize, max_sessions: &str| -> Spawned {
        let (lo, hi) = ranges[i];
        let child = Command::new(env!("CARGO_BIN_EXE_ferryd"))
            .args(["--bind", "127.0.0.1", "--port", &node_ports[i].to_string(), "--no-tls", "--root"])
            .arg(&root)
            .arg("--users")
            .arg(&users)
            .args(["--passive-ports", &format!("{lo}-{hi}"), "--passive-address", "127.0.0.2"])
            .args(["--proxy-protocol-from", "127.0.0.1", "--max-sessions", max_sessions])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let child = Spawned(child);
        wait_for_port(node_ports[i]);
        child
    };
    // Node 1 accepts connections but cannot serve: it greets 421, as a
    // node does that has run out of sessions or cannot reach its storage.
    // A plain TCP check would keep it in rotation.
    let broken = std::net::TcpListener::bind(("127.0.0.1", node_ports[0])).unwrap();
    std::thread::spawn(move || {
        for conn in broken.incoming().flatten() {
            let mut conn = conn;
            let _ = std::io::Write::write_all(&mut conn, b"421 Service not available.\r\n");
        }
    });
    let _n2 = node(1, "100");
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    maxconn 200\ndefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n    retries 3\n    option redispatch\n\
             frontend ctl\n    bind 127.0.0.2:{front}\n    default_backend nodes\n\
             backend nodes\n    balance roundrobin\n    option tcp-check\n    tcp-check connect\n    tcp-check expect rstring ^220\n    tcp-check send QUIT\\r\\n\n    tcp-check expect rstring ^221\n    default-server inter 500ms fall 1 rise 1\n    timeout check 3s\n\
             \x20   server n1 127.0.0.1:{p1} send-proxy-v2 check check-send-proxy\n    server n2 127.0.0.1:{p2} send-proxy-v2 check check-send-proxy\n\
             frontend pasv1\n    bind 127.0.0.2:{a1}-{b1}\n    default_backend pasv1\nbackend pasv1\n    server n1 127.0.0.1 send-proxy-v2\n\
             frontend pasv2\n    bind 127.0.0.2:{a2}-{b2}\n    default_backend pasv2\nbackend pasv2\n    server n2 127.0.0.1 send-proxy-v2\n",
            p1 = node_ports[0],
            p2 = node_ports[1],
            a1 = ranges[0].0,
            b1 = ranges[0].1,
            a2 = ranges[1].0,
            b2 = ranges[1].1,
        ),
    )
    .unwrap();
    let _haproxy =
        Spawned(Command::new("haproxy").arg("-db").arg("-f").arg(&cfg).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
    let front_addr: std::net::SocketAddr = format!("127.0.0.2:{front}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(front_addr).is_err() {
        assert!(Instant::now() < deadline, "HAProxy did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Give the health checks a moment to find the broken node.
    std::thread::sleep(Duration::from_millis(1500));
    // Every client gets the working node, data connections included.
    for i in 0..12 {
        let mut c = Control::connect(front_addr);
        assert_eq!(c.greeting.code, 220, "client {i}: {:?}", c.greeting);
        c.login("alice", "pw");
        c.expect("TYPE I", 200);
        let name = format!("f{i}");
        assert_eq!(c.upload(&format!("STOR {name}"), name.as_bytes()).code, 226);
        let (got, r) = c.download(&format!("RETR {name}"));
        assert_eq!((r.code, got), (226, name.as_bytes().to_vec()));
    }
}

#[cfg(feature = "s3")]
mod s3 {
    use std::time::{Duration, Instant};

    use ferry_server::storage::s3::S3Timeouts;
    use ferry_testkit::{pseudo_random, require};

    use crate::backends::{s3_node, s3_node_with, s3_server};

    #[test]
    fn i06_feat_advertises_only_what_s3_storage_does() {
        let Some(s3) = s3_server() else { return };
        let node = s3_node(&s3, "");
        let mut c = node.login();
        let feat = c.expect("FEAT", 211).text();
        assert!(!feat.contains("MFMT"), "{feat}");
        assert!(!feat.to_ascii_lowercase().contains("unix.mode"), "{feat}");
        assert!(feat.contains("MDTM") && feat.contains("MLST type*;size*;"), "{feat}");
        let r = c.expect("OPTS MLST type;size;UNIX.mode;", 200);
        assert_eq!(r.text(), "MLST OPTS type;size;", "UNIX.mode cannot be turned on");
        let help = c.expect("SITE HELP", 214).text();
        assert!(!help.contains("CHMOD"), "{help}");
        c.expect("SITE CHMOD 644 x", 504);
        c.expect("MFMT 20200101000000 x", 504);
        // The hidden marker that keeps an empty folder is reserved like the
        // temporary files: no command may see or remove it.
        c.expect("MKD em", 257);
        for cmd in ["SIZE em/.ferry-dir", "MLST em/.ferry-dir", "DELE em/.ferry-dir", "MDTM em/.ferry-dir", "RNFR em/.ferry-dir"] {
            c.expect(cmd, 553);
        }
        assert!(c.list_lines("NLST").contains(&"em".to_owned()), "the empty folder is still there");
        // Folders have no time of their own in a bucket: LIST shows the
        // listing's time, not the Unix epoch.
        let long = c.list_lines("LIST");
        let line = long.iter().find(|l| l.ends_with(" em")).expect("em in LIST");
        assert!(!line.contains("1970"), "{line}");
        // The local folder still has both.
        let local = ferry_testkit::TestServer::start();
        let feat = local.login().expect("FEAT", 211).text();
        assert!(feat.contains("MFMT") && feat.contains("UNIX.mode"), "{feat}");
    }

    #[test]
    fn i06_rclone_copies_through_an_s3_backed_node() {
        if !require("rclone") {
            return;
        }
        let Some(s3) = s3_server() else { return };
        let node = s3_node(&s3, "");
        let src = node.scratch().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        for i in 0..20 {
            std::fs::write(src.join(format!("f{i}.bin")), pseudo_random(1000 + i * 997, i as u64)).unwrap();
        }
        std::fs::write(src.join("sub/inner.txt"), b"inner").unwrap();
        let obscured = std::process::Command::new("rclone").args(["obscure", ferry_testkit::PASSWORD]).output().unwrap();
        let pass = String::from_utf8(obscured.stdout).unwrap().trim().to_owned();
        let remote = format!(":ftp,host=127.0.0.1,port={},user={},pass={pass}:dest", node.port(), ferry_testkit::USER);
        let out = std::process::Command::new("rclone")
            .args(["--config", "/dev/null", "copy", "--low-level-retries", "1", "--retries", "1"])
            .arg(&src)
            .arg(&remote)
            .output()
            .unwrap();
        assert!(out.status.success(), "rclone copy failed:\n{}", String::from_utf8_lossy(&out.stderr));
        for i in 0..20 {
            let name = format!("f{i}.bin");
            assert!(std::fs::read(node.root().join("dest").join(&name)).unwrap() == std::fs::read(src.join(&name)).unwrap(), "{name}");
        }
        assert_eq!(std::fs::read(node.root().join("dest/sub/inner.txt")).unwrap(), b"inner");
        // And rclone's own check agrees (sizes; FTP has no hashes for it).
        let check = std::process::Command::new("rclone")
            .args(["--config", "/dev/null", "check", "--size-only"])
            .arg(&src)
            .arg(&remote)
            .output()
            .unwrap();
        assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    }

    /// The store's address, bucket and prefix: for the log, never for clients.
    fn assert_no_internals(text: &str, s3: &ferry_testkit::peers::S3Server, prefix: &str) {
        let port = s3.endpoint.rsplit(':').next().unwrap();
        for secret in
            [s3.endpoint.as_str(), port, s3.bucket.as_str(), prefix, "object storage", "http"].into_iter().filter(|s| !s.is_empty())
        {
            assert!(!text.contains(secret), "a reply shows {secret:?}: {text}");
        }
    }

    #[test]
    fn i15_an_outage_says_storage_unavailable_and_shows_no_internals() {
        let Some(mut s3) = s3_server() else { return };
        let prefix = "tenant-7f3a";
        // Short deadlines so that the outage surfaces quickly in the test.
        let timeouts = S3Timeouts { request: Duration::from_secs(2), retry_for: Duration::from_secs(2) };
        let node = s3_node_with(&s3, prefix, timeouts);
        let mut c = node.login();
        c.expect("TYPE I", 200);
        assert_eq!(c.upload("STOR kept.bin", b"before").code, 226);
        s3.stop();
        for cmd in ["SIZE kept.bin", "MDTM kept.bin", "DELE kept.bin", "MKD d", "CWD d"] {
            let r = c.cmd(cmd);
            assert_eq!(r.code, 451, "{cmd}: {r:?}");
            assert!(r.text().contains("Storage unavailable; try again later"), "{cmd}: {r:?}");
            assert_no_internals(&r.text(), &s3, prefix);
        }
        let d = c.epsv();
        let r = c.cmd("RETR kept.bin");
        assert_eq!(r.code, 451, "{r:?}");
        assert_no_internals(&r.text(), &s3, prefix);
        drop(d.shutdown(std::net::Shutdown::Both));
        let _d = c.epsv();
        let r = c.cmd("LIST");
        assert_eq!(r.code, 451, "{r:?}");
        assert_no_internals(&r.text(), &s3, prefix);
        // Back up: the same session goes on.
        s3.restart();
        c.expect("NOOP", 200);
        assert_eq!(c.download("RETR kept.bin").0, b"before");
    }

    #[test]
    fn i15_a_few_seconds_of_outage_are_bridged_by_retries() {
        let Some(mut s3) = s3_server() else { return };
        let node = s3_node(&s3, "");
        let mut c = node.login();
        c.expect("TYPE I", 200);
        let data = pseudo_random(100_000, 3);
        assert_eq!(c.upload("STOR a.bin", &data).code, 226);
        s3.stop();
        // The store comes back after three seconds, while a request waits.
        let back = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(3));
            s3.restart();
            s3
        });
        let started = Instant::now();
        let r = c.expect("SIZE a.bin", 213);
        assert_eq!(r.text(), "100000");
        assert!(started.elapsed() >= Duration::from_secs(2), "the reply came before the store was back? {:?}", started.elapsed());
        let _s3 = back.join().unwrap();
        assert!(c.download("RETR a.bin").0 == data);
    }

    #[test]
    fn i15_a_frozen_store_ends_in_an_error_reply_not_a_hang() {
        let Some(s3) = s3_server() else { return };
        let timeouts = S3Timeouts { request: Duration::from_secs(2), retry_for: Duration::from_secs(3) };
        let node = s3_node_with(&s3, "", timeouts);
        let mut c = node.login();
        assert_eq!(c.upload("STOR a.bin", b"x").code, 226);
        s3.freeze(true);
        let started = Instant::now();
        let r = c.cmd("SIZE a.bin");
        assert_eq!(r.code, 451, "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(15), "answered after {:?}", started.elapsed());
        assert_no_internals(&r.text(), &s3, "");
        s3.freeze(false);
        c.expect("SIZE a.bin", 213);
    }
}
