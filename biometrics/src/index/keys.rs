//! The hash keys of one person: what a gallery member is filed under and what a probe looks
//! up.
//!
//! - **Fingers** (MCC indexing, after Cappelli, Ferrara and Maltoni, TPAMI 2011): every usable
//!   Minutia Cylinder-Code is a rotation- and translation-invariant bit vector; pooled into
//!   coarse blocks and MinHashed, two cylinders of the same minutia collide with a probability
//!   that grows steeply with their similarity. Each finger position has its own
//!   tables: only same-position fingers vote, as in fusion.
//! - **Irises** (after Beacon Guided Search, Hao, Daugman and Zielinski, TIFS 2008): a beacon
//!   is a short chunk of the code, here some of the 16 bits of one angular column (8 rings ×
//!   2 phase bits), filed in a beacon space per column. Eye rotation moves columns, so a probe
//!   column looks itself up in the spaces of the neighbouring columns within the rotation
//!   range; bits under the mask are never used.
//!
//! Keys are u64: kind (4 bits), table (finger: position × key, 12 bits; iris: eye, space and
//! column), then the hash value.

use super::config::{HashFunctions, IndexConfig};
use crate::finger::params::NS;
use crate::finger::FingerTemplate;
use crate::fusion::PersonTemplate;
use crate::iris::IrisCode;

/// Angular columns of an IrisCode.
const COLUMNS: usize = 128;

const KIND_FINGER: u64 = 1 << 60;
const KIND_IRIS: u64 = 2 << 60;

/// Finger keys of one template at ISO position `position` (1..=10), appended to `out`:
/// per usable cylinder and key, `finger_hash_bits` MinHash values of its set bits (hashed
/// cells only) combined. Two cylinders share a MinHash value with a probability equal to the
/// Jaccard similarity of their set bits, so a key of k values collides with probability J^k:
/// steep enough to keep chance collisions rare, while cylinders of the same minutia (J of
/// 0.4–0.7) still collide on some of the keys.
pub(crate) fn finger_keys(
    t: &FingerTemplate,
    position: u8,
    cfg: &IndexConfig,
    hf: &HashFunctions,
    out: &mut Vec<u64>,
) {
    let l = cfg.finger_hashes as u64;
    let mut set: Vec<u16> = Vec::with_capacity(256);
    for &i in &t.usable {
        let cyl = &t.cylinders[i as usize];
        set.clear();
        let pool = cfg.finger_pool as usize;
        let side = NS / pool;
        for (w, (&bits, &keep)) in cyl.bits.iter().zip(&hf.finger_bits).enumerate() {
            let mut x = bits & keep;
            while x != 0 {
                let b = w * 64 + x.trailing_zeros() as usize;
                let (k, c) = (b / (NS * NS), b % (NS * NS));
                let block = (k * side + (c / NS) / pool) * side + (c % NS) / pool;
                set.push(block as u16);
                x &= x - 1;
            }
        }
        set.sort_unstable();
        set.dedup();
        if set.len() < cfg.finger_min_ones as usize {
            continue;
        }
        for (h, components) in hf.finger.iter().enumerate() {
            let mut key = 0u64;
            for rank in components {
                let m = set
                    .iter()
                    .map(|&b| rank[b as usize])
                    .min()
                    .unwrap_or(u16::MAX);
                key = key << 11 | m as u64;
            }
            let table = (position as u64 - 1) * l + h as u64;
            out.push(KIND_FINGER | table << 48 | (super::config::mix(key) & 0xffff_ffff_ffff));
        }
    }
}

/// The 16 bits of column `a` (bit `2·ring + phase`) and their validity.
#[inline]
fn column(code: &IrisCode, a: usize) -> (u32, u32) {
    let (mut v, mut m) = (0u32, 0u32);
    for r in 0..8 {
        for p in 0..2 {
            let i = 2 * a + p;
            let (w, b) = (4 * r + i / 64, i % 64);
            v |= ((code.code[w] >> b & 1) as u32) << (2 * r + p);
            m |= ((code.mask[w] >> b & 1) as u32) << (2 * r + p);
        }
    }
    (v, m)
}

/// The beacon of column bits `(v, m)` in space `bits`, if all its bits are valid.
#[inline]
fn beacon(v: u32, m: u32, bits: &[u8]) -> Option<u32> {
    let mut key = 0u32;
    for (k, &b) in bits.iter().enumerate() {
        if m >> b & 1 == 0 {
            return None;
        }
        key |= (v >> b & 1) << k;
    }
    Some(key)
}

