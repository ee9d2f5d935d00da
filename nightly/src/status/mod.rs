//! `tunggal status`: the state of a store on one screen, for the engineer on call and for a
//! monitoring check (exit status 0 healthy, 1 needs attention).
//!
//! What it reads, and what each part costs on a store of a million enrollments:
//! - `runs` (three rows a night): the last run of each stage, its outcome, duration and
//!   counts, and the failed or interrupted runs since the stage's last success;
//! - the listing of `landing/` as ingest lists it (the day folders of the re-scan window,
//!   `ingest::landing`), anti-joined in DataFusion with `packets` to count the objects not
//!   yet recorded;
//! - `enrollments` anti-joined with `identity_status` (two id columns and a capture time):
//!   enrollments without a 1:N result, grouped by province for the 24-hour SLA;
//! - the personalizable enrollments without a `personalization_jobs` row (the export's own
//!   rule, superseded captures left out), by regency, with that regency's last export;
//! - the case store (SQLite, opened read-only, never created): open cases and the oldest.
//!
//! Every count is an SQL aggregate over the lake (DataFusion), so no table is loaded into
//! memory whole. The reads live in `queries`, the screen in `render`. The one idea to hold in mind: [`Status::attention`] is the list of reasons
//! behind [`Status::exit_code`]; anything worth waking someone for is a line there, and
//! nothing else changes the exit status.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{DateTime, Utc};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use lake::tables::read::Columns;
use lake::tables::runs::{self, RunRecord};
use lake::vocabulary::{sql_list, IdentityStatus, RunStatus, Stage};
use serde::Serialize;

mod queries;
mod render;

pub use queries::sla;
use queries::*;
use render::*;
pub use render::{duration, thousands, when};

/// Hours after capture from which an enrollment without a 1:N result is at risk of missing
/// the SLA.
pub const AT_RISK_HOURS: i64 = 20;
/// Hours after capture within which an enrollment must have its 1:N result (the SLA).
pub const SLA_HOURS: i64 = 24;
/// A stage whose last success is older than this (and no night is running) needs attention:
/// the nightly timer may not be running.
pub const STALE_HOURS: i64 = 26;
/// The stages every night runs: one that never ran, or whose last success is stale, needs
/// attention. Other stages (housekeeping, run on its own schedule) only when they fail.
pub const NIGHTLY_STAGES: &[Stage] = &[Stage::Ingest, Stage::Dedup, Stage::Export];
/// Rows shown per table on screen (provinces, regencies, failed runs); the JSON has all.
pub const SHOWN: usize = 6;

/// Where `status` looks besides the store.
#[derive(Clone, Debug)]
pub struct StatusOptions {
    /// The case store (SQLite); `None`: [`adjudication::default_case_db`].
    pub case_db: Option<PathBuf>,
    /// The nightly lock file; `None`: [`crate::lock::lock_path`]'s default.
    pub lock_file: Option<PathBuf>,
    /// The time the ages are measured from (now, or a fixed time in tests).
    pub now: DateTime<Utc>,
}

impl Default for StatusOptions {
    fn default() -> Self {
        StatusOptions {
            case_db: None,
            lock_file: None,
            now: Utc::now(),
        }
    }
}

/// Reading the store failed: `status` exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {error}")]
pub struct StatusError {
    /// What was being read.
    pub what: &'static str,
    /// The lake's error.
    pub error: lake::LakeError,
}

fn reading(what: &'static str) -> impl FnOnce(lake::LakeError) -> StatusError {
    move |error| StatusError { what, error }
}

fn df(what: &'static str) -> impl FnOnce(datafusion::error::DataFusionError) -> StatusError {
    move |error| StatusError {
        what,
        error: error.into(),
    }
}

/// The state of a store, as `tunggal status` shows it (screen: [`fmt::Display`], JSON: serde).
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// The store's root URL.
    pub store: String,
    /// When the status was taken.
    pub generated: DateTime<Utc>,
    /// Whether a night holds the nightly lock right now.
    pub night_running: bool,
    /// Each stage of the `runs` vocabulary (ingest, dedup, export, …), in night order.
    pub stages: Vec<StageStatus>,
    /// What waits for the next night.
    pub backlog: Backlog,
    /// The 24-hour SLA of enrollments still without a 1:N result.
    pub sla: Sla,
    /// Cards waiting for personalization export, by regency/city.
    pub personalization: Personalization,
    /// Why the store needs attention; empty when healthy.
    pub attention: Vec<String>,
    /// Seconds taken to compute this status.
    pub elapsed_seconds: f64,
}

