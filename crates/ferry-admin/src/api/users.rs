//! `/api/v1/users`: list with search and paging, create, read, change, delete.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Admin;
use crate::backend::{AdminAction, FieldError, User, UserError, UserPage, UserQuery};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::user_input;

/// Users on a page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// The most users one page holds.
pub const MAX_LIMIT: usize = 1000;

/// Which users.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A case-insensitive part of the name.
    pub search: Option<String>,
    /// Users to skip (default 0).
    pub offset: Option<usize>,
    /// Users at most (default 50, at most 1000).
    pub limit: Option<usize>,
}

impl ListParams {
    /// The query for the backend, with the limits applied.
    pub fn query(&self) -> UserQuery {
        UserQuery {
            search: self.search.clone().filter(|s| !s.trim().is_empty()),
            offset: self.offset.unwrap_or(0),
            limit: self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
        }
    }
}

fn bad_query(e: axum::extract::rejection::QueryRejection) -> ApiError {
    ApiError::BadRequest(format!("{}: offset and limit are whole numbers", e.body_text()), Vec::new())
}

/// A page of users, sorted by name, searched on the server.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListParams),
    responses((status = 200, body = UserPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<UserPage>, ApiError> {
    let Query(params) = params.map_err(bad_query)?;
    Ok(Json(state.backend.list_users(&params.query()).await?))
}

/// The body of `POST /users`: at least `name` and `password`. (No
/// `Debug`: it holds a password.)
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // Documents the body; the handler reads it field by field.
pub struct NewUser {
    /// The user name.
    name: String,
    /// The password (write-only: never returned).
    password: String,
    /// Any of [`User`]'s other fields.
    #[serde(flatten)]
    #[schema(inline)]
    settings: Option<serde_json::Value>,
}

/// The body as JSON, or a 400 that says so.
fn json_body(body: &Bytes) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON ({e})"), vec![FieldError::new("body", "send a JSON object")]))
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(State(state): State<AppState>, admin: Admin, body: Bytes) -> Result<(StatusCode, Json<User>), ApiError> {
    let value = json_body(&body)?;
    let input = user_input::apply(User::new(""), &value).map_err(ApiError::Invalid)?;
    let mut missing = Vec::new();
    if input.user.name.is_empty() {
        missing.push(FieldError::new("name", "required: the user name"));
    }
    if input.password.is_none() && value.get("password").is_none() {
        missing.push(FieldError::new("password", "required: the user's password"));
    }
    if !missing.is_empty() {
        return Err(ApiError::Invalid(missing));
    }
    let password = input.password.as_deref().unwrap_or_default();
    state.backend.create_user(&input.user, password).await?;
    state.backend.record(&admin.identity.name, AdminAction::UserCreate, Some(&input.user.name), admin.peer);
    let stored = state.backend.get_user(&input.user.name).await?.unwrap_or(input.user);
    Ok((StatusCode::CREATED, Json(stored)))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{name}", tag = "users", params(("name" = String, Path, description = "User name")),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, _admin: Admin, Path(name): Path<String>) -> Result<Json<User>, ApiError> {
    match state.backend.get_user(&name).await? {
        Some(user) => Ok(Json(user)),
        None => Err(UserError::NotFound(name).into()),
    }
}

/// Change a user: the fields the body names are set (`null` clears one),
/// the others kept; `password` only if given.
#[utoipa::path(put, path = "/api/v1/users/{name}", tag = "users", params(("name" = String, Path, description = "User name")),
    request_body = User,
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn put(State(state): State<AppState>, admin: Admin, Path(name): Path<String>, body: Bytes) -> Result<Json<User>, ApiError> {
    let value = json_body(&body)?;
    let Some(current) = state.backend.get_user(&name).await? else { return Err(UserError::NotFound(name).into()) };
    let input = user_input::apply(current, &value).map_err(ApiError::Invalid)?;
    if input.user.name != name {
        return Err(ApiError::Invalid(vec![FieldError::new("name", "a user cannot be renamed: create the new name, then delete the old")]));
    }
    state.backend.update_user(&input.user, input.password.as_deref()).await?;
    state.backend.record(&admin.identity.name, AdminAction::UserUpdate, Some(&name), admin.peer);
    let stored = state.backend.get_user(&name).await?.unwrap_or(input.user);
    Ok(Json(stored))
}

/// Delete a user. Their files stay; their open sessions end.
#[utoipa::path(delete, path = "/api/v1/users/{name}", tag = "users", params(("name" = String, Path, description = "User name")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(State(state): State<AppState>, admin: Admin, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    state.backend.delete_user(&name).await?;
    state.backend.record(&admin.identity.name, AdminAction::UserDelete, Some(&name), admin.peer);
    Ok(StatusCode::NO_CONTENT)
}
