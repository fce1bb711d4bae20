//! The web admin: server-rendered pages at `/` on the admin listener.
//!
//! Every page works without JavaScript (forms post, links page); the
//! little script served at `/assets/admin.js` only keeps the dashboard's
//! sessions and the events tail live, over the API's server-sent event
//! streams. Nothing is loaded from elsewhere.

mod assets;
mod events;
mod format;
mod layout;
mod sessions;
mod signin;
pub mod time;
mod user_form;
mod users;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The pages' routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/login", get(signin::form).post(signin::submit))
        .route("/logout", post(signin::sign_out))
        .route("/", get(sessions::dashboard))
        .route("/sessions", get(sessions::show))
        .route("/sessions/{id}/kick", post(sessions::kick))
        .route("/bans", get(sessions::bans))
        .route("/bans/{address}/unban", post(sessions::unban))
        .route("/events", get(events::show))
        .route("/users", get(users::list))
        .route("/users/new", get(users::new_form).post(users::create))
        .route("/users/{name}", get(users::edit_form).post(users::update))
        .route("/users/{name}/enabled", post(users::set_enabled))
        .route("/users/{name}/delete", get(users::confirm_delete).post(users::delete))
        .route("/assets/admin.js", get(assets::script))
        .route("/assets/admin.css", get(assets::style))
        .route("/favicon.ico", get(|| async { axum::http::StatusCode::NO_CONTENT }))
        .with_state(state)
}
