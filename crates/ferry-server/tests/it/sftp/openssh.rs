//! OpenSSH's `sftp` (batch mode), `scp` and `ssh` against ferryd's SFTP:
//! the everyday operations, resumes, attributes, scp both ways and over
//! an existing file, a 1 GiB file byte for byte, and commands refused.

use std::process::Stdio;

use ferry_testkit::sftp::{Login, client_key};
use ferry_testkit::{PASSWORD, TestServer, USER, pseudo_random, require};

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn sftp_batch_uploads_downloads_lists_renames_and_removes() {
    if !require("sftp") {
        return;
    }
    let s = TestServer::start_sftp();
    let data = pseudo_random(3_000_000, 16);
    let local = s.scratch().join("data.bin");
    std::fs::write(&local, &data).unwrap();
    std::fs::write(s.root().join("hello.txt"), "hello over sftp\n").unwrap();
    let back = s.scratch().join("back.bin");
    let out = s.sftp_ok(&format!(
        "pwd\nput {local} up.bin\nmkdir dir\nrename up.bin dir/moved.bin\nls -l dir\nget dir/moved.bin {back}\nget hello.txt {hello}\n\
         cd dir\npwd\ncd ..\ncd ..\npwd\nrm dir/moved.bin\nrmdir dir\nls\n",
        local = local.display(),
        back = back.display(),
        hello = s.scratch().join("hello.txt").display(),
    ));
    assert!(std::fs::read(&back).unwrap() == data, "the round trip changed the bytes");
    assert_eq!(std::fs::read_to_string(s.scratch().join("hello.txt")).unwrap(), "hello over sftp\n");
    assert!(out.contains("Remote working directory: /\n"), "the home is `/`:\n{out}");
    assert!(out.contains("Remote working directory: /dir\n"), "{out}");
    assert!(!out.contains("Remote working directory: /tmp") && !out.contains(&s.root().display().to_string()), "{out}");
    assert!(out.contains("moved.bin") && out.contains("3000000"), "ls -l shows the file and its size:\n{out}");
    assert!(!s.root().join("dir").exists() && !s.root().join("up.bin").exists(), "removed");
}

#[test]
fn sftp_batch_reports_a_missing_file_and_goes_on() {
    if !require("sftp") {
        return;
    }
    let s = TestServer::start_sftp();
    let out = s.sftp_batch(USER, Login::Password(PASSWORD), "-get nothing.txt /dev/null\n-rmdir nowhere\nmkdir after\n");
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("nothing.txt") && t.contains("not found"), "{t}");
    assert!(s.root().join("after").is_dir(), "the session went on after the errors");
}

#[test]
fn sftp_resumes_downloads_and_uploads() {
    if !require("sftp") {
        return;
    }
    let s = TestServer::start_sftp();
    let data = pseudo_random(2_500_000, 17);
    std::fs::write(s.root().join("big.bin"), &data).unwrap();
    // Half a download, then `reget`.
    let local = s.scratch().join("big.bin");
    std::fs::write(&local, &data[..1_000_001]).unwrap();
    s.sftp_ok(&format!("reget big.bin {}\n", local.display()));
    assert!(std::fs::read(&local).unwrap() == data, "reget result differs");
    // Half an upload, then `reput`: written in place from where it stopped.
    std::fs::write(s.root().join("up.bin"), &data[..777_777]).unwrap();
    s.sftp_ok(&format!("reput {} up.bin\n", local.display()));
    assert!(std::fs::read(s.root().join("up.bin")).unwrap() == data, "reput result differs");
}

#[test]
fn sftp_sets_modes_and_times_where_the_storage_keeps_them() {
    if !require("sftp") {
        return;
    }
    let s = TestServer::start_sftp();
    let local = s.scratch().join("stamped.txt");
    std::fs::write(&local, "old news\n").unwrap();
    let when = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    std::fs::File::options().write(true).open(&local).unwrap().set_modified(when).unwrap();
    std::fs::set_permissions(&local, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    // `put -p` keeps the mode and times (fsetstat on the open handle).
    s.sftp_ok(&format!("put -p {} kept.txt\nput {} chmodded.txt\nchmod 600 chmodded.txt\n", local.display(), local.display()));
    let meta = |name: &str| std::fs::metadata(s.root().join(name)).unwrap();
    assert_eq!(meta("kept.txt").modified().unwrap(), when, "put -p keeps the modification time");
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta("kept.txt").permissions()) & 0o777, 0o640);
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta("chmodded.txt").permissions()) & 0o777, 0o600);
    // `get -p` reads them back.
    let back = s.scratch().join("back.txt");
    s.sftp_ok(&format!("get -p kept.txt {}\n", back.display()));
    assert_eq!(std::fs::metadata(&back).unwrap().modified().unwrap(), when);
    // `df` is answered by statvfs@openssh.com.
    let out = s.sftp_ok("df\n");
    assert!(out.contains("Avail"), "{out}");
}

