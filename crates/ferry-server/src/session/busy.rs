//! Commands that arrive while the session is busy with a long command (a
//! transfer, a checksum of a big file): RFC 959 §4.1.3 lets `ABOR` and
//! `QUIT` interrupt it, `STAT` report on it; everything else waits its
//! turn.

use ferry_proto::Command;
use ferry_proto::LineError;
use ferry_proto::reply::code;

use super::Session;

/// Lines held back while the session is busy; more are refused with 450.
pub(crate) const MAX_PENDING: usize = 32;

/// What ends a long command early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interrupt {
    /// `ABOR`.
    Abort,
    /// `QUIT`.
    Quit,
    /// The control connection closed, failed, or stopped taking replies
    /// (or the session was ended with its own reply, e.g. an account
    /// removed by a reload).
    Gone,
    /// A reload took away the permission the command needs.
    Revoked,
    /// The server's shutdown grace period is over.
    Shutdown,
}

impl Session {
    /// Handle what one read of the control connection brought while `what`
    /// runs; `Some` if it interrupts it. Replies are written here, in the
    /// caller's `select!` arm, so that no other branch can cut one short.
    pub(crate) async fn while_busy(&mut self, what: &str, read: std::io::Result<Option<Result<Vec<u8>, LineError>>>) -> Option<Interrupt> {
        let line = match read {
            Ok(Some(Ok(line))) => line,
            Ok(Some(Err(e))) => return self.ctl.reply(code::SYNTAX_ERROR, format!("{e}.")).await.err().map(|_| Interrupt::Gone),
            Ok(None) | Err(_) => return Some(Interrupt::Gone),
        };
        let reply = match Command::parse(&line) {
            Ok(Command::Abor) => return Some(Interrupt::Abort),
            Ok(Command::Quit) => return Some(Interrupt::Quit),
            Ok(Command::Stat(None)) => self.ctl.reply(code::SYSTEM_STATUS, format!("{what} in progress.")).await,
            _ if self.pending.len() < MAX_PENDING => {
                self.pending.push_back(line);
                Ok(())
            }
            _ => self.ctl.reply(code::FILE_BUSY, "Too many commands queued while a command runs.").await,
        };
        reply.err().map(|_| Interrupt::Gone)
    }
}
