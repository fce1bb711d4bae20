//! What a command handler hands back to the dispatcher.
//!
//! A handler does its work and returns a value; the dispatcher
//! ([`Session::dispatch`](super::Session)) writes the final reply, once.
//! Refusals use `?`: a path that does not resolve, a refusal of the
//! state machine (`super::state`) or of the user's view of the files
//! (`UserFs`, which checks permissions, quotas and names) each turn into a
//! [`Refusal`] carrying the reply that explains it, so a handler reads as
//! its happy path:
//!
//! ```ignore
//! pub(crate) async fn mkd(&mut self, input: &str) -> Handled {
//!     let path = self.resolve_new(input)?;
//!     let p = path.clone();
//!     self.storage(move |fs| fs.mkdir(&p)).await.map_err(|e| fs_refusal(&path, e))?;
//!     reply(code::PATH_CREATED, format!("{} directory created.", path.quoted()))
//! }
//! ```
//!
//! Two things are not a reply: a lost control connection
//! ([`Refusal::Lost`], which ends the session), and a handler that had to
//! write its final reply itself because something follows it on the wire
//! at once ([`Answer::Sent`]: the `234` before a TLS handshake, the last
//! words before a session is closed). Preliminary replies (`150` before a
//! transfer) are written by the handler as they happen.

use std::io;

use ferry_proto::Reply;

/// A command that was carried out.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The final reply, for the dispatcher to send.
    Reply(Reply),
    /// The handler has sent the final reply itself.
    Sent,
}

/// A command that was refused or could not be answered.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Refused; this reply says why.
    Reply(Reply),
    /// The control connection is gone (or stopped taking replies): the
    /// session ends.
    Lost(io::Error),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Self {
        Refusal::Lost(e)
    }
}

impl From<Reply> for Answer {
    fn from(r: Reply) -> Self {
        Answer::Reply(r)
    }
}

/// A refusal the state machine (`super::state`) answered with.
impl From<Reply> for Refusal {
    fn from(r: Reply) -> Self {
        Refusal::Reply(r)
    }
}

/// What every handler returns.
pub(crate) type Handled = Result<Answer, Refusal>;

/// Carried out, with this reply.
pub(crate) fn reply(code: u16, text: impl Into<String>) -> Handled {
    Ok(Answer::Reply(Reply::new(code, text)))
}

/// Refused, with this reply.
pub(crate) fn refuse(code: u16, text: impl Into<String>) -> Refusal {
    Refusal::Reply(Reply::new(code, text))
}

/// Carried out; the handler sent the final reply itself.
pub(crate) fn sent() -> Handled {
    Ok(Answer::Sent)
}

/// The reply a handler's result asks for, if any, and whether the
/// session goes on (`Err` when the control connection is lost).
pub(crate) fn into_reply(handled: Handled) -> io::Result<Option<Reply>> {
    match handled {
        Ok(Answer::Reply(r)) | Err(Refusal::Reply(r)) => Ok(Some(r)),
        Ok(Answer::Sent) => Ok(None),
        Err(Refusal::Lost(e)) => Err(e),
    }
}
