//! File transfers: RFC 959 §4.1.3 (RETR, STOR, STOU, APPE, ABOR), RFC 3659
//! §5 (restart after REST) and draft-bryan-ftp-range (RANG with RETR).
//!
//! A transfer sends `150`, opens the data connection, and moves the bytes
//! while still reading the control connection, so `ABOR` (and `QUIT`) act
//! at once; other commands wait until the transfer ends.

use std::io;
use std::pin::pin;
use std::sync::Arc;

use ferry_proto::listing::Kind;
use ferry_proto::reply::code;
use ferry_proto::{Command, VirtualPath};

use crate::auth::settings::Permission;
use crate::limits::RateLimiter;
use crate::session::Session;
use crate::session::data::{self, DataError, canonical_ip};
use crate::session::stream::Stream;
use crate::session::transfer::{self, Pump, TransferError};
use crate::storage::{Storage, WriteMode};

/// Lines held back while a transfer runs; more are refused with 450.
const MAX_PENDING: usize = 32;

enum Ended {
    Finished(Result<(u64, Result<(), TransferError>), DataError>),
    Aborted,
    Quit,
    ControlClosed,
}

impl Session {
    /// The bandwidth limits for a transfer in one direction: the user's
    /// (shared by all their sessions) and the server's.
    fn rate_limits(&self, upload: bool) -> Vec<Arc<RateLimiter>> {
        let mut out = Vec::new();
        if let Some(account) = self.account() {
            let rate = if upload { account.policy.upload_rate } else { account.policy.download_rate };
            if let Some(rate) = rate {
                let mut map = self.shared.user_limits.lock().expect("user limits lock");
                let l = map.entry((account.name.clone(), upload)).or_insert_with(|| Arc::new(RateLimiter::new(rate)));
                if l.rate() != rate {
                    // The settings changed (SIGHUP): start a new limiter.
                    *l = Arc::new(RateLimiter::new(rate));
                }
                out.push(l.clone());
            }
        }
        let global = if upload { &self.shared.global_limits.0 } else { &self.shared.global_limits.1 };
        out.extend(global.iter().cloned());
        out
    }

