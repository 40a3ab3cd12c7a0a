//! HTTP errors: every failure leaves as `{"detail": "..."}` with the status of SPEC section 4.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::DomainError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: String,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        let retry_after = (status == StatusCode::SERVICE_UNAVAILABLE).then_some(1);
        Self { status, detail: detail.into(), retry_after }
    }

    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, m),
            DomainError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            DomainError::Invalid { field, message } => Self::unprocessable(format!("{field}: {message}")),
            DomainError::Unauthenticated(m) => Self::unauthorized(m),
            DomainError::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, m),
            DomainError::Throttled(secs) => Self {
                status: StatusCode::TOO_MANY_REQUESTS,
                detail: format!("too many failed logins; try again in {secs} s"),
                retry_after: Some(secs),
            },
            DomainError::Unavailable(m) => {
                tracing::warn!(error = %m, "database unavailable");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "database unavailable, try again shortly")
            }
            DomainError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(json!({ "detail": self.detail }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
