//! The script and style sheet, built into the binary: the web admin
//! needs no network but its own server.

use axum::http::header;
use axum::response::IntoResponse;

/// `GET /assets/admin.js`.
pub(crate) async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../../assets/admin.js"))
}

/// `GET /assets/admin.css`.
pub(crate) async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../assets/admin.css"))
}
