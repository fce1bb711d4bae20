//! The `Client` library against every peer.

use std::time::Duration;

use ferry_client::{Client, ClientConfig, DataMode, Error, StoreMode};
use ferry_proto::listing::Kind;
use ferry_testkit::pseudo_random;

use crate::peers::{self, Peer};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn login(p: &Peer, config: ClientConfig) -> Client {
    let mut c = Client::connect("127.0.0.1", p.port(), config).await.unwrap_or_else(|e| panic!("{}: {e}", p.name()));
    c.login(p.user(), p.password()).await.unwrap_or_else(|e| panic!("{}: {e}", p.name()));
    c
}

#[test]
fn transfers_byte_for_byte_at_every_size() {
    rt().block_on(async {
        for p in peers::all() {
            let mut c = login(&p, ClientConfig::default()).await;
            for (i, size) in [0usize, 1, 1024 * 1024, 100 * 1024 * 1024].into_iter().enumerate() {
                let data = pseudo_random(size, i as u64 + 40);
                let name = p.remote(&format!("f{size}.bin"));
                let mut src: &[u8] = &data;
                let sent = c.store(&name, StoreMode::Replace, &mut src, &mut |_| {}, std::future::pending()).await.unwrap();
                assert_eq!(sent, size as u64, "{}", p.name());
                assert!(std::fs::read(p.root().join(format!("f{size}.bin"))).unwrap() == data, "{}: stored {size} bytes differ", p.name());
                let mut back = Vec::new();
                let got = c.retrieve(&name, 0, &mut back, &mut |_| {}, std::future::pending()).await.unwrap();
                assert_eq!(got, size as u64);
                assert!(back == data, "{}: retrieved {size} bytes differ", p.name());
                assert_eq!(c.size(&name).await.unwrap(), size as u64);
            }
            c.quit().await.unwrap();
        }
    });
}

#[test]
fn folders_listings_and_file_commands() {
    rt().block_on(async {
        for p in peers::all() {
            let mut c = login(&p, ClientConfig::default()).await;
            let dir = p.remote("lib dir");
            c.mkdir(&dir).await.unwrap();
            let mut src: &[u8] = b"hello";
            c.store(&format!("{dir}/a.txt"), StoreMode::Replace, &mut src, &mut |_| {}, std::future::pending()).await.unwrap();
            let mut src: &[u8] = b"";
            c.store(&format!("{dir}/empty"), StoreMode::Replace, &mut src, &mut |_| {}, std::future::pending()).await.unwrap();
            c.mkdir(&format!("{dir}/sub")).await.unwrap();
            let mut entries = c.list(Some(&dir)).await.unwrap();
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            let summary: Vec<_> =
                entries.iter().map(|e| (e.name.as_str(), e.kind, if e.kind == Kind::File { e.size } else { 0 })).collect();
            assert_eq!(summary, [("a.txt", Kind::File, 5), ("empty", Kind::File, 0), ("sub", Kind::Dir, 0)], "{}", p.name());
            assert!(entries[0].modified.is_some(), "{}", p.name());
            c.cwd(&dir).await.unwrap();
            assert!(c.pwd().await.unwrap().ends_with("lib dir"), "{}", p.name());
            c.rename("a.txt", "b.txt").await.unwrap();
            assert!(c.mdtm("b.txt").await.is_ok(), "{}", p.name());
            let names = c.nlst(None).await.unwrap();
            assert!(names.iter().any(|n| n.ends_with("b.txt")), "{}: {names:?}", p.name());
            let missing = c.size("nope").await.unwrap_err();
            assert_eq!(missing.reply_code(), Some(550), "{}", p.name());
            c.delete("b.txt").await.unwrap();
            c.delete("empty").await.unwrap();
            c.rmdir("sub").await.unwrap();
            c.cdup().await.unwrap();
            c.cwd("/").await.unwrap();
            c.rmdir(&dir).await.unwrap();
            c.quit().await.unwrap();
        }
    });
}

