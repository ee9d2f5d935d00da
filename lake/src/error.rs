//! The one error type of the lake crate.
//!
//! Every failure names what was being done (opening the store, committing to a table, running
//! a query) so that the CLI can print one clear line; the underlying library error is kept as
//! inside the message (not as a separate `source`), so the one line the CLI prints with `{:#}`
//! says everything once.

use thiserror::Error;

/// Result alias used throughout the lake crate.
pub type Result<T, E = LakeError> = std::result::Result<T, E>;

/// What can go wrong when opening the store, reading or committing lake tables.
#[derive(Debug, Error)]
pub enum LakeError {
    /// The `--store` value is neither a folder, a `file://` URL nor an `s3://bucket/prefix` URL.
    #[error("invalid store location {location:?}: {reason}")]
    InvalidLocation {
        /// The location as given by the user.
        location: String,
        /// Why it was refused.
        reason: String,
    },
    /// No store at the location a verb that reads one was given (see `Store::open_existing`).
    #[error("no tunggal store at {location} (create one with `tunggal synth` or `tunggal init`)")]
    NoStore {
        /// The location as given by the user.
        location: String,
    },
    /// The local store folder could not be created or resolved.
    #[error("cannot prepare store folder {path}: {error}")]
    Folder {
        /// The folder that was being created or canonicalized.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// An object-store operation (list, get, put, delete) failed.
    #[error(transparent)]
    ObjectStore(#[from] object_store::Error),
    /// A Delta Lake operation (load, create, write, delete, update) failed.
    #[error("delta table {table}: {error}")]
    Delta {
        /// The lake table involved.
        table: String,
        /// The deltalake error.
        error: Box<deltalake::DeltaTableError>,
    },
    /// A DataFusion query or plan failed.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Building an Arrow record batch failed (a schema mismatch is a programming error here).
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// A reference file (SIAK extract, station registry) could not be read or parsed.
    #[error("reference data {path}: {reason}")]
    Reference {
        /// The object path of the reference file.
        path: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A query result did not have the columns this crate expected.
    #[error("unexpected result shape: {0}")]
    Shape(String),
    /// A batch read as a lake table's rows lacks a column, or holds it with another type.
    #[error("column {column:?}: {reason}")]
    Column {
        /// The column asked for.
        column: String,
        /// Missing, or which type it has instead.
        reason: String,
    },
    /// A string column held a value outside its vocabulary (`crate::vocabulary`).
    #[error("{value:?} is not a known {vocabulary} value")]
    Vocabulary {
        /// The vocabulary (enum) the value should belong to.
        vocabulary: &'static str,
        /// The value found.
        value: String,
    },
}

impl LakeError {
    /// Wraps a deltalake error with the name of the table it concerns.
    pub fn delta(table: impl Into<String>, source: deltalake::DeltaTableError) -> Self {
        LakeError::Delta {
            table: table.into(),
            error: Box::new(source),
        }
    }
}
