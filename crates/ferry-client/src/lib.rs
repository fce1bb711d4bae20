//! `ferry`, the Ferry FTP client, as a library.
//!
//! [`Client`] is an async FTP session on tokio, speaking the grammar of
//! `ferry-proto` (the same crate the server parses with): login, `FEAT`
//! discovery, passive (`EPSV`, falling back to `PASV`) and active (`EPRT`,
//! `PORT`) data connections, `MLSD` with a fallback to parsing `LIST`,
//! resumable transfers with `ABOR` on interrupt, and timeouts everywhere.
//!
//! # Layout
//!
//! - [`client`]: the session and its operations.
//! - `connection`: the control connection (commands out, replies in).
//! - [`features`]: `FEAT` parsing.
//! - [`local`]: local-file policy — the seed's no-clobber `new_` names and
//!   prefix digests for checked resume.
//! - [`target`]: `ftp://` URLs and `~/.netrc`.
//! - [`error`]: errors and their kinds.
#![warn(missing_docs)]

pub mod client;
mod connection;
pub mod error;
pub mod features;
pub mod local;
mod stream;
pub mod target;
pub mod tls;

pub use client::{Client, ClientConfig, DataMode, StoreMode};
pub use error::{Error, ErrorKind, Result};
