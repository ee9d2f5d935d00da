//! A search over a gallery of many partitions in two passes, with one shortlist per probe
//! across all of them: first the candidate stage over every partition ([`Ranking`]), then
//! the iris check and the full comparison partition by partition ([`Selection`]).
//!
//! Why two passes: a shortlist per partition makes the full comparisons grow with the number
//! of partitions, while one shortlist across the gallery keeps them at `shortlist` per probe
//! however the gallery is split. Deciding that shortlist needs every partition's evidence
//! before any partition is fully compared — and a gallery bigger than memory cannot stay
//! loaded in between. So each pass takes one partition at a time: a caller may hold them
//! all ([`super::search_many`]) or load each one twice, once per pass (the nightly run for
//! the part of the gallery beyond its memory budget). Between the passes only the best
//! `iris_depth` members per probe are kept (ids and evidence, 12 bytes each). The
//! result is the same either way, and the same as one search over all members at once.

use super::choose::{best_first, choose, IrisCheck};
use super::partition::Partition;
use super::probe::ProbeSet;
use super::search::{count_votes, full_match, score_members, Votes, Wanted};
use super::{Candidate, SearchParams, SearchStats};
use crate::iris::Eye;
use rayon::prelude::*;
use std::time::Instant;

/// A member of the gallery across partitions: its partition's first id plus its index
/// within it, partitions numbered in the order the first pass saw them. 4 bytes instead of
/// a (partition, member) pair's 16: a probe keeps `iris_depth` of them between the passes,
/// which at 10,000 probes and a depth of thousands is hundreds of MiB.
type GalleryMember = u32;

/// (evidence, votes, member), as [`choose`] ranks them.
type Scored = (f32, u32, GalleryMember);

/// Where each partition's members start in the [`GalleryMember`] numbering: `starts[k]` is
/// partition `k`'s first id, `starts[k + 1]` one past its last.
#[derive(Debug, Clone)]
struct Numbering {
    starts: Vec<GalleryMember>,
}

impl Numbering {
    /// The ids of partition `index`, which must have `len` members.
    fn range(&self, index: usize, len: usize) -> std::ops::Range<GalleryMember> {
        let (lo, hi) = (self.starts[index], self.starts[index + 1]);
        assert_eq!(
            (hi - lo) as usize,
            len,
            "partition {index} is not the one the first pass saw"
        );
        lo..hi
    }
}

/// One member's index evidence for one probe, as the first pass ranks it; `member` is the
/// member's index within its partition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// Summed evidence of the probe's groups that hit the member.
    pub evidence: f32,
    /// Distinct groups that hit it.
    pub votes: u32,
    /// Index of the member in its partition.
    pub member: u32,
}

/// The first pass over one partition, computed apart from the rest of the gallery (on
/// another machine): per probe, the members that partition contributes to the ranking.
/// [`Ranking::add_ranked`] takes it as [`Ranking::add`] would have taken the partition, with
/// the same result.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// Members of the partition (its place in the gallery's numbering).
    pub members: u32,
    /// Per probe (in [`ProbeSet`] order), every member with at least `always_votes` votes
    /// and the best `depth` others: all the partition can contribute to the probe's
    /// shortlist and iris check.
    pub per_probe: Vec<Vec<Evidence>>,
    /// The candidate stage's work and time.
    pub stats: SearchStats,
}

/// One unit's evidence for one probe, summarised for [`Ranking::floors`]: (rank, evidence)
/// pairs meaning "at least `rank` of the unit's members — not counting those with
/// `always_votes` — have this evidence or more".
pub type Samples = Vec<(u32, f32)>;

/// Ranks sampled every one up to here, then ever more sparsely.
const DENSE_RANKS: u32 = 16;

