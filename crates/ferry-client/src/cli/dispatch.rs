//! Running one shell line: split it into words, look the first up in the
//! command table (`commands`), and do what the command says. The file and
//! folder commands are a call to the library and a line of output each;
//! transfers are in `transfer`, `mirror` in `mirror`.

use std::path::PathBuf;

use ferry_client::{DataMode, Session};
use ferry_proto::listing::Kind;

use super::commands::{self, Cmd, usage};
use super::exit;
use super::listing;
use super::shell::{Asking, CmdError, CmdResult, Flow, Shell};
use super::words;

/// The first argument, or the command's usage error.
fn first<'a>(args: &[&'a str], cmd: Cmd) -> Result<&'a str, CmdError> {
    args.first().copied().ok_or_else(|| CmdError::Usage(usage(cmd)))
}

impl Shell {
    /// Run one command line.
    pub(crate) async fn execute(&mut self, line: &str) -> Result<Flow, CmdError> {
        if let Some(cmd) = line.strip_prefix('!') {
            return shell_escape(cmd).map(|()| Flow::Continue);
        }
        let words = words::split(line).map_err(CmdError::Usage)?;
        let Some((first_word, args)) = words.split_first() else {
            return Ok(Flow::Continue);
        };
        let spec = commands::find(first_word).map_err(CmdError::Usage)?;
        let cmd = spec.cmd;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if args.contains(&"--help") {
            println!("{}", commands::describe(spec.name).map_err(CmdError::Usage)?);
            return Ok(Flow::Continue);
        }
        // `cd my folder` is not `cd my`: extra words are refused, not dropped.
        if let Some(max) = spec.max_args()
            && args.iter().filter(|a| !a.starts_with('-')).count() > max
        {
            return Err(CmdError::Usage(format!(
                "too many arguments; {} (a name with spaces needs quotes or backslashes: \"my file.txt\")",
                spec.usage_error()
            )));
        }
        if commands::needs_session(cmd) {
            self.reconnect_if_lost().await?;
        }
        match cmd {
            Cmd::Exit => return Ok(Flow::Exit),
            Cmd::Help => match args.first() {
                None => println!("{}", commands::overview()),
                Some(name) => println!("{}", commands::describe(name).map_err(CmdError::Usage)?),
            },
            Cmd::ShellEscape => shell_escape(&args.join(" "))?,
            Cmd::Open => {
                let host = first(&args, cmd)?;
                let port = args.get(1).map(|p| p.parse().map_err(|_| CmdError::Usage(format!("bad port {p:?}")))).transpose()?;
                if ferry_client::target::is_url(host) {
                    // `open sftp://user@host:2022/dir`, `open ftps://…`.
                    let t = ferry_client::target::parse_url(host).map_err(|e| CmdError::Usage(e.to_string()))?;
                    if let Some(dir) = self.open_target(&t, port).await? {
                        self.client()?.cwd(&dir).await?;
                        self.went_to_folder().await;
                    }
                } else {
                    self.open(host, port.unwrap_or(21), None, None).await?;
                }
            }
            Cmd::Close => {
                // Closed on purpose: no reconnecting.
                self.saved = None;
                if let Some(c) = self.client.take() {
                    super::shell::goodbye(c).await?;
                }
            }
            Cmd::User if self.last_server.as_ref().is_some_and(|s| s.2) => {
                // Over SFTP a login is a connection: open one as NAME.
                let name = first(&args, cmd)?.to_owned();
                let (host, port, _) = self.last_server.clone().unwrap_or_default();
                self.open_sftp(&host, port, Some(name), args.get(1).map(|p| p.to_string())).await?;
            }
            Cmd::User => {
                let name = first(&args, cmd)?.to_owned();
                let password = match args.get(1) {
                    Some(p) => p.to_string(),
                    None => self.input.password("Password: ").await.unwrap_or_default(),
                };
                if self.client.is_none()
                    && let Some((host, port, _)) = self.last_server.clone()
                {
                    // The server hung up (after failed logins, say): `user`
                    // is plainly meant for it.
                    let client = ferry_client::Client::connect(&host, port, self.config.clone()).await?;
                    println!("Connected to {host} again.");
                    self.client = Some(Session::Ftp(Box::new(client)));
                }
                self.ftp_connected("user")?.login(&name, &password).await?;
                println!("230 Logged in as {name}.");
                self.warn_if_clear_text();
                self.mark_remote_stale();
                self.remember_login();
            }
            Cmd::Status => self.print_status(),
            Cmd::Quote => self.quote(&args).await?,
            Cmd::Pwd => {
                let p = self.client()?.pwd().await?;
                println!("Remote directory: {p}");
            }
            Cmd::Cd => {
                self.client()?.cwd(first(&args, cmd)?).await?;
                self.went_to_folder().await;
            }
            Cmd::Cdup => {
                self.client()?.cdup().await?;
                self.went_to_folder().await;
            }
            Cmd::Ls => {
                let target = args.iter().find(|a| !a.starts_with('-')).copied();
                let names_only = args.iter().any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('1'));
                if let Some(bad) = args.iter().find(|a| a.starts_with('-') && !a[1..].chars().all(|c| "1laF".contains(c))) {
                    return Err(CmdError::Usage(format!("unknown ls option {bad}: ls [-1] [DIR] (-1: names only)")));
                }
                if names_only {
                    self.names_only(target).await?;
                } else {
                    let entries = self.client()?.list(target).await?;
                    print!("{}", listing::long(&entries));
                }
            }
            Cmd::Nlist => self.names_only(args.first().copied()).await?,
            Cmd::Dir => {
                let target = args.iter().find(|a| !a.starts_with('-')).map(|s| s.to_string());
                let lines = match self.client()? {
                    Session::Ftp(c) => {
                        let raw = c.list_raw(ferry_proto::Command::List(target)).await?;
                        String::from_utf8_lossy(&raw).lines().map(str::to_owned).collect()
                    }
                    Session::Sftp(s) => s.long_listing(target.as_deref()).await?,
                };
                for line in lines {
                    println!("{}", listing::printable(&line));
                }
            }
            Cmd::Mkdir => {
                let made = self.client()?.mkdir(first(&args, cmd)?).await?;
                println!("Created {made}");
                self.mark_remote_stale();
            }
            Cmd::Rmdir => {
                self.client()?.rmdir(first(&args, cmd)?).await?;
                self.mark_remote_stale();
            }
            Cmd::Delete => {
                let f = first(&args, cmd)?;
                self.client()?.delete(f).await?;
                println!("Deleted {f}");
                self.mark_remote_stale();
            }
            Cmd::Mdelete => self.mdelete(&args).await?,
            Cmd::Rename => {
                let [from, to] = args[..] else {
                    return Err(CmdError::Usage(usage(cmd)));
                };
                self.client()?.rename(from, to).await?;
                println!("Renamed {from} to {to}");
                self.mark_remote_stale();
            }
            Cmd::Size => {
                let f = first(&args, cmd)?;
                let n = self.client()?.size(f).await?;
                println!("{f}\t{n}");
            }
            Cmd::Modtime => {
                let f = first(&args, cmd)?;
                let t = self.client()?.mdtm(f).await?;
                let c = ferry_proto::time::civil(t);
                println!("{f}\t{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", c.year, c.month, c.day, c.hour, c.minute, c.second);
            }
            Cmd::Chmod => {
                let [mode, file] = args[..] else {
                    return Err(CmdError::Usage(usage(cmd)));
                };
                self.client()?.chmod(mode, file).await?;
            }
            Cmd::Binary => self.set_ascii(false)?,
            Cmd::Ascii => self.set_ascii(true)?,
            Cmd::Type => match args.first().map(|s| s.to_ascii_lowercase()) {
                None => {
                    let ascii = self.client()?.ftp().is_some_and(|c| c.ascii);
                    println!("Using {} mode to transfer files.", if ascii { "ascii" } else { "binary" });
                }
                Some(t) if t == "a" || t == "ascii" => self.set_ascii(true)?,
                Some(t) if t == "i" || t == "binary" || t == "image" => self.set_ascii(false)?,
                Some(t) => return Err(CmdError::Usage(format!("unknown type {t}: use ascii or binary"))),
            },
            Cmd::Passive => {
                self.config.mode = match (args.first().copied(), self.config.mode) {
                    (Some("on"), _) | (None, DataMode::Active) => DataMode::Passive,
                    _ => DataMode::Active,
                };
                if let Some(c) = self.client.as_mut().and_then(Session::ftp) {
                    c.config.mode = self.config.mode;
                }
                println!("Passive mode: {}.", if self.config.mode == DataMode::Passive { "on" } else { "off" });
            }
            Cmd::Hash => {
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
            Cmd::Prompt => {
                self.settings.prompt = !self.settings.prompt;
                println!("Interactive mode {}.", if self.settings.prompt { "on" } else { "off" });
            }
            Cmd::Set => match args[..] {
                ["clobber", policy] => {
                    self.settings.clobber =
                        policy.parse().map_err(|e: ferry_client::local::UnknownClobber| CmdError::Usage(e.to_string()))?;
                    println!("clobber = {policy}");
                }
                ["clobber"] | [] => println!("clobber = {:?}", self.settings.clobber),
                _ => return Err(CmdError::Usage(usage(cmd))),
            },
            Cmd::Lcd => {
                let dir = match args.first() {
                    Some(d) => PathBuf::from(d),
                    None => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/")),
                };
                std::env::set_current_dir(&dir).map_err(|e| CmdError::Local(format!("{}: {e}", dir.display())))?;
                println!("Local directory now {}", current_dir());
            }
            Cmd::Lpwd => println!("Local directory: {}", current_dir()),
            Cmd::Lls => list_local(args.first().copied())?,
            Cmd::Get => self.get_command(&args).await?,
            Cmd::Reget => self.reget(&args).await?,
            Cmd::Mget => self.mget(&args).await?,
            Cmd::Put => self.put_command(&args).await?,
            Cmd::Upload => self.upload(&args).await?,
            Cmd::Reput => self.reput(&args).await?,
            Cmd::Append => self.append(&args).await?,
            Cmd::Mput => self.mput(&args).await?,
            Cmd::Mirror => self.mirror(&args).await?,
        }
        Ok(Flow::Continue)
    }

