//! The fusion calibration's promise on fresh synthetic persons: accepting a person pair at
//! `llr_threshold_for_fmr(p)` false-matches at most a share `p` of impostor pairs, whatever
//! mix of fingers and irises the pair has, while genuine pairs pass.
//!
//! Two sets, both captured at a quality drawn with the realistic mix
//! (`CaptureQuality::draw`) and with seeds other than the ones `examples/fit_calibration.rs`
//! fitted the defaults on:
//! - single-modality persons (one finger or one eye, everything else missing): the hard case,
//!   where one calibrated LLR alone must clear the threshold; a pool of fingers per position
//!   and irises per eye, every pair of different persons compared;
//! - whole persons (`synth::biometric::Body`: ten fingers, two irises, a third of them
//!   relatives of another body via `Lineage::RelativeOf`, i.e. sibling fingers) with random
//!   fingers and eyes missing, every pair of different bodies compared (cross-position check
//!   on, as in production), and a second capture of each body as its genuine pair.
//!
//! Templates are prepared once and reused across pairs: `finger::prepare` dominates the cost.

use biometrics::finger::{prepare, FingerTemplate};
use biometrics::fusion::{compare_persons, llr_threshold_for_fmr, Calibration, Fusion};
use biometrics::fusion::{Modality, PersonScore, PersonTemplate};
use biometrics::iris::{Eye as IrisEye, IrisCode};
use biometrics::iso19794::{self, FingerRecord};
use packet::Eye;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use synth::biometric::{Body, Lineage};
use synth::capture::CaptureQuality;
use synth::finger::{impression, FingerMaster};
use synth::iris::{self, IrisMaster};

/// Target false-match rate checked.
const FMR: f64 = 1e-2;
/// Single-finger persons per ISO position (all pairs compared: 10 × 780 pairs).
const FINGERS_PER_POSITION: usize = 40;
/// Single-iris persons per eye (all pairs compared: 2 × 1 770 pairs).
const IRISES_PER_EYE: usize = 60;
/// Whole bodies; the last third are relatives of the first third.
const BODIES: usize = 60;

fn template(rec: &FingerRecord) -> FingerTemplate {
    prepare(&rec.views[0], rec.res_x, rec.res_y)
}

/// One capture of `body` with each finger kept with probability `keep` and each eye with
/// 0.85, as fusion sees it.
fn person(body: &Body, keep: f64, rng: &mut ChaCha8Rng) -> PersonTemplate {
    let fingers: Vec<u8> = (1..=10u8).filter(|_| rng.gen_bool(keep)).collect();
    let eyes: Vec<Eye> = Eye::BOTH
        .into_iter()
        .filter(|_| rng.gen_bool(0.85))
        .collect();
    let cap = body.capture(&fingers, &eyes, CaptureQuality::draw(rng), rng.gen());
    let prepared: Vec<(u8, FingerTemplate)> = cap
        .fingers
        .par_iter()
        .map(|(pos, bytes)| {
            let rec = iso19794::parse(bytes).expect("synthetic record parses");
            (*pos, template(&rec))
        })
        .collect();
    let mut p = PersonTemplate::default();
    for (pos, t) in prepared {
        p.fingers[usize::from(pos) - 1] = Some(t);
    }
    for (eye, bytes) in &cap.irises {
        let i = usize::from(*eye == Eye::Left);
        p.irises[i] = Some(IrisCode::from_bytes(bytes).expect("synthetic iris parses"));
    }
    p
}

/// Every pair of different persons in `pool`, scored.
fn all_pairs(pool: &[PersonTemplate], fusion: &Fusion) -> Vec<PersonScore> {
    (0..pool.len())
        .into_par_iter()
        .flat_map_iter(|i| (i + 1..pool.len()).map(move |j| (i, j)))
        .map(|(i, j)| compare_persons(&pool[i], &pool[j], fusion))
        .collect()
}

/// Fused LLR of a scored pair recomputed under other calibrations (same parts).
fn refused(s: &PersonScore, finger: &Calibration, iris: &Calibration) -> f32 {
    s.parts
        .iter()
        .map(|m| match m.what {
            Modality::Finger(..) => finger.llr(m.similarity),
            Modality::Iris(_) => iris.llr(m.similarity),
        })
        .sum()
}

/// A calibration for a matcher whose scores were half as large: the same LLR curve at half
/// the score, i.e. over-confident for this matcher.
fn stale(c: &Calibration) -> Calibration {
    Calibration {
        knots: c.knots.iter().map(|&(x, y)| (0.5 * x, y)).collect(),
    }
}

