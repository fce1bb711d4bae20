//! The FTP tests' confinement and permission attacks, over SFTP: `..` and
//! absolute paths, symlinks out of the home, links made by the client, a
//! read-only user writing, a quota exceeded, a rename over a file without
//! the delete permission. Each refusal is checked on disk: nothing moved.

use ferry_testkit::{TestServer, require};

use super::paramiko::{have_paramiko, paramiko, paramiko_as};

fn ready() -> bool {
    require("python3") && have_paramiko()
}

#[test]
fn dot_dot_absolute_paths_and_symlinks_never_leave_the_home() {
    if !ready() {
        return;
    }
    let s = TestServer::start_sftp_with(Some("[users.alice]\nhome = \"homes/alice\"\n"), |_| {});
    let home = s.root().join("homes/alice");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(s.root().join("homes/secret.txt"), "not alice's\n").unwrap();
    std::fs::write(home.join("mine.txt"), "alice's\n").unwrap();
    // Links planted on disk, pointing out of the home and out of the root.
    std::os::unix::fs::symlink("/etc", home.join("etc")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", home.join("up.txt")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", home.join("passwd")).unwrap();
    let out = paramiko(
        &s,
        r#"
for p in ["..", "/..", "../..", "/../../etc", "homes/../..", "/tmp"]:
    print("realpath", p, sftp.normalize(p))
print("list", sorted(sftp.listdir("/..")))
for p in ["../secret.txt", "/../secret.txt", "/../../../etc/passwd", "etc/passwd", "up.txt", "passwd", "etc/"]:
    print("open", p, refused(sftp.open, p, "rb"))
print("stat-out", refused(sftp.stat, "/etc/passwd"))
print("list-link", refused(sftp.listdir, "/etc"))
with sftp.open("../planted.txt", "wb") as f:   # `..` stops at the home
    f.write(b"confined")
print("put-link", refused(sftp.open, "etc/planted.txt", "wb"))
sftp.rename("/planted.txt", "../../renamed.txt")
print("symlink", refused(sftp.symlink, "/etc/passwd", "/link"))
print("readlink", refused(sftp.readlink, "/passwd"))
sftp._request(paramiko.sftp.CMD_EXTENDED, "posix-rename@openssh.com", "/renamed.txt", "/../../x")
print("hardlink", refused(sftp._request, paramiko.sftp.CMD_EXTENDED, "hardlink@openssh.com", "/passwd", "/hard"))
print("mine", sftp.open("/mine.txt").read())
"#,
    );
    for line in ["realpath .. /\n", "realpath /.. /\n", "realpath ../.. /\n", "realpath /../../etc /etc\n", "realpath homes/../.. /\n"] {
        assert!(out.contains(line), "missing {line:?}:\n{out}");
    }
    assert!(out.contains("list ['etc', 'mine.txt', 'passwd', 'up.txt']\n"), "the parent of the home is the home:\n{out}");
    for line in out.lines().filter(|l| l.starts_with("open ")) {
        assert!(line.contains("No such file") || line.contains("ermission"), "{line}");
    }
    assert!(!out.contains("root:"), "a file outside the home was read:\n{out}");
    assert!(out.contains("mine b\"alice's\\n\""), "{out}");
    // posix-rename out of the home is confined, not refused: `/../../x` is `/x`.
    assert!(!s.root().join("x").exists() && !s.root().join("homes/x").exists() && !std::path::Path::new("/x").exists());
    assert_eq!(std::fs::read(home.join("x")).unwrap(), b"confined", "`..` in uploads and renames stops at the home");
    assert!(!s.root().join("homes/planted.txt").exists() && !s.root().join("homes/renamed.txt").exists());
    assert!(!s.root().join("renamed.txt").exists() && !home.join("planted.txt").exists() && !home.join("renamed.txt").exists());
    assert!(!home.join("link").exists() && !home.join("hard").exists(), "the client made a link");
    assert!(!std::path::Path::new("/etc/planted.txt").exists());
    assert_eq!(std::fs::read_to_string(s.root().join("homes/secret.txt")).unwrap(), "not alice's\n");
}

