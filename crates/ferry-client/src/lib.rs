//! `ferry`, the Ferry FTP client, as a library.
//!
//! [`Client`] is an async FTP session on tokio, speaking the grammar of
//! `ferry-proto` (the same crate the server parses with): login, `FEAT`
//! discovery, passive (`EPSV`, falling back to `PASV`) and active (`EPRT`,
//! `PORT`) data connections, `MLSD` with a fallback to parsing `LIST`,
//! resumable transfers with `ABOR` on interrupt, and timeouts everywhere.
//!
//! Above the session sits the transfer policy, so that every program on
//! this library (the `ferry` binary is one) behaves the same: where a
//! download lands and what happens to an existing file, checked resume,
//! segmented downloads, and whose login to use. The binary adds only
//! presentation: prompts, progress bars, messages, exit statuses.
//!
//! # Layout
//!
//! - [`client`]: the session — connecting and logging in, commands,
//!   data connections, and moving bytes (`client/pump.rs`).
//! - `connection`: the control connection (commands out, replies in).
//! - [`download`]: `get`'s policy — plan (create, continue, resume, skip,
//!   stream), then run.
//! - [`partial`]: the `NAME.ferry-part` file of a download in progress, and how
//!   it takes its final name without replacing anything.
//! - [`segments`]: one download over several connections.
//! - [`upload`]: `put`'s policy, and how a resumed upload continues.
//! - [`resume`]: the checked-resume comparison, judged without I/O.
//! - `remote`: what those policies need from a protocol (FTP or SFTP).
//! - [`sftp`]: the SFTP session (russh), with pipelined transfers.
//! - [`session`]: FTP or SFTP behind one set of verbs, for the shell and
//!   `mirror`.
//! - [`local`]: local names — the seed's no-clobber `new_` names, where a
//!   download lands, prefix digests.
//! - [`credentials`]: the login from the URL, `--user` or `~/.netrc`.
//! - [`progress`]: how transfers report how far they have got.
//! - [`target`]: `ftp://` URLs and `~/.netrc` parsing.
//! - [`features`]: `FEAT` (parsed in `ferry-proto`).
//! - [`tls`]: which certificates to trust.
//! - [`proxy`]: SOCKS5 and HTTP `CONNECT` proxies.
//! - [`error`]: errors and their kinds.
#![warn(missing_docs)]

pub mod client;
mod connection;
pub mod credentials;
pub mod download;
pub mod error;
pub mod features;
pub mod local;
pub mod partial;
pub mod progress;
pub mod proxy;
pub mod rate;
mod remote;
pub mod resume;
pub mod segments;
pub mod session;
pub mod sftp;
mod stream;
pub mod target;
pub mod tls;
pub mod upload;

pub use client::{Client, ClientConfig, DataMode, Login, StoreMode};
pub use download::{DownloadPlan, Fetched};
pub use error::{Error, ErrorKind, Result};
pub use progress::Progress;
pub use session::{Session, SessionLogin};
