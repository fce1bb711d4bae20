//! Why one delivery try failed.

/// Why one try failed, in a sentence for the log (what the receiver
/// answered, what the OS said, the command's first line of output).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DeliveryError(pub(crate) String);
