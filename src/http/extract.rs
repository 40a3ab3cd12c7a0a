//! Extractors whose rejections are `{"detail": ...}` JSON, and the
//! authenticated-caller extractor that checks a named permission.
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::{App, auth, auth::Principal};

/// `axum::Json` whose rejection names the problem in `{"detail": ...}`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let detail = match &rejection {
        JsonRejection::JsonDataError(e) => format!("invalid request body: {}", located::<serde_json::Error>(e)),
        JsonRejection::JsonSyntaxError(e) => format!("malformed JSON: {}", error_chain(e)),
        JsonRejection::MissingJsonContentType(_) => "expected a request with Content-Type: application/json".into(),
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "request body too large".into(),
        _ => rejection.body_text(),
    };
    ApiError::new(status, detail)
}

/// serde's message is at the bottom of the chain; axum's wrappers say less.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

/// The deserialisation error with the path of the field it is about
/// (`conditions.threshold: invalid type …`), else the innermost message.
fn located<E: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<serde_path_to_error::Error<E>>() {
            return found.to_string();
        }
        current = e.source();
    }
    error_chain(err)
}

pub use crate::domain::wire::not_null;

/// `axum::extract::Query` with a 422 `{"detail"}` rejection naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|q| Query(q.0)).map_err(
            |e: QueryRejection| {
                ApiError::unprocessable(format!(
                    "invalid query parameter {}",
                    located::<serde_urlencoded::de::Error>(&e)
                ))
            },
        )
    }
}

/// `axum::extract::Path` with a 422 `{"detail"}` rejection.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let names: Vec<String> = match RawPathParams::from_request_parts(parts, state).await {
            Ok(raw) => raw.iter().map(|(name, _)| name.to_owned()).collect(),
            Err(_) => Vec::new(),
        };
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| Path(p.0)).map_err(
            |e: PathRejection| {
                // A single unnamed value (`Path<i64>`) does not say which parameter failed: name it.
                let message = error_chain(&e);
                match names.as_slice() {
                    [name] if !message.contains(name.as_str()) => ApiError::unprocessable(format!("{name}: {message}")),
                    _ => ApiError::unprocessable(format!("invalid path parameter: {message}")),
                }
            },
        )
    }
}

/// A permission a route requires, named as in the `permissions` table.
pub trait Permission {
    const NAME: &'static str;
}

macro_rules! permissions {
    ($($ty:ident => $name:literal),* $(,)?) => {
        $(pub struct $ty; impl Permission for $ty { const NAME: &'static str = $name; })*
    };
}

permissions! {
    AlertsRead => "alerts.read",
    AlertsManage => "alerts.manage",
    ComplaintsRead => "complaints.read",
    ComplaintsWrite => "complaints.write",
    StaffManage => "staff.manage",
    SlaManage => "sla.manage",
}

/// The caller, authenticated by bearer token and holding permission `P`.
pub struct Authorized<P> {
    pub principal: Arc<Principal>,
    _permission: PhantomData<P>,
}

impl<P: Permission> FromRequestParts<App> for Authorized<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let Authenticated(principal) = Authenticated::from_request_parts(parts, app).await?;
        principal.require(P::NAME)?;
        Ok(Self { principal, _permission: PhantomData })
    }
}

/// The caller, authenticated by bearer token, whatever their permissions.
pub struct Authenticated(pub Arc<Principal>);

impl FromRequestParts<App> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let Ok(ClientAddress(address)) = ClientAddress::from_request_parts(parts, app).await;
        let token = bearer_token(parts).ok_or_else(|| ApiError::unauthorized("not authenticated"))?;
        Ok(Self(auth::authenticate(app, token, &address).await?))
    }
}

pub fn bearer_token(parts: &Parts) -> Option<&str> {
    bearer_of(&parts.headers)
}

pub fn bearer_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

pub use super::client::ClientAddress;
