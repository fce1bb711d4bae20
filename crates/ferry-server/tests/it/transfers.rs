//! Transfers at the protocol level: bytes compared byte for byte.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use ferry_testkit::{TestServer, pseudo_random};

#[test]
fn retr_and_stor_round_trip_binary() {
    let s = TestServer::start();
    let data = pseudo_random(3 * 1024 * 1024 + 17, 1);
    let mut c = s.login();
    c.expect("TYPE I", 200);
    assert_eq!(c.upload("STOR big.bin", &data).code, 226);
    assert_eq!(std::fs::read(s.root().join("big.bin")).unwrap(), data);
    let (back, r) = c.download("RETR big.bin");
    assert_eq!(r.code, 226);
    assert!(back == data, "downloaded bytes differ");
    // Empty files too.
    assert_eq!(c.upload("STOR empty", b"").code, 226);
    assert_eq!(std::fs::read(s.root().join("empty")).unwrap(), b"");
    let (back, _) = c.download("RETR empty");
    assert!(back.is_empty());
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(s.root()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn ascii_mode_converts_line_ends() {
    let s = TestServer::start();
    let mut c = s.login();
    c.expect("TYPE A", 200);
    assert_eq!(c.upload("STOR t.txt", b"one\r\ntwo\r\nlone\rcr\r\n").code, 226);
    assert_eq!(std::fs::read(s.root().join("t.txt")).unwrap(), b"one\ntwo\nlone\rcr\n");
    let (back, _) = c.download("RETR t.txt");
    assert_eq!(back, b"one\r\ntwo\r\nlone\rcr\r\n");
    c.expect("TYPE I", 200);
    let (raw, _) = c.download("RETR t.txt");
    assert_eq!(raw, b"one\ntwo\nlone\rcr\n");
}

#[test]
fn rest_resumes_retr_and_stor() {
    let s = TestServer::start();
    let data = pseudo_random(100_000, 2);
    std::fs::write(s.root().join("f"), &data).unwrap();
    let mut c = s.login();
    c.expect("REST 60000", 350);
    let (tail, r) = c.download("RETR f");
    assert_eq!(r.code, 226);
    assert!(tail == data[60_000..]);
    // Resume an upload: the server has the first 40,000 bytes.
    std::fs::write(s.root().join("g"), &data[..40_000]).unwrap();
    c.expect("REST 40000", 350);
    assert_eq!(c.upload("STOR g", &data[40_000..]).code, 226);
    assert!(std::fs::read(s.root().join("g")).unwrap() == data);
    // APPE appends.
    assert_eq!(c.upload("APPE g", b"tail").code, 226);
    assert_eq!(std::fs::read(s.root().join("g")).unwrap().len(), 100_004);
    assert_eq!(c.upload("APPE new", b"fresh").code, 226);
    assert_eq!(std::fs::read(s.root().join("new")).unwrap(), b"fresh");
}

#[test]
fn rang_limits_retr() {
    let s = TestServer::start();
    std::fs::write(s.root().join("f"), b"0123456789").unwrap();
    let mut c = s.login();
    c.expect("RANG 2 5", 350);
    let (part, _) = c.download("RETR f");
    assert_eq!(part, b"2345");
    let (all, _) = c.download("RETR f");
    assert_eq!(all, b"0123456789", "RANG applies to one transfer only");
    c.expect("RANG 2 5", 350);
    c.expect("RANG 1 0", 350);
    let (all, _) = c.download("RETR f");
    assert_eq!(all.len(), 10);
}

#[test]
fn stou_picks_a_fresh_name() {
    let s = TestServer::start();
    std::fs::write(s.root().join("report"), b"old").unwrap();
    let mut c = s.login();
    let mut data = c.epsv();
    let r = c.expect("STOU report", 150);
    let name = r.text().strip_prefix("FILE: ").unwrap().to_owned();
    assert_ne!(name, "report");
    data.write_all(b"new").unwrap();
    drop(data);
    assert_eq!(c.read_reply().code, 226);
    assert_eq!(std::fs::read(s.root().join(&name)).unwrap(), b"new");
    assert_eq!(std::fs::read(s.root().join("report")).unwrap(), b"old");
}

#[test]
fn stor_errors_are_reported_before_data() {
    let s = TestServer::start();
    std::fs::create_dir(s.root().join("dir")).unwrap();
    let mut c = s.login();
    c.expect("STOR missing/x", 550);
    c.expect("STOR dir", 550);
    c.expect("STOR .~ferry-sneaky.part", 553);
    c.expect("NOOP", 200);
}

#[test]
fn active_mode_port_and_eprt() {
    let s = TestServer::start();
    std::fs::write(s.root().join("f"), b"active bytes").unwrap();
    let mut c = s.login();
    for extended in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if extended {
            c.expect(&format!("EPRT |1|127.0.0.1|{port}|"), 200);
        } else {
            c.expect(&format!("PORT 127,0,0,1,{},{}", port >> 8, port & 0xff), 200);
        }
        c.expect("RETR f", 150);
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"active bytes");
        assert_eq!(c.read_reply().code, 226);
    }
}

