//! The same transfer and listing tests on every storage backend: the local
//! folder, and (with the `s3` feature) an S3 bucket served by `s3s-fs`,
//! which keeps objects as plain files so that both can be checked byte for
//! byte on disk.

use std::io::Write;

use ferry_proto::listing::{self, Kind};
use ferry_testkit::{TestServer, pseudo_random};

/// A server on one backend, with whatever that backend needs kept alive.
struct On {
    server: TestServer,
    #[cfg(feature = "s3")]
    _s3: Option<ferry_testkit::peers::S3Server>,
}

impl std::ops::Deref for On {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

fn local() -> Option<On> {
    Some(On {
        server: TestServer::start(),
        #[cfg(feature = "s3")]
        _s3: None,
    })
}

#[cfg(feature = "s3")]
mod s3_backend {
    use std::sync::Arc;

    use ferry_server::storage::s3::{S3Settings, S3Storage};
    use ferry_testkit::TestServer;
    use ferry_testkit::peers::S3Server;

    /// An S3 server for one test; `None` (test skipped) when s3s-fs is not
    /// installed, except under CI, where `.ci/run` installs it.
    pub(super) fn server() -> Option<S3Server> {
        let s3 = S3Server::start();
        if s3.is_none() {
            assert!(std::env::var_os("CI").is_none(), "s3s-fs is required under CI but could not be started");
            eprintln!("skipping: s3s-fs not installed (cargo install s3s-fs --features binary)");
        }
        s3
    }

    /// A ferryd node serving `prefix` of the test bucket.
    pub(super) fn node(s3: &S3Server, prefix: &str) -> TestServer {
        node_with(s3, prefix, Default::default())
    }

    /// [`node`] with other request deadlines.
    pub(super) fn node_with(s3: &S3Server, prefix: &str, timeouts: ferry_server::storage::s3::S3Timeouts) -> TestServer {
        let settings = S3Settings {
            bucket: s3.bucket.clone(),
            prefix: prefix.to_owned(),
            endpoint: Some(s3.endpoint.clone()),
            region: "us-east-1".to_owned(),
            credentials: Some((s3.access_key.clone(), s3.secret_key.clone())),
            timeouts,
        };
        std::fs::create_dir_all(s3.files(prefix)).unwrap();
        TestServer::start_on_storage(s3.files(prefix), move || Arc::new(S3Storage::open(&settings).expect("S3 storage")))
    }
}

/// An S3 server for one test (`None`: skipped outside CI).
#[cfg(feature = "s3")]
pub(crate) fn s3_server() -> Option<ferry_testkit::peers::S3Server> {
    s3_backend::server()
}

/// A ferryd node serving `prefix` of the test bucket.
#[cfg(feature = "s3")]
pub(crate) fn s3_node(s3: &ferry_testkit::peers::S3Server, prefix: &str) -> TestServer {
    s3_backend::node(s3, prefix)
}

/// [`s3_node`] with other request deadlines.
#[cfg(feature = "s3")]
pub(crate) fn s3_node_with(
    s3: &ferry_testkit::peers::S3Server,
    prefix: &str,
    timeouts: ferry_server::storage::s3::S3Timeouts,
) -> TestServer {
    s3_backend::node_with(s3, prefix, timeouts)
}

#[cfg(feature = "s3")]
fn s3() -> Option<On> {
    let s3 = s3_backend::server()?;
    Some(On { server: s3_backend::node(&s3, ""), _s3: Some(s3) })
}

/// One `#[test]` per backend for each test body below.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod local {
            $( #[test] fn $name() { if let Some(s) = super::local() { super::$name(&s) } } )*
        }
        #[cfg(feature = "s3")]
        mod s3 {
            $( #[test] fn $name() { if let Some(s) = super::s3() { super::$name(&s) } } )*
        }
    };
}

on_every_backend!(round_trip_sizes, resume_and_append, listings, folders, rename_delete_size_mdtm, failed_upload_keeps_the_old_file);

