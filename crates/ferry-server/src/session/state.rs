//! The FTP session's state machine, without sockets.
//!
//! Everything a session remembers between commands that the protocol
//! defines — the login phase (RFC 959 §5.4), the source of a rename
//! (`RNFR` → `RNTO`), restart points (`REST`, `RANG`), `ALLO`'s size, TLS
//! protection (`PBSZ` → `PROT`, RFC 4217), `EPSV ALL`, the transfer type,
//! and what an `ABOR` answers — lives here as plain data, changed by plain
//! functions that return the reply. The session (`super::Session`) does
//! the I/O around them: it reads a command, asks [`State::admit`] whether
//! it may run, and calls the handler, which uses these transitions.
//! The tests at the bottom drive the state machine with no socket at all.

use std::num::NonZeroU64;

use ferry_proto::command::TransferType;
use ferry_proto::listing::Kind;
use ferry_proto::reply::code;
use ferry_proto::{Command, Reply, VirtualPath};

use crate::storage::WriteMode;

/// Where the session is in the login sequence (RFC 959 §5.4 state diagram
/// for USER/PASS).
#[derive(Debug, Clone)]
pub(crate) enum Phase {
    /// Connected; waiting for `USER`.
    Fresh,
    /// `USER` given; waiting for `PASS`.
    NeedPassword { user: String },
    /// Logged in.
    LoggedIn(Login),
}

/// Who is logged in. The policy the login brought (home, permissions,
/// quotas, rates) is kept by the session's `UserFs`, which applies it, and
/// only there: thousands of idle sessions add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Login {
    /// The user name as stored (`anonymous` for anonymous logins), shared
    /// with the `UserFs` and the core's session registry.
    pub(crate) name: std::sync::Arc<str>,
    /// An anonymous login (RFC 1635), not a stored account.
    pub(crate) anonymous: bool,
}

/// What the session knows of its transport, for [`State::admit`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Transport {
    /// The control connection is TLS.
    pub(crate) tls: bool,
    /// The server refuses clear-text logins and transfers.
    pub(crate) tls_required: bool,
}

/// The protocol state of one session.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) phase: Phase,
    /// `TYPE A`: line ends are converted.
    pub(crate) ascii: bool,
    /// Offset from `REST`, used by the next transfer.
    pub(crate) rest: Option<u64>,
    /// Inclusive byte range from `RANG`, used by the next `RETR` or `HASH`.
    pub(crate) rang: Option<(u64, u64)>,
    /// Source from `RNFR` and what it is, valid only for the very next
    /// command.
    pub(crate) rename_from: Option<(VirtualPath, Kind)>,
    /// Size announced by `ALLO` for the next upload.
    pub(crate) allo: Option<NonZeroU64>,
    /// After `EPSV ALL`, only `EPSV` may set up data connections.
    pub(crate) epsv_all: bool,
    /// `PBSZ` seen (RFC 4217 §9: required before `PROT`).
    pub(crate) pbsz: bool,
    /// `PROT P`: data connections use TLS.
    pub(crate) prot_private: bool,
    /// What the next `ABOR` answers, when it interrupted a command (which
    /// has had its own reply).
    pub(crate) abort_note: Option<&'static str>,
}

/// A command [`State::admit`] let through, with what it carries over
/// from the command before.
#[derive(Debug)]
pub(crate) struct Admitted {
    /// For `RNTO`: the `RNFR` just before it, if it was.
    pub(crate) rename_from: Option<(VirtualPath, Kind)>,
}

impl State {
    /// A new connection's state. Implicit FTPS starts protected.
    pub(crate) fn new(implicit_tls: bool) -> State {
        State {
            phase: Phase::Fresh,
            ascii: false,
            rest: None,
            rang: None,
            rename_from: None,
            allo: None,
            epsv_all: false,
            pbsz: implicit_tls,
            prot_private: implicit_tls,
            abort_note: None,
        }
    }

    /// Who is logged in, if anyone.
    pub(crate) fn account(&self) -> Option<&Login> {
        match &self.phase {
            Phase::LoggedIn(a) => Some(a),
            _ => None,
        }
    }

