//! Probe × partition search: the candidate stage (votes from the index), the shortlist, then
//! the full fused comparison of the shortlisted pairs only.

use super::choose::{best_first, choose, IrisCheck};
use super::config::IndexConfig;
use super::keys::{ProbeKeys, IRIS_SLOT, SLOTS};
use super::partition::LazyMember;
use super::partition::Partition;
use super::postings::{prefetch, Postings};
use super::probe::ProbeSet;
use super::staged::Ranking;
use super::{Candidate, SearchParams, SearchStats};
use crate::fusion::compare_persons_sequential;
use crate::iris::{Eye, IrisCode};
use rayon::prelude::*;
use std::time::Instant;

/// A scored member: (evidence, votes, member).
type Scored = (f32, u32, u32);

/// Per-thread evidence counters, reused across probes and cleared through the touched list,
/// so the cost per probe is the number of postings visited, not the partition size.
#[derive(Default)]
pub(super) struct Votes {
    /// Per member, its counters: one cache line serves both reads of a posting.
    members: Vec<Tally>,
    epoch: u32,
    touched: Vec<u32>,
    /// The probe's lists in the partition searched, per key ([`Postings::ranges`]).
    ranges: Vec<(u32, u32)>,
}

/// One member's counters in [`Votes`].
#[derive(Default, Clone, Copy)]
struct Tally {
    /// The last group that counted for the member (`epoch` numbering), so a group counts
    /// once per member however many of its keys the member shares.
    stamp: u32,
    /// Per slot, the probe groups (cylinders, iris columns) that hit the member.
    hits: [u8; SLOTS],
}

/// Hit counts whose evidence [`score_members`] takes from a table.
const TABLED: usize = 16;

/// What one probe's lookups found: per slot, the expected number of groups that hit a
/// member by chance, and the postings visited.
pub(super) struct Counted {
    chance: [f64; SLOTS],
    /// Postings visited.
    pub work: u64,
    /// Of those, by the iris lookups.
    pub iris_work: u64,
}

/// Looks up one probe's groups and counts, per member and slot, the distinct groups that hit
/// it (`skip`, the probe itself in the within-batch search, is left out). A group's chance of
/// hitting a given member is estimated from its lists' lengths (Σ list length / members).
pub(super) fn count_votes(
    keys: &ProbeKeys,
    postings: &Postings,
    members: usize,
    votes: &mut Votes,
    skip: Option<u32>,
    cap: usize,
) -> Counted {
    if votes.members.len() < members {
        votes.members.resize(members, Tally::default());
    }
    let others = members.saturating_sub(usize::from(skip.is_some())).max(1) as f64;
    let mut chance = [0f64; SLOTS];
    let mut work = 0u64;
    let mut iris_work = 0u64;
    let mut ranges = std::mem::take(&mut votes.ranges);
    postings.ranges(&keys.keys, &mut ranges);
    // Lists this many keys ahead are asked for while the current one is counted.
    const AHEAD: usize = 8;
    let mut begin = 0usize;
    for &(end, slot) in &keys.groups {
        if votes.epoch == u32::MAX {
            votes.members.iter_mut().for_each(|t| t.stamp = 0);
            votes.epoch = 0;
        }
        votes.epoch += 1;
        let epoch = votes.epoch;
        let mut listed = 0usize;
        for key in begin..end as usize {
            if let Some(&(a, b)) = ranges.get(key + AHEAD) {
                if a < b {
                    prefetch(&postings.members[a as usize]);
                }
            }
            let (a, b) = ranges[key];
            let list = &postings.members[a as usize..b as usize];
            if list.len() > cap {
                continue;
            }
            work += list.len() as u64;
            listed += list.len();
            for &m in list {
                if Some(m) == skip {
                    listed -= 1;
                    continue;
                }
                let t = &mut votes.members[m as usize];
                if t.stamp == epoch {
                    continue;
                }
                t.stamp = epoch;
                if t.hits == [0; SLOTS] {
                    votes.touched.push(m);
                }
                t.hits[slot as usize] = t.hits[slot as usize].saturating_add(1);
            }
        }
        chance[slot as usize] += (listed as f64 / others).min(1.0);
        if slot >= IRIS_SLOT {
            iris_work += listed as u64;
        }
        begin = end as usize;
    }
    votes.ranges = ranges;
    Counted {
        chance,
        work,
        iris_work,
    }
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

/// Which scored members a caller wants back from [`score_members`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Wanted {
    /// Members with fewer votes are dropped.
    pub min_votes: u32,
    /// Members with less evidence are dropped, unless they have `always_votes`: a caller
    /// that keeps only the best members so far need not see those that cannot join them.
    pub floor: f32,
    /// Members with at least this many votes are kept whatever their evidence.
    pub always_votes: u32,
}

