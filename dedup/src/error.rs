//! The errors a dedup run can end with.

/// Why a dedup run failed. A failed run commits no identity status; the next run redoes it.
#[derive(Debug, thiserror::Error)]
pub enum DedupError {
    /// Reading or writing the lake failed.
    #[error(transparent)]
    Lake(#[from] lake::LakeError),
    /// A query over the lake failed.
    #[error("query failed: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// Building Arrow data failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A persisted gallery partition is unreadable.
    #[error("gallery partition {path}: {reason}")]
    Segment {
        /// Object path of the partition.
        path: String,
        /// Decoder message.
        reason: String,
    },
    /// A worker thread failed.
    #[error("worker failed: {0}")]
    Worker(String),
}

/// Result of dedup operations.
pub type Result<T> = std::result::Result<T, DedupError>;
