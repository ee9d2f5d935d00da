//! The gallery as persisted partitions: `dedup/segments/<run_id>/<n>.seg` in the store,
//! the enrollments a run deduplicated (its batches merged, up to [`MERGED_PARTITION_BYTES`]
//! each), each a [`biometrics::index::Partition`] (candidate index + compact templates) in
//! its own versioned format.
//!
//! The gallery grows by one set of partitions per night and is never rebuilt; a run merges
//! its stored partitions in large units ([`plan_gallery`]), so many small nights cost no more
//! to search than a few large ones, and `tunggal maintain` ([`crate::compact`]) stores each
//! closed unit as one *unit partition* (`<first source>-unit.seg`, sealed: always a unit of
//! its own), so a run reads one object per unit instead of every night's. A unit partition
//! counts once its manifest (`<first source>-unit.json`, the sources it replaces) exists;
//! from then its sources are leftovers. A run's
//! partitions count only once its `status_history` commit names it as `written_by`
//! ([`crate::load::committed_runs`]); partitions of a run that died before that commit are deleted by the next
//! run, which searches those probes again.

use std::collections::{HashMap, HashSet};

use biometrics::index::Partition;
use bytes::Bytes;
use lake::Store;
use object_store::ObjectStoreExt;
use rayon::prelude::*;

use crate::error::{DedupError, Result};

/// Folder of the persisted gallery partitions, relative to the store root.
pub const PREFIX: &str = "dedup/segments";

/// Object path of partition `batch` of run `run_id`.
pub fn path(run_id: &str, batch: usize) -> String {
    format!("{PREFIX}/{run_id}/{batch:05}.seg")
}

fn run_of(path: &str) -> Option<&str> {
    path.strip_prefix(PREFIX)?
        .trim_start_matches('/')
        .split('/')
        .next()
}

/// Suffix of a unit partition's object name (before `.seg`), after its first source's stem.
const UNIT_SUFFIX: &str = "-unit";

/// Whether `path` is a unit partition written by compaction: sealed, searched as a unit of
/// its own, never merged again.
pub fn is_unit(path: &str) -> bool {
    path.strip_suffix(".seg")
        .is_some_and(|stem| stem.ends_with(UNIT_SUFFIX))
}

/// The unit partition that replaces the consecutive partitions starting at `first`: it sorts
/// just before `first`, so the gallery's order is unchanged.
pub fn unit_path(first: &str) -> String {
    let stem = first.strip_suffix(".seg").unwrap_or(first);
    format!("{stem}{UNIT_SUFFIX}.seg")
}

/// The manifest of a unit partition: the commit point of its compaction.
pub fn manifest_path(unit: &str) -> String {
    let stem = unit.strip_suffix(".seg").unwrap_or(unit);
    format!("{stem}.json")
}

/// What a unit partition's manifest records.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnitManifest {
    /// The partitions it replaces, in gallery order.
    pub sources: Vec<String>,
    /// Enrollments it holds (the sum of its sources').
    pub members: u64,
}

/// The stored gallery as a run sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Partitions of committed runs, in gallery (path) order.
    pub gallery: Vec<String>,
    /// Partitions of runs that never committed: the next dedup run deletes them and searches
    /// their probes again.
    pub uncommitted: Vec<String>,
    /// Leftovers of compaction: sources a committed unit replaced, and unit partitions whose
    /// manifest was never written. Safe to delete; never searched.
    pub superseded: Vec<String>,
}

/// Lists the stored gallery: which partitions count, which belong to runs that never
/// committed, which compaction left behind.
pub async fn list(store: &Store, committed: &HashSet<String>) -> Result<Listing> {
    let objects: Vec<String> = store
        .list(PREFIX)
        .await?
        .into_iter()
        .map(|m| m.location.to_string())
        .collect();
    let present: HashSet<String> = objects.iter().cloned().collect();
    let mut replaced: HashSet<String> = HashSet::new();
    for manifest in objects.iter().filter(|p| p.ends_with(".json")) {
        let unit = format!("{}.seg", manifest.trim_end_matches(".json"));
        if !present.contains(&unit) {
            continue;
        }
        let bytes = store.get(manifest).await?;
        let m: UnitManifest = serde_json::from_slice(&bytes).map_err(|e| DedupError::Segment {
            path: manifest.clone(),
            reason: format!("unreadable unit manifest: {e}"),
        })?;
        replaced.extend(m.sources);
    }
    let mut paths: Vec<String> = objects
        .into_iter()
        .filter(|p| p.ends_with(".seg"))
        .collect();
    let present = |p: &str| present.contains(p);
    paths.sort();
    let mut listing = Listing::default();
    for p in paths {
        let manifest_missing = is_unit(&p) && !present(&manifest_path(&p));
        if replaced.contains(&p) || manifest_missing {
            listing.superseded.push(p);
        } else if run_of(&p).is_some_and(|r| committed.contains(r)) {
            listing.gallery.push(p);
        } else {
            listing.uncommitted.push(p);
        }
    }
    Ok(listing)
}

