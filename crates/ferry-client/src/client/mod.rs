//! [`Client`]: one FTP session.
//!
//! - this file: the session itself — connecting (with `AUTH TLS` or
//!   implicit TLS), logging in (then `PBSZ`/`PROT` and `FEAT`), and sending
//!   commands;
//! - `commands`: the file and folder commands (`PWD`, `MKD`, `SIZE`,
//!   `HASH`…) and listings;
//! - `data`: data connections — `EPSV`/`PASV` or `EPRT`/`PORT`, TLS on
//!   them, and settling the control connection after a transfer;
//! - `pump`: moving a file's bytes ([`Client::retrieve`], [`Client::store`]);
//! - `to_file`: a download straight into a local file, spliced on one
//!   blocking thread when it can be ([`Client::retrieve_to_file`]).

use std::time::Duration;

use ferry_proto::command::{ChecksumAlgo, Opts, Password, TransferType};
use ferry_proto::{Command, Reply};

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::features::Features;
use crate::tls::{TlsMode, Trust};

mod commands;
mod data;
mod digest;
mod pump;
mod to_file;

pub use crate::tls::TlsContext;
/// Parse `LIST` output: Unix `ls -l` lines, or DOS/IIS lines (the parser
/// lives in `ferry-proto`, beside the server's formatter).
pub use ferry_proto::listing::parse_list as parse_list_output;

/// How data connections are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// The client connects (`EPSV`, falling back to `PASV`).
    Passive,
    /// The server connects back (`EPRT`, falling back to `PORT`).
    Active,
}

/// Settings for a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// Give up waiting for a reply after this long.
    pub reply_timeout: Duration,
    /// Give up on a data connection that stalls this long.
    pub data_timeout: Duration,
    /// Passive or active data connections.
    pub mode: DataMode,
    /// Try `EPSV`/`EPRT` before `PASV`/`PORT`.
    pub extended: bool,
    /// Cap transfer speed: bytes per second, or a schedule by time of day.
    pub limit_rate: Option<crate::rate::RateLimit>,
    /// FTPS: off, explicit (`AUTH TLS`) or implicit.
    pub tls: TlsMode,
    /// Which certificates to trust.
    pub trust: Trust,
    /// Reach the server through this proxy (control and data connections).
    pub proxy: Option<crate::proxy::Proxy>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(30),
            reply_timeout: Duration::from_secs(60),
            data_timeout: Duration::from_secs(60),
            mode: DataMode::Passive,
            extended: true,
            limit_rate: None,
            tls: TlsMode::Off,
            trust: Trust { known_hosts: crate::tls::default_known_hosts(), ..Trust::default() },
            proxy: None,
        }
    }
}

/// How an upload meets the remote file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// `STOR`: create or replace.
    Replace,
    /// `APPE`: append.
    Append,
    /// `REST n` then `STOR`: write from offset `n`.
    At(u64),
}

/// Where a session went and who it logged in as: enough to open another
/// session like it (a segment of a download, a worker of a mirror).
#[derive(Debug, Clone)]
pub struct Login {
    /// Host name or address, as connected to.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password (its `Debug` is redacted).
    pub password: Password,
}

impl Login {
    /// Connect with `config` and log in.
    pub async fn open(&self, config: ClientConfig) -> Result<Client> {
        let mut c = Client::connect(&self.host, self.port, config).await?;
        c.login(&self.user, &self.password.0).await?;
        Ok(c)
    }
}

/// One FTP session.
#[derive(Debug)]
pub struct Client {
    conn: Connection,
    /// What the server advertised in `FEAT` after login.
    pub features: Features,
    /// The greeting.
    pub welcome: Reply,
    /// Settings in force.
    pub config: ClientConfig,
    /// Where this session is connected, and its login once accepted.
    host: String,
    port: u16,
    credentials: Option<(String, Password)>,
    /// `EPSV`/`EPRT` were refused once; use `PASV`/`PORT` from then on.
    extended_refused: bool,
    /// The `TYPE` last set, if any.
    current_type: Option<TransferType>,
    /// Transfers in ASCII mode (`ascii` command) rather than binary.
    pub ascii: bool,
    /// TLS for this session, when FTPS is on.
    tls: Option<TlsContext>,
    /// TLS for data connections when it differs from the control
    /// connection's (resumption turned off).
    data_tls: Option<TlsContext>,
    /// `PROT P` accepted: data connections are encrypted too.
    prot_private: bool,
    /// The `X…` checksum verb that worked (`Some(None)`: none does), once
    /// tried; servers do not list those verbs in `FEAT`.
    x_checksum: Option<Option<ChecksumAlgo>>,
    /// Where the proxy is asked to connect, data connections too: the
    /// server's name, or its address resolved once (`socks5://`).
    proxy_target: String,
}

/// A command as it may be shown in an error: never a password.
fn mask(cmd: &Command) -> String {
    match cmd {
        Command::Pass(_) => "PASS ****".to_owned(),
        other => other.to_string(),
    }
}

