//! Connecting and logging in, over FTP (`open`, `user`) and over SFTP.
//!
//! Over FTP the user and password come from the URL, `--user` or
//! `~/.netrc`, and what is missing is asked for. Over SFTP, as with
//! `ssh`, the keys are tried first (the agent, `--identity`, else
//! `~/.ssh/id_*`), then a password given in the URL or `~/.netrc`, and
//! only when all are refused is a person at a terminal asked for one.

use ferry_client::credentials::Credentials;
use ferry_client::session::SftpLogin;
use ferry_client::sftp::SftpConfig;
use ferry_client::target::{Scheme, Target};
use ferry_client::{Client, Error, Session};
use ferry_proto::command::Password;

use super::input::Input;
use super::listing::printable;
use super::shell::{CmdError, CmdResult, Shell};

/// How many times a person at a terminal may type a login.
const LOGIN_TRIES: u32 = 3;

impl Shell {
    /// Open what a URL names — `sftp://` over SFTP, `ftp://` and `ftps://`
    /// over FTP (with TLS as the scheme says) — on `port` if given.
    /// Returns the folder the URL names, for the caller to go to.
    pub(crate) async fn open_target(&mut self, t: &Target, port: Option<u16>) -> Result<Option<String>, CmdError> {
        let port = port.unwrap_or(t.port);
        let dir = if t.scheme == Scheme::Sftp {
            self.open_sftp(&t.host, port, t.user.clone(), t.password.clone()).await?;
            Some(super::sftp::remote_path(t)).filter(|p| p != ".")
        } else {
            self.config.tls = t.scheme.tls_mode(self.config.tls);
            self.open(&t.host, port, t.user.clone(), t.password.clone()).await?;
            t.path.clone().filter(|p| !p.is_empty())
        };
        Ok(dir)
    }

