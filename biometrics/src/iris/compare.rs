//! Fractional Hamming distance between IrisCodes over the bits valid in both masks, with
//! Daugman's normalisation for the number of bits compared, minimised over rotations.

use super::code::{IrisCode, WORDS};
use super::shift::ShiftedIris;

/// Number of compared bits at which Daugman's normalisation leaves the raw distance
/// unchanged: 911, the typical bit count in his published analyses
/// (J. Daugman, "New methods in iris recognition", IEEE TSMC-B 37(5), 2007).
pub const HD_NORM_BITS: f32 = 911.0;

/// Default rotation search: ±8 angular samples (±22.5° with 128 samples per ring), which
/// covers head tilt at capture while adding few impostor chances.
pub const DEFAULT_MAX_SHIFT: u8 = 8;

/// Result of an iris comparison at the best rotation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IrisScore {
    /// Fractional Hamming distance over the bits valid in both masks (0.5 when none).
    pub hd_raw: f32,
    /// Daugman-normalised distance `0.5 - (0.5 - hd_raw)·sqrt(n/911)`: few compared bits pull
    /// the score towards the impostor mean 0.5 so that small overlaps cannot look genuine.
    pub hd_norm: f32,
    /// Rotation (angular samples) applied to the first code at the best match.
    pub shift: i32,
    /// Number of bits valid in both masks at that rotation.
    pub bits_compared: u32,
}

impl IrisScore {
    /// A similarity in [0, 1] for fusion: `1 - 2·hd_norm`, clipped (0 at and above the
    /// impostor mean 0.5, 1 for identical codes with full overlap).
    pub fn similarity(&self) -> f32 {
        (1.0 - 2.0 * self.hd_norm).clamp(0.0, 1.0)
    }
}

/// Compares two IrisCodes at every rotation of `a` within `±max_shift` angular samples and
/// returns the score at the rotation with the lowest normalised distance.
///
/// Symmetric up to the sign of `shift`. For 1:N, build a [`ShiftedIris`] of the probe once.
pub fn compare(a: &IrisCode, b: &IrisCode, max_shift: u8) -> IrisScore {
    ShiftedIris::new(a, max_shift).compare(b)
}

/// The score of an alignment with `n` bits valid in both masks, `d` of them different.
#[inline(always)]
pub(crate) fn score_from_counts(n: u32, d: u32, shift: i32) -> IrisScore {
    let hd_raw = if n == 0 { 0.5 } else { d as f32 / n as f32 };
    let hd_norm = 0.5 - (0.5 - hd_raw) * (n as f32 / HD_NORM_BITS).sqrt();
    IrisScore {
        hd_raw,
        hd_norm,
        shift,
        bits_compared: n,
    }
}

/// (bits valid in both masks, of them different) for one alignment, with whatever popcount
/// the code is compiled for: inlined into the feature-specific loops of [`ShiftedIris`].
#[inline(always)]
pub(crate) fn counts(
    ca: &[u64; WORDS],
    ma: &[u64; WORDS],
    cb: &[u64; WORDS],
    mb: &[u64; WORDS],
) -> (u32, u32) {
    let mut n = 0u32;
    let mut d = 0u32;
    for w in 0..WORDS {
        let m = ma[w] & mb[w];
        n += m.count_ones();
        d += ((ca[w] ^ cb[w]) & m).count_ones();
    }
    (n, d)
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    //! [`super::counts`] with AVX-512: a code's 32 words are four 512-bit vectors.
    use super::WORDS;
    use std::arch::x86_64::*;

    /// As [`super::counts`].
    ///
    /// # Safety
    /// The CPU must have AVX-512F and AVX-512 VPOPCNTDQ.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub(crate) unsafe fn counts(
        ca: &[u64; WORDS],
        ma: &[u64; WORDS],
        cb: &[u64; WORDS],
        mb: &[u64; WORDS],
    ) -> (u32, u32) {
        let load = |p: &[u64; WORDS], k: usize| _mm512_loadu_si512(p.as_ptr().add(8 * k).cast());
        let (mut n, mut d) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        for k in 0..WORDS / 8 {
            let m = _mm512_and_si512(load(ma, k), load(mb, k));
            let x = _mm512_and_si512(_mm512_xor_si512(load(ca, k), load(cb, k)), m);
            n = _mm512_add_epi64(n, _mm512_popcnt_epi64(m));
            d = _mm512_add_epi64(d, _mm512_popcnt_epi64(x));
        }
        (
            _mm512_reduce_add_epi64(n) as u32,
            _mm512_reduce_add_epi64(d) as u32,
        )
    }
}
