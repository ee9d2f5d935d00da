//! Local similarity: how alike the neighbourhoods of two minutiae are, from their cylinders.
//! Normalised Hamming similarity `1 − ‖a⊕b‖ / (‖a‖ + ‖b‖)` over the cells valid in both
//! cylinders (‖·‖ = √popcount), zero when the cylinders are unusable, overlap too little or
//! the minutiae directions differ by more than δ_θ.

use super::cylinder::{Cylinder, DISC_CELLS, MASK_WORDS};
use super::geometry::angle_diff;
use super::params::*;
use super::template::FingerTemplate;

/// Similarity of two cylinders in [0, 1], or 0 when they cannot be compared.
#[inline]
pub fn cylinder_similarity(a: &Cylinder, b: &Cylinder, min_common: u32) -> f32 {
    let common: [u64; MASK_WORDS] = std::array::from_fn(|w| a.mask[w] & b.mask[w]);
    let n_common: u32 = common.iter().map(|w| w.count_ones()).sum();
    if n_common < min_common {
        return 0.0;
    }
    let (mut na, mut nb, mut nd) = (0u32, 0u32, 0u32);
    for (ca, cb) in a
        .bits
        .chunks_exact(MASK_WORDS)
        .zip(b.bits.chunks_exact(MASK_WORDS))
    {
        for w in 0..MASK_WORDS {
            let x = ca[w] & common[w];
            let y = cb[w] & common[w];
            na += x.count_ones();
            nb += y.count_ones();
            nd += (x ^ y).count_ones();
        }
    }
    let denom = (na as f32).sqrt() + (nb as f32).sqrt();
    if denom == 0.0 {
        return 0.0;
    }
    1.0 - (nd as f32).sqrt() / denom
}

/// The local similarity matrix, row-major `n_a × n_b`.
pub fn similarity_matrix(a: &FingerTemplate, b: &FingerTemplate) -> Vec<f32> {
    let min_common = (MIN_MATCHABLE_CELLS * DISC_CELLS as f32).ceil() as u32;
    let nb = b.points.len();
    let mut out = vec![0f32; a.points.len() * nb];
    for (i, (pa, ca)) in a.points.iter().zip(&a.cylinders).enumerate() {
        if !ca.valid {
            continue;
        }
        for (j, (pb, cb)) in b.points.iter().zip(&b.cylinders).enumerate() {
            if !cb.valid || angle_diff(pa.theta, pb.theta).abs() > MAX_LOCAL_ROTATION {
                continue;
            }
            out[i * nb + j] = cylinder_similarity(ca, cb, min_common);
        }
    }
    out
}