    /// Connect and log in: the user and password from the URL, `--user`
    /// or `~/.netrc`, asking for what is still missing.
    pub(crate) async fn open(&mut self, host: &str, port: u16, user: Option<String>, password: Option<String>) -> CmdResult {
        // The session there is stays until the new server answers.
        let client = match Client::connect(host, port, self.config.clone()).await {
            Ok(c) => c,
            Err(e) => {
                self.say_still_connected();
                return Err(e.into());
            }
        };
        if let Some(old) = self.client.take() {
            let _ = old.quit().await;
        }
        // Another server now: never reconnect to the old one.
        (self.saved, self.cwd, self.lost) = (None, None, None);
        self.last_server = Some((host.to_owned(), port, false));
        println!("Connected to {host}.");
        println!("{} {}", client.welcome.code, client.welcome.text());
        self.client = Some(Session::Ftp(Box::new(client)));
        let known = Credentials::lookup_with_netrc(host, user.as_deref(), password.as_deref(), self.user_hint.as_deref());
        let (user, mut password) = (known.user, known.password);
        // A person who mistypes is asked again; a script is not.
        let tries = if self.input.interactive() { LOGIN_TRIES } else { 1 };
        for attempt in 1..=tries {
            let name = match &user {
                Some(u) => u.clone(),
                None => {
                    let line = self.input.ask("Name: ").await.ok_or(CmdError::Usage("no user name given".into()))?;
                    self.not_a_command(&line, false)?;
                    line.trim().to_owned()
                }
            };
            let secret = match &password {
                Some(p) => p.clone(),
                None => {
                    let line = self.input.password("Password: ").await.ok_or(CmdError::Usage("no password given".into()))?;
                    self.not_a_command(&line, true)?;
                    line
                }
            };
            match self.ftp_connected("login")?.login(&name, &secret).await {
                Ok(()) => {
                    println!("230 Logged in as {name}.");
                    self.warn_if_clear_text();
                    self.mark_remote_stale();
                    self.remember_login();
                    return Ok(());
                }
                Err(Error::Login(r)) if attempt < tries => {
                    eprintln!("ferry: login failed: {} {} (try {attempt} of {tries}).", r.code, printable(&r.text()));
                    // Ask again: the name too when it was asked (one from
                    // the URL or --user stays); a given password was wrong.
                    password = None;
                }
                Err(e @ Error::Login(_)) => {
                    // Some servers hang up after a few failures (pyftpdlib
                    // after three): find out, so that what is said is true.
                    if self.ftp_connected("noop")?.noop().await.is_err() {
                        self.client = None;
                        println!("The server closed the connection after the failed logins: use user NAME to try again.");
                    } else {
                        println!("Still connected to {host}, not logged in: use user NAME to try again.");
                    }
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(CmdError::NotLoggedIn)
    }

    /// A script on standard input without a login would otherwise have
    /// its first commands taken for the name and password (and the
    /// password then echoed in the transcript). A name that is a command
    /// or holds spaces, or a password that reads like a command with
    /// arguments, is refused with what to do instead.
    fn not_a_command(&self, line: &str, password: bool) -> CmdResult {
        if !matches!(self.input, Input::Stdin { .. }) {
            return Ok(());
        }
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("").to_ascii_lowercase();
        let is_command = super::commands::WORDS.contains(&first.as_str());
        let looks_like_one = if password { is_command && words.next().is_some() } else { is_command || words.next().is_some() };
        if looks_like_one {
            return Err(CmdError::Usage(format!(
                "standard input holds commands (\"{}\") where the {} was expected: give the login in the URL (ftp://user:password@host/), with --user and ~/.netrc, or as the script's first lines",
                if password { first.as_str() } else { line.trim() },
                if password { "password" } else { "user name" }
            )));
        }
        Ok(())
    }

    /// The password went in clear text to a server that offers TLS: say so,
    /// once, with what to do about it.
    pub(crate) fn warn_if_clear_text(&self) {
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let Some(Session::Ftp(c)) = self.client.as_ref() else { return };
        if c.is_tls()
            || !c
                .features
                .lines
                .iter()
                .any(|l| l.trim().eq_ignore_ascii_case("AUTH TLS") || l.trim().to_ascii_uppercase().starts_with("AUTH "))
        {
            return;
        }
        if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            eprintln!(
                "ferry: warning: the password went in clear text, though this server offers TLS; use --tls (or an ftps:// URL) to encrypt the session."
            );
        }
    }

    /// After a failed `open` or `user`: the session there was goes on.
    fn say_still_connected(&self) {
        if let Some(old) = self.client.as_ref().filter(|c| !c.is_closed()).and_then(Session::login_details) {
            println!("Still connected to {}:{} as {}.", old.host(), old.port(), old.user());
        }
    }

    /// Connect over SFTP, check the host key, and log in as `user` (the
    /// URL's, `--user`, `~/.netrc`, else the local user name, as `ssh`).
    /// A session already open stays until the new one has logged in: a
    /// mistyped `user` or `open` loses nothing.
    pub(crate) async fn open_sftp(&mut self, host: &str, port: u16, user: Option<String>, password: Option<String>) -> CmdResult {
        let known = Credentials::lookup_with_netrc(host, user.as_deref(), password.as_deref(), self.user_hint.as_deref());
        let user = known.user.or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty())).unwrap_or_else(|| "root".into());
        let mut login = SftpLogin {
            host: host.to_owned(),
            port,
            user: user.clone(),
            password: known.password.map(Password),
            config: self.sftp.clone(),
        };
        let mut asked = 0;
        let session = loop {
            match login.open().await {
                Ok(s) => break s,
                Err(Error::SshLogin(why)) if self.input.interactive() && asked < LOGIN_TRIES => {
                    if asked > 0 {
                        eprintln!("ferry: login failed: {} (try {asked} of {LOGIN_TRIES}).", printable(&why));
                    }
                    asked += 1;
                    let prompt = format!("{user}@{host}'s password: ");
                    let pw = self.input.password(&prompt).await.ok_or(CmdError::Usage("no password given".into()))?;
                    login.password = Some(Password(pw));
                    // The keys were refused already: not offered again.
                    login.config = SftpConfig { agent: false, identities: Some(Vec::new()), ..self.sftp.clone() };
                }
                Err(e) => {
                    self.say_still_connected();
                    return Err(e.into());
                }
            }
        };
        println!("Connected to {host} over SFTP.");
        println!("Logged in as {user}.");
        if let Some(old) = self.client.replace(Session::Sftp(Box::new(session))) {
            let _ = old.quit().await;
        }
        (self.saved, self.cwd, self.lost) = (None, None, None);
        self.last_server = Some((host.to_owned(), port, true));
        self.mark_remote_stale();
        self.remember_login();
        Ok(())
    }
}
