//! `runs`: one row per run of a pipeline stage (ingest today; dedup, export later).
//!
//! A run appends its row with status `running` when it starts and updates it when it ends;
//! a row still `running` after the process died is marked `interrupted` by the next run of
//! the same stage, so the table tells the night's story even after a crash.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Utc};

use super::columns::{longs, opt_strings, opt_timestamps, strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;
use crate::vocabulary::{RunStatus, Stage};

/// SQL name and folder name of the table.
pub const NAME: &str = "runs";

/// Arrow schema of `runs`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `run_id` | string | unique id of the run (UUID v4) |
/// | `stage` | string | `ingest`, … |
/// | `started` | timestamp | when the run started |
/// | `finished` | timestamp, null | when it ended; null while running or after a crash |
/// | `status` | string | `running`, `succeeded`, `failed`, `interrupted` |
/// | `seen` | long | objects the run looked at (ingest: objects in `landing/`) |
/// | `processed` | long | objects the run recorded (ingest: new `packets` rows) |
/// | `accepted` | long | of those, accepted |
/// | `rejected` | long | of those, rejected |
/// | `detail` | string, null | JSON object with stage-specific counts (ingest: rejections per reason code) or the error of a failed run |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("run_id", false),
        text("stage", false),
        timestamp("started", false),
        timestamp("finished", true),
        text("status", false),
        Field::new("seen", DataType::Int64, false),
        Field::new("processed", DataType::Int64, false),
        Field::new("accepted", DataType::Int64, false),
        Field::new("rejected", DataType::Int64, false),
        text("detail", true),
    ]))
}

/// One row of `runs`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// Unique run id.
    pub run_id: String,
    /// Pipeline stage.
    pub stage: Stage,
    /// Start time.
    pub started: DateTime<Utc>,
    /// End time, once finished.
    pub finished: Option<DateTime<Utc>>,
    /// `running`, `succeeded`, `failed` or `interrupted`.
    pub status: RunStatus,
    /// Objects looked at.
    pub seen: i64,
    /// Objects recorded.
    pub processed: i64,
    /// Objects accepted.
    pub accepted: i64,
    /// Objects rejected.
    pub rejected: i64,
    /// Stage-specific JSON detail.
    pub detail: Option<String>,
}

/// Builds a record batch of `runs` rows.
pub fn to_batch(rows: &[RunRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(rows.iter().map(|r| r.run_id.as_str())),
            strings(rows.iter().map(|r| r.stage.as_str())),
            timestamps(rows.iter().map(|r| r.started)),
            opt_timestamps(rows.iter().map(|r| r.finished)),
            strings(rows.iter().map(|r| r.status.as_str())),
            longs(rows.iter().map(|r| r.seen)),
            longs(rows.iter().map(|r| r.processed)),
            longs(rows.iter().map(|r| r.accepted)),
            longs(rows.iter().map(|r| r.rejected)),
            opt_strings(rows.iter().map(|r| r.detail.as_deref())),
        ],
    )?)
}

/// Reads `runs` rows back from a batch holding every column of the table (a scan or a
/// `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<RunRecord>> {
    let c = Columns::new(batch);
    let run_id = c.text("run_id")?;
    let stage = c.text("stage")?;
    let started = c.times("started")?;
    let finished = c.times("finished")?;
    let status = c.text("status")?;
    let seen = c.longs("seen")?;
    let processed = c.longs("processed")?;
    let accepted = c.longs("accepted")?;
    let rejected = c.longs("rejected")?;
    let detail = c.text("detail")?;
    (0..c.len())
        .map(|r| {
            Ok(RunRecord {
                run_id: run_id.string(r),
                stage: stage.parse(r)?,
                started: started.get(r),
                finished: finished.opt(r),
                status: status.parse(r)?,
                seen: seen.value(r),
                processed: processed.value(r),
                accepted: accepted.value(r),
                rejected: rejected.value(r),
                detail: detail.opt(r),
            })
        })
        .collect()
}
