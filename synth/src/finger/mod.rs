//! Synthetic fingerprints: a "true" finger per person and finger position, and noisy
//! captures of it as ISO/IEC 19794-2:2005 minutiae records.
//!
//! A [`FingerMaster`] is the finger itself: a pattern class drawn with the frequencies of
//! real populations (depending on the finger position), a ridge-flow model with cores and
//! deltas (Sherlock–Monro zero-pole model, see the `orientation` submodule), a ridge period,
//! and a master set of minutiae placed on that flow with a realistic density (higher where
//! the flow curves), a hard minimum distance of about one ridge period, rare pairs closer
//! than two periods, and the short-ridge / enclosure pairs real fingers have. Every
//! minutia's direction follows the local ridge flow, and its sense (the π ambiguity) follows
//! where the flow spreads (ridges are inserted there, and under the ISO angle convention
//! endings and bifurcations then point the same way) plus a smooth regional polarity, so
//! neighbouring minutiae are mostly parallel as in real templates. Two different fingers of
//! one class therefore share structure the way real prints do and impostor scores are not
//! unrealistically low.
//!
//! [`impression()`] captures a master the way a live-scan sensor and a minutiae extractor do:
//! off-centre placement, rotation, elastic skin distortion that grows away from the contact
//! centre, cropping by the contact area and the sensor window, missed minutiae (more at the
//! border and in smudged patches), spurious minutiae that follow the ridge flow, type
//! confusion, position and angle noise, all scaled by [`CaptureQuality`](crate::capture::CaptureQuality).
//!
//! Pattern-class frequencies per finger follow the dermatoglyphics literature (loops
//! dominate, ulnar loops most of all on the little finger, whorls most frequent on thumbs and
//! ring fingers, arches and radial loops mostly on index fingers); averaged over the ten
//! fingers they give ≈ 4 % arch, 3 % tented arch, 33 % left loop, 32 % right loop, 28 %
//! whorl, close to the NIST figures (3.7 / 2.9 / 33.8 / 31.7 / 27.9 %).
//!
//! A little over our ~600-line mark on purpose: the master finger and its impressions share
//! one parameter set and one random stream; the heavy parts (flow model, impression noise)
//! already live in submodules.

pub mod band_samples;
mod database;
mod impression;
pub(crate) mod orientation;

use std::f64::consts::PI;

use rand::Rng;
use rand_distr::{Distribution, Normal};

use orientation::{ArchBump, Bend, OrientationField};

pub use database::fvc_database;
pub use impression::{
    impression, impression_traced, impression_with, Distortion, ImpressionTrace, SENSOR_HEIGHT,
    SENSOR_RES_PX_PER_CM, SENSOR_WIDTH,
};

/// Henry/NIST pattern class of a fingerprint; decides the singular points of the ridge flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PatternClass {
    /// Plain arch: ridges cross the finger with a rise in the middle; no core, no delta.
    Arch,
    /// Tented arch: a sharp rise, with a core directly above a delta.
    TentedArch,
    /// Loop whose ridges enter and leave on the left of the image; delta on the right.
    LeftLoop,
    /// Loop whose ridges enter and leave on the right of the image; delta on the left.
    RightLoop,
    /// Whorl (including double loops): two cores, two deltas.
    Whorl,
}

impl PatternClass {
    /// All classes in declaration order.
    pub const ALL: [PatternClass; 5] = [
        PatternClass::Arch,
        PatternClass::TentedArch,
        PatternClass::LeftLoop,
        PatternClass::RightLoop,
        PatternClass::Whorl,
    ];

