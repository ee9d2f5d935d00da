//! One module per verb; each is glue from parsed flags to a library call.

pub mod audit;
pub mod bench_dedup;
pub mod bench_ingest;
pub mod cluster;
pub mod console;
pub mod dedup;
pub mod eval_dedup;
pub mod eval_pickup;
pub mod export;
pub mod fingerprint;
pub mod ingest;
pub mod init;
pub mod lock;
pub mod maintain;
pub mod nightly;
pub mod reference;
pub mod serve_sql;
pub mod sql;
pub mod status;
pub mod synth;
pub mod users;
pub mod verify;

use anyhow::Result;
use clap::Subcommand;

/// `tunggal bench …`: benchmarks that print a table beside a peer or a physical limit.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Ingest throughput beside the time to merely read the same bytes from the store.
    Ingest(bench_ingest::BenchIngestArgs),
    /// 1:N search over a synthesized gallery beside brute force on a sample, extrapolated.
    Dedup(bench_dedup::BenchDedupArgs),
}

/// Runs one benchmark verb.
pub async fn run_bench(store: &lake::Store, bench: &BenchCommand) -> Result<()> {
    match bench {
        BenchCommand::Ingest(args) => bench_ingest::run(store, args).await,
        BenchCommand::Dedup(args) => bench_dedup::run(store, args).await,
    }
}
