//! Synthetic IrisCodes that behave like Daugman's.
//!
//! An [`IrisMaster`] is the texture of one eye as the encoder sees it: per ring (8 radial
//! samples) and angular sample (128) a complex 2-D Gabor response. Real responses are
//! spatially smooth, which correlates neighbouring code bits; that correlation is what
//! gives Daugman's impostor distribution its ≈ 249 degrees of freedom (mean fractional
//! Hamming distance 0.50, standard deviation ≈ 0.03) instead of the 0.011 an independent
//! 2048-bit string would give. Here the response is complex white noise smoothed along the
//! angle (Gaussian kernel of a few samples, cyclic) and a little across rings, tuned so that
//! synthetic impostor distances match those figures.
//!
//! [`capture`] produces one IrisCode: the eye is rotated by a few angular samples (a cyclic
//! shift of each ring), the pupil dilates (rings sample slightly different radii), sensor and
//! segmentation noise is added to the response before phase quantisation (bits whose
//! response is weak flip first, as in real codes), and the mask hides the arcs under the
//! upper and lower eyelids, eyelash spots and specular reflections. Eyelid opening is partly
//! personal (some people's lids always cover more of the iris) and partly per capture;
//! [`CaptureQuality`] scales every noise source.
//!
//! Bit layout (`docs/iris-code-format.md`): bit `i = 256·ring + 2·sample + phase`, stored in
//! 32 little-endian u64 words.

use std::f64::consts::PI;

use biometrics::iris::{Eye, IrisCode};
use rand::Rng;
use rand_distr::{Distribution, Normal, Poisson};

use crate::capture::CaptureQuality;

/// Number of rings (radial samples) of an IrisCode.
pub const RINGS: usize = 8;
/// Angular samples per ring.
pub const SAMPLES: usize = 128;

/// Angular correlation of the texture: Gaussian smoothing sigma, in angular samples.
const ANGULAR_SIGMA: f64 = 3.4;
/// Share of the neighbouring rings mixed into each ring (radial correlation).
const RADIAL_MIX: f64 = 0.35;

/// The angular sample that points straight up in the camera frame (90° of 360°).
const TOP_SAMPLE: f64 = SAMPLES as f64 / 4.0;

/// The true iris of one eye of one person: its Gabor-phase texture and how far the
/// person's eyelids usually open.
#[derive(Debug, Clone, PartialEq)]
pub struct IrisMaster {
    eye: Eye,
    /// Complex response per ring and sample, unit variance per component.
    texture: Vec<[f64; 2]>,
    /// Usual height of the upper eyelid margin above the pupil centre, in iris radii.
    openness: f64,
}

impl IrisMaster {
    /// Generates the iris of one eye of a new person; deterministic for a seeded `rng`.
    pub fn generate<R: Rng + ?Sized>(eye: Eye, rng: &mut R) -> IrisMaster {
        let std = Normal::new(0.0, 1.0).expect("valid normal");
        let white: Vec<[f64; 2]> = (0..RINGS * SAMPLES)
            .map(|_| [std.sample(rng), std.sample(rng)])
            .collect();
        let angular = smooth_angular(&white, ANGULAR_SIGMA);
        // Radial mixing with the neighbouring rings, then renormalise.
        let mut texture = vec![[0.0; 2]; RINGS * SAMPLES];
        for r in 0..RINGS {
            for a in 0..SAMPLES {
                let mut v = angular[r * SAMPLES + a];
                let mut w2 = 1.0;
                for nr in [r.wrapping_sub(1), r + 1] {
                    if nr < RINGS {
                        let n = angular[nr * SAMPLES + a];
                        v[0] += RADIAL_MIX * n[0];
                        v[1] += RADIAL_MIX * n[1];
                        w2 += RADIAL_MIX * RADIAL_MIX;
                    }
                }
                let k = 1.0 / f64::sqrt(w2);
                texture[r * SAMPLES + a] = [v[0] * k, v[1] * k];
            }
        }
        let openness = Normal::<f64>::new(0.72, 0.09)
            .expect("valid normal")
            .sample(rng)
            .clamp(0.5, 1.0);
        IrisMaster {
            eye,
            texture,
            openness,
        }
    }

    /// Which eye this is.
    pub fn eye(&self) -> Eye {
        self.eye
    }

