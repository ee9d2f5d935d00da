//! The prepared fingerprint template: minutiae rescaled to 500 dpi plus their cylinders,
//! computed once per finger so that 1:N comparisons only run the matcher's inner loops.

use std::f32::consts::PI;

use super::cylinder::{self, Cylinder};
use super::geometry::{convex_hull, hull_edges, Edge, HullGrid, Point};
use super::params::OVERLAP_MARGIN;
use super::params::TARGET_PX_PER_CM;
use crate::iso19794::{FingerView, MinutiaKind};

/// Quantum of stored coordinates: 1/4 pixel at 500 dpi.
pub(crate) const COORD_STEP: f32 = 0.25;
/// Quantum of stored directions: 2π/65536.
pub(crate) const ANGLE_STEP: f32 = 2.0 * PI / 65536.0;

/// A finger view prepared for matching.
///
/// Holds the minutiae in the normalised frame (500 dpi pixels, y up, radians) in the order of
/// the ISO view, so that indices in a [`super::FingerExplanation`] are indices into
/// [`FingerView::minutiae`], plus one Minutia Cylinder-Code descriptor per minutia and the
/// template's own pairwise geometry (distances and relative angles among its minutiae, hull
/// edge lines), so that a comparison only combines precomputed numbers. In memory that is
/// about 256 + 6·n bytes per minutia; the stored form ([`FingerTemplate::to_bytes`]) stays
/// 7 bytes per minutia.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerTemplate {
    /// Normalised minutiae, in ISO order.
    pub(crate) points: Vec<Point>,
    /// Directions in units of 2π/65536 (the stored quantum): differences of directions are
    /// wrapping `u16` subtractions read as `i16`.
    pub(crate) angles: Vec<u16>,
    /// Indices of the minutiae whose cylinder is usable ([`Cylinder::valid`]).
    pub(crate) usable: Vec<u16>,
    /// Distance between minutiae i and j at `i·n + j`.
    pub(crate) dist: Vec<f32>,
    /// Direction of minutia i minus the direction of the segment from i to j, in units of
    /// 2π/65536, at `i·n + j`.
    pub(crate) rel: Vec<u16>,
    /// x of the minutiae in ISO order, padded with +∞ to a multiple of [`LANES`] (vector
    /// search of partners in the consolidation: a padding lane never matches).
    pub(crate) lane_x: Vec<f32>,
    /// y of the minutiae, padded like [`Self::lane_x`].
    pub(crate) lane_y: Vec<f32>,
    /// Directions of the minutiae, padded with 0 like [`Self::lane_x`].
    pub(crate) lane_t: Vec<u16>,
    /// [`Self::usable`] in two groups, the minutiae whose cylinder is full (its mask the
    /// whole disc) first, each group ordered by direction (ties by index), so that a group's
    /// minutiae within a direction window form one circular run.
    pub(crate) usable_by_angle: Vec<u16>,
    /// The directions of [`Self::usable_by_angle`] (ascending within each group).
    pub(crate) usable_angles: Vec<u16>,
    /// Number of full cylinders: the first group of [`Self::usable_by_angle`].
    pub(crate) usable_full: usize,
    /// Edge lines of [`Self::hull`].
    pub(crate) edges: Vec<Edge>,
    /// Raster of [`Self::hull`] enlarged by [`OVERLAP_MARGIN`] (overlap counting).
    pub(crate) overlap: HullGrid,
    /// Minutia types, in ISO order (kept for the explanation; not used in scoring).
    pub(crate) kinds: Vec<MinutiaKind>,
    /// One cylinder per minutia.
    pub(crate) cylinders: Vec<Cylinder>,
    /// Convex hull of the minutiae (counter-clockwise): the foreground estimate used for
    /// cylinder validity and for counting the minutiae in the overlap of two prints.
    pub(crate) hull: Vec<(f32, f32)>,
    /// Hash of the quantised minutiae: orders the two sides of a comparison canonically so
    /// that `compare(a, b) == compare(b, a)` exactly.
    pub(crate) digest: u64,
}

