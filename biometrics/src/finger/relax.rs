//! Local Similarity Sort with Relaxation (LSS-R): the best-looking minutia pairs by local
//! similarity are re-weighted by how geometrically compatible they are with each other, so
//! that pairs supported by a consistent constellation keep their similarity and isolated
//! look-alikes lose it.
//!
//! The geometry each template has on its own (distances and relative angles among its
//! minutiae) is precomputed in [`super::prepare`]; the three compatibility sigmoids are read
//! from tables, so a compatibility costs a few loads and no transcendental function.

use std::sync::OnceLock;

use super::local::pair_key;
use super::params::*;
use super::template::FingerTemplate;

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

/// Picks up to `n` pairs by descending similarity, each minutia used at most once (ties go
/// to the lower index in A, then in B), from the similarity matrix `sim` (`n_b` columns) and
/// each row's largest [`pair_key`] `row_best` from [`super::local::similarity_matrix`]
/// (consumed).
///
/// The next pair of the greedy pass is always the largest row best: when a pair takes its
/// column, only the rows whose best was in that column (kept in one list per column) look
/// for their next best, so the keys are never sorted and most of the matrix is read once.
/// `lists` is working memory.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn top_pairs(
    sim: &[f32],
    nb: usize,
    n: usize,
    row_best: &mut [u64],
    used_b: &mut Vec<bool>,
    lists: &mut Vec<u16>,
    out: &mut Vec<Pair>,
) {
    const NONE: u16 = u16::MAX;
    let column = |key: u64| (!(key as u32) & 0xffff) as usize;
    out.clear();
    used_b.clear();
    used_b.resize(nb, false);
    // The rows whose best is in each column: `head` per column, `next` per row.
    lists.clear();
    lists.resize(nb + row_best.len(), NONE);
    let (head, next) = lists.split_at_mut(nb);
    for (i, &best) in row_best.iter().enumerate() {
        if best != 0 {
            next[i] = head[column(best)];
            head[column(best)] = i as u16;
        }
    }
    let mut top = row_best.iter().copied().max().unwrap_or(0);
    while out.len() < n && top != 0 {
        let (a, b) = ((!(top as u32) >> 16) as usize, column(top));
        used_b[b] = true;
        row_best[a] = 0;
        out.push(Pair {
            a: a as u16,
            b: b as u16,
            sim: f32::from_bits((top >> 32) as u32),
        });
        // The rows that lost their best column look again (the pair's own row is done).
        let mut i = std::mem::replace(&mut head[b], NONE);
        while i != NONE {
            let r = i as usize;
            i = next[r];
            if row_best[r] != 0 {
                let best = next_best(&sim[r * nb..(r + 1) * nb], r, used_b);
                row_best[r] = best;
                if best != 0 {
                    next[r] = head[column(best)];
                    head[column(best)] = r as u16;
                }
            }
        }
        top = row_best.iter().copied().max().unwrap_or(0);
    }
}

/// The largest [`pair_key`] of a row's positive entries in columns not yet used (0 if none).
#[inline(always)]
fn next_best(row: &[f32], i: usize, used_b: &[bool]) -> u64 {
    let mut best = 0;
    for (j, (&s, &used)) in row.iter().zip(used_b).enumerate() {
        let key = if s > 0.0 && !used {
            pair_key(s, i, j)
        } else {
            0
        };
        best = best.max(key);
    }
    best
}

#[inline]
fn sigmoid(v: f32, mu: f32, tau: f32) -> f32 {
    1.0 / (1.0 + (-tau * (v - mu)).exp())
}

/// Steps per pixel of the distance-sigmoid table.
const DIST_STEPS: f32 = 64.0;
/// Distance differences at or beyond this many pixels have compatibility 0 (the sigmoid is
/// below 10⁻¹⁰ there).
const DIST_CUTOFF: f32 = 20.0;
/// Angle units (2π/65536) per entry of the angle-sigmoid table.
const ANGLE_SHIFT: u32 = 3;
/// Angle differences at or beyond this (≈ 1 rad) have compatibility 0 (sigmoid < 10⁻⁹).
const ANGLE_CUTOFF: u16 = 10_432;

/// Sigmoid tables of the compatibility terms, each entry the sigmoid at its bin's centre.
struct Tables {
    dist: Vec<f32>,
    angle: Vec<f32>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| Tables {
        dist: (0..(DIST_CUTOFF * DIST_STEPS) as usize)
            .map(|i| sigmoid((i as f32 + 0.5) / DIST_STEPS, RHO_MU_DIST, RHO_TAU_DIST))
            .collect(),
        angle: (0..=(ANGLE_CUTOFF >> ANGLE_SHIFT) as usize)
            .map(|i| {
                let v = ((i << ANGLE_SHIFT) as f32 + (1 << ANGLE_SHIFT) as f32 / 2.0)
                    * (2.0 * std::f32::consts::PI / 65536.0);
                sigmoid(v, RHO_MU_ANGLE, RHO_TAU_ANGLE)
            })
            .collect(),
    })
}

