//! Downloads and other reads: the download event carries the real byte
//! count, other reads emit nothing; and the bandwidth limiters a transfer
//! gets.

use std::io::Read as _;

use super::*;
use crate::events::{EventKind, Failure};
use crate::limits::Direction;
use crate::storage::{Detail, ReadHandle, StorageError};
use crate::userfs::{FsError, ReadPurpose};

#[test]
fn a_download_reports_how_far_it_got() {
    let f = fixture();
    f.put("f.bin", &[9u8; 1000]);
    let fs = f.fs(all());
    let d = fs.open_download(&path("/f.bin"), 600).unwrap();
    assert_eq!(d.size, 1000);
    let (mut reader, mut report) = (d.reader, d.report);
    let mut got = Vec::new();
    reader.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), 400, "from the offset");
    assert!(f.heard.events().is_empty(), "told once it ends");
    report.set_ascii(true);
    report.finish(400, None);
    let d = fs.open_download(&path("/f.bin"), 0).unwrap();
    d.report.finish(123, Some(Failure::Interrupted));
    drop(fs.open_download(&path("/f.bin"), 0).unwrap());
    let got = f.heard.events();
    let downloads: Vec<_> = got
        .iter()
        .map(|e| match &e.kind {
            EventKind::Download { transfer, failure, .. } => (transfer.path.as_str(), transfer.bytes, transfer.ascii, failure.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        downloads,
        [("/f.bin", 400, true, None), ("/f.bin", 123, false, Some(Failure::Interrupted)), ("/f.bin", 0, false, Some(Failure::Dropped))]
    );
    assert!(matches!(fs.open_download(&path("/"), 0), Err(FsError::Storage(StorageError::IsDirectory))));
    assert!(matches!(fs.open_download(&path("/none"), 0), Err(FsError::Storage(StorageError::NotFound))));
    assert_eq!(f.heard.events().len(), 3, "refused downloads are no events");
}

#[test]
fn random_reads_report_on_close() {
    let f = fixture();
    f.put("f.bin", b"0123456789");
    let fs = f.fs(all());
    let d = fs.open_random(&path("/f.bin")).unwrap();
    assert_eq!(d.size, 10);
    let mut buf = [0u8; 4];
    assert_eq!(d.reader.read_at(&mut buf, 6).unwrap(), 4);
    assert_eq!(&buf, b"6789");
    assert_eq!(d.reader.read_at(&mut buf, 0).unwrap(), 4);
    d.report.finish(8, None);
    assert_eq!(f.heard.names(), ["download"]);
}

#[test]
fn reads_that_are_no_downloads_need_their_permission_and_emit_nothing() {
    let f = fixture();
    f.put("f.txt", b"line\n");
    let listing_only = f.fs(Policy::default().with_permissions(&[Permission::List]));
    let (size, mut r) = listing_only.open_read(&path("/f.txt"), 0, ReadPurpose::Measure).unwrap();
    let mut text = String::new();
    r.read_to_string(&mut text).unwrap();
    assert_eq!((size, text.as_str()), (5, "line\n"));
    assert!(matches!(listing_only.open_read(&path("/f.txt"), 0, ReadPurpose::Checksum), Err(FsError::PermissionDenied(Permission::Read))));
    let fs = f.fs(all());
    let (_, mut reader) = fs.open_read(&path("/f.txt"), 2, ReadPurpose::Checksum).unwrap();
    let mut tail = String::new();
    reader.read_to_string(&mut tail).unwrap();
    assert_eq!(tail, "ne\n");
    assert!(matches!(reader, ReadHandle::File(_)), "local files stay files");
    // Only regular files, as their metadata says: a link leading out of
    // the root is "Not a regular file", not whatever opening it says.
    std::os::unix::fs::symlink("/etc/passwd", f.disk("escape")).unwrap();
    std::fs::create_dir(f.disk("dir")).unwrap();
    assert!(matches!(fs.open_read(&path("/escape"), 0, ReadPurpose::Checksum), Err(FsError::Storage(StorageError::NotAFile))));
    assert!(matches!(fs.open_read(&path("/dir"), 0, ReadPurpose::Measure), Err(FsError::Storage(StorageError::IsDirectory))));
    assert!(f.heard.events().is_empty());
}

#[test]
fn listings_stream_the_folder_without_temporary_files() {
    let f = fixture();
    f.put("d/a.txt", b"a");
    f.put("d/.~ferry-00.part", b"in progress");
    std::fs::create_dir(f.disk("d/sub")).unwrap();
    let fs = f.fs(all());
    let mut names: Vec<_> = fs.read_dir(&path("/d"), Detail::Names).unwrap().map(|e| e.unwrap().name).collect();
    names.sort();
    assert_eq!(names, ["a.txt", "sub"]);
    assert!(matches!(fs.read_dir(&path("/d/a.txt"), Detail::Full), Err(FsError::Storage(StorageError::NotDirectory))));
    assert_eq!(fs.metadata(&path("/d/a.txt")).unwrap().size, 1);
    assert!(fs.capabilities().read_at && fs.quick_open());
}

#[test]
fn transfers_get_the_users_limiters_and_the_servers() {
    let f = fixture_with(Rates::new(Some(1 << 20), None));
    let capped = Policy { upload_rate: Some(1000), download_rate: Some(2000), ..all() };
    let (one, two) = (f.fs_as("alice", capped.clone(), 1), f.fs_as("alice", capped.clone(), 2));
    let up = one.rate_limits(Direction::Upload);
    assert_eq!(up.iter().map(|l| l.rate()).collect::<Vec<_>>(), [1000, 1 << 20]);
    assert!(Arc::ptr_eq(&up[0], &two.rate_limits(Direction::Upload)[0]), "alice's sessions share her limit");
    assert_eq!(one.rate_limits(Direction::Download).iter().map(|l| l.rate()).collect::<Vec<_>>(), [2000], "no server-wide download cap");
    let free = f.fs_as("bob", all(), 3);
    assert_eq!(free.rate_limits(Direction::Upload).len(), 1, "only the server's");
    // A reload changes alice's rates, for the transfer already running too.
    let reloaded = Policy { upload_rate: Some(500), ..capped };
    f.services.apply_policy("alice", &reloaded);
    assert_eq!(up[0].rate(), 500);
    assert!(one.set_policy(reloaded));
    assert_eq!(one.rate_limits(Direction::Upload)[0].rate(), 500);
}

#[test]
fn the_xferlog_and_the_metrics_hear_what_a_view_does() {
    use crate::events::metrics::Metrics;
    use crate::events::xferlog::XferLog;
    let f = fixture();
    let log_path = f.root().join("xferlog");
    f.services.events().subscribe(Arc::new(XferLog::open(&log_path).unwrap()));
    let metrics = Arc::new(Metrics::default());
    f.services.events().subscribe(metrics.clone());
    f.put("down.bin", &[1u8; 1234]);
    let fs = f.fs(all());
    let d = fs.open_download(&path("/down.bin"), 0).unwrap();
    d.report.finish(1234, None);
    let mut up = fs.open_upload(&path("/my file.txt"), crate::storage::WriteMode::Replace).unwrap();
    up.write(b"hello").unwrap();
    up.commit().unwrap();
    let mut aborted = fs.open_upload(&path("/part.bin"), crate::storage::WriteMode::Replace).unwrap();
    aborted.write(b"12").unwrap();
    aborted.abort(Failure::Interrupted);
    fs.mkdir(&path("/folder")).unwrap();
    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "transfers only:\n{text}");
    assert!(lines[0].ends_with(" 192.0.2.1 1234 /down.bin b _ o r alice ftp 0 * c"), "{}", lines[0]);
    assert!(lines[1].ends_with(" 192.0.2.1 5 /my_file.txt b _ i r alice ftp 0 * c"), "{}", lines[1]);
    assert!(lines[2].ends_with(" 192.0.2.1 2 /part.bin b _ i r alice ftp 0 * i"), "{}", lines[2]);
    let exposition = metrics.encode();
    for line in [
        "ferry_transfers_total{direction=\"in\",result=\"ok\"} 1",
        "ferry_transfers_total{direction=\"in\",result=\"error\"} 1",
        "ferry_transfers_total{direction=\"out\",result=\"ok\"} 1",
        "ferry_transfer_bytes_total{direction=\"in\"} 7",
        "ferry_transfer_bytes_total{direction=\"out\"} 1234",
    ] {
        assert!(exposition.lines().any(|l| l == line), "missing {line:?} in:\n{exposition}");
    }
}