/// Prepares a finger view for matching; `res_x`/`res_y` are the record's resolutions in
/// pixels per centimetre (0 is read as 500 dpi). Done once per template.
pub fn prepare(view: &FingerView, res_x: u16, res_y: u16) -> FingerTemplate {
    let scale = |res: u16| {
        if res == 0 {
            1.0
        } else {
            TARGET_PX_PER_CM / res as f32
        }
    };
    let (sx, sy) = (scale(res_x), scale(res_y));
    let quantised: Vec<(i16, i16, u16, MinutiaKind)> = view
        .minutiae
        .iter()
        .map(|m| {
            let q = |v: f32| {
                (v / COORD_STEP)
                    .round()
                    .clamp(i16::MIN as f32, i16::MAX as f32) as i16
            };
            (
                q(m.x as f32 * sx),
                q(-(m.y as f32) * sy),
                (m.angle as u16) << 8,
                m.kind,
            )
        })
        .collect();
    from_quantised(&quantised)
}

/// Builds a template from quantised minutiae (the stored form): `(x, y, direction, kind)`
/// with x and y in quarter pixels at 500 dpi (y up) and direction in units of 2π/65536.
pub(crate) fn from_quantised(q: &[(i16, i16, u16, MinutiaKind)]) -> FingerTemplate {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::avx512f() {
        // SAFETY: the CPU has the feature the function is compiled for.
        return unsafe { from_quantised_avx512(q) };
    }
    from_quantised_body(q)
}

/// [`from_quantised`] compiled for AVX-512F (its vector loops: hull raster, geometry).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
unsafe fn from_quantised_avx512(q: &[(i16, i16, u16, MinutiaKind)]) -> FingerTemplate {
    from_quantised_body(q)
}

