//! Replies: three-digit codes with one or more lines of text (RFC 959 §4.2).
//!
//! A single-line reply is `123 text`. A multi-line reply opens with `123-`,
//! may carry any lines in between, and closes with a line `123 ` carrying the
//! same code. A middle line that itself starts with three digits and a space
//! would end the reply early, so the encoder indents it by one space.

use crate::line::LineDecoder;

/// Named reply codes, so handlers read like the RFC.
#[allow(missing_docs)]
pub mod code {
    pub const RESTART_MARKER: u16 = 110;
    pub const OPENING_DATA: u16 = 150;
    pub const OK: u16 = 200;
    pub const SUPERFLUOUS: u16 = 202;
    pub const SYSTEM_STATUS: u16 = 211;
    pub const DIRECTORY_STATUS: u16 = 212;
    pub const FILE_STATUS: u16 = 213;
    pub const HELP: u16 = 214;
    pub const SYSTEM_TYPE: u16 = 215;
    pub const READY: u16 = 220;
    pub const CLOSING: u16 = 221;
    pub const DATA_OPEN_NO_TRANSFER: u16 = 225;
    pub const CLOSING_DATA: u16 = 226;
    pub const PASSIVE: u16 = 227;
    pub const EXTENDED_PASSIVE: u16 = 229;
    pub const LOGGED_IN: u16 = 230;
    /// RFC 2228/4217: `AUTH TLS` accepted; the handshake follows.
    pub const AUTH_OK: u16 = 234;
    pub const FILE_ACTION_OK: u16 = 250;
    pub const PATH_CREATED: u16 = 257;
    pub const NEED_PASSWORD: u16 = 331;
    pub const PENDING: u16 = 350;
    pub const NOT_AVAILABLE: u16 = 421;
    pub const CANT_OPEN_DATA: u16 = 425;
    pub const TRANSFER_ABORTED: u16 = 426;
    pub const FILE_BUSY: u16 = 450;
    pub const LOCAL_ERROR: u16 = 451;
    pub const INSUFFICIENT_STORAGE: u16 = 452;
    pub const SYNTAX_ERROR: u16 = 500;
    pub const ARG_SYNTAX_ERROR: u16 = 501;
    pub const NOT_IMPLEMENTED: u16 = 502;
    pub const BAD_SEQUENCE: u16 = 503;
    pub const PARAM_NOT_IMPLEMENTED: u16 = 504;
    pub const NOT_LOGGED_IN: u16 = 530;
    pub const FILE_UNAVAILABLE: u16 = 550;
    pub const PAGE_TYPE_UNKNOWN: u16 = 551;
    pub const EXCEEDED_STORAGE: u16 = 552;
    pub const BAD_FILE_NAME: u16 = 553;
    /// RFC 3659 §5.4: a restart point (`REST`) the file does not reach.
    pub const BAD_RESTART: u16 = 554;
    /// RFC 4217 §9: data connections must be protected (`PROT P`) first.
    pub const PROTECTION_REQUIRED: u16 = 521;
    /// RFC 2428 §3: `EPRT`/`EPSV` asked for a network protocol we do not
    /// serve (the reply names the one we do).
    pub const NET_PROTOCOL_NOT_SUPPORTED: u16 = 522;
    /// RFC 4217 §10: the data connection's TLS failed (or would not resume
    /// the login's session).
    pub const DATA_TLS_FAILED: u16 = 522;
    /// RFC 2228: refused for policy reasons (TLS required, `CCC` refused).
    pub const POLICY_DENIED: u16 = 534;
    /// RFC 2228: the `PROT` level is not supported.
    pub const PROT_NOT_SUPPORTED: u16 = 536;
}

/// A reply: a code and at least one line of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code, 100..=599.
    pub code: u16,
    /// The text lines. For a multi-line reply the first and last lines are
    /// the text after `123-` and `123 `; the lines between are verbatim.
    pub lines: Vec<String>,
}

impl Reply {
    /// A single-line reply.
    pub fn new(code: u16, text: impl Into<String>) -> Reply {
        Reply { code, lines: vec![text.into()] }
    }

    /// A multi-line reply from its lines (at least one).
    pub fn multi(code: u16, lines: Vec<String>) -> Reply {
        debug_assert!(!lines.is_empty());
        Reply { code, lines }
    }

    /// The first digit: 1 preliminary, 2 completion, 3 intermediate,
    /// 4 transient failure, 5 permanent failure.
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    /// True for 1xx, 2xx and 3xx.
    pub fn is_positive(&self) -> bool {
        (100..400).contains(&self.code)
    }

