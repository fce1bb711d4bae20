//! Uploads: the claim on the file, the quota charged as bytes arrive, and
//! exactly one event when they end.

use std::sync::Barrier;

use super::*;
use crate::events::{EventKind, Failure, Transfer};
use crate::storage::{PartialOutcome, RESERVED_PREFIX, StorageError, WriteMode};
use crate::userfs::FsError;

const MIB: u64 = 1 << 20;

fn quota(bytes: Option<u64>, files: Option<u64>) -> Policy {
    Policy { quota_bytes: bytes, quota_files: files, ..all() }
}

#[test]
fn a_committed_upload_emits_one_event_with_its_size_and_never_a_temporary_name() {
    let f = fixture();
    f.put("docs/report.txt", b"old");
    let fs = f.fs(all());
    let mut up = fs.open_upload(&path("/docs/report.txt"), WriteMode::Replace).unwrap();
    assert!(up.replaces());
    up.set_ascii(true);
    up.write(b"hello ").unwrap();
    up.write(b"world").unwrap();
    // Line ends converted on the way: 12 bytes came in for the 11 written.
    up.set_received(12);
    assert_eq!(f.read("docs/report.txt").unwrap(), b"old", "nothing shows before the commit");
    assert!(f.heard.events().is_empty(), "nor is anything told");
    assert_eq!(up.commit().unwrap(), 11);
    assert_eq!(f.read("docs/report.txt").unwrap(), b"hello world");
    let got = f.heard.events();
    assert_eq!(got.len(), 1, "{got:?}");
    let EventKind::Upload { actor, transfer, size, .. } = &got[0].kind else { panic!("{got:?}") };
    assert_eq!((actor, &transfer.path, transfer.bytes, transfer.ascii, *size), (fs.actor(), &path("/docs/report.txt"), 12, true, 11));
    assert!(!transfer.path.as_str().contains(RESERVED_PREFIX));
    assert_eq!(&*actor.user, "alice");
}

#[test]
fn an_aborted_upload_emits_upload_failed_and_no_upload() {
    let f = fixture();
    f.put("old.txt", b"keep me");
    let fs = f.fs(all());
    let mut up = fs.open_upload(&path("/old.txt"), WriteMode::Replace).unwrap();
    up.write(b"half").unwrap();
    assert_eq!(up.abort(Failure::Interrupted), PartialOutcome::Discarded, "an existing file is never replaced by a part");
    assert_eq!(f.read("old.txt").unwrap(), b"keep me");
    let mut up = fs.open_upload(&path("/new.txt"), WriteMode::Replace).unwrap();
    assert!(!up.replaces());
    up.write(b"part").unwrap();
    assert_eq!(up.abort(Failure::Connection("reset by peer".into())), PartialOutcome::KeptForResume);
    assert_eq!(f.read("new.txt").unwrap(), b"part", "a new file's part stays for a resume");
    assert_eq!(f.heard.names(), ["upload_failed", "upload_failed"]);
    let EventKind::UploadFailed { transfer, failure, kept, .. } = &f.heard.events()[1].kind else { panic!() };
    assert_eq!(
        (&transfer.path, transfer.bytes, failure, *kept),
        (&path("/new.txt"), 4, &Failure::Connection("reset by peer".into()), PartialOutcome::KeptForResume)
    );
}

#[test]
fn a_dropped_upload_and_a_failed_one_over_quota_keep_nothing() {
    let f = fixture();
    let fs = f.fs(quota(Some(10), None));
    let mut up = fs.open_upload(&path("/dropped.txt"), WriteMode::Replace).unwrap();
    up.write(b"abc").unwrap();
    drop(up);
    assert!(f.read("dropped.txt").is_none(), "an upload abandoned without an outcome leaves nothing under its name");
    let EventKind::UploadFailed { failure, transfer, .. } = &f.heard.events()[0].kind else { panic!("{:?}", f.heard.events()) };
    assert_eq!((failure, transfer.bytes), (&Failure::Dropped, 3));
    let mut up = fs.open_upload(&path("/big.txt"), WriteMode::Replace).unwrap();
    up.write(b"12345678").unwrap();
    let e = up.write(b"901").unwrap_err();
    assert!(matches!(e, FsError::QuotaExceeded), "{e:?}");
    assert_eq!(e.to_string(), "Disk quota exceeded");
    assert_eq!(up.bytes(), 8, "the refused chunk was not written");
    assert_eq!(up.fail(&e), PartialOutcome::Discarded);
    assert!(f.read("big.txt").is_none(), "a quota refusal leaves nothing");
    assert_eq!(f.heard.names(), ["upload_failed", "upload_failed"]);
    let EventKind::UploadFailed { failure, .. } = &f.heard.events()[1].kind else { panic!() };
    assert_eq!(failure, &Failure::Error("Disk quota exceeded".into()));
    assert_eq!(f.services.quotas().ledger(&VirtualPath::root()).usage(), (0, 0), "nothing was kept, nothing counts");
}