/// One stage's recent history from `runs`.
#[derive(Clone, Debug, Serialize)]
pub struct StageStatus {
    /// The stage.
    pub stage: Stage,
    /// Its last run, if it ever ran.
    pub last: Option<RunSummary>,
    /// When its last successful run ended.
    pub last_success: Option<DateTime<Utc>>,
    /// Failed or interrupted runs since the last success (newest first).
    pub failures_since_success: Vec<RunSummary>,
}

/// One `runs` row, as shown.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// The run id.
    pub run_id: String,
    /// `running`, `succeeded`, `failed` or `interrupted`.
    pub status: RunStatus,
    /// Start time.
    pub started: DateTime<Utc>,
    /// End time (none while running, or after a crash).
    pub finished: Option<DateTime<Utc>>,
    /// `finished - started`, in seconds.
    pub duration_seconds: Option<f64>,
    /// Objects looked at.
    pub seen: i64,
    /// Objects recorded.
    pub processed: i64,
    /// Of those, accepted.
    pub accepted: i64,
    /// Of those, rejected.
    pub rejected: i64,
    /// The error of a failed run (from `runs.detail`).
    pub error: Option<String>,
}

/// What is waiting for the next night.
#[derive(Clone, Debug, Serialize)]
pub struct Backlog {
    /// Objects in `landing/`.
    pub landing_objects: u64,
    /// Of those, objects with no `packets` row yet (not yet ingested).
    pub landed_not_ingested: u64,
    /// When the oldest of those landed.
    pub oldest_not_ingested: Option<DateTime<Utc>>,
    /// Seconds the listing of `landing/` took (it grows with the objects kept there).
    pub listing_seconds: f64,
    /// Enrollments without an `identity_status` row (not yet deduplicated).
    pub not_deduplicated: u64,
    /// The case store's open cases; `None` when there is no case store (yet) or it could
    /// not be read (then [`Backlog::case_store_note`] says why).
    pub cases: Option<CaseBacklog>,
    /// Why [`Backlog::cases`] is empty, if it is.
    pub case_store_note: Option<String>,
}

/// Adjudication cases not yet final.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaseBacklog {
    /// The case store file.
    pub path: String,
    /// Cases waiting for an adjudicator.
    pub open: u64,
    /// Cases decided, waiting for a second adjudicator or a supervisor.
    pub pending_confirmation: u64,
    /// When the oldest of these cases was created.
    pub oldest_created: Option<DateTime<Utc>>,
}

/// The 24-hour SLA: enrollments still without a 1:N result, by age since capture.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sla {
    /// Captured more than [`AT_RISK_HOURS`] and at most [`SLA_HOURS`] ago.
    pub at_risk: u64,
    /// Captured more than [`SLA_HOURS`] ago.
    pub breached: u64,
    /// Provinces with at-risk or breached enrollments, most breached first.
    pub by_province: Vec<ProvinceSla>,
}

/// One province's SLA line.
#[derive(Clone, Debug, Serialize)]
pub struct ProvinceSla {
    /// Province code `PP`.
    pub code: String,
    /// Province name (reference regions).
    pub name: Option<String>,
    /// At-risk enrollments.
    pub at_risk: u64,
    /// Breached enrollments.
    pub breached: u64,
    /// Capture time of the oldest enrollment without a result.
    pub oldest_capture: Option<DateTime<Utc>>,
}

/// Cards waiting for the personalization export.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Personalization {
    /// Personalizable enrollments not yet exported (latest capture of each NIK only).
    pub cards_waiting: u64,
    /// Regencies with cards waiting, most waiting first.
    pub regencies: Vec<RegencyWaiting>,
}

/// One regency/city with cards waiting.
#[derive(Clone, Debug, Serialize)]
pub struct RegencyWaiting {
    /// Regency code `PP.KK`.
    pub code: String,
    /// Regency/city name.
    pub name: Option<String>,
    /// Cards waiting.
    pub waiting: u64,
    /// When the regency's last personalization job was written, if ever.
    pub last_export: Option<DateTime<Utc>>,
}

