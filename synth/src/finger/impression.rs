//! One capture of a synthetic finger: what a 500 dpi live-scan sensor plus a minutiae
//! extractor would report for a [`FingerMaster`].
//!
//! The steps mirror the physics and the extractor errors that make real genuine scores
//! spread out (Cappelli–Maio–Maltoni plastic distortion model; FVC experience):
//! 1. The finger touches the platen in an irregular elliptical contact region whose centre
//!    wanders around the finger centre (more for poor captures); only minutiae inside the
//!    contact region and inside the 300×400 sensor window are seen.
//! 2. Skin is distorted elastically: no movement in the close-contact centre, a small rigid
//!    drag (rotation + translation) of the outer skin, blended in with distance, plus a
//!    gentle wobble.
//! 3. The finger is rotated on the sensor (σ ≈ 7–11°, at most 25°) and offset.
//! 4. The extractor misses minutiae (more near the contact border and in smudged or dry
//!    patches), confuses endings with bifurcations, adds position and angle noise and
//!    invents spurious minutiae (broken ridges, bridges, border artefacts), all oriented
//!    along the local ridge flow like real false minutiae.

use std::f64::consts::PI;

use biometrics::iso19794::{FingerRecord, FingerView, Minutia, MinutiaKind};
use rand::Rng;
use rand_distr::{Distribution, Normal, Poisson};

use super::orientation::smoothstep;
use super::{inside_pad, FingerMaster, Kind, PatternClass};
use crate::capture::CaptureQuality;

/// Width of the synthetic sensor image in pixels (as in the FVC2002 records).
pub const SENSOR_WIDTH: u16 = 300;
/// Height of the synthetic sensor image in pixels.
pub const SENSOR_HEIGHT: u16 = 400;
/// Sensor resolution in pixels per centimetre (197 ≈ 500 dpi).
pub const SENSOR_RES_PX_PER_CM: u16 = 197;

/// Minutiae closer than this to the sensor window edge are never reported.
const EDGE_MARGIN: f64 = 6.0;

/// How roughly a finger is pressed: the scale of skin distortion, rotation and extractor
/// misses around the live-scan model above. [`Distortion::LIVE_SCAN`] is what enrollment and
/// pickup captures use (and keeps every synthesized byte as before); [`Distortion::FVC2004`]
/// is the evidence the matcher is tuned against for the hard cases: the FVC2004 databases
/// were collected with volunteers asked to press hard, twist and drag the finger (strong
/// plastic distortion, rotations up to about ±30°) and with dry and wet fingers (large
/// unreadable patches, many missed minutiae).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Distortion {
    /// Multiplies the spread of the outer skin's rigid drag (rotation and shift).
    pub drag: f64,
    /// Multiplies the undistorted close-contact radius (below 1: distortion starts nearer the
    /// centre).
    pub free_radius: f64,
    /// Multiplies the spread of the finger's rotation on the sensor.
    pub rotation: f64,
    /// Largest rotation on the sensor, degrees.
    pub max_rotation_deg: f64,
    /// Added to every minutia's miss probability (dry or wet skin).
    pub extra_miss: f64,
    /// Added to the mean number of smudged or dry patches.
    pub extra_patches: f64,
}

impl Distortion {
    /// The live-scan captures of enrollment and pickup.
    pub const LIVE_SCAN: Distortion = Distortion {
        drag: 1.0,
        free_radius: 1.0,
        rotation: 1.0,
        max_rotation_deg: 25.0,
        extra_miss: 0.0,
        extra_patches: 0.0,
    };

    /// FVC2004-like captures: exaggerated distortion and rotation, dry and wet prints.
    pub const FVC2004: Distortion = Distortion {
        drag: 2.5,
        free_radius: 0.6,
        rotation: 2.0,
        max_rotation_deg: 30.0,
        extra_miss: 0.12,
        extra_patches: 1.0,
    };
}