#[test]
fn passive_connection_from_another_address_is_refused() {
    let s = TestServer::start();
    std::fs::write(s.root().join("f"), b"secret").unwrap();
    let mut c = s.login();
    let r = c.expect("EPSV", 229);
    let port = ferry_proto::addr::parse_epsv_reply(&r.text()).unwrap();
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // A hijacker on another loopback address connects first.
    let sock = socket_from("127.0.0.2", target);
    c.expect("RETR f", 150);
    if let Some(mut hijack) = sock {
        hijack.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let _ = hijack.read_to_end(&mut got);
        assert!(got.is_empty(), "a foreign address received file data");
    }
    let mut data = TcpStream::connect(target).unwrap();
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"secret");
    assert_eq!(c.read_reply().code, 226);
}

fn socket_from(ip: &str, target: SocketAddr) -> Option<TcpStream> {
    let sock = tokio::net::TcpSocket::new_v4().ok()?;
    sock.bind(format!("{ip}:0").parse().unwrap()).ok()?;
    let std_sock: std::net::TcpStream = {
        // A blocking connect via socket2-free std: use a tiny runtime.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(sock.connect(target)).ok()?.into_std().ok()?
    };
    std_sock.set_nonblocking(false).ok()?;
    Some(std_sock)
}

#[test]
fn abor_stops_a_download_and_the_session_goes_on() {
    let s = TestServer::start();
    std::fs::write(s.root().join("big"), pseudo_random(64 * 1024 * 1024, 3)).unwrap();
    let mut c = s.login();
    let mut data = c.epsv();
    c.expect("RETR big", 150);
    let mut buf = vec![0u8; 65536];
    data.read_exact(&mut buf).unwrap();
    // ABOR as ftp(1) sends it: Telnet IP and Synch first.
    c.send_raw(b"\xff\xf4\xff\xf2ABOR\r\n");
    assert_eq!(c.read_reply().code, 426);
    assert_eq!(c.read_reply().code, 226);
    drop(data);
    c.expect("NOOP", 200);
    let (bytes, r) = c.download("RETR big");
    assert_eq!((bytes.len(), r.code), (64 * 1024 * 1024, 226));
}

