//! Geometry shared by descriptor building and matching: normalised minutiae, angle arithmetic
//! and the enlarged convex hull that approximates the fingerprint foreground.

use std::f32::consts::PI;

/// A minutia in the normalised frame: 500 dpi pixels, y axis pointing up, direction in
/// radians counter-clockwise from the x axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// x in 500 dpi pixels.
    pub x: f32,
    /// y in 500 dpi pixels (up).
    pub y: f32,
    /// Direction in radians, [0, 2π).
    pub theta: f32,
}

/// Difference of two angles, normalised to [-π, π).
#[inline]
pub fn angle_diff(a: f32, b: f32) -> f32 {
    let d = a - b;
    let d = d - (2.0 * PI) * ((d + PI) / (2.0 * PI)).floor();
    if d >= PI {
        d - 2.0 * PI
    } else {
        d
    }
}

/// Euclidean distance of two points.
#[inline]
pub fn dist(ax: f32, ay: f32, bx: f32, by: f32) -> f32 {
    ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt()
}

/// Convex hull of the points (counter-clockwise, no repeated first vertex), by the monotone
/// chain method.
pub fn convex_hull(points: &[(f32, f32)]) -> Vec<(f32, f32)> {
    let mut p: Vec<(f32, f32)> = points.to_vec();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f32, f32)> = Vec::with_capacity(2 * p.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f32, f32)>> = if pass == 0 {
            Box::new(p.iter())
        } else {
            Box::new(p.iter().rev())
        };
        for &q in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0
            {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull
}

/// Area of the convex hull of `points` (reordered in place), using `buf` as working memory
/// (no allocation once `buf` has grown); 0 for fewer than three points or collinear ones.
pub fn hull_area(points: &mut [(f32, f32)], buf: &mut Vec<(f32, f32)>) -> f32 {
    if points.len() < 3 {
        return 0.0;
    }
    points.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    buf.clear();
    // Lower then upper chain (Andrew's monotone chain).
    for pass in 0..2 {
        let start = buf.len();
        for k in 0..points.len() {
            let q = if pass == 0 {
                points[k]
            } else {
                points[points.len() - 1 - k]
            };
            while buf.len() >= start + 2 && cross(buf[buf.len() - 2], buf[buf.len() - 1], q) <= 0.0
            {
                buf.pop();
            }
            buf.push(q);
        }
        buf.pop();
    }
    let n = buf.len();
    let mut twice = 0.0;
    for i in 0..n {
        let (p, q) = (buf[i], buf[(i + 1) % n]);
        twice += p.0 * q.1 - p.1 * q.0;
    }
    (twice / 2.0).abs()
}

/// Whether `q` lies inside the convex `hull` or within `offset` of its boundary.
pub fn near_hull(hull: &[(f32, f32)], q: (f32, f32), offset: f32) -> bool {
    let n = hull.len();
    if n == 0 {
        return false;
    }
    if n >= 3 {
        let inside = (0..n).all(|i| {
            let (a, b) = (hull[i], hull[(i + 1) % n]);
            (b.0 - a.0) * (q.1 - a.1) - (b.1 - a.1) * (q.0 - a.0) >= 0.0
        });
        if inside {
            return true;
        }
    }
    let off2 = offset * offset;
    (0..n).any(|i| {
        let (a, b) = (hull[i], hull[(i + 1) % n]);
        segment_dist2(a, b, q) <= off2
    })
}

/// An edge of a counter-clockwise convex hull as a line with unit inward normal `(nx, ny)`:
/// `nx·x + ny·y + c` is the signed distance of a point from the edge's line (≥ 0 inside).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    /// x of the unit inward normal.
    pub nx: f32,
    /// y of the unit inward normal.
    pub ny: f32,
    /// Offset of the line.
    pub c: f32,
    /// The edge's first vertex.
    pub a: (f32, f32),
    /// The edge's second vertex.
    pub b: (f32, f32),
}

