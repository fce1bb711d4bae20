//! What happened: the typed events the core and its front-ends emit, each
//! after the fact (an upload once it is committed and visible, a rename
//! once it is done).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferry_proto::VirtualPath;

use crate::storage::PartialOutcome;

/// One session of one front-end, as events name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The front-end's number for the session (unique while it runs).
    pub id: u64,
    /// The protocol it speaks, lower case: `"ftp"`, later `"sftp"`.
    pub protocol: &'static str,
    /// The client's address (as a trusted proxy reported it, if any).
    pub peer: SocketAddr,
}

/// Who did it: a session and the user it is logged in as (for a failed
/// login, the name that was tried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The session.
    pub session: SessionInfo,
    /// The user name, as the client gave it: log it escaped.
    pub user: Arc<str>,
}

/// One file transfer, finished or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The file, as the user sees it (their home is `/`); never a
    /// temporary upload name.
    pub path: VirtualPath,
    /// Bytes moved.
    pub bytes: u64,
    /// Line ends were converted on the way (FTP's `TYPE A`); false for a
    /// binary transfer.
    pub ascii: bool,
    /// From opening the file to the end of the transfer.
    pub duration: Duration,
}

/// Why a transfer did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Stopped on request: the client aborted, quit or left, or the server
    /// stopped it (shutting down, a reload that withdrew a permission).
    Interrupted,
    /// The connection for the bytes could not be opened: nothing moved.
    /// (FTP counts these as data-connection failures, not transfers.)
    NoConnection,
    /// Refused before any connection for the bytes was tried (FTP: no
    /// `PASV`/`PORT` first, or a policy that wants TLS): no transfer took
    /// place, and none is logged or counted.
    NotStarted,
    /// The connection broke while the bytes moved; what the OS said.
    Connection(String),
    /// The storage or a limit refused part-way (a full disk, the quota);
    /// the text the user was given.
    Error(String),
    /// The front-end dropped the transfer without saying how it ended.
    Dropped,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Interrupted => f.write_str("interrupted"),
            Failure::NoConnection => f.write_str("no data connection"),
            Failure::NotStarted => f.write_str("refused before it started"),
            Failure::Connection(e) => write!(f, "connection lost: {e}"),
            Failure::Error(e) => f.write_str(e),
            Failure::Dropped => f.write_str("ended without an outcome"),
        }
    }
}

/// Why a login did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// A wrong password or an unknown user (the two look alike): a guess,
    /// which counts towards a ban.
    Incorrect,
    /// The password was right but the account is disabled.
    Disabled,
    /// The password was right but the account is past its last day.
    Expired,
    /// The password was right but the client's address is outside the
    /// account's allowed networks.
    NotAllowed,
    /// The account store could not be asked, or the password check did not
    /// finish in time: nothing was decided, nothing counts towards a ban.
    Unavailable,
}

/// What an administrator did (through the admin API or its web pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminAction {
    /// Signed in.
    Login,
    /// A sign-in was refused (the event's admin is the name tried).
    LoginFailed,
    /// Created a user (the target).
    UserCreate,
    /// Changed a user's settings or password.
    UserUpdate,
    /// Deleted a user.
    UserDelete,
    /// Ended a session (the target is its number).
    SessionKick,
    /// Lifted a ban (the target is the address).
    Unban,
    /// Reloaded the configuration and accounts.
    Reload,
    /// Made an API token (the target names it, never its secret).
    TokenCreate,
    /// Revoked an API token.
    TokenRevoke,
}

impl AdminAction {
    /// Every action, in the order above.
    pub const ALL: [AdminAction; 10] = [
        AdminAction::Login,
        AdminAction::LoginFailed,
        AdminAction::UserCreate,
        AdminAction::UserUpdate,
        AdminAction::UserDelete,
        AdminAction::SessionKick,
        AdminAction::Unban,
        AdminAction::Reload,
        AdminAction::TokenCreate,
        AdminAction::TokenRevoke,
    ];

