//! The interactive shell: the seed's `get`, `upload` and `exit`, and the
//! ftp(1) command set people type by habit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_client::local::Clobber;
use ferry_client::{Client, ClientConfig, DataMode, Error};
use ferry_proto::listing::{self, Kind};

use super::complete::RemoteNames;
use super::exit;
use super::input::Input;
use super::words;

/// Every shell command, for abbreviation and completion.
pub(crate) const COMMANDS: &[&str] = &[
    "!", "?", "append", "ascii", "binary", "bye", "cd", "cdup", "chmod", "close", "delete", "dir", "exit", "get", "hash", "help", "lcd",
    "lls", "lpwd", "ls", "mdelete", "mget", "mirror", "mkdir", "modtime", "mput", "open", "passive", "prompt", "put", "pwd", "quit",
    "quote", "literal", "recv", "reget", "rename", "reput", "rmdir", "send", "set", "size", "status", "type", "upload", "user",
];

/// Commands whose arguments are local paths (for completion).
pub(crate) const LOCAL_ARG_COMMANDS: &[&str] = &["put", "send", "upload", "mput", "lcd", "lls", "reput", "append"];

const HELP: &str = "\
Seed commands:  get [REMOTE [LOCAL]]   upload [LOCAL]   exit
Files:          get/recv reget mget put/send reput mput append delete mdelete rename size modtime chmod
Folders:        ls dir cd cdup pwd mkdir rmdir mirror [-R] [--only-newer] [--delete] [--dry-run] [--parallel N]
Local:          lcd lpwd lls !command
Session:        open HOST [PORT] close user NAME status quote/literal CMD bye quit
Settings:       binary ascii type [a|i] passive hash [SIZE] prompt set clobber new|overwrite|resume|skip|ask
get options:    --overwrite --resume --skip --ask --segments N
Commands may be abbreviated to any unique prefix (e.g. 'mk' for mkdir).";

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

/// How to reach the server again (for extra connections).
#[derive(Debug, Clone)]
pub(crate) struct Login {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    pub(crate) password: String,
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

/// The shell's state.
pub(crate) struct Shell {
    pub(crate) client: Option<Client>,
    pub(crate) login: Option<Login>,
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
        Shell { client: None, login: None, config, input, settings, remote_names, status: 0, user_hint }
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

