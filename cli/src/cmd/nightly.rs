//! `tunggal nightly`: the DC's nightly job, every stage in order, safe to re-run.
//!
//! 1. ingest: new packets in `landing/` → lake tables;
//! 2. adjudication sync: adjudicators' final decisions not yet in the lake → `decisions`;
//! 3. dedup: 1:N search of new enrollments, then statuses (decisions applied) and clusters;
//! 4. adjudication sync: cases for new `ganda`/`nik_conflict` clusters;
//! 5. export: personalization jobs for every personalizable identity not yet exported.
//!
//! Each stage is itself idempotent, so re-running a finished night changes nothing and
//! re-running a killed night finishes it.

use std::path::PathBuf;

use anyhow::Result;

use super::dedup::DedupArgs;
use super::ingest::IngestArgs;

/// Flags of `tunggal nightly`.
#[derive(clap::Args, Debug)]
pub struct NightlyArgs {
    #[command(flatten)]
    ingest: IngestArgs,

    #[command(flatten)]
    dedup: DedupArgs,

    /// The adjudication case store (SQLite). Default: `<store>/adjudication/cases.sqlite` for
    /// a local store, else `./tunggal-cases.sqlite`.
    #[arg(long, env = adjudication::CASE_DB_ENV)]
    case_db: Option<PathBuf>,

    /// The DC's Ed25519 signing key for personalization jobs (see `tunggal export`).
    #[arg(long, env = personalization_export::keys::SIGNING_KEY_ENV)]
    signing_key: Option<PathBuf>,
}

/// Runs the nightly stages in order and prints one summary.
pub async fn run(store: &lake::Store, args: &NightlyArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let case_db = args
        .case_db
        .clone()
        .unwrap_or_else(|| adjudication::default_case_db(store));
    if let Some(dir) = case_db.parent() {
        std::fs::create_dir_all(dir)?;
    }

    tracing::info!("nightly: stage 1 of 5: ingest");
    let ingest = ingest::ingest(store, &args.ingest.options()).await?;
    tracing::info!("nightly: stage 2 of 5: decisions from adjudication");
    let decisions = adjudication::sync(store, &case_db).await?;
    tracing::info!("nightly: stage 3 of 5: dedup");
    let dedup = dedup::dedup(store, &args.dedup.options(!args.ingest.no_progress)).await?;
    tracing::info!("nightly: stage 4 of 5: adjudication cases");
    let cases = adjudication::sync(store, &case_db).await?;
    tracing::info!("nightly: stage 5 of 5: personalization export");
    let export = personalization_export::export(
        store,
        &personalization_export::ExportOptions {
            signing_key: args.signing_key.clone(),
            fetch_concurrency: args.ingest.fetch_concurrency,
            ..Default::default()
        },
    )
    .await?;

    println!("== nightly summary");
    println!("{ingest}");
    println!("{dedup}");
    println!(
        "adjudication: {} final decisions and {} audit entries taken into the lake; cases {} new, {} open before, {} superseded",
        decisions.decisions_exported + cases.decisions_exported,
        decisions.audit_exported + cases.audit_exported,
        cases.cases.created,
        cases.cases.existing,
        cases.cases.superseded
    );
    println!("{export}");
    println!(
        "stages run: ingest, adjudication sync, dedup, adjudication sync, export  wall time {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
