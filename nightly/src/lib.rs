//! The nightly job as a library: every stage in order on one store, one summary.
//!
//! 1. ingest: new packets in `landing/` → lake tables;
//! 2. adjudication sync: adjudicators' final decisions not yet in the lake → `decisions`;
//! 3. dedup: 1:N search of new enrollments, then statuses (decisions applied) and clusters;
//! 4. adjudication sync: cases for new `ganda`/`nik_conflict` clusters;
//! 5. export: personalization jobs for every personalizable identity not yet exported;
//! 6. maintain: housekeeping of the lake tables and the stored gallery ([`maintain`]).
//!
//! `tunggal nightly` is a thin wrapper over [`nightly`]; a test, a scheduler or a distributed
//! driver runs a night the same way, without spawning the binary.
//!
//! The one idea to hold in mind: each stage is itself idempotent and records itself in `runs`
//! through the one stage runner (`lake::run::run_stage`), so re-running a finished night
//! changes nothing and re-running a killed night finishes it. The first stage that fails
//! stops the night (a later stage would work on a lake the failed one left behind).
//!
//! Beside the night: [`status`] (`tunggal status`, the store's state on one screen) and
//! [`metrics`] (the night's metric families, written with the stage runner's to a
//! node-exporter textfile after every stage when [`NightlyOptions::metrics_file`] is set).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thiserror::Error;

pub mod lock;
pub mod maintain;
pub mod metrics;
pub mod status;

/// What one night runs with: the options of each stage and where the case store lives.
#[derive(Clone, Debug)]
pub struct NightlyOptions {
    /// Ingest's options (chunk size, fetch concurrency, progress bar).
    pub ingest: ingest::IngestOptions,
    /// Dedup's options (thresholds, batch size, search depth, memory).
    pub dedup: dedup::DedupOptions,
    /// Search the stored gallery on this Ballista cluster instead of in this process (same
    /// results); `None`: here.
    pub cluster: Option<cluster::ClusterOptions>,
    /// The adjudication case store (SQLite); `None`: [`adjudication::default_case_db`].
    pub case_db: Option<PathBuf>,
    /// Export's options (signing key, fetch concurrency).
    pub export: personalization_export::ExportOptions,
    /// Housekeeping after export; `None`: skipped (`tunggal maintain` runs it alone).
    pub maintain: Option<maintain::MaintainOptions>,
    /// Where to write the metrics textfile (node-exporter's textfile collector) after every
    /// stage and at the end of the night, failed or not; `None`: no file.
    pub metrics_file: Option<PathBuf>,
}

/// What a night did, stage by stage.
#[derive(Debug)]
pub struct NightSummary {
    /// Ingest's summary.
    pub ingest: ingest::IngestSummary,
    /// Decisions taken into the lake before dedup (stage 2).
    pub decisions: adjudication::SyncSummary,
    /// Dedup's summary.
    pub dedup: dedup::DedupSummary,
    /// Cases made after dedup (stage 4).
    pub cases: adjudication::SyncSummary,
    /// Export's summary.
    pub export: personalization_export::ExportSummary,
    /// Housekeeping's summary, when it ran.
    pub maintain: Option<maintain::MaintainSummary>,
    /// Wall time of the whole night.
    pub elapsed: Duration,
}

