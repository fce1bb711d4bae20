//! `ferry` over FTPS: against ferryd (explicit, implicit, trust on first
//! use, pinning, CA files, no downgrade), vsftpd with `require_ssl_reuse`,
//! and pyftpdlib's TLS handler.

use std::sync::Arc;

use ferry_testkit::TlsSettings;
use ferry_testkit::peers::{start_pyftpdlib_tls, start_vsftpd_tls};
use ferry_testkit::{PASSWORD, TestCa, TestServer, USER, pseudo_random};

use crate::peers::scratch;
use crate::program::{ferry, text};

#[test]
fn explicit_ftps_with_trust_on_first_use() {
    let s = TestServer::start_tls(|_| {});
    let data = pseudo_random(3_000_000, 90);
    std::fs::write(s.root().join("t.bin"), &data).unwrap();
    let dir = scratch();
    let url = format!("ftpes://{USER}:{PASSWORD}@127.0.0.1:{}/t.bin", s.port());
    let out = ferry(dir.path(), &["get", &url], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("trusting 127.0.0.1:"), "{}", text(&out));
    assert!(std::fs::read(dir.path().join("t.bin")).unwrap() == data);
    let known = std::fs::read_to_string(dir.path().join(".config/ferry/known_hosts")).unwrap();
    assert!(known.starts_with(&format!("127.0.0.1:{} ", s.port())), "{known}");
    // Second time: known, no notice. Upload too, with --tls on ftp://.
    std::fs::write(dir.path().join("u.bin"), &data).unwrap();
    let out = ferry(dir.path(), &["--tls", "put", "u.bin", &s.url("u.bin")], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("trusting"), "{}", text(&out));
    assert!(std::fs::read(s.root().join("u.bin")).unwrap() == data);
    // A different certificate for the same host and port is refused.
    let other = vec!["AB"; 32].join(":");
    std::fs::write(dir.path().join(".config/ferry/known_hosts"), format!("127.0.0.1:{} {other}\n", s.port())).unwrap();
    let out = ferry(dir.path(), &["get", &url, "again.bin"], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("CHANGED"), "{}", text(&out));
    assert!(!dir.path().join("again.bin").exists());
}

#[test]
fn implicit_ftps_and_pinned_fingerprints() {
    let settings = Arc::new(TlsSettings::ephemeral().unwrap());
    let fp = settings.fingerprint.clone();
    let s = TestServer::start_with(|c| c.tls = Some(settings));
    std::fs::write(s.root().join("i.txt"), b"implicit").unwrap();
    let dir = scratch();
    let url = format!("ftps://{USER}:{PASSWORD}@{}/i.txt", s.ftps_addr.unwrap());
    let out = ferry(dir.path(), &["get", "--fingerprint", &fp, &url], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("i.txt")).unwrap(), b"implicit");
    assert!(!dir.path().join(".config/ferry/known_hosts").exists(), "a pin needs no known_hosts");
    let wrong = "00".repeat(32);
    let out = ferry(dir.path(), &["get", "--fingerprint", &wrong, &url, "x.txt"], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("does not match --fingerprint"), "{}", text(&out));
}

#[test]
fn ca_file_verifies_a_signed_certificate() {
    let ca = TestCa::new();
    let settings = Arc::new(TlsSettings::from_pem_files(&ca.cert_file(), &ca.key_file()).unwrap());
    let s = TestServer::start_with(|c| c.tls = Some(settings));
    std::fs::write(s.root().join("c.txt"), b"signed").unwrap();
    let dir = scratch();
    let url = format!("ftpes://{USER}:{PASSWORD}@127.0.0.1:{}/c.txt", s.port());
    let out = ferry(dir.path(), &["get", "--ca-file", ca.ca_file().to_str().unwrap(), &url], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("trusting"), "a verified chain needs no trust on first use: {}", text(&out));
    assert!(!dir.path().join(".config/ferry/known_hosts").exists());
}

#[test]
fn no_silent_downgrade() {
    let s = TestServer::start(); // no TLS
    let dir = scratch();
    let out = ferry(dir.path(), &["--tls", "ls", &s.url("")], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("refused AUTH TLS") && text(&out).contains("not continuing in clear text"), "{}", text(&out));
}

#[test]
fn ftps_against_vsftpd_and_pyftpdlib() {
    let ca = TestCa::new();
    let mut peers = Vec::new();
    match start_vsftpd_tls(&ca.cert_file(), &ca.key_file()) {
        Some(p) => peers.push(p),
        None if std::env::var_os("CI").is_some() => panic!("vsftpd with TLS must start under CI"),
        None => eprintln!("note: vsftpd not available; skipping it"),
    }
    match start_pyftpdlib_tls(&ca.cert_file(), &ca.key_file()) {
        Some(p) => peers.push(p),
        None if std::env::var_os("CI").is_some() => panic!("pyftpdlib with pyOpenSSL must start under CI"),
        None => eprintln!("note: pyftpdlib/pyOpenSSL not available; skipping it"),
    }
    let ca_file = ca.ca_file();
    for p in peers {
        let dir = scratch();
        let data = pseudo_random(2_500_000, 91);
        std::fs::write(dir.path().join("up.bin"), &data).unwrap();
        let base = format!("ftpes://{}:{}@127.0.0.1:{}/", p.user, p.password, p.port);
        let script = format!("put up.bin {r}; get {r} down.bin; ls {d}", r = p.remote("tls.bin"), d = p.remote(""));
        let out = ferry(dir.path(), &["--ca-file", ca_file.to_str().unwrap(), "-c", &script, &base], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name, text(&out));
        assert!(std::fs::read(p.root().join("tls.bin")).unwrap() == data, "{}: upload differs", p.name);
        assert!(std::fs::read(dir.path().join("down.bin")).unwrap() == data, "{}: download differs", p.name);
    }
}

