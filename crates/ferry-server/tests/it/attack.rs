//! Attacks from a raw socket. Each one asserts the refusal, and then that
//! the server still serves an ordinary session (`still_serves`).

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::os::unix::fs::symlink;
use std::time::Duration;

use ferry_server::auth::defender::DefenderConfig;
use ferry_testkit::{Control, PASSWORD, TestServer, USER, connect_from, pseudo_random};

/// A normal session works: log in, upload, download, byte for byte.
#[track_caller]
fn still_serves(s: &TestServer) {
    let mut c = s.login();
    assert_eq!(c.upload("STOR canary.txt", b"still here").code, 226);
    let (back, r) = c.download("RETR canary.txt");
    assert_eq!((back.as_slice(), r.code), (&b"still here"[..], 226));
    c.expect("QUIT", 221);
}

/// A server with a secret outside its root and links pointing at it.
fn with_secret() -> TestServer {
    let s = TestServer::start();
    let outside = s.root().parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), b"TOP SECRET").unwrap();
    symlink(&outside, s.root().join("link-dir")).unwrap();
    symlink(outside.join("secret.txt"), s.root().join("link-file")).unwrap();
    std::fs::create_dir(s.root().join("sub")).unwrap();
    s
}

const TRAVERSALS: &[&str] = &[
    "..",
    "../..",
    "../outside/secret.txt",
    "/../outside/secret.txt",
    "//../outside/secret.txt",
    "sub/../../outside/secret.txt",
    "./../outside",
    "..\\outside\\secret.txt",
    "\\..\\..\\outside",
    "%2e%2e/outside/secret.txt",
    "..%2foutside%2fsecret.txt",
    "．．/outside/secret.txt",
    "link-dir/secret.txt",
    "link-dir/../link-dir/secret.txt",
    "link-file",
    "sub/../link-file",
];

#[test]
fn path_traversal_in_every_command_that_takes_a_path() {
    let s = with_secret();
    let outside = s.root().parent().unwrap().join("outside");
    let mut c = s.login();
    for t in TRAVERSALS {
        // Reads: never the secret.
        for verb in ["SIZE", "MDTM", "HASH", "XCRC", "XMD5", "MLST", "STAT"] {
            let r = c.cmd(&format!("{verb} {t}"));
            assert!(!r.text().contains("TOP SECRET"), "{verb} {t}: {r:?}");
            assert!(r.code != 213 || !t.contains("secret") || *t == "%2e%2e/outside/secret.txt", "{verb} {t} answered {r:?}");
        }
        for verb in ["RETR", "LIST", "NLST", "MLSD"] {
            let mut data = c.epsv();
            c.send(&format!("{verb} {t}"));
            let r = c.read_reply();
            if r.code == 150 {
                let mut got = Vec::new();
                let _ = data.read_to_end(&mut got);
                assert!(!String::from_utf8_lossy(&got).contains("TOP SECRET"), "{verb} {t} leaked the secret");
                assert!(
                    !String::from_utf8_lossy(&got).contains("secret.txt") || verb == "LIST" || verb == "NLST",
                    "{verb} {t} listed outside"
                );
                let done = c.read_reply();
                assert_eq!(done.code, 226, "{verb} {t}");
            } else {
                assert!(matches!(r.code, 550 | 553 | 501), "{verb} {t}: {r:?}");
            }
        }
        // CWD: wherever it lands, the secret is not reachable from there.
        if c.cmd(&format!("CWD {t}")).code == 250 {
            let r = c.cmd("SIZE secret.txt");
            assert!(r.code != 213 || r.text() != "10", "CWD {t} reached the secret");
        }
        c.expect("CWD /", 250);
        // Writes: nothing outside changes.
        for line in [
            format!("MKD {t}/made"),
            format!("DELE {t}"),
            format!("RMD {t}"),
            format!("SITE CHMOD 777 {t}"),
            format!("MFMT 20000101000000 {t}"),
        ] {
            let r = c.cmd(&line);
            assert_ne!(r.code / 100, 1, "{line}: {r:?}");
        }
        c.expect("RNFR canary-source", 550);
        let mut data = c.epsv();
        c.send(&format!("STOR {t}/planted.txt"));
        let r = c.read_reply();
        if r.code == 150 {
            data.write_all(b"planted").unwrap();
            drop(data);
            assert_eq!(c.read_reply().code, 226);
        }
        std::fs::write(s.root().join("mv.txt"), b"x").unwrap();
        if c.cmd("RNFR mv.txt").code == 350 {
            let _ = c.cmd(&format!("RNTO {t}/moved.txt"));
        }
    }
    let names: Vec<_> = std::fs::read_dir(&outside).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, ["secret.txt"], "something was written outside the root");
    assert_eq!(std::fs::read(outside.join("secret.txt")).unwrap(), b"TOP SECRET");
    use std::os::unix::fs::PermissionsExt;
    assert_ne!(std::fs::metadata(outside.join("secret.txt")).unwrap().permissions().mode() & 0o777, 0o777);
    drop(c);
    still_serves(&s);
}

