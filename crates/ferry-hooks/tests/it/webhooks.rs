//! Webhooks: signed, retried, surviving outages and restarts, given up on
//! at the maximum age.

use std::collections::HashSet;
use std::time::Duration;

use ferry_core::events::metrics::Metrics;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::receiver::Receiver;
use crate::support::*;

fn webhook(name: &str, url: &str) -> ferry_hooks::HookConfig {
    hook(&format!("name = \"{name}\"\nevents = [\"upload\"]\nurl = \"{url}\"\ntimeout = \"2s\""))
}

/// A loopback address nothing listens on (yet).
async fn refused_port() -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

#[tokio::test]
async fn a_webhook_gets_one_signed_event_with_its_headers_and_json() {
    let spool = tempfile::tempdir().unwrap();
    let rx = Receiver::start(&[]).await;
    let h = hook(&format!("name = \"ingest\"\nevents = [\"upload\"]\nurl = \"{}\"\nsecret = \"s3cret\"", rx.url("/ferry?q=1")));
    let (events, dispatcher) = start(settings(spool.path()), &[h]);
    let metrics = Metrics::default();
    metrics.register(|r| dispatcher.metrics().register(r));
    events.emit(upload("alice", "/incoming/a.csv", 1234));
    let got = rx.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert_eq!((g.method.as_str(), g.path.as_str()), ("POST", "/ferry?q=1"));
    assert_eq!(g.header("content-type"), "application/json");
    assert_eq!(g.header("x-ferry-event"), "upload");
    assert_eq!(g.header("host"), rx.addr.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(&g.body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(g.header("x-ferry-signature"), format!("sha256={hex}"));
    let json = g.json();
    assert_eq!(g.header("x-ferry-event-id"), json["id"].as_str().unwrap());
    assert_eq!(json["version"], 1);
    assert_eq!(json["event"], "upload");
    assert_eq!(json["user"], "alice");
    assert_eq!(json["path"], "/incoming/a.csv");
    assert_eq!(json["size"], 1234);
    assert_eq!(json["protocol"], "ftp");
    assert_eq!(json["peer"], "127.0.0.1:50000");
    assert_eq!(json["session"], 42);
    eventually("the delivered file to leave the spool", || spooled(spool.path()).is_empty()).await;
    assert_eq!(dispatcher.metrics().deliveries("ingest", "delivered"), 1);
    eventually("the depth gauge to fall to 0", || dispatcher.metrics().spool_depth() == 0).await;
    let text = metrics.encode();
    for line in
        ["ferry_hook_deliveries_total{hook=\"ingest\",result=\"delivered\"} 1", "ferry_hook_spool_depth 0", "ferry_hook_oldest_seconds 0"]
    {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    dispatcher.stop().await;
}

#[tokio::test]
async fn no_signature_without_a_secret() {
    let spool = tempfile::tempdir().unwrap();
    let rx = Receiver::start(&[]).await;
    let (events, dispatcher) = start(settings(spool.path()), &[webhook("plain", &rx.url("/"))]);
    events.emit(upload("bob", "/x", 1));
    let got = rx.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].headers.get("x-ferry-signature").is_none());
    dispatcher.stop().await;
}

#[tokio::test]
async fn a_receiver_answering_500_is_retried_with_the_same_body_until_it_takes_the_event() {
    let spool = tempfile::tempdir().unwrap();
    let rx = Receiver::start(&[500, 503]).await;
    let (events, dispatcher) = start(settings(spool.path()), &[webhook("flaky", &rx.url("/"))]);
    events.emit(upload("alice", "/a", 5));
    let got = rx.wait_for(3).await;
    assert_eq!(got.len(), 3, "two refusals and the success, nothing after");
    assert!(got.iter().all(|g| g.body == got[0].body), "every try sends the same bytes, with the same id");
    assert_eq!(dispatcher.metrics().deliveries("flaky", "retried"), 2);
    assert_eq!(dispatcher.metrics().deliveries("flaky", "delivered"), 1);
    eventually("the spool to empty", || spooled(spool.path()).is_empty()).await;
    dispatcher.stop().await;
}

#[tokio::test]
async fn a_receiver_that_is_down_then_comes_up_gets_every_event_exactly_once() {
    let spool = tempfile::tempdir().unwrap();
    let addr = refused_port().await;
    let (events, dispatcher) = start(settings(spool.path()), &[webhook("later", &format!("http://{addr}/"))]);
    for n in 0..3 {
        events.emit(upload("alice", &format!("/f{n}"), n));
    }
    assert_eq!(spooled(spool.path()).len(), 3, "spooled before emit returns");
    eventually("some refused tries", || dispatcher.metrics().deliveries("later", "retried") >= 3).await;
    let rx = Receiver::start_at(addr).await;
    let got = rx.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_now = rx.got();
    assert_eq!(got_now.len(), 3, "{got:?}");
    let paths: HashSet<_> = got_now.iter().map(|g| g.json()["path"].as_str().unwrap().to_string()).collect();
    assert_eq!(paths, HashSet::from(["/f0".into(), "/f1".into(), "/f2".into()]));
    let ids: HashSet<_> = got_now.iter().map(|g| g.id()).collect();
    assert_eq!(ids.len(), 3);
    eventually("the spool to empty", || spooled(spool.path()).is_empty()).await;
    dispatcher.stop().await;
}

#[tokio::test]
async fn a_restart_on_the_same_spool_delivers_what_was_left_by_id() {
    let spool = tempfile::tempdir().unwrap();
    let addr = refused_port().await;
    let hooks = [webhook("restart", &format!("http://{addr}/"))];
    let (events, first) = start(settings(spool.path()), &hooks);
    for n in 0..3 {
        events.emit(upload("alice", &format!("/r{n}"), n));
    }
    eventually("a refused try", || first.metrics().deliveries("restart", "retried") >= 1).await;
    first.stop().await;
    drop(first);
    // What the first run left, by id.
    let left: HashSet<String> = spooled(spool.path())
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let body = text.split_once('\n').unwrap().1;
            serde_json::from_str::<serde_json::Value>(body).unwrap()["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(left.len(), 3);
    let rx = Receiver::start_at(addr).await;
    let (_events, second) = start(settings(spool.path()), &hooks);
    rx.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got: Vec<String> = rx.got().iter().map(|g| g.id()).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), left);
    eventually("the spool to empty", || spooled(spool.path()).is_empty()).await;
    second.stop().await;
}

