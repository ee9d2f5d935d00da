//! Rotation of IrisCodes: a turn of the eye by `s` angular samples is a cyclic shift of each
//! ring's 256 bits by `2·s` positions. [`ShiftedIris`] precomputes all shifted copies of one
//! code once, so that comparing it against many others is a pure popcount loop.

use super::code::{IrisCode, RINGS, WORDS, WORDS_PER_RING};
use super::compare::{score_words, IrisScore};

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
    pub fn compare(&self, other: &IrisCode) -> IrisScore {
        let mut best: Option<IrisScore> = None;
        for (s, code, mask) in &self.shifts {
            let score = score_words(code, mask, &other.code, &other.mask, *s);
            if best.is_none_or(|b| score.hd_norm < b.hd_norm) {
                best = Some(score);
            }
        }
        best.unwrap_or_else(|| score_words(&[0; WORDS], &[0; WORDS], &other.code, &other.mask, 0))
    }
}
