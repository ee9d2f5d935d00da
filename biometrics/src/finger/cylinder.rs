//! Minutia Cylinder-Code descriptors, bit-wise variant: for each minutia a cylinder of
//! N_S × N_S × N_D cells around it, aligned to its direction, whose bits say "a neighbour with
//! this relative direction sits here". Cells outside the disc of radius R or outside the
//! (enlarged) fingerprint area are invalid and take no part in comparisons.
//!
//! Built once per template in [`super::prepare`]; the matcher then only runs popcounts.

use std::f32::consts::PI;

#[cfg(target_arch = "x86_64")]
use super::geometry::avx512::near16;
#[cfg(test)]
use super::geometry::near_hull_fast;
use super::geometry::{angle_diff, dist, erf, hull_edges, near_hull_fast_many, Point};
use super::params::*;

/// Words of cell bits per cylinder: N_S² · N_D / 64.
pub const CELL_WORDS: usize = NS * NS * ND / 64;
/// Words of the spatial validity mask (shared by all angular sections): N_S² / 64.
pub const MASK_WORDS: usize = NS * NS / 64;

/// One cylinder: the activation bits (section `k`, cell `c` at bit `k·N_S² + c`) and the
/// spatial validity mask (cell `c` at bit `c`). Activation bits are only ever set in valid
/// cells, so `bits & mask == bits` in every section. Cache-line aligned (256 bytes) so that the
/// matcher's popcount loop reads whole lines.
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Cylinder {
    /// Activation bits, N_D sections of N_S² cells.
    pub bits: [u64; CELL_WORDS],
    /// Validity of each spatial cell.
    pub mask: [u64; MASK_WORDS],
    /// Number of set activation bits (its popcount, precomputed for the matcher).
    pub ones: u32,
    /// Whether every in-disc cell is valid (the mask equals [`disc_mask`]): then the common
    /// mask with any other cylinder is that cylinder's own mask.
    pub full: bool,
    /// Whether the cylinder has enough valid cells and neighbours to be compared at all.
    pub valid: bool,
}

/// The mask of the cells whose centre lies inside the disc of radius R.
pub fn disc_mask() -> [u64; MASK_WORDS] {
    let delta = 2.0 * CYL_RADIUS / NS as f32;
    let mut m = [0u64; MASK_WORDS];
    for i in 0..NS {
        for j in 0..NS {
            let (u, v) = cell_offset(i, j, delta);
            if u * u + v * v <= CYL_RADIUS * CYL_RADIUS {
                let c = i * NS + j;
                m[c / 64] |= 1 << (c % 64);
            }
        }
    }
    m
}

/// Number of cells of the N_S × N_S grid whose centre lies inside the disc of radius R.
pub const DISC_CELLS: u32 = count_disc_cells();

const fn count_disc_cells() -> u32 {
    let delta = 2.0 * CYL_RADIUS / NS as f32;
    let half = NS as f32 / 2.0;
    let mut n = 0;
    let mut i = 0;
    while i < NS {
        let mut j = 0;
        while j < NS {
            let u = (i as f32 + 0.5 - half) * delta;
            let v = (j as f32 + 0.5 - half) * delta;
            if u * u + v * v <= CYL_RADIUS * CYL_RADIUS {
                n += 1;
            }
            j += 1;
        }
        i += 1;
    }
    n
}

/// Offset of cell (i, j)'s centre from the cylinder centre, in the minutia's own frame.
#[inline]
fn cell_offset(i: usize, j: usize, delta: f32) -> (f32, f32) {
    let half = NS as f32 / 2.0;
    (
        (i as f32 + 0.5 - half) * delta,
        (j as f32 + 0.5 - half) * delta,
    )
}

