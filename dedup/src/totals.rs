//! The totals a dedup run reports and decides with: enrollments by status (their sum is the
//! gallery, which sets the thresholds), clusters and their members.
//!
//! Counting them over the `identity_status` and `clusters` views aggregates the whole status
//! history, a cost that grows with the country. A run instead starts from the totals the
//! last committed run recorded in its `runs.detail` and adds what its own history rows
//! change: the night's closure ([`crate::neighbourhood`]) holds every enrollment whose state
//! can change and, with each cluster it touches, all of that cluster's members (clusters are
//! components of the links the closure is closed under), so the difference of before and
//! after over the closure is the difference over the country. The recorded totals are used
//! only when they belong to the latest committed run: a run that committed its history but
//! died before recording its totals makes the next run count them again over the views.

use std::collections::{BTreeMap, HashMap, HashSet};

use datafusion::prelude::SessionContext;
use lake::tables::read::Columns;
use lake::tables::status_history::StatusHistoryRecord;
use lake::vocabulary::{RunStatus, Stage};

use crate::error::Result;
use crate::load;

/// Enrollments by status, clusters and their members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Enrollments by current status.
    pub by_status: BTreeMap<String, u64>,
    /// Clusters.
    pub clusters: u64,
    /// Enrollments in a cluster.
    pub members: u64,
}

impl Totals {
    /// Enrollments with a status: the gallery.
    pub fn gallery(&self) -> u64 {
        self.by_status.values().sum()
    }

    /// The totals after `written` (the rows a run appends) replaced the states in `previous`
    /// (the current state of every enrollment of the run's closure that has one).
    pub fn after(
        &self,
        previous: &HashMap<String, StatusHistoryRecord>,
        written: &[StatusHistoryRecord],
    ) -> Totals {
        let mut out = self.clone();
        let new: HashMap<&str, &StatusHistoryRecord> = written
            .iter()
            .map(|r| (r.status.enrollment_id.as_str(), r))
            .collect();
        for row in written {
            let id = row.status.enrollment_id.as_str();
            if let Some(old) = previous.get(id) {
                let n = out
                    .by_status
                    .entry(old.status.status.as_str().to_string())
                    .or_default();
                *n = n.saturating_sub(1);
            }
            *out.by_status
                .entry(row.status.status.as_str().to_string())
                .or_default() += 1;
        }
        out.by_status.retain(|_, n| *n > 0);
        let cluster_of = |r: &StatusHistoryRecord| r.cluster.and(r.status.cluster_id.clone());
        let before: Vec<String> = previous.values().filter_map(cluster_of).collect();
        let after: Vec<String> = previous
            .iter()
            .filter(|(id, _)| !new.contains_key(id.as_str()))
            .map(|(_, r)| r)
            .chain(written.iter())
            .filter_map(cluster_of)
            .collect();
        let distinct = |v: &[String]| v.iter().collect::<HashSet<_>>().len() as u64;
        out.members = (out.members + after.len() as u64).saturating_sub(before.len() as u64);
        out.clusters = (out.clusters + distinct(&after)).saturating_sub(distinct(&before));
        out
    }

    /// The totals as `runs.detail` records them.
    pub fn to_detail(&self) -> serde_json::Value {
        serde_json::json!({
            "by_status": self.by_status,
            "clusters": self.clusters,
            "cluster_members": self.members,
        })
    }

    /// The totals of a `runs.detail`, if it records them all.
    fn from_detail(detail: &serde_json::Value) -> Option<Totals> {
        let by_status = detail
            .get("by_status")?
            .as_object()?
            .iter()
            .map(|(k, v)| Some((k.clone(), v.as_u64()?)))
            .collect::<Option<BTreeMap<_, _>>>()?;
        Some(Totals {
            by_status,
            clusters: detail.get("clusters")?.as_u64()?,
            members: detail.get("cluster_members")?.as_u64()?,
        })
    }
}

/// What the latest committed dedup run (the last one that wrote `status_history` rows)
/// recorded in `runs`: where the next run's look at the lake can begin.
#[derive(Clone, Debug, Default)]
pub struct LastRun {
    /// Its start (µs).
    pub started: i64,
    /// Its `runs.detail`, when it succeeded and recorded one (a run that committed its
    /// history but died before recording its end has none: the next run reads the views).
    pub detail: Option<serde_json::Value>,
}

impl LastRun {
    /// The totals after it.
    pub fn totals(&self) -> Option<Totals> {
        Totals::from_detail(self.detail.as_ref()?)
    }

