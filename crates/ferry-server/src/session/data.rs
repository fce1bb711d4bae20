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

use tokio::net::{TcpListener, TcpSocket};

use super::stream::Stream;

/// How the next transfer's data connection will be made.
#[derive(Debug, Default)]
pub(crate) enum DataSetup {
    /// Nothing prepared: a transfer now gets `425`.
    #[default]
    None,
    /// Waiting for the client to connect.
    Passive(TcpListener),
    /// Connect to the client at this address.
    Active(SocketAddr),
}

pub(crate) use ferry_proto::addr::canonical_ip;

/// Bind a passive listener on `ip`, in `range` if one is configured.
pub(crate) async fn bind_passive(ip: IpAddr, range: Option<&RangeInclusive<u16>>) -> io::Result<TcpListener> {
    let Some(range) = range else {
        return bind_any_port(ip).await;
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
            match TcpListener::bind(SocketAddr::new(ip, port)).await {
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
async fn bind_any_port(ip: IpAddr) -> io::Result<TcpListener> {
    use std::hash::{BuildHasher, Hasher};
    for _ in 0..16 {
        // RandomState is seeded per process and varies per instance: a
        // cheap source of unpredictable numbers without another crate.
        let r = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let port = 1024 + (r % (65536 - 1024)) as u16;
        match TcpListener::bind(SocketAddr::new(ip, port)).await {
            Ok(l) => return Ok(l),
            Err(e) if matches!(e.kind(), io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied) => continue,
            Err(e) => return Err(e),
        }
    }
    TcpListener::bind(SocketAddr::new(ip, 0)).await
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
        DataSetup::Passive(listener) => tokio::time::timeout(timeout, async {
            loop {
                let (mut stream, mut peer) = listener.accept().await?;
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
            tokio::time::timeout(timeout, socket.connect(addr)).await.map_err(|_| DataError::Timeout)??
        }
    };
    stream.set_nodelay(true)?;
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
