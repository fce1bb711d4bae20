//! The users pages: a searchable, paged list; create, edit, enable or
//! disable, delete.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::format;
use super::layout::{button_form, notice, page};
use super::signin::CsrfOnly;
use super::user_form::{FormView, render};
use crate::api::users::ListParams;
use crate::auth::WebAdmin;
use crate::backend::{AdminAction, FieldError, User, UserError};
use crate::error::ApiError;
use crate::state::AppState;
use crate::user_input;

/// The list's parameters, and a notice code.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListPage {
    search: Option<String>,
    offset: Option<usize>,
    done: Option<String>,
}

fn done_text(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "created" => "The user was created.",
        "saved" => "The changes were saved.",
        "deleted" => "The user was deleted.",
        "enabled" => "The user may log in again.",
        "disabled" => "The user was disabled; their sessions end.",
        _ => return None,
    })
}

fn link(search: &str, offset: usize) -> String {
    let mut q = vec![format!("offset={offset}")];
    if !search.is_empty() {
        let encoded: String = search
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        q.push(format!("search={encoded}"));
    }
    format!("/users?{}", q.join("&"))
}

/// `GET /users?search=&offset=`.
pub(crate) async fn list(State(state): State<AppState>, admin: WebAdmin, Query(p): Query<ListPage>) -> Response {
    let search = p.search.clone().unwrap_or_default();
    let params = ListParams { search: p.search.clone(), offset: p.offset, limit: None };
    let query = params.query();
    let result = match state.backend.list_users(&query).await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (from, to) = (query.offset.saturating_add(1), query.offset.saturating_add(result.users.len()));
    page(
        "Users",
        Some(&admin),
        "/users",
        html! {
            (notice(done_text(p.done.as_deref())))
            div.toolbar {
                form.filters method="get" action="/users" role="search" {
                    label for="search" { "Search by name" }
                    input #search type="search" name="search" value=(search);
                    button type="submit" { "Search" }
                }
                a.button href="/users/new" { "New user" }
            }
            p #users-count { @if result.total == 0 { "No users match." } @else { "Users " (from) "–" (to) " of " (result.total) } }
            table #users {
                caption.visually-hidden { "Users" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Home" } th scope="col" { "Access" }
                    th scope="col" { "Quota" } th scope="col" { "Actions" }
                } }
                tbody {
                    @for u in &result.users {
                        tr data-user=(u.name) {
                            th scope="row" { a href=(format!("/users/{}", u.name)) { (u.name) } }
                            td { @if u.enabled { "enabled" } @else { strong { "disabled" } } @if let Some(e) = &u.expires { ", until " (e) } }
                            td { (u.home.as_deref().unwrap_or("(default)")) }
                            td { @if u.read_only { "read-only" } @else if let Some(p) = &u.permissions { (p.join(", ")) } @else { "(default)" } }
                            td { (u.quota_bytes.map(format::bytes).unwrap_or_else(|| "—".into())) }
                            td.actions {
                                a href=(format!("/users/{}", u.name)) aria-label=(format!("Edit {}", u.name)) { "Edit" }
                                form.inline method="post" action=(format!("/users/{}/enabled", u.name)) {
                                    input type="hidden" name="csrf" value=(admin.csrf);
                                    input type="hidden" name="enabled" value=(if u.enabled { "false" } else { "true" });
                                    button type="submit" aria-label=(format!("{} {}", if u.enabled { "Disable" } else { "Enable" }, u.name)) {
                                        @if u.enabled { "Disable" } @else { "Enable" }
                                    }
                                }
                                a href=(format!("/users/{}/delete", u.name)) aria-label=(format!("Delete {}", u.name)) { "Delete" }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages" {
                @if query.offset > 0 { a rel="prev" href=(link(&search, query.offset.saturating_sub(query.limit))) { "← Previous" } }
                @if to < result.total { a rel="next" href=(link(&search, to)) { "Next →" } }
            }
        },
    )
    .into_response()
}

fn form_page(title: &str, admin: &WebAdmin, user: &User, errors: &[FieldError], creating: bool) -> Markup {
    page(title, Some(admin), "/users", render(&FormView { user, errors, creating, csrf: &admin.csrf }))
}

/// `GET /users/new`.
pub(crate) async fn new_form(admin: WebAdmin) -> Markup {
    form_page("New user", &admin, &User::new(""), &[], true)
}

fn csrf_of(fields: &[(String, String)]) -> &str {
    fields.iter().find(|(k, _)| k == "csrf").map_or("", |(_, v)| v.as_str())
}

/// `POST /users/new`.
pub(crate) async fn create(
    State(state): State<AppState>,
    admin: WebAdmin,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = admin.check(csrf_of(&fields), &headers) {
        return r.into_response();
    }
    let value = user_input::from_form(&fields);
    let shown = |errors: Vec<FieldError>, user: &User| {
        (StatusCode::UNPROCESSABLE_ENTITY, form_page("New user", &admin, user, &errors, true)).into_response()
    };
    let input = match user_input::apply(User::new(""), &value) {
        Ok(i) => i,
        Err(errors) => return shown(errors, &User::new(value.get("name").and_then(|v| v.as_str()).unwrap_or(""))),
    };
    let mut missing = Vec::new();
    if input.user.name.is_empty() {
        missing.push(FieldError::new("name", "required: the user name"));
    }
    if input.password.is_none() {
        missing.push(FieldError::new("password", "required: the user's password"));
    }
    if !missing.is_empty() {
        return shown(missing, &input.user);
    }
    match state.backend.create_user(&input.user, input.password.as_deref().unwrap_or_default()).await {
        Ok(()) => {
            state.backend.record(&admin.identity.name, AdminAction::UserCreate, Some(&input.user.name), admin.peer);
            Redirect::to("/users?done=created").into_response()
        }
        Err(UserError::Invalid(errors)) => shown(errors, &input.user),
        Err(UserError::Exists(name)) => {
            shown(vec![FieldError::new("name", format!("{name:?} exists already: pick another name"))], &input.user)
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn stored(state: &AppState, name: &str) -> Result<User, Response> {
    match state.backend.get_user(name).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err((StatusCode::NOT_FOUND, format!("There is no user {name:?}.")).into_response()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// `GET /users/{name}`.
pub(crate) async fn edit_form(State(state): State<AppState>, admin: WebAdmin, Path(name): Path<String>) -> Response {
    match stored(&state, &name).await {
        Ok(user) => form_page(&format!("User {name}"), &admin, &user, &[], false).into_response(),
        Err(r) => r,
    }
}

/// `POST /users/{name}`.
pub(crate) async fn update(
    State(state): State<AppState>,
    admin: WebAdmin,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = admin.check(csrf_of(&fields), &headers) {
        return r.into_response();
    }
    let current = match stored(&state, &name).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut value = user_input::from_form(&fields);
    if let Some(o) = value.as_object_mut() {
        o.insert("name".into(), serde_json::Value::String(name.clone()));
    }
    let title = format!("User {name}");
    let shown = |errors: Vec<FieldError>, user: &User| {
        (StatusCode::UNPROCESSABLE_ENTITY, form_page(&title, &admin, user, &errors, false)).into_response()
    };
    let input = match user_input::apply(current.clone(), &value) {
        Ok(i) => i,
        Err(errors) => return shown(errors, &current),
    };
    match state.backend.update_user(&input.user, input.password.as_deref()).await {
        Ok(()) => {
            state.backend.record(&admin.identity.name, AdminAction::UserUpdate, Some(&name), admin.peer);
            Redirect::to("/users?done=saved").into_response()
        }
        Err(UserError::Invalid(errors)) => shown(errors, &input.user),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The enable/disable button's form.
#[derive(Debug, Deserialize)]
pub(crate) struct Enabled {
    #[serde(default)]
    csrf: String,
    enabled: bool,
}

/// `POST /users/{name}/enabled`.
pub(crate) async fn set_enabled(
    State(state): State<AppState>,
    admin: WebAdmin,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(f): Form<Enabled>,
) -> Response {
    if let Err(r) = admin.check(&f.csrf, &headers) {
        return r.into_response();
    }
    let mut user = match stored(&state, &name).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    user.enabled = f.enabled;
    match state.backend.update_user(&user, None).await {
        Ok(()) => {
            state.backend.record(&admin.identity.name, AdminAction::UserUpdate, Some(&name), admin.peer);
            Redirect::to(if f.enabled { "/users?done=enabled" } else { "/users?done=disabled" }).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /users/{name}/delete`: asks first (no script needed).
pub(crate) async fn confirm_delete(State(state): State<AppState>, admin: WebAdmin, Path(name): Path<String>) -> Response {
    if let Err(r) = stored(&state, &name).await {
        return r;
    }
    page(
        &format!("Delete {name}?"),
        Some(&admin),
        "/users",
        html! {
            p { "The account " strong { (name) } " will be removed and its sessions end. Its files stay where they are." }
            (button_form(&format!("/users/{name}/delete"), &admin.csrf, "Delete user", &format!("Delete {name} for good")))
            " " a href="/users" { "Cancel" }
        },
    )
    .into_response()
}

/// `POST /users/{name}/delete`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    admin: WebAdmin,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = admin.check(&f.csrf, &headers) {
        return r.into_response();
    }
    match state.backend.delete_user(&name).await {
        Ok(()) => {
            state.backend.record(&admin.identity.name, AdminAction::UserDelete, Some(&name), admin.peer);
            Redirect::to("/users?done=deleted").into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
