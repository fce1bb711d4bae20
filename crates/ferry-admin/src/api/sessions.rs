//! `/api/v1/sessions` and `/api/v1/bans`: who is connected, ending a
//! session, and lifting bans.

use std::convert::Infallible;
use std::net::IpAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Admin;
use crate::backend::{AdminAction, BanInfo, SessionInfo};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// `GET /sessions`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    /// Every connected session, by id.
    pub sessions: Vec<SessionInfo>,
}

/// Every connected session of every protocol, with its running transfer.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions",
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, _admin: Admin) -> Json<SessionList> {
    Json(SessionList { sessions: state.backend.sessions() })
}

/// How often the session stream looks for changes.
pub const SESSION_TICK: Duration = Duration::from_secs(1);

/// A slot for one more live stream, or 503.
pub(crate) fn stream_slot(state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    state
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::Unavailable("too many live streams are open; close a dashboard and try again".into()))
}

/// The sessions as server-sent events: an event `sessions` with the
/// same JSON as `GET /sessions`, at once and then whenever it changes
/// (looked at every second).
#[utoipa::path(get, path = "/api/v1/sessions/stream", tag = "sessions",
    responses((status = 200, description = "text/event-stream of `sessions` events", content_type = "text/event-stream"),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn stream(State(state): State<AppState>, _admin: Admin) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let slot = stream_slot(&state)?;
    let ticks = tokio::time::interval(SESSION_TICK);
    let stream = futures::stream::unfold((state, ticks, String::new(), slot), |(state, mut ticks, last, slot)| async move {
        loop {
            ticks.tick().await;
            let json = serde_json::to_string(&SessionList { sessions: state.backend.sessions() }).unwrap_or_default();
            if json != last {
                let event = Event::default().event("sessions").data(json.clone());
                return Some((Ok(event), (state, ticks, json, slot)));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// End a session: a running transfer is aborted (a partial upload is
/// handled as any interrupted upload: the old file stays), then the
/// connection is closed.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = u64, Path, description = "Session id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn kick(State(state): State<AppState>, admin: Admin, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id: u64 = id.parse().map_err(|_| ApiError::BadRequest(format!("{id:?} is not a session id (a number)"), Vec::new()))?;
    if !state.backend.kick(id) {
        return Err(ApiError::NotFound(format!("no session {id}: it may have ended already")));
    }
    state.backend.record(&admin.identity.name, AdminAction::SessionKick, Some(&id.to_string()), admin.peer);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /bans`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BanList {
    /// Addresses banned now.
    pub bans: Vec<BanInfo>,
}

/// Addresses banned for failed logins (FTP and admin alike).
#[utoipa::path(get, path = "/api/v1/bans", tag = "sessions", responses((status = 200, body = BanList), (status = 401, body = ErrorBody)))]
pub async fn bans(State(state): State<AppState>, _admin: Admin) -> Json<BanList> {
    Json(BanList { bans: state.backend.bans() })
}

/// Lift a ban (and forget the address's failed logins).
#[utoipa::path(delete, path = "/api/v1/bans/{address}", tag = "sessions", params(("address" = String, Path, description = "IP address")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unban(State(state): State<AppState>, admin: Admin, Path(address): Path<String>) -> Result<StatusCode, ApiError> {
    let ip: IpAddr = address
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{address:?} is not an IP address (such as 192.0.2.1 or 2001:db8::1)"), Vec::new()))?;
    if !state.backend.unban(ip) {
        return Err(ApiError::NotFound(format!("{ip} is not banned")));
    }
    state.backend.record(&admin.identity.name, AdminAction::Unban, Some(&ip.to_string()), admin.peer);
    Ok(StatusCode::NO_CONTENT)
}
