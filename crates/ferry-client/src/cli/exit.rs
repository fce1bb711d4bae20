//! Exit statuses, so scripts can tell failures apart. Documented in the
//! README and in `ferry --help`.

use ferry_client::ErrorKind;

/// Every command succeeded.
pub(crate) const OK: u8 = 0;
/// Something else failed.
pub(crate) const OTHER: u8 = 1;
/// Bad command line or shell command.
pub(crate) const USAGE: u8 = 2;
/// Could not connect, connection lost, or timed out.
pub(crate) const CONNECT: u8 = 3;
/// Login refused.
pub(crate) const LOGIN: u8 = 4;
/// The server refused an operation on a remote file or folder.
pub(crate) const REMOTE: u8 = 5;
/// A local file or folder could not be read or written.
pub(crate) const LOCAL: u8 = 6;
/// A transfer failed or was interrupted.
pub(crate) const TRANSFER: u8 = 7;
/// Resume refused: the partial file does not match the other side.
pub(crate) const MISMATCH: u8 = 8;

/// The exit status for an error kind.
pub(crate) fn for_kind(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Connect | ErrorKind::Timeout => CONNECT,
        ErrorKind::Login => LOGIN,
        ErrorKind::Remote => REMOTE,
        ErrorKind::Local => LOCAL,
        ErrorKind::Transfer => TRANSFER,
        ErrorKind::Mismatch => MISMATCH,
    }
}

/// Text for `--help`.
pub(crate) const HELP: &str = "Exit status: 0 all commands succeeded, 1 other failure, 2 usage, 3 connection or timeout, \
4 login refused, 5 remote file error, 6 local file error, 7 transfer failed or interrupted, 8 resume refused (data differs).";

#[allow(dead_code)]
const _: u8 = OK + OTHER;
