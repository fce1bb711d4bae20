//! The FTP command grammar: one [`Command`] type that the server parses and
//! the client prints.
//!
//! Sources: RFC 959 §4.1 and §5.3 (base commands), RFC 775 (the `X` variants
//! such as `XPWD`), RFC 2389 (`FEAT`, `OPTS`), RFC 2428 (`EPRT`, `EPSV`),
//! RFC 3659 (`SIZE`, `MDTM`, `REST` in stream mode, `MLST`, `MLSD`), RFC 7151
//! (`HOST`), draft-somers-ftp-mfxx (`MFMT`), draft-bryan-ftpext-hash (`HASH`)
//! and draft-bryan-ftp-range (`RANG`).
//!
//! Verbs are case-insensitive. The argument is everything after the first
//! space, kept byte for byte, because path names may contain spaces (even
//! leading ones).

use std::fmt;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::SystemTime;

use crate::addr;

mod args;
pub use args::{ChecksumAlgo, EpsvArg, Opts, TransferType};

/// A password as sent with `PASS`; its `Debug` form never shows the secret,
/// so a command can be logged with `{:?}` safely.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(****)")
    }
}

/// One FTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is the verb of the same name
pub enum Command {
    // Access control (RFC 959 §4.1.1)
    User(String),
    Pass(Password),
    Acct(String),
    Rein,
    Quit,
    /// `HOST` (RFC 7151): virtual host selection before login.
    Host(String),
    // Navigation
    Pwd,
    Cwd(String),
    Cdup,
    // Files and folders
    Mkd(String),
    Rmd(String),
    Dele(String),
    Rnfr(String),
    Rnto(String),
    Size(String),
    Mdtm(String),
    /// `MFMT time path`: set the modification time.
    Mfmt {
        time: SystemTime,
        path: String,
    },
    // Transfer parameters
    Type(TransferType),
    /// `MODE` code letter, upper-case (`S`, `B`, `C`).
    Mode(char),
    /// `STRU` code letter, upper-case (`F`, `R`, `P`).
    Stru(char),
    Pasv,
    Epsv(EpsvArg),
    Port(SocketAddrV4),
    Eprt(SocketAddr),
    Rest(u64),
    /// `ALLO size [R record]`: accepted and ignored, as RFC 959 allows.
    Allo(u64),
    // Transfers
    Retr(String),
    Stor(String),
    /// `STOU [name-hint]`
    Stou(Option<String>),
    Appe(String),
    Abor,
    List(Option<String>),
    Nlst(Option<String>),
    Mlsd(Option<String>),
    Mlst(Option<String>),
    // Information
    Syst,
    Stat(Option<String>),
    Help(Option<String>),
    Noop,
    Feat,
    Opts(Opts),
    Site(String),
    // Security (RFC 4217, RFC 2228)
    /// `AUTH TLS` (or `SSL`, `TLS-C`): start TLS on the control connection.
    Auth(String),
    /// `PBSZ n`: protection buffer size, 0 for TLS.
    Pbsz(u64),
    /// `PROT C|S|E|P`: data channel protection level, upper-case.
    Prot(char),
    /// `CCC`: clear the control channel.
    Ccc,
    // Integrity
    /// `HASH path` with the algorithm chosen by `OPTS HASH`.
    Hash(String),
    /// `RANG start end` (inclusive end); `RANG 1 0` resets.
    Rang {
        start: u64,
        end: u64,
    },
    /// `XCRC`, `XMD5`, `XSHA1`, `XSHA256`: `path [start [end]]`.
    Checksum {
        algo: ChecksumAlgo,
        path: String,
        start: Option<u64>,
        end: Option<u64>,
    },
    /// A syntactically fine command that this grammar does not know; the
    /// server answers 502.
    Unknown {
        verb: String,
        arg: Option<String>,
    },
}

/// Why a command line could not be parsed. Each maps to a reply code via
/// [`ParseError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Empty line or a verb that is not 3–4 ASCII letters.
    #[error("syntax error, command unrecognized")]
    BadVerb,
    /// The line is not valid UTF-8 (RFC 2640 requires UTF-8 path names).
    #[error("command is not valid UTF-8")]
    Encoding,
    /// The verb needs an argument that was not given.
    #[error("{0} needs an argument")]
    MissingArgument(&'static str),
    /// The argument is malformed.
    #[error("invalid argument to {verb}: {why}")]
    BadArgument {
        /// The verb, upper-case.
        verb: &'static str,
        /// What is wrong.
        why: &'static str,
    },
}

