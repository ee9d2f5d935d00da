//! The run: load new reference files, recover, read the ledger, list `landing/`, then fetch →
//! validate → commit chunk after chunk.
//!
//! Validation of a chunk is two passes on the rayon pool around one query: open every packet
//! (bytes, hashes, structure), ask `resident_history` for the chunk's NIKs, then run the
//! registry checks (see `registry`).
//!
//! Fetching and validating overlap: a producer task fetches the next chunk (with bounded
//! concurrency) while the current one is validated on the rayon pool and committed. At most
//! two chunks are in memory at once.
//!
//! Size comes before fetching: an object whose listed size is over the packet size limit is
//! never read (it is rejected `PACKET_TOO_LARGE` from the listing), and every other object is
//! read with a ranged request of at most limit + 1 bytes, so one that grew after the listing
//! cannot take more memory either.

use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use lake::Store;
use object_store::{GetOptions, ObjectMeta};
use rayon::prelude::*;
use tokio::sync::mpsc;

use crate::chunk;
use crate::error::IngestError;
use crate::landing::{self, LandingScan};
use crate::ledger::Ledger;
use crate::options::IngestOptions;
use crate::progress::Progress;
use crate::recovery;
use crate::registry::RegistryTables;
use crate::summary::IngestSummary;
use crate::validate::{self, Landed};

/// Folder (relative to the store root) where service points upload packets.
pub const LANDING: &str = "landing";

/// Carries out one ingest run under `run_id`; the caller records the run in `runs`.
pub async fn run(
    store: &Store,
    options: &IngestOptions,
    run_id: &str,
) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    // New SIAK extracts and station registry files first (a no-op when `tunggal reference
    // load` or an earlier run took them): the checks below read the tables, never the CSV.
    let reference = lake::reference::load(store).await?;
    if !reference.files_loaded.is_empty() {
        tracing::info!(
            files = reference.files_loaded.len(),
            residents_appended = reference.residents_appended,
            stations_appended = reference.stations_appended,
            "reference files loaded before ingest"
        );
    }
    let ctx = lake::lake_context(store).await?;
    let orphans_removed = recovery::remove_orphans(store, &ctx).await?;
    let registry_tables = RegistryTables::open(&ctx).await?;
    tracing::info!(stations = registry_tables.stations(), "ingest starting");

    let scan = options
        .scan
        .unwrap_or_else(|| LandingScan::for_upload_delay(options.window.max_upload_delay));
    let listed = landing::list(store, LANDING, scan, chrono::Utc::now().date_naive()).await?;
    tracing::info!(
        objects = listed.objects.len(),
        list_requests = listed.list_requests,
        old_day_folders_skipped = listed.days_skipped,
        full_scan = scan == LandingScan::Full,
        "landing/ listed"
    );
    let listing = listed.objects;
    let seen = listing.len();
    let paths: Vec<String> = listing.iter().map(|m| m.location.to_string()).collect();
    let mut ledger = Ledger::load(&ctx, &paths).await?;
    tracing::info!(
        listed = seen,
        already_recorded = ledger.len(),
        "ledger read for the listed objects"
    );
    let pending: Vec<ObjectMeta> = listing
        .into_iter()
        .filter(|m| !ledger.is_recorded(m.location.as_ref()))
        .collect();
    let mut summary = IngestSummary {
        run_id: run_id.to_string(),
        seen,
        already_recorded: seen - pending.len(),
        orphans_removed,
        ..Default::default()
    };
    let mut progress = Progress::new(pending.len() as u64, options.progress_bar);

    let (tx, mut rx) = mpsc::channel::<Result<Vec<Landed>, IngestError>>(1);
    let producer = {
        let store = store.clone();
        let chunk_size = options.chunk_size.max(1);
        let concurrency = options.fetch_concurrency.max(1);
        let max_bytes = options.limits.max_packet_bytes;
        tokio::spawn(async move {
            for metas in pending.chunks(chunk_size) {
                let fetched = fetch_chunk(&store, metas, concurrency, max_bytes).await;
                let failed = fetched.is_err();
                if tx.send(fetched).await.is_err() || failed {
                    break;
                }
            }
        })
    };

    while let Some(fetched) = rx.recv().await {
        let landed = fetched?;
        let count = landed.len();
        summary.bytes += landed.iter().map(|l| l.size as u64).sum::<u64>();
        let limits = options.limits;
        let opened = tokio::task::spawn_blocking(move || {
            landed
                .into_par_iter()
                .map(|l| validate::open(l, &limits))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| IngestError::Worker(e.to_string()))?;
        let niks = opened
            .iter()
            .filter_map(|o| o.nik().map(str::to_string))
            .collect();
        let registry = registry_tables.for_niks(niks).await?;
        let checked = {
            let window = options.window;
            tokio::task::spawn_blocking(move || {
                opened
                    .into_par_iter()
                    .map(|o| validate::finish(o, &registry, &window))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| IngestError::Worker(e.to_string()))?
        };
        let (hashes, packet_ids) = chunk::keys(&checked);
        ledger.learn(&ctx, &hashes, &packet_ids).await?;
        let rows = chunk::decide(checked, &mut ledger, run_id);
        chunk::commit(store, &rows).await?;
        for row in &rows.packets {
            summary.processed += 1;
            match &row.reason_code {
                None => summary.accepted += 1,
                Some(code) => {
                    summary.rejected += 1;
                    *summary.by_reason.entry(code.clone()).or_default() += 1;
                }
            }
        }
        progress.advance(count as u64);
    }
    progress.finish();
    producer
        .await
        .map_err(|e| IngestError::Worker(e.to_string()))?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Fetches the objects of one chunk, `concurrency` at a time, keeping their order; objects
/// over `max_bytes` are not read (see the module documentation).
async fn fetch_chunk(
    store: &Store,
    metas: &[ObjectMeta],
    concurrency: usize,
    max_bytes: u64,
) -> Result<Vec<Landed>, IngestError> {
    futures::stream::iter(metas.iter().cloned())
        .map(|meta| {
            let store = store.clone();
            async move {
                let path = meta.location.to_string();
                let oversized = |size: u64| Landed {
                    size: i64::try_from(size).unwrap_or(i64::MAX),
                    path: path.clone(),
                    received: meta.last_modified,
                    bytes: bytes::Bytes::new(),
                };
                if meta.size > max_bytes {
                    return Ok(oversized(meta.size));
                }
                let bytes = fetch_at_most(&store, &meta, max_bytes.saturating_add(1))
                    .await
                    .map_err(|error| IngestError::Fetch {
                        path: path.clone(),
                        error,
                    })?;
                if bytes.len() as u64 > max_bytes {
                    return Ok(oversized(meta.size.max(bytes.len() as u64)));
                }
                Ok::<_, IngestError>(Landed {
                    size: bytes.len() as i64,
                    path: path.clone(),
                    received: meta.last_modified,
                    bytes,
                })
            }
        })
        .buffered(concurrency)
        .try_collect()
        .await
}

/// Reads at most the first `limit` bytes of an object with one ranged request (an empty
/// object with a plain one: a range cannot start at its end).
async fn fetch_at_most(
    store: &Store,
    meta: &ObjectMeta,
    limit: u64,
) -> Result<bytes::Bytes, lake::LakeError> {
    if meta.size == 0 {
        return store.get(meta.location.as_ref()).await;
    }
    let options = GetOptions::new().with_range(Some(0..limit));
    let result = store.objects().get_opts(&meta.location, options).await?;
    Ok(result.bytes().await?)
}
