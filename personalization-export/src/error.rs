//! The one error type of the export crate: every failure names what was being done, without
//! personal data (enrollment ids and regency codes only, never a NIK or a name).

use thiserror::Error;

/// Result alias of this crate.
pub type Result<T, E = ExportError> = std::result::Result<T, E>;

/// What can go wrong while exporting, checking a job or verifying a card.
#[derive(Debug, Error)]
pub enum ExportError {
    /// Reading or committing the lake failed.
    #[error(transparent)]
    Lake(#[from] lake::LakeError),
    /// A DataFusion query failed.
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// Arrow conversion failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// An object-store operation failed.
    #[error(transparent)]
    ObjectStore(#[from] object_store::Error),
    /// The DC signing key could not be found, read, created or parsed.
    #[error("signing key {path}: {reason}")]
    Key {
        /// Where the key was looked for (a path or a description).
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file involved.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A personalization card record is malformed or its seal does not verify.
    #[error("card record: {0}")]
    BadCard(String),
    /// A live capture given to `verify` is not a usable ISO/IEC 19794-2 record.
    #[error("live capture {which}: {reason}")]
    BadCapture {
        /// Which capture (`--right-index`, `--left-index`).
        which: String,
        /// What was wrong.
        reason: String,
    },
    /// A job of an interrupted run is signed but fails its own check: it must be looked at
    /// by a person before export may go on (nothing is exported twice by guessing).
    #[error("interrupted export: {0}")]
    Recovery(String),
    /// JSON (de)serialization of a file this crate wrote failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// Writing a CSV feed failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
}