    /// A short, stable name in snake case, for logs and metric labels:
    /// `login`, `user_create`, `session_kick`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::Login => "login",
            AdminAction::LoginFailed => "login_failed",
            AdminAction::UserCreate => "user_create",
            AdminAction::UserUpdate => "user_update",
            AdminAction::UserDelete => "user_delete",
            AdminAction::SessionKick => "session_kick",
            AdminAction::Unban => "unban",
            AdminAction::Reload => "reload",
            AdminAction::TokenCreate => "token_create",
            AdminAction::TokenRevoke => "token_revoke",
        }
    }

    /// The [`Event::name`] of an admin event with this action:
    /// `admin_` and [`as_str`](AdminAction::as_str).
    pub fn event_name(self) -> &'static str {
        match self {
            AdminAction::Login => "admin_login",
            AdminAction::LoginFailed => "admin_login_failed",
            AdminAction::UserCreate => "admin_user_create",
            AdminAction::UserUpdate => "admin_user_update",
            AdminAction::UserDelete => "admin_user_delete",
            AdminAction::SessionKick => "admin_session_kick",
            AdminAction::Unban => "admin_unban",
            AdminAction::Reload => "admin_reload",
            AdminAction::TokenCreate => "admin_token_create",
            AdminAction::TokenRevoke => "admin_token_revoke",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A user logged in.
    LoginOk {
        /// The session and the user.
        actor: Actor,
    },
    /// A login was refused.
    LoginFailed {
        /// The session and the name tried.
        actor: Actor,
        /// Why.
        reason: LoginFailure,
    },
    /// A logged-in user left (logged out, changed user, or the session
    /// ended).
    Logout {
        /// The session and the user.
        actor: Actor,
    },
    /// An upload was committed: the file is there under its name.
    Upload {
        /// The session and the user.
        actor: Actor,
        /// The transfer.
        transfer: Transfer,
        /// The file's size once committed.
        size: u64,
        /// The SHA-256 of the committed file (lower-case hex), when the
        /// server computes upload digests (see
        /// `Services::set_upload_digests`): made while the bytes streamed
        /// in, never by reading the file again.
        sha256: Option<String>,
    },
    /// An upload ended without being committed.
    UploadFailed {
        /// The session and the user.
        actor: Actor,
        /// How far it got.
        transfer: Transfer,
        /// Why it ended.
        failure: Failure,
        /// What became of the bytes that arrived.
        kept: PartialOutcome,
    },
    /// A download ended, complete or not.
    Download {
        /// The session and the user.
        actor: Actor,
        /// How far it got.
        transfer: Transfer,
        /// `None` when the whole file (or range asked for) went out.
        failure: Option<Failure>,
    },
    /// A file was deleted.
    Delete {
        /// The session and the user.
        actor: Actor,
        /// The file.
        path: VirtualPath,
        /// Its size before it went.
        size: u64,
    },
    /// A file or folder was renamed or moved.
    Rename {
        /// The session and the user.
        actor: Actor,
        /// The old name.
        from: VirtualPath,
        /// The new name.
        to: VirtualPath,
    },
    /// A folder was created.
    Mkdir {
        /// The session and the user.
        actor: Actor,
        /// The new folder.
        path: VirtualPath,
    },
    /// A folder was removed.
    Rmdir {
        /// The session and the user.
        actor: Actor,
        /// The folder.
        path: VirtualPath,
    },
    /// An address was banned after repeated failed logins.
    Ban {
        /// The address.
        address: IpAddr,
        /// When the ban ends.
        until: SystemTime,
    },
    /// An administrator did something (or failed to sign in).
    Admin {
        /// The admin's name (for a failed sign-in, the name tried: log it
        /// escaped).
        admin: Arc<str>,
        /// What they did.
        action: AdminAction,
        /// What it was done to: a user name, a session number, an
        /// address, a token's name. Never a password or a token's secret.
        target: Option<String>,
        /// Where the admin connected from, when known.
        peer: Option<SocketAddr>,
    },
}

/// One event: what happened, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When it happened (for a transfer, when it ended).
    pub at: SystemTime,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// An event that happens now.
    pub fn now(kind: EventKind) -> Event {
        Event { at: SystemTime::now(), kind }
    }

    /// A short, stable name: `login_ok`, `upload_failed`, `rmdir`, ...
    pub fn name(&self) -> &'static str {
        match &self.kind {
            EventKind::LoginOk { .. } => "login_ok",
            EventKind::LoginFailed { .. } => "login_failed",
            EventKind::Logout { .. } => "logout",
            EventKind::Upload { .. } => "upload",
            EventKind::UploadFailed { .. } => "upload_failed",
            EventKind::Download { .. } => "download",
            EventKind::Delete { .. } => "delete",
            EventKind::Rename { .. } => "rename",
            EventKind::Mkdir { .. } => "mkdir",
            EventKind::Rmdir { .. } => "rmdir",
            EventKind::Ban { .. } => "ban",
            EventKind::Admin { action, .. } => action.event_name(),
        }
    }

    /// Which session of which user did it; `None` for what the server did
    /// of itself (a ban) and for what an administrator did (the event
    /// names the admin).
    pub fn actor(&self) -> Option<&Actor> {
        match &self.kind {
            EventKind::LoginOk { actor }
            | EventKind::LoginFailed { actor, .. }
            | EventKind::Logout { actor }
            | EventKind::Upload { actor, .. }
            | EventKind::UploadFailed { actor, .. }
            | EventKind::Download { actor, .. }
            | EventKind::Delete { actor, .. }
            | EventKind::Rename { actor, .. }
            | EventKind::Mkdir { actor, .. }
            | EventKind::Rmdir { actor, .. } => Some(actor),
            EventKind::Ban { .. } | EventKind::Admin { .. } => None,
        }
    }
}
