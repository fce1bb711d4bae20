//! One client's session: a task that reads command lines, keeps the
//! session's state, and answers each command with a reply.
//!
//! Life of a command: [`Control::read_line`] frames bytes into a line;
//! [`Command::parse`] turns it into a `Command` (or a 500/501 reply);
//! [`Session::dispatch`] checks the login phase and calls the handler for the
//! verb (in `crate::handlers`, grouped by concern); the handler replies.
//! Only loss of the control connection ends the loop early: every other
//! failure is a reply and the session goes on.

pub(crate) mod answer;
pub(crate) mod busy;
pub(crate) mod control;
pub(crate) mod data;
pub(crate) mod job;
pub(crate) mod open;
pub(crate) mod state;
pub(crate) mod stream;
pub(crate) mod transfer;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use ferry_proto::command::ChecksumAlgo;
use ferry_proto::reply::code;
use ferry_proto::{Command, VirtualPath};

use crate::shared::Shared;
use answer::{Handled, Refusal};
use control::Control;
use data::DataSetup;
pub(crate) use state::{Login, Phase};
use state::{State, Transport};

/// The state of one control connection.
pub(crate) struct Session {
    pub(crate) ctl: Control,
    pub(crate) shared: Arc<Shared>,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    /// The protocol state: login phase, restart points, protection...
    pub(crate) state: State,
    pub(crate) cwd: VirtualPath,
    pub(crate) data: DataSetup,
    /// Facts shown by `MLSD`/`MLST`: bit `i` is `MLSX_FACTS[i]` (a mask,
    /// not strings, to keep idle sessions small).
    pub(crate) mlst_facts: u8,
    pub(crate) hash_algo: ChecksumAlgo,
    pub(crate) login_failures: u32,
    /// Commands that arrived while a transfer ran, parsed, carried out
    /// after it (see `busy`).
    pub(crate) pending: VecDeque<busy::Parsed>,
    pub(crate) quit: bool,
    /// The server is shutting down and stopped this session's command:
    /// the command loop closes the session with `421`.
    pub(crate) closing: bool,
    /// True once the client has sent a line: until then the connection may
    /// be a load balancer's health check, logged at debug only.
    heard: bool,
    /// This session's TLS acceptors and login binding, once TLS is on.
    pub(crate) tls: Option<crate::tls::SessionTls>,
    /// The logged-in user's view of the files (their home as `/`, their
    /// permissions, quotas and limits), opened at login.
    pub(crate) fs: Option<ferry_core::userfs::UserFs>,
    /// The session's place in the core's registry: its number (in its log
    /// span, and in the core's events), who is logged in, the transfer
    /// running, and whether an administrator ended it.
    pub(crate) registration: ferry_core::sessions::SessionHandle,
    /// For the next upload: it may replace a file, so it pauses before it
    /// commits (see `handlers::transfer::REPLACE_SETTLE`).
    pub(crate) commit_settle: bool,
    /// The authenticator generation the account was last checked against.
    pub(crate) auth_generation: u64,
    /// When to ask the account store again after it could not be asked.
    pub(crate) auth_recheck: Option<std::time::Instant>,
    /// Slots for this session's jobs on the blocking pool (see `handlers::jobs`).
    /// Made at first use: most idle sessions never need it.
    pub(crate) blocking: std::sync::OnceLock<Arc<tokio::sync::Semaphore>>,
    /// Given back when the session ends.
    _admission: open::Admission,
}

/// The last reply of a session an administrator ended.
pub(crate) const KICKED: &str = "Session ended by an administrator.";

/// The last reply of a session the server's shutdown ended.
const SHUTTING_DOWN: &str = "Server shutting down; closing control connection.";

/// How the wait for the next command ended.
enum Waited {
    /// A command line, parsed (or the reply to a line that was not one).
    Line(busy::Parsed),
    /// The client closed the connection.
    Closed,
    /// The control connection failed.
    Lost(io::Error),
    /// The idle or login timeout.
    TimedOut,
    /// An administrator ended the session, or the server is shutting down.
    Ending,
}

/// Blocking jobs one session may run at once (see `handlers::jobs`). A
/// session runs one command at a time, and a command needs one slot at a
/// time (a listing reads the folder's first entries in one job, then
/// formats it in another), so the second slot is for the tail of an
/// aborted job still winding down.
pub(crate) const BLOCKING_SLOTS: usize = 2;

