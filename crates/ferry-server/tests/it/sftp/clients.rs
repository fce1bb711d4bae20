//! lftp (`sftp://`, through OpenSSH's `ssh`), rclone's sftp backend (Go's
//! x/crypto/ssh and pkg/sftp) and curl (libssh2) against ferryd: trees
//! both ways, resumes, and rclone's checks of what it copied.

use std::process::{Command, Stdio};

use ferry_testkit::{PASSWORD, TestServer, USER, make_sample_tree, pseudo_random, require};

fn lftp(s: &TestServer, script: &str) {
    let connect = format!(
        "ssh -a -x -F /dev/null -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o ConnectTimeout=20 \
         -o PreferredAuthentications=password -o PubkeyAuthentication=no",
        s.known_hosts().display()
    );
    let full = format!(
        "set net:max-retries 1; set net:timeout 20; set cmd:fail-exit yes; set xfer:clobber yes; \
         set sftp:connect-program \"{connect}\"; open -u {USER},{PASSWORD} sftp://127.0.0.1:{}; {script}; quit",
        s.sftp_port()
    );
    let out = Command::new("lftp").args(["-c", &full]).env_remove("SSH_AUTH_SOCK").stdin(Stdio::null()).output().expect("run lftp");
    assert!(
        out.status.success(),
        "lftp failed ({script}):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn lftp_mirrors_over_sftp_both_ways_and_resumes() {
    if !require("lftp") || !require("ssh") {
        return;
    }
    let s = TestServer::start_sftp();
    let src = s.scratch().join("src");
    make_sample_tree(&src);
    lftp(&s, &format!("mirror -R {} /up", src.display()));
    super::assert_same_tree(&s.root().join("up"), &src, "mirror -R over sftp");
    let back = s.scratch().join("back");
    lftp(&s, &format!("mirror /up {}", back.display()));
    super::assert_same_tree(&back, &src, "mirror over sftp");
    lftp(&s, "mv /up/top.txt /up/moved.txt; rm /up/empty.bin; rmdir /up/empty-dir; mkdir /made");
    assert!(s.root().join("up/moved.txt").exists() && !s.root().join("up/empty.bin").exists());
    assert!(!s.root().join("up/empty-dir").exists() && s.root().join("made").is_dir());
    // `get -c` resumes a partial download.
    let data = pseudo_random(2_000_000, 41);
    std::fs::write(s.root().join("big.bin"), &data).unwrap();
    let local = s.scratch().join("big.bin");
    std::fs::write(&local, &data[..654_321]).unwrap();
    lftp(&s, &format!("get -c big.bin -o {}", local.display()));
    assert!(std::fs::read(&local).unwrap() == data, "lftp get -c over sftp differs");
}

fn rclone(s: &TestServer, args: &[&str]) -> String {
    let obscured = Command::new("rclone").args(["obscure", PASSWORD]).output().expect("run rclone obscure");
    let pass = String::from_utf8(obscured.stdout).unwrap().trim().to_owned();
    let out = Command::new("rclone")
        .args(args)
        .args(["--config", "/dev/null", "--retries", "1", "--low-level-retries", "1", "--contimeout", "20s", "--timeout", "20s"])
        .env("RCLONE_SFTP_HOST", "127.0.0.1")
        .env("RCLONE_SFTP_PORT", s.sftp_port().to_string())
        .env("RCLONE_SFTP_USER", USER)
        .env("RCLONE_SFTP_PASS", pass)
        .env("RCLONE_SFTP_KNOWN_HOSTS_FILE", s.known_hosts())
        // Hashes are checked by running md5sum on the server, which
        // refuses commands: rclone then compares sizes and times.
        .env("RCLONE_SFTP_DISABLE_HASHCHECK", "true")
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .output()
        .expect("run rclone");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "rclone {args:?} failed:\n{text}");
    text
}

#[test]
fn rclone_syncs_checks_and_lists_over_sftp() {
    if !require("rclone") {
        return;
    }
    let s = TestServer::start_sftp();
    let src = s.scratch().join("src");
    make_sample_tree(&src);
    std::fs::write(src.join("big.bin"), pseudo_random(5_000_000, 42)).unwrap();
    rclone(&s, &["copy", "--create-empty-src-dirs", src.to_str().unwrap(), ":sftp:copied", "--transfers", "4"]);
    super::assert_same_tree(&s.root().join("copied"), &src, "rclone copy over sftp");
    // `check --download` reads every file back and compares bytes.
    let out = rclone(&s, &["check", "--download", src.to_str().unwrap(), ":sftp:copied"]);
    assert!(out.contains("0 differences found"), "{out}");
    let listed = rclone(&s, &["lsf", "-R", ":sftp:copied"]);
    assert!(listed.lines().any(|l| l == "big.bin"), "{listed}");
    let back = s.scratch().join("back");
    rclone(&s, &["sync", "--create-empty-src-dirs", ":sftp:copied", back.to_str().unwrap()]);
    super::assert_same_tree(&back, &src, "rclone sync back");
    rclone(&s, &["purge", ":sftp:copied"]);
    assert!(!s.root().join("copied").exists());
}

/// curl with the host key pinned by its fingerprint.
fn curl(s: &TestServer, args: &[&str]) -> (bool, Vec<u8>, String) {
    let pin = s.sftp_fingerprint().trim_start_matches("SHA256:").to_owned();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-u", &format!("{USER}:{PASSWORD}"), "--hostpubsha256", &pin])
        .args(args)
        .env("HOME", s.scratch())
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    (out.status.success(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn curl_uploads_downloads_resumes_and_lists_over_sftp() {
    if !require("curl") {
        return;
    }
    let s = TestServer::start_sftp();
    let url = |p: &str| format!("sftp://127.0.0.1:{}/{p}", s.sftp_port());
    let data = pseudo_random(1_500_000, 43);
    let local = s.scratch().join("c.bin");
    std::fs::write(&local, &data).unwrap();
    let (ok, _, err) = curl(&s, &["--ftp-create-dirs", "-T", local.to_str().unwrap(), &url("made/c.bin")]);
    assert!(ok, "{err}");
    assert!(std::fs::read(s.root().join("made/c.bin")).unwrap() == data, "curl upload differs");
    let (ok, got, err) = curl(&s, &[&url("made/c.bin")]);
    assert!(ok && got == data, "curl download differs: {err}");
    // `-C -` resumes a partial download from its size.
    let part = s.scratch().join("part.bin");
    std::fs::write(&part, &data[..400_000]).unwrap();
    let (ok, _, err) = curl(&s, &["-C", "-", "-o", part.to_str().unwrap(), &url("made/c.bin")]);
    assert!(ok && std::fs::read(&part).unwrap() == data, "curl -C - differs: {err}");
    // A listing, and quoted commands (renames, deletes) before a transfer.
    let (ok, listing, err) = curl(&s, &["-Q", "rename /made/c.bin /made/d.bin", &url("made/")]);
    assert!(ok, "{err}");
    let listing = String::from_utf8_lossy(&listing);
    assert!(listing.contains("d.bin") && !listing.contains("c.bin"), "{listing}");
    // A wrong pin is refused before any password is sent.
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "-u",
            "alice:x",
            "--hostpubsha256",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &url("made/d.bin"),
        ])
        .env("HOME", s.scratch())
        .output()
        .unwrap();
    assert!(!out.status.success(), "curl accepted a wrong host key");
}
