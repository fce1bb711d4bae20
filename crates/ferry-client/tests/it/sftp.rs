//! The SFTP client library against ferryd's SFTP and against OpenSSH's
//! own `sshd`: host keys checked against `known_hosts`, logins by
//! password and by key, listings, uploads and downloads byte for byte,
//! resumes, renames and refusals.

use std::path::Path;
use std::sync::Arc;

use ferry_client::ErrorKind;
use ferry_client::sftp::{HostKeyDecision, HostKeyPrompt, SftpClient, SftpConfig, UploadMode};
use ferry_testkit::sshd::Sshd;
use ferry_testkit::{PASSWORD, TestServer, USER, pseudo_random};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// No agent and no key files: only what a test names is tried.
fn config(known_hosts: &Path) -> SftpConfig {
    SftpConfig { known_hosts: Some(known_hosts.to_owned()), agent: false, identities: Some(Vec::new()), ..SftpConfig::default() }
}

/// Password logins only.
fn password_only(known_hosts: &Path) -> SftpConfig {
    config(known_hosts)
}

#[test]
fn against_ferryd_files_go_up_and_down_byte_for_byte_with_resumes() {
    let s = TestServer::start_sftp();
    let data = pseudo_random(3_000_001, 51);
    let local = s.scratch().join("up.bin");
    std::fs::write(&local, &data).unwrap();
    rt().block_on(async {
        let c = SftpClient::connect("127.0.0.1", s.sftp_port(), USER, Some(PASSWORD), &password_only(&s.known_hosts())).await.unwrap();
        assert_eq!(c.realpath(".").await.unwrap(), "/");
        c.mkdir("dir").await.unwrap();
        let f = std::fs::File::open(&local).unwrap();
        let mut seen = 0;
        let sent = c.upload(&f, &local, "dir/up.bin", UploadMode::Replace, &mut |n| seen = n, std::future::pending()).await.unwrap();
        assert_eq!((sent, seen), (data.len() as u64, data.len() as u64));
        assert!(std::fs::read(s.root().join("dir/up.bin")).unwrap() == data, "the upload differs");
        // Download, then resume a download cut at 1,000,000 bytes.
        let back = s.scratch().join("back.bin");
        let out = std::fs::File::create(&back).unwrap();
        c.download("dir/up.bin", &out, &back, 0, &mut |_| {}, std::future::pending()).await.unwrap();
        assert!(std::fs::read(&back).unwrap() == data, "the download differs");
        std::fs::write(&back, &data[..1_000_000]).unwrap();
        let out = std::fs::OpenOptions::new().write(true).open(&back).unwrap();
        let got = c.download("dir/up.bin", &out, &back, 1_000_000, &mut |_| {}, std::future::pending()).await.unwrap();
        assert_eq!(got, data.len() as u64 - 1_000_000);
        assert!(std::fs::read(&back).unwrap() == data, "the resumed download differs");
        // An upload resumed in place.
        std::fs::write(s.root().join("half.bin"), &data[..777]).unwrap();
        c.upload(&f, &local, "half.bin", UploadMode::At(777), &mut |_| {}, std::future::pending()).await.unwrap();
        assert!(std::fs::read(s.root().join("half.bin")).unwrap() == data, "the resumed upload differs");
        // Listing, rename, refusals, removal.
        let names: Vec<String> = c.list("/").await.unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(sorted(names), ["dir", "half.bin"]);
        c.rename("half.bin", "dir/up.bin", false).await.unwrap_err();
        c.rename("half.bin", "dir/up.bin", true).await.unwrap();
        let e = c.stat("nothing").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Remote);
        assert!(e.to_string().contains("No such file"), "{e}");
        assert!(c.try_stat("nothing").await.unwrap().is_none());
        assert_eq!(c.stat("dir/up.bin").await.unwrap().size, Some(data.len() as u64));
        c.rmdir("dir").await.unwrap_err();
        c.remove("dir/up.bin").await.unwrap();
        c.rmdir("dir").await.unwrap();
        assert!(c.list("/").await.unwrap().is_empty());
        c.quit().await;
    });
}

#[test]
fn a_refused_password_or_a_read_only_account_says_so() {
    let s = TestServer::start_sftp_with(Some("[users.bob]\nread_only = true\n"), |_| {});
    rt().block_on(async {
        let e = SftpClient::connect("127.0.0.1", s.sftp_port(), USER, Some("wrong"), &password_only(&s.known_hosts())).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Login, "{e}");
        let c = SftpClient::connect("127.0.0.1", s.sftp_port(), "bob", Some("builder"), &password_only(&s.known_hosts())).await.unwrap();
        let local = s.scratch().join("x");
        std::fs::write(&local, "x").unwrap();
        let e = c
            .upload(&std::fs::File::open(&local).unwrap(), &local, "x", UploadMode::Replace, &mut |_| {}, std::future::pending())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("Permission denied"), "{e}");
        assert!(!s.root().join("x").exists());
    });
}

struct Answer(HostKeyDecision, std::sync::Mutex<Vec<String>>);

