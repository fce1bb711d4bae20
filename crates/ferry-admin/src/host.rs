//! DNS rebinding: a page of any site the admin visits may make its own
//! name resolve to 127.0.0.1 and then call the plain-HTTP loopback
//! listener as if it were that site — same origin, so neither CORS nor
//! the cross-site checks stop it. It carries no cookie of this listener,
//! but it can guess admin passwords at the browser's pace, and each wrong
//! guess counts towards banning 127.0.0.1 — the admin's own address.
//!
//! Such a request names the other site in `Host`. On plain HTTP the
//! listener only ever serves loopback, so a request is answered only when
//! `Host` is an IP address or `localhost`. (Over HTTPS a rebound name
//! does not match the certificate.)

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// True if `host` (a `Host` header: a name or address, maybe a port) is
/// an IP address, `localhost`, or a name under `localhost`.
pub fn is_local(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[::1]:9180`
        Some(rest) => return rest.split_once(']').is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok()),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.parse::<std::net::Ipv4Addr>().is_ok() || name == "localhost" || name.ends_with(".localhost")
}

/// Refuse requests for another name (421 Misdirected Request).
pub async fn local_names_only(request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).map(|v| v.to_str().unwrap_or(""));
    if host.is_some_and(|h| !is_local(h)) {
        let error = "this listener answers only to its address (such as http://127.0.0.1:PORT/) or localhost, not to another name";
        return (StatusCode::MISDIRECTED_REQUEST, axum::Json(crate::error::ErrorBody { error: error.into(), fields: Vec::new() }))
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn addresses_and_localhost_are_local_other_names_are_not() {
        for ok in ["127.0.0.1:9180", "127.0.0.1", "[::1]:9180", "[::1]", "localhost:9180", "LOCALHOST", "admin.localhost:1", "localhost."] {
            assert!(is_local(ok), "{ok}");
        }
        for bad in ["evil.example:9180", "evil.example", "127.0.0.1.evil.example", "localhost.evil.example", "[evil]:1", "", "::1"] {
            assert!(!is_local(bad), "{bad}");
        }
    }
}
