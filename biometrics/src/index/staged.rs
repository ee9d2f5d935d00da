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
        let depth = probes
            .persons
            .iter()
            .map(|p| {
                if IrisCheck::applies(p, params) {
                    params.iris_depth.max(params.shortlist)
                } else {
                    params.shortlist
                }
            })
            .collect();
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

    /// Runs the candidate stage of every probe against `partition`, known as partition
    /// `index` in the second pass. Partitions are added in order: `index` is the number
    /// added before it.
    pub fn add(&mut self, partition: &Partition, index: usize) {
        assert_eq!(
            index + 1,
            self.numbering.starts.len(),
            "partitions added out of order"
        );
        let first = *self.numbering.starts.last().unwrap_or(&0);
        let next = u32::try_from(partition.len())
            .ok()
            .and_then(|n| first.checked_add(n))
            .expect("a gallery of more than 4,294,967,295 members");
        self.numbering.starts.push(next);
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
    /// Checks the irises of the members of partition `index` behind each shortlist, then
    /// fully compares each probe with its shortlisted and admitted members there. Returns
    /// the candidates at or above `min_llr`, sorted by probe, then LLR descending, then
    /// member.
    pub fn compare(&mut self, partition: &Partition, index: usize) -> Vec<Candidate> {
        let start = Instant::now();
        let (probes, params) = (self.probes, self.params);
        let ids = self.numbering.range(index, partition.len());
        let in_part = |list: &[GalleryMember]| -> Vec<u32> {
            let from = list.partition_point(|&m| m < ids.start);
            list[from..]
                .iter()
                .take_while(|&&m| m < ids.end)
                .map(|&m| m - ids.start)
                .collect()
        };
        let chosen: Vec<(Vec<u32>, u64)> = self
            .per_probe
            .par_iter()
            .enumerate()
            .map(|(i, (sure, behind))| {
                let mut members = in_part(sure);
                let behind = in_part(behind);
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
        self.stats.index_ns += start.elapsed().as_nanos() as u64;
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for (i, (members, checked)) in chosen.iter().enumerate() {
            self.stats.iris_checks += checked;
            pairs.extend(members.iter().map(|&m| (m, i as u32)));
        }
        let start = Instant::now();
        self.stats.full_comparisons += pairs.len() as u64;
        let found = full_match(probes, partition, &mut pairs, params);
        // `full_match` sorted the pairs by member.
        self.stats.members_decoded += pairs.chunk_by(|a, b| a.0 == b.0).count() as u64;
        self.stats.match_ns += start.elapsed().as_nanos() as u64;
        found
    }

    /// What both passes did so far.
    pub fn stats(&self) -> SearchStats {
        self.stats
    }
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
