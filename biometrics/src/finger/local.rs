//! Local similarity: how alike the neighbourhoods of two minutiae are, from their cylinders.
//! Normalised Hamming similarity `1 − ‖a⊕b‖ / (‖a‖ + ‖b‖)` over the cells valid in both
//! cylinders (‖·‖ = √popcount), zero when the cylinders are unusable, overlap too little or
//! the minutiae directions differ by more than δ_θ.
//!
//! This is the matcher's hottest loop (every usable pair of minutiae within δ_θ): it reads
//! only the usable cylinders, and of B's only the run of each direction-sorted group (full
//! masks, the rest) within δ_θ of the row's direction, so the kind of comparison is fixed for
//! a whole run; it uses the precomputed popcounts when a mask is the whole disc, and on x86-64
//! runs with the `popcnt` instruction (or AVX-512 VPOPCNTDQ) when the CPU has it, chosen at
//! run time so the crate needs no special build flags.

use super::cylinder::{Cylinder, CELL_WORDS, DISC_CELLS, MASK_WORDS};
use super::params::*;
use super::template::FingerTemplate;

/// Largest direction difference δ_θ in units of 2π/65536.
const MAX_ROTATION_Q: u16 = (MAX_LOCAL_ROTATION / (2.0 * std::f32::consts::PI) * 65536.0) as u16;

#[cfg(test)]
#[test]
fn sqrt_table_is_exact() {
    for (k, &r) in SQRT.iter().enumerate() {
        assert_eq!(r, (k as f32).sqrt(), "{k}");
    }
}

// A usable cylinder has enough valid cells to be compared with a full one.
const _: () = assert!(MIN_VALID_CELLS >= MIN_MATCHABLE_CELLS);

/// Smallest number of cells valid in both cylinders for them to be compared.
fn min_common() -> u32 {
    (MIN_MATCHABLE_CELLS * DISC_CELLS as f32).ceil() as u32
}

/// √k for every possible popcount k of a cylinder (f32 square roots are correctly rounded,
/// so these are exactly the computed values).
static SQRT: [f32; CELL_WORDS * 64 + 1] = {
    // Newton iterations in f64 converge to the correctly rounded root for these small k.
    let mut t = [0f32; CELL_WORDS * 64 + 1];
    let mut k = 1;
    while k < t.len() {
        let v = k as f64;
        let mut x = v;
        let mut i = 0;
        while i < 40 {
            x = 0.5 * (x + v / x);
            i += 1;
        }
        t[k] = x as f32;
        k += 1;
    }
    t
};

/// The similarity from the three popcounts.
#[inline(always)]
fn from_counts(na: u32, nb: u32, nd: u32) -> f32 {
    let denom = SQRT[na as usize] + SQRT[nb as usize];
    if denom == 0.0 {
        return 0.0;
    }
    1.0 - SQRT[nd as usize] / denom
}

/// Similarity of two cylinders whose masks are both the whole disc (portable popcounts;
/// inlined into the feature-specific callers): the common mask is the disc, and the
/// activation bits lie inside it already.
#[inline(always)]
fn full_similarity(a: &Cylinder, b: &Cylinder) -> f32 {
    let mut nd = 0u32;
    for w in 0..CELL_WORDS {
        nd += (a.bits[w] ^ b.bits[w]).count_ones();
    }
    from_counts(a.ones, b.ones, nd)
}

/// Similarity of a usable cylinder `p` that is not full with a full one `f` (portable
/// popcounts): the common mask is p's, p's bits lie inside it already and its count is p's
/// own, so only f's bits need masking; and the common cells are p's valid ones, always
/// enough for a usable cylinder (see below). The value of [`masked_similarity`] for the pair
/// in either order (the two roots in the denominator add the same either way).
#[inline(always)]
fn half_similarity(p: &Cylinder, f: &Cylinder) -> f32 {
    let (mut nf, mut nd) = (0u32, 0u32);
    for w in 0..CELL_WORDS {
        let y = f.bits[w] & p.mask[w % MASK_WORDS];
        nf += y.count_ones();
        nd += (p.bits[w] ^ y).count_ones();
    }
    from_counts(p.ones, nf, nd)
}