#[tokio::test]
async fn events_too_old_go_to_the_dead_letter_folder() {
    let spool = tempfile::tempdir().unwrap();
    let addr = refused_port().await;
    let mut s = settings(spool.path());
    s.max_age = Duration::from_millis(300);
    let (events, dispatcher) = start(s, &[webhook("never", &format!("http://{addr}/"))]);
    events.emit(upload("alice", "/lost", 1));
    let dead = spool.path().join("dead");
    eventually("the event in dead/", || dead.exists() && std::fs::read_dir(&dead).unwrap().count() == 1).await;
    assert!(spooled(spool.path()).is_empty());
    let file = std::fs::read_dir(&dead).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.starts_with("{\"hook\":\"never\"}\n{\"version\":1,"), "{text}");
    assert!(text.contains("\"path\":\"/lost\""), "{text}");
    assert_eq!(dispatcher.metrics().deliveries("never", "failed"), 1);
    assert!(dispatcher.metrics().deliveries("never", "retried") >= 1);
    dispatcher.stop().await;
}

#[tokio::test]
async fn events_after_stop_wait_in_the_spool_for_the_next_start() {
    let spool = tempfile::tempdir().unwrap();
    let rx = Receiver::start(&[]).await;
    let hooks = [webhook("stopped", &rx.url("/"))];
    let (events, dispatcher) = start(settings(spool.path()), &hooks);
    dispatcher.stop().await;
    events.emit(upload("alice", "/after", 1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(rx.got().is_empty(), "a stopped dispatcher delivers nothing");
    assert_eq!(spooled(spool.path()).len(), 1);
    let (_events, again) = start(settings(spool.path()), &hooks);
    let got = rx.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["path"], "/after");
    again.stop().await;
}

#[tokio::test]
async fn only_hooks_that_ask_for_the_digest_get_the_sha256() {
    let spool = tempfile::tempdir().unwrap();
    let rx = Receiver::start(&[]).await;
    let with = hook(&format!("name = \"with\"\nevents = [\"upload\"]\nurl = \"{}\"\ndigest = \"sha256\"", rx.url("/with")));
    let (events, dispatcher) = start(settings(spool.path()), &[with, webhook("without", &rx.url("/without"))]);
    assert!(dispatcher.wants_sha256());
    let digest = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    events.emit(upload_with_sha256("alice", "/hello.txt", 5, digest));
    let got = rx.wait_for(2).await;
    assert_eq!(got.len(), 2);
    let by = |p: &str| got.iter().find(|g| g.path == p).unwrap().json();
    assert_eq!(by("/with")["sha256"], digest);
    assert!(by("/without").get("sha256").is_none(), "{}", by("/without"));
    assert_eq!(by("/with")["id"], by("/without")["id"], "one event, one id, whichever hook hears it");
    dispatcher.stop().await;
}