    /// Probabilities of [`PatternClass::ALL`] at an ISO finger position (1 = right thumb …
    /// 5 = right little, 6 = left thumb … 10 = left little; 0 or anything else = unknown,
    /// which gets the average over the ten fingers).
    ///
    /// Per finger kind (arch, tented, ulnar loop, radial loop, whorl), in percent: thumb
    /// 2/1/56/1/40, index 9/9/36/14/32, middle 6/4/68/2/20, ring 2/1/60/1/36, little
    /// 1/1/82/1/15. On a print of the right hand an ulnar loop opens to the right (a right
    /// loop); on the left hand it is a left loop.
    pub fn probabilities(position: u8) -> [f64; 5] {
        const BY_FINGER: [[f64; 5]; 5] = [
            [2.0, 1.0, 56.0, 1.0, 40.0],
            [9.0, 9.0, 36.0, 14.0, 32.0],
            [6.0, 4.0, 68.0, 2.0, 20.0],
            [2.0, 1.0, 60.0, 1.0, 36.0],
            [1.0, 1.0, 82.0, 1.0, 15.0],
        ];
        let one = |finger: usize, right_hand: bool| {
            let [a, t, ulnar, radial, w] = BY_FINGER[finger];
            let (left, right) = if right_hand {
                (radial, ulnar)
            } else {
                (ulnar, radial)
            };
            [a / 100.0, t / 100.0, left / 100.0, right / 100.0, w / 100.0]
        };
        match position {
            1..=5 => one(position as usize - 1, true),
            6..=10 => one(position as usize - 6, false),
            _ => {
                let mut avg = [0.0; 5];
                for finger in 0..5 {
                    for hand in [true, false] {
                        for (a, p) in avg.iter_mut().zip(one(finger, hand)) {
                            *a += p / 10.0;
                        }
                    }
                }
                avg
            }
        }
    }

    /// Draws a class for a finger position with the frequencies of
    /// [`PatternClass::probabilities`].
    pub fn draw<R: Rng + ?Sized>(position: u8, rng: &mut R) -> PatternClass {
        let probs = Self::probabilities(position);
        let mut u: f64 = rng.gen();
        for (class, p) in Self::ALL.iter().zip(probs) {
            if u < p {
                return *class;
            }
            u -= p;
        }
        PatternClass::Whorl
    }
}

/// Kind of a master minutia (ridge ending or bifurcation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ending,
    Bifurcation,
}

/// One minutia of the true finger, in the finger frame (pixels at 500 dpi, y down).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MasterMinutia {
    pub x: f64,
    pub y: f64,
    /// Full direction in radians: the minutia points along the image vector `(cos, sin)`.
    pub dir: f64,
    pub kind: Kind,
}

/// The true finger of one person at one finger position: pattern class, ridge-flow model,
/// ridge period and the master set of minutiae. Captures ([`impression()`]) are noisy views of
/// it; two impressions of one master are a genuine pair.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerMaster {
    position: u8,
    class: PatternClass,
    field: OrientationField,
    /// Half-width and half-height of the elliptical finger pad, pixels.
    pad: (f64, f64),
    /// Mean ridge period (centre-to-centre ridge spacing), pixels.
    period: f64,
    /// Personal skin condition in `0.0..=0.35`: worn, dry or scarred fingers add this much
    /// severity to every capture.
    skin: f64,
    minutiae: Vec<MasterMinutia>,
}

impl FingerMaster {
    /// Generates the true finger of a new person at ISO finger `position` (0 = unknown,
    /// 1..=10 = right thumb .. left little); deterministic for a seeded `rng`.
    pub fn generate<R: Rng + ?Sized>(position: u8, rng: &mut R) -> FingerMaster {
        let class = PatternClass::draw(position, rng);
        let pad = pad_size(position, rng);
        let field = layout(class, pad, rng);
        let period = Normal::<f64>::new(9.5, 0.6)
            .expect("valid normal")
            .sample(rng)
            .clamp(8.0, 11.5);
        let skin = draw_skin(rng);
        let minutiae = place_minutiae(&field, pad, period, rng);
        FingerMaster {
            position,
            class,
            field,
            pad,
            period,
            skin,
            minutiae,
        }
    }

