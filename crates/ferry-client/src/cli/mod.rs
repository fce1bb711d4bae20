//! The `ferry` program around the library: arguments, the shell, one-shot
//! commands, progress, exit statuses.

pub(crate) mod args;
pub(crate) mod complete;
pub(crate) mod exit;
pub(crate) mod input;
pub(crate) mod mirror;
pub(crate) mod one_shot;
pub(crate) mod progress;
pub(crate) mod shell;
pub(crate) mod transfer;
pub(crate) mod words;
