//! Prometheus metrics, served on `--metrics-listen` at `/metrics` by hyper
//! — no hand-written HTTP. The counters are the core's
//! ([`ferry_core::events::metrics`]): most count events, a few the FTP
//! sessions set directly.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;

pub use ferry_core::events::metrics::Metrics;

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