#[test]
fn a_file_being_uploaded_cannot_be_deleted_renamed_or_uploaded_again() {
    let f = fixture();
    f.put("other.txt", b"x");
    let alice = f.fs(all());
    // Another user whose home is inside alice's: the same file by another name.
    let bob = f.fs_as("bob", Policy { home: path("/inbox"), ..all() }, 2);
    let mut up = alice.open_upload(&path("/inbox/f.txt"), WriteMode::Replace).unwrap();
    up.write(b"data").unwrap();
    assert!(matches!(alice.remove_file(&path("/inbox/f.txt")), Err(FsError::Busy)));
    assert!(matches!(bob.remove_file(&path("/f.txt")), Err(FsError::Busy)), "busy server-wide");
    assert!(matches!(alice.rename_source(&path("/inbox/f.txt")), Err(FsError::Busy)));
    assert!(matches!(alice.rename(&path("/inbox/f.txt"), &path("/g.txt")), Err(FsError::Busy)));
    assert!(matches!(alice.rename(&path("/other.txt"), &path("/inbox/f.txt")), Err(FsError::Busy)), "nor replaced by a rename");
    assert!(matches!(bob.open_upload(&path("/f.txt"), WriteMode::Append), Err(FsError::AlreadyUploading)));
    assert!(matches!(alice.open_upload(&path("/inbox/f.txt"), WriteMode::Replace), Err(FsError::AlreadyUploading)));
    assert_eq!(FsError::Busy.to_string(), "an upload to this file is in progress; try again later");
    assert_eq!(f.read("other.txt").unwrap(), b"x");
    up.commit().unwrap();
    bob.remove_file(&path("/f.txt")).unwrap();
    assert_eq!(f.heard.names(), ["upload", "delete"]);
}

