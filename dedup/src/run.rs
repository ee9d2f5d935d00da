//! One dedup run, start to end.
//!
//! 1. Recover: delete `match_candidates` rows and gallery partitions of runs that never
//!    reached their `identity_status` commit.
//! 2. Probes = enrollments without a status, oldest capture first, in batches. Each batch is
//!    searched against every persisted gallery partition, against the earlier batches of this
//!    run, and within itself; the scored pairs are appended to `match_candidates`, and the
//!    batch is persisted as a new gallery partition.
//! 3. Derive statuses and clusters from all edges, NIKs and decisions ([`crate::status`]);
//!    overwrite `identity_status` (the commit point), then `clusters`.
//!
//! Step 3 runs even when there are no new probes, so adjudicators' decisions reach the
//! statuses on the next night, and a run killed between the two overwrites is healed.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use biometrics::fusion::PersonTemplate;
use biometrics::index::{self, Candidate, Partition, ProbeSet, SearchParams};
use chrono::Utc;
use lake::run::{RunCounts, FAILED, SUCCEEDED};
use lake::tables::{clusters, identity_status, match_candidates, Table};
use lake::{delta, Store};

use crate::error::Result;
use crate::load::{self, Enrollee};
use crate::options::DedupOptions;
use crate::progress::Progress;
use crate::record::{self, Pair, SOURCE_GALLERY, SOURCE_SAME_RUN};
use crate::segments;
use crate::status::{self, Evidence};
use crate::summary::DedupSummary;
use crate::thresholds;
use crate::STAGE;

/// Runs one dedup stage on the store: searches every enrollment not yet deduplicated and
/// commits statuses and clusters. Records itself in `runs`.
pub async fn dedup(store: &Store, options: &DedupOptions) -> Result<DedupSummary> {
    let run = lake::run::start(store, STAGE).await?;
    match execute(store, options, &run.run_id).await {
        Ok(summary) => {
            let counts = RunCounts {
                seen: (summary.probes + summary.gallery) as i64,
                processed: summary.probes as i64,
                accepted: summary
                    .by_status
                    .get(identity_status::TUNGGAL)
                    .copied()
                    .unwrap_or(0) as i64,
                rejected: summary.held_back.len() as i64,
            };
            let detail = serde_json::json!({
                "by_status": summary.by_status,
                "matches": summary.matches,
                "possible": summary.possible,
                "full_comparisons": summary.full_comparisons,
                "pairs_searched": summary.pairs_searched,
                "clusters": summary.clusters.0,
                "held_back": summary.held_back,
            });
            run.finish(store, SUCCEEDED, &counts, Some(&detail.to_string()))
                .await?;
            Ok(summary)
        }
        Err(err) => {
            let detail = serde_json::json!({ "error": err.to_string() });
            // The run's own error matters more than a failure to record it.
            let _ = run
                .finish(
                    store,
                    FAILED,
                    &RunCounts::default(),
                    Some(&detail.to_string()),
                )
                .await;
            Err(err)
        }
    }
}

