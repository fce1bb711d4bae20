//! `Client::retrieve_to_file`: downloads spliced into a local file on one
//! blocking thread (plain binary), or through the async pump (TLS).

use std::io::{Seek, SeekFrom};
use std::time::Duration;

use ferry_client::tls::{TlsMode, Trust};
use ferry_client::{Client, ClientConfig, Error};
use ferry_testkit::{TestServer, pseudo_random};

use crate::peers;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn login(port: u16, user: &str, password: &str, config: ClientConfig) -> Client {
    let mut c = Client::connect("127.0.0.1", port, config).await.unwrap();
    c.login(user, password).await.unwrap();
    c
}

#[test]
fn lands_byte_for_byte_from_every_peer_at_every_size_and_offset() {
    rt().block_on(async {
        let local = peers::scratch();
        for p in peers::all() {
            let mut c = login(p.port(), p.user(), p.password(), ClientConfig::default()).await;
            for (i, size) in [0usize, 1, 70_000, 3 << 20].into_iter().enumerate() {
                let data = pseudo_random(size, i as u64 + 90);
                std::fs::write(p.root().join("tf.bin"), &data).unwrap();
                let path = local.path().join(format!("{}-{size}", p.name()));
                let file = std::fs::File::create(&path).unwrap();
                let mut last = 0;
                let (n, _) = c.retrieve_to_file(&p.remote("tf.bin"), 0, file, &mut |n| last = n, std::future::pending()).await.unwrap();
                assert_eq!((n, last), (size as u64, size as u64), "{}", p.name());
                assert!(std::fs::read(&path).unwrap() == data, "{}: {size} bytes differ", p.name());
                // From an offset, into a file positioned there (a resume).
                if size > 1 {
                    let half = size / 2;
                    std::fs::write(&path, &data[..half]).unwrap();
                    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                    file.seek(SeekFrom::End(0)).unwrap();
                    let (n, _) =
                        c.retrieve_to_file(&p.remote("tf.bin"), half as u64, file, &mut |_| {}, std::future::pending()).await.unwrap();
                    assert_eq!(n, (size - half) as u64, "{}", p.name());
                    assert!(std::fs::read(&path).unwrap() == data, "{}: resumed {size} bytes differ", p.name());
                }
            }
            c.noop().await.unwrap();
            c.quit().await.unwrap();
        }
    });
}

#[test]
fn a_missing_file_is_the_servers_error_and_the_session_goes_on() {
    rt().block_on(async {
        let s = TestServer::start();
        let mut c = login(s.port(), ferry_testkit::USER, ferry_testkit::PASSWORD, ClientConfig::default()).await;
        let local = peers::scratch();
        let file = std::fs::File::create(local.path().join("x")).unwrap();
        let e = c.retrieve_to_file("nope.bin", 0, file, &mut |_| {}, std::future::pending()).await.unwrap_err();
        assert!(e.to_string().contains("550"), "{e}");
        c.noop().await.unwrap();
    });
}

#[test]
fn an_interrupted_spliced_download_sends_abor_and_the_session_goes_on() {
    rt().block_on(async {
        // The server paces the download (2 MB/s), so the client side is the
        // spliced path, not the client's own rate limit.
        let s = TestServer::start_with(|c| c.download_rate = Some(2_000_000));
        std::fs::write(s.root().join("slow.bin"), pseudo_random(20_000_000, 91)).unwrap();
        let mut c = login(s.port(), ferry_testkit::USER, ferry_testkit::PASSWORD, ClientConfig::default()).await;
        let local = peers::scratch();
        let path = local.path().join("slow.bin");
        let file = std::fs::File::create(&path).unwrap();
        let mut seen = Vec::new();
        let r = c.retrieve_to_file("slow.bin", 0, file, &mut |n| seen.push(n), tokio::time::sleep(Duration::from_millis(700))).await;
        assert!(matches!(r, Err(Error::Interrupted)), "{r:?}");
        let got = std::fs::metadata(&path).unwrap().len();
        assert!(got > 0 && got < 20_000_000, "{got} bytes arrived");
        assert!(seen.iter().any(|&n| n > 0), "progress was told while the bytes flowed: {seen:?}");
        c.noop().await.unwrap_or_else(|e| panic!("session out of step after ABOR: {e}"));
        assert_eq!(c.size("slow.bin").await.unwrap(), 20_000_000);
    });
}

#[test]
fn over_tls_the_file_comes_through_the_async_pump() {
    rt().block_on(async {
        let s = TestServer::start_tls(|_| {});
        let data = pseudo_random(2 << 20, 92);
        std::fs::write(s.root().join("t.bin"), &data).unwrap();
        let trust = Trust { insecure: true, ..Trust::default() };
        let config = ClientConfig { tls: TlsMode::Explicit, trust, ..ClientConfig::default() };
        let mut c = login(s.port(), ferry_testkit::USER, ferry_testkit::PASSWORD, config).await;
        let local = peers::scratch();
        let path = local.path().join("t.bin");
        let file = std::fs::File::create(&path).unwrap();
        let (n, _) = c.retrieve_to_file("t.bin", 0, file, &mut |_| {}, std::future::pending()).await.unwrap();
        assert_eq!(n, data.len() as u64);
        assert!(std::fs::read(&path).unwrap() == data);
    });
}

#[test]
fn in_ascii_mode_line_ends_are_converted_and_with_a_rate_limit_paced() {
    rt().block_on(async {
        let s = TestServer::start();
        std::fs::write(s.root().join("a.txt"), b"one\ntwo\n").unwrap();
        let data = pseudo_random(600_000, 93);
        std::fs::write(s.root().join("r.bin"), &data).unwrap();
        let config = ClientConfig { limit_rate: Some(ferry_client::rate::RateLimit::Fixed(1_000_000)), ..ClientConfig::default() };
        let mut c = login(s.port(), ferry_testkit::USER, ferry_testkit::PASSWORD, config).await;
        let local = peers::scratch();
        // ASCII goes CRLF on the wire; written raw, the file would hold them.
        c.ascii = true;
        let file = std::fs::File::create(local.path().join("a.txt")).unwrap();
        c.retrieve_to_file("a.txt", 0, file, &mut |_| {}, std::future::pending()).await.unwrap();
        assert_eq!(std::fs::read(local.path().join("a.txt")).unwrap(), b"one\ntwo\n");
        c.ascii = false;
        let t = std::time::Instant::now();
        let file = std::fs::File::create(local.path().join("r.bin")).unwrap();
        c.retrieve_to_file("r.bin", 0, file, &mut |_| {}, std::future::pending()).await.unwrap();
        assert!(std::fs::read(local.path().join("r.bin")).unwrap() == data);
        // 600 kB at 1 MB/s after the limiter's first burst: not instant.
        assert!(t.elapsed() >= Duration::from_millis(200), "the client's rate limit held: {:?}", t.elapsed());
    });
}
