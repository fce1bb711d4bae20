//! Data connections of a [`Client`]: setting one up (`EPSV`, falling back
//! to `PASV`; or `EPRT`, falling back to `PORT`, and waiting for the
//! server), TLS on it after `PROT P`, and keeping the control connection
//! in step when a transfer ends, fails or is aborted.

use std::net::SocketAddr;
use std::time::Duration;

use ferry_proto::command::{EpsvArg, TransferType};
use ferry_proto::{Command, Reply, addr};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use super::{Client, DataMode, mask};
use crate::connection::tls_handshake;
use crate::error::{Error, Result};
use crate::stream::Stream;

/// A data connection being set up.
enum Pending {
    Connected(TcpStream),
    Listening(TcpListener),
}

impl Client {
    /// Set up a data connection as configured.
    async fn prepare_data(&mut self) -> Result<Pending> {
        if self.config.proxy.is_some() && self.config.mode == DataMode::Active {
            return Err(Error::Protocol(
                "active mode cannot work through a proxy (the server would have to reach us): leave --active out".into(),
            ));
        }
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
        // Through a proxy, the data connection goes where the control
        // connection went (the server's name), not to the proxy's address.
        if let Some(p) = &self.config.proxy {
            let host = self.proxy_target.clone();
            return match crate::proxy::connect(p, &host, addr.port(), self.config.data_timeout).await {
                Ok(s) => Ok(Pending::Connected(s)),
                Err(e) => Err(Error::Transfer {
                    path: String::new(),
                    reason: format!("cannot open data connection to {host}:{} through the proxy: {e}", addr.port()),
                }),
            };
        }
        match tokio::time::timeout(self.config.data_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => Ok(Pending::Connected(s)),
            Ok(Err(e)) => Err(Error::Transfer { path: String::new(), reason: format!("cannot open data connection to {addr}: {e}") }),
            Err(_) => Err(Error::Timeout("opening the data connection")),
        }
    }

    /// Send a transfer command and return the open data connection.
    pub(super) async fn start_transfer(&mut self, cmd: Command) -> Result<Stream> {
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

    /// Read the reply that ends a transfer.
    pub(super) async fn finish_transfer(&mut self, what: &str) -> Result<Reply> {
        let r = self.conn.read_reply().await?;
        if r.class() == 2 { Ok(r) } else { Err(Error::Transfer { path: what.to_owned(), reason: format!("{} {}", r.code, r.text()) }) }
    }

    /// After an interrupted transfer: `ABOR`, then read both replies that
    /// follow, so the session stays in step. A transfer still running
    /// answers `426` then `226`; one that had already finished answers
    /// `226` (the transfer) then `225` or `226` (the `ABOR`).
    pub(super) async fn abort_transfer(&mut self) -> Result<()> {
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
}

/// A data connection's I/O error in words. rustls reports a connection
/// closed without `close_notify` with a link to its manual; say what it
/// means for a transfer instead.
pub(super) fn data_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the server closed the data connection without ending TLS (the data may be cut short)".to_owned()
    } else {
        e.to_string()
    }
}
