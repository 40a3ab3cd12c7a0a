use sea_orm::DbErr;

use crate::storage::{self, Failure};

/// The one error type of the service layer. The HTTP layer maps each variant
/// to a status; the CLI prints it as one line.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Input that names a field and what is wrong with it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts: try again after this many seconds.
    #[error("too many attempts; try again in {0} s")]
    Throttled(u64),
    /// The database cannot be reached or did not answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    /// The same error about the field as the caller named it.
    pub fn renamed(self, field: &str) -> Self {
        match self {
            Self::Invalid { message, .. } => Self::invalid(field, message),
            other => other,
        }
    }
}

impl From<DbErr> for DomainError {
    fn from(err: DbErr) -> Self {
        match storage::classify(&err) {
            Failure::Conflict(message) => Self::Conflict(message),
            Failure::Unavailable => Self::Unavailable(err.to_string()),
            Failure::Other => Self::Internal(err.to_string()),
        }
    }
}
