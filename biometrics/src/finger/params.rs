//! Every tuning constant of the fingerprint matcher, in one place, with what it controls.
//!
//! Distances are in pixels at 500 dpi (templates are rescaled to that grid in
//! [`super::prepare`]), angles in radians. The Minutia Cylinder-Code values are those published
//! for 500 dpi by Cappelli, Ferrara and Maltoni (IEEE TPAMI 32(12), 2010), except the smallest
//! n_P; that one and the consolidation constants were chosen on FVC2002 DB1 and the synthetic
//! sets only (see `docs/biometrics.md`).

use std::f32::consts::PI;

/// Target resolution of normalised coordinates: 500 dpi in pixels per centimetre.
pub const TARGET_PX_PER_CM: f32 = 500.0 / 2.54;

// --- Minutia Cylinder-Code (descriptor) ---

/// Cylinder radius R: how far around a minutia its neighbourhood descriptor looks.
pub const CYL_RADIUS: f32 = 70.0;
/// Spatial cells per side N_S of the cylinder base (N_S × N_S cells).
pub const NS: usize = 16;
/// Angular sections N_D of the cylinder (direction-difference bins).
pub const ND: usize = 6;
/// Gaussian spread σ_S of a neighbour's spatial contribution to a cell.
pub const SIGMA_S: f32 = 28.0 / 3.0;
/// Gaussian spread σ_D of a neighbour's directional contribution to a section.
pub const SIGMA_D: f32 = 2.0 * PI / 9.0;
/// Threshold μ_Ψ of the cell activation: a cell bit is set when its summed contribution
/// exceeds this (the bit-wise MCC variant).
pub const MU_PSI: f32 = 0.01;
/// Enlargement Ω of the minutiae convex hull used as the foreground: cells outside it are
/// invalid (unknown, not empty), so partial prints are not penalised for missing area.
pub const HULL_OFFSET: f32 = 50.0;
/// Minimum fraction of a cylinder's in-disc cells that must be valid for the cylinder to be used.
pub const MIN_VALID_CELLS: f32 = 0.75;
/// Minimum number of neighbours within R + 3σ_S for a cylinder to be used.
pub const MIN_NEIGHBOURS: usize = 2;
/// Minimum fraction of in-disc cells valid in both cylinders for two cylinders to be compared.
pub const MIN_MATCHABLE_CELLS: f32 = 0.60;
/// Largest direction difference δ_θ between two minutiae whose cylinders are compared.
pub const MAX_LOCAL_ROTATION: f32 = PI / 2.0;

// --- Local Similarity Sort with Relaxation (LSS-R) ---

/// Smallest number of top pairs n_P averaged into the MCC score. (The paper's 4 let a few
/// chance look-alikes decide the LSS-R of small templates; 8 was chosen on DB1, where 8–10
/// give the same figures: EER 1.60 → 1.44 %, FNMR@FMR1 % 2.14 → 1.79 %, synthetic sets
/// unchanged or slightly better.)
pub const MIN_NP: f32 = 8.0;
/// Largest number of top pairs n_P averaged into the MCC score.
pub const MAX_NP: f32 = 12.0;
/// Midpoint μ_P of the sigmoid mapping min(n_A, n_B) to n_P.
pub const MU_P: f32 = 20.0;
/// Slope τ_P of the sigmoid mapping min(n_A, n_B) to n_P.
pub const TAU_P: f32 = 0.4;
/// Relaxation iterations n_rel.
pub const RELAX_ITERATIONS: usize = 5;
/// Weight w_R of a pair's own similarity against its neighbours' support in each iteration.
pub const RELAX_WEIGHT: f32 = 0.5;
/// Midpoint of the compatibility sigmoid on the distance difference of two pairs (pixels).
/// (The paper's 5 px, raised to 6 with the warp refit below, issue 21: skin distortion
/// changes the distance between two minutiae by a few pixels, and the refit's tight second
/// pairing takes back the impostor evidence the looser relaxation lets through; on its own
/// 6 px takes the synthetic FVC2004-like EER 14.21 → 13.93 % but DB1/DB3 FNMR@FMR0.1 %
/// 3.21/13.93 → 3.93/15.36 %.)
pub const RHO_MU_DIST: f32 = 6.0;
/// Slope of the compatibility sigmoid on the distance difference.
pub const RHO_TAU_DIST: f32 = -8.0 / 5.0;
/// Midpoint of the compatibility sigmoids on the two angle differences of two pairs.
pub const RHO_MU_ANGLE: f32 = PI / 12.0;
/// Slope of the compatibility sigmoids on the angle differences.
pub const RHO_TAU_ANGLE: f32 = -30.0;

// --- Global consolidation ---