/// How many of `llr` reach `t`, and their share.
fn at_or_above(llr: &[f32], t: f32) -> (usize, f64) {
    let k = llr.iter().filter(|&&l| l >= t).count();
    (k, k as f64 / llr.len().max(1) as f64)
}

#[test]
fn fused_llr_threshold_keeps_its_false_match_rate() {
    let fusion = Fusion::default();
    let t = llr_threshold_for_fmr(FMR);
    let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_CA11_B007_0001);

    // Single-modality persons: one finger or one eye, all the rest missing.
    let mut single: Vec<PersonScore> = Vec::new();
    for pos in 1..=10u8 {
        let recs: Vec<FingerRecord> = (0..FINGERS_PER_POSITION)
            .map(|_| {
                let m = FingerMaster::generate(pos, &mut rng);
                impression(&m, CaptureQuality::draw(&mut rng), &mut rng)
            })
            .collect();
        let pool: Vec<PersonTemplate> = recs
            .par_iter()
            .map(|rec| {
                let mut p = PersonTemplate::default();
                p.fingers[usize::from(pos) - 1] = Some(template(rec));
                p
            })
            .collect();
        single.extend(all_pairs(&pool, &fusion));
    }
    let single_fingers = single.len();
    for (i, eye) in [IrisEye::Right, IrisEye::Left].into_iter().enumerate() {
        let pool: Vec<PersonTemplate> = (0..IRISES_PER_EYE)
            .map(|_| {
                let m = IrisMaster::generate(eye, &mut rng);
                let mut p = PersonTemplate::default();
                p.irises[i] = Some(iris::capture(&m, CaptureQuality::draw(&mut rng), &mut rng));
                p
            })
            .collect();
        single.extend(all_pairs(&pool, &fusion));
    }

    // Whole persons with random fingers / eyes missing; the last third are relatives.
    let third = BODIES / 3;
    let seeds: Vec<u64> = (0..BODIES).map(|_| rng.gen()).collect();
    let bodies: Vec<Body> = (0..BODIES)
        .map(|b| match b.checked_sub(BODIES - third) {
            Some(r) => Body::of(Lineage::RelativeOf {
                base: seeds[r],
                seed: seeds[b],
            }),
            None => Body::of(Lineage::Own { seed: seeds[b] }),
        })
        .collect();
    let mut enrolled: Vec<PersonTemplate> = Vec::new();
    let mut genuine: Vec<f32> = Vec::new();
    for body in &bodies {
        let keep = rng.gen_range(0.5..1.0);
        let a = person(body, keep, &mut rng);
        let b = person(body, 0.9, &mut rng);
        genuine.push(compare_persons(&a, &b, &fusion).llr);
        enrolled.push(a);
    }
    let multi = all_pairs(&enrolled, &fusion);
    // Pair index of (i, j), i < j, in `all_pairs` order: relatives are (r, BODIES - third + r).
    let pair_index = |i: usize, j: usize| i * BODIES - i * (i + 1) / 2 + (j - i - 1);
    let relatives: Vec<f32> = (0..third)
        .map(|r| multi[pair_index(r, BODIES - third + r)].llr)
        .collect();

    let llr = |v: &[PersonScore]| v.iter().map(|s| s.llr).collect::<Vec<f32>>();
    let (single_fm, single_fmr) = at_or_above(&llr(&single), t);
    let (multi_fm, multi_fmr) = at_or_above(&llr(&multi), t);
    let (rel_fm, _) = at_or_above(&relatives, t);
    let (pass, pass_rate) = at_or_above(&genuine, t);
    let max = |v: &[f32]| v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    eprintln!(
        "threshold {t:.2} (FMR {FMR}): single-modality impostors {single_fm}/{} ({} finger, \
         {} iris; FMR {single_fmr:.2e}, max LLR {:.2}), whole-person impostors {multi_fm}/{} \
         (FMR {multi_fmr:.2e}, max LLR {:.2}; relatives {rel_fm}/{}, max {:.2}); genuine pass \
         {pass}/{} ({pass_rate:.4})",
        single.len(),
        single_fingers,
        single.len() - single_fingers,
        max(&llr(&single)),
        multi.len(),
        max(&llr(&multi)),
        relatives.len(),
        max(&relatives),
        genuine.len()
    );
    assert!(
        single_fmr <= FMR,
        "single-modality FMR {single_fmr} > {FMR}"
    );
    // A tighter target is still measurable on the single-modality set (11 340 pairs).
    let (tight_fm, tight_fmr) = at_or_above(&llr(&single), llr_threshold_for_fmr(FMR / 10.0));
    eprintln!(
        "at FMR {}: single-modality false matches {tight_fm}",
        FMR / 10.0
    );
    assert!(tight_fmr <= FMR / 10.0, "single-modality FMR {tight_fmr}");
    assert!(multi_fmr <= FMR, "whole-person FMR {multi_fmr} > {FMR}");
    assert!(pass_rate >= 0.98, "genuine pass rate {pass_rate}");

    // The check has power: a calibration for a matcher with half these scores (stale knots
    // after a matcher change) over-states the evidence and is caught on the same pairs.
    let (sf, si) = (stale(&fusion.finger), stale(&fusion.iris));
    let stale_llr: Vec<f32> = single.iter().map(|s| refused(s, &sf, &si)).collect();
    let (stale_fm, stale_fmr) = at_or_above(&stale_llr, t);
    eprintln!("stale calibration: single-modality false matches {stale_fm} ({stale_fmr:.2e})");
    assert!(
        stale_fmr > FMR,
        "a stale (over-confident) calibration went unnoticed: FMR {stale_fmr}"
    );
}