/// A stage of the night failed; the night stopped there.
#[derive(Debug, Error)]
pub enum NightlyError {
    /// The case store's folder could not be created.
    #[error("case store folder {path}: {error}")]
    CaseStore {
        /// The folder.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// Ingest failed.
    #[error("ingest: {0}")]
    Ingest(#[from] ingest::IngestError),
    /// An adjudication sync failed.
    #[error("adjudication sync: {0}")]
    Adjudication(#[from] adjudication::AdjudicationError),
    /// Dedup failed.
    #[error("dedup: {0}")]
    Dedup(#[from] dedup::DedupError),
    /// Export failed.
    #[error("export: {0}")]
    Export(#[from] personalization_export::ExportError),
    /// Housekeeping failed (everything before it is done and committed).
    #[error("maintain: {0}")]
    Maintain(#[from] maintain::MaintainError),
}

/// Runs the six stages in order on `store` and returns what each did.
pub async fn nightly(
    store: &lake::Store,
    options: &NightlyOptions,
) -> Result<NightSummary, NightlyError> {
    let started = Instant::now();
    let case_db = options
        .case_db
        .clone()
        .unwrap_or_else(|| adjudication::default_case_db(store));
    if let Some(dir) = case_db.parent() {
        std::fs::create_dir_all(dir).map_err(|error| NightlyError::CaseStore {
            path: dir.display().to_string(),
            error,
        })?;
    }
    let file = options.metrics_file.as_deref();
    tracing::info!("nightly: stage 1 of 6: ingest");
    let ingest = ingest::ingest(store, &options.ingest).await;
    checkpoint(store, file, &ingest, metrics::record_ingest, false).await;
    let ingest = ingest?;
    tracing::info!("nightly: stage 2 of 6: decisions from adjudication");
    let decisions = adjudication::sync(store, &case_db).await;
    checkpoint(store, file, &decisions, metrics::record_sync, false).await;
    let decisions = decisions?;
    tracing::info!("nightly: stage 3 of 6: dedup");
    let dedup = match &options.cluster {
        Some(c) => cluster::dedup(store, &options.dedup, c).await,
        None => dedup::dedup(store, &options.dedup).await,
    };
    checkpoint(store, file, &dedup, metrics::record_dedup, false).await;
    let dedup = dedup?;
    tracing::info!("nightly: stage 4 of 6: adjudication cases");
    let cases = adjudication::sync(store, &case_db).await;
    checkpoint(store, file, &cases, metrics::record_sync, false).await;
    let cases = cases?;
    tracing::info!("nightly: stage 5 of 6: personalization export");
    let export = personalization_export::export(store, &options.export).await;
    let last = options.maintain.is_none();
    checkpoint(store, file, &export, metrics::record_export, last).await;
    let export = export?;
    let maintain = match &options.maintain {
        Some(m) => {
            tracing::info!("nightly: stage 6 of 6: maintain");
            let done = maintain::maintain(store, m).await;
            checkpoint(store, file, &done, |_| {}, true).await;
            Some(done?)
        }
        None => None,
    };
    Ok(NightSummary {
        ingest,
        decisions,
        dedup,
        cases,
        export,
        maintain,
        elapsed: started.elapsed(),
    })
}

/// After a stage: records its summary's families (when it succeeded) and, with a metrics
/// file, writes the textfile; after the last stage or a failed one (the end of the night) the
/// SLA gauge is measured first. A textfile that cannot be written is logged, never fails the
/// night: the night's work matters more than its report.
async fn checkpoint<T, E>(
    store: &lake::Store,
    file: Option<&Path>,
    result: &Result<T, E>,
    record: impl FnOnce(&T),
    last: bool,
) {
    if let Ok(summary) = result {
        record(summary);
    }
    let Some(file) = file else { return };
    if last || result.is_err() {
        if let Err(e) = metrics::record_sla(store).await {
            tracing::warn!(error = %e, "could not measure the SLA for the metrics file");
        }
    }
    if let Err(e) = lake::metrics::write_textfile(file) {
        tracing::error!(path = %file.display(), error = %e, "could not write the metrics file");
    }
}

impl fmt::Display for NightSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "== nightly summary")?;
        writeln!(f, "{}", self.ingest)?;
        writeln!(f, "{}", self.dedup)?;
        writeln!(
            f,
            "adjudication: {} final decisions and {} audit entries taken into the lake; cases {} new, {} open before, {} superseded",
            self.decisions.decisions_exported + self.cases.decisions_exported,
            self.decisions.audit_exported + self.cases.audit_exported,
            self.cases.cases.created,
            self.cases.cases.existing,
            self.cases.cases.superseded
        )?;
        writeln!(f, "{}", self.export)?;
        if let Some(m) = &self.maintain {
            writeln!(f, "{m}")?;
        }
        write!(
            f,
            "stages run: ingest, adjudication sync, dedup, adjudication sync, export{}  wall time {:.1}s",
            if self.maintain.is_some() { ", maintain" } else { "" },
            self.elapsed.as_secs_f64()
        )
    }
}
