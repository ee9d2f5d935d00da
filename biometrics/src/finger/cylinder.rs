//! Minutia Cylinder-Code descriptors, bit-wise variant: for each minutia a cylinder of
//! N_S × N_S × N_D cells around it, aligned to its direction, whose bits say "a neighbour with
//! this relative direction sits here". Cells outside the disc of radius R or outside the
//! (enlarged) fingerprint area are invalid and take no part in comparisons.
//!
//! Built once per template in [`super::prepare`]; the matcher then only runs popcounts.

use std::f32::consts::PI;

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
/// `hull` is the convex hull of the minutiae (the foreground estimate).
///
/// The cell bits are exactly those of the textbook loop (kept as `build_reference` in the
/// tests: a bit is set when the cell's sum of neighbour contributions, added in neighbour
/// order in `f32`, exceeds μ_Ψ), but the sums are only ever compared with μ_Ψ, so most of
/// them need not be exact:
///
/// - a first pass adds the contributions of the 16 cells of a cylinder row at once (one SIMD
///   vector), with a polynomial exponential of relative error below 10⁻⁶ instead of libm's
///   (the distance test `d ≤ 3σ_S` that decides which neighbours reach a cell is computed
///   exactly as in the textbook loop);
/// - a sum more than [`DECIDE_MARGIN`] (relative) away from μ_Ψ decides its bit: the
///   approximate and the exact sums of the same non-negative terms differ by far less
///   (see [`DECIDE_MARGIN`]);
/// - the few cells with a sum inside the margin are recomputed exactly, term by term in the
///   textbook order, and decided on that.
///
/// A neighbour's directional contributions to the N_D sections depend only on its direction
/// difference, so they are computed once per distinct difference ([`directional`]).
pub fn build(points: &[Point], hull: &[(f32, f32)]) -> Vec<Cylinder> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the feature the function is compiled for.
            return unsafe { build_avx512(points, hull) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has the feature the function is compiled for.
            return unsafe { build_avx2(points, hull) };
        }
    }
    build_body(points, hull, false)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
unsafe fn build_avx512(points: &[Point], hull: &[(f32, f32)]) -> Vec<Cylinder> {
    build_body(points, hull, true)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn build_avx2(points: &[Point], hull: &[(f32, f32)]) -> Vec<Cylinder> {
    build_body(points, hull, false)
}

/// Relative margin around μ_Ψ within which an approximate cell sum does not decide its bit.
///
/// Both sums add the same non-negative terms in the same order; they differ only in the
/// exponential (≤ 10⁻⁶ relative here, ≤ 1 ulp in libm) and in rounding (each term 3 roundings,
/// each sum at most n roundings for n ≤ 255 neighbours: γ_n ≤ 1.6·10⁻⁵ relative to the sum of
/// the terms). So |approximate − exact| ≤ 5·10⁻⁵ of the sum, 20× below this margin.
pub const DECIDE_MARGIN: f32 = 1e-3;

/// e^x for x in [−20, 0] with relative error below 10⁻⁶ (range reduction to
/// |r| ≤ ln 2 / 2, degree-6 Taylor polynomial, exponent by bit construction); plain `f32`
/// operations, so a loop of it vectorises.
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

/// The directional contributions to the N_D sections of a neighbour whose direction
/// differs by `dtheta` (radians, from [`angle_diff`]): twelve `erf`s, so they are memoised
/// per thread by the exact bits of `dtheta` (templates from ISO records have 256 directions,
/// so a few hundred distinct differences occur). Values are exactly those computed inline.
fn directional(dtheta: f32) -> [f32; ND] {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<u32, [f32; ND], BitsHasher>> =
            RefCell::new(HashMap::default());
    }
    let compute = || {
        let delta_d = 2.0 * PI / ND as f32;
        let s = SIGMA_D * std::f32::consts::SQRT_2;
        let cd = |alpha: f32| {
            0.5 * (erf((alpha + delta_d / 2.0) / s) - erf((alpha - delta_d / 2.0) / s))
        };
        let mut c = [0f32; ND];
        for (k, ck) in c.iter_mut().enumerate() {
            let dphi_k = -PI + (k as f32 + 0.5) * delta_d;
            *ck = cd(angle_diff(dphi_k, dtheta));
        }
        c
    };
    CACHE.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return compute();
        };
        if cache.len() > 1 << 16 {
            // Arbitrary float directions (not from ISO records): keep the memory bounded.
            cache.clear();
        }
        *cache.entry(dtheta.to_bits()).or_insert_with(compute)
    })
}

/// Hasher of the `f32` bit patterns keying [`directional`]'s memo (one multiply).
#[derive(Default, Clone, Copy)]
struct BitsHasher(u64);

impl std::hash::BuildHasher for BitsHasher {
    type Hasher = BitsHasher;
    fn build_hasher(&self) -> BitsHasher {
        BitsHasher(0)
    }
}