/// The calibrations by capture quality (`Calibration::finger_for_quality`, what `verify` uses
/// at pickup) keep the bound on fresh fingers (other seeds than the fit's): in every quality
/// band, impostor pairs reach `llr_threshold_for_fmr(p)` at most at a share `p` (p = 1e-2 and
/// 1e-3), and between two captures of the same finger the band curves let more genuine pairs
/// of the low band through than the curve of all pairs (what they are for). A stale band curve
/// (knots at half the score) is caught on the same pairs.
#[test]
fn quality_band_calibrations_keep_their_false_match_rate() {
    const FINGERS: usize = 60;
    let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_CA11_B007_0002);
    // (band, genuine, similarity, quality a, quality b)
    let mut pairs: Vec<(usize, bool, f32, u8, u8)> = Vec::new();
    for pos in 1..=10u8 {
        let mut flat: Vec<(usize, u8, FingerTemplate)> = Vec::new();
        for f in 0..FINGERS {
            let m = FingerMaster::generate(pos, &mut rng);
            for _ in 0..2 {
                let rec = impression(&m, CaptureQuality::draw(&mut rng), &mut rng);
                flat.push((f, rec.views[0].quality, template(&rec)));
            }
        }
        let scored: Vec<(usize, bool, f32, u8, u8)> = (0..flat.len())
            .into_par_iter()
            .flat_map_iter(|i| {
                let (fa, qa, a) = &flat[i];
                flat[i + 1..].iter().filter_map(move |(fb, qb, b)| {
                    let band = Calibration::finger_quality_band(*qa, *qb)?;
                    Some((band, fa == fb, biometrics::finger::compare(a, b), *qa, *qb))
                })
            })
            .collect();
        pairs.extend(scored);
    }
    let band_llr = |&(_, _, s, qa, qb): &(usize, bool, f32, u8, u8)| {
        Calibration::finger_for_quality(qa, qb).llr(s)
    };
    for band in 0..=2 {
        let impostors: Vec<f32> = pairs
            .iter()
            .filter(|p| p.0 == band && !p.1)
            .map(band_llr)
            .collect();
        assert!(
            impostors.len() > 2_000,
            "band {band}: {} impostor pairs",
            impostors.len()
        );
        for p in [1e-2, 1e-3] {
            let (fm, fmr) = at_or_above(&impostors, llr_threshold_for_fmr(p));
            eprintln!(
                "band {band}: {fm} of {} impostor pairs at FMR {p}",
                impostors.len()
            );
            assert!(fmr <= p, "band {band}: FMR {fmr} > {p}");
        }
        // Power: a stale band curve over-states the evidence on the same pairs.
        let stale_llr: Vec<f32> = pairs
            .iter()
            .filter(|p| p.0 == band && !p.1)
            .map(|&(_, _, s, qa, qb)| stale(&Calibration::finger_for_quality(qa, qb)).llr(s))
            .collect();
        let (_, stale_fmr) = at_or_above(&stale_llr, llr_threshold_for_fmr(FMR));
        assert!(
            stale_fmr > FMR,
            "band {band}: a stale curve went unnoticed ({stale_fmr})"
        );
    }
    let low: Vec<&(usize, bool, f32, u8, u8)> = pairs.iter().filter(|p| p.0 == 0 && p.1).collect();
    let t = llr_threshold_for_fmr(FMR);
    let by_band = low.iter().filter(|p| band_llr(p) >= t).count();
    let by_all = low
        .iter()
        .filter(|p| Calibration::finger_default().llr(p.2) >= t)
        .count();
    eprintln!("low band genuine pairs passing at FMR {FMR}: {by_band} (band curve) vs {by_all} (all pairs) of {}", low.len());
    assert!(low.len() >= 50, "{} low-band genuine pairs", low.len());
    assert!(by_band > by_all, "{by_band} vs {by_all} of {}", low.len());
}