/// The edges of a counter-clockwise convex hull as lines (empty for fewer than 3 vertices).
pub fn hull_edges(hull: &[(f32, f32)]) -> Vec<Edge> {
    let n = hull.len();
    if n < 3 {
        return Vec::new();
    }
    (0..n)
        .map(|i| {
            let (a, b) = (hull[i], hull[(i + 1) % n]);
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len = (dx * dx + dy * dy).sqrt().max(f32::MIN_POSITIVE);
            let (nx, ny) = (-dy / len, dx / len);
            Edge {
                nx,
                ny,
                c: -(nx * a.0 + ny * a.1),
                a,
                b,
            }
        })
        .collect()
}

/// [`near_hull`] with the hull's edge lines precomputed ([`hull_edges`]): inside every line →
/// inside; more than `offset` outside one line → too far; only in between are the exact
/// distances computed, to the segments of the edges whose lines `q` is outside of. `edges`
/// may leave out edges whose lines `q` lies inside of (a caller's subset near the point).
#[inline]
pub fn near_hull_fast(hull: &[(f32, f32)], edges: &[Edge], q: (f32, f32), offset: f32) -> bool {
    if edges.is_empty() {
        return near_hull(hull, q, offset);
    }
    let mut min = f32::INFINITY;
    for e in edges {
        min = min.min(e.nx * q.0 + e.ny * q.1 + e.c);
    }
    if min >= 0.0 {
        return true;
    }
    if min < -offset {
        return false;
    }
    // Outside a convex polygon, the nearest boundary point lies on an edge whose line the
    // point is outside of (at a vertex, on at least one of its two edges), so only those
    // edges are measured — usually one or two of the hull's dozen or more.
    near_outside(edges, q, offset)
}

/// The part of [`near_hull_fast`] for a point outside the hull by at most `offset` in every
/// edge line's signed distance: whether it lies within `offset` of an edge segment.
#[inline(never)]
fn near_outside(edges: &[Edge], q: (f32, f32), offset: f32) -> bool {
    let off2 = offset * offset;
    edges
        .iter()
        .filter(|e| e.nx * q.0 + e.ny * q.1 + e.c < 0.0)
        .any(|e| segment_dist2(e.a, e.b, q) <= off2)
}

