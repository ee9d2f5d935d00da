//! Cases from the lake: one per cluster with at least one member waiting for an adjudicator
//! (an identity status in [`IdentityStatus::NEEDS_ADJUDICATION`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use lake::tables::read::Columns;
use lake::vocabulary::{sql_list, IdentityStatus};

use crate::error::Result;
use crate::store::{self, CaseKind, CaseMember, NewCase};

/// The status a case member gets when the lake holds no identity status for it.
const UNKNOWN_STATUS: &str = "unknown";

/// One member of a flagged cluster, as the case query reads it.
struct ClusterMember {
    cluster_id: String,
    enrollment_id: String,
    /// `None` when the lake holds no identity status for the enrollment.
    status: Option<IdentityStatus>,
    /// When its capture finished (`None` without an enrollment row).
    captured: Option<DateTime<Utc>>,
    /// When dedup first gave it a status.
    flagged: Option<DateTime<Utc>>,
    province_code: String,
    regency_code: String,
}

impl ClusterMember {
    fn waits(&self) -> bool {
        self.status.is_some_and(IdentityStatus::needs_adjudication)
    }
}

/// Reads every member of every cluster that has a member waiting for an adjudicator, ordered
/// by cluster and enrollment.
async fn flagged_cluster_members(ctx: &SessionContext) -> Result<Vec<ClusterMember>> {
    let sql = format!(
        "SELECT c.cluster_id, c.enrollment_id, s.status,
                e.capture_finished AS captured,
                s.first_result_time AS flagged,
                e.province_code, e.regency_code
         FROM clusters c
         LEFT JOIN identity_status s ON s.enrollment_id = c.enrollment_id
         LEFT JOIN enrollments e ON e.enrollment_id = c.enrollment_id
         WHERE c.cluster_id IN (
             SELECT c2.cluster_id FROM clusters c2
             JOIN identity_status s2 ON s2.enrollment_id = c2.enrollment_id
             WHERE s2.status IN {})
         ORDER BY c.cluster_id, c.enrollment_id",
        sql_list(IdentityStatus::NEEDS_ADJUDICATION)
    );
    let mut out = Vec::new();
    for batch in lake::query::collect(ctx, &sql).await? {
        let c = Columns::new(&batch);
        let cluster_id = c.text("cluster_id")?;
        let enrollment_id = c.text("enrollment_id")?;
        let status = c.text("status")?;
        let captured = c.times("captured")?;
        let flagged = c.times("flagged")?;
        let province_code = c.text("province_code")?;
        let regency_code = c.text("regency_code")?;
        for r in 0..c.len() {
            out.push(ClusterMember {
                cluster_id: cluster_id.string(r),
                enrollment_id: enrollment_id.string(r),
                status: status.opt(r).map(|s| s.parse()).transpose()?,
                captured: captured.opt(r),
                flagged: flagged.opt(r),
                province_code: province_code.string(r),
                regency_code: regency_code.string(r),
            });
        }
    }
    Ok(out)
}

/// The cases the lake calls for now: one per cluster with at least one member in status
/// `ganda` or `nik_conflict`.
pub async fn cases_from_lake(ctx: &SessionContext) -> Result<Vec<NewCase>> {
    let mut by_cluster: BTreeMap<String, Vec<ClusterMember>> = BTreeMap::new();
    for member in flagged_cluster_members(ctx).await? {
        by_cluster
            .entry(member.cluster_id.clone())
            .or_default()
            .push(member);
    }
    let mut out = Vec::new();
    for (cluster_id, rows) in by_cluster {
        let flagged: Vec<&ClusterMember> = rows.iter().filter(|r| r.waits()).collect();
        let kind = if flagged
            .iter()
            .any(|r| r.status == Some(IdentityStatus::NikConflict))
        {
            CaseKind::NikConflict
        } else {
            CaseKind::Ganda
        };
        // The SLA clock runs from the capture of the oldest enrollment waiting on this case;
        // the region is that of the newest one (the enrollment under question).
        let sla_since = flagged
            .iter()
            .filter_map(|r| r.captured.or(r.flagged).map(|t| t.timestamp()))
            .min()
            .unwrap_or_else(store::now);
        let newest = flagged
            .iter()
            .max_by_key(|r| r.captured.map_or(0, |t| t.timestamp()))
            .copied()
            .unwrap_or(&rows[0]);
        out.push(NewCase {
            cluster_id,
            kind: kind.as_str().to_string(),
            province_code: newest.province_code.clone(),
            regency_code: newest.regency_code.clone(),
            sla_since,
            members: rows
                .iter()
                .map(|r| CaseMember {
                    enrollment_id: r.enrollment_id.clone(),
                    status: r
                        .status
                        .map_or(UNKNOWN_STATUS, IdentityStatus::as_str)
                        .to_string(),
                })
                .collect(),
        });
    }
    Ok(out)
}
