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
use biometrics::index::{
    self, Candidate, Chosen, Partition, ProbeSet, Ranked, SearchParams, SearchStats,
};
use lake::vocabulary::CandidateSource;
use lake::Store;

use crate::error::{DedupError, Result};
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
    /// The store the streamed units are read from.
    pub store: &'a Store,
    /// The stored gallery in units ([`segments::plan_memory`]), in the gallery's order.
    pub stored: Vec<Unit<'a>>,
    /// This run's earlier batches (searched here, also when the stored units are searched
    /// on a cluster: they are not in the store yet).
    pub this_run: Vec<Partition>,
}

/// One unit of the stored gallery: several stored partitions searched as one.
pub enum Unit<'a> {
    /// Held in memory, merged.
    Held(Box<Partition>),
    /// Paths of stored partitions read and merged once per search pass (here), or searched
    /// where they are sent ([`RemoteSearch`]).
    Streamed(Vec<&'a str>),
}

/// The stored units searched elsewhere (a cluster's executors): the same two passes on the
/// same units, so the result is the one a search here gives. Implemented by the `cluster`
/// crate; `dedup` knows only this contract.
#[async_trait::async_trait]
pub trait RemoteSearch: Send + Sync {
    /// The first pass of `probes` over each unit (one [`Ranked`] per unit, in order);
    /// `batch` names the batch for the files the search may leave under the run's folder.
    async fn rank(
        &self,
        batch: &str,
        probes: &ProbeSet,
        units: &[Vec<String>],
        params: &SearchParams,
    ) -> Result<Vec<Ranked>>;

    /// The second pass over each unit on the lists the first pass chose (one per unit, in
    /// order): the candidates with the enrollment id of their member, and the work done.
    async fn compare(
        &self,
        batch: &str,
        probes: &ProbeSet,
        units: &[Vec<String>],
        chosen: Vec<Chosen>,
        params: &SearchParams,
    ) -> Result<Vec<(Vec<(Candidate, String)>, SearchStats)>>;
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
/// `summary`, and brute-force counts to `check` when asked for. With `remote`, the stored
/// units are searched there (`batch` names the batch for it).
pub async fn search_batch(
    gallery: &Gallery<'_>,
    remote: Option<(&dyn RemoteSearch, &str)>,
    probes: &ProbeSet,
    params: &SearchParams,
    mut check: Option<&mut BruteForceCheck>,
    summary: &mut DedupSummary,
) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    let searched = Instant::now();
    let brute_before = check.as_ref().map_or(Duration::ZERO, |c| c.took);
    let mut load_time = Duration::ZERO;
    let stored = gallery.stored.len();
    let this_run = gallery
        .this_run
        .iter()
        .map(|p| (p, CandidateSource::SameRun));

    let mut ranking = index::Ranking::new(probes, params);
    let mut selection = match remote {
        Some((remote, batch)) => {
            let units = remote_units(&gallery.stored)?;
            let ranked = remote.rank(batch, probes, &units, params).await?;
            let mut sizes = Vec::with_capacity(ranked.len());
            for (k, r) in ranked.into_iter().enumerate() {
                sizes.push(r.members as usize);
                ranking.add_ranked(r, k);
            }
            for (k, (p, _)) in this_run.clone().enumerate() {
                ranking.add(p, stored + k);
            }
            let mut selection = ranking.select();
            let chosen = sizes
                .iter()
                .enumerate()
                .map(|(k, &len)| selection.chosen(k, len))
                .collect();
            let compared = remote
                .compare(batch, probes, &units, chosen, params)
                .await?;
            for (cands, stats) in compared {
                selection.absorb(&stats);
                found.extend(cands.into_iter().map(|(c, candidate_id)| Found {
                    probe_id: probes.enrollment_id(c.probe).to_string(),
                    candidate_id,
                    source: CandidateSource::Gallery,
                    score: c.score,
                }));
            }
            selection
        }
        None => {
            for (k, unit) in gallery.stored.iter().enumerate() {
                match unit {
                    Unit::Held(p) => ranking.add(p, k),
                    Unit::Streamed(paths) => {
                        let t = Instant::now();
                        let p = segments::load_merged(gallery.store, paths).await?;
                        load_time += t.elapsed();
                        ranking.add(&p, k);
                    }
                }
            }
            for (k, (p, _)) in this_run.clone().enumerate() {
                ranking.add(p, stored + k);
            }
            let mut selection = ranking.select();
            for (k, unit) in gallery.stored.iter().enumerate() {
                let loaded;
                let p = match unit {
                    Unit::Held(p) => p,
                    Unit::Streamed(paths) => {
                        let t = Instant::now();
                        loaded = segments::load_merged(gallery.store, paths).await?;
                        load_time += t.elapsed();
                        &loaded
                    }
                };
                let cands = selection.compare(p, k);
                if let Some(check) = check.as_deref_mut() {
                    check.compare(probes, p, params, &cands);
                }
                push(&mut found, probes, p, cands, CandidateSource::Gallery);
            }
            selection
        }
    };
    for (k, (p, source)) in this_run.enumerate() {
        let cands = selection.compare(p, stored + k);
        if let Some(check) = check.as_deref_mut() {
            check.compare(probes, p, params, &cands);
        }
        push(&mut found, probes, p, cands, source);
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

/// The stored units as paths, for a remote search (which holds none of them here).
fn remote_units(stored: &[Unit<'_>]) -> Result<Vec<Vec<String>>> {
    stored
        .iter()
        .map(|u| match u {
            Unit::Streamed(paths) => Ok(paths.iter().map(|p| p.to_string()).collect()),
            Unit::Held(_) => Err(DedupError::Worker(
                "a remote search is given the gallery as paths, not held partitions".into(),
            )),
        })
        .collect()
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
