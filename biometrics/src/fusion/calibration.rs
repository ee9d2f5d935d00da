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
/// Largest |LLR| of the pickup curves ([`Calibration::finger_for_quality`]), wider than
/// [`LLR_CLIP`]: at the counter a finger scoring beyond every impostor of a sample of millions
/// (similarities 0.02–0.17 where impostors stop near 0.017) must be able to carry a card holder
/// whose other finger failed to match, which ±12 forbids (12 − 2.8 < ln 10⁴). 13 is what the
/// data vouches for: the curves are fitted on ~20 million impostor pairs, and on 5–20 million
/// others, at the score where a curve reaches 13 the impostors' share stays below the genuine
/// share × e^−13, as a calibrated curve needs; at 14 it did not in one band (the
/// `impostor_tail` example; docs/biometrics.md, "Pickup calibration in the far impostor tail").
pub const PICKUP_LLR_CLIP: f32 = 13.0;

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
    /// Scores are cut into `FIT_BINS` (24) bins of equal *balanced* mass: each genuine sample
    /// weighs `1/(2·n_genuine)` and each impostor `1/(2·n_impostor)`, so about half the bins
    /// resolve each distribution whatever the ratio of the sample sizes (with plain
    /// equal-count bins, a sample of 100 000 impostors and 3 000 genuine pairs would leave the
    /// whole genuine side to one or two bins). Each bin's LLR is the log ratio of the genuine
    /// and impostor probabilities of the bin, made non-decreasing by pool-adjacent-violators
    /// and clipped to ±[`LLR_CLIP`]. Knots sit at the mean score of each (pooled) bin, or at its
    /// lower edge where the tail model gave the impostor probability.
    ///
    /// A bin's probabilities are its shares of each sample with add-½ smoothing (so empty bins
    /// stay finite), except where the impostor sample runs out: a bin above the impostors'
    /// [`ImpostorTail`] threshold holding fewer than `SPARSE_BIN` (10) impostors takes its
    /// impostor probability from the tail model instead. Without it, every genuine-only bin
    /// would get the same LLR, set by the sample size and the bin count rather than by the
    /// scores (a finger scoring 0.3 would count no more than one at 0.016), and a single
    /// strong finger could never outweigh a weak one.
    pub fn fit(genuine: &[f32], impostor: &[f32]) -> Calibration {
        Self::fit_with_bins(genuine, impostor, FIT_BINS)
    }

    /// [`Calibration::fit`] with `bins` bins instead of `FIT_BINS` (24): finer where the samples
    /// are large enough to resolve the region where the impostor tail meets the genuine one.
    pub fn fit_with_bins(genuine: &[f32], impostor: &[f32], bins: usize) -> Calibration {
        Self::fit_clipped(genuine, impostor, bins, LLR_CLIP)
    }

    /// [`Calibration::fit_with_bins`] clipped to ±`clip` instead of ±[`LLR_CLIP`] (the pickup
    /// curves use [`PICKUP_LLR_CLIP`]).
    pub fn fit_clipped(genuine: &[f32], impostor: &[f32], bins: usize, clip: f32) -> Calibration {
        let fit_bins = bins.max(2);
        let (ng, ni) = (genuine.len().max(1) as f64, impostor.len().max(1) as f64);
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
        let tail = ImpostorTail::fit(impostor);
        let total = if genuine.is_empty() || impostor.is_empty() {
            0.5
        } else {
            1.0
        };
        let weight = |is_genuine: bool| 0.5 / if is_genuine { ng } else { ni };
        // Bins closed when their balanced mass reaches the next 1/`bins` step (equal scores
        // never straddle a cut).
        let mut bins: Vec<Bin> = Vec::new();
        let mut current = Bin::default();
        let mut mass = 0.0f64;
        for (i, &(s, g)) in all.iter().enumerate() {
            current.add(s, g);
            mass += weight(g);
            let step = total / fit_bins as f64;
            let tie = all.get(i + 1).is_some_and(|n| n.0 == s);
            if !tie && mass >= step * (bins.len() + 1) as f64 - 1e-9 {
                bins.push(std::mem::take(&mut current));
            }
        }
        if current.count > 0 {
            bins.push(current);
        }
        // Each bin reaches up to where the next one starts, so tail masses tile the scores.
        for k in 1..bins.len() {
            bins[k - 1].upper = bins[k].lower;
        }
        if let Some(last) = bins.last_mut() {
            last.upper = f32::INFINITY;
        }
        let modelled = |b: &Bin| {
            tail.as_ref()
                .is_some_and(|t| b.lower >= t.threshold && (b.impostor as f64) < SPARSE_BIN)
        };
        let llr = |b: &Bin| -> f32 {
            let p_genuine = (b.genuine as f32 + 0.5) / ng as f32;
            match &tail {
                Some(t) if modelled(b) => {
                    (f64::from(p_genuine) / t.mass(b.lower, b.upper)).ln() as f32
                }
                _ => (p_genuine / ((b.impostor as f32 + 0.5) / ni as f32)).ln(),
            }
        };
        // Pool adjacent violators on the LLR, weighting by bin size.
        let mut pooled: Vec<Bin> = Vec::new();
        for b in bins {
            pooled.push(b);
            while pooled.len() >= 2 {
                let n = pooled.len();
                if llr(&pooled[n - 2]) <= llr(&pooled[n - 1]) {
                    break;
                }
                let last = pooled.pop().unwrap_or_default();
                pooled[n - 2].merge(&last);
            }
        }
        let mut knots: Vec<(f32, f32)> = Vec::new();
        for b in &pooled {
            // A modelled bin's impostor mass lies at its lower edge (the tail falls off
            // exponentially across it), so its ratio is the evidence there, not at its mean.
            let x = if modelled(b) {
                b.lower
            } else {
                b.sum / b.count as f32
            };
            let y = llr(b).clamp(-clip, clip);
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

    /// The quality band of a finger comparison whose two captures report ISO/IEC 19794-2
    /// finger quality `a` and `b` (1..=100): 0 when the lower of the two is below
    /// [`FINGER_QUALITY_BANDS`]`[0]`, 1 below `[1]`, else 2; `None` when either capture
    /// reports none (0). The bands follow the common five-level mapping of NFIQ to ISO quality
    /// (20/40 low, 60 middle, 80/100 high).
    pub fn finger_quality_band(a: u8, b: u8) -> Option<usize> {
        if a == 0 || b == 0 {
            return None;
        }
        let q = a.min(b);
        Some(
            FINGER_QUALITY_BANDS
                .iter()
                .filter(|&&edge| q >= edge)
                .count(),
        )
    }

    /// Fingerprint calibration for a comparison of two captures of ISO finger quality `a` and
    /// `b`: fitted like [`Calibration::finger_default`], but only on the pairs of the same
    /// [`Calibration::finger_quality_band`], with some 20 million more impostor pairs of fresh
    /// fingers so that the far tail rests on counts, and clipped at ±[`PICKUP_LLR_CLIP`];
    /// [`Calibration::finger_default`] when a capture reports no quality.
    ///
    /// Why: two poor captures of one finger share few true minutiae, so their genuine scores
    /// run low, down into the impostor range, while impostor scores hardly depend on quality.
    /// Under the calibration of all pairs such a score says "impostor" (a negative LLR) although
    /// between two poor captures it is common for the same finger, and one poor finger then
    /// vetoes a card holder at pickup whose other finger matches. Each band's curve is a
    /// likelihood ratio given the band, so the bound P(LR ≥ T | impostor) ≤ 1/T still holds.
    pub fn finger_for_quality(a: u8, b: u8) -> Calibration {
        let knots = match Self::finger_quality_band(a, b) {
            None => FINGER_DEFAULT_KNOTS,
            Some(0) => FINGER_LOW_QUALITY_KNOTS,
            Some(1) => FINGER_MID_QUALITY_KNOTS,
            Some(_) => FINGER_HIGH_QUALITY_KNOTS,
        };
        Calibration {
            knots: knots.to_vec(),
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
    (0.0120, 12.000),
    (0.0202, 12.000),
    (0.0293, 12.000),
    (0.0395, 12.000),
    (0.0513, 12.000),
    (0.0645, 12.000),
    (0.0844, 12.000),
    (0.1077, 12.000),
    (0.1410, 12.000),
    (0.1884, 12.000),
];

/// Lower bounds of the middle and high [`Calibration::finger_quality_band`] (ISO finger
/// quality of the poorer capture).
pub const FINGER_QUALITY_BANDS: [u8; 2] = [45, 70];

/// Knots of [`Calibration::finger_for_quality`] in the low quality band (printed by the synth
/// crate's `fit_calibration` example; seed 0x74756e6767616c01 ^ 0xb4d).
const FINGER_LOW_QUALITY_KNOTS: &[(f32, f32)] = &[
    (0.0010, -4.692),
    (0.0014, -3.575),
    (0.0018, -3.408),
    (0.0024, -2.700),
    (0.0028, -2.355),
    (0.0029, -2.021),
    (0.0030, -2.000),
    (0.0032, -1.530),
    (0.0034, -1.331),
    (0.0037, -0.778),
    (0.0041, -0.250),
    (0.0046, 0.332),
    (0.0051, 1.663),
    (0.0057, 2.684),
    (0.0064, 3.696),
    (0.0072, 4.677),
    (0.0082, 5.886),
    (0.0094, 7.315),
    (0.0108, 8.577),
    (0.0125, 9.735),
    (0.0137, 13.000),
    (0.0158, 13.000),
    (0.0179, 13.000),
    (0.0203, 13.000),
    (0.0228, 13.000),
    (0.0260, 13.000),
    (0.0299, 13.000),
    (0.0332, 13.000),
    (0.0387, 13.000),
    (0.0452, 13.000),
    (0.0536, 13.000),
    (0.0654, 13.000),
    (0.0826, 13.000),
];
/// Knots of [`Calibration::finger_for_quality`] in the middle quality band (printed by the synth
/// crate's `fit_calibration` example; seed 0x74756e6767616c01 ^ 0xb4d).
const FINGER_MID_QUALITY_KNOTS: &[(f32, f32)] = &[
    (0.0016, -6.243),
    (0.0026, -4.576),
    (0.0033, -2.999),
    (0.0036, -2.623),
    (0.0038, -1.674),
    (0.0042, -1.617),
    (0.0050, -0.176),
    (0.0067, 3.111),
    (0.0094, 6.419),
    (0.0132, 9.570),
    (0.0153, 13.000),
    (0.0192, 13.000),
    (0.0227, 13.000),
    (0.0274, 13.000),
    (0.0319, 13.000),
    (0.0360, 13.000),
    (0.0405, 13.000),
    (0.0456, 13.000),
    (0.0507, 13.000),
    (0.0566, 13.000),
    (0.0621, 13.000),
    (0.0690, 13.000),
    (0.0767, 13.000),
    (0.0858, 13.000),
    (0.0946, 13.000),
    (0.1042, 13.000),
    (0.1157, 13.000),
    (0.1342, 13.000),
    (0.1623, 13.000),
    (0.2009, 13.000),
];
/// Knots of [`Calibration::finger_for_quality`] in the high quality band (printed by the synth
/// crate's `fit_calibration` example; seed 0x74756e6767616c01 ^ 0xb4d).
const FINGER_HIGH_QUALITY_KNOTS: &[(f32, f32)] = &[
    (0.0022, -6.928),
    (0.0034, -6.523),
    (0.0040, -4.026),
    (0.0046, -2.089),
    (0.0062, 1.986),
    (0.0144, 13.000),
    (0.0246, 13.000),
    (0.0346, 13.000),
    (0.0415, 13.000),
    (0.0497, 13.000),
    (0.0598, 13.000),
    (0.0680, 13.000),
    (0.0753, 13.000),
    (0.0828, 13.000),
    (0.0903, 13.000),
    (0.0979, 13.000),
    (0.1062, 13.000),
    (0.1144, 13.000),
    (0.1253, 13.000),
    (0.1351, 13.000),
    (0.1456, 13.000),
    (0.1577, 13.000),
    (0.1725, 13.000),
    (0.1858, 13.000),
    (0.2063, 13.000),
    (0.2262, 13.000),
    (0.2593, 13.000),
    (0.3036, 13.000),
];

/// Knots of [`Calibration::iris_default`] (see there; seed 0x74756e6767616c01).
const IRIS_DEFAULT_KNOTS: &[(f32, f32)] = &[
    (0.0326, -8.854),
    (0.0965, -7.601),
    (0.1224, -6.908),
    (0.1463, -6.908),
    (0.1942, -4.332),
    (0.3419, 4.486),
    (0.5305, 12.000),
    (0.6131, 12.000),
    (0.6772, 12.000),
    (0.7313, 12.000),
    (0.7745, 12.000),
    (0.8130, 12.000),
    (0.8503, 12.000),
    (0.8896, 12.000),
    (0.9262, 12.000),
    (0.9676, 12.000),
];

/// Impostor bins with fewer samples than this take their probability from the
/// [`ImpostorTail`] model (above its threshold) rather than from their count.
pub const SPARSE_BIN: f64 = 10.0;
/// Share of the impostor sample, from the top, that the [`ImpostorTail`] is fitted to.
const TAIL_SHARE: f64 = 0.01;
/// Fewest impostor scores in the tail for a model to be fitted at all.
const TAIL_MIN: usize = 50;

/// The upper tail of the impostor scores as a peaks-over-threshold model with an exponential
/// excess (a generalised Pareto tail of shape 0): `P(S > s) = share · exp(−(s − threshold) /
/// scale)` for `s ≥ threshold`. It estimates how rare impostor scores are beyond the largest
/// one the sample holds, which counts alone cannot (see [`Calibration::fit`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImpostorTail {
    /// The score above which the model holds: the impostors' `1 − TAIL_SHARE` quantile.
    pub threshold: f32,
    /// Share of the impostor sample above `threshold`.
    pub share: f64,
    /// Mean excess of the tail scores over `threshold` (maximum-likelihood scale).
    pub scale: f64,
}

impl ImpostorTail {
    /// Fits the tail to the top `TAIL_SHARE` (1 %) of an impostor sample; `None` when fewer
    /// than `TAIL_MIN` (50) scores lie above the threshold or they do not spread.
    pub fn fit(impostor: &[f32]) -> Option<ImpostorTail> {
        let mut s: Vec<f32> = impostor.iter().copied().filter(|x| !x.is_nan()).collect();
        s.sort_by(|a, b| a.total_cmp(b));
        let k = ((s.len() as f64) * TAIL_SHARE) as usize;
        if k < TAIL_MIN {
            return None;
        }
        let threshold = s[s.len() - 1 - k];
        let above: Vec<f64> = s
            .iter()
            .filter(|&&x| x > threshold)
            .map(|&x| f64::from(x - threshold))
            .collect();
        let scale = above.iter().sum::<f64>() / above.len().max(1) as f64;
        (above.len() >= TAIL_MIN && scale > 0.0).then_some(ImpostorTail {
            threshold,
            share: above.len() as f64 / s.len() as f64,
            scale,
        })
    }

    /// `P(S > score)` under the model (`share` at or below the threshold).
    pub fn exceedance(&self, score: f32) -> f64 {
        let excess = f64::from(score - self.threshold).max(0.0);
        self.share * (-excess / self.scale).exp()
    }

    /// `P(lower ≤ S < upper)` under the model.
    pub fn mass(&self, lower: f32, upper: f32) -> f64 {
        let upper = if upper.is_finite() {
            self.exceedance(upper)
        } else {
            0.0
        };
        (self.exceedance(lower) - upper).max(0.0)
    }
}

/// One bin of [`Calibration::fit`]: the scores it holds and where it starts and ends.
#[derive(Debug, Clone, Default)]
struct Bin {
    sum: f32,
    count: usize,
    genuine: usize,
    impostor: usize,
    lower: f32,
    upper: f32,
}

impl Bin {
    fn add(&mut self, score: f32, genuine: bool) {
        if self.count == 0 {
            self.lower = score;
        }
        self.sum += score;
        self.count += 1;
        if genuine {
            self.genuine += 1;
        } else {
            self.impostor += 1;
        }
    }

    /// Takes in the next bin up.
    fn merge(&mut self, next: &Bin) {
        self.sum += next.sum;
        self.count += next.count;
        self.genuine += next.genuine;
        self.impostor += next.impostor;
        self.upper = next.upper;
    }
}

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

    /// Impostors with an exponential tail (deterministic quantiles), genuine scores far
    /// beyond the largest impostor: genuine-only bins must not share one LLR.
    #[test]
    fn genuine_only_bins_rise_with_the_impostor_tail_model() {
        let impostor: Vec<f32> = (0..100_000)
            .map(|i| {
                let u = (i as f64 + 0.5) / 100_000.0;
                (0.002 - 0.001 * (1.0 - u).ln()) as f32
            })
            .collect();
        let genuine: Vec<f32> = (0..3_000)
            .map(|i| 0.01 + 0.3 * (i as f32 / 3_000.0))
            .collect();
        let tail = ImpostorTail::fit(&impostor).expect("a tail");
        assert!((tail.scale - 0.001).abs() < 1e-4, "{tail:?}");
        let c = Calibration::fit(&genuine, &impostor);
        let top = impostor.iter().copied().fold(f32::MIN, f32::max);
        let (low, high) = (c.llr(top + 0.002), c.llr(top + 0.006));
        assert!(high > low + 1.0, "{low} {high} {c:?}");
        assert_eq!(c.max_llr(), LLR_CLIP, "{c:?}");
        // Where the sample is dense, counts decide as before: impostor-only scores negative.
        assert!(c.llr(0.003) < -3.0, "{c:?}");
    }

    #[test]
    fn no_tail_model_without_enough_impostors() {
        let impostor: Vec<f32> = (0..1_000).map(|i| i as f32 / 1_000.0).collect();
        assert!(ImpostorTail::fit(&impostor).is_none());
        assert!(ImpostorTail::fit(&[0.1; 20_000]).is_none());
    }

    #[test]
    fn the_poorer_capture_sets_the_quality_band() {
        assert_eq!(Calibration::finger_quality_band(0, 90), None);
        assert_eq!(Calibration::finger_quality_band(90, 0), None);
        assert_eq!(Calibration::finger_quality_band(20, 90), Some(0));
        assert_eq!(Calibration::finger_quality_band(44, 44), Some(0));
        assert_eq!(Calibration::finger_quality_band(45, 99), Some(1));
        assert_eq!(Calibration::finger_quality_band(80, 69), Some(1));
        assert_eq!(Calibration::finger_quality_band(70, 100), Some(2));
        assert_eq!(
            Calibration::finger_for_quality(0, 80),
            Calibration::finger_default()
        );
        // Every band's curve is monotone and says "impostor" at the impostor median.
        for q in [20, 50, 90] {
            let c = Calibration::finger_for_quality(q, q);
            assert!(c
                .knots
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
            assert!(c.llr(0.0025) < 0.0, "{q}: {c:?}");
        }
    }
}
