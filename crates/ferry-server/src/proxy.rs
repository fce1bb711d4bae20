//! Reading the PROXY protocol header that a trusted load balancer sends at
//! the start of a connection (the parsing is in `ferry_proto::proxy`).
//!
//! Only connections from the configured load-balancer addresses are read
//! this way; anyone else saying `PROXY …` is just an unknown command. The
//! header is peeked, then exactly its bytes are consumed, so what follows
//! (a TLS hello on the implicit FTPS port) is untouched.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ferry_proto::proxy::{self, Header};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// True if connections from `peer` must carry a PROXY header.
pub(crate) fn expected(trusted: &[IpAddr], peer: SocketAddr) -> bool {
    let ip = ferry_proto::addr::canonical_ip(peer.ip());
    trusted.iter().any(|t| ferry_proto::addr::canonical_ip(*t) == ip)
}

/// Read the header; returns the real client address (the TCP peer for a
/// `LOCAL` header, as a health check sends).
pub(crate) async fn read_header(stream: &mut TcpStream, peer: SocketAddr, limit: Duration) -> io::Result<SocketAddr> {
    let work = async {
        let mut buf = [0u8; proxy::MAX_HEADER];
        loop {
            let n = stream.peek(&mut buf).await?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed before the PROXY header"));
            }
            match proxy::parse(&buf[..n]) {
                Ok(Some((header, len))) => {
                    let mut consumed = vec![0u8; len];
                    stream.read_exact(&mut consumed).await?;
                    return Ok(match header {
                        Header::Proxied { source, .. } => source,
                        Header::Local => peer,
                    });
                }
                // Headers come in one segment; a short wait covers the rare split.
                Ok(None) => tokio::time::sleep(Duration::from_millis(5)).await,
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
        }
    };
    tokio::time::timeout(limit, work).await.map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no PROXY header in time"))?
}
