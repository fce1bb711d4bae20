use std::time::Duration;

use super::*;

fn peer(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 40000 + u16::from(n)))
}

#[test]
fn open_list_and_drop() {
    let sessions = Sessions::new();
    assert!(sessions.is_empty());
    let before = SystemTime::now();
    let a = sessions.open("ftp", peer(1));
    let b = sessions.open("sftp", peer(2));
    let c = sessions.open("ftp", peer(3));
    assert_eq!(sessions.len(), 3);
    let ids: Vec<u64> = sessions.list().iter().map(|s| s.id).collect();
    assert_eq!(ids, [a.id(), b.id(), c.id()], "sorted by id");
    let view = sessions.get(b.id()).unwrap();
    assert_eq!((view.protocol, view.peer, view.user.clone(), view.transfer.clone()), ("sftp", peer(2), None, None));
    assert!(view.since >= before && view.since <= SystemTime::now());
    assert_eq!(b.info(), SessionInfo { id: b.id(), protocol: "sftp", peer: peer(2) }, "the events' number is the registry's");
    drop(b);
    let ids: Vec<u64> = sessions.list().iter().map(|s| s.id).collect();
    assert_eq!(ids, [a.id(), c.id()]);
    assert!(sessions.get(2).is_none());
    drop((a, c));
    assert!(sessions.is_empty());
}

#[test]
fn ids_are_unique_across_threads_and_never_reused() {
    let sessions = Sessions::new();
    let handles: Vec<SessionHandle> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4).map(|_| s.spawn(|| (0..250).map(|_| sessions.open("ftp", peer(1))).collect::<Vec<_>>())).collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let mut ids: Vec<u64> = handles.iter().map(SessionHandle::id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1000);
    assert_eq!(sessions.len(), 1000);
    drop(handles);
    assert!(sessions.open("ftp", peer(1)).id() > 1000, "a closed session's number is not given again");
}

#[test]
fn the_user_follows_logins_and_logouts() {
    let sessions = Sessions::new();
    let s = sessions.open("ftp", peer(1));
    s.logged_in("alice");
    assert_eq!(sessions.list()[0].user.as_deref(), Some("alice"));
    s.logged_out();
    assert_eq!(sessions.list()[0].user, None);
    s.logged_in("bob");
    assert_eq!(sessions.list()[0].user.as_deref(), Some("bob"));
}

#[test]
fn a_transfer_is_listed_with_its_progress_until_dropped() {
    let sessions = Sessions::new();
    let s = sessions.open("ftp", peer(1));
    let t0 = Instant::now();
    let progress = Arc::new(s.transfer("/in/a.bin", Direction::Upload, Some(1000)));
    let worker = progress.clone();
    std::thread::spawn(move || (0..10).for_each(|_| worker.add(30))).join().unwrap();
    progress.add(100);
    assert_eq!(progress.bytes(), 400);
    let view = sessions.list_at(t0 + Duration::from_secs(2)).remove(0).transfer.unwrap();
    assert_eq!((view.path.as_str(), view.direction, view.bytes, view.size), ("/in/a.bin", Direction::Upload, 400, Some(1000)));
    assert!((150..=200).contains(&view.rate), "about 400 bytes in 2 s: {}", view.rate);
    // The transfer's own clock started a moment after t0: the rate is
    // worked out from its samples with the time given.
    progress.add(600);
    let later = sessions.list_at(t0 + Duration::from_secs(7)).remove(0).transfer.unwrap();
    assert_eq!(later.bytes, 1000);
    assert!((115..=125).contains(&later.rate), "600 bytes over the 5 s since the last look: {}", later.rate);
    drop(progress);
    assert_eq!(sessions.list()[0].transfer, None);
}

#[test]
fn an_old_transfer_ending_late_leaves_the_new_one_listed() {
    let sessions = Sessions::new();
    let s = sessions.open("ftp", peer(1));
    let old = s.transfer("/old", Direction::Download, None);
    let new = s.transfer("/new", Direction::Download, Some(5));
    drop(old);
    assert_eq!(sessions.list()[0].transfer.as_ref().map(|t| t.path.as_str()), Some("/new"));
    drop(new);
    assert_eq!(sessions.list()[0].transfer, None);
}

#[tokio::test]
async fn kick_before_kicked_is_awaited_resolves_at_once() {
    let sessions = Sessions::new();
    let s = sessions.open("ftp", peer(1));
    let other = sessions.open("ftp", peer(2));
    assert!(!s.is_kicked());
    assert!(sessions.kick(s.id()));
    assert!(s.is_kicked() && !other.is_kicked());
    tokio::time::timeout(Duration::from_secs(5), s.kicked()).await.expect("a kick that came first is not missed");
    assert!(!sessions.kick(999), "no such session");
    let id = s.id();
    drop(s);
    assert!(!sessions.kick(id), "a closed session cannot be kicked");
}

#[tokio::test]
async fn kick_while_kicked_is_awaited_wakes_it() {
    let sessions = Sessions::new();
    let s = sessions.open("ftp", peer(1));
    let waiting = tokio::spawn(s.kicked());
    let untouched = sessions.open("ftp", peer(2));
    let not_kicked = untouched.kicked();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiting.is_finished());
    assert!(sessions.kick(s.id()));
    tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("woken by the kick").unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(50), not_kicked).await.is_err(), "another session's wait goes on");
}

#[tokio::test]
async fn shut_down_ends_the_sessions_of_one_protocol_and_is_no_kick() {
    let sessions = Sessions::new();
    let (a, b, other) = (sessions.open("ftp", peer(1)), sessions.open("ftp", peer(2)), sessions.open("sftp", peer(3)));
    let waiting = tokio::spawn(a.ending());
    let transfer_watch = a.kicked();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiting.is_finished());
    sessions.shut_down("ftp");
    tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("woken by the shutdown").unwrap();
    tokio::time::timeout(Duration::from_secs(5), b.ending()).await.expect("a shutdown that came first is not missed");
    assert!(a.is_ending() && b.is_ending() && !a.is_kicked(), "ending, but not kicked");
    assert!(tokio::time::timeout(Duration::from_millis(50), transfer_watch).await.is_err(), "what waits for a kick goes on");
    assert!(!other.is_ending(), "another front door's sessions go on");
    assert!(sessions.kick(a.id()));
    assert!(a.is_kicked());
}
