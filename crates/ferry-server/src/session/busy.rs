//! Commands that arrive while the session is busy with a long command (a
//! transfer, a checksum of a big file): RFC 959 §4.1.3 lets `ABOR` and
//! `QUIT` interrupt it, `STAT` report on it; everything else waits its
//! turn.
//!
//! There is one command loop (`Session::run`): a line read here is parsed
//! once, and what is not answered at once waits in `Session::pending`,
//! parsed, for that loop. An interrupting `ABOR` or `QUIT` goes there too,
//! after the interrupted command's own reply.

use ferry_proto::reply::code;
use ferry_proto::{Command, LineError, Reply};

use super::Session;

/// Lines held back while the session is busy; more are refused with 450.
pub(crate) const MAX_PENDING: usize = 32;

/// A command line as read and parsed, once: the command, or the reply to
/// a line that was not one (too long, not a known verb, bad arguments).
pub(crate) type Parsed = Result<Command, Reply>;

/// Parse what one read of the control connection framed.
pub(crate) fn parse(line: Result<Vec<u8>, LineError>) -> Parsed {
    let line = line.map_err(|e| Reply::new(code::SYNTAX_ERROR, format!("{e}.")))?;
    Command::parse(&line).map_err(|e| {
        let text = match &e {
            ferry_proto::ParseError::BadVerb => "Syntax error, command unrecognized.".to_owned(),
            other => format!("Syntax error in parameters: {other}."),
        };
        Reply::new(e.code(), text)
    })
}

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
    /// An administrator ended the session.
    Kicked,
}

impl Session {
    /// Handle what one read of the control connection brought while `what`
    /// runs; `Some` if it interrupts it. Replies are written here, in the
    /// caller's `select!` arm, so that no other branch can cut one short.
    pub(crate) async fn while_busy(&mut self, what: &str, read: std::io::Result<Option<Result<Vec<u8>, LineError>>>) -> Option<Interrupt> {
        let line = match read {
            Ok(Some(Ok(line))) => Ok(line),
            // A line too long to frame is answered at once: it may be the
            // start of anything, and nothing of it is kept.
            Ok(Some(Err(e))) => return self.ctl.reply(code::SYNTAX_ERROR, format!("{e}.")).await.err().map(|_| Interrupt::Gone),
            Ok(None) | Err(_) => return Some(Interrupt::Gone),
        };
        let reply = match parse(line) {
            Ok(Command::Abor) => return Some(Interrupt::Abort),
            Ok(Command::Quit) => return Some(Interrupt::Quit),
            Ok(Command::Stat(None)) => self.ctl.reply(code::SYSTEM_STATUS, format!("{what} in progress.")).await,
            // Anything else waits its turn, a line that was not a command
            // too: its reply comes in the order the client sent it.
            parsed if self.pending.len() < MAX_PENDING => {
                self.pending.push_back(parsed);
                Ok(())
            }
            _ => self.ctl.reply(code::FILE_BUSY, "Too many commands queued while a command runs.").await,
        };
        reply.err().map(|_| Interrupt::Gone)
    }

    /// After the interrupted command's reply, what the interrupt itself
    /// still needs: `ABOR` and `QUIT` are carried out next by the command
    /// loop (before anything that waited), and a shutdown drops what
    /// waited so that the loop closes the session. `stopped` says whether
    /// the command was stopped, or had finished anyway.
    pub(crate) fn interrupted_by(&mut self, by: Interrupt, stopped: bool) {
        match by {
            Interrupt::Abort => {
                self.state.aborted(stopped);
                self.pending.push_front(Ok(Command::Abor));
            }
            Interrupt::Quit => self.pending.push_front(Ok(Command::Quit)),
            Interrupt::Gone => self.quit = true,
            Interrupt::Revoked => {}
            Interrupt::Shutdown => {
                self.pending.clear();
                self.closing = true;
            }
            // The command loop sees the kick and closes with its own `421`.
            Interrupt::Kicked => self.pending.clear(),
        }
    }
}
