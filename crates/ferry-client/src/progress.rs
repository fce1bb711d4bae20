//! How a transfer tells its caller how far it has got. The library only
//! reports; drawing (bars, `#` marks, nothing in scripts) is the program's
//! business, behind this trait.

/// Receives a transfer's progress. Every method has a do-nothing default.
pub trait Progress: Send {
    /// A transfer of `name` starts: `total` bytes when the size is known,
    /// of which `offset` are already there (a resumed transfer).
    fn start(&mut self, name: &str, total: Option<u64>, offset: u64) {
        let _ = (name, total, offset);
    }

    /// `done` bytes moved so far by this transfer (counted after `offset`).
    fn advance(&mut self, done: u64) {
        let _ = done;
    }

    /// The transfer ended, well or not.
    fn finish(&mut self) {}
}

/// Reports nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {}
