//! `tunggal ingest`: validate every packet in `landing/` not yet recorded and commit it to
//! the lake tables, then print the run summary.

use anyhow::Result;

/// Flags of `tunggal ingest`.
#[derive(clap::Args, Debug)]
pub struct IngestArgs {
    /// Objects per chunk: one Delta commit per table per chunk.
    #[arg(long, default_value_t = 500)]
    pub chunk_size: usize,

    /// Objects fetched from the store at the same time.
    #[arg(long, default_value_t = 16)]
    pub fetch_concurrency: usize,

    /// Never draw a progress bar (log lines instead), even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

impl IngestArgs {
    /// The library options these flags stand for.
    pub fn options(&self) -> ingest::IngestOptions {
        ingest::IngestOptions {
            chunk_size: self.chunk_size,
            fetch_concurrency: self.fetch_concurrency,
            progress_bar: !self.no_progress,
            ..ingest::IngestOptions::default()
        }
    }
}

/// Runs ingest on the store and prints the one-screen summary.
pub async fn run(store: &lake::Store, args: &IngestArgs) -> Result<()> {
    let summary = ingest::ingest(store, &args.options()).await?;
    println!("{summary}");
    Ok(())
}
