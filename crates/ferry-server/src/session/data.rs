//! Data connections: passive listeners (`PASV`, `EPSV`) and active
//! connect-backs (`PORT`, `EPRT`).
//!
//! Two defences from RFC 2577 apply here. A passive listener accepts only
//! the control connection's peer address (anyone else connecting first is
//! dropped and logged: "passive port hijacking"). An active connect-back
//! goes only to the control peer's address and never to a privileged port
//! (the "FTP bounce" attack).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use rustix::net::{AddressFamily, SocketFlags, SocketType};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::stream::Stream;

/// How the next transfer's data connection will be made.
#[derive(Debug, Default)]
pub(crate) enum DataSetup {
    /// Nothing prepared: a transfer now gets `425`.
    #[default]
    None,
    /// Waiting for the client to connect.
    Passive(PassiveListener),
    /// Connect to the client at this address.
    Active(SocketAddr),
}

pub(crate) use ferry_proto::addr::canonical_ip;

/// A passive listener, kept out of the runtime's `epoll` set until a
/// transfer has to wait for it.
///
/// Clients connect right after the `227`/`229` reply, so by the time
/// `RETR` or `STOR` arrives the connection is usually queued and one
/// nonblocking `accept` takes it. Registered at once (as a tokio listener
/// is), the listener would wake the session's worker the moment the client
/// connects, with nothing to do yet, and cost an `epoll_ctl` to add it and
/// another to remove it: three system calls and a wake-up per transfer,
/// which is most of what a 4 KiB file costs besides the round trips.
#[derive(Debug)]
pub(crate) struct PassiveListener(Listen);

#[derive(Debug)]
enum Listen {
    /// Not in the runtime's set: accepted from without waiting.
    Queued(std::net::TcpListener),
    /// Waited on through the runtime (after a look found nothing queued).
    Registered(TcpListener),
    /// Only while moving from one to the other (and if that failed).
    Closed,
}

impl PassiveListener {
    fn bind(addr: SocketAddr) -> io::Result<Self> {
        let family = if addr.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
        let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC, None)?;
        // As every listener here: a port in TIME_WAIT from an earlier data
        // connection can be bound again.
        rustix::net::sockopt::set_socket_reuseaddr(&fd, true)?;
        // File data goes out in full segments anyway; the last one must not
        // wait for an ACK. Set here, the accepted socket inherits it (see
        // `super::control::INHERITS_OPTIONS`).
        rustix::net::sockopt::set_tcp_nodelay(&fd, true)?;
        rustix::net::bind(&fd, &addr)?;
        // One connection is expected, but a queue that foreign hosts could
        // fill between the reply and the transfer would make the real
        // client retransmit its handshake; they are dropped (see `open`).
        rustix::net::listen(&fd, 128)?;
        Ok(Self(Listen::Queued(std::net::TcpListener::from(fd))))
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match &self.0 {
            Listen::Queued(l) => l.local_addr(),
            Listen::Registered(l) => l.local_addr(),
            Listen::Closed => Err(closed()),
        }
    }

    /// The next connection: a queued one at once; otherwise the listener
    /// joins the runtime's set (for good) and this waits for one.
    async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        if let Listen::Queued(l) = &self.0 {
            if let Some(queued) = try_accept(l)? {
                return Ok(queued);
            }
            if let Listen::Queued(l) = std::mem::replace(&mut self.0, Listen::Closed) {
                self.0 = Listen::Registered(TcpListener::from_std(l)?);
            }
        }
        match &self.0 {
            Listen::Registered(l) => l.accept().await,
            _ => Err(closed()),
        }
    }
}

fn closed() -> io::Error {
    io::Error::other("the passive listener is closed")
}

/// A queued connection, without waiting; `None` when there is none.
fn try_accept(listener: &std::net::TcpListener) -> io::Result<Option<(TcpStream, SocketAddr)>> {
    loop {
        return match rustix::net::acceptfrom_with(listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
            Ok((fd, addr)) => match addr.and_then(|a| SocketAddr::try_from(a).ok()) {
                Some(peer) => Ok(Some((TcpStream::from_std(std::net::TcpStream::from(fd))?, peer))),
                // Not a TCP peer we can check (cannot happen on TCP): drop it.
                None => continue,
            },
            Err(rustix::io::Errno::AGAIN) => Ok(None),
            // The client gave up before we took it: look again.
            Err(rustix::io::Errno::CONNABORTED | rustix::io::Errno::INTR) => continue,
            Err(e) => Err(e.into()),
        };
    }
}

