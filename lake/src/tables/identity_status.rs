//! `identity_status`: where each deduplicated enrollment stands — unique, duplicate,
//! re-enrollment, NIK conflict, or an adjudicator's outcome.
//!
//! A view, not a stored table: one row per enrollment that has been through 1:N search, the
//! latest of its states in [`super::status_history`] (which says why the lake keeps history);
//! earlier states are the earlier rows there. `since` and `run_id` say when the current
//! status was set, `first_result_time` when the first result came (the 24-hour SLA). The
//! view also has `decision_id` and `cluster_size`; this module's row type and batch are the
//! columns every reader and planting test uses.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use chrono::{DateTime, Utc};

use super::columns::{opt_strings, strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;
use crate::vocabulary::IdentityStatus;

/// SQL name of the view (see [`super::VIEWS`]).
pub const NAME: &str = "identity_status";

/// Arrow schema of `identity_status`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `enrollment_id` | string | the enrollment |
/// | `status` | string | `tunggal`, `ganda`, `reenrollment`, `nik_conflict`, `cleared`, `duplicate`, `referred` |
/// | `cluster_id` | string, null | its duplicate cluster, if any (see `clusters`) |
/// | `since` | timestamp | when the current status was set |
/// | `run_id` | string | the dedup run that set the current status |
/// | `first_run_id` | string | the dedup run that first searched the enrollment |
/// | `first_result_time` | timestamp | when that first result was committed: capture → result is the SLA |
/// | `detail` | string, null | why, in one sentence without personal data (e.g. which decision applied) |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("enrollment_id", false),
        text("status", false),
        text("cluster_id", true),
        timestamp("since", false),
        text("run_id", false),
        text("first_run_id", false),
        timestamp("first_result_time", false),
        text("detail", true),
    ]))
}

/// One row of `identity_status`.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityStatusRecord {
    /// The enrollment.
    pub enrollment_id: String,
    /// Where the enrollment stands.
    pub status: IdentityStatus,
    /// Its cluster, if any.
    pub cluster_id: Option<String>,
    /// When the status was set.
    pub since: DateTime<Utc>,
    /// Run that set it.
    pub run_id: String,
    /// Run that first searched the enrollment.
    pub first_run_id: String,
    /// When the first result was committed.
    pub first_result_time: DateTime<Utc>,
    /// One sentence on why.
    pub detail: Option<String>,
}

/// Builds a record batch of `identity_status` rows.
pub fn to_batch(rows: &[IdentityStatusRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(rows.iter().map(|r| r.enrollment_id.as_str())),
            strings(rows.iter().map(|r| r.status.as_str())),
            opt_strings(rows.iter().map(|r| r.cluster_id.as_deref())),
            timestamps(rows.iter().map(|r| r.since)),
            strings(rows.iter().map(|r| r.run_id.as_str())),
            strings(rows.iter().map(|r| r.first_run_id.as_str())),
            timestamps(rows.iter().map(|r| r.first_result_time)),
            opt_strings(rows.iter().map(|r| r.detail.as_deref())),
        ],
    )?)
}

/// Reads `identity_status` rows back from a batch holding every column of the table (a scan or a
/// `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<IdentityStatusRecord>> {
    let c = Columns::new(batch);
    let enrollment_id = c.text("enrollment_id")?;
    let status = c.text("status")?;
    let cluster_id = c.text("cluster_id")?;
    let since = c.times("since")?;
    let run_id = c.text("run_id")?;
    let first_run_id = c.text("first_run_id")?;
    let first_result_time = c.times("first_result_time")?;
    let detail = c.text("detail")?;
    (0..c.len())
        .map(|r| {
            Ok(IdentityStatusRecord {
                enrollment_id: enrollment_id.string(r),
                status: status.parse(r)?,
                cluster_id: cluster_id.opt(r),
                since: since.get(r),
                run_id: run_id.string(r),
                first_run_id: first_run_id.string(r),
                first_result_time: first_result_time.get(r),
                detail: detail.opt(r),
            })
        })
        .collect()
}
