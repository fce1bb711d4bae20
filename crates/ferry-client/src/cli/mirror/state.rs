//! `mirror -R --state FILE`: deploy mode. The state file remembers what
//! was uploaded — each file's size, modification time and SHA-256, and the
//! folders made — so a later run sends only what changed locally and
//! (with `--delete`) deletes what was removed, without listing or hashing
//! the remote tree. A file whose size and time match its record is not
//! even read; one whose time moved but whose SHA-256 matches is not sent.
//!
//! The state is checkpointed while files complete (at most a second
//! apart, and at the end), written to a temporary file and renamed, so a
//! deploy that is killed resumes where it stopped. A copy goes to the
//! remote root as `.ferry-state.json`, uploaded last under a temporary
//! name and renamed into place; a run that finds no local state (a fresh
//! CI runner) starts from that copy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The remote copy's name, in the remote root.
pub(crate) const REMOTE_STATE: &str = ".ferry-state.json";

/// What is known to be on the server, by relative path.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct State {
    /// Always 1, for now.
    version: u32,
    /// What it describes, `user@host:port/root`: one state file is for one
    /// target (absent in a state that has recorded nothing yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target: Option<String>,
    pub(super) files: BTreeMap<String, Record>,
    pub(super) dirs: BTreeSet<String>,
}

/// One uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) size: u64,
    /// Nanoseconds since 1970 (0: unknown).
    pub(super) mtime_ns: u128,
    pub(super) sha256: String,
}

/// `t` as nanoseconds since 1970.
pub(super) fn nanos(t: Option<SystemTime>) -> u128 {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())
}

impl State {
    pub(super) fn parse(bytes: &[u8]) -> Result<State, String> {
        let s: State = serde_json::from_slice(bytes).map_err(|e| format!("not a ferry state file: {e}"))?;
        if s.version != 1 {
            return Err(format!("state version {} is newer than this ferry understands", s.version));
        }
        Ok(s)
    }

    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut s = self.clone();
        s.version = 1;
        serde_json::to_vec_pretty(&s).unwrap_or_default()
    }

    /// The state in `path`, `None` when there is none.
    pub(super) fn load(path: &Path) -> Result<Option<State>, String> {
        match std::fs::read(path) {
            Ok(b) => State::parse(&b).map(Some).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Write to `path` through a temporary file beside it, so a reader
    /// (or a crash) sees the old state or the new, never half of one.
    pub(super) fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut temp = path.as_os_str().to_owned();
        temp.push(".tmp");
        let temp = PathBuf::from(temp);
        std::fs::write(&temp, self.to_bytes())?;
        std::fs::File::open(&temp)?.sync_all()?;
        std::fs::rename(&temp, path)
    }
}

/// The state being updated while a deploy runs, saved at most
/// [`CHECKPOINT_EVERY`] apart.
pub(super) struct Checkpoint {
    path: PathBuf,
    inner: Mutex<(State, Instant)>,
}

/// How far apart checkpoints are, at most, while files complete.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

impl Checkpoint {
    pub(super) fn new(path: PathBuf, state: State) -> Checkpoint {
        Checkpoint { path, inner: Mutex::new((state, Instant::now())) }
    }

    /// `rel` is on the server now, as `record` says.
    pub(super) fn record(&self, rel: &str, record: Record) {
        let Ok(mut g) = self.inner.lock() else { return };
        g.0.files.insert(rel.to_owned(), record);
        if g.1.elapsed() >= CHECKPOINT_EVERY {
            if let Err(e) = g.0.save(&self.path) {
                eprintln!("ferry: {}: {e}", self.path.display());
            }
            g.1 = Instant::now();
        }
    }

    /// `rel` may no longer be as recorded (its upload failed).
    pub(super) fn forget(&self, rel: &str) {
        if let Ok(mut g) = self.inner.lock() {
            g.0.files.remove(rel);
        }
    }

    /// Change the state without saving (folders made, files deleted).
    pub(super) fn update(&self, f: impl FnOnce(&mut State)) {
        if let Ok(mut g) = self.inner.lock() {
            f(&mut g.0);
        }
    }

    /// Save now; the state as saved.
    pub(super) fn finish(&self) -> Result<State, String> {
        let g = self.inner.lock().map_err(|_| "the state was poisoned".to_owned())?;
        g.0.save(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        Ok(g.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_atomic_save() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("st.json");
        let mut s = State::default();
        s.files.insert("a/b.txt".into(), Record { size: 3, mtime_ns: 42, sha256: "ab".into() });
        s.dirs.insert("a".into());
        s.save(&path).unwrap();
        let back = State::load(&path).unwrap().unwrap();
        assert_eq!(back.files, s.files);
        assert_eq!(back.dirs, s.dirs);
        assert!(!dir.path().join("st.json.tmp").exists());
        assert_eq!(State::load(&dir.path().join("none")).unwrap(), None);
        std::fs::write(&path, b"{\"version\":2,\"files\":{},\"dirs\":[]}").unwrap();
        assert!(State::load(&path).unwrap_err().contains("newer"));
    }

    #[test]
    fn checkpoints_are_saved_as_files_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("st.json");
        let cp = Checkpoint::new(path.clone(), State::default());
        cp.record("x", Record { size: 1, mtime_ns: 0, sha256: "00".into() });
        std::thread::sleep(CHECKPOINT_EVERY);
        cp.record("y", Record { size: 1, mtime_ns: 0, sha256: "00".into() });
        let saved = State::load(&path).unwrap().unwrap();
        assert_eq!(saved.files.len(), 2);
        assert_eq!(cp.finish().unwrap().files.len(), 2);
    }
}
