//! The prepared fingerprint template: minutiae rescaled to 500 dpi plus their cylinders,
//! computed once per finger so that 1:N comparisons only run the matcher's inner loops.

use std::f32::consts::PI;

use super::cylinder::{self, Cylinder};
use super::geometry::{convex_hull, Point};
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
/// [`FingerView::minutiae`], plus one Minutia Cylinder-Code descriptor per minutia.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerTemplate {
    /// Normalised minutiae, in ISO order.
    pub(crate) points: Vec<Point>,
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
    FingerTemplate {
        cylinders: cylinder::build(&points, &hull),
        hull,
        kinds: q.iter().map(|m| m.3).collect(),
        points,
        digest,
    }
}

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
