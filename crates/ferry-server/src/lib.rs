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
//! - `ftp_errors`: how the core's errors become FTP replies.
//!
//! Settings live in [`config`].
//!
//! Below this front door, the `ferry-core` crate holds what every protocol
//! shares: [`storage`], [`auth`], [`quota`] and [`limits`] (re-exported
//! here under the same names). The protocol itself — parsing, replies,
//! listings — lives in the sans-IO `ferry-proto` crate, shared with the
//! `ferry` client.
#![warn(missing_docs)]

use ferry_core::sync;
pub use ferry_core::{auth, limits, quota, storage};

pub mod config;
pub mod config_file;
mod ftp_errors;
mod handlers;
pub mod log_escape;
pub mod metrics;
mod proxy;
pub mod server;
mod session;
pub mod shared;
pub mod tls;
pub mod xferlog;

pub use config::Config;
pub use server::Server;