impl ParseError {
    /// The reply code RFC 959 gives for this failure: 500 for an
    /// unrecognised command, 501 for a bad argument.
    pub fn code(&self) -> u16 {
        match self {
            ParseError::BadVerb => 500,
            ParseError::Encoding | ParseError::MissingArgument(_) | ParseError::BadArgument { .. } => 501,
        }
    }
}

impl Command {
    /// Parse one command line (no line end).
    pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
        let line = std::str::from_utf8(line).map_err(|_| ParseError::Encoding)?;
        let (verb, arg) = match line.find(' ') {
            Some(i) => (&line[..i], Some(&line[i + 1..])),
            None => (line, None),
        };
        // Verbs are 3-4 letters, except the checksum extensions (XSHA256).
        if verb.len() < 3 || verb.len() > 7 || !verb.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::BadVerb);
        }
        // Trailing spaces after a verb without argument ("PWD ") are common.
        let arg = arg.filter(|a| !a.trim().is_empty());
        let upper = verb.to_ascii_uppercase();
        let v: &'static str = match known_verb(&upper) {
            Some(v) => v,
            None => {
                return Ok(Command::Unknown { verb: upper, arg: arg.map(str::to_owned) });
            }
        };
        let need = || arg.map(str::to_owned).ok_or(ParseError::MissingArgument(v));
        let opt = || arg.map(str::to_owned);
        let none = |c: Command| match arg {
            None => Ok(c),
            Some(_) => Err(ParseError::BadArgument { verb: v, why: "takes no argument" }),
        };
        Ok(match v {
            "USER" => Command::User(need()?),
            // An empty password is legal (anonymous logins send one).
            "PASS" => Command::Pass(Password(arg.unwrap_or("").to_owned())),
            "ACCT" => Command::Acct(need()?),
            "REIN" => none(Command::Rein)?,
            "QUIT" => none(Command::Quit)?,
            "HOST" => Command::Host(need()?),
            "PWD" | "XPWD" => none(Command::Pwd)?,
            "CWD" | "XCWD" => Command::Cwd(need()?),
            "CDUP" | "XCUP" => none(Command::Cdup)?,
            "MKD" | "XMKD" => Command::Mkd(need()?),
            "RMD" | "XRMD" => Command::Rmd(need()?),
            "DELE" => Command::Dele(need()?),
            "RNFR" => Command::Rnfr(need()?),
            "RNTO" => Command::Rnto(need()?),
            "SIZE" => Command::Size(need()?),
            "MDTM" => Command::Mdtm(need()?),
            "MFMT" => {
                let a = need()?;
                let (t, path) = a.split_once(' ').ok_or(ParseError::BadArgument { verb: v, why: "expected MFMT YYYYMMDDHHMMSS path" })?;
                let time = crate::time::parse_timeval(t).ok_or(ParseError::BadArgument { verb: v, why: "bad time value" })?;
                Command::Mfmt { time, path: path.to_owned() }
            }
            "TYPE" => Command::Type(TransferType::parse(&need()?).ok_or(ParseError::BadArgument { verb: v, why: "unknown type" })?),
            "MODE" => Command::Mode(one_letter(v, arg)?),
            "STRU" => Command::Stru(one_letter(v, arg)?),
            "PASV" => none(Command::Pasv)?,
            "EPSV" => Command::Epsv(EpsvArg::parse(arg).ok_or(ParseError::BadArgument { verb: v, why: "expected EPSV [1|2|ALL]" })?),
            "PORT" => {
                Command::Port(addr::parse_port(&need()?).ok_or(ParseError::BadArgument { verb: v, why: "expected h1,h2,h3,h4,p1,p2" })?)
            }
            "EPRT" => {
                Command::Eprt(addr::parse_eprt(&need()?).ok_or(ParseError::BadArgument { verb: v, why: "expected |af|address|port|" })?)
            }
            "REST" => Command::Rest(number(v, arg)?),
            "ALLO" => {
                let a = need()?;
                let size = a.split_whitespace().next().unwrap_or("");
                Command::Allo(size.parse().map_err(|_| ParseError::BadArgument { verb: v, why: "expected a byte count" })?)
            }
            "RETR" => Command::Retr(need()?),
            "STOR" => Command::Stor(need()?),
            "STOU" => Command::Stou(opt()),
            "APPE" => Command::Appe(need()?),
            "ABOR" => none(Command::Abor)?,
            "LIST" => Command::List(opt()),
            "NLST" => Command::Nlst(opt()),
            "MLSD" => Command::Mlsd(opt()),
            "MLST" => Command::Mlst(opt()),
            "SYST" => none(Command::Syst)?,
            "STAT" => Command::Stat(opt()),
            "HELP" => Command::Help(opt()),
            "NOOP" => Command::Noop,
            "FEAT" => none(Command::Feat)?,
            "OPTS" => Command::Opts(Opts::parse(&need()?)),
            "SITE" => Command::Site(need()?),
            "HASH" => Command::Hash(need()?),
            "AUTH" => Command::Auth(need()?.trim().to_ascii_uppercase()),
            "PBSZ" => Command::Pbsz(number(v, arg)?),
            "PROT" => Command::Prot(one_letter(v, arg)?),
            "CCC" => none(Command::Ccc)?,
            "RANG" => {
                let a = need()?;
                let bad = ParseError::BadArgument { verb: v, why: "expected RANG start end" };
                let mut it = a.split(' ');
                let (Some(s), Some(e), None) = (it.next(), it.next(), it.next()) else {
                    return Err(bad);
                };
                match (s.parse(), e.parse()) {
                    (Ok(start), Ok(end)) => Command::Rang { start, end },
                    _ => return Err(bad),
                }
            }
            "XCRC" | "XMD5" | "XSHA1" | "XSHA256" => {
                let algo = ChecksumAlgo::from_verb(v).expect("listed verbs");
                let (path, start, end) =
                    args::checksum_args(&need()?).ok_or(ParseError::BadArgument { verb: v, why: "expected path [start [end]]" })?;
                Command::Checksum { algo, path, start, end }
            }
            _ => unreachable!("known_verb returned {v}"),
        })
    }

    /// The canonical upper-case verb, for logs and statistics.
    pub fn verb(&self) -> &str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Acct(_) => "ACCT",
            Command::Rein => "REIN",
            Command::Quit => "QUIT",
            Command::Host(_) => "HOST",
            Command::Pwd => "PWD",
            Command::Cwd(_) => "CWD",
            Command::Cdup => "CDUP",
            Command::Mkd(_) => "MKD",
            Command::Rmd(_) => "RMD",
            Command::Dele(_) => "DELE",
            Command::Rnfr(_) => "RNFR",
            Command::Rnto(_) => "RNTO",
            Command::Size(_) => "SIZE",
            Command::Mdtm(_) => "MDTM",
            Command::Mfmt { .. } => "MFMT",
            Command::Type(_) => "TYPE",
            Command::Mode(_) => "MODE",
            Command::Stru(_) => "STRU",
            Command::Pasv => "PASV",
            Command::Epsv(_) => "EPSV",
            Command::Port(_) => "PORT",
            Command::Eprt(_) => "EPRT",
            Command::Rest(_) => "REST",
            Command::Allo(_) => "ALLO",
            Command::Retr(_) => "RETR",
            Command::Stor(_) => "STOR",
            Command::Stou(_) => "STOU",
            Command::Appe(_) => "APPE",
            Command::Abor => "ABOR",
            Command::List(_) => "LIST",
            Command::Nlst(_) => "NLST",
            Command::Mlsd(_) => "MLSD",
            Command::Mlst(_) => "MLST",
            Command::Syst => "SYST",
            Command::Stat(_) => "STAT",
            Command::Help(_) => "HELP",
            Command::Noop => "NOOP",
            Command::Feat => "FEAT",
            Command::Opts(_) => "OPTS",
            Command::Site(_) => "SITE",
            Command::Hash(_) => "HASH",
            Command::Auth(_) => "AUTH",
            Command::Pbsz(_) => "PBSZ",
            Command::Prot(_) => "PROT",
            Command::Ccc => "CCC",
            Command::Rang { .. } => "RANG",
            Command::Checksum { algo, .. } => algo.verb(),
            Command::Unknown { verb, .. } => verb,
        }
    }
}