/// All random choices of one capture, drawn up front.
struct Capture {
    severity: f64,
    /// Contact centre in the finger frame.
    centre: (f64, f64),
    /// Contact ellipse half-axes.
    radii: (f64, f64),
    /// Boundary irregularity: (amplitude, frequency, phase) terms on the contact radius.
    wobble: [(f64, f64, f64); 2],
    /// Plastic distortion: rotation of the outer skin, its translation, free radius,
    /// transition width.
    drag_rot: f64,
    drag_shift: (f64, f64),
    free_radius: f64,
    transition: f64,
    /// Gentle non-rigid displacement: (amplitude, kx, ky, phase) per axis.
    ripple: [(f64, f64, f64, f64); 2],
    /// Rotation on the sensor.
    rotation: f64,
    /// Sensor position of the contact centre.
    sensor_centre: (f64, f64),
    /// Smudged or dry patches (finger frame centre, radius).
    patches: Vec<(f64, f64, f64)>,
}

impl Capture {
    fn draw<R: Rng + ?Sized>(
        master: &FingerMaster,
        quality: CaptureQuality,
        d: &Distortion,
        rng: &mut R,
    ) -> Self {
        let n =
            |m: f64, sd: f64, rng: &mut R| Normal::new(m, sd).expect("valid normal").sample(rng);
        let s =
            (finger_severity(quality) + master.skin + n(0.0, SEVERITY_SPREAD, rng)).clamp(0.0, 1.3);
        let reference = reference_point(master);
        let centre = (
            reference.0 + n(0.0, 15.0 + 15.0 * s, rng),
            reference.1 + n(10.0, 18.0 + 18.0 * s, rng),
        );
        let shrink = 1.0 - 0.2 * s.min(1.2);
        let radii = (
            rng.gen_range(100.0..135.0) * shrink,
            rng.gen_range(135.0..180.0) * shrink,
        );
        let wobble = [
            (rng.gen_range(0.0..0.08), 2.0, rng.gen_range(0.0..2.0 * PI)),
            (rng.gen_range(0.0..0.05), 3.0, rng.gen_range(0.0..2.0 * PI)),
        ];
        let drag_rot = n(0.0, (1.5 + 2.5 * s).to_radians() * d.drag, rng);
        let drag_shift = (
            n(0.0, (3.0 + 6.0 * s) * d.drag, rng),
            n(0.0, (3.0 + 6.0 * s) * d.drag, rng),
        );
        let mut ripple = [(0.0, 0.0, 0.0, 0.0); 2];
        for r in ripple.iter_mut() {
            let wl = rng.gen_range(150.0..350.0);
            let d: f64 = rng.gen_range(0.0..PI);
            *r = (
                rng.gen_range(0.3..1.0 + 2.0 * s),
                2.0 * PI / wl * d.cos(),
                2.0 * PI / wl * d.sin(),
                rng.gen_range(0.0..2.0 * PI),
            );
        }
        let max_rotation = d.max_rotation_deg.to_radians();
        let rotation = n(0.0, (6.0 + 4.0 * s).to_radians() * d.rotation, rng)
            .clamp(-max_rotation, max_rotation);
        let sensor_centre = (
            f64::from(SENSOR_WIDTH) / 2.0 + n(0.0, 10.0 + 10.0 * s, rng),
            f64::from(SENSOR_HEIGHT) / 2.0 + n(0.0, 12.0 + 12.0 * s, rng),
        );
        let n_patches = Poisson::new(0.1 + 1.5 * s + d.extra_patches)
            .expect("valid poisson")
            .sample(rng) as usize;
        let patches = (0..n_patches)
            .map(|_| {
                let a: f64 = rng.gen_range(0.0..2.0 * PI);
                let r = rng.gen::<f64>().sqrt() * 0.8;
                (
                    centre.0 + r * radii.0 * a.cos(),
                    centre.1 + r * radii.1 * a.sin(),
                    rng.gen_range(18.0..50.0),
                )
            })
            .collect();
        Capture {
            severity: s,
            centre,
            radii,
            wobble,
            drag_rot,
            drag_shift,
            free_radius: rng.gen_range(35.0..70.0) * d.free_radius,
            transition: rng.gen_range(100.0..160.0),
            ripple,
            rotation,
            sensor_centre,
            patches,
        }
    }

