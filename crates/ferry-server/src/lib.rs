//! `ferryd`, the Ferry FTP server, as a library.
//!
//! # Layout
//!
//! - [`server`]: the accept loop and the state shared by all sessions.
//! - `session`: one task per client — control connection framing
//!   (`session::control`), data connections (`session::data`) and the byte
//!   pumps for transfers (`session::transfer`).
//! - `handlers`: what each FTP command does, one file per concern (access,
//!   navigation, files, parameters, transfers, listings, info, integrity).
//! - [`storage`]: the [`Storage`](storage::Storage) trait and its local
//!   folder backend, confined beneath the root with `cap-std`.
//! - [`auth`]: the [`Authenticator`](auth::Authenticator) trait and the
//!   users file with argon2id hashes.
//!
//! Settings live in [`config`].
//!
//! The protocol itself — parsing, replies, listings — lives in the sans-IO
//! `ferry-proto` crate, shared with the `ferry` client.
#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod config_file;
mod handlers;
pub mod limits;
pub mod log_escape;
pub mod metrics;
mod proxy;
pub mod quota;
pub mod server;
mod session;
pub mod storage;
mod sync;
pub mod tls;
pub mod xferlog;

pub use config::Config;
pub use server::Server;
