//! Distortion-tolerant second pairing: a smooth warp of A onto B fitted to the best rigid
//! alignment's pairs, and a tighter pairing under it.
//!
//! Skin is elastic: two impressions of one finger agree with one rigid alignment only near
//! where it was anchored. Following Bazen and Gerez (elastic minutiae matching with a
//! thin-plate spline, Pattern Recognition 36(8), 2003), the pairs of a first, tolerant
//! pairing estimate the deformation, and minutiae are paired again after registering under
//! it with tolerances much tighter than a rigid matcher can afford. A genuine pairing keeps
//! its pairs (they follow one smooth deformation); a chance pairing of two different fingers
//! does not, since its residuals are noise that the warp averages away.
//!
//! The warp here is a kernel-weighted mean of the pairs' residual displacements (and
//! rotations), shrunk towards the rigid position where few pairs are near — a smoothed,
//! regularised interpolation in the spirit of a thin-plate spline at a fraction of its cost
//! (no linear system). The distance tolerance is tight next to the pairs that support the
//! warp and grows away from them, where the warp is an extrapolation.

use super::consolidate::{pair_up, pairing_score, ConsolidateScratch, Rigid};
use super::params::*;
use super::template::{FingerTemplate, LANES};

/// Working memory of the warp.
#[derive(Debug, Default)]
pub struct WarpScratch {
    /// Residual of each supporting pair under the rigid alignment: (x, y, dx, dy, dθ).
    resid: Vec<(f32, f32, f32, f32, f32)>,
    /// A's minutiae under the warp.
    warped: Vec<(f32, f32, u16)>,
    /// The distance tolerance of each of A's minutiae.
    tols: Vec<f32>,
}

/// Pairs A's minutiae again under warps fitted to the rigid alignment `t`'s pairing
/// (`s.rigid_pairs`), then to the previous warp's pairing, [`REFIT_ROUNDS`] times; leaves the
/// last pairing in `s.pairs` and returns its score with the rigid alignment's overlap counts
/// `ov_a`, `ov_b` (None when there are fewer than two pairs to fit to).
#[inline(always)]
pub(super) fn refit(
    a: &FingerTemplate,
    b: &FingerTemplate,
    sim: &[f32],
    t: &Rigid,
    ov_a: usize,
    ov_b: usize,
    s: &mut ConsolidateScratch,
) -> Option<f32> {
    s.moved.clear();
    s.moved
        .extend(a.points.iter().zip(&a.angles).map(|(p, &th)| {
            let (x, y) = t.apply(p.x, p.y);
            (x, y, th.wrapping_add(t.rot))
        }));
    let (mut fitted, mut sum) = (false, 0f32);
    for _ in 0..REFIT_ROUNDS {
        let support = if fitted { &s.pairs } else { &s.rigid_pairs };
        if support.len() < 2 {
            break;
        }
        let w = &mut s.warp;
        w.resid.clear();
        w.resid.extend(support.iter().map(|p| {
            let (x, y, th) = s.moved[p.a as usize];
            let q = &b.points[p.b as usize];
            let turn = b.angles[p.b as usize].wrapping_sub(th) as i16 as f32;
            (x, y, q.x - x, q.y - y, turn)
        }));
        warp(&s.moved, w);
        let tols = &w.tols;
        sum = pair_up(
            b,
            sim,
            &w.warped,
            tols,
            &mut s.hits,
            &mut s.keys,
            &mut s.used_a,
            &mut s.used_b,
            &mut s.pairs,
        );
        fitted = true;
    }
    // Only the last round's pairing is scored (a negative floor: any score is returned).
    if fitted {
        pairing_score(b, sum, ov_a, ov_b, -1.0, s)
    } else {
        None
    }
}

/// Moves each of the rigidly aligned minutiae `moved` by the kernel-weighted mean residual
/// of the supporting pairs in `w.resid` (weight (1 − d²/h²)², h = [`REFIT_KERNEL_RADIUS`];
/// the mean is shrunk towards no displacement by [`REFIT_SHRINK`] in the weights' sum) into
/// `w.warped`, and writes each minutia's distance tolerance into `w.tols`.
#[inline(always)]
fn warp(moved: &[(f32, f32, u16)], w: &mut WarpScratch) {
    let h2 = REFIT_KERNEL_RADIUS * REFIT_KERNEL_RADIUS;
    w.warped.clear();
    w.tols.clear();
    // 16 minutiae at a time, one lane each: every lane adds up its own kernel sums in the
    // order of the pairs, so each minutia's sums are those of a loop over it alone.
    for chunk in moved.chunks(LANES) {
        let mut xs = [0f32; LANES];
        let mut ys = [0f32; LANES];
        for (l, &(x, y, _)) in chunk.iter().enumerate() {
            (xs[l], ys[l]) = (x, y);
        }
        let (mut sw, mut sx, mut sy, mut st) =
            ([0f32; LANES], [0f32; LANES], [0f32; LANES], [0f32; LANES]);
        let mut near = [f32::INFINITY; LANES];
        for &(px, py, dx, dy, turn) in &w.resid {
            for l in 0..LANES {
                let (x, y) = (xs[l], ys[l]);
                let d2 = (x - px) * (x - px) + (y - py) * (y - py);
                near[l] = near[l].min(d2);
                let u = 1.0 - d2 / h2;
                let k = u * u;
                let inside = d2 < h2;
                sw[l] = if inside { sw[l] + k } else { sw[l] };
                sx[l] = if inside { sx[l] + k * dx } else { sx[l] };
                sy[l] = if inside { sy[l] + k * dy } else { sy[l] };
                st[l] = if inside { st[l] + k * turn } else { st[l] };
            }
        }
        for (l, &(x, y, th)) in chunk.iter().enumerate() {
            let k = 1.0 / (sw[l] + REFIT_SHRINK);
            w.warped.push((
                x + sx[l] * k,
                y + sy[l] * k,
                th.wrapping_add((st[l] * k) as i16 as u16),
            ));
            w.tols.push(
                (REFIT_DIST_TOL_NEAR + REFIT_DIST_TOL_SLOPE * near[l].sqrt()).min(REFIT_DIST_TOL),
            );
        }
    }
}