    /// Normalised contact radius of a finger-frame point: below 1 inside the contact region.
    fn contact_rho(&self, x: f64, y: f64) -> f64 {
        let (dx, dy) = (x - self.centre.0, y - self.centre.1);
        let phi = dy.atan2(dx);
        let boundary: f64 = 1.0
            + self
                .wobble
                .iter()
                .map(|&(a, f, p)| a * (f * phi + p).sin())
                .sum::<f64>();
        ((dx / self.radii.0).powi(2) + (dy / self.radii.1).powi(2)).sqrt() / boundary
    }

    /// Maps a finger-frame point to sensor coordinates (distortion, rotation, offset).
    fn map(&self, x: f64, y: f64) -> (f64, f64) {
        let (cx, cy) = self.centre;
        let (dx, dy) = (x - cx, y - cy);
        // Plastic distortion: rigid drag of the outer skin, braked towards the centre.
        let r = dx.hypot(dy);
        let brake = smoothstep((r - self.free_radius) / self.transition);
        let (sr, cr) = self.drag_rot.sin_cos();
        let (tx, ty) = (
            cr * dx - sr * dy + self.drag_shift.0 - dx,
            sr * dx + cr * dy + self.drag_shift.1 - dy,
        );
        let (rx, ry) = {
            let [(a0, kx0, ky0, p0), (a1, kx1, ky1, p1)] = self.ripple;
            (
                a0 * (kx0 * x + ky0 * y + p0).sin(),
                a1 * (kx1 * x + ky1 * y + p1).sin(),
            )
        };
        let (ux, uy) = (dx + brake * tx + rx, dy + brake * ty + ry);
        let (s, c) = self.rotation.sin_cos();
        (
            c * ux - s * uy + self.sensor_centre.0,
            s * ux + c * uy + self.sensor_centre.1,
        )
    }

    /// Maps a direction at a finger-frame point through the distortion and rotation.
    fn map_dir(&self, x: f64, y: f64, dir: f64) -> f64 {
        let step = 4.0;
        let (ax, ay) = self.map(x, y);
        let (bx, by) = self.map(x + step * dir.cos(), y + step * dir.sin());
        (by - ay).atan2(bx - ax)
    }

    fn in_window(u: (f64, f64)) -> bool {
        u.0 >= EDGE_MARGIN
            && u.1 >= EDGE_MARGIN
            && u.0 <= f64::from(SENSOR_WIDTH) - 1.0 - EDGE_MARGIN
            && u.1 <= f64::from(SENSOR_HEIGHT) - 1.0 - EDGE_MARGIN
    }

    /// Distance of a sensor point to the window edge.
    fn window_edge_distance(u: (f64, f64)) -> f64 {
        let w = f64::from(SENSOR_WIDTH) - 1.0;
        let h = f64::from(SENSOR_HEIGHT) - 1.0;
        u.0.min(u.1).min(w - u.0).min(h - u.1)
    }

    fn in_patch(&self, x: f64, y: f64) -> bool {
        self.patches
            .iter()
            .any(|&(px, py, r)| (x - px).powi(2) + (y - py).powi(2) < r * r)
    }
}

/// Typical severity of a finger capture at each quality level, on a scale where 0 is a
/// flawless capture and 1 a barely usable one. Tuned so that the realistic quality mix
/// scores like the FVC2002 databases with our matcher.
fn finger_severity(quality: CaptureQuality) -> f64 {
    match quality {
        CaptureQuality::Good => 0.1,
        CaptureQuality::Fair => 0.3,
        CaptureQuality::Poor => 0.55,
    }
}

/// Spread of the severity between captures of one quality level: conditions (pressure,
/// moisture, care) vary from one touch to the next, which gives genuine scores their long
/// tails on both sides.
const SEVERITY_SPREAD: f64 = 0.14;

