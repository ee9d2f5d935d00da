//! `tunggal bench ingest`: ingest throughput beside the I/O limit of the store.
//!
//! A fresh work area `<store>/bench/<id>/` on the same backend is filled (not timed): with
//! `people`, by synthesizing that many packets into it; otherwise by copying the packets and
//! reference extracts that `tunggal synth` wrote into the store beforehand.
//! Then, on that work area, the bench times (1) merely listing and reading every landed
//! byte with the same fetch concurrency as ingest — the I/O limit — and (2) a full ingest
//! run, and reports both with their ratio. The work area is deleted afterwards.

use std::fmt;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use lake::Store;

use crate::error::{EvalError, Result};

/// What to benchmark.
#[derive(Clone, Debug)]
pub struct IngestBenchOptions {
    /// Objects per chunk for the timed ingest run.
    pub chunk_size: usize,
    /// Objects fetched at the same time (by ingest and by the plain read).
    pub fetch_concurrency: usize,
    /// Synthesize this many packets into the work area (seed 1) instead of copying the
    /// store's own `landing/`.
    pub people: Option<usize>,
    /// Keep the work area instead of deleting it.
    pub keep: bool,
}

/// One measured line of the table.
#[derive(Clone, Debug)]
pub struct Measured {
    /// What was timed.
    pub what: &'static str,
    /// Packets (objects) handled.
    pub packets: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// The figures of one benchmark run; its `Display` is the printed table.
#[derive(Clone, Debug)]
pub struct IngestBenchReport {
    /// The store benchmarked (its URL: no personal data).
    pub store: String,
    /// Cores available.
    pub cores: usize,
    /// Merely listing and reading every landed byte.
    pub read: Measured,
    /// The full ingest run.
    pub ingest: Measured,
    /// Packets the ingest run accepted.
    pub accepted: usize,
    /// Packets it rejected.
    pub rejected: usize,
}

/// Runs the benchmark on a work area beside `store`.
pub async fn run(store: &Store, opts: &IngestBenchOptions) -> Result<IngestBenchReport> {
    let work_url = format!("{}bench/{}", store.url(), uuid_like());
    let work = Store::open(&work_url).map_err(EvalError::WorkArea)?;
    match opts.people {
        Some(people) => {
            let mut config = synth::SynthConfig::new(people, 1);
            config.progress = synth::ProgressMode::Quiet;
            let root = synth::object_store::path::Path::from("");
            synth::run(&config, work.objects().as_ref(), &root).await?;
        }
        None => {
            let copied = copy_prefix(store, &work, ingest::LANDING, opts.fetch_concurrency).await?;
            if copied == 0 {
                return Err(EvalError::NothingToMeasure(format!(
                    "no packets under {}{}/: run `tunggal synth` on this store first, \
                     or pass --people N",
                    store.url(),
                    ingest::LANDING
                )));
            }
            copy_prefix(store, &work, "reference", opts.fetch_concurrency).await?;
        }
    }

    let started = Instant::now();
    let (packets, bytes) = read_all(&work, ingest::LANDING, opts.fetch_concurrency).await?;
    let read = Measured {
        what: "read landing/ only",
        packets,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    };

    let options = ingest::IngestOptions {
        chunk_size: opts.chunk_size,
        fetch_concurrency: opts.fetch_concurrency,
        progress_bar: false,
        ..ingest::IngestOptions::default()
    };
    let started = Instant::now();
    let summary = ingest::ingest(&work, &options).await?;
    let ingest = Measured {
        what: "ingest (validate+commit)",
        packets: summary.processed,
        bytes: summary.bytes,
        seconds: started.elapsed().as_secs_f64(),
    };

    if !opts.keep {
        delete_all(&work).await?;
    }
    Ok(IngestBenchReport {
        store: store.url().to_string(),
        cores: cores(),
        read,
        ingest,
        accepted: summary.accepted,
        rejected: summary.rejected,
    })
}

impl fmt::Display for Measured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.seconds.max(1e-9);
        write!(
            f,
            "{:<24} {:>9} {:>10.1} {:>9.2} {:>11.1} {:>9.2}",
            self.what,
            self.packets,
            self.bytes as f64 / 1e6,
            self.seconds,
            self.packets as f64 / secs,
            self.bytes as f64 / 1e6 / secs
        )
    }
}

impl fmt::Display for IngestBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "bench ingest on {} ({} cores)", self.store, self.cores)?;
        writeln!(
            f,
            "{:<24} {:>9} {:>10} {:>9} {:>11} {:>9}",
            "", "packets", "MB", "seconds", "packets/s", "MB/s"
        )?;
        writeln!(f, "{}", self.read)?;
        writeln!(f, "{}", self.ingest)?;
        write!(
            f,
            "ingest takes {:.1}x the time of reading the same bytes ({} accepted, {} rejected)",
            self.ingest.seconds / self.read.seconds.max(1e-9),
            self.accepted,
            self.rejected
        )
    }
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
async fn copy_prefix(from: &Store, to: &Store, prefix: &str, concurrency: usize) -> Result<usize> {
    let metas = from.list(prefix).await?;
    let count = metas.len();
    futures::stream::iter(metas)
        .map(|meta| async move {
            let path = meta.location.to_string();
            let bytes = from.get(&path).await?;
            to.put(&path, bytes).await?;
            Ok::<_, EvalError>(())
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(count)
}

/// Lists and reads every object under `prefix`; returns (objects, bytes).
async fn read_all(store: &Store, prefix: &str, concurrency: usize) -> Result<(usize, u64)> {
    let metas = store.list(prefix).await?;
    let sizes: Vec<u64> = futures::stream::iter(metas)
        .map(|meta| async move {
            let bytes = store.get(meta.location.as_ref()).await?;
            Ok::<_, EvalError>(bytes.len() as u64)
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok((sizes.len(), sizes.iter().sum()))
}

/// Deletes every object of the store (the whole work area).
async fn delete_all(store: &Store) -> Result<()> {
    use object_store::ObjectStoreExt;
    for meta in store.list("").await? {
        store.objects().delete(&meta.location).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_puts_ingest_beside_the_plain_read() {
        let line = |what, seconds| Measured {
            what,
            packets: 100,
            bytes: 50_000_000,
            seconds,
        };
        let report = IngestBenchReport {
            store: "file:///tmp/s/".into(),
            cores: 2,
            read: line("read landing/ only", 1.0),
            ingest: line("ingest (validate+commit)", 4.0),
            accepted: 98,
            rejected: 2,
        };
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "bench ingest on file:///tmp/s/ (2 cores)");
        assert!(lines[2].starts_with("read landing/ only"), "{text}");
        assert!(lines[3].ends_with("25.0     12.50"), "{text}");
        assert_eq!(
            lines[4],
            "ingest takes 4.0x the time of reading the same bytes (98 accepted, 2 rejected)"
        );
    }
}
