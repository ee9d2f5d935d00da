//! Nightly 1:N deduplication: every new enrollment is searched against everyone enrolled
//! before it and against the other enrollments of the same night; matches become duplicate
//! clusters, and every enrollment gets an identity status (`tunggal`, `ganda`,
//! `reenrollment`, `nik_conflict`, or an adjudicator's outcome).
//!
//! - [`dedup`]: one run — recover from a crashed run, search new enrollments batch by batch
//!   against the persisted gallery partitions, write `match_candidates`, then derive the
//!   statuses and clusters of what the night touched and append the changed ones to
//!   `status_history` in one commit (read as the views `identity_status` and `clusters`).
//! - [`search`]: one batch of probes against the gallery, this run's earlier batches and
//!   itself (the index's rank and compare passes).
//! - [`status`]: the pure rules from match edges, NIKs and decisions to statuses and clusters.
//! - [`segments`]: the gallery as persisted partitions (index + compact templates), one set
//!   per run, so the gallery grows each night without being rebuilt.
//! - [`compact`]: `tunggal maintain`'s compaction of the stored gallery into unit partitions.
//! - [`load`]: what a run reads from the lake (enrollments, statuses, clusters, match edges,
//!   templates); public so that evaluations (the `evaluation` crate) read them the same way.
//!
//! - [`neighbourhood`]: which enrollments a night can change, found by joins, so a night
//!   costs what it brings.
//!
//! The one idea to hold in mind: `status_history` is the commit point. An enrollment is
//! deduplicated exactly when it has a row there; candidates and gallery partitions of a run
//! that never reached that commit are removed by the next run, which redoes the work.

pub mod compact;
mod error;
pub mod load;
pub mod neighbourhood;
mod options;
mod progress;
mod record;
mod run;
pub mod search;
pub mod segments;
pub mod status;
mod summary;
pub mod thresholds;
pub mod totals;

pub use error::{DedupError, Result};
pub use options::DedupOptions;
pub use run::{dedup, dedup_with};
pub use summary::DedupSummary;
