//! Prometheus metrics (prometheus-client), served on `--metrics-listen`
//! at `/metrics` by hyper — no hand-written HTTP.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

type Labels = Vec<(&'static str, &'static str)>;

/// Every metric ferryd keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Sessions open now.
    pub sessions_open: Gauge,
    /// Logins by result (`ok`, `failed`).
    pub logins: Family<Labels, Counter>,
    /// Addresses banned for failed logins.
    pub bans: Counter,
    /// File transfers by direction (`in`, `out`) and result (`ok`, `error`).
    pub transfers: Family<Labels, Counter>,
    /// Bytes moved by direction.
    pub bytes: Family<Labels, Counter>,
    /// Data connections that could not be opened (425/522).
    pub data_connection_failures: Counter,
    /// Time from a command line to its reply, seconds.
    pub command_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ferry");
        let m = Metrics {
            sessions_open: Gauge::default(),
            logins: Family::default(),
            bans: Counter::default(),
            transfers: Family::default(),
            bytes: Family::default(),
            data_connection_failures: Counter::default(),
            command_seconds: Histogram::new(exponential_buckets(0.0001, 4.0, 10)),
            registry: Registry::default(),
        };
        registry.register("sessions_open", "Sessions open now", m.sessions_open.clone());
        registry.register("logins", "Login attempts by result", m.logins.clone());
        registry.register("bans", "Addresses banned after failed logins", m.bans.clone());
        registry.register("transfers", "File transfers by direction and result", m.transfers.clone());
        registry.register("transfer_bytes", "Bytes transferred by direction", m.bytes.clone());
        registry.register("data_connection_failures", "Data connections that could not be opened", m.data_connection_failures.clone());
        registry.register("command_duration_seconds", "Time from a command to its reply", m.command_seconds.clone());
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Count a login.
    pub fn login(&self, ok: bool) {
        self.logins.get_or_create(&vec![("result", if ok { "ok" } else { "failed" })]).inc();
    }

    /// Count a finished file transfer.
    pub fn transfer(&self, incoming: bool, ok: bool, bytes: u64) {
        let direction = if incoming { "in" } else { "out" };
        self.transfers.get_or_create(&vec![("direction", direction), ("result", if ok { "ok" } else { "error" })]).inc();
        self.bytes.get_or_create(&vec![("direction", direction)]).inc_by(bytes);
    }
}

/// Metrics connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 16;

/// The longest a metrics connection may stay open (reading the request,
/// writing the answer, keep-alive included).
const CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Serve `/metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    // A scraper asks now and then; a few connections at once are plenty,
    // and none may hold one longer than a scrape takes.
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "metrics: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else { continue };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let metrics = metrics.clone();
                async move {
                    let response = if req.uri().path() == "/metrics" {
                        Response::builder()
                            .header("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
                            .body(Full::new(Bytes::from(metrics.encode())))
                    } else {
                        Response::builder().status(StatusCode::NOT_FOUND).body(Full::new(Bytes::from_static(b"try /metrics\n")))
                    };
                    Ok::<_, Infallible>(response.expect("static response parts are valid"))
                }
            });
            let connection = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let m = Metrics::default();
        m.login(true);
        m.login(false);
        m.transfer(false, true, 1234);
        m.sessions_open.inc();
        let text = m.encode();
        assert!(text.contains("ferry_logins_total{result=\"ok\"} 1"), "{text}");
        assert!(text.contains("ferry_transfer_bytes_total{direction=\"out\"} 1234"), "{text}");
        assert!(text.contains("ferry_sessions_open 1"), "{text}");
    }
}
