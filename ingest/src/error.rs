//! The error type of ingest: failures that stop a run.
//!
//! A bad *packet* is never an error here — it is a rejection recorded in `packets` and the
//! run goes on. An [`IngestError`] means the run itself could not go on (store unreachable,
//! commit failed, reference extract unreadable); everything committed so far stays, and the
//! next run picks up exactly where this one stopped.

use thiserror::Error;

/// Why an ingest run stopped.
#[derive(Debug, Error)]
pub enum IngestError {
    /// Reading or committing lake tables, or reading the store, failed.
    #[error(transparent)]
    Lake(#[from] lake::LakeError),
    /// A query over the lake tables failed.
    #[error(transparent)]
    Query(#[from] datafusion::error::DataFusionError),
    /// An object in `landing/` could not be fetched.
    #[error("cannot fetch {path}: {error}")]
    Fetch {
        /// Object path relative to the store root.
        path: String,
        /// The object-store error.
        error: lake::LakeError,
    },
    /// The station registry is ambiguous (a station registered more than once).
    #[error(transparent)]
    Registry(#[from] crate::registry::DuplicateStation),
    /// The validation worker pool failed (a panic inside validation is a bug, reported here
    /// instead of taking the process down).
    #[error("validation worker failed: {0}")]
    Worker(String),
}
