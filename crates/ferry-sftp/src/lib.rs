//! SFTP, sans-IO: the file transfer protocol that runs in an SSH
//! channel (version 3, draft-ietf-secsh-filexfer-02, which OpenSSH,
//! paramiko, lftp, rclone and WinSCP all speak), with the OpenSSH
//! extensions clients use (`posix-rename`, `statvfs`, `fsync`,
//! `hardlink`, `limits`, `expand-path`).
//!
//! - [`framing::Framer`] cuts a byte stream into packets;
//! - [`Request`] is what a client asks, [`Response`] what a server
//!   answers, each with its `decode` and `encode`; [`Init`] and
//!   [`Version`] open a session;
//! - [`Attrs`] are file attributes.
//!
//! No sockets, no files, no clock: the SFTP front door of `ferryd` and
//! the `ferry` client both build on this, and it is tested alone.

pub mod attrs;
pub mod framing;
pub mod kind;
pub mod request;
pub mod response;
pub mod status;
pub mod wire;

pub use attrs::Attrs;
pub use request::{Body, Request};
pub use response::{Init, Limits, NameEntry, Response, Statvfs, Version};
pub use status::{OpenFlags, StatusCode};

/// The version this crate speaks.
pub const VERSION: u32 = 3;

/// A packet that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// It ends before its fields do.
    #[error("packet truncated")]
    Truncated,
    /// A name that is not UTF-8 where UTF-8 is needed.
    #[error("name is not UTF-8")]
    NotUtf8,
    /// A packet type this side does not know (with the request id, when
    /// there was one to answer).
    #[error("unknown packet type {kind}")]
    UnknownType {
        /// The type byte.
        kind: u8,
        /// The request id that followed it.
        id: Option<u32>,
    },
    /// A length over the limit.
    #[error("packet of {len} bytes is over the limit of {max}")]
    TooLong {
        /// The length announced.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A packet of no bytes (not even its type).
    #[error("empty packet")]
    Empty,
}
