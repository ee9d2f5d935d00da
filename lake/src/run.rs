//! The stage runner: every run of a stage (ingest, dedup, export) leaves one `runs` row, and
//! every stage records itself through [`run_stage`], so all of them follow one policy.
//!
//! [`start`] marks rows of the same stage left `running` by a dead process as `interrupted`
//! and appends a new `running` row; [`Run::finish`] updates that row with the end time,
//! status and counts. One stage runs at a time on a store (the nightly job is the only
//! writer); a second concurrent run of the same stage would see the first as interrupted.
//!
//! The policy of [`run_stage`]:
//! 1. the `running` row is written before the stage does anything; if it cannot be written
//!    the stage does not run (a lake that cannot take one row cannot take the stage's work);
//! 2. a stage that succeeds is recorded `succeeded` with its [`StageReport`]'s counts and
//!    detail; if that record cannot be written the run fails with that error (its work is
//!    committed and a re-run finds it done, but the night must not look clean when it is not);
//! 3. a stage that fails is recorded `failed` with its error in `detail` and zero counts (what
//!    it committed before failing is in the tables); if that record cannot be written the
//!    failure to record is logged and the stage's own error is returned, which matters more;
//! 4. start and end are logged at info level with the run id, never with personal data;
//! 5. the stage's object-store traffic (requests, objects listed, bytes read and written:
//!    [`crate::store_io`]) goes into its `detail` as `io` and into its metrics.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::delta;
use crate::error::{LakeError, Result};
use crate::store::Store;
use crate::tables::runs::{self, RunRecord};
use crate::tables::Table;
use crate::vocabulary::{RunStatus, Stage};

/// A started run: its id, stage and start time.
#[derive(Clone, Debug)]
pub struct Run {
    /// Unique id of the run, written into every row the run produces.
    pub run_id: String,
    /// Pipeline stage.
    pub stage: Stage,
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
/// appends this run's `running` row. Stages call it through [`run_stage`]; tests call it alone
/// to leave a run behind as a killed process would.
///
/// Run ids sort by start time (UUID version 7: milliseconds since the epoch, then random
/// bits): whatever is named after a run (the gallery's partitions, `dedup/segments/<run>/`)
/// sorts in the order the nights wrote it, so a night's gallery partitions always come last
/// and only the gallery's last unit stays open to the next night.
pub async fn start(store: &Store, stage: Stage) -> Result<Run> {
    if delta::open_existing(store, Table::Runs).await?.is_some() {
        delta::update_where(
            store,
            Table::Runs,
            &format!(
                "stage = {} AND status = {}",
                delta::sql_literal(stage.as_str()),
                delta::sql_literal(RunStatus::Running.as_str())
            ),
            &[(
                "status",
                delta::sql_literal(RunStatus::Interrupted.as_str()),
            )],
        )
        .await?;
    }
    let run = Run {
        run_id: time_ordered_id(),
        stage,
        started: Utc::now(),
    };
    let row = RunRecord {
        run_id: run.run_id.clone(),
        stage,
        started: run.started,
        finished: None,
        status: RunStatus::Running,
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
    /// Records the end of the run: `status` (succeeded or failed), counts, and a JSON
    /// `detail` (per-reason counts, or the error message of a failed run).
    pub async fn finish(
        &self,
        store: &Store,
        status: RunStatus,
        counts: &RunCounts,
        detail: Option<&str>,
    ) -> Result<()> {
        let finished = Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let mut set = vec![
            ("status", delta::sql_literal(status.as_str())),
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

/// What a finished stage tells the runner: its counts and a JSON detail for the `runs` row.
pub trait StageReport {
    /// The counts recorded in `runs` (`seen`, `processed`, `accepted`, `rejected`).
    fn counts(&self) -> RunCounts;
    /// Stage-specific counts as a JSON object (rejections per reason, statuses, …).
    fn detail(&self) -> serde_json::Value;
}

/// Runs one stage under the runner's policy (module docs): records it in `runs` from start to
/// end and hands `work` the started [`Run`] (its id goes into every row the stage writes).
pub async fn run_stage<T, E>(
    store: &Store,
    stage: Stage,
    work: impl AsyncFnOnce(&Run) -> std::result::Result<T, E>,
) -> std::result::Result<T, E>
where
    T: StageReport,
    E: From<LakeError> + Display,
{
    let run = start(store, stage).await?;
    let clock = std::time::Instant::now();
    let io_before = crate::store_io::IoTotals::now();
    tracing::info!(stage = %stage, run_id = %run.run_id, "stage started");
    match work(&run).await {
        Ok(report) => {
            let io = crate::store_io::IoTotals::since(io_before);
            crate::metrics::record_stage_io(stage, &io);
            let mut detail = report.detail();
            if let Some(fields) = detail.as_object_mut() {
                fields.insert("io".into(), serde_json::json!(io));
            }
            let detail = detail.to_string();
            let counts = report.counts();
            crate::metrics::record_stage(stage, RunStatus::Succeeded, clock.elapsed(), &counts);
            run.finish(store, RunStatus::Succeeded, &counts, Some(&detail))
                .await?;
            tracing::info!(stage = %stage, run_id = %run.run_id, "stage succeeded");
            Ok(report)
        }
        Err(err) => {
            let io = crate::store_io::IoTotals::since(io_before);
            crate::metrics::record_stage_io(stage, &io);
            let detail = serde_json::json!({ "error": err.to_string(), "io": io }).to_string();
            crate::metrics::record_stage(
                stage,
                RunStatus::Failed,
                clock.elapsed(),
                &RunCounts::default(),
            );
            let recorded = run
                .finish(
                    store,
                    RunStatus::Failed,
                    &RunCounts::default(),
                    Some(&detail),
                )
                .await;
            if let Err(record_err) = recorded {
                tracing::error!(stage = %stage, run_id = %run.run_id, error = %record_err,
                    "could not record the failed run");
            }
            tracing::error!(stage = %stage, run_id = %run.run_id, error = %err, "stage failed");
            Err(err)
        }
    }
}

/// A new run id that sorts after every id made before it (in different milliseconds; ids of
/// one millisecond sort at random among themselves).
pub fn time_ordered_id() -> String {
    let millis = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    let random = Uuid::new_v4();
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&random.as_bytes()[..10]);
    uuid::Builder::from_unix_timestamp_millis(millis, &bits)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_in_the_order_runs_started() {
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(time_ordered_id());
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
        let parsed = Uuid::parse_str(&ids[0]).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert_ne!(ids[0], ids[1]);
    }
}
