//! File transfers: RFC 959 §4.1.3 (RETR, STOR, STOU, APPE, ABOR), RFC 3659
//! §5 (restart after REST) and draft-bryan-ftp-range (RANG with RETR).
//!
//! A transfer sends `150`, opens the data connection, and moves the bytes
//! while still reading the control connection, so `ABOR` (and `QUIT`) act
//! at once; other commands wait until the transfer ends.

use std::pin::pin;
use std::sync::Arc;

use ferry_proto::Reply;
use ferry_proto::VirtualPath;
use ferry_proto::reply::code;

use super::fs_refusal;
use crate::auth::settings::Permission;
use crate::ftp_errors::ReplyCode as _;
use crate::session::Session;
use crate::session::answer::{Handled, reply, sent};
use crate::session::busy::Interrupt;
use crate::session::control::PeerState;
use crate::session::data::{self, DataError, canonical_ip};
use crate::session::job::Job;
use crate::session::transfer::{self, Incoming, Progress, Pump, TransferError};
use crate::storage::{StorageError, WriteMode};
use ferry_core::events::Failure;
use ferry_core::limits::Direction;
use ferry_core::userfs::{Download, FsError, UserFs, UserUpload};

/// What a transfer's data connection and pump came to.
type Outcome = Result<(u64, Result<(), TransferError>), DataError>;

/// How a transfer ended.
enum Ended {
    /// It ran to its end (well or not). `then` is an interrupt that came
    /// too late to stop it (an upload already committing) and still needs
    /// its own reply.
    Finished { outcome: Outcome, then: Option<Interrupt> },
    /// `ABOR`, `QUIT` or a vanished client stopped it after `moved` bytes.
    Stopped { by: Interrupt, moved: u64 },
}

/// A pause after an upload's last byte before it replaces an existing
/// file, in which a control connection that is closing can show it: a
/// killed client's kernel closes its sockets one after the other, and on a
/// busy machine the second close can trail the first by milliseconds.
/// Only replacements wait (that is where a vanished client would destroy
/// something); a new file's upload is checked without waiting.
pub(crate) const REPLACE_SETTLE: std::time::Duration = std::time::Duration::from_millis(20);

/// Times the commit check waits for unread control bytes to be read (a
/// TLS close_notify must be seen for what it is), a millisecond each.
const MAX_SETTLE_ROUNDS: u32 = 20;

