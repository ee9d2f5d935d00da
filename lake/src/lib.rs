//! The lake: the object store that holds everything, and the Delta Lake tables on it.
//!
//! - [`Store`]: one root URL (a folder, `file://…`, `s3://bucket/prefix`); landing packets,
//!   lake tables and reference extracts all live below it.
//! - [`tables`]: schemas and row types of every lake table — ingest's `packets`,
//!   `enrollments`, `fingerprints`, `irises`; dedup's `match_candidates`, `clusters`,
//!   `identity_status`; adjudication's `decisions` and `audit`; export's
//!   `personalization_jobs`; and `runs` — each written with `to_batch` and read back with
//!   `from_batch` (the contract written out for analysts in docs/tables.md).
//! - [`mod@vocabulary`]: the values of the tables' string vocabularies (statuses, outcomes,
//!   effects, sources, bands, stages) as enums.
//! - [`delta`]: open-or-create, append, delete (by predicate or by id list) and update with
//!   Delta's atomic commits.
//! - [`metrics`]: the process's Prometheus recorder, scraped at `/metrics` or written to a
//!   node-exporter textfile; the stage runner records every stage's duration and counts.
//! - [`file_layout`]: the Parquet layout of the tables' data files (row groups, bloom
//!   filters on the key columns a night looks up), one definition for every writer.
//! - [`maintain`]: housekeeping of the tables (compaction, vacuum, checkpoints).
//! - [`run`]: the stage runner: every stage's run recorded in `runs` under one policy, with
//!   its object-store traffic ([`store_io`]).
//! - [`query`]: the SQL sessions over the lake, and reading query results into rows.
//! - [`mod@reference`]: regions, SIAK residents and stations as rows and tables.
//! - [`sql_context`]: a DataFusion session with all of the above registered by name, lake
//!   tables read as their snapshot's Parquet files ([`snapshot_scan`]).
//!
//! The one idea to hold in mind: a table changes only by whole commits, so a reader (or a run
//! restarted after a crash) sees a table version or the one before, never half a write.

pub mod delta;
mod error;
pub mod file_layout;
pub mod maintain;
pub mod metrics;
pub mod query;
pub mod reference;
pub mod run;
pub mod snapshot_scan;
mod store;
pub mod store_io;
pub mod tables;
pub mod vocabulary;

pub use error::{LakeError, Result};
pub use query::{lake_context, sql_context, sql_context_in};
pub use store::{Store, DEFAULT_REGION};
pub use tables::Table;
