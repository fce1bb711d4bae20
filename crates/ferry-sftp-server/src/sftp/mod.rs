//! One SFTP session on an SSH channel.
//!
//! A reader task cuts the channel's bytes into requests ([`Framer`]) and
//! queues them; the session takes what is queued (up to [`BATCH`]
//! requests) and answers them in order on the blocking pool, where
//! storage calls belong, then sends the replies in one write. Clients
//! keep many requests in flight (OpenSSH's `sftp` 64 reads of 32 KiB), so
//! a batch pays one hand-off to the pool for dozens of requests, and the
//! reader goes on reading while a batch runs.
//!
//! Every wait has a deadline: the first packet (`INIT`) the login
//! timeout, requests the idle timeout, each reply write the data timeout.
//! The session also ends when the admin API kicks it, the server shuts
//! down, or a reload removes, disables or moves the account; whatever is
//! still open is then closed as the core says (uploads aborted: a file
//! being replaced stays as it was).

mod attrs;
mod errors;
mod handles;
mod ops;
mod statvfs;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferry_core::auth::recheck::{self, Ending, Recheck};
use ferry_core::auth::settings::Permission;
use ferry_core::auth::{Account, Current};
use ferry_core::limits::{Direction, consume_all};
use ferry_core::sessions::SessionHandle;
use ferry_core::userfs::UserFs;
use ferry_sftp::framing::Framer;
use ferry_sftp::request::ext;
use ferry_sftp::{DecodeError, Init, Request, Response, StatusCode, Version};
use russh::ChannelMsg;
use russh::server::Msg;
use tokio::sync::mpsc;

pub(crate) use handles::Budget;
pub(crate) use ops::MAX_PACKET;

/// Requests answered in one trip to the blocking pool.
const BATCH: usize = 64;
/// Requests queued between the reader and the session: with 256 KiB
/// writes, at most 16 MiB per session, and the channel's window holds the
/// rest back at the client.
const QUEUE: usize = 64;

/// What a session needs besides the channel.
pub(crate) struct SessionParts {
    pub(crate) fs: UserFs,
    pub(crate) account: Account,
    pub(crate) registration: Arc<SessionHandle>,
    pub(crate) auth: Arc<Current>,
    pub(crate) auth_generation: u64,
    pub(crate) services: Arc<ferry_core::services::Services>,
    pub(crate) timeouts: crate::Timeouts,
    pub(crate) disk: Option<std::path::PathBuf>,
    pub(crate) budget: Arc<Budget>,
}

enum Incoming {
    Packet(Vec<u8>),
    Broken(DecodeError),
}

