//! The export run: every personalizable enrollment not yet exported becomes a sealed card in
//! its regency/city's job, `personalization_jobs` records it, and each service point gets its
//! results.
//!
//! The one idea to hold in mind — crash safety without a second card. The order is:
//! 1. roll forward what an interrupted run left (`recover`);
//! 2. plan: which printables get a card, in which regency's job (`plan`);
//! 3. write an *in-flight plan* `state/export-inflight/<run_id>.json` (job ids and folders,
//!    no personal data);
//! 4. write each job: card files, then `manifest.json`, then `manifest.sig` (last: a job is
//!    complete, and printable, exactly when its signature exists) (`writer`);
//! 5. commit all `personalization_jobs` rows of the run in one Delta commit;
//! 6. write the site-result feed, delete the plan, finish the `runs` row.
//!
//! A run killed between 4 and 5 leaves signed jobs that the table does not know; the next
//! run's step 1 adopts them or removes them, never exports them again under a new id.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use lake::vocabulary::Stage;
use lake::Store;
use tracing::info;

use crate::error::Result;
use crate::feed;
use crate::keys::{self, DcKey};
use crate::plan::{self, InflightPlan};
use crate::queries;
use crate::recover::{self, Recovered};
use crate::writer::JobWriter;

pub use crate::recover::INFLIGHT_PREFIX;
pub use crate::store_files::read_job_files;
pub use crate::summary::{ExportSummary, JobSummary};

/// Test-only fault injection: when this variable is `1`, the export process aborts after
/// writing its job files and before committing `personalization_jobs` (the crash window the
/// roll-forward recovery exists for). Unset in production.
pub const FAULT_ABORT_BEFORE_COMMIT: &str = "TUNGGAL_FAULT_EXPORT_ABORT_BEFORE_COMMIT";

