//! The dashboard, the sessions page (kick) and the bans page (unban).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::format;
use super::layout::{button_form, notice, page};
use super::signin::CsrfOnly;
use crate::auth::WebAdmin;
use crate::backend::{AdminAction, SessionInfo};
use crate::state::AppState;

/// `?done=` codes the pages turn into fixed notices (never text from the URL).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

impl Done {
    fn text(&self) -> Option<&'static str> {
        Some(match self.done.as_deref()? {
            "kicked" => "The session was ended.",
            "gone" => "That session had already ended.",
            "unbanned" => "The ban was lifted.",
            "notbanned" => "That address was not banned.",
            _ => return None,
        })
    }
}

/// The sessions table; the script re-renders its body from the stream
/// with the same columns.
fn sessions_table(sessions: &[SessionInfo], csrf: &str) -> Markup {
    html! {
        table.live #sessions data-live="sessions" {
            caption { "Connected sessions (" span data-count { (sessions.len()) } ")" }
            thead { tr {
                th scope="col" { "Id" } th scope="col" { "User" } th scope="col" { "Protocol" } th scope="col" { "Client" }
                th scope="col" { "Since" } th scope="col" { "Transfer" } th scope="col" { "Action" }
            } }
            tbody aria-live="polite" {
                @if sessions.is_empty() { tr.empty { td colspan="7" { "No one is connected." } } }
                @for s in sessions {
                    tr data-session=(s.id) {
                        td { (s.id) }
                        td { (s.user.as_deref().unwrap_or("(not logged in)")) }
                        td { (s.protocol) }
                        td { (s.peer) }
                        td { time datetime=(s.since) { (s.since) } }
                        td {
                            @if let Some(t) = &s.transfer {
                                (t.direction) " " code { (t.path) } ": " (format::bytes(t.bytes))
                                @if let Some(size) = t.size { " of " (format::bytes(size)) }
                                " at " (format::rate(t.rate))
                            } @else { "—" }
                        }
                        td { (button_form(&format!("/sessions/{}/kick", s.id), csrf, "Kick", &format!("End session {}", s.id))) }
                    }
                }
            }
        }
    }
}

/// `GET /`: status and the live sessions.
pub(crate) async fn dashboard(State(state): State<AppState>, admin: WebAdmin, Query(done): Query<Done>) -> Markup {
    let status = state.backend.status();
    let sessions = state.backend.sessions();
    let transfers = sessions.iter().filter(|s| s.transfer.is_some()).count();
    page(
        "Dashboard",
        Some(&admin),
        "/",
        html! {
            (notice(done.text()))
            dl.stats {
                div { dt { "Version" } dd { (status.version) } }
                div { dt { "Up for" } dd { (uptime(status.uptime_seconds)) } }
                div { dt { "Sessions" } dd data-stat="sessions" { (sessions.len()) } }
                div { dt { "Transfers" } dd data-stat="transfers" { (transfers) } }
                @for l in &status.listeners { div { dt { (l.protocol) } dd { (l.address) } } }
            }
            (sessions_table(&sessions, &admin.csrf))
            p.hint { "The table updates by itself while this page is open." }
        },
    )
}

fn uptime(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else {
        format!("{m} min {} s", secs % 60)
    }
}

/// `GET /sessions`.
pub(crate) async fn show(State(state): State<AppState>, admin: WebAdmin, Query(done): Query<Done>) -> Markup {
    let sessions = state.backend.sessions();
    super::layout::page("Sessions", Some(&admin), "/sessions", html! { (notice(done.text())) (sessions_table(&sessions, &admin.csrf)) })
}

/// `POST /sessions/{id}/kick`.
pub(crate) async fn kick(
    State(state): State<AppState>,
    admin: WebAdmin,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = admin.check(&f.csrf, &headers) {
        return r.into_response();
    }
    let back =
        if headers.get("referer").and_then(|v| v.to_str().ok()).is_some_and(|r| r.ends_with("/sessions")) { "/sessions" } else { "/" };
    if state.backend.kick(id) {
        state.backend.record(&admin.identity.name, AdminAction::SessionKick, Some(&id.to_string()), admin.peer);
        Redirect::to(&format!("{back}?done=kicked")).into_response()
    } else {
        Redirect::to(&format!("{back}?done=gone")).into_response()
    }
}

/// `GET /bans`.
pub(crate) async fn bans(State(state): State<AppState>, admin: WebAdmin, Query(done): Query<Done>) -> Markup {
    let bans = state.backend.bans();
    page(
        "Bans",
        Some(&admin),
        "/bans",
        html! {
            (notice(done.text()))
            table #bans {
                caption { "Addresses banned for failed logins (" (bans.len()) ")" }
                thead { tr { th scope="col" { "Address" } th scope="col" { "Until" } th scope="col" { "Action" } } }
                tbody {
                    @if bans.is_empty() { tr.empty { td colspan="3" { "No address is banned." } } }
                    @for b in &bans {
                        tr data-ban=(b.address) {
                            td { (b.address) }
                            td { time datetime=(b.until) { (b.until) } }
                            td { (button_form(&format!("/bans/{}/unban", b.address), &admin.csrf, "Unban", &format!("Unban {}", b.address))) }
                        }
                    }
                }
            }
        },
    )
}

/// `POST /bans/{address}/unban`.
pub(crate) async fn unban(
    State(state): State<AppState>,
    admin: WebAdmin,
    headers: HeaderMap,
    Path(address): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = admin.check(&f.csrf, &headers) {
        return r.into_response();
    }
    match address.parse() {
        Ok(ip) if state.backend.unban(ip) => {
            state.backend.record(&admin.identity.name, AdminAction::Unban, Some(&address), admin.peer);
            Redirect::to("/bans?done=unbanned").into_response()
        }
        _ => Redirect::to("/bans?done=notbanned").into_response(),
    }
}