impl Ranked {
    /// Per probe, samples of this unit's evidence for [`Ranking::floors`]: dense near the
    /// top, every 5 % of rank up to four times the unit's fair share of the probe's depth
    /// (`depths[p] / units`, where a floor of an evenly cut gallery falls), doubling beyond,
    /// and always the unit's last. Taking a floor from them costs at most about 5 % more
    /// members than the depth, per unit, plus the ranks between two samples.
    pub fn samples(&self, always_votes: u32, depths: &[usize], units: usize) -> Vec<Samples> {
        self.per_probe
            .par_iter()
            .zip(depths)
            .map(|(list, &depth)| {
                let mut values: Vec<f32> = list
                    .iter()
                    .filter(|e| e.votes < always_votes)
                    .map(|e| e.evidence)
                    .collect();
                values.sort_by(|a, b| b.total_cmp(a));
                let n = values.len() as u32;
                let share = (depth.div_ceil(units.max(1)) as u32).saturating_mul(4);
                let mut out = Vec::new();
                let mut rank = 1u32;
                while rank <= n {
                    out.push((rank, values[rank as usize - 1]));
                    rank = if rank < DENSE_RANKS {
                        rank + 1
                    } else if rank < share {
                        (rank + 1).max((rank as f32 * 1.05).ceil() as u32)
                    } else {
                        rank.saturating_mul(2)
                    };
                }
                if n > 0 && out.last().map(|s| s.0) != Some(n) {
                    out.push((n, values[n as usize - 1]));
                }
                out
            })
            .collect()
    }

    /// The same pass keeping, per probe, only what can still be among its best: members
    /// with `always_votes`, and the others at or above the probe's floor
    /// ([`Ranking::floors`]).
    pub fn above(mut self, floors: &[f32], always_votes: u32) -> Ranked {
        self.per_probe
            .par_iter_mut()
            .zip(floors)
            .for_each(|(list, &floor)| {
                list.retain(|e| e.evidence >= floor || e.votes >= always_votes)
            });
        self
    }
}

/// How many members by evidence a unit keeps per probe at least, however many units there are:
/// small depths (a shortlist of 20 over dozens of units) are not cut to a handful, where
/// chance would often put more of a probe's best in one unit than its share.
const UNIT_DEPTH_MIN: usize = 64;

/// Per probe, how many members by evidence (besides those with `always_votes`) one of
/// `units` units keeps in its first pass ([`Ranking::rank_unit`]): four times its fair share
/// of the probe's depth — where [`Ranked::samples`] stop being dense — at least
/// `UNIT_DEPTH_MIN` (64), at most the depth.
pub fn unit_depths(depths: &[usize], units: usize) -> Vec<usize> {
    depths
        .iter()
        .map(|&depth| {
            let share = depth.div_ceil(units.max(1)).saturating_mul(4);
            share.max(UNIT_DEPTH_MIN).min(depth)
        })
        .collect()
}

/// One unit's first pass cut to the unit's share of each probe's depth
/// ([`Ranking::rank_unit`]).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitPass {
    /// The members kept: per probe, every one with `always_votes` and the best of the others
    /// up to the unit's depth.
    pub ranked: Ranked,
    /// Per probe, the evidence at or below which members of the unit were left out, or
    /// `None` when none was (the unit holds fewer, or its depth is the probe's whole depth).
    pub cut: Vec<Option<f32>>,
}

impl UnitPass {
    /// Whether the pass holds every member a threshold round with these floors
    /// ([`Ranking::floors`]) asks of the unit: every probe's floor lies above its cut (a
    /// member left out has at most the cut's evidence, so it is below the floor). When not,
    /// some probe's best reach deeper into this unit than four fair shares, and the unit's
    /// whole pass ([`Ranking::rank`]) answers instead.
    pub fn covers(&self, floors: &[f32]) -> bool {
        self.cut
            .iter()
            .zip(floors)
            .all(|(cut, &floor)| cut.is_none_or(|c| floor > c))
    }
}

/// The first pass: every probe's best-evidenced members over the partitions added so far.
pub struct Ranking<'a> {
    probes: &'a ProbeSet,
    params: &'a SearchParams,
    /// Per probe, the members [`choose`] could still pick: every one with `always_votes`,
    /// and the `depth` with the most evidence.
    kept: Vec<Vec<Scored>>,
    /// Per probe, how many members by evidence [`choose`] looks at.
    depth: Vec<usize>,
    /// Per probe, the least evidence among its `depth` best so far (−∞ until it has that
    /// many): a member with less cannot join them, so it is not even collected — at a
    /// million members a probe's lookups touch most of the gallery, and collecting and
    /// ranking every member touched cost as much as counting the votes.
    floor: Vec<f32>,
    numbering: Numbering,
    stats: SearchStats,
}