#[test]
fn nul_bytes_and_invalid_utf8_in_paths() {
    let s = with_secret();
    let mut c = s.login();
    for bytes in [&b"RETR sub\0/../../outside/secret.txt\r\n"[..], b"CWD \xc0\xae\xc0\xae\r\n", b"MKD \xff\xfe\r\n", b"DELE a\0b\r\n"] {
        c.send_raw(bytes);
        let r = c.read_reply();
        assert!(matches!(r.code, 501 | 553), "{bytes:?}: {r:?}");
    }
    drop(c);
    still_serves(&s);
}

#[test]
fn bounce_and_hijack() {
    let s = TestServer::start();
    std::fs::write(s.root().join("f"), b"private").unwrap();
    let mut c = s.login();
    for line in ["PORT 127,0,0,2,4,1", "PORT 10,1,2,3,4,1", "PORT 127,0,0,1,0,25", "EPRT |1|127.0.0.2|2000|", "EPRT |1|127.0.0.1|22|"] {
        c.expect(line, 500);
    }
    // A passive port taken by another host (127.0.0.2) gets nothing.
    let r = c.expect("EPSV", 229);
    let port = ferry_proto::addr::parse_epsv_reply(&r.text()).unwrap();
    let mut thief = connect_from(format!("127.0.0.1:{port}").parse().unwrap(), IpAddr::from([127, 0, 0, 2]));
    thief.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.send("RETR f");
    assert_eq!(c.read_reply().code, 150);
    let mut stolen = Vec::new();
    let _ = thief.read_to_end(&mut stolen);
    assert!(stolen.is_empty());
    let mut real = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    let mut got = Vec::new();
    real.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"private");
    assert_eq!(c.read_reply().code, 226);
    drop(c);
    still_serves(&s);
}

#[test]
fn brute_force_is_slowed_then_banned_per_address() {
    let s = TestServer::start_with(|c| {
        c.defender = DefenderConfig { ban_after: 4, ..DefenderConfig::default() };
        c.failure_delay = Duration::from_millis(200);
        c.max_login_failures = 100;
    });
    let attacker: IpAddr = [127, 0, 0, 3].into();
    let mut c = Control::connect_from(s.addr, attacker);
    // Spraying one password over many user names counts the same.
    for (i, user) in ["root", "admin", "alice"].iter().enumerate() {
        c.expect(&format!("USER {user}"), 331);
        let start = std::time::Instant::now();
        let r = c.cmd("PASS password1");
        assert_eq!(r.code, 530, "attempt {i}");
        assert!(start.elapsed() >= Duration::from_millis(190), "failed logins are answered after the delay");
    }
    c.expect("USER bob", 331);
    assert_eq!(c.cmd("PASS password1").code, 421, "the fourth failure bans");
    assert!(c.is_closed());
    // New connections from the banned address are refused, even with the
    // right password; the ban says nothing about which users exist.
    let c = Control::connect_from(s.addr, attacker);
    assert_eq!(c.greeting.code, 421);
    // Other addresses are not affected.
    let mut other = Control::connect_from(s.addr, [127, 0, 0, 4].into());
    other.login(USER, PASSWORD);
    still_serves(&s);
}

#[test]
fn connection_flood_is_capped_per_address() {
    let s = TestServer::start_with(|c| c.defender = DefenderConfig { max_sessions_per_ip: 5, ..DefenderConfig::default() });
    let flooder: IpAddr = [127, 0, 0, 5].into();
    let held: Vec<Control> = (0..5).map(|_| Control::connect_from(s.addr, flooder)).collect();
    assert!(held.iter().all(|c| c.greeting.code == 220));
    for _ in 0..20 {
        assert_eq!(Control::connect_from(s.addr, flooder).greeting.code, 421);
    }
    still_serves(&s);
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    let mut again = Control::connect_from(s.addr, flooder);
    assert_eq!(again.greeting.code, 220, "slots are freed when sessions end");
    again.login(USER, PASSWORD);
}

