//! Sans-IO core of the FTP protocol, shared by the `ferryd` server and the
//! `ferry` client.
//!
//! Nothing in this crate touches a socket, a file or a clock: every function
//! takes bytes (or a time) in and gives values out, so it can be unit-tested,
//! property-tested and fuzzed without a network.
//!
//! # Layout
//!
//! - [`line`]: framing of the control connection into command lines, with a
//!   length cap and Telnet IAC handling (RFC 959 §4.1.3, RFC 854).
//! - [`command`]: the [`Command`] grammar — parsed by the server, printed by
//!   the client.
//! - [`reply`]: reply codes, single and multi-line [`Reply`] encoding, and an
//!   incremental [`ReplyParser`] for clients.
//! - [`addr`]: the `PORT`/`PASV` (RFC 959) and `EPRT`/`EPSV` (RFC 2428)
//!   host-port codecs.
//! - [`path`]: [`VirtualPath`], a normalised absolute path that can never climb
//!   above `/`.
//! - [`listing`]: `LIST` lines in `ls -l` form and `MLSx` fact lines
//!   (RFC 3659 §7), both written and parsed, and whole `LIST` bodies read.
//! - [`feat`]: the `FEAT` reply read into [`Features`] (RFC 2389).
//! - [`hash`]: the `HASH` reply's text, written and read
//!   (draft-bryan-ftpext-hash).
//! - [`pace`]: the bandwidth [`RateLimiter`](pace::RateLimiter), told the
//!   time and answering how long to wait.
//! - [`time`]: `MDTM`/`MFMT`/`modify=` timestamps (RFC 3659 §2.3).
//! - [`ascii`]: `TYPE A` line-end conversion in both directions.
//! - [`glob`]: shell-style wildcards for `NLST *.txt`.
#![warn(missing_docs)]

pub mod addr;
pub mod ascii;
pub mod command;
pub mod feat;
pub mod glob;
pub mod hash;
pub mod line;
pub mod listing;
pub mod pace;
pub mod path;
pub mod proxy;
pub mod reply;
pub mod time;

#[doc(hidden)]
pub mod fuzzing;

pub use command::{Command, ParseError};
pub use feat::Features;
pub use line::{LineDecoder, LineError};
pub use path::VirtualPath;
pub use reply::{Reply, ReplyParser};
