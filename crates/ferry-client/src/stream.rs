//! The client's connections: `ferry_net::Stream`, shared with the server,
//! holding the client's end of a TLS session.

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Plain or TLS.
pub(crate) type Stream = ferry_net::Stream<TlsStream<TcpStream>>;
