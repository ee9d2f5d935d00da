//! Ridge-flow (orientation field) model of one synthetic finger.
//!
//! The field is what makes synthetic minutiae behave like real ones: minutia directions are
//! taken from it, so two different fingers of the same pattern class share a large-scale
//! structure and an impostor comparison finds some agreeing minutiae by chance, exactly as
//! with real prints.
//!
//! The model follows the SFinGe line of work (Cappelli, Maio, Maltoni):
//! * Loops, whorls and tented arches use the Sherlock–Monro zero-pole model: the doubled
//!   ridge angle is `2·θ∞ + Σ arg(z − core) − Σ arg(z − delta)` (image coordinates, y down), so a core is a +½ and a delta
//!   a −½ singularity of the (π-periodic) orientation.
//! * Plain arches have no singular points; their ridges are bumps that rise towards the
//!   fingertip, `θ = atan(h(y)·x/w²·exp(−x²/2w²))`.
//! * Above the upper core the flow is blended into arcs concentric with the fingertip
//!   boundary, which the pure zero-pole model misses (it flattens to straight lines).
//! * A few low-frequency sinusoidal perturbations make every finger's flow individual.
//!
//! Coordinates are pixels at 500 dpi in the *finger frame*: origin at the pad centre, `x` to
//! the right, `y` downwards (towards the distal crease), as in an image. An orientation `θ`
//! means the ridge runs along the image vector `(cos θ, sin θ)`; it is defined modulo π.

use std::f64::consts::PI;

/// One smooth sinusoidal bend of the ridge flow, in radians of orientation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bend {
    /// Amplitude in radians.
    pub amp: f64,
    /// Spatial frequency along x, radians per pixel.
    pub kx: f64,
    /// Spatial frequency along y, radians per pixel.
    pub ky: f64,
    /// Phase in radians.
    pub phase: f64,
}

/// The arch bump profile: ridges `y = y0 − h(y0)·exp(−(x−x0)²/2w²)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArchBump {
    /// Horizontal centre of the bump.
    pub x0: f64,
    /// Bump width (Gaussian sigma) in pixels.
    pub width: f64,
    /// Bump height at the fingertip end of the pad, pixels.
    pub height: f64,
}

/// The orientation field of one finger.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrientationField {
    /// Core positions (finger frame).
    pub cores: Vec<(f64, f64)>,
    /// Delta positions (finger frame).
    pub deltas: Vec<(f64, f64)>,
    /// Global orientation far from the singular points (θ∞), radians.
    pub theta_inf: f64,
    /// Arch profile; used only when there are no singular points.
    pub arch: Option<ArchBump>,
    /// Pad half-width and half-height (used for the fingertip arcs).
    pub pad: (f64, f64),
    /// Individual smooth perturbations.
    pub bends: Vec<Bend>,
}

impl OrientationField {
    /// Ridge orientation at `(x, y)`, in `[0, π)`.
    pub fn at(&self, x: f64, y: f64) -> f64 {
        let base = if self.cores.is_empty() && self.deltas.is_empty() {
            self.arch_angle(x, y)
        } else {
            self.zero_pole(x, y)
        };
        let blended = self.blend_tip_arcs(base, x, y);
        let bend: f64 = self
            .bends
            .iter()
            .map(|b| b.amp * (b.kx * x + b.ky * y + b.phase).sin())
            .sum();
        (blended + bend).rem_euclid(PI)
    }

    /// Magnitude of the spatial change of orientation (radians per pixel), measured on the
    /// doubled angle so that the π wrap does not count; high near cores and deltas.
    pub fn curvature(&self, x: f64, y: f64) -> f64 {
        let h = 4.0;
        let d = |a: f64, b: f64| {
            let (sa, ca) = (2.0 * a).sin_cos();
            let (sb, cb) = (2.0 * b).sin_cos();
            ((sa - sb).powi(2) + (ca - cb).powi(2)).sqrt() / 2.0
        };
        let gx = d(self.at(x + h, y), self.at(x - h, y)) / (2.0 * h);
        let gy = d(self.at(x, y + h), self.at(x, y - h)) / (2.0 * h);
        (gx * gx + gy * gy).sqrt()
    }

    /// Divergence of the unit ridge-direction field `v = (cos θ, sin θ)` at `(x, y)`, with
    /// `θ` as returned by [`OrientationField::at`]: positive where neighbouring ridges
    /// spread apart when followed along `v` (radians per pixel).
    pub fn divergence(&self, x: f64, y: f64) -> f64 {
        let h = 3.0;
        let theta = self.at(x, y);
        let (nx, ny) = (-theta.sin(), theta.cos());
        let a = self.at(x + h * nx, y + h * ny);
        let b = self.at(x - h * nx, y - h * ny);
        let mut d = (a - b).rem_euclid(PI);
        if d > PI / 2.0 {
            d -= PI;
        }
        d / (2.0 * h)
    }

