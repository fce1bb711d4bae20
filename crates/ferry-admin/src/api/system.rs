//! Health, status, sign-in and reload.

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{self, Admin};
use crate::backend::{AdminAction, Status, TokenKind};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// `GET /healthz`'s answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// For load balancers: answers without authentication while the server runs.
#[utoipa::path(get, path = "/api/v1/healthz", tag = "system", security(()), responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// Version, uptime, listeners and counters.
#[utoipa::path(get, path = "/api/v1/status", tag = "system",
    responses((status = 200, body = Status), (status = 401, body = ErrorBody)))]
pub async fn status(State(state): State<AppState>, _admin: Admin) -> Json<Status> {
    Json(state.backend.status())
}

/// An admin's name and password.
#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    /// The admin's name.
    pub name: String,
    /// The password.
    pub password: String,
}

/// The password is left out.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("name", &self.name).field("password", &"***").finish()
    }
}

/// A new token.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenBody {
    /// Send it as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// When it stops working (RFC 3339).
    pub expires: Option<String>,
}

/// The token is left out.
impl std::fmt::Debug for TokenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBody").field("token", &"***").field("expires", &self.expires).finish()
    }
}

/// Trade an admin's name and password for a short-lived token. Wrong
/// passwords are delayed and counted towards the same ban as FTP logins.
#[utoipa::path(post, path = "/api/v1/login", tag = "system", security(()), request_body = Credentials,
    responses((status = 200, body = TokenBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    body: Result<Json<Credentials>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<TokenBody>, ApiError> {
    let Json(c) =
        body.map_err(|e| ApiError::BadRequest(format!("send {{\"name\": …, \"password\": …}}: {}", e.body_text()), Vec::new()))?;
    auth::sign_in(&state, &c.name, &c.password, peer).await?;
    let issued = state.backend.issue_token(&c.name, TokenKind::Login).await?;
    Ok(Json(TokenBody { token: issued.token, expires: issued.expires.map(crate::web::time::rfc3339) }))
}

/// End the token (or browser session) this request is made with.
#[utoipa::path(post, path = "/api/v1/logout", tag = "system", responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, _admin: Admin, headers: axum::http::HeaderMap) -> Result<StatusCode, ApiError> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim().to_owned());
    if let Some(token) = bearer.or_else(|| auth::cookie(&headers, auth::COOKIE).map(str::to_owned)) {
        state.backend.revoke_token(&token).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /reload`'s answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Reloaded {
    /// True.
    pub reloaded: bool,
}

/// Read the configuration, accounts and certificates again, as SIGHUP does.
#[utoipa::path(post, path = "/api/v1/reload", tag = "system",
    responses((status = 200, body = Reloaded), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn reload(State(state): State<AppState>, admin: Admin) -> Result<Json<Reloaded>, ApiError> {
    state.backend.reload().await?;
    state.backend.record(&admin.identity.name, AdminAction::Reload, None, admin.peer);
    Ok(Json(Reloaded { reloaded: true }))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system", security(()),
    responses((status = 200, description = "The OpenAPI 3 document of this API", content_type = "application/json")))]
pub async fn openapi() -> impl IntoResponse {
    match super::document() {
        Some(doc) => Json(doc.clone()).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_password_or_token() {
        let c = Credentials { name: "root".into(), password: "hunter2-pw".into() };
        let t = TokenBody { token: "fy_0123456789abcdef_secret".into(), expires: None };
        let shown = format!("{c:?} {t:?}");
        assert!(shown.contains("root") && !shown.contains("hunter2") && !shown.contains("secret"), "{shown}");
    }
}