    /// Connect and log in, asking for what is missing.
    pub(crate) async fn open(&mut self, host: &str, port: u16, user: Option<String>, password: Option<String>) -> CmdResult {
        if let Some(old) = self.client.take() {
            let _ = old.quit().await;
        }
        let client = Client::connect(host, port, self.config.clone()).await?;
        println!("Connected to {host}.");
        println!("{} {}", client.welcome.code, client.welcome.text());
        self.client = Some(client);
        let netrc = netrc_for(host);
        let user = match user.or_else(|| self.user_hint.clone()).or_else(|| netrc.as_ref().map(|n| n.0.clone())) {
            Some(u) => u,
            None => self.input.ask("Name: ").await.ok_or(CmdError::Usage("no user name given".into()))?.trim().to_owned(),
        };
        let password = match password.or_else(|| netrc.and_then(|n| n.1)) {
            Some(p) => p,
            None => self.input.password("Password: ").await.ok_or(CmdError::Usage("no password given".into()))?,
        };
        let client = self.client()?;
        client.login(&user, &password).await?;
        println!("230 Logged in as {user}.");
        self.login = Some(Login { host: host.to_owned(), port, user, password });
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

    /// Run one command line.
    pub(crate) async fn execute(&mut self, line: &str) -> Result<Flow, CmdError> {
        if let Some(cmd) = line.strip_prefix('!') {
            return Self::shell_escape(cmd).map(|()| Flow::Continue);
        }
        let words = words::split(line).map_err(CmdError::Usage)?;
        let Some((first, args)) = words.split_first() else {
            return Ok(Flow::Continue);
        };
        let cmd = words::resolve(first, COMMANDS).map_err(CmdError::Usage)?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match cmd {
            "exit" | "bye" | "quit" => return Ok(Flow::Exit),
            "help" | "?" => println!("{HELP}"),
            "open" => {
                let host = args.first().ok_or_else(|| CmdError::Usage("usage: open HOST [PORT]".into()))?;
                let port =
                    args.get(1).map(|p| p.parse().map_err(|_| CmdError::Usage(format!("bad port {p:?}")))).transpose()?.unwrap_or(21);
                self.open(host, port, None, None).await?;
            }
            "close" => {
                if let Some(c) = self.client.take() {
                    c.quit().await?;
                    println!("221 Goodbye.");
                }
            }
            "user" => {
                let name = args.first().ok_or_else(|| CmdError::Usage("usage: user NAME [PASSWORD]".into()))?.to_string();
                let password = match args.get(1) {
                    Some(p) => p.to_string(),
                    None => self.input.password("Password: ").await.unwrap_or_default(),
                };
                self.client()?.login(&name, &password).await?;
                if let Some(l) = self.login.as_mut() {
                    l.user = name.clone();
                    l.password = password;
                }
                println!("230 Logged in as {name}.");
            }
            "pwd" => {
                let p = self.client()?.pwd().await?;
                println!("Remote directory: {p}");
            }
            "cd" => {
                let dir = args.first().ok_or_else(|| CmdError::Usage("usage: cd DIR".into()))?;
                self.client()?.cwd(dir).await?;
                self.mark_remote_stale();
            }
            "cdup" => {
                self.client()?.cdup().await?;
                self.mark_remote_stale();
            }
            "ls" | "dir" => {
                let verb = if cmd == "ls" && args.first() != Some(&"-l") { "NLST" } else { "LIST" };
                let target = args.iter().find(|a| !a.starts_with('-')).map(|s| s.to_string());
                let command = if verb == "NLST" { ferry_proto::Command::Nlst(target) } else { ferry_proto::Command::List(target) };
                let raw = self.client()?.list_raw(command).await?;
                print!("{}", String::from_utf8_lossy(&raw).replace("\r\n", "\n"));
            }
            "mkdir" => {
                let dir = args.first().ok_or_else(|| CmdError::Usage("usage: mkdir DIR".into()))?;
                let made = self.client()?.mkdir(dir).await?;
                println!("Created {made}");
                self.mark_remote_stale();
            }
            "rmdir" => {
                let dir = args.first().ok_or_else(|| CmdError::Usage("usage: rmdir DIR".into()))?;
                self.client()?.rmdir(dir).await?;
                self.mark_remote_stale();
            }
            "delete" => {
                let f = args.first().ok_or_else(|| CmdError::Usage("usage: delete FILE".into()))?;
                self.client()?.delete(f).await?;
                println!("Deleted {f}");
                self.mark_remote_stale();
            }
            "mdelete" => self.mdelete(&args).await?,
            "rename" => {
                let [from, to] = args[..] else {
                    return Err(CmdError::Usage("usage: rename FROM TO".into()));
                };
                self.client()?.rename(from, to).await?;
                println!("Renamed {from} to {to}");
                self.mark_remote_stale();
            }
            "size" => {
                let f = args.first().ok_or_else(|| CmdError::Usage("usage: size FILE".into()))?;
                let n = self.client()?.size(f).await?;
                println!("{f}\t{n}");
            }
            "modtime" => {
                let f = args.first().ok_or_else(|| CmdError::Usage("usage: modtime FILE".into()))?;
                let t = self.client()?.mdtm(f).await?;
                let c = ferry_proto::time::civil(t);
                println!("{f}\t{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", c.year, c.month, c.day, c.hour, c.minute, c.second);
            }
            "chmod" => {
                let [mode, file] = args[..] else {
                    return Err(CmdError::Usage("usage: chmod MODE FILE".into()));
                };
                self.client()?.chmod(mode, file).await?;
            }
            "binary" => self.set_ascii(false)?,
            "ascii" => self.set_ascii(true)?,
            "type" => match args.first().map(|s| s.to_ascii_lowercase()) {
                None => println!("Using {} mode to transfer files.", if self.client()?.ascii { "ascii" } else { "binary" }),
                Some(t) if t == "a" || t == "ascii" => self.set_ascii(true)?,
                Some(t) if t == "i" || t == "binary" || t == "image" => self.set_ascii(false)?,
                Some(t) => return Err(CmdError::Usage(format!("unknown type {t}: use ascii or binary"))),
            },
            "passive" => {
                self.config.mode = match (args.first().copied(), self.config.mode) {
                    (Some("on"), _) | (None, DataMode::Active) => DataMode::Passive,
                    _ => DataMode::Active,
                };
                if let Some(c) = self.client.as_mut() {
                    c.config.mode = self.config.mode;
                }
                println!("Passive mode: {}.", if self.config.mode == DataMode::Passive { "on" } else { "off" });
            }
            "hash" => {
                self.settings.hash = match args.first() {
                    Some(n) => Some(n.parse().map_err(|_| CmdError::Usage(format!("bad hash size {n:?}")))?),
                    None if self.settings.hash.is_some() => None,
                    None => Some(1024),
                };
                match self.settings.hash {
                    Some(n) => println!("Hash mark printing on ({n} bytes/hash mark)."),
                    None => println!("Hash mark printing off."),
                }
            }
            "prompt" => {
                self.settings.prompt = !self.settings.prompt;
                println!("Interactive mode {}.", if self.settings.prompt { "on" } else { "off" });
            }
            "set" => match args[..] {
                ["clobber", policy] => {
                    self.settings.clobber = policy.parse().map_err(CmdError::Usage)?;
                    println!("clobber = {policy}");
                }
                ["clobber"] | [] => println!("clobber = {:?}", self.settings.clobber),
                _ => return Err(CmdError::Usage("usage: set clobber new|overwrite|resume|skip|ask".into())),
            },
            "status" => self.print_status(),
            "quote" | "literal" => {
                if args.is_empty() {
                    return Err(CmdError::Usage("usage: quote COMMAND [ARGS]".into()));
                }
                let r = self.client()?.quote(&args.join(" ")).await?;
                let mut wire = Vec::new();
                r.encode_into(&mut wire);
                print!("{}", String::from_utf8_lossy(&wire).replace("\r\n", "\n"));
                if !r.is_positive() && self.status == 0 {
                    self.status = exit::REMOTE;
                }
            }
            "lcd" => {
                let dir = match args.first() {
                    Some(d) => PathBuf::from(d),
                    None => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/")),
                };
                std::env::set_current_dir(&dir).map_err(|e| CmdError::Local(format!("{}: {e}", dir.display())))?;
                println!("Local directory now {}", std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default());
            }
            "lpwd" => println!("Local directory: {}", std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default()),
            "lls" => {
                let dir = args.first().map_or_else(|| PathBuf::from("."), PathBuf::from);
                let mut names: Vec<String> = std::fs::read_dir(&dir)
                    .map_err(|e| CmdError::Local(format!("{}: {e}", dir.display())))?
                    .filter_map(|e| e.ok())
                    .map(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        if e.file_type().is_ok_and(|t| t.is_dir()) { format!("{n}/") } else { n }
                    })
                    .collect();
                names.sort();
                for n in names {
                    println!("{n}");
                }
            }
            "get" | "recv" => self.get_command(&args).await?,
            "reget" => self.reget(&args).await?,
            "mget" => self.mget(&args).await?,
            "put" | "send" => self.put_command(&args).await?,
            "upload" => self.upload(&args).await?,
            "reput" => self.reput(&args).await?,
            "append" => self.append(&args).await?,
            "mput" => self.mput(&args).await?,
            "mirror" => self.mirror(&args).await?,
            other => return Err(CmdError::Usage(format!("{other} is not available"))),
        }
        Ok(Flow::Continue)
    }

