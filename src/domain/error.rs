use sea_orm::{DbErr, RuntimeErr, SqlErr};

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
}

impl From<DbErr> for DomainError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(msg)) = err.sql_err() {
            return Self::Conflict(msg);
        }
        if is_unavailable(&err) {
            return Self::Unavailable(err.to_string());
        }
        Self::Internal(err.to_string())
    }
}

/// Errors that are the database's fault (down, unreachable, saturated), as
/// opposed to a bad statement.
fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::Tls(_) | Sqlx::WorkerCrashed => true,
                Sqlx::Database(db) => {
                    // SQLITE_BUSY / SQLITE_LOCKED after the busy timeout; server shutting down (MySQL 1053, PG 57P01..03).
                    matches!(db.code().as_deref(), Some("5" | "6" | "517" | "1053" | "57P01" | "57P02" | "57P03"))
                }
                _ => false,
            }
        }
        _ => false,
    }
}
