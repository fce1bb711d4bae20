//! Argument grammars that are more than "the rest of the line".

use std::fmt;

/// `TYPE` argument (RFC 959 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferType {
    /// `A` (optionally `A N`): text with CRLF line ends on the wire.
    Ascii,
    /// `I` or `L 8`: bytes as they are.
    Image,
    /// `E`: EBCDIC, which nobody implements; servers answer 504.
    Ebcdic,
    /// `L n` with a byte size other than 8.
    Local(u8),
}

impl TransferType {
    pub(crate) fn parse(arg: &str) -> Option<TransferType> {
        let mut words = arg.split_ascii_whitespace();
        let first = words.next()?.to_ascii_uppercase();
        let second = words.next().map(str::to_ascii_uppercase);
        if words.next().is_some() {
            return None;
        }
        match (first.as_str(), second.as_deref()) {
            ("A", None | Some("N")) => Some(TransferType::Ascii),
            ("I", None) => Some(TransferType::Image),
            ("E", None | Some("N")) => Some(TransferType::Ebcdic),
            ("L", Some(n)) => match n.parse::<u8>().ok()? {
                8 => Some(TransferType::Image),
                n => Some(TransferType::Local(n)),
            },
            _ => None,
        }
    }
}

impl fmt::Display for TransferType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferType::Ascii => f.write_str("A"),
            TransferType::Image => f.write_str("I"),
            TransferType::Ebcdic => f.write_str("E"),
            TransferType::Local(n) => write!(f, "L {n}"),
        }
    }
}

/// `EPSV` argument (RFC 2428 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpsvArg {
    /// No argument: any protocol the control connection uses.
    Any,
    /// A network protocol number: 1 for IPv4, 2 for IPv6.
    Protocol(u8),
    /// `EPSV ALL`: from now on only `EPSV` may set up data connections.
    All,
}

impl EpsvArg {
    pub(crate) fn parse(arg: Option<&str>) -> Option<EpsvArg> {
        match arg.map(str::trim) {
            None => Some(EpsvArg::Any),
            Some(a) if a.eq_ignore_ascii_case("ALL") => Some(EpsvArg::All),
            Some(a) => a.parse().ok().map(EpsvArg::Protocol),
        }
    }
}

/// `OPTS` argument (RFC 2389 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opts {
    /// `OPTS UTF8 ON|OFF` (draft-ietf-ftpext-utf-8-option; sent by many clients).
    Utf8(bool),
    /// `OPTS MLST fact;fact;` (RFC 3659 §7.9): the facts to show, lower-case.
    Mlst(Vec<String>),
    /// `OPTS HASH [algorithm]`: query or select the `HASH` algorithm.
    Hash(Option<String>),
    /// Anything else: the server answers 501.
    Other(String),
}

impl Opts {
    pub(crate) fn parse(arg: &str) -> Opts {
        let (name, rest) = match arg.split_once(' ') {
            Some((n, r)) => (n, Some(r.trim())),
            None => (arg, None),
        };
        match (name.to_ascii_uppercase().as_str(), rest) {
            ("UTF8" | "UTF-8", Some(v)) if v.eq_ignore_ascii_case("ON") => Opts::Utf8(true),
            ("UTF8" | "UTF-8", Some(v)) if v.eq_ignore_ascii_case("OFF") => Opts::Utf8(false),
            ("MLST", facts) => Opts::Mlst(facts.unwrap_or("").split(';').filter(|f| !f.is_empty()).map(str::to_ascii_lowercase).collect()),
            ("HASH", algo) => Opts::Hash(algo.filter(|a| !a.is_empty()).map(str::to_ascii_uppercase)),
            _ => Opts::Other(arg.to_owned()),
        }
    }
}

