//! Probe × partition search: the candidate stage (votes from the index), the shortlist, then
//! the full fused comparison of the shortlisted pairs only.

use super::config::IndexConfig;
use super::keys::{probe_keys, ProbeKeys, IRIS_SLOT, SLOTS};
use super::partition::LazyMember;
use super::partition::Partition;
use super::postings::Postings;
use super::probe::ProbeSet;
use super::{Candidate, SearchParams, SearchStats};
use crate::fusion::compare_persons_above;
use rayon::prelude::*;
use std::borrow::Cow;
use std::time::Instant;

/// A scored member: (evidence, votes, member).
type Scored = (f32, u32, u32);

/// Per-thread evidence counters, reused across probes and cleared through the touched list,
/// so the cost per probe is the number of postings visited, not the partition size.
#[derive(Default)]
struct Votes {
    /// Per member and slot, the probe groups (cylinders, iris columns) that hit it.
    hits: Vec<[u8; SLOTS]>,
    /// Per member, the last group that counted for it (`epoch` numbering), so a group counts
    /// once per member however many of its keys the member shares.
    stamp: Vec<u32>,
    epoch: u32,
    touched: Vec<u32>,
}

/// What one probe's lookups found: per slot, the expected number of groups that hit a
/// member by chance, and the postings visited.
struct Counted {
    chance: [f64; SLOTS],
    work: u64,
}

/// Looks up one probe's groups and counts, per member and slot, the distinct groups that hit
/// it (`skip`, the probe itself in the within-batch search, is left out). A group's chance of
/// hitting a given member is estimated from its lists' lengths (Σ list length / members).
fn count_votes(
    keys: &ProbeKeys,
    postings: &Postings,
    members: usize,
    votes: &mut Votes,
    skip: Option<u32>,
) -> Counted {
    if votes.hits.len() < members {
        votes.hits.resize(members, [0; SLOTS]);
        votes.stamp.resize(members, 0);
    }
    let others = members.saturating_sub(usize::from(skip.is_some())).max(1) as f64;
    let mut chance = [0f64; SLOTS];
    let mut work = 0u64;
    let mut begin = 0usize;
    for &(end, slot) in &keys.groups {
        if votes.epoch == u32::MAX {
            votes.stamp.iter_mut().for_each(|s| *s = 0);
            votes.epoch = 0;
        }
        votes.epoch += 1;
        let epoch = votes.epoch;
        let mut listed = 0usize;
        for &k in &keys.keys[begin..end as usize] {
            let list = postings.lookup(k);
            work += list.len() as u64;
            listed += list.len();
            for &m in list {
                if Some(m) == skip {
                    listed -= 1;
                    continue;
                }
                let st = &mut votes.stamp[m as usize];
                if *st == epoch {
                    continue;
                }
                *st = epoch;
                let h = &mut votes.hits[m as usize];
                if *h == [0; SLOTS] {
                    votes.touched.push(m);
                }
                h[slot as usize] = h[slot as usize].saturating_add(1);
            }
        }
        chance[slot as usize] += (listed as f64 / others).min(1.0);
        begin = end as usize;
    }
    Counted { chance, work }
}

/// Evidence that `h` groups hit a member where `chance` were expected: the Poisson
/// log-likelihood ratio of rate `h` against rate `chance`, `h·ln(h/λ) − (h − λ)`, 0 at or
/// below chance. A count far above what the lists' lengths predict is strong evidence; many
/// hits from frequent keys (long lists: a large λ) are not.
#[inline]
fn surprise(h: u8, chance: f64) -> f64 {
    let h = h as f64;
    let l = chance.max(1e-9);
    if h <= l {
        0.0
    } else {
        h * (h / l).ln() - (h - l)
    }
}

/// Scores every member the probe's groups hit, then clears the counters: (evidence, votes =
/// distinct groups that hit, member), for members with at least `min_votes` votes. The iris
/// slots' evidence is scaled by `iris_weight / 4` ([`IndexConfig::iris_weight`]).
fn score_members(
    counted: &Counted,
    votes: &mut Votes,
    min_votes: u32,
    cfg: &IndexConfig,
) -> Vec<Scored> {
    let iris_scale = cfg.iris_weight as f64 / 4.0;
    let mut out = Vec::with_capacity(votes.touched.len());
    for &m in &votes.touched {
        let h = &mut votes.hits[m as usize];
        let n: u32 = h.iter().map(|&x| x as u32).sum();
        if n >= min_votes {
            let e: f64 = h
                .iter()
                .zip(&counted.chance)
                .enumerate()
                .filter(|(_, (&x, _))| x > 0)
                .map(|(s, (&x, &l))| {
                    let e = surprise(x, l);
                    if s >= IRIS_SLOT as usize {
                        e * iris_scale
                    } else {
                        e
                    }
                })
                .sum();
            out.push((e as f32, n, m));
        }
        *h = [0; SLOTS];
    }
    votes.touched.clear();
    out
}

