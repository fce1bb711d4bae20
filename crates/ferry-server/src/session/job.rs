//! What a data connection carries: a download, an upload or a listing,
//! with what each needs to report how it ended.
//!
//! The core hears of every file transfer once: a download through its
//! [`DownloadGuard`] (with the bytes really sent), an upload through its
//! commit or abort. [`Job::end_unstarted`] tells it of a transfer whose
//! data connection never opened, so that nothing is left to a `Drop`.

use ferry_core::events::Failure;
use ferry_core::limits::Direction;
use ferry_core::userfs::DownloadGuard;
use tokio::sync::mpsc;

use super::stream::Stream;
use super::transfer::{self, Incoming, Pump, TransferError};
use crate::storage::{ReadHandle, StorageError};

/// The work of one data connection.
pub(crate) enum Job {
    /// `RETR`: at most `limit` bytes of `reader`, `expected` of them as far
    /// as the file's size tells (for the session list's progress).
    Download { reader: ReadHandle, limit: Option<u64>, report: DownloadGuard, expected: u64 },
    /// `STOR`, `APPE`, `STOU`.
    Upload(Incoming),
    /// `LIST`, `NLST`, `MLSD`: chunks of lines as the folder is read.
    Listing(mpsc::Receiver<Result<Vec<u8>, StorageError>>),
}

impl Job {
    /// Which bandwidth limits apply (`None`: a listing, which has none).
    pub(crate) fn direction(&self) -> Option<Direction> {
        match self {
            Job::Download { .. } => Some(Direction::Download),
            Job::Upload(_) => Some(Direction::Upload),
            Job::Listing(_) => None,
        }
    }

    /// The bytes it should move, when known: a download's, or the size an
    /// upload announced with `ALLO`.
    pub(crate) fn expected_size(&self) -> Option<u64> {
        match self {
            Job::Download { expected, .. } => Some(*expected),
            Job::Upload(incoming) => incoming.announced,
            Job::Listing(_) => None,
        }
    }

    /// Move the bytes over `sock`; returns how many moved and how it ended.
    pub(crate) async fn run(self, sock: Stream, pump: Pump) -> (u64, Result<(), TransferError>) {
        match self {
            Job::Download { reader, limit, report, expected } => {
                let (sent, result) = transfer::send_file(reader, limit, expected, sock, pump).await;
                let failure = match &result {
                    Ok(()) => None,
                    Err(TransferError::Aborted) => Some(Failure::Interrupted),
                    Err(TransferError::Data(e)) => Some(Failure::Connection(e.to_string())),
                    Err(TransferError::Storage(e)) => Some(Failure::Error(e.to_string())),
                };
                report.finish(sent, failure);
                (sent, result)
            }
            Job::Upload(incoming) => transfer::receive_file(incoming, sock, pump).await,
            Job::Listing(chunks) => transfer::send_chunks(chunks, sock, pump).await,
        }
    }

    /// The transfer ends before its data connection opened (or was even
    /// tried): an upload leaves nothing new behind, and the core is told.
    pub(crate) async fn end_unstarted(self, failure: Failure) {
        match self {
            Job::Download { report, .. } => report.finish(0, Some(failure)),
            // Ending an upload touches the disk: on the blocking pool.
            Job::Upload(incoming) => drop(tokio::task::spawn_blocking(move || incoming.upload.abort(failure)).await),
            Job::Listing(_) => {}
        }
    }
}
