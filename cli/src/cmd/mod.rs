//! One module per verb; each is glue from parsed flags to a library call.

pub mod bench_ingest;
pub mod fingerprint;
pub mod ingest;
pub mod nightly;
pub mod sql;
pub mod synth;

use anyhow::Result;
use clap::Subcommand;

/// `tunggal bench …`: benchmarks that print a table beside a peer or a physical limit.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Ingest throughput beside the time to merely read the same bytes from the store.
    Ingest(bench_ingest::BenchIngestArgs),
}

/// Runs one benchmark verb.
pub async fn run_bench(store: &lake::Store, bench: &BenchCommand) -> Result<()> {
    match bench {
        BenchCommand::Ingest(args) => bench_ingest::run(store, args).await,
    }
}
