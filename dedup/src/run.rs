//! One dedup run, start to end.
//!
//! 1. Recover: delete `match_candidates` rows and gallery partitions of runs that never
//!    reached their `identity_status` commit.
//! 2. Probes = enrollments without a status, oldest capture first, in batches. Each batch is
//!    searched against every persisted gallery partition, against the earlier batches of this
//!    run, and within itself; the scored pairs are appended to `match_candidates`, and the
//!    batch is persisted as a new gallery partition.
//! 3. Derive statuses and clusters ([`crate::status`]) for the enrollments the night touches
//!    ([`crate::neighbourhood`]: its probes, the clusters they join or merge, the enrollments
//!    whose decisions arrived) and append the states that changed to `status_history` in one
//!    commit, the run's commit point.
//!
//! Step 3 runs even when there are no new probes, so adjudicators' decisions reach the
//! statuses on the next night.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use biometrics::fusion::PersonTemplate;
use biometrics::index::{Partition, ProbeSet, SearchParams};
use chrono::{DateTime, Utc};
use lake::tables::identity_status::IdentityStatusRecord;
use lake::tables::status_history::{self, StatusHistoryRecord};
use lake::tables::{match_candidates, Table};
use lake::vocabulary::{Band, Stage};
use lake::{delta, Store};

use crate::error::Result;
use crate::load::{self, Enrollee};
use crate::neighbourhood;
use crate::options::DedupOptions;
use crate::progress::Progress;
use crate::record::{self, Pair};
use crate::search::{self, RemoteSearch};
use crate::segments;
use crate::status::{self, StatusInputs};
use crate::summary::DedupSummary;
use crate::thresholds;
use crate::totals;

/// Runs one dedup stage on the store: searches every enrollment not yet deduplicated and
/// commits statuses and clusters. Records itself in `runs` through the stage runner.
pub async fn dedup(store: &Store, options: &DedupOptions) -> Result<DedupSummary> {
    dedup_with(store, options, None).await
}

/// [`dedup`] with the stored gallery searched by `remote` (a cluster's executors) instead of
/// here; this run's own batches, the statuses and every write to the lake stay here. The
/// result is the one [`dedup`] gives.
pub async fn dedup_with(
    store: &Store,
    options: &DedupOptions,
    remote: Option<&dyn RemoteSearch>,
) -> Result<DedupSummary> {
    lake::run::run_stage(store, Stage::Dedup, async |run| {
        execute(store, options, remote, &run.run_id).await
    })
    .await
}