    /// A finger of a twin or close relative at the same position: same class, singular
    /// points and flow close to this one, but a brand-new set of minutiae (minutiae are
    /// formed by random events in the womb, even identical twins differ). Impostor pairs
    /// against a sibling are harder than against a stranger.
    pub fn sibling<R: Rng + ?Sized>(&self, rng: &mut R) -> FingerMaster {
        let jitter = Normal::new(0.0, 10.0).expect("valid normal");
        let mut field = self.field.clone();
        for p in field.cores.iter_mut().chain(field.deltas.iter_mut()) {
            p.0 += jitter.sample(rng);
            p.1 += jitter.sample(rng);
        }
        field.theta_inf += Normal::new(0.0, 0.03).expect("valid normal").sample(rng);
        if let Some(arch) = field.arch.as_mut() {
            arch.x0 += jitter.sample(rng);
            arch.width *= rng.gen_range(0.9..1.1);
            arch.height *= rng.gen_range(0.85..1.15);
        }
        // Keep the large-scale individual bends (inherited), redraw the rest.
        for (i, b) in field.bends.iter_mut().enumerate() {
            if i == 0 {
                b.phase += rng.gen_range(-0.4..0.4);
            } else {
                *b = draw_bend(rng);
            }
        }
        let scale = rng.gen_range(0.96..1.04);
        let pad = (self.pad.0 * scale, self.pad.1 * scale);
        field.pad = pad;
        let period = (self.period + rng.gen_range(-0.3..0.3)).clamp(8.0, 11.5);
        let minutiae = place_minutiae(&field, pad, period, rng);
        FingerMaster {
            position: self.position,
            class: self.class,
            field,
            pad,
            period,
            skin: draw_skin(rng),
            minutiae,
        }
    }

    /// Pattern class of this finger.
    pub fn class(&self) -> PatternClass {
        self.class
    }

    /// ISO finger position this finger was generated for (written into every impression).
    pub fn position(&self) -> u8 {
        self.position
    }

    /// Number of minutiae on the whole true finger (an impression sees a subset of them plus
    /// spurious ones).
    pub fn minutiae_count(&self) -> usize {
        self.minutiae.len()
    }

    /// Ridge orientation of the true finger at finger-frame point `(x, y)`, radians in
    /// `[0, π)`; exposed for diagnostics and plots of the flow model.
    pub fn orientation_at(&self, x: f64, y: f64) -> f64 {
        self.field.at(x, y)
    }

    /// Master minutiae as `(x, y, direction radians, is_bifurcation)` in the finger frame
    /// (origin at the pad centre, y down); for diagnostics and plots.
    pub fn master_minutiae(&self) -> Vec<(f64, f64, f64, bool)> {
        self.minutiae
            .iter()
            .map(|m| (m.x, m.y, m.dir, m.kind == Kind::Bifurcation))
            .collect()
    }
}

/// Personal skin condition: most fingers are fine, some are worn (manual labour) or dry.
fn draw_skin<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u: f64 = rng.gen();
    if u < 0.75 {
        rng.gen_range(0.0..0.08)
    } else if u < 0.95 {
        rng.gen_range(0.08..0.2)
    } else {
        rng.gen_range(0.2..0.35)
    }
}

/// Half-axes of the elliptical finger pad in pixels, by finger (thumbs widest, little
/// fingers smallest), with personal variation.
fn pad_size<R: Rng + ?Sized>(position: u8, rng: &mut R) -> (f64, f64) {
    let (w, h) = match position {
        1 | 6 => (185.0, 250.0),
        2 | 7 => (160.0, 230.0),
        3 | 8 => (165.0, 240.0),
        4 | 9 => (155.0, 225.0),
        5 | 10 => (138.0, 205.0),
        _ => (160.0, 230.0),
    };
    let s = Normal::<f64>::new(1.0, 0.05)
        .expect("valid normal")
        .sample(rng)
        .clamp(0.88, 1.12);
    (w * s, h * s)
}

fn draw_bend<R: Rng + ?Sized>(rng: &mut R) -> Bend {
    let wavelength: f64 = rng.gen_range(180.0..480.0);
    let dir: f64 = rng.gen_range(0.0..PI);
    let k = 2.0 * PI / wavelength;
    Bend {
        amp: rng.gen_range(0.03..0.09),
        kx: k * dir.cos(),
        ky: k * dir.sin(),
        phase: rng.gen_range(0.0..2.0 * PI),
    }
}

