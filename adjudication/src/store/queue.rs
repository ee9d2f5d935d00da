//! Cases and their queue: creating cases from the lake's clusters (idempotently), superseding
//! those whose cluster changed, listing the queue, reading one case and its members.
//!
//! The one idea to hold in mind: a case id is the UUID v5 of its cluster and sorted member
//! set, so re-reading the same clusters creates nothing, and a grown cluster is a new case
//! that supersedes the old open one.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{empty_to_none, now, CaseKind, CaseState, CaseStore};
use crate::error::{AdjudicationError, Result};

/// A case as listed in the queue.
#[derive(Clone, Debug, Serialize)]
pub struct CaseSummary {
    /// Case id.
    pub case_id: String,
    /// The cluster it came from.
    pub cluster_id: String,
    /// Why the cluster became a case.
    pub kind: CaseKind,
    /// Province code of the enrollment under question.
    pub province_code: String,
    /// Regency code of the enrollment under question.
    pub regency_code: String,
    /// Start of the SLA clock (unix seconds).
    pub sla_since: i64,
    /// Hours since `sla_since`.
    pub age_hours: i64,
    /// Case state.
    pub state: CaseState,
    /// Who holds the claim, if it has not expired.
    pub claimed_by: Option<String>,
    /// Claim expiry (unix seconds).
    pub claim_expires: Option<i64>,
    /// Enrollments of the case.
    pub members: Vec<CaseMember>,
}

/// An enrollment of a case with the identity status it had when the case was made.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CaseMember {
    /// Enrollment id.
    pub enrollment_id: String,
    /// Identity status at case creation.
    pub status: String,
}

/// A case to create, derived from a cluster of the lake (input of [`CaseStore::upsert_cases`]).
#[derive(Clone, Debug)]
pub struct NewCase {
    /// The cluster.
    pub cluster_id: String,
    /// `ganda` or `nik_conflict`.
    pub kind: String,
    /// Province of the enrollment under question.
    pub province_code: String,
    /// Regency of the enrollment under question.
    pub regency_code: String,
    /// Start of the SLA clock (unix seconds).
    pub sla_since: i64,
    /// Members with their identity status (any order).
    pub members: Vec<CaseMember>,
}

impl NewCase {
    /// The case id: UUID v5 of the cluster and its sorted member set, so the same cluster
    /// state always yields the same case and a grown cluster yields a new one.
    pub fn case_id(&self) -> String {
        let mut ids: Vec<&str> = self
            .members
            .iter()
            .map(|m| m.enrollment_id.as_str())
            .collect();
        ids.sort_unstable();
        let key = format!("{}|{}", self.cluster_id, ids.join(","));
        uuid::Uuid::new_v5(&CASE_NAMESPACE, key.as_bytes()).to_string()
    }
}

/// Namespace of case ids.
const CASE_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6b1f_3a52_7c1e_4f0e_9d55_2a7f_c0de_ca5e);

/// What [`CaseStore::upsert_cases`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpsertSummary {
    /// Cases created now.
    pub created: usize,
    /// Cases that already existed.
    pub existing: usize,
    /// Open cases whose cluster changed or no longer needs adjudication.
    pub superseded: usize,
}

/// Filter of the queue.
#[derive(Clone, Debug, Default, serde::Deserialize, Serialize)]
pub struct QueueFilter {
    /// Province code (`PP`).
    #[serde(default)]
    pub province: Option<String>,
    /// Regency code (`PP.KK`).
    #[serde(default)]
    pub regency: Option<String>,
    /// `ganda` or `nik_conflict`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Include pending-confirmation cases (default: yes).
    #[serde(default)]
    pub state: Option<String>,
    /// Only cases opened on this day (`YYYY-MM-DD`, in the data center's zone), in any state
    /// unless `state` says otherwise.
    #[serde(default)]
    pub opened: Option<String>,
    /// Only cases whose decision became final on this day (`YYYY-MM-DD`, data center's
    /// zone), in any state unless `state` says otherwise.
    #[serde(default)]
    pub decided: Option<String>,
    /// Only cases waiting at least this many hours (SLA clock).
    #[serde(default)]
    pub min_age_h: Option<i64>,
    /// Only cases waiting less than this many hours (SLA clock).
    #[serde(default)]
    pub max_age_h: Option<i64>,
}

/// The unix seconds `[start, end)` of a day (`YYYY-MM-DD`) in the data center's zone.
pub fn day_bounds(day: &str) -> Result<(i64, i64)> {
    let date = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .map_err(|_| AdjudicationError::BadRequest(format!("not a day (YYYY-MM-DD): {day:?}")))?;
    let offset = i64::from(crate::present::Zone::DATA_CENTER.offset_hours()) * 3600;
    let start = date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp() - offset;
    Ok((start, start + 86_400))
}

