//! [`Client`]: one FTP session — login, commands, listings and transfers.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use ferry_proto::command::{ChecksumAlgo, EpsvArg, Opts, Password, TransferType};
use ferry_proto::listing::{self, Entry, MlsxRole};
use ferry_proto::{Command, Reply, addr, path, time};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::connection::{Connection, tls_handshake};
use crate::error::{Error, Result};
use crate::features::Features;
use crate::stream::Stream;
use crate::tls::{TlsMode, Trust};

mod pump;

/// The TLS setup shared by a session's control and data connections: one
/// `ClientConfig` (and so one session cache) and one server name, so data
/// connections resume the control connection's TLS session.
#[derive(Debug, Clone)]
pub struct TlsContext {
    /// rustls settings, with ferry's certificate checks.
    pub config: std::sync::Arc<rustls::ClientConfig>,
    /// The name the certificate is checked against.
    pub name: rustls::pki_types::ServerName<'static>,
}

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
    /// Cap transfer speed, in bytes per second.
    pub limit_rate: Option<u64>,
    /// FTPS: off, explicit (`AUTH TLS`) or implicit.
    pub tls: TlsMode,
    /// Which certificates to trust.
    pub trust: Trust,
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

/// A data connection being set up.
enum Pending {
    Connected(TcpStream),
    Listening(TcpListener),
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
}

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
            _ => Some(TlsContext {
                config: crate::tls::client_config(&config.trust, host, port).map_err(Error::Tls)?,
                name: crate::tls::server_name(host).map_err(Error::Tls)?,
            }),
        };
        let mut conn = Connection::connect(host, port, config.connect_timeout).await?;
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
            extended_refused: false,
            current_type: None,
            ascii: false,
            tls,
            data_tls: None,
            prot_private: false,
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

    /// The working directory.
    pub async fn pwd(&mut self) -> Result<String> {
        let r = self.command(Command::Pwd).await?;
        path::unquote_257(&r.text()).ok_or_else(|| Error::Protocol(format!("no path in PWD reply: {}", r.text())))
    }

    /// Change directory.
    pub async fn cwd(&mut self, dir: &str) -> Result<()> {
        self.command(Command::Cwd(dir.to_owned())).await.map(drop)
    }

    /// Go to the parent directory.
    pub async fn cdup(&mut self) -> Result<()> {
        self.command(Command::Cdup).await.map(drop)
    }

    /// Create a directory; returns the server's path for it when given.
    pub async fn mkdir(&mut self, dir: &str) -> Result<String> {
        let r = self.command(Command::Mkd(dir.to_owned())).await?;
        Ok(path::unquote_257(&r.text()).unwrap_or_else(|| dir.to_owned()))
    }

    /// Remove an empty directory.
    pub async fn rmdir(&mut self, dir: &str) -> Result<()> {
        self.command(Command::Rmd(dir.to_owned())).await.map(drop)
    }

    /// Delete a file.
    pub async fn delete(&mut self, file: &str) -> Result<()> {
        self.command(Command::Dele(file.to_owned())).await.map(drop)
    }

    /// Rename or move.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.command(Command::Rnfr(from.to_owned())).await?;
        self.command(Command::Rnto(to.to_owned())).await.map(drop)
    }

    /// Size in bytes (binary mode).
    pub async fn size(&mut self, file: &str) -> Result<u64> {
        self.set_type(TransferType::Image).await?;
        let r = self.command(Command::Size(file.to_owned())).await?;
        r.text().trim().parse().map_err(|_| Error::Protocol(format!("bad SIZE reply: {}", r.text())))
    }

    /// Modification time.
    pub async fn mdtm(&mut self, file: &str) -> Result<SystemTime> {
        let r = self.command(Command::Mdtm(file.to_owned())).await?;
        time::parse_timeval(r.text().trim()).ok_or_else(|| Error::Protocol(format!("bad MDTM reply: {}", r.text())))
    }

    /// Set the modification time, if the server supports `MFMT`.
    pub async fn set_mtime(&mut self, file: &str, t: SystemTime) -> Result<bool> {
        if !self.features.has("MFMT") {
            return Ok(false);
        }
        self.command(Command::Mfmt { time: t, path: file.to_owned() }).await.map(|_| true)
    }

    /// `SITE CHMOD`.
    pub async fn chmod(&mut self, mode: &str, file: &str) -> Result<()> {
        self.command(Command::Site(format!("CHMOD {mode} {file}"))).await.map(drop)
    }

    /// `NOOP`, for keepalive.
    pub async fn noop(&mut self) -> Result<()> {
        self.command(Command::Noop).await.map(drop)
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

    /// The digest of bytes `0..len` of a remote file, when the server can
    /// compute one over a range (`HASH` with `RANG`). `None` if it cannot.
    pub async fn remote_prefix_hash(&mut self, file: &str, len: u64) -> Result<Option<(ChecksumAlgo, String)>> {
        let algos = self.features.hash_algorithms();
        if len == 0 || !self.features.has("RANG") {
            return Ok(None);
        }
        let Some(algo) = [ChecksumAlgo::Sha256, ChecksumAlgo::Sha1, ChecksumAlgo::Md5, ChecksumAlgo::Crc32]
            .into_iter()
            .find(|a| algos.iter().any(|n| n == a.hash_name()))
        else {
            return Ok(None);
        };
        self.command(Command::Opts(Opts::Hash(Some(algo.hash_name().to_owned())))).await?;
        self.command(Command::Rang { start: 0, end: len - 1 }).await?;
        let r = self.command(Command::Hash(file.to_owned())).await?;
        // "SHA-256 0-49 <hex> <path>"
        let text = r.text();
        let mut words = text.split(' ');
        let (_, range, hex) = (words.next(), words.next().unwrap_or(""), words.next().unwrap_or(""));
        if range != format!("0-{}", len - 1) {
            return Ok(None);
        }
        Ok(Some((algo, hex.to_ascii_lowercase())))
    }

    /// Set up a data connection as configured.
    async fn prepare_data(&mut self) -> Result<Pending> {
        let peer = self.conn.peer()?;
        let use_extended = self.config.extended && !self.extended_refused;
        match self.config.mode {
            DataMode::Passive => {
                if use_extended || peer.is_ipv6() {
                    let r = self.conn.exchange(&Command::Epsv(EpsvArg::Any)).await?;
                    if r.code == 229 {
                        let port =
                            addr::parse_epsv_reply(&r.text()).ok_or_else(|| Error::Protocol(format!("bad EPSV reply: {}", r.text())))?;
                        return self.connect_data(SocketAddr::new(peer.ip(), port)).await;
                    }
                    if peer.is_ipv6() {
                        return Err(Error::Reply { command: "EPSV".into(), reply: r });
                    }
                    // 500/502: an old server; remember and use PASV.
                    self.extended_refused = true;
                }
                let r = self.command(Command::Pasv).await?;
                let announced =
                    addr::parse_pasv_reply(&r.text()).ok_or_else(|| Error::Protocol(format!("bad PASV reply: {}", r.text())))?;
                // Connect to the control connection's address, not the one
                // announced: servers behind NAT announce private addresses,
                // and a hostile server could point us anywhere.
                self.connect_data(SocketAddr::new(peer.ip(), announced.port())).await
            }
            DataMode::Active => {
                let local = self.conn.local()?;
                let listener = TcpListener::bind(SocketAddr::new(local.ip(), 0)).await?;
                let bound = listener.local_addr()?;
                if use_extended || bound.is_ipv6() {
                    let r = self.conn.exchange(&Command::Eprt(bound)).await?;
                    if r.code == 200 {
                        return Ok(Pending::Listening(listener));
                    }
                    if bound.is_ipv6() {
                        return Err(Error::Reply { command: "EPRT".into(), reply: r });
                    }
                    self.extended_refused = true;
                }
                let SocketAddr::V4(v4) = bound else { unreachable!("IPv6 handled above") };
                self.command(Command::Port(v4)).await?;
                Ok(Pending::Listening(listener))
            }
        }
    }

    async fn connect_data(&mut self, addr: SocketAddr) -> Result<Pending> {
        match tokio::time::timeout(self.config.data_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => Ok(Pending::Connected(s)),
            Ok(Err(e)) => Err(Error::Transfer { path: String::new(), reason: format!("cannot open data connection to {addr}: {e}") }),
            Err(_) => Err(Error::Timeout("opening the data connection")),
        }
    }

    /// Send a transfer command and return the open data connection.
    async fn start_transfer(&mut self, cmd: Command) -> Result<Stream> {
        let pending = self.prepare_data().await?;
        self.conn.send(&cmd).await?;
        let r = self.conn.read_reply().await?;
        if r.class() != 1 {
            return Err(if r.is_positive() {
                Error::Protocol(format!("{}: expected 150, got {} {}", mask(&cmd), r.code, r.text()))
            } else {
                Error::Reply { command: mask(&cmd), reply: r }
            });
        }
        let stream = match pending {
            Pending::Connected(s) => s,
            Pending::Listening(l) => {
                let peer_ip = self.conn.peer()?.ip();
                let accept = async {
                    loop {
                        let (s, from) = l.accept().await?;
                        // Only the server may connect back (RFC 2577).
                        if addr::canonical_ip(from.ip()) == addr::canonical_ip(peer_ip) {
                            return Ok::<_, std::io::Error>(s);
                        }
                    }
                };
                tokio::time::timeout(self.config.data_timeout, accept)
                    .await
                    .map_err(|_| Error::Timeout("waiting for the server's data connection"))??
            }
        };
        stream.set_nodelay(true)?;
        let tls = self.data_tls.as_ref().or(self.tls.as_ref());
        match (tls, self.prot_private) {
            (Some(t), true) => match tls_handshake(stream, t, self.config.data_timeout).await {
                Ok(s) => Ok(s),
                // A server that refuses the data connection during the
                // handshake says why on the control connection.
                Err(e) => Err(self.server_explains(&cmd, e).await),
            },
            _ => Ok(Stream::Plain(stream)),
        }
    }

    /// After a data connection failed with `e`: the server's negative
    /// reply, if it sends one promptly, else `e`. Either way the control
    /// connection stays in step when the server did reply.
    async fn server_explains(&mut self, cmd: &Command, e: Error) -> Error {
        let saved = self.conn.reply_timeout;
        self.conn.reply_timeout = Duration::from_secs(5).min(saved);
        let r = self.conn.read_reply().await;
        self.conn.reply_timeout = saved;
        match r {
            Ok(reply) if !reply.is_positive() => Error::Reply { command: mask(cmd), reply },
            _ => e,
        }
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
            (Some(t), false) => {
                let mut config = (*t.config).clone();
                config.resumption = rustls::client::Resumption::disabled();
                Some(TlsContext { config: std::sync::Arc::new(config), name: t.name.clone() })
            }
            _ => None,
        };
    }

    /// Read the reply that ends a transfer.
    async fn finish_transfer(&mut self, what: &str) -> Result<Reply> {
        let r = self.conn.read_reply().await?;
        if r.class() == 2 { Ok(r) } else { Err(Error::Transfer { path: what.to_owned(), reason: format!("{} {}", r.code, r.text()) }) }
    }

    /// After an interrupted transfer: `ABOR`, then read both replies that
    /// follow, so the session stays in step. A transfer still running
    /// answers `426` then `226`; one that had already finished answers
    /// `226` (the transfer) then `225` or `226` (the `ABOR`).
    async fn abort_transfer(&mut self) -> Result<()> {
        self.conn.send_abort().await?;
        let first = self.conn.read_reply().await?;
        if first.code == 225 {
            return Ok(());
        }
        // The second reply is normally immediate; a server that sends only
        // one must not hang us for the full reply timeout.
        let saved = self.conn.reply_timeout;
        self.conn.reply_timeout = Duration::from_secs(5).min(saved);
        let second = self.conn.read_reply().await;
        self.conn.reply_timeout = saved;
        match second {
            Ok(_) | Err(Error::Timeout(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Run a listing command and return its raw bytes.
    pub async fn list_raw(&mut self, cmd: Command) -> Result<Vec<u8>> {
        self.set_type(TransferType::Ascii).await?;
        let what = cmd.to_string();
        let mut data = self.start_transfer(cmd).await?;
        let mut out = Vec::new();
        let limit = self.config.data_timeout;
        let read = tokio::time::timeout(limit, data.read_to_end(&mut out)).await;
        drop(data);
        let result = match read {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Error::Transfer { path: what.clone(), reason: data_error(&e) }),
            Err(_) => Err(Error::Timeout("reading a listing")),
        };
        match (result, self.finish_transfer(&what).await) {
            // The server's negative reply (522, 426, 451…) explains best.
            (Err(_), Err(fin @ Error::Transfer { .. })) => Err(fin),
            (Err(e), _) | (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(_)) => Ok(out),
        }
    }

    /// Names in a directory (`NLST`), as the server gives them.
    pub async fn nlst(&mut self, arg: Option<&str>) -> Result<Vec<String>> {
        let raw = self.list_raw(Command::Nlst(arg.map(str::to_owned))).await?;
        Ok(String::from_utf8_lossy(&raw).lines().map(|l| l.trim_end_matches('\r').to_owned()).filter(|l| !l.is_empty()).collect())
    }

    /// Entries of a directory: `MLSD` when offered, else `LIST` parsed as
    /// Unix `ls -l` or DOS lines.
    pub async fn list(&mut self, dir: Option<&str>) -> Result<Vec<Entry>> {
        if self.features.has("MLST") {
            let raw = self.list_raw(Command::Mlsd(dir.map(str::to_owned))).await?;
            let text = String::from_utf8_lossy(&raw);
            return Ok(text
                .lines()
                .filter_map(listing::parse_mlsx)
                .filter(|(_, role)| *role == MlsxRole::Plain)
                .map(|(e, _)| e)
                .filter(|e| e.name != "." && e.name != "..")
                .collect());
        }
        let raw = self.list_raw(Command::List(dir.map(str::to_owned))).await?;
        Ok(parse_list_output(&String::from_utf8_lossy(&raw), SystemTime::now()))
    }

    /// Facts about one path (`MLST`), or `None` if the server has no `MLST`.
    pub async fn stat_entry(&mut self, target: &str) -> Result<Option<Entry>> {
        if !self.features.has("MLST") {
            return Ok(None);
        }
        let r = self.command(Command::Mlst(Some(target.to_owned()))).await?;
        Ok(r.lines.iter().skip(1).find_map(|l| listing::parse_mlsx(l.trim_start())).map(|(e, _)| e))
    }
}

/// A data connection's I/O error in words. rustls reports a connection
/// closed without `close_notify` with a link to its manual; say what it
/// means for a transfer instead.
fn data_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the server closed the data connection without ending TLS (the data may be cut short)".to_owned()
    } else {
        e.to_string()
    }
}

/// Parse `LIST` output: Unix `ls -l` lines, or DOS/IIS lines.
pub fn parse_list_output(text: &str, now: SystemTime) -> Vec<Entry> {
    text.lines()
        .filter_map(|l| listing::parse_unix(l, now).or_else(|| listing::parse_dos(l)))
        .filter(|e| e.name != "." && e.name != "..")
        .collect()
}