impl<'a> Ranking<'a> {
    /// An empty ranking for `probes`.
    pub fn new(probes: &'a ProbeSet, params: &'a SearchParams) -> Ranking<'a> {
        let depth = Ranking::depths(probes, params);
        Ranking {
            probes,
            params,
            kept: vec![Vec::new(); probes.len()],
            floor: vec![f32::NEG_INFINITY; probes.len()],
            depth,
            numbering: Numbering { starts: vec![0] },
            stats: SearchStats {
                probes: probes.len() as u64,
                ..SearchStats::default()
            },
        }
    }

    /// Per probe, how many members by evidence (besides those with `always_votes`) the
    /// ranking keeps: the shortlist, or the iris depth when the probe's irises are checked.
    pub fn depths(probes: &ProbeSet, params: &SearchParams) -> Vec<usize> {
        probes
            .persons
            .iter()
            .map(|p| {
                if IrisCheck::applies(p, params) {
                    params.iris_depth.max(params.shortlist)
                } else {
                    params.shortlist
                }
            })
            .collect()
    }

    /// Per probe, the least evidence a member of the whole gallery needs to be among the
    /// probe's best, as far as the units' [`Ranked::samples`] prove it: the highest value
    /// that at least the probe's depth of members (not counting those with `always_votes`)
    /// reach in all units together, or −∞ when the samples do not prove that many. No
    /// member below it can be kept, so each unit need return only those at or above it
    /// ([`Ranked::above`]) and the ranking ends exactly the same. `samples` holds one list
    /// per unit, each with one entry per probe.
    pub fn floors(depths: &[usize], samples: &[Vec<Samples>]) -> Vec<f32> {
        (0..depths.len())
            .into_par_iter()
            .map(|p| {
                let depth = depths[p] as u64;
                if depth == 0 {
                    return f32::NEG_INFINITY;
                }
                let mut all: Vec<(f32, usize, u32)> = samples
                    .iter()
                    .enumerate()
                    .flat_map(|(u, unit)| {
                        unit.get(p)
                            .into_iter()
                            .flatten()
                            .map(move |&(rank, value)| (value, u, rank))
                    })
                    .collect();
                all.sort_by(|a, b| b.0.total_cmp(&a.0));
                let mut reached = vec![0u32; samples.len()];
                let mut proven = 0u64;
                let mut i = 0;
                while i < all.len() {
                    let value = all[i].0;
                    while i < all.len() && all[i].0.total_cmp(&value).is_eq() {
                        let (_, u, rank) = all[i];
                        if rank > reached[u] {
                            proven += u64::from(rank - reached[u]);
                            reached[u] = rank;
                        }
                        i += 1;
                    }
                    if proven >= depth {
                        return value;
                    }
                }
                f32::NEG_INFINITY
            })
            .collect()
    }

    /// The first pass of `probes` over `partition` alone: what the partition contributes to
    /// any gallery it is part of (see [`Ranked`]). The unit of work of a distributed search.
    pub fn rank(probes: &ProbeSet, params: &SearchParams, partition: &Partition) -> Ranked {
        let mut ranking = Ranking::new(probes, params);
        ranking.add(partition, 0);
        ranking.into_ranked(partition.len())
    }

    /// The first pass over `partition` as one of `units` units of a gallery, keeping per
    /// probe only its best [`unit_depths`] instead of the probe's whole depth: a unit's
    /// share of a probe's best is about `depth / units`, so a pass of the whole depth per
    /// unit would hold `units` times what the threshold round asks of it — at a million
    /// members and ten thousand probes, 1.2 GB per unit instead of a few hundred MB, which
    /// an executor keeps for the gather job. The result says per probe where it was cut; [`UnitPass::covers`] tells whether it holds everything a floor asks for, and
    /// when it does not, [`Ranking::rank`] gives the whole pass.
    pub fn rank_unit(
        probes: &ProbeSet,
        params: &SearchParams,
        partition: &Partition,
        units: usize,
    ) -> UnitPass {
        let mut ranking = Ranking::new(probes, params);
        let depths = std::mem::take(&mut ranking.depth);
        ranking.depth = unit_depths(&depths, units);
        ranking.add(partition, 0);
        let cut = ranking
            .depth
            .iter()
            .zip(&depths)
            .zip(&ranking.floor)
            .map(|((&kept, &whole), &floor)| (kept < whole && floor.is_finite()).then_some(floor))
            .collect();
        UnitPass {
            ranked: ranking.into_ranked(partition.len()),
            cut,
        }
    }

    /// The kept members of a ranking over one partition, as a [`Ranked`].
    fn into_ranked(self, members: usize) -> Ranked {
        let mut stats = self.stats;
        stats.probes = 0;
        Ranked {
            members: members as u32,
            per_probe: self
                .kept
                .into_iter()
                .map(|kept| {
                    kept.into_iter()
                        .map(|(evidence, votes, member)| Evidence {
                            evidence,
                            votes,
                            member,
                        })
                        .collect()
                })
                .collect(),
            stats,
        }
    }

    /// Adds the first pass of a partition computed apart ([`Ranking::rank`]) as partition
    /// `index`: the ranking ends exactly as if [`Ranking::add`] had been given the partition
    /// itself (a member below the probe's floor here could not have joined its best).
    ///
    /// # Panics
    /// If `ranked` is for another number of probes, or partitions are added out of order.
    pub fn add_ranked(&mut self, ranked: Ranked, index: usize) {
        assert_eq!(
            ranked.per_probe.len(),
            self.kept.len(),
            "ranked for other probes"
        );
        let first = self.number(index, ranked.members as usize);
        let always = self.params.always_votes;
        self.kept
            .par_iter_mut()
            .zip(&mut self.floor)
            .zip(&self.depth)
            .zip(ranked.per_probe)
            .for_each(|(((kept, floor), &depth), list)| {
                kept.extend(
                    list.into_iter()
                        .filter(|e| e.evidence >= *floor || e.votes >= always)
                        .map(|e| (e.evidence, e.votes, first + e.member)),
                );
                *floor = keep_best(kept, depth, always);
            });
        let mut stats = ranked.stats;
        stats.probes = 0;
        self.stats.add(&stats);
    }

    /// Gives partition `index` of `len` members its place in the numbering; returns its
    /// first id.
    fn number(&mut self, index: usize, len: usize) -> GalleryMember {
        assert_eq!(
            index + 1,
            self.numbering.starts.len(),
            "partitions added out of order"
        );
        let first = *self.numbering.starts.last().unwrap_or(&0);
        let next = u32::try_from(len)
            .ok()
            .and_then(|n| first.checked_add(n))
            .expect("a gallery of more than 4,294,967,295 members");
        self.numbering.starts.push(next);
        first
    }

    /// Runs the candidate stage of every probe against `partition`, known as partition
    /// `index` in the second pass. Partitions are added in order: `index` is the number
    /// added before it.
    pub fn add(&mut self, partition: &Partition, index: usize) {
        let first = self.number(index, partition.len());
        let start = Instant::now();
        let (probes, params) = (self.probes, self.params);
        let cap = params.list_cap(partition.len());
        let work: Vec<(u64, u64)> = self
            .kept
            .par_iter_mut()
            .zip(&mut self.floor)
            .zip(&self.depth)
            .enumerate()
            .map_init(Votes::default, |votes, (i, ((kept, floor), &depth))| {
                let lookups = probes.lookups_in(i, partition);
                let counted = count_votes(
                    &lookups,
                    &partition.postings,
                    partition.len(),
                    votes,
                    None,
                    cap,
                );
                let wanted = Wanted {
                    min_votes: params.min_votes.max(1),
                    floor: *floor,
                    always_votes: params.always_votes,
                };
                let scored = score_members(&counted, votes, wanted, &partition.config);
                kept.extend(scored.into_iter().map(|(e, v, m)| (e, v, first + m)));
                *floor = keep_best(kept, depth, params.always_votes);
                (counted.work, counted.iris_work)
            })
            .collect();
        for (w, i) in work {
            self.stats.index_work += w;
            self.stats.iris_work += i;
        }
        self.stats.gallery += partition.len() as u64;
        self.stats.index_ns += start.elapsed().as_nanos() as u64;
    }

    /// Ends the first pass: the shortlist of every probe, and the members behind it whose
    /// irises the second pass checks.
    pub fn select(self) -> Selection<'a> {
        let mut stats = self.stats;
        stats.pairs = stats.probes * stats.gallery;
        let per_probe = self
            .kept
            .into_par_iter()
            .map(|kept| {
                // Everything `choose` would take without the iris check, and (by asking it
                // to admit every member it checks) everything it would check.
                let (sure, _) =
                    choose(kept.clone(), self.params, None::<fn(GalleryMember) -> bool>);
                let (with_behind, _) = choose(kept, self.params, Some(|_| true));
                let behind: Vec<GalleryMember> = with_behind
                    .into_iter()
                    .filter(|m| sure.binary_search(m).is_err())
                    .collect();
                (sure, behind)
            })
            .collect();
        Selection {
            probes: self.probes,
            params: self.params,
            per_probe,
            numbering: self.numbering,
            stats,
        }
    }
}

