//! Client errors, sorted into the kinds a script cares about.

use std::path::{Path, PathBuf};

use ferry_proto::Reply;

/// What went wrong, coarsely: each kind has its own exit status in the
/// `ferry` program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Could not reach the server, or the control connection broke.
    Connect,
    /// The server refused the login.
    Login,
    /// The server refused a command on a remote file or folder.
    Remote,
    /// A local file or folder could not be read or written.
    Local,
    /// A transfer broke off or was interrupted.
    Transfer,
    /// A timeout.
    Timeout,
    /// Resume refused: the two sides' common prefix differs.
    Mismatch,
}

/// A client error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Connecting failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// host:port as given.
        addr: String,
        /// The OS's reason.
        source: std::io::Error,
    },
    /// The control connection failed after connecting.
    #[error("control connection lost: {0}")]
    Io(#[from] std::io::Error),
    /// A step took too long.
    #[error("timed out {0}")]
    Timeout(&'static str),
    /// The server sent something that is not FTP.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Login refused.
    #[error("login failed: {} {}", .0.code, .0.text())]
    Login(Reply),
    /// A command got a negative reply.
    #[error("{command}: {} {}", .reply.code, .reply.text())]
    Reply {
        /// The command as sent (passwords masked).
        command: String,
        /// The server's answer.
        reply: Reply,
    },
    /// The data connection failed mid-transfer.
    #[error("transfer of {path} failed: {reason}")]
    Transfer {
        /// The remote path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A local file problem.
    #[error("{}: {source}", .path.display())]
    Local {
        /// The local path.
        path: PathBuf,
        /// The OS's reason.
        source: std::io::Error,
    },
    /// The transfer was interrupted by the user (the server got ABOR).
    #[error("interrupted")]
    Interrupted,
    /// Resume refused because the data on both sides differs.
    #[error(transparent)]
    Mismatch(#[from] crate::resume::ResumeRefused),
    /// TLS could not be set up, or the certificate was not trusted.
    #[error("TLS: {0}")]
    Tls(String),
    /// SSH could not be set up, or the connection broke (SFTP).
    #[error("SSH: {0}")]
    Ssh(String),
    /// The server's host key is not one to trust (SFTP).
    #[error("{0}")]
    HostKey(String),
    /// The SSH login was refused.
    #[error("login failed: {0}")]
    SshLogin(String),
    /// A request ferry will not make as asked (a mode that is not octal).
    #[error("{0}")]
    BadArgument(String),
    /// An SFTP request got an error status.
    #[error("{command}: {message} ({code:?})")]
    Sftp {
        /// The request and its path.
        command: String,
        /// The status.
        code: ferry_sftp::StatusCode,
        /// The server's message.
        message: String,
    },
}

impl Error {
    /// The coarse kind, for exit statuses.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Connect { .. } | Error::Io(_) | Error::Protocol(_) | Error::Tls(_) | Error::Ssh(_) | Error::HostKey(_) => {
                ErrorKind::Connect
            }
            Error::SshLogin(_) => ErrorKind::Login,
            // As FTP's `501` for the same mistake.
            Error::Sftp { .. } | Error::BadArgument(_) => ErrorKind::Remote,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Login(_) => ErrorKind::Login,
            Error::Reply { reply, .. } if reply.code == 530 => ErrorKind::Login,
            Error::Reply { .. } => ErrorKind::Remote,
            Error::Transfer { .. } | Error::Interrupted => ErrorKind::Transfer,
            Error::Local { .. } => ErrorKind::Local,
            Error::Mismatch(_) => ErrorKind::Mismatch,
        }
    }

    /// The server's reply code, when the error is a negative reply.
    pub fn reply_code(&self) -> Option<u16> {
        match self {
            Error::Reply { reply, .. } | Error::Login(reply) => Some(reply.code),
            _ => None,
        }
    }

    /// The SFTP status code (`SSH_FX_…`), for an SFTP server's refusal.
    pub fn sftp_status(&self) -> Option<u32> {
        match self {
            Error::Sftp { code, .. } => Some(code.code()),
            _ => None,
        }
    }

    /// True for failures worth retrying: the network, timeouts, and the
    /// server's transient (4xx) replies.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Io(_) | Error::Timeout(_) | Error::Transfer { .. } | Error::Ssh(_) => true,
            Error::Reply { reply, .. } => reply.class() == 4,
            _ => false,
        }
    }
}

/// Turns an I/O error on the local file `path` into [`Error::Local`].
pub(crate) fn local_at(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Local { path: path.to_owned(), source }
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
