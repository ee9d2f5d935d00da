//! Rotation of IrisCodes: a turn of the eye by `s` angular samples is a cyclic shift of each
//! ring's 256 bits by `2·s` positions. [`ShiftedIris`] precomputes all shifted copies of one
//! code once, so that comparing it against many others is a pure popcount loop.

use super::code::{IrisCode, RINGS, WORDS, WORDS_PER_RING};
#[cfg(target_arch = "x86_64")]
use super::compare::avx512;
use super::compare::{counts, score_from_counts, IrisScore};

/// Rotates a 256-bit ring (word 0 = least significant) left by `k` bits (0..256).
pub(crate) fn rotate_ring(ring: &[u64], k: u32) -> [u64; WORDS_PER_RING] {
    let k = k % 256;
    let (wshift, bshift) = ((k / 64) as usize, k % 64);
    let mut out = [0u64; WORDS_PER_RING];
    for (i, o) in out.iter_mut().enumerate() {
        let src = (i + WORDS_PER_RING - wshift) % WORDS_PER_RING;
        let prev = (src + WORDS_PER_RING - 1) % WORDS_PER_RING;
        *o = if bshift == 0 {
            ring[src]
        } else {
            (ring[src] << bshift) | (ring[prev] >> (64 - bshift))
        };
    }
    out
}

/// Rotates a whole code (all rings) by `shift` angular samples (positive = towards higher
/// sample indices).
pub(crate) fn rotate_code(words: &[u64; WORDS], shift: i32) -> [u64; WORDS] {
    let k = (2 * shift).rem_euclid(256) as u32;
    let mut out = [0u64; WORDS];
    for r in 0..RINGS {
        let ring = &words[r * WORDS_PER_RING..(r + 1) * WORDS_PER_RING];
        out[r * WORDS_PER_RING..(r + 1) * WORDS_PER_RING].copy_from_slice(&rotate_ring(ring, k));
    }
    out
}

/// One IrisCode with its code and mask precomputed at every shift in `-max_shift..=max_shift`,
/// ordered 0, -1, +1, -2, +2 … so that ties resolve to the smallest rotation.
#[derive(Debug, Clone)]
pub struct ShiftedIris {
    shifts: Vec<(i32, [u64; WORDS], [u64; WORDS])>,
}

impl ShiftedIris {
    /// Precomputes the shifted copies of `code` (done once per probe in 1:N).
    pub fn new(code: &IrisCode, max_shift: u8) -> ShiftedIris {
        let mut order = vec![0i32];
        for s in 1..=max_shift as i32 {
            order.push(-s);
            order.push(s);
        }
        let shifts = order
            .into_iter()
            .map(|s| (s, rotate_code(&code.code, s), rotate_code(&code.mask, s)))
            .collect();
        ShiftedIris { shifts }
    }

    /// Best (lowest normalised Hamming distance) score of this code against `other` over all
    /// precomputed shifts. `shift` in the result is the rotation applied to this code.
    ///
    /// Uses the CPU's vector or scalar popcount when it has one (the portable fallback
    /// counts bits arithmetically, several times slower): in 1:N a probe's irises are
    /// compared with thousands of members behind its shortlist.
    pub fn compare(&self, other: &IrisCode) -> IrisScore {
        #[cfg(target_arch = "x86_64")]
        {
            if crate::cpu::avx512_popcnt() {
                // SAFETY: the CPU has the features the function is compiled for.
                return unsafe { self.compare_avx512(other) };
            }
            if crate::cpu::popcnt() {
                // SAFETY: the CPU has the feature the function is compiled for.
                return unsafe { self.compare_popcnt(other) };
            }
        }
        self.best_shift(other, counts)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    unsafe fn compare_avx512(&self, other: &IrisCode) -> IrisScore {
        // SAFETY: this function only runs where the CPU has the features.
        self.best_shift(other, |a, b, c, d| unsafe { avx512::counts(a, b, c, d) })
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn compare_popcnt(&self, other: &IrisCode) -> IrisScore {
        self.best_shift(other, counts)
    }

    /// The best score over the shifts, each alignment counted by `count` ([`counts`]).
    #[inline(always)]
    fn best_shift(
        &self,
        other: &IrisCode,
        count: impl Fn(&[u64; WORDS], &[u64; WORDS], &[u64; WORDS], &[u64; WORDS]) -> (u32, u32),
    ) -> IrisScore {
        let mut best: Option<IrisScore> = None;
        for (s, code, mask) in &self.shifts {
            let (n, d) = count(code, mask, &other.code, &other.mask);
            let score = score_from_counts(n, d, *s);
            if best.is_none_or(|b| score.hd_norm < b.hd_norm) {
                best = Some(score);
            }
        }
        // No shift at all: nothing compared.
        best.unwrap_or_else(|| score_from_counts(0, 0, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iris::Eye;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn code(rng: &mut ChaCha8Rng, valid: f64) -> IrisCode {
        IrisCode {
            eye: Eye::Left,
            quality: 80,
            code: std::array::from_fn(|_| rng.gen()),
            mask: std::array::from_fn(|_| {
                (0..64).fold(0u64, |m, b| m | (u64::from(rng.gen_bool(valid)) << b))
            }),
        }
    }

    #[test]
    fn every_popcount_gives_the_portable_score() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for k in 0..200i32 {
            let a = code(&mut rng, 0.3 + 0.7 * (k % 10) as f64 / 10.0);
            // Half the pairs: b is a rotated, partly flipped copy of a (a genuine-like pair).
            let b = if k % 2 == 0 {
                let mut b = code(&mut rng, 0.8);
                b.code = rotate_code(&a.code, k % 17 - 8);
                for w in &mut b.code {
                    *w ^= rng.gen::<u64>() & rng.gen::<u64>() & rng.gen::<u64>();
                }
                b
            } else {
                code(&mut rng, 0.9)
            };
            let shifted = ShiftedIris::new(&a, 10);
            let portable = shifted.best_shift(&b, counts);
            assert_eq!(shifted.compare(&b), portable, "pair {k}");
            if k % 2 == 0 {
                assert!(portable.hd_raw < 0.3, "pair {k}: {portable:?}");
            }
        }
    }
}