/// Best first: evidence descending, then votes descending, then member ascending.
fn best_first(a: &Scored, b: &Scored) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2))
}

/// The shortlist of one probe, ascending member indices: the `shortlist` members with the
/// most evidence (per slot, distinct probe cylinders or iris columns hitting the member,
/// against the number expected by chance; summed over slots), plus every member with at
/// least `always_votes` votes.
fn shortlist(
    keys: &ProbeKeys,
    postings: &Postings,
    members: usize,
    cfg: &IndexConfig,
    params: &SearchParams,
    votes: &mut Votes,
    skip: Option<u32>,
) -> (Vec<u32>, u64) {
    let counted = count_votes(keys, postings, members, votes, skip);
    let mut scored = score_members(&counted, votes, params.min_votes.max(1), cfg);
    let mut out: Vec<u32> = scored
        .iter()
        .filter(|s| s.1 >= params.always_votes)
        .map(|s| s.2)
        .collect();
    let k = params.shortlist;
    if scored.len() > k && k > 0 {
        scored.select_nth_unstable_by(k - 1, best_first);
    }
    scored.truncate(k);
    out.extend(scored.iter().map(|s| s.2));
    out.sort_unstable();
    out.dedup();
    (out, counted.work)
}

/// Sorts candidates by probe, then fused LLR descending, then member.
fn sort_candidates(c: &mut [Candidate]) {
    c.sort_by(|a, b| {
        a.probe
            .cmp(&b.probe)
            .then(b.score.llr.total_cmp(&a.score.llr))
            .then(a.member.cmp(&b.member))
    });
}