#[test]
fn a_read_only_user_reads_but_changes_nothing() {
    if !ready() {
        return;
    }
    let s = TestServer::start_sftp_with(Some("[users.bob]\nread_only = true\n"), |_| {});
    std::fs::write(s.root().join("keep.txt"), "keep me\n").unwrap();
    std::fs::create_dir(s.root().join("dir")).unwrap();
    let out = paramiko_as(
        &s,
        "bob",
        "builder",
        r#"
print("read", sftp.open("/keep.txt").read())
for name, call in [
    ("put", lambda: sftp.open("/new.txt", "wb")),
    ("overwrite", lambda: sftp.open("/keep.txt", "wb")),
    ("in-place", lambda: sftp.open("/keep.txt", "r+b")),
    ("append", lambda: sftp.open("/keep.txt", "ab")),
    ("mkdir", lambda: sftp.mkdir("/d")),
    ("rmdir", lambda: sftp.rmdir("/dir")),
    ("remove", lambda: sftp.remove("/keep.txt")),
    ("rename", lambda: sftp.rename("/keep.txt", "/moved.txt")),
    ("chmod", lambda: sftp.chmod("/keep.txt", 0o777)),
    ("utime", lambda: sftp.utime("/keep.txt", (1, 1))),
    ("truncate", lambda: sftp.truncate("/keep.txt", 0)),
]:
    print(name, refused(call))
"#,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("read b'keep me\\n'"), "{text}");
    for line in text.lines().skip(1) {
        assert!(line.contains("Permission denied"), "not refused as a permission: {line}");
    }
    assert_eq!(std::fs::read_to_string(s.root().join("keep.txt")).unwrap(), "keep me\n");
    let meta = std::fs::metadata(s.root().join("keep.txt")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777, 0o644);
    assert!(meta.modified().unwrap() > std::time::UNIX_EPOCH + std::time::Duration::from_secs(100));
    assert!(s.root().join("dir").is_dir() && !s.root().join("new.txt").exists() && !s.root().join("d").exists());
}

#[test]
fn a_rename_over_a_file_needs_the_delete_permission() {
    if !ready() {
        return;
    }
    let settings = "[users.alice]\npermissions = [\"list\", \"read\", \"write\", \"rename\"]\n";
    let s = TestServer::start_sftp_with(Some(settings), |_| {});
    std::fs::write(s.root().join("a.txt"), "a\n").unwrap();
    std::fs::write(s.root().join("b.txt"), "b\n").unwrap();
    let out = paramiko(
        &s,
        r#"
print("over", refused(sftp.posix_rename, "/a.txt", "/b.txt"))
print("over-plain", refused(sftp.rename, "/a.txt", "/b.txt"))
print("remove", refused(sftp.remove, "/a.txt"))
sftp.rename("/a.txt", "/c.txt")
print("renamed")
"#,
    );
    assert!(out.contains("renamed\n"), "{out}");
    for line in out.lines().filter(|l| !l.starts_with("renamed")) {
        assert!(line.contains("Permission denied") || line.contains("exists"), "{line}");
    }
    assert_eq!(std::fs::read_to_string(s.root().join("b.txt")).unwrap(), "b\n", "the file renamed over was kept");
    assert_eq!(std::fs::read_to_string(s.root().join("c.txt")).unwrap(), "a\n");
}

#[test]
fn a_quota_refuses_growth_and_keeps_the_old_file() {
    if !ready() {
        return;
    }
    let s = TestServer::start_sftp_with(Some("[users.alice]\nquota_bytes = \"100K\"\nquota_files = 3\n"), |_| {});
    std::fs::write(s.root().join("old.bin"), vec![7u8; 10_000]).unwrap();
    let out = paramiko(
        &s,
        r#"
def write(path, n, mode="wb"):
    f = sftp.open(path, mode)
    try:
        f.write(b"x" * n)
    finally:
        f.close()
print("too-big", refused(write, "/big.bin", 200_000))
print("replace", refused(write, "/old.bin", 200_000))
write("/fits.bin", 50_000)
print("fits")
print("truncate-up", refused(sftp.truncate, "/fits.bin", 10_000_000))
print("huge", refused(sftp.truncate, "/fits.bin", 2**64 - 1))
write("/two.bin", 10)
print("third-file", refused(write, "/three.bin", 10))
"#,
    );
    assert!(out.contains("fits\n"), "{out}");
    for line in out.lines().filter(|l| !l.starts_with("fits") && !l.starts_with("huge")) {
        assert!(line.to_lowercase().contains("quota"), "not refused as a quota: {line}");
    }
    assert!(out.contains("huge") && out.contains("largest file"), "a size that wraps around: {out}");
    assert!(!s.root().join("big.bin").exists(), "a refused new file was left behind");
    assert!(!s.root().join("three.bin").exists());
    assert_eq!(std::fs::read(s.root().join("old.bin")).unwrap(), vec![7u8; 10_000], "the old file was damaged");
    assert_eq!(std::fs::metadata(s.root().join("fits.bin")).unwrap().len(), 50_000);
    assert!(super::temp_files(&s.root()).is_empty(), "temporary files left behind");
}

#[test]
fn set_id_and_sticky_bits_are_refused_as_over_ftp() {
    if !ready() {
        return;
    }
    let s = TestServer::start_sftp();
    std::fs::write(s.root().join("tool"), "#!/bin/sh\n").unwrap();
    let out = paramiko(
        &s,
        r#"
for mode in (0o4755, 0o2755, 0o1777, 0o6777):
    print(oct(mode), refused(sftp.chmod, "/tool", mode))
with sftp.open("/up", "wb") as f:
    f.write(b"x")
    print("fsetstat", refused(f.chmod, 0o4755))
sftp.chmod("/tool", 0o750)
print("plain ok")
"#,
    );
    assert!(out.contains("plain ok"), "{out}");
    for line in out.lines().filter(|l| !l.starts_with("plain")) {
        assert!(line.contains("Permission denied"), "{line}");
    }
    let mode = |p: &str| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(s.root().join(p)).unwrap().permissions()) & 0o7777;
    assert_eq!(mode("tool"), 0o750);
    assert_eq!(mode("up") & 0o7000, 0, "a set-id bit reached the disk");
}

#[test]
fn one_connection_holds_at_most_four_sftp_sessions() {
    if !ready() {
        return;
    }
    let s = TestServer::start_sftp();
    let out = paramiko(
        &s,
        r#"
chans = [sftp.get_channel()]
for i in range(3):
    c = t.open_session()
    c.invoke_subsystem("sftp")
    chans.append(c)
print("four")
try:
    c = t.open_session(timeout=10)
    print("fifth opened")
except Exception as e:
    print("fifth refused", type(e).__name__)
"#,
    );
    assert!(out.contains("four\nfifth refused"), "{out}");
}
