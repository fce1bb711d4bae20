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
        let mut d = c.epsv();
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
