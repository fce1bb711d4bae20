//! The interactive shell: the seed's `get`, `upload` and `exit`, and the
//! ftp(1) command set people type by habit.
//!
//! This file holds the shell's state and its loop: read a line (with
//! keepalive `NOOP`s while the user thinks), run it, record the first
//! failure's exit status. Which command a line means and what it does is
//! in `dispatch`, driven by the table in `commands`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_client::local::Clobber;
use ferry_client::sftp::SftpConfig;
use ferry_client::{Client, ClientConfig, Error, Session, SessionLogin};
use ferry_proto::listing::Kind;

use super::complete::{ListRequest, RemoteNames};
use super::exit;
use super::input::Input;
use super::listing::printable;

/// Settings the user can change with shell commands.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Ask before each file of `mget`/`mput`/`mdelete`.
    pub(crate) prompt: bool,
    /// Print `#` every this many bytes.
    pub(crate) hash: Option<u64>,
    /// What `get` does with an existing local file.
    pub(crate) clobber: Clobber,
    /// Show progress bars.
    pub(crate) progress: bool,
}

/// A failed shell command.
#[derive(Debug)]
pub(crate) enum CmdError {
    Client(Error),
    Usage(String),
    Local(String),
    NotConnected,
    /// Connected, but the login failed (or was never made).
    NotLoggedIn,
    /// Some of a command's transfers failed (each already reported).
    Incomplete(String),
}

impl From<Error> for CmdError {
    fn from(e: Error) -> Self {
        CmdError::Client(e)
    }
}

impl CmdError {
    pub(crate) fn status(&self) -> u8 {
        match self {
            CmdError::Client(e) => exit::for_kind(e.kind()),
            CmdError::Usage(_) => exit::USAGE,
            CmdError::Local(_) => exit::LOCAL,
            CmdError::NotConnected => exit::CONNECT,
            CmdError::NotLoggedIn => exit::LOGIN,
            CmdError::Incomplete(_) => exit::TRANSFER,
        }
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CmdError::Client(e) => write!(f, "{e}"),
            CmdError::Usage(s) | CmdError::Local(s) | CmdError::Incomplete(s) => f.write_str(s),
            CmdError::NotConnected => f.write_str("Not connected; use open HOST [PORT]."),
            CmdError::NotLoggedIn => f.write_str("Not logged in; use user NAME to log in, or open HOST for another server."),
        }
    }
}

pub(crate) type CmdResult = Result<(), CmdError>;

/// What to do after a command.
pub(crate) enum Flow {
    Continue,
    Exit,
}

/// The shell's state.
pub(crate) struct Shell {
    pub(crate) client: Option<Session>,
    pub(crate) config: ClientConfig,
    /// Settings for SFTP sessions (host keys, identities, timeouts).
    pub(crate) sftp: SftpConfig,
    pub(crate) input: Input,
    pub(crate) settings: Settings,
    pub(crate) remote_names: Arc<Mutex<RemoteNames>>,
    /// Folders the completer wants listed.
    list_requests: tokio::sync::mpsc::UnboundedReceiver<ListRequest>,
    /// The last login, to reconnect with after the connection is lost.
    pub(crate) saved: Option<SessionLogin>,
    /// The remote folder `cd` went to, to return to after reconnecting.
    pub(crate) cwd: Option<String>,
    /// Why the connection was lost (the server's `421`, say).
    pub(crate) lost: Option<String>,
    /// The server last opened, for `user` after the server hung up (or
    /// to log in again over SFTP as someone else).
    pub(crate) last_server: Option<(String, u16, bool)>,
    /// The first failure's exit status, 0 while all went well.
    pub(crate) status: u8,
    /// `--user` from the command line.
    pub(crate) user_hint: Option<String>,
}

/// An answer to [`Shell::confirm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Yes,
    No,
    All,
    Quit,
}

/// Asks [`Shell::confirm`] file after file until the answer is `all`.
#[derive(Debug, Default)]
pub(crate) struct Asking {
    all: bool,
}

