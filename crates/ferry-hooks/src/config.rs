//! What the config file says about hooks: one [`HookConfig`] per
//! `[[hooks]]` table, and the [`HooksSettings`] they share.
//!
//! ```toml
//! [[hooks]]
//! name = "ingest"                       # for logs and metrics; unique
//! events = ["upload", "rename"]
//! users = ["alice", "bob"]              # optional: only these users
//! paths = ["/incoming/**", "*.csv"]     # optional: globs on the virtual path
//! url = "https://ingest.example.net/ferry"
//! secret = "s3cret"                     # X-Ferry-Signature: sha256=<hex HMAC>
//! # or, instead of url:
//! # command = ["/usr/local/bin/ingest", "--queue", "ftp"]   # argv, never a shell
//! timeout = "30s"
//! digest = "sha256"
//! ```
//!
//! Deserializing checks the shape (unknown keys, a bad `timeout`);
//! [`HookConfig::validate`] checks the meaning and names the field at fault.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

/// One `[[hooks]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HookConfig {
    /// Names the hook in logs, metrics and the spool; unique.
    pub name: String,
    /// The event names it wants (see [`HookEvent`](crate::HookEvent)).
    pub events: Vec<String>,
    /// Only events of these users (events without a user, bans, pass).
    #[serde(default)]
    pub users: Option<Vec<String>>,
    /// Only events on paths matching one of these globs (events without
    /// a path, logins and bans, pass). A pattern with a `/` matches the
    /// whole virtual path (`/incoming/**`); one without matches the file
    /// name (`*.csv`). A rename matches by its old or its new name.
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    /// POST each event here (`http://` or `https://`).
    #[serde(default)]
    pub url: Option<String>,
    /// Sign webhook bodies with this key (HMAC-SHA256).
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Run this program for each event: argv, never a shell.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// How long one delivery may take (default `"30s"`).
    #[serde(default = "default_timeout", deserialize_with = "crate::duration::deserialize")]
    pub timeout: Duration,
    /// `"sha256"`: upload events carry the SHA-256 of the committed file.
    #[serde(default)]
    pub digest: Option<Digest>,
    /// For hooks that decide (`pre-upload`): what a hook that cannot be
    /// reached answers (default `"deny"`).
    #[serde(default)]
    pub on_error: OnError,
    /// For `pre-login` hooks: how long an answer is reused for the same
    /// user and password (e.g. `"60s"`; default: not at all).
    #[serde(default, deserialize_with = "crate::duration::deserialize_optional")]
    pub cache: Option<Duration>,
}

/// What a deciding hook that cannot be asked (down, timed out, cannot
/// run) answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Refuse (the default: a check that did not happen lets nothing by).
    #[default]
    Deny,
    /// Let it through.
    Allow,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

/// The digest a hook wants of uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Digest {
    /// SHA-256, as lowercase hex.
    Sha256,
}

/// A webhook's signing key: kept out of `Debug` output and so out of logs.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A hook config that makes no sense, naming the hook and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hook {hook:?}: `{field}`: {problem}")]
pub struct HookConfigError {
    /// The hook's `name`.
    pub hook: String,
    /// The key at fault (`events`, `paths`, `url`, ...).
    pub field: &'static str,
    /// What is wrong, in a sentence.
    pub problem: String,
}

/// Maps a user's virtual path to the file on disk, for `FERRY_FS_PATH`:
/// `(user, virtual path) -> Some(path)` on local storage, `None` where
/// there is no such file (object storage, or a user unknown now).
pub type FsPaths = Arc<dyn Fn(&str, &str) -> Option<PathBuf> + Send + Sync>;

/// What all hooks share: where the spool is, how long to keep trying.
#[derive(Clone)]
pub struct HooksSettings {
    /// The spool folder (created if missing); `dead/` inside it keeps what
    /// could not be delivered in time.
    pub spool: PathBuf,
    /// Give up on an event this long after it happened (default 24 h).
    pub max_age: Duration,
    /// Deliveries in flight at once, all hooks together (default 4).
    pub concurrency: usize,
    /// The first wait after a failed delivery (default 1 s); each further
    /// failure doubles it, with jitter, up to `max_retry_delay`.
    pub first_retry_delay: Duration,
    /// The longest wait between two tries (default 5 min).
    pub max_retry_delay: Duration,
    /// How `FERRY_FS_PATH` is found; unset, commands get no `FERRY_FS_PATH`.
    pub fs_paths: Option<FsPaths>,
    /// The TLS client config for `https://` hooks; `None` verifies against
    /// the web's root certificates (webpki-roots).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl HooksSettings {
    /// The defaults, spooling in `spool`.
    pub fn new(spool: impl Into<PathBuf>) -> HooksSettings {
        HooksSettings {
            spool: spool.into(),
            max_age: Duration::from_secs(24 * 3600),
            concurrency: 4,
            first_retry_delay: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(300),
            fs_paths: None,
            tls: None,
        }
    }
}

impl std::fmt::Debug for HooksSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HooksSettings")
            .field("spool", &self.spool)
            .field("max_age", &self.max_age)
            .field("concurrency", &self.concurrency)
            .field("first_retry_delay", &self.first_retry_delay)
            .field("max_retry_delay", &self.max_retry_delay)
            .field("fs_paths", &self.fs_paths.is_some())
            .field("tls", &self.tls.is_some())
            .finish()
    }
}