/// Builds the cylinders of all minutiae of one template.
/// `hull` is the convex hull of the minutiae (the foreground estimate); coordinates lie
/// within ±8192 px (the stored form's range, see [`DECIDE_MARGIN`]).
///
/// The cell bits are exactly those of the textbook loop (kept as `build_reference` in the
/// tests: a bit is set when the cell's sum of neighbour contributions, added in neighbour
/// order in `f32`, exceeds μ_Ψ), but the sums are only ever compared with μ_Ψ, so most of
/// them need not be exact:
///
/// - a first pass sums the contributions to the 16 cells of a cylinder row at once (one SIMD
///   vector per section, kept in registers while the neighbours that reach the row are
///   added). The spatial Gaussian is separable in the minutia's own frame,
///   e^(−(Δu² + Δv²)/2σ²) = e^(−Δu²/2σ²) · e^(−Δv²/2σ²), so each neighbour needs 32
///   polynomial exponentials (relative error below 10⁻⁶) instead of one per reached cell.
///   Which cells a neighbour reaches (`d ≤ 3σ_S` in the textbook loop) is decided exactly: on
///   the squared distance computed as the textbook loop computes it, against the largest
///   square whose rounded root is ≤ 3σ_S ([`reach_limit`]);
/// - a sum more than [`DECIDE_MARGIN`] (relative) away from μ_Ψ decides its bit: the
///   approximate and the exact sums of the same non-negative terms differ by far less
///   (see [`DECIDE_MARGIN`]);
/// - the few cells with a sum inside the margin are recomputed exactly, term by term in the
///   textbook order, and decided on that.
///
/// A neighbour's directional contributions to the N_D sections depend only on its direction
/// difference, so they are computed once per distinct difference ([`directional`]).
pub fn build(points: &[Point], hull: &[(f32, f32)]) -> Vec<Cylinder> {
    with_directional_memo(|memo| {
        #[cfg(target_arch = "x86_64")]
        {
            if crate::cpu::avx512f() {
                // SAFETY: the CPU has the feature the function is compiled for.
                return unsafe { build_avx512(points, hull, memo) };
            }
            if crate::cpu::avx2() {
                // SAFETY: the CPU has the feature the function is compiled for.
                return unsafe { build_avx2(points, hull, memo) };
            }
        }
        build_body(points, hull, false, memo)
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
unsafe fn build_avx512(
    points: &[Point],
    hull: &[(f32, f32)],
    memo: &mut DirectionalMemo,
) -> Vec<Cylinder> {
    build_body(points, hull, true, memo)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn build_avx2(
    points: &[Point],
    hull: &[(f32, f32)],
    memo: &mut DirectionalMemo,
) -> Vec<Cylinder> {
    build_body(points, hull, false, memo)
}

/// Relative margin around μ_Ψ within which an approximate cell sum does not decide its bit.
///
/// Both sums add the same non-negative terms (the same neighbours reach the same cells);
/// each approximate term is within 5·10⁻⁴ (relative) of its exact counterpart, so the sums
/// are too, 2× below this margin:
///
/// - the exponent: the exact term takes the distance from the cell centre in template
///   coordinates (`m + R(θ)·(u, v)`, two roundings at the coordinates' magnitude), the
///   approximate one from the minutia's frame (differences of at most ~100 px, exact or
///   rounded at that magnitude). For coordinates within ±8192 px (the quarter-pixel `i16`
///   stored form) the two distances differ by at most 1.5·10⁻³ px, so for a reached cell
///   (d ≤ 28 px) the exponents differ by at most 2·28·1.5·10⁻³/(2σ_S²) < 4.9·10⁻⁴; below
///   ±1024 px (every real print) by less than 7·10⁻⁵;
/// - the exponential: two polynomial factors (≤ 10⁻⁶ relative each) against libm (≤ 1 ulp);
/// - rounding: each term a few roundings, each sum at most n roundings for n ≤ 255
///   neighbours: γ_n ≤ 1.6·10⁻⁵ relative to the sum of the terms.
pub const DECIDE_MARGIN: f32 = 1e-3;

/// e^x for x in [−20, 0] with relative error below 10⁻⁶ (range reduction to
/// |r| ≤ ln 2 / 2, degree-6 Taylor polynomial, exponent by bit construction); plain `f32`
/// operations, so a loop of it vectorises. Below −20 it returns e^−20.
#[inline(always)]
fn exp_approx(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.max(-20.0);
    let t = x * std::f32::consts::LOG2_E;
    // Round to nearest by the 1.5·2²³ trick (|t| < 2²²).
    let n = (t + 12_582_912.0) - 12_582_912.0;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((n as i32 + 127) << 23) as u32)
}

/// Slots of a [`DirectionalMemo`] (a power of two).
const MEMO_SLOTS: usize = 1 << 13;

/// Memo of [`directional`]'s values by the bits of the direction difference: a direct-mapped
/// table (one multiply to find the slot, a colliding key overwrites it), so a look-up costs
/// a compare and no probing.
struct DirectionalMemo {
    /// Each slot's key (`EMPTY_KEY` when none) and value, side by side (one cache line).
    slots: Vec<(u32, [f32; ND])>,
}

/// The key of an empty slot: a NaN pattern that [`directional`] never memoises.
const EMPTY_KEY: u32 = u32::MAX;

impl DirectionalMemo {
    fn new() -> DirectionalMemo {
        DirectionalMemo {
            slots: vec![(EMPTY_KEY, [0.0; ND]); MEMO_SLOTS],
        }
    }
}

/// Runs `f` with this thread's [`DirectionalMemo`] (borrowed once for a whole template; a
/// fresh one if it is already borrowed).
fn with_directional_memo<R>(f: impl FnOnce(&mut DirectionalMemo) -> R) -> R {
    use std::cell::RefCell;
    thread_local! {
        static CACHE: RefCell<Option<DirectionalMemo>> = const { RefCell::new(None) };
    }
    let mut f = Some(f);
    let done = CACHE.with(|cache| {
        let mut cache = cache.try_borrow_mut().ok()?;
        let memo = cache.get_or_insert_with(DirectionalMemo::new);
        Some((f.take().unwrap())(memo))
    });
    match done {
        Some(r) => r,
        None => (f.take().unwrap())(&mut DirectionalMemo::new()),
    }
}

/// The directional contributions to the N_D sections of a neighbour whose direction
/// differs by `dtheta` (radians, from [`angle_diff`]): twelve `erf`s, so they are memoised
/// in `memo` by the exact bits of `dtheta` (templates from ISO records have 256 directions,
/// so a few hundred distinct differences occur). Values are exactly those computed inline.
#[inline(always)]
fn directional(memo: &mut DirectionalMemo, dtheta: f32) -> [f32; ND] {
    let key = dtheta.to_bits();
    let slot = (key.wrapping_mul(0x9e37_79b1) >> (32 - MEMO_SLOTS.trailing_zeros())) as usize;
    let entry = &mut memo.slots[slot];
    if entry.0 == key && key != EMPTY_KEY {
        return entry.1;
    }
    let c = directional_exact(dtheta);
    if key != EMPTY_KEY {
        *entry = (key, c);
    }
    c
}

/// [`directional`] computed: twelve `erf`s.
#[inline(never)]
fn directional_exact(dtheta: f32) -> [f32; ND] {
    let delta_d = 2.0 * PI / ND as f32;
    let s = SIGMA_D * std::f32::consts::SQRT_2;
    let cd =
        |alpha: f32| 0.5 * (erf((alpha + delta_d / 2.0) / s) - erf((alpha - delta_d / 2.0) / s));
    let mut c = [0f32; ND];
    for (k, ck) in c.iter_mut().enumerate() {
        let dphi_k = -PI + (k as f32 + 0.5) * delta_d;
        *ck = cd(angle_diff(dphi_k, dtheta));
    }
    c
}

/// Cells of the N_S × N_S grid.
const CELLS: usize = NS * NS;

/// The largest `f32` square `s` with `√s` (correctly rounded, so monotone) at most `reach`:
/// `s ≤ reach_limit(reach)` exactly when `√s ≤ reach`, without the root.
fn reach_limit(reach: f32) -> f32 {
    let mut s = reach * reach;
    while s.sqrt() > reach {
        s = f32::from_bits(s.to_bits() - 1);
    }
    while f32::from_bits(s.to_bits() + 1).sqrt() <= reach {
        s = f32::from_bits(s.to_bits() + 1);
    }
    s
}

/// One neighbour of a cylinder's minutia, as the approximate row sums use it.
#[derive(Clone, Copy)]
struct Reach {
    /// Position in template coordinates (the exact reach test).
    tx: f32,
    /// See [`Self::tx`].
    ty: f32,
    /// The rows it can reach: `rows.0..rows.1`.
    rows: (usize, usize),
    /// e^(−Δu²/2σ²) for each row's centre (Δu in the minutia's frame).
    eu: [f32; NS],
    /// g_norm · e^(−Δv²/2σ²) for each column's centre.
    ev: [f32; NS],
    /// Its directional contributions to the sections.
    ck: [f32; ND],
}

/// The set of neighbours (bit k of word k / 64: neighbour k) whose row mask (`masks[k]`,
/// bit r: row r) holds `row`, into `out`.
#[inline(always)]
fn row_bits(masks: &[u32], row: usize, out: &mut Vec<u64>) {
    out.extend(masks.chunks(64).map(|chunk| {
        let mut bits = 0u64;
        for (k, &m) in chunk.iter().enumerate() {
            bits |= (((m >> row) & 1) as u64) << k;
        }
        bits
    }));
}

/// The separable factors of the spatial Gaussian for a neighbour at (`ut`, `vt`) in the
/// minutia's frame: e^(−(u_i − ut)²/2σ²) for the rows' centres `u` and
/// `norm`·e^(−(v_j − vt)²/2σ²) for the columns' centres `v` ([`exp_approx`]).
#[inline(always)]
fn gaussians(
    (u, ut): (&[f32; NS], f32),
    (v, vt): (&[f32; NS], f32),
    norm: f32,
) -> ([f32; NS], [f32; NS]) {
    let inv_two_var = 1.0 / (2.0 * SIGMA_S * SIGMA_S);
    let (mut eu, mut ev) = ([0f32; NS], [0f32; NS]);
    for l in 0..NS {
        let (du, dv) = (u[l] - ut, v[l] - vt);
        eu[l] = exp_approx(-du * du * inv_two_var);
        ev[l] = norm * exp_approx(-dv * dv * inv_two_var);
    }
    (eu, ev)
}

/// The approximate sums of one row of cells (`cx`, `cy`: the centres) over the neighbours
/// that can reach it (indices `active` into `reaches`), compared with the bounds: bit l of `set[k]` says cell l's sum in section k
/// is above `hi`, of `maybe[k]` that it is at least `lo`.
#[inline(always)]
fn row_sums(
    cx: &[f32; NS],
    cy: &[f32; NS],
    row: usize,
    reaches: &[Reach],
    active: &[u64],
    limit: f32,
    (hi, lo): (f32, f32),
) -> ([u16; ND], [u16; ND]) {
    let mut acc = [[0f32; NS]; ND];
    for (w, &bits) in active.iter().enumerate() {
        let mut bits = bits;
        while bits != 0 {
            let nb = &reaches[w * 64 + bits.trailing_zeros() as usize];
            bits &= bits - 1;
            add_neighbour(&mut acc, cx, cy, row, nb, limit);
        }
    }
    let (mut set, mut maybe) = ([0u16; ND], [0u16; ND]);
    for ((s, m), a) in set.iter_mut().zip(&mut maybe).zip(&acc) {
        for (l, &v) in a.iter().enumerate() {
            *s |= ((v > hi) as u16) << l;
            *m |= ((v >= lo) as u16) << l;
        }
    }
    (set, maybe)
}

/// Adds one neighbour's approximate contributions to the row's section sums `acc`.
#[inline(always)]
fn add_neighbour(
    acc: &mut [[f32; NS]; ND],
    cx: &[f32; NS],
    cy: &[f32; NS],
    row: usize,
    nb: &Reach,
    limit: f32,
) {
    let eu = nb.eu[row];
    let mut g = [0f32; NS];
    for l in 0..NS {
        let (dx, dy) = (cx[l] - nb.tx, cy[l] - nb.ty);
        let s = dx * dx + dy * dy;
        g[l] = if s <= limit { eu * nb.ev[l] } else { 0.0 };
    }
    for (a, &c) in acc.iter_mut().zip(&nb.ck) {
        for l in 0..NS {
            a[l] += g[l] * c;
        }
    }
}

/// The cylinder build; `avx512` says the CPU has AVX-512F (rows of cells as one vector),
/// otherwise the portable row loop runs.
#[inline(always)]
fn build_body(
    points: &[Point],
    hull: &[(f32, f32)],
    avx512: bool,
    memo: &mut DirectionalMemo,
) -> Vec<Cylinder> {
    let delta_s = 2.0 * CYL_RADIUS / NS as f32;
    let reach = 3.0 * SIGMA_S;
    let limit = reach_limit(reach);
    let neighbour_limit = reach_limit(CYL_RADIUS + reach);
    let mut close: Vec<u64> = Vec::with_capacity(points.len().div_ceil(64));
    let gs_norm = 1.0 / (SIGMA_S * (2.0 * PI).sqrt());
    let min_cells = (MIN_VALID_CELLS * DISC_CELLS as f32).ceil() as u32;
    let disc = disc_mask();
    let edges = hull_edges(hull);
    let hi = MU_PSI * (1.0 + DECIDE_MARGIN);
    let lo = MU_PSI * (1.0 - DECIDE_MARGIN);
    // Cell centre offsets in the minutia's frame, the same for every cylinder.
    let mut off_u = [0f32; CELLS];
    let mut off_v = [0f32; CELLS];
    for i in 0..NS {
        for j in 0..NS {
            let (u, v) = cell_offset(i, j, delta_s);
            off_u[i * NS + j] = u;
            off_v[i * NS + j] = v;
        }
    }
    let row_u: [f32; NS] = std::array::from_fn(|i| off_u[i * NS]);
    let col_v: [f32; NS] = std::array::from_fn(|j| off_v[j]);
    // Per neighbour: position and its directional contribution to each section (the exact
    // sums' form), and the same with the separable factors (the approximate sums').
    let mut neighbours: Vec<(f32, f32, [f32; ND])> = Vec::with_capacity(points.len());
    let mut reaches: Vec<Reach> = Vec::with_capacity(points.len());
    let mut row_masks: Vec<u32> = Vec::with_capacity(points.len() + 16);
    let mut by_row: Vec<u64> = Vec::with_capacity(points.len().div_ceil(64));
    let mut near_edges: Vec<super::geometry::Edge> = Vec::with_capacity(edges.len());
    let half = NS as f32 / 2.0;
    let box_reach = reach + 0.5;
    let range = |w: f32| {
        let lo = ((w - box_reach) / delta_s + half - 0.5).ceil().max(0.0) as usize;
        let hi = ((w + box_reach) / delta_s + half - 0.5).floor();
        (
            lo,
            if hi < 0.0 {
                0
            } else {
                (hi as usize + 1).min(NS)
            },
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = avx512;
    let mut out = Vec::with_capacity(points.len());
    for (mi, m) in points.iter().enumerate() {
        let (sin, cos) = m.theta.sin_cos();
        neighbours.clear();
        reaches.clear();
        // Which points are neighbours (within R + 3σ_S, the root-free test of the same
        // distance), a word of bits at a time, then those points in order.
        close.clear();
        for (w, chunk) in points.chunks(64).enumerate() {
            let mut bits = 0u64;
            for (l, t) in chunk.iter().enumerate() {
                let (dx, dy) = (m.x - t.x, m.y - t.y);
                bits |= ((dx * dx + dy * dy <= neighbour_limit) as u64) << l;
            }
            if mi / 64 == w {
                bits &= !(1u64 << (mi % 64));
            }
            close.push(bits);
        }
        for (w, &bits) in close.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                let ti = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let t = &points[ti];
                let ck = directional(memo, angle_diff(m.theta, t.theta));
                neighbours.push((t.x, t.y, ck));
                let (dx, dy) = (t.x - m.x, t.y - m.y);
                let (ut, vt) = (cos * dx + sin * dy, cos * dy - sin * dx);
                #[cfg(target_arch = "x86_64")]
                let (eu, ev) = if avx512 {
                    // SAFETY: `avx512` says the CPU has AVX-512F.
                    unsafe { avx512::gaussians((&row_u, ut), (&col_v, vt), gs_norm) }
                } else {
                    gaussians((&row_u, ut), (&col_v, vt), gs_norm)
                };
                #[cfg(not(target_arch = "x86_64"))]
                let (eu, ev) = gaussians((&row_u, ut), (&col_v, vt), gs_norm);
                reaches.push(Reach {
                    tx: t.x,
                    ty: t.y,
                    rows: range(ut),
                    eu,
                    ev,
                    ck,
                });
            }
        }
        row_masks.clear();
        row_masks.extend(
            reaches
                .iter()
                .map(|nb| (1u32 << nb.rows.1) - (1u32 << nb.rows.0.min(nb.rows.1))),
        );
        // Padded to whole vectors of 16 (a padding neighbour reaches no row).
        row_masks.resize(row_masks.len().div_ceil(16) * 16, 0);
        let mut cyl = Cylinder {
            bits: [0; CELL_WORDS],
            mask: [0; MASK_WORDS],
            ones: 0,
            full: false,
            valid: false,
        };
        // Cell centres in template coordinates (the textbook loop's expression).
        let mut cx = [0f32; CELLS];
        let mut cy = [0f32; CELLS];
        for c in 0..CELLS {
            let (u, v) = (off_u[c], off_v[c]);
            cx[c] = m.x + cos * u - sin * v;
            cy[c] = m.y + sin * u + cos * v;
        }
        // Valid cells. Only the hull edges whose line passes within R of the minutia can
        // put a cell of its disc outside (the normals are unit vectors), so the test looks
        // at those alone — the same answers as testing every edge, and no test at all deep
        // inside the print.
        near_edges.clear();
        near_edges.extend(
            edges
                .iter()
                .filter(|e| e.nx * m.x + e.ny * m.y + e.c < CYL_RADIUS + 1.0),
        );
        let mut valid_cells = 0;
        #[cfg(target_arch = "x86_64")]
        let by_rows = avx512 && !near_edges.is_empty();
        #[cfg(not(target_arch = "x86_64"))]
        let by_rows = false;
        if by_rows {
            #[cfg(target_arch = "x86_64")]
            for row in 0..NS {
                let r = row * NS;
                // SAFETY: `avx512` says the CPU has AVX-512F; the loads read 16 cells.
                let near = unsafe {
                    use std::arch::x86_64::_mm512_loadu_ps;
                    let (x, y) = (
                        _mm512_loadu_ps(cx[r..r + NS].as_ptr()),
                        _mm512_loadu_ps(cy[r..r + NS].as_ptr()),
                    );
                    near16(&near_edges, x, y, HULL_OFFSET)
                };
                cyl.mask[row / 4] |= (near as u64) << ((row % 4) * NS);
            }
        } else {
            let mut near = [true; CELLS];
            if edges.is_empty() {
                near_hull_fast_many(hull, &edges, &cx, &cy, HULL_OFFSET, &mut near);
            } else if !near_edges.is_empty() {
                near_hull_fast_many(hull, &near_edges, &cx, &cy, HULL_OFFSET, &mut near);
            }
            for w in 0..MASK_WORDS {
                for l in 0..64 {
                    cyl.mask[w] |= (near[w * 64 + l] as u64) << l;
                }
            }
        }
        for (m, d) in cyl.mask.iter_mut().zip(&disc) {
            *m &= d;
            valid_cells += m.count_ones();
        }
        // Row by row: approximate sums, decided bits, exact sums for the undecided cells.
        for row in 0..NS {
            let (w, shift) = (row / 4, (row % 4) * NS);
            let valid = (cyl.mask[w] >> shift) as u16;
            if valid == 0 {
                continue;
            }
            // The neighbours that can reach the row, as a bit set.
            by_row.clear();
            #[cfg(target_arch = "x86_64")]
            if avx512 {
                // SAFETY: `avx512` says the CPU has AVX-512F.
                unsafe { avx512::row_bits(&row_masks, row, &mut by_row) };
            } else {
                row_bits(&row_masks, row, &mut by_row);
            }
            #[cfg(not(target_arch = "x86_64"))]
            row_bits(&row_masks, row, &mut by_row);
            let active = &by_row[..];
            let rx: &[f32; NS] = cx[row * NS..row * NS + NS].try_into().unwrap();
            let ry: &[f32; NS] = cy[row * NS..row * NS + NS].try_into().unwrap();
            #[cfg(target_arch = "x86_64")]
            let (set, maybe) = if avx512 {
                // SAFETY: `avx512` says the CPU has AVX-512F.
                unsafe { avx512::row_sums(rx, ry, row, &reaches, active, limit, (hi, lo)) }
            } else {
                row_sums(rx, ry, row, &reaches, active, limit, (hi, lo))
            };
            #[cfg(not(target_arch = "x86_64"))]
            let (set, maybe) = row_sums(rx, ry, row, &reaches, active, limit, (hi, lo));
            let mut undecided = 0u16;
            for k in 0..ND {
                undecided |= maybe[k] & !set[k];
            }
            undecided &= valid;
            let mut set = set.map(|s| s & valid);
            while undecided != 0 {
                let l = undecided.trailing_zeros() as usize;
                undecided &= undecided - 1;
                let c = row * NS + l;
                let exact = exact_sums(cx[c], cy[c], &neighbours, reach, gs_norm);
                for k in 0..ND {
                    if (maybe[k] >> l) & 1 == 1 && (set[k] >> l) & 1 == 0 && exact[k] > MU_PSI {
                        set[k] |= 1 << l;
                    }
                }
            }
            for (k, s) in set.iter().enumerate() {
                cyl.bits[k * MASK_WORDS + w] |= (*s as u64) << shift;
            }
        }
        cyl.valid = valid_cells >= min_cells && neighbours.len() >= MIN_NEIGHBOURS;
        cyl.ones = cyl.bits.iter().map(|w| w.count_ones()).sum();
        cyl.full = cyl.mask == disc;
        out.push(cyl);
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! [`super::row_sums`] with AVX-512: the 16 cells of a row are one vector, the N_D
    //! section sums of the row stay in registers.
    use std::arch::x86_64::*;

    use super::{Reach, ND, NS, SIGMA_S};

    /// [`super::row_bits`] with AVX-512F (`masks.len()` a multiple of 16): one test of 16
    /// neighbours' masks at a time.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn row_bits(masks: &[u32], row: usize, out: &mut Vec<u64>) {
        let bit = _mm512_set1_epi32(1 << row);
        for chunk in masks.chunks(64) {
            let mut bits = 0u64;
            for (q, v) in chunk.chunks_exact(16).enumerate() {
                // SAFETY: `v` holds 16 elements.
                let m = unsafe { _mm512_loadu_si512(v.as_ptr() as *const __m512i) };
                bits |= (_mm512_test_epi32_mask(m, bit) as u64) << (16 * q);
            }
            out.push(bits);
        }
    }

    /// [`super::exp_approx`] on 16 lanes (the same reduction and polynomial, with fused
    /// multiply-adds: the error bound holds all the same).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn exp_approx(x: __m512) -> __m512 {
        const LN2_HI: f32 = 0.693_145_75;
        const LN2_LO: f32 = 1.428_606_8e-6;
        let x = _mm512_max_ps(x, _mm512_set1_ps(-20.0));
        let t = _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E));
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(t);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
        let mut p = _mm512_set1_ps(1.0 / 720.0);
        for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
        }
        let e = _mm512_slli_epi32::<23>(_mm512_add_epi32(
            _mm512_cvtps_epi32(n),
            _mm512_set1_epi32(127),
        ));
        _mm512_mul_ps(p, _mm512_castsi512_ps(e))
    }

    /// [`super::gaussians`] with AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn gaussians(
        (u, ut): (&[f32; NS], f32),
        (v, vt): (&[f32; NS], f32),
        norm: f32,
    ) -> ([f32; NS], [f32; NS]) {
        let k = _mm512_set1_ps(-1.0 / (2.0 * SIGMA_S * SIGMA_S));
        let (mut eu, mut ev) = ([0f32; NS], [0f32; NS]);
        // SAFETY: every load and store covers a whole 16-element array.
        unsafe {
            let du = _mm512_sub_ps(_mm512_loadu_ps(u.as_ptr()), _mm512_set1_ps(ut));
            let dv = _mm512_sub_ps(_mm512_loadu_ps(v.as_ptr()), _mm512_set1_ps(vt));
            let gu = exp_approx(_mm512_mul_ps(_mm512_mul_ps(du, du), k));
            let gv = exp_approx(_mm512_mul_ps(_mm512_mul_ps(dv, dv), k));
            _mm512_storeu_ps(eu.as_mut_ptr(), gu);
            _mm512_storeu_ps(ev.as_mut_ptr(), _mm512_mul_ps(gv, _mm512_set1_ps(norm)));
        }
        (eu, ev)
    }

    /// [`super::row_sums`] with AVX-512F (fused multiply-adds: the sums stay within the
    /// error bound of [`super::DECIDE_MARGIN`]).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn row_sums(
        cx: &[f32; NS],
        cy: &[f32; NS],
        row: usize,
        reaches: &[Reach],
        active: &[u64],
        limit: f32,
        (hi, lo): (f32, f32),
    ) -> ([u16; ND], [u16; ND]) {
        // SAFETY: every load reads a whole 16-element array.
        unsafe {
            let x = _mm512_loadu_ps(cx.as_ptr());
            let y = _mm512_loadu_ps(cy.as_ptr());
            let lim = _mm512_set1_ps(limit);
            let mut acc = [_mm512_setzero_ps(); ND];
            for (w, &bits) in active.iter().enumerate() {
                let mut bits = bits;
                while bits != 0 {
                    let nb = &reaches[w * 64 + bits.trailing_zeros() as usize];
                    bits &= bits - 1;
                    let dx = _mm512_sub_ps(x, _mm512_set1_ps(nb.tx));
                    let dy = _mm512_sub_ps(y, _mm512_set1_ps(nb.ty));
                    // The squared distance exactly as the textbook loop computes it (no FMA).
                    let s = _mm512_add_ps(_mm512_mul_ps(dx, dx), _mm512_mul_ps(dy, dy));
                    let reached = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(s, lim);
                    let g = _mm512_maskz_mul_ps(
                        reached,
                        _mm512_set1_ps(nb.eu[row]),
                        _mm512_loadu_ps(nb.ev.as_ptr()),
                    );
                    for (a, &c) in acc.iter_mut().zip(&nb.ck) {
                        *a = _mm512_fmadd_ps(g, _mm512_set1_ps(c), *a);
                    }
                }
            }
            let (h, l) = (_mm512_set1_ps(hi), _mm512_set1_ps(lo));
            let (mut set, mut maybe) = ([0u16; ND], [0u16; ND]);
            for k in 0..ND {
                set[k] = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(acc[k], h);
                maybe[k] = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(acc[k], l);
            }
            (set, maybe)
        }
    }
}

