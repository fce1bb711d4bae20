//! Who is asking: admins prove themselves with a bearer token (scripts)
//! or the sign-in cookie (browsers).
//!
//! A cookie is sent by the browser on its own, so a request it
//! authenticates could have been started by another site: every change
//! made with a cookie must also carry the session's CSRF token (a form
//! field `csrf`, or the `X-CSRF-Token` header for the pages' scripts),
//! which another site cannot read. The cookie is `SameSite=Strict` as
//! well, and a request a browser marks as cross-site is refused outright.
//! Bearer tokens are never sent by a browser on its own and need no CSRF
//! token.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::backend::{AdminIdentity, TokenKind};
use crate::error::ApiError;
use crate::state::AppState;

/// The sign-in cookie's name.
pub const COOKIE: &str = "ferry_admin";

/// An authenticated admin, and where the request came from.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Who.
    pub identity: AdminIdentity,
    /// The client's address.
    pub peer: SocketAddr,
}

/// The client's address, as the listener recorded it.
pub fn peer_of(parts: &Parts) -> SocketAddr {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0).unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Equal in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True if the request may come from another site: the browser's
/// `Sec-Fetch-Site` says so (anything but `same-origin` or `none`, the
/// latter for an address typed by the user), or, from a browser that does
/// not send it, the `Origin` is not this host.
pub fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    origin == "null" || origin_host != host
}

fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

const SIGN_IN: &str =
    "sign in first: send `Authorization: Bearer TOKEN` with a token from `POST /api/v1/login` or `ferryd admin token NAME`";

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, ApiError> {
        let peer = peer_of(parts);
        if let Some(token) = bearer(&parts.headers) {
            return match state.backend.check_token(token).await? {
                Some(identity) => Ok(Admin { identity, peer }),
                None => Err(ApiError::Unauthorized("the token is unknown, revoked or expired: sign in again")),
            };
        }
        let Some(token) = cookie(&parts.headers, COOKIE) else { return Err(ApiError::Unauthorized(SIGN_IN)) };
        let identity = match state.backend.check_token(token).await? {
            Some(identity) if identity.kind == TokenKind::Browser => identity,
            _ => return Err(ApiError::Unauthorized("the session has ended: sign in again")),
        };
        if is_change(&parts.method) {
            let given = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if cross_site(&parts.headers) || !same(given, &state.backend.csrf_token(token)) {
                return Err(ApiError::Forbidden("a change made with the sign-in cookie needs the page's X-CSRF-Token header".into()));
            }
        }
        Ok(Admin { identity, peer })
    }
}

/// A signed-in browser, for the web pages: without a valid cookie the
/// page redirects to the sign-in form.
#[derive(Clone)]
pub struct WebAdmin {
    /// Who.
    pub identity: AdminIdentity,
    /// The client's address.
    pub peer: SocketAddr,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// The session token (for sign-out).
    pub token: String,
}

/// The session and CSRF tokens are left out.
impl std::fmt::Debug for WebAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebAdmin").field("identity", &self.identity).field("peer", &self.peer).finish_non_exhaustive()
    }
}

impl WebAdmin {
    /// Check a form's CSRF token: a change is refused without the right
    /// one (another site cannot know it).
    pub fn check(&self, given: &str, headers: &HeaderMap) -> Result<(), ApiError> {
        if cross_site(headers) || !same(given, &self.csrf) {
            return Err(ApiError::Forbidden("this form has expired or came from another site: reload the page and try again".into()));
        }
        Ok(())
    }
}

impl FromRequestParts<AppState> for WebAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<WebAdmin, Response> {
        let peer = peer_of(parts);
        let to_sign_in = || Redirect::to("/login").into_response();
        let Some(token) = cookie(&parts.headers, COOKIE) else { return Err(to_sign_in()) };
        match state.backend.check_token(token).await {
            Ok(Some(identity)) if identity.kind == TokenKind::Browser => {
                Ok(WebAdmin { identity, peer, csrf: state.backend.csrf_token(token), token: token.to_owned() })
            }
            Ok(_) => Err(to_sign_in()),
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

/// The `Set-Cookie` value that signs a browser in.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that signs it out.
pub fn cleared_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// Sign-in: the address must not be banned; a wrong name or password is
/// counted by the defender FTP logins share, and answered only after the
/// same delay. `Ok(())` when the admin may have a token.
pub async fn sign_in(state: &AppState, name: &str, password: &str, peer: SocketAddr) -> Result<(), ApiError> {
    use crate::backend::AdminAction;
    let backend = &state.backend;
    const BANNED: &str = "too many failed logins from your address; try again later";
    if backend.is_banned(peer.ip()) {
        return Err(ApiError::Forbidden(BANNED.into()));
    }
    let right = backend.verify_admin(name, password).await?;
    // Guesses sent at once all passed the check above before the first
    // was counted: a ban that fell meanwhile holds for each of them, the
    // right password included, or a guesser could go on past it.
    if right && !backend.is_banned(peer.ip()) {
        backend.record(name, AdminAction::Login, None, peer);
        return Ok(());
    }
    backend.record(name, AdminAction::LoginFailed, None, peer);
    let banned = if right { true } else { backend.failed_login(peer.ip()) || backend.is_banned(peer.ip()) };
    tokio::time::sleep(backend.failure_delay()).await;
    if banned {
        return Err(ApiError::Forbidden(BANNED.into()));
    }
    Err(ApiError::Unauthorized("wrong name or password"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_session_or_csrf_token() {
        let admin = WebAdmin {
            identity: AdminIdentity { name: "root".into(), kind: TokenKind::Browser },
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            csrf: "csrf-secret".into(),
            token: "fy_0123456789abcdef_session-secret".into(),
        };
        let shown = format!("{admin:?}");
        assert!(shown.contains("root") && !shown.contains("secret"), "{shown}");
    }
}
