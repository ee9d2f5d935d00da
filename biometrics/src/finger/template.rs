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
    if std::arch::is_x86_feature_detected!("avx512f") {
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
    for (i, p) in points.iter().enumerate() {
        for (j, r) in points.iter().enumerate() {
            let (dx, dy) = (r.x - p.x, r.y - p.y);
            dist[i * n + j] = (dx * dx + dy * dy).sqrt();
            let seg = (dy.atan2(dx) / ANGLE_STEP).round() as i32;
            rel[i * n + j] = angles[i].wrapping_sub(seg as u16);
        }
    }
    let edges = hull_edges(&hull);
    let padded = n.div_ceil(LANES) * LANES;
    let mut lane_x: Vec<f32> = points.iter().map(|p| p.x).collect();
    let mut lane_y: Vec<f32> = points.iter().map(|p| p.y).collect();
    let mut lane_t = angles.clone();
    lane_x.resize(padded, f32::INFINITY);
    lane_y.resize(padded, f32::INFINITY);
    lane_t.resize(padded, 0);
    FingerTemplate {
        lane_x,
        lane_y,
        lane_t,
        overlap: HullGrid::new(&hull, &edges, OVERLAP_MARGIN),
        edges,
        usable: (0..n as u16)
            .filter(|&i| cylinders[i as usize].valid)
            .collect(),
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
