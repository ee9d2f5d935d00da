//! The errors of adjudication: a few kinds a caller acts upon (the web layer turns each into
//! an HTTP status), and everything else as an internal error with its cause.

/// What went wrong in an adjudication operation.
#[derive(Debug, thiserror::Error)]
pub enum AdjudicationError {
    /// Not logged in, the session expired, or the credentials were wrong.
    #[error("not authenticated: {0}")]
    Unauthenticated(String),
    /// Logged in, but the user's role or relation to the case does not allow the operation.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The case, user or image does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The operation collides with the case's current state (claimed by someone else, already
    /// decided, …).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request itself is invalid (missing comment, unknown outcome, bad CSRF token, …).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Too many failed logins from this address or for this user name.
    #[error("too many attempts: {0}")]
    TooManyAttempts(String),
    /// Evidence that no longer matches what ingest accepted (the landing object was replaced
    /// after ingest): it is not shown, and the attempt is audited.
    #[error("evidence tampered: {0}")]
    Tampered(String),
    /// The case store (SQLite) failed.
    #[error("case store: {0}")]
    CaseStore(#[from] rusqlite::Error),
    /// The lake failed.
    #[error("lake: {0}")]
    Lake(#[from] lake::LakeError),
    /// Anything else (query engine, template rendering, packet reading).
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

/// Result of adjudication operations.
pub type Result<T, E = AdjudicationError> = std::result::Result<T, E>;

impl From<datafusion::error::DataFusionError> for AdjudicationError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        AdjudicationError::Internal(e.into())
    }
}

impl From<minijinja::Error> for AdjudicationError {
    fn from(e: minijinja::Error) -> Self {
        AdjudicationError::Internal(anyhow::anyhow!("template: {e:#}"))
    }
}

impl From<arrow::error::ArrowError> for AdjudicationError {
    fn from(e: arrow::error::ArrowError) -> Self {
        AdjudicationError::Internal(e.into())
    }
}
