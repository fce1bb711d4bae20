//! Webhook delivery: one HTTP/1.1 `POST` per event on a fresh connection
//! (hyper's client connection API over a tokio TCP stream, TLS with
//! tokio-rustls for `https://`). A fresh connection per try keeps a
//! half-dead keep-alive socket from eating a retry; hooks are not hot
//! enough for pooling to matter.
//!
//! The request carries `Content-Type: application/json`,
//! `X-Ferry-Event: <event>`, `X-Ferry-Event-Id: <id>` and, with a
//! `secret`, `X-Ferry-Signature` (see [`crate::signature`]). Any 2xx
//! answer is success; everything else (another status, a refused or
//! broken connection, a TLS failure) is a failure to retry.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::delivery_error::DeliveryError;
use crate::url::WebhookUrl;

/// What one webhook request needs.
pub(crate) struct WebhookRequest<'a> {
    pub(crate) url: &'a WebhookUrl,
    pub(crate) secret: Option<&'a str>,
    pub(crate) event: &'a str,
    pub(crate) id: &'a str,
    pub(crate) body: &'a [u8],
}

/// The TLS client config for `https://` hooks: the web's roots.
pub(crate) fn default_tls() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|_| unreachable!("ring supports the default protocol versions"));
    Arc::new(config)
}

/// POST the event; `Ok` on a 2xx answer.
pub(crate) async fn post(req: WebhookRequest<'_>, tls: &Arc<rustls::ClientConfig>) -> Result<(), DeliveryError> {
    let (status, text) = exchange(req, tls).await?;
    if status.is_success() {
        return Ok(());
    }
    Err(DeliveryError(if text.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {text}") }))
}

/// POST the request: the answer's status and the first line of its body,
/// or `Err` when no answer came.
pub(crate) async fn exchange(
    req: WebhookRequest<'_>,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<(hyper::StatusCode, String), DeliveryError> {
    let url = req.url;
    let tcp = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| DeliveryError(format!("cannot connect to {}: {e}", url.host_header())))?;
    let _ = tcp.set_nodelay(true);
    let request = build(&req)?;
    if url.tls {
        let name =
            ServerName::try_from(url.host.clone()).map_err(|e| DeliveryError(format!("{:?} is no TLS server name: {e}", url.host)))?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| DeliveryError(format!("TLS with {}: {e}", url.host_header())))?;
        send(stream, request).await
    } else {
        send(tcp, request).await
    }
}

fn build(req: &WebhookRequest<'_>) -> Result<Request<Full<Bytes>>, DeliveryError> {
    let mut builder = Request::post(req.url.path.as_str())
        .header(HOST, req.url.host_header())
        .header(USER_AGENT, concat!("ferry-hooks/", env!("CARGO_PKG_VERSION")))
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_LENGTH, req.body.len())
        .header("X-Ferry-Event", req.event)
        .header("X-Ferry-Event-Id", req.id);
    if let Some(secret) = req.secret {
        builder = builder.header("X-Ferry-Signature", crate::signature::sign(secret.as_bytes(), req.body));
    }
    builder.body(Full::new(Bytes::copy_from_slice(req.body))).map_err(|e| DeliveryError(format!("cannot build the request: {e}")))
}

async fn send<S>(stream: S, request: Request<Full<Bytes>>) -> Result<(hyper::StatusCode, String), DeliveryError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| DeliveryError(format!("HTTP handshake: {e}")))?;
    // The connection is driven by its own task; it ends when `sender` is
    // dropped at the end of this function.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender.send_request(request).await.map_err(|e| DeliveryError(format!("HTTP request: {e}")))?;
    let status = response.status();
    // A receiver often says why in the body: keep its first line (bounded).
    let text = match Limited::new(response.into_body(), 4096).collect().await {
        Ok(body) => String::from_utf8_lossy(&body.to_bytes()).lines().next().unwrap_or("").trim().to_string(),
        Err(_) => String::new(),
    };
    Ok((status, text))
}
