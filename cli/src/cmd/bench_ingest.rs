//! `tunggal bench ingest`: ingest throughput beside the I/O limit of the store.
//!
//! A fresh work area `<store>/bench/<id>/` on the same backend is filled (not timed): with
//! `--people N`, by synthesizing N packets into it; otherwise by copying the packets and
//! reference extracts that `tunggal synth` wrote into `--store` beforehand.
//! Then, on that work area, the bench times (1) merely listing and reading every landed
//! byte with the same fetch concurrency as ingest — the I/O limit — and (2) a full ingest
//! run, and prints both with their ratio. The work area is deleted afterwards.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use futures::{StreamExt, TryStreamExt};

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

/// One measured line of the table.
struct Line {
    what: &'static str,
    packets: usize,
    bytes: u64,
    seconds: f64,
}

impl Line {
    fn print(&self) {
        let secs = self.seconds.max(1e-9);
        println!(
            "{:<24} {:>9} {:>10.1} {:>9.2} {:>11.1} {:>9.2}",
            self.what,
            self.packets,
            self.bytes as f64 / 1e6,
            self.seconds,
            self.packets as f64 / secs,
            self.bytes as f64 / 1e6 / secs
        );
    }
}

/// Runs the benchmark and prints the table.
pub async fn run(store: &lake::Store, args: &BenchIngestArgs) -> Result<()> {
    let work_url = format!("{}bench/{}", store.url(), uuid_like());
    let work = lake::Store::open(&work_url).context("opening the bench work area")?;
    match args.people {
        Some(people) => {
            let mut config = synth::SynthConfig::new(people, 1);
            config.progress = synth::ProgressMode::Quiet;
            let root = synth::object_store::path::Path::from("");
            synth::run(&config, work.objects().as_ref(), &root).await?;
        }
        None => {
            let copied = copy_prefix(store, &work, ingest::LANDING, args.fetch_concurrency).await?;
            if copied == 0 {
                bail!(
                    "no packets under {}{}/: run `tunggal synth` on this store first, \
                     or pass --people N",
                    store.url(),
                    ingest::LANDING
                );
            }
            copy_prefix(store, &work, "reference", args.fetch_concurrency).await?;
        }
    }

    let started = Instant::now();
    let (packets, bytes) = read_all(&work, ingest::LANDING, args.fetch_concurrency).await?;
    let read = Line {
        what: "read landing/ only",
        packets,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    };

    let options = ingest::IngestOptions {
        chunk_size: args.chunk_size,
        fetch_concurrency: args.fetch_concurrency,
        progress_bar: false,
        ..ingest::IngestOptions::default()
    };
    let started = Instant::now();
    let summary = ingest::ingest(&work, &options).await?;
    let ingest_line = Line {
        what: "ingest (validate+commit)",
        packets: summary.processed,
        bytes: summary.bytes,
        seconds: started.elapsed().as_secs_f64(),
    };

    println!("bench ingest on {} ({} cores)", store.url(), cores());
    println!(
        "{:<24} {:>9} {:>10} {:>9} {:>11} {:>9}",
        "", "packets", "MB", "seconds", "packets/s", "MB/s"
    );
    read.print();
    ingest_line.print();
    println!(
        "ingest takes {:.1}x the time of reading the same bytes ({} accepted, {} rejected)",
        ingest_line.seconds / read.seconds.max(1e-9),
        summary.accepted,
        summary.rejected
    );

    if !args.keep {
        delete_prefix(&work, "").await?;
    }
    Ok(())
}

/// A unique enough name for the work area (time-based; no personal data).
fn uuid_like() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}", now.as_secs(), std::process::id())
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Copies every object under `prefix` from `from` to `to`; returns how many.
async fn copy_prefix(
    from: &lake::Store,
    to: &lake::Store,
    prefix: &str,
    concurrency: usize,
) -> Result<usize> {
    let metas = from.list(prefix).await?;
    let count = metas.len();
    futures::stream::iter(metas)
        .map(|meta| async move {
            let path = meta.location.to_string();
            let bytes = from.get(&path).await?;
            to.put(&path, bytes).await?;
            Ok::<_, anyhow::Error>(())
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(count)
}

/// Lists and reads every object under `prefix`; returns (objects, bytes).
async fn read_all(store: &lake::Store, prefix: &str, concurrency: usize) -> Result<(usize, u64)> {
    let metas = store.list(prefix).await?;
    let sizes: Vec<u64> = futures::stream::iter(metas)
        .map(|meta| async move {
            let bytes = store.get(meta.location.as_ref()).await?;
            Ok::<_, anyhow::Error>(bytes.len() as u64)
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok((sizes.len(), sizes.iter().sum()))
}

/// Deletes every object under `prefix` of the store (the whole work area for "").
async fn delete_prefix(store: &lake::Store, prefix: &str) -> Result<()> {
    use object_store::ObjectStoreExt;
    for meta in store.list(prefix).await? {
        store.objects().delete(&meta.location).await?;
    }
    Ok(())
}