    /// Send `150`, open the data connection, run `job` on it, and reply.
    /// `upload` says which bandwidth limits apply (`None` for listings).
    pub(crate) async fn run_transfer<F, Fut>(
        &mut self,
        what: &VirtualPath,
        preliminary: String,
        upload: Option<bool>,
        job: F,
    ) -> io::Result<()>
    where
        F: FnOnce(Stream, Pump) -> Fut + Send + 'static,
        Fut: Future<Output = (u64, Result<(), TransferError>)> + Send + 'static,
    {
        let setup = std::mem::take(&mut self.data);
        if matches!(setup, data::DataSetup::None) {
            return self.ctl.reply(code::CANT_OPEN_DATA, "Use PORT, PASV, EPRT or EPSV first.").await;
        }
        if self.tls_required() && !self.prot_private {
            return self.ctl.reply(521, "Policy requires protected data connections: send PBSZ 0 and PROT P.").await;
        }
        let tls = if self.prot_private { self.tls.as_ref().map(|t| t.data(upload == Some(true))) } else { None };
        let require_reuse = self.shared.tls().is_some_and(|t| t.require_reuse);
        self.ctl.reply(code::OPENING_DATA, preliminary).await?;
        let (peer, local, timeout) = (canonical_ip(self.peer.ip()), canonical_ip(self.local.ip()), self.shared.config.data_timeout);
        let (abort_tx, abort_rx) = tokio::sync::watch::channel(false);
        let mut open_abort = abort_rx.clone();
        let limits = upload.map(|u| self.rate_limits(u)).unwrap_or_default();
        let proxy_from = self.shared.config.proxy_from.clone();
        let pump = Pump { ascii: self.ascii, stall: timeout, abort: abort_rx, limits };
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
            let ended = loop {
                tokio::select! {
                    result = &mut work => break Ended::Finished(result),
                    line = self.ctl.read_line() => match line? {
                        None => break Ended::ControlClosed,
                        Some(Err(e)) => self.ctl.reply(code::SYNTAX_ERROR, format!("{e}.")).await?,
                        Some(Ok(line)) => match Command::parse(&line) {
                            Ok(Command::Abor) => break Ended::Aborted,
                            Ok(Command::Quit) => break Ended::Quit,
                            Ok(Command::Stat(None)) => self.ctl.reply(code::SYSTEM_STATUS, format!("Transfer of {what} in progress.")).await?,
                            _ if self.pending.len() < MAX_PENDING => self.pending.push_back(line),
                            _ => self.ctl.reply(code::FILE_BUSY, "Too many commands queued during transfer.").await?,
                        },
                    },
                }
            };
            if !matches!(ended, Ended::Finished(_)) {
                // Let the transfer wind down (an upload's clean-up included)
                // before replying; the data connection closes with it.
                let _ = abort_tx.send(true);
                let _ = tokio::time::timeout(timeout, &mut work).await;
            }
            ended
        };
        if let Some(incoming) = upload {
            match &ended {
                Ended::Finished(Ok((n, r))) => self.shared.metrics.transfer(incoming, r.is_ok(), *n),
                Ended::Finished(Err(_)) => {
                    self.shared.metrics.data_connection_failures.inc();
                }
                _ => self.shared.metrics.transfer(incoming, false, 0),
            }
        }
        // File transfers (not listings) go to the xferlog.
        if let (Some(log), Some(incoming), Some(account)) = (&self.shared.config.xferlog, upload, self.account()) {
            let (bytes, complete) = match &ended {
                Ended::Finished(Ok((n, r))) => (*n, r.is_ok()),
                _ => (0, false),
            };
            log.write(&crate::xferlog::Record {
                at: std::time::SystemTime::now(),
                took: started.elapsed(),
                host: canonical_ip(self.peer.ip()),
                bytes,
                path: what.as_str(),
                ascii: self.ascii,
                incoming,
                user: &account.name,
                complete,
            });
        }
        match ended {
            Ended::Finished(Ok((n, Ok(())))) => {
                tracing::info!(path = %what, bytes = n, "transfer complete");
                self.ctl.reply(code::CLOSING_DATA, format!("Transfer complete ({n} bytes).")).await
            }
            Ended::Finished(Ok((_, Err(TransferError::Aborted)))) => unreachable!("only ABOR or QUIT abort a transfer"),
            Ended::Finished(Ok((n, Err(TransferError::Data(e))))) => {
                tracing::info!(path = %what, bytes = n, error = %e, "transfer failed on the data connection");
                self.ctl.reply(code::TRANSFER_ABORTED, format!("Connection closed; transfer aborted after {n} bytes.")).await
            }
            Ended::Finished(Ok((n, Err(TransferError::Storage(e))))) => {
                tracing::warn!(path = %what, bytes = n, error = %e, "transfer failed in storage");
                self.ctl.reply(e.code(), format!("{what}: {e}; transfer failed after {n} bytes.")).await
            }
            Ended::Finished(Err(e)) => {
                tracing::info!(error = %e, "data connection failed");
                let code = if matches!(e, DataError::Tls(_)) { 522 } else { code::CANT_OPEN_DATA };
                self.ctl.reply(code, e.to_string()).await
            }
            Ended::Aborted => {
                tracing::info!(path = %what, "transfer aborted by ABOR");
                self.ctl.reply(code::TRANSFER_ABORTED, "Transfer aborted.").await?;
                self.ctl.reply(code::CLOSING_DATA, "ABOR successful.").await
            }
            Ended::Quit => {
                self.ctl.reply(code::TRANSFER_ABORTED, "Transfer aborted by QUIT.").await?;
                self.quit_cmd().await
            }
            Ended::ControlClosed => {
                self.quit = true;
                Ok(())
            }
        }
    }

    pub(crate) async fn retr(&mut self, input: &str) -> io::Result<()> {
        if !self.permit(Permission::Read).await? {
            return Ok(());
        }
        let Some(path) = self.resolve(input).await? else { return Ok(()) };
        let (offset, limit) = match (self.rang.take(), self.rest.take()) {
            (Some((start, end)), _) => (start, Some(end - start + 1)),
            (None, rest) => (rest.unwrap_or(0), None),
        };
        let p = path.clone();
        let open = move |s: &dyn Storage| s.open_download(&p, offset);
        // The hot path of many small downloads: local files are opened
        // right here, other storage through the blocking pool.
        let opened = if self.storage.quick_open() { open(&*self.storage) } else { self.storage(open).await };
        let (size, reader) = match opened {
            Ok(x) => x,
            Err(e) => return self.storage_error(&path, e).await,
        };
        let text = format!("Opening {} mode data connection for {path} ({size} bytes).", self.mode_name());
        self.run_transfer(&path, text, Some(false), move |sock, pump| transfer::send_file(reader, limit, sock, pump)).await
    }

    /// How many more bytes the user's quota allows, given that an upload
    /// replaces `replaced` bytes; replies 552 and returns `Err(())` when
    /// a new file would exceed the file-count quota.
    async fn quota_allowance(&mut self, path: &VirtualPath, new_file: bool, replaced: u64) -> io::Result<Result<Option<u64>, ()>> {
        let Some(policy) = self.account().map(|a| a.policy.clone()) else { return Ok(Ok(None)) };
        if policy.quota_bytes.is_none() && policy.quota_files.is_none() {
            return Ok(Ok(None));
        }
        let (bytes, files) = match self.storage(|s| s.usage(&VirtualPath::root())).await {
            Ok(u) => u,
            Err(e) => {
                self.storage_error(path, e).await?;
                return Ok(Err(()));
            }
        };
        if new_file && policy.quota_files.is_some_and(|q| files >= q) {
            tracing::info!(%path, files, "refused: file quota");
            self.ctl.reply(code::EXCEEDED_STORAGE, format!("{path}: file quota exceeded ({files} files).")).await?;
            return Ok(Err(()));
        }
        Ok(Ok(policy.quota_bytes.map(|q| (q + replaced).saturating_sub(bytes))))
    }

    pub(crate) async fn stor(&mut self, input: &str, append: bool) -> io::Result<()> {
        if !self.permit(Permission::Write).await? {
            return Ok(());
        }
        let Some(path) = self.resolve(input).await? else { return Ok(()) };
        self.rang = None;
        let mode = match (append, self.rest.take()) {
            (true, _) => WriteMode::Append,
            (false, Some(n)) => WriteMode::At(n),
            (false, None) => WriteMode::Replace,
        };
        let p = path.clone();
        let existing = self.storage(move |s| s.metadata(&p)).await.ok().filter(|i| i.kind == Kind::File).map(|i| i.size);
        // A replaced file's bytes are freed; in-place writes keep the
        // prefix they resume after.
        let replaced = match mode {
            WriteMode::Replace => existing.unwrap_or(0),
            WriteMode::At(n) => existing.unwrap_or(0).saturating_sub(n),
            WriteMode::Append => 0,
        };
        let Ok(max_bytes) = self.quota_allowance(&path, existing.is_none(), replaced).await? else { return Ok(()) };
        let p = path.clone();
        let upload = match self.storage(move |s| s.open_write(&p, mode)).await {
            Ok(u) => u,
            Err(e) => return self.storage_error(&path, e).await,
        };
        let text = format!("Opening {} mode data connection for {path}.", self.mode_name());
        self.run_transfer(&path, text, Some(true), move |sock, pump| transfer::receive_file(upload, max_bytes, sock, pump)).await
    }

    pub(crate) async fn stou(&mut self, hint: Option<String>) -> io::Result<()> {
        if !self.permit(Permission::Write).await? {
            return Ok(());
        }
        self.rest = None;
        let dir = self.cwd.clone();
        let Ok(max_bytes) = self.quota_allowance(&dir, true, 0).await? else { return Ok(()) };
        let hint = hint.as_deref().and_then(|h| h.rsplit('/').next()).unwrap_or("").to_owned();
        let d = dir.clone();
        let (path, upload) = match self.storage(move |s| s.create_unique(&d, &hint)).await {
            Ok(x) => x,
            Err(e) => return self.storage_error(&dir, e).await,
        };
        // RFC 1123 §4.1.2.9: the 150 reply names the file.
        let text = format!("FILE: {}", path.file_name().unwrap_or_default());
        self.run_transfer(&path, text, Some(true), move |sock, pump| transfer::receive_file(upload, max_bytes, sock, pump)).await
    }

    /// `ABOR` with no transfer running: drop any prepared data connection.
    pub(crate) async fn abor_idle(&mut self) -> io::Result<()> {
        self.data = data::DataSetup::None;
        self.rest = None;
        self.ctl.reply(code::DATA_OPEN_NO_TRANSFER, "No transfer to abort.").await
    }
}
