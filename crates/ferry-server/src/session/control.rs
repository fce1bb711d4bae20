//! The control connection: command lines in, replies out; upgraded to TLS
//! in place by `AUTH TLS`.

use std::io;
use std::time::Duration;

use ferry_proto::{LineDecoder, LineError, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::stream::Stream;

/// Reads command lines and writes replies.
pub(crate) struct Control {
    /// `None` only for the instant of a TLS upgrade.
    stream: Option<Stream>,
    decoder: LineDecoder,
    buf: Box<[u8]>,
}

impl Control {
    pub(crate) fn new(stream: Stream, max_line: usize) -> Control {
        // Small buffers: a command line rarely needs more, the decoder grows
        // for longer ones, and thousands of idle sessions add up.
        Control { stream: Some(stream), decoder: LineDecoder::new(max_line), buf: vec![0; 512].into_boxed_slice() }
    }

    /// True once the control connection is encrypted.
    pub(crate) fn is_tls(&self) -> bool {
        self.stream.as_ref().is_some_and(Stream::is_tls)
    }

    /// The next line, `Ok(None)` at end of stream. Cancel-safe: partial
    /// input stays in the decoder, so this can sit in a `select!`.
    pub(crate) async fn read_line(&mut self) -> io::Result<Option<Result<Vec<u8>, LineError>>> {
        loop {
            if let Some(line) = self.decoder.next_line() {
                return Ok(Some(line));
            }
            let Control { stream, buf, .. } = self;
            let stream = stream.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
            let n = stream.read(buf).await?;
            if n == 0 {
                return Ok(None);
            }
            self.decoder.feed(&self.buf[..n]);
            if !self.decoder.has_line() && self.drain_urgent()? {
                return Ok(self.decoder.next_line());
            }
        }
    }

    /// Clients send `ABOR` with `MSG_OOB` (RFC 959 §4.1.3), making its last
    /// byte TCP urgent data. With `SO_OOBINLINE` that byte stays in the
    /// stream, but `recv` stops just before it, and tokio takes the short
    /// read as "socket drained" and waits for an edge that never comes. So
    /// after a read that left a partial line, read on directly until the
    /// socket really has nothing more. Returns true at end of stream.
    /// (Under TLS there is no urgent data: the bytes are in records.)
    fn drain_urgent(&mut self) -> io::Result<bool> {
        use std::io::Read;
        let Some(Stream::Plain(tcp)) = &self.stream else { return Ok(false) };
        let sock = socket2::SockRef::from(tcp);
        loop {
            match (&*sock).read(&mut self.buf) {
                Ok(0) => return Ok(true),
                Ok(n) => self.decoder.feed(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Send one reply. (Encoded afresh each time: keeping a buffer would
    /// cost every idle session its size.)
    pub(crate) async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        let out = reply.encode();
        tracing::trace!(code = reply.code, "reply");
        let stream = self.stream.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        stream.write_all(&out).await?;
        // TLS buffers records; a reply must leave now.
        stream.flush().await
    }

    /// Send bytes already encoded as reply lines: the pieces of a long
    /// multi-line reply (`STAT <dir>`) streamed as they are made. Fails with
    /// `TimedOut` when the client does not take them within `limit`.
    pub(crate) async fn send_encoded(&mut self, bytes: &[u8], limit: Duration) -> io::Result<()> {
        let stream = self.stream.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let write = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        tokio::time::timeout(limit, write).await.map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "control connection stalled"))?
    }

    /// Send a single-line reply.
    pub(crate) async fn reply(&mut self, code: u16, text: impl Into<String>) -> io::Result<()> {
        self.send(&Reply::new(code, text)).await
    }

    /// Switch to TLS after `234` (RFC 4217 §4). Bytes that arrived after
    /// `AUTH TLS` but before the handshake were sent in clear text and could
    /// have been injected by anyone on the path: their presence ends the
    /// session rather than being taken as commands (the STARTTLS
    /// command-injection bug class, CVE-2011-0411).
    pub(crate) async fn upgrade(&mut self, acceptor: &TlsAcceptor, timeout: Duration) -> io::Result<()> {
        if !self.decoder.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "clear-text bytes followed AUTH TLS; closing"));
        }
        let tcp: TcpStream = match self.stream.take() {
            Some(Stream::Plain(tcp)) => tcp,
            other => {
                self.stream = other;
                return Err(io::Error::other("already using TLS"));
            }
        };
        let tls = tokio::time::timeout(timeout, acceptor.accept(tcp))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        self.stream = Some(Stream::Tls(Box::new(tls)));
        Ok(())
    }
}