/// Every verb the grammar knows, including the RFC 775 `X` aliases.
pub const VERBS: &[&str] = &[
    "USER", "PASS", "ACCT", "REIN", "QUIT", "HOST", "PWD", "XPWD", "CWD", "XCWD", "CDUP", "XCUP", "MKD", "XMKD", "RMD", "XRMD", "DELE",
    "RNFR", "RNTO", "SIZE", "MDTM", "MFMT", "TYPE", "MODE", "STRU", "PASV", "EPSV", "PORT", "EPRT", "REST", "ALLO", "RETR", "STOR", "STOU",
    "APPE", "ABOR", "LIST", "NLST", "MLSD", "MLST", "SYST", "STAT", "HELP", "NOOP", "FEAT", "OPTS", "SITE", "HASH", "RANG", "XCRC", "XMD5",
    "XSHA1", "XSHA256", "AUTH", "PBSZ", "PROT", "CCC",
];

fn known_verb(upper: &str) -> Option<&'static str> {
    VERBS.iter().copied().find(|v| *v == upper)
}

fn one_letter(verb: &'static str, arg: Option<&str>) -> Result<char, ParseError> {
    let a = arg.ok_or(ParseError::MissingArgument(verb))?.trim();
    let mut chars = a.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => Ok(c.to_ascii_uppercase()),
        _ => Err(ParseError::BadArgument { verb, why: "expected one letter" }),
    }
}

