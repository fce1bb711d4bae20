//! What the admin front door needs from the server below it.
//!
//! The HTTP layer owns no policy: who may log in as an admin, what a valid
//! user is, which sessions run and which addresses are banned are the
//! core's. [`Backend`] is the port through which this crate asks for them;
//! `ferryd` implements it over `ferry-core` (the account stores, the
//! session registry, the defender, the event ring). Keeping the port here,
//! in this crate's own types, lets the HTTP layer be tested without a
//! server and keeps HTTP types out of the core.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A boxed future, for the object-safe async methods of [`Backend`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A failure of the backend that is not the caller's fault (a database
/// that is down, a file that cannot be written). Its text is shown to the
/// admin and must hold no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// One invalid field of a request, named as the JSON names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The field (`home`, `allowed_networks`, `password`, …).
    pub field: String,
    /// What is wrong with it, and what to write instead.
    pub message: String,
}

impl FieldError {
    /// `field` is wrong: `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// Why a change to a user was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// Fields failed validation.
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// `POST /users` of a name that exists.
    #[error("a user named {0:?} already exists")]
    Exists(String),
    /// No user of that name.
    #[error("no user named {0:?}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A permission, as users.toml and the API write it.
pub const PERMISSIONS: [&str; 6] = ["list", "read", "write", "delete", "rename", "mkdir"];

/// One FTP (or SFTP) account as the API shows it: every setting, never
/// the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    /// Letters and digits of any script, `.`, `_`, `-` or `@`.
    pub name: String,
    /// False: the account exists but may not log in (open sessions end).
    pub enabled: bool,
    /// Home folder below the server root (`null`: the default).
    pub home: Option<String>,
    /// What the user may do (`null`: the defaults). Any of `list`, `read`,
    /// `write`, `delete`, `rename`, `mkdir`.
    pub permissions: Option<Vec<String>>,
    /// List and read only, whatever `permissions` says.
    pub read_only: bool,
    /// Bytes the home folder may hold.
    pub quota_bytes: Option<u64>,
    /// Files the home folder may hold.
    pub quota_files: Option<u64>,
    /// Upload cap, bytes per second.
    pub upload_rate: Option<u64>,
    /// Download cap, bytes per second.
    pub download_rate: Option<u64>,
    /// Client networks the user may log in from (CIDR); empty: anywhere.
    pub allowed_networks: Vec<String>,
    /// The last day (UTC, `YYYY-MM-DD`) the account may log in.
    pub expires: Option<String>,
}

impl User {
    /// A user with nothing set but the name: enabled, defaults for the rest.
    pub fn new(name: impl Into<String>) -> User {
        User {
            name: name.into(),
            enabled: true,
            home: None,
            permissions: None,
            read_only: false,
            quota_bytes: None,
            quota_files: None,
            upload_rate: None,
            download_rate: None,
            allowed_networks: Vec::new(),
            expires: None,
        }
    }
}

/// A page of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserPage {
    /// The users of this page, sorted by name.
    pub users: Vec<User>,
    /// How many users match the search, on every page.
    pub total: usize,
}

/// Which users, and which slice of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// A case-insensitive part of the name.
    pub search: Option<String>,
    /// Users skipped.
    pub offset: usize,
    /// Users at most.
    pub limit: usize,
}

/// A transfer in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TransferInfo {
    /// The file, as the user sees it.
    pub path: String,
    /// `upload` or `download`.
    pub direction: String,
    /// Bytes moved so far.
    pub bytes: u64,
    /// Bytes per second over the last few seconds.
    pub rate: u64,
    /// When it started (RFC 3339).
    pub since: String,
    /// The whole size, when known.
    pub size: Option<u64>,
}

/// A connected client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    /// The session's number, as events name it.
    pub id: u64,
    /// The user logged in, if any yet.
    pub user: Option<String>,
    /// `ftp`, `sftp`, …
    pub protocol: String,
    /// The client's `address:port`.
    pub peer: String,
    /// When it connected (RFC 3339).
    pub since: String,
    /// The transfer running now, if any.
    pub transfer: Option<TransferInfo>,
}

/// A banned address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BanInfo {
    /// The address.
    pub address: String,
    /// When the ban ends (RFC 3339).
    pub until: String,
}

/// A listener of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListenerInfo {
    /// `ftp`, `ftps`, `admin`, `metrics`, …
    pub protocol: String,
    /// `address:port`.
    pub address: String,
}

/// `GET /status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// ferryd's version.
    pub version: String,
    /// Seconds since the server started.
    pub uptime_seconds: u64,
    /// Where it listens.
    pub listeners: Vec<ListenerInfo>,
    /// Sessions connected now.
    pub sessions: usize,
    /// Counters since start (`logins`, `login_failures`, `uploads`, …).
    #[schema(value_type = Object)]
    pub counters: serde_json::Map<String, serde_json::Value>,
}

/// One event from the ring, with its place in the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventItem {
    /// Sequence number: ask for `since=` this to get what came after.
    pub seq: u64,
    /// The event, in the hooks' JSON (version 1: `event`, `time`, `user`, …).
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