/// Keeps in `kept` the members [`choose`] could pick: all with at least `always_votes`
/// votes and the `depth` best of the others (the best `depth` overall are among these).
/// Returns the least evidence among those `depth` best, or −∞ while there are fewer.
fn keep_best(kept: &mut Vec<Scored>, depth: usize, always_votes: u32) -> f32 {
    if kept.len() < depth {
        return f32::NEG_INFINITY; // fewer than `depth` of any kind: nothing to trim
    }
    let (mut always, mut rest): (Vec<Scored>, Vec<Scored>) =
        kept.drain(..).partition(|s| s.1 >= always_votes);
    if rest.len() > depth && depth > 0 {
        rest.select_nth_unstable_by(depth - 1, best_first);
    }
    rest.truncate(depth);
    let floor = if rest.len() == depth && depth > 0 {
        rest.iter().map(|s| s.0).fold(f32::INFINITY, f32::min)
    } else {
        f32::NEG_INFINITY
    };
    always.append(&mut rest);
    *kept = always;
    floor
}

/// The second pass: per probe, the members to compare fully (ascending) and those behind
/// the shortlist whose irises decide (ascending).
pub struct Selection<'a> {
    probes: &'a ProbeSet,
    params: &'a SearchParams,
    per_probe: Vec<(Vec<GalleryMember>, Vec<GalleryMember>)>,
    numbering: Numbering,
    stats: SearchStats,
}