/// Places the singular points of a class on a pad.
fn layout<R: Rng + ?Sized>(class: PatternClass, pad: (f64, f64), rng: &mut R) -> OrientationField {
    let n = |m: f64, s: f64, rng: &mut R| Normal::new(m, s).expect("valid normal").sample(rng);
    let centre = (n(0.0, 12.0, rng), n(-25.0, 22.0, rng));
    let theta_inf = n(0.0, 0.09, rng);
    let mut cores = Vec::new();
    let mut deltas = Vec::new();
    let mut arch = None;
    match class {
        PatternClass::Arch => {
            arch = Some(ArchBump {
                x0: n(0.0, 15.0, rng),
                width: rng.gen_range(55.0..100.0),
                height: rng.gen_range(60.0..140.0),
            });
        }
        PatternClass::TentedArch => {
            cores.push(centre);
            deltas.push((
                centre.0 + n(0.0, 8.0, rng),
                centre.1 + rng.gen_range(30.0..75.0),
            ));
        }
        PatternClass::LeftLoop | PatternClass::RightLoop => {
            let side = if class == PatternClass::LeftLoop {
                1.0
            } else {
                -1.0
            };
            cores.push(centre);
            deltas.push((
                centre.0 + side * rng.gen_range(60.0..130.0),
                centre.1 + rng.gen_range(80.0..150.0),
            ));
        }
        PatternClass::Whorl => {
            if rng.gen_bool(0.6) {
                // Plain whorl / central pocket: two cores close together, one above the other.
                let dy = rng.gen_range(8.0..22.0);
                let dx = n(0.0, 5.0, rng);
                cores.push((centre.0 + dx, centre.1 - dy));
                cores.push((centre.0 - dx, centre.1 + dy));
            } else {
                // Double loop: cores offset diagonally.
                let dx = rng.gen_range(12.0..35.0) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
                let dy = rng.gen_range(15.0..32.0);
                cores.push((centre.0 + dx, centre.1 - dy));
                cores.push((centre.0 - dx, centre.1 + dy));
            }
            let drop = rng.gen_range(90.0..150.0);
            deltas.push((
                centre.0 - rng.gen_range(90.0..140.0),
                centre.1 + drop + n(0.0, 12.0, rng),
            ));
            deltas.push((
                centre.0 + rng.gen_range(90.0..140.0),
                centre.1 + drop + n(0.0, 12.0, rng),
            ));
        }
    }
    let bends = (0..3).map(|_| draw_bend(rng)).collect();
    OrientationField {
        cores,
        deltas,
        theta_inf,
        arch,
        pad,
        bends,
    }
}

/// How strongly minutia directions follow the sign of the flow divergence (per ridge
/// period of spreading, in radians).
const DIVERGENCE_GAIN: f64 = 25.0;

/// Fewest master minutiae on a whole finger pad.
pub const MIN_MINUTIAE: usize = 35;
/// Most master minutiae on a whole finger pad (a rolled print shows about this many).
pub const MAX_MINUTIAE: usize = 110;

/// Mean minutia density of a finger, minutiae per square pixel at 500 dpi (≈ 0.24 per mm²,
/// as measured on the FVC2002 templates: ~34 minutiae in a ~50 000 px² print).
const MINUTIA_DENSITY: f64 = 6.2e-4;

fn inside_pad(pad: (f64, f64), x: f64, y: f64) -> bool {
    (x / pad.0).powi(2) + (y / pad.1).powi(2) <= 1.0
}

