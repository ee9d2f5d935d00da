//! Parameters of the candidate index, fixed when a partition is built and stored in it, so a
//! persisted partition is read back with exactly the hash functions it was built with.

use crate::finger::params::{CYL_RADIUS, ND, NS};

/// Words of cylinder bits (N_S² · N_D / 64).
pub(crate) const CELL_WORDS: usize = NS * NS * ND / 64;

/// How the candidate index hashes fingers and irises.
///
/// [`IndexConfig::default`] is what [`super::Partition::build`] and [`super::ProbeSet::build`]
/// use; the other fields exist so the evaluation can compare variants. A probe set built with
/// one configuration can still search a partition built with another (its keys are then
/// recomputed for that partition).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexConfig {
    /// Finger keys per cylinder (hash tables per finger position).
    pub finger_hashes: u8,
    /// MinHash values concatenated into one finger key (1..=4): more = fewer chance
    /// collisions, but also fewer genuine ones.
    pub finger_hash_bits: u8,
    /// Only cylinder bits of cells whose centre lies within this share of the cylinder radius
    /// are hashed: central cells are valid in nearly every cylinder, so a print's border
    /// changes them least.
    pub finger_core: f32,
    /// Cells are pooled in blocks of `finger_pool` × `finger_pool` (1, 2, 4 or 8) before
    /// hashing: a block is set when any of its cells is, so small displacements of
    /// neighbouring minutiae between two captures no longer change the hashed set.
    pub finger_pool: u8,
    /// Cylinders with fewer set bits (in the hashed cells) are not indexed: near-empty
    /// cylinders collide with everything and say little (the "degenerate" buckets of MCC
    /// indexing).
    pub finger_min_ones: u8,
    /// Bits per iris beacon (≤ 16), drawn from one angular column (8 rings × 2 phase bits).
    pub iris_beacon_bits: u8,
    /// Beacon spaces per iris column (each a different bit subset of the column).
    pub iris_spaces: u8,
    /// Gallery columns indexed: every `iris_column_step`-th of the 128.
    pub iris_column_step: u8,
    /// Rotations searched at probe time, in angular samples (±).
    pub iris_max_shift: u8,
    /// Weight of the iris evidence relative to the finger evidence when members are ranked
    /// for the shortlist, in quarters (4 = equal weight).
    pub iris_weight: u16,
    /// Buckets with more members than `max(64, share · members)` are dropped when the
    /// partition is built: frequent hash values cost time and carry no evidence.
    pub max_bucket_share: f32,
    /// Seed of the hash functions.
    pub seed: u64,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            finger_hashes: 4,
            finger_hash_bits: 3,
            finger_core: 0.8,
            finger_pool: 1,
            finger_min_ones: 8,
            iris_beacon_bits: 12,
            iris_spaces: 3,
            iris_column_step: 2,
            iris_max_shift: 10,
            iris_weight: 4,
            max_bucket_share: 0.02,
            seed: 0x7475_6e67_6761_6c49,
        }
    }
}

/// The hash functions derived from a configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HashFunctions {
    /// Whether cylinder bit `b` (section `b / 256`, cell `b % 256`) is hashed, as words.
    pub finger_bits: [u64; CELL_WORDS],
    /// Per finger key and MinHash component, the rank of every cylinder bit (a random
    /// permutation of the hashed bits): the component's value is the smallest rank among the
    /// cylinder's set bits.
    pub finger: Vec<Vec<Vec<u16>>>,
    /// Per iris beacon space, the column bits (0..16: `2·ring + phase`) it takes.
    pub iris: Vec<Vec<u8>>,
}

/// SplitMix64 step: the deterministic generator of the hash functions.
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    mix(*state)
}

/// SplitMix64's finaliser: a bijection of u64 that spreads keys evenly.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl IndexConfig {
    /// Whether the values are within what the index supports.
    pub(crate) fn is_valid(&self) -> bool {
        (1..=64).contains(&self.finger_hashes)
            && (1..=4).contains(&self.finger_hash_bits)
            && [1, 2, 4, 8].contains(&self.finger_pool)
            && self.finger_core > 0.0
            && self.finger_core <= 1.0
            && (1..=16).contains(&self.iris_beacon_bits)
            && self.iris_spaces <= 16
            && (1..=128).contains(&self.iris_column_step)
            && self.iris_max_shift <= 32
            && self.max_bucket_share.is_finite()
            && self.max_bucket_share > 0.0
    }

    /// Draws the hash functions (deterministic for the configuration).
    pub(crate) fn hash_functions(&self) -> HashFunctions {
        let mut state = self.seed;
        let delta = 2.0 * CYL_RADIUS / NS as f32;
        let half = NS as f32 / 2.0;
        let core: Vec<usize> = (0..NS * NS)
            .filter(|&c| {
                let (i, j) = (c / NS, c % NS);
                let u = (i as f32 + 0.5 - half) * delta;
                let v = (j as f32 + 0.5 - half) * delta;
                (u * u + v * v).sqrt() <= self.finger_core * CYL_RADIUS
            })
            .collect();
        let mut finger_bits = [0u64; CELL_WORDS];
        for k in 0..ND {
            for &c in &core {
                let b = k * NS * NS + c;
                finger_bits[b / 64] |= 1 << (b % 64);
            }
        }
        let bits = NS * NS * ND;
        let finger = (0..self.finger_hashes)
            .map(|_| {
                (0..self.finger_hash_bits)
                    .map(|_| {
                        // Fisher–Yates over all bit positions; unhashed ones are skipped later.
                        let mut rank: Vec<u16> = (0..bits as u16).collect();
                        for i in (1..bits).rev() {
                            let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
                            rank.swap(i, j);
                        }
                        rank
                    })
                    .collect()
            })
            .collect();
        let iris = (0..self.iris_spaces)
            .map(|_| {
                let mut chosen: Vec<u8> = Vec::new();
                while chosen.len() < self.iris_beacon_bits as usize {
                    let k = (splitmix(&mut state) % 16) as u8;
                    if !chosen.contains(&k) {
                        chosen.push(k);
                    }
                }
                chosen.sort_unstable();
                chosen
            })
            .collect();
        HashFunctions {
            finger_bits,
            finger,
            iris,
        }
    }
}
