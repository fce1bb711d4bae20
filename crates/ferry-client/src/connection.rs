//! The control connection: commands out, replies in, with timeouts.

use std::net::SocketAddr;
use std::time::Duration;

use ferry_proto::{Command, Reply, ReplyParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// A control connection.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    parser: ReplyParser,
    buf: Box<[u8]>,
    pub(crate) reply_timeout: Duration,
}

impl Connection {
    /// Connect to the first address of `host:port` that answers.
    pub(crate) async fn connect(host: &str, port: u16, timeout: Duration) -> Result<Connection> {
        let addr_text = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let connect = async {
            let mut last = None;
            for addr in tokio::net::lookup_host((host, port)).await? {
                match TcpStream::connect(addr).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address found")))
        };
        let stream = match tokio::time::timeout(timeout, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => return Err(Error::Connect { addr: addr_text, source }),
            Err(_) => return Err(Error::Timeout("connecting")),
        };
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            parser: ReplyParser::new(),
            buf: vec![0; 4096].into_boxed_slice(),
            reply_timeout: timeout,
        })
    }

    pub(crate) fn peer(&self) -> std::io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    pub(crate) fn local(&self) -> std::io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Read the next reply, whatever its code.
    pub(crate) async fn read_reply(&mut self) -> Result<Reply> {
        let limit = self.reply_timeout;
        tokio::time::timeout(limit, self.read_reply_untimed())
            .await
            .map_err(|_| Error::Timeout("waiting for the server's reply"))?
    }

    async fn read_reply_untimed(&mut self) -> Result<Reply> {
        loop {
            if let Some(r) = self.parser.next_reply() {
                return r.map_err(|e| Error::Protocol(e.to_string()));
            }
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )));
            }
            self.parser.feed(&self.buf[..n]);
        }
    }

    /// Send a command line.
    pub(crate) async fn send(&mut self, cmd: &Command) -> Result<()> {
        self.send_line(&cmd.to_string()).await
    }

    /// Send raw text as a command line (for `quote`).
    pub(crate) async fn send_line(&mut self, line: &str) -> Result<()> {
        if line.contains(['\r', '\n']) {
            return Err(Error::Protocol("a command cannot contain a line break".into()));
        }
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.stream.write_all(&bytes).await?;
        Ok(())
    }

    /// Send `ABOR` the way RFC 959 §4.1.3 describes for servers that only
    /// look at the control connection between transfers: Telnet IP and
    /// Synch first.
    pub(crate) async fn send_abort(&mut self) -> Result<()> {
        self.stream.write_all(b"\xff\xf4\xff\xf2ABOR\r\n").await?;
        Ok(())
    }

    /// Send a command and read replies until a non-preliminary one.
    pub(crate) async fn exchange(&mut self, cmd: &Command) -> Result<Reply> {
        self.send(cmd).await?;
        loop {
            let r = self.read_reply().await?;
            if r.class() != 1 {
                return Ok(r);
            }
        }
    }
}
