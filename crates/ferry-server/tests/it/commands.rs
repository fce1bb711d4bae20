//! File, folder, listing and integrity commands.

use std::os::unix::fs::PermissionsExt;

use ferry_proto::listing::{self, Kind};
use ferry_testkit::TestServer;

#[test]
fn folders_and_quoting() {
    let s = TestServer::start();
    let mut c = s.login();
    let r = c.expect("MKD say \"hi\"", 257);
    assert_eq!(r.text(), "\"/say \"\"hi\"\"\" directory created.");
    assert_eq!(ferry_proto::path::unquote_257(&r.text()).as_deref(), Some("/say \"hi\""));
    c.expect("CWD say \"hi\"", 250);
    assert_eq!(c.expect("PWD", 257).text(), "\"/say \"\"hi\"\"\" is the current directory.");
    c.expect("CDUP", 250);
    c.expect("MKD say \"hi\"", 550);
    c.expect("CWD nowhere", 550);
    std::fs::write(s.root().join("file"), b"x").unwrap();
    c.expect("CWD file", 550);
    c.expect("MKD say \"hi\"/inner", 257);
    let r = c.expect("RMD say \"hi\"", 550);
    assert!(r.text().contains("not empty"), "{r:?}");
    c.expect("RMD say \"hi\"/inner", 250);
    c.expect("RMD say \"hi\"", 250);
    c.expect("RMD /", 550);
    assert!(!s.root().join("say \"hi\"").exists());
}

#[test]
fn delete_rename_size_mdtm_mfmt() {
    let s = TestServer::start();
    let mut c = s.login();
    std::fs::write(s.root().join("a.txt"), b"line1\nline2\n").unwrap();
    assert_eq!(c.expect("SIZE a.txt", 213).text(), "12");
    c.expect("TYPE A", 200);
    assert_eq!(c.expect("SIZE a.txt", 213).text(), "14", "ASCII size counts CRLF");
    c.expect("TYPE I", 200);
    c.expect("SIZE nope", 550);
    c.expect("SIZE /", 550);
    c.expect("MFMT 20200102030405 a.txt", 213);
    assert_eq!(c.expect("MDTM a.txt", 213).text(), "20200102030405");
    let mtime = std::fs::metadata(s.root().join("a.txt")).unwrap().modified().unwrap();
    assert_eq!(ferry_proto::time::format_timeval(mtime), "20200102030405");
    c.expect("MFMT 20201402030405 a.txt", 501);
    c.expect("RNFR a.txt", 350);
    c.expect("RNTO b.txt", 250);
    assert!(s.root().join("b.txt").exists() && !s.root().join("a.txt").exists());
    c.expect("RNFR missing", 550);
    c.expect("RNTO c.txt", 503);
    // RNTO must follow RNFR directly.
    c.expect("RNFR b.txt", 350);
    c.expect("NOOP", 200);
    c.expect("RNTO c.txt", 503);
    c.expect("MKD d", 257);
    c.expect("RNFR d", 350);
    c.expect("RNTO d/sub", 550);
    c.expect("DELE b.txt", 250);
    c.expect("DELE b.txt", 550);
    c.expect("DELE d", 550);
}

#[test]
fn utf8_names() {
    let s = TestServer::start();
    let mut c = s.login();
    c.expect("MKD Ünïcødé 文件", 257);
    let r = c.upload("STOR Ünïcødé 文件/naïve ☃.txt", "snow".as_bytes());
    assert_eq!(r.code, 226);
    assert_eq!(std::fs::read(s.root().join("Ünïcødé 文件/naïve ☃.txt")).unwrap(), b"snow");
    let names = c.list_lines("NLST Ünïcødé 文件");
    assert_eq!(names, vec!["naïve ☃.txt"]);
}

