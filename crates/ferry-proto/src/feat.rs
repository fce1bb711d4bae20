//! What a server says it can do: the `FEAT` reply (RFC 2389 §3.2).
//!
//! ```text
//! 211-Features:
//!  MDTM
//!  MLST type*;size*;modify*;
//!  HASH SHA-256*;SHA-1;MD5;CRC32
//! 211 End
//! ```
//!
//! Each line between the first and the last names one feature, then its
//! parameters. Names are case-insensitive; the lines are kept as sent so a
//! client can show them.

use crate::reply::Reply;

/// A parsed `FEAT` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// Every feature line, trimmed, as the server sent it.
    pub lines: Vec<String>,
}

impl Features {
    /// Parse a `211` multi-line reply; anything else (a `500` from a server
    /// without `FEAT`, a single line) means "no features".
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

    /// Algorithms offered by `HASH` (draft-bryan-ftpext-hash §5), upper-case,
    /// without the `*` that marks the selected one.
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

    #[test]
    fn parse_what_the_wire_carries() {
        let wire = b"211-Features:\r\n UTF8\r\n REST STREAM\r\n HASH sha-1;crc32*\r\n211 End\r\n";
        let mut p = crate::ReplyParser::new();
        p.feed(wire);
        let f = Features::parse(&p.next_reply().unwrap().unwrap());
        assert_eq!(f.lines, ["UTF8", "REST STREAM", "HASH sha-1;crc32*"]);
        assert_eq!(f.get("rest"), Some("STREAM"));
        assert_eq!(f.hash_algorithms(), ["SHA-1", "CRC32"]);
    }
}
