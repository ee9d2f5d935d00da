//! From target false-positive identification rates to fused-LLR thresholds.
//!
//! A probe searched against a gallery of N people is falsely flagged when any of N impostor
//! comparisons passes; with a per-comparison false-match rate FMR, FPIR ≈ N · FMR. The fusion
//! calibration turns an FMR into a conservative LLR threshold
//! ([`biometrics::fusion::llr_threshold_for_fmr`], `ln(1/FMR)`), so a target FPIR gives
//! `ln(N / FPIR)`: the threshold rises slowly (logarithmically) as the gallery grows.

use biometrics::fusion::llr_threshold_for_fmr;

/// The two fused-LLR thresholds of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Pairs at or above are `match`: acted upon.
    pub match_llr: f32,
    /// Pairs at or above (and below `match_llr`) are `possible`: recorded only.
    pub possible_llr: f32,
    /// The gallery size the thresholds were set for.
    pub gallery: usize,
}

/// Thresholds for searches against `gallery` people with the given target FPIRs.
pub fn for_gallery(gallery: usize, match_fpir: f64, possible_fpir: f64) -> Thresholds {
    let n = gallery.max(1) as f64;
    let match_llr = llr_threshold_for_fmr(match_fpir / n);
    let possible_llr = llr_threshold_for_fmr(possible_fpir / n).min(match_llr);
    Thresholds {
        match_llr,
        possible_llr,
        gallery,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stricter_targets_and_bigger_galleries_raise_the_threshold() {
        let small = for_gallery(1_000, 1e-4, 1e-2);
        let big = for_gallery(1_000_000, 1e-4, 1e-2);
        assert!(big.match_llr > small.match_llr);
        assert!(small.possible_llr < small.match_llr);
        let strict = for_gallery(1_000, 1e-6, 1e-2);
        assert!(strict.match_llr > small.match_llr);
        // ln(1000 / 1e-4) = ln(1e7)
        assert!((small.match_llr - 1e7f32.ln()).abs() < 1e-3);
    }
}
