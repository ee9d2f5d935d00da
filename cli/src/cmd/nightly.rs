//! `tunggal nightly`: the DC's nightly job, every stage in order, safe to re-run.
//!
//! Ingest → dedup (which also applies adjudicators' decisions to the statuses). Each stage
//! is itself idempotent, so re-running a finished night changes nothing and re-running a
//! killed night finishes it.

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
}

/// Runs the nightly stages in order and prints one summary.
pub async fn run(store: &lake::Store, args: &NightlyArgs) -> Result<()> {
    let started = std::time::Instant::now();
    tracing::info!("nightly: stage 1: ingest");
    let ingest = ingest::ingest(store, &args.ingest.options()).await?;
    tracing::info!("nightly: stage 2: dedup");
    let dedup = dedup::dedup(store, &args.dedup.options(!args.ingest.no_progress)).await?;
    println!("== nightly summary");
    println!("{ingest}");
    println!("{dedup}");
    println!(
        "stages run: ingest, dedup  wall time {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
