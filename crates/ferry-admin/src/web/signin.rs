//! Sign-in and sign-out.

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::page;
use crate::auth::{self, WebAdmin};
use crate::backend::TokenKind;
use crate::error::ApiError;
use crate::state::AppState;

fn sign_in_page(error: Option<&str>, name: &str) -> Markup {
    page(
        "Sign in",
        None,
        "",
        html! {
            form.card method="post" action="/login" {
                @if let Some(e) = error { p.error role="alert" #signin-error { (e) } }
                p {
                    label for="name" { "Admin name" }
                    input #name type="text" name="name" value=(name) autocomplete="username" required autofocus;
                }
                p {
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                }
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// `GET /login`.
pub(crate) async fn form() -> Markup {
    sign_in_page(None, "")
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub(crate) struct SignIn {
    name: String,
    password: String,
}

/// The password is left out.
impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").field("name", &self.name).field("password", &"***").finish()
    }
}

/// `POST /login`: the same checks, delay and ban as the API's sign-in;
/// success sets the session cookie and goes to the dashboard.
pub(crate) async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    if auth::cross_site(&headers) {
        return (StatusCode::FORBIDDEN, sign_in_page(Some("Sign in from this server's own page."), "")).into_response();
    }
    if let Err(e) = auth::sign_in(&state, &f.name, &f.password, peer).await {
        let (status, text) = match e {
            ApiError::Forbidden(t) => (StatusCode::FORBIDDEN, t),
            ApiError::Unauthorized(t) => (StatusCode::UNAUTHORIZED, t.to_owned()),
            other => (StatusCode::SERVICE_UNAVAILABLE, format!("{other:?}")),
        };
        let text = capitalise(&text);
        return (status, sign_in_page(Some(&text), &f.name)).into_response();
    }
    match state.backend.issue_token(&f.name, TokenKind::Browser).await {
        Ok(issued) => {
            let cookie = auth::session_cookie(&issued.token, state.secure);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, sign_in_page(Some(&e.0), &f.name)).into_response(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect::<String>() + ".").unwrap_or_default()
}

/// A form that carries only the CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    pub(crate) csrf: String,
}

/// `POST /logout`: ends the session token and clears the cookie.
pub(crate) async fn sign_out(State(state): State<AppState>, admin: WebAdmin, headers: HeaderMap, Form(f): Form<CsrfOnly>) -> Response {
    if let Err(r) = admin.check(&f.csrf, &headers) {
        return r.into_response();
    }
    if let Err(e) = state.backend.revoke_token(&admin.token).await {
        return ApiError::from(e).into_response();
    }
    ([(header::SET_COOKIE, auth::cleared_cookie(state.secure))], Redirect::to("/login")).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_shows_no_password() {
        let shown = format!("{:?}", super::SignIn { name: "root".into(), password: "hunter2-pw".into() });
        assert!(shown.contains("root") && !shown.contains("hunter2"), "{shown}");
    }
}