/// Full comparison of `(member, probe)` pairs against a partition: each member is compared
/// with all its probes in turn, its fingers rebuilt once, when a comparison first reaches
/// them ([`LazyMember`]), and dropped.
fn full_match(
    probes: &ProbeSet,
    partition: &Partition,
    pairs: &mut [(u32, u32)],
    params: &SearchParams,
) -> Vec<Candidate> {
    pairs.par_sort_unstable();
    let mut groups: Vec<&[(u32, u32)]> = pairs.chunk_by(|a, b| a.0 == b.0).collect();
    // Large groups first would balance better; member order keeps it simple and
    // deterministic (the result is sorted afterwards anyway).
    groups.shrink_to_fit();
    let mut out: Vec<Candidate> = groups
        .par_iter()
        .flat_map_iter(|g| {
            let member = g[0].0;
            let person = LazyMember::new(partition, member);
            g.iter()
                .filter_map(|&(_, p)| {
                    let score = compare_persons_above(
                        &probes.persons[p as usize],
                        &person,
                        &params.fusion,
                        params.min_llr,
                    )?;
                    Some(Candidate {
                        probe: p,
                        member,
                        score,
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    sort_candidates(&mut out);
    out
}

/// Searches every probe against one gallery partition: candidates from the index, the full
/// fused comparison on each probe's shortlist only. Returns the pairs with
/// `llr ≥ params.min_llr`, sorted by probe, then LLR descending, then member; the same
/// inputs give the same output whatever the number of threads.
pub fn search(
    probes: &ProbeSet,
    partition: &Partition,
    params: &SearchParams,
) -> (Vec<Candidate>, SearchStats) {
    let start = Instant::now();
    let same_config = probes.config == partition.config;
    let per_probe: Vec<(Vec<u32>, u64)> = (0..probes.len())
        .into_par_iter()
        .map_init(Votes::default, |votes, i| {
            let lookups: Cow<ProbeKeys> = if same_config {
                Cow::Borrowed(&probes.lookups[i])
            } else {
                Cow::Owned(probe_keys(
                    &probes.persons[i],
                    &partition.config,
                    &partition.hf,
                ))
            };
            shortlist(
                &lookups,
                &partition.postings,
                partition.len(),
                &partition.config,
                params,
                votes,
                None,
            )
        })
        .collect();
    let index_ns = start.elapsed().as_nanos() as u64;
    let index_work = per_probe.iter().map(|p| p.1).sum();
    let mut pairs: Vec<(u32, u32)> = per_probe
        .iter()
        .enumerate()
        .flat_map(|(i, (list, _))| list.iter().map(move |&m| (m, i as u32)))
        .collect();
    let full = pairs.len() as u64;
    let start = Instant::now();
    let out = full_match(probes, partition, &mut pairs, params);
    let stats = SearchStats {
        probes: probes.len() as u64,
        gallery: partition.len() as u64,
        pairs: probes.len() as u64 * partition.len() as u64,
        full_comparisons: full,
        index_work,
        // `full_match` sorted the pairs by member.
        members_decoded: pairs.chunk_by(|a, b| a.0 == b.0).count() as u64,
        index_ns,
        match_ns: start.elapsed().as_nanos() as u64,
    };
    (out, stats)
}

/// Searches the probes against each other (one person enrolling twice in one night): each
/// unordered pair at most once, as `probe < member` (`member` is then a probe index). A pair
/// is fully compared when either side shortlists the other.
pub fn search_within(probes: &ProbeSet, params: &SearchParams) -> (Vec<Candidate>, SearchStats) {
    let start = Instant::now();
    let per_probe: Vec<(Vec<u32>, u64)> = (0..probes.len())
        .into_par_iter()
        .map_init(Votes::default, |votes, i| {
            shortlist(
                &probes.lookups[i],
                &probes.postings,
                probes.len(),
                &probes.config,
                params,
                votes,
                Some(i as u32),
            )
        })
        .collect();
    let index_ns = start.elapsed().as_nanos() as u64;
    let index_work = per_probe.iter().map(|p| p.1).sum();
    let mut pairs: Vec<(u32, u32)> = per_probe
        .iter()
        .enumerate()
        .flat_map(|(i, (list, _))| {
            list.iter()
                .map(move |&m| (m.min(i as u32), m.max(i as u32)))
        })
        .collect();
    pairs.par_sort_unstable();
    pairs.dedup();
    let start = Instant::now();
    let mut out: Vec<Candidate> = pairs
        .par_iter()
        .filter_map(|&(a, b)| {
            let score = compare_persons_above(
                &probes.persons[a as usize],
                &probes.persons[b as usize],
                &params.fusion,
                params.min_llr,
            )?;
            Some(Candidate {
                probe: a,
                member: b,
                score,
            })
        })
        .collect();
    sort_candidates(&mut out);
    let n = probes.len() as u64;
    let stats = SearchStats {
        probes: n,
        gallery: n,
        pairs: n * n.saturating_sub(1) / 2,
        full_comparisons: pairs.len() as u64,
        index_work,
        members_decoded: 0,
        index_ns,
        match_ns: start.elapsed().as_nanos() as u64,
    };
    (out, stats)
}

/// The same contract as [`search`] by full comparison of every probe with every member: the
/// reference for recall measurements (and the fallback for tiny partitions).
pub fn search_brute(
    probes: &ProbeSet,
    partition: &Partition,
    params: &SearchParams,
) -> (Vec<Candidate>, SearchStats) {
    let mut pairs: Vec<(u32, u32)> = (0..partition.len() as u32)
        .flat_map(|m| (0..probes.len() as u32).map(move |p| (m, p)))
        .collect();
    let start = Instant::now();
    let out = full_match(probes, partition, &mut pairs, params);
    let stats = SearchStats {
        probes: probes.len() as u64,
        gallery: partition.len() as u64,
        pairs: pairs.len() as u64,
        full_comparisons: pairs.len() as u64,
        index_work: 0,
        members_decoded: if probes.is_empty() {
            0
        } else {
            partition.len() as u64
        },
        index_ns: 0,
        match_ns: start.elapsed().as_nanos() as u64,
    };
    (out, stats)
}

/// The candidate stage alone, for one probe: every member at least one of the probe's
/// cylinders or iris columns hit, with its votes (the number of distinct probe cylinders and
/// columns that hit it), best first by the index's evidence (the order the shortlist takes;
/// ties by member). For diagnostics and evaluation (where does a mate rank?), not for the
/// nightly path.
pub fn candidate_votes(probes: &ProbeSet, probe: u32, partition: &Partition) -> Vec<(u32, u32)> {
    let lookups = if probes.config == partition.config {
        Cow::Borrowed(&probes.lookups[probe as usize])
    } else {
        Cow::Owned(probe_keys(
            &probes.persons[probe as usize],
            &partition.config,
            &partition.hf,
        ))
    };
    let mut votes = Votes::default();
    let counted = count_votes(
        &lookups,
        &partition.postings,
        partition.len(),
        &mut votes,
        None,
    );
    let mut scored = score_members(&counted, &mut votes, 1, &partition.config);
    scored.sort_by(best_first);
    scored.into_iter().map(|s| (s.2, s.1)).collect()
}

/// A member of one of several partitions scored for one probe: (evidence, votes, partition,
/// member).
type ScoredIn = (f32, u32, usize, u32);

/// Searches every probe against several gallery partitions with **one shortlist per probe
/// across all of them**: each probe's evidence is computed partition by partition, the best
/// `shortlist` members overall (plus any with `always_votes`) are fully compared. With a
/// shortlist per partition the full comparisons would grow with the number of partitions;
/// this way they stay `shortlist` per probe however the gallery is split. Returns
/// `(partition index, candidate)` pairs sorted by probe, then LLR descending, then partition
/// and member; deterministic whatever the number of threads.
pub fn search_many(
    probes: &ProbeSet,
    partitions: &[&Partition],
    params: &SearchParams,
) -> (Vec<(usize, Candidate)>, SearchStats) {
    let start = Instant::now();
    let per_probe: Vec<(Vec<(usize, u32)>, u64)> = (0..probes.len())
        .into_par_iter()
        .map_init(Votes::default, |votes, i| {
            let mut all: Vec<ScoredIn> = Vec::new();
            let mut chosen: Vec<(usize, u32)> = Vec::new();
            let mut work = 0u64;
            for (k, part) in partitions.iter().enumerate() {
                let lookups: Cow<ProbeKeys> = if probes.config == part.config {
                    Cow::Borrowed(&probes.lookups[i])
                } else {
                    Cow::Owned(probe_keys(&probes.persons[i], &part.config, &part.hf))
                };
                let counted = count_votes(&lookups, &part.postings, part.len(), votes, None);
                work += counted.work;
                for s in score_members(&counted, votes, params.min_votes.max(1), &part.config) {
                    if s.1 >= params.always_votes {
                        chosen.push((k, s.2));
                    }
                    all.push((s.0, s.1, k, s.2));
                }
            }
            let best = |a: &ScoredIn, b: &ScoredIn| {
                b.0.total_cmp(&a.0)
                    .then(b.1.cmp(&a.1))
                    .then(a.2.cmp(&b.2))
                    .then(a.3.cmp(&b.3))
            };
            let k = params.shortlist;
            if all.len() > k && k > 0 {
                all.select_nth_unstable_by(k - 1, best);
            }
            all.truncate(k);
            chosen.extend(all.iter().map(|s| (s.2, s.3)));
            chosen.sort_unstable();
            chosen.dedup();
            (chosen, work)
        })
        .collect();
    let index_ns = start.elapsed().as_nanos() as u64;
    let mut by_partition: Vec<Vec<(u32, u32)>> = vec![Vec::new(); partitions.len()];
    for (i, (list, _)) in per_probe.iter().enumerate() {
        for &(k, m) in list {
            by_partition[k].push((m, i as u32));
        }
    }
    let start = Instant::now();
    let mut stats = SearchStats {
        probes: probes.len() as u64,
        gallery: partitions.iter().map(|p| p.len() as u64).sum(),
        index_work: per_probe.iter().map(|p| p.1).sum(),
        index_ns,
        ..SearchStats::default()
    };
    stats.pairs = stats.probes * stats.gallery;
    let mut out: Vec<(usize, Candidate)> = Vec::new();
    for (k, pairs) in by_partition.iter_mut().enumerate() {
        stats.full_comparisons += pairs.len() as u64;
        let found = full_match(probes, partitions[k], pairs, params);
        stats.members_decoded += pairs.chunk_by(|a, b| a.0 == b.0).count() as u64;
        out.extend(found.into_iter().map(|c| (k, c)));
    }
    stats.match_ns = start.elapsed().as_nanos() as u64;
    out.sort_by(|(ka, a), (kb, b)| {
        a.probe
            .cmp(&b.probe)
            .then(b.score.llr.total_cmp(&a.score.llr))
            .then(ka.cmp(kb))
            .then(a.member.cmp(&b.member))
    });
    (out, stats)
}