/// Places the master minutiae: dart throwing on the pad with density rising where the flow
/// curves, a hard minimum distance of one ridge period and a soft one of two periods, plus
/// short-ridge / enclosure pairs.
fn place_minutiae<R: Rng + ?Sized>(
    field: &OrientationField,
    pad: (f64, f64),
    period: f64,
    rng: &mut R,
) -> Vec<MasterMinutia> {
    let area = PI * pad.0 * pad.1;
    let personal = Normal::<f64>::new(0.0, 0.15)
        .expect("valid normal")
        .sample(rng)
        .exp();
    let target =
        ((MINUTIA_DENSITY * personal * area).round() as usize).clamp(MIN_MINUTIAE, MAX_MINUTIAE);
    let hard = 1.05 * period;
    let soft = 2.0 * period;
    let weight = |x: f64, y: f64| 0.6 + (field.curvature(x, y) * 60.0).min(1.4);
    let w_max = 2.0;
    let mut out: Vec<MasterMinutia> = Vec::with_capacity(target + 8);
    let too_close = |out: &[MasterMinutia], x: f64, y: f64, d: f64| {
        out.iter()
            .any(|m| (m.x - x).powi(2) + (m.y - y).powi(2) < d * d)
    };
    let waves: Vec<Bend> = (0..3)
        .map(|_| {
            let mut b = draw_bend(rng);
            b.amp = rng.gen_range(1.0..2.0);
            b
        })
        .collect();
    let polarity = |x: f64, y: f64| -> f64 {
        waves
            .iter()
            .map(|b| b.amp * (b.kx * x + b.ky * y + b.phase).sin())
            .sum()
    };
    let mut attempts = 0;
    while out.len() < target && attempts < 200 * target {
        attempts += 1;
        let x = rng.gen_range(-pad.0..pad.0);
        let y = rng.gen_range(-pad.1..pad.1);
        if !inside_pad(pad, x, y) || rng.gen::<f64>() * w_max > weight(x, y) {
            continue;
        }
        if too_close(&out, x, y, hard) || (too_close(&out, x, y, soft) && rng.gen_bool(0.9)) {
            continue;
        }
        let theta = field.at(x, y);
        // Where flow lines spread apart, ridges must be inserted downstream: bifurcations
        // open and new ridges start in the spreading direction, and under the ISO angle
        // convention both kinds then point the same way. So the direction follows the sign
        // of the flow divergence, strongly where the flow spreads fast.
        // Away from strong divergence, ridge insertions still run the same way over
        // regions of the finger: a smooth random polarity field carries that.
        let drive = DIVERGENCE_GAIN * period * field.divergence(x, y) + polarity(x, y);
        let p_forward = 0.5 + 0.45 * drive.tanh();
        let dir = theta + if rng.gen_bool(p_forward) { 0.0 } else { PI };
        let kind = if rng.gen_bool(0.55) {
            Kind::Ending
        } else {
            Kind::Bifurcation
        };
        out.push(MasterMinutia { x, y, dir, kind });
        // Short ridge (two endings) or enclosure (two bifurcations): a partner further along
        // the same ridge, pointing the other way.
        if out.len() < target && rng.gen_bool(0.12) {
            let len = rng.gen_range(2.0..4.0) * period;
            let (px, py) = (x + len * dir.cos(), y + len * dir.sin());
            if inside_pad(pad, px, py) && !too_close(&out, px, py, hard) {
                let t2 = field.at(px, py);
                let want = dir + PI;
                let d2 = if angle_diff(t2, want) < PI / 2.0 {
                    t2
                } else {
                    t2 + PI
                };
                out.push(MasterMinutia {
                    x: px,
                    y: py,
                    dir: d2,
                    kind,
                });
            }
        }
    }
    out
}

/// Absolute difference of two directions, in `[0, π]`.
pub(crate) fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(2.0 * PI);
    d.min(2.0 * PI - d)
}

#[cfg(test)]
mod tests {
    use super::orientation::orientation_diff;
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn class_probabilities_sum_to_one_and_match_population() {
        for pos in 0..=10u8 {
            let s: f64 = PatternClass::probabilities(pos).iter().sum();
            assert!((s - 1.0).abs() < 1e-9, "position {pos}: {s}");
        }
        let avg = PatternClass::probabilities(0);
        let nist = [0.037, 0.029, 0.338, 0.317, 0.279];
        for (a, n) in avg.iter().zip(nist) {
            assert!((a - n).abs() < 0.03, "{avg:?}");
        }
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut counts = [0usize; 5];
        for _ in 0..5000 {
            counts[PatternClass::draw(0, &mut rng) as usize] += 1;
        }
        for (c, p) in counts.iter().zip(avg) {
            assert!((*c as f64 / 5000.0 - p).abs() < 0.02);
        }
    }

