//! Inverted lists: hash key → members filed under it, in three flat arrays.
//!
//! Keys are stored mixed (a bijection that spreads them evenly), sorted, with a directory on
//! their top bits, so a lookup is one directory read and a short scan — no hash map, no
//! per-bucket allocation, and the arrays are written to disk as they are. Members are u32
//! indices into the partition: 4 bytes per posting.

use super::config::mix;
use rayon::prelude::*;

/// The inverted lists of one partition (or of a probe set for the within-batch search).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Postings {
    /// Bits of the directory (`2^dir_bits` slots over the top bits of the mixed key).
    pub dir_bits: u8,
    /// Start in `keys` of each directory slot; `2^dir_bits + 1` entries.
    pub dir: Vec<u32>,
    /// Mixed keys, ascending.
    pub keys: Vec<u64>,
    /// Start in `members` of each key's list; `keys.len() + 1` entries.
    pub starts: Vec<u32>,
    /// Member indices, ascending within each list.
    pub members: Vec<u32>,
}

impl Postings {
    /// Builds the lists from each member's keys; lists longer than `max_list` are dropped.
    pub fn build(per_member: &[Vec<u64>], max_list: usize) -> Postings {
        let total: usize = per_member.iter().map(Vec::len).sum();
        assert!(
            total < u32::MAX as usize,
            "a partition holds fewer than 2^32 postings"
        );
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(total);
        for (m, keys) in per_member.iter().enumerate() {
            pairs.extend(keys.iter().map(|&k| (mix(k), m as u32)));
        }
        pairs.par_sort_unstable();
        pairs.dedup();
        let mut keys = Vec::new();
        let mut starts = vec![0u32];
        let mut members = Vec::with_capacity(pairs.len());
        let mut i = 0;
        while i < pairs.len() {
            let k = pairs[i].0;
            let mut j = i;
            while j < pairs.len() && pairs[j].0 == k {
                j += 1;
            }
            if j - i <= max_list {
                keys.push(k);
                members.extend(pairs[i..j].iter().map(|p| p.1));
                starts.push(members.len() as u32);
            }
            i = j;
        }
        Postings::from_lists(keys, starts, members)
    }

    /// The lists of several partitions as one, as [`Postings::build`] would file their
    /// members together: part `i`'s member indices are shifted by `parts[i].1` (ascending
    /// offsets keep every list ascending); merged lists longer than `max_list` are dropped.
    /// A list a part dropped stays dropped (its members are not known any more); with caps
    /// proportional to partition size that only affects keys common in one part and rare in
    /// the others. Costs one sort of the keys, no template is decoded.
    pub fn merge(parts: &[(&Postings, u32)], max_list: usize) -> Postings {
        let total_keys: usize = parts.iter().map(|(p, _)| p.keys.len()).sum();
        let total: usize = parts.iter().map(|(p, _)| p.members.len()).sum();
        assert!(
            total < u32::MAX as usize,
            "a partition holds fewer than 2^32 postings"
        );
        let mut keys = Vec::with_capacity(total_keys);
        let mut starts = Vec::with_capacity(total_keys + 1);
        starts.push(0u32);
        let mut members = Vec::with_capacity(total);
        // Every part's keys are sorted and its directory splits them by their top bits, so
        // the parts are merged bucket by bucket on the top bits all directories share: a
        // small sort per bucket (a few keys from each part) instead of one sort of all keys.
        let bits = parts.iter().map(|(p, _)| p.dir_bits).min().unwrap_or(0);
        let mut entries: Vec<(u64, u32, u32)> = Vec::new();
        for bucket in 0..1usize << bits {
            entries.clear();
            for (part, (p, _)) in parts.iter().enumerate() {
                let shift = p.dir_bits - bits;
                let (a, b) = (p.dir[bucket << shift], p.dir[(bucket + 1) << shift]);
                entries.extend((a..b).map(|i| (p.keys[i as usize], part as u32, i)));
            }
            entries.sort_unstable();
            for same in entries.chunk_by(|a, b| a.0 == b.0) {
                let list = |&(_, part, i): &(u64, u32, u32)| {
                    let (p, offset) = parts[part as usize];
                    let (a, b) = (p.starts[i as usize], p.starts[i as usize + 1]);
                    (&p.members[a as usize..b as usize], offset)
                };
                let len: usize = same.iter().map(|e| list(e).0.len()).sum();
                if len <= max_list {
                    keys.push(same[0].0);
                    for e in same {
                        let (l, offset) = list(e);
                        members.extend(l.iter().map(|&m| m + offset));
                    }
                    starts.push(members.len() as u32);
                }
            }
        }
        Postings::from_lists(keys, starts, members)
    }

