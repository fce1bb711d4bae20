//! Requests and their replies over the SFTP channel: each request gets an
//! id, a reader task matches replies to waiting callers by id, so many
//! requests can be in flight at once (reads and writes are pipelined).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_sftp::framing::Framer;
use ferry_sftp::{Body, Request, Response, Version};
use russh::ChannelMsg;
use russh::client::Msg;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// The largest packet accepted from a server (OpenSSH's own limit).
const MAX_PACKET: usize = 256 * 1024 + 1024;

/// Callers waiting for replies, by request id; `None` once the channel is
/// gone.
type Waiting = Arc<Mutex<Option<HashMap<u32, oneshot::Sender<Result<Response>>>>>>;

/// The request side of an SFTP session.
pub(crate) struct Channel {
    write: tokio::sync::Mutex<russh::ChannelWriteHalf<Msg>>,
    waiting: Waiting,
    next: AtomicU32,
    timeout: Duration,
    reader: tokio::task::JoinHandle<()>,
    /// The stream can no longer be trusted: a packet went out in part (a
    /// write stopped half-way), the server's framing broke, or a reply
    /// never came. Nothing more is sent; the session is over.
    broken: Arc<AtomicBool>,
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn lost() -> Error {
    Error::Ssh("the SFTP channel closed".into())
}

/// Sets `broken` when dropped before [`Armed::done`]: a write future
/// dropped by a `select!` or a timeout may have sent part of a packet.
struct Armed<'a>(&'a AtomicBool, bool);

impl Armed<'_> {
    fn done(mut self) {
        self.1 = true;
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Read replies and hand each to its caller, until the channel ends or
/// the server's framing breaks (then every caller hears why).
async fn read_replies(mut read: russh::ChannelReadHalf, first: oneshot::Sender<Vec<u8>>, map: Waiting, broken: Arc<AtomicBool>) {
    let mut framer = Framer::new(MAX_PACKET);
    let mut first = Some(first);
    let mut why = None;
    'channel: while let Some(msg) = read.wait().await {
        let ChannelMsg::Data { data } = msg else {
            if matches!(msg, ChannelMsg::Eof | ChannelMsg::Close) {
                break;
            }
            continue;
        };
        framer.extend(&data);
        loop {
            let packet = match framer.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    why = Some(format!("the server's SFTP stream broke: {e}"));
                    break 'channel;
                }
            };
            if let Some(tx) = first.take() {
                let _ = tx.send(packet.to_vec());
                continue;
            }
            let (id, reply) = match Response::decode(packet) {
                Ok(r) => (r.id(), Ok(r)),
                // A reply this client cannot read still answers its request
                // (the id follows the type byte): at once, and as what it is.
                Err(e) if packet.len() >= 5 => {
                    let id = u32::from_be_bytes([packet[1], packet[2], packet[3], packet[4]]);
                    (id, Err(Error::Protocol(format!("an unreadable reply from the server: {e}"))))
                }
                Err(_) => continue,
            };
            let tx = lock(&map).as_mut().and_then(|m| m.remove(&id));
            if let Some(tx) = tx {
                let _ = tx.send(reply);
            }
        }
    }
    if let Some(why) = why {
        broken.store(true, Ordering::Relaxed);
        for (_, tx) in lock(&map).take().into_iter().flatten() {
            let _ = tx.send(Err(Error::Protocol(why.clone())));
        }
    }
    // Everyone still waiting hears that the channel is gone.
    lock(&map).take();
}