impl Asking {
    /// `Some(true)`: do this file; `Some(false)`: skip it; `None`: stop.
    pub(crate) async fn ask(&mut self, shell: &mut Shell, question: &str) -> Option<bool> {
        if self.all {
            return Some(true);
        }
        match shell.confirm(question).await {
            Answer::Yes => Some(true),
            Answer::No => Some(false),
            Answer::All => {
                self.all = true;
                Some(true)
            }
            Answer::Quit => None,
        }
    }
}

/// Resolves when the user presses Ctrl-C.
pub(crate) async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Shell {
    pub(crate) fn new(
        config: ClientConfig,
        sftp: SftpConfig,
        commands: Option<Vec<String>>,
        settings: Settings,
        user_hint: Option<String>,
    ) -> Shell {
        let remote_names = Arc::new(Mutex::new(RemoteNames::default()));
        let (ask, list_requests) = tokio::sync::mpsc::unbounded_channel();
        let input = Input::new(commands, remote_names.clone(), ask);
        Shell {
            client: None,
            config,
            sftp,
            input,
            settings,
            remote_names,
            list_requests,
            saved: None,
            cwd: None,
            lost: None,
            last_server: None,
            status: 0,
            user_hint,
        }
    }

    /// The logged-in session, for every command that needs one.
    pub(crate) fn client(&mut self) -> Result<&mut Session, CmdError> {
        match self.client.as_mut() {
            Some(c) if c.login_details().is_some() => Ok(c),
            Some(_) => Err(CmdError::NotLoggedIn),
            None => Err(CmdError::NotConnected),
        }
    }

    /// The FTP control connection, logged in or not (`user`, `quote`);
    /// `what` is refused on an SFTP session, saying why.
    pub(crate) fn ftp_connected(&mut self, what: &str) -> Result<&mut Client, CmdError> {
        match self.client.as_mut() {
            None => Err(CmdError::NotConnected),
            Some(Session::Sftp(_)) => Err(CmdError::Usage(format!("{what} is FTP's; this session is SFTP, which has no such thing"))),
            Some(Session::Ftp(c)) => Ok(c),
        }
    }

    /// Record a failure; the first one decides the exit status.
    pub(crate) fn fail(&mut self, what: &str, e: &CmdError) {
        // Error texts carry the server's words: no control characters raw.
        match e {
            // "?Invalid command: foo" names the word already.
            CmdError::Usage(m) if m.starts_with('?') => eprintln!("ferry: {}", printable(m)),
            _ => eprintln!("ferry: {}", printable(&format!("{what}: {e}"))),
        }
        if self.status == 0 {
            self.status = e.status();
        }
        if self.lose_connection(e) {
            match &self.saved {
                Some(_) => println!("The next command reconnects."),
                None => println!("Use open to reconnect."),
            }
        }
    }

    /// A lost control connection cannot be used again: drop it, and keep
    /// why for the reconnect's message. True when `e` meant that.
    fn lose_connection(&mut self, e: &CmdError) -> bool {
        let sftp = self.client.as_ref().is_some_and(Session::is_sftp);
        let closed = self.client.as_ref().is_some_and(Session::is_closed);
        let why = match e {
            // A stopped SFTP upload ends the connection (see
            // `SftpClient::upload`), so that the server keeps the old file.
            CmdError::Client(Error::Interrupted) if closed => "an upload was stopped".to_owned(),
            CmdError::Client(Error::Io(io)) => io.to_string(),
            CmdError::Client(Error::Reply { reply, .. }) if reply.code == 421 => format!("{} {}", reply.code, reply.text()),
            // The SSH connection or the SFTP channel is gone, or stuck.
            CmdError::Client(e @ (Error::Ssh(_) | Error::Timeout(_))) if sftp => e.to_string(),
            _ => return false,
        };
        self.client = None;
        self.lost = Some(why);
        true
    }

    /// Before a command that needs the server: if the connection was
    /// lost, open it again with the same login and folder, and say so.
    pub(crate) async fn reconnect_if_lost(&mut self) -> CmdResult {
        if self.client.as_ref().is_some_and(Session::is_closed) {
            self.client = None;
            self.lost.get_or_insert_with(|| "the server closed the SSH connection".to_owned());
        }
        if self.client.is_some() {
            return Ok(());
        }
        let Some(login) = self.saved.clone() else { return Ok(()) };
        let why = self.lost.take().unwrap_or_else(|| "closed".into());
        println!("Connection lost ({}); reconnecting to {}:{} as {}.", printable(&why), login.host(), login.port(), login.user());
        let mut client = login.open(self.config.clone()).await?;
        if let Some(dir) = &self.cwd
            && let Err(e) = client.cwd(dir).await
        {
            // Running the command in another folder would be worse.
            self.client = Some(client);
            return Err(CmdError::Local(format!("back in {dir} after reconnecting: {e}; the command was not run")));
        }
        match client {
            Session::Sftp(_) => println!("Logged in as {}.", login.user()),
            Session::Ftp(_) => println!("230 Logged in as {}.", login.user()),
        }
        self.client = Some(client);
        self.mark_remote_stale();
        Ok(())
    }

    /// Remember the login (and later the folder) for [`Shell::reconnect_if_lost`].
    pub(crate) fn remember_login(&mut self) {
        self.saved = self.client.as_ref().and_then(Session::login_details);
        self.cwd = None;
        self.lost = None;
    }

    /// Forget the folders listed for completion: the remote side changed.
    pub(crate) fn mark_remote_stale(&self) {
        if let Ok(mut r) = self.remote_names.lock() {
            r.folders.clear();
        }
    }

    /// Read and run commands until `exit`/`bye` or end of input.
    pub(crate) async fn run(&mut self) -> u8 {
        loop {
            let prompt = if self.input.interactive() { "ferry> " } else { "" };
            let line = {
                let read = self.input.command(prompt);
                tokio::pin!(read);
                let mut keepalive = tokio::time::interval(Duration::from_secs(60));
                keepalive.tick().await;
                loop {
                    tokio::select! {
                        line = &mut read => break line,
                        _ = keepalive.tick() => {
                            if let Some(c) = self.client.as_mut()
                                && let Err(e) = c.noop().await {
                                    self.client = None;
                                    self.lost = Some(match &e {
                                        Error::Reply { reply, .. } => format!("{} {}", reply.code, reply.text()),
                                        e => e.to_string(),
                                    });
                                }
                        }
                        Some((folder, reply)) = self.list_requests.recv() => {
                            let _ = reply.send(list_for_completion(self.client.as_mut(), &self.remote_names, &folder).await);
                        }
                    }
                }
            };
            let Some(line) = line else { break };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !self.input.interactive() && matches!(self.input, Input::Stdin { .. }) {
                // Echo scripted commands so a transcript shows what ran.
                println!("ferry> {line}");
            }
            let word = line.split_whitespace().next().unwrap_or(line);
            match self.execute(line).await {
                Ok(Flow::Continue) => {}
                Ok(Flow::Exit) => break,
                // The server closed the session (an idle timeout, say)
                // without doing the command; do it on a new connection.
                Err(e) if self.saved.is_some() && super::commands::repeatable(line) && Self::closed_by_server(&e) => {
                    self.lose_connection(&e);
                    match self.execute(line).await {
                        Ok(Flow::Continue) => {}
                        Ok(Flow::Exit) => break,
                        Err(e) => self.fail(word, &e),
                    }
                }
                Err(e) => self.fail(word, &e),
            }
        }
        if let Some(c) = self.client.take()
            && let Err(e) = goodbye(c).await
        {
            eprintln!("ferry: quit: {e}");
        }
        self.status
    }

    /// True when `e` says the server ended the session before the
    /// command: FTP's `421`. (An SFTP connection the server closed is
    /// found before the command, by [`Shell::reconnect_if_lost`]; one
    /// that breaks during it may have done part of it, so it is not run
    /// again unasked.)
    fn closed_by_server(e: &CmdError) -> bool {
        matches!(e, CmdError::Client(Error::Reply { reply, .. }) if reply.code == 421)
    }

    /// Ask before one file of `mget`/`mput`/`mdelete` (in `prompt` mode);
    /// scripts answer yes. Ctrl-C or the end of input is `Quit`.
    pub(crate) async fn confirm(&mut self, question: &str) -> Answer {
        if !self.settings.prompt || !self.input.interactive() {
            return Answer::Yes;
        }
        loop {
            let Some(a) = self.input.ask(&format!("{question} [y]es [n]o [a]ll [q]uit [?] ")).await else { return Answer::Quit };
            match a.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" | "" => return Answer::Yes,
                "n" | "no" => return Answer::No,
                "a" | "all" => return Answer::All,
                "q" | "quit" => return Answer::Quit,
                _ => println!("y: this one; n: skip this one; a: this one and all the rest without asking; q: stop here (Ctrl-C too)"),
            }
        }
    }

    /// Expand a remote wildcard against the listing of its folder.
    pub(crate) async fn remote_glob(&mut self, pattern: &str) -> Result<Vec<(String, Kind)>, CmdError> {
        let (dir, last) = match pattern.rfind('/') {
            Some(i) => (Some(&pattern[..i.max(1)]), &pattern[i + 1..]),
            None => (None, pattern),
        };
        if !ferry_proto::glob::is_glob(last) {
            return Ok(vec![(pattern.to_owned(), Kind::File)]);
        }
        let entries = self.client()?.list(dir).await?;
        let prefix = dir.map(|d| if d.ends_with('/') { d.to_owned() } else { format!("{d}/") }).unwrap_or_default();
        let mut out: Vec<(String, Kind)> = entries
            .into_iter()
            // Only names: a listed `x/..` or `/etc/x` (a hostile server's)
            // must not become a local path.
            .filter(|e| ferry_proto::path::is_plain_name(&e.name) && ferry_proto::glob::matches(last, &e.name))
            .map(|e| (format!("{prefix}{}", e.name), e.kind))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// End a session, and say so as its protocol does.
pub(crate) async fn goodbye(session: Session) -> Result<(), Error> {
    let sftp = session.is_sftp();
    session.quit().await?;
    println!("{}", if sftp { "Goodbye." } else { "221 Goodbye." });
    Ok(())
}

/// The names in remote `folder` (`""`: the working one) for Tab, kept
/// for the next Tab; nothing when not logged in or the listing fails.
async fn list_for_completion(client: Option<&mut Session>, cache: &Mutex<RemoteNames>, folder: &str) -> Vec<String> {
    let Some(client) = client.filter(|c| c.login_details().is_some()) else { return Vec::new() };
    let Ok(entries) = client.list((!folder.is_empty()).then_some(folder)).await else { return Vec::new() };
    let names: Vec<String> = entries.into_iter().map(|e| if e.kind == Kind::Dir { format!("{}/", e.name) } else { e.name }).collect();
    if let Ok(mut r) = cache.lock() {
        r.folders.insert(folder.to_owned(), names.clone());
    }
    names
}

/// Local wildcard expansion (for `mput`).
pub(crate) fn local_glob(pattern: &str) -> Result<Vec<PathBuf>, CmdError> {
    let path = Path::new(pattern);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !ferry_proto::glob::is_glob(&name) {
        return Ok(vec![path.to_path_buf()]);
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| CmdError::Local(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| ferry_proto::glob::matches(&name, &e.file_name().to_string_lossy()))
        .map(|e| if dir == Path::new(".") { PathBuf::from(e.file_name()) } else { e.path() })
        .collect();
    out.sort();
    Ok(out)
}

/// Format an entry for `--json` output.
pub(crate) fn entry_json(e: &ferry_proto::listing::Entry) -> serde_json::Value {
    serde_json::json!({
        "name": e.name,
        "type": match e.kind { Kind::Dir => "dir", Kind::File => "file", Kind::Symlink => "symlink", Kind::Other => "other" },
        "size": e.size,
        "modified": e.modified.map(super::listing::iso_time),
        "mode": e.mode.map(|m| format!("{m:o}")),
    })
}
