//! Global consolidation: the strongest LSS-R pairs each propose a rigid alignment of A onto B;
//! under each, minutiae of A are paired one-to-one with minutiae of B that lie close with a
//! similar direction. The alignment with the best overlap-normalised count wins. Counting
//! geometrically consistent pairs over the whole overlap is what separates a genuine print
//! from an impostor whose few look-alike neighbourhoods do not line up globally.
//!
//! The distance tolerance is elastic: tight at the alignment's anchor pair, growing with the
//! distance from it (skin distortion accumulates away from the anchor). The count is weighed
//! by the spread of the pairing (convex hull area of the paired minutiae): chance look-alikes
//! between different fingers concentrate in a small region, a genuine pairing covers the
//! overlap.
//!
//! The best rigid alignment is then refined for skin distortion ([`super::warp`]): a smooth
//! warp fitted to its pairs, and a second, tighter pairing under it.

use super::geometry::{hull_area, Point};
use super::local::pair_key;
use super::params::*;
use super::relax::Pair;
use super::template::{FingerTemplate, ANGLE_STEP, LANES};
use super::warp::{refit, WarpScratch};

/// A rigid transform mapping A's frame onto B's.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rigid {
    cos: f32,
    sin: f32,
    /// Rotation in units of 2π/65536.
    pub(super) rot: u16,
    tx: f32,
    ty: f32,
}

impl Rigid {
    fn from_pair(a: &Point, ta: u16, b: &Point, tb: u16) -> Rigid {
        let rot = tb.wrapping_sub(ta);
        let (sin, cos) = (rot as i16 as f32 * ANGLE_STEP).sin_cos();
        Rigid {
            cos,
            sin,
            rot,
            tx: b.x - (cos * a.x - sin * a.y),
            ty: b.y - (sin * a.x + cos * a.y),
        }
    }

    #[inline]
    pub(super) fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        (
            self.cos * x - self.sin * y + self.tx,
            self.sin * x + self.cos * y + self.ty,
        )
    }

    #[inline]
    fn invert(&self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = (x - self.tx, y - self.ty);
        (
            self.cos * dx + self.sin * dy,
            -self.sin * dx + self.cos * dy,
        )
    }
}

/// Largest direction difference of a consistent pair in units of 2π/65536.
const ANGLE_TOL_Q: u16 = (GLOBAL_ANGLE_TOL / ANGLE_STEP) as u16;

/// Scratch buffers of the consolidation; after [`consolidate`] with `want_pairs`, `best`
/// holds the winning alignment's pairs (sim = local similarity of the pair).
#[derive(Debug, Default)]
pub struct ConsolidateScratch {
    pub(super) moved: Vec<(f32, f32, u16)>,
    pub(super) keys: Vec<u64>,
    /// The distance tolerance of each of A's moved minutiae.
    tols: Vec<f32>,
    /// The partner search's hit masks.
    pub(super) hits: Vec<u64>,
    pub(super) used_a: Vec<bool>,
    pub(super) used_b: Vec<bool>,
    pub(super) pairs: Vec<Pair>,
    /// Paired minutiae positions and their hull (spread of the pairing).
    pts: Vec<(f32, f32)>,
    hull: Vec<(f32, f32)>,
    /// The best alignment's pairs.
    pub best: Vec<Pair>,
    /// The best rigid alignment's pairs (the warp is fitted to them).
    pub(super) rigid_pairs: Vec<Pair>,
    /// Working memory of the warp.
    pub(super) warp: WarpScratch,
}

/// Consolidates the candidate `seeds` (LSS-R pairs, best first) into a global pairing and
/// returns its score in [0, 1]: weighted matches² / (minutiae of A in the overlap · minutiae
/// of B in the overlap), each overlap count floored at [`MIN_OVERLAP_MINUTIAE`], times the
/// spread factor area / (area + [`PAIR_SPREAD_HALF_AREA`]) of the pairing. The pairing
/// scored is the one under the warp fitted to the best rigid alignment, or that rigid
/// alignment's at [`REFIT_RIGID_WEIGHT`] × its score if that is larger. With `want_pairs`,
/// the pairing is left in `s.best`.
#[inline(always)]
pub fn consolidate(
    a: &FingerTemplate,
    b: &FingerTemplate,
    sim: &[f32],
    seeds: &[Pair],
    want_pairs: bool,
    s: &mut ConsolidateScratch,
) -> f32 {
    let mut best = 0f32;
    let mut best_fit = None;
    s.best.clear();
    for seed in seeds.iter().take(GLOBAL_SEEDS) {
        let (sa, sb) = (seed.a as usize, seed.b as usize);
        let t = Rigid::from_pair(&a.points[sa], a.angles[sa], &b.points[sb], b.angles[sb]);
        let anchor = (b.points[sb].x, b.points[sb].y);
        if let Some((score, ov_a, ov_b)) = evaluate(a, b, sim, &t, anchor, best, s) {
            best = score;
            best_fit = Some((t, ov_a, ov_b));
            s.rigid_pairs.clone_from(&s.pairs);
        }
    }
    let Some((t, ov_a, ov_b)) = best_fit else {
        return best;
    };
    // The rigid score counts only at a discount: a genuine pairing survives the tighter
    // pairing under the warp, a chance one mostly does not.
    let rigid = REFIT_RIGID_WEIGHT * best;
    match refit(a, b, sim, &t, ov_a, ov_b, s) {
        Some(score) if score > rigid => {
            if want_pairs {
                s.best.clone_from(&s.pairs);
            }
            score
        }
        _ => {
            if want_pairs {
                s.best.clone_from(&s.rigid_pairs);
            }
            rigid
        }
    }
}