/// 0 bytes, 1 byte, 100 KB and 12 MiB (more than one multipart part).
fn round_trip_sizes(s: &TestServer) {
    let mut c = s.login();
    c.expect("TYPE I", 200);
    for (i, size) in [0usize, 1, 100_000, (12 << 20) + 3].into_iter().enumerate() {
        let data = pseudo_random(size, i as u64);
        let name = format!("f{size}.bin");
        assert_eq!(c.upload(&format!("STOR {name}"), &data).code, 226, "STOR of {size} bytes");
        assert!(std::fs::read(s.root().join(&name)).unwrap() == data, "{size} bytes on disk");
        let (got, r) = c.download(&format!("RETR {name}"));
        assert_eq!(r.code, 226);
        assert!(got == data, "{size} bytes back");
        assert_eq!(c.expect(&format!("SIZE {name}"), 213).text(), size.to_string());
    }
    // Replacing a file.
    assert_eq!(c.upload("STOR f1.bin", b"replaced").code, 226);
    assert_eq!(std::fs::read(s.root().join("f1.bin")).unwrap(), b"replaced");
}

/// REST before RETR (a ranged read), APPE, and REST before STOR.
fn resume_and_append(s: &TestServer) {
    let data = pseudo_random(1000, 7);
    let mut c = s.login();
    c.expect("TYPE I", 200);
    assert_eq!(c.upload("STOR a.bin", &data).code, 226);
    c.expect("REST 400", 350);
    let (tail, r) = c.download("RETR a.bin");
    assert_eq!(r.code, 226);
    assert!(tail == data[400..]);
    c.expect("REST 1000", 350);
    assert_eq!(c.download("RETR a.bin").0, b"", "REST at the end sends nothing");

    let more = pseudo_random(500, 8);
    assert_eq!(c.upload("APPE a.bin", &more).code, 226);
    let mut want = data.clone();
    want.extend_from_slice(&more);
    assert!(std::fs::read(s.root().join("a.bin")).unwrap() == want, "APPE adds to the end");

    c.expect("REST 700", 350);
    assert_eq!(c.upload("STOR a.bin", b"XYZ").code, 226);
    let mut want = want[..700].to_vec();
    want.extend_from_slice(b"XYZ");
    assert!(c.download("RETR a.bin").0 == want, "REST+STOR keeps the first 700 bytes");
    assert_eq!(c.upload("APPE new.bin", b"fresh").code, 226, "APPE creates a missing file");
    assert_eq!(std::fs::read(s.root().join("new.bin")).unwrap(), b"fresh");
}

fn listings(s: &TestServer) {
    let mut c = s.login();
    c.expect("MKD d", 257);
    assert_eq!(c.upload("STOR d/x.txt", b"hello").code, 226);
    assert_eq!(c.upload("STOR y.txt", b"why").code, 226);
    c.expect("MKD empty", 257);

    let facts = c.list_lines("MLSD");
    let mut parsed: Vec<_> = facts.iter().map(|l| listing::parse_mlsx(l).expect(l).0).collect();
    parsed.sort_by(|a, b| a.name.cmp(&b.name));
    let summary: Vec<_> = parsed.iter().map(|e| (e.name.as_str(), e.kind)).collect();
    assert_eq!(summary, [("d", Kind::Dir), ("empty", Kind::Dir), ("y.txt", Kind::File)]);
    assert_eq!(parsed[2].size, 3);
    assert!(parsed[2].modified.is_some());

    let now = std::time::SystemTime::now();
    let long = c.list_lines("LIST d");
    assert_eq!(long.len(), 1, "{long:?}");
    let e = listing::parse_unix(&long[0], now).expect("ls -l line");
    assert_eq!((e.name.as_str(), e.size, e.kind), ("x.txt", 5, Kind::File));

    let mut names = c.list_lines("NLST");
    names.sort();
    assert_eq!(names, ["d", "empty", "y.txt"]);
    assert_eq!(c.list_lines("NLST d/*.txt"), ["d/x.txt"]);
    assert_eq!(c.list_lines("MLSD empty"), Vec::<String>::new(), "an empty folder lists nothing (no marker)");
    assert!(c.expect("MLST y.txt", 250).lines[1].contains("type=file;size=3;"));
    assert!(c.expect("MLST d", 250).lines[1].contains("type=dir;"));
    {
        let _d = c.epsv();
        assert!(c.expect("MLSD y.txt", 550).text().contains("Not a directory"));
    }
    c.expect("LIST nope", 550);
    c.expect("MLST nope", 550);
}

