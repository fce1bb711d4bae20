//! Errors as the API answers them: a status and `{"error": "…"}`, plus
//! `"fields"` naming each invalid field.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::backend::{BackendError, FieldError, UserError};

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, and what to do.
    pub error: String,
    /// The invalid fields, when the request had some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// An API failure.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is not what the endpoint takes (not JSON, a
    /// field of the wrong type), with the fields named.
    BadRequest(String, Vec<FieldError>),
    /// 401: no valid token or session.
    Unauthorized(&'static str),
    /// 403: a form without its CSRF token, or a banned address.
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 409: it exists already.
    Conflict(String),
    /// 422: well-formed, but fields are invalid.
    Invalid(Vec<FieldError>),
    /// 503: the store is down, or too many streams.
    Unavailable(String),
}

impl ApiError {
    fn parts(self) -> (StatusCode, String, Vec<FieldError>) {
        match self {
            ApiError::BadRequest(m, f) => (StatusCode::BAD_REQUEST, m, f),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m.to_owned(), Vec::new()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m, Vec::new()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m, Vec::new()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m, Vec::new()),
            ApiError::Invalid(f) => {
                let m = f.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
                (StatusCode::UNPROCESSABLE_ENTITY, m, f)
            }
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m, Vec::new()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthorized = matches!(self, ApiError::Unauthorized(_));
        let (status, error, fields) = self.parts();
        let mut response = (status, Json(ErrorBody { error, fields })).into_response();
        if unauthorized {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"ferryd\""));
        }
        response
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> ApiError {
        ApiError::Unavailable(e.0)
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> ApiError {
        match e {
            UserError::Invalid(fields) => ApiError::Invalid(fields),
            UserError::Exists(_) => ApiError::Conflict(e.to_string()),
            UserError::NotFound(_) => ApiError::NotFound(e.to_string()),
            UserError::Backend(b) => b.into(),
        }
    }
}