    /// All lines joined with `\n`: the text a person should see.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Append the wire form, with CRLF line ends, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            if i == last {
                push_line(out, Some((self.code, b' ')), line);
            } else if i == 0 {
                encode_opening(self.code, line, out);
            } else {
                encode_middle(line, out);
            }
        }
    }

    /// The wire form, with CRLF line ends.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode_into(&mut out);
        out
    }
}

/// Append the opening line of a multi-line reply, `123-text` and CRLF, to
/// `out`: for a reply streamed a line at a time (a long `STAT` listing)
/// with [`encode_middle`], then closed by a single-line [`Reply`] with the
/// same code.
pub fn encode_opening(code: u16, text: &str, out: &mut Vec<u8>) {
    push_line(out, Some((code, b'-')), text);
}

/// Append one line from inside a multi-line reply, with CRLF, to `out`:
/// indented by a space when it could be taken for the closing line.
pub fn encode_middle(line: &str, out: &mut Vec<u8>) {
    if could_close_reply(line) {
        out.push(b' ');
    }
    push_line(out, None, line);
}

/// True if `line`, inside a multi-line reply, could be taken for its
/// closing line (three digits then a space, RFC 959 §4.2, or nothing, which
/// lenient parsers such as [`ReplyParser`] also accept; a CR or LF counts
/// as the space it is written as), so an encoder must indent it.
pub fn could_close_reply(line: &str) -> bool {
    looks_like_last_line(line)
}

