//! Capture quality of one biometric acquisition.
//!
//! Every synthetic capture (a fingerprint impression or an iris image turned into an
//! IrisCode) is taken at one of three quality levels. The level drives how far the capture
//! drifts from the "true" biometric: how much of the finger touches the sensor, how many
//! minutiae are missed or invented, how much of the iris the eyelids hide and how many code
//! bits flip. Keeping the level explicit lets the population generator plant hard cases
//! (worn fingers of manual workers, hurried enrolment) in known proportions and lets tests
//! check that the matchers degrade the way real ones do.

use rand::Rng;

/// How good one capture is; drives the noise model of `finger::impression` and
/// `iris::capture`.
///
/// Proportions drawn by [`CaptureQuality::draw`] follow what large field enrolments report:
/// most captures are good, a quarter are usable but noisy, and about one in ten is poor
/// (dry, worn or wet fingers; squinting eyes; motion blur).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaptureQuality {
    /// Clean capture: full contact, few extraction errors, eyes wide open.
    Good,
    /// Usable capture with noticeable noise and partial occlusion.
    Fair,
    /// Barely usable capture: small contact area, many missed and spurious minutiae,
    /// heavy eyelid occlusion and many flipped iris bits.
    Poor,
}

impl CaptureQuality {
    /// All levels, best first; handy for tests and reports that loop over levels.
    pub const ALL: [CaptureQuality; 3] = [
        CaptureQuality::Good,
        CaptureQuality::Fair,
        CaptureQuality::Poor,
    ];

    /// Share of captures at each level used by [`CaptureQuality::draw`]
    /// (good, fair, poor); sums to one.
    pub const PROPORTIONS: [f64; 3] = [0.65, 0.25, 0.10];

    /// Draws one level with the realistic proportions of [`CaptureQuality::PROPORTIONS`],
    /// so a synthetic population has the mix of capture conditions a real one has.
    pub fn draw<R: Rng + ?Sized>(rng: &mut R) -> CaptureQuality {
        let u: f64 = rng.gen();
        if u < Self::PROPORTIONS[0] {
            CaptureQuality::Good
        } else if u < Self::PROPORTIONS[0] + Self::PROPORTIONS[1] {
            CaptureQuality::Fair
        } else {
            CaptureQuality::Poor
        }
    }

    /// A severity factor in `0.0..=1.0` (good = 0, poor = 1) that noise models
    /// interpolate with, so all generators agree on what "fair" means.
    pub fn severity(self) -> f64 {
        match self {
            CaptureQuality::Good => 0.0,
            CaptureQuality::Fair => 0.5,
            CaptureQuality::Poor => 1.0,
        }
    }

    /// Range of the ISO-style 0..=100 quality score a capture at this level reports, so
    /// the quality byte written into templates is consistent with the level.
    pub fn score_range(self) -> (u8, u8) {
        match self {
            CaptureQuality::Good => (70, 95),
            CaptureQuality::Fair => (45, 70),
            CaptureQuality::Poor => (20, 45),
        }
    }

    /// Draws a 0..=100 quality score inside [`CaptureQuality::score_range`].
    pub fn draw_score<R: Rng + ?Sized>(self, rng: &mut R) -> u8 {
        let (lo, hi) = self.score_range();
        rng.gen_range(lo..=hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn draw_follows_proportions() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut counts = [0usize; 3];
        let n = 20_000;
        for _ in 0..n {
            let q = CaptureQuality::draw(&mut rng);
            counts[q as usize] += 1;
        }
        for (i, &p) in CaptureQuality::PROPORTIONS.iter().enumerate() {
            let share = counts[i] as f64 / n as f64;
            assert!((share - p).abs() < 0.015, "level {i}: {share} vs {p}");
        }
    }

    #[test]
    fn draw_is_deterministic() {
        let a: Vec<_> = {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            (0..50).map(|_| CaptureQuality::draw(&mut rng)).collect()
        };
        let b: Vec<_> = {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            (0..50).map(|_| CaptureQuality::draw(&mut rng)).collect()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn scores_stay_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for q in CaptureQuality::ALL {
            let (lo, hi) = q.score_range();
            for _ in 0..100 {
                let s = q.draw_score(&mut rng);
                assert!((lo..=hi).contains(&s));
            }
        }
    }
}
