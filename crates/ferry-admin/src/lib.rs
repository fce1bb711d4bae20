//! Ferry's admin front door: a REST API under `/api/v1` for scripts and a
//! web admin at `/` for people, on one listener (`ferryd --admin-listen`).
//!
//! Like the FTP front door, it holds no policy of its own. Everything it
//! shows or changes — users, sessions, bans, events — is asked of the core
//! through the [`Backend`] port; this crate only speaks HTTP: routing,
//! authentication of admins (bearer tokens for scripts, a cookie with a
//! CSRF token for browsers), JSON and HTML.
//!
//! - [`api`]: the JSON endpoints, each described once for both the router
//!   and the OpenAPI document (`GET /api/v1/openapi.json`), so the two
//!   cannot drift apart.
//! - [`web`]: server-rendered pages (maud) with a little JavaScript, served
//!   from this binary, for the live parts.
//! - [`listen`]: the accept loop: plain HTTP on loopback, HTTPS elsewhere,
//!   with deadlines on every read and write.

pub mod api;
pub mod auth;
pub mod backend;
pub mod error;
pub mod headers;
pub mod host;
pub mod listen;
pub mod state;
pub mod user_input;
pub mod web;

pub use backend::Backend;
pub use listen::{AdminListener, ListenError};
pub use state::AppState;

use std::sync::Arc;

/// The whole admin application: API, OpenAPI document and web pages,
/// with the security headers on every response. `secure` says the
/// listener speaks HTTPS (cookies are then marked `Secure`).
pub fn app(backend: Arc<dyn Backend>, secure: bool) -> axum::Router {
    let state = AppState::new(backend, secure);
    let (api, _doc) = api::router(state.clone());
    let app = axum::Router::new().merge(api).merge(web::router(state.clone()));
    // Plain HTTP is served on loopback only: no other name may reach it.
    let app = if secure {
        app.layer(axum::middleware::from_fn(headers::strict_transport))
    } else {
        app.layer(axum::middleware::from_fn(host::local_names_only))
    };
    app.layer(axum::middleware::from_fn(headers::security_headers)).layer(axum::extract::DefaultBodyLimit::max(state::MAX_BODY))
}