/// Where people centre the finger: the core region (the middle of the cores, or a bit
/// above the pad centre for arches).
fn reference_point(master: &FingerMaster) -> (f64, f64) {
    let f = &master.field;
    if f.cores.is_empty() || master.class == PatternClass::Arch {
        return (0.0, -20.0);
    }
    let n = f.cores.len() as f64;
    let (sx, sy) = f
        .cores
        .iter()
        .fold((0.0, 0.0), |acc, p| (acc.0 + p.0, acc.1 + p.1));
    (sx / n, sy / n + 25.0)
}

/// A minutia as the extractor reports it, before quantisation.
struct Reported {
    x: f64,
    y: f64,
    dir: f64,
    kind: Kind,
    quality: f64,
    /// Index of the master minutia reported, `None` for a spurious one.
    source: Option<usize>,
}

/// One capture of `master` at `quality`: a single-view ISO/IEC 19794-2:2005 record
/// (300×400 px at 197 px/cm, live-scan plain impression, ISO position of the master) whose
/// minutiae are what a live-scan sensor plus extractor would report. Deterministic for a
/// seeded `rng`; two impressions of one master form a genuine pair.
pub fn impression<R: Rng + ?Sized>(
    master: &FingerMaster,
    quality: CaptureQuality,
    rng: &mut R,
) -> FingerRecord {
    impression_with(master, quality, &Distortion::LIVE_SCAN, rng)
}

/// [`impression()`] pressed as `distortion` says (see [`Distortion`]).
pub fn impression_with<R: Rng + ?Sized>(
    master: &FingerMaster,
    quality: CaptureQuality,
    distortion: &Distortion,
    rng: &mut R,
) -> FingerRecord {
    impression_traced(master, quality, distortion, rng).0
}

/// What one impression did to the master finger, for diagnostics (matcher experiments that
/// need the ground truth of a synthetic pair: which reported minutiae are true, and how the
/// finger was placed). Returned by [`impression_traced`]; drawing it changes nothing in the
/// record.
#[derive(Debug, Clone, PartialEq)]
pub struct ImpressionTrace {
    /// Severity of the capture (0 flawless .. 1.3 barely usable).
    pub severity: f64,
    /// Rotation of the finger on the sensor, radians.
    pub rotation: f64,
    /// Sensor position of the contact centre, pixels.
    pub sensor_centre: (f64, f64),
    /// Contact centre in the finger frame, pixels.
    pub contact_centre: (f64, f64),
    /// Half-axes of the contact ellipse, pixels.
    pub contact_radii: (f64, f64),
    /// Rotation of the outer skin's plastic drag, radians.
    pub drag_rotation: f64,
    /// Translation of the outer skin's plastic drag, pixels.
    pub drag_shift: (f64, f64),
    /// Number of smudged or dry patches.
    pub patches: usize,
    /// Per master minutia: its sensor position when it lies inside the contact region and
    /// the sensor window (whether or not the extractor then reported it), else `None`.
    pub visible: Vec<Option<(f64, f64)>>,
    /// Per minutia of the record's view, in record order: the index of the master minutia it
    /// reports, or `None` for a spurious minutia.
    pub sources: Vec<Option<usize>>,
}

