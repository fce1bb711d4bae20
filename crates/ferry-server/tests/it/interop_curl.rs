//! curl against ferryd: download, upload, listing, resume, EPSV and PASV.

use std::process::{Command, Output};

use ferry_testkit::{TestServer, pseudo_random, require};

fn curl(args: &[&str]) -> Output {
    Command::new("curl").args(["--silent", "--show-error", "--max-time", "60", "--ftp-skip-pasv-ip"]).args(args).output().expect("run curl")
}

#[track_caller]
fn ok(out: Output) -> Vec<u8> {
    assert!(out.status.success(), "curl failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn curl_download_upload_list() {
    if !require("curl") {
        return;
    }
    let s = TestServer::start();
    let data = pseudo_random(2 * 1024 * 1024 + 3, 10);
    std::fs::write(s.root().join("dl.bin"), &data).unwrap();
    // Download, EPSV (curl's default) and PASV.
    assert!(ok(curl(&[&s.url("dl.bin")])) == data);
    assert!(ok(curl(&["--disable-epsv", &s.url("dl.bin")])) == data);
    assert!(ok(curl(&["--ftp-pasv", &s.url("dl.bin")])) == data);
    // Active mode.
    assert!(ok(curl(&["--ftp-port", "127.0.0.1", &s.url("dl.bin")])) == data);
    // Upload, into a folder curl creates.
    let local = s.scratch().join("up.bin");
    std::fs::write(&local, &data).unwrap();
    ok(curl(&["--ftp-create-dirs", "-T", local.to_str().unwrap(), &s.url("new/dir/up.bin")]));
    assert!(std::fs::read(s.root().join("new/dir/up.bin")).unwrap() == data);
    // Listings.
    let list = String::from_utf8(ok(curl(&[&s.url("")]))).unwrap();
    assert!(list.lines().any(|l| l.starts_with('-') && l.ends_with(" dl.bin")), "{list}");
    assert!(list.lines().any(|l| l.starts_with('d') && l.ends_with(" new")), "{list}");
    let names = String::from_utf8(ok(curl(&["--list-only", &s.url("")]))).unwrap();
    // curl turns the CRLF of an ASCII listing into local line ends.
    assert_eq!(names.lines().collect::<Vec<_>>(), ["dl.bin", "new"]);
    // Quote commands: delete after transfer.
    ok(curl(&["-Q", "-DELE /dl.bin", &s.url("new/dir/up.bin"), "-o", "/dev/null"]));
    assert!(!s.root().join("dl.bin").exists());
    // A missing file is curl error 78 (remote file not found).
    let missing = curl(&[&s.url("nope.bin")]);
    assert_eq!(missing.status.code(), Some(78), "{}", String::from_utf8_lossy(&missing.stderr));
    // Bad password is curl error 67 (login denied).
    let denied = curl(&[&format!("ftp://alice:wrong@{}/", s.addr)]);
    assert_eq!(denied.status.code(), Some(67));
}

#[test]
fn curl_resumes_downloads_and_uploads() {
    if !require("curl") {
        return;
    }
    let s = TestServer::start();
    let data = pseudo_random(1_000_000, 11);
    std::fs::write(s.root().join("r.bin"), &data).unwrap();
    let local = s.scratch().join("r.bin");
    std::fs::write(&local, &data[..300_000]).unwrap();
    ok(curl(&["-C", "-", "-o", local.to_str().unwrap(), &s.url("r.bin")]));
    assert!(std::fs::read(&local).unwrap() == data, "resumed download differs");

    std::fs::write(s.root().join("u.bin"), &data[..400_000]).unwrap();
    ok(curl(&["-C", "-", "-T", local.to_str().unwrap(), &s.url("u.bin")]));
    assert!(std::fs::read(s.root().join("u.bin")).unwrap() == data, "resumed upload differs");
    // --append uses APPE.
    let extra = s.scratch().join("extra");
    std::fs::write(&extra, b"+more").unwrap();
    ok(curl(&["--append", "-T", extra.to_str().unwrap(), &s.url("u.bin")]));
    assert_eq!(std::fs::read(s.root().join("u.bin")).unwrap().len(), 1_000_005);
}

#[test]
fn curl_over_explicit_and_implicit_ftps() {
    if !require("curl") {
        return;
    }
    let s = TestServer::start_tls(|_| {});
    let data = pseudo_random(3_000_000, 12);
    std::fs::write(s.root().join("t.bin"), &data).unwrap();
    let local = s.scratch().join("t.bin");
    std::fs::write(&local, &data).unwrap();
    // Explicit: AUTH TLS, required (--ssl-reqd), self-signed (-k).
    assert!(ok(curl(&["--ssl-reqd", "-k", &s.url("t.bin")])) == data);
    ok(curl(&["--ssl-reqd", "-k", "-T", local.to_str().unwrap(), &s.url("up.bin")]));
    assert!(std::fs::read(s.root().join("up.bin")).unwrap() == data);
    let list = String::from_utf8(ok(curl(&["--ssl-reqd", "-k", &s.url("")]))).unwrap();
    assert!(list.contains(" up.bin"), "{list}");
    // Implicit FTPS on its own port.
    let implicit = format!("ftps://{}:{}@{}/t.bin", ferry_testkit::USER, ferry_testkit::PASSWORD, s.ftps_addr.unwrap());
    assert!(ok(curl(&["-k", &implicit])) == data);
}