#[test]
fn list_nlst_mlsd_mlst() {
    let s = TestServer::start();
    let root = s.root();
    std::fs::write(root.join("a.txt"), b"12345").unwrap();
    std::fs::write(root.join("b.txt"), b"").unwrap();
    std::fs::write(root.join("c.log"), b"x").unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/d.txt"), b"dd").unwrap();
    let mut c = s.login();

    let now = std::time::SystemTime::now();
    let long = c.list_lines("LIST");
    let entries: Vec<_> = long.iter().map(|l| listing::parse_unix(l, now).expect(l)).collect();
    assert_eq!(entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["a.txt", "b.txt", "c.log", "sub"]);
    assert_eq!((entries[0].size, entries[3].kind), (5, Kind::Dir));
    assert_eq!(c.list_lines("LIST -la").len(), 4, "ls options are ignored");
    assert_eq!(c.list_lines("LIST sub").len(), 1);
    assert_eq!(c.list_lines("LIST a.txt").len(), 1);

    assert_eq!(c.list_lines("NLST"), ["a.txt", "b.txt", "c.log", "sub"]);
    assert_eq!(c.list_lines("NLST *.txt"), ["a.txt", "b.txt"]);
    assert_eq!(c.list_lines("NLST sub/*.txt"), ["sub/d.txt"]);
    assert_eq!(c.list_lines("NLST *.none"), Vec::<String>::new());
    assert_eq!(c.list_lines("NLST sub/d.txt"), ["sub/d.txt"]);

    let facts = c.list_lines("MLSD");
    let parsed: Vec<_> = facts.iter().map(|l| listing::parse_mlsx(l).expect(l).0).collect();
    assert_eq!(parsed[0].name, "a.txt");
    assert_eq!((parsed[0].size, parsed[0].kind, parsed[0].perm.as_deref()), (5, Kind::File, Some("adfrw")));
    assert_eq!((parsed[3].kind, parsed[3].perm.as_deref()), (Kind::Dir, Some("cdeflmp")));
    assert!(parsed[0].modified.is_some() && parsed[0].unique.is_some());

    let (_, r) = {
        let _d = c.epsv();
        (0, c.expect("MLSD a.txt", 550))
    };
    assert!(r.text().contains("Not a directory"));
    c.expect("MLSD nope", 550);
    c.expect("LIST nope", 550);

    let r = c.expect("MLST sub/d.txt", 250);
    assert_eq!(r.lines.len(), 3);
    assert!(r.lines[1].starts_with(" type=file;size=2;"), "{r:?}");
    assert!(r.lines[1].ends_with("; /sub/d.txt"), "{r:?}");
    let r = c.expect("MLST", 250);
    assert!(r.lines[1].starts_with(" type=dir;"), "{r:?}");
    c.expect("MLST nope", 550);

    let r = c.expect("STAT sub", 213);
    assert!(r.lines.iter().any(|l| l.ends_with(" d.txt")), "{r:?}");
}