async fn execute(
    store: &Store,
    options: &DedupOptions,
    remote: Option<&dyn RemoteSearch>,
    run_id: &str,
) -> Result<DedupSummary> {
    let started = Instant::now();
    let mut summary = DedupSummary {
        run_id: run_id.to_string(),
        ..Default::default()
    };
    let ctx = lake::lake_context(store).await?;
    let committed = load::committed_runs(&ctx).await?;

    // 1. Recover from runs that never committed.
    let stale_runs: Vec<String> = load::candidate_runs(&ctx)
        .await?
        .into_iter()
        .filter(|r| !committed.contains(r))
        .collect();
    if !stale_runs.is_empty() {
        let removed =
            delta::delete_in(store, Table::MatchCandidates, "run_id", &stale_runs).await?;
        summary.recovered.0 = removed.unwrap_or(0) as u64;
    }
    let listing = segments::list(store, &committed).await?;
    summary.recovered.1 = segments::remove(store, &listing.uncommitted).await? as u64;
    // Compaction's leftovers (its own crash, or sources it replaced): never searched.
    segments::remove(store, &listing.superseded).await?;
    let gallery_paths = listing.gallery;
    if summary.recovered != (0, 0) {
        tracing::warn!(
            candidates = summary.recovered.0,
            partitions = summary.recovered.1,
            "removed the leftovers of an interrupted dedup run; its probes are searched again"
        );
    }

    // 2. Search.
    let ctx = lake::lake_context(store).await?;
    let last = totals::last_committed(&ctx, &committed).await?;
    let pending = load::pending(&ctx, last.as_ref()).await?;
    // The last committed run's totals, which tonight's changes then update (crate::totals).
    let base = last.as_ref().and_then(totals::LastRun::totals);
    let gallery_size = match &base {
        Some(t) => t.gallery(),
        None => load::gallery_size(&ctx).await?,
    } as usize;
    summary.probes = pending.len() as u64;
    summary.gallery = gallery_size as u64;
    summary.partitions = gallery_paths.len() as u64;
    let stored_sizes = segments::sizes(store, &gallery_paths).await?;
    summary.partition_bytes = stored_sizes.iter().sum();
    let t = thresholds::for_gallery(
        gallery_size + pending.len(),
        options.match_fpir,
        options.possible_fpir,
    );
    summary.thresholds = Some(t);
    let params = SearchParams {
        min_llr: t.possible_llr,
        shortlist: options.shortlist,
        iris_depth: options.iris_depth,
        reject_llr: options.reject_llr,
        ..SearchParams::default()
    };
    tracing::info!(
        probes = pending.len(),
        gallery = gallery_size,
        partitions = gallery_paths.len(),
        "dedup starting"
    );

    let mut progress = Progress::new(pending.len() as u64, options.progress_bar);
    // The stored gallery in units of a few stored partitions each, merged: the leading units
    // within the budget stay in memory, the rest stream (read twice per batch, once per
    // search pass); with a remote search, all of them are searched there.
    let mut stored: Vec<search::Unit> = Vec::new();
    if !pending.is_empty() {
        let load_started = Instant::now();
        let budget = if remote.is_some() {
            0
        } else {
            options.resident_bytes
        };
        let (held, streamed) = segments::plan_gallery(
            gallery_paths
                .iter()
                .map(String::as_str)
                .zip(stored_sizes.iter().map(|&s| s as usize)),
            budget,
            options.unit_bytes,
        );
        for unit in &held {
            stored.push(search::Unit::Held(Box::new(
                segments::load_merged(store, unit).await?,
            )));
        }
        tracing::info!(
            stored = gallery_paths.len(),
            searched_as = held.len() + streamed.len(),
            held = held.len(),
            streamed = streamed.len(),
            remote = remote.is_some(),
            "gallery partitions planned"
        );
        stored.extend(streamed.into_iter().map(search::Unit::Streamed));
        summary.load_time += load_started.elapsed();
    }
    let mut gallery = search::Gallery {
        store,
        stored,
        this_run: Vec::new(),
    };
    let mut brute = options
        .compare_brute_force
        .then(search::BruteForceCheck::default);
    for (number, batch) in pending.chunks(options.batch_size.max(1)).enumerate() {
        let load_started = Instant::now();
        let ids: Vec<String> = batch.iter().map(|e| e.enrollment_id.clone()).collect();
        let loaded = load::templates(&ctx, &ids).await?;
        for h in &loaded.held_back {
            tracing::warn!(
                enrollment_id = %h.enrollment_id,
                reason = h.reason,
                part = %h.part,
                "enrollment held back: a stored template does not decode; it stays without a \
                 status and is searched again by the next run"
            );
        }
        summary.held_back.extend(loaded.held_back);
        let people: Vec<(String, PersonTemplate)> = loaded.people;
        summary.load_time += load_started.elapsed();
        if people.is_empty() {
            progress.advance(batch.len() as u64, 0);
            continue;
        }
        let probes = ProbeSet::build(people.clone());

        let batch_name = format!("{run_id}/{number:05}");
        let found = search::search_batch(
            &gallery,
            remote.map(|r| (r, batch_name.as_str())),
            &probes,
            &params,
            brute.as_mut(),
            &mut summary,
        )
        .await?;

        let mut involved: Vec<String> = found
            .iter()
            .flat_map(|f| [f.probe_id.clone(), f.candidate_id.clone()])
            .collect();
        involved.sort();
        involved.dedup();
        let nik_of = load::niks(&ctx, &involved).await?;
        let now = Utc::now();
        let rows: Vec<_> = found
            .iter()
            .filter_map(|f| {
                record::row(
                    &Pair {
                        run_id,
                        probe_id: &f.probe_id,
                        candidate_id: &f.candidate_id,
                        source: f.source,
                        same_nik: nik_of.get(&f.probe_id) == nik_of.get(&f.candidate_id),
                        score: &f.score,
                        created: now,
                    },
                    &t,
                )
            })
            .collect();
        for r in &rows {
            if r.band == Band::Match {
                summary.matches += 1;
            } else {
                summary.possible += 1;
            }
        }
        delta::append(
            store,
            Table::MatchCandidates,
            vec![match_candidates::to_batch(&rows)?],
            None,
        )
        .await?;
        drop(probes);
        segments::absorb(
            &mut gallery.this_run,
            Partition::build(people),
            options.unit_bytes,
        );
        progress.advance(batch.len() as u64, rows.len());
    }
    progress.finish();
    // Persisted before the statuses that make them count (see `segments`).
    for (n, p) in gallery.this_run.iter().enumerate() {
        segments::save(store, run_id, n, p).await?;
    }
    summary.brute_force = brute.map(|b| (b.pairs, b.missed));

    // 3. Statuses and clusters of what the night touches.
    let ctx = lake::lake_context(store).await?;
    let held: HashSet<&str> = summary
        .held_back
        .iter()
        .map(|h| h.enrollment_id.as_str())
        .collect();
    let searched: Vec<Enrollee> = pending
        .iter()
        .filter(|e| !held.contains(e.enrollment_id.as_str()))
        .cloned()
        .collect();
    // Decisions written before the last committed run started were applied by it.
    let since = last.as_ref().map(|l| l.started - load::CLOCK_MARGIN_US);
    let touched = neighbourhood::gather(&ctx, &searched, since).await?;
    let previous: HashMap<String, IdentityStatusRecord> = touched
        .previous
        .iter()
        .map(|(id, h)| (id.clone(), h.status.clone()))
        .collect();
    let previous_clusters: HashMap<String, (String, DateTime<Utc>)> = touched
        .previous
        .values()
        .filter_map(|h| h.cluster_row())
        .map(|c| (c.enrollment_id, (c.cluster_id, c.created)))
        .collect();
    let now = Utc::now();
    let derived = status::derive(&StatusInputs {
        enrollees: &touched.enrollees,
        edges: &touched.edges,
        decisions: &touched.decisions,
        previous: &previous,
        previous_clusters: &previous_clusters,
        run_id,
        now,
    });
    let changed: Vec<StatusHistoryRecord> = status_history::rows_for(
        &derived.statuses,
        &derived.clusters,
        |id| touched.decisions.get(id).map(|d| d.decision_id.clone()),
        now,
        run_id,
    )
    .into_iter()
    .filter(|row| {
        touched
            .previous
            .get(&row.status.enrollment_id)
            .is_none_or(|p| !row.same_state(p))
    })
    .collect();
    summary.states_written = changed.len() as u64;
    summary.touched = touched.enrollees.len() as u64;
    if !changed.is_empty() {
        delta::append(
            store,
            Table::StatusHistory,
            vec![status_history::to_batch(&changed)?],
            None,
        )
        .await?;
    }
    let after = match base {
        Some(base) => base.after(&touched.previous, &changed),
        None => totals::counted(&lake::lake_context(store).await?).await?,
    };
    summary.by_status = after.by_status;
    summary.clusters = (after.clusters, after.members);
    summary.elapsed = started.elapsed();
    Ok(summary)
}
