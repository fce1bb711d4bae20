//! The admin listener: accept, optionally TLS, then HTTP/1.1 by hyper.
//!
//! Admin credentials cross this connection, so clear text is allowed only
//! on a loopback address; anywhere else the listener speaks HTTPS with
//! the server's certificate, or does not start. Every connection has
//! deadlines: the TLS handshake, each request's headers (which also ends
//! idle keep-alive connections), each request's body, and every
//! write — a client that stops reading a live stream is dropped instead
//! of holding the stream forever. Connections are counted and capped.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Sleep;
use tower::ServiceExt;

/// The most a TLS handshake may take.
pub const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);
/// The most a request's headers may take to arrive, and the longest an
/// idle keep-alive connection is kept.
pub const HEADER_DEADLINE: Duration = Duration::from_secs(30);
/// The most a request's body may take to arrive, from its headers on
/// (bodies are at most [`MAX_BODY`](crate::state::MAX_BODY)): a client
/// that sends headers and then trickles or withholds the body would
/// otherwise hold its connection for good.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);
/// The most one write may wait for the client to read.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(30);
/// Connections at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// Connections from one address at once: a browser opens about six, a
/// dashboard two streams; one client cannot take every slot.
pub const MAX_PER_ADDRESS: usize = 32;

/// Connections open per client address.
#[derive(Default)]
struct PerAddress(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One connection counted for its address, until dropped.
struct Counted {
    table: Arc<PerAddress>,
    ip: std::net::IpAddr,
}

impl PerAddress {
    fn enter(self: &Arc<Self>, ip: std::net::IpAddr) -> Option<Counted> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(ip).or_default();
        if *n >= MAX_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(Counted { table: self.clone(), ip })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Why the listener cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// A non-loopback address without a certificate.
    #[error(
        "the admin listener on {0} would carry admin passwords in clear text: use a loopback address \
         (127.0.0.1 or ::1) or give ferryd a TLS certificate (--tls-cert/--tls-key)"
    )]
    ClearText(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {addr} for the admin API: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS's error.
        source: io::Error,
    },
}

/// A bound admin listener, ready to serve.
pub struct AdminListener {
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: axum::Router,
}

impl AdminListener {
    /// Bind `addr`. `tls` is the server's certificate configuration; it is
    /// used on every address but loopback, where plain HTTP is served
    /// unless `https_everywhere`.
    pub async fn bind(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
        https_everywhere: bool,
        backend: Arc<dyn crate::Backend>,
    ) -> Result<AdminListener, ListenError> {
        // `::ffff:127.0.0.1` is loopback too.
        let loopback = addr.ip().to_canonical().is_loopback();
        let tls = match (loopback && !https_everywhere, tls) {
            (true, _) => None,
            (false, Some(config)) => {
                let mut config = (*config).clone();
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
            }
            (false, None) => return Err(ListenError::ClearText(addr)),
        };
        let listener = TcpListener::bind(addr).await.map_err(|source| ListenError::Bind { addr, source })?;
        let app = crate::app(backend, tls.is_some());
        Ok(AdminListener { listener, tls, app })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// True if it speaks HTTPS.
    pub fn is_https(&self) -> bool {
        self.tls.is_some()
    }

    /// Serve until `shutdown` turns true; open connections are then closed.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let per_address = Arc::new(PerAddress::default());
        let mut connections = JoinSet::new();
        loop {
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => match slot { Ok(s) => s, Err(_) => break },
                _ = shutdown.wait_for(|stop| *stop) => break,
            };
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = shutdown.wait_for(|stop| *stop) => break,
            };
            while connections.try_join_next().is_some() {}
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, most likely: wait a little rather than spin.
                    tracing::warn!(error = %e, "admin listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Over its share: closed at once, before any work (no TLS, no HTTP).
            let Some(counted) = per_address.enter(peer.ip().to_canonical()) else {
                tracing::debug!(%peer, "admin listener: too many connections from this address");
                continue;
            };
            let (tls, app) = (self.tls.clone(), self.app.clone());
            connections.spawn(async move {
                serve(stream, peer, tls, app).await;
                drop((slot, counted));
            });
        }
        connections.abort_all();
    }
}

async fn serve(stream: TcpStream, peer: SocketAddr, tls: Option<tokio_rustls::TlsAcceptor>, app: axum::Router) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => http(Deadline::new(stream), peer, app).await,
        Some(acceptor) => match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => http(Deadline::new(tls), peer, app).await,
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "admin TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "admin TLS handshake timed out"),
        },
    }
}

async fn http<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(io: S, peer: SocketAddr, app: axum::Router) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let due = tokio::time::Instant::now() + BODY_DEADLINE;
        app.clone().oneshot(request.map(|body| axum::body::Body::new(BodyDeadline { inner: body, due, timer: None })))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_DEADLINE)
        .serve_connection(TokioIo::new(io), service);
    if let Err(e) = connection.await {
        tracing::debug!(%peer, error = %e, "admin connection ended");
    }
}

/// A request body that fails once [`BODY_DEADLINE`] has passed since its
/// headers arrived. A deadline for the whole body, not for each piece: a
/// byte every few seconds must not keep it going.
struct BodyDeadline {
    inner: hyper::body::Incoming,
    due: tokio::time::Instant,
    /// Started the first time the body is not ready.
    timer: Option<Pin<Box<Sleep>>>,
}

impl hyper::body::Body for BodyDeadline {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let due = self.due;
        let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(format!("the request body took more than {} s", BODY_DEADLINE.as_secs()).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// A connection whose writes fail once one has waited [`WRITE_DEADLINE`]
/// for the peer to read.
struct Deadline<S> {
    inner: S,
    waiting: Option<Pin<Box<Sleep>>>,
}

impl<S> Deadline<S> {
    fn new(inner: S) -> Deadline<S> {
        Deadline { inner, waiting: None }
    }

    /// `poll` is the inner write; `Pending` starts (or checks) the clock.
    fn bounded<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Pending => {
                let timer = self.waiting.get_or_insert_with(|| Box::pin(tokio::time::sleep(WRITE_DEADLINE)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading"))),
                    Poll::Pending => Poll::Pending,
                }
            }
            ready @ Poll::Ready(_) => {
                self.waiting = None;
                ready
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deadline<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deadline<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.bounded(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.bounded(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.bounded(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_gets_its_share_and_no_more() {
        let table = Arc::new(PerAddress::default());
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        let held: Vec<Counted> = (0..MAX_PER_ADDRESS).map(|_| table.enter(ip).expect("within the share")).collect();
        assert!(table.enter(ip).is_none(), "one more is refused");
        assert!(table.enter(std::net::IpAddr::from([127, 0, 0, 2])).is_some(), "another address is not affected");
        drop(held);
        let again = table.enter(ip);
        assert!(again.is_some(), "closed connections free their places");
        assert!(table.0.lock().unwrap().get(&ip).is_some_and(|n| *n == 1));
        drop(again);
        assert!(table.0.lock().unwrap().is_empty(), "nothing kept for an address with no connection");
    }
}