/// [`near_hull_fast`] for many points (`xs[k]`, `ys[k]`) at once, with exactly its answers
/// (`out[k]`): the smallest signed edge-line distance of 16 points at a time is a vector
/// loop, and only the points it leaves undecided take the exact segment test.
#[inline(always)]
pub fn near_hull_fast_many(
    hull: &[(f32, f32)],
    edges: &[Edge],
    xs: &[f32],
    ys: &[f32],
    offset: f32,
    out: &mut [bool],
) {
    if edges.is_empty() {
        for ((o, &x), &y) in out.iter_mut().zip(xs).zip(ys) {
            *o = near_hull(hull, (x, y), offset);
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::avx512f() {
        // SAFETY: the CPU has the feature the function is compiled for.
        unsafe { avx512::near_many(edges, xs, ys, offset, out) };
        return;
    }
    near_many_portable(edges, xs, ys, offset, out);
}

/// [`near_hull_fast_many`] for a non-empty `edges` without AVX-512.
#[inline(always)]
fn near_many_portable(edges: &[Edge], xs: &[f32], ys: &[f32], offset: f32, out: &mut [bool]) {
    const L: usize = 16;
    let n = xs.len().min(ys.len()).min(out.len());
    let mut k = 0;
    while k < n {
        let m = (n - k).min(L);
        // Full vectors: the lanes past `m` repeat the first point and are not written.
        let mut x = [xs[k]; L];
        let mut y = [ys[k]; L];
        x[..m].copy_from_slice(&xs[k..k + m]);
        y[..m].copy_from_slice(&ys[k..k + m]);
        let mut min = [f32::INFINITY; L];
        for e in edges {
            for l in 0..L {
                min[l] = min[l].min(e.nx * x[l] + e.ny * y[l] + e.c);
            }
        }
        let mut undecided = false;
        for l in 0..m {
            out[k + l] = min[l] >= 0.0;
            undecided |= min[l] < 0.0 && min[l] >= -offset;
        }
        if undecided {
            // [`near_outside`] on all lanes at once.
            let off2 = offset * offset;
            let mut hit = [false; L];
            for e in edges {
                let mut outside = [false; L];
                let mut any = false;
                for l in 0..L {
                    outside[l] = e.nx * x[l] + e.ny * y[l] + e.c < 0.0;
                    any |= outside[l];
                }
                // Points close together (a row of cells) are outside only one or two lines.
                if !any {
                    continue;
                }
                for l in 0..L {
                    hit[l] |= outside[l] & (segment_dist2(e.a, e.b, (x[l], y[l])) <= off2);
                }
            }
            for l in 0..m {
                if min[l] < 0.0 && min[l] >= -offset {
                    out[k + l] = hit[l];
                }
            }
        }
        k += m;
    }
}

#[cfg(target_arch = "x86_64")]
pub mod avx512 {
    //! [`super::near_hull_fast`] for 16 points at once with AVX-512F, as a bit mask: the
    //! same expressions lane by lane (no fused multiply-adds), so the same answers.
    use std::arch::x86_64::*;

    use super::Edge;

    /// Signed distances of the 16 points from the edge's line, as [`super::near_hull_fast`]
    /// computes them: `nx·x + ny·y + c`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn line(e: &Edge, x: __m512, y: __m512) -> __m512 {
        _mm512_add_ps(
            _mm512_add_ps(
                _mm512_mul_ps(_mm512_set1_ps(e.nx), x),
                _mm512_mul_ps(_mm512_set1_ps(e.ny), y),
            ),
            _mm512_set1_ps(e.c),
        )
    }

    /// [`super::segment_dist2`] on 16 points.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn segment_dist2(a: (f32, f32), b: (f32, f32), x: __m512, y: __m512) -> __m512 {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        let (vdx, vdy) = (_mm512_set1_ps(dx), _mm512_set1_ps(dy));
        let qa0 = _mm512_sub_ps(x, _mm512_set1_ps(a.0));
        let qa1 = _mm512_sub_ps(y, _mm512_set1_ps(a.1));
        let t = if len2 > 0.0 {
            let num = _mm512_add_ps(_mm512_mul_ps(qa0, vdx), _mm512_mul_ps(qa1, vdy));
            let t = _mm512_div_ps(num, _mm512_set1_ps(len2));
            _mm512_min_ps(_mm512_max_ps(t, _mm512_setzero_ps()), _mm512_set1_ps(1.0))
        } else {
            _mm512_setzero_ps()
        };
        let px = _mm512_add_ps(_mm512_set1_ps(a.0), _mm512_mul_ps(t, vdx));
        let py = _mm512_add_ps(_mm512_set1_ps(a.1), _mm512_mul_ps(t, vdy));
        let (ex, ey) = (_mm512_sub_ps(x, px), _mm512_sub_ps(y, py));
        _mm512_add_ps(_mm512_mul_ps(ex, ex), _mm512_mul_ps(ey, ey))
    }

    /// [`super::near_hull_fast`] of the 16 points (`x`, `y`) (`edges` not empty): bit l
    /// says whether point l is near.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub fn near16(edges: &[Edge], x: __m512, y: __m512, offset: f32) -> u16 {
        let mut min = _mm512_set1_ps(f32::INFINITY);
        for e in edges {
            min = _mm512_min_ps(min, line(e, x, y));
        }
        let zero = _mm512_setzero_ps();
        let inside = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(min, zero);
        let band = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(min, zero)
            & _mm512_cmp_ps_mask::<_CMP_GE_OQ>(min, _mm512_set1_ps(-offset));
        if band == 0 {
            return inside;
        }
        // Points outside by at most `offset`: near when within `offset` of the segment of
        // an edge whose line they are outside of (as `near_outside`).
        let off2 = _mm512_set1_ps(offset * offset);
        let mut hit = 0u16;
        for e in edges {
            let outside = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(line(e, x, y), zero) & band & !hit;
            if outside == 0 {
                continue;
            }
            let d2 = segment_dist2(e.a, e.b, x, y);
            hit |= outside & _mm512_cmp_ps_mask::<_CMP_LE_OQ>(d2, off2);
            if hit == band {
                break;
            }
        }
        inside | hit
    }

    /// [`super::near_hull_fast_many`] (`edges` not empty) with [`near16`].
    #[target_feature(enable = "avx512f")]
    pub(super) fn near_many(edges: &[Edge], xs: &[f32], ys: &[f32], offset: f32, out: &mut [bool]) {
        let n = xs.len().min(ys.len()).min(out.len());
        let mut k = 0;
        while k < n {
            let m = (n - k).min(16);
            let lanes = if m == 16 { u16::MAX } else { (1u16 << m) - 1 };
            // SAFETY: lanes past `m` are neither read nor written (masked loads).
            let near = unsafe {
                let x = _mm512_maskz_loadu_ps(lanes, xs.as_ptr().add(k));
                let y = _mm512_maskz_loadu_ps(lanes, ys.as_ptr().add(k));
                near16(edges, x, y, offset)
            };
            if m == 16 {
                // SAFETY: `bool` is one byte, 0 or 1: the 16 bytes stored are 16 valid bools
                // inside `out`.
                unsafe {
                    let bytes = _mm512_cvtepi32_epi8(_mm512_maskz_set1_epi32(near, 1));
                    _mm_storeu_si128(out.as_mut_ptr().add(k) as *mut __m128i, bytes);
                }
            } else {
                for (l, o) in out[k..k + m].iter_mut().enumerate() {
                    *o = (near >> l) & 1 == 1;
                }
            }
            k += m;
        }
    }
}