impl std::hash::Hasher for BitsHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = (v as u64 ^ 0x5555_5555).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Cells of the N_S × N_S grid.
const CELLS: usize = NS * NS;

#[inline(always)]
/// The cylinder build; `avx512` says the CPU has AVX-512F (rows of cells as one vector),
/// otherwise the portable row loop runs.
fn build_body(points: &[Point], hull: &[(f32, f32)], avx512: bool) -> Vec<Cylinder> {
    let delta_s = 2.0 * CYL_RADIUS / NS as f32;
    let reach = 3.0 * SIGMA_S;
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
    // Per neighbour: position and its directional contribution to each section.
    let mut neighbours: Vec<(f32, f32, [f32; ND])> = Vec::with_capacity(points.len());
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
        for (ti, t) in points.iter().enumerate() {
            if ti != mi && dist(m.x, m.y, t.x, t.y) <= CYL_RADIUS + reach {
                neighbours.push((t.x, t.y, directional(angle_diff(m.theta, t.theta))));
            }
        }
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
        let mut weight = [0f32; CELLS];
        let mut near = [true; CELLS];
        if edges.is_empty() {
            near_hull_fast_many(hull, &edges, &cx, &cy, HULL_OFFSET, &mut near);
        } else if !near_edges.is_empty() {
            near_hull_fast_many(hull, &near_edges, &cx, &cy, HULL_OFFSET, &mut near);
        }
        for w in 0..MASK_WORDS {
            let mut word = 0u64;
            for l in 0..64 {
                word |= (near[w * 64 + l] as u64) << l;
            }
            word &= disc[w];
            cyl.mask[w] = word;
            valid_cells += word.count_ones();
            for l in 0..64 {
                weight[w * 64 + l] = ((word >> l) & 1) as f32;
            }
        }
        // Approximate sums, a row of N_S cells at a time, over the rows each neighbour
        // can reach (the box around it in the minutia's frame).
        let mut sums = [[0f32; CELLS]; ND];
        for (tx, ty, cdk) in &neighbours {
            let (dx, dy) = (tx - m.x, ty - m.y);
            let ut = cos * dx + sin * dy;
            let (i0, i1) = range(ut);
            for i in i0..i1 {
                #[cfg(target_arch = "x86_64")]
                if avx512 {
                    // SAFETY: `avx512` says the CPU has AVX-512F.
                    unsafe {
                        avx512::add_row(&mut sums, i * NS, &cx, &cy, &weight, (*tx, *ty), cdk)
                    };
                    continue;
                }
                add_row(&mut sums, i * NS, &cx, &cy, &weight, (*tx, *ty), cdk);
            }
        }
        // Decide the bits; recompute exactly the cells with a sum too close to μ_Ψ.
        let mut exact: [Option<[f32; ND]>; 4] = [None; 4];
        let mut exact_cells = [usize::MAX; 4];
        for (k, sum) in sums.iter().enumerate() {
            for w in 0..MASK_WORDS {
                let s: &[f32; 64] = sum[w * 64..w * 64 + 64].try_into().unwrap();
                #[cfg(target_arch = "x86_64")]
                let (mut set, mut undecided) = if avx512 {
                    // SAFETY: `avx512` says the CPU has AVX-512F.
                    unsafe { avx512::above(s, hi, lo) }
                } else {
                    above(s, hi, lo)
                };
                #[cfg(not(target_arch = "x86_64"))]
                let (mut set, mut undecided) = above(s, hi, lo);
                set &= cyl.mask[w];
                undecided &= cyl.mask[w] & !set;
                while undecided != 0 {
                    let c = w * 64 + undecided.trailing_zeros() as usize;
                    undecided &= undecided - 1;
                    // A cell is recomputed once for all its sections (a small cache:
                    // undecided cells are rare).
                    let slot = c % 4;
                    if exact_cells[slot] != c {
                        exact_cells[slot] = c;
                        exact[slot] = Some(exact_sums(cx[c], cy[c], &neighbours, reach, gs_norm));
                    }
                    if exact[slot].is_some_and(|e| e[k] > MU_PSI) {
                        set |= 1 << (c % 64);
                    }
                }
                cyl.bits[k * MASK_WORDS + w] = set;
            }
        }
        cyl.valid = valid_cells >= min_cells && neighbours.len() >= MIN_NEIGHBOURS;
        cyl.ones = cyl.bits.iter().map(|w| w.count_ones()).sum();
        cyl.full = cyl.mask == disc;
        out.push(cyl);
    }
    out
}

