//! Minutia Cylinder-Code descriptors, bit-wise variant: for each minutia a cylinder of
//! N_S × N_S × N_D cells around it, aligned to its direction, whose bits say "a neighbour with
//! this relative direction sits here". Cells outside the disc of radius R or outside the
//! (enlarged) fingerprint area are invalid and take no part in comparisons.
//!
//! Built once per template in [`super::prepare`]; the matcher then only runs popcounts.

use std::f32::consts::PI;

use super::geometry::{angle_diff, dist, erf, hull_edges, near_hull_fast, Point};
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
/// Computes exactly the same floating-point sums, in the same order, as the textbook loop
/// (kept as `build_reference` in the tests), but hoists everything that does not depend on the
/// cell out of the cell loop: a neighbour's directional contributions to the N_D sections
/// depend only on its direction difference, so they are computed once per neighbour rather
/// than once per (cell, neighbour); and neighbours farther than 3σ_S from a cell are rejected
/// on the squared distance before the square root and the exponential.
pub fn build(points: &[Point], hull: &[(f32, f32)]) -> Vec<Cylinder> {
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
    // The in-disc cells and their offsets, the same for every cylinder.
    let cells: Vec<(usize, f32, f32)> = (0..NS)
        .flat_map(|i| (0..NS).map(move |j| (i, j)))
        .filter_map(|(i, j)| {
            let (u, v) = cell_offset(i, j, delta_s);
            (u * u + v * v <= CYL_RADIUS * CYL_RADIUS).then_some((i * NS + j, u, v))
        })
        .collect();
    // Per neighbour: position and its directional contribution to each section.
    let mut neighbours: Vec<(f32, f32, [f32; ND])> = Vec::with_capacity(points.len());
    let mut near_edges: Vec<super::geometry::Edge> = Vec::with_capacity(edges.len());
    points
        .iter()
        .enumerate()
        .map(|(mi, m)| {
            let (sin, cos) = m.theta.sin_cos();
            neighbours.clear();
            neighbours.extend(
                points
                    .iter()
                    .enumerate()
                    .filter(|&(ti, t)| ti != mi && dist(m.x, m.y, t.x, t.y) <= CYL_RADIUS + reach)
                    .map(|(_, t)| {
                        let dtheta = angle_diff(m.theta, t.theta);
                        let mut c = [0f32; ND];
                        for (k, ck) in c.iter_mut().enumerate() {
                            let dphi_k = -PI + (k as f32 + 0.5) * delta_d;
                            *ck = cd(angle_diff(dphi_k, dtheta));
                        }
                        (t.x, t.y, c)
                    }),
            );
            let mut cyl = Cylinder {
                bits: [0; CELL_WORDS],
                mask: [0; MASK_WORDS],
                ones: 0,
                full: false,
                valid: false,
            };
            // Valid cells and their centres in template coordinates. Only the hull edges
            // whose line passes within R of the minutia can put a cell of its disc outside
            // (the normals are unit vectors), so the test looks at those alone — the same
            // answers as testing every edge, and no test at all deep inside the print.
            near_edges.clear();
            near_edges.extend(
                edges
                    .iter()
                    .filter(|e| e.nx * m.x + e.ny * m.y + e.c < CYL_RADIUS + 1.0),
            );
            let mut valid_cells = 0;
            let mut centre = [(0f32, 0f32); NS * NS];
            for &(c, u, v) in &cells {
                let (px, py) = (m.x + cos * u - sin * v, m.y + sin * u + cos * v);
                let valid = if edges.is_empty() {
                    near_hull_fast(hull, &edges, (px, py), HULL_OFFSET)
                } else {
                    near_edges.is_empty()
                        || near_hull_fast(hull, &near_edges, (px, py), HULL_OFFSET)
                };
                if valid {
                    cyl.mask[c / 64] |= 1 << (c % 64);
                    valid_cells += 1;
                    centre[c] = (px, py);
                }
            }
            // Neighbour-major accumulation: each neighbour visits only the cells of the box
            // around it (in the minutia's frame) that can lie within 3σ_S; per cell the sums
            // still add the neighbours in the same order as a cell-major loop.
            let mut sums = [[0f32; ND]; NS * NS];
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
            for (tx, ty, cdk) in &neighbours {
                let (dx, dy) = (tx - m.x, ty - m.y);
                let (ut, vt) = (cos * dx + sin * dy, -sin * dx + cos * dy);
                let (i0, i1) = range(ut);
                let (j0, j1) = range(vt);
                for i in i0..i1 {
                    for j in j0..j1 {
                        let c = i * NS + j;
                        if cyl.mask[c / 64] & (1 << (c % 64)) == 0 {
                            continue;
                        }
                        let (px, py) = centre[c];
                        let d = dist(px, py, *tx, *ty);
                        if d > reach {
                            continue;
                        }
                        let gs = gs_norm * (-d * d / (2.0 * SIGMA_S * SIGMA_S)).exp();
                        for (sum, ck) in sums[c].iter_mut().zip(cdk) {
                            *sum += gs * ck;
                        }
                    }
                }
            }
            for &(c, _, _) in &cells {
                for (k, sum) in sums[c].iter().enumerate() {
                    if *sum > MU_PSI {
                        let b = k * NS * NS + c;
                        cyl.bits[b / 64] |= 1 << (b % 64);
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