/// [`impression_with`] plus its [`ImpressionTrace`]; the record is byte-identical to
/// [`impression_with`]'s for the same `rng` state (it is the same computation).
pub fn impression_traced<R: Rng + ?Sized>(
    master: &FingerMaster,
    quality: CaptureQuality,
    distortion: &Distortion,
    rng: &mut R,
) -> (FingerRecord, ImpressionTrace) {
    let cap = Capture::draw(master, quality, distortion, rng);
    let mut visible = vec![None; master.minutiae.len()];
    let s = cap.severity;
    let pos_noise = Normal::new(0.0, 1.0 + 2.5 * s).expect("valid normal");
    let ang_noise = Normal::new(0.0, (3.0 + 8.0 * s).to_radians()).expect("valid normal");
    let view_quality = f64::from(quality.draw_score(rng)) - 40.0 * master.skin;
    let min_axis = cap.radii.0.min(cap.radii.1);

    let mut out: Vec<Reported> = Vec::new();
    for (index, m) in master.minutiae.iter().enumerate() {
        let rho = cap.contact_rho(m.x, m.y);
        if rho >= 1.0 {
            continue;
        }
        let u = cap.map(m.x, m.y);
        if !Capture::in_window(u) {
            continue;
        }
        visible[index] = Some(u);
        let border = ((1.0 - rho) * min_axis).min(Capture::window_edge_distance(u));
        let patch = cap.in_patch(m.x, m.y);
        let mut p_miss = 0.04 + 0.24 * s + distortion.extra_miss;
        if border < 22.0 {
            p_miss += 0.4 * (1.0 - border / 22.0);
        }
        if patch {
            p_miss += 0.5;
        }
        if rng.gen::<f64>() < p_miss.min(0.95) {
            continue;
        }
        let mut dir = cap.map_dir(m.x, m.y, m.dir) + ang_noise.sample(rng);
        if rng.gen_bool((0.01 + 0.06 * s).min(0.5)) {
            dir += PI;
        }
        let kind = if rng.gen_bool((0.05 + 0.2 * s).min(0.5)) {
            swap(m.kind)
        } else {
            m.kind
        };
        let mut q = view_quality + Normal::new(0.0, 10.0).expect("valid normal").sample(rng);
        if border < 22.0 || patch {
            q *= 0.7;
        }
        out.push(Reported {
            x: u.0 + pos_noise.sample(rng),
            y: u.1 + pos_noise.sample(rng),
            dir,
            kind,
            quality: q,
            source: Some(index),
        });
    }

    add_spurious(master, &cap, view_quality, rng, &mut out);

    let mut reported = out
        .into_iter()
        .filter(|r| Capture::in_window((r.x, r.y)))
        .map(|r| (to_iso(&r), r.source))
        .collect::<Vec<_>>();
    // Stable sort: the same order as sorting the minutiae alone.
    reported.sort_by_key(|(m, _)| (m.y, m.x));
    reported.truncate(255);
    let (minutiae, sources): (Vec<Minutia>, Vec<Option<usize>>) = reported.into_iter().unzip();

    let trace = ImpressionTrace {
        severity: s,
        rotation: cap.rotation,
        sensor_centre: cap.sensor_centre,
        contact_centre: cap.centre,
        contact_radii: cap.radii,
        drag_rotation: cap.drag_rot,
        drag_shift: cap.drag_shift,
        patches: cap.patches.len(),
        visible,
        sources,
    };
    let record = FingerRecord {
        capture_equipment: 0,
        width: SENSOR_WIDTH,
        height: SENSOR_HEIGHT,
        res_x: SENSOR_RES_PX_PER_CM,
        res_y: SENSOR_RES_PX_PER_CM,
        views: vec![FingerView {
            position: master.position,
            view_number: 0,
            impression_type: 0,
            quality: view_quality.round().clamp(1.0, 100.0) as u8,
            minutiae,
            extended: Vec::new(),
        }],
    };
    (record, trace)
}

fn swap(kind: Kind) -> Kind {
    match kind {
        Kind::Ending => Kind::Bifurcation,
        Kind::Bifurcation => Kind::Ending,
    }
}

