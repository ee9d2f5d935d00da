//! Local Similarity Sort with Relaxation (LSS-R): the best-looking minutia pairs by local
//! similarity are re-weighted by how geometrically compatible they are with each other, so
//! that pairs supported by a consistent constellation keep their similarity and isolated
//! look-alikes lose it.

use super::geometry::{angle_diff, dist, Point};
use super::params::*;

/// A candidate minutia pair: index in A, index in B, similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// Index of the minutia in template A.
    pub a: u16,
    /// Index of the minutia in template B.
    pub b: u16,
    /// Similarity (local, then relaxed).
    pub sim: f32,
}

/// Picks up to `n` pairs by descending similarity, each minutia used at most once.
pub fn top_pairs(sim: &[f32], na: usize, nb: usize, n: usize) -> Vec<Pair> {
    let mut all: Vec<Pair> = sim
        .iter()
        .enumerate()
        .filter(|(_, s)| **s > 0.0)
        .map(|(k, &s)| Pair {
            a: (k / nb) as u16,
            b: (k % nb) as u16,
            sim: s,
        })
        .collect();
    all.sort_unstable_by(|x, y| {
        y.sim
            .total_cmp(&x.sim)
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    let mut used_a = vec![false; na];
    let mut used_b = vec![false; nb];
    let mut out = Vec::with_capacity(n);
    for p in all {
        if out.len() == n {
            break;
        }
        if !used_a[p.a as usize] && !used_b[p.b as usize] {
            used_a[p.a as usize] = true;
            used_b[p.b as usize] = true;
            out.push(p);
        }
    }
    out
}

#[inline]
fn sigmoid(v: f32, mu: f32, tau: f32) -> f32 {
    1.0 / (1.0 + (-tau * (v - mu)).exp())
}

/// Compatibility ρ of two pairs (r, k): close to 1 when the segment between the two
/// A-minutiae matches the segment between the two B-minutiae in length, relative direction
/// and relative angle to the segment.
pub fn compatibility(pa: &[Point], pb: &[Point], r: &Pair, k: &Pair) -> f32 {
    let (a1, a2) = (&pa[r.a as usize], &pa[k.a as usize]);
    let (b1, b2) = (&pb[r.b as usize], &pb[k.b as usize]);
    let d1 = (dist(a1.x, a1.y, a2.x, a2.y) - dist(b1.x, b1.y, b2.x, b2.y)).abs();
    let d2 = angle_diff(
        angle_diff(a1.theta, a2.theta),
        angle_diff(b1.theta, b2.theta),
    )
    .abs();
    let ra = angle_diff(a1.theta, (a2.y - a1.y).atan2(a2.x - a1.x));
    let rb = angle_diff(b1.theta, (b2.y - b1.y).atan2(b2.x - b1.x));
    let d3 = angle_diff(ra, rb).abs();
    sigmoid(d1, RHO_MU_DIST, RHO_TAU_DIST)
        * sigmoid(d2, RHO_MU_ANGLE, RHO_TAU_ANGLE)
        * sigmoid(d3, RHO_MU_ANGLE, RHO_TAU_ANGLE)
}

/// Runs the relaxation on `pairs` in place (their `sim` becomes the relaxed similarity) and
/// returns the efficiency (relaxed / initial similarity) of each pair.
pub fn relax(pa: &[Point], pb: &[Point], pairs: &mut [Pair]) -> Vec<f32> {
    let n = pairs.len();
    if n < 2 {
        return vec![1.0; n];
    }
    let mut rho = vec![0f32; n * n];
    for r in 0..n {
        for k in r + 1..n {
            let c = compatibility(pa, pb, &pairs[r], &pairs[k]);
            rho[r * n + k] = c;
            rho[k * n + r] = c;
        }
    }
    let initial: Vec<f32> = pairs.iter().map(|p| p.sim).collect();
    let mut cur = initial.clone();
    let mut next = vec![0f32; n];
    for _ in 0..RELAX_ITERATIONS {
        for r in 0..n {
            let row = &rho[r * n..(r + 1) * n];
            let support: f32 = row.iter().zip(&cur).map(|(c, s)| c * s).sum();
            next[r] = RELAX_WEIGHT * cur[r] + (1.0 - RELAX_WEIGHT) * support / (n - 1) as f32;
        }
        std::mem::swap(&mut cur, &mut next);
    }
    for (p, s) in pairs.iter_mut().zip(&cur) {
        p.sim = *s;
    }
    cur.iter().zip(&initial).map(|(c, i)| c / i).collect()
}

/// Number of pairs n_P averaged into the score for templates of `na` and `nb` minutiae.
pub fn score_pairs(na: usize, nb: usize) -> usize {
    let z = sigmoid(na.min(nb) as f32, MU_P, TAU_P);
    (MIN_NP + (z * (MAX_NP - MIN_NP)).round()) as usize
}
