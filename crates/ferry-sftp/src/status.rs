//! Status codes (draft-ietf-secsh-filexfer-02 §7) and open flags (§6.3).

/// A status code, as `SSH_FXP_STATUS` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCode {
    /// `SSH_FX_OK`
    Ok,
    /// `SSH_FX_EOF`: the end of a file or of a folder listing.
    Eof,
    /// `SSH_FX_NO_SUCH_FILE`
    NoSuchFile,
    /// `SSH_FX_PERMISSION_DENIED`
    PermissionDenied,
    /// `SSH_FX_FAILURE`: anything else; the message says what.
    Failure,
    /// `SSH_FX_BAD_MESSAGE`
    BadMessage,
    /// `SSH_FX_NO_CONNECTION` (client side only)
    NoConnection,
    /// `SSH_FX_CONNECTION_LOST` (client side only)
    ConnectionLost,
    /// `SSH_FX_OP_UNSUPPORTED`
    OpUnsupported,
    /// A code of a later version, kept as it came.
    Other(u32),
}

impl StatusCode {
    /// The number on the wire.
    pub fn code(self) -> u32 {
        match self {
            StatusCode::Ok => 0,
            StatusCode::Eof => 1,
            StatusCode::NoSuchFile => 2,
            StatusCode::PermissionDenied => 3,
            StatusCode::Failure => 4,
            StatusCode::BadMessage => 5,
            StatusCode::NoConnection => 6,
            StatusCode::ConnectionLost => 7,
            StatusCode::OpUnsupported => 8,
            StatusCode::Other(n) => n,
        }
    }

    /// The code of a number.
    pub fn from_code(n: u32) -> StatusCode {
        match n {
            0 => StatusCode::Ok,
            1 => StatusCode::Eof,
            2 => StatusCode::NoSuchFile,
            3 => StatusCode::PermissionDenied,
            4 => StatusCode::Failure,
            5 => StatusCode::BadMessage,
            6 => StatusCode::NoConnection,
            7 => StatusCode::ConnectionLost,
            8 => StatusCode::OpUnsupported,
            n => StatusCode::Other(n),
        }
    }
}

/// The `pflags` of `SSH_FXP_OPEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenFlags(pub u32);

impl OpenFlags {
    /// `SSH_FXF_READ`
    pub const READ: u32 = 0x01;
    /// `SSH_FXF_WRITE`
    pub const WRITE: u32 = 0x02;
    /// `SSH_FXF_APPEND`
    pub const APPEND: u32 = 0x04;
    /// `SSH_FXF_CREAT`
    pub const CREAT: u32 = 0x08;
    /// `SSH_FXF_TRUNC`
    pub const TRUNC: u32 = 0x10;
    /// `SSH_FXF_EXCL`
    pub const EXCL: u32 = 0x20;

    /// Whether `flag` is set.
    pub fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }
}
