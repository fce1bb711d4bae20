//! The control connection: command lines in, replies out; upgraded to TLS
//! in place by `AUTH TLS`.

use std::io;
use std::time::Duration;

use tokio::time::Instant;

use ferry_proto::{LineDecoder, LineError, Reply};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::stream::Stream;

/// The control socket's send buffer. Replies are a few hundred bytes, and a
/// client waits for each before it sends the next command, so this never
/// slows a client that reads (a long `STAT` listing still moves 64 KiB per
/// round trip). Left to itself the kernel lets the queue grow to megabytes
/// (`tcp_wmem`), so a client that stops reading would go unnoticed until
/// then; with 64 KiB a write blocks soon and its deadline ends the session.
pub(crate) const SEND_BUFFER: usize = 64 * 1024;

/// True where accepted sockets inherit the listener's options (Linux
/// copies the listening socket's state, these options included, into each
/// connection it accepts): they are set once on the listener instead of
/// three system calls per connection.
pub(crate) const INHERITS_OPTIONS: bool = cfg!(target_os = "linux");

/// The options of a control connection (on a listener, of those it
/// accepts, where [`INHERITS_OPTIONS`]).
pub(crate) fn set_options(sock: &socket2::SockRef<'_>) {
    // Replies are small and answered one at a time: without NODELAY,
    // Nagle's algorithm meets delayed ACKs and each reply waits ~40 ms.
    let _ = sock.set_tcp_nodelay(true);
    // ftplib and others send ABOR with MSG_OOB; read urgent bytes inline
    // so the command is not cut short.
    let _ = sock.set_out_of_band_inline(true);
    let _ = sock.set_send_buffer_size(SEND_BUFFER);
}

/// Give a control listener the options of its connections (see
/// [`INHERITS_OPTIONS`]).
pub(crate) fn prepare_listener(listener: &tokio::net::TcpListener) {
    set_options(&socket2::SockRef::from(listener));
}

/// Bytes taken from the socket per read. The buffer is on the stack of
/// the read (see [`Control::read_line`]), not kept with the session.
const READ_CHUNK: usize = 512;

/// How long a goodbye (`421 … timeout`) may take to leave: the session is
/// ending anyway, and a client that does not read must not hold it longer.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(1);

/// Reads command lines and writes replies.
pub(crate) struct Control {
    /// `None` only for the instant of a TLS upgrade.
    stream: Option<Stream>,
    decoder: LineDecoder,
    /// Longest wait for the client to make room for a reply, in
    /// milliseconds (four bytes, not a `Duration`'s sixteen: every idle
    /// session has one): a client that has not read for this long has
    /// stopped reading.
    write_timeout_ms: u32,
    /// A hard limit on every write (the login deadline before login).
    deadline: Option<Instant>,
    /// Set while a reply is being written, and left set if the write was
    /// cut short, so that no later reply is spliced into its middle.
    writing: bool,
    /// The last direct read stopped at a whole line with perhaps more in
    /// the socket (see [`Control::drain_urgent`]): read directly again
    /// before waiting on the socket.
    drain_more: bool,
}

impl Control {
    /// Replies that cannot be written within `write_timeout` end the session.
    pub(crate) fn new(stream: Stream, max_line: usize, write_timeout: Duration) -> Control {
        Control {
            stream: Some(stream),
            decoder: LineDecoder::new(max_line),
            write_timeout_ms: u32::try_from(write_timeout.as_millis()).unwrap_or(u32::MAX),
            deadline: None,
            writing: false,
            drain_more: false,
        }
    }

