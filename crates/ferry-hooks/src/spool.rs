//! The durable spool: one file per (event, hook) still to deliver, in one
//! folder, so that nothing is lost to a receiver that is down or a server
//! that restarts.
//!
//! A file is written whole or not at all — to a hidden temporary name,
//! flushed to disk, renamed into place, and the folder flushed so the
//! rename itself survives a power cut — before the session that caused the
//! event sends its final reply. It is removed once its hook has taken the
//! event, and moved to `dead/` when its hook would not take it in time.
//!
//! # Layout
//!
//! ```text
//! <spool>/<created-ns>-<event id>-<n>.event      waiting (n: which hook of the event)
//! <spool>/.tmp-<...>                             being written (removed at start)
//! <spool>/dead/<created-ns>-<event id>-<n>.event given up on
//! ```
//!
//! Each file is a header line, `{"hook":"<name>"}`, then the event's JSON
//! exactly as it is delivered (so that a signature over it never changes
//! between tries). Names start with the time, so a listing sorted by name
//! is the order the events happened in.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

const SUFFIX: &str = ".event";
const TEMP_PREFIX: &str = ".tmp-";

/// The spool folder.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
}

/// One spooled delivery, read back.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The hook it is for.
    pub(crate) hook: String,
    /// The event's JSON, as delivered.
    pub(crate) body: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    hook: String,
}

impl Spool {
    /// Open (and create) the spool at `dir`, clearing what a crash left
    /// half-written.
    pub(crate) fn open(dir: &Path) -> io::Result<Spool> {
        fs::create_dir_all(dir)?;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(Spool { dir: dir.to_path_buf() })
    }

    /// The folder of what could not be delivered.
    pub(crate) fn dead_dir(&self) -> PathBuf {
        self.dir.join("dead")
    }

    /// Spool `body` for `hook`; returns the file's path.
    pub(crate) fn write(&self, hook: &str, n: usize, id: &str, created: SystemTime, body: &[u8]) -> io::Result<PathBuf> {
        let nanos = created.duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let name = format!("{nanos:020}-{id}-{n}{SUFFIX}");
        let temp = self.dir.join(format!("{TEMP_PREFIX}{name}"));
        let path = self.dir.join(&name);
        let written = (|| {
            let mut f = File::create(&temp)?;
            let mut header = serde_json::to_vec(&Header { hook: hook.into() }).map_err(io::Error::other)?;
            header.push(b'\n');
            f.write_all(&header)?;
            f.write_all(body)?;
            f.sync_all()?;
            fs::rename(&temp, &path)?;
            sync_dir(&self.dir)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written.map(|()| path)
    }

    /// Every file waiting, oldest first.
    pub(crate) fn pending(&self) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(SUFFIX) && !name.starts_with('.') && entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    }

    /// Read a spooled delivery back.
    pub(crate) fn read(path: &Path) -> io::Result<Entry> {
        let bytes = fs::read(path)?;
        let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("{} is not a spooled event", path.display()));
        let split = bytes.iter().position(|&b| b == b'\n').ok_or_else(bad)?;
        let header: Header = serde_json::from_slice(&bytes[..split]).map_err(|_| bad())?;
        Ok(Entry { hook: header.hook, body: bytes[split + 1..].to_vec() })
    }

    /// Delivered: forget it.
    pub(crate) fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)?;
        sync_dir(&self.dir)
    }

    /// Given up on: move it to `dead/`; returns where it went.
    pub(crate) fn bury(&self, path: &Path) -> io::Result<PathBuf> {
        let dead = self.dead_dir();
        fs::create_dir_all(&dead)?;
        let to = dead.join(path.file_name().unwrap_or_default());
        fs::rename(path, &to)?;
        sync_dir(&dead)?;
        sync_dir(&self.dir)?;
        Ok(to)
    }
}

/// When the event of a spool file happened, from its name.
pub(crate) fn created(path: &Path) -> Option<SystemTime> {
    let name = path.file_name()?.to_str()?;
    let nanos: u64 = name.split('-').next()?.parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// Flush a folder, so that a rename in it survives a power cut.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_read_back_in_order_and_move_to_dead() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let second = spool.write("b", 1, "id2", t + Duration::from_millis(1), b"{\"n\":2}").unwrap();
        let first = spool.write("a \"quoted\"\nname", 0, "id1", t, b"{\"n\":1}").unwrap();
        assert_eq!(spool.pending().unwrap(), [first.clone(), second.clone()]);
        let e = Spool::read(&first).unwrap();
        assert_eq!((e.hook.as_str(), e.body.as_slice()), ("a \"quoted\"\nname", &b"{\"n\":1}"[..]));
        assert_eq!(created(&first), Some(t));
        let dead = spool.bury(&first).unwrap();
        assert_eq!(dead, dir.path().join("dead").join(first.file_name().unwrap()));
        assert_eq!(Spool::read(&dead).unwrap().body, b"{\"n\":1}");
        spool.remove(&second).unwrap();
        assert!(spool.pending().unwrap().is_empty(), "dead/ is not pending");
    }

    #[test]
    fn half_written_files_are_cleared_at_open() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".tmp-1-x-0.event"), b"half").unwrap();
        fs::write(dir.path().join("README"), b"not ours").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert!(spool.pending().unwrap().is_empty());
        assert!(!dir.path().join(".tmp-1-x-0.event").exists());
        assert!(dir.path().join("README").exists(), "only our temporary files go");
    }
}