impl HostKeyPrompt for Answer {
    fn unknown_host(&self, host: &str, port: u16, algorithm: &str, fingerprint: &str) -> HostKeyDecision {
        self.1.lock().unwrap().push(format!("{host}:{port} {algorithm} {fingerprint}"));
        self.0
    }
}

#[test]
fn an_unknown_host_is_asked_about_once_remembered_and_a_changed_key_is_refused() {
    let s = TestServer::start_sftp();
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_hosts");
    rt().block_on(async {
        let connect = |decision| {
            let prompt = Arc::new(Answer(decision, Default::default()));
            let cfg = SftpConfig { prompt: prompt.clone(), ..password_only(&known) };
            let port = s.sftp_port();
            async move { (SftpClient::connect("127.0.0.1", port, USER, Some(PASSWORD), &cfg).await, prompt) }
        };
        let (refused, asked) = connect(HostKeyDecision::Refuse).await;
        let e = refused.unwrap_err();
        assert!(e.to_string().contains("not known") && e.to_string().contains("ssh-keyscan"), "{e}");
        assert_eq!(asked.1.lock().unwrap().as_slice(), [format!("127.0.0.1:{} ssh-ed25519 {}", s.sftp_port(), s.sftp_fingerprint())]);
        let (ok, _) = connect(HostKeyDecision::TrustAndRemember).await;
        ok.unwrap().quit().await;
        assert!(std::fs::read_to_string(&known).unwrap().contains(s.sftp_host_key().split_whitespace().nth(1).unwrap()));
        // Known now: not asked again.
        let (ok, asked) = connect(HostKeyDecision::Refuse).await;
        ok.unwrap().quit().await;
        assert!(asked.1.lock().unwrap().is_empty());
    });
    // Another server on the same address and port, with another key.
    let port = s.sftp_port();
    drop(s);
    let other = TestServer::start_sftp();
    let text = std::fs::read_to_string(&known).unwrap().replace(&format!(":{port} "), &format!(":{} ", other.sftp_port()));
    std::fs::write(&known, text).unwrap();
    rt().block_on(async {
        let cfg = SftpConfig { prompt: Arc::new(Answer(HostKeyDecision::TrustAndRemember, Default::default())), ..password_only(&known) };
        let e = SftpClient::connect("127.0.0.1", other.sftp_port(), USER, Some(PASSWORD), &cfg).await.unwrap_err();
        assert!(e.to_string().contains("CHANGED"), "{e}");
        assert_eq!(e.kind(), ErrorKind::Connect);
    });
}

#[test]
fn a_key_named_with_identity_logs_in_without_a_password() {
    if !ferry_testkit::require("ssh-keygen") {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = ferry_testkit::sftp::client_key(keys.path(), "id");
    let s = TestServer::start_sftp_with(Some(&format!("[users.alice]\nauthorized_keys = [\"{public}\"]\n")), |_| {});
    rt().block_on(async {
        let cfg = SftpConfig { identities: Some(vec![key.clone()]), ..config(&s.known_hosts()) };
        let c = SftpClient::connect("127.0.0.1", s.sftp_port(), USER, None, &cfg).await.unwrap();
        assert_eq!(c.realpath(".").await.unwrap(), "/");
        c.quit().await;
        let e = SftpClient::connect("127.0.0.1", s.sftp_port(), "bob", None, &cfg).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Login);
    });
}

#[test]
fn against_openssh_sshd_by_key() {
    let Some(d) = Sshd::start() else { return };
    let data = pseudo_random(5_000_000, 52);
    let local = d.scratch().join("up.bin");
    std::fs::write(&local, &data).unwrap();
    let remote = |p: &str| format!("{}/{p}", d.files.display());
    rt().block_on(async {
        let cfg = SftpConfig { identities: Some(vec![d.key.clone()]), ..config(&d.known_hosts) };
        let c = SftpClient::connect("127.0.0.1", d.port, &d.user, None, &cfg).await.unwrap();
        c.mkdir(&remote("sub")).await.unwrap();
        c.upload(
            &std::fs::File::open(&local).unwrap(),
            &local,
            &remote("sub/up.bin"),
            UploadMode::Replace,
            &mut |_| {},
            std::future::pending(),
        )
        .await
        .unwrap();
        assert!(std::fs::read(d.files.join("sub/up.bin")).unwrap() == data, "the upload to sshd differs");
        let back = d.scratch().join("back.bin");
        c.download(&remote("sub/up.bin"), &std::fs::File::create(&back).unwrap(), &back, 0, &mut |_| {}, std::future::pending())
            .await
            .unwrap();
        assert!(std::fs::read(&back).unwrap() == data, "the download from sshd differs");
        let listed: Vec<(String, Option<u64>)> =
            c.list(&remote("sub")).await.unwrap().into_iter().map(|e| (e.name, e.attrs.size)).collect();
        assert_eq!(listed, [("up.bin".to_owned(), Some(data.len() as u64))]);
        c.rename(&remote("sub/up.bin"), &remote("moved.bin"), true).await.unwrap();
        assert!(d.files.join("moved.bin").exists());
        let e = c.stat(&remote("nothing")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Remote);
        c.quit().await;
    });
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