    /// After `cd`: forget completions, and remember where we are for a
    /// reconnect (as an absolute path, so `cd ..` twice is not replayed).
    async fn went_to_folder(&mut self) {
        self.mark_remote_stale();
        if let Some(c) = self.client.as_mut() {
            self.cwd = c.pwd().await.ok();
        }
    }

    /// `ls -1`, `nlist`: the names the server gives for `NLST`, one a line.
    async fn names_only(&mut self, dir: Option<&str>) -> CmdResult {
        for name in self.client()?.nlst(dir).await? {
            println!("{}", listing::printable(&name));
        }
        Ok(())
    }

    fn set_ascii(&mut self, ascii: bool) -> CmdResult {
        match self.client()? {
            Session::Ftp(c) => c.ascii = ascii,
            // SFTP moves bytes as they are: binary is all there is.
            Session::Sftp(_) if ascii => {
                return Err(CmdError::Usage("ascii mode is FTP's; SFTP moves files byte for byte (binary)".into()));
            }
            Session::Sftp(_) => {}
        }
        println!("Using {} mode to transfer files.", if ascii { "ascii" } else { "binary" });
        Ok(())
    }

    fn print_status(&mut self) {
        match (&self.client, self.client.as_ref().and_then(|c| c.login_details())) {
            (Some(c), Some(l)) => {
                let over = if c.is_sftp() { " over SFTP" } else { "" };
                println!("Connected to {}:{} as {}{over}.", l.host(), l.port(), l.user());
            }
            (Some(c), None) => println!("Connected to {}, not logged in: use user NAME.", c.address()),
            (None, _) => println!("Not connected."),
        }
        // Data connections and their mode are FTP's.
        let sftp = match &self.client {
            Some(c) => c.is_sftp(),
            None => matches!(self.saved, Some(ferry_client::SessionLogin::Sftp(_))),
        };
        let mode = match sftp {
            true => String::new(),
            false => format!("Mode: {}; ", if self.config.mode == DataMode::Passive { "passive" } else { "active" }),
        };
        println!(
            "{mode}type: {}; hash: {}; prompt: {}; clobber: {:?}.",
            if self.client.as_mut().and_then(Session::ftp).is_some_and(|c| c.ascii) { "ascii" } else { "binary" },
            self.settings.hash.map_or("off".to_owned(), |n| format!("every {n} bytes")),
            if self.settings.prompt { "on" } else { "off" },
            self.settings.clobber
        );
        match &self.client {
            Some(Session::Ftp(c)) => println!("Server features: {}", c.features.lines.join(", ")),
            Some(Session::Sftp(s)) => println!("SFTP version 3; extensions: {}", s.client().extensions().join(", ")),
            None => {}
        }
    }