impl Channel {
    /// Start the SFTP subsystem on `channel`: send `INIT`, read `VERSION`.
    pub(crate) async fn start(channel: russh::Channel<Msg>, timeout: Duration) -> Result<(Channel, Version)> {
        channel.request_subsystem(true, "sftp").await.map_err(|e| Error::Ssh(format!("the server refused SFTP: {e}")))?;
        let (read, write) = channel.split();
        let (first_tx, first_rx) = oneshot::channel::<Vec<u8>>();
        let waiting: Waiting = Arc::new(Mutex::new(Some(HashMap::new())));
        let broken = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn(read_replies(read, first_tx, waiting.clone(), broken.clone()));
        let ch = Channel { write: tokio::sync::Mutex::new(write), waiting, next: AtomicU32::new(1), timeout, reader, broken };
        let init = ferry_sftp::Init { version: ferry_sftp::VERSION, extensions: Vec::new() };
        ch.write_packet(&init.encode()).await?;
        let packet = tokio::time::timeout(timeout, first_rx)
            .await
            .map_err(|_| Error::Timeout("waiting for the SFTP version"))?
            .map_err(|_| lost())?;
        let version = Version::decode(&packet).map_err(|e| Error::Protocol(format!("bad SFTP version packet: {e}")))?;
        Ok((ch, version))
    }

    async fn write_packet(&self, bytes: &[u8]) -> Result<()> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(lost());
        }
        let write = self.write.lock().await;
        let armed = Armed(&self.broken, false);
        let sent = tokio::time::timeout(self.timeout, write.data(bytes)).await;
        match sent {
            Ok(Ok(())) => {
                armed.done();
                Ok(())
            }
            Ok(Err(e)) => Err(Error::Ssh(e.to_string())),
            Err(_) => Err(Error::Timeout("sending to the server")),
        }
    }

    /// Send `body`; the reply comes on the returned receiver (for requests
    /// kept in flight together).
    pub(crate) async fn send(&self, body: Body) -> Result<Pending> {
        let id = self.next_id();
        self.send_packet(id, &Request { id, body }.encode()).await
    }

    /// An id for a request the caller encodes itself.
    pub(crate) fn next_id(&self) -> u32 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Send a request already encoded, with the id from
    /// [`Channel::next_id`]; the reply comes on the returned receiver.
    pub(crate) async fn send_packet(&self, id: u32, packet: &[u8]) -> Result<Pending> {
        let (tx, rx) = oneshot::channel();
        match lock(&self.waiting).as_mut() {
            Some(m) => m.insert(id, tx),
            None => return Err(lost()),
        };
        let pending = Pending { rx, id, waiting: self.waiting.clone(), broken: self.broken.clone(), timeout: self.timeout };
        // Dropped unsent (an error, or a `select!`), `pending` takes its
        // waiter out of the map.
        self.write_packet(packet).await?;
        Ok(pending)
    }

    /// Send `body` and wait for its reply.
    pub(crate) async fn call(&self, body: Body) -> Result<Response> {
        self.send(body).await?.reply().await
    }

    /// True once the reader has seen the channel end, or the stream broke.
    pub(crate) fn is_closed(&self) -> bool {
        self.broken.load(Ordering::Relaxed) || lock(&self.waiting).is_none() || self.reader.is_finished()
    }

    /// Close the channel (the server ends the SFTP session).
    pub(crate) async fn close(&self) {
        let write = self.write.lock().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            let _ = write.eof().await;
            let _ = write.close().await;
        })
        .await;
    }
}

/// A request in flight.
pub(crate) struct Pending {
    rx: oneshot::Receiver<Result<Response>>,
    id: u32,
    waiting: Waiting,
    broken: Arc<AtomicBool>,
    timeout: Duration,
}

impl Drop for Pending {
    /// A reply nobody waits for any more is not kept for ever.
    fn drop(&mut self) {
        if let Some(m) = lock(&self.waiting).as_mut() {
            m.remove(&self.id);
        }
    }
}

impl Pending {
    /// Its reply.
    pub(crate) async fn reply(mut self) -> Result<Response> {
        match tokio::time::timeout(self.timeout, &mut self.rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(lost()),
            Err(_) => {
                // A server that stops answering one request has lost the
                // thread: the session is over.
                self.broken.store(true, Ordering::Relaxed);
                Err(Error::Timeout("waiting for the server"))
            }
        }
    }
}