/// Similarity of two cylinders in [0, 1] over the cells valid in both, or 0 when too few
/// are (portable popcounts). For two full cylinders it is [`full_similarity`]'s value, at
/// a higher cost.
#[inline(always)]
fn masked_similarity(a: &Cylinder, b: &Cylinder, min_common: u32) -> f32 {
    let common: [u64; MASK_WORDS] = std::array::from_fn(|w| a.mask[w] & b.mask[w]);
    let n_common: u32 = common.iter().map(|w| w.count_ones()).sum();
    if n_common < min_common {
        return 0.0;
    }
    // a's bits lie inside a's mask, so a & common = a & b.mask (= a when b is full).
    let (mut na, mut nb, mut nd) = (0u32, 0u32, 0u32);
    for w in 0..CELL_WORDS {
        let m = w % MASK_WORDS;
        let (x, y) = (a.bits[w] & b.mask[m], b.bits[w] & a.mask[m]);
        na += x.count_ones();
        nb += y.count_ones();
        nd += (x ^ y).count_ones();
    }
    from_counts(na, nb, nd)
}

/// The sort key of the pair (a, b) with non-negative value `s` (a similarity, or the
/// consolidation pairing's closeness + similarity): `s bits << 32 | !(a << 16 | b)`, so that
/// descending keys are descending value, then ascending a, then ascending b (all keys
/// differ).
#[inline(always)]
pub fn pair_key(s: f32, a: usize, b: usize) -> u64 {
    ((s.to_bits() as u64) << 32) | !(((a as u32) << 16) | b as u32) as u64
}

/// Computes the local similarity matrix (row-major `n_a × n_b`, zero where not comparable)
/// into `sim`, and into `row_best` the largest [`pair_key`] of each row's positive entries
/// (0 for a row without one): where the greedy pairing starts.
pub fn similarity_matrix(
    a: &FingerTemplate,
    b: &FingerTemplate,
    sim: &mut Vec<f32>,
    row_best: &mut Vec<u64>,
) {
    sim.clear();
    sim.resize(a.points.len() * b.points.len(), 0.0);
    row_best.clear();
    row_best.resize(a.points.len(), 0);
    #[cfg(target_arch = "x86_64")]
    {
        if crate::cpu::avx512_popcnt() {
            // SAFETY: the CPU has the features the function is compiled for.
            unsafe { avx512::matrix(a, b, sim, row_best) };
            return;
        }
        if crate::cpu::popcnt() {
            // SAFETY: the CPU has the feature the function is compiled for.
            unsafe { matrix_popcnt(a, b, sim, row_best) };
            return;
        }
    }
    let ways = (full_similarity, half_similarity, masked_similarity);
    matrix_body(a, b, sim, row_best, ways);
}

/// The matrix loop, generic over the cylinder comparisons `ways`: of two full cylinders,
/// of one that is not full with a full one, and of any two.
#[inline(always)]
fn matrix_body<F, H, M>(
    a: &FingerTemplate,
    b: &FingerTemplate,
    sim: &mut [f32],
    row_best: &mut [u64],
    ways: (F, H, M),
) where
    F: Fn(&Cylinder, &Cylinder) -> f32,
    H: Fn(&Cylinder, &Cylinder) -> f32,
    M: Fn(&Cylinder, &Cylinder, u32) -> f32,
{
    let (full, half, masked) = ways;
    let min_common = min_common();
    let nb = b.points.len();
    // B's usable cylinders: the full ones, then the others, each group by direction.
    let split = b.usable_full;
    let (full_angles, part_angles) = b.usable_angles.split_at(split);
    let (full_ids, part_ids) = b.usable_by_angle.split_at(split);
    for &i in &a.usable {
        let (ta, ca) = (a.angles[i as usize], &a.cylinders[i as usize]);
        let row = &mut sim[i as usize * nb..(i as usize + 1) * nb];
        // Each group's minutiae within δ_θ of this one's direction are one circular run of
        // it, so no pair outside is visited, and which comparison a pair needs is known for
        // the whole run (no branch per pair on it).
        let i = i as usize;
        let best = if ca.full {
            let with_full = window_row(b, full_angles, full_ids, ta, i, row, |cb| full(ca, cb));
            let with_part = window_row(b, part_angles, part_ids, ta, i, row, |cb| half(cb, ca));
            with_full.max(with_part)
        } else {
            let with_full = window_row(b, full_angles, full_ids, ta, i, row, |cb| half(ca, cb));
            let f = |cb: &Cylinder| masked(ca, cb, min_common);
            with_full.max(window_row(b, part_angles, part_ids, ta, i, row, f))
        };
        row_best[i] = best;
    }
}

/// Compares row `i`'s cylinder (through `cyl_sim`) with the minutiae `ids` of B (directions
/// `angles`, ascending) within δ_θ of `ta`, writes the similarities into `row` and returns
/// the largest [`pair_key`] among the positive ones (0 if none).
#[inline(always)]
fn window_row(
    b: &FingerTemplate,
    angles: &[u16],
    ids: &[u16],
    ta: u16,
    i: usize,
    row: &mut [f32],
    cyl_sim: impl Fn(&Cylinder) -> f32,
) -> u64 {
    let (first, second) = direction_window(angles, ta);
    let mut best = 0;
    for &j in ids[first].iter().chain(&ids[second]) {
        let s = cyl_sim(&b.cylinders[j as usize]);
        row[j as usize] = s;
        let key = if s > 0.0 {
            pair_key(s, i, j as usize)
        } else {
            0
        };
        best = best.max(key);
    }
    best
}