    /// The first step of every command: forget what only the command
    /// before could use, and refuse what the phase does not allow yet.
    pub(crate) fn admit(&mut self, cmd: &Command, transport: Transport) -> Result<Admitted, Reply> {
        // RNTO must come straight after RNFR (RFC 959 §4.1.3).
        let rename_from = self.rename_from.take();
        // ALLO speaks of the upload it prepares; anything but that upload
        // and its set-up commands forgets it.
        if !matches!(
            cmd,
            Command::Allo(_)
                | Command::Stor(_)
                | Command::Appe(_)
                | Command::Stou(_)
                | Command::Type(_)
                | Command::Mode(_)
                | Command::Stru(_)
                | Command::Pasv
                | Command::Epsv(_)
                | Command::Port(_)
                | Command::Eprt(_)
                | Command::Rest(_)
                | Command::Noop
        ) {
            self.allo = None;
        }
        if !is_public(cmd) && self.account().is_none() {
            return Err(Reply::new(code::NOT_LOGGED_IN, "Please log in with USER and PASS first."));
        }
        if matches!(cmd, Command::User(_) | Command::Pass(_)) && transport.tls_required && !transport.tls {
            return Err(Reply::new(code::POLICY_DENIED, "Policy requires TLS: send AUTH TLS before logging in."));
        }
        Ok(Admitted { rename_from })
    }

    /// `USER`: a new login starts (changing user mid-session is allowed,
    /// RFC 959; it logs out first). Returns true if a login ended.
    pub(crate) fn user(&mut self, user: String) -> (bool, Reply) {
        let was_logged_in = self.account().is_some();
        if was_logged_in {
            self.reset();
        }
        self.phase = Phase::NeedPassword { user };
        (was_logged_in, Reply::new(code::NEED_PASSWORD, "Password required."))
    }

    /// `PASS`: whose password this is, or why it comes out of turn.
    pub(crate) fn pass_for(&self) -> Result<String, Reply> {
        match &self.phase {
            Phase::NeedPassword { user } => Ok(user.clone()),
            Phase::LoggedIn(_) => Err(Reply::new(code::BAD_SEQUENCE, "Already logged in.")),
            Phase::Fresh => Err(Reply::new(code::BAD_SEQUENCE, "Login with USER first.")),
        }
    }

    /// Forget the login and all transfer parameters (`REIN`, or `USER`
    /// while logged in).
    pub(crate) fn reset(&mut self) {
        self.phase = Phase::Fresh;
        self.ascii = false;
        self.rest = None;
        self.rang = None;
        self.epsv_all = false;
    }

    /// `HOST` (RFC 7151 §3) and `AUTH` are only valid before `USER`.
    pub(crate) fn before_user(&self, what: &str) -> Result<(), Reply> {
        match self.phase {
            Phase::Fresh => Ok(()),
            _ => Err(Reply::new(code::BAD_SEQUENCE, format!("{what} must come before USER."))),
        }
    }

    /// `TYPE`.
    pub(crate) fn set_type(&mut self, t: TransferType) -> Reply {
        match t {
            TransferType::Ascii | TransferType::Image => {
                self.ascii = t == TransferType::Ascii;
                Reply::new(code::OK, format!("Type set to {t}."))
            }
            _ => Reply::new(code::PARAM_NOT_IMPLEMENTED, format!("Type {t} not supported; use A or I.")),
        }
    }

    /// `REST`: the next transfer starts at `offset` (and forgets a range).
    pub(crate) fn restart_at(&mut self, offset: u64) -> Reply {
        self.rest = Some(offset);
        self.rang = None;
        Reply::new(code::PENDING, format!("Restarting at {offset}. Send STOR or RETR."))
    }

    /// `RANG` (draft-bryan-ftp-range): the next `RETR` or `HASH` covers
    /// `start..=end`; `RANG 1 0` clears it.
    pub(crate) fn range(&mut self, start: u64, end: u64) -> Reply {
        if (start, end) == (1, 0) {
            self.rang = None;
            return Reply::new(code::PENDING, "Resetting range.");
        }
        if end < start {
            return Reply::new(code::ARG_SYNTAX_ERROR, "End byte must not precede start byte.");
        }
        self.rang = Some((start, end));
        self.rest = None;
        Reply::new(code::PENDING, format!("Restarting at {start}. Ending byte {end}."))
    }

    /// `RETR`: where the download starts and how many bytes it may send,
    /// from `RANG` or `REST` (used up).
    pub(crate) fn take_download_span(&mut self) -> (u64, Option<u64>) {
        match (self.rang.take(), self.rest.take()) {
            (Some((start, end)), _) => (start, Some(end - start + 1)),
            (None, rest) => (rest.unwrap_or(0), None),
        }
    }

