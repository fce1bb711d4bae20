//! The two sides of a mirror as trees of relative paths, and when a copy
//! is up to date.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::time::{Duration, SystemTime};

use ferry_client::{Error, Session};
use ferry_proto::listing::Kind;

use super::Options;
use super::filter::Filter;

/// A file on either side: size and modification time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    pub(super) size: u64,
    pub(super) modified: Option<SystemTime>,
}

/// A tree: relative path → `None` for folders, `Some(meta)` for files.
pub(super) type Tree = BTreeMap<String, Option<Meta>>;

/// `base/rel`, where either may be empty.
pub(super) fn join(base: &str, rel: &str) -> String {
    match (base, rel) {
        (b, "") => b.to_owned(),
        ("" | ".", r) => r.to_owned(),
        (b, r) if b.ends_with('/') => format!("{b}{r}"),
        (b, r) => format!("{b}/{r}"),
    }
}

/// The remote tree under `root`, leaving out (and not entering) what
/// `filter` excludes.
pub(super) async fn remote_tree(client: &mut Session, root: &str, filter: &Filter) -> Result<Tree, Error> {
    let mut tree = Tree::new();
    let mut queue = VecDeque::from([String::new()]);
    while let Some(rel) = queue.pop_front() {
        let dir = join(root, &rel);
        for e in client.list(Some(&dir)).await? {
            // A name that is a path (`../../.bashrc`, `/etc/x`) would be
            // written outside the local root: never followed.
            if !ferry_proto::path::is_plain_name(&e.name) {
                let (name, dir) = (super::super::listing::printable(&e.name), super::super::listing::printable(&dir));
                eprintln!("ferry: mirror: the server listed \"{name}\" in {dir}, which is not a file name; left out");
                continue;
            }
            let path = join(&rel, &e.name);
            match e.kind {
                Kind::Dir if !filter.excludes(&path, true) => {
                    tree.insert(path.clone(), None);
                    queue.push_back(path);
                }
                Kind::File if !filter.excludes(&path, false) => {
                    tree.insert(path, Some(Meta { size: e.size, modified: e.modified }));
                }
                _ => {}
            }
        }
    }
    Ok(tree)
}

/// The local tree under `root`, the same way.
pub(super) fn local_tree(root: &Path, filter: &Filter) -> std::io::Result<Tree> {
    let mut tree = Tree::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(root.join(&rel))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let path = join(&rel, &name);
            let meta = e.metadata()?;
            if meta.is_dir() && !filter.excludes(&path, true) {
                tree.insert(path.clone(), None);
                stack.push(path);
            } else if meta.is_file() && !filter.excludes(&path, false) {
                tree.insert(path, Some(Meta { size: meta.len(), modified: meta.modified().ok() }));
            }
        }
    }
    Ok(tree)
}

/// True when `dest` is newer than `src` (by more than the second of
/// slack), both times known.
pub(super) fn newer(dest: &Meta, src: &Meta) -> bool {
    matches!((src.modified, dest.modified), (Some(s), Some(t)) if t > s + Duration::from_secs(1))
}

/// True when the copy `dest` need not be sent again: the same size and at
/// least as new (a second of slack for servers that keep whole seconds),
/// or, with `only_newer`, newer whatever its size. A copy with no time
/// is never up to date. (`--checksum` decides for same-size copies by
/// content instead: see `checksum.rs`.)
pub(super) fn up_to_date(src: Meta, dest: Option<&Option<Meta>>, o: &Options) -> bool {
    let Some(Some(d)) = dest else { return false };
    if o.all {
        return false;
    }
    match (src.modified, d.modified) {
        _ if o.only_newer && newer(d, &src) => true,
        (Some(s), Some(t)) => d.size == src.size && t + Duration::from_secs(1) >= s,
        _ => false,
    }
}
