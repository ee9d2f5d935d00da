//! A synthetic country in miniature, with known truth: a SIAK population, a station registry
//! and enrollment packets landing at district offices over some days, with planted duplicates
//! (fraud under a second NIK, re-enrollments, twins, relatives), hard captures and bad
//! uploads, each labelled in `synth-truth/`.
//!
//! Entry point: [`run()`] with a [`SynthConfig`] writes one batch into an object store; the
//! same config always writes the same bytes, and a new config adds a new batch next to the
//! existing ones (NIKs never collide with the store's SIAK extract). With cross-batch rates
//! above 0 the new batch also plants persons of earlier batches enrolling again under a new
//! NIK and NIK hijacks of earlier enrollees ([`earlier`]), for a later night to catch.
//! Store layout:
//! - `reference/siak/<batch>.csv`, `reference/stations/<batch>.csv` (see `reference`),
//! - `landing/<site>/<yyyy-mm-dd>/<packet_id>.zip` (see `docs/packet-format.md`),
//! - `synth-truth/enrollees/<batch>.csv` ([`truth`]), `synth-truth/batches/<batch>.json`.
//!
//! The biometric generators ([`finger`], [`iris`], [`capture`]) are reached only through
//! [`biometric`].

#![warn(missing_docs)]

pub mod assemble;
pub mod biometric;
pub mod capture;
pub mod config;
pub mod earlier;
pub mod finger;
pub mod geography;
pub mod ids;
pub mod iris;
pub mod media;
pub mod names;
pub mod plants;
pub mod population;
pub mod progress;
pub mod run;
pub mod store;
pub mod summary;
pub mod truth;
pub mod world;

pub use chrono::NaiveDate;
pub use config::{ProgressMode, SynthConfig};
pub use object_store;
pub use plants::Plant;
pub use run::run;
pub use summary::SynthSummary;

/// Why a synth run failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The configuration is unusable.
    #[error("invalid synth configuration: {0}")]
    Config(String),
    /// A NIK or KK number could not be composed (bad region or date).
    #[error("could not compose an identity number: {0}")]
    Id(reference::NikError),
    /// All serials of a NIK/KK prefix are taken.
    #[error("no free NIK/KK serial left for a region and date")]
    IdSpaceExhausted,
    /// The embedded region table yielded no village.
    #[error("no region with villages could be picked")]
    NoRegions,
    /// Object-store failure.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// A reference extract could not be read or written.
    #[error("reference extract: {0}")]
    Reference(#[from] reference::CsvError),
    /// A packet could not be built.
    #[error("packet: {0}")]
    Build(#[from] packet::BuildError),
    /// An image could not be encoded.
    #[error("image: {0}")]
    Media(#[from] image::ImageError),
    /// JSON serialization failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV serialization failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// A background task failed.
    #[error("background task: {0}")]
    Task(String),
}
