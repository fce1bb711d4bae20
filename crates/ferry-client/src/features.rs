//! What a server says it can do (RFC 2389 `FEAT`).

use ferry_proto::Reply;

/// Parsed `FEAT` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// Every feature line, trimmed, as the server sent it.
    pub lines: Vec<String>,
}

impl Features {
    /// Parse a `211` multi-line reply; anything else means "no features".
    pub fn parse(reply: &Reply) -> Features {
        if reply.code != 211 || reply.lines.len() < 2 {
            return Features::default();
        }
        let inner = &reply.lines[1..reply.lines.len() - 1];
        Features { lines: inner.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect() }
    }

    /// The feature's parameters if the server lists it (`"MLST"` gives
    /// `Some("type*;size*;...")`, `"SIZE"` gives `Some("")`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.lines.iter().find_map(|l| {
            let (n, rest) = l.split_once(' ').unwrap_or((l.as_str(), ""));
            n.eq_ignore_ascii_case(name).then_some(rest.trim())
        })
    }

    /// True if the server lists the feature.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Algorithms offered by `HASH` (draft-bryan-ftpext-hash), without the
    /// `*` that marks the selected one.
    pub fn hash_algorithms(&self) -> Vec<String> {
        self.get("HASH")
            .map(|v| v.split(';').map(|a| a.trim_end_matches('*').to_ascii_uppercase()).filter(|a| !a.is_empty()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_feat() {
        let r = Reply::multi(
            211,
            vec!["Features:".into(), " MDTM".into(), " MLST type*;size*;".into(), " HASH SHA-256*;MD5".into(), "End".into()],
        );
        let f = Features::parse(&r);
        assert!(f.has("mdtm"));
        assert_eq!(f.get("MLST"), Some("type*;size*;"));
        assert_eq!(f.hash_algorithms(), vec!["SHA-256", "MD5"]);
        assert!(!f.has("EPSV"));
        assert_eq!(Features::parse(&Reply::new(500, "no")), Features::default());
    }
}