/// Deletes partitions left by runs that never committed; returns how many went.
pub async fn remove(store: &Store, paths: &[String]) -> Result<usize> {
    for p in paths {
        store
            .objects()
            .delete(&p.as_str().into())
            .await
            .map_err(lake::LakeError::from)?;
    }
    Ok(paths.len())
}

/// Writes one partition.
pub async fn save(store: &Store, run_id: &str, batch: usize, partition: &Partition) -> Result<()> {
    store
        .put(&path(run_id, batch), Bytes::from(partition.to_bytes()))
        .await?;
    Ok(())
}

/// Reads one partition.
pub async fn load(store: &Store, path: &str) -> Result<Partition> {
    let bytes = store.get(path).await?;
    decode(path, &bytes)
}

fn decode(path: &str, bytes: &[u8]) -> Result<Partition> {
    Partition::from_bytes(bytes).map_err(|e| DedupError::Segment {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

/// Reads several partitions, in order: as many fetched and decoded at once as there are
/// threads (decoding a partition — checksum, consistency checks, copying the arrays — is
/// CPU work that would otherwise leave the other cores idle while the gallery loads),
/// without holding more than that many undecoded at a time.
pub async fn load_many(store: &Store, paths: &[&str]) -> Result<Vec<Partition>> {
    let mut out = Vec::with_capacity(paths.len());
    for chunk in paths.chunks(rayon::current_num_threads().max(1)) {
        let bytes = futures::future::try_join_all(chunk.iter().map(|p| store.get(p))).await?;
        let decoded: Vec<Result<Partition>> = chunk
            .par_iter()
            .zip(bytes.par_iter())
            .map(|(p, b)| decode(p, b))
            .collect();
        for p in decoded {
            out.push(p?);
        }
    }
    Ok(out)
}

/// Largest partition the in-memory merge builds (bytes of [`Partition::memory_bytes`]): big
/// enough that a gallery of many nightly partitions is searched as a few, small enough
/// that a merge (which holds its sources and its result at once) stays a modest addition
/// to the search's memory.
pub const MERGED_PARTITION_BYTES: usize = 1 << 30;

/// Merges consecutive partitions of one index configuration into partitions of at most
/// `cap` bytes (a partition already larger stays as it is), keeping the members' order.
/// The search then pays one index lookup per probe key and merged partition, not per key
/// and stored partition.
pub fn merge_groups(parts: Vec<Partition>, cap: usize) -> Vec<Partition> {
    grouped(
        parts,
        Partition::memory_bytes,
        |a, b| a.config() == b.config(),
        cap,
    )
    .into_iter()
    .map(merged)
    .collect()
}

/// The units a search takes the stored gallery in, and which of them a run holds in memory:
/// in order, the stored partitions are grouped into units of up to
/// [`MERGED_PARTITION_BYTES`] stored bytes (each searched as one merged partition); the
/// leading units are held while they fit `budget` bytes, the rest are streamed (read and
/// merged once per search pass). Returns (held, streamed); the units in that order are the
/// gallery's order. The units depend on the stored sizes alone, never on the budget, so the
/// search's result does not depend on the budget either — nor on whether the units are
/// searched here or on a cluster's executors ([`crate::search::RemoteSearch`]).
pub fn plan_memory<T>(
    parts: impl IntoIterator<Item = (T, usize)>,
    budget: usize,
) -> (Vec<Vec<T>>, Vec<Vec<T>>) {
    plan_units(parts, budget, MERGED_PARTITION_BYTES)
}

/// [`plan_memory`] with units of up to `unit` stored bytes.
pub fn plan_units<T>(
    parts: impl IntoIterator<Item = (T, usize)>,
    budget: usize,
    unit: usize,
) -> (Vec<Vec<T>>, Vec<Vec<T>>) {
    plan_sealed(parts, budget, unit, |_| false)
}

/// The units of the stored gallery ([`plan_units`] over paths and stored sizes): a unit
/// partition ([`is_unit`]) is a unit of its own, so a compacted gallery is searched in the
/// same units, with the same members merged in the same order, as before compaction.
pub fn plan_gallery<'a>(
    parts: impl IntoIterator<Item = (&'a str, usize)>,
    budget: usize,
    unit: usize,
) -> (Vec<Vec<&'a str>>, Vec<Vec<&'a str>>) {
    plan_sealed(parts, budget, unit, |p: &&str| is_unit(p))
}

fn plan_sealed<T>(
    parts: impl IntoIterator<Item = (T, usize)>,
    budget: usize,
    unit: usize,
    sealed: impl Fn(&T) -> bool,
) -> (Vec<Vec<T>>, Vec<Vec<T>>) {
    let units = grouped(
        parts.into_iter().collect(),
        |b| b.1,
        |a, b| !sealed(&a.0) && !sealed(&b.0),
        unit,
    );
    let mut held = Vec::new();
    let mut streamed = Vec::new();
    let mut bytes = 0usize;
    for unit in units {
        let size: usize = unit.iter().map(|b| b.1).sum();
        let unit: Vec<T> = unit.into_iter().map(|b| b.0).collect();
        if streamed.is_empty() && bytes + size <= budget {
            bytes += size;
            held.push(unit);
        } else {
            streamed.push(unit);
        }
    }
    (held, streamed)
}

/// Splits `items` (in order) into runs of consecutive items that `joins` the run's first
/// and whose `size`s add up to at most `cap` (an item larger than `cap` is a run alone).
pub fn grouped<T>(
    items: Vec<T>,
    size: impl Fn(&T) -> usize,
    joins: impl Fn(&T, &T) -> bool,
    cap: usize,
) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut group: Vec<T> = Vec::new();
    let mut bytes = 0usize;
    for item in items {
        let fits = group
            .first()
            .is_some_and(|g| joins(g, &item) && bytes + size(&item) <= cap);
        if !fits && !group.is_empty() {
            out.push(std::mem::take(&mut group));
            bytes = 0;
        }
        bytes += size(&item);
        group.push(item);
    }
    if !group.is_empty() {
        out.push(group);
    }
    out
}

/// Loads stored partitions and merges them into one, as [`merge_groups`] would: how a run
/// reads a group of the partitions beyond its memory budget, once per search pass.
pub async fn load_merged(store: &Store, paths: &[&str]) -> Result<Partition> {
    let parts = load_many(store, paths).await?;
    if parts.iter().any(|p| p.config() != parts[0].config()) {
        return Err(DedupError::Segment {
            path: paths.join(", "),
            reason: "partitions of different index configurations in one group".into(),
        });
    }
    Ok(merged(parts))
}

/// Adds `p` (a batch just deduplicated) to the partitions searched by the rest of the run:
/// merged into the last one while that stays within `cap` bytes, else appended.
pub fn absorb(parts: &mut Vec<Partition>, p: Partition, cap: usize) {
    let fits = parts
        .last()
        .is_some_and(|l| l.config() == p.config() && l.memory_bytes() + p.memory_bytes() <= cap);
    if fits {
        let last = parts.pop().expect("checked above");
        parts.push(Partition::merge(vec![last, p]));
    } else {
        parts.push(p);
    }
}

/// The partitions of a group as one.
pub fn merged(mut group: Vec<Partition>) -> Partition {
    if group.len() == 1 {
        group.pop().expect("one partition")
    } else {
        Partition::merge(group)
    }
}

/// The stored size in bytes of each of `paths` (0 for one not found): what a memory budget
/// is counted in, known without reading the partitions.
pub async fn sizes(store: &Store, paths: &[String]) -> Result<Vec<u64>> {
    let size: HashMap<String, u64> = store
        .list(PREFIX)
        .await?
        .into_iter()
        .map(|m| (m.location.to_string(), m.size))
        .collect();
    Ok(paths
        .iter()
        .map(|p| size.get(p).copied().unwrap_or(0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    use synth::biometric::{person_template, Lineage};
    use synth::capture::CaptureQuality;

    fn part(first: u64, n: u64) -> Partition {
        Partition::build(
            (first..first + n)
                .map(|i| {
                    let p = person_template(
                        Lineage::Own { seed: i },
                        0b11,
                        [true, false],
                        CaptureQuality::Good,
                        i,
                    );
                    (format!("e{i}"), p)
                })
                .collect(),
        )
    }

    fn ids(parts: &[Partition]) -> Vec<String> {
        parts
            .iter()
            .flat_map(|p| (0..p.len() as u32).map(|m| p.enrollment_id(m).to_string()))
            .collect()
    }

    #[test]
    fn merging_groups_partitions_up_to_the_cap_and_keeps_member_order() {
        let parts: Vec<Partition> = (0..5).map(|k| part(3 * k, 3)).collect();
        let want = ids(&parts);
        let one = parts[0].memory_bytes();
        // Room for about two partitions per group.
        let cap = 2 * one + one / 2;
        let merged = merge_groups(parts.clone(), cap);
        assert!(
            merged.len() >= 2 && merged.len() < 5,
            "{} groups",
            merged.len()
        );
        assert_eq!(ids(&merged), want);
        assert_eq!(merge_groups(parts.clone(), usize::MAX).len(), 1);
        assert_eq!(
            merge_groups(parts.clone(), 0).len(),
            5,
            "a cap below one keeps all"
        );
        assert!(merge_groups(Vec::new(), cap).is_empty());

        let mut run = Vec::new();
        for p in parts {
            absorb(&mut run, p, cap);
        }
        assert!(run.len() >= 2 && run.len() < 5);
        assert_eq!(ids(&run), want);
    }

    #[test]
    fn the_memory_plan_cuts_the_same_units_whatever_the_budget_and_holds_the_leading_ones() {
        let mb = 1usize << 20;
        let big = MERGED_PARTITION_BYTES;
        let parts = [
            ("a", 3 * mb),
            ("b", 4 * mb),
            ("c", 2 * mb),
            ("d", big / 2),
            ("e", big / 2),
            ("f", big),
        ];
        // Units: a+b+c+d (under the cap), e, f. Whatever the budget, the same units in the
        // same order; only which are held changes.
        let units = vec![vec!["a", "b", "c", "d"], vec!["e"], vec!["f"]];
        for budget in [0, 8 * mb, big, usize::MAX] {
            let (held, streamed) = plan_memory(parts, budget);
            let all: Vec<Vec<&str>> = held.iter().chain(&streamed).cloned().collect();
            assert_eq!(all, units, "budget {budget}");
        }
        let (held, streamed) = plan_memory(parts, big);
        assert_eq!((held.len(), streamed.len()), (1, 2));
        let (all, none) = plan_memory(parts, usize::MAX);
        assert_eq!((all.len(), none.len()), (3, 0));
        let (nothing, every) = plan_memory(parts, 0);
        assert!(nothing.is_empty());
        assert_eq!(every.concat().len(), 6);
    }

    #[test]
    fn a_unit_partition_is_a_unit_of_its_own_and_sorts_where_its_sources_began() {
        let mb = 1usize << 20;
        let first = path("run-a", 2);
        let unit = unit_path(&first);
        assert!(is_unit(&unit) && !is_unit(&first));
        assert_eq!(manifest_path(&unit), "dedup/segments/run-a/00002-unit.json");
        assert!(path("run-a", 1) < unit && unit < first);
        let parts = [("x", mb), (unit.as_str(), 5 * mb), ("y", mb), ("z", mb)];
        let (_, units) = plan_gallery(parts, 0, 64 * mb);
        assert_eq!(units, vec![vec!["x"], vec![unit.as_str()], vec!["y", "z"]]);
    }

    #[test]
    fn paths_name_their_run() {
        let p = path("run-1", 3);
        assert_eq!(p, "dedup/segments/run-1/00003.seg");
        assert_eq!(run_of(&p), Some("run-1"));
    }
}
