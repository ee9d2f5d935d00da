//! `tunggal bench ingest`: flags and glue to [`evaluation::bench_ingest`], which times ingest
//! beside merely reading the same bytes on a work area `<store>/bench/<id>/`.

use anyhow::Result;

/// Flags of `tunggal bench ingest`.
#[derive(clap::Args, Debug)]
pub struct BenchIngestArgs {
    /// Objects per chunk for the timed ingest run.
    #[arg(long, default_value_t = 500)]
    pub chunk_size: usize,

    /// Objects fetched at the same time (by ingest and by the plain read).
    #[arg(long, default_value_t = 16)]
    pub fetch_concurrency: usize,

    /// Synthesize this many packets into the work area (seed 1) instead of copying the
    /// store's own landing/.
    #[arg(long)]
    pub people: Option<usize>,

    /// Keep the work area `<store>/bench/<id>/` instead of deleting it.
    #[arg(long)]
    pub keep: bool,
}

/// Runs the benchmark and prints the table.
pub async fn run(store: &lake::Store, args: &BenchIngestArgs) -> Result<()> {
    let opts = evaluation::bench_ingest::IngestBenchOptions {
        chunk_size: args.chunk_size,
        fetch_concurrency: args.fetch_concurrency,
        people: args.people,
        keep: args.keep,
    };
    let report = evaluation::bench_ingest::run(store, &opts).await?;
    println!("{report}");
    Ok(())
}