/// Adds the false minutiae an extractor invents: scattered ones (noise, pores, creases),
/// clusters in smudged patches and artefacts along the contact border, a third of them as
/// pairs (broken ridge or bridge). All follow the true ridge flow.
fn add_spurious<R: Rng + ?Sized>(
    master: &FingerMaster,
    cap: &Capture,
    view_quality: f64,
    rng: &mut R,
    out: &mut Vec<Reported>,
) {
    let s = cap.severity;
    let period = master.period;
    let poisson = |l: f64, rng: &mut R| {
        if l <= 0.0 {
            0
        } else {
            Poisson::new(l).expect("valid poisson").sample(rng) as usize
        }
    };
    // (number wanted, sampler kind): 0 = anywhere, 1 = border band, 2+i = patch i.
    let mut wanted: Vec<(usize, usize)> = vec![
        (poisson(0.5 + 8.5 * s, rng), 0),
        (poisson(0.5 + 3.0 * s, rng), 1),
    ];
    for i in 0..cap.patches.len() {
        wanted.push((poisson(2.0 + 3.0 * s, rng), 2 + i));
    }
    for (count, where_) in wanted {
        let mut placed = 0;
        let mut attempts = 0;
        while placed < count && attempts < 60 * (count + 1) {
            attempts += 1;
            let (x, y) = match where_ {
                0 | 1 => {
                    let a: f64 = rng.gen_range(0.0..2.0 * PI);
                    let r = if where_ == 0 {
                        rng.gen::<f64>().sqrt()
                    } else {
                        rng.gen_range(0.85..1.0)
                    };
                    (
                        cap.centre.0 + r * cap.radii.0 * 1.1 * a.cos(),
                        cap.centre.1 + r * cap.radii.1 * 1.1 * a.sin(),
                    )
                }
                p => {
                    let (px, py, pr) = cap.patches[p - 2];
                    let a: f64 = rng.gen_range(0.0..2.0 * PI);
                    let r = rng.gen::<f64>().sqrt() * pr;
                    (px + r * a.cos(), py + r * a.sin())
                }
            };
            let rho = cap.contact_rho(x, y);
            if rho >= 1.0 || (where_ == 1 && rho < 0.85) || !inside_pad(master.pad, x, y) {
                continue;
            }
            let u = cap.map(x, y);
            if !Capture::in_window(u)
                || out
                    .iter()
                    .any(|r| (r.x - u.0).powi(2) + (r.y - u.1).powi(2) < (0.5 * period).powi(2))
            {
                continue;
            }
            let theta = master.field.at(x, y) + if rng.gen_bool(0.5) { PI } else { 0.0 };
            let kind = if rng.gen_bool(0.6) {
                Kind::Ending
            } else {
                Kind::Bifurcation
            };
            let jitter = Normal::new(0.0, 8f64.to_radians()).expect("valid normal");
            let q = 0.6 * view_quality + Normal::new(0.0, 12.0).expect("valid normal").sample(rng);
            let dir = cap.map_dir(x, y, theta);
            out.push(Reported {
                x: u.0,
                y: u.1,
                dir: dir + jitter.sample(rng),
                kind,
                quality: q,
                source: None,
            });
            placed += 1;
            // Broken ridge (two endings facing each other) or bridge (two bifurcations).
            if rng.gen_bool(0.35) {
                let len = rng.gen_range(0.5..1.8) * period;
                let (bx, by) = (x + len * theta.cos(), y + len * theta.sin());
                if cap.contact_rho(bx, by) < 1.0 && inside_pad(master.pad, bx, by) {
                    let v = cap.map(bx, by);
                    if Capture::in_window(v) {
                        out.push(Reported {
                            x: v.0,
                            y: v.1,
                            dir: cap.map_dir(bx, by, theta + PI) + jitter.sample(rng),
                            kind,
                            quality: q,
                            source: None,
                        });
                        placed += 1;
                    }
                }
            }
        }
    }
}