    /// The lists as built: ascending mixed keys, each list's start, the members; adds the
    /// directory.
    fn from_lists(keys: Vec<u64>, starts: Vec<u32>, mut members: Vec<u32>) -> Postings {
        members.shrink_to_fit();
        let dir_bits = dir_bits_for(keys.len());
        let dir = directory(&keys, dir_bits);
        Postings {
            dir_bits,
            dir,
            keys,
            starts,
            members,
        }
    }

    /// The members filed under `key` (unmixed), ascending (the search uses [`Postings::ranges`]).
    #[cfg(test)]
    #[inline]
    pub fn lookup(&self, key: u64) -> &[u32] {
        let h = mix(key);
        let slot = self.slot(h);
        let (lo, hi) = (self.dir[slot] as usize, self.dir[slot + 1] as usize);
        match self.keys[lo..hi].binary_search(&h) {
            Ok(i) => {
                let i = lo + i;
                &self.members[self.starts[i] as usize..self.starts[i + 1] as usize]
            }
            Err(_) => &[],
        }
    }

    /// The lists of many keys at once, as [`Postings::lookup`] finds them: `out[i]` is the
    /// range in [`Postings::members`] of `keys[i]`'s list (empty when there is none).
    ///
    /// Why: a probe looks up thousands of keys in a partition far larger than the caches,
    /// and each lookup is a chain of dependent reads (directory, keys, list start), each a
    /// likely cache miss. Taken one key at a time the chains run one after the other; here
    /// each step is done for a block of keys with the next step's memory prefetched, so the
    /// misses of a block overlap.
    pub fn ranges(&self, keys: &[u64], out: &mut Vec<(u32, u32)>) {
        const BLOCK: usize = 32;
        out.clear();
        let mut hashes = [0u64; BLOCK];
        let mut at = [0usize; BLOCK];
        let mut span = [(0usize, 0usize); BLOCK];
        for block in keys.chunks(BLOCK) {
            let n = block.len();
            for (i, &k) in block.iter().enumerate() {
                let h = mix(k);
                hashes[i] = h;
                at[i] = self.slot(h);
                prefetch(&self.dir[at[i]]);
            }
            for (&slot, s) in at[..n].iter().zip(&mut span) {
                *s = (self.dir[slot] as usize, self.dir[slot + 1] as usize);
                if let Some(k) = self.keys.get(s.0) {
                    prefetch(k);
                }
            }
            for ((a, &h), &(lo, hi)) in at[..n].iter_mut().zip(&hashes).zip(&span) {
                *a = match self.keys[lo..hi].binary_search(&h) {
                    Ok(j) => {
                        prefetch(&self.starts[lo + j]);
                        lo + j
                    }
                    Err(_) => usize::MAX,
                };
            }
            out.extend(at[..n].iter().map(|&i| {
                if i == usize::MAX {
                    (0, 0)
                } else {
                    (self.starts[i], self.starts[i + 1])
                }
            }));
        }
    }

    /// The directory slot of mixed key `h`.
    #[inline]
    fn slot(&self, h: u64) -> usize {
        if self.dir_bits == 0 {
            0
        } else {
            (h >> (64 - self.dir_bits as u32)) as usize
        }
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        4 * self.dir.capacity()
            + 8 * self.keys.capacity()
            + 4 * self.starts.capacity()
            + 4 * self.members.capacity()
    }