/// Bind a passive listener on `ip`, in `range` if one is configured.
pub(crate) async fn bind_passive(ip: IpAddr, range: Option<&RangeInclusive<u16>>) -> io::Result<PassiveListener> {
    let Some(range) = range else {
        return bind_any_port(ip);
    };
    let (lo, hi) = (*range.start() as u32, *range.end() as u32);
    let span = hi - lo + 1;
    // The range is a pool: a port is free again as soon as its data
    // connection has been accepted (the listener closes then). When every
    // port is taken, wait briefly for one to come back before refusing.
    for attempt in 0..20 {
        // Start at a different point each time so that concurrent sessions
        // do not all race for the lowest port.
        let start = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos()) % span;
        for i in 0..span {
            let port = (lo + (start + i) % span) as u16;
            match PassiveListener::bind(SocketAddr::new(ip, port)) {
                Ok(l) => return Ok(l),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(e),
            }
        }
        if attempt < 19 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Err(io::Error::new(io::ErrorKind::AddrInUse, "every port in the passive range is in use"))
}

/// A passive listener on some free port of `ip`. Random ports above 1023
/// are tried first, as vsftpd does, and the kernel's choice (port 0) only
/// as a fallback: the kernel searches its ephemeral range, which a busy
/// server fills with thousands of `TIME_WAIT` sockets (each finished data
/// connection leaves one for a minute), and then every pick costs about a
/// millisecond of kernel time — measured at 1.4 ms per small-file transfer
/// after a login storm, against 0.13 ms without. Random ports are also
/// harder to guess than sequential ones.
fn bind_any_port(ip: IpAddr) -> io::Result<PassiveListener> {
    use std::hash::{BuildHasher, Hasher};
    for _ in 0..16 {
        // RandomState is seeded per process and varies per instance: a
        // cheap source of unpredictable numbers without another crate.
        let r = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let port = 1024 + (r % (65536 - 1024)) as u16;
        match PassiveListener::bind(SocketAddr::new(ip, port)) {
            Ok(l) => return Ok(l),
            Err(e) if matches!(e.kind(), io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied) => continue,
            Err(e) => return Err(e),
        }
    }
    PassiveListener::bind(SocketAddr::new(ip, 0))
}

/// Why a data connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DataError {
    #[error("Use PORT, PASV, EPRT or EPSV first.")]
    NotPrepared,
    #[error("Timed out waiting for the data connection.")]
    Timeout,
    #[error("Can't open data connection: {0}.")]
    Io(#[from] io::Error),
    #[error("TLS on the data connection failed: {0}.")]
    Tls(String),
}