impl Session {
    /// The command loop. Before login everything, each command included,
    /// must be over by `login_deadline`; after it, each wait for a command
    /// by the idle timeout. (`REIN` and `USER` start a new login phase,
    /// with a fresh deadline.)
    async fn run(&mut self) -> io::Result<()> {
        // The login deadline is the control connection's write deadline
        // too, and kept there only: what this future keeps across its
        // waits is part of every idle session's memory (so are the
        // timeouts, read from the settings at each turn).
        Box::pin(self.ctl.reply(code::READY, self.shared.config.greeting.clone())).await?;
        while !self.quit {
            let login_deadline = match (self.account(), self.ctl.deadline()) {
                (Some(_), _) => None,
                (None, None) => Some(control::after(self.shared.config.login_timeout)),
                (None, Some(d)) => Some(d),
            };
            self.ctl.set_deadline(login_deadline);
            // Checked here, not only while waiting for input: a client that
            // keeps sending always has a line ready, and a timeout around a
            // read that is ready at once never fires.
            if login_deadline.is_some_and(|d| d <= tokio::time::Instant::now()) {
                Box::pin(self.ctl.farewell(code::NOT_AVAILABLE, "Login timeout; closing control connection.")).await;
                return Ok(());
            }
            if self.registration.is_kicked() {
                self.kicked_farewell().await;
                return Ok(());
            }
            if self.closing || *self.shared.shutdown.borrow() {
                Box::pin(self.ctl.farewell(code::NOT_AVAILABLE, SHUTTING_DOWN)).await;
                return Ok(());
            }
            let until = control::after(self.shared.config.idle_timeout);
            let parsed = match self.next_line(login_deadline.map_or(until, |d| d.min(until))).await {
                Waited::Line(parsed) => parsed,
                // Boxed: what ends the session is not kept while it waits.
                other => return Box::pin(self.wait_ended(other)).await,
            };
            if !self.heard {
                self.heard = true;
                tracing::info!("session start");
            }
            let login_deadline = self.ctl.deadline();
            // Boxed, as everything a command does: an idle session's task
            // keeps only what waiting for the next line needs.
            let handled = Box::pin(async {
                match parsed {
                    Ok(cmd) => self.run_command(cmd).await,
                    Err(reply) => self.ctl.send(&reply).await,
                }
            });
            match login_deadline {
                None => handled.await?,
                // A command before login (a PASS waiting for its hash, an
                // AUTH TLS handshake) is part of the login phase too.
                Some(d) => match Box::pin(tokio::time::timeout_at(d, handled)).await {
                    Ok(r) => r?,
                    Err(_) => {
                        Box::pin(self.ctl.farewell(code::NOT_AVAILABLE, "Login timeout; closing control connection.")).await;
                        return Ok(());
                    }
                },
            }
        }
        Ok(())
    }

    /// The wait for a command ended without one: say why, if there is
    /// anything to say, and end the session.
    async fn wait_ended(&mut self, waited: Waited) -> io::Result<()> {
        match waited {
            Waited::Line(_) | Waited::Closed => {}
            Waited::Lost(e) => return Err(e),
            Waited::TimedOut => {
                let what = if self.account().is_none() { "Login timeout" } else { "Idle timeout" };
                self.ctl.farewell(code::NOT_AVAILABLE, format!("{what}; closing control connection.")).await;
            }
            Waited::Ending if self.registration.is_kicked() => self.kicked_farewell().await,
            Waited::Ending => self.ctl.farewell(code::NOT_AVAILABLE, SHUTTING_DOWN).await,
        }
        Ok(())
    }

    /// The next command: one held back while the session was busy, or the
    /// next line from the client, waited for until `until`. Between
    /// commands is a safe point to end a session, so the wait also ends
    /// when an administrator kicks it or the server shuts down. (What
    /// this future holds is what an idle session holds: the read, its
    /// timer and one pointer for the rest.)
    async fn next_line(&mut self, until: tokio::time::Instant) -> Waited {
        if let Some(parsed) = self.pending.pop_front() {
            return Waited::Line(parsed);
        }
        tokio::select! {
            r = tokio::time::timeout_at(until, self.ctl.read_line()) => match r {
                Err(_) => Waited::TimedOut,
                Ok(Ok(None)) => Waited::Closed,
                Ok(Ok(Some(line))) => Waited::Line(busy::parse(line)),
                Ok(Err(e)) => Waited::Lost(e),
            },
            () = self.registration.ending() => Waited::Ending,
        }
    }

    async fn run_command(&mut self, cmd: Command) -> io::Result<()> {
        tracing::debug!(?cmd, "command");
        // Boxed: the future of a command (a transfer's is large) is
        // allocated only while it runs, so an idle session's task stays
        // small.
        let started = std::time::Instant::now();
        let r = Box::pin(self.dispatch(cmd)).await;
        self.shared.metrics.command_seconds.observe(started.elapsed().as_secs_f64());
        r
    }

