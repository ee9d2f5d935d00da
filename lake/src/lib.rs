//! The lake: the object store that holds everything, and the Delta Lake tables on it.
//!
//! - [`Store`]: one root URL (a folder, `file://…`, `s3://bucket/prefix`); landing packets,
//!   lake tables and reference extracts all live below it.
//! - [`tables`]: schemas and row types of `packets`, `enrollments`, `fingerprints`, `irises`,
//!   `runs` (the contract written out for analysts in docs/tables.md).
//! - [`delta`]: open-or-create, append, delete and update with Delta's atomic commits.
//! - [`run`]: bookkeeping of stage runs in the `runs` table.
//! - [`reference`]: regions, SIAK residents and stations as rows and tables.
//! - [`sql_context`]: a DataFusion session with all of the above registered by name, lake
//!   tables read as their snapshot's Parquet files ([`snapshot_scan`]).
//!
//! The one idea to hold in mind: a table changes only by whole commits, so a reader (or a run
//! restarted after a crash) sees a table version or the one before, never half a write.

pub mod delta;
mod error;
pub mod lazy_table;
pub mod query;
pub mod reference;
pub mod run;
pub mod snapshot_scan;
mod store;
pub mod tables;

pub use error::{LakeError, Result};
pub use query::{lake_context, sql_context};
pub use store::{Store, DEFAULT_REGION};
pub use tables::Table;