impl Session {
    /// Send `150`, open the data connection, run `job` on it, and reply.
    pub(crate) async fn run_transfer(&mut self, what: &VirtualPath, preliminary: String, job: Job) -> Handled {
        let upload = job.direction().map(|d| d == Direction::Upload);
        let settle = std::mem::take(&mut self.commit_settle).then_some(REPLACE_SETTLE);
        let setup = std::mem::take(&mut self.data);
        if matches!(setup, data::DataSetup::None) {
            job.end_unstarted(Failure::NotStarted).await;
            return reply(code::CANT_OPEN_DATA, "Use PORT, PASV, EPRT or EPSV first.");
        }
        if let Err(refusal) = self.state.transfer_allowed(self.transport()) {
            job.end_unstarted(Failure::NotStarted).await;
            return Err(refusal.into());
        }
        let tls = if self.state.prot_private { self.tls.as_ref().map(|t| t.data(upload == Some(true))) } else { None };
        let require_reuse = self.shared.tls().is_some_and(|t| t.require_reuse);
        // The preliminary reply: the final one is this handler's answer.
        if let Err(e) = self.ctl.reply(code::OPENING_DATA, preliminary).await {
            job.end_unstarted(Failure::NotStarted).await;
            return Err(e.into());
        }
        let (peer, local, timeout) = (canonical_ip(self.peer.ip()), canonical_ip(self.local.ip()), self.shared.config.data_timeout);
        let (abort_tx, abort_rx) = tokio::sync::watch::channel(false);
        let mut open_abort = abort_rx.clone();
        let limits = match (job.direction(), &self.fs) {
            (Some(direction), Some(fs)) => fs.rate_limits(direction),
            _ => Vec::new(),
        };
        let proxy_from = self.shared.config.proxy_from.clone();
        // Uploads ask before they commit (see `CommitGate`).
        let (mut ready_rx, mut go_tx, gate) = if upload == Some(true) {
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            let (go_tx, go_rx) = tokio::sync::oneshot::channel();
            (Some(ready_rx), Some(go_tx), Some(transfer::CommitGate { ready: ready_tx, go: go_rx }))
        } else {
            (None, None, None)
        };
        // A file transfer is listed with its progress for the administrator
        // while it runs; the pumps count its bytes, a chunk at a time.
        let progress = job.direction().map(|d| Arc::new(self.registration.transfer(what.as_str(), d, job.expected_size())));
        let pump = Pump { ascii: self.state.ascii, stall: timeout, abort: abort_rx, limits, gate, progress: Progress(progress.clone()) };
        let work = async move {
            let sock = tokio::select! {
                s = data::open(setup, peer, local, timeout, tls.as_ref(), require_reuse, &proxy_from) => s,
                () = transfer::aborted(&mut open_abort) => {
                    job.end_unstarted(Failure::Interrupted).await;
                    return Ok((0, Err(TransferError::Aborted)));
                }
            };
            match sock {
                Ok(sock) => Ok(job.run(sock, pump).await),
                Err(e) => {
                    job.end_unstarted(Failure::NoConnection).await;
                    Err(e)
                }
            }
        };
        let ended = {
            let mut work = pin!(work);
            // Set once the upload has everything: when to let it commit.
            let mut commit_at: Option<tokio::time::Instant> = None;
            let mut settle_rounds = 0;
            // Set once an upload has received everything.
            let mut arrived = false;
            let mut accounts = self.shared.auth.watch();
            accounts.mark_unchanged();
            let mut stopping = self.shared.stop_transfers.subscribe();
            let mut kicked = pin!(self.registration.kicked());
            let stop = loop {
                tokio::select! {
                    // The control connection first: a client that is gone
                    // must be noticed before its upload is let through.
                    biased;
                    read = self.ctl.read_line() => if let Some(i) = self.while_busy(&format!("Transfer of {what}"), read).await {
                        break Err(i);
                    },
                    r = async { ready_rx.as_mut().expect("guarded").await }, if ready_rx.is_some() => {
                        ready_rx = None;
                        if r.is_ok() {
                            arrived = true;
                            commit_at = Some(tokio::time::Instant::now() + settle.unwrap_or_default());
                        }
                    }
                    () = tokio::time::sleep_until(commit_at.unwrap_or_else(tokio::time::Instant::now)), if commit_at.is_some() => {
                        commit_at = None;
                        // The kernel may know of a close that the reactor
                        // has not reported yet: ask the socket itself.
                        match self.ctl.peer_state() {
                            PeerState::Gone => break Err(Interrupt::Gone),
                            // Unread bytes (a TLS close_notify, a command):
                            // read them first, then decide.
                            PeerState::Pending if settle_rounds < MAX_SETTLE_ROUNDS => {
                                settle_rounds += 1;
                                commit_at = Some(tokio::time::Instant::now() + std::time::Duration::from_millis(1));
                            }
                            _ => {
                                if let Some(go) = go_tx.take() {
                                    let _ = go.send(());
                                }
                            }
                        }
                    }
                    // A reload reaches the running transfer too: a removed
                    // or disabled account ends it, a withdrawn permission
                    // stops it, new quotas apply to the rest of it.
                    _ = accounts.changed(), if self.account().is_some() => {
                        if !self.refresh_account().await? {
                            break Err(Interrupt::Gone);
                        }
                        let needed = match upload {
                            Some(true) => Permission::Write,
                            Some(false) => Permission::Read,
                            None => Permission::List,
                        };
                        if !self.policy().allows(needed) {
                            break Err(Interrupt::Revoked);
                        }
                    }
                    () = until_set(&mut stopping) => break Err(Interrupt::Shutdown),
                    // An administrator's kick stops it as the shutdown does.
                    () = &mut kicked => break Err(Interrupt::Kicked),
                    outcome = &mut work => break Ok(outcome),
                }
            };
            match stop {
                Ok(outcome) => Ended::Finished { outcome, then: None },
                // RFC 959: QUIT lets a transfer finish. One whose bytes have
                // all arrived is let through; earlier, QUIT stops it.
                Err(Interrupt::Quit) if arrived => {
                    if let Some(go) = go_tx.take() {
                        let _ = go.send(());
                    }
                    match tokio::time::timeout(timeout, &mut work).await {
                        Ok(outcome) => Ended::Finished { outcome, then: Some(Interrupt::Quit) },
                        Err(_) => Ended::Stopped { by: Interrupt::Quit, moved: 0 },
                    }
                }
                Err(by) => {
                    // Let the transfer wind down (an upload's clean-up
                    // included) before replying; the data connection closes
                    // with it. What it returns says how far it got, or that
                    // an upload had already been let through to commit.
                    drop(go_tx);
                    let _ = abort_tx.send(true);
                    match tokio::time::timeout(timeout, &mut work).await {
                        Ok(Ok((n, Ok(())))) => Ended::Finished { outcome: Ok((n, Ok(()))), then: Some(by) },
                        Ok(Ok((n, _))) => Ended::Stopped { by, moved: n },
                        _ => Ended::Stopped { by, moved: 0 },
                    }
                }
            }
        };
        // What moved is told by the core's events (the xferlog and the
        // transfer counters hear them); a data connection that never opened
        // is FTP's own to count.
        if upload.is_some() && matches!(ended, Ended::Finished { outcome: Err(_), .. }) {
            self.shared.metrics.data_connection_failures.inc();
        }
        // The transfer's own reply is the answer; an interrupting ABOR or
        // QUIT is then carried out by the command loop like any command.
        match ended {
            Ended::Finished { outcome, then } => {
                let answer = Self::reply_outcome(what, outcome);
                if let Some(by) = then {
                    self.interrupted_by(by, false);
                }
                Ok(answer.into())
            }
            Ended::Stopped { by, moved } => {
                let text = match by {
                    Interrupt::Abort => {
                        tracing::info!(path = %what, bytes = moved, "transfer aborted by ABOR");
                        format!("Transfer aborted after {moved} bytes.")
                    }
                    Interrupt::Quit => {
                        tracing::info!(path = %what, bytes = moved, "transfer aborted by QUIT");
                        "Transfer aborted by QUIT.".to_owned()
                    }
                    Interrupt::Shutdown => {
                        tracing::info!(path = %what, bytes = moved, "transfer stopped: the server is shutting down");
                        format!("Transfer aborted after {moved} bytes: the server is shutting down.")
                    }
                    Interrupt::Kicked => {
                        tracing::info!(path = %what, bytes = moved, "transfer stopped: an administrator ended the session");
                        format!("Transfer aborted after {moved} bytes: the session was ended by an administrator.")
                    }
                    Interrupt::Revoked => {
                        tracing::info!(path = %what, bytes = moved, "transfer stopped: a reload withdrew the permission it needs");
                        format!("Transfer aborted after {moved} bytes: your permissions changed.")
                    }
                    Interrupt::Gone => {
                        tracing::info!(path = %what, bytes = moved, "transfer aborted: the control connection closed");
                        self.quit = true;
                        return sent();
                    }
                };
                self.interrupted_by(by, true);
                reply(code::TRANSFER_ABORTED, text)
            }
        }
    }

