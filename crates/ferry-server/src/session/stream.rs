//! A connection that is plain TCP or TLS over TCP, read and written the
//! same way: `ferry_net::Stream`, shared with the client, holding the
//! server's end of a TLS session.

use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// Plain or TLS.
pub(crate) type Stream = ferry_net::Stream<TlsStream<TcpStream>>;
