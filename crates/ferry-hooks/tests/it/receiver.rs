//! An in-process HTTP receiver (hyper's server): records every request
//! and answers with the statuses it was told to, then 200.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Got {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub(crate) fn id(&self) -> String {
        self.json()["id"].as_str().unwrap().to_string()
    }
}

pub(crate) struct Receiver {
    pub(crate) addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// A receiver on a fresh loopback port that answers `statuses` first.
    pub(crate) async fn start(statuses: &[u16]) -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").await.unwrap(), statuses)
    }

    /// A receiver on `addr` (a port reserved earlier and released).
    pub(crate) async fn start_at(addr: SocketAddr) -> Receiver {
        Receiver::on(TcpListener::bind(addr).await.unwrap(), &[])
    }

    /// A receiver that speaks TLS with `tls`.
    pub(crate) async fn start_tls(tls: Arc<rustls::ServerConfig>) -> Receiver {
        Receiver::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), &[], Some(tokio_rustls::TlsAcceptor::from(tls)))
    }

    fn on(listener: TcpListener, statuses: &[u16]) -> Receiver {
        Receiver::serve(listener, statuses, None)
    }

    fn serve(listener: TcpListener, statuses: &[u16], tls: Option<tokio_rustls::TlsAcceptor>) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(statuses.iter().copied().collect::<VecDeque<_>>()));
        let (got2, plan2) = (got.clone(), plan);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (got, plan, tls) = (got2.clone(), plan2.clone(), tls.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (got, plan) = (got.clone(), plan.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await?.to_bytes().to_vec();
                            got.lock().unwrap().push(Got {
                                method: parts.method.to_string(),
                                path: parts.uri.to_string(),
                                headers: parts.headers,
                                body,
                            });
                            let status = plan.lock().unwrap().pop_front().unwrap_or(200);
                            let text = if status == 200 { "thanks\n" } else { "receiver says no\nsecond line\n" };
                            let mut response = Response::new(Full::new(Bytes::from(text)));
                            *response.status_mut() = StatusCode::from_u16(status).unwrap();
                            Ok::<_, hyper::Error>(response)
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => drop(http.serve_connection(TokioIo::new(stream), service).await),
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                drop(http.serve_connection(TokioIo::new(stream), service).await);
                            }
                        }
                    }
                });
            }
        });
        Receiver { addr, got, task }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Wait (at most 10 s) until `n` requests have arrived; then a little
    /// longer, so that one too many would show.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Got> {
        crate::support::eventually("requests to arrive", || self.got.lock().unwrap().len() >= n).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.got()
    }
}