    /// The enrollments it held back (no status, so tried again by every run).
    pub fn held_back(&self) -> Option<Vec<String>> {
        let list = self.detail.as_ref()?.get("held_back")?.as_array()?;
        list.iter()
            .map(|h| Some(h.get("enrollment_id")?.as_str()?.to_string()))
            .collect()
    }
}

/// The latest committed dedup run, if any; `committed` as [`load::committed_runs`].
pub async fn last_committed(
    ctx: &SessionContext,
    committed: &HashSet<String>,
) -> Result<Option<LastRun>> {
    let sql = format!(
        "SELECT run_id, status, CAST(started AS BIGINT) AS started_us, detail FROM runs \
         WHERE stage = {}",
        lake::delta::sql_literal(Stage::Dedup.as_str())
    );
    let mut last: Option<LastRun> = None;
    for batch in load::collect(ctx, &sql).await? {
        let c = Columns::new(&batch);
        let (id, status, detail) = (c.text("run_id")?, c.text("status")?, c.text("detail")?);
        let started = c.longs("started_us")?;
        for i in 0..c.len() {
            if !committed.contains(&id.string(i)) {
                continue;
            }
            if last.as_ref().is_some_and(|l| l.started >= started.value(i)) {
                continue;
            }
            let succeeded = status.string(i) == RunStatus::Succeeded.as_str();
            last = Some(LastRun {
                started: started.value(i),
                detail: detail
                    .opt(i)
                    .filter(|_| succeeded)
                    .and_then(|d| serde_json::from_str(&d).ok()),
            });
        }
    }
    Ok(last)
}

/// The totals counted over the `identity_status` and `clusters` views (a whole-history
/// aggregation: only when no recorded totals can be trusted).
pub async fn counted(ctx: &SessionContext) -> Result<Totals> {
    let (by_status, (clusters, members)) = load::totals(ctx).await?;
    Ok(Totals {
        by_status,
        clusters,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use lake::tables::identity_status::IdentityStatusRecord;
    use lake::vocabulary::IdentityStatus;

    fn state(id: &str, status: IdentityStatus, cluster: Option<&str>) -> StatusHistoryRecord {
        let t = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        StatusHistoryRecord {
            status: IdentityStatusRecord {
                enrollment_id: id.into(),
                status,
                cluster_id: cluster.map(str::to_string),
                since: t,
                run_id: "r".into(),
                first_run_id: "r".into(),
                first_result_time: t,
                detail: None,
            },
            decision_id: None,
            cluster: cluster.map(|_| (2, t)),
            recorded: t,
            written_by: "r".into(),
        }
    }

    #[test]
    fn a_merge_and_new_enrollments_move_the_totals_by_what_changed() {
        // Before: a, b in cluster X (ganda), c alone (tunggal), d elsewhere (not in the
        // closure). The night: probe e joins X, c is merged in: one cluster of four.
        let before = Totals {
            by_status: [("ganda".to_string(), 2), ("tunggal".to_string(), 2)].into(),
            clusters: 1,
            members: 2,
        };
        let previous: HashMap<String, StatusHistoryRecord> = [
            state("a", IdentityStatus::Ganda, Some("X")),
            state("b", IdentityStatus::Ganda, Some("X")),
            state("c", IdentityStatus::Tunggal, None),
        ]
        .into_iter()
        .map(|s| (s.status.enrollment_id.clone(), s))
        .collect();
        let written = vec![
            state("c", IdentityStatus::Ganda, Some("X")),
            state("e", IdentityStatus::Ganda, Some("X")),
        ];
        let after = before.after(&previous, &written);
        assert_eq!(
            after.by_status,
            BTreeMap::from([("ganda".to_string(), 4), ("tunggal".to_string(), 1)])
        );
        assert_eq!((after.clusters, after.members), (1, 4));
        assert_eq!(after.gallery(), 5);
        assert_eq!(Totals::from_detail(&after.to_detail()), Some(after.clone()));

        // A decision splits X into X (a, b) and Y (c, e).
        let previous: HashMap<String, StatusHistoryRecord> = ["a", "b", "c", "e"]
            .into_iter()
            .map(|id| (id.to_string(), state(id, IdentityStatus::Ganda, Some("X"))))
            .collect();
        let written = vec![
            state("c", IdentityStatus::Ganda, Some("Y")),
            state("e", IdentityStatus::Ganda, Some("Y")),
        ];
        let split = after.after(&previous, &written);
        assert_eq!((split.clusters, split.members), (2, 4));
        assert_eq!(split.by_status, after.by_status);
    }
}
