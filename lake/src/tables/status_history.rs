//! `status_history`: every state an enrollment's identity status and cluster membership has
//! had, appended by the dedup run that set it.
//!
//! Why history and not a current-state table: at national scale the rows a night touches
//! (its probes, the clusters they join or merge, the enrollments whose decisions arrived) are
//! spread over every file of a current-state table, so rewriting or merging them would
//! rewrite the country each night. Appending only the changed rows keeps a night's writes
//! proportional to the night. The current state is read through two views registered in
//! every session ([`super::VIEWS`]): `identity_status` (the latest row of each enrollment)
//! and `clusters` (the members of the latest rows that have a cluster).
//!
//! A dedup run appends its rows in one commit, which is also the run's commit point: an
//! enrollment is deduplicated exactly when it has a row here, and a run counts (its gallery
//! partitions and candidates stay) exactly when it wrote a row (`written_by`). Rows are
//! ordered per enrollment by `recorded`, the commit time of the run that wrote them (runs
//! never overlap: the nightly lock).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Int32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, SchemaRef};
use chrono::{DateTime, Utc};

use super::clusters::ClusterRecord;
use super::columns::{extended, opt_strings, opt_timestamps, strings, text, timestamp, timestamps};
use super::identity_status::{self, IdentityStatusRecord};
use super::read::Columns;
use crate::error::Result;

/// SQL name and folder name of the table.
pub const NAME: &str = "status_history";

/// Arrow schema of `status_history`: the columns of `identity_status`, then
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `decision_id` | string, null | the adjudicator's decision the status applies, if it comes from one |
/// | `cluster_size` | int, null | members of `cluster_id` in this state |
/// | `cluster_created` | timestamp, null | when `cluster_id` was first formed |
/// | `recorded` | timestamp | commit time of the run that wrote this row: the latest row of an enrollment is its current state |
/// | `written_by` | string | the dedup run that wrote this row |
pub fn schema() -> SchemaRef {
    extended(
        &identity_status::schema(),
        [
            text("decision_id", true),
            Field::new("cluster_size", DataType::Int32, true),
            timestamp("cluster_created", true),
            timestamp("recorded", false),
            text("written_by", false),
        ],
    )
}

/// One row of `status_history`: a state of one enrollment.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusHistoryRecord {
    /// The status as `identity_status` shows it while this row is the latest.
    pub status: IdentityStatusRecord,
    /// The decision the status applies, if any.
    pub decision_id: Option<String>,
    /// Size and creation time of `status.cluster_id`, when there is one.
    pub cluster: Option<(i32, DateTime<Utc>)>,
    /// Commit time of the run that wrote the row.
    pub recorded: DateTime<Utc>,
    /// The run that wrote the row.
    pub written_by: String,
}

impl StatusHistoryRecord {
    /// The `clusters` row this state stands for, if the enrollment is in a cluster.
    pub fn cluster_row(&self) -> Option<ClusterRecord> {
        let (size, created) = self.cluster?;
        Some(ClusterRecord {
            cluster_id: self.status.cluster_id.clone()?,
            enrollment_id: self.status.enrollment_id.clone(),
            cluster_size: size,
            created,
            run_id: self.written_by.clone(),
        })
    }

    /// Whether `self` and `other` describe the same state (everything but who wrote it and
    /// when): a run appends a row only when the state changed.
    pub fn same_state(&self, other: &StatusHistoryRecord) -> bool {
        self.status == other.status
            && self.decision_id == other.decision_id
            && self.cluster == other.cluster
    }
}

/// History rows for a current state given as `identity_status` and `clusters` rows (as a
/// run derives them, or as a test plants them), written by `run_id` at `recorded`;
/// `decision_of` names the decision behind an enrollment's status, if any.
pub fn rows_for(
    statuses: &[IdentityStatusRecord],
    clusters: &[ClusterRecord],
    decision_of: impl Fn(&str) -> Option<String>,
    recorded: DateTime<Utc>,
    run_id: &str,
) -> Vec<StatusHistoryRecord> {
    let cluster_of: HashMap<&str, &ClusterRecord> = clusters
        .iter()
        .map(|c| (c.enrollment_id.as_str(), c))
        .collect();
    statuses
        .iter()
        .map(|s| StatusHistoryRecord {
            decision_id: decision_of(&s.enrollment_id),
            cluster: cluster_of
                .get(s.enrollment_id.as_str())
                .map(|c| (c.cluster_size, c.created)),
            status: s.clone(),
            recorded,
            written_by: run_id.to_string(),
        })
        .collect()
}

