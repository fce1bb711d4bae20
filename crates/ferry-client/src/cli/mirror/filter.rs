//! What a mirror leaves out: `--exclude GLOB` and `--include GLOB`
//! (repeatable), after the patterns of a `.ferryignore` at the top of the
//! source tree, all in gitignore's syntax: `/build/` only at the top,
//! `build/` any folder so named, `*.log` anywhere, `!keep.log` back in;
//! the last pattern that matches decides. Excluded folders are not
//! entered, and what is excluded is neither sent nor, with `--delete`,
//! removed from the other side (as rsync does without
//! `--delete-excluded`).

use std::path::Path;

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The file in the source tree whose patterns come first.
pub(crate) const IGNORE_FILE: &str = ".ferryignore";

/// One pattern from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rule {
    Exclude(String),
    Include(String),
}

/// The patterns, compiled.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    rules: Option<Gitignore>,
}

impl Filter {
    /// The rules of `ignore_file` (when it exists), then `rules` in order.
    /// An empty pattern is an error: it would select nothing, and with
    /// `--delete` that has meant "delete everything" elsewhere.
    pub(crate) fn new(rules: &[Rule], ignore_file: Option<&Path>) -> Result<Filter, String> {
        let has_file = ignore_file.is_some_and(Path::is_file);
        if rules.is_empty() && !has_file {
            return Ok(Filter::default());
        }
        let mut b = GitignoreBuilder::new("/");
        if let Some(f) = ignore_file.filter(|_| has_file)
            && let Some(e) = b.add(f)
        {
            return Err(format!("{}: {e}", f.display()));
        }
        for rule in rules {
            let (option, pattern) = match rule {
                Rule::Exclude(p) => ("--exclude", p.as_str()),
                Rule::Include(p) => ("--include", p.as_str()),
            };
            if pattern.trim().is_empty() {
                return Err(format!("{option} needs a pattern; an empty one would match nothing (to send everything, leave {option} out)"));
            }
            let line = match rule {
                Rule::Exclude(p) => p.clone(),
                Rule::Include(p) => format!("!{p}"),
            };
            b.add_line(None, &line).map_err(|e| format!("{option} {pattern:?}: {e}"))?;
        }
        let rules = b.build().map_err(|e| e.to_string())?;
        Ok(Filter { rules: Some(rules) })
    }

    /// True when `rel` or a folder it lies in is left out: for paths that
    /// were not found by walking the tree (a deploy state's), whose parents
    /// were not checked on the way down.
    pub(crate) fn excludes_path(&self, rel: &str, is_dir: bool) -> bool {
        let Some(g) = &self.rules else { return false };
        matches!(g.matched_path_or_any_parents(rel, is_dir), Match::Ignore(_))
    }

    /// True when the relative path `rel` (a folder when `is_dir`) is left
    /// out.
    pub(crate) fn excludes(&self, rel: &str, is_dir: bool) -> bool {
        let Some(g) = &self.rules else { return false };
        matches!(g.matched(rel, is_dir), Match::Ignore(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(rules: &[Rule]) -> Filter {
        Filter::new(rules, None).unwrap()
    }

    #[test]
    fn anchoring_as_in_gitignore() {
        let f = filter(&[Rule::Exclude("/build/".into()), Rule::Exclude("*.log".into())]);
        assert!(f.excludes("build", true));
        assert!(!f.excludes("src/build", true), "/build/ is only at the top");
        assert!(!f.excludes("build", false), "a trailing / means folders only");
        assert!(f.excludes("a.log", false) && f.excludes("deep/down/b.log", false));
        assert!(!f.excludes("a.txt", false));
    }

    #[test]
    fn the_last_match_decides_and_include_brings_back() {
        let f = filter(&[Rule::Exclude("*.log".into()), Rule::Include("keep.log".into())]);
        assert!(f.excludes("x.log", false));
        assert!(!f.excludes("keep.log", false) && !f.excludes("sub/keep.log", false));
    }

    #[test]
    fn paths_in_excluded_folders() {
        let f = filter(&[Rule::Exclude("config/".into())]);
        assert!(f.excludes_path("config/local.php", false) && !f.excludes("config/local.php", false));
        assert!(!f.excludes_path("src/local.php", false));
    }

    #[test]
    fn empty_patterns_are_refused() {
        let e = Filter::new(&[Rule::Exclude(String::new())], None).unwrap_err();
        assert!(e.contains("--exclude needs a pattern"), "{e}");
        assert!(Filter::new(&[Rule::Include("  ".into())], None).is_err());
    }

    #[test]
    fn the_ignore_file_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(IGNORE_FILE);
        std::fs::write(&file, "# comment\nnode_modules/\n*.tmp\n").unwrap();
        let f = Filter::new(&[Rule::Include("important.tmp".into())], Some(&file)).unwrap();
        assert!(f.excludes("node_modules", true) && f.excludes("web/node_modules", true));
        assert!(f.excludes("x.tmp", false) && !f.excludes("important.tmp", false));
        assert!(!Filter::new(&[], Some(&dir.path().join("missing"))).unwrap().excludes("x.tmp", false));
    }
}
