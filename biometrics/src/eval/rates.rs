//! Error rates from genuine and impostor score samples, as defined by the FVC competitions:
//! a comparison is accepted when its score is at or above the threshold.

/// Accuracy report of a verification experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct FvcReport {
    /// Number of genuine comparisons.
    pub genuine: usize,
    /// Number of impostor comparisons.
    pub impostor: usize,
    /// Equal error rate (fraction, FVC estimate: midpoint of the crossing interval).
    pub eer: f64,
    /// Lowest false non-match rate with false-match rate ≤ 1 %.
    pub fnmr_at_fmr_1pct: f64,
    /// Lowest false non-match rate with false-match rate ≤ 0.1 %.
    pub fnmr_at_fmr_01pct: f64,
    /// Lowest false non-match rate with no false match at all ("ZeroFMR").
    pub fnmr_at_fmr_0: f64,
}

impl std::fmt::Display for FvcReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "genuine {} impostor {}  EER {:.2}%  FNMR@FMR1% {:.2}%  FNMR@FMR0.1% {:.2}%  FNMR@FMR0 {:.2}%",
            self.genuine,
            self.impostor,
            100.0 * self.eer,
            100.0 * self.fnmr_at_fmr_1pct,
            100.0 * self.fnmr_at_fmr_01pct,
            100.0 * self.fnmr_at_fmr_0
        )
    }
}

/// Computes the report from score samples (higher = more similar).
pub fn error_rates(genuine: &[f32], impostor: &[f32]) -> FvcReport {
    FvcReport {
        genuine: genuine.len(),
        impostor: impostor.len(),
        eer: eer(genuine, impostor),
        fnmr_at_fmr_1pct: fnmr_at_fmr(genuine, impostor, 0.01),
        fnmr_at_fmr_01pct: fnmr_at_fmr(genuine, impostor, 0.001),
        fnmr_at_fmr_0: fnmr_at_fmr(genuine, impostor, 0.0),
    }
}

/// Fraction of `scores` at or above `t` (false matches when they are impostor scores).
fn above(sorted: &[f32], t: f32) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let below = sorted.partition_point(|s| *s < t);
    (sorted.len() - below) as f64 / sorted.len() as f64
}

/// Fraction of `scores` below `t` (false non-matches when they are genuine scores).
fn below(sorted: &[f32], t: f32) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.partition_point(|s| *s < t) as f64 / sorted.len() as f64
}

fn sorted(v: &[f32]) -> Vec<f32> {
    let mut s: Vec<f32> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    s.sort_by(f32::total_cmp);
    s
}

/// Candidate thresholds: every observed score and one above them all.
fn thresholds(g: &[f32], i: &[f32]) -> Vec<f32> {
    let mut t: Vec<f32> = g.iter().chain(i).copied().collect();
    t.sort_by(f32::total_cmp);
    t.dedup();
    t.push(f32::INFINITY);
    t
}

/// Equal error rate as estimated in FVC: find the thresholds t1 (last with FNMR ≤ FMR) and
/// t2 (first with FNMR ≥ FMR) and take the midpoint of the tighter interval.
fn eer(genuine: &[f32], impostor: &[f32]) -> f64 {
    let (g, i) = (sorted(genuine), sorted(impostor));
    let ts = thresholds(&g, &i);
    let mut t1 = None;
    let mut t2 = None;
    for &t in &ts {
        let (fmr, fnmr) = (above(&i, t), below(&g, t));
        if fnmr <= fmr {
            t1 = Some((fmr, fnmr));
        }
        if t2.is_none() && fnmr >= fmr {
            t2 = Some((fmr, fnmr));
        }
    }
    match (t1, t2) {
        (Some((fmr1, fnmr1)), Some((fmr2, fnmr2))) => {
            if fmr1 + fnmr1 <= fmr2 + fnmr2 {
                (fnmr1 + fmr1) / 2.0
            } else {
                (fmr2 + fnmr2) / 2.0
            }
        }
        (Some((a, b)), None) | (None, Some((a, b))) => (a + b) / 2.0,
        (None, None) => 0.0,
    }
}

/// Lowest FNMR over thresholds whose FMR is at most `max_fmr`.
pub fn fnmr_at_fmr(genuine: &[f32], impostor: &[f32], max_fmr: f64) -> f64 {
    let (g, i) = (sorted(genuine), sorted(impostor));
    let t = threshold_for_fmr(&i, max_fmr);
    below(&g, t)
}

/// Lowest threshold whose false-match rate over the `impostor` sample is at most `max_fmr`.
///
/// Accept a comparison when its score is `>=` the returned threshold.
pub fn threshold_for_fmr(impostor: &[f32], max_fmr: f64) -> f32 {
    let i = sorted(impostor);
    if i.is_empty() {
        return f32::NEG_INFINITY;
    }
    // Allowed number of impostor scores at or above the threshold.
    let allowed = (max_fmr * i.len() as f64 + 1e-9).floor() as usize;
    if allowed >= i.len() {
        return f32::NEG_INFINITY;
    }
    // Threshold just above the (allowed+1)-th highest impostor score.
    let pivot = i[i.len() - 1 - allowed];
    let t = next_up(pivot);
    debug_assert!(above(&i, t) <= max_fmr + 1e-12);
    t
}

/// The smallest f32 greater than `x`.
fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f32::from_bits(1);
    }
    let b = x.to_bits();
    f32::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_separation() {
        let r = error_rates(&[0.9, 0.8, 0.7], &[0.1, 0.2, 0.3]);
        assert_eq!((r.eer, r.fnmr_at_fmr_0), (0.0, 0.0));
    }

    #[test]
    fn overlap() {
        let g = [0.2, 0.6, 0.7, 0.8];
        let i = [0.1, 0.3, 0.4, 0.65];
        let r = error_rates(&g, &i);
        assert!((r.eer - 0.25).abs() < 1e-9, "{r:?}");
        assert_eq!(r.fnmr_at_fmr_0, 0.5);
        assert!(threshold_for_fmr(&i, 0.0) > 0.65);
    }
}