    fn zero_pole(&self, x: f64, y: f64) -> f64 {
        let mut two_theta = 2.0 * self.theta_inf;
        // With y pointing down, a core turns the flow with +½ the polar angle and a delta
        // with −½; this makes the ridges above a core an arch (∩) and the flow around a
        // delta a tri-radius.
        for &(cx, cy) in &self.cores {
            two_theta += (y - cy).atan2(x - cx);
        }
        for &(dx, dy) in &self.deltas {
            two_theta -= (y - dy).atan2(x - dx);
        }
        two_theta / 2.0
    }

    fn arch_angle(&self, x: f64, y: f64) -> f64 {
        let Some(arch) = &self.arch else {
            return self.theta_inf;
        };
        // Bump height grows from nothing near the distal crease to full at the tip.
        let (_, hy) = self.pad;
        let t = ((hy - y) / (2.0 * hy)).clamp(0.0, 1.0);
        let h = arch.height * smoothstep(t * 1.4);
        let u = x - arch.x0;
        let w2 = arch.width * arch.width;
        let slope = h * u / w2 * (-u * u / (2.0 * w2)).exp();
        self.theta_inf + slope.atan()
    }

    /// Blends the flow above the uppermost singular point into arcs that follow the
    /// fingertip outline (ellipses concentric with the pad).
    fn blend_tip_arcs(&self, theta: f64, x: f64, y: f64) -> f64 {
        let top = self
            .cores
            .iter()
            .chain(self.deltas.iter())
            .map(|p| p.1)
            .fold(f64::INFINITY, f64::min);
        let top = if top.is_finite() {
            top
        } else {
            -0.2 * self.pad.1
        };
        let w = 0.75 * smoothstep((top - y - 30.0) / 160.0);
        if w <= 0.0 {
            return theta;
        }
        let (ax, ay) = self.pad;
        // Tangent of the ellipse x²/ax² + y²/ay² = c through (x, y).
        let tangent = (x / (ax * ax)).atan2(-y / (ay * ay));
        let (s1, c1) = (2.0 * theta).sin_cos();
        let (s2, c2) = (2.0 * tangent).sin_cos();
        let (s, c) = ((1.0 - w) * s1 + w * s2, (1.0 - w) * c1 + w * c2);
        s.atan2(c) / 2.0
    }
}

/// Cubic smoothstep on `[0, 1]`, clamped outside.
pub(crate) fn smoothstep(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Smallest difference between two orientations (modulo π), in `[0, π/2]`.
#[cfg(test)]
pub(crate) fn orientation_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(PI);
    d.min(PI - d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loop_field() -> OrientationField {
        OrientationField {
            cores: vec![(0.0, -20.0)],
            deltas: vec![(90.0, 110.0)],
            theta_inf: 0.0,
            arch: None,
            pad: (165.0, 235.0),
            bends: vec![],
        }
    }

    #[test]
    fn orientation_is_in_range_and_smooth_away_from_singularities() {
        let f = loop_field();
        for i in 0..40 {
            for j in 0..40 {
                let (x, y) = (-150.0 + 7.5 * i as f64, -200.0 + 10.0 * j as f64);
                let t = f.at(x, y);
                assert!((0.0..PI).contains(&t));
                let near = f
                    .cores
                    .iter()
                    .chain(&f.deltas)
                    .any(|p| (p.0 - x).hypot(p.1 - y) < 30.0);
                if !near {
                    let t2 = f.at(x + 1.0, y);
                    assert!(orientation_diff(t, t2) < 0.1, "jump at {x},{y}");
                }
            }
        }
    }

    #[test]
    fn orientation_turns_half_a_circle_around_a_core() {
        let f = OrientationField {
            cores: vec![(0.0, 0.0)],
            deltas: vec![],
            theta_inf: 0.0,
            arch: None,
            pad: (1000.0, 1000.0),
            bends: vec![],
        };
        // Walk around the core and accumulate the (unwrapped) change of orientation.
        let mut total = 0.0;
        let n = 360;
        let mut prev = f.at(20.0, 0.0);
        for k in 1..=n {
            let a = 2.0 * PI * k as f64 / n as f64;
            let t = f.at(20.0 * a.cos(), 20.0 * a.sin());
            let mut d = t - prev;
            if d > PI / 2.0 {
                d -= PI;
            } else if d < -PI / 2.0 {
                d += PI;
            }
            total += d;
            prev = t;
        }
        assert!(
            (total.abs() - PI).abs() < 1e-6,
            "index: {}",
            total / (2.0 * PI)
        );
    }

    #[test]
    fn curvature_peaks_near_core() {
        let f = loop_field();
        assert!(f.curvature(5.0, -15.0) > 5.0 * f.curvature(-120.0, 150.0));
    }
}