    /// The reply to a transfer that ran to its end.
    fn reply_outcome(what: &VirtualPath, outcome: Outcome) -> Reply {
        match outcome {
            Ok((n, Ok(()))) => {
                // Debug only: a file transfer's info line is the core's
                // upload or download event (one line per file, not two).
                tracing::debug!(path = %what, bytes = n, "transfer complete");
                Reply::new(code::CLOSING_DATA, format!("Transfer complete ({n} bytes)."))
            }
            Ok((n, Err(TransferError::Aborted))) => {
                // Only the session aborts a transfer, and then it does not
                // take this path; reaching here would be a bug, which must
                // not take the session down.
                tracing::error!(path = %what, bytes = n, "transfer reported an abort nobody asked for");
                Reply::new(code::TRANSFER_ABORTED, format!("Transfer aborted after {n} bytes."))
            }
            Ok((n, Err(TransferError::Data(e)))) => {
                tracing::info!(path = %what, bytes = n, error = %e, "transfer failed on the data connection");
                Reply::new(code::TRANSFER_ABORTED, format!("Connection closed; transfer aborted after {n} bytes."))
            }
            Ok((n, Err(TransferError::Storage(e)))) => {
                match &e {
                    FsError::Storage(StorageError::Unavailable(detail)) => {
                        tracing::warn!(path = %what, bytes = n, %detail, "transfer failed in storage");
                    }
                    _ => tracing::warn!(path = %what, bytes = n, error = %e, "transfer failed in storage"),
                }
                Reply::new(e.code(), format!("{what}: {e}; transfer failed after {n} bytes."))
            }
            Err(e) => {
                tracing::info!(error = %e, "data connection failed");
                let code = if matches!(e, DataError::Tls(_)) { code::DATA_TLS_FAILED } else { code::CANT_OPEN_DATA };
                Reply::new(code, e.to_string())
            }
        }
    }

