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
    /// Minutiae sorted by x: `(x, y, direction, index)`, for range searches in the
    /// consolidation.
    pub(crate) by_x: Vec<(f32, f32, u16, u16)>,
    /// Start in [`Self::by_x`] of each 16 px bucket of x from `by_x[0].0`.
    pub(crate) x_index: Vec<u16>,
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
    let mut by_x: Vec<(f32, f32, u16, u16)> = points
        .iter()
        .zip(&angles)
        .enumerate()
        .map(|(i, (p, &t))| (p.x, p.y, t, i as u16))
        .collect();
    by_x.sort_by(|u, v| u.0.total_cmp(&v.0).then(u.3.cmp(&v.3)));
    let edges = hull_edges(&hull);
    FingerTemplate {
        x_index: x_buckets(&by_x),
        by_x,
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

/// Width of the x buckets of [`FingerTemplate::x_index`].
pub(crate) const X_BUCKET: f32 = 16.0;

/// For each bucket k of x (width [`X_BUCKET`] from the smallest x), the first position in
/// `by_x` whose x is at least `x_min + k·X_BUCKET`.
fn x_buckets(by_x: &[(f32, f32, u16, u16)]) -> Vec<u16> {
    let Some(first) = by_x.first() else {
        return Vec::new();
    };
    let span = by_x[by_x.len() - 1].0 - first.0;
    let buckets = (span / X_BUCKET).floor().min(8192.0) as usize + 1;
    (0..buckets)
        .map(|k| by_x.partition_point(|q| q.0 < first.0 + k as f32 * X_BUCKET) as u16)
        .collect()
}

impl FingerTemplate {
    /// Position in `by_x` from which the minutiae with x ≥ `x` start (possibly a little
    /// earlier: callers skip the smaller ones).
    #[inline]
    pub(crate) fn by_x_from(&self, x: f32) -> usize {
        let Some(first) = self.by_x.first() else {
            return 0;
        };
        let k = (x - first.0) / X_BUCKET;
        if k.is_nan() || k < 0.0 {
            return 0;
        }
        match self.x_index.get(k as usize) {
            Some(&p) => p as usize,
            None => self.by_x.len(),
        }
    }

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
