//! `/api/v1/events`: the recent events the core keeps in a bounded ring,
//! and the same live as server-sent events.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Admin;
use crate::backend::EventItem;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Events one answer holds when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// The most events one answer holds.
pub const MAX_LIMIT: usize = 1000;

/// Which events.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Only events after this sequence number (default 0: the oldest kept).
    pub since: Option<u64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<usize>,
    /// Only events of this user.
    pub user: Option<String>,
    /// Only events of this name (`upload`, `login-failed`, `admin-user-create`, …),
    /// or of a family ending with `*` (`admin-*`).
    pub event: Option<String>,
}

/// Matches events against a user and an event-name filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    user: Option<String>,
    event: Option<String>,
}

impl Filter {
    /// The filter of these parameters (empty values match everything).
    pub fn new(user: Option<&str>, event: Option<&str>) -> Filter {
        let keep = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        Filter { user: keep(user), event: keep(event) }
    }

    /// True if `item` passes.
    pub fn matches(&self, item: &EventItem) -> bool {
        let user_ok = self.user.as_deref().is_none_or(|u| item.user() == Some(u));
        let event_ok = self.event.as_deref().is_none_or(|e| match e.strip_suffix('*') {
            Some(prefix) => item.name().starts_with(prefix),
            None => item.name() == e,
        });
        user_ok && event_ok
    }
}

/// `GET /events`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    /// The events, oldest first.
    pub events: Vec<EventItem>,
    /// The newest sequence number now: ask `since=` this next time.
    pub latest: u64,
}

/// Matching events after `since`, up to `limit`, scanning the ring in
/// bounded steps.
pub fn matching(state: &AppState, since: u64, limit: usize, filter: &Filter) -> Vec<EventItem> {
    let mut out = Vec::new();
    let mut cursor = since;
    loop {
        let batch = state.backend.events_since(cursor, MAX_LIMIT);
        let Some(last) = batch.last().map(|e| e.seq) else { break };
        cursor = last;
        out.extend(batch.into_iter().filter(|e| filter.matches(e)));
        if out.len() >= limit {
            out.truncate(limit);
            break;
        }
    }
    out
}

/// Recent events, oldest first (the server keeps the last few thousand).
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventParams),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    params: Result<Query<EventParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EventList>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(format!("{}: since and limit are whole numbers", e.body_text()), Vec::new()))?;
    let latest = state.backend.latest_event();
    let filter = Filter::new(p.user.as_deref(), p.event.as_deref());
    let events = matching(&state, p.since.unwrap_or(0), p.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT), &filter);
    Ok(Json(EventList { events, latest }))
}

fn sse_event(item: &EventItem) -> Event {
    Event::default().id(item.seq.to_string()).event("event").data(item.event.to_string())
}

/// Events as they happen, as server-sent events (`event` events whose id
/// is the sequence number). A reconnecting client's `Last-Event-ID` (or
/// `since=`) first gets what it missed that the ring still holds.
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "events", params(EventParams),
    responses((status = 200, description = "text/event-stream of `event` events", content_type = "text/event-stream"),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn stream(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
    params: Result<Query<EventParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text(), Vec::new()))?;
    let slot = super::sessions::stream_slot(&state)?;
    let filter = Filter::new(p.user.as_deref(), p.event.as_deref());
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    // Subscribe before reading the backlog, so nothing falls between.
    let live = state.backend.subscribe_events();
    // Never ahead of the newest: after a restart the numbers begin again,
    // and a browser resumes from an id of the server before.
    let latest = state.backend.latest_event();
    let start = resume.or(p.since).map_or(latest, |s| s.min(latest));
    let backlog = matching(&state, start, MAX_LIMIT, &filter);
    let seen = backlog.last().map_or(start, |e| e.seq);
    let backlog = futures::stream::iter(backlog.into_iter().map(|e| Ok(sse_event(&e))));
    let pending = std::collections::VecDeque::new();
    let live = futures::stream::unfold(
        (state, live, seen, filter, slot, pending),
        |(state, mut live, mut seen, filter, slot, mut pending)| async move {
            loop {
                if let Some(item) = pending.pop_front() {
                    return Some((Ok(sse_event(&item)), (state, live, seen, filter, slot, pending)));
                }
                match live.recv().await {
                    Ok(item) if item.seq > seen => {
                        seen = item.seq;
                        if filter.matches(&item) {
                            pending.push_back(item);
                        }
                    }
                    Ok(_) => {}
                    // Fell behind: send what the ring still holds of what was skipped.
                    Err(RecvError::Lagged(_)) => {
                        let missed = matching(&state, seen, MAX_LIMIT, &filter);
                        seen = missed.last().map_or_else(|| state.backend.latest_event(), |e| e.seq);
                        pending.extend(missed);
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    use futures::StreamExt;
    Ok(Sse::new(backlog.chain(live)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
