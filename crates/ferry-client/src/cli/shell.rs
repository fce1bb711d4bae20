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

use ferry_client::credentials::Credentials;
use ferry_client::local::Clobber;
use ferry_client::{Client, ClientConfig, Error};
use ferry_proto::listing::Kind;

use super::complete::RemoteNames;
use super::exit;
use super::input::Input;

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
        }
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CmdError::Client(e) => write!(f, "{e}"),
            CmdError::Usage(s) | CmdError::Local(s) => f.write_str(s),
            CmdError::NotConnected => f.write_str("Not connected; use open HOST [PORT]."),
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
    pub(crate) client: Option<Client>,
    pub(crate) config: ClientConfig,
    pub(crate) input: Input,
    pub(crate) settings: Settings,
    pub(crate) remote_names: Arc<Mutex<RemoteNames>>,
    /// The first failure's exit status, 0 while all went well.
    pub(crate) status: u8,
    /// `--user` from the command line.
    pub(crate) user_hint: Option<String>,
}

/// Resolves when the user presses Ctrl-C.
pub(crate) async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Shell {
    pub(crate) fn new(config: ClientConfig, commands: Option<Vec<String>>, settings: Settings, user_hint: Option<String>) -> Shell {
        let remote_names = Arc::new(Mutex::new(RemoteNames::default()));
        let input = Input::new(commands, remote_names.clone());
        Shell { client: None, config, input, settings, remote_names, status: 0, user_hint }
    }

    pub(crate) fn client(&mut self) -> Result<&mut Client, CmdError> {
        self.client.as_mut().ok_or(CmdError::NotConnected)
    }

    /// Record a failure; the first one decides the exit status.
    pub(crate) fn fail(&mut self, what: &str, e: &CmdError) {
        eprintln!("ferry: {what}: {e}");
        if self.status == 0 {
            self.status = e.status();
        }
        // A lost control connection cannot be used again.
        if let CmdError::Client(err) = e
            && matches!(err, Error::Io(_))
        {
            self.client = None;
            println!("Connection lost; use open to reconnect.");
        }
    }

    /// Connect and log in: the user and password from the URL, `--user`
    /// or `~/.netrc`, asking for what is still missing.
    pub(crate) async fn open(&mut self, host: &str, port: u16, user: Option<String>, password: Option<String>) -> CmdResult {
        if let Some(old) = self.client.take() {
            let _ = old.quit().await;
        }
        let client = Client::connect(host, port, self.config.clone()).await?;
        println!("Connected to {host}.");
        println!("{} {}", client.welcome.code, client.welcome.text());
        self.client = Some(client);
        let known = Credentials::lookup_with_netrc(host, user.as_deref(), password.as_deref(), self.user_hint.as_deref());
        let user = match known.user {
            Some(u) => u,
            None => self.input.ask("Name: ").await.ok_or(CmdError::Usage("no user name given".into()))?.trim().to_owned(),
        };
        let password = match known.password {
            Some(p) => p,
            None => self.input.password("Password: ").await.ok_or(CmdError::Usage("no password given".into()))?,
        };
        self.client()?.login(&user, &password).await?;
        println!("230 Logged in as {user}.");
        self.mark_remote_stale();
        Ok(())
    }

    pub(crate) fn mark_remote_stale(&self) {
        if let Ok(mut r) = self.remote_names.lock() {
            r.fresh = false;
        }
    }

    /// Refresh the completion cache when a person is typing.
    async fn refresh_remote_names(&mut self) {
        if !self.input.interactive() || self.remote_names.lock().map(|r| r.fresh).unwrap_or(true) {
            return;
        }
        let Some(client) = self.client.as_mut() else { return };
        if let Ok(entries) = client.list(None).await {
            let names = entries.into_iter().map(|e| if e.kind == Kind::Dir { format!("{}/", e.name) } else { e.name }).collect();
            if let Ok(mut r) = self.remote_names.lock() {
                *r = RemoteNames { names, fresh: true };
            }
        }
    }

    /// Read and run commands until `exit`/`bye` or end of input.
    pub(crate) async fn run(&mut self) -> u8 {
        loop {
            self.refresh_remote_names().await;
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
                                && c.noop().await.is_err() {
                                    self.client = None;
                                }
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
            match self.execute(line).await {
                Ok(Flow::Continue) => {}
                Ok(Flow::Exit) => break,
                Err(e) => self.fail(line.split_whitespace().next().unwrap_or(line), &e),
            }
        }
        if let Some(c) = self.client.take() {
            match c.quit().await {
                Ok(()) => println!("221 Goodbye."),
                Err(e) => eprintln!("ferry: quit: {e}"),
            }
        }
        self.status
    }

    /// Ask a yes/no question (for `prompt` mode); scripts answer yes.
    pub(crate) async fn confirm(&mut self, question: &str) -> bool {
        if !self.settings.prompt || !self.input.interactive() {
            return true;
        }
        matches!(self.input.ask(&format!("{question} [y/n] ")).await.as_deref().map(str::trim), Some("y" | "Y" | "yes" | ""))
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
            .filter(|e| ferry_proto::glob::matches(last, &e.name))
            .map(|e| (format!("{prefix}{}", e.name), e.kind))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
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
        "modified": e.modified.map(ferry_proto::time::format_timeval),
        "mode": e.mode.map(|m| format!("{m:o}")),
    })
}