/// The positions in the ascending `angles` whose direction differs from `t` by at most
/// δ_θ (`|(t − u) as i16| ≤ δ_θ`): a run that may wrap past 2π, so two ranges.
#[inline(always)]
fn direction_window(angles: &[u16], t: u16) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    // |(t − u) as i16| ≤ Q exactly when (u − (t − Q)) mod 2¹⁶ ≤ 2Q (Q < 2¹⁵).
    let lo = t.wrapping_sub(MAX_ROTATION_Q);
    let hi = lo.wrapping_add(2 * MAX_ROTATION_Q);
    let start = angles.partition_point(|&u| u < lo);
    let end = angles.partition_point(|&u| u <= hi);
    if lo <= hi {
        (start..end.max(start), 0..0)
    } else {
        (start..angles.len(), 0..end)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn matrix_popcnt(
    a: &FingerTemplate,
    b: &FingerTemplate,
    sim: &mut [f32],
    row_best: &mut [u64],
) {
    let ways = (full_similarity, half_similarity, masked_similarity);
    matrix_body(a, b, sim, row_best, ways);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! The cylinder comparison with AVX-512: 24 activation words are three 512-bit vectors.
    use std::arch::x86_64::*;

    use super::super::cylinder::{Cylinder, MASK_WORDS};
    use super::super::template::FingerTemplate;
    use super::{from_counts, matrix_body};

    #[inline(always)]
    unsafe fn load(p: &[u64], k: usize) -> __m512i {
        _mm512_loadu_si512(p.as_ptr().add(8 * k) as *const __m512i)
    }

    #[inline(always)]
    unsafe fn full_sim(a: &Cylinder, b: &Cylinder) -> f32 {
        let d0 = _mm512_xor_si512(load(&a.bits, 0), load(&b.bits, 0));
        let d1 = _mm512_xor_si512(load(&a.bits, 1), load(&b.bits, 1));
        let d2 = _mm512_xor_si512(load(&a.bits, 2), load(&b.bits, 2));
        let s = _mm512_add_epi64(
            _mm512_add_epi64(_mm512_popcnt_epi64(d0), _mm512_popcnt_epi64(d1)),
            _mm512_popcnt_epi64(d2),
        );
        from_counts(a.ones, b.ones, _mm512_reduce_add_epi64(s) as u32)
    }

    /// [`super::half_similarity`]: `p` not full, `f` full.
    #[inline(always)]
    unsafe fn half_sim(p: &Cylinder, f: &Cylinder) -> f32 {
        // The mask repeated twice: one vector holds two angular sections.
        let pm = _mm512_broadcast_i64x4(_mm256_loadu_si256(p.mask.as_ptr() as *const __m256i));
        let (mut nf, mut nd) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        for k in 0..3 {
            let y = _mm512_and_si512(load(&f.bits, k), pm);
            nf = _mm512_add_epi64(nf, _mm512_popcnt_epi64(y));
            nd = _mm512_add_epi64(
                nd,
                _mm512_popcnt_epi64(_mm512_xor_si512(load(&p.bits, k), y)),
            );
        }
        from_counts(
            p.ones,
            _mm512_reduce_add_epi64(nf) as u32,
            _mm512_reduce_add_epi64(nd) as u32,
        )
    }

    #[inline(always)]
    unsafe fn masked_sim(a: &Cylinder, b: &Cylinder, min_common: u32) -> f32 {
        let mut n_common = 0;
        for w in 0..MASK_WORDS {
            n_common += (a.mask[w] & b.mask[w]).count_ones();
        }
        if n_common < min_common {
            return 0.0;
        }
        // Masks repeated twice: one vector holds two angular sections.
        let am = _mm512_broadcast_i64x4(_mm256_loadu_si256(a.mask.as_ptr() as *const __m256i));
        let bm = _mm512_broadcast_i64x4(_mm256_loadu_si256(b.mask.as_ptr() as *const __m256i));
        let (mut na, mut nb, mut nd) = (
            _mm512_setzero_si512(),
            _mm512_setzero_si512(),
            _mm512_setzero_si512(),
        );
        for k in 0..3 {
            let x = _mm512_and_si512(load(&a.bits, k), bm);
            let y = _mm512_and_si512(load(&b.bits, k), am);
            na = _mm512_add_epi64(na, _mm512_popcnt_epi64(x));
            nb = _mm512_add_epi64(nb, _mm512_popcnt_epi64(y));
            nd = _mm512_add_epi64(nd, _mm512_popcnt_epi64(_mm512_xor_si512(x, y)));
        }
        from_counts(
            _mm512_reduce_add_epi64(na) as u32,
            _mm512_reduce_add_epi64(nb) as u32,
            _mm512_reduce_add_epi64(nd) as u32,
        )
    }

    /// [`super::similarity_matrix`] with AVX-512 VPOPCNTDQ.
    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    pub unsafe fn matrix(
        a: &FingerTemplate,
        b: &FingerTemplate,
        sim: &mut [f32],
        row_best: &mut [u64],
    ) {
        // SAFETY: this function only runs on CPUs with the enabled features.
        let ways = (
            |x: &Cylinder, y: &Cylinder| unsafe { full_sim(x, y) },
            |p: &Cylinder, f: &Cylinder| unsafe { half_sim(p, f) },
            |x: &Cylinder, y: &Cylinder, m| unsafe { masked_sim(x, y, m) },
        );
        matrix_body(a, b, sim, row_best, ways);
    }
}

#[cfg(test)]
#[test]
fn direction_window_holds_exactly_the_directions_within_the_limit() {
    // Directions around the wrap-around and at the limit's edges, every query direction.
    let mut angles: Vec<u16> = vec![0, 1, 100, 16_383, 16_384, 16_385, 32_767, 32_768, 32_769];
    angles.extend([49_151, 49_152, 49_153, 65_000, 65_535, 65_535]);
    angles.sort_unstable();
    for t in (0..=u16::MAX)
        .step_by(97)
        .chain([0, 16_384, 32_768, 49_152, 65_535])
    {
        let (first, second) = direction_window(&angles, t);
        let got: Vec<usize> = first.chain(second).collect();
        let want: Vec<usize> = (0..angles.len())
            .filter(|&k| (t.wrapping_sub(angles[k]) as i16).unsigned_abs() <= MAX_ROTATION_Q)
            .collect();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, want, "t = {t}");
        assert_eq!(sorted.len(), got.len(), "no position twice, t = {t}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finger::template::from_quantised;
    use crate::iso19794::MinutiaKind;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A print-like template: `n` minutiae scattered over a 300 × 400 px area (quarter
    /// pixels), so that inner cylinders are full and border ones are not.
    fn template(rng: &mut ChaCha8Rng, n: usize) -> FingerTemplate {
        let q: Vec<_> = (0..n)
            .map(|_| {
                let (x, y) = (rng.gen_range(0..1200), rng.gen_range(-1600..0));
                (
                    x as i16,
                    y as i16,
                    rng.gen::<u16>(),
                    MinutiaKind::RidgeEnding,
                )
            })
            .collect();
        from_quantised(&q)
    }

    #[test]
    fn every_path_of_the_matrix_gives_the_same_values() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let ts: Vec<FingerTemplate> = (0..12).map(|k| template(&mut rng, 20 + 3 * k)).collect();
        let (mut full_pairs, mut other_pairs) = (0, 0);
        for a in &ts {
            for b in &ts {
                // The dispatched matrix (AVX-512 or popcnt here) against the portable one,
                // and the split by full cylinders against masked comparisons everywhere.
                let (mut sim, mut best) = (Vec::new(), Vec::new());
                similarity_matrix(a, b, &mut sim, &mut best);
                let n = a.len() * b.len();
                let (mut sim_p, mut best_p) = (vec![0.0; n], vec![0; a.len()]);
                let ways = (full_similarity, half_similarity, masked_similarity);
                matrix_body(a, b, &mut sim_p, &mut best_p, ways);
                let (mut sim_m, mut best_m) = (vec![0.0; n], vec![0; a.len()]);
                let masked_only = |x: &Cylinder, y: &Cylinder| masked_similarity(x, y, 0);
                let ways = (masked_only, masked_only, masked_similarity);
                matrix_body(a, b, &mut sim_m, &mut best_m, ways);
                let bits = |v: &[f32]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&sim), bits(&sim_p));
                assert_eq!(best, best_p);
                assert_eq!(bits(&sim), bits(&sim_m));
                assert_eq!(best, best_m);
                for &i in &a.usable {
                    for &j in &b.usable {
                        let both = a.cylinders[i as usize].full && b.cylinders[j as usize].full;
                        if both {
                            full_pairs += 1;
                        } else {
                            other_pairs += 1;
                        }
                    }
                }
            }
        }
        // Both kinds of pair were compared.
        assert!(
            full_pairs > 1000 && other_pairs > 1000,
            "{full_pairs} / {other_pairs}"
        );
    }
}