impl Selection<'_> {
    /// Per probe, the members of partition `index` (of `len` members) to compare fully and
    /// those behind the shortlist whose irises decide: what [`compare_chosen`] needs of the
    /// first pass, for a partition compared apart (on another machine).
    pub fn chosen(&self, index: usize, len: usize) -> Chosen {
        let ids = self.numbering.range(index, len);
        let in_part = |list: &[GalleryMember]| -> Vec<u32> {
            let from = list.partition_point(|&m| m < ids.start);
            list[from..]
                .iter()
                .take_while(|&&m| m < ids.end)
                .map(|&m| m - ids.start)
                .collect()
        };
        Chosen {
            per_probe: self
                .per_probe
                .par_iter()
                .map(|(sure, behind)| (in_part(sure), in_part(behind)))
                .collect(),
        }
    }

    /// Adds the work of a partition compared apart ([`compare_chosen`]).
    pub fn absorb(&mut self, stats: &SearchStats) {
        let mut stats = *stats;
        stats.probes = 0;
        self.stats.add(&stats);
    }

    /// Checks the irises of the members of partition `index` behind each shortlist, then
    /// fully compares each probe with its shortlisted and admitted members there. Returns
    /// the candidates at or above `min_llr`, sorted by probe, then LLR descending, then
    /// member.
    pub fn compare(&mut self, partition: &Partition, index: usize) -> Vec<Candidate> {
        let chosen = self.chosen(index, partition.len());
        let (found, stats) = compare_chosen(self.probes, self.params, partition, &chosen);
        self.absorb(&stats);
        found
    }

    /// What both passes did so far.
    pub fn stats(&self) -> SearchStats {
        self.stats
    }
}