/// Open the data connection prepared by `setup`, with TLS when `tls` is
/// given (`PROT P`). With `require_reuse`, the client must resume a TLS
/// session of this login (or of another login of the same user from the
/// same address; see `crate::tls`).
pub(crate) async fn open(
    setup: DataSetup,
    control_peer: IpAddr,
    local_ip: IpAddr,
    timeout: Duration,
    tls: Option<&crate::tls::DataTls>,
    require_reuse: bool,
    proxy_from: &[IpAddr],
) -> Result<Stream, DataError> {
    let stream = match setup {
        DataSetup::None => return Err(DataError::NotPrepared),
        DataSetup::Passive(mut listener) => tokio::time::timeout(timeout, async {
            loop {
                let (mut stream, mut peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    // The client gave up before we took it: wait for the next.
                    Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                    Err(e) => return Err(e),
                };
                // Through a load balancer, the data connection carries its
                // own PROXY header naming the real client.
                if crate::proxy::expected(proxy_from, peer) {
                    match crate::proxy::read_header(&mut stream, peer, timeout).await {
                        Ok(client) => peer = client,
                        Err(e) => {
                            tracing::warn!(%peer, error = %e, "dropped a data connection without a valid PROXY header");
                            continue;
                        }
                    }
                }
                if canonical_ip(peer.ip()) == canonical_ip(control_peer) {
                    if !super::control::INHERITS_OPTIONS {
                        stream.set_nodelay(true)?;
                    }
                    return Ok::<_, io::Error>(stream);
                }
                tracing::warn!(%peer, expected = %control_peer, "refused passive data connection from a foreign address");
            }
        })
        .await
        .map_err(|_| DataError::Timeout)??,
        DataSetup::Active(addr) => {
            let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
            // Connect from the address the client reached us on, so that the
            // client's firewall sees one host.
            if local_ip.is_ipv4() == addr.is_ipv4() {
                let _ = socket.bind(SocketAddr::new(local_ip, 0));
            }
            let stream = tokio::time::timeout(timeout, socket.connect(addr)).await.map_err(|_| DataError::Timeout)??;
            stream.set_nodelay(true)?;
            stream
        }
    };
    let Some(tls) = tls else { return Ok(Stream::Plain(stream)) };
    // Boxed: the handshake future is large and needed only here. Half the
    // time at most goes to waiting for another login (a refusal then says
    // why, rather than timing out).
    let tls = tokio::time::timeout(timeout, Box::pin(tls.accept(stream, require_reuse, timeout / 2)))
        .await
        .map_err(|_| DataError::Timeout)?
        .map_err(DataError::Tls)?;
    Ok(Stream::Tls(Box::new(tls)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    /// The data connection of a plain passive transfer whose client is on
    /// `ip`, as `open` makes it.
    async fn open_plain_on(listener: PassiveListener, ip: IpAddr, timeout: Duration) -> Result<Stream, DataError> {
        open(DataSetup::Passive(listener), ip, ip, timeout, None, false, &[]).await
    }

    async fn open_plain(listener: PassiveListener) -> Result<Stream, DataError> {
        open_plain_on(listener, LOOPBACK, Duration::from_secs(5)).await
    }

    /// A client that connects to `addr` a little after the server starts
    /// waiting.
    fn connect_later(addr: SocketAddr) -> tokio::task::JoinHandle<tokio::net::TcpStream> {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            tokio::net::TcpStream::connect(addr).await.unwrap()
        })
    }

    /// The queued connection, once the kernel has finished its handshake
    /// (on loopback that can trail `connect` by a moment).
    fn queued(listener: &PassiveListener) -> (TcpStream, SocketAddr) {
        let Listen::Queued(l) = &listener.0 else { panic!("not registered yet") };
        for _ in 0..200 {
            if let Some(c) = try_accept(l).unwrap() {
                return c;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("no connection queued after 1 s");
    }

    #[tokio::test]
    async fn a_queued_connection_is_taken_without_waiting_and_has_nodelay() {
        let listener = bind_passive(LOOPBACK, None).await.unwrap();
        let Listen::Queued(l) = &listener.0 else { panic!("a new listener is not registered") };
        assert!(try_accept(l).unwrap().is_none(), "nothing is queued yet");
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = queued(&listener);
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(server.nodelay().unwrap(), "the accepted socket inherits TCP_NODELAY");
    }

    #[tokio::test]
    async fn a_foreign_connection_queued_first_is_dropped_and_the_client_taken() {
        let listener = bind_passive(LOOPBACK, None).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let thief = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        thief.bind(&SocketAddr::new(IpAddr::from([127, 0, 0, 2]), 0).into()).unwrap();
        thief.connect(&addr.into()).unwrap();
        let late = connect_later(addr);
        let Stream::Plain(server) = open_plain(listener).await.unwrap() else { panic!("plain expected") };
        let client = late.await.unwrap();
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        // The thief's connection was closed unread.
        thief.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [std::mem::MaybeUninit::new(0u8); 8];
        assert_eq!(thief.recv(&mut buf).unwrap_or(0), 0);
    }

    #[tokio::test]
    async fn passive_on_ipv6_loopback() {
        let v6 = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
        let Ok(listener) = bind_passive(v6, None).await else {
            eprintln!("no IPv6 loopback here; skipped");
            return;
        };
        let addr = listener.local_addr().unwrap();
        assert!(addr.is_ipv6());
        let client = std::net::TcpStream::connect(addr).unwrap();
        let Stream::Plain(server) = open_plain_on(listener, v6, Duration::from_secs(5)).await.unwrap() else { panic!("plain expected") };
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    }

    #[tokio::test]
    async fn with_nothing_queued_it_waits_for_the_client() {
        let listener = bind_passive(LOOPBACK, None).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let late = connect_later(addr);
        let Stream::Plain(server) = open_plain(listener).await.unwrap() else { panic!("plain expected") };
        let client = late.await.unwrap();
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    }

    #[tokio::test]
    async fn no_client_is_a_timeout() {
        let listener = bind_passive(LOOPBACK, None).await.unwrap();
        let r = open_plain_on(listener, LOOPBACK, Duration::from_millis(100)).await;
        assert!(matches!(r, Err(DataError::Timeout)), "{:?}", r.err());
    }

    #[tokio::test]
    async fn the_range_is_kept_and_a_taken_port_skipped() {
        // Below the kernel's range for outgoing ports (so no client socket
        // holds one) and away from the ranges the integration tests use;
        // per process, so that two runs at once do not collide.
        let lo = 25_000 + (std::process::id() % 4_000) as u16;
        let range = lo..=lo + 1;
        let first = bind_passive(LOOPBACK, Some(&range)).await.unwrap();
        let second = bind_passive(LOOPBACK, Some(&range)).await.unwrap();
        let ports = [first.local_addr().unwrap().port(), second.local_addr().unwrap().port()];
        assert!(ports.contains(&lo) && ports.contains(&(lo + 1)), "{ports:?}");
    }
}