impl CaseStore {
    /// Creates the cases of `cases` that do not exist yet (idempotent: the case id derives
    /// from the cluster and its members), and supersedes open cases that are no longer among
    /// them (the cluster grew, or dedup no longer flags it).
    pub fn upsert_cases(&self, cases: &[NewCase]) -> Result<UpsertSummary> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut summary = UpsertSummary::default();
        let t = now();
        let mut current = std::collections::HashSet::new();
        for case in cases {
            let case_id = case.case_id();
            let kind: CaseKind = case.kind.parse().map_err(|_| {
                AdjudicationError::BadRequest(format!("unknown case kind {:?}", case.kind))
            })?;
            let n = tx.execute(
                "INSERT OR IGNORE INTO cases (case_id, cluster_id, kind, province_code, regency_code, sla_since, created_at, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![case_id, case.cluster_id, kind, case.province_code, case.regency_code, case.sla_since, t, CaseState::Open],
            )?;
            if n == 1 {
                summary.created += 1;
                for m in &case.members {
                    tx.execute(
                        "INSERT INTO case_members (case_id, enrollment_id, status) VALUES (?1, ?2, ?3)",
                        params![case_id, m.enrollment_id, m.status],
                    )?;
                }
            } else {
                summary.existing += 1;
            }
            current.insert(case_id);
        }
        let open: Vec<String> = {
            let mut stmt = tx.prepare("SELECT case_id FROM cases WHERE state = ?1")?;
            let rows = stmt.query_map(params![CaseState::Open], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for case_id in open {
            if !current.contains(&case_id) {
                tx.execute(
                    "UPDATE cases SET state = ?2, claimed_by = NULL, claim_expires = NULL WHERE case_id = ?1",
                    params![case_id, CaseState::Superseded],
                )?;
                summary.superseded += 1;
            }
        }
        tx.commit()?;
        Ok(summary)
    }

    /// The queue: cases in `open` and `pending_confirmation` state (or the state asked for),
    /// oldest SLA clock first.
    pub fn queue(&self, filter: &QueueFilter, limit: usize) -> Result<Vec<CaseSummary>> {
        let conn = self.conn()?;
        let mut sql = String::from(
            "SELECT case_id, cluster_id, kind, province_code, regency_code, sla_since, state, claimed_by, claim_expires FROM cases WHERE 1 = 1",
        );
        let mut args: Vec<String> = Vec::new();
        let opened = empty_to_none(filter.opened.clone());
        let decided = empty_to_none(filter.decided.clone());
        match empty_to_none(filter.state.clone()) {
            Some(state) => {
                args.push(state);
                sql.push_str(&format!(" AND state = ?{}", args.len()));
            }
            // A day's cases, opened or decided: whatever their state is now.
            None if opened.is_some() || decided.is_some() => {}
            None => sql.push_str(&format!(
                " AND state IN ('{}', '{}')",
                CaseState::Open,
                CaseState::PendingConfirmation
            )),
        }
        if let Some(p) = empty_to_none(filter.province.clone()) {
            args.push(p);
            sql.push_str(&format!(" AND province_code = ?{}", args.len()));
        }
        if let Some(r) = empty_to_none(filter.regency.clone()) {
            args.push(r);
            sql.push_str(&format!(" AND regency_code = ?{}", args.len()));
        }
        if let Some(k) = empty_to_none(filter.kind.clone()) {
            args.push(k);
            sql.push_str(&format!(" AND kind = ?{}", args.len()));
        }
        if let Some(day) = opened {
            let (start, end) = day_bounds(&day)?;
            sql.push_str(&format!(
                " AND created_at >= {start} AND created_at < {end}"
            ));
        }
        if let Some(day) = decided {
            let (start, end) = day_bounds(&day)?;
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM decisions d WHERE d.case_id = cases.case_id AND d.state = 'final' \
                 AND COALESCE(d.confirmed_at, d.decided_at) >= {start} AND COALESCE(d.confirmed_at, d.decided_at) < {end})"
            ));
        }
        let t = now();
        if let Some(h) = filter.min_age_h {
            sql.push_str(&format!(" AND sla_since <= {}", t - h * 3600));
        }
        if let Some(h) = filter.max_age_h {
            sql.push_str(&format!(" AND sla_since > {}", t - h * 3600));
        }
        sql.push_str(&format!(" ORDER BY sla_since, case_id LIMIT {limit}"));
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), Self::summary_row)?;
        let mut out: Vec<CaseSummary> = rows.collect::<rusqlite::Result<_>>()?;
        for case in &mut out {
            case.members = Self::members_of(&conn, &case.case_id)?;
        }
        Ok(out)
    }

    pub(super) fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseSummary> {
        let sla_since: i64 = r.get(5)?;
        let claim_expires: Option<i64> = r.get(8)?;
        let live = claim_expires.is_some_and(|e| e > now());
        Ok(CaseSummary {
            case_id: r.get(0)?,
            cluster_id: r.get(1)?,
            kind: r.get(2)?,
            province_code: r.get(3)?,
            regency_code: r.get(4)?,
            sla_since,
            age_hours: (now() - sla_since).max(0) / 3600,
            state: r.get(6)?,
            claimed_by: if live { r.get(7)? } else { None },
            claim_expires: if live { claim_expires } else { None },
            members: Vec::new(),
        })
    }

    pub(super) fn members_of(conn: &Connection, case_id: &str) -> Result<Vec<CaseMember>> {
        let mut stmt = conn.prepare(
            "SELECT enrollment_id, status FROM case_members WHERE case_id = ?1 ORDER BY enrollment_id",
        )?;
        let rows = stmt.query_map(params![case_id], |r| {
            Ok(CaseMember {
                enrollment_id: r.get(0)?,
                status: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One case, or `NotFound`.
    pub fn case(&self, case_id: &str) -> Result<CaseSummary> {
        let conn = self.conn()?;
        let mut case = conn
            .query_row(
                "SELECT case_id, cluster_id, kind, province_code, regency_code, sla_since, state, claimed_by, claim_expires FROM cases WHERE case_id = ?1",
                params![case_id],
                Self::summary_row,
            )
            .optional()?
            .ok_or_else(|| AdjudicationError::NotFound(format!("case {case_id}")))?;
        case.members = Self::members_of(&conn, case_id)?;
        Ok(case)
    }

    /// Members of a case.
    pub fn members(&self, case_id: &str) -> Result<Vec<CaseMember>> {
        Self::members_of(&self.conn()?, case_id)
    }
}
