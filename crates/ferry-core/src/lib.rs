//! The core below every Ferry front door: what a file-transfer service is
//! made of, whichever protocol a client speaks. It knows nothing of FTP
//! (its errors carry no reply codes; each front door maps them).
//!
//! # Layout
//!
//! - [`storage`]: the [`Storage`](storage::Storage) trait and its backends
//!   (a local folder confined with `cap-std`, and an S3 bucket behind the
//!   `s3` feature), with atomic uploads and typed errors.
//! - [`auth`]: accounts. An [`AccountStore`](auth::store::AccountStore)
//!   (the users file, or PostgreSQL behind the `postgres` feature) below one
//!   password authenticator with the login cache, equal-time verification,
//!   anonymous rules and per-user settings; argon2 on a few hashing
//!   threads; the [`Defender`](auth::defender::Defender) (session caps and
//!   bans).
//! - [`quota`]: usage per home folder, counted rather than walked.
//! - [`limits`]: bandwidth limiters shared by a user's transfers.
//! - [`sync`]: locks a panic elsewhere cannot poison.
//!
//! Paths are [`VirtualPath`](ferry_proto::VirtualPath)s and file kinds
//! [`Kind`](ferry_proto::listing::Kind)s from `ferry-proto`, the one
//! dependency the core shares with the protocol crate.
#![warn(missing_docs)]

pub mod auth;
pub mod events;
pub mod limits;
pub mod log_escape;
pub mod quota;
pub mod services;
pub mod storage;
pub mod sync;
pub mod userfs;

pub use services::Services;
pub use userfs::{FsError, UserFs};