/// Bit masks of the 64 sums above `hi` and at or above `lo`.
#[inline(always)]
fn above(s: &[f32; 64], hi: f32, lo: f32) -> (u64, u64) {
    let (mut set, mut undecided) = (0u64, 0u64);
    for (l, &v) in s.iter().enumerate() {
        set |= ((v > hi) as u64) << l;
        undecided |= ((v >= lo) as u64) << l;
    }
    (set, undecided)
}

/// Adds one neighbour's approximate contributions to the N_S cells of the row starting at
/// cell `row` (zero where the cell is invalid or farther than 3σ_S).
#[inline(always)]
fn add_row(
    sums: &mut [[f32; CELLS]; ND],
    row: usize,
    cx: &[f32; CELLS],
    cy: &[f32; CELLS],
    weight: &[f32; CELLS],
    (tx, ty): (f32, f32),
    cdk: &[f32; ND],
) {
    let reach = 3.0 * SIGMA_S;
    let gs_norm = 1.0 / (SIGMA_S * (2.0 * PI).sqrt());
    let cx: &[f32; NS] = cx[row..row + NS].try_into().unwrap();
    let cy: &[f32; NS] = cy[row..row + NS].try_into().unwrap();
    let w: &[f32; NS] = weight[row..row + NS].try_into().unwrap();
    let mut g = [0f32; NS];
    for l in 0..NS {
        let d = dist(cx[l], cy[l], tx, ty);
        let e = gs_norm * exp_approx(-d * d / (2.0 * SIGMA_S * SIGMA_S));
        g[l] = if d <= reach { e * w[l] } else { 0.0 };
    }
    for (sum, ck) in sums.iter_mut().zip(cdk) {
        let s: &mut [f32; NS] = (&mut sum[row..row + NS]).try_into().unwrap();
        for l in 0..NS {
            s[l] += g[l] * ck;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! [`super::add_row`] with AVX-512: the 16 cells of a row are one vector.
    use std::arch::x86_64::*;

    use super::{CELLS, ND, NS, PI, SIGMA_S};

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

    /// [`super::above`] with AVX-512F: four 16-lane compares per mask.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn above(s: &[f32; 64], hi: f32, lo: f32) -> (u64, u64) {
        let (h, l) = (_mm512_set1_ps(hi), _mm512_set1_ps(lo));
        let (mut set, mut undecided) = (0u64, 0u64);
        for q in 0..4 {
            // SAFETY: lanes 16q..16q+16 lie inside the 64-element array.
            let v = unsafe { _mm512_loadu_ps(s.as_ptr().add(16 * q)) };
            set |= (_mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, h) as u64) << (16 * q);
            undecided |= (_mm512_cmp_ps_mask::<_CMP_GE_OQ>(v, l) as u64) << (16 * q);
        }
        (set, undecided)
    }

    /// [`super::add_row`] with AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn add_row(
        sums: &mut [[f32; CELLS]; ND],
        row: usize,
        cx: &[f32; CELLS],
        cy: &[f32; CELLS],
        weight: &[f32; CELLS],
        (tx, ty): (f32, f32),
        cdk: &[f32; ND],
    ) {
        let reach = 3.0 * SIGMA_S;
        let gs_norm = 1.0 / (SIGMA_S * (2.0 * PI).sqrt());
        let row = row.min(CELLS - NS);
        // SAFETY: `row + NS ≤ CELLS`, so every load and store stays inside its array.
        unsafe {
            let dx = _mm512_sub_ps(_mm512_loadu_ps(cx.as_ptr().add(row)), _mm512_set1_ps(tx));
            let dy = _mm512_sub_ps(_mm512_loadu_ps(cy.as_ptr().add(row)), _mm512_set1_ps(ty));
            // The distance exactly as `dist` computes it: it decides which cells are reached.
            let d = _mm512_sqrt_ps(_mm512_add_ps(_mm512_mul_ps(dx, dx), _mm512_mul_ps(dy, dy)));
            let reached = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(d, _mm512_set1_ps(reach));
            let x = _mm512_mul_ps(
                _mm512_mul_ps(d, d),
                _mm512_set1_ps(-1.0 / (2.0 * SIGMA_S * SIGMA_S)),
            );
            let g = _mm512_mul_ps(
                _mm512_mul_ps(exp_approx(x), _mm512_set1_ps(gs_norm)),
                _mm512_loadu_ps(weight.as_ptr().add(row)),
            );
            let g = _mm512_maskz_mov_ps(reached, g);
            for (sum, &ck) in sums.iter_mut().zip(cdk) {
                let p = sum.as_mut_ptr().add(row);
                _mm512_storeu_ps(
                    p,
                    _mm512_fmadd_ps(g, _mm512_set1_ps(ck), _mm512_loadu_ps(p)),
                );
            }
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
            assert_eq!(build_body(&pts, &hull, false), reference, "seed {seed}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                assert_eq!(unsafe { build_avx2(&pts, &hull) }, reference, "seed {seed}");
            }
        }
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
