//! The `ferry` program around the library: arguments, the shell and its
//! command table, one-shot commands, progress, messages, exit statuses.
//! What transfers do to files is the library's; this is presentation.

pub(crate) mod args;
pub(crate) mod commands;
pub(crate) mod complete;
pub(crate) mod dispatch;
pub(crate) mod exit;
pub(crate) mod input;
pub(crate) mod listing;
pub(crate) mod mirror;
pub(crate) mod one_shot;
pub(crate) mod open;
pub(crate) mod progress;
pub(crate) mod sftp;
pub(crate) mod shell;
pub(crate) mod transfer;
pub(crate) mod words;