    #[test]
    fn little_fingers_are_mostly_ulnar_loops() {
        assert!(PatternClass::probabilities(5)[3] > 0.8); // right hand: right loop
        assert!(PatternClass::probabilities(10)[2] > 0.8); // left hand: left loop
    }

    #[test]
    fn generation_is_deterministic() {
        let a = FingerMaster::generate(2, &mut ChaCha8Rng::seed_from_u64(5));
        let b = FingerMaster::generate(2, &mut ChaCha8Rng::seed_from_u64(5));
        let c = FingerMaster::generate(2, &mut ChaCha8Rng::seed_from_u64(6));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn master_minutiae_are_realistic() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut close_pairs = 0usize;
        let mut total = 0usize;
        let mut endings = 0usize;
        for i in 0..200 {
            let m = FingerMaster::generate((i % 10 + 1) as u8, &mut rng);
            let n = m.minutiae.len();
            assert!((MIN_MINUTIAE..=MAX_MINUTIAE).contains(&n), "{n} minutiae");
            total += n;
            for (a, p) in m.minutiae.iter().enumerate() {
                assert!(inside_pad(m.pad, p.x, p.y));
                // Direction follows the ridge flow (modulo π).
                assert!(orientation_diff(p.dir, m.field.at(p.x, p.y)) < 0.35);
                endings += usize::from(p.kind == Kind::Ending);
                for q in &m.minutiae[a + 1..] {
                    let d = (p.x - q.x).hypot(p.y - q.y);
                    assert!(d >= 1.05 * m.period - 1e-9, "minutiae {d:.1} px apart");
                    if d < 2.0 * m.period {
                        close_pairs += 1;
                    }
                }
            }
        }
        // Closer than two ridges is rare (a few percent of minutiae).
        assert!(
            (close_pairs as f64) < 0.08 * total as f64,
            "{close_pairs} of {total}"
        );
        let share = endings as f64 / total as f64;
        assert!((0.48..0.62).contains(&share), "endings {share}");
    }

    #[test]
    fn neighbouring_directions_are_coherent() {
        // Real minutiae near each other mostly point the same way (FVC2002 templates: ~45 %
        // of neighbours within 60 px are parallel within 30°, ~28 % anti-parallel); random
        // 50/50 directions would give equal shares.
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let (mut parallel, mut anti) = (0usize, 0usize);
        for _ in 0..100 {
            let m = FingerMaster::generate(0, &mut rng);
            for p in &m.minutiae {
                for q in &m.minutiae {
                    let d = (p.x - q.x).hypot(p.y - q.y);
                    if d > 10.0 && d < 60.0 {
                        let a = angle_diff(p.dir, q.dir);
                        parallel += usize::from(a < PI / 6.0);
                        anti += usize::from(a > 5.0 * PI / 6.0);
                    }
                }
            }
        }
        assert!(parallel as f64 > 1.3 * anti as f64, "{parallel} vs {anti}");
    }

    #[test]
    fn sibling_shares_class_but_not_minutiae() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        for _ in 0..20 {
            let m = FingerMaster::generate(3, &mut rng);
            let s = m.sibling(&mut rng);
            assert_eq!(m.class(), s.class());
            assert_eq!(m.position(), s.position());
            for (a, b) in m.field.cores.iter().zip(&s.field.cores) {
                assert!((a.0 - b.0).hypot(a.1 - b.1) < 60.0);
            }
            // Hardly any minutia of the sibling coincides with one of the original.
            let same = s
                .minutiae
                .iter()
                .filter(|p| {
                    m.minutiae.iter().any(|q| {
                        (p.x - q.x).hypot(p.y - q.y) < 3.0 && angle_diff(p.dir, q.dir) < 0.2
                    })
                })
                .count();
            assert!(same * 10 < s.minutiae.len(), "{same} shared");
        }
    }
}