/// Issue 10, item 1: a TLS login used to get exactly two data transfers
/// (ferryd sent two single-use tickets and refused full handshakes), so
/// the shell's first `ls` already failed. Now listings and downloads bring
/// fresh tickets, and ferry asks for them on uploads too (RFC 9149).
#[test]
fn i01_fifty_transfers_on_one_tls_login() {
    let s = TestServer::start_tls(|_| {});
    let dir = scratch();
    let mut script = Vec::new();
    let mut expect_local = Vec::new();
    let mut expect_remote = Vec::new();
    for i in 0..50u64 {
        match i % 3 {
            0 => script.push("ls".to_owned()),
            1 => {
                let data = pseudo_random(1000 + i as usize * 997, 100 + i);
                std::fs::write(s.root().join(format!("d{i}.bin")), &data).unwrap();
                script.push(format!("get d{i}.bin got{i}.bin"));
                expect_local.push((format!("got{i}.bin"), data));
            }
            _ => {
                let data = pseudo_random(2000 + i as usize * 1009, 200 + i);
                std::fs::write(dir.path().join(format!("u{i}.bin")), &data).unwrap();
                script.push(format!("put u{i}.bin put{i}.bin"));
                expect_remote.push((format!("put{i}.bin"), data));
            }
        }
    }
    let url = format!("ftpes://{USER}:{PASSWORD}@127.0.0.1:{}/", s.port());
    let out = ferry(dir.path(), &["--insecure", "-c", &script.join("; "), &url], "");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    // No 522 reply (a refused TLS data connection) — as a reply code, not
    // a digit run inside a rate such as "522.65 KiB/s".
    let refused = t.lines().any(|l| l.starts_with("522 ") || l.contains(": 522 "));
    assert!(!refused && !t.contains("failed"), "{t}");
    for (name, data) in &expect_local {
        assert!(std::fs::read(dir.path().join(name)).unwrap() == *data, "download {name} differs");
    }
    for (name, data) in &expect_remote {
        assert!(std::fs::read(s.root().join(name)).unwrap() == *data, "upload {name} differs");
    }
    // Uploads only (mirror -R: nothing read, so no tickets from listings
    // or downloads), more files than a control handshake brings tickets.
    let src = dir.path().join("tree");
    std::fs::create_dir(&src).unwrap();
    for i in 0..30u64 {
        std::fs::write(src.join(format!("m{i}.bin")), pseudo_random(500 + i as usize * 131, 300 + i)).unwrap();
    }
    let out = ferry(dir.path(), &["--insecure", "-c", "mirror -R tree /tree", &url], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(ferry_testkit::tree(&s.root().join("tree")), ferry_testkit::tree(&src), "mirror -R over TLS differs");
}

/// Issue 10, item 1: when ferryd refused a data connection, ferry printed
/// rustls' "peer closed connection without sending TLS close_notify" with
/// a link into rustls' manual. It must show the server's reply instead.
#[test]
fn i01_refused_data_connection_shows_the_servers_reply() {
    use ferry_client::tls::{TlsMode, Trust};
    use ferry_client::{Client, ClientConfig, StoreMode};
    let s = TestServer::start_tls(|_| {});
    std::fs::write(s.root().join("f.bin"), pseudo_random(300_000, 7)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let config =
            ClientConfig { tls: TlsMode::Explicit, trust: Trust { insecure: true, ..Trust::default() }, ..ClientConfig::default() };
        let mut c = Client::connect("127.0.0.1", s.port(), config).await.unwrap();
        c.login(USER, PASSWORD).await.unwrap();
        // A client that does not resume: every data connection is a full
        // handshake, which ferryd refuses.
        c.set_tls_resumption(false);
        let list = c.list(None).await.unwrap_err().to_string();
        let mut sink = Vec::new();
        let get = c.retrieve("f.bin", 0, &mut sink, &mut |_| {}, std::future::pending()).await.unwrap_err().to_string();
        let mut src: &[u8] = &[7u8; 100_000];
        let put = c.store("p.bin", StoreMode::Replace, &mut src, &mut |_| {}, std::future::pending()).await.unwrap_err().to_string();
        for msg in [&list, &get, &put] {
            assert!(msg.contains("522") && msg.contains("must resume the control connection's TLS session"), "{msg}");
            assert!(!msg.contains("docs.rs") && !msg.contains("close_notify"), "{msg}");
        }
        assert!(!s.root().join("p.bin").exists());
        // The session is still in step, and resuming works again.
        c.set_tls_resumption(true);
        assert_eq!(c.list(None).await.unwrap().len(), 1);
        c.quit().await.unwrap();
    });
}
