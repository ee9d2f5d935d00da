//! What the supervisors' overview counts from the case store: open cases by province, cases
//! opened and decided per day, and the age of the open queue.
//!
//! The one idea to hold in mind: every count here has a queue filter ([`super::QueueFilter`])
//! that lists exactly the cases it counts, so each bar and province on the overview links to
//! them.

use rusqlite::params;
use serde::Serialize;

use super::{now, CaseState, CaseStore};
use crate::error::Result;

/// Cases opened and decided on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// The day (`YYYY-MM-DD`, data center's zone).
    pub day: String,
    /// Cases opened that day.
    pub opened: i64,
    /// Cases whose decision became final that day.
    pub decided: i64,
}

/// Open cases whose SLA clock is in `[min_h, max_h)` hours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgeBucket {
    /// Lower bound, hours.
    pub min_h: i64,
    /// Upper bound, hours (none: open ended).
    pub max_h: Option<i64>,
    /// Cases.
    pub count: i64,
}

/// The bounds (hours) of the open queue's age buckets: the 24-hour SLA is one of them.
pub const AGE_BOUNDS: [i64; 4] = [12, 24, 48, 168];

impl CaseStore {
    /// Open cases (open or pending confirmation) by province code.
    pub fn open_by_province(&self) -> Result<Vec<(String, i64)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT province_code, count(*) FROM cases WHERE state IN (?1, ?2)
             GROUP BY province_code ORDER BY province_code",
        )?;
        let rows = stmt.query_map(
            params![CaseState::Open, CaseState::PendingConfirmation],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Cases opened and decided on each of the last `days` days up to `today` (days of the
    /// data center's zone, oldest first, days without any included).
    pub fn per_day(&self, days: i64, today: chrono::NaiveDate) -> Result<Vec<DayCount>> {
        let conn = self.conn()?;
        let mut out = Vec::new();
        let mut opened_stmt =
            conn.prepare("SELECT count(*) FROM cases WHERE created_at >= ?1 AND created_at < ?2")?;
        let mut decided_stmt = conn.prepare(
            "SELECT count(DISTINCT case_id) FROM decisions WHERE state = 'final'
             AND COALESCE(confirmed_at, decided_at) >= ?1 AND COALESCE(confirmed_at, decided_at) < ?2",
        )?;
        for back in (0..days).rev() {
            let day = (today - chrono::Days::new(back as u64))
                .format("%Y-%m-%d")
                .to_string();
            let (start, end) = super::queue::day_bounds(&day)?;
            let opened = opened_stmt.query_row(params![start, end], |r| r.get(0))?;
            let decided = decided_stmt.query_row(params![start, end], |r| r.get(0))?;
            out.push(DayCount {
                day,
                opened,
                decided,
            });
        }
        Ok(out)
    }

    /// The open queue by age of its SLA clock, in the buckets of [`AGE_BOUNDS`].
    pub fn age_buckets(&self) -> Result<Vec<AgeBucket>> {
        let conn = self.conn()?;
        let t = now();
        let mut stmt = conn.prepare(
            "SELECT count(*) FROM cases WHERE state IN (?1, ?2) AND sla_since <= ?3 AND sla_since > ?4",
        )?;
        let mut out = Vec::new();
        let mut lower = 0;
        for upper in AGE_BOUNDS.iter().copied().map(Some).chain([None]) {
            let newest = t - lower * 3600;
            let oldest = upper.map_or(i64::MIN, |u| t - u * 3600);
            let count = stmt.query_row(
                params![
                    CaseState::Open,
                    CaseState::PendingConfirmation,
                    newest,
                    oldest
                ],
                |r| r.get(0),
            )?;
            out.push(AgeBucket {
                min_h: lower,
                max_h: upper,
                count,
            });
            lower = upper.unwrap_or(lower);
        }
        Ok(out)
    }
}
