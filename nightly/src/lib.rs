//! The nightly job as a library: every stage in order on one store, one summary.
//!
//! 1. ingest: new packets in `landing/` → lake tables;
//! 2. adjudication sync: adjudicators' final decisions not yet in the lake → `decisions`;
//! 3. dedup: 1:N search of new enrollments, then statuses (decisions applied) and clusters;
//! 4. adjudication sync: cases for new `ganda`/`nik_conflict` clusters;
//! 5. export: personalization jobs for every personalizable identity not yet exported.
//!
//! `tunggal nightly` is a thin wrapper over [`nightly`]; a test, a scheduler or a distributed
//! driver runs a night the same way, without spawning the binary.
//!
//! The one idea to hold in mind: each stage is itself idempotent and records itself in `runs`
//! through the one stage runner (`lake::run::run_stage`), so re-running a finished night
//! changes nothing and re-running a killed night finishes it. The first stage that fails
//! stops the night (a later stage would work on a lake the failed one left behind).

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use thiserror::Error;

pub mod lock;

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
}

/// Runs the five stages in order on `store` and returns what each did.
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
    tracing::info!("nightly: stage 1 of 5: ingest");
    let ingest = ingest::ingest(store, &options.ingest).await?;
    tracing::info!("nightly: stage 2 of 5: decisions from adjudication");
    let decisions = adjudication::sync(store, &case_db).await?;
    tracing::info!("nightly: stage 3 of 5: dedup");
    let dedup = match &options.cluster {
        Some(c) => cluster::dedup(store, &options.dedup, c).await?,
        None => dedup::dedup(store, &options.dedup).await?,
    };
    tracing::info!("nightly: stage 4 of 5: adjudication cases");
    let cases = adjudication::sync(store, &case_db).await?;
    tracing::info!("nightly: stage 5 of 5: personalization export");
    let export = personalization_export::export(store, &options.export).await?;
    Ok(NightSummary {
        ingest,
        decisions,
        dedup,
        cases,
        export,
        elapsed: started.elapsed(),
    })
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
        write!(
            f,
            "stages run: ingest, adjudication sync, dedup, adjudication sync, export  wall time {:.1}s",
            self.elapsed.as_secs_f64()
        )
    }
}