    fn set_ascii(&mut self, ascii: bool) -> CmdResult {
        self.client()?.ascii = ascii;
        println!("Using {} mode to transfer files.", if ascii { "ascii" } else { "binary" });
        Ok(())
    }

    fn print_status(&mut self) {
        match (&self.client, &self.login) {
            (Some(_), Some(l)) => println!("Connected to {}:{} as {}.", l.host, l.port, l.user),
            _ => println!("Not connected."),
        }
        println!(
            "Mode: {}; type: {}; hash: {}; prompt: {}; clobber: {:?}.",
            if self.config.mode == DataMode::Passive { "passive" } else { "active" },
            if self.client.as_ref().is_some_and(|c| c.ascii) { "ascii" } else { "binary" },
            self.settings.hash.map_or("off".to_owned(), |n| format!("every {n} bytes")),
            if self.settings.prompt { "on" } else { "off" },
            self.settings.clobber
        );
        if let Some(c) = &self.client {
            println!("Server features: {}", c.features.lines.join(", "));
        }
    }

    fn shell_escape(cmd: &str) -> CmdResult {
        let cmd = cmd.trim();
        let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
        let mut c = std::process::Command::new(&shell);
        if !cmd.is_empty() {
            c.arg("-c").arg(cmd);
        }
        let status = c.status().map_err(|e| CmdError::Local(format!("{shell}: {e}")))?;
        if !status.success() {
            return Err(CmdError::Local(format!("!{cmd}: {status}")));
        }
        Ok(())
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

/// What to do after a command.
pub(crate) enum Flow {
    Continue,
    Exit,
}

/// `(login, password)` for `host` from `~/.netrc`, if any.
pub(crate) fn netrc_for(host: &str) -> Option<(String, Option<String>)> {
    let path =
        std::env::var_os("NETRC").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".netrc")))?;
    let text = std::fs::read_to_string(path).ok()?;
    ferry_client::target::netrc_lookup(&text, host)
}

/// Format an entry for `--json` output.
pub(crate) fn entry_json(e: &listing::Entry) -> serde_json::Value {
    serde_json::json!({
        "name": e.name,
        "type": match e.kind { Kind::Dir => "dir", Kind::File => "file", Kind::Symlink => "symlink", Kind::Other => "other" },
        "size": e.size,
        "modified": e.modified.map(ferry_proto::time::format_timeval),
        "mode": e.mode.map(|m| format!("{m:o}")),
    })
}
