//! The `tunggal synth` pipeline: read what the store already holds, plan the batch, write the
//! reference files, assemble packets in parallel (rayon) while the previous chunk uploads
//! (bounded concurrency), then write the truth and a summary.

use crate::assemble::assemble;
use crate::config::{ProgressMode, SynthConfig};
use crate::earlier;
use crate::ids::IdAllocator;
use crate::progress::Progress;
use crate::store::{self, at};
use crate::summary::SynthSummary;
use crate::truth::{self, TruthRow};
use crate::world::World;
use crate::SynthError;
use object_store::path::Path;
use object_store::ObjectStore;
use rayon::prelude::*;
use std::sync::Arc;
use std::time::Instant;

/// Packets assembled per parallel chunk (bounds memory: ~25 KiB each).
const CHUNK: usize = 1024;

/// Generates one batch into `store` under `root` and returns what was written.
pub async fn run(
    config: &SynthConfig,
    store: &dyn ObjectStore,
    root: &Path,
) -> Result<SynthSummary, SynthError> {
    config.validate()?;
    let started = Instant::now();
    let batch = config.batch_id();
    let (niks, kks) = store::existing_ids(store, root, &batch).await?;
    let earlier = if config.plants_across_batches() {
        earlier::load(store, root, &batch).await?
    } else {
        Vec::new()
    };
    let cfg = config.clone();
    let world = tokio::task::spawn_blocking(move || {
        World::plan_across(&cfg, IdAllocator::new(niks, kks), &earlier)
    })
    .await
    .map_err(|e| SynthError::Task(e.to_string()))??;
    let world = Arc::new(world);
    tracing::info!(
        batch = %world.batch,
        residents = world.population.residents.len(),
        packets = world.packets.len(),
        stations = world.stations.len(),
        "synth batch planned"
    );

    let mut siak = Vec::new();
    reference::siak::write_csv(&mut siak, &world.population.residents)?;
    store::put(
        store,
        &at(root, &reference::siak::object_path(&batch)),
        siak,
    )
    .await?;
    let stations: Vec<_> = world.stations.iter().map(|s| s.station.clone()).collect();
    let mut reg = Vec::new();
    reference::stations::write_csv(&mut reg, &stations)?;
    store::put(
        store,
        &at(root, &reference::stations::object_path(&batch)),
        reg,
    )
    .await?;

    let progress = Progress::new(config.progress, world.packets.len() as u64);
    let mut bytes_written = 0u64;
    let total = world.packets.len();
    let chunk_job = |start: usize| {
        let world = Arc::clone(&world);
        let root = root.clone();
        tokio::task::spawn_blocking(move || {
            let end = (start + CHUNK).min(world.packets.len());
            (start..end)
                .into_par_iter()
                .map(|i| {
                    let bytes = assemble(&world, i)?;
                    Ok((at(&root, &world.object_path(&world.packets[i])), bytes))
                })
                .collect::<Result<Vec<_>, SynthError>>()
        })
    };
    let mut next = (total > 0).then(|| chunk_job(0));
    let mut start = 0;
    while let Some(job) = next.take() {
        let objects = job.await.map_err(|e| SynthError::Task(e.to_string()))??;
        let n = objects.len();
        start += n;
        if start < total {
            next = Some(chunk_job(start));
        }
        bytes_written += store::put_many(store, objects, config.upload_concurrency).await?;
        progress.advance(n as u64);
    }
    progress.finish();

    let rows = truth_rows(&world);
    let truth_csv = if config.plants_across_batches() {
        let wide: Vec<_> = rows
            .into_iter()
            .zip(world.packets.iter().map(|p| p.earlier.clone()))
            .collect();
        truth::to_csv_cross_batch(&wide)?
    } else {
        truth::to_csv(&rows)?
    };
    store::put(store, &at(root, &truth::enrollees_path(&batch)), truth_csv).await?;
    let summary = SynthSummary::of(&world, bytes_written, started.elapsed());
    let json = serde_json::to_vec_pretty(&summary.to_json())?;
    store::put(store, &at(root, &truth::batch_summary_path(&batch)), json).await?;
    Ok(summary)
}

/// One truth row per landed object.
pub fn truth_rows(world: &World) -> Vec<TruthRow> {
    world
        .packets
        .iter()
        .map(|p| TruthRow {
            object_path: world.object_path(p),
            packet_id: p.packet_id.clone(),
            person_id: world.persons[p.person].id.clone(),
            nik: world.resident_of(p).nik.to_string(),
            case: p.case.to_string(),
        })
        .collect()
}

/// Whether progress should be a bar (`Auto` asks whether stderr is a terminal).
pub(crate) fn wants_bar(mode: ProgressMode) -> bool {
    use std::io::IsTerminal;
    match mode {
        ProgressMode::Bar => true,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
        ProgressMode::Log | ProgressMode::Quiet => false,
    }
}