#[inline]
fn iris_key(eye: usize, space: usize, col: usize, beacon: u32) -> u64 {
    KIND_IRIS | (eye as u64) << 56 | (space as u64) << 48 | (col as u64) << 40 | beacon as u64
}

/// Gallery-side iris keys: every `iris_column_step`-th column, each beacon space.
fn iris_gallery_keys(
    code: &IrisCode,
    eye: usize,
    cfg: &IndexConfig,
    hf: &HashFunctions,
    out: &mut Vec<u64>,
) {
    for a in (0..COLUMNS).step_by(cfg.iris_column_step as usize) {
        let (v, m) = column(code, a);
        for (s, bits) in hf.iris.iter().enumerate() {
            if let Some(b) = beacon(v, m, bits) {
                out.push(iris_key(eye, s, a, b));
            }
        }
    }
}

/// Probe-side iris keys: every column, looked up in the spaces of the indexed gallery columns
/// within ±`iris_max_shift`; one group per probe column (its keys over all spaces and
/// shifts), ended in `out.groups` with slot `10 + eye`.
fn iris_probe_keys(
    code: &IrisCode,
    eye: usize,
    cfg: &IndexConfig,
    hf: &HashFunctions,
    out: &mut ProbeKeys,
) {
    let shift = cfg.iris_max_shift as isize;
    let step = cfg.iris_column_step as usize;
    for a in 0..COLUMNS {
        let (v, m) = column(code, a);
        let before = out.keys.len();
        for (s, bits) in hf.iris.iter().enumerate() {
            let Some(b) = beacon(v, m, bits) else {
                continue;
            };
            for d in -shift..=shift {
                let g = (a as isize + d).rem_euclid(COLUMNS as isize) as usize;
                if g.is_multiple_of(step) {
                    out.keys.push(iris_key(eye, s, g, b));
                }
            }
        }
        if out.keys.len() > before {
            out.groups
                .push((out.keys.len() as u32, IRIS_SLOT + eye as u8));
        }
    }
}

/// Keys a gallery member is filed under (sorted, duplicates removed: one member counts once
/// per key).
pub(crate) fn gallery_keys(p: &PersonTemplate, cfg: &IndexConfig, hf: &HashFunctions) -> Vec<u64> {
    let mut out = Vec::new();
    for (i, f) in p.fingers.iter().enumerate() {
        if let Some(t) = f {
            finger_keys(t, i as u8 + 1, cfg, hf, &mut out);
        }
    }
    for (eye, c) in p.irises.iter().enumerate() {
        if let Some(c) = c {
            iris_gallery_keys(c, eye, cfg, hf, &mut out);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Evidence slots of a probe: finger positions 1..=10 are slots 0..=9, the right and left
/// iris slots 10 and 11.
pub(crate) const SLOTS: usize = 12;
/// Slot of the right iris (the left one is the next).
pub(crate) const IRIS_SLOT: u8 = 10;

/// What a probe looks up, in groups: one group per usable finger cylinder (its
/// `finger_hashes` keys) and per iris column (its keys over beacon spaces and rotations).
/// A member counts once per group however many of the group's keys it shares: the unit of
/// evidence is "this probe cylinder (or column) has a counterpart in the member".
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ProbeKeys {
    /// Keys, group after group.
    pub keys: Vec<u64>,
    /// Per group, its end in `keys` and its slot (see [`SLOTS`]).
    pub groups: Vec<(u32, u8)>,
}

/// The grouped keys a probe looks up.
pub(crate) fn probe_keys(p: &PersonTemplate, cfg: &IndexConfig, hf: &HashFunctions) -> ProbeKeys {
    let mut out = ProbeKeys::default();
    let per = cfg.finger_hashes as usize;
    for (i, f) in p.fingers.iter().enumerate() {
        if let Some(t) = f {
            let before = out.keys.len();
            finger_keys(t, i as u8 + 1, cfg, hf, &mut out.keys);
            for end in (before + per..=out.keys.len()).step_by(per) {
                out.groups.push((end as u32, i as u8));
            }
        }
    }
    for (eye, c) in p.irises.iter().enumerate() {
        if let Some(c) = c {
            iris_probe_keys(c, eye, cfg, hf, &mut out);
        }
    }
    out
}