    /// Who is logged in, if anyone.
    pub(crate) fn account(&self) -> Option<&Login> {
        self.state.account()
    }

    /// The enabled `MLSx` facts, in `FEAT` order.
    pub(crate) fn facts(&self) -> Vec<&'static str> {
        ferry_proto::listing::MLSX_FACTS.iter().enumerate().filter(|(i, _)| self.mlst_facts & (1 << i) != 0).map(|(_, f)| *f).collect()
    }

    /// The logged-in user's policy (everything allowed before login, when
    /// nothing is reachable anyway).
    pub(crate) fn policy(&self) -> crate::auth::settings::Policy {
        self.fs.as_ref().map(|fs| fs.policy()).unwrap_or_default()
    }

    /// Resolve a client path against the working directory, or refuse
    /// with 553. The server's own temporary upload names are refused here,
    /// for every command.
    pub(crate) fn resolve(&self, input: &str) -> Result<VirtualPath, Refusal> {
        match self.cwd.resolve(input) {
            Some(p) if !crate::storage::is_reserved(&p) => Ok(p),
            _ => Err(answer::refuse(code::BAD_FILE_NAME, "File name not allowed.")),
        }
    }

    /// [`Session::resolve`] for a name about to be created (an upload, a
    /// folder, a rename's target): control characters are refused too, as
    /// a CR or LF in a name would forge lines in listings and logs.
    pub(crate) fn resolve_new(&self, input: &str) -> Result<VirtualPath, Refusal> {
        let path = self.resolve(input)?;
        if path.file_name().is_some_and(|n| !crate::storage::acceptable_new_name(n)) {
            tracing::info!(path = ?path.as_str(), "refused a new name with control characters");
            return Err(answer::refuse(code::BAD_FILE_NAME, "File name not allowed: it contains control characters."));
        }
        Ok(path)
    }

    /// Carry out one command and send its reply: the one place a final
    /// reply is written (see [`answer`]).
    async fn dispatch(&mut self, cmd: Command) -> io::Result<()> {
        match answer::into_reply(self.handle(cmd).await)? {
            Some(reply) => self.ctl.send(&reply).await,
            None => Ok(()),
        }
    }

    async fn handle(&mut self, cmd: Command) -> Handled {
        let rename_from = self.state.admit(&cmd, self.transport())?.rename_from;
        // After a reload, the account is looked up again (one atomic load
        // per command otherwise); a removed one ends the session here.
        if self.account().is_some() && self.shared.auth.generation() != self.auth_generation && !self.refresh_account().await? {
            return answer::sent();
        }
        match cmd {
            Command::User(u) => self.user(u).await,
            Command::Pass(p) => self.pass(p).await,
            Command::Acct(_) => answer::reply(code::SUPERFLUOUS, "ACCT not needed on this server."),
            Command::Rein => self.rein().await,
            Command::Quit => self.quit_cmd().await,
            Command::Host(h) => self.host(h).await,
            Command::Pwd => self.pwd().await,
            Command::Cwd(p) => self.cwd_cmd(&p).await,
            Command::Cdup => self.cwd_cmd("..").await,
            Command::Mkd(p) => self.mkd(&p).await,
            Command::Rmd(p) => self.rmd(&p).await,
            Command::Dele(p) => self.dele(&p).await,
            Command::Rnfr(p) => self.rnfr(&p).await,
            Command::Rnto(p) => self.rnto(rename_from, &p).await,
            Command::Size(p) => self.size(&p).await,
            Command::Mdtm(p) => self.mdtm(&p).await,
            Command::Mfmt { time, path } => self.mfmt(time, &path).await,
            Command::Type(t) => self.type_cmd(t).await,
            Command::Mode(m) => self.mode(m).await,
            Command::Stru(s) => self.stru(s).await,
            Command::Pasv => self.pasv().await,
            Command::Epsv(a) => self.epsv(a).await,
            Command::Port(a) => self.port(SocketAddr::V4(a), false).await,
            Command::Eprt(a) => self.port(a, true).await,
            Command::Rest(n) => self.rest_cmd(n).await,
            Command::Allo(n) => {
                // Nothing to allocate, but the size is remembered: an upload
                // that then delivers fewer bytes broke off and is not
                // committed.
                self.state.allo = std::num::NonZeroU64::new(n);
                answer::reply(code::SUPERFLUOUS, "No storage allocation necessary.")
            }
            Command::Retr(p) => self.retr(&p).await,
            Command::Stor(p) => self.stor(&p, false).await,
            Command::Appe(p) => self.stor(&p, true).await,
            Command::Stou(hint) => self.stou(hint).await,
            Command::Abor => self.abor().await,
            Command::List(a) => self.list(a, ListKind::Long).await,
            Command::Nlst(a) => self.list(a, ListKind::Names).await,
            Command::Mlsd(a) => self.list(a, ListKind::Facts).await,
            Command::Mlst(a) => self.mlst(a).await,
            Command::Syst => answer::reply(code::SYSTEM_TYPE, "UNIX Type: L8"),
            Command::Stat(a) => self.stat(a).await,
            Command::Help(a) => self.help(a).await,
            Command::Noop => answer::reply(code::OK, "NOOP ok."),
            Command::Feat => self.feat().await,
            Command::Opts(o) => self.opts(o).await,
            Command::Site(a) => self.site(&a).await,
            Command::Hash(p) => self.hash(&p).await,
            Command::Rang { start, end } => self.rang_cmd(start, end).await,
            Command::Checksum { algo, path, start, end } => self.checksum(algo, &path, start, end).await,
            Command::Auth(mechanism) => self.auth(&mechanism).await,
            Command::Pbsz(n) => self.pbsz_cmd(n).await,
            Command::Prot(level) => self.prot(level).await,
            Command::Ccc => answer::reply(code::POLICY_DENIED, "CCC refused: the control connection stays encrypted."),
            Command::Unknown { verb, .. } => {
                if self.account().is_none() && !is_known_elsewhere(&verb) {
                    answer::reply(code::NOT_LOGGED_IN, "Please log in with USER and PASS first.")
                } else {
                    answer::reply(code::NOT_IMPLEMENTED, format!("{verb} not implemented."))
                }
            }
        }
    }

    /// This session as the core's events name it (the registry's number).
    pub(crate) fn info(&self) -> ferry_core::events::SessionInfo {
        self.registration.info()
    }

    /// An administrator ended the session: say so, and close. (A transfer
    /// it was running has been stopped and answered already.)
    async fn kicked_farewell(&mut self) {
        tracing::info!("session ended by an administrator");
        Box::pin(self.ctl.farewell(code::NOT_AVAILABLE, KICKED)).await;
    }

    /// What the storage behind this session can do (before login, the
    /// server's: `FEAT` is answered then too).
    pub(crate) fn capabilities(&self) -> crate::storage::Capabilities {
        match &self.fs {
            Some(fs) => fs.capabilities(),
            None => self.shared.services.storage().capabilities(),
        }
    }

    /// What the state machine needs to know of the connection.
    pub(crate) fn transport(&self) -> Transport {
        Transport { tls: self.ctl.is_tls(), tls_required: self.tls_required() }
    }

    /// True when the server refuses clear-text logins and transfers.
    pub(crate) fn tls_required(&self) -> bool {
        self.shared.tls().is_some_and(|t| t.require_tls)
    }

    /// The transfer type as text for `150` replies.
    pub(crate) fn mode_name(&self) -> &'static str {
        if self.state.ascii { "ASCII" } else { "BINARY" }
    }
}

