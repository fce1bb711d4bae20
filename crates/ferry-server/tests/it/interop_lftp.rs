//! lftp against ferryd: mirror a tree both ways and compare byte for byte.

use std::process::Command;

use ferry_testkit::{PASSWORD, TestServer, USER, make_sample_tree, pseudo_random, require, tree};

fn lftp(s: &TestServer, script: &str) {
    let full = format!(
        "set net:max-retries 1; set net:timeout 20; set ftp:ssl-allow no; set cmd:fail-exit yes; set xfer:clobber yes; {script}; quit"
    );
    let out = Command::new("lftp")
        .args(["-u", &format!("{USER},{PASSWORD}"), "-p", &s.port().to_string(), "-e", &full, "127.0.0.1"])
        .output()
        .expect("run lftp");
    assert!(
        out.status.success(),
        "lftp failed ({script}):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn lftp_mirrors_both_ways() {
    if !require("lftp") {
        return;
    }
    let s = TestServer::start();
    // Upload a tree with `mirror -R`.
    let src = s.scratch().join("src");
    make_sample_tree(&src);
    lftp(&s, &format!("mirror -R {} /up", src.display()));
    assert_eq!(tree(&s.root().join("up")), tree(&src), "mirror -R result differs");
    // Download it again with `mirror`.
    let back = s.scratch().join("back");
    lftp(&s, &format!("mirror /up {}", back.display()));
    assert_eq!(tree(&back), tree(&src), "mirror result differs");
    // And both again over PASV rather than EPSV, plus rm/mv.
    lftp(&s, "set ftp:prefer-epsv no; mv /up/top.txt /up/moved.txt; rm /up/empty.bin; rmdir /up/empty-dir");
    assert!(s.root().join("up/moved.txt").exists() && !s.root().join("up/empty.bin").exists());
    assert!(!s.root().join("up/empty-dir").exists());
}

#[test]
fn lftp_get_put_and_resume() {
    if !require("lftp") {
        return;
    }
    let s = TestServer::start();
    let data = pseudo_random(2_000_000, 22);
    std::fs::write(s.root().join("big.bin"), &data).unwrap();
    let local = s.scratch().join("big.bin");
    std::fs::write(&local, &data[..777_777]).unwrap();
    lftp(&s, &format!("get -c big.bin -o {}", local.display()));
    assert!(std::fs::read(&local).unwrap() == data, "lftp get -c result differs");
    lftp(&s, &format!("put {} -o copy.bin", local.display()));
    assert!(std::fs::read(s.root().join("copy.bin")).unwrap() == data);
    lftp(&s, &format!("pget -n 4 big.bin -o {}", s.scratch().join("pget.bin").display()));
    assert!(std::fs::read(s.scratch().join("pget.bin")).unwrap() == data, "pget result differs");
}

#[test]
fn lftp_over_ftps_with_forced_tls() {
    if !require("lftp") {
        return;
    }
    let s = TestServer::start_tls(|c| {
        let mut t = ferry_server::tls::TlsSettings::ephemeral().unwrap();
        t.require_tls = true;
        c.tls = Some(std::sync::Arc::new(t));
    });
    let src = s.scratch().join("src");
    make_sample_tree(&src);
    let tls = "set ftp:ssl-allow yes; set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no";
    lftp(&s, &format!("{tls}; mirror -R {} /up", src.display()));
    assert_eq!(tree(&s.root().join("up")), tree(&src), "mirror -R over FTPS differs");
    let back = s.scratch().join("back");
    lftp(&s, &format!("{tls}; mirror /up {}", back.display()));
    assert_eq!(tree(&back), tree(&src), "mirror over FTPS differs");
}
