//! The control connection: command lines in, replies out.

use std::io;

use ferry_proto::{LineDecoder, LineError, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Reads command lines and writes replies.
#[derive(Debug)]
pub(crate) struct Control {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    decoder: LineDecoder,
    buf: Box<[u8]>,
    out: Vec<u8>,
}

impl Control {
    pub(crate) fn new(stream: TcpStream, max_line: usize) -> Control {
        let (reader, writer) = stream.into_split();
        Control {
            reader,
            writer,
            decoder: LineDecoder::new(max_line),
            buf: vec![0; 1024].into_boxed_slice(),
            out: Vec::with_capacity(256),
        }
    }

    /// The next line, `Ok(None)` at end of stream. Cancel-safe: partial
    /// input stays in the decoder, so this can sit in a `select!`.
    pub(crate) async fn read_line(&mut self) -> io::Result<Option<Result<Vec<u8>, LineError>>> {
        loop {
            if let Some(line) = self.decoder.next_line() {
                return Ok(Some(line));
            }
            let n = self.reader.read(&mut self.buf).await?;
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
    fn drain_urgent(&mut self) -> io::Result<bool> {
        use std::io::Read;
        let sock = socket2::SockRef::from(self.reader.as_ref());
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

    /// Send one reply.
    pub(crate) async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        self.out.clear();
        reply.encode_into(&mut self.out);
        tracing::trace!(code = reply.code, "reply");
        self.writer.write_all(&self.out).await
    }

    /// Send a single-line reply.
    pub(crate) async fn reply(&mut self, code: u16, text: impl Into<String>) -> io::Result<()> {
        self.send(&Reply::new(code, text)).await
    }
}
