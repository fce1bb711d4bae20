//! Command delivery: the hook's program, run by its argv (never through a
//! shell, so no name a client chose is ever parsed as shell syntax), with
//! the event's JSON on standard input and its main fields as environment
//! variables:
//!
//! | variable | value |
//! |---|---|
//! | `FERRY_EVENT` | `upload`, `rename`, ... |
//! | `FERRY_EVENT_ID` | the event's `id` |
//! | `FERRY_USER` | the user (unset for a ban and the `admin-*` events) |
//! | `FERRY_PATH` | the virtual path (for a rename, the new one) |
//! | `FERRY_FS_PATH` | that file on disk, when storage is local and the server said how to find it |
//! | `FERRY_SIZE` | `size`, when the event has one |
//! | `FERRY_SHA256` | `sha256`, when the event has one |
//! | `FERRY_PEER` | the client's `address:port` |
//! | `FERRY_PROTOCOL` | `ftp`, ... |
//! | `FERRY_FROM`, `FERRY_TO` | a rename's old and new virtual path |
//! | `FERRY_ADMIN`, `FERRY_TARGET` | an `admin-*` event's administrator and target |
//!
//! Exit status 0 is success; another status, a signal, or running past the
//! hook's timeout is a failure to retry. The child is killed when the
//! delivery is abandoned (the timeout, or the server stopping): tokio's
//! `kill_on_drop`. What it printed is captured; the first line is logged
//! when it fails.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::config::FsPaths;
use crate::delivery_error::DeliveryError;
use crate::payload::Payload;

/// Run `argv` for the event `payload`, whose JSON is `body`.
pub(crate) async fn run(argv: &[String], payload: &Payload, body: &[u8], fs_paths: Option<&FsPaths>) -> Result<(), DeliveryError> {
    let program = argv.first().cloned().unwrap_or_default();
    let output = execute(argv, payload, body, fs_paths).await?;
    if output.status.success() {
        return Ok(());
    }
    let status = output.status;
    Err(DeliveryError(match first_line(&output) {
        Some(line) => format!("{program:?} failed ({status}): {line}"),
        None => format!("{program:?} failed ({status})"),
    }))
}

/// What a finished command said first: its standard error's first
/// non-empty line, else its standard output's.
pub(crate) fn first_line(output: &std::process::Output) -> Option<String> {
    let first = |bytes: &[u8]| String::from_utf8_lossy(bytes).lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string);
    first(&output.stderr).or_else(|| first(&output.stdout))
}

/// Run the command to its end: `Err` only when it could not be run.
pub(crate) async fn execute(
    argv: &[String],
    payload: &Payload,
    body: &[u8],
    fs_paths: Option<&FsPaths>,
) -> Result<std::process::Output, DeliveryError> {
    let (program, args) = argv.split_first().ok_or_else(|| DeliveryError("the command is empty".into()))?;
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut env = |key: &str, value: Option<&str>| {
        match value {
            Some(v) => cmd.env(key, v),
            // Never let the server's own environment pose as the event's.
            None => cmd.env_remove(key),
        };
    };
    env("FERRY_EVENT", Some(payload.event.as_str()));
    env("FERRY_EVENT_ID", Some(&payload.id));
    env("FERRY_USER", payload.user.as_deref());
    env("FERRY_PATH", payload.path.as_deref());
    let fs_path = match (fs_paths, &payload.user, &payload.path) {
        (Some(map), Some(user), Some(path)) => map(user, path),
        _ => None,
    };
    env("FERRY_FS_PATH", fs_path.as_deref().and_then(|p| p.to_str()));
    env("FERRY_SIZE", payload.size.map(|s| s.to_string()).as_deref());
    env("FERRY_SHA256", payload.sha256.as_deref());
    env("FERRY_PEER", payload.peer.as_deref());
    env("FERRY_PROTOCOL", payload.protocol.as_deref());
    env("FERRY_FROM", payload.from.as_deref());
    env("FERRY_TO", payload.to.as_deref());
    env("FERRY_ADMIN", payload.admin.as_deref());
    env("FERRY_TARGET", payload.target.as_deref());

    let mut child = cmd.spawn().map_err(|e| DeliveryError(format!("cannot run {program:?}: {e}")))?;
    let stdin = child.stdin.take();
    // Feed standard input while the output is read: a program that prints
    // a lot before reading would otherwise block us both. A program that
    // never reads its input is fine too (the broken pipe is ignored).
    let feed = async move {
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(body).await;
        }
    };
    let ((), output) = tokio::join!(feed, child.wait_with_output());
    output.map_err(|e| DeliveryError(format!("waiting for {program:?}: {e}")))
}
