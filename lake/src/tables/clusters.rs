//! `clusters`: the current duplicate clusters — enrollments linked by `match` edges.
//!
//! A view, not a stored table: one row per enrollment that belongs to a cluster of two or more
//! in its current state in [`super::status_history`]. A cluster keeps
//! its id when it grows, and when two clusters merge the merged one keeps the id of the
//! older, so adjudication cases and analysts' references stay valid.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Utc};

use super::columns::{ints, strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;

/// SQL name of the view (see [`super::VIEWS`]).
pub const NAME: &str = "clusters";

/// Arrow schema of `clusters`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `cluster_id` | string | stable id of the cluster (UUID v5 of its oldest member's enrollment id) |
/// | `enrollment_id` | string | a member |
/// | `cluster_size` | int | members in the cluster |
/// | `created` | timestamp | when the cluster was first formed (its oldest edge's run) |
/// | `run_id` | string | the dedup run that wrote this state |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("cluster_id", false),
        text("enrollment_id", false),
        Field::new("cluster_size", DataType::Int32, false),
        timestamp("created", false),
        text("run_id", false),
    ]))
}

/// One row of `clusters`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterRecord {
    /// Stable cluster id.
    pub cluster_id: String,
    /// Member enrollment.
    pub enrollment_id: String,
    /// Members in the cluster.
    pub cluster_size: i32,
    /// When the cluster was first formed.
    pub created: DateTime<Utc>,
    /// Run that wrote this state.
    pub run_id: String,
}

/// Builds a record batch of `clusters` rows.
pub fn to_batch(rows: &[ClusterRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(rows.iter().map(|r| r.cluster_id.as_str())),
            strings(rows.iter().map(|r| r.enrollment_id.as_str())),
            ints(rows.iter().map(|r| r.cluster_size)),
            timestamps(rows.iter().map(|r| r.created)),
            strings(rows.iter().map(|r| r.run_id.as_str())),
        ],
    )?)
}

/// Reads `clusters` rows back from a batch holding every column of the table (a scan or a
/// `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<ClusterRecord>> {
    let c = Columns::new(batch);
    let cluster_id = c.text("cluster_id")?;
    let enrollment_id = c.text("enrollment_id")?;
    let cluster_size = c.ints("cluster_size")?;
    let created = c.times("created")?;
    let run_id = c.text("run_id")?;
    Ok((0..c.len())
        .map(|r| ClusterRecord {
            cluster_id: cluster_id.string(r),
            enrollment_id: enrollment_id.string(r),
            cluster_size: cluster_size.value(r),
            created: created.get(r),
            run_id: run_id.string(r),
        })
        .collect())
}
