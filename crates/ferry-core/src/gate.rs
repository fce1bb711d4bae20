//! A say before an upload starts: an outside system (the `pre-upload`
//! hooks) may refuse it, with a message for the user.

use ferry_proto::VirtualPath;

use crate::events::Actor;

/// What an upload about to start is.
#[derive(Debug, Clone, Copy)]
pub struct UploadRequest<'a> {
    /// Who uploads, on which session.
    pub actor: &'a Actor,
    /// Where to, as the user sees it.
    pub path: &'a VirtualPath,
    /// The size the client announced (FTP's `ALLO`), if it did.
    pub size: Option<u64>,
}

/// Asked before every upload starts, after the user's own permissions
/// allowed it. Called on the blocking pool: it may take a while (a command,
/// an HTTP call), bounded by its own timeout.
pub trait UploadGate: Send + Sync + 'static {
    /// `Ok` lets the upload start; `Err` refuses it with the message the
    /// user is shown. A gate that cannot decide (its receiver is down)
    /// answers as it is configured to (refuse by default).
    fn check(&self, request: &UploadRequest<'_>) -> Result<(), String>;
}