/// How an export run is made.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The DC signing key file; `None`: `TUNGGAL_SIGNING_KEY`, else the store's default
    /// (see [`crate::keys`]).
    pub signing_key: Option<PathBuf>,
    /// Date of issue printed on the cards; `None`: today (UTC).
    pub issue_date: Option<NaiveDate>,
    /// Packets fetched from the store at the same time.
    pub fetch_concurrency: usize,
    /// Size limits when re-reading packets.
    pub limits: packet::Limits,
    /// Written into every manifest as `software`.
    pub software: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            signing_key: None,
            issue_date: None,
            fetch_concurrency: 16,
            limits: packet::Limits::default(),
            software: format!("tunggal {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Exports every personalizable enrollment not yet exported: one signed job per regency/city,
/// `personalization_jobs` rows, and the site-result feed. Safe to re-run (a re-run with
/// nothing new writes nothing) and to kill at any point (see the module docs).
pub async fn export(store: &Store, options: &ExportOptions) -> Result<ExportSummary> {
    let started = Instant::now();
    lake::run::run_stage(store, Stage::Export, async |run| {
        // Inside the stage: a missing or unusable key is a failed export run in `runs`
        // (which `tunggal status` shows), not a night that silently skipped its record.
        let key = keys::resolve(options.signing_key.as_deref(), store)?;
        info!(run_id = %run.run_id, key_id = key.key_id(), "export started");
        let mut summary = ExportSummary {
            run_id: run.run_id.clone(),
            key_id: key.key_id().into(),
            key_created: key.created,
            ..ExportSummary::default()
        };
        run_export(store, options, &key, &run.run_id, &mut summary).await?;
        summary.elapsed = started.elapsed();
        info!(
            exported = summary.exported,
            jobs = summary.jobs.len(),
            "export finished"
        );
        Ok(summary)
    })
    .await
}

/// Steps 1 to 6 of the module docs, counted in `summary`.
async fn run_export(
    store: &Store,
    options: &ExportOptions,
    key: &DcKey,
    run_id: &str,
    summary: &mut ExportSummary,
) -> Result<()> {
    summary.public_key_path = keys::publish(store, key).await?;
    let previous = queries::previous_export(&lake::lake_context(store).await?).await?;
    let previous_cutoff = previous.as_ref().map(|p| p.started);
    let recovered = recover::recover(store, key).await?;
    let adopted_runs = count_recovered(recovered, summary);

    let ctx = lake::lake_context(store).await?;
    // What this run sees of the history, so the next run starts after it.
    summary.status_watermark = queries::status_watermark(&ctx).await?;
    // After a successful run, only the NIKs whose statuses changed since (and the cards it
    // could not make); the first run looks at every enrollment.
    let window = previous.as_ref().map(queries::PreviousExport::window);
    let scoped = match &previous {
        Some(p) => {
            let n = queries::register_scope(&ctx, p.window(), &p.retry).await?;
            info!(
                enrollments = n,
                "enrollments of NIKs changed since the last export"
            );
            true
        }
        None => false,
    };
    let printables = queries::printables(&ctx, scoped).await?;
    summary.printables = printables.len();
    let (siblings, exported_niks) = queries::nik_context(&ctx, scoped).await?;
    drop(ctx);
    info!(
        printables = printables.len(),
        "personalizable enrollments not yet exported"
    );
    let plan = plan::plan(printables, &siblings, &exported_niks);
    summary.superseded = plan.superseded;

    let mut rows = Vec::new();
    if !plan.by_regency.is_empty() {
        recover::write_inflight(store, &InflightPlan::new(run_id, plan.by_regency.keys())).await?;
        let writer = JobWriter {
            store,
            options,
            key,
            run_id,
            issued: options
                .issue_date
                .unwrap_or_else(|| Utc::now().date_naive()),
        };
        for (regency, cards) in plan.by_regency {
            rows.extend(writer.write_job(&regency, cards, summary).await?);
        }
    }

    if std::env::var(FAULT_ABORT_BEFORE_COMMIT).as_deref() == Ok("1") {
        eprintln!("fault injection: aborting after the job files, before the commit");
        std::process::abort();
    }
    crate::writer::commit_jobs(store, &rows).await?;
    if !rows.is_empty() {
        info!(cards = rows.len(), "personalization_jobs committed");
    }

    let mut feed_runs = adopted_runs;
    if !rows.is_empty() {
        feed_runs.insert(run_id.to_string());
    }
    write_feed(store, run_id, previous_cutoff, window, &feed_runs, summary).await?;
    if summary.exported > 0 || !summary.jobs.is_empty() {
        recover::remove_inflight(store, run_id).await?;
    } else {
        // A plan may have been written for regencies whose every card failed.
        recover::remove_inflight(store, run_id).await.ok();
    }
    Ok(())
}

/// Counts what recovery did in `summary`; returns the runs whose jobs were adopted.
fn count_recovered(recovered: Recovered, summary: &mut ExportSummary) -> BTreeSet<String> {
    summary.adopted_jobs = recovered.adopted_jobs;
    summary.adopted_cards = recovered.adopted_cards;
    summary.removed_partial_jobs = recovered.removed_partial_jobs;
    recovered.adopted_runs
}

/// Writes this run's site-result files (see [`crate::feed`]).
async fn write_feed(
    store: &Store,
    run_id: &str,
    cutoff: Option<i64>,
    window: Option<i64>,
    exported_runs: &BTreeSet<String>,
    summary: &mut ExportSummary,
) -> Result<()> {
    let ctx = lake::lake_context(store).await?;
    let rows = queries::feed_rows(&ctx, cutoff, window, exported_runs).await?;
    for (site, site_rows) in feed::by_site(rows) {
        store
            .put(
                &feed::feed_path(&site, run_id),
                feed::to_csv(&site_rows)?.into(),
            )
            .await?;
        summary.feed_files += 1;
        summary.feed_rows += site_rows.len();
    }
    Ok(())
}
