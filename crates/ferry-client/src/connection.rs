//! The control connection: commands out, replies in, with timeouts.

use std::net::SocketAddr;
use std::time::Duration;

use ferry_proto::{Command, Reply, ReplyParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};
use crate::proxy::Proxy;
use crate::stream::Stream;
use crate::tls::TlsContext;

/// Shake hands as a TLS client over `tcp`.
pub(crate) async fn tls_handshake(tcp: TcpStream, tls: &TlsContext, timeout: Duration) -> Result<Stream> {
    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
    match tokio::time::timeout(timeout, connector.connect(tls.name.clone(), tcp)).await {
        Ok(Ok(s)) => Ok(Stream::Tls(Box::new(s))),
        Ok(Err(e)) => Err(Error::Tls(e.to_string())),
        Err(_) => Err(Error::Timeout("in the TLS handshake")),
    }
}

/// How long the control connection may sit silent (a long transfer, a
/// listing that takes minutes) before TCP probes it, and between probes.
/// Well under the 5 minutes after which many NAT and firewall tables
/// forget a quiet connection.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// TCP keepalive on the control socket: while a data connection works,
/// the control connection carries nothing, and a middlebox could drop it.
fn keep_alive(stream: &TcpStream) -> std::io::Result<()> {
    use rustix::net::sockopt;
    sockopt::set_socket_keepalive(stream, true)?;
    sockopt::set_tcp_keepidle(stream, KEEPALIVE_IDLE)?;
    sockopt::set_tcp_keepintvl(stream, KEEPALIVE_INTERVAL)?;
    sockopt::set_tcp_keepcnt(stream, 4)?;
    Ok(())
}

/// A control connection.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: Option<Stream>,
    parser: ReplyParser,
    buf: Box<[u8]>,
    pub(crate) reply_timeout: Duration,
}

impl Connection {
    /// Connect to the first address of `host:port` that answers.
    pub(crate) async fn connect(host: &str, port: u16, timeout: Duration, proxy: Option<&Proxy>) -> Result<Connection> {
        let addr_text = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let connect = async {
            if let Some(p) = proxy {
                return crate::proxy::connect(p, host, port, timeout).await;
            }
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
        keep_alive(&stream)?;
        Ok(Connection {
            stream: Some(Stream::Plain(stream)),
            parser: ReplyParser::new(),
            buf: vec![0; 4096].into_boxed_slice(),
            reply_timeout: timeout,
        })
    }

    fn stream(&mut self) -> Result<&mut Stream> {
        self.stream.as_mut().ok_or_else(|| Error::Tls("the control connection was lost in a TLS handshake".into()))
    }

    fn tcp(&self) -> std::io::Result<&TcpStream> {
        self.stream.as_ref().map(Stream::tcp).ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotConnected))
    }

    pub(crate) fn peer(&self) -> std::io::Result<SocketAddr> {
        self.tcp()?.peer_addr()
    }

    pub(crate) fn local(&self) -> std::io::Result<SocketAddr> {
        self.tcp()?.local_addr()
    }

    /// Switch the control connection to TLS (after `234`, or at once for
    /// implicit FTPS).
    pub(crate) async fn start_tls(&mut self, tls: &TlsContext) -> Result<()> {
        let Some(Stream::Plain(tcp)) = self.stream.take() else {
            return Err(Error::Tls("the control connection is already encrypted".into()));
        };
        self.stream = Some(tls_handshake(tcp, tls, self.reply_timeout).await?);
        Ok(())
    }

    /// Read the next reply, whatever its code.
    pub(crate) async fn read_reply(&mut self) -> Result<Reply> {
        let limit = self.reply_timeout;
        tokio::time::timeout(limit, self.read_reply_untimed()).await.map_err(|_| Error::Timeout("waiting for the server's reply"))?
    }

    async fn read_reply_untimed(&mut self) -> Result<Reply> {
        loop {
            if let Some(r) = self.parser.next_reply() {
                return r.map_err(|e| Error::Protocol(e.to_string()));
            }
            let Connection { stream, buf, .. } = self;
            let stream = stream.as_mut().ok_or_else(|| Error::Tls("the control connection was lost in a TLS handshake".into()))?;
            let n = stream.read(buf).await?;
            if n == 0 {
                return Err(Error::Io(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server closed the connection")));
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
        let stream = self.stream()?;
        stream.write_all(&bytes).await?;
        stream.flush().await?;
        Ok(())
    }

    /// Send `ABOR` the way RFC 959 §4.1.3 describes for servers that only
    /// look at the control connection between transfers: Telnet IP and
    /// Synch first.
    pub(crate) async fn send_abort(&mut self) -> Result<()> {
        let stream = self.stream()?;
        stream.write_all(b"\xff\xf4\xff\xf2ABOR\r\n").await?;
        stream.flush().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_control_socket_probes_a_quiet_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let c = Connection::connect("127.0.0.1", port, Duration::from_secs(5), None).await.unwrap();
        let tcp = c.tcp().unwrap();
        assert!(rustix::net::sockopt::socket_keepalive(tcp).unwrap());
        assert_eq!(rustix::net::sockopt::tcp_keepidle(tcp).unwrap(), KEEPALIVE_IDLE);
        assert_eq!(rustix::net::sockopt::tcp_keepintvl(tcp).unwrap(), KEEPALIVE_INTERVAL);
    }
}
