//! `tunggal nightly`: the DC's nightly job, every stage that exists, in order, safe to re-run.
//!
//! Today the job is ingest alone: deduplication (issue 4), adjudication decisions (issue 5)
//! and personalization export (issue 6) join here as they land. Each stage is itself
//! idempotent, so re-running a finished night changes nothing and re-running a killed night
//! finishes it.

use anyhow::Result;

use super::ingest::IngestArgs;

/// Flags of `tunggal nightly`.
#[derive(clap::Args, Debug)]
pub struct NightlyArgs {
    #[command(flatten)]
    ingest: IngestArgs,
}

/// Runs the nightly stages in order and prints one summary.
pub async fn run(store: &lake::Store, args: &NightlyArgs) -> Result<()> {
    let started = std::time::Instant::now();
    tracing::info!("nightly: stage 1 of 1: ingest");
    let ingest = ingest::ingest(store, &args.ingest.options()).await?;
    println!("== nightly summary");
    println!("{ingest}");
    println!(
        "stages run: ingest (deduplication, adjudication and export are not built yet)  \
         wall time {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