#[test]
fn scp_copies_both_ways_over_sftp_and_replaces_a_longer_file() {
    if !require("scp") {
        return;
    }
    let s = TestServer::start_sftp();
    let data = pseudo_random(1_234_567, 18);
    let local = s.scratch().join("scp.bin");
    std::fs::write(&local, &data).unwrap();
    let scp = |args: &[&str]| {
        let out = s.openssh("scp", Login::Password(PASSWORD)).args(args).output().unwrap();
        assert!(out.status.success(), "scp {args:?} failed (exit {:?}):\n{}", out.status.code(), text(&out));
    };
    let remote = |p: &str| format!("{USER}@127.0.0.1:{p}");
    scp(&[local.to_str().unwrap(), &remote("copy.bin")]);
    assert!(std::fs::read(s.root().join("copy.bin")).unwrap() == data);
    // scp writes over an existing file in place, then cuts it at what it
    // wrote: a longer old file must not keep its tail.
    std::fs::write(s.root().join("longer.bin"), pseudo_random(3_000_000, 19)).unwrap();
    scp(&[local.to_str().unwrap(), &remote("longer.bin")]);
    assert!(std::fs::read(s.root().join("longer.bin")).unwrap() == data, "scp over a longer file kept its tail");
    let back = s.scratch().join("back.bin");
    scp(&[&remote("copy.bin"), back.to_str().unwrap()]);
    assert!(std::fs::read(&back).unwrap() == data);
    // A tree, recursively.
    let tree = s.scratch().join("tree");
    ferry_testkit::make_sample_tree(&tree);
    scp(&["-r", tree.to_str().unwrap(), &remote("tree")]);
    super::assert_same_tree(&s.root().join("tree"), &tree, "scp -r");
}

#[test]
fn commands_and_shells_are_refused_with_what_to_use() {
    if !require("ssh") {
        return;
    }
    let s = TestServer::start_sftp();
    let out = s.openssh("ssh", Login::Password(PASSWORD)).arg(format!("{USER}@127.0.0.1")).arg("cat /etc/passwd").output().unwrap();
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("SFTP only") && !t.contains("root:"), "{t}");
    // Nor a shell, with a terminal or without.
    let out = s.openssh("ssh", Login::Password(PASSWORD)).args(["-T", &format!("{USER}@127.0.0.1")]).stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success() && text(&out).contains("SFTP only"), "{}", text(&out));
    // Nor a tunnel: `-W` asks for a direct-tcpip channel to the FTP port.
    let out = s
        .openssh("ssh", Login::Password(PASSWORD))
        .args(["-W", &format!("127.0.0.1:{}", s.port()), &format!("{USER}@127.0.0.1")])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a tunnel was opened: {}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("220"), "the FTP greeting came through the tunnel");
    assert!(text(&out).contains("forwarding failed"), "{}", text(&out));
}

#[test]
fn a_key_in_authorized_keys_logs_in_and_another_key_does_not() {
    if !require("sftp") {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let (good, good_pub) = client_key(keys.path(), "good");
    let (bad, _) = client_key(keys.path(), "bad");
    let settings = format!("[users.alice]\nauthorized_keys = [\"{good_pub}\"]\n");
    let s = TestServer::start_sftp_with(Some(&settings), |_| {});
    std::fs::write(s.root().join("k.txt"), "by key\n").unwrap();
    let out = s.sftp_batch(USER, Login::Key(&good), &format!("get k.txt {}\n", s.scratch().join("k.txt").display()));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(s.scratch().join("k.txt")).unwrap(), "by key\n");
    let out = s.sftp_batch(USER, Login::Key(&bad), "ls\n");
    assert!(!out.status.success() && text(&out).contains("Permission denied"), "{}", text(&out));
    // Bob has no keys at all: his key is refused, his password is not.
    let out = s.sftp_batch("bob", Login::Key(&good), "ls\n");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(s.sftp_batch("bob", Login::Password("builder"), "ls\n").status.success());
}

#[test]
fn a_one_gib_file_goes_up_and_down_byte_for_byte() {
    if !require("sftp") {
        return;
    }
    let s = TestServer::start_sftp();
    let local = s.scratch().join("gib.bin");
    {
        use std::io::Write as _;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&local).unwrap());
        for i in 0..64 {
            f.write_all(&pseudo_random(16 << 20, 1000 + i)).unwrap();
        }
    }
    let back = s.scratch().join("gib.back");
    s.sftp_ok(&format!("put {} gib.bin\nget gib.bin {}\n", local.display(), back.display()));
    assert_eq!(std::fs::metadata(s.root().join("gib.bin")).unwrap().len(), 1 << 30);
    assert!(super::same_file(&local, &s.root().join("gib.bin")), "the uploaded GiB differs");
    assert!(super::same_file(&local, &back), "the downloaded GiB differs");
}
