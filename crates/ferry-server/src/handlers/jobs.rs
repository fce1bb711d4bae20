//! Blocking work a session starts on tokio's blocking pool: storage calls,
//! listing producers, checksums.
//!
//! Two rules keep one client from exhausting the pool (512 threads shared
//! by every session): each job holds one of its session's few
//! [`BLOCKING_SLOTS`](crate::session::BLOCKING_SLOTS) for as long as it runs, so leftovers of aborted work
//! delay only that session; and long jobs stop when asked (a [`Cancel`]
//! checked between chunks), which [`Session::cancellable`] does on `ABOR`,
//! `QUIT` and a lost control connection while it keeps reading commands.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ferry_proto::reply::code;
use tokio::sync::OwnedSemaphorePermit;

use crate::session::Session;
use crate::session::answer::{Handled, reply, sent};
use crate::session::busy::Interrupt;
use crate::storage::StorageError;
use ferry_core::userfs::{FsError, UserFs};

/// Asks a running job to stop. Jobs check it between chunks of work.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// `Err` once the job should stop (the error is never shown: whoever
    /// cancelled has replied already).
    pub(crate) fn check(&self) -> Result<(), StorageError> {
        if self.is_set() { Err(StorageError::Io(io::Error::new(io::ErrorKind::Interrupted, "cancelled"))) } else { Ok(()) }
    }
}

/// Cancels when dropped: the job stops also when the session's future is
/// dropped mid-command or returns early on a control-connection error.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

fn join_error(e: tokio::task::JoinError) -> StorageError {
    StorageError::Io(io::Error::other(e))
}

impl Session {
    /// One of this session's blocking slots, to be moved into the job that
    /// uses it. Waits at most the data timeout (only this session's own
    /// unfinished work can hold the slots).
    pub(crate) async fn blocking_slot(&self) -> Result<OwnedSemaphorePermit, StorageError> {
        match tokio::time::timeout(
            self.shared.config.data_timeout,
            self.blocking.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(crate::session::BLOCKING_SLOTS))).clone().acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                tracing::warn!("blocking slots still held by earlier work");
                Err(StorageError::Io(io::Error::other("earlier work of this session has not finished; try again")))
            }
        }
    }

    /// Run a call on the user's view ([`UserFs`]) on the blocking pool,
    /// holding one of the session's slots.
    pub(crate) async fn storage<T: Send + 'static>(
        &self,
        f: impl FnOnce(&UserFs) -> Result<T, FsError> + Send + 'static,
    ) -> Result<T, FsError> {
        let fs = self.user_fs()?;
        let slot = self.blocking_slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            f(&fs)
        })
        .await
        .unwrap_or_else(|e| Err(join_error(e).into()))
    }

    /// The logged-in user's view of the files. (Every command that needs
    /// it requires a login, which the dispatcher checked.)
    pub(crate) fn user_fs(&self) -> Result<UserFs, FsError> {
        self.fs.clone().ok_or(FsError::PermissionDenied(crate::auth::settings::Permission::List))
    }

    /// Run a long storage job (a checksum, an ASCII `SIZE`) like
    /// [`Session::storage`], but keep reading the control connection while
    /// it runs, as a transfer does: `ABOR` stops it (426 for the command,
    /// then 226 for the `ABOR`), `QUIT` stops it and ends the session, a
    /// closed connection or an administrator's kick stops it; other
    /// commands wait in `pending`. `what`
    /// names the work in replies ("HASH of /big.iso"). `Err` with the
    /// command's answer when it was stopped; otherwise the job's result,
    /// to reply to.
    pub(crate) async fn cancellable<T: Send + 'static>(
        &mut self,
        what: &str,
        job: impl FnOnce(&UserFs, &Cancel) -> Result<T, FsError> + Send + 'static,
    ) -> Result<Result<T, FsError>, Handled> {
        let fs = match self.user_fs() {
            Ok(fs) => fs,
            Err(e) => return Ok(Err(e)),
        };
        let slot = match self.blocking_slot().await {
            Ok(slot) => slot,
            Err(e) => return Ok(Err(e.into())),
        };
        let cancel = Cancel::default();
        let _on_drop = CancelOnDrop(cancel.clone());
        let flag = cancel.clone();
        let span = tracing::Span::current();
        let mut running = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let _span = span.enter();
            job(&fs, &flag)
        });
        let mut kicked = std::pin::pin!(self.registration.kicked());
        let interrupted = loop {
            tokio::select! {
                r = &mut running => return Ok(r.unwrap_or_else(|e| Err(join_error(e).into()))),
                read = self.ctl.read_line() => if let Some(i) = self.while_busy(what, read).await {
                    break i;
                },
                () = &mut kicked => break Interrupt::Kicked,
            }
        };
        cancel.set();
        // It stops within a chunk; waiting means the reply to ABOR comes
        // when the work has really stopped.
        let _ = tokio::time::timeout(self.shared.config.data_timeout, &mut running).await;
        // The command's answer is 426; the interrupt is carried out next
        // by the command loop.
        let text = match interrupted {
            Interrupt::Quit => {
                tracing::info!(what, "aborted by QUIT");
                format!("{what} aborted by QUIT.")
            }
            Interrupt::Gone => {
                tracing::info!(what, "stopped: the client left");
                self.quit = true;
                return Err(sent());
            }
            Interrupt::Kicked => {
                tracing::info!(what, "stopped: an administrator ended the session");
                format!("{what} aborted: the session was ended by an administrator.")
            }
            // Only ABOR comes here otherwise: a job's wait is not watched
            // for reloads or the shutdown.
            Interrupt::Abort | Interrupt::Revoked | Interrupt::Shutdown => {
                tracing::info!(what, "aborted by ABOR");
                format!("{what} aborted.")
            }
        };
        self.interrupted_by(interrupted, true);
        Err(reply(code::TRANSFER_ABORTED, text))
    }
}
