//! One batch of probes searched against everyone before it: the persisted gallery (resident
//! partitions and the groups streamed from the store), this run's earlier batches, and the
//! batch itself.
//!
//! The search is the index's two passes (`biometrics::index::Ranking`, then `Selection`): the
//! first ranks every gallery member by index evidence for each probe across all partitions,
//! the second fully compares each probe's shortlist, partition by partition. Partitions beyond
//! the memory budget are therefore read twice per batch, once per pass. The same two calls per
//! partition are what a distributed driver runs on its executors.
//!
//! The one idea to hold in mind: within a batch the later capture is the probe; across
//! batches the earlier batch is part of the gallery (`CandidateSource::SameRun`), so each pair
//! is scored once.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use biometrics::fusion::PersonScore;
use biometrics::index::{self, Candidate, Partition, ProbeSet, SearchParams};
use lake::vocabulary::CandidateSource;
use lake::Store;

use crate::error::Result;
use crate::segments;
use crate::summary::DedupSummary;

/// A scored pair: the probe searched, the enrollment it was compared with, where that one came
/// from, and the fused score.
#[derive(Clone, Debug)]
pub struct Found {
    /// The enrollment searched.
    pub probe_id: String,
    /// The enrollment compared with.
    pub candidate_id: String,
    /// Gallery member or another probe of this run.
    pub source: CandidateSource,
    /// The fused score of the pair.
    pub score: PersonScore,
}

/// Everything enrolled before the batch being searched.
pub struct Gallery<'a> {
    /// The store the streamed partitions are read from.
    pub store: &'a Store,
    /// Stored partitions that fit the memory budget, merged into a few large ones.
    pub resident: Vec<Partition>,
    /// Groups of stored partitions beyond the budget, each read and merged once per pass.
    pub streamed: Vec<Vec<&'a str>>,
    /// This run's earlier batches.
    pub this_run: Vec<Partition>,
}

/// `--check-brute-force`: the pairs brute force finds beside the index, and how many of them
/// the index missed (a measurement, kept apart from the search's own time).
#[derive(Clone, Copy, Debug, Default)]
pub struct BruteForceCheck {
    /// Pairs brute force found at or above the `possible` threshold.
    pub pairs: u64,
    /// Of those, pairs the index did not shortlist.
    pub missed: u64,
    /// Time spent on brute force.
    pub took: Duration,
}

impl BruteForceCheck {
    /// Searches `partition` by brute force and counts the pairs missing from `found`.
    fn compare(
        &mut self,
        probes: &ProbeSet,
        partition: &Partition,
        params: &SearchParams,
        found: &[Candidate],
    ) {
        let started = Instant::now();
        let brute = index::search_brute(probes, partition, params).0;
        let got: HashSet<(u32, u32)> = found.iter().map(|c| (c.probe, c.member)).collect();
        self.pairs += brute.len() as u64;
        self.missed += brute
            .iter()
            .filter(|c| !got.contains(&(c.probe, c.member)))
            .count() as u64;
        self.took += started.elapsed();
    }
}

/// Searches `probes` against `gallery` and within themselves; adds the work and time to
/// `summary`, and brute-force counts to `check` when asked for.
pub async fn search_batch(
    gallery: &Gallery<'_>,
    probes: &ProbeSet,
    params: &SearchParams,
    mut check: Option<&mut BruteForceCheck>,
    summary: &mut DedupSummary,
) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    let held: Vec<(&Partition, CandidateSource)> = gallery
        .resident
        .iter()
        .map(|p| (p, CandidateSource::Gallery))
        .chain(
            gallery
                .this_run
                .iter()
                .map(|p| (p, CandidateSource::SameRun)),
        )
        .collect();
    let streamed = &gallery.streamed;
    let searched = Instant::now();
    let brute_before = check.as_ref().map_or(Duration::ZERO, |c| c.took);
    let mut load_time = Duration::ZERO;

    let mut ranking = index::Ranking::new(probes, params);
    for (k, group) in streamed.iter().enumerate() {
        let t = Instant::now();
        let p = segments::load_merged(gallery.store, group).await?;
        load_time += t.elapsed();
        ranking.add(&p, k);
    }
    for (k, (p, _)) in held.iter().enumerate() {
        ranking.add(p, streamed.len() + k);
    }
    let mut selection = ranking.select();
    for (k, group) in streamed.iter().enumerate() {
        let t = Instant::now();
        let p = segments::load_merged(gallery.store, group).await?;
        load_time += t.elapsed();
        let cands = selection.compare(&p, k);
        if let Some(check) = check.as_deref_mut() {
            check.compare(probes, &p, params, &cands);
        }
        push(&mut found, probes, &p, cands, CandidateSource::Gallery);
    }
    for (k, (p, source)) in held.iter().enumerate() {
        let cands = selection.compare(p, streamed.len() + k);
        if let Some(check) = check.as_deref_mut() {
            check.compare(probes, p, params, &cands);
        }
        push(&mut found, probes, p, cands, *source);
    }
    let brute_time = check.as_ref().map_or(Duration::ZERO, |c| c.took) - brute_before;
    summary.load_time += load_time;
    summary.add_search(
        searched.elapsed().saturating_sub(load_time + brute_time),
        &selection.stats(),
    );

    let s = Instant::now();
    let (within, stats) = index::search_within(probes, params);
    summary.add_search(s.elapsed(), &stats);
    // Within a batch (capture order), the later enrollment is the one searched.
    found.extend(within.into_iter().map(|c| Found {
        probe_id: probes.enrollment_id(c.member).to_string(),
        candidate_id: probes.enrollment_id(c.probe).to_string(),
        source: CandidateSource::SameRun,
        score: c.score,
    }));
    Ok(found)
}

fn push(
    found: &mut Vec<Found>,
    probes: &ProbeSet,
    partition: &Partition,
    candidates: Vec<Candidate>,
    source: CandidateSource,
) {
    found.extend(candidates.into_iter().map(|c| Found {
        probe_id: probes.enrollment_id(c.probe).to_string(),
        candidate_id: partition.enrollment_id(c.member).to_string(),
        source,
        score: c.score,
    }));
}