/// Side of a [`HullGrid`] cell in pixels.
const GRID_CELL: f32 = 8.0;
/// Most cells of a [`HullGrid`] (a 1000 × 1000 px print at 500 dpi needs 15 625).
const MAX_GRID_CELLS: usize = 65_536;

/// [`near_hull`] for one fixed hull and offset as a coarse raster, so that most queries are a
/// single lookup: each 8 px cell is known to be entirely near the hull, entirely far from it,
/// or on the border, where the exact test decides (answers are exactly those of
/// [`near_hull`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HullGrid {
    x0: f32,
    y0: f32,
    w: usize,
    h: usize,
    offset: f32,
    /// 0 far, 1 near, 2 decide exactly; row-major `h × w`.
    cells: Vec<u8>,
}

impl HullGrid {
    /// Rasterises the cells within `offset` of the convex `hull` with edge lines `edges`.
    #[inline(always)]
    pub fn new(hull: &[(f32, f32)], edges: &[Edge], offset: f32) -> HullGrid {
        let mut g = HullGrid {
            x0: 0.0,
            y0: 0.0,
            w: 0,
            h: 0,
            offset,
            cells: Vec::new(),
        };
        if edges.is_empty() {
            return g;
        }
        let fold = |f: fn(f32, f32) -> f32, init: f32, k: fn(&(f32, f32)) -> f32| {
            hull.iter().map(k).fold(init, f)
        };
        let pad = offset + GRID_CELL;
        g.x0 = fold(f32::min, f32::INFINITY, |p| p.0) - pad;
        g.y0 = fold(f32::min, f32::INFINITY, |p| p.1) - pad;
        let x1 = fold(f32::max, f32::NEG_INFINITY, |p| p.0) + pad;
        let y1 = fold(f32::max, f32::NEG_INFINITY, |p| p.1) + pad;
        let (w, h) = ((x1 - g.x0) / GRID_CELL, (y1 - g.y0) / GRID_CELL);
        let cells = w * h;
        if !cells.is_finite() || cells > MAX_GRID_CELLS as f32 {
            // Far larger than any fingerprint (or not finite): exact tests only.
            return g;
        }
        g.w = w.ceil().max(1.0) as usize;
        g.h = h.ceil().max(1.0) as usize;
        let half_diag = GRID_CELL * std::f32::consts::FRAC_1_SQRT_2;
        // Whether each grid vertex is near, computed once for the (up to) four cells that
        // share it.
        let (x0, y0) = (g.x0, g.y0);
        let vertex = |r: usize, c: usize| (x0 + c as f32 * GRID_CELL, y0 + r as f32 * GRID_CELL);
        let stride = g.w + 1;
        let mut near_vertex = vec![false; (g.h + 1) * stride];
        let xs: Vec<f32> = (0..=g.w).map(|c| vertex(0, c).0).collect();
        let mut ys = vec![0f32; stride];
        for r in 0..=g.h {
            ys.fill(vertex(r, 0).1);
            let row = &mut near_vertex[r * stride..(r + 1) * stride];
            near_hull_fast_many(hull, edges, &xs, &ys, offset, row);
        }
        // Centres of the cells, tested against the offset enlarged by half a diagonal.
        let cxs: Vec<f32> = (0..g.w).map(|c| vertex(0, c).0 + GRID_CELL / 2.0).collect();
        let mut cys = vec![0f32; g.w];
        let mut centre_near = vec![false; g.w];
        g.cells = vec![0; g.w * g.h];
        for r in 0..g.h {
            cys.fill(vertex(r, 0).1 + GRID_CELL / 2.0);
            near_hull_fast_many(
                hull,
                edges,
                &cxs,
                &cys,
                offset + half_diag + 0.5,
                &mut centre_near,
            );
            for (c, &centre) in centre_near.iter().enumerate() {
                let at = r * stride + c;
                // The offset hull is convex: a cell whose corners are all near is all near.
                g.cells[r * g.w + c] = if near_vertex[at]
                    && near_vertex[at + 1]
                    && near_vertex[at + stride]
                    && near_vertex[at + stride + 1]
                {
                    1
                } else if !centre {
                    0
                } else {
                    2
                };
            }
        }
        g
    }