impl EventItem {
    /// The event's name (`login`, `upload`, `admin-user-create`, …).
    pub fn name(&self) -> &str {
        self.event.get("event").and_then(|v| v.as_str()).unwrap_or("")
    }

    /// The user it concerns, if any.
    pub fn user(&self) -> Option<&str> {
        self.event.get("user").and_then(|v| v.as_str())
    }
}

/// A kind of admin token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// From `POST /api/v1/login`: short-lived.
    Login,
    /// The web sign-in's cookie.
    Browser,
    /// Made by `ferryd admin token`: revocable.
    Api,
}

/// An authenticated admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminIdentity {
    /// The admin's name.
    pub name: String,
    /// How they proved it.
    pub kind: TokenKind,
}

/// What an admin did, for the event stream (`admin-*` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// Signed in (API or browser).
    Login,
    /// A failed sign-in (the name tried).
    LoginFailed,
    /// Created a user.
    UserCreate,
    /// Changed a user.
    UserUpdate,
    /// Deleted a user.
    UserDelete,
    /// Ended a session.
    SessionKick,
    /// Lifted a ban.
    Unban,
    /// Reloaded the configuration.
    Reload,
}

/// Everything the admin front door asks of the server. Every method is
/// answered by the core; none may block a thread (work on files or a
/// database runs off the async workers, under deadlines).
pub trait Backend: Send + Sync + 'static {
    // --- admins
    /// True if `name` and `password` open an admin account. Unknown names
    /// take as long as wrong passwords.
    fn verify_admin<'a>(&'a self, name: &'a str, password: &'a str) -> BoxFuture<'a, Result<bool, BackendError>>;
    /// A new token for `admin`; the text is shown once.
    fn issue_token<'a>(&'a self, admin: &'a str, kind: TokenKind) -> BoxFuture<'a, Result<IssuedToken, BackendError>>;
    /// Who `token` belongs to, if it is valid now.
    fn check_token<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<AdminIdentity>, BackendError>>;
    /// Make `token` invalid (sign-out).
    fn revoke_token<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<(), BackendError>>;
    /// The CSRF token that goes with a browser session token.
    fn csrf_token(&self, session_token: &str) -> String;

    // --- the defender, shared with FTP logins
    /// True if `ip` is banned now.
    fn is_banned(&self, ip: IpAddr) -> bool;
    /// Count a failed login from `ip`; true if it is now banned.
    fn failed_login(&self, ip: IpAddr) -> bool;
    /// How long a failed login waits before it is answered.
    fn failure_delay(&self) -> Duration;

    /// Tell the event stream what an admin did.
    fn record(&self, admin: &str, action: AdminAction, target: Option<&str>, peer: SocketAddr);

    // --- users
    /// A page of users.
    fn list_users<'a>(&'a self, query: &'a UserQuery) -> BoxFuture<'a, Result<UserPage, BackendError>>;
    /// One user.
    fn get_user<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<User>, BackendError>>;
    /// Create a user.
    fn create_user<'a>(&'a self, user: &'a User, password: &'a str) -> BoxFuture<'a, Result<(), UserError>>;
    /// Replace a user's settings, and their password if one is given.
    fn update_user<'a>(&'a self, user: &'a User, password: Option<&'a str>) -> BoxFuture<'a, Result<(), UserError>>;
    /// Delete a user.
    fn delete_user<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), UserError>>;

    // --- sessions, bans, events, the server
    /// Every connected session, by id.
    fn sessions(&self) -> Vec<SessionInfo>;
    /// End session `id`; false if there is none.
    fn kick(&self, id: u64) -> bool;
    /// Addresses banned now.
    fn bans(&self) -> Vec<BanInfo>;
    /// Lift the ban on `ip`; false if it was not banned.
    fn unban(&self, ip: IpAddr) -> bool;
    /// Events after `since`, oldest first, at most `limit`.
    fn events_since(&self, since: u64, limit: usize) -> Vec<EventItem>;
    /// The newest event's sequence number.
    fn latest_event(&self) -> u64;
    /// New events as they happen. A reader that falls behind is told it
    /// lagged and skips ahead; it never holds anyone up.
    fn subscribe_events(&self) -> Box<dyn Feed>;
    /// Reload configuration and accounts, as SIGHUP does.
    fn reload(&self) -> BoxFuture<'_, Result<(), BackendError>>;
    /// Version, uptime, listeners, counters.
    fn status(&self) -> Status;
}

/// A live feed of events, oldest first.
pub trait Feed: Send + 'static {
    /// The next event; `Lagged` when this reader fell behind and events
    /// were skipped (they may still be in the ring), `Closed` when the
    /// server stops.
    fn recv(&mut self) -> BoxFuture<'_, Result<EventItem, tokio::sync::broadcast::error::RecvError>>;
}

impl Feed for tokio::sync::broadcast::Receiver<EventItem> {
    fn recv(&mut self) -> BoxFuture<'_, Result<EventItem, tokio::sync::broadcast::error::RecvError>> {
        Box::pin(tokio::sync::broadcast::Receiver::recv(self))
    }
}

/// A token just made.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The text to hand to the client.
    pub token: String,
    /// When it stops working.
    pub expires: Option<SystemTime>,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken").field("token", &"***").field("expires", &self.expires).finish()
    }
}