impl Status {
    /// Computes the status of `store` at `options.now`. Fails only when the lake cannot be
    /// read; a missing or unreadable case store is a note (and, if unreadable, a reason for
    /// attention), never an error.
    pub async fn compute(
        store: &lake::Store,
        options: &StatusOptions,
    ) -> Result<Status, StatusError> {
        let clock = Instant::now();
        let now = options.now;
        let ctx = lake::sql_context(store)
            .await
            .map_err(reading("opening the lake"))?;
        let lock = crate::lock::lock_path(store, options.lock_file.as_deref());
        let night_running = lock_held(&lock);
        let stages = stages(&ctx).await?;
        let mut backlog = landing_backlog(store, &ctx).await?;
        let (not_deduplicated, sla) = sla(&ctx, now).await?;
        backlog.not_deduplicated = not_deduplicated;
        let case_db = options
            .case_db
            .clone()
            .unwrap_or_else(|| adjudication::default_case_db(store));
        match read_cases(&case_db) {
            Ok(Some(cases)) => backlog.cases = Some(cases),
            Ok(None) => {
                backlog.case_store_note =
                    Some(format!("no case store yet at {}", case_db.display()))
            }
            Err(e) => {
                backlog.case_store_note =
                    Some(format!("case store {} unreadable: {e}", case_db.display()))
            }
        }
        let personalization = personalization(&ctx).await?;
        let mut status = Status {
            store: store.url().to_string(),
            generated: now,
            night_running,
            stages,
            backlog,
            sla,
            personalization,
            attention: Vec::new(),
            elapsed_seconds: 0.0,
        };
        status.attention = status.reasons();
        status.elapsed_seconds = clock.elapsed().as_secs_f64();
        Ok(status)
    }

    /// 0 when healthy, 1 when something needs attention ([`Status::attention`]).
    pub fn exit_code(&self) -> i32 {
        if self.attention.is_empty() {
            0
        } else {
            1
        }
    }

    /// The reasons for attention, from the parts already computed.
    fn reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.stages {
            let nightly = NIGHTLY_STAGES.contains(&s.stage);
            let Some(last) = &s.last else {
                if nightly {
                    out.push(format!("{}: has never run on this store", s.stage));
                }
                continue;
            };
            match last.status {
                RunStatus::Failed => out.push(format!(
                    "{}: last run failed at {}{}",
                    s.stage,
                    when(last.finished.unwrap_or(last.started)),
                    last.error
                        .as_deref()
                        .map(|e| format!(": {}", shorten(e, 120)))
                        .unwrap_or_default()
                )),
                RunStatus::Interrupted => out.push(format!(
                    "{}: last run (started {}) was interrupted: its process died",
                    s.stage,
                    when(last.started)
                )),
                RunStatus::Running if !self.night_running => out.push(format!(
                    "{}: last run (started {}) is marked running but no night holds the lock: \
                     its process died (the next run marks it interrupted)",
                    s.stage,
                    when(last.started)
                )),
                RunStatus::Running | RunStatus::Succeeded => {}
            }
            if nightly && !self.night_running {
                if let Some(ok) = s.last_success {
                    if (self.generated - ok).num_hours() >= STALE_HOURS {
                        out.push(format!(
                            "{}: last success {} ago (more than {STALE_HOURS} h: is the nightly \
                             timer running?)",
                            s.stage,
                            age(self.generated - ok)
                        ));
                    }
                }
            }
        }
        if self.sla.breached > 0 {
            out.push(format!(
                "SLA: {} enrollments captured more than {SLA_HOURS} h ago still without a 1:N \
                 result",
                thousands(self.sla.breached)
            ));
        }
        if let Some(note) = &self.backlog.case_store_note {
            if note.contains("unreadable") {
                out.push(note.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_durations_and_times_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(duration(0.42), "0.4s");
        assert_eq!(duration(12.4), "12s");
        assert_eq!(duration(192.0), "3m 12s");
        assert_eq!(duration(7_500.0), "2h 05m");
        assert_eq!(duration(3.0 * 86_400.0 + 4.0 * 3600.0), "3d 4h");
        let t = DateTime::parse_from_rfc3339("2026-12-02T01:13:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(when(t), "2026-12-02 01:13 UTC");
        assert_eq!(shorten("Kabupaten Kepulauan Seribu", 12), "Kabupaten K…");
        assert_eq!(cards(1), "1 card");
        assert_eq!(cards(2_000), "2,000 cards");
    }
}