    /// Whether `q` lies within the grid's offset of `hull` (the hull and edges it was built
    /// from): the same answer as [`near_hull`]. The matcher counts points with
    /// [`Self::count_near`]; this point-by-point form is the tests' reference.
    #[cfg(test)]
    pub fn near(&self, hull: &[(f32, f32)], edges: &[Edge], q: (f32, f32)) -> bool {
        if self.cells.is_empty() {
            return self.exact(hull, edges, q);
        }
        let (cx, cy) = ((q.0 - self.x0) / GRID_CELL, (q.1 - self.y0) / GRID_CELL);
        if cx.is_nan() || cy.is_nan() || cx < 0.0 || cy < 0.0 {
            return false;
        }
        let (c, r) = (cx as usize, cy as usize);
        if c >= self.w || r >= self.h {
            return false;
        }
        match self.cells[r * self.w + c] {
            0 => false,
            1 => true,
            _ => self.exact(hull, edges, q),
        }
    }

    /// How many of `points` lie within the grid's offset of `hull` (the answers of
    /// [`near_hull`], point by point), without a branch per point except for
    /// the few in border cells (whether a point is near is decided at random by the data, so
    /// a branch per point is mispredicted often).
    #[inline(always)]
    pub fn count_near(
        &self,
        hull: &[(f32, f32)],
        edges: &[Edge],
        points: impl Iterator<Item = (f32, f32)>,
    ) -> usize {
        if self.cells.is_empty() {
            return points.filter(|&q| self.exact(hull, edges, q)).count();
        }
        let mut n = 0;
        // Points in border cells are listed (without a branch) and tested exactly after.
        let mut border = [(0f32, 0f32); 256];
        let mut found = 0;
        for q in points {
            let (cx, cy) = ((q.0 - self.x0) / GRID_CELL, (q.1 - self.y0) / GRID_CELL);
            let (c, r) = (cx as usize, cy as usize);
            // `cx >= 0.0` is false for NaN, as in `near`.
            let inside = (cx >= 0.0) & (cy >= 0.0) & (c < self.w) & (r < self.h);
            let v = self.cells[if inside { r * self.w + c } else { 0 }];
            let v = if inside { v } else { 0 };
            n += (v == 1) as usize;
            border[found & 255] = q;
            found += (v == 2) as usize;
            if found == border.len() {
                // (Only for more than 255 points, which no template has.)
                n += border
                    .iter()
                    .filter(|&&q| self.exact(hull, edges, q))
                    .count();
                found = 0;
            }
        }
        n + border[..found]
            .iter()
            .filter(|&&q| self.exact(hull, edges, q))
            .count()
    }

