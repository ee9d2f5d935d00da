//! Transparency: the score together with the minutia pairing it was computed from, for the
//! adjudication console to draw (as in SourceAFIS's transparency data).

use super::score::run;
use super::template::FingerTemplate;

/// One pair of corresponding minutiae.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedMinutiae {
    /// Index of the minutia in the first finger view's minutiae.
    pub a: usize,
    /// Index of the minutia in the second finger view's minutiae.
    pub b: usize,
    /// This pair's contribution to the score (the contributions sum to the score).
    pub contribution: f32,
}

/// A score with the pairing behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerExplanation {
    /// The same value [`super::compare`] returns.
    pub score: f32,
    /// Paired minutiae, strongest contribution first.
    pub pairs: Vec<PairedMinutiae>,
}

/// Compares two fingers and returns the score with the pairing it was computed from.
pub fn explain(a: &FingerTemplate, b: &FingerTemplate) -> FingerExplanation {
    let out = run(a, b);
    let mut pairs: Vec<PairedMinutiae> = out
        .pairs
        .iter()
        .map(|p| PairedMinutiae {
            a: p.a as usize,
            b: p.b as usize,
            contribution: p.sim,
        })
        .collect();
    pairs.sort_by(|x, y| {
        y.contribution
            .total_cmp(&x.contribution)
            .then(x.a.cmp(&y.a))
    });
    FingerExplanation {
        score: out.score,
        pairs,
    }
}