/// Number of top LSS-R pairs tried as anchors of a global rigid alignment.
pub const GLOBAL_SEEDS: usize = 5;
/// Largest distance between an aligned minutia of A and its partner in B (pixels): the cap
/// of the elastic tolerance below.
pub const GLOBAL_DIST_TOL: f32 = 30.0;
/// Distance tolerance at the alignment's anchor (pixels). A rigid alignment from one pair is
/// exact at its anchor; skin distortion accumulates with distance from it, so the tolerance
/// grows by [`GLOBAL_DIST_TOL_SLOPE`] per pixel away from the anchor, up to
/// [`GLOBAL_DIST_TOL`]. (Was a flat 20 px. Chosen on DB1 and the synthetic sets: with the
/// spread term, 10 + 0.08·r keeps DB1 FNMR@FMR0.1 % at 3.21 % and takes the synthetic
/// Fair / Poor sets from 12.07 / 52.07 % to 11.00 / 48.29 %.)
pub const GLOBAL_DIST_TOL_ANCHOR: f32 = 10.0;
/// Growth of the distance tolerance per pixel of distance from the alignment's anchor.
pub const GLOBAL_DIST_TOL_SLOPE: f32 = 0.08;
/// Largest direction difference between an aligned minutia of A and its partner in B.
pub const GLOBAL_ANGLE_TOL: f32 = PI / 6.0;
/// Margin around the other print's hull within which a minutia counts as in the overlap.
pub const OVERLAP_MARGIN: f32 = 10.0;
/// Floor on the overlap minutiae counts, so a tiny overlap with few pairs cannot score high.
/// (8 rather than the earlier 12: on DB1 EER 1.78 → 1.43 %, FNMR@FMR1 % 2.14 → 1.43 %; small
/// overlaps of genuine partial prints are judged on what they share.)
pub const MIN_OVERLAP_MINUTIAE: usize = 8;
/// Each consistent pair counts `SIM_COUNT_WEIGHT ×` its local similarity (capped at one pair
/// per pair) in the consolidation score.
pub const SIM_COUNT_WEIGHT: f32 = 2.0;
/// Exponent of the consolidation score in the final similarity `LSS-R · global^e`: how hard
/// global inconsistency pulls a locally similar pair of prints down.
pub const GLOBAL_EXPONENT: f32 = 0.5;
/// Spread of the pairing: the consolidation score is multiplied by `area / (area + this)`,
/// where `area` is the convex hull area (pixels²) of the paired minutiae. Chance look-alikes
/// between different fingers pile up in a small region; a genuine pairing spreads over the
/// overlap. 2000 px² ≈ a 45 px (2.3 mm) square, where the factor is one half.
pub const PAIR_SPREAD_HALF_AREA: f32 = 2000.0;

// --- Distortion: the warp refit after the rigid consolidation (`warp.rs`, issue 21) ---
// Chosen on the synthetic FVC2004-like and live-scan sets with FVC2002 DB1–DB4 as the guard
// (docs/biometrics.md, "Distortion-tolerant matching").

/// Radius h (pixels) of the kernel (1 − d²/h²)² that spreads each supporting pair's residual
/// displacement over its neighbourhood: large enough that the warp reaches minutiae between
/// and somewhat beyond the pairs (about a third of a print's width).
pub const REFIT_KERNEL_RADIUS: f32 = 120.0;
/// Added to the sum of kernel weights before the residuals are averaged: where the pairs'
/// weight is below this the warp shrinks towards the rigid alignment (a lone pair nearby
/// does not drag a minutia along with its whole residual).
pub const REFIT_SHRINK: f32 = 0.2;
/// Distance tolerance (pixels) of the pairing under the warp next to a supporting pair
/// (the rigid pairing allows 10 px at its anchor and grows to 30 px).
pub const REFIT_DIST_TOL_NEAR: f32 = 8.0;
/// Growth of the warped pairing's tolerance per pixel of distance from the nearest
/// supporting pair (where the warp extrapolates).
pub const REFIT_DIST_TOL_SLOPE: f32 = 0.06;
/// Largest distance tolerance of the warped pairing (pixels).
pub const REFIT_DIST_TOL: f32 = 20.0;
/// Warp fits: to the rigid pairing, then to the first warped pairing (1 round: DB1–DB3
/// FNMR@FMR0.1 % 3.21 / 2.50 / 13.21 %; 2: 2.86 / 2.86 / 12.14 %; 3: no better).
pub const REFIT_ROUNDS: usize = 2;
/// The consolidation score is the warped pairing's, or this fraction of the rigid pairing's
/// if that is larger: a strongly distorted genuine pair the warp fits badly keeps part of
/// its rigid evidence (synthetic FVC2004-like EER with 0 / 0.5 / 0.6: 16.3 / 14.6 / 14.5 %
/// at a 5 px relaxation midpoint; at 6 px, 0.6 gives impostors too much of their rigid
/// score back: DB1 EER 1.46 %, DB3 FNMR@FMR0.1 % 13.93 against 1.43 %, 12.14 % at 0.5).
pub const REFIT_RIGID_WEIGHT: f32 = 0.5;