fn number(verb: &'static str, arg: Option<&str>) -> Result<u64, ParseError> {
    let a = arg.ok_or(ParseError::MissingArgument(verb))?.trim();
    a.parse().map_err(|_| ParseError::BadArgument { verb, why: "expected a non-negative number" })
}

impl fmt::Display for Command {
    /// The command as a client sends it, without the line end.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = self.verb();
        match self {
            Command::User(a)
            | Command::Acct(a)
            | Command::Host(a)
            | Command::Cwd(a)
            | Command::Mkd(a)
            | Command::Rmd(a)
            | Command::Dele(a)
            | Command::Rnfr(a)
            | Command::Rnto(a)
            | Command::Size(a)
            | Command::Mdtm(a)
            | Command::Retr(a)
            | Command::Stor(a)
            | Command::Appe(a)
            | Command::Site(a)
            | Command::Auth(a)
            | Command::Hash(a) => write!(f, "{verb} {a}"),
            Command::Pass(p) => write!(f, "PASS {}", p.0),
            Command::Stou(a)
            | Command::List(a)
            | Command::Nlst(a)
            | Command::Mlsd(a)
            | Command::Mlst(a)
            | Command::Stat(a)
            | Command::Help(a) => match a {
                Some(a) => write!(f, "{verb} {a}"),
                None => f.write_str(verb),
            },
            Command::Unknown { verb, arg } => match arg {
                Some(a) => write!(f, "{verb} {a}"),
                None => f.write_str(verb),
            },
            Command::Mfmt { time, path } => write!(f, "MFMT {} {path}", crate::time::format_timeval(*time)),
            Command::Type(t) => write!(f, "TYPE {t}"),
            Command::Mode(c) | Command::Stru(c) | Command::Prot(c) => write!(f, "{verb} {c}"),
            Command::Epsv(a) => match a {
                EpsvArg::Any => f.write_str("EPSV"),
                EpsvArg::Protocol(p) => write!(f, "EPSV {p}"),
                EpsvArg::All => f.write_str("EPSV ALL"),
            },
            Command::Port(sa) => write!(f, "PORT {}", addr::format_port(*sa)),
            Command::Eprt(sa) => write!(f, "EPRT {}", addr::format_eprt(*sa)),
            Command::Rest(n) | Command::Allo(n) | Command::Pbsz(n) => write!(f, "{verb} {n}"),
            Command::Opts(o) => write!(f, "OPTS {o}"),
            Command::Rang { start, end } => write!(f, "RANG {start} {end}"),
            Command::Checksum { path, start, end, .. } => {
                write!(f, "{verb} \"{}\"", path.replace('"', "\"\""))?;
                if let Some(s) = start {
                    write!(f, " {s}")?;
                }
                if let Some(e) = end {
                    write!(f, " {e}")?;
                }
                Ok(())
            }
            Command::Rein
            | Command::Quit
            | Command::Pwd
            | Command::Cdup
            | Command::Pasv
            | Command::Abor
            | Command::Syst
            | Command::Noop
            | Command::Ccc
            | Command::Feat => f.write_str(verb),
        }
    }
}

#[cfg(test)]
mod tests;