/// Pairs A's minutiae, moved by `t`, one-to-one with B's (closest and most similar first)
/// into `s.pairs` and returns the alignment's score and overlap counts if it beats `best`.
/// `anchor` is the B minutia the alignment was built on: the distance tolerance grows away
/// from it.
#[inline(always)]
fn evaluate(
    a: &FingerTemplate,
    b: &FingerTemplate,
    sim: &[f32],
    t: &Rigid,
    anchor: (f32, f32),
    best: f32,
    s: &mut ConsolidateScratch,
) -> Option<(f32, usize, usize)> {
    s.moved.clear();
    s.moved
        .extend(a.points.iter().zip(&a.angles).map(|(p, &th)| {
            let (x, y) = t.apply(p.x, p.y);
            (x, y, th.wrapping_add(t.rot))
        }));
    // The distance tolerance of each moved minutia (a loop the compiler runs 16 wide).
    s.tols.clear();
    s.tols.extend(s.moved.iter().map(|&(x, y, _)| {
        let r = ((x - anchor.0) * (x - anchor.0) + (y - anchor.1) * (y - anchor.1)).sqrt();
        (GLOBAL_DIST_TOL_ANCHOR + GLOBAL_DIST_TOL_SLOPE * r).min(GLOBAL_DIST_TOL)
    }));
    let sum = pair_up(
        b,
        sim,
        &s.moved,
        &s.tols,
        &mut s.hits,
        &mut s.keys,
        &mut s.used_a,
        &mut s.used_b,
        &mut s.pairs,
    );
    let n_pairs = s.pairs.len();
    let m = (SIM_COUNT_WEIGHT * sum).min(n_pairs as f32);
    let floor0 = n_pairs.max(MIN_OVERLAP_MINUTIAE) as f32;
    let count_bound = (m * m / (floor0 * floor0)).min(1.0);
    if count_bound <= best {
        // Even the smallest possible overlap (and the widest spread) could not beat the best
        // alignment so far.
        return None;
    }
    // The spread does not depend on the overlap: with it, the smallest possible overlap
    // bounds the score before the overlap is counted (the same operations on a count score
    // at least as large, so never below the score itself).
    let area = pairing_area(b, s);
    if spread_score(count_bound, area) <= best {
        return None;
    }
    // Minutiae of each print that lie where the other print has ridge area.
    let ov_a = b
        .overlap
        .count_near(&b.hull, &b.edges, s.moved.iter().map(|m| (m.0, m.1)));
    let ov_b = a.overlap.count_near(
        &a.hull,
        &a.edges,
        b.points.iter().map(|q| t.invert(q.x, q.y)),
    );
    let count_score = count_score(sum, n_pairs, ov_a, ov_b);
    if count_score <= best {
        return None;
    }
    let score = spread_score(count_score, area);
    (score > best).then_some((score, ov_a, ov_b))
}

/// Weighted matches² over the overlap counts, each floored at [`MIN_OVERLAP_MINUTIAE`] and at
/// the number of pairs, at most 1: pairs count by their local similarity (`sum`), so that a
/// pair whose neighbourhoods disagree adds little even when its positions line up.
#[inline(always)]
fn count_score(sum: f32, n_pairs: usize, ov_a: usize, ov_b: usize) -> f32 {
    let m = (SIM_COUNT_WEIGHT * sum).min(n_pairs as f32);
    let floor = |ov: usize| ov.max(MIN_OVERLAP_MINUTIAE).max(n_pairs) as f32;
    (m * m / (floor(ov_a) * floor(ov_b))).min(1.0)
}

/// A count score times the spread factor of a pairing whose hull has `area`: pairs piled up
/// in a small region are weak evidence.
#[inline(always)]
fn spread_score(count_score: f32, area: f32) -> f32 {
    count_score * area / (area + PAIR_SPREAD_HALF_AREA)
}

/// Convex hull area of the B minutiae of the pairing in `s.pairs` (its spread).
#[inline(always)]
fn pairing_area(b: &FingerTemplate, s: &mut ConsolidateScratch) -> f32 {
    s.pts.clear();
    s.pts.extend(s.pairs.iter().map(|p| {
        let q = &b.points[p.b as usize];
        (q.x, q.y)
    }));
    hull_area(&mut s.pts, &mut s.hull)
}