impl Client {
    /// Connect and read the greeting.
    pub async fn connect(host: &str, port: u16, config: ClientConfig) -> Result<Client> {
        let tls = match config.tls {
            TlsMode::Off => None,
            _ => Some(TlsContext::new(&config.trust, host, port).map_err(Error::Tls)?),
        };
        // Through a SOCKS5 proxy that is given addresses, the name is
        // resolved once, here: every data connection then goes to the same
        // machine as this one, even behind round-robin DNS.
        let proxy_target = match &config.proxy {
            Some(p) if p.kind == crate::proxy::ProxyKind::Socks5 => tokio::net::lookup_host((host, port))
                .await
                .ok()
                .and_then(|mut a| a.next())
                .map_or_else(|| host.to_owned(), |a| a.ip().to_string()),
            _ => host.to_owned(),
        };
        let mut conn = Connection::connect(&proxy_target, port, config.connect_timeout, config.proxy.as_ref()).await?;
        conn.reply_timeout = config.reply_timeout;
        if let (TlsMode::Implicit, Some(t)) = (config.tls, &tls) {
            conn.start_tls(t).await?;
        }
        let mut welcome = conn.read_reply().await?;
        // 120: "service ready in nnn minutes"; the real greeting follows.
        while welcome.code == 120 {
            welcome = conn.read_reply().await?;
        }
        if welcome.code != 220 {
            return Err(Error::Reply { command: "(greeting)".into(), reply: welcome });
        }
        if let (TlsMode::Explicit, Some(t)) = (config.tls, &tls) {
            let r = conn.exchange(&Command::Auth("TLS".into())).await?;
            if r.code != 234 {
                // Asked for TLS, refused: stop. Carrying on in clear text
                // would send the password where the user said it must not go.
                return Err(Error::Tls(format!("the server refused AUTH TLS ({} {}); not continuing in clear text", r.code, r.text())));
            }
            conn.start_tls(t).await?;
        }
        Ok(Client {
            conn,
            features: Features::default(),
            welcome,
            config,
            host: host.to_owned(),
            port,
            credentials: None,
            extended_refused: false,
            current_type: None,
            ascii: false,
            tls,
            data_tls: None,
            prot_private: false,
            x_checksum: None,
            proxy_target,
        })
    }

    /// Log in, then learn the server's features.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<()> {
        let r = self.conn.exchange(&Command::User(user.to_owned())).await?;
        let r = match r.code {
            230 => r,
            331 | 332 => {
                let r = self.conn.exchange(&Command::Pass(Password(password.to_owned()))).await?;
                if r.code == 332 {
                    return Err(Error::Login(r));
                }
                r
            }
            _ => return Err(Error::Login(r)),
        };
        if r.code != 230 && r.code != 202 {
            return Err(Error::Login(r));
        }
        self.credentials = Some((user.to_owned(), Password(password.to_owned())));
        if self.tls.is_some() {
            // RFC 4217 §9: PBSZ 0, then PROT P for encrypted data.
            self.command(Command::Pbsz(0)).await?;
            let r = self.conn.exchange(&Command::Prot('P')).await?;
            if r.code != 200 {
                return Err(Error::Tls(format!("the server refused PROT P ({} {}); not sending data in clear text", r.code, r.text())));
            }
            self.prot_private = true;
        }
        self.refresh_features().await?;
        if self.features.has("UTF8") {
            let _ = self.conn.exchange(&Command::Opts(Opts::Utf8(true))).await?;
        }
        Ok(())
    }

    /// How to open another session like this one, once logged in.
    pub fn login_details(&self) -> Option<Login> {
        let (user, password) = self.credentials.clone()?;
        Some(Login { host: self.host.clone(), port: self.port, user, password })
    }

    /// Ask `FEAT` again.
    pub async fn refresh_features(&mut self) -> Result<()> {
        let r = self.conn.exchange(&Command::Feat).await?;
        self.features = Features::parse(&r);
        Ok(())
    }

    /// Send a command; a negative reply is an error.
    pub async fn command(&mut self, cmd: Command) -> Result<Reply> {
        let r = self.conn.exchange(&cmd).await?;
        if r.is_positive() { Ok(r) } else { Err(Error::Reply { command: mask(&cmd), reply: r }) }
    }

    /// Send a raw line (`quote`); the reply is returned whatever its code.
    pub async fn quote(&mut self, line: &str) -> Result<Reply> {
        self.conn.send_line(line).await?;
        loop {
            let r = self.conn.read_reply().await?;
            if r.class() != 1 {
                return Ok(r);
            }
        }
    }

    /// `QUIT` politely.
    pub async fn quit(mut self) -> Result<()> {
        self.conn.exchange(&Command::Quit).await.map(drop)
    }

    /// Set `TYPE` unless it is already set.
    pub async fn set_type(&mut self, t: TransferType) -> Result<()> {
        if self.current_type != Some(t) {
            self.command(Command::Type(t)).await?;
            self.current_type = Some(t);
        }
        Ok(())
    }

    /// `host:port` as connected to.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// True when the control connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Offer the control connection's TLS session on data connections (on
    /// by default, and required by most FTPS servers). Off makes every
    /// data connection a full handshake, for servers that mishandle
    /// resumption (what lftp's `ftp:ssl-copy-sid off` does).
    pub fn set_tls_resumption(&mut self, on: bool) {
        self.data_tls = match (&self.tls, on) {
            (Some(t), false) => Some(t.without_resumption()),
            _ => None,
        };
    }
}