    /// `STOR` / `APPE`: how the upload meets an existing file, from `REST`
    /// (used up). A range means nothing to an upload and is dropped.
    pub(crate) fn take_upload_mode(&mut self, append: bool) -> WriteMode {
        self.rang = None;
        let mode = match (append, self.rest.take()) {
            (true, _) => WriteMode::Append,
            // Restarting at 0 keeps nothing of the old file: that is a
            // plain STOR, with its safety (a client that vanishes midway
            // must not leave a fragment in the old file's place).
            (false, Some(0) | None) => WriteMode::Replace,
            (false, Some(n)) => WriteMode::At(n),
        };
        // ALLO's size is the whole file's only for a plain STOR; after REST
        // or for APPE it cannot be told from the part's.
        if mode != WriteMode::Replace {
            self.allo = None;
        }
        mode
    }

    /// `EPSV ALL` refuses every other way to set up a data connection
    /// (RFC 2428 §4).
    pub(crate) fn data_setup_allowed(&self) -> Result<(), Reply> {
        if self.epsv_all {
            return Err(Reply::new(code::BAD_SEQUENCE, "EPSV ALL in effect; only EPSV is allowed."));
        }
        Ok(())
    }

    /// `PBSZ` (RFC 4217 §9): only on a TLS control connection; the size is
    /// always 0 for TLS.
    pub(crate) fn pbsz(&mut self, tls: bool) -> Reply {
        if !tls {
            return Reply::new(code::BAD_SEQUENCE, "PBSZ needs AUTH TLS first.");
        }
        self.pbsz = true;
        Reply::new(code::OK, "PBSZ=0")
    }

    /// `PROT` (RFC 4217 §9): after `PBSZ`; `C` only where the policy
    /// allows clear data connections.
    pub(crate) fn prot(&mut self, level: char, transport: Transport) -> Reply {
        if !transport.tls || !self.pbsz {
            return Reply::new(code::BAD_SEQUENCE, "PROT needs AUTH TLS and PBSZ first.");
        }
        match level {
            'P' => {
                self.prot_private = true;
                Reply::new(code::OK, "Protection level set to Private.")
            }
            'C' if transport.tls_required => Reply::new(code::POLICY_DENIED, "Policy requires protected data connections."),
            'C' => {
                self.prot_private = false;
                Reply::new(code::OK, "Protection level set to Clear.")
            }
            'S' | 'E' => Reply::new(code::PROT_NOT_SUPPORTED, format!("Protection level {level} not supported; use P or C.")),
            _ => Reply::new(code::PARAM_NOT_IMPLEMENTED, format!("Unknown protection level {level}.")),
        }
    }

    /// A transfer may start only protected where the policy says so.
    pub(crate) fn transfer_allowed(&self, transport: Transport) -> Result<(), Reply> {
        if transport.tls_required && !self.prot_private {
            return Err(Reply::new(code::PROTECTION_REQUIRED, "Policy requires protected data connections: send PBSZ 0 and PROT P."));
        }
        Ok(())
    }

    /// An `ABOR` interrupted the running command (which has had its
    /// reply); `stopped` says whether it stopped it or came too late.
    pub(crate) fn aborted(&mut self, stopped: bool) {
        self.abort_note = Some(if stopped { "ABOR successful." } else { "ABOR: the transfer had already completed." });
    }

    /// `ABOR`'s own reply: after an interrupted command, `226`; with
    /// nothing running, `None` (the session drops its prepared data
    /// connection and answers `225`).
    pub(crate) fn abort_reply(&mut self) -> Option<Reply> {
        self.abort_note.take().map(|text| Reply::new(code::CLOSING_DATA, text))
    }
}

/// Commands allowed before login.
fn is_public(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::User(_)
            | Command::Pass(_)
            | Command::Quit
            | Command::Noop
            | Command::Syst
            | Command::Feat
            | Command::Help(_)
            | Command::Host(_)
            | Command::Opts(_)
            | Command::Abor
            | Command::Rein
            | Command::Stat(None)
            | Command::Auth(_)
            | Command::Pbsz(_)
            | Command::Prot(_)
            | Command::Ccc
            | Command::Unknown { .. }
    )
}

#[cfg(test)]
mod tests;
