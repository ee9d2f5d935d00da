//! Score samples by capture-quality band, for fitting and checking the pickup calibrations.
//!
//! A calibration's LLR far out in the impostor tail is only as good as the impostor sample
//! behind it: a few hundred thousand pairs say nothing about how rare a score of one in a
//! million is. This draws fresh synthetic fingers (one impression each, capture quality drawn
//! with the field mix) and compares every two different fingers of the same ISO position,
//! millions of pairs, grouped by the pair's [`Calibration::finger_quality_band`] as the pickup
//! curves are.

use biometrics::finger::{compare, prepare, FingerTemplate};
use biometrics::fusion::{Calibration, FINGER_QUALITY_BANDS};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{impression, FingerMaster};
use crate::capture::CaptureQuality;

/// Same-position impostor similarities of `fingers_per_position` fresh fingers at each of the
/// ten positions (about 5 · `fingers_per_position`² pairs in all), one vector per quality band
/// (index = [`Calibration::finger_quality_band`]); deterministic for `seed`. `progress` is
/// told each finished position and the pairs so far.
pub fn impostor_scores_by_band(
    fingers_per_position: usize,
    seed: u64,
    progress: impl Fn(u8, usize),
) -> Vec<Vec<f32>> {
    let mut bands: Vec<Vec<f32>> = vec![Vec::new(); FINGER_QUALITY_BANDS.len() + 1];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for position in 1..=10u8 {
        let templates: Vec<(u8, FingerTemplate)> = (0..fingers_per_position)
            .map(|_| {
                let master = FingerMaster::generate(position, &mut rng);
                let rec = impression(&master, CaptureQuality::draw(&mut rng), &mut rng);
                let view = &rec.views[0];
                (view.quality, prepare(view, rec.res_x, rec.res_y))
            })
            .collect();
        let scored: Vec<(usize, f32)> = (0..templates.len())
            .into_par_iter()
            .flat_map_iter(|i| {
                let (qa, a) = &templates[i];
                templates[i + 1..].iter().filter_map(move |(qb, b)| {
                    Some((Calibration::finger_quality_band(*qa, *qb)?, compare(a, b)))
                })
            })
            .collect();
        for (band, s) in scored {
            bands[band].push(s);
        }
        progress(position, bands.iter().map(Vec::len).sum());
    }
    bands
}

/// Genuine similarities by quality band: `fingers_per_position` fresh fingers at each of the
/// ten positions, `impressions` impressions each (quality drawn with the field mix), every two
/// impressions of one finger compared; deterministic for `seed`.
pub fn genuine_scores_by_band(
    fingers_per_position: usize,
    impressions: usize,
    seed: u64,
) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fingers: Vec<Vec<(u8, FingerTemplate)>> = Vec::new();
    for position in 1..=10u8 {
        for _ in 0..fingers_per_position {
            let master = FingerMaster::generate(position, &mut rng);
            fingers.push(
                (0..impressions)
                    .map(|_| {
                        let rec = impression(&master, CaptureQuality::draw(&mut rng), &mut rng);
                        let view = &rec.views[0];
                        (view.quality, prepare(view, rec.res_x, rec.res_y))
                    })
                    .collect(),
            );
        }
    }
    let scored: Vec<(usize, f32)> = fingers
        .par_iter()
        .flat_map_iter(|ts| {
            (0..ts.len()).flat_map(move |i| {
                ts[i + 1..].iter().filter_map(move |(qb, b)| {
                    let (qa, a) = &ts[i];
                    Some((Calibration::finger_quality_band(*qa, *qb)?, compare(a, b)))
                })
            })
        })
        .collect();
    let mut bands: Vec<Vec<f32>> = vec![Vec::new(); FINGER_QUALITY_BANDS.len() + 1];
    for (band, s) in scored {
        bands[band].push(s);
    }
    bands
}
