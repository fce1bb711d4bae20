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
