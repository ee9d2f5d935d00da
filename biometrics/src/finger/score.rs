//! The matching pipeline behind [`super::compare`] and [`super::explain`]: local similarity
//! matrix → LSS-R → consolidation into one score and the pairing it rests on.

use super::consolidate::consolidate;
use super::local::similarity_matrix;
use super::params::GLOBAL_EXPONENT;
use super::relax::{relax, score_pairs, top_pairs, Pair};
use super::template::FingerTemplate;

/// Outcome of one comparison: the score and the pairs it was computed from, indices in the
/// caller's (a, b) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Similarity in [0, 1].
    pub score: f32,
    /// Paired minutiae with their contribution to the score.
    pub pairs: Vec<Pair>,
}

/// Runs the pipeline with the two sides in canonical order, so the result is symmetric.
pub fn run(a: &FingerTemplate, b: &FingerTemplate) -> Outcome {
    let swap = (b.points.len(), b.digest) < (a.points.len(), a.digest);
    if !swap {
        return run_ordered(a, b);
    }
    let mut out = run_ordered(b, a);
    for p in &mut out.pairs {
        std::mem::swap(&mut p.a, &mut p.b);
    }
    out
}

fn run_ordered(a: &FingerTemplate, b: &FingerTemplate) -> Outcome {
    let (na, nb) = (a.points.len(), b.points.len());
    if na == 0 || nb == 0 {
        return Outcome {
            score: 0.0,
            pairs: Vec::new(),
        };
    }
    let sim = similarity_matrix(a, b);
    let mut pairs = top_pairs(&sim, na, nb, na.min(nb));
    let eff = relax(&a.points, &b.points, &mut pairs);
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_unstable_by(|&x, &y| eff[y].total_cmp(&eff[x]).then(x.cmp(&y)));
    let np = score_pairs(na, nb);
    let chosen: Vec<Pair> = order.iter().take(np).map(|&i| pairs[i]).collect();
    let lss = (chosen.iter().map(|p| p.sim).sum::<f32>() / np as f32).clamp(0.0, 1.0);
    let mut seeds = pairs.clone();
    seeds.sort_unstable_by(|x, y| y.sim.total_cmp(&x.sim).then(x.a.cmp(&y.a)));
    let global = consolidate(a, b, &sim, &seeds);
    // Both stages must agree: the local evidence (LSS-R) scaled by the global consistency.
    let score = lss * global.score.powf(GLOBAL_EXPONENT);
    // Contributions: each consistent pair's share of the score, proportional to its
    // local similarity, so that they sum to the score.
    let total: f32 = global.pairs.iter().map(|p| p.sim.max(1e-6)).sum();
    let pairs = global
        .pairs
        .into_iter()
        .map(|p| Pair {
            sim: score * p.sim.max(1e-6) / total,
            ..p
        })
        .collect();
    Outcome {
        score: score.clamp(0.0, 1.0),
        pairs,
    }
}
