//! Virtual paths: what a user sees, always absolute, never above `/`.
//!
//! A client names files relative to its working directory, with `.`, `..`
//! and repeated slashes. [`VirtualPath::resolve`] folds all of that away
//! lexically, clamping `..` at the root the way a chroot does. This is
//! defence in depth only: the server still opens the result beneath its root
//! with a resolver that refuses to follow anything (symlinks included) out of
//! it.

use std::fmt;

/// A normalised absolute path: starts with `/`, no `.` or `..` components,
/// no empty components, no NUL bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VirtualPath(String);

/// True for a name that is one path component and nothing more: not
/// empty, not `.` or `..`, without `/` or NUL. A listing entry that is not
/// one names somewhere else than the folder listed (a hostile server's
/// `../../.bashrc`), and must never be joined to a local path.
pub fn is_plain_name(name: &str) -> bool {
    !(name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0'))
}

impl VirtualPath {
    /// The root, `/`.
    pub fn root() -> VirtualPath {
        VirtualPath("/".to_owned())
    }

    /// Resolve `input` against this directory. Returns `None` when the input
    /// contains a NUL byte, which no file system accepts.
    pub fn resolve(&self, input: &str) -> Option<VirtualPath> {
        if input.contains('\0') {
            return None;
        }
        let mut parts: Vec<&str> = if input.starts_with('/') { Vec::new() } else { self.components().collect() };
        for comp in input.split('/') {
            match comp {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        Some(VirtualPath::from_components(&parts))
    }

    fn from_components(parts: &[&str]) -> VirtualPath {
        let mut s = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>().max(1));
        for p in parts {
            s.push('/');
            s.push_str(p);
        }
        if s.is_empty() {
            s.push('/');
        }
        VirtualPath(s)
    }

    /// The path as text, starting with `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path without its leading `/` (`""` for the root): what to hand to
    /// a resolver that works beneath a directory handle.
    pub fn relative(&self) -> &str {
        &self.0[1..]
    }

    /// True for `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The components, root first.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The parent directory; the root is its own parent.
    pub fn parent(&self) -> VirtualPath {
        let parts: Vec<&str> = self.components().collect();
        VirtualPath::from_components(&parts[..parts.len().saturating_sub(1)])
    }

    /// The last component, or `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        self.components().last()
    }

    /// This path followed by one more component.
    pub fn join(&self, name: &str) -> Option<VirtualPath> {
        if !is_plain_name(name) {
            return None;
        }
        let mut s = self.0.clone();
        if !self.is_root() {
            s.push('/');
        }
        s.push_str(name);
        Some(VirtualPath(s))
    }

    /// The path quoted for a `257` reply (RFC 959 Appendix II): in double
    /// quotes, with each embedded `"` doubled.
    pub fn quoted(&self) -> String {
        quote(&self.0)
    }
}

/// Quote a path name for a reply (RFC 959 Appendix II).
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Read the path back from a `257` reply text (the inverse of [`quote`]).
pub fn unquote_257(text: &str) -> Option<String> {
    let body = &text[text.find('"')? + 1..];
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                out.push('"');
            } else {
                return Some(out);
            }
        } else {
            out.push(c);
        }
    }
    None
}

impl fmt::Display for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_one_component() {
        for good in ["a.txt", "..hidden", "a b", "日本", "x..y"] {
            assert!(is_plain_name(good), "{good}");
        }
        for bad in ["", ".", "..", "../x", "/etc/passwd", "a/b", "a\0b"] {
            assert!(!is_plain_name(bad), "{bad:?}");
        }
    }

    fn r(cwd: &str, input: &str) -> String {
        VirtualPath::root().resolve(cwd).unwrap().resolve(input).unwrap().to_string()
    }

    #[test]
    fn dot_dot_is_clamped_at_root() {
        assert_eq!(r("/", ".."), "/");
        assert_eq!(r("/a/b", "../../../../etc/passwd"), "/etc/passwd");
        assert_eq!(r("/a", "/../../x"), "/x");
    }

    #[test]
    fn relative_absolute_and_noise() {
        assert_eq!(r("/a", "b//c/./d/"), "/a/b/c/d");
        assert_eq!(r("/a", "/z"), "/z");
        assert_eq!(r("/a/b", ".."), "/a");
        assert_eq!(r("/a", "my file.txt"), "/a/my file.txt");
        assert_eq!(r("/", "dïr/ünïcode"), "/dïr/ünïcode");
    }

    #[test]
    fn nul_is_refused() {
        assert_eq!(VirtualPath::root().resolve("a\0b"), None);
    }

    #[test]
    fn parent_and_names() {
        let p = VirtualPath::root().resolve("/a/b").unwrap();
        assert_eq!(p.parent().as_str(), "/a");
        assert_eq!(p.file_name(), Some("b"));
        assert_eq!(VirtualPath::root().parent().as_str(), "/");
        assert_eq!(p.relative(), "a/b");
        assert_eq!(VirtualPath::root().relative(), "");
        assert_eq!(VirtualPath::root().join("x").unwrap().as_str(), "/x");
        assert_eq!(p.join(".."), None);
    }

    #[test]
    fn quoting_doubles_quotes() {
        let p = VirtualPath::root().resolve("/say \"hi\"").unwrap();
        assert_eq!(p.quoted(), "\"/say \"\"hi\"\"\"");
        assert_eq!(unquote_257(&format!("{} created", p.quoted())).as_deref(), Some("/say \"hi\""));
    }
}