    pub(crate) async fn retr(&mut self, input: &str) -> Handled {
        let path = self.resolve(input)?;
        let (offset, limit) = self.state.take_download_span();
        let fs = self.user_fs().map_err(|e| fs_refusal(&path, e))?;
        let p = path.clone();
        let open = move |fs: &UserFs| fs.open_download(&p, offset);
        // The hot path of many small downloads: local files are opened
        // right here, other storage through the blocking pool.
        let opened = if fs.quick_open() { open(&fs) } else { self.storage(open).await };
        let Download { size, reader, mut report } = opened.map_err(|e| fs_refusal(&path, e))?;
        report.set_ascii(self.state.ascii);
        let text = format!("Opening {} mode data connection for {path} ({size} bytes).", self.mode_name());
        // What this download should move: the file from its offset, or
        // the range asked for.
        let expected = limit.map_or(size.saturating_sub(offset), |l| l.min(size.saturating_sub(offset)));
        self.run_transfer(&path, text, Job::Download { reader, limit, report, expected }).await
    }

    pub(crate) async fn stor(&mut self, input: &str, append: bool) -> Handled {
        // ALLO speaks of this upload only, whether or not it goes ahead.
        let announced = self.state.allo.take().map(std::num::NonZeroU64::get);
        let path = self.resolve_new(input)?;
        let mode = self.state.take_upload_mode(append);
        // Before the file is opened: a restart in place cuts the old tail
        // off when it opens, which a missing data connection must not do.
        // (Other uploads report storage errors first, before any data.)
        if matches!(mode, WriteMode::At(_)) && matches!(self.data, data::DataSetup::None) {
            return reply(code::CANT_OPEN_DATA, "Use PORT, PASV, EPRT or EPSV first.");
        }
        // After REST or for APPE, ALLO's size cannot be told from the part's.
        let announced = announced.filter(|_| mode == WriteMode::Replace);
        let p = path.clone();
        let upload = self.storage(move |fs| fs.open_upload_announced(&p, mode, announced)).await.map_err(|e| fs_refusal(&path, e))?;
        let text = format!("Opening {} mode data connection for {path}.", self.mode_name());
        self.receive(&path, text, upload, announced).await
    }

    pub(crate) async fn stou(&mut self, hint: Option<String>) -> Handled {
        self.state.rest = None;
        let announced = self.state.allo.take().map(std::num::NonZeroU64::get);
        let dir = self.cwd.clone();
        let hint = hint.as_deref().and_then(|h| h.rsplit('/').next()).unwrap_or("").to_owned();
        let d = dir.clone();
        let upload = self.storage(move |fs| fs.create_unique(&d, &hint)).await.map_err(|e| fs_refusal(&dir, e))?;
        let path = upload.path().clone();
        // RFC 1123 §4.1.2.9: the 150 reply names the file.
        let text = format!("FILE: {}", path.file_name().unwrap_or_default());
        self.receive(&path, text, upload, announced).await
    }

    /// Run an opened upload; `announced` is the size `ALLO` gave it.
    async fn receive(&mut self, path: &VirtualPath, preliminary: String, mut upload: UserUpload, announced: Option<u64>) -> Handled {
        upload.set_ascii(self.state.ascii);
        // Replacing a file is where a vanished client would do damage:
        // give its control connection a moment to show that it closed.
        if upload.replaces() {
            self.commit_settle = true;
        }
        self.run_transfer(path, preliminary, Job::Upload(Incoming::new(upload, announced))).await
    }

    /// `ABOR`. After a command it interrupted, the command has had its
    /// reply (`426`, or its own if it had finished) and this is ABOR's
    /// (RFC 959 §4.1.3: `226`). With nothing running, it drops any
    /// prepared data connection.
    pub(crate) async fn abor(&mut self) -> Handled {
        match self.state.abort_reply() {
            Some(reply) => Ok(reply.into()),
            None => {
                self.data = data::DataSetup::None;
                self.state.rest = None;
                reply(code::DATA_OPEN_NO_TRANSFER, "No transfer to abort.")
            }
        }
    }
}

/// Resolves once `flag` is set (never, if its sender is gone).
async fn until_set(flag: &mut tokio::sync::watch::Receiver<bool>) {
    if flag.wait_for(|set| *set).await.is_err() {
        std::future::pending::<()>().await;
    }
}
