//! Command hooks: real `sh` scripts, run by argv.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferry_core::events::{AdminAction, EventKind};

use crate::support::*;

/// Write an executable script into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn command_hook(name: &str, argv: &[&str], timeout: &str) -> ferry_hooks::HookConfig {
    let argv: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
    hook(&format!("name = \"{name}\"\nevents = [\"upload\", \"rename\"]\ncommand = [{}]\ntimeout = \"{timeout}\"", argv.join(", ")))
}

#[tokio::test]
async fn a_command_sees_the_environment_and_the_json_on_stdin() {
    let (spool, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // $2 is a name with a space and a `;`: an argv is never a shell line.
    let s =
        script(work.path(), "record.sh", "cat > \"$1/stdin\"\nenv | grep '^FERRY_' | sort > \"$1/env\"\nprintf '%s' \"$2\" > \"$1/arg\"\n");
    let h = command_hook("record", &[s.to_str().unwrap(), out.to_str().unwrap(), "two words; rm -rf /"], "5s");
    let mut settings = settings(spool.path());
    let root = PathBuf::from("/srv/ftp");
    settings.fs_paths = Some(Arc::new(move |user: &str, path: &str| Some(root.join(user).join(path.trim_start_matches('/')))));
    let (events, dispatcher) = start(settings, &[h]);
    events.emit(upload("alice", "/in/a b.csv", 77));
    eventually("the script to run", || out.join("arg").exists()).await;
    eventually("the spool to empty", || spooled(spool.path()).is_empty()).await;
    let stdin: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("stdin")).unwrap()).unwrap();
    assert_eq!(stdin["event"], "upload");
    assert_eq!(stdin["path"], "/in/a b.csv");
    let id = stdin["id"].as_str().unwrap();
    let env = std::fs::read_to_string(out.join("env")).unwrap();
    let want = format!(
        "FERRY_EVENT=upload\nFERRY_EVENT_ID={id}\nFERRY_FS_PATH=/srv/ftp/alice/in/a b.csv\nFERRY_PATH=/in/a b.csv\nFERRY_PEER=127.0.0.1:50000\nFERRY_PROTOCOL=ftp\nFERRY_SIZE=77\nFERRY_USER=alice\n"
    );
    assert_eq!(env, want);
    assert_eq!(std::fs::read_to_string(out.join("arg")).unwrap(), "two words; rm -rf /");
    assert_eq!(dispatcher.metrics().deliveries("record", "delivered"), 1);
    dispatcher.stop().await;
}

#[tokio::test]
async fn a_rename_gives_from_and_to_and_no_fs_path_without_a_mapping() {
    let (spool, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let s = script(work.path(), "env.sh", "env | grep '^FERRY_' | sort > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n");
    let out = work.path().join("env");
    let h = command_hook("rename", &[s.to_str().unwrap(), out.to_str().unwrap()], "5s");
    // The server's own FERRY_* variables never pose as the event's.
    let (events, dispatcher) = start(settings(spool.path()), &[h]);
    events.emit_now(EventKind::Rename { actor: actor("bob"), from: path("/up/x.part"), to: path("/up/x") });
    eventually("the script to run", || out.exists()).await;
    let env = std::fs::read_to_string(&out).unwrap();
    for line in ["FERRY_EVENT=rename", "FERRY_PATH=/up/x", "FERRY_FROM=/up/x.part", "FERRY_TO=/up/x", "FERRY_USER=bob"] {
        assert!(env.lines().any(|l| l == line), "missing {line} in\n{env}");
    }
    assert!(!env.contains("FERRY_FS_PATH"), "{env}");
    assert!(!env.contains("FERRY_SIZE"), "a rename has no size: {env}");
    dispatcher.stop().await;
}

#[tokio::test]
async fn an_admin_event_gives_the_admin_and_the_target_and_no_user() {
    let (spool, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let s = script(work.path(), "env.sh", "env | grep '^FERRY_' | sort > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n");
    let out = work.path().join("env");
    let h = hook(&format!(
        "name = \"audit\"\nevents = [\"admin-user-delete\"]\ncommand = [{:?}, {:?}]\ntimeout = \"5s\"",
        s.to_str().unwrap(),
        out.to_str().unwrap()
    ));
    let (events, dispatcher) = start(settings(spool.path()), &[h]);
    // Another admin action is not what the hook asked for.
    events.admin("root", AdminAction::UserCreate, Some("dave"), None);
    events.admin("root", AdminAction::UserDelete, Some("carol"), Some("192.0.2.9:51000".parse().unwrap()));
    eventually("the script to run", || out.exists()).await;
    let env = std::fs::read_to_string(&out).unwrap();
    for line in ["FERRY_EVENT=admin-user-delete", "FERRY_ADMIN=root", "FERRY_TARGET=carol", "FERRY_PEER=192.0.2.9:51000"] {
        assert!(env.lines().any(|l| l == line), "missing {line} in\n{env}");
    }
    assert!(!env.contains("FERRY_USER") && !env.contains("FERRY_PROTOCOL"), "an admin is no FTP user: {env}");
    eventually("the spool to empty", || spooled(spool.path()).is_empty()).await;
    assert_eq!(dispatcher.metrics().deliveries("audit", "delivered"), 1, "only the event asked for");
    dispatcher.stop().await;
}

#[tokio::test]
async fn a_failing_command_is_retried_until_it_exits_0() {
    let (spool, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let dir = work.path().to_str().unwrap();
    // Fails twice (exit 3, a message on stderr), then succeeds.
    let s = script(
        work.path(),
        "flaky.sh",
        "n=$(cat \"$1/n\" 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > \"$1/n\"\n[ $n -ge 3 ] && exit 0\necho \"not yet $n\" >&2\nexit 3\n",
    );
    let (events, dispatcher) = start(settings(spool.path()), &[command_hook("flaky", &[s.to_str().unwrap(), dir], "5s")]);
    events.emit(upload("alice", "/a", 1));
    eventually("the third run to succeed", || dispatcher.metrics().deliveries("flaky", "delivered") == 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(std::fs::read_to_string(work.path().join("n")).unwrap().trim(), "3", "run three times, not more");
    assert_eq!(dispatcher.metrics().deliveries("flaky", "retried"), 2);
    assert!(spooled(spool.path()).is_empty());
    dispatcher.stop().await;
}

#[tokio::test]
async fn a_hanging_command_is_killed_at_its_timeout_and_retried() {
    let (spool, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let dir = work.path().to_str().unwrap();
    // The first run hangs (as `sleep`, whose pid it leaves); the second finishes.
    let s = script(work.path(), "hang.sh", "if [ ! -e \"$1/pid\" ]; then echo $$ > \"$1/pid\"; exec sleep 30; fi\ntouch \"$1/done\"\n");
    let (events, dispatcher) = start(settings(spool.path()), &[command_hook("hang", &[s.to_str().unwrap(), dir], "300ms")]);
    events.emit(upload("alice", "/a", 1));
    eventually("the second run", || work.path().join("done").exists()).await;
    let pid = std::fs::read_to_string(work.path().join("pid")).unwrap().trim().to_string();
    // Killed: gone, or a zombie not yet reaped.
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let alive = state.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'));
    assert!(!alive, "the hung command still runs: {state}");
    assert_eq!(dispatcher.metrics().deliveries("hang", "retried"), 1);
    eventually("delivered", || dispatcher.metrics().deliveries("hang", "delivered") == 1).await;
    dispatcher.stop().await;
}
