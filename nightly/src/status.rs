//! `tunggal status`: the state of a store on one screen, for the engineer on call and for a
//! monitoring check (exit status 0 healthy, 1 needs attention).
//!
//! What it reads, and what each part costs on a store of a million enrollments:
//! - `runs` (three rows a night): the last run of each stage, its outcome, duration and
//!   counts, and the failed or interrupted runs since the stage's last success;
//! - the listing of `landing/` (what ingest lists at every run: one object a packet, one LIST
//!   request per thousand objects on S3), anti-joined in DataFusion with `packets` to count
//!   the objects not yet recorded;
//! - `enrollments` anti-joined with `identity_status` (two id columns and a capture time):
//!   enrollments without a 1:N result, grouped by province for the 24-hour SLA;
//! - the personalizable enrollments without a `personalization_jobs` row (the export's own
//!   rule, superseded captures left out), by regency, with that regency's last export;
//! - the case store (SQLite, opened read-only, never created): open cases and the oldest.
//!
//! Every count is an SQL aggregate over the lake (DataFusion), so no table is loaded into
//! memory whole. The one idea to hold in mind: [`Status::attention`] is the list of reasons
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

    /// The screen, with colour on the headline when `colour` (a terminal, no `NO_COLOR`).
    pub fn render(&self, colour: bool) -> String {
        let mut out = String::new();
        let paint = |text: &str, code: &str| {
            if colour {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let headline = if self.attention.is_empty() {
            paint("HEALTHY", "1;32")
        } else {
            paint(
                &format!("NEEDS ATTENTION ({})", self.attention.len()),
                "1;31",
            )
        };
        let running = if self.night_running {
            "  (a night is running now)"
        } else {
            ""
        };
        out.push_str(&format!(
            "tunggal status of {} at {}: {headline}{running}\n",
            self.store,
            when(self.generated)
        ));
        for reason in &self.attention {
            out.push_str(&format!("  ! {reason}\n"));
        }

        out.push_str(&format!(
            "\n{:<8} {:<16} {:<11} {:>8} {:>9} {:>9} {:>9} {:>9}\n",
            "stage",
            "last run (UTC)",
            "outcome",
            "duration",
            "seen",
            "processed",
            "accepted",
            "rejected"
        ));
        for s in &self.stages {
            match &s.last {
                None => out.push_str(&format!("{:<8} never run\n", s.stage.as_str())),
                Some(r) => out.push_str(&format!(
                    "{:<8} {:<16} {:<11} {:>8} {:>9} {:>9} {:>9} {:>9}\n",
                    s.stage.as_str(),
                    r.started.format("%Y-%m-%d %H:%M").to_string(),
                    r.status.as_str(),
                    r.duration_seconds
                        .map(duration)
                        .unwrap_or_else(|| "-".into()),
                    thousands(r.seen.max(0) as u64),
                    thousands(r.processed.max(0) as u64),
                    thousands(r.accepted.max(0) as u64),
                    thousands(r.rejected.max(0) as u64),
                )),
            }
        }
        for s in &self.stages {
            if s.failures_since_success.is_empty() {
                continue;
            }
            let since = s
                .last_success
                .map(|t| format!("its last success at {}", when(t)))
                .unwrap_or_else(|| "it never succeeded".into());
            out.push_str(&format!(
                "  {}: {} failed or interrupted run(s) since {since}\n",
                s.stage,
                s.failures_since_success.len()
            ));
        }
        out.push_str("  (adjudication sync is not recorded in runs: see the night's summary)\n");

        let b = &self.backlog;
        out.push_str("\nbacklog\n");
        let oldest = b
            .oldest_not_ingested
            .map(|t| format!(", oldest landed {}", when(t)))
            .unwrap_or_default();
        out.push_str(&format!(
            "  landed, not yet ingested     {:>10}  of {} objects in landing/{oldest}\n",
            thousands(b.landed_not_ingested),
            thousands(b.landing_objects)
        ));
        out.push_str(&format!(
            "  enrolled, not deduplicated   {:>10}\n",
            thousands(b.not_deduplicated)
        ));
        match (&b.cases, &b.case_store_note) {
            (Some(c), _) => {
                let oldest = c
                    .oldest_created
                    .map(|t| {
                        format!(
                            ", oldest opened {} ({} ago)",
                            when(t),
                            age(self.generated - t)
                        )
                    })
                    .unwrap_or_default();
                out.push_str(&format!(
                    "  adjudication cases open      {:>10}  ({} awaiting confirmation){oldest}\n",
                    thousands(c.open + c.pending_confirmation),
                    thousands(c.pending_confirmation)
                ));
            }
            (None, Some(note)) => out.push_str(&format!("  adjudication cases: {note}\n")),
            (None, None) => {}
        }

        let sla = &self.sla;
        out.push_str(&format!(
            "\n{SLA_HOURS}-hour SLA, enrollments without a 1:N result: at risk (> {AT_RISK_HOURS} h) {}, breached (> {SLA_HOURS} h) {}\n",
            thousands(sla.at_risk),
            thousands(sla.breached)
        ));
        if !sla.by_province.is_empty() {
            out.push_str(&format!(
                "  {:<32} {:>9} {:>9}  oldest capture\n",
                "province", "at risk", "breached"
            ));
            for p in sla.by_province.iter().take(SHOWN) {
                out.push_str(&format!(
                    "  {:<32} {:>9} {:>9}  {}\n",
                    region_label(&p.code, p.name.as_deref(), 32),
                    thousands(p.at_risk),
                    thousands(p.breached),
                    p.oldest_capture.map(when).unwrap_or_default()
                ));
            }
            more(&mut out, sla.by_province.len(), "provinces");
        }

        let p = &self.personalization;
        out.push_str(&format!(
            "\npersonalization: {} waiting for export in {} regencies/cities\n",
            cards(p.cards_waiting),
            thousands(p.regencies.len() as u64)
        ));
        if !p.regencies.is_empty() {
            out.push_str(&format!(
                "  {:<32} {:>9}  last export\n",
                "regency/city", "waiting"
            ));
            for r in p.regencies.iter().take(SHOWN) {
                out.push_str(&format!(
                    "  {:<32} {:>9}  {}\n",
                    region_label(&r.code, r.name.as_deref(), 32),
                    thousands(r.waiting),
                    r.last_export.map(when).unwrap_or_else(|| "never".into())
                ));
            }
            more(&mut out, p.regencies.len(), "regencies/cities");
        }
        out.push_str(&format!(
            "\n(status read in {}; all rows: tunggal status --format json)",
            duration(self.elapsed_seconds)
        ));
        out
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

fn more(out: &mut String, total: usize, what: &str) {
    if total > SHOWN {
        out.push_str(&format!(
            "  and {} more {what} (see --format json)\n",
            thousands((total - SHOWN) as u64)
        ));
    }
}

/// `33 Jawa Tengah`, cut on a character boundary to `width` with `…`.
fn region_label(code: &str, name: Option<&str>, width: usize) -> String {
    let label = match name {
        Some(n) => format!("{code} {n}"),
        None => code.to_string(),
    };
    shorten(&label, width)
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `1 card`, `1,234 cards`.
fn cards(n: u64) -> String {
    if n == 1 {
        "1 card".into()
    } else {
        format!("{} cards", thousands(n))
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration for people: `0.4s`, `12s`, `3m 12s`, `2h 05m`, `3d 4h`.
pub fn duration(seconds: f64) -> String {
    if seconds < 10.0 {
        return format!("{seconds:.1}s");
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn age(d: chrono::TimeDelta) -> String {
    duration(d.num_seconds().max(0) as f64)
}

/// A time for people: `2026-12-02 01:13 UTC`.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Whether a process holds the nightly lock at `path`: probed with a shared, non-blocking
/// lock released at once (a night starting in that instant would find it held and say so).
fn lock_held(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

/// Every stage's last run, last success and failures since, from `runs` (a few rows a night).
async fn stages(ctx: &SessionContext) -> Result<Vec<StageStatus>, StatusError> {
    let rows = lake::query::rows(
        ctx,
        "SELECT * FROM runs ORDER BY started DESC",
        runs::from_batch,
    )
    .await
    .map_err(reading("reading runs"))?;
    Ok(Stage::ALL
        .iter()
        .map(|&stage| {
            let mine: Vec<&RunRecord> = rows.iter().filter(|r| r.stage == stage).collect();
            let last_ok = mine.iter().position(|r| r.status == RunStatus::Succeeded);
            let failures = mine[..last_ok.unwrap_or(mine.len())]
                .iter()
                .filter(|r| matches!(r.status, RunStatus::Failed | RunStatus::Interrupted))
                .map(|r| summary(r))
                .collect();
            StageStatus {
                stage,
                last: mine.first().map(|r| summary(r)),
                last_success: last_ok.map(|i| mine[i].finished.unwrap_or(mine[i].started)),
                failures_since_success: failures,
            }
        })
        .collect())
}

fn summary(r: &RunRecord) -> RunSummary {
    let error = (r.status == RunStatus::Failed)
        .then(|| {
            r.detail
                .as_deref()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from))
        })
        .flatten();
    RunSummary {
        run_id: r.run_id.clone(),
        status: r.status,
        started: r.started,
        finished: r.finished,
        duration_seconds: r
            .finished
            .map(|f| (f - r.started).num_milliseconds() as f64 / 1000.0),
        seen: r.seen,
        processed: r.processed,
        accepted: r.accepted,
        rejected: r.rejected,
        error,
    }
}

/// Lists `landing/` as ingest does by default (the day folders of the re-scan window,
/// `ingest::landing`) and counts, in DataFusion, the objects without a `packets` row.
async fn landing_backlog(
    store: &lake::Store,
    ctx: &SessionContext,
) -> Result<Backlog, StatusError> {
    let clock = Instant::now();
    let scan =
        ingest::LandingScan::for_upload_delay(ingest::CaptureWindow::default().max_upload_delay);
    let listing = ingest::landing::list(store, ingest::LANDING, scan, Utc::now().date_naive())
        .await
        .map_err(reading("listing landing/"))?
        .objects;
    let listing_seconds = clock.elapsed().as_secs_f64();
    let schema = Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("landed_us", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                listing.iter().map(|m| m.location.as_ref()),
            )),
            Arc::new(Int64Array::from_iter_values(
                listing.iter().map(|m| m.last_modified.timestamp_micros()),
            )),
        ],
    )
    .map_err(|e| StatusError {
        what: "listing landing/",
        error: e.into(),
    })?;
    let table = MemTable::try_new(schema, vec![vec![batch]]).map_err(df("listing landing/"))?;
    ctx.register_table("status_landed", Arc::new(table))
        .map_err(df("listing landing/"))?;
    let batches = lake::query::collect(
        ctx,
        "SELECT count(*) AS n, min(l.landed_us) AS oldest FROM status_landed l \
         WHERE NOT EXISTS (SELECT 1 FROM packets p WHERE p.object_path = l.path)",
    )
    .await
    .map_err(reading("counting packets not yet ingested"))?;
    let (n, oldest) = first_count_and_time(&batches, "n", "oldest")?;
    Ok(Backlog {
        landing_objects: listing.len() as u64,
        landed_not_ingested: n,
        oldest_not_ingested: oldest,
        listing_seconds,
        not_deduplicated: 0,
        cases: None,
        case_store_note: None,
    })
}

fn first_count_and_time(
    batches: &[RecordBatch],
    count: &str,
    micros: &str,
) -> Result<(u64, Option<DateTime<Utc>>), StatusError> {
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok((0, None));
    };
    let c = Columns::new(batch);
    let n = c.longs(count).map_err(reading("reading a count"))?;
    let t = c.longs(micros).map_err(reading("reading a count"))?;
    Ok((
        n.value(0).max(0) as u64,
        (!t.is_null(0))
            .then(|| DateTime::from_timestamp_micros(t.value(0)))
            .flatten(),
    ))
}

/// Enrollments without a 1:N result: how many, and the SLA counts by province at `now`.
/// Also what the nightly job's `tunggal_sla_enrollments` gauge reports.
pub async fn sla(ctx: &SessionContext, now: DateTime<Utc>) -> Result<(u64, Sla), StatusError> {
    let now_us = now.timestamp_micros();
    let risk_us = now_us - AT_RISK_HOURS * 3_600_000_000;
    let breach_us = now_us - SLA_HOURS * 3_600_000_000;
    let sql = format!(
        "WITH pending AS ( \
            SELECT e.province_code, CAST(e.capture_finished AS BIGINT) AS captured \
            FROM enrollments e \
            WHERE NOT EXISTS (SELECT 1 FROM identity_status s \
                              WHERE s.enrollment_id = e.enrollment_id)), \
         byp AS ( \
            SELECT province_code, count(*) AS pending, \
                   sum(CASE WHEN captured < {risk_us} AND captured >= {breach_us} \
                       THEN 1 ELSE 0 END) AS at_risk, \
                   sum(CASE WHEN captured < {breach_us} THEN 1 ELSE 0 END) AS breached, \
                   min(captured) AS oldest \
            FROM pending GROUP BY province_code) \
         SELECT b.province_code, g.name, b.pending, b.at_risk, b.breached, b.oldest \
         FROM byp b LEFT JOIN regions g ON g.code = b.province_code \
         ORDER BY b.breached DESC, b.at_risk DESC, b.province_code"
    );
    let batches = lake::query::collect(ctx, &sql)
        .await
        .map_err(reading("counting enrollments without a result"))?;
    let mut pending_total = 0;
    let mut sla = Sla::default();
    let bad = reading("reading the SLA counts");
    let read = |batch: &RecordBatch| -> lake::Result<Vec<(ProvinceSla, u64)>> {
        let c = Columns::new(batch);
        let (code, name) = (c.text("province_code")?, c.text("name")?);
        let (pending, risk, breached, oldest) = (
            c.longs("pending")?,
            c.longs("at_risk")?,
            c.longs("breached")?,
            c.longs("oldest")?,
        );
        Ok((0..c.len())
            .map(|i| {
                (
                    ProvinceSla {
                        code: code.string(i),
                        name: name.opt(i),
                        at_risk: risk.value(i).max(0) as u64,
                        breached: breached.value(i).max(0) as u64,
                        oldest_capture: (!oldest.is_null(i))
                            .then(|| DateTime::from_timestamp_micros(oldest.value(i)))
                            .flatten(),
                    },
                    pending.value(i).max(0) as u64,
                )
            })
            .collect())
    };
    let rows = lake::tables::read::from_batches(&batches, read).map_err(bad)?;
    for (p, pending) in rows {
        pending_total += pending;
        sla.at_risk += p.at_risk;
        sla.breached += p.breached;
        if p.at_risk + p.breached > 0 {
            sla.by_province.push(p);
        }
    }
    Ok((pending_total, sla))
}

/// Cards waiting for export by regency (the export's rule: personalizable, no job row, the
/// latest personalizable capture of its NIK), with each regency's last export.
///
/// Planned for a big lake: the ids without a job first (two id columns), then the few NIKs
/// behind them, and only their enrollments joined and ranked; joining every status with its
/// enrollment first took 6.6 s instead of 3.9 s on the 1M lake.
async fn personalization(ctx: &SessionContext) -> Result<Personalization, StatusError> {
    let sql = format!(
        "WITH cand_ids AS ( \
            SELECT s.enrollment_id FROM identity_status s \
            WHERE s.status IN {personalizable} AND NOT EXISTS \
                (SELECT 1 FROM personalization_jobs j WHERE j.enrollment_id = s.enrollment_id)), \
         cand AS ( \
            SELECT e.nik FROM cand_ids c JOIN enrollments e ON e.enrollment_id = c.enrollment_id), \
         sib AS ( \
            SELECT e.enrollment_id, e.nik, e.regency_code, \
                   CAST(e.capture_finished AS BIGINT) AS captured \
            FROM (SELECT DISTINCT nik FROM cand) n \
            JOIN enrollments e ON e.nik = n.nik \
            JOIN identity_status s ON s.enrollment_id = e.enrollment_id \
            WHERE s.status IN {personalizable}), \
         ranked AS ( \
            SELECT enrollment_id, regency_code, row_number() OVER ( \
                PARTITION BY nik ORDER BY captured DESC, enrollment_id DESC) AS latest \
            FROM sib), \
         waiting AS ( \
            SELECT r.regency_code, count(*) AS waiting \
            FROM ranked r JOIN cand_ids c ON c.enrollment_id = r.enrollment_id \
            WHERE r.latest = 1 GROUP BY r.regency_code), \
         last_export AS ( \
            SELECT regency_code, max(CAST(exported_time AS BIGINT)) AS last_us \
            FROM personalization_jobs \
            WHERE regency_code IN (SELECT regency_code FROM waiting) \
            GROUP BY regency_code) \
         SELECT w.regency_code, g.name, w.waiting, x.last_us \
         FROM waiting w \
         LEFT JOIN last_export x ON x.regency_code = w.regency_code \
         LEFT JOIN regions g ON g.code = w.regency_code \
         ORDER BY w.waiting DESC, w.regency_code",
        personalizable = sql_list(IdentityStatus::PERSONALIZABLE)
    );
    let batches = lake::query::collect(ctx, &sql)
        .await
        .map_err(reading("counting cards waiting for export"))?;
    let read = |batch: &RecordBatch| -> lake::Result<Vec<RegencyWaiting>> {
        let c = Columns::new(batch);
        let (code, name) = (c.text("regency_code")?, c.text("name")?);
        let (waiting, last) = (c.longs("waiting")?, c.longs("last_us")?);
        Ok((0..c.len())
            .map(|i| RegencyWaiting {
                code: code.string(i),
                name: name.opt(i),
                waiting: waiting.value(i).max(0) as u64,
                last_export: (!last.is_null(i))
                    .then(|| DateTime::from_timestamp_micros(last.value(i)))
                    .flatten(),
            })
            .collect())
    };
    let regencies = lake::tables::read::from_batches(&batches, read)
        .map_err(reading("reading the cards waiting"))?;
    Ok(Personalization {
        cards_waiting: regencies.iter().map(|r| r.waiting).sum(),
        regencies,
    })
}

/// Open cases from the case store, opened read-only; `Ok(None)` when there is no case store
/// file (the first night creates it).
fn read_cases(path: &Path) -> Result<Option<CaseBacklog>, rusqlite::Error> {
    use adjudication::store::CaseState;
    use rusqlite::OpenFlags;
    if !path.is_file() {
        return Ok(None);
    }
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let (open, pending) = (
        CaseState::Open.as_str(),
        CaseState::PendingConfirmation.as_str(),
    );
    let mut stmt = conn.prepare(
        "SELECT state, count(*), min(created_at) FROM cases WHERE state IN (?1, ?2) GROUP BY state",
    )?;
    let mut out = CaseBacklog {
        path: path.display().to_string(),
        ..Default::default()
    };
    let rows = stmt.query_map([open, pending], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<i64>>(2)?,
        ))
    })?;
    for row in rows {
        let (state, n, oldest) = row?;
        if state == open {
            out.open = n.max(0) as u64;
        } else {
            out.pending_confirmation = n.max(0) as u64;
        }
        let oldest = oldest.and_then(|s| DateTime::from_timestamp(s, 0));
        out.oldest_created = match (out.oldest_created, oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(Some(out))
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