#[test]
fn active_mode_and_pasv_fallback() {
    rt().block_on(async {
        for p in peers::all() {
            let data = pseudo_random(300_000, 50);
            std::fs::write(p.root().join("m.bin"), &data).unwrap();
            for (mode, extended) in [(DataMode::Active, true), (DataMode::Active, false), (DataMode::Passive, false)] {
                let mut c = login(&p, ClientConfig { mode, extended, ..ClientConfig::default() }).await;
                let mut back = Vec::new();
                c.retrieve(&p.remote("m.bin"), 0, &mut back, &mut |_| {}, std::future::pending())
                    .await
                    .unwrap_or_else(|e| panic!("{} {mode:?} extended={extended}: {e}", p.name()));
                assert!(back == data, "{} {mode:?}", p.name());
            }
        }
    });
}

#[test]
fn resume_and_ranges() {
    rt().block_on(async {
        for p in peers::all() {
            let data = pseudo_random(2_000_000, 51);
            std::fs::write(p.root().join("r.bin"), &data).unwrap();
            let mut c = login(&p, ClientConfig::default()).await;
            let mut tail = Vec::new();
            c.retrieve(&p.remote("r.bin"), 1_500_000, &mut tail, &mut |_| {}, std::future::pending()).await.unwrap();
            assert!(tail == data[1_500_000..], "{}", p.name());
            // A middle range, then the session is still in step.
            let mut mid = Vec::new();
            c.retrieve_range(&p.remote("r.bin"), 100_000, 250_000, &mut mid, &mut |_| {}).await.unwrap();
            assert!(mid == data[100_000..350_000], "{}: range differs", p.name());
            c.noop().await.unwrap();
            // Upload resume with REST (the partial is uploaded first, so the
            // server's own user owns it, as after an interrupted upload).
            let mut head: &[u8] = &data[..700_000];
            c.store(&p.remote("u.bin"), StoreMode::Replace, &mut head, &mut |_| {}, std::future::pending()).await.unwrap();
            let mut rest: &[u8] = &data[700_000..];
            c.store(&p.remote("u.bin"), StoreMode::At(700_000), &mut rest, &mut |_| {}, std::future::pending()).await.unwrap();
            assert!(std::fs::read(p.root().join("u.bin")).unwrap() == data, "{}: resumed upload differs", p.name());
            // Server-side prefix hashes where offered (ferryd: HASH + RANG).
            let h = c.remote_prefix_hash(&p.remote("r.bin"), 1000).await.unwrap();
            if p.name() == "ferryd" {
                let (algo, hex) = h.expect("ferryd offers HASH with RANG");
                let local = p.root().join("r.bin");
                assert_eq!(ferry_client::local::prefix_digest(&local, 1000, algo).unwrap(), hex);
            }
            c.quit().await.unwrap();
        }
    });
}

#[test]
fn interrupt_sends_abor_and_the_session_goes_on() {
    rt().block_on(async {
        for p in peers::all() {
            std::fs::write(p.root().join("slow.bin"), pseudo_random(8_000_000, 52)).unwrap();
            let config = ClientConfig { limit_rate: Some(ferry_client::rate::RateLimit::Fixed(2_000_000)), ..ClientConfig::default() };
            let mut c = login(&p, config).await;
            let mut sink = Vec::new();
            let r = c.retrieve(&p.remote("slow.bin"), 0, &mut sink, &mut |_| {}, tokio::time::sleep(Duration::from_millis(400))).await;
            assert!(matches!(r, Err(Error::Interrupted)), "{}: {r:?}", p.name());
            assert!(!sink.is_empty() && sink.len() < 8_000_000);
            c.noop().await.unwrap_or_else(|e| panic!("{}: session out of step after ABOR: {e}", p.name()));
            assert_eq!(c.size(&p.remote("slow.bin")).await.unwrap(), 8_000_000);
        }
    });
}

#[test]
fn clear_errors() {
    rt().block_on(async {
        let s = ferry_testkit::TestServer::start();
        let mut c = Client::connect("127.0.0.1", s.port(), ClientConfig::default()).await.unwrap();
        let e = c.login(ferry_testkit::USER, "wrong").await.unwrap_err();
        assert_eq!(e.kind(), ferry_client::ErrorKind::Login);
        assert!(e.to_string().contains("530"), "{e}");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = Client::connect("127.0.0.1", port, ClientConfig::default()).await.unwrap_err();
        assert_eq!(e.kind(), ferry_client::ErrorKind::Connect);
        assert!(e.to_string().contains("cannot connect to 127.0.0.1"), "{e}");
    });
}
