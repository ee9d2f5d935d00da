//! Nightly 1:N deduplication: every new enrollment is searched against everyone enrolled
//! before it and against the other enrollments of the same night; matches become duplicate
//! clusters, and every enrollment gets an identity status (`tunggal`, `ganda`,
//! `reenrollment`, `nik_conflict`, or an adjudicator's outcome).
//!
//! - [`dedup`]: one run — recover from a crashed run, search new enrollments batch by batch
//!   against the persisted gallery partitions, write `match_candidates`, then derive
//!   `identity_status` and `clusters` anew in one commit each.
//! - [`status`]: the pure rules from match edges, NIKs and decisions to statuses and clusters.
//! - [`segments`]: the gallery as persisted partitions (index + compact templates), one set
//!   per run, so the gallery grows each night without being rebuilt.
//! - [`eval`]: FNIR/FPIR against the synthesizer's ground truth; [`diagnose`]: why a
//!   planted duplicate was missed (matcher score or index rank).
//!
//! The one idea to hold in mind: `identity_status` is the commit point. An enrollment is
//! deduplicated exactly when it has a row there; candidates and gallery partitions of a run
//! that never reached that commit are removed by the next run, which redoes the work.

pub mod bench;
pub mod diagnose;
mod error;
pub mod eval;
mod load;
mod options;
mod progress;
mod record;
mod run;
pub mod segments;
pub mod status;
mod summary;
pub mod thresholds;

pub use error::{DedupError, Result};
pub use options::DedupOptions;
pub use run::dedup;
pub use summary::DedupSummary;

/// Name of the stage in the `runs` table.
pub const STAGE: &str = "dedup";