#[test]
fn slow_loris_is_dropped_without_starving_others() {
    let s = TestServer::start_with(|c| c.login_timeout = Duration::from_millis(800));
    let mut slow = Control::connect(s.addr);
    // One byte at a time, never a full line.
    for b in b"USER al" {
        slow.send_raw(&[*b]);
        std::thread::sleep(Duration::from_millis(60));
    }
    // Meanwhile others are served.
    still_serves(&s);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(slow.read_reply().code, 421);
    assert!(slow.is_closed());
    // A client that connects and says nothing is dropped too.
    let mut idle = Control::connect(s.addr);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(idle.read_reply().code, 421);
}

#[test]
fn oversize_lines() {
    let s = TestServer::start();
    let mut c = s.login();
    // 1 MiB in one line.
    let mut huge = vec![b'A'; 1024 * 1024];
    huge.extend_from_slice(b"\r\n");
    c.send_raw(&huge);
    assert_eq!(c.read_reply().code, 500);
    c.expect("NOOP", 200);
    // A path argument beyond the limit.
    let r = c.cmd(&format!("MKD {}", "d".repeat(8000)));
    assert_eq!(r.code, 500);
    c.expect("NOOP", 200);
    // A name too long for the file system is a clean error.
    let r = c.cmd(&format!("MKD {}", "n".repeat(300)));
    assert!(matches!(r.code, 550 | 553), "{r:?}");
    drop(c);
    still_serves(&s);
}

#[test]
fn commands_out_of_sequence() {
    let s = TestServer::start_tls(|_| {});
    let mut c = Control::connect(s.addr);
    c.expect("PASS x", 503);
    c.expect("RNTO x", 530);
    c.expect("PROT P", 503);
    c.expect("PBSZ 0", 503);
    c.expect("RETR x", 530);
    c.expect("STOR x", 530);
    c.login(USER, PASSWORD);
    c.expect("RNTO x", 503);
    c.expect("PASS again", 503);
    c.expect("HOST late.example", 503);
    c.expect("AUTH TLS", 503);
    c.expect("RETR x", 550);
    c.expect("REST 10", 350);
    c.expect("ABOR", 225);
    c.expect("RANG 9 1", 501);
    c.expect("NOOP", 200);
    drop(c);
    still_serves(&s);
}

#[test]
fn garbage_bytes() {
    let s = TestServer::start();
    let mut c = Control::connect(s.addr);
    let noise = pseudo_random(64 * 1024, 99);
    // Break the noise into lines so each gets an answer.
    let lines: Vec<&[u8]> = noise.split(|b| *b == b'\n').collect();
    let mut answered = 0;
    for line in lines.iter().take(200) {
        let mut l = line.to_vec();
        l.retain(|b| *b != b'\r');
        l.extend_from_slice(b"\r\n");
        c.send_raw(&l);
        let r = c.read_reply();
        assert!(matches!(r.code, 500 | 501 | 502 | 503 | 530 | 221 | 331 | 200 | 211 | 214 | 215), "{r:?}");
        if r.code == 221 {
            return still_serves(&s);
        }
        answered += 1;
    }
    assert!(answered > 10);
    c.expect("NOOP", 200);
    drop(c);
    still_serves(&s);
}

#[test]
fn symlink_swapped_in_during_requests_never_leads_outside() {
    let s = with_secret();
    let root = s.root();
    std::fs::create_dir(root.join("swap")).unwrap();
    std::fs::write(root.join("swap/secret.txt"), b"inside copy").unwrap();
    let outside = root.parent().unwrap().join("outside");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Swap a real folder and a link to the outside back and forth, as fast
    // as possible, while a client asks for the file through that name.
    let swapper = {
        let (root, outside, stop) = (root.clone(), outside.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut swaps = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && swaps < 200_000 {
                let _ = std::fs::rename(root.join("swap"), root.join("swap.real"));
                let _ = symlink(&outside, root.join("swap"));
                let _ = std::fs::remove_file(root.join("swap"));
                let _ = std::fs::rename(root.join("swap.real"), root.join("swap"));
                swaps += 1;
            }
        })
    };
    let mut c = s.login();
    for _ in 0..150 {
        let r = c.cmd("SIZE swap/secret.txt");
        assert!(r.code != 213 || r.text() == "11", "SIZE went outside: {r:?}");
        let mut data = c.epsv();
        c.send("RETR swap/secret.txt");
        if c.read_reply().code == 150 {
            let mut got = Vec::new();
            let _ = data.read_to_end(&mut got);
            assert!(!String::from_utf8_lossy(&got).contains("TOP SECRET"), "a swapped-in link led outside the root");
            c.read_reply();
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    drop(c);
    still_serves(&s);
}