fn folders(s: &TestServer) {
    let mut c = s.login();
    c.expect("MKD a", 257);
    c.expect("MKD a", 550);
    c.expect("MKD a/b", 257);
    c.expect("MKD nope/b", 550);
    c.expect("CWD a/b", 250);
    assert_eq!(c.expect("PWD", 257).text(), "\"/a/b\" is the current directory.");
    assert_eq!(c.upload("STOR here.txt", b"in b").code, 226);
    assert_eq!(std::fs::read(s.root().join("a/b/here.txt")).unwrap(), b"in b");
    c.expect("CDUP", 250);
    c.expect("CDUP", 250);
    assert!(c.expect("RMD a", 550).text().contains("not empty"));
    c.expect("DELE a/b/here.txt", 250);
    c.expect("RMD a/b", 250);
    c.expect("RMD a", 250);
    c.expect("CWD a", 550);
    c.expect("RMD a", 550);
    let mut d = c.epsv();
    c.send("STOR nope/f.txt");
    let r = c.read_reply();
    assert_eq!(r.code, 550, "STOR into a missing folder: {r:?}");
    let _ = d.flush();
}

fn rename_delete_size_mdtm(s: &TestServer) {
    let mut c = s.login();
    c.expect("TYPE I", 200);
    assert_eq!(c.upload("STOR r.txt", b"rename me").code, 226);
    c.expect("RNFR r.txt", 350);
    c.expect("RNTO s.txt", 250);
    assert_eq!(c.download("RETR s.txt").0, b"rename me");
    c.expect("SIZE r.txt", 550);
    assert_eq!(std::fs::read(s.root().join("s.txt")).unwrap(), b"rename me");
    assert!(!s.root().join("r.txt").exists());

    c.expect("MKD dir", 257);
    c.expect("MKD dir/sub", 257);
    assert_eq!(c.upload("STOR dir/in.txt", b"inside").code, 226);
    assert_eq!(c.upload("STOR dir/sub/deep.txt", b"deeper").code, 226);
    c.expect("RNFR dir", 350);
    c.expect("RNTO dir2", 250);
    assert_eq!(c.download("RETR dir2/in.txt").0, b"inside");
    assert_eq!(c.download("RETR dir2/sub/deep.txt").0, b"deeper");
    c.expect("CWD dir", 550);

    assert_eq!(c.expect("SIZE s.txt", 213).text(), "9");
    let mdtm = c.expect("MDTM s.txt", 213).text();
    assert_eq!(mdtm.len(), 14, "YYYYMMDDHHMMSS: {mdtm}");
    c.expect("DELE s.txt", 250);
    c.expect("DELE s.txt", 550);
    c.expect("DELE dir2", 550);
    c.expect("RETR s.txt", 550);
}

/// An upload that is aborted midway never damages the file it would
/// replace.
fn failed_upload_keeps_the_old_file(s: &TestServer) {
    let mut c = s.login();
    c.expect("TYPE I", 200);
    assert_eq!(c.upload("STOR keep.txt", b"old contents").code, 226);
    c.aborted_upload("STOR keep.txt", &pseudo_random(100_000, 9));
    assert_eq!(c.download("RETR keep.txt").0, b"old contents");
    assert_eq!(std::fs::read(s.root().join("keep.txt")).unwrap(), b"old contents");
}

/// Two nodes on one bucket: what one stores, the other serves.
#[cfg(feature = "s3")]
#[test]
fn two_nodes_share_one_bucket() {
    let Some(s3) = s3_backend::server() else { return };
    let (a, b) = (s3_backend::node(&s3, "site"), s3_backend::node(&s3, "site"));
    let data = pseudo_random((9 << 20) + 11, 10);
    let mut ca = a.login();
    ca.expect("TYPE I", 200);
    ca.expect("MKD shared", 257);
    assert_eq!(ca.upload("STOR shared/big.bin", &data).code, 226);
    let mut cb = b.login();
    cb.expect("TYPE I", 200);
    assert_eq!(cb.list_lines("NLST shared"), ["big.bin"]);
    let (got, r) = cb.download("RETR shared/big.bin");
    assert_eq!(r.code, 226);
    assert!(got == data, "node B serves node A's upload byte for byte");
    cb.expect("DELE shared/big.bin", 250);
    ca.expect("SIZE shared/big.bin", 550);
}
