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
    /// Scores are cut into [`FIT_BINS`] bins of equal *balanced* mass: each genuine sample
    /// weighs `1/(2·n_genuine)` and each impostor `1/(2·n_impostor)`, so about half the bins
    /// resolve each distribution whatever the ratio of the sample sizes (with plain
    /// equal-count bins, a sample of 100 000 impostors and 3 000 genuine pairs would leave the
    /// whole genuine side to one or two bins). Each bin's LLR is the log ratio of the genuine
    /// and impostor densities with add-½ smoothing (so empty bins stay finite), made
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
        let total = if genuine.is_empty() || impostor.is_empty() {
            0.5
        } else {
            1.0
        };
        let weight = |is_genuine: bool| f64::from(0.5 / if is_genuine { ng } else { ni });
        // Bins: (sum of scores, count, genuine count, impostor count), closed when their
        // balanced mass reaches the next 1/FIT_BINS step (equal scores never straddle a cut).
        let mut bins: Vec<(f32, f32, f32, f32)> = Vec::new();
        let mut current = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        let mut mass = 0.0f64;
        for (i, &(s, g)) in all.iter().enumerate() {
            current.0 += s;
            current.1 += 1.0;
            if g {
                current.2 += 1.0;
            } else {
                current.3 += 1.0;
            }
            mass += weight(g);
            let step = total / FIT_BINS as f64;
            let tie = all.get(i + 1).is_some_and(|n| n.0 == s);
            if !tie && mass >= step * (bins.len() + 1) as f64 - 1e-9 {
                bins.push(current);
                current = (0.0, 0.0, 0.0, 0.0);
            }
        }
        if current.1 > 0.0 {
            bins.push(current);
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

    /// The largest LLR this calibration gives any score (0 without knots): what an
    /// uncompared modality can add at most, for bounds on a fused score.
    pub fn max_llr(&self) -> f32 {
        self.knots
            .iter()
            .map(|k| k.1)
            .reduce(f32::max)
            .unwrap_or(0.0)
    }

    /// The smallest LLR this calibration gives any score (0 without knots).
    pub fn min_llr(&self) -> f32 {
        self.knots
            .iter()
            .map(|k| k.1)
            .reduce(f32::min)
            .unwrap_or(0.0)
    }

    /// Fingerprint calibration over [`crate::finger::compare`] scores, fitted with
    /// [`Calibration::fit`] on synthetic genuine/impostor distributions: 300 synthetic fingers
    /// (30 per ISO position) × 5 impressions at the realistic capture-quality mix, 3 000
    /// genuine pairs and 112 500 same-position impostor pairs (3 750 of them against a
    /// sibling finger). Knots printed by the synth crate's `fit_calibration` example;
    /// regenerate with `CARGO_TARGET_DIR=/work/target-synth cargo run --release -p synth
    /// --example fit_calibration` and paste its `FINGER_DEFAULT_KNOTS` here. The example also
    /// cross-checks the fit on the real FVC2002 DB1_B scores (docs/biometrics.md, Fusion).
    pub fn finger_default() -> Calibration {
        Calibration {
            knots: FINGER_DEFAULT_KNOTS.to_vec(),
        }
    }

    /// Iris calibration over [`crate::iris::IrisScore::similarity`] (= 1 − 2·HD_norm) at
    /// [`crate::iris::DEFAULT_MAX_SHIFT`], fitted with [`Calibration::fit`] on synthetic
    /// genuine/impostor distributions: 300 synthetic irises per eye × 5 captures at the
    /// realistic capture-quality mix, 6 000 genuine and 2 242 500 same-eye impostor pairs.
    /// Printed by the synth crate's `fit_calibration` example (see
    /// [`Calibration::finger_default`] for how to regenerate); paste its
    /// `IRIS_DEFAULT_KNOTS` here.
    pub fn iris_default() -> Calibration {
        Calibration {
            knots: IRIS_DEFAULT_KNOTS.to_vec(),
        }
    }
}

/// Knots of [`Calibration::finger_default`] (see there; seed 0x74756e6767616c01).
const FINGER_DEFAULT_KNOTS: &[(f32, f32)] = &[
    (0.0016, -4.596),
    (0.0023, -4.152),
    (0.0027, -3.034),
    (0.0029, -3.034),
    (0.0031, -2.652),
    (0.0034, -2.472),
    (0.0038, -1.706),
    (0.0048, 0.161),
    (0.0090, 5.037),
    (0.0160, 9.841),
    (0.0243, 9.841),
    (0.0340, 9.841),
    (0.0450, 9.841),
    (0.0572, 9.841),
    (0.0736, 9.841),
    (0.0950, 9.841),
    (0.1224, 9.841),
    (0.1623, 9.841),
    (0.2455, 9.841),
];

/// Knots of [`Calibration::iris_default`] (see there; seed 0x74756e6767616c01).
const IRIS_DEFAULT_KNOTS: &[(f32, f32)] = &[
    (0.0326, -8.854),
    (0.0965, -7.601),
    (0.1224, -6.908),
    (0.1463, -6.908),
    (0.1942, -4.332),
    (0.3419, 4.488),
    (0.5737, 12.000),
    (0.6468, 12.000),
    (0.7047, 12.000),
    (0.7522, 12.000),
    (0.7944, 12.000),
    (0.8316, 12.000),
    (0.8710, 12.000),
    (0.9079, 12.000),
    (0.9461, 12.000),
    (0.9945, 12.000),
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