impl fmt::Display for Opts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opts::Utf8(on) => write!(f, "UTF8 {}", if *on { "ON" } else { "OFF" }),
            Opts::Mlst(facts) => {
                f.write_str("MLST ")?;
                for fact in facts {
                    write!(f, "{fact};")?;
                }
                Ok(())
            }
            Opts::Hash(None) => f.write_str("HASH"),
            Opts::Hash(Some(a)) => write!(f, "HASH {a}"),
            Opts::Other(s) => f.write_str(s),
        }
    }
}

/// The checksum algorithm named by an `X…` checksum verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumAlgo {
    /// `XCRC`: CRC-32 (IEEE), as in zip and PNG.
    Crc32,
    /// `XMD5`
    Md5,
    /// `XSHA1`
    Sha1,
    /// `XSHA256`
    Sha256,
}

impl ChecksumAlgo {
    pub(crate) fn from_verb(verb: &str) -> Option<ChecksumAlgo> {
        Some(match verb {
            "XCRC" => ChecksumAlgo::Crc32,
            "XMD5" => ChecksumAlgo::Md5,
            "XSHA1" => ChecksumAlgo::Sha1,
            "XSHA256" => ChecksumAlgo::Sha256,
            _ => return None,
        })
    }

    /// The verb that asks for this algorithm.
    pub fn verb(self) -> &'static str {
        match self {
            ChecksumAlgo::Crc32 => "XCRC",
            ChecksumAlgo::Md5 => "XMD5",
            ChecksumAlgo::Sha1 => "XSHA1",
            ChecksumAlgo::Sha256 => "XSHA256",
        }
    }

    /// The name `HASH` uses for the same algorithm (draft-bryan-ftpext-hash §3).
    pub fn hash_name(self) -> &'static str {
        match self {
            ChecksumAlgo::Crc32 => "CRC32",
            ChecksumAlgo::Md5 => "MD5",
            ChecksumAlgo::Sha1 => "SHA-1",
            ChecksumAlgo::Sha256 => "SHA-256",
        }
    }

    /// Every algorithm, in the order `FEAT` lists them.
    pub const ALL: [ChecksumAlgo; 4] = [ChecksumAlgo::Sha256, ChecksumAlgo::Sha1, ChecksumAlgo::Md5, ChecksumAlgo::Crc32];

    /// Look an algorithm up by its `HASH` name (case-insensitive).
    pub fn from_hash_name(name: &str) -> Option<ChecksumAlgo> {
        Self::ALL.into_iter().find(|a| a.hash_name().eq_ignore_ascii_case(name))
    }
}

/// `path [start [end]]`, where the path may be quoted (`"a b"`, with `""`
/// for a literal quote) or, unquoted, is everything before trailing numbers.
pub(crate) fn checksum_args(arg: &str) -> Option<(String, Option<u64>, Option<u64>)> {
    let (path, rest) = if let Some(body) = arg.strip_prefix('"') {
        let mut path = String::new();
        let mut chars = body.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if chars.peek().map(|&(_, c)| c) == Some('"') {
                    chars.next();
                    path.push('"');
                } else {
                    end = Some(i + 1);
                    break;
                }
            } else {
                path.push(c);
            }
        }
        (path, body[end?..].trim())
    } else {
        // Peel off up to two trailing numbers.
        let mut path = arg;
        let mut nums = Vec::new();
        for _ in 0..2 {
            match path.rsplit_once(' ') {
                Some((head, tail)) if !head.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) && !tail.is_empty() => {
                    nums.push(tail);
                    path = head;
                }
                _ => break,
            }
        }
        nums.reverse();
        return Some((path.to_owned(), nums.first().and_then(|n| n.parse().ok()), nums.get(1).and_then(|n| n.parse().ok())));
    };
    if path.is_empty() {
        return None;
    }
    let mut nums = rest.split_ascii_whitespace().map(str::parse::<u64>);
    let start = nums.next().transpose().ok()?;
    let end = nums.next().transpose().ok()?;
    if nums.next().is_some() {
        return None;
    }
    Some((path, start, end))
}
