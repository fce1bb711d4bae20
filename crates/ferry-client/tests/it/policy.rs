//! The transfer policy the library owns, seen from the wire: a checked
//! resume compares once per transfer, and every way of resuming an upload
//! (one-shot `put --resume`, the shell's `put --resume` and `reput`) takes
//! the same path.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use ferry_testkit::{PASSWORD, TestServer, USER, pseudo_random};

use crate::peers::scratch;
use crate::program::{ferry, text};

/// A control-connection proxy to `target` that records what clients send.
fn recording_proxy(target: SocketAddr) -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(client) = conn else { continue };
            let Ok(server) = TcpStream::connect(target) else { continue };
            let (mut from_client, mut to_server) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let record = record.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = from_client.read(&mut buf) {
                    if n == 0 || to_server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    record.lock().unwrap().extend_from_slice(&buf[..n]);
                }
                let _ = to_server.shutdown(std::net::Shutdown::Both);
            });
            let (mut from_server, mut to_client) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_server, &mut to_client);
                let _ = to_client.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (port, seen)
}

/// How many recorded command lines start with `verb `.
fn count(seen: &Mutex<Vec<u8>>, verb: &str) -> usize {
    let bytes = seen.lock().unwrap();
    String::from_utf8_lossy(&bytes).lines().filter(|l| l.starts_with(&format!("{verb} "))).count()
}

#[test]
fn reget_checks_the_partial_file_once() {
    let s = TestServer::start();
    let data = pseudo_random(700_000, 81);
    std::fs::write(s.root().join("r.bin"), &data).unwrap();
    let dir = scratch();
    std::fs::write(dir.path().join("r.bin"), &data[..250_000]).unwrap();
    let (port, seen) = recording_proxy(s.addr);
    let out = ferry(dir.path(), &["-c", "reget r.bin", &format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{port}/")], "");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Partial file r.bin checked (SHA-256); resuming at byte 250000."), "{t}");
    assert!(t.contains("Resumed r.bin at byte 250000"), "{t}");
    assert!(std::fs::read(dir.path().join("r.bin")).unwrap() == data, "resumed file differs");
    // One comparison: one SIZE, one HASH of the prefix, one REST.
    assert_eq!((count(&seen, "SIZE"), count(&seen, "HASH"), count(&seen, "REST")), (1, 1, 1), "{t}");
}

#[test]
fn one_shot_and_shell_put_resume_alike() {
    let s = TestServer::start();
    let data = pseudo_random(900_000, 82);
    let dir = scratch();
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    let (port, seen) = recording_proxy(s.addr);
    let base = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{port}/");
    let runs: [(&str, Vec<String>); 3] = [
        ("one-shot", vec!["--resume".into(), "put".into(), "big.bin".into(), format!("{base}big.bin")]),
        ("shell put", vec!["-c".into(), "put --resume big.bin".into(), base.clone()]),
        ("shell reput", vec!["-c".into(), "reput big.bin".into(), base.clone()]),
    ];
    for (i, (how, args)) in runs.iter().enumerate() {
        let have = 100_000 * (i + 1);
        std::fs::write(s.root().join("big.bin"), &data[..have]).unwrap();
        let before = (count(&seen, "HASH"), count(&seen, "REST"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ferry(dir.path(), &args, "");
        let t = text(&out);
        assert_eq!(out.status.code(), Some(0), "{how}: {t}");
        assert!(t.contains(&format!("Remote part checked (SHA-256); resuming at byte {have}.")), "{how}: {t}");
        assert!(t.contains("Resumed upload of big.bin to big.bin"), "{how}: {t}");
        assert!(std::fs::read(s.root().join("big.bin")).unwrap() == data, "{how}: resumed upload differs");
        assert_eq!((count(&seen, "HASH"), count(&seen, "REST")), (before.0 + 1, before.1 + 1), "{how}: {t}");
    }
    // A remote part that differs is refused the same way by both.
    let mut other = data[..1000].to_vec();
    other[3] ^= 1;
    for args in [vec!["--resume", "put", "big.bin", &format!("{base}big.bin")], vec!["-c", "put --resume big.bin", &base]] {
        std::fs::write(s.root().join("big.bin"), &other).unwrap();
        let out = ferry(dir.path(), &args, "");
        assert_eq!(out.status.code(), Some(8), "{}", text(&out));
        assert!(
            text(&out).contains("the first 1000 bytes of big.bin and big.bin differ (SHA-256 check); refusing to resume"),
            "{}",
            text(&out)
        );
        assert_eq!(std::fs::read(s.root().join("big.bin")).unwrap(), other);
    }
}
