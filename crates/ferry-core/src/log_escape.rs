//! Log text that a client cannot forge. User names, paths and error texts
//! come from clients; written raw, a `USER evil\r2026-… INFO … login ok`
//! puts a line of the client's making into the log, and escape sequences
//! reach the operator's terminal. Every control character — C0, DEL and
//! C1 — is therefore written as an escape (`\r`, `\n`, `\t`, `\x1b`,
//! `\u{9b}`).
//!
//! The core's own log lines ([`crate::events::log`]) and the xferlog
//! ([`crate::events::xferlog`]) escape their fields with these; the
//! server's log formats (text and JSON) build on them too. An escaped text
//! holds no control character, so escaping it again changes nothing.

use std::fmt;

/// True for the characters escaped in logs: C0, DEL and C1 controls.
pub fn is_escaped(ch: char) -> bool {
    ch.is_control()
}

/// Write `s` to `out` with every control character escaped.
pub fn write_escaped(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    let mut rest = s;
    while let Some(at) = rest.find(is_escaped) {
        out.write_str(&rest[..at])?;
        let ch = rest[at..].chars().next().unwrap_or_default();
        match ch {
            '\r' => out.write_str("\\r")?,
            '\n' => out.write_str("\\n")?,
            '\t' => out.write_str("\\t")?,
            c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32)?,
            c => write!(out, "\\u{{{:x}}}", c as u32)?,
        }
        rest = &rest[at + ch.len_utf8()..];
    }
    out.write_str(rest)
}

/// `s` with every control character escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = write_escaped(&mut out, s);
    out
}

/// Shows a string escaped, without collecting it first: for log fields
/// (`path = %Escaped(p)`).
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "evil\r2026-12-01T00:00:00Z  INFO login ok\n\t\x1b[31mred\x07\x7f\u{9b}2J\u{85}é☃";

    #[test]
    fn every_control_character_is_escaped() {
        let e = escape(HOSTILE);
        assert_eq!(e, "evil\\r2026-12-01T00:00:00Z  INFO login ok\\n\\t\\x1b[31mred\\x07\\x7f\\u{9b}2J\\u{85}é☃");
        assert!(!e.chars().any(char::is_control));
        assert_eq!(escape("/plain/name ünï.txt"), "/plain/name ünï.txt");
    }

    #[test]
    fn escaping_twice_changes_nothing_and_display_matches() {
        let once = escape(HOSTILE);
        assert_eq!(escape(&once), once);
        assert_eq!(Escaped(HOSTILE).to_string(), once);
    }
}
