//! The REST API, JSON under `/api/v1`.
//!
//! Each endpoint is one handler with a `#[utoipa::path]` description;
//! [`router`] registers them with `utoipa-axum`, which builds the axum
//! routes and the OpenAPI 3 document from the same list, so a route
//! cannot exist without being documented (`GET /api/v1/openapi.json`).

pub mod events;
pub mod sessions;
pub mod system;
pub mod users;

use std::sync::OnceLock;

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The document's frame; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(title = "ferryd admin API", description = "Manage ferryd's users, sessions and bans; follow its events."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "system", description = "Health, status, sign-in, reload"),
        (name = "users", description = "FTP and SFTP accounts"),
        (name = "sessions", description = "Connected clients and bans"),
        (name = "events", description = "What happened")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();

/// The API's routes, and the OpenAPI document that describes them.
pub fn router(state: AppState) -> (axum::Router, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(system::status))
        .routes(routes!(system::login))
        .routes(routes!(system::logout))
        .routes(routes!(system::reload))
        .routes(routes!(system::openapi))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::put, users::delete))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::stream))
        .routes(routes!(sessions::kick))
        .routes(routes!(sessions::bans))
        .routes(routes!(sessions::unban))
        .routes(routes!(events::list))
        .routes(routes!(events::stream))
        .with_state(state)
        .split_for_parts();
    let _ = DOCUMENT.set(doc.clone());
    (router, doc)
}

/// The document, once [`router`] has built it.
pub fn document() -> Option<&'static utoipa::openapi::OpenApi> {
    DOCUMENT.get()
}