/// The exact sums of one cell centred at (`px`, `py`): the textbook loop's terms, added in
/// neighbour order.
#[inline(never)]
fn exact_sums(
    px: f32,
    py: f32,
    neighbours: &[(f32, f32, [f32; ND])],
    reach: f32,
    gs_norm: f32,
) -> [f32; ND] {
    let mut sums = [0f32; ND];
    for (tx, ty, cdk) in neighbours {
        let d = dist(px, py, *tx, *ty);
        if d > reach {
            continue;
        }
        let gs = gs_norm * (-d * d / (2.0 * SIGMA_S * SIGMA_S)).exp();
        for (sum, ck) in sums.iter_mut().zip(cdk) {
            *sum += gs * ck;
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the cylinders of all minutiae of one template.
    /// `hull` is the convex hull of the minutiae (the foreground estimate).
    fn build_reference(points: &[Point], hull: &[(f32, f32)]) -> Vec<Cylinder> {
        let delta_s = 2.0 * CYL_RADIUS / NS as f32;
        let delta_d = 2.0 * PI / ND as f32;
        let reach = 3.0 * SIGMA_S;
        let gs_norm = 1.0 / (SIGMA_S * (2.0 * PI).sqrt());
        let min_cells = (MIN_VALID_CELLS * DISC_CELLS as f32).ceil() as u32;
        let disc = disc_mask();
        let edges = hull_edges(hull);
        // Directional contribution of a neighbour whose direction difference is `a` to section k.
        let cd = |alpha: f32| {
            let s = SIGMA_D * std::f32::consts::SQRT_2;
            0.5 * (erf((alpha + delta_d / 2.0) / s) - erf((alpha - delta_d / 2.0) / s))
        };
        points
            .iter()
            .enumerate()
            .map(|(mi, m)| {
                let (sin, cos) = m.theta.sin_cos();
                let neighbours: Vec<(f32, f32, f32)> = points
                    .iter()
                    .enumerate()
                    .filter(|&(ti, t)| ti != mi && dist(m.x, m.y, t.x, t.y) <= CYL_RADIUS + reach)
                    .map(|(_, t)| (t.x, t.y, angle_diff(m.theta, t.theta)))
                    .collect();
                let mut cyl = Cylinder {
                    bits: [0; CELL_WORDS],
                    mask: [0; MASK_WORDS],
                    ones: 0,
                    full: false,
                    valid: false,
                };
                let mut valid_cells = 0;
                for i in 0..NS {
                    for j in 0..NS {
                        let (u, v) = cell_offset(i, j, delta_s);
                        if u * u + v * v > CYL_RADIUS * CYL_RADIUS {
                            continue;
                        }
                        let (px, py) = (m.x + cos * u - sin * v, m.y + sin * u + cos * v);
                        if !near_hull_fast(hull, &edges, (px, py), HULL_OFFSET) {
                            continue;
                        }
                        let c = i * NS + j;
                        cyl.mask[c / 64] |= 1 << (c % 64);
                        valid_cells += 1;
                        let mut sums = [0f32; ND];
                        for &(tx, ty, dtheta) in &neighbours {
                            let d = dist(px, py, tx, ty);
                            if d > reach {
                                continue;
                            }
                            let gs = gs_norm * (-d * d / (2.0 * SIGMA_S * SIGMA_S)).exp();
                            for (k, sum) in sums.iter_mut().enumerate() {
                                let dphi_k = -PI + (k as f32 + 0.5) * delta_d;
                                *sum += gs * cd(angle_diff(dphi_k, dtheta));
                            }
                        }
                        for (k, sum) in sums.iter().enumerate() {
                            if *sum > MU_PSI {
                                let b = k * NS * NS + c;
                                cyl.bits[b / 64] |= 1 << (b % 64);
                            }
                        }
                    }
                }
                cyl.valid = valid_cells >= min_cells && neighbours.len() >= MIN_NEIGHBOURS;
                cyl.ones = cyl.bits.iter().map(|w| w.count_ones()).sum();
                cyl.full = cyl.mask == disc;
                cyl
            })
            .collect()
    }

    /// Deterministic pseudo-random templates (no extra dependency).
    fn random_points(seed: u64, n: usize) -> Vec<Point> {
        let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut next = move || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 40) as f32 / (1u64 << 24) as f32
        };
        (0..n)
            .map(|_| Point {
                x: 40.0 + 320.0 * next(),
                y: 40.0 + 400.0 * next(),
                theta: 2.0 * PI * next() * 0.999_999,
            })
            .collect()
    }

    #[test]
    fn exp_approx_is_within_its_stated_error() {
        let mut worst = 0f64;
        let mut x = -20.0f32;
        while x <= 0.0 {
            let e = (x as f64).exp();
            worst = worst.max(((exp_approx(x) as f64 - e) / e).abs());
            x = f32::from_bits(x.to_bits() - 977).min(x + 1e-4);
            if x > -1e-30 {
                break;
            }
        }
        assert_eq!(exp_approx(0.0), 1.0);
        assert!(worst < 1e-6, "{worst}");
    }

    // The AVX-512 exponential is checked through the builds it serves: with AVX-512 present,
    // `build` takes that path, and `matches_reference_bit_for_bit` compares it with the
    // textbook loop. (A direct lane-by-lane test of it made LLVM 22's loop vectorizer crash
    // in the test build.)

    #[test]
    fn dense_prints_with_iso_directions_match_reference_bit_for_bit() {
        use crate::finger::geometry::convex_hull;
        for seed in 100..160u64 {
            let mut pts = random_points(seed, 20 + (seed as usize * 13) % 120);
            for p in &mut pts {
                // Directions of ISO records (256 steps), positions on the 1/4 px grid, packed
                // into a small area so that cylinders have many neighbours.
                let q = (p.theta / (2.0 * PI) * 256.0) as u16 as f32;
                p.theta = (q * 256.0) * (2.0 * PI / 65536.0);
                p.x = ((p.x * 0.5 + 50.0) * 4.0).round() / 4.0;
                p.y = ((p.y * 0.5 + 30.0) * 4.0).round() / 4.0;
            }
            let hull = convex_hull(&pts.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
            assert_eq!(
                build(&pts, &hull),
                build_reference(&pts, &hull),
                "seed {seed}"
            );
        }
    }

    #[test]
    fn portable_build_matches_reference_bit_for_bit() {
        use crate::finger::geometry::convex_hull;
        for seed in 200..230u64 {
            let pts = random_points(seed, 5 + (seed as usize * 11) % 90);
            let hull = convex_hull(&pts.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
            let reference = build_reference(&pts, &hull);
            let mut memo = DirectionalMemo::new();
            assert_eq!(
                build_body(&pts, &hull, false, &mut memo),
                reference,
                "seed {seed}"
            );
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                let avx2 = unsafe { build_avx2(&pts, &hull, &mut memo) };
                assert_eq!(avx2, reference, "seed {seed}");
            }
        }
    }

    /// Prints far from the origin, up to the stored form's ±8192 px, where the rounding of
    /// the cell centres is largest (see [`DECIDE_MARGIN`]).
    #[test]
    fn far_from_the_origin_matches_reference_bit_for_bit() {
        use crate::finger::geometry::convex_hull;
        for seed in 300..330u64 {
            let mut pts = random_points(seed, 10 + (seed as usize * 13) % 80);
            let (ox, oy) = if seed % 2 == 0 {
                (7700.0, -8150.0)
            } else {
                (-8150.0, 7650.0)
            };
            for p in &mut pts {
                p.x = ((p.x + ox) * 4.0).round() / 4.0;
                p.y = ((p.y + oy) * 4.0).round() / 4.0;
            }
            let hull = convex_hull(&pts.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
            let reference = build_reference(&pts, &hull);
            assert_eq!(build(&pts, &hull), reference, "seed {seed}");
            let mut memo = DirectionalMemo::new();
            assert_eq!(
                build_body(&pts, &hull, false, &mut memo),
                reference,
                "seed {seed}"
            );
        }
    }

    /// More points than one 64-bit word of neighbour bits holds, spread wide.
    #[test]
    fn many_points_match_reference_bit_for_bit() {
        use crate::finger::geometry::convex_hull;
        let mut pts = random_points(7, 270);
        for p in &mut pts {
            p.x = (p.x * 4.0 * 4.0).round() / 4.0;
            p.y = (p.y * 3.0 * 4.0).round() / 4.0;
        }
        let hull = convex_hull(&pts.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
        assert_eq!(build(&pts, &hull), build_reference(&pts, &hull));
    }

    #[test]
    fn reach_limit_is_the_largest_square_within_reach() {
        let reach = 3.0 * SIGMA_S;
        let s = reach_limit(reach);
        assert!(s.sqrt() <= reach);
        assert!(f32::from_bits(s.to_bits() + 1).sqrt() > reach);
    }

    #[test]
    fn matches_reference_bit_for_bit() {
        use crate::finger::geometry::convex_hull;
        for seed in 0..40u64 {
            let pts = random_points(seed, 5 + (seed as usize * 7) % 70);
            let hull = convex_hull(&pts.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
            assert_eq!(
                build(&pts, &hull),
                build_reference(&pts, &hull),
                "seed {seed}"
            );
        }
    }
}
