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
use ferry_proto::listing::Kind;
use ferry_proto::reply::code;

use super::storage_refusal;
use crate::auth::settings::Permission;
use crate::ftp_errors::ReplyCode as _;
use crate::limits::RateLimiter;
use crate::quota::{Ledger, Limits};
use crate::session::Session;
use crate::session::answer::{Handled, Refusal, refuse, reply, sent};
use crate::session::busy::Interrupt;
use crate::session::control::PeerState;
use crate::session::data::{self, DataError, canonical_ip};
use crate::session::stream::Stream;
use crate::session::transfer::{self, Incoming, Pump, TransferError};
use crate::shared::Shared;
use crate::storage::{Storage, StorageError, WriteMode};

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
    /// The bandwidth limits for a transfer in one direction: the user's
    /// (shared by all their sessions) and the server's.
    fn rate_limits(&self, upload: bool) -> Vec<Arc<RateLimiter>> {
        let mut out = Vec::new();
        if let Some(account) = self.account() {
            let rate = if upload { account.policy.upload_rate } else { account.policy.download_rate };
            if let Some(rate) = rate {
                let mut map = crate::sync::lock(&self.shared.user_limits);
                let l = map.entry((account.name.clone(), upload)).or_insert_with(|| Arc::new(RateLimiter::new(rate)));
                // The settings changed (SIGHUP): the shared limiter follows,
                // transfers already running included.
                l.set_rate(rate);
                out.push(l.clone());
            }
        }
        let global = if upload { &self.shared.global_limits.0 } else { &self.shared.global_limits.1 };
        out.extend(global.iter().cloned());
        out
    }

    /// Send `150`, open the data connection, run `job` on it, and reply.
    /// `upload` says which bandwidth limits apply (`None` for listings).
    pub(crate) async fn run_transfer<F, Fut>(&mut self, what: &VirtualPath, preliminary: String, upload: Option<bool>, job: F) -> Handled
    where
        F: FnOnce(Stream, Pump) -> Fut + Send + 'static,
        Fut: Future<Output = (u64, Result<(), TransferError>)> + Send + 'static,
    {
        let settle = std::mem::take(&mut self.commit_settle).then_some(REPLACE_SETTLE);
        let setup = std::mem::take(&mut self.data);
        if matches!(setup, data::DataSetup::None) {
            return reply(code::CANT_OPEN_DATA, "Use PORT, PASV, EPRT or EPSV first.");
        }
        self.state.transfer_allowed(self.transport())?;
        let tls = if self.state.prot_private { self.tls.as_ref().map(|t| t.data(upload == Some(true))) } else { None };
        let require_reuse = self.shared.tls().is_some_and(|t| t.require_reuse);
        // The preliminary reply: the final one is this handler's answer.
        self.ctl.reply(code::OPENING_DATA, preliminary).await?;
        let (peer, local, timeout) = (canonical_ip(self.peer.ip()), canonical_ip(self.local.ip()), self.shared.config.data_timeout);
        let (abort_tx, abort_rx) = tokio::sync::watch::channel(false);
        let mut open_abort = abort_rx.clone();
        let limits = upload.map(|u| self.rate_limits(u)).unwrap_or_default();
        let proxy_from = self.shared.config.proxy_from.clone();
        // Uploads ask before they commit (see `CommitGate`).
        let (mut ready_rx, mut go_tx, gate) = if upload == Some(true) {
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            let (go_tx, go_rx) = tokio::sync::oneshot::channel();
            (Some(ready_rx), Some(go_tx), Some(transfer::CommitGate { ready: ready_tx, go: go_rx }))
        } else {
            (None, None, None)
        };
        let pump = Pump { ascii: self.state.ascii, stall: timeout, abort: abort_rx, limits, gate };
        let work = async move {
            let sock = tokio::select! {
                s = data::open(setup, peer, local, timeout, tls.as_ref(), require_reuse, &proxy_from) => s?,
                () = transfer::aborted(&mut open_abort) => return Ok((0, Err(TransferError::Aborted))),
            };
            Ok(job(sock, pump).await)
        };
        let started = std::time::Instant::now();
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
        let (bytes, complete) = match &ended {
            Ended::Finished { outcome: Ok((n, r)), .. } => (*n, r.is_ok()),
            Ended::Finished { outcome: Err(_), .. } => (0, false),
            Ended::Stopped { moved, .. } => (*moved, false),
        };
        if let Some(incoming) = upload {
            match &ended {
                Ended::Finished { outcome: Err(_), .. } => {
                    self.shared.metrics.data_connection_failures.inc();
                }
                _ => self.shared.metrics.transfer(incoming, complete, bytes),
            }
        }
        // File transfers (not listings) go to the xferlog, interrupted ones
        // with the bytes that moved and the incomplete flag.
        if let (Some(log), Some(incoming), Some(account)) = (&self.shared.config.xferlog, upload, self.account()) {
            log.write(&crate::xferlog::Record {
                at: std::time::SystemTime::now(),
                took: started.elapsed(),
                host: canonical_ip(self.peer.ip()),
                bytes,
                path: what.as_str(),
                ascii: self.state.ascii,
                incoming,
                user: &account.name,
                complete,
            });
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
                tracing::info!(path = %what, bytes = n, "transfer complete");
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
                    StorageError::Unavailable(detail) => tracing::warn!(path = %what, bytes = n, %detail, "transfer failed in storage"),
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
        self.permit(Permission::Read)?;
        let path = self.resolve(input)?;
        let (offset, limit) = self.state.take_download_span();
        let p = path.clone();
        let open = move |s: &dyn Storage| s.open_download(&p, offset);
        // The hot path of many small downloads: local files are opened
        // right here, other storage through the blocking pool.
        let opened = if self.storage.quick_open() { open(&*self.storage) } else { self.storage(open).await };
        let (size, reader) = match opened {
            Ok(x) => x,
            Err(e) => return Err(storage_refusal(&path, e)),
        };
        let text = format!("Opening {} mode data connection for {path} ({size} bytes).", self.mode_name());
        self.run_transfer(&path, text, Some(false), move |sock, pump| transfer::send_file(reader, limit, sock, pump)).await
    }

    /// The user's quota ledger, walked if its count is stale, when the user
    /// has a quota: `Ok(None)` without one. Refused (552, or the storage
    /// error) when the upload may not start.
    async fn quota_ledger(&mut self, path: &VirtualPath, new_file: bool) -> Result<Option<(Arc<Ledger>, Limits)>, Refusal> {
        let Some(policy) = self.account().map(|a| a.policy.clone()) else { return Ok(None) };
        let limits = Limits { bytes: policy.quota_bytes, files: policy.quota_files };
        if limits.bytes.is_none() && limits.files.is_none() {
            return Ok(None);
        }
        let ledger = self.shared.quotas.ledger(&policy.home);
        let l = ledger.clone();
        if let Err(e) = self.storage(move |s| l.refresh(s, std::time::Instant::now())).await {
            return Err(storage_refusal(path, e));
        }
        if new_file && ledger.files_full(limits) {
            return Err(refuse_file_quota(path, &ledger));
        }
        Ok(Some((ledger, limits)))
    }

    /// Count an opened upload against its ledger: what opening it cut off
    /// at once, and a reservation for what it will write and replace
    /// (`replaced`: what it frees when it commits, as the file stood before
    /// it was opened). Aborts the upload and replies 552 when a new file
    /// no longer fits.
    async fn reserve_quota(
        &mut self,
        path: &VirtualPath,
        quota: Option<(Arc<Ledger>, Limits)>,
        upload: Box<dyn crate::storage::Upload>,
        new_file: bool,
        replaced: u64,
    ) -> Result<Incoming, Refusal> {
        let announced = self.state.allo.take().map(std::num::NonZeroU64::get);
        let Some((ledger, limits)) = quota else { return Ok(Incoming { upload, quota: None, announced }) };
        let cut = upload.cut_at_open();
        if cut > 0 {
            ledger.removed(cut, 0);
        }
        let name = self.account().map_or_else(String::new, |a| a.name.clone());
        let limits = self.shared.quotas.user_limits(&name, limits);
        match ledger.reserve(limits, new_file, replaced.saturating_sub(cut)) {
            Ok(r) => Ok(Incoming { upload, quota: Some(r), announced }),
            Err(_) => {
                let _ = tokio::task::spawn_blocking(move || upload.abort(false)).await;
                Err(refuse_file_quota(path, &ledger))
            }
        }
    }

    /// Mark `path` as being uploaded, or refuse with 450 when another upload to
    /// it is running (from any session: an `APPE` racing a `STOR` would
    /// write into the file the `STOR` is about to replace, and its bytes
    /// would be lost without a word).
    fn claim_upload(&self, path: &VirtualPath) -> Result<UploadClaim, Refusal> {
        let key = self.upload_key(path);
        let claimed = crate::sync::lock(&self.shared.uploads).insert(key.clone());
        if !claimed {
            tracing::info!(%path, "refused: another upload to the same file is running");
            return Err(refuse(code::FILE_BUSY, format!("{path}: another upload to this file is in progress; try again later.")));
        }
        Ok(UploadClaim { shared: self.shared.clone(), key })
    }

    /// `path` as the whole server sees it (homes may overlap), to key
    /// uploads in progress by.
    fn upload_key(&self, path: &VirtualPath) -> String {
        let home = self.policy().home;
        if home.is_root() { path.as_str().to_owned() } else { format!("{}{}", home.as_str(), path.as_str()) }
    }

    /// Refused with 450 when `path` is being uploaded: deleting or
    /// renaming it then would make the upload's bookkeeping (its quota
    /// count, what it replaces) wrong.
    pub(crate) fn busy_uploading(&self, path: &VirtualPath) -> Result<(), Refusal> {
        let key = self.upload_key(path);
        if !crate::sync::lock(&self.shared.uploads).contains(&key) {
            return Ok(());
        }
        Err(refuse(code::FILE_BUSY, format!("{path}: an upload to this file is in progress; try again later.")))
    }

    pub(crate) async fn stor(&mut self, input: &str, append: bool) -> Handled {
        self.permit(Permission::Write)?;
        let path = self.resolve_new(input)?;
        let mode = self.state.take_upload_mode(append);
        // Before the file is opened: a restart in place cuts the old tail
        // off when it opens, which a missing data connection must not do.
        // (Other uploads report storage errors first, before any data.)
        if matches!(mode, WriteMode::At(_)) && matches!(self.data, data::DataSetup::None) {
            return reply(code::CANT_OPEN_DATA, "Use PORT, PASV, EPRT or EPSV first.");
        }
        let claim = self.claim_upload(&path)?;
        let p = path.clone();
        let found = self.storage(move |s| s.metadata(&p)).await;
        // Unless the storage said "no such file", a file may be replaced.
        let may_replace = !matches!(found, Err(StorageError::NotFound));
        let existing = found.ok().filter(|i| i.kind == Kind::File).map(|i| i.size);
        if let WriteMode::At(n) = mode
            && n > existing.unwrap_or(0)
        {
            // RFC 3659 §5.4: a restart point the file does not reach. (It
            // would also make a sparse file of any size out of nothing.)
            let size = existing.unwrap_or(0);
            return reply(code::BAD_RESTART, format!("{path}: restart point {n} is past the end of the file ({size} bytes)."));
        }
        // A replaced file's bytes are freed; in-place writes keep the
        // prefix they resume after.
        let replaced = match mode {
            WriteMode::Replace => existing.unwrap_or(0),
            WriteMode::At(n) => existing.unwrap_or(0).saturating_sub(n),
            WriteMode::Append => 0,
        };
        let new_file = existing.is_none();
        let quota = self.quota_ledger(&path, new_file).await?;
        let p = path.clone();
        let upload = match self.storage(move |s| s.open_write(&p, mode)).await {
            Ok(u) => u,
            Err(e) => return Err(storage_refusal(&path, e)),
        };
        let incoming = self.reserve_quota(&path, quota, upload, new_file, replaced).await?;
        // Replacing a file is where a vanished client would do damage:
        // give its control connection a moment to show that it closed.
        if mode == WriteMode::Replace && may_replace {
            self.commit_settle = true;
        }
        let text = format!("Opening {} mode data connection for {path}.", self.mode_name());
        self.run_transfer(&path, text, Some(true), move |sock, pump| async move {
            let _claim = claim;
            transfer::receive_file(incoming, sock, pump).await
        })
        .await
    }

    pub(crate) async fn stou(&mut self, hint: Option<String>) -> Handled {
        self.permit(Permission::Write)?;
        self.state.rest = None;
        let dir = self.cwd.clone();
        let quota = self.quota_ledger(&dir, true).await?;
        let hint = hint.as_deref().and_then(|h| h.rsplit('/').next()).unwrap_or("").to_owned();
        let d = dir.clone();
        let (path, upload) = match self.storage(move |s| s.create_unique(&d, &hint)).await {
            Ok(x) => x,
            Err(e) => return Err(storage_refusal(&dir, e)),
        };
        // The name is new, but from now on it is being uploaded like any
        // other: no STOR, APPE, DELE or rename may meet it half-done.
        let claim = match self.claim_upload(&path) {
            Ok(claim) => claim,
            Err(refusal) => {
                let _ = tokio::task::spawn_blocking(move || upload.abort(false)).await;
                return Err(refusal);
            }
        };
        let incoming = self.reserve_quota(&path, quota, upload, true, 0).await?;
        // RFC 1123 §4.1.2.9: the 150 reply names the file.
        let text = format!("FILE: {}", path.file_name().unwrap_or_default());
        self.run_transfer(&path, text, Some(true), move |sock, pump| async move {
            let _claim = claim;
            transfer::receive_file(incoming, sock, pump).await
        })
        .await
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

/// The refusal of a new file over the file quota.
fn refuse_file_quota(path: &VirtualPath, ledger: &Ledger) -> Refusal {
    let (_, files) = ledger.usage();
    tracing::info!(%path, files, "refused: file quota");
    refuse(code::EXCEEDED_STORAGE, format!("{path}: file quota exceeded ({files} files)."))
}

/// An upload's claim on its path (see `Session::claim_upload`), released
/// when the transfer ends.
struct UploadClaim {
    shared: Arc<Shared>,
    key: String,
}

impl Drop for UploadClaim {
    fn drop(&mut self) {
        crate::sync::lock(&self.shared.uploads).remove(&self.key);
    }
}

/// Resolves once `flag` is set (never, if its sender is gone).
async fn until_set(flag: &mut tokio::sync::watch::Receiver<bool>) {
    if flag.wait_for(|set| *set).await.is_err() {
        std::future::pending::<()>().await;
    }
}