/// Builds a record batch of `status_history` rows.
pub fn to_batch(rows: &[StatusHistoryRecord]) -> Result<RecordBatch> {
    let statuses: Vec<IdentityStatusRecord> = rows.iter().map(|r| r.status.clone()).collect();
    let mut columns = identity_status::to_batch(&statuses)?.columns().to_vec();
    columns.extend([
        opt_strings(rows.iter().map(|r| r.decision_id.as_deref())),
        Arc::new(Int32Array::from_iter(
            rows.iter().map(|r| r.cluster.map(|c| c.0)),
        )) as _,
        opt_timestamps(rows.iter().map(|r| r.cluster.map(|c| c.1))),
        timestamps(rows.iter().map(|r| r.recorded)),
        strings(rows.iter().map(|r| r.written_by.as_str())),
    ]);
    Ok(RecordBatch::try_new(schema(), columns)?)
}

/// Reads `status_history` rows back from a batch holding every column of the table.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<StatusHistoryRecord>> {
    let statuses = identity_status::from_batch(batch)?;
    let c = Columns::new(batch);
    let decision_id = c.text("decision_id")?;
    let size = c.ints("cluster_size")?;
    let created = c.times("cluster_created")?;
    let recorded = c.times("recorded")?;
    let written_by = c.text("written_by")?;
    Ok(statuses
        .into_iter()
        .enumerate()
        .map(|(r, status)| StatusHistoryRecord {
            status,
            decision_id: decision_id.opt(r),
            cluster: match (arrow::array::Array::is_null(&size, r), created.opt(r)) {
                (false, Some(t)) => Some((size.value(r), t)),
                _ => None,
            },
            recorded: recorded.get(r),
            written_by: written_by.string(r),
        })
        .collect())
}

/// The latest row of each enrollment among `rows` (any order): its current state.
pub fn latest(rows: Vec<StatusHistoryRecord>) -> HashMap<String, StatusHistoryRecord> {
    let mut out: HashMap<String, StatusHistoryRecord> = HashMap::new();
    for row in rows {
        match out.get(&row.status.enrollment_id) {
            Some(kept) if kept.recorded >= row.recorded => {}
            _ => {
                out.insert(row.status.enrollment_id.clone(), row);
            }
        }
    }
    out
}

/// `identity_status`: the latest row of each enrollment, with the columns of
/// [`identity_status::schema`] and `decision_id`, `cluster_size`. The SQL lives in
/// `lake/views/` so the notebooks register the same views.
pub const IDENTITY_STATUS_VIEW: &str = include_str!("../../views/identity_status.sql");

/// `clusters`: the members of every cluster in the current state, with the columns of
/// [`super::clusters::schema`] (`run_id` is the run that wrote the member's state).
pub const CLUSTERS_VIEW: &str = include_str!("../../views/clusters.sql");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::IdentityStatus;
    use chrono::TimeZone;

    fn status(id: &str, cluster: Option<&str>) -> IdentityStatusRecord {
        let t = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        IdentityStatusRecord {
            enrollment_id: id.into(),
            status: IdentityStatus::Tunggal,
            cluster_id: cluster.map(str::to_string),
            since: t,
            run_id: "r".into(),
            first_run_id: "r".into(),
            first_result_time: t,
            detail: None,
        }
    }

    #[test]
    fn rows_survive_a_batch_and_the_latest_wins() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let t1 = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
        let clusters = vec![ClusterRecord {
            cluster_id: "c".into(),
            enrollment_id: "a".into(),
            cluster_size: 2,
            created: t0,
            run_id: "r".into(),
        }];
        let mut rows = rows_for(
            &[status("a", Some("c")), status("b", None)],
            &clusters,
            |id| (id == "a").then(|| "d1".to_string()),
            t0,
            "r1",
        );
        rows.extend(rows_for(&[status("b", None)], &[], |_| None, t1, "r2"));
        let back = from_batch(&to_batch(&rows).unwrap()).unwrap();
        assert_eq!(back, rows);
        assert_eq!(back[0].cluster, Some((2, t0)));
        assert_eq!(back[0].cluster_row().unwrap().run_id, "r1");
        assert!(back[1].cluster_row().is_none());
        let current = latest(back);
        assert_eq!(current["b"].written_by, "r2");
        assert_eq!(current["a"].decision_id.as_deref(), Some("d1"));
        assert!(current["b"].same_state(&rows[1]));
        assert!(!current["a"].same_state(&rows[1]));
    }
}