/// What the second pass compares in one partition: per probe (in [`ProbeSet`] order), the
/// members to compare fully and those behind the shortlist whose irises decide, both
/// ascending indices within the partition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chosen {
    /// Per probe: (members to compare, members whose irises are checked).
    pub per_probe: Vec<(Vec<u32>, Vec<u32>)>,
}

/// The second pass over one partition: checks the irises of the members behind each
/// shortlist, then fully compares each probe with its shortlisted and admitted members.
/// Returns the candidates at or above `min_llr` (sorted by probe, then LLR descending, then
/// member) and the work done. [`Selection::compare`] is this on the selection's own lists.
pub fn compare_chosen(
    probes: &ProbeSet,
    params: &SearchParams,
    partition: &Partition,
    chosen: &Chosen,
) -> (Vec<Candidate>, SearchStats) {
    let mut stats = SearchStats::default();
    let start = Instant::now();
    let admitted: Vec<(Vec<u32>, u64)> = chosen
        .per_probe
        .par_iter()
        .enumerate()
        .map(|(i, (sure, behind))| {
            let mut members = sure.clone();
            let checked = behind.len() as u64;
            if !behind.is_empty() {
                if let Some(check) = IrisCheck::new(&probes.persons[i], params) {
                    // Where the members' irises are kept is asked for 8 members ahead,
                    // the first eye compared 4 ahead.
                    for (j, &m) in behind.iter().enumerate() {
                        if let Some(&next) = behind.get(j + 8) {
                            partition.prefetch_iris_slots(next);
                        }
                        if let Some(&next) = behind.get(j + 4) {
                            partition.prefetch_iris(next, Eye::Right);
                        }
                        if check.admits(
                            &params.fusion,
                            |eye| partition.iris(m, eye),
                            params.iris_admit_llr,
                        ) {
                            members.push(m);
                        }
                    }
                    members.sort_unstable();
                }
            }
            (members, checked)
        })
        .collect();
    stats.index_ns += start.elapsed().as_nanos() as u64;
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for (i, (members, checked)) in admitted.iter().enumerate() {
        stats.iris_checks += checked;
        pairs.extend(members.iter().map(|&m| (m, i as u32)));
    }
    let start = Instant::now();
    stats.full_comparisons += pairs.len() as u64;
    let found = full_match(probes, partition, &mut pairs, params);
    // `full_match` sorted the pairs by member.
    stats.members_decoded += pairs.chunk_by(|a, b| a.0 == b.0).count() as u64;
    stats.match_ns += start.elapsed().as_nanos() as u64;
    (found, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::config::splitmix;

    #[test]
    fn members_below_the_floor_are_never_among_the_best_kept() {
        // Scores arrive in chunks (one per partition); each chunk drops what is below the
        // floor of what was kept before it, as `Ranking::add` does. What is kept at the end
        // must be exactly what one ranking of everything keeps.
        let (depth, always) = (20, 90u32);
        let mut state = 7u64;
        let all: Vec<Scored> = (0..2_000u32)
            .map(|m| {
                let r = splitmix(&mut state);
                // Few distinct evidence values, so ties at the floor are common.
                let e = (r % 50) as f32;
                let votes = ((r >> 8) % 100) as u32;
                (e, votes, m)
            })
            .collect();
        let mut kept: Vec<Scored> = Vec::new();
        let mut floor = f32::NEG_INFINITY;
        let mut seen_below = 0;
        for chunk in all.chunks(300) {
            for &s in chunk {
                if s.0 >= floor || s.1 >= always {
                    kept.push(s);
                } else {
                    seen_below += 1;
                }
            }
            floor = keep_best(&mut kept, depth, always);
        }
        let mut once = all.clone();
        keep_best(&mut once, depth, always);
        kept.sort_by(best_first);
        once.sort_by(best_first);
        assert_eq!(kept, once);
        assert!(
            seen_below > 1_000,
            "the floor dropped {seen_below} of 2,000"
        );
    }
}
