//! Filters: a hook hears only its events, its users and its paths.

use std::collections::BTreeSet;

use ferry_core::events::{EventKind, LoginFailure};

use crate::receiver::Receiver;
use crate::support::*;

#[tokio::test]
async fn events_users_and_path_globs_select_the_right_events() {
    let spool = tempfile::tempdir().unwrap();
    let rx = Receiver::start(&[]).await;
    let hooks = [
        // Uploads by alice or bob under /incoming, any depth.
        hook(&format!(
            "name = \"deep\"\nevents = [\"upload\"]\nusers = [\"alice\", \"bob\"]\npaths = [\"/incoming/**\"]\nurl = \"{}\"",
            rx.url("/deep")
        )),
        // CSV files anywhere, uploaded or renamed; one level of /top/*.
        hook(&format!("name = \"csv\"\nevents = [\"upload\", \"rename\"]\npaths = [\"*.csv\", \"/top/*\"]\nurl = \"{}\"", rx.url("/csv"))),
        // Logins and failures, everybody; paths do not apply to them.
        hook(&format!(
            "name = \"logins\"\nevents = [\"login\", \"login-failed\", \"ban\"]\nusers = [\"alice\"]\npaths = [\"/nothing/**\"]\nurl = \"{}\"",
            rx.url("/logins")
        )),
    ];
    let (events, dispatcher) = start(settings(spool.path()), &hooks);
    events.emit(upload("alice", "/incoming/a/b/c.bin", 1)); // deep
    events.emit(upload("carol", "/incoming/x.bin", 1)); // nobody: carol
    events.emit(upload("bob", "/elsewhere/x.bin", 1)); // nobody: path
    events.emit(upload("carol", "/deep/down/r.csv", 1)); // csv (by name)
    events.emit(upload("bob", "/incoming/d.csv", 1)); // deep and csv
    events.emit(upload("carol", "/top/t.bin", 1)); // csv (/top/*)
    events.emit(upload("carol", "/top/sub/t.bin", 1)); // nobody: * stops at /
    events.emit_now(EventKind::Rename { actor: actor("carol"), from: path("/r.part"), to: path("/r.csv") }); // csv (by the new name)
    events.emit_now(EventKind::Mkdir { actor: actor("alice"), path: path("/incoming/new.csv") }); // nobody: mkdir not asked for
    events.login_ok(&session(), "alice"); // logins
    events.login_ok(&session(), "bob"); // nobody: bob
    events.login_failed(&session(), "alice", LoginFailure::Incorrect); // logins
    events.ban("192.0.2.7".parse().unwrap(), std::time::SystemTime::now()); // logins: a ban has no user
    let got = rx.wait_for(9).await;
    let seen: BTreeSet<String> = got
        .iter()
        .map(|g| {
            let j = g.json();
            let what = j["path"].as_str().or(j["user"].as_str()).or(j["address"].as_str()).unwrap_or("?").to_string();
            format!("{} {} {what}", g.path, j["event"].as_str().unwrap())
        })
        .collect();
    let want: BTreeSet<String> = [
        "/deep upload /incoming/a/b/c.bin",
        "/deep upload /incoming/d.csv",
        "/csv upload /deep/down/r.csv",
        "/csv upload /incoming/d.csv",
        "/csv upload /top/t.bin",
        "/csv rename /r.csv",
        "/logins login alice",
        "/logins login-failed alice",
        "/logins ban 192.0.2.7",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(seen, want);
    assert_eq!(got.len(), 9, "no event twice");
    dispatcher.stop().await;
}