/// Serve SFTP on `channel` until the client leaves or the session must
/// end.
pub(crate) async fn serve(channel: russh::Channel<Msg>, parts: SessionParts) {
    let (mut read, write) = channel.split();
    let (tx, mut rx) = mpsc::channel::<Incoming>(QUEUE);
    let reader = tokio::spawn(async move {
        let mut framer = Framer::new(MAX_PACKET);
        while let Some(msg) = read.wait().await {
            let ChannelMsg::Data { data } = msg else {
                if matches!(msg, ChannelMsg::Eof | ChannelMsg::Close) {
                    break;
                }
                continue;
            };
            framer.extend(&data);
            loop {
                match framer.next_packet() {
                    Ok(Some(p)) => {
                        if tx.send(Incoming::Packet(p.to_vec())).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = tx.send(Incoming::Broken(e)).await;
                        return;
                    }
                }
            }
        }
    });
    let SessionParts { fs, account, registration, auth, mut auth_generation, services, timeouts, disk, budget } = parts;
    // Set while an account check waits for a store that was down.
    let mut recheck_at: Option<std::time::Instant> = None;
    let mut ops = Some(ops::Ops::new(fs.clone(), registration.clone(), disk, budget));
    let send = |bytes: Vec<u8>| {
        let write = &write;
        async move {
            tokio::time::timeout(timeouts.data, write.data_bytes(bytes))
                .await
                .map_err(|_| "the client stopped reading")?
                .map_err(|_| "the channel closed")
        }
    };

    // The version handshake first.
    let ended = match tokio::time::timeout(timeouts.login, rx.recv()).await {
        Ok(Some(Incoming::Packet(p))) => match Init::decode(&p) {
            Ok(init) => {
                tracing::debug!(version = init.version, "sftp session started");
                send(version().encode()).await.err()
            }
            Err(_) => Some("the client did not begin with SSH_FXP_INIT"),
        },
        Ok(_) => Some("the client left before the SFTP handshake"),
        Err(_) => Some("no SFTP handshake in time"),
    };
    let mut why = ended;
    let kicked = registration.kicked();
    let ending = registration.ending();
    tokio::pin!(kicked, ending);
    while why.is_none() {
        let first = tokio::select! {
            () = &mut kicked => { why = Some("kicked by an administrator"); break }
            () = &mut ending => { why = Some("the server is shutting down"); break }
            r = tokio::time::timeout(timeouts.idle, rx.recv()) => r,
        };
        let mut batch = Vec::with_capacity(BATCH);
        let mut next = match first {
            Err(_) => {
                why = Some("idle too long");
                break;
            }
            Ok(None) => break,
            Ok(Some(i)) => Some(i),
        };
        // Under a bandwidth limit, one request at a time: the pause after
        // each is then one chunk's worth, not a whole batch's (which let
        // a client with many reads in flight take megabytes at once).
        let paced = !fs.rate_limits(Direction::Download).is_empty() || !fs.rate_limits(Direction::Upload).is_empty();
        let most = if paced { 1 } else { BATCH };
        let mut replies = Vec::new();
        while let Some(incoming) = next.take() {
            match incoming {
                Incoming::Packet(p) => match Request::decode(&p) {
                    Ok(req) => batch.push(req),
                    // A request this server does not know still gets its
                    // answer, and the session goes on.
                    Err(DecodeError::UnknownType { id: Some(id), kind }) => replies.extend_from_slice(
                        &Response::status(id, StatusCode::OpUnsupported, format!("Request type {kind} is not supported")).encode(),
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable SFTP request; ending the session");
                        why = Some("an unreadable request");
                    }
                },
                Incoming::Broken(e) => {
                    tracing::warn!(error = %e, "SFTP stream broken; ending the session");
                    why = Some("a packet over the limit");
                }
            }
            if batch.len() < most && why.is_none() {
                next = rx.try_recv().ok();
            }
        }
        let ask_again = recheck_at.is_some_and(|t| std::time::Instant::now() >= t);
        if auth.generation() != auth_generation || ask_again {
            match recheck(&auth, &account, &fs, &services, registration.info().peer.ip()).await {
                Ok((generation, confirmed)) => {
                    auth_generation = generation;
                    let policy = fs.policy();
                    if let Some(state) = ops.as_mut() {
                        state.handles.revoke(policy.allows(Permission::Write), policy.allows(Permission::Read));
                    }
                    // The store could not say: ask again in a while.
                    recheck_at = (!confirmed).then(|| std::time::Instant::now() + recheck::AFTER_OUTAGE);
                }
                Err(reason) => {
                    why = Some(reason);
                    break;
                }
            }
        }
        let mut state = ops.take().expect("kept between batches");
        let span = tracing::Span::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _in = span.enter();
            let done = state.run(batch, SystemTime::now());
            (state, done)
        })
        .await;
        let Ok((state, done)) = joined else {
            // A panic in a storage call ends this session only.
            tracing::error!("an SFTP request panicked; ending the session");
            why = Some("an internal error");
            break;
        };
        ops = Some(state);
        replies.extend_from_slice(&done.replies);
        if let Err(e) = send(replies).await {
            why = Some(e);
            break;
        }
        // Bandwidth limits: the next batch waits for this one's bytes.
        if done.read > 0 {
            consume_all(&fs.rate_limits(Direction::Download), done.read).await;
        }
        if done.written > 0 {
            consume_all(&fs.rate_limits(Direction::Upload), done.written).await;
        }
    }
    reader.abort();
    // As OpenSSH's sftp-server exits: 0 when the client ended the session
    // (scp reports anything else as a failure), 1 when the server did.
    let exit_status = u32::from(why.is_some());
    if let Some(why) = why {
        tracing::info!("sftp session ended: {why}");
    }
    if let Some(mut state) = ops.take()
        && state.handles.len() > 0
    {
        // Aborting uploads and reporting downloads may touch the disk.
        let _ = tokio::task::spawn_blocking(move || state.handles.close_all()).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = write.exit_status(exit_status).await;
        let _ = write.eof().await;
        let _ = write.close().await;
    })
    .await;
}

/// The server's `SSH_FXP_VERSION`: version 3 and the extensions served.
fn version() -> Version {
    let offer = |name: &str, v: &str| (name.to_owned(), v.as_bytes().to_vec());
    Version {
        version: ferry_sftp::VERSION,
        extensions: vec![
            offer(ext::POSIX_RENAME, "1"),
            offer(ext::STATVFS, "2"),
            offer(ext::FSTATVFS, "2"),
            offer(ext::FSYNC, "1"),
            offer(ext::LIMITS, "1"),
            offer(ext::EXPAND_PATH, "1"),
        ],
    }
}

/// After a reload: the account's new settings apply from the next request
/// on; a removed, disabled or expired account, one no longer allowed from
/// the client's address, or one whose home moved,
/// ends the session. A store that cannot be asked keeps the session.
async fn recheck(
    auth: &Current,
    account: &Account,
    fs: &UserFs,
    services: &ferry_core::services::Services,
    peer: std::net::IpAddr,
) -> Result<(u64, bool), &'static str> {
    let generation = auth.generation();
    let current = Account { policy: fs.policy(), ..account.clone() };
    match recheck::judge(auth.get().standing(&current).await, &fs.home(), peer) {
        Recheck::Keep { policy, confirmed } => {
            services.apply_policy(&account.name, &policy);
            fs.set_policy(policy);
            Ok((generation, confirmed))
        }
        Recheck::Unknown(e) => {
            tracing::warn!(error = %e, "cannot check the account after a reload; keeping the session");
            Ok((generation, false))
        }
        Recheck::End(Ending::NotAllowedFrom) => Err("the account may no longer be used from this address"),
        Recheck::End(Ending::HomeMoved) => Err("the account's home folder changed"),
        Recheck::End(Ending::Disabled) => Err("the account was disabled"),
        Recheck::End(Ending::Expired) => Err("the account expired"),
        Recheck::End(Ending::Gone) => Err("the account was removed"),
    }
}
