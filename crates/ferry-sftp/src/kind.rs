//! Packet type numbers (draft-ietf-secsh-filexfer-02 §3).

/// `SSH_FXP_INIT`
pub const INIT: u8 = 1;
/// `SSH_FXP_VERSION`
pub const VERSION: u8 = 2;
/// `SSH_FXP_OPEN`
pub const OPEN: u8 = 3;
/// `SSH_FXP_CLOSE`
pub const CLOSE: u8 = 4;
/// `SSH_FXP_READ`
pub const READ: u8 = 5;
/// `SSH_FXP_WRITE`
pub const WRITE: u8 = 6;
/// `SSH_FXP_LSTAT`
pub const LSTAT: u8 = 7;
/// `SSH_FXP_FSTAT`
pub const FSTAT: u8 = 8;
/// `SSH_FXP_SETSTAT`
pub const SETSTAT: u8 = 9;
/// `SSH_FXP_FSETSTAT`
pub const FSETSTAT: u8 = 10;
/// `SSH_FXP_OPENDIR`
pub const OPENDIR: u8 = 11;
/// `SSH_FXP_READDIR`
pub const READDIR: u8 = 12;
/// `SSH_FXP_REMOVE`
pub const REMOVE: u8 = 13;
/// `SSH_FXP_MKDIR`
pub const MKDIR: u8 = 14;
/// `SSH_FXP_RMDIR`
pub const RMDIR: u8 = 15;
/// `SSH_FXP_REALPATH`
pub const REALPATH: u8 = 16;
/// `SSH_FXP_STAT`
pub const STAT: u8 = 17;
/// `SSH_FXP_RENAME`
pub const RENAME: u8 = 18;
/// `SSH_FXP_READLINK`
pub const READLINK: u8 = 19;
/// `SSH_FXP_SYMLINK`
pub const SYMLINK: u8 = 20;
/// `SSH_FXP_STATUS`
pub const STATUS: u8 = 101;
/// `SSH_FXP_HANDLE`
pub const HANDLE: u8 = 102;
/// `SSH_FXP_DATA`
pub const DATA: u8 = 103;
/// `SSH_FXP_NAME`
pub const NAME: u8 = 104;
/// `SSH_FXP_ATTRS`
pub const ATTRS: u8 = 105;
/// `SSH_FXP_EXTENDED`
pub const EXTENDED: u8 = 200;
/// `SSH_FXP_EXTENDED_REPLY`
pub const EXTENDED_REPLY: u8 = 201;
