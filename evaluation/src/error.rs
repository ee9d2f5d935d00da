//! The errors an evaluation or benchmark can end with.

/// Why an evaluation or benchmark could not finish. It changes nothing in the lake that a
/// nightly run relies on, so the remedy is to fix the cause and run it again.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Reading or writing the lake or the store failed.
    #[error(transparent)]
    Lake(#[from] lake::LakeError),
    /// A query over the lake failed.
    #[error("query failed: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// Reading dedup's tables or gallery partitions failed.
    #[error(transparent)]
    Dedup(#[from] dedup::DedupError),
    /// The ingest run being measured failed.
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    /// Synthesizing the data to measure failed.
    #[error(transparent)]
    Synth(#[from] synth::SynthError),
    /// Deleting from the object store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// A synth truth file does not parse.
    #[error("truth file {path} unreadable: {reason}")]
    Truth {
        /// Object path of the file.
        path: String,
        /// Parser message.
        reason: String,
    },
    /// A cached gallery partition does not decode.
    #[error("gallery partition {path}: {reason}")]
    Partition {
        /// File of the partition.
        path: String,
        /// Decoder message.
        reason: String,
    },
    /// The bench's work area beside the store cannot be opened.
    #[error("opening the bench work area: {0}")]
    WorkArea(#[source] lake::LakeError),
    /// The store holds nothing to measure (the message says what to do).
    #[error("{0}")]
    NothingToMeasure(String),
    /// `tunggal eval pickup` cannot run as asked: a bad option, an unreadable card record, or
    /// verify refusing a synthetic capture as bad input (a bug to report).
    #[error("eval pickup: {0}")]
    Pickup(String),
    /// The benchmark cannot run as asked (e.g. its cache folder is unusable, or the store
    /// holds nothing to measure).
    #[error("bench: {0}")]
    Bench(String),
}

/// Result of evaluations and benchmarks.
pub type Result<T> = std::result::Result<T, EvalError>;
