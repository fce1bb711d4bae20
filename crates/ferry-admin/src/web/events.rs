//! The events page: the recent events, filtered by user and event, and a
//! live tail.

use axum::extract::{Query, State};
use maud::{Markup, html};

use super::layout::page;
use crate::api::events::{EventParams, Filter, matching};
use crate::auth::WebAdmin;
use crate::backend::EventItem;
use crate::state::AppState;

/// Rows the page shows.
const SHOWN: usize = 200;

/// What a row says about an event, besides its time, name and user.
pub(crate) fn details(item: &EventItem) -> String {
    let e = &item.event;
    let field = |k: &str| e.get(k).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    let mut parts = Vec::new();
    for key in ["path", "from", "to", "size", "reason", "address", "until", "target", "peer"] {
        if let Some(v) = field(key) {
            parts.push(format!("{key}: {v}"));
        }
    }
    parts.join(", ")
}

/// `GET /events?user=&event=`.
pub(crate) async fn show(State(state): State<AppState>, admin: WebAdmin, Query(p): Query<EventParams>) -> Markup {
    let filter = Filter::new(p.user.as_deref(), p.event.as_deref());
    // The newest first: take the last `SHOWN` that match.
    let latest = state.backend.latest_event();
    let mut items = matching(&state, latest.saturating_sub(10_000), usize::MAX, &filter);
    let skip = items.len().saturating_sub(SHOWN);
    let mut items: Vec<EventItem> = items.drain(skip..).collect();
    items.reverse();
    let user = p.user.clone().unwrap_or_default();
    let event = p.event.clone().unwrap_or_default();
    page(
        "Events",
        Some(&admin),
        "/events",
        html! {
            form.filters method="get" action="/events" role="search" {
                p { label for="f-user" { "User" } input #f-user type="text" name="user" value=(user); }
                p { label for="f-event" { "Event" } input #f-event type="text" name="event" value=(event) placeholder="upload, login-failed, admin-*"; }
                button type="submit" { "Filter" }
            }
            table.live #events data-live="events" data-user=(user) data-event=(event) data-latest=(latest) {
                caption { "Newest first; new events appear at the top while this page is open." }
                thead { tr { th scope="col" { "Time" } th scope="col" { "Event" } th scope="col" { "User" } th scope="col" { "Details" } } }
                tbody aria-live="polite" {
                    @for item in &items {
                        tr {
                            td { (item.event.get("time").and_then(|v| v.as_str()).unwrap_or("")) }
                            td { (item.name()) }
                            td { (item.user().or_else(|| item.event.get("admin").and_then(|v| v.as_str())).unwrap_or("")) }
                            td { (details(item)) }
                        }
                    }
                }
            }
        },
    )
}