    /// Feeds the raster's numbers to `f` (the prepared-template guard test).
    #[cfg(test)]
    pub(crate) fn digest_into(&self, f: &mut impl FnMut(u32)) {
        for v in [self.x0, self.y0, self.offset] {
            f(v.to_bits());
        }
        f(self.w as u32);
        f(self.h as u32);
        self.cells.iter().for_each(|&c| f(c as u32));
    }

    #[inline(never)]
    fn exact(&self, hull: &[(f32, f32)], edges: &[Edge], q: (f32, f32)) -> bool {
        near_hull_fast(hull, edges, q, self.offset)
    }
}

/// Squared distance from `q` to the segment `a`–`b`.
#[inline(always)]
fn segment_dist2(a: (f32, f32), b: (f32, f32), q: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((q.0 - a.0) * dx + (q.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (px, py) = (a.0 + t * dx, a.1 + t * dy);
    (q.0 - px).powi(2) + (q.1 - py).powi(2)
}

/// Error function (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7).
pub fn erf(x: f32) -> f32 {
    let s = x.signum();
    let x = x.abs() as f64;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    s * y as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_diff_wraps() {
        assert!((angle_diff(0.1, 2.0 * PI - 0.1) - 0.2).abs() < 1e-5);
        assert!((angle_diff(2.0 * PI - 0.1, 0.1) + 0.2).abs() < 1e-5);
    }

    #[test]
    fn hull_and_offset() {
        let h = convex_hull(&[
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (5.0, 5.0),
        ]);
        assert_eq!(h.len(), 4);
        assert!(near_hull(&h, (5.0, 5.0), 0.0));
        assert!(near_hull(&h, (15.0, 5.0), 6.0));
        assert!(!near_hull(&h, (17.0, 5.0), 6.0));
        let e = hull_edges(&h);
        let g = HullGrid::new(&h, &e, 6.0);
        for x in -10..25 {
            for y in -10..25 {
                let q = (x as f32 * 0.9, y as f32 * 1.1);
                assert_eq!(
                    near_hull(&h, q, 6.0),
                    near_hull_fast(&h, &e, q, 6.0),
                    "{q:?}"
                );
                assert_eq!(near_hull(&h, q, 6.0), g.near(&h, &e, q), "{q:?}");
            }
        }
    }

    /// Uniform numbers in [0, 1) from a seed (a linear congruential generator: the tests need
    /// many cheap, reproducible points, not statistical quality).
    fn uniform(seed: u64) -> impl FnMut() -> f32 {
        let mut s = seed;
        move || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    #[test]
    fn hull_grid_answers_as_the_exact_test_on_random_prints() {
        let mut next = uniform(0x9e37_79b9_7f4a_7c15);
        for _ in 0..30 {
            let pts: Vec<(f32, f32)> = (0..40)
                .map(|_| (60.0 + 300.0 * next(), 40.0 + 420.0 * next()))
                .collect();
            let h = convex_hull(&pts);
            let e = hull_edges(&h);
            for offset in [10.0, 50.0] {
                let g = HullGrid::new(&h, &e, offset);
                let mut qs = Vec::new();
                for _ in 0..4000 {
                    let q = (-40.0 + 480.0 * next(), -60.0 + 620.0 * next());
                    assert_eq!(near_hull(&h, q, offset), g.near(&h, &e, q), "{q:?}");
                    qs.push(q);
                }
                qs.extend([(f32::NAN, 100.0), (100.0, f32::INFINITY), (-1e9, 1e9)]);
                let one_by_one = qs.iter().filter(|&&q| g.near(&h, &e, q)).count();
                assert_eq!(g.count_near(&h, &e, qs.iter().copied()), one_by_one);
            }
        }
    }

    /// The 16-lane forms (portable and AVX-512) answer as [`near_hull_fast`] point by point,
    /// with all edges and with the subsets of edges near a point that the cylinders use.
    #[test]
    fn many_points_at_once_answer_as_one_by_one() {
        let mut next = uniform(0x1234_5678_9abc_def1);
        for round in 0..40 {
            let pts: Vec<(f32, f32)> = (0..3 + round)
                .map(|_| (60.0 + 300.0 * next(), 40.0 + 420.0 * next()))
                .collect();
            let h = convex_hull(&pts);
            let e = hull_edges(&h);
            if e.is_empty() {
                continue;
            }
            let n = 16 * 37 + round % 16;
            let xs: Vec<f32> = (0..n).map(|_| -40.0 + 480.0 * next()).collect();
            let ys: Vec<f32> = (0..n).map(|_| -60.0 + 620.0 * next()).collect();
            for offset in [10.0, 50.0] {
                let (cx, cy) = (xs[0], ys[0]);
                let near: Vec<Edge> = e
                    .iter()
                    .filter(|e| e.nx * cx + e.ny * cy + e.c < 200.0)
                    .copied()
                    .collect();
                for edges in [&e, &near] {
                    if edges.is_empty() {
                        continue;
                    }
                    let expect: Vec<bool> = xs
                        .iter()
                        .zip(&ys)
                        .map(|(&x, &y)| near_hull_fast(&h, edges, (x, y), offset))
                        .collect();
                    let mut out = vec![false; n];
                    near_many_portable(edges, &xs, &ys, offset, &mut out);
                    assert_eq!(out, expect);
                    #[cfg(target_arch = "x86_64")]
                    if std::arch::is_x86_feature_detected!("avx512f") {
                        let mut out = vec![false; n];
                        // SAFETY: the CPU has AVX-512F.
                        unsafe { avx512::near_many(edges, &xs, &ys, offset, &mut out) };
                        assert_eq!(out, expect);
                    }
                }
            }
        }
    }

    #[test]
    fn hull_area_of_points() {
        let mut buf = Vec::new();
        let mut sq = [
            (0.0, 0.0),
            (5.0, 5.0),
            (10.0, 10.0),
            (10.0, 0.0),
            (0.0, 10.0),
            (5.0, 0.0),
        ];
        assert!((hull_area(&mut sq, &mut buf) - 100.0).abs() < 1e-3);
        let mut tri = [(0.0, 0.0), (4.0, 0.0), (0.0, 3.0)];
        assert!((hull_area(&mut tri, &mut buf) - 6.0).abs() < 1e-4);
        let mut line = [(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0)];
        assert_eq!(hull_area(&mut line, &mut buf), 0.0);
        let mut two = [(0.0, 0.0), (1.0, 1.0)];
        assert_eq!(hull_area(&mut two, &mut buf), 0.0);
    }

    #[test]
    fn erf_values() {
        assert!((erf(0.5) - 0.520_499_9).abs() < 1e-5);
        assert!((erf(-1.0) + 0.842_700_8).abs() < 1e-5);
    }
}
