//! Downloads in progress: the `NAME.ferry-part` file (a suffix of ferry's
//! own, so that a user's or a browser's `NAME.part` is never taken for one,
//! continued or removed).
//!
//! A new download is written to `NAME.ferry-part` beside the name it will have,
//! and moved to that name only once it is complete and flushed. When it
//! breaks off (Ctrl-C, a dropped connection, a killed `ferry`), the
//! `.ferry-part` file stays where it is, and the next `get` of the same file, or
//! `reget`, checks it against the remote file and continues it, as
//! lftp's `get -c` and browsers do. Nothing incomplete ever carries the
//! final name.
//!
//! The final name is taken with `renameat2(RENAME_NOREPLACE)`, so a file
//! that appeared under it meanwhile is never replaced (the seed's
//! promise): the copy goes to the next free `new_` name instead. File
//! systems without that flag get a hard link and an unlink, which fail
//! the same way when the name is taken.

use std::io;
use std::path::{Path, PathBuf};

use crate::local::{MAX_NEW_NAMES, new_name};

/// What a download in progress adds to its final name.
pub const PART_SUFFIX: &str = ".ferry-part";

/// The file a download to `dest` is written to until it is complete.
pub fn part_name(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(PART_SUFFIX);
    dest.with_file_name(name)
}

/// The hidden file a segmented download is written to: its segments
/// leave holes until all are in, so it is never continued, and a killed
/// one is no `.ferry-part`. The process id keeps two ferrys apart.
pub fn segments_name(dest: &Path) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dest.with_file_name(format!(".{name}.ferry-{}.segments", std::process::id()))
}

/// The names a download of `name` may be saved under, in order: the
/// name itself, then `new_NAME`, `new1_NAME`, …
fn candidates(name: &str) -> impl Iterator<Item = String> + '_ {
    std::iter::once(name.to_owned()).chain((0..MAX_NEW_NAMES).map(move |n| new_name(name, n)))
}

/// `dir/name` keeping a bare name bare (`a.txt`, not `./a.txt`).
fn join(dir: &Path, name: &str) -> PathBuf {
    if dir == Path::new(".") { PathBuf::from(name) } else { dir.join(name) }
}

/// The first of `name`'s candidate names in `dir` that no file holds.
pub fn first_free(dir: &Path, name: &str) -> io::Result<PathBuf> {
    candidates(name).map(|c| join(dir, &c)).find(|p| std::fs::symlink_metadata(p).is_err()).ok_or_else(|| names_ran_out(name))
}

fn names_ran_out(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{name} and {MAX_NEW_NAMES} \"new\" names beside it all exist; remove some or use --overwrite"),
    )
}

/// Move the complete `part` to `dest`. With `replace`, a file at `dest`
/// is replaced (atomically: `rename`). Without, `dest` and then the later
/// `new_` names of `name` are tried until one is free. Returns where the
/// file went.
pub fn move_into_place(part: &Path, dest: &Path, name: &str, replace: bool) -> io::Result<PathBuf> {
    if replace {
        std::fs::rename(part, dest)?;
        return Ok(dest.to_owned());
    }
    let dir = crate::local::parent_dir(dest);
    let first = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for candidate in candidates(name).skip_while(|c| *c != first) {
        let to = join(dir, &candidate);
        match rename_no_replace(part, &to) {
            Ok(()) => return Ok(to),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(names_ran_out(name))
}

/// Rename `from` to `to` unless `to` exists (then `AlreadyExists`).
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => return Ok(()),
        Err(e) if e == rustix::io::Errno::EXIST => return Err(io::Error::from(io::ErrorKind::AlreadyExists)),
        // Not offered here (some network and FUSE file systems): below.
        Err(e) if [rustix::io::Errno::INVAL, rustix::io::Errno::NOSYS, rustix::io::Errno::OPNOTSUPP].contains(&e) => {}
        Err(e) => return Err(e.into()),
    }
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // No hard links either (FAT, say): check, then rename. Only here
        // can a file that appears in between be replaced.
        Err(_) if std::fs::symlink_metadata(to).is_ok() => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
        Err(_) => std::fs::rename(from, to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_part_name_is_beside_the_final_one() {
        assert_eq!(part_name(Path::new("a.txt")), PathBuf::from("a.txt.ferry-part"));
        assert_eq!(part_name(Path::new("d/new_a.txt")), PathBuf::from("d/new_a.txt.ferry-part"));
    }

    #[test]
    fn a_complete_part_never_replaces_a_file_that_appeared() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.txt.ferry-part"), b"new copy").unwrap();
        // Someone else created the final name, and new_, while it ran.
        std::fs::write(d.join("a.txt"), b"theirs").unwrap();
        std::fs::write(d.join("new_a.txt"), b"theirs too").unwrap();
        let went = move_into_place(&d.join("a.txt.ferry-part"), &d.join("a.txt"), "a.txt", false).unwrap();
        assert_eq!(went, d.join("new1_a.txt"));
        assert_eq!(std::fs::read(d.join("a.txt")).unwrap(), b"theirs");
        assert_eq!(std::fs::read(d.join("new_a.txt")).unwrap(), b"theirs too");
        assert_eq!(std::fs::read(&went).unwrap(), b"new copy");
        assert!(!d.join("a.txt.ferry-part").exists());
    }

    #[test]
    fn replacing_on_purpose_and_free_names() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("b"), b"old").unwrap();
        assert_eq!(first_free(d, "b").unwrap(), d.join("new_b"));
        assert_eq!(first_free(d, "c").unwrap(), d.join("c"));
        std::fs::write(d.join("b.ferry-part"), b"fresh").unwrap();
        assert_eq!(move_into_place(&d.join("b.ferry-part"), &d.join("b"), "b", true).unwrap(), d.join("b"));
        assert_eq!(std::fs::read(d.join("b")).unwrap(), b"fresh");
    }
}