    /// Whether the arrays are consistent, directory included.
    #[cfg(test)]
    pub fn is_consistent(&self, members: usize) -> bool {
        self.dir_bits <= 32
            && self.dir.len() == (1usize << self.dir_bits) + 1
            && self.dir == directory(&self.keys, self.dir_bits)
            && self.lists_consistent(members)
    }

    /// Whether the lists are consistent (checked after decoding, which builds the directory
    /// from the keys, so lookups never panic).
    pub fn lists_consistent(&self, members: usize) -> bool {
        self.keys.windows(2).all(|w| w[0] < w[1])
            && self.starts.len() == self.keys.len() + 1
            && self.starts.first() == Some(&0)
            && self.starts.windows(2).all(|w| w[0] <= w[1])
            && *self.starts.last().unwrap_or(&0) as usize == self.members.len()
            && self.members.iter().all(|&m| (m as usize) < members)
    }
}

/// Asks the processor to bring `x`'s cache line in (a hint: no effect on results).
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing architecturally and `x` is a valid reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (x as *const T).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// About four keys per directory slot.
fn dir_bits_for(keys: usize) -> u8 {
    let mut b = 0u8;
    while b < 30 && (1usize << b) * 4 < keys {
        b += 1;
    }
    b
}

pub(crate) fn directory(keys: &[u64], bits: u8) -> Vec<u32> {
    let slots = 1usize << bits;
    let mut dir = Vec::with_capacity(slots + 1);
    let mut i = 0usize;
    for s in 0..slots {
        while i < keys.len() && bits > 0 && ((keys[i] >> (64 - bits as u32)) as usize) < s {
            i += 1;
        }
        dir.push(i as u32);
    }
    dir.push(keys.len() as u32);
    if bits == 0 {
        dir[0] = 0;
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_every_list() {
        let per: Vec<Vec<u64>> = (0..500u64)
            .map(|m| (0..20).map(|k| (m * 7 + k * 13) % 300).collect())
            .collect();
        let p = Postings::build(&per, usize::MAX);
        assert!(p.is_consistent(500));
        for key in 0..300u64 {
            let want: Vec<u32> = (0..500u32)
                .filter(|&m| per[m as usize].contains(&key))
                .collect();
            assert_eq!(p.lookup(key), &want[..]);
        }
        assert!(p.lookup(1 << 40).is_empty());
        let asked: Vec<u64> = (0..310u64).rev().chain([1 << 40]).collect();
        let mut ranges = Vec::new();
        p.ranges(&asked, &mut ranges);
        let found: Vec<&[u32]> = ranges
            .iter()
            .map(|&(a, b)| &p.members[a as usize..b as usize])
            .collect();
        let looked: Vec<&[u32]> = asked.iter().map(|&k| p.lookup(k)).collect();
        assert_eq!(found, looked, "batched lookups find the same lists");
        let halves = [
            Postings::build(&per[..200], usize::MAX),
            Postings::build(&per[200..], usize::MAX),
        ];
        let merged = Postings::merge(&[(&halves[0], 0), (&halves[1], 200)], usize::MAX);
        assert_eq!(
            merged, p,
            "merging the halves files every member as one build does"
        );
        let uneven = [
            Postings::build(&per[..3], usize::MAX),
            Postings::build(&per[3..], usize::MAX),
        ];
        assert_ne!(uneven[0].dir_bits, uneven[1].dir_bits);
        assert_eq!(
            Postings::merge(&[(&uneven[0], 0), (&uneven[1], 3)], usize::MAX),
            p,
            "parts with directories of different sizes merge as well"
        );
        assert!(Postings::merge(&[(&halves[0], 0), (&halves[1], 200)], 10)
            .lookup(5)
            .is_empty());
        let small = Postings::build(&per, 10);
        assert!(small.is_consistent(500));
        assert!(small.lookup(5).len() <= 10);
    }
}
