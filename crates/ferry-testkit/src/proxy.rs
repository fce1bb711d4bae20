//! A SOCKS5 (RFC 1928, with RFC 1929 logins) and HTTP `CONNECT` proxy on
//! loopback for client tests: it records every destination asked for,
//! relays bytes both ways, and stops when dropped. Every read has a
//! deadline, so a test that goes wrong cannot hang on it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a proxied connection may sit silent.
const IDLE: Duration = Duration::from_secs(30);

#[derive(Clone, Copy)]
enum Kind {
    Socks5,
    Http,
}

/// A running proxy.
pub struct TestProxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// `host:port` of every connection asked for, in order (for HTTP, with
    /// the `Proxy-Authorization` value after a space when one was sent).
    pub seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl TestProxy {
    /// A SOCKS5 proxy; with `login`, only that user and password get in.
    pub fn socks5(login: Option<(&str, &str)>) -> TestProxy {
        Self::start(Kind::Socks5, login.map(|(u, p)| (u.to_owned(), p.to_owned())))
    }

    /// An HTTP proxy that serves `CONNECT`.
    pub fn http() -> TestProxy {
        Self::start(Kind::Http, None)
    }

    fn start(kind: Kind, login: Option<(String, String)>) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let (seen, stop) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let (s, st) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (seen, login) = (s.clone(), login.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, kind, login.as_ref(), &seen);
                });
            }
        });
        TestProxy { port, seen, stop }
    }

    /// The destinations asked for so far.
    pub fn destinations(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut client: TcpStream, kind: Kind, login: Option<&(String, String)>, seen: &Mutex<Vec<String>>) -> io::Result<()> {
    client.set_read_timeout(Some(IDLE))?;
    client.set_write_timeout(Some(IDLE))?;
    let target = match kind {
        Kind::Socks5 => socks5_handshake(&mut client, login)?,
        Kind::Http => {
            let mut reader = BufReader::new(client.try_clone()?);
            let mut first = String::new();
            reader.read_line(&mut first)?;
            let mut auth = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.strip_prefix("Proxy-Authorization: ") {
                    auth = format!(" {}", v.trim());
                }
            }
            let target = first.split_whitespace().nth(1).unwrap_or_default().to_owned();
            seen.lock().unwrap().push(format!("{target}{auth}"));
            target
        }
    };
    if let Kind::Socks5 = kind {
        seen.lock().unwrap().push(target.clone());
    }
    let host_port = target.trim_start_matches('[').replace("]:", ":");
    let (host, port) = host_port.rsplit_once(':').ok_or_else(|| io::Error::other("bad target"))?;
    let server = match TcpStream::connect((host, port.parse::<u16>().map_err(io::Error::other)?)) {
        Ok(s) => s,
        Err(e) => {
            let _ = match kind {
                Kind::Socks5 => client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
                Kind::Http => client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n"),
            };
            return Err(e);
        }
    };
    match kind {
        Kind::Socks5 => client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?,
        Kind::Http => client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?,
    }
    server.set_read_timeout(Some(IDLE))?;
    server.set_write_timeout(Some(IDLE))?;
    relay(client, server)
}

fn socks5_handshake(c: &mut TcpStream, login: Option<&(String, String)>) -> io::Result<String> {
    let mut head = [0u8; 2];
    c.read_exact(&mut head)?;
    let mut methods = vec![0u8; head[1] as usize];
    c.read_exact(&mut methods)?;
    match login {
        Some((user, pass)) if methods.contains(&2) => {
            c.write_all(&[5, 2])?;
            let mut v = [0u8; 2];
            c.read_exact(&mut v)?;
            let mut u = vec![0u8; v[1] as usize];
            c.read_exact(&mut u)?;
            let mut plen = [0u8; 1];
            c.read_exact(&mut plen)?;
            let mut p = vec![0u8; plen[0] as usize];
            c.read_exact(&mut p)?;
            let ok = u == user.as_bytes() && p == pass.as_bytes();
            c.write_all(&[1, if ok { 0 } else { 1 }])?;
            if !ok {
                return Err(io::Error::other("wrong proxy login"));
            }
        }
        Some(_) => {
            c.write_all(&[5, 0xff])?;
            return Err(io::Error::other("no login offered"));
        }
        None => c.write_all(&[5, 0])?,
    }
    let mut req = [0u8; 4];
    c.read_exact(&mut req)?;
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            c.read_exact(&mut a)?;
            std::net::Ipv4Addr::from(a).to_string()
        }
        4 => {
            let mut a = [0u8; 16];
            c.read_exact(&mut a)?;
            format!("[{}]", std::net::Ipv6Addr::from(a))
        }
        3 => {
            let mut n = [0u8; 1];
            c.read_exact(&mut n)?;
            let mut name = vec![0u8; n[0] as usize];
            c.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => return Err(io::Error::other("bad address type")),
    };
    let mut port = [0u8; 2];
    c.read_exact(&mut port)?;
    Ok(format!("{host}:{}", u16::from_be_bytes(port)))
}

/// Copy both ways until each side has ended.
fn relay(client: TcpStream, server: TcpStream) -> io::Result<()> {
    let (mut c2, mut s2) = (client.try_clone()?, server.try_clone()?);
    let up = std::thread::spawn(move || {
        let mut c = client;
        let mut s = server;
        let _ = io::copy(&mut c, &mut s);
        let _ = s.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut s2, &mut c2);
    let _ = c2.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}
