//! The xferlog transfer log (wu-ftpd's format, as vsftpd and ProFTPD
//! write it): a subscriber of the core's event stream, written by
//! [`ferry_core::events::xferlog`]. Re-exported here under its old path.

pub use ferry_core::events::xferlog::*;