impl Wanted {
    /// Every member with at least `min_votes` votes.
    pub fn all(min_votes: u32) -> Wanted {
        Wanted {
            min_votes,
            floor: f32::NEG_INFINITY,
            always_votes: u32::MAX,
        }
    }
}

/// Scores every member the probe's groups hit, then clears the counters: (evidence, votes =
/// distinct groups that hit, member), for the members `wanted`. The iris slots' evidence is
/// scaled by `iris_weight / 4` ([`IndexConfig::iris_weight`]).
pub(super) fn score_members(
    counted: &Counted,
    votes: &mut Votes,
    wanted: Wanted,
    cfg: &IndexConfig,
) -> Vec<Scored> {
    let iris_scale = cfg.iris_weight as f64 / 4.0;
    // Each slot's evidence for a member depends only on its hit count: looked up for the
    // usual small counts (a probe touches up to every member of a partition, and a logarithm
    // per member and slot was a large part of the candidate stage), computed beyond.
    let weigh = |s: usize, x: u8| {
        let e = surprise(x, counted.chance[s]);
        if s >= IRIS_SLOT as usize {
            e * iris_scale
        } else {
            e
        }
    };
    let table: [[f64; TABLED]; SLOTS] =
        std::array::from_fn(|s| std::array::from_fn(|x| weigh(s, x as u8)));
    let mut out = Vec::with_capacity(votes.touched.len());
    for &m in &votes.touched {
        let h = &mut votes.members[m as usize].hits;
        let n: u32 = h.iter().map(|&x| x as u32).sum();
        if n >= wanted.min_votes {
            let e: f64 = h
                .iter()
                .enumerate()
                .filter(|(_, &x)| x > 0)
                .map(|(s, &x)| match table[s].get(x as usize) {
                    Some(&e) => e,
                    None => weigh(s, x),
                })
                .sum();
            let e = e as f32;
            if e >= wanted.floor || n >= wanted.always_votes {
                out.push((e, n, m));
            }
        }
        *h = [0; SLOTS];
    }
    votes.touched.clear();
    out
}

/// What the candidate stage chose for one probe.
struct Chosen {
    /// Members to compare fully, ascending.
    members: Vec<u32>,
    /// Postings visited.
    work: u64,
    /// Of those, by the iris lookups.
    iris_work: u64,
    /// Irises checked behind the shortlist.
    iris_checks: u64,
}

/// Sums the postings visited (all, by iris lookups) and the irises checked over all probes.
fn totals(per_probe: &[Chosen]) -> (u64, u64, u64) {
    per_probe.iter().fold((0, 0, 0), |(w, i, c), p| {
        (w + p.work, i + p.iris_work, c + p.iris_checks)
    })
}