    /// The ideal, noise-free code of this iris with nothing masked (all 2048 bits valid);
    /// a reference for tests and diagnostics.
    pub fn ideal_code(&self) -> IrisCode {
        let mut code = [0u64; 32];
        for (i, v) in self.texture.iter().enumerate() {
            set_sample(&mut code, i / SAMPLES, i % SAMPLES, *v);
        }
        IrisCode {
            eye: self.eye,
            quality: 100,
            code,
            mask: [u64::MAX; 32],
        }
    }
}

/// Cyclic Gaussian smoothing of each ring along the angle, normalised to unit variance.
fn smooth_angular(field: &[[f64; 2]], sigma: f64) -> Vec<[f64; 2]> {
    let half = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f64> = (-half..=half)
        .map(|k| (-(k * k) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let norm = kernel.iter().map(|k| k * k).sum::<f64>().sqrt();
    let mut out = vec![[0.0; 2]; field.len()];
    for r in 0..RINGS {
        for a in 0..SAMPLES {
            let mut v = [0.0; 2];
            for (j, k) in kernel.iter().enumerate() {
                let src = (a as isize + j as isize - half).rem_euclid(SAMPLES as isize) as usize;
                let s = field[r * SAMPLES + src];
                v[0] += k * s[0];
                v[1] += k * s[1];
            }
            out[r * SAMPLES + a] = [v[0] / norm, v[1] / norm];
        }
    }
    out
}

fn set_bit(words: &mut [u64; 32], i: usize, on: bool) {
    if on {
        words[i / 64] |= 1 << (i % 64);
    } else {
        words[i / 64] &= !(1 << (i % 64));
    }
}

/// Quantises one complex response into its two phase bits (sign of real and imaginary).
fn set_sample(code: &mut [u64; 32], ring: usize, sample: usize, v: [f64; 2]) {
    let i = 256 * ring + 2 * sample;
    set_bit(code, i, v[0] > 0.0);
    set_bit(code, i + 1, v[1] > 0.0);
}

/// Per-quality noise model of an iris capture.
struct IrisNoise {
    /// Standard deviation of the additive response noise (signal has unit variance).
    noise: f64,
    /// Standard deviation of the radial sampling shift (pupil dilation), in rings.
    dilation: f64,
    /// Standard deviation of the eye rotation, in angular samples.
    rotation: f64,
    /// How much lower the upper eyelid hangs than usual, in iris radii.
    droop: f64,
    /// Expected number of eyelash spots.
    lashes: f64,
}

impl IrisNoise {
    fn for_quality(q: CaptureQuality) -> IrisNoise {
        let s = q.severity();
        IrisNoise {
            noise: 0.3 + 0.4 * s,
            dilation: 0.12 + 0.2 * s,
            rotation: 2.5 + 1.5 * s,
            droop: 0.18 * s,
            lashes: 1.0 + 5.0 * s,
        }
    }
}

/// One capture of `master` at `quality`, encoded as an IrisCode with its mask:
/// eye rotation of a few angular samples, pupil dilation, response noise quantised into
/// flipped bits, and eyelids, eyelashes and reflections masked. Deterministic for a seeded
/// `rng`; two captures of one master form a genuine pair.
pub fn capture<R: Rng + ?Sized>(
    master: &IrisMaster,
    quality: CaptureQuality,
    rng: &mut R,
) -> IrisCode {
    let p = IrisNoise::for_quality(quality);
    let n = |m: f64, s: f64, rng: &mut R| Normal::new(m, s).expect("valid normal").sample(rng);

    // Per-capture geometry and noise level.
    let noise_sd = p.noise * n(0.0, 0.25, rng).exp();
    let shift = n(0.0, p.rotation, rng).round().clamp(-7.0, 7.0) as isize;
    let dilation = n(0.0, p.dilation, rng);
    let pupil = rng.gen_range(0.3..0.5);

    // Noise field: complex, slightly smoothed along the angle (blur, focus).
    let std = Normal::new(0.0, 1.0).expect("valid normal");
    let white: Vec<[f64; 2]> = (0..RINGS * SAMPLES)
        .map(|_| [std.sample(rng), std.sample(rng)])
        .collect();
    let noise = smooth_angular(&white, 0.7);

    let mut code = [0u64; 32];
    for r in 0..RINGS {
        // Pupil dilation: this ring samples the texture at a slightly different radius.
        let rr = (r as f64 + dilation).clamp(0.0, (RINGS - 1) as f64);
        let (r0, t) = (rr.floor() as usize, rr.fract());
        let r1 = (r0 + 1).min(RINGS - 1);
        for a in 0..SAMPLES {
            let src = (a as isize - shift).rem_euclid(SAMPLES as isize) as usize;
            let v0 = master.texture[r0 * SAMPLES + src];
            let v1 = master.texture[r1 * SAMPLES + src];
            let z = noise[r * SAMPLES + a];
            let v = [
                (1.0 - t) * v0[0] + t * v1[0] + noise_sd * z[0],
                (1.0 - t) * v0[1] + t * v1[1] + noise_sd * z[1],
            ];
            set_sample(&mut code, r, a, v);
        }
    }

    // Mask in the camera frame: eyelids, eyelashes, reflections.
    let upper = (master.openness - p.droop + n(0.0, 0.08, rng)).clamp(0.25, 1.1);
    let lower = (master.openness + 0.12 - 0.5 * p.droop + n(0.0, 0.07, rng)).clamp(0.3, 1.15);
    let curve_u = rng.gen_range(0.2..0.45);
    let curve_l = rng.gen_range(0.15..0.35);
    let mut valid = [[true; SAMPLES]; RINGS];
    for (r, ring) in valid.iter_mut().enumerate() {
        let radius = pupil + (1.0 - pupil) * (r as f64 + 0.5) / RINGS as f64;
        for (a, v) in ring.iter_mut().enumerate() {
            let phi = 2.0 * PI * (a as f64 - TOP_SAMPLE) / SAMPLES as f64;
            // Height above and offset beside the pupil centre; phi = 0 points up.
            let (x, y) = (radius * phi.sin(), radius * phi.cos());
            if y > upper - curve_u * x * x || -y > lower - curve_l * x * x {
                *v = false;
            }
        }
    }
    let lash_count = Poisson::new(p.lashes).expect("valid poisson").sample(rng) as usize;
    let mut scrambled = Vec::new();
    for _ in 0..lash_count {
        // Eyelash spots hang just below the upper lid, over the outer rings.
        let centre = TOP_SAMPLE + n(0.0, 14.0, rng);
        let width = rng.gen_range(1..=3);
        let ring_lo = rng.gen_range(3..RINGS);
        let masked = rng.gen_bool(0.6);
        for da in 0..width {
            let a = (centre.round() as isize + da).rem_euclid(SAMPLES as isize) as usize;
            for ring in valid.iter_mut().skip(ring_lo) {
                if masked {
                    ring[a] = false;
                }
            }
            if !masked {
                scrambled.extend((ring_lo..RINGS).map(|r| (r, a)));
            }
        }
    }
    // Unmasked eyelashes: their bits are noise.
    for (r, a) in scrambled {
        set_sample(&mut code, r, a, [n(0.0, 1.0, rng), n(0.0, 1.0, rng)]);
    }
    // Specular reflection near the pupil.
    if rng.gen_bool(0.7) {
        let a0 = rng.gen_range(0..SAMPLES);
        let w = rng.gen_range(2..=5);
        for ring in valid.iter_mut().take(2) {
            for da in 0..w {
                ring[(a0 + da) % SAMPLES] = false;
            }
        }
    }

    let mut mask = [0u64; 32];
    for (r, ring) in valid.iter().enumerate() {
        for (a, &v) in ring.iter().enumerate() {
            let i = 256 * r + 2 * a;
            set_bit(&mut mask, i, v);
            set_bit(&mut mask, i + 1, v);
            if !v {
                // What the encoder sees under an eyelid is eyelid texture: random bits.
                set_bit(&mut code, i, rng.gen());
                set_bit(&mut code, i + 1, rng.gen());
            }
        }
    }
    IrisCode {
        eye: master.eye,
        quality: quality.draw_score(rng),
        code,
        mask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use biometrics::iris::{compare, DEFAULT_MAX_SHIFT};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Plain fractional Hamming distance at rotation 0 over the bits valid in both masks.
    fn hd0(a: &IrisCode, b: &IrisCode) -> (f64, u32) {
        let mut n = 0;
        let mut d = 0;
        for w in 0..32 {
            let m = a.mask[w] & b.mask[w];
            n += m.count_ones();
            d += ((a.code[w] ^ b.code[w]) & m).count_ones();
        }
        (f64::from(d) / f64::from(n.max(1)), n)
    }

    fn mean_sd(v: &[f64]) -> (f64, f64) {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
        (m, var.sqrt())
    }

    #[test]
    fn capture_is_deterministic() {
        let m = IrisMaster::generate(Eye::Left, &mut ChaCha8Rng::seed_from_u64(3));
        let a = capture(&m, CaptureQuality::Good, &mut ChaCha8Rng::seed_from_u64(4));
        let b = capture(&m, CaptureQuality::Good, &mut ChaCha8Rng::seed_from_u64(4));
        assert_eq!(a, b);
        assert_eq!(a.eye, Eye::Left);
        assert!(a.quality >= 70);
        let m2 = IrisMaster::generate(Eye::Left, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(m, m2);
    }

    #[test]
    fn impostor_distances_have_daugman_statistics() {
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let codes: Vec<IrisCode> = (0..120)
            .map(|_| {
                let m = IrisMaster::generate(Eye::Right, &mut rng);
                let q = CaptureQuality::draw(&mut rng);
                capture(&m, q, &mut rng)
            })
            .collect();
        let mut hds = Vec::new();
        let mut bits = Vec::new();
        for i in 0..codes.len() {
            for j in i + 1..codes.len() {
                let (hd, n) = hd0(&codes[i], &codes[j]);
                hds.push(hd);
                bits.push(f64::from(n));
            }
        }
        let (m, sd) = mean_sd(&hds);
        let dof = m * (1.0 - m) / (sd * sd);
        let (bits_mean, _) = mean_sd(&bits);
        assert!((m - 0.5).abs() < 0.02, "impostor mean {m}");
        assert!(
            (0.02..0.04).contains(&sd),
            "impostor sd {sd} (dof {dof:.0})"
        );
        assert!((150.0..400.0).contains(&dof), "dof {dof}");
        assert!(bits_mean > 1000.0, "bits compared {bits_mean}");
    }

    #[test]
    fn genuine_distances_are_clearly_lower() {
        let mut rng = ChaCha8Rng::seed_from_u64(77);
        let mut by_quality = [Vec::new(), Vec::new(), Vec::new()];
        let mut impostor_best = Vec::new();
        let mut prev: Option<IrisCode> = None;
        for _ in 0..150 {
            let m = IrisMaster::generate(Eye::Left, &mut rng);
            let enrol = capture(&m, CaptureQuality::Good, &mut rng);
            for (k, q) in CaptureQuality::ALL.into_iter().enumerate() {
                let probe = capture(&m, q, &mut rng);
                let s = compare(&probe, &enrol, DEFAULT_MAX_SHIFT);
                assert!(s.bits_compared > 500, "only {} bits", s.bits_compared);
                by_quality[k].push(f64::from(s.hd_raw));
            }
            if let Some(p) = &prev {
                impostor_best.push(f64::from(compare(p, &enrol, DEFAULT_MAX_SHIFT).hd_raw));
            }
            prev = Some(enrol);
        }
        let (good, _) = mean_sd(&by_quality[0]);
        let (fair, _) = mean_sd(&by_quality[1]);
        let (poor, _) = mean_sd(&by_quality[2]);
        let (imp, _) = mean_sd(&impostor_best);
        assert!((0.08..0.2).contains(&good), "good genuine {good}");
        assert!(good < fair && fair < poor, "{good} {fair} {poor}");
        assert!(poor < 0.33, "poor genuine {poor}");
        // Even after the rotation search impostors stay far away.
        assert!(imp > 0.42, "impostor best-of-shifts {imp}");
        let worst_genuine = by_quality[0].iter().cloned().fold(0.0, f64::max);
        let best_impostor = impostor_best.iter().cloned().fold(1.0, f64::min);
        assert!(
            worst_genuine < best_impostor,
            "{worst_genuine} vs {best_impostor}"
        );
    }

    #[test]
    fn eyelids_mask_more_in_poor_captures() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut valid = [0.0; 3];
        for _ in 0..100 {
            let m = IrisMaster::generate(Eye::Right, &mut rng);
            for (k, q) in CaptureQuality::ALL.into_iter().enumerate() {
                valid[k] += f64::from(capture(&m, q, &mut rng).valid_bits()) / 100.0;
            }
        }
        assert!(valid[0] > valid[2] + 100.0, "{valid:?}");
        assert!((1300.0..2000.0).contains(&valid[0]), "{valid:?}");
        assert!(valid[2] > 900.0, "{valid:?}");
    }
}