async fn execute(store: &Store, options: &DedupOptions, run_id: &str) -> Result<DedupSummary> {
    let started = Instant::now();
    let mut summary = DedupSummary {
        run_id: run_id.to_string(),
        ..Default::default()
    };
    let ctx = lake::lake_context(store).await?;
    let previous = load::statuses(&ctx).await?;
    let committed: HashSet<String> = previous.values().map(|s| s.first_run_id.clone()).collect();

    // 1. Recover from runs that never committed.
    let stale_runs: Vec<String> = load::candidate_runs(&ctx)
        .await?
        .into_iter()
        .filter(|r| !committed.contains(r))
        .collect();
    if !stale_runs.is_empty() {
        let list: Vec<String> = stale_runs.iter().map(|r| delta::sql_literal(r)).collect();
        let removed = delta::delete_where(
            store,
            Table::MatchCandidates,
            &format!("run_id IN ({})", list.join(", ")),
        )
        .await?;
        summary.recovered.0 = removed.unwrap_or(0) as u64;
    }
    let (gallery_paths, stale_paths) = segments::list(store, &committed).await?;
    summary.recovered.1 = segments::remove(store, &stale_paths).await? as u64;
    if summary.recovered != (0, 0) {
        tracing::warn!(
            candidates = summary.recovered.0,
            partitions = summary.recovered.1,
            "removed the leftovers of an interrupted dedup run; its probes are searched again"
        );
    }

    // 2. Search.
    let ctx = lake::lake_context(store).await?;
    let enrollees = load::enrollees(&ctx).await?;
    let nik_of: HashMap<&str, &str> = enrollees
        .iter()
        .map(|e| (e.enrollment_id.as_str(), e.nik.as_str()))
        .collect();
    let pending: Vec<&Enrollee> = enrollees
        .iter()
        .filter(|e| !previous.contains_key(&e.enrollment_id))
        .collect();
    summary.probes = pending.len() as u64;
    summary.gallery = previous.len() as u64;
    summary.partitions = gallery_paths.len() as u64;
    let stored_sizes = segments::sizes(store, &gallery_paths).await?;
    summary.partition_bytes = stored_sizes.iter().sum();
    let t = thresholds::for_gallery(
        previous.len() + pending.len(),
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
        gallery = previous.len(),
        partitions = gallery_paths.len(),
        "dedup starting"
    );

    let mut progress = Progress::new(pending.len() as u64, options.progress_bar);
    // Stored partitions that fit the budget stay resident, merged into a few large ones and
    // searched together with one shortlist per probe across all of them; the rest of a
    // gallery beyond the budget streams, one stored partition at a time, every batch.
    let mut resident: Vec<Partition> = Vec::new();
    // Groups of stored partitions beyond the budget, each read and merged once per pass.
    let mut streamed: Vec<Vec<&str>> = Vec::new();
    if !pending.is_empty() {
        let load_started = Instant::now();
        let (keep, groups) = segments::plan_memory(
            gallery_paths
                .iter()
                .map(String::as_str)
                .zip(stored_sizes.iter().map(|&s| s as usize)),
            options.resident_bytes,
        );
        let loaded = segments::load_many(store, &keep).await?;
        resident = segments::merge_groups(loaded, segments::MERGED_PARTITION_BYTES);
        streamed = groups;
        summary.load_time += load_started.elapsed();
        tracing::info!(
            stored = gallery_paths.len(),
            searched_as = resident.len(),
            streamed_groups = streamed.len(),
            streamed = streamed.iter().map(Vec::len).sum::<usize>(),
            "gallery partitions loaded and merged"
        );
    }
    let mut this_run: Vec<Partition> = Vec::new();
    let mut brute = (0u64, 0u64);
    for batch in pending.chunks(options.batch_size.max(1)) {
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

        let mut found: Vec<(
            String,
            String,
            &'static str,
            biometrics::fusion::PersonScore,
        )> = Vec::new();
        // One shortlist per probe across the whole gallery, in two passes (`index::Ranking`,
        // `index::Selection`): partitions beyond the memory budget are loaded once per pass.
        let held: Vec<(&Partition, &'static str)> = resident
            .iter()
            .map(|p| (p, SOURCE_GALLERY))
            .chain(this_run.iter().map(|p| (p, SOURCE_SAME_RUN)))
            .collect();
        let searched = Instant::now();
        let (mut load_time, mut not_search) = (Duration::ZERO, Duration::ZERO);
        let mut ranking = index::Ranking::new(&probes, &params);
        for (k, group) in streamed.iter().enumerate() {
            let t = Instant::now();
            let p = segments::load_merged(store, group).await?;
            load_time += t.elapsed();
            ranking.add(&p, k);
        }
        for (k, (p, _)) in held.iter().enumerate() {
            ranking.add(p, streamed.len() + k);
        }
        let mut selection = ranking.select();
        for (k, group) in streamed.iter().enumerate() {
            let t = Instant::now();
            let p = segments::load_merged(store, group).await?;
            load_time += t.elapsed();
            let cands = selection.compare(&p, k);
            if options.compare_brute_force {
                let t = Instant::now();
                let brute_found = index::search_brute(&probes, &p, &params).0;
                brute = add(brute, missed(&cands, &brute_found));
                not_search += t.elapsed();
            }
            collect(&mut found, &probes, &p, cands, SOURCE_GALLERY);
        }
        for (k, (p, source)) in held.iter().enumerate() {
            let cands = selection.compare(p, streamed.len() + k);
            if options.compare_brute_force {
                let t = Instant::now();
                let brute_found = index::search_brute(&probes, p, &params).0;
                brute = add(brute, missed(&cands, &brute_found));
                not_search += t.elapsed();
            }
            collect(&mut found, &probes, p, cands, source);
        }
        summary.load_time += load_time;
        summary.add_search(
            searched.elapsed().saturating_sub(load_time + not_search),
            &selection.stats(),
        );
        let s = Instant::now();
        let (within, stats) = index::search_within(&probes, &params);
        summary.add_search(s.elapsed(), &stats);
        // Within a batch (capture order), the later enrollment is the one searched.
        for c in within {
            found.push((
                probes.enrollment_id(c.member).to_string(),
                probes.enrollment_id(c.probe).to_string(),
                SOURCE_SAME_RUN,
                c.score,
            ));
        }

        let now = Utc::now();
        let rows: Vec<_> = found
            .iter()
            .filter_map(|(p, c, source, score)| {
                record::row(
                    &Pair {
                        run_id,
                        probe_id: p,
                        candidate_id: c,
                        source,
                        same_nik: nik_of.get(p.as_str()) == nik_of.get(c.as_str()),
                        score,
                        created: now,
                    },
                    &t,
                )
            })
            .collect();
        for r in &rows {
            if r.band == match_candidates::BAND_MATCH {
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
            &mut this_run,
            Partition::build(people),
            segments::MERGED_PARTITION_BYTES,
        );
        progress.advance(batch.len() as u64, rows.len());
    }
    progress.finish();
    // Persisted before the statuses that make them count (see `segments`).
    for (n, p) in this_run.iter().enumerate() {
        segments::save(store, run_id, n, p).await?;
    }
    if options.compare_brute_force {
        summary.brute_force = Some(brute);
    }

    // 3. Statuses and clusters.
    let ctx = lake::lake_context(store).await?;
    let edges = load::match_edges(&ctx).await?;
    let decisions = load::decisions(&ctx).await?;
    let previous_clusters = load::clusters(&ctx).await?;
    // Held-back enrollments get no status: the next run searches them again.
    let held: HashSet<&str> = summary
        .held_back
        .iter()
        .map(|h| h.enrollment_id.as_str())
        .collect();
    let searched: Vec<Enrollee> = enrollees
        .iter()
        .filter(|e| !held.contains(e.enrollment_id.as_str()))
        .cloned()
        .collect();
    let derived = status::derive(&Evidence {
        enrollees: &searched,
        edges: &edges,
        decisions: &decisions,
        previous: &previous,
        previous_clusters: &previous_clusters,
        run_id,
        now: Utc::now(),
    });
    delta::overwrite(
        store,
        Table::IdentityStatus,
        vec![identity_status::to_batch(&derived.statuses)?],
    )
    .await?;
    delta::overwrite(
        store,
        Table::Clusters,
        vec![clusters::to_batch(&derived.clusters)?],
    )
    .await?;
    for s in &derived.statuses {
        *summary.by_status.entry(s.status.clone()).or_default() += 1;
    }
    let cluster_ids: HashSet<&str> = derived
        .clusters
        .iter()
        .map(|c| c.cluster_id.as_str())
        .collect();
    summary.clusters = (cluster_ids.len() as u64, derived.clusters.len() as u64);
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn collect(
    found: &mut Vec<(
        String,
        String,
        &'static str,
        biometrics::fusion::PersonScore,
    )>,
    probes: &ProbeSet,
    partition: &Partition,
    candidates: Vec<Candidate>,
    source: &'static str,
) {
    for c in candidates {
        found.push((
            probes.enrollment_id(c.probe).to_string(),
            partition.enrollment_id(c.member).to_string(),
            source,
            c.score,
        ));
    }
}

/// (pairs brute force found, of which the index missed).
fn missed(index: &[Candidate], brute: &[Candidate]) -> (u64, u64) {
    let got: HashSet<(u32, u32)> = index.iter().map(|c| (c.probe, c.member)).collect();
    let miss = brute
        .iter()
        .filter(|c| !got.contains(&(c.probe, c.member)))
        .count();
    (brute.len() as u64, miss as u64)
}

fn add(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    (a.0 + b.0, a.1 + b.1)
}