/// Difference of the lengths of the segment between the two A-minutiae of pairs r and k
/// and the segment between their two B-minutiae (pixels).
#[inline(always)]
fn length_difference(a: &FingerTemplate, b: &FingerTemplate, r: &Pair, k: &Pair) -> f32 {
    let (na, nb) = (a.points.len(), b.points.len());
    let (a1, a2, b1, b2) = (r.a as usize, k.a as usize, r.b as usize, k.b as usize);
    (a.dist[a1 * na + a2] - b.dist[b1 * nb + b2]).abs()
}

/// Compatibility ρ of two pairs (r, k) whose [`length_difference`] `d1` is below
/// [`DIST_CUTOFF`]: close to 1 when the two segments also match in relative direction and
/// relative angle to the segment, 0 beyond [`ANGLE_CUTOFF`] (decided without a branch:
/// which pairs are cut off is up to the data).
#[inline(always)]
fn compatibility(
    t: &Tables,
    a: &FingerTemplate,
    b: &FingerTemplate,
    r: &Pair,
    k: &Pair,
    d1: f32,
) -> f32 {
    let (na, nb) = (a.points.len(), b.points.len());
    let (a1, a2, b1, b2) = (r.a as usize, k.a as usize, r.b as usize, k.b as usize);
    let d2 = (a.angles[a1]
        .wrapping_sub(a.angles[a2])
        .wrapping_sub(b.angles[b1].wrapping_sub(b.angles[b2])) as i16)
        .unsigned_abs();
    let d3 = (a.rel[a1 * na + a2].wrapping_sub(b.rel[b1 * nb + b2]) as i16).unsigned_abs();
    let last = t.angle.len() - 1;
    let c = t.dist[(d1 * DIST_STEPS) as usize]
        * t.angle[((d2 >> ANGLE_SHIFT) as usize).min(last)]
        * t.angle[((d3 >> ANGLE_SHIFT) as usize).min(last)];
    if (d2 <= ANGLE_CUTOFF) & (d3 <= ANGLE_CUTOFF) {
        c
    } else {
        0.0
    }
}

/// Scratch buffers of the relaxation.
#[derive(Debug, Default)]
pub struct RelaxScratch {
    rho: Vec<f32>,
    initial: Vec<f32>,
    cur: Vec<f32>,
    next: Vec<f32>,
}

/// Runs the relaxation on `pairs` in place (their `sim` becomes the relaxed similarity) and
/// writes the efficiency (relaxed / initial similarity) of each pair into `eff`.
#[inline(always)]
pub fn relax(
    a: &FingerTemplate,
    b: &FingerTemplate,
    pairs: &mut [Pair],
    eff: &mut Vec<f32>,
    s: &mut RelaxScratch,
) {
    let n = pairs.len();
    eff.clear();
    if n < 2 {
        eff.resize(n, 1.0);
        return;
    }
    let t = tables();
    s.rho.clear();
    s.rho.resize(n * n, 0.0);
    // Pairs whose segments differ in length by the cut-off or more have ρ = 0: first the
    // others are listed without a branch (which ones they are is up to the data), then
    // only they are computed.
    // (A template has at most 255 minutiae, so `found` < 255 and the mask changes nothing.)
    debug_assert!(n <= 255, "a template has at most 255 minutiae");
    let mut near = [0u16; 256];
    for r in 0..n {
        let mut found = 0;
        for k in r + 1..n {
            near[found & 255] = k as u16;
            found += (length_difference(a, b, &pairs[r], &pairs[k]) < DIST_CUTOFF) as usize;
        }
        for &k in &near[..found.min(256)] {
            let k = k as usize;
            let d1 = length_difference(a, b, &pairs[r], &pairs[k]);
            let c = compatibility(t, a, b, &pairs[r], &pairs[k], d1);
            s.rho[r * n + k] = c;
            s.rho[k * n + r] = c;
        }
    }
    s.initial.clear();
    s.initial.extend(pairs.iter().map(|p| p.sim));
    s.cur.clone_from(&s.initial);
    s.next.clear();
    s.next.resize(n, 0.0);
    let scale = (1.0 - RELAX_WEIGHT) / (n - 1) as f32;
    for _ in 0..RELAX_ITERATIONS {
        for r in 0..n {
            let row = &s.rho[r * n..(r + 1) * n];
            let support = dot(row, &s.cur);
            s.next[r] = RELAX_WEIGHT * s.cur[r] + scale * support;
        }
        std::mem::swap(&mut s.cur, &mut s.next);
    }
    for (p, v) in pairs.iter_mut().zip(&s.cur) {
        p.sim = *v;
    }
    eff.extend(s.cur.iter().zip(&s.initial).map(|(c, i)| c / i));
}

/// Dot product with eight independent accumulators (vectorisable; a single running sum
/// would be one long chain of dependent additions).
#[inline(always)]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (p, q) in xc.zip(yc) {
        for l in 0..8 {
            acc[l] += p[l] * q[l];
        }
    }
    let mut tail = 0.0;
    for (p, q) in xr.iter().zip(yr) {
        tail += p * q;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Number of pairs n_P averaged into the score for templates of `na` and `nb` minutiae.
pub fn score_pairs(na: usize, nb: usize) -> usize {
    let z = sigmoid(na.min(nb) as f32, MU_P, TAU_P);
    (MIN_NP + (z * (MAX_NP - MIN_NP)).round()) as usize
}