    /// Make every write end by `deadline` too (or lift that limit).
    pub(crate) fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// The hard limit on writes in force (the login deadline before login).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
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
            if std::mem::take(&mut self.drain_more) {
                if self.drain_urgent()? {
                    return Ok(self.decoder.next_line());
                }
                continue;
            }
            let Control { stream, decoder, .. } = self;
            let stream = stream.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
            // The bytes are read into a buffer on the stack and fed to the
            // decoder within the same poll: no read buffer is kept while the
            // session waits (thousands of idle sessions add up), and no
            // bytes are lost if this future is dropped.
            let n = std::future::poll_fn(|cx| {
                let mut chunk = [0u8; READ_CHUNK];
                let mut chunk = ReadBuf::new(&mut chunk);
                std::task::ready!(std::pin::Pin::new(&mut *stream).poll_read(cx, &mut chunk))?;
                decoder.feed(chunk.filled());
                std::task::Poll::Ready(Ok::<_, io::Error>(chunk.filled().len()))
            })
            .await?;
            if n == 0 {
                return Ok(None);
            }
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
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            match (&*sock).read(&mut chunk) {
                Ok(0) => return Ok(true),
                Ok(n) => {
                    self.decoder.feed(&chunk[..n]);
                    // Stop at a whole line, so that a client flooding
                    // commands cannot make this loop buffer without end;
                    // the rest is read when that line has been handled.
                    if self.decoder.has_line() {
                        self.drain_more = true;
                        return Ok(false);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// What the kernel knows of the client's side of the control
    /// connection right now (a peek that takes nothing): the reactor may
    /// not have reported a close yet.
    pub(crate) fn peer_state(&self) -> PeerState {
        let tcp = match &self.stream {
            Some(Stream::Plain(tcp)) => tcp,
            Some(Stream::Tls(tls)) => tls.get_ref().0,
            None => return PeerState::Gone,
        };
        let mut byte = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        match socket2::SockRef::from(tcp).peek(&mut byte) {
            Ok(0) => PeerState::Gone,
            Ok(_) => PeerState::Pending,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => PeerState::Quiet,
            Err(_) => PeerState::Gone,
        }
    }

    /// Send one reply. (Encoded afresh each time: keeping a buffer would
    /// cost every idle session its size.) Each [`SEND_BUFFER`] of it must
    /// leave within the write timeout, and all of it by the deadline:
    /// otherwise the client has stopped reading, and the error (`TimedOut`)
    /// ends the session.
    pub(crate) async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        let out = reply.encode();
        tracing::trace!(code = reply.code, "reply");
        let (write_timeout, deadline) = (Duration::from_millis(self.write_timeout_ms.into()), self.deadline);
        let stream = self.stream.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        self.writing = true;
        // A long reply (a `STAT` listing) may take longer than one timeout
        // to a client that reads slowly but steadily: the timeout is per
        // buffer-full, the deadline for the whole.
        let by = |deadline: Option<Instant>| {
            let limit = after(write_timeout);
            deadline.map_or(limit, |d| d.min(limit))
        };
        for piece in out.chunks(SEND_BUFFER) {
            write_by(by(deadline), stream.write_all(piece)).await?;
        }
        // TLS buffers records; a reply must leave now.
        write_by(by(deadline), stream.flush()).await?;
        self.writing = false;
        Ok(())
    }

    /// Send a last reply before closing, if it can leave at once: never
    /// after a reply that was cut short, and only briefly, since a client
    /// that does not read gains nothing from waiting for it.
    pub(crate) async fn farewell(&mut self, code: u16, text: impl Into<String>) {
        if self.writing {
            return;
        }
        self.deadline = Some(after(FAREWELL_TIMEOUT));
        let _ = self.reply(code, text).await;
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
    pub(crate) async fn upgrade(&mut self, acceptor: &crate::tls::SessionTls, timeout: Duration) -> io::Result<()> {
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
        let tls = tokio::time::timeout(timeout, acceptor.accept_control(tcp))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        self.stream = Some(Stream::Tls(Box::new(tls)));
        Ok(())
    }
}

/// The instant `d` from now (far in the future if that overflows: a
/// timeout of years is as good as none).
pub(crate) fn after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

/// Run a write to the control connection, or fail with `TimedOut` at
/// `deadline`.
async fn write_by(deadline: Instant, write: impl Future<Output = io::Result<()>>) -> io::Result<()> {
    tokio::time::timeout_at(deadline, write)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading replies"))?
}

/// See [`Control::peer_state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerState {
    /// Closed or reset.
    Gone,
    /// Open, with bytes not read yet (under TLS, perhaps a close_notify).
    Pending,
    /// Open, nothing waiting.
    Quiet,
}

#[cfg(test)]
mod tests {
    /// A connection accepted on a prepared listener has the control
    /// connection's options, whether inherited or set per connection.
    #[tokio::test]
    async fn accepted_connections_have_the_control_options() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        super::prepare_listener(&listener);
        let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (conn, _) = listener.accept().await.unwrap();
        if !super::INHERITS_OPTIONS {
            super::set_options(&socket2::SockRef::from(&conn));
        }
        let sock = socket2::SockRef::from(&conn);
        assert!(sock.tcp_nodelay().unwrap(), "TCP_NODELAY");
        assert!(sock.out_of_band_inline().unwrap(), "SO_OOBINLINE");
        // Linux reports twice what was set (room for its bookkeeping).
        let sndbuf = sock.send_buffer_size().unwrap();
        assert!((super::SEND_BUFFER..=2 * super::SEND_BUFFER).contains(&sndbuf), "SO_SNDBUF {sndbuf}");
    }
}
