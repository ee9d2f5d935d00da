//! Run bookkeeping: every stage run (ingest, later dedup and export) leaves one `runs` row.
//!
//! [`start`] marks rows of the same stage left `running` by a dead process as `interrupted`
//! and appends a new `running` row; [`Run::finish`] updates that row with the end time,
//! status and counts. One stage runs at a time on a store (the nightly job is the only
//! writer); a second concurrent run of the same stage would see the first as interrupted.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::delta;
use crate::error::Result;
use crate::store::Store;
use crate::tables::runs::{self, RunRecord};
use crate::tables::Table;

/// `status` of a run in progress (or of one whose process died).
pub const RUNNING: &str = "running";
/// `status` of a run that ended normally.
pub const SUCCEEDED: &str = "succeeded";
/// `status` of a run that ended with an error.
pub const FAILED: &str = "failed";
/// `status` given by the next run to a run found `running` (its process died).
pub const INTERRUPTED: &str = "interrupted";

/// A started run: its id, stage and start time.
#[derive(Clone, Debug)]
pub struct Run {
    /// Unique id of the run, written into every row the run produces.
    pub run_id: String,
    /// Pipeline stage (`ingest`, …).
    pub stage: String,
    /// When the run started.
    pub started: DateTime<Utc>,
}

/// The counts a run reports when it ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Objects the run looked at.
    pub seen: i64,
    /// Objects it recorded.
    pub processed: i64,
    /// Of those, accepted.
    pub accepted: i64,
    /// Of those, rejected.
    pub rejected: i64,
}

/// Starts a run of `stage`: marks stale `running` rows of that stage `interrupted`, then
/// appends this run's `running` row.
pub async fn start(store: &Store, stage: &str) -> Result<Run> {
    let stage_lit = delta::sql_literal(stage);
    if delta::open_existing(store, Table::Runs).await?.is_some() {
        delta::update_where(
            store,
            Table::Runs,
            &format!("stage = {stage_lit} AND status = '{RUNNING}'"),
            &[("status", delta::sql_literal(INTERRUPTED))],
        )
        .await?;
    }
    let run = Run {
        run_id: Uuid::new_v4().to_string(),
        stage: stage.to_string(),
        started: Utc::now(),
    };
    let row = RunRecord {
        run_id: run.run_id.clone(),
        stage: run.stage.clone(),
        started: run.started,
        finished: None,
        status: RUNNING.into(),
        seen: 0,
        processed: 0,
        accepted: 0,
        rejected: 0,
        detail: None,
    };
    delta::append(store, Table::Runs, vec![runs::to_batch(&[row])?], None).await?;
    Ok(run)
}

impl Run {
    /// Records the end of the run: `status` ([`SUCCEEDED`] or [`FAILED`]), counts, and a JSON
    /// `detail` (per-reason counts, or the error message of a failed run).
    pub async fn finish(
        &self,
        store: &Store,
        status: &str,
        counts: &RunCounts,
        detail: Option<&str>,
    ) -> Result<()> {
        let finished = Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let mut set = vec![
            ("status", delta::sql_literal(status)),
            (
                "finished",
                format!("CAST({} AS TIMESTAMP)", delta::sql_literal(&finished)),
            ),
            ("seen", counts.seen.to_string()),
            ("processed", counts.processed.to_string()),
            ("accepted", counts.accepted.to_string()),
            ("rejected", counts.rejected.to_string()),
        ];
        if let Some(detail) = detail {
            set.push(("detail", delta::sql_literal(detail)));
        }
        delta::update_where(
            store,
            Table::Runs,
            &format!("run_id = {}", delta::sql_literal(&self.run_id)),
            &set,
        )
        .await
    }
}
