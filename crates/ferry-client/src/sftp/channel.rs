//! Requests and their replies over the SFTP channel: each request gets an
//! id, a reader task matches replies to waiting callers by id, so many
//! requests can be in flight at once (reads and writes are pipelined).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
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

type Waiting = Arc<Mutex<Option<HashMap<u32, oneshot::Sender<Response>>>>>;

/// The request side of an SFTP session.
pub(crate) struct Channel {
    write: tokio::sync::Mutex<russh::ChannelWriteHalf<Msg>>,
    waiting: Waiting,
    next: AtomicU32,
    timeout: Duration,
    reader: tokio::task::JoinHandle<()>,
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

impl Channel {
    /// Start the SFTP subsystem on `channel`: send `INIT`, read `VERSION`.
    pub(crate) async fn start(channel: russh::Channel<Msg>, timeout: Duration) -> Result<(Channel, Version)> {
        channel.request_subsystem(true, "sftp").await.map_err(|e| Error::Ssh(format!("the server refused SFTP: {e}")))?;
        let (mut read, write) = channel.split();
        let (first_tx, first_rx) = oneshot::channel::<Vec<u8>>();
        let waiting: Waiting = Arc::new(Mutex::new(Some(HashMap::new())));
        let map = waiting.clone();
        let reader = tokio::spawn(async move {
            let mut framer = Framer::new(MAX_PACKET);
            let mut first = Some(first_tx);
            while let Some(msg) = read.wait().await {
                let ChannelMsg::Data { data } = msg else {
                    if matches!(msg, ChannelMsg::Eof | ChannelMsg::Close) {
                        break;
                    }
                    continue;
                };
                framer.extend(&data);
                while let Ok(Some(packet)) = framer.next_packet() {
                    if let Some(tx) = first.take() {
                        let _ = tx.send(packet.to_vec());
                        continue;
                    }
                    let response = match Response::decode(packet) {
                        Ok(r) => r,
                        // A reply this client cannot read still answers
                        // its request (the id follows the type byte),
                        // rather than leaving it to the timeout.
                        Err(e) if packet.len() >= 5 => {
                            let id = u32::from_be_bytes([packet[1], packet[2], packet[3], packet[4]]);
                            Response::status(id, ferry_sftp::StatusCode::BadMessage, format!("an unreadable reply: {e}"))
                        }
                        Err(_) => continue,
                    };
                    let tx = lock(&map).as_mut().and_then(|m| m.remove(&response.id()));
                    if let Some(tx) = tx {
                        let _ = tx.send(response);
                    }
                }
            }
            // Everyone still waiting hears that the channel is gone.
            lock(&map).take();
        });
        let ch = Channel { write: tokio::sync::Mutex::new(write), waiting, next: AtomicU32::new(1), timeout, reader };
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
        let write = self.write.lock().await;
        tokio::time::timeout(self.timeout, write.data(bytes))
            .await
            .map_err(|_| Error::Timeout("sending to the server"))?
            .map_err(|e| Error::Ssh(e.to_string()))
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
        self.write_packet(packet).await?;
        Ok(Pending { rx, timeout: self.timeout })
    }

    /// Send `body` and wait for its reply.
    pub(crate) async fn call(&self, body: Body) -> Result<Response> {
        self.send(body).await?.reply().await
    }

    /// True once the reader has seen the channel end.
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.waiting).is_none() || self.reader.is_finished()
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
    rx: oneshot::Receiver<Response>,
    timeout: Duration,
}

impl Pending {
    /// Its reply.
    pub(crate) async fn reply(self) -> Result<Response> {
        tokio::time::timeout(self.timeout, self.rx).await.map_err(|_| Error::Timeout("waiting for the server"))?.map_err(|_| lost())
    }
}
