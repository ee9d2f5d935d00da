//! Calibration of one modality's similarity into a log-likelihood ratio
//! `ln P(score | same) / P(score | different)`: a monotone piecewise-linear curve through
//! knots, flat (clipped) beyond the first and last knot.

/// A monotone piecewise-linear map from similarity to log-likelihood ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Knots `(score, llr)`, scores strictly increasing, llr non-decreasing.
    pub knots: Vec<(f32, f32)>,
}

/// Number of bins in [`Calibration::fit`].
const FIT_BINS: usize = 24;
/// Largest |LLR| a calibration produces: one modality alone can never carry a decision
/// beyond odds of e^12 ≈ 160 000, whatever the tails of a finite training sample suggest.
pub const LLR_CLIP: f32 = 12.0;

impl Calibration {
    /// The log-likelihood ratio of a similarity score.
    pub fn llr(&self, score: f32) -> f32 {
        let k = &self.knots;
        match k.len() {
            0 => 0.0,
            _ if score <= k[0].0 || score.is_nan() => k[0].1,
            _ if score >= k[k.len() - 1].0 => k[k.len() - 1].1,
            _ => {
                let i = k.partition_point(|p| p.0 <= score);
                let ((x0, y0), (x1, y1)) = (k[i - 1], k[i]);
                y0 + (y1 - y0) * (score - x0) / (x1 - x0)
            }
        }
    }

    /// Fits a calibration from genuine and impostor similarity samples (pure function).
    ///
    /// Scores are cut into bins of equal pooled count; each bin's LLR is the log ratio of the
    /// genuine and impostor densities with add-½ smoothing (so empty bins stay finite), made
    /// non-decreasing by pool-adjacent-violators and clipped to ±[`LLR_CLIP`]. Knots sit at
    /// the mean score of each (pooled) bin.
    pub fn fit(genuine: &[f32], impostor: &[f32]) -> Calibration {
        let (ng, ni) = (genuine.len().max(1) as f32, impostor.len().max(1) as f32);
        let mut all: Vec<(f32, bool)> = genuine
            .iter()
            .map(|&s| (s, true))
            .chain(impostor.iter().map(|&s| (s, false)))
            .filter(|s| !s.0.is_nan())
            .collect();
        if all.is_empty() {
            return Calibration { knots: Vec::new() };
        }
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Bins: (sum of scores, count, genuine count, impostor count); equal-count cuts over
        // the pooled sample, but the impostor-dense low end is split by impostors so the
        // genuine tail gets resolution too.
        let per_bin = all.len().div_ceil(FIT_BINS);
        let mut bins: Vec<(f32, f32, f32, f32)> = Vec::new();
        for chunk in all.chunks(per_bin) {
            let g = chunk.iter().filter(|s| s.1).count() as f32;
            let sum: f32 = chunk.iter().map(|s| s.0).sum();
            bins.push((sum, chunk.len() as f32, g, chunk.len() as f32 - g));
        }
        // Pool adjacent violators on the LLR, weighting by bin size.
        let llr = |b: &(f32, f32, f32, f32)| (((b.2 + 0.5) / ng) / ((b.3 + 0.5) / ni)).ln();
        let mut pooled: Vec<(f32, f32, f32, f32)> = Vec::new();
        for b in bins {
            pooled.push(b);
            while pooled.len() >= 2 {
                let n = pooled.len();
                if llr(&pooled[n - 2]) <= llr(&pooled[n - 1]) {
                    break;
                }
                let last = pooled.pop().unwrap_or_default();
                let prev = &mut pooled[n - 2];
                *prev = (
                    prev.0 + last.0,
                    prev.1 + last.1,
                    prev.2 + last.2,
                    prev.3 + last.3,
                );
            }
        }
        let mut knots: Vec<(f32, f32)> = Vec::new();
        for b in &pooled {
            let x = b.0 / b.1;
            let y = llr(b).clamp(-LLR_CLIP, LLR_CLIP);
            match knots.last_mut() {
                Some(last) if x <= last.0 => last.1 = last.1.max(y),
                _ => knots.push((x, y)),
            }
        }
        Calibration { knots }
    }

    /// Provisional fingerprint calibration, fitted with [`Calibration::fit`] on the FVC2002
    /// DB1_B scores of this matcher (`cargo run --release -p biometrics --example
    /// fit_calibration -- /work/shared/data/fvc2002/DB1_B`). To be replaced by the fit on the
    /// synthetic population's genuine/impostor distributions.
    pub fn finger_default() -> Calibration {
        Calibration {
            knots: FINGER_DEFAULT_KNOTS.to_vec(),
        }
    }

    /// Provisional iris calibration over [`crate::iris::IrisScore::similarity`]
    /// (= 1 − 2·HD_norm), set from Daugman's published distributions: impostors centre on
    /// HD 0.5 with a binomial spread (σ ≈ 0.03 at 911 bits), so HD_norm ≤ 0.35 (similarity ≥
    /// 0.3) is already rarer than 1 in 10⁵ among impostors, and genuine pairs sit at HD 0.1–0.3.
    pub fn iris_default() -> Calibration {
        Calibration {
            knots: vec![
                (0.0, -4.0),
                (0.15, -3.0),
                (0.25, 0.0),
                (0.3, 6.0),
                (0.4, 12.0),
            ],
        }
    }
}

/// Knots of [`Calibration::finger_default`] (see there).
const FINGER_DEFAULT_KNOTS: &[(f32, f32)] = &[
    (0.0031, -4.631),
    (0.0060, -1.624),
    (0.0083, 0.628),
    (0.1166, 8.571),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_and_clips() {
        let c = Calibration {
            knots: vec![(0.0, -2.0), (1.0, 2.0)],
        };
        assert_eq!(c.llr(-1.0), -2.0);
        assert_eq!(c.llr(0.5), 0.0);
        assert_eq!(c.llr(2.0), 2.0);
    }

    #[test]
    fn fit_is_monotone_and_separates() {
        let genuine: Vec<f32> = (0..500).map(|i| 0.3 + 0.6 * (i as f32 / 500.0)).collect();
        let impostor: Vec<f32> = (0..5000).map(|i| 0.35 * (i as f32 / 5000.0)).collect();
        let c = Calibration::fit(&genuine, &impostor);
        assert!(
            c.knots
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{c:?}"
        );
        assert!(c.llr(0.1) < -3.0 && c.llr(0.8) > 3.0, "{c:?}");
    }
}