#[test]
fn two_concurrent_uploads_cannot_exceed_a_1_mib_quota() {
    let f = fixture();
    let policy = quota(Some(MIB), None);
    let sessions = [f.fs_as("alice", policy.clone(), 1), f.fs_as("alice", policy, 2)];
    let start = Barrier::new(2);
    let chunk = vec![0x5au8; 64 << 10];
    let stored: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = sessions
            .iter()
            .enumerate()
            .map(|(i, fs)| {
                let (start, chunk) = (&start, &chunk);
                s.spawn(move || {
                    let mut up = fs.open_upload(&path(&format!("/up{i}.bin")), WriteMode::Replace).unwrap();
                    start.wait();
                    // 768 KiB each, if they could.
                    for _ in 0..12 {
                        match up.write(chunk) {
                            Ok(()) => {}
                            Err(e) => {
                                assert!(matches!(e, FsError::QuotaExceeded), "{e:?}");
                                break;
                            }
                        }
                    }
                    let n = up.bytes();
                    up.commit().unwrap();
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let on_disk: u64 = (0..2).map(|i| f.read(&format!("up{i}.bin")).unwrap().len() as u64).sum();
    assert_eq!(stored.iter().sum::<u64>(), MIB, "together exactly the quota: {stored:?}");
    assert_eq!(on_disk, MIB);
    assert_eq!(f.services.quotas().ledger(&VirtualPath::root()).usage(), (MIB, 2));
    let mut third = sessions[0].open_upload(&path("/more.bin"), WriteMode::Replace).unwrap();
    assert!(matches!(third.write(b"x"), Err(FsError::QuotaExceeded)), "and the quota still holds");
}

#[test]
fn the_file_quota_refuses_new_files_but_not_replacements() {
    let f = fixture();
    f.put("a.txt", b"a");
    f.put("b.txt", b"b");
    let fs = f.fs(quota(None, Some(2)));
    let e = fs.open_upload(&path("/c.txt"), WriteMode::Replace).unwrap_err();
    assert!(matches!(e, FsError::FileQuotaExceeded { files: 2 }), "{e:?}");
    assert_eq!(e.to_string(), "file quota exceeded (2 files)");
    assert!(matches!(fs.create_unique(&path("/"), "c.txt"), Err(FsError::FileQuotaExceeded { files: 2 })));
    assert!(f.read("c.txt").is_none());
    let mut up = fs.open_upload(&path("/a.txt"), WriteMode::Replace).unwrap();
    up.write(b"again").unwrap();
    up.commit().unwrap();
    assert_eq!(f.read("a.txt").unwrap(), b"again");
    fs.remove_file(&path("/b.txt")).unwrap();
    fs.open_upload(&path("/c.txt"), WriteMode::Replace).unwrap().commit().unwrap();
    assert_eq!(f.heard.names(), ["upload", "delete", "upload"], "refused uploads never started: no events");
}

#[test]
fn restarts_keep_what_precedes_them_and_pay_only_for_what_they_add() {
    let f = fixture();
    f.put("f.txt", b"0123456789");
    let fs = f.fs(quota(Some(12), None));
    let e = fs.open_upload(&path("/f.txt"), WriteMode::At(11)).unwrap_err();
    assert!(matches!(e, FsError::RestartPastEnd { offset: 11, size: 10 }), "{e:?}");
    assert_eq!(f.read("f.txt").unwrap(), b"0123456789", "a refused restart cuts nothing");
    let mut up = fs.open_upload(&path("/f.txt"), WriteMode::At(4)).unwrap();
    assert!(!up.replaces(), "written in place");
    up.write(b"abcdefgh").unwrap();
    assert!(matches!(up.write(b"!"), Err(FsError::QuotaExceeded)), "4 kept + 8 new = the 12 allowed");
    up.commit().unwrap();
    assert_eq!(f.read("f.txt").unwrap(), b"0123abcdefgh");
    assert_eq!(f.services.quotas().ledger(&VirtualPath::root()).usage(), (12, 1));
    let mut app = fs.open_upload(&path("/f.txt"), WriteMode::Append).unwrap();
    assert!(matches!(app.write_at(b"x", 0), Err(FsError::QuotaExceeded)), "an append at any offset adds bytes");
    drop(app);
    let EventKind::Upload { transfer, size, .. } = &f.heard.events()[0].kind else { panic!() };
    assert_eq!((transfer.bytes, *size), (8, 12));
}

#[test]
fn positional_writes_are_charged_for_growth_only() {
    let f = fixture();
    let fs = f.fs(quota(Some(100), None));
    let mut up = fs.open_upload(&path("/blocks.bin"), WriteMode::Replace).unwrap();
    up.write_at(&[2u8; 50], 50).unwrap();
    up.write_at(&[1u8; 50], 0).unwrap();
    up.write_at(&[3u8; 50], 25).unwrap();
    assert!(matches!(up.write_at(b"!", 100), Err(FsError::QuotaExceeded)));
    assert_eq!(up.bytes(), 150, "bytes received, rewritten ones included");
    up.commit().unwrap();
    let data = f.read("blocks.bin").unwrap();
    assert_eq!(data.len(), 100);
    assert_eq!((&data[..25], &data[25..75], &data[75..]), (&[1u8; 25][..], &[3u8; 50][..], &[2u8; 25][..]));
    assert_eq!(f.services.quotas().ledger(&VirtualPath::root()).usage(), (100, 1));
    let EventKind::Upload { size, .. } = f.heard.events()[0].kind else { panic!() };
    assert_eq!(size, 100);
}

#[test]
fn a_write_the_storage_refuses_gives_its_quota_back() {
    let f = fixture();
    f.put("f.txt", b"0123");
    let fs = f.fs(quota(Some(10), None));
    let mut up = fs.open_upload(&path("/f.txt"), WriteMode::At(4)).unwrap();
    let e = up.write_at(b"xx", 2).unwrap_err();
    assert!(matches!(e, FsError::Storage(StorageError::Unsupported(_))), "before the restart point: {e:?}");
    up.write(b"456789").unwrap();
    up.commit().unwrap();
    assert_eq!(f.read("f.txt").unwrap(), b"0123456789");
    assert_eq!(f.services.quotas().ledger(&VirtualPath::root()).usage(), (10, 1), "the refused bytes were not counted");
}

#[test]
fn a_unique_upload_is_claimed_and_told_under_its_new_name() {
    let f = fixture();
    f.put("dir/report.txt", b"taken");
    let fs = f.fs(all());
    let mut up = fs.create_unique(&path("/dir"), "report.txt").unwrap();
    let name = up.path().clone();
    assert_eq!(name.as_str(), "/dir/report.txt.1");
    assert!(matches!(fs.remove_file(&name), Err(FsError::Busy)));
    up.write(b"fresh").unwrap();
    up.commit().unwrap();
    assert_eq!(f.read("dir/report.txt.1").unwrap(), b"fresh");
    assert_eq!(f.read("dir/report.txt").unwrap(), b"taken");
    let EventKind::Upload { transfer, .. } = &f.heard.events()[0].kind else { panic!() };
    assert_eq!(transfer, &Transfer { path: name, bytes: 5, ascii: false, duration: transfer.duration });
}

/// The SHA-256 of what was committed, made as the bytes came in: `sha256sum`'s
/// answer for the whole file, resumed and appended uploads included.
#[test]
fn upload_events_carry_the_sha256_of_the_committed_file_when_asked() {
    fn sha_of(bytes: &[u8]) -> String {
        use sha2::Digest as _;
        sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }
    let sha = |e: &crate::events::Event| match &e.kind {
        EventKind::Upload { sha256, .. } => sha256.clone(),
        other => panic!("{other:?}"),
    };
    let f = fixture();
    let fs = f.fs(all());
    let mut up = fs.open_upload(&path("/a.txt"), WriteMode::Replace).unwrap();
    up.write(b"hello").unwrap();
    up.commit().unwrap();
    assert_eq!(sha(&f.heard.events()[0]), None, "not computed unless asked");
    f.services.set_upload_digests(true);
    let mut up = fs.open_upload(&path("/a.txt"), WriteMode::Replace).unwrap();
    up.write(b"hello ").unwrap();
    up.write(b"world").unwrap();
    up.commit().unwrap();
    assert_eq!(sha(&f.heard.events()[1]).as_deref(), Some(&*sha_of(b"hello world")));
    // An append and a restart take in the part already there.
    let mut up = fs.open_upload(&path("/a.txt"), WriteMode::Append).unwrap();
    up.write(b"!").unwrap();
    up.commit().unwrap();
    assert_eq!(sha(&f.heard.events()[2]).as_deref(), Some(&*sha_of(b"hello world!")));
    let mut up = fs.open_upload(&path("/a.txt"), WriteMode::At(6)).unwrap();
    up.write(b"there").unwrap();
    up.commit().unwrap();
    assert_eq!(f.read("a.txt").unwrap(), b"hello there");
    assert_eq!(sha(&f.heard.events()[3]).as_deref(), Some(&*sha_of(b"hello there")));
    // Bytes out of order: no digest rather than a wrong one.
    let mut up = fs.open_upload(&path("/b.txt"), WriteMode::Replace).unwrap();
    up.write_at(b"world", 6).unwrap();
    up.write_at(b"hello ", 0).unwrap();
    up.commit().unwrap();
    assert_eq!(f.read("b.txt").unwrap(), b"hello world");
    assert_eq!(sha(&f.heard.events()[4]), None);
}

/// Remembers what it was asked and refuses `*.exe`.
#[derive(Default)]
struct Gate(std::sync::Mutex<Vec<(String, Option<u64>)>>);

impl crate::userfs::UploadGate for Gate {
    fn check(&self, r: &crate::userfs::UploadRequest<'_>) -> Result<(), String> {
        self.0.lock().unwrap().push((r.path.as_str().to_owned(), r.size));
        if r.path.as_str().ends_with(".exe") { Err("no executables".into()) } else { Ok(()) }
    }
}

#[test]
fn the_upload_gate_is_asked_first_and_a_refusal_leaves_nothing() {
    let f = fixture();
    let gate = Arc::new(Gate::default());
    f.services.set_upload_gate(Some(gate.clone()));
    let fs = f.fs(all());
    let e = fs.open_upload_announced(&path("/x.exe"), WriteMode::Replace, Some(42)).unwrap_err();
    assert!(matches!(&e, FsError::Refused(m) if m == "no executables"), "{e:?}");
    assert!(f.read("x.exe").is_none());
    // Not claimed: the refusal held nothing.
    f.services.set_upload_gate(None);
    fs.open_upload(&path("/x.exe"), WriteMode::Replace).unwrap().commit().unwrap();
    f.services.set_upload_gate(Some(gate.clone()));
    let mut up = fs.open_upload(&path("/ok.txt"), WriteMode::Replace).unwrap();
    up.write(b"fine").unwrap();
    up.commit().unwrap();
    assert_eq!(*gate.0.lock().unwrap(), [("/x.exe".to_owned(), Some(42)), ("/ok.txt".to_owned(), None)]);
    assert_eq!(f.heard.names(), ["upload", "upload"], "a refusal is no event");
}
