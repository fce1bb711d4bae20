//! The core below every Ferry front door: what a file-transfer service is
//! made of, whichever protocol a client speaks. It knows nothing of FTP
//! (its errors carry no reply codes; each front door maps them).
//!
//! # Layout
//!
//! - [`storage`]: the [`Storage`](storage::Storage) trait and its backends
//!   (a local folder confined with `cap-std`, and an S3 bucket behind the
//!   `s3` feature), with atomic uploads, reads and writes at any offset,
//!   and typed errors.
//! - [`userfs`]: [`UserFs`], one logged-in user's view over storage — home,
//!   permissions, names, quotas, uploads in progress, bandwidth — with
//!   typed refusals ([`FsError`]). Every front door goes through it.
//! - [`services`]: [`Services`], what a server holds for all its sessions
//!   (the storage root, quota ledgers, upload claims, rate limiters, the
//!   event bus, the session registry), and applies reloads to.
//! - [`sessions`]: who is connected through every front door, what each
//!   is transferring, and how an administrator ends one.
//! - [`events`]: typed events emitted after the fact (logins, uploads once
//!   committed, downloads, deletions, renames, folders, bans) and their
//!   subscribers: the log, the xferlog, the Prometheus metrics.
//! - [`auth`]: accounts. An [`AccountStore`](auth::store::AccountStore)
//!   (the users file, or PostgreSQL behind the `postgres` feature) below one
//!   password authenticator with the login cache, equal-time verification,
//!   anonymous rules and per-user settings; argon2 on a few hashing
//!   threads; the [`Defender`](auth::defender::Defender) (session caps and
//!   bans).
//! - [`admin`]: admin accounts and their tokens, for the admin API and
//!   the web admin, apart from the FTP accounts.
//! - [`quota`]: usage per home folder, counted rather than walked.
//! - [`limits`]: bandwidth limiters shared by a user's transfers, and the
//!   server's set of them.
//! - [`log_escape`]: control characters from clients escaped in every log.
//! - [`sync`]: locks a panic elsewhere cannot poison.
//!
//! # How a front door plugs in
//!
//! A server builds one [`Services`] (with an [`events::Events`] bus its
//! subscribers listen on) and one authenticator. A session that logs in
//! with an [`auth::Account`] opens a [`UserFs`] for it with its
//! [`events::SessionInfo`] (id, protocol, peer), emits the login event,
//! and from then on maps each request to a `UserFs` call and each
//! [`FsError`] to a reply of its own protocol. Uploads and downloads come
//! back as handles that charge the quota as bytes are written and emit
//! their event when they end.
//!
//! Paths are [`VirtualPath`](ferry_proto::VirtualPath)s and file kinds
//! [`Kind`](ferry_proto::listing::Kind)s from `ferry-proto`, the one
//! dependency the core shares with the protocol crate.
#![warn(missing_docs)]

pub mod admin;
pub mod auth;
mod claims;
pub mod events;
pub mod gate;
pub mod limits;
pub mod log_escape;
pub mod quota;
pub mod services;
pub mod sessions;
pub mod storage;
pub mod sync;
pub mod userfs;

pub use services::Services;
pub use userfs::{FsError, UserFs};