#[test]
fn hash_and_checksums() {
    let s = TestServer::start();
    std::fs::write(s.root().join("abc"), b"abc").unwrap();
    std::fs::write(s.root().join("empty"), b"").unwrap();
    let mut c = s.login();
    // Well-known digests of "abc".
    let sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(c.expect("HASH abc", 213).text(), format!("SHA-256 0-2 {sha256} abc"));
    c.expect("OPTS HASH SHA-1", 200);
    assert_eq!(c.expect("HASH abc", 213).text(), "SHA-1 0-2 a9993e364706816aba3e25717850c26c9cd0d89d abc");
    c.expect("OPTS HASH MD5", 200);
    assert_eq!(c.expect("HASH abc", 213).text(), "MD5 0-2 900150983cd24fb0d6963f7d28e17f72 abc");
    c.expect("OPTS HASH CRC32", 200);
    assert_eq!(c.expect("HASH abc", 213).text(), "CRC32 0-2 352441C2 abc");
    // RANG limits the next HASH: bytes 0..=1 are "ab".
    c.expect("OPTS HASH MD5", 200);
    c.expect("RANG 0 1", 350);
    assert_eq!(c.expect("HASH abc", 213).text(), "MD5 0-1 187ef4436122d1cc2f40dc2b92f0eba0 abc");
    c.expect("RANG 5 1", 501);
    c.expect("HASH nope", 550);
    c.expect("HASH /", 550);
    assert_eq!(c.expect("XCRC abc", 250).text(), "352441C2");
    assert_eq!(c.expect("XMD5 abc", 250).text(), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(c.expect("XSHA1 abc", 250).text(), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(c.expect("XSHA256 \"abc\"", 250).text(), sha256);
    assert_eq!(c.expect("XMD5 abc 0 2", 250).text(), "187ef4436122d1cc2f40dc2b92f0eba0");
    assert_eq!(c.expect("XMD5 empty", 250).text(), "d41d8cd98f00b204e9800998ecf8427e");
}

#[test]
fn site_chmod() {
    let s = TestServer::start();
    std::fs::write(s.root().join("f"), b"x").unwrap();
    let mut c = s.login();
    c.expect("SITE CHMOD 600 f", 200);
    assert_eq!(std::fs::metadata(s.root().join("f")).unwrap().permissions().mode() & 0o777, 0o600);
    c.expect("SITE CHMOD 999 f", 501);
    c.expect("SITE CHMOD 644 nope", 550);
}

#[test]
fn data_channel_setup_and_defences() {
    let s = TestServer::start();
    let mut c = s.login();
    c.expect("RETR x", 550); // missing file is checked before the data channel
    std::fs::write(s.root().join("x"), b"x").unwrap();
    c.expect("RETR x", 425); // no PASV/PORT yet
    let r = c.expect("PASV", 227);
    let sa = ferry_proto::addr::parse_pasv_reply(&r.text()).unwrap();
    assert_eq!(sa.ip().to_string(), "127.0.0.1");
    // Bounce protection: another host, or a privileged port, is refused.
    c.expect("PORT 10,0,0,1,4,1", 500);
    c.expect("PORT 127,0,0,1,0,21", 500);
    c.expect("EPRT |1|10.0.0.1|2000|", 500);
    c.expect("EPRT |2|::1|2000|", 522);
    c.expect("EPRT |1|127.0.0.1|2000|", 200);
    c.expect("EPSV 2", 522);
    c.expect("EPSV ALL", 200);
    c.expect("PASV", 503);
    c.expect("PORT 127,0,0,1,7,208", 503);
    c.expect("EPSV", 229);
    c.expect("ABOR", 225);
}

#[test]
fn passive_port_range_and_announced_address() {
    // Below the kernel's ephemeral range (32768+), so no unrelated socket
    // of a parallel test can hold a port of ours.
    let base = 20_000 + (std::process::id() % 4_000) as u16;
    let s = TestServer::start_with(|c| {
        c.passive_ports = Some(base..=base + 9);
        c.passive_address = Some("192.0.2.7".parse().unwrap());
    });
    let mut c = s.login();
    let r = c.expect("PASV", 227);
    let sa = ferry_proto::addr::parse_pasv_reply(&r.text()).unwrap();
    assert_eq!(sa.ip().to_string(), "192.0.2.7");
    assert!((base..=base + 9).contains(&sa.port()), "{sa}");
    let r = c.expect("EPSV", 229);
    let port = ferry_proto::addr::parse_epsv_reply(&r.text()).unwrap();
    assert!((base..=base + 9).contains(&port));
}

/// A folder too big to sort in memory streams in the storage's order:
/// every entry exactly once, with the same facts as a small listing, and
/// NLST names the kinds right without a stat per entry.
#[test]
fn big_folders_stream_every_entry_once() {
    let s = TestServer::start();
    let many = s.root().join("many");
    std::fs::create_dir(&many).unwrap();
    const N: usize = 6000;
    for i in 0..N {
        std::fs::write(many.join(format!("f{i:05}")), format!("{i}")).unwrap();
    }
    std::fs::create_dir(many.join("zdir")).unwrap();
    let mut c = s.login();

    let mut names = c.list_lines("NLST many");
    assert_eq!(names.len(), N + 1);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), N + 1, "no entry twice");
    assert_eq!(names[0], "f00000");

    let facts = c.list_lines("MLSD many");
    let parsed: Vec<_> = facts.iter().map(|l| listing::parse_mlsx(l).expect(l).0).collect();
    assert_eq!(parsed.len(), N + 1);
    for e in &parsed {
        match e.name.as_str() {
            "zdir" => assert_eq!(e.kind, Kind::Dir),
            name => {
                let i: usize = name[1..].parse().unwrap();
                assert_eq!((e.kind, e.size), (Kind::File, i.to_string().len() as u64), "{e:?}");
            }
        }
    }

    let now = std::time::SystemTime::now();
    let long = c.list_lines("LIST many/f0*");
    assert_eq!(long.len(), N, "glob over a big folder");
    assert!(long.iter().all(|l| listing::parse_unix(l, now).is_some_and(|e| e.kind == Kind::File)));
    // The session goes on.
    c.expect("NOOP", 200);
}