#[inline(always)]
fn from_quantised_body(q: &[(i16, i16, u16, MinutiaKind)]) -> FingerTemplate {
    let points: Vec<Point> = q
        .iter()
        .map(|&(x, y, t, _)| Point {
            x: x as f32 * COORD_STEP,
            y: y as f32 * COORD_STEP,
            theta: t as f32 * ANGLE_STEP,
        })
        .collect();
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    for &(x, y, t, k) in q {
        for b in x
            .to_le_bytes()
            .into_iter()
            .chain(y.to_le_bytes())
            .chain(t.to_le_bytes())
            .chain([k.code() as u8])
        {
            digest = (digest ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let hull = convex_hull(&points.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
    let cylinders = cylinder::build(&points, &hull);
    let n = points.len();
    let angles: Vec<u16> = q.iter().map(|m| m.2).collect();
    let mut dist = vec![0f32; n * n];
    let mut rel = vec![0u16; n * n];
    pairwise_geometry(&points, &angles, &mut dist, &mut rel);
    let edges = hull_edges(&hull);
    let padded = n.div_ceil(LANES) * LANES;
    let mut lane_x: Vec<f32> = points.iter().map(|p| p.x).collect();
    let mut lane_y: Vec<f32> = points.iter().map(|p| p.y).collect();
    let mut lane_t = angles.clone();
    lane_x.resize(padded, f32::INFINITY);
    lane_y.resize(padded, f32::INFINITY);
    lane_t.resize(padded, 0);
    let usable: Vec<u16> = (0..n as u16)
        .filter(|&i| cylinders[i as usize].valid)
        .collect();
    let mut usable_by_angle = usable.clone();
    usable_by_angle.sort_by_key(|&i| (!cylinders[i as usize].full, angles[i as usize], i));
    let usable_full = usable
        .iter()
        .filter(|&&i| cylinders[i as usize].full)
        .count();
    FingerTemplate {
        lane_x,
        lane_y,
        lane_t,
        usable_angles: usable_by_angle
            .iter()
            .map(|&i| angles[i as usize])
            .collect(),
        usable_by_angle,
        usable_full,
        overlap: HullGrid::new(&hull, &edges, OVERLAP_MARGIN),
        edges,
        usable,
        cylinders,
        angles,
        dist,
        rel,
        hull,
        kinds: q.iter().map(|m| m.3).collect(),
        points,
        digest,
    }
}

/// The direction of the segment from one point to another in units of [`ANGLE_STEP`],
/// exactly as the template has always stored it: `round(atan2f(dy, dx) / ANGLE_STEP)`, with
/// libm's `atan2f`.
#[inline(never)]
fn segment_direction(dx: f32, dy: f32) -> i32 {
    (dy.atan2(dx) / ANGLE_STEP).round() as i32
}

/// How far (in units of [`ANGLE_STEP`]) [`atan2_approx`]`/ANGLE_STEP` may lie from the value that
/// [`segment_direction`] rounds, `fl(atan2f(dy, dx) / ANGLE_STEP)`, with room to spare:
/// libm's `atan2f` is within 1–2 ulp of the true angle (glibc's documented bound is 1; up to
/// 6 ulp of π, 1.4·10⁻⁶ rad, is allowed here: 0.015 units), the division rounds by at most
/// half an ulp of 32 768 (0.002 units), and [`atan2_approx`] itself is within 10⁻⁷ rad
/// (0.001 units).
const SEG_MARGIN: f64 = 0.02;

/// The angle of (`dx`, `dy`) in `f64` to within 10⁻⁷ rad (for finite, not both zero):
/// octant reduction to |w| ≤ tan(π/8) and the arctangent series up to w¹⁵, whose first
/// omitted term bounds its error by 0.4143¹⁷/17 < 2·10⁻⁸. Branch-free, so loops of it
/// vectorise.
#[inline(always)]
fn atan2_approx(dy: f64, dx: f64) -> f64 {
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
    let (ax, ay) = (dx.abs(), dy.abs());
    let (lo, hi) = (ax.min(ay), ax.max(ay));
    // z = lo / hi ∈ [0, 1]; above tan(π/8), atan z = π/4 + atan((z − 1)/(z + 1)).
    let big = lo > 0.414_213_562_373_095 * hi;
    let w = if big { (lo - hi) / (lo + hi) } else { lo / hi };
    let w2 = w * w;
    let mut p = 1.0 / 15.0;
    for c in [
        -1.0 / 13.0,
        1.0 / 11.0,
        -1.0 / 9.0,
        1.0 / 7.0,
        -1.0 / 5.0,
        1.0 / 3.0,
        -1.0,
    ] {
        p = p * w2 + c;
    }
    // p = −(1 − w²/3 + …), so atan w = −w·p.
    let t = -w * p + if big { FRAC_PI_4 } else { 0.0 };
    let t = if ay > ax { FRAC_PI_2 - t } else { t };
    let t = if dx.is_sign_negative() { PI - t } else { t };
    if dy.is_sign_negative() {
        -t
    } else {
        t
    }
}

/// Distance and relative angle of every ordered pair of minutiae (`dist[i·n + j]`,
/// `rel[i·n + j]`, see [`FingerTemplate::dist`]), exactly the values of the direct loop
/// `dist = √(dx² + dy²)`, `rel = angle_i − segment_direction(dx, dy)` over all i, j:
///
/// - the distance of (i, j) is that of (j, i) bit for bit (negated differences square to the
///   same values), so it is computed for i < j only;
/// - the segment direction of (i, j) is the rounded [`atan2_approx`] value (in units) when that lies more
///   than [`SEG_MARGIN`] from a rounding boundary (then libm's value rounds to the same
///   integer); and the direction of (j, i), whose true angle differs by exactly π, is decided
///   the same way from the same approximation. Only the directions near a boundary (≈ 4 %) and
///   coincident points call libm's `atan2f`.
#[inline(always)]
fn pairwise_geometry(points: &[Point], angles: &[u16], dist: &mut [f32], rel: &mut [u16]) {
    let n = points.len();
    // Units per radian (of the `f32` step, as the direct loop divides by it); the product is
    // within 10⁻¹¹ units of the quotient.
    let per_radian = 1.0 / ANGLE_STEP as f64;
    let half_turn = std::f64::consts::PI;
    let mut fwd = vec![0f64; n];
    let mut back = vec![0f64; n];
    for i in 0..n {
        let p = points[i];
        dist[i * n + i] = 0.0;
        rel[i * n + i] = angles[i].wrapping_sub(segment_direction(0.0, 0.0) as u16);
        // Vector pass over j > i: distances and both directions' unrounded units.
        for j in i + 1..n {
            let (dx, dy) = (points[j].x - p.x, points[j].y - p.y);
            let d = (dx * dx + dy * dy).sqrt();
            dist[i * n + j] = d;
            let a = atan2_approx(dy as f64, dx as f64);
            let r = if a > 0.0 {
                a - half_turn
            } else {
                a + half_turn
            };
            fwd[j] = a * per_radian;
            back[j] = r * per_radian;
        }
        for j in i + 1..n {
            dist[j * n + i] = dist[i * n + j];
            let q = points[j];
            let (f, b) = (fwd[j], back[j]);
            let (fr, br) = (f.round_ties_even(), b.round_ties_even());
            let apart = q.x != p.x || q.y != p.y;
            let sf = if apart && (f - fr).abs() < 0.5 - SEG_MARGIN {
                fr as i32
            } else {
                segment_direction(q.x - p.x, q.y - p.y)
            };
            let sb = if apart && (b - br).abs() < 0.5 - SEG_MARGIN {
                br as i32
            } else {
                segment_direction(p.x - q.x, p.y - q.y)
            };
            rel[i * n + j] = angles[i].wrapping_sub(sf as u16);
            rel[j * n + i] = angles[j].wrapping_sub(sb as u16);
        }
    }
}

/// Lanes of the vector loops over a template's minutiae ([`FingerTemplate::lane_x`]).
pub(crate) const LANES: usize = 16;

impl FingerTemplate {
    /// Number of minutiae.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the template has no minutiae (it then matches nothing).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The quantised stored form of the minutiae.
    pub(crate) fn quantised(&self) -> impl Iterator<Item = (i16, i16, u16, MinutiaKind)> + '_ {
        self.points.iter().zip(&self.kinds).map(|(p, k)| {
            (
                (p.x / COORD_STEP).round() as i16,
                (p.y / COORD_STEP).round() as i16,
                (p.theta / ANGLE_STEP).round() as u32 as u16,
                *k,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso19794;
    use std::path::PathBuf;

    fn fvc() -> PathBuf {
        match std::env::var_os("TUNGGAL_SHARED_DATA") {
            Some(p) => PathBuf::from(p).join("fvc2002"),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fvc2002"),
        }
    }

    /// FNV-1a over 32-bit words.
    struct Fnv(u64);

    impl Fnv {
        fn word(&mut self, w: u32) {
            for b in w.to_le_bytes() {
                self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
            }
        }
        fn f(&mut self, v: f32) {
            self.word(v.to_bits());
        }
    }

    /// Every number of a prepared template that the matcher reads, in a fixed order
    /// independent of how the template lays them out in memory.
    fn feed(h: &mut Fnv, t: &FingerTemplate) {
        h.word(t.points.len() as u32);
        for p in &t.points {
            h.f(p.x);
            h.f(p.y);
            h.f(p.theta);
        }
        t.angles.iter().for_each(|&a| h.word(a as u32));
        t.usable.iter().for_each(|&u| h.word(u as u32));
        t.dist.iter().for_each(|&d| h.f(d));
        t.rel.iter().for_each(|&r| h.word(r as u32));
        for e in &t.edges {
            for v in [e.nx, e.ny, e.c, e.a.0, e.a.1, e.b.0, e.b.1] {
                h.f(v);
            }
        }
        t.overlap.digest_into(&mut |w| h.word(w));
        t.kinds.iter().for_each(|k| h.word(k.code() as u32));
        for c in &t.cylinders {
            c.bits.iter().chain(&c.mask).for_each(|&w| {
                h.word(w as u32);
                h.word((w >> 32) as u32);
            });
            h.word(c.ones);
            h.word(c.full as u32 | (c.valid as u32) << 1);
        }
        for &(x, y) in &t.hull {
            h.f(x);
            h.f(y);
        }
        h.word(t.digest as u32);
        h.word((t.digest >> 32) as u32);
    }

    /// The pairwise geometry equals the direct loop over all ordered pairs bit for bit, on
    /// random quarter-pixel prints (coincident points, shared rows and columns, coordinates
    /// up to the stored form's ±8192 px included).
    #[test]
    fn pairwise_geometry_matches_the_direct_loop() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |m: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % m
        };
        for round in 0..300 {
            let n = 2 + next(60) as usize;
            let span = [40, 400, 4000, 65_535][round % 4];
            let points: Vec<Point> = (0..n)
                .map(|_| {
                    let c = |v: u64| (v as i64 - span as i64 / 2) as f32 * COORD_STEP;
                    Point {
                        x: c(next(span)),
                        y: c(next(span)),
                        theta: 0.0,
                    }
                })
                .collect();
            let angles: Vec<u16> = (0..n).map(|_| next(65_536) as u16).collect();
            let (mut dist, mut rel) = (vec![0f32; n * n], vec![0u16; n * n]);
            pairwise_geometry(&points, &angles, &mut dist, &mut rel);
            for (i, p) in points.iter().enumerate() {
                for (j, r) in points.iter().enumerate() {
                    let (dx, dy) = (r.x - p.x, r.y - p.y);
                    let d = (dx * dx + dy * dy).sqrt();
                    let seg = (dy.atan2(dx) / ANGLE_STEP).round() as i32;
                    assert_eq!(dist[i * n + j].to_bits(), d.to_bits(), "{p:?} {r:?}");
                    assert_eq!(
                        rel[i * n + j],
                        angles[i].wrapping_sub(seg as u16),
                        "{p:?} {r:?}"
                    );
                }
            }
        }
    }

    /// Every quarter-pixel offset within ±64 px: the fast segment direction agrees with libm.
    #[test]
    fn segment_directions_agree_with_libm_on_a_dense_grid() {
        let mut points = Vec::new();
        for y in -256..=256 {
            for x in -256..=256 {
                points.push(Point {
                    x: x as f32 * COORD_STEP,
                    y: y as f32 * COORD_STEP,
                    theta: 0.0,
                });
            }
        }
        // Pairs (origin, point) through a two-point template each, in batches.
        let origin = Point {
            x: 0.0,
            y: 0.0,
            theta: 0.0,
        };
        let mut batch = vec![origin];
        let check = |batch: &[Point]| {
            let n = batch.len();
            let angles = vec![0u16; n];
            let (mut dist, mut rel) = (vec![0f32; n * n], vec![0u16; n * n]);
            pairwise_geometry(batch, &angles, &mut dist, &mut rel);
            for (j, r) in batch.iter().enumerate() {
                let seg = (r.y.atan2(r.x) / ANGLE_STEP).round() as i32;
                assert_eq!(rel[j], 0u16.wrapping_sub(seg as u16), "{r:?}");
                let back = ((0.0 - r.y).atan2(0.0 - r.x) / ANGLE_STEP).round() as i32;
                assert_eq!(rel[j * n], 0u16.wrapping_sub(back as u16), "{r:?}");
            }
        };
        for p in points {
            batch.push(p);
            if batch.len() == 64 {
                check(&batch);
                batch.truncate(1);
            }
        }
        check(&batch);
    }

    /// All 320 FVC2002 templates prepared as the matcher sees them (cylinders, pairwise
    /// geometry, hull raster) must stay bit for bit what they were before the speed rewrite
    /// of issue 21 (the digest was computed with the code of before), at the records'
    /// resolution and at 500 dpi.
    #[test]
    fn prepared_fvc2002_templates_are_bit_for_bit_unchanged() {
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        let mut n = 0;
        for db in ["DB1_B", "DB2_B", "DB3_B", "DB4_B"] {
            for (_, bytes) in crate::eval::read_fvc_folder(&fvc().join(db)).unwrap() {
                let rec = iso19794::parse(&bytes).unwrap();
                feed(&mut h, &prepare(&rec.views[0], rec.res_x, rec.res_y));
                feed(&mut h, &prepare(&rec.views[0], 0, 0));
                n += 1;
            }
        }
        assert_eq!(n, 320);
        if std::env::var_os("GUARD_PRINT").is_some() {
            println!("prepared templates digest {:#018x}", h.0);
        }
        assert_eq!(h.0, 0x2b3e_d936_7665_c984, "a prepared template changed");
    }
}