#[test]
fn aborted_upload_never_destroys_the_existing_file() {
    let s = TestServer::start();
    let original = pseudo_random(10_000, 4);
    std::fs::write(s.root().join("keep"), &original).unwrap();
    let mut c = s.login();
    let mut data = c.epsv();
    c.expect("STOR keep", 150);
    data.write_all(&pseudo_random(50_000, 5)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    c.send("ABOR");
    assert_eq!(c.read_reply().code, 426);
    assert_eq!(c.read_reply().code, 226);
    drop(data);
    assert!(std::fs::read(s.root().join("keep")).unwrap() == original, "original file damaged");
    let names: Vec<_> = std::fs::read_dir(s.root()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "temporary file left behind: {names:?}");
    // While an upload is replaced, readers still see the old file.
    let mut data = c.epsv();
    c.expect("STOR keep", 150);
    data.write_all(b"partial").unwrap();
    data.flush().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(std::fs::read(s.root().join("keep")).unwrap() == original);
    drop(data);
    assert_eq!(c.read_reply().code, 226);
    assert_eq!(std::fs::read(s.root().join("keep")).unwrap(), b"partial");
}

#[test]
fn interrupted_new_upload_is_kept_for_resume() {
    let s = TestServer::start();
    let data = pseudo_random(30_000, 6);
    let mut c = s.login();
    c.aborted_upload("STOR part", &data[..10_000]);
    let size: u64 = c.expect("SIZE part", 213).text().parse().unwrap();
    assert!(size > 0 && size <= 10_000);
    c.expect(&format!("REST {size}"), 350);
    assert_eq!(c.upload("STOR part", &data[size as usize..]).code, 226);
    assert!(std::fs::read(s.root().join("part")).unwrap() == data);
}

#[test]
fn quit_during_transfer() {
    let s = TestServer::start();
    std::fs::write(s.root().join("big"), vec![7u8; 32 * 1024 * 1024]).unwrap();
    let mut c = s.login();
    let _data = c.epsv();
    c.expect("RETR big", 150);
    c.send("QUIT");
    assert_eq!(c.read_reply().code, 426);
    assert_eq!(c.read_reply().code, 221);
    assert!(c.is_closed());
}

#[test]
fn commands_sent_during_a_transfer_are_answered_after_it() {
    let s = TestServer::start();
    std::fs::write(s.root().join("f"), vec![1u8; 4 * 1024 * 1024]).unwrap();
    let mut c = s.login();
    let mut data = c.epsv();
    c.expect("RETR f", 150);
    c.send("PWD");
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), 4 * 1024 * 1024);
    assert_eq!(c.read_reply().code, 226);
    assert_eq!(c.read_reply().code, 257);
}

/// A small tmpfs, unmounted on drop. Needs root (CI runs as root).
pub(crate) struct SmallDisk(pub(crate) std::path::PathBuf);

impl SmallDisk {
    pub(crate) fn mount(dir: std::path::PathBuf, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(&dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn full_disk_is_reported_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(dir.path().join("small"), "256k") else {
        assert!(std::env::var_os("CI").is_none(), "mounting a tmpfs failed under CI");
        eprintln!("skipping: cannot mount a tmpfs here");
        return;
    };
    std::fs::write(disk.0.join("keep"), b"precious").unwrap();
    let root = disk.0.clone();
    let s = TestServer::start_with(move |c| c.root = root);
    let mut c = s.login();
    let mut data = c.epsv();
    c.expect("STOR keep", 150);
    // The disk fills up part-way; the client may see its writes fail.
    let _ = data.write_all(&pseudo_random(2 * 1024 * 1024, 7));
    drop(data);
    let r = c.read_reply();
    assert_eq!(r.code, 452, "{r:?}");
    assert!(r.text().contains("No space left on device"), "{r:?}");
    assert_eq!(std::fs::read(disk.0.join("keep")).unwrap(), b"precious");
    let names: Vec<_> = std::fs::read_dir(&disk.0).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("keep")], "temporary file left behind");
    c.expect("NOOP", 200);
}

/// A client that opens an upload and then goes silent gets 426 once the
/// data timeout passes, on the plain fast path and over ASCII (the pumped
/// path) alike; what it replaced is untouched and the session goes on.
#[test]
fn stalled_uploads_time_out_and_lose_nothing() {
    let s = TestServer::start_with(|c| c.data_timeout = Duration::from_secs(1));
    std::fs::write(s.root().join("kept"), b"before").unwrap();
    let mut c = s.login();
    for ty in ["TYPE I", "TYPE A"] {
        c.expect(ty, 200);
        let mut d = c.epsv();
        c.expect("STOR kept", 150);
        d.write_all(b"partial").unwrap();
        let start = std::time::Instant::now();
        assert_eq!(c.read_reply().code, 426, "{ty}");
        assert!(start.elapsed() < Duration::from_secs(8), "{ty}: timed out in {:?}", start.elapsed());
        drop(d);
        assert_eq!(std::fs::read(s.root().join("kept")).unwrap(), b"before", "{ty}");
        c.expect("NOOP", 200);
    }
}