/// The members one probe is fully compared with ([`choose`]), with the work it took.
/// `iris_of` gives a member's iris, for the iris check.
#[allow(clippy::too_many_arguments)]
fn shortlist<'a>(
    keys: &ProbeKeys,
    postings: &Postings,
    members: usize,
    cfg: &IndexConfig,
    params: &SearchParams,
    votes: &mut Votes,
    skip: Option<u32>,
    check: Option<&IrisCheck>,
    iris_of: impl Fn(u32, Eye) -> Option<&'a IrisCode>,
) -> Chosen {
    let counted = count_votes(
        keys,
        postings,
        members,
        votes,
        skip,
        params.list_cap(members),
    );
    let scored = score_members(&counted, votes, Wanted::all(params.min_votes.max(1)), cfg);
    let iris_admits = check.map(|c| {
        move |m: u32| c.admits(&params.fusion, |eye| iris_of(m, eye), params.iris_admit_llr)
    });
    let (members, iris_checks) = choose(scored, params, iris_admits);
    Chosen {
        members,
        work: counted.work,
        iris_work: counted.iris_work,
        iris_checks,
    }
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
pub(super) fn full_match(
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
                    let score = compare_persons_sequential(
                        &probes.persons[p as usize],
                        &person,
                        &params.fusion,
                        params.min_llr,
                        params.reject_llr,
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
    let (found, stats) = search_many(probes, &[partition], params);
    (found.into_iter().map(|(_, c)| c).collect(), stats)
}

/// Searches the probes against each other (one person enrolling twice in one night): each
/// unordered pair at most once, as `probe < member` (`member` is then a probe index). A pair
/// is fully compared when either side shortlists the other.
///
/// # Panics
/// If the probes were prepared with [`ProbeSet::build_against_gallery`].
pub fn search_within(probes: &ProbeSet, params: &SearchParams) -> (Vec<Candidate>, SearchStats) {
    assert!(
        probes.filed,
        "probes prepared for a gallery search only cannot be searched within"
    );
    let start = Instant::now();
    let per_probe: Vec<Chosen> = (0..probes.len())
        .into_par_iter()
        .map_init(Votes::default, |votes, i| {
            let check = IrisCheck::new(&probes.persons[i], params);
            shortlist(
                &probes.lookups[i],
                &probes.postings,
                probes.len(),
                &probes.config,
                params,
                votes,
                Some(i as u32),
                check.as_ref(),
                |m, eye| probes.persons[m as usize].iris(eye),
            )
        })
        .collect();
    let index_ns = start.elapsed().as_nanos() as u64;
    let (index_work, iris_work, iris_checks) = totals(&per_probe);
    let mut pairs: Vec<(u32, u32)> = per_probe
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.members
                .iter()
                .map(move |&m| (m.min(i as u32), m.max(i as u32)))
        })
        .collect();
    pairs.par_sort_unstable();
    pairs.dedup();
    let start = Instant::now();
    let mut out: Vec<Candidate> = pairs
        .par_iter()
        .filter_map(|&(a, b)| {
            let score = compare_persons_sequential(
                &probes.persons[a as usize],
                &probes.persons[b as usize],
                &params.fusion,
                params.min_llr,
                params.reject_llr,
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
        iris_work,
        iris_checks,
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
    search_brute_first(probes, partition, partition.len(), params)
}

/// [`search_brute`] against the first `members` members of `partition` only: a timing sample
/// of brute force that need not cover a whole (merged, perhaps 100,000-member) partition.
pub fn search_brute_first(
    probes: &ProbeSet,
    partition: &Partition,
    members: usize,
    params: &SearchParams,
) -> (Vec<Candidate>, SearchStats) {
    let members = members.min(partition.len());
    let mut pairs: Vec<(u32, u32)> = (0..members as u32)
        .flat_map(|m| (0..probes.len() as u32).map(move |p| (m, p)))
        .collect();
    let start = Instant::now();
    let out = full_match(probes, partition, &mut pairs, params);
    let stats = SearchStats {
        probes: probes.len() as u64,
        gallery: members as u64,
        pairs: pairs.len() as u64,
        full_comparisons: pairs.len() as u64,
        index_work: 0,
        iris_work: 0,
        iris_checks: 0,
        members_decoded: if probes.is_empty() { 0 } else { members as u64 },
        index_ns: 0,
        match_ns: start.elapsed().as_nanos() as u64,
    };
    (out, stats)
}

/// The candidate stage alone, for one probe: every member at least one of the probe's
/// cylinders or iris columns hit, as (evidence, votes, member), best first in the order the
/// shortlist takes (ties by member). Evidence is comparable across partitions of one gallery,
/// as [`search_many`] compares it. For diagnostics and evaluation (where does a mate rank?),
/// not for the nightly path.
pub fn candidate_evidence(
    probes: &ProbeSet,
    probe: u32,
    partition: &Partition,
) -> Vec<(f32, u32, u32)> {
    let lookups = probes.lookups_in(probe as usize, partition);
    let mut votes = Votes::default();
    let counted = count_votes(
        &lookups,
        &partition.postings,
        partition.len(),
        &mut votes,
        None,
        SearchParams::default().list_cap(partition.len()),
    );
    let mut scored = score_members(&counted, &mut votes, Wanted::all(1), &partition.config);
    scored.sort_by(best_first);
    scored
}

/// [`candidate_evidence`] without the evidence: (member, votes), best first.
pub fn candidate_votes(probes: &ProbeSet, probe: u32, partition: &Partition) -> Vec<(u32, u32)> {
    candidate_evidence(probes, probe, partition)
        .into_iter()
        .map(|s| (s.2, s.1))
        .collect()
}

/// Searches every probe against several gallery partitions with **one shortlist per probe
/// across all of them** ([`Ranking`], then [`super::Selection`] partition by partition): the
/// best `shortlist` members overall (plus any with `always_votes`, plus those the iris check
/// admits, `choose`) are fully compared. With a shortlist per partition the full
/// comparisons would grow with the number of partitions; this way they stay `shortlist` per
/// probe however the gallery is split. Returns `(partition index, candidate)` pairs sorted
/// by probe, then LLR descending, then partition and member; deterministic whatever the
/// number of threads.
pub fn search_many(
    probes: &ProbeSet,
    partitions: &[&Partition],
    params: &SearchParams,
) -> (Vec<(usize, Candidate)>, SearchStats) {
    let mut ranking = Ranking::new(probes, params);
    for (k, part) in partitions.iter().enumerate() {
        ranking.add(part, k);
    }
    let mut selection = ranking.select();
    let mut out: Vec<(usize, Candidate)> = Vec::new();
    for (k, part) in partitions.iter().enumerate() {
        out.extend(selection.compare(part, k).into_iter().map(|c| (k, c)));
    }
    out.sort_by(|(ka, a), (kb, b)| {
        a.probe
            .cmp(&b.probe)
            .then(b.score.llr.total_cmp(&a.score.llr))
            .then(ka.cmp(kb))
            .then(a.member.cmp(&b.member))
    });
    (out, selection.stats())
}