/// Score of the pairing in `s.pairs` (summed local similarity `sum`) given the overlap
/// counts, if it beats `best` (any score does when `best` is negative): the count score
/// times the spread of the pairing.
#[inline(always)]
pub(super) fn pairing_score(
    b: &FingerTemplate,
    sum: f32,
    ov_a: usize,
    ov_b: usize,
    best: f32,
    s: &mut ConsolidateScratch,
) -> Option<f32> {
    let count_score = count_score(sum, s.pairs.len(), ov_a, ov_b);
    if count_score <= best {
        return None;
    }
    let score = spread_score(count_score, pairing_area(b, s));
    (score > best).then_some(score)
}

/// Pairs the `moved` minutiae of A one-to-one with B's minutiae within the distance
/// tolerance `tols[i]` and the direction tolerance (closest and most similar first)
/// into `pairs`; returns the summed local similarity of the pairs.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn pair_up(
    b: &FingerTemplate,
    sim: &[f32],
    moved: &[(f32, f32, u16)],
    tols: &[f32],
    hits: &mut Vec<u64>,
    keys: &mut Vec<u64>,
    used_a: &mut Vec<bool>,
    used_b: &mut Vec<bool>,
    pairs: &mut Vec<Pair>,
) -> f32 {
    let (na, nb) = (moved.len(), b.points.len());
    // First the hit masks of every (minutia, 16 lanes) test, kept without a branch (most
    // are empty, and which are is up to the data) as `i << 48 | first lane << 32 | mask`;
    // then the few hits, scored one by one.
    hits.clear();
    hits.resize(na * (b.lane_x.len() / LANES), 0);
    let mut found = 0;
    for (i, &(x, y, th)) in moved.iter().enumerate() {
        let tol = tols[i];
        let tol2 = tol * tol;
        // Partners: B's minutiae within the tolerance (in x, then in distance) with a
        // similar direction, tested 16 at a time.
        let (x_lo, x_hi) = (x - tol, x + tol);
        for c in (0..b.lane_x.len()).step_by(LANES) {
            let bx: &[f32; LANES] = b.lane_x[c..c + LANES].try_into().unwrap();
            let by: &[f32; LANES] = b.lane_y[c..c + LANES].try_into().unwrap();
            let bt: &[u16; LANES] = b.lane_t[c..c + LANES].try_into().unwrap();
            let mut hit = 0u32;
            for l in 0..LANES {
                let (qx, qy) = (bx[l], by[l]);
                let d2 = (x - qx) * (x - qx) + (y - qy) * (y - qy);
                let turn = (th.wrapping_sub(bt[l]) as i16).unsigned_abs();
                let ok = (qx >= x_lo) & (qx <= x_hi) & (d2 <= tol2) & (turn <= ANGLE_TOL_Q);
                hit |= (ok as u32) << l;
            }
            hits[found] = ((i as u64) << 48) | ((c as u64) << 32) | hit as u64;
            found += (hit != 0) as usize;
        }
    }
    keys.clear();
    for &entry in &hits[..found] {
        let (i, c, mut hit) = (
            (entry >> 48) as usize,
            ((entry >> 32) & 0xffff) as usize,
            entry as u32,
        );
        let (x, y, _) = moved[i];
        let tol = tols[i];
        while hit != 0 {
            let j = c + hit.trailing_zeros() as usize;
            hit &= hit - 1;
            let (qx, qy) = (b.lane_x[j], b.lane_y[j]);
            let d2 = (x - qx) * (x - qx) + (y - qy) * (y - qy);
            let v = 1.0 - d2.sqrt() / tol + sim[i * nb + j];
            keys.push(pair_key(v, i, j));
        }
    }
    // Descending value, then ascending i, then ascending j.
    keys.sort_unstable_by(|x, y| y.cmp(x));
    used_a.clear();
    used_a.resize(na, false);
    used_b.clear();
    used_b.resize(nb, false);
    pairs.clear();
    let mut sum = 0f32;
    for &k in keys.iter() {
        let ij = !(k as u32);
        let (i, j) = ((ij >> 16) as usize, (ij & 0xffff) as usize);
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            let v = sim[i * nb + j];
            sum += v;
            pairs.push(Pair {
                a: i as u16,
                b: j as u16,
                sim: v,
            });
        }
    }
    sum
}

/// The score of the rigid alignment of each of the first `n` `seeds` alone (diagnostics:
/// which anchor the consolidation picks among its [`GLOBAL_SEEDS`], and what later ones
/// would have got).
pub(super) fn seed_scores(
    a: &FingerTemplate,
    b: &FingerTemplate,
    sim: &[f32],
    seeds: &[Pair],
    n: usize,
    s: &mut ConsolidateScratch,
) -> Vec<f32> {
    seeds
        .iter()
        .take(n)
        .map(|seed| {
            let (sa, sb) = (seed.a as usize, seed.b as usize);
            let t = Rigid::from_pair(&a.points[sa], a.angles[sa], &b.points[sb], b.angles[sb]);
            let anchor = (b.points[sb].x, b.points[sb].y);
            evaluate(a, b, sim, &t, anchor, -1.0, s).map_or(0.0, |r| r.0)
        })
        .collect()
}
