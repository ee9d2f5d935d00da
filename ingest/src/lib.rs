//! Ingest: every object in `landing/` becomes exactly one `packets` row — accepted (and
//! extracted into `enrollments`, `fingerprints`, `irises`) or rejected with a stable reason
//! code and a human sentence.
//!
//! Entry point: [`ingest`]. The one idea to hold in mind is *exactly once*:
//! - an object is done when its `packets` row is committed; runs skip done objects, so
//!   re-running changes nothing;
//! - a chunk's child rows are committed before its `packets` rows, and a new run first
//!   deletes child rows that no accepted `packets` row names (left by a killed run), so a
//!   crash at any point ends, after the next run, with every packet recorded once and no
//!   enrollment twice;
//! - `enrollment_id` is derived from the packet id, so redoing a packet yields the same ids.
//!
//! Validation ([`validate`]) is a pure, CPU-bound function run on rayon; fetching uses
//! bounded concurrency; nothing personal (NIK, name, biometrics) is logged.

pub mod chunk;
mod error;
pub mod extract;
pub mod landing;
pub mod ledger;
mod options;
mod pipeline;
mod progress;
pub mod recovery;
pub mod registry;
mod summary;
pub mod validate;
pub mod window;

pub use error::IngestError;
pub use landing::LandingScan;
pub use options::IngestOptions;
pub use pipeline::LANDING;
pub use summary::IngestSummary;
pub use window::CaptureWindow;

/// Runs ingest over the store: records every object of `landing/` not yet in `packets`,
/// and records the run in `runs` through the stage runner (`succeeded`, or `failed` with the
/// error).
///
/// A failed run keeps everything it committed; running again continues where it stopped.
pub async fn ingest(
    store: &lake::Store,
    options: &IngestOptions,
) -> Result<IngestSummary, IngestError> {
    lake::run::run_stage(store, lake::vocabulary::Stage::Ingest, async |run| {
        pipeline::run(store, options, &run.run_id).await
    })
    .await
}