/// Quantises a reported minutia to the ISO record: pixel position, angle in 360/256° units
/// counter-clockwise from the x axis (image y points down, so the visual angle is `−dir`).
fn to_iso(r: &Reported) -> Minutia {
    let ccw = (-r.dir).rem_euclid(2.0 * PI);
    let angle = ((ccw / (2.0 * PI) * 256.0).round() as i64).rem_euclid(256) as u8;
    Minutia {
        kind: match r.kind {
            Kind::Ending => MinutiaKind::RidgeEnding,
            Kind::Bifurcation => MinutiaKind::Bifurcation,
        },
        x: r.x.round().clamp(0.0, f64::from(SENSOR_WIDTH - 1)) as u16,
        y: r.y.round().clamp(0.0, f64::from(SENSOR_HEIGHT - 1)) as u16,
        angle,
        quality: r.quality.round().clamp(1.0, 100.0) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn impression_is_deterministic_and_well_formed() {
        let master = FingerMaster::generate(7, &mut ChaCha8Rng::seed_from_u64(1));
        let a = impression(
            &master,
            CaptureQuality::Fair,
            &mut ChaCha8Rng::seed_from_u64(2),
        );
        let b = impression(
            &master,
            CaptureQuality::Fair,
            &mut ChaCha8Rng::seed_from_u64(2),
        );
        assert_eq!(a, b);
        assert_eq!((a.width, a.height, a.res_x, a.res_y), (300, 400, 197, 197));
        assert_eq!(a.views.len(), 1);
        let v = &a.views[0];
        assert_eq!(v.position, 7);
        assert!((1..=100).contains(&v.quality));
        for m in &v.minutiae {
            assert!(m.x < 300 && m.y < 400);
            assert!((1..=100).contains(&m.quality));
            assert_ne!(m.kind, MinutiaKind::Other);
        }
        // The record survives the ISO writer and reader.
        let bytes = a.to_bytes();
        assert_eq!(biometrics::iso19794::parse(&bytes).expect("parses"), a);
    }

    /// Scores every pair of `per_finger` impressions of `fingers` masters at `quality`:
    /// (genuine, impostor) sorted ascending.
    fn scores(
        fingers: usize,
        per_finger: usize,
        quality: CaptureQuality,
        seed: u64,
    ) -> (Vec<f32>, Vec<f32>) {
        use biometrics::finger::{compare, prepare};
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut templates = Vec::new();
        for f in 0..fingers {
            let master = FingerMaster::generate((f % 10 + 1) as u8, &mut rng);
            for _ in 0..per_finger {
                let rec = impression(&master, quality, &mut rng);
                templates.push((f, prepare(&rec.views[0], rec.res_x, rec.res_y)));
            }
        }
        let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
        for i in 0..templates.len() {
            for j in i + 1..templates.len() {
                let s = compare(&templates[i].1, &templates[j].1);
                if templates[i].0 == templates[j].0 {
                    genuine.push(s);
                } else {
                    impostor.push(s);
                }
            }
        }
        genuine.sort_by(f32::total_cmp);
        impostor.sort_by(f32::total_cmp);
        (genuine, impostor)
    }

    #[test]
    fn genuine_and_impostor_scores_overlap_like_real_data() {
        let (good_gen, good_imp) = scores(16, 4, CaptureQuality::Good, 8);
        let (poor_gen, poor_imp) = scores(16, 4, CaptureQuality::Poor, 9);
        let median = |v: &[f32]| v[v.len() / 2];
        let p99 = |v: &[f32]| v[v.len() * 99 / 100];
        // Good captures separate well but not trivially: the weakest genuine pairs fall
        // among the impostors.
        assert!(
            median(&good_gen) > p99(&good_imp),
            "good genuine median below impostor p99"
        );
        assert!(
            good_gen[0] < p99(&good_imp) * 3.0,
            "no hard genuine pair at all"
        );
        // Poor captures are much harder.
        assert!(median(&poor_gen) < median(&good_gen));
        let poor_below = poor_gen.iter().filter(|&&s| s <= p99(&poor_imp)).count();
        assert!(poor_below * 10 > poor_gen.len(), "poor captures too easy");
    }

    #[test]
    fn counts_and_quality_behave_like_real_captures() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let mut mean = [0.0f64; 3];
        let n = 150;
        for i in 0..n {
            let master = FingerMaster::generate((i % 10 + 1) as u8, &mut rng);
            for (k, q) in CaptureQuality::ALL.into_iter().enumerate() {
                let rec = impression(&master, q, &mut rng);
                let c = rec.views[0].minutiae.len();
                assert!(c <= 120, "{c} minutiae");
                mean[k] += c as f64 / n as f64;
            }
        }
        // FVC2002 extractor output averages 26..41 minutiae per 300×400 record.
        assert!((25.0..50.0).contains(&mean[0]), "good mean {}", mean[0]);
        assert!(mean[2] < mean[0], "poor {} vs good {}", mean[2], mean[0]);
    }
}