    /// `quote`: the reply is shown as the server sent it; a negative one
    /// counts as a failure for the exit status.
    async fn quote(&mut self, args: &[&str]) -> CmdResult {
        if args.is_empty() {
            return Err(CmdError::Usage(usage(Cmd::Quote)));
        }
        let r = self.ftp_connected("quote")?.quote(&args.join(" ")).await?;
        let mut wire = Vec::new();
        r.encode_into(&mut wire);
        print!("{}", String::from_utf8_lossy(&wire).replace("\r\n", "\n"));
        if !r.is_positive() && self.status == 0 {
            self.status = exit::REMOTE;
        }
        Ok(())
    }

    async fn mdelete(&mut self, args: &[&str]) -> CmdResult {
        if args.is_empty() {
            return Err(CmdError::Usage(usage(Cmd::Mdelete)));
        }
        let mut asking = Asking::default();
        for pattern in args {
            for (remote, kind) in self.remote_glob(pattern).await? {
                if kind == Kind::Dir {
                    continue;
                }
                match asking.ask(self, &format!("mdelete {remote}?")).await {
                    Some(true) => {}
                    Some(false) => continue,
                    None => return Ok(()),
                }
                match self.client()?.delete(&remote).await {
                    Ok(()) => println!("Deleted {remote}"),
                    Err(e) => self.fail(&format!("mdelete {remote}"), &e.into()),
                }
            }
        }
        self.mark_remote_stale();
        Ok(())
    }
}

fn current_dir() -> String {
    std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default()
}

/// `lls`: a local folder's names, sorted, folders ending in `/`.
fn list_local(dir: Option<&str>) -> CmdResult {
    let dir = dir.map_or_else(|| PathBuf::from("."), PathBuf::from);
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
    Ok(())
}

/// `!command`: run it in the user's shell (a bare `!` starts one).
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