/// True for the error of a connection that closed (or reset, as HAProxy's
/// checks do) before sending anything: a load balancer's health check.
pub(crate) fn closed_silently(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset)
}

/// Verbs of other FTP extensions that clients probe before logging in
/// (AUTH for TLS); answering 502 lets them carry on.
fn is_known_elsewhere(verb: &str) -> bool {
    matches!(verb, "LANG" | "CLNT" | "ADAT")
}

/// Which listing a data transfer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// `LIST`: `ls -l` lines.
    Long,
    /// `NLST`: names only.
    Names,
    /// `MLSD`: RFC 3659 fact lines.
    Facts,
}

#[cfg(test)]
mod size_tests {
    #[tokio::test]
    async fn idle_session_future_is_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let storage = std::sync::Arc::new(crate::storage::local::LocalStorage::open(dir.path()).unwrap());
        let users = std::sync::Arc::new(crate::auth::users_file::UsersFile::default());
        let auth = std::sync::Arc::new(crate::auth::password::PasswordAuth::new(users, Default::default()));
        let srv = crate::Server::new(crate::Config::default(), storage, auth);
        let peer = server.peer_addr().unwrap();
        let shared = srv.shared();
        let permit = std::sync::Arc::new(tokio::sync::Semaphore::new(1)).try_acquire_owned().unwrap();
        let slot = shared.defender.admit(peer.ip(), std::time::Instant::now()).unwrap();
        let fut = super::open::start(server, peer, shared, super::open::Admission::new(permit, slot), false).unwrap();
        let size = std::mem::size_of_val(&fut);
        eprintln!("session future: {size} bytes; Session: {} bytes", std::mem::size_of::<super::Session>());
        drop(client);
    }
}
