//! The connection both Ferry peers speak over: plain TCP, or TLS over TCP,
//! read and written the same way.
//!
//! FTP switches a connection to TLS in the middle (`AUTH TLS`, RFC 4217
//! §4), and data connections are plain or encrypted depending on `PROT`;
//! code that moves bytes should not care which. [`Stream`] is that
//! either-or, implementing tokio's `AsyncRead`/`AsyncWrite` by handing each
//! call to the side it holds.
//!
//! It is generic over the TLS side because the server holds
//! `tokio_rustls::server::TlsStream` and the client
//! `tokio_rustls::client::TlsStream`: each names its own
//! `Stream<…>` once, as a type alias, and matches on the variants as
//! usual. [`TlsOverTcp`] gives either kind's socket back, for addresses
//! and socket options.
//!
//! `ferry-proto` cannot hold this: it is sans-IO, with no tokio in it.
//!
//! Both peers also share [`splice`], the pipe a received file's bytes go
//! through on their way from the socket to the disk, and [`stop`], which
//! stops a thread blocked on a socket.
#![warn(missing_docs)]

pub mod splice;
pub mod stop;

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TLS session over a TCP socket, whichever end of it we are.
pub trait TlsOverTcp: AsyncRead + AsyncWrite + Unpin {
    /// The socket under the TLS session.
    fn tcp(&self) -> &TcpStream;
}

impl TlsOverTcp for tokio_rustls::client::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

impl TlsOverTcp for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Plain TCP, or TLS over TCP. The TLS side is boxed: it is large (the
/// rustls connection state) and a plain connection should not pay for it.
pub enum Stream<T> {
    /// Clear text.
    Plain(TcpStream),
    /// Encrypted.
    Tls(Box<T>),
}

impl<T> Stream<T> {
    /// True when the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }
}

impl<T: TlsOverTcp> Stream<T> {
    /// The TCP socket, under the TLS session if there is one.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => t.tcp(),
        }
    }
}

/// Says which kind it is, and nothing of the session's secrets.
impl<T> fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_tls() { "Stream::Tls" } else { "Stream::Plain" })
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Stream<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(t) => Pin::new(t.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stream<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(t) => Pin::new(t.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(t) => Pin::new(t.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(t) => Pin::new(t.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    type ClientStream = Stream<tokio_rustls::client::TlsStream<TcpStream>>;

    #[tokio::test]
    async fn a_plain_stream_carries_bytes_both_ways() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let echo = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let mut s: ClientStream = Stream::Plain(TcpStream::connect(addr).await.unwrap());
        assert!(!s.is_tls());
        assert_eq!(format!("{s:?}"), "Stream::Plain");
        assert_eq!(s.tcp().peer_addr().unwrap(), addr);
        s.write_all(b"hello").await.unwrap();
        s.flush().await.unwrap();
        let mut back = [0u8; 5];
        s.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"hello");
        s.shutdown().await.unwrap();
        echo.await.unwrap();
    }
}