/// Append `code` and its separator (if any), `text`, and CRLF. A CR or LF
/// inside the text would end the line early and forge another (a path the
/// client sent, echoed in an error); each becomes a space.
fn push_line(out: &mut Vec<u8>, code: Option<(u16, u8)>, text: &str) {
    if let Some((code, sep)) = code {
        // Codes are three digits (100..=599).
        out.extend_from_slice(&[b'0' + (code / 100 % 10) as u8, b'0' + (code / 10 % 10) as u8, b'0' + (code % 10) as u8, sep]);
    }
    let start = out.len();
    out.extend_from_slice(text.as_bytes());
    for b in &mut out[start..] {
        if matches!(*b, b'\r' | b'\n') {
            *b = b' ';
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn looks_like_last_line(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 3 && b[..3].iter().all(u8::is_ascii_digit) && matches!(b.get(3), None | Some(b' ' | b'\r' | b'\n'))
}

fn code_of(line: &[u8]) -> Option<(u16, u8)> {
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16;
    // A bare "226" with no separator is accepted as a final line.
    Some((code, line.get(3).copied().unwrap_or(b' ')))
}

/// Why the reply stream could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// A line that should open a reply did not start with a code.
    #[error("malformed reply line: {0:?}")]
    Malformed(String),
    /// A line longer than the limit.
    #[error("reply line too long")]
    TooLong,
    /// A multi-line reply with more lines than the limit.
    #[error("multi-line reply too long")]
    TooManyLines,
}

/// Incremental reply parser for clients.
///
/// ```
/// use ferry_proto::{Reply, ReplyParser};
/// let mut p = ReplyParser::new();
/// p.feed(b"211-Features:\r\n MDTM\r\n211 En");
/// assert_eq!(p.next_reply(), None);
/// p.feed(b"d\r\n");
/// let r = p.next_reply().unwrap().unwrap();
/// assert_eq!(r, Reply::multi(211, vec!["Features:".into(), " MDTM".into(), "End".into()]));
/// ```
#[derive(Debug)]
pub struct ReplyParser {
    lines: LineDecoder,
    partial: Option<Reply>,
}

/// Cap on lines in one reply (a listing sent by `STAT dir` can be long).
const MAX_REPLY_LINES: usize = 1_000_000;

impl Default for ReplyParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplyParser {
    /// A parser with the default line limit.
    pub fn new() -> Self {
        ReplyParser { lines: LineDecoder::new(64 * 1024), partial: None }
    }

    /// Append bytes received on the control connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.lines.feed(bytes);
    }

    /// The next complete reply, an error, or `None` when more bytes are needed.
    pub fn next_reply(&mut self) -> Option<Result<Reply, ReplyError>> {
        loop {
            let line = match self.lines.next_line()? {
                Ok(l) => l,
                Err(_) => return Some(Err(ReplyError::TooLong)),
            };
            let text = String::from_utf8_lossy(&line).into_owned();
            match &mut self.partial {
                None => match code_of(&line) {
                    Some((code, b'-')) => self.partial = Some(Reply { code, lines: vec![text[4..].to_owned()] }),
                    Some((code, _)) => return Some(Ok(Reply::new(code, text.get(4..).unwrap_or("")))),
                    None => return Some(Err(ReplyError::Malformed(text))),
                },
                Some(reply) => match code_of(&line) {
                    Some((code, b' ')) if code == reply.code => {
                        let mut reply = self.partial.take().expect("checked above");
                        reply.lines.push(text.get(4..).unwrap_or("").to_owned());
                        return Some(Ok(reply));
                    }
                    _ => {
                        if reply.lines.len() >= MAX_REPLY_LINES {
                            self.partial = None;
                            return Some(Err(ReplyError::TooManyLines));
                        }
                        // Undo the encoder's guard indent.
                        let t = if text.starts_with(' ') && looks_like_last_line(&text[1..]) { text[1..].to_owned() } else { text };
                        reply.lines.push(t);
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(bytes: &[u8]) -> Vec<Result<Reply, ReplyError>> {
        let mut p = ReplyParser::new();
        p.feed(bytes);
        std::iter::from_fn(|| p.next_reply()).collect()
    }

    #[test]
    fn single_line() {
        let r = Reply::new(220, "Ferry ready");
        assert_eq!(r.encode(), b"220 Ferry ready\r\n");
        assert_eq!(parse_all(&r.encode()), vec![Ok(r)]);
    }

    #[test]
    fn multi_line_with_tricky_middle() {
        let r = Reply::multi(211, vec!["Status:".into(), "226 looks final".into(), "End".into()]);
        let wire = r.encode();
        assert_eq!(wire, b"211-Status:\r\n 226 looks final\r\n211 End\r\n");
        assert_eq!(parse_all(&wire), vec![Ok(r)]);
    }

    #[test]
    fn crlf_inside_text_cannot_forge_lines() {
        let r = Reply::new(550, "no\r\n230 logged in");
        assert_eq!(r.encode(), b"550 no  230 logged in\r\n");
    }

    #[test]
    fn a_lone_cr_cannot_forge_a_line_either() {
        // `RETR evil\r226 fake`: the path comes back in the error reply.
        let r = Reply::new(550, "/evil\r226 fake: No such file or directory.");
        assert_eq!(r.encode(), b"550 /evil 226 fake: No such file or directory.\r\n");
        let m = Reply::multi(213, vec!["Status of /a\rb:".into(), "x\n226 y".into(), "226 z".into(), "End\r".into()]);
        assert_eq!(m.encode(), b"213-Status of /a b:\r\nx 226 y\r\n 226 z\r\n213 End \r\n");
    }

    #[test]
    fn streamed_pieces_match_the_whole() {
        let r = Reply::multi(213, vec!["Status of /:".into(), "-rw-r--r-- a".into(), "213 looks final".into(), "End.".into()]);
        let mut streamed = Vec::new();
        encode_opening(213, "Status of /:", &mut streamed);
        encode_middle("-rw-r--r-- a", &mut streamed);
        encode_middle("213 looks final", &mut streamed);
        Reply::new(213, "End.").encode_into(&mut streamed);
        assert_eq!(streamed, r.encode());
        assert!(could_close_reply("226 x") && !could_close_reply("226-x") && !could_close_reply("drwx"));
        assert!(could_close_reply("226") && could_close_reply("226\r x"), "a bare code, and a CR written as a space");
        let tricky = Reply::multi(226, vec!["a".into(), "226".into(), "226\rb".into(), "c".into()]);
        assert_eq!(tricky.encode(), b"226-a\r\n 226\r\n 226 b\r\n226 c\r\n");
        assert_eq!(parse_all(&tricky.encode()), vec![Ok(Reply::multi(226, vec!["a".into(), "226".into(), "226 b".into(), "c".into()]))]);
    }

    proptest::proptest! {
        #[test]
        fn every_line_ends_where_the_encoder_says(code in 100u16..600, lines in proptest::collection::vec(".*", 1..5)) {
            let wire = Reply::multi(code, lines.clone()).encode();
            // CR only ever comes right before LF, and there is one LF per line.
            for (i, b) in wire.iter().enumerate() {
                if *b == b'\r' {
                    proptest::prop_assert_eq!(wire.get(i + 1), Some(&b'\n'));
                }
            }
            proptest::prop_assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), lines.len());
            let mut p = ReplyParser::new();
            p.feed(&wire);
            let back = p.next_reply().unwrap().unwrap();
            proptest::prop_assert_eq!(back.code, code);
            proptest::prop_assert_eq!(back.lines.len(), lines.len());
        }
    }

    #[test]
    fn other_code_inside_multi_line_is_text() {
        let out = parse_all(b"150-a\r\n226 b\r\n150 c\r\n");
        assert_eq!(out, vec![Ok(Reply::multi(150, vec!["a".into(), "226 b".into(), "c".into()]))]);
    }

    #[test]
    fn malformed_and_bare_code() {
        assert!(matches!(parse_all(b"hello\r\n")[0], Err(ReplyError::Malformed(_))));
        assert_eq!(parse_all(b"200\r\n"), vec![Ok(Reply::new(200, ""))]);
    }
}
