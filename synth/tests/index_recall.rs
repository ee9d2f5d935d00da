//! The 1:N index finds (most) planted mates in a synthetic gallery: re-captures of enrolled persons
//! (poor captures, three or four fingers missing, irises missing) are found by
//! `index::search` wherever brute force finds them, while only a small share of the gallery
//! is fully compared. Relatives (sibling fingers) are enrolled as separate people.

use biometrics::fusion::{llr_threshold_for_fmr, PersonTemplate};
use biometrics::index::{search, search_brute, Partition, ProbeSet, SearchParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use synth::biometric::Lineage;
use synth::capture::CaptureQuality;

const GALLERY: usize = 300;
const MATES: usize = 24;

fn capture(
    lineage: Lineage,
    fingers: u16,
    eyes: [bool; 2],
    q: CaptureQuality,
    seed: u64,
) -> PersonTemplate {
    synth::biometric::person_template(lineage, fingers, eyes, q, seed)
}

fn lineage(i: usize) -> Lineage {
    let seed = 0x000A_11CE_0000 + i as u64;
    if i % 10 == 9 {
        Lineage::RelativeOf {
            base: 0x000A_11CE_0000 + i as u64 - 1,
            seed,
        }
    } else {
        Lineage::Own { seed }
    }
}

#[test]
fn planted_mates_are_found_wherever_brute_force_finds_them() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x1DE7_7E57);
    let takes: Vec<(u64, CaptureQuality)> = (0..GALLERY)
        .map(|_| (rng.gen(), CaptureQuality::draw(&mut rng)))
        .collect();
    let gallery: Vec<(String, PersonTemplate)> = takes
        .par_iter()
        .enumerate()
        .map(|(i, &(seed, q))| {
            (
                format!("g{i}"),
                capture(lineage(i), 0x3ff, [true, true], q, seed),
            )
        })
        .collect();
    // Hard re-captures: every mate poor or fair; 3–4 fingers missing for half; irises missing
    // for a third.
    let plan: Vec<(usize, u16, [bool; 2], CaptureQuality, u64)> = (0..MATES)
        .map(|k| {
            let member = rng.gen_range(0..GALLERY);
            let fingers = match k % 4 {
                0 => 0x3ff & !0b00_0110_0011, // four missing, both thumbs among them
                1 => 0x3ff & !0b01_1000_0100, // three missing
                _ => 0x3ff,
            };
            let eyes = if k % 3 == 0 {
                [false, false]
            } else {
                [true, k % 2 == 0]
            };
            let q = if k % 2 == 0 {
                CaptureQuality::Poor
            } else {
                CaptureQuality::Fair
            };
            (member, fingers, eyes, q, rng.gen())
        })
        .collect();
    let probes: Vec<(String, PersonTemplate)> = plan
        .par_iter()
        .enumerate()
        .map(|(k, &(m, f, e, q, s))| (format!("p{k}"), capture(lineage(m), f, e, q, s)))
        .collect();
    let part = Partition::build(gallery);
    let probes = ProbeSet::build(probes);
    let params = SearchParams {
        shortlist: 60,
        ..SearchParams::default()
    };
    let t = llr_threshold_for_fmr(1e-6);
    let (found, stats) = search(&probes, &part, &params);
    let (all, _) = search_brute(&probes, &part, &params);
    let key = |c: &biometrics::index::Candidate| (c.probe, c.member);
    let brute: Vec<(u32, u32)> = all.iter().filter(|c| c.score.llr >= t).map(key).collect();
    let index: Vec<(u32, u32)> = found.iter().filter(|c| c.score.llr >= t).map(key).collect();
    let missed: Vec<&(u32, u32)> = brute.iter().filter(|p| !index.contains(p)).collect();
    eprintln!(
        "brute force: {} pairs at LLR ≥ {t:.1}; index: {}; missed {missed:?}; penetration {:.3}",
        brute.len(),
        index.len(),
        stats.penetration()
    );
    // Goal: no miss at all (recall ≥ 99.9 % at ≤ 1 % penetration on large galleries). The
    // finger hashing is not there yet (docs/biometrics.md, "1:N index"): measured 23/24 of
    // brute force's pairs at a shortlist of 60 (20 % here); this guards ≥ 22/24.
    assert!(
        missed.len() <= 2,
        "index missed {missed:?} of {}",
        brute.len()
    );
    let planted: Vec<(u32, u32)> = plan
        .iter()
        .enumerate()
        .map(|(k, p)| (k as u32, p.0 as u32))
        .collect();
    let mates_found = planted.iter().filter(|p| index.contains(p)).count();
    assert!(
        mates_found * 10 >= MATES * 9,
        "only {mates_found}/{MATES} planted mates reach the threshold"
    );
    assert!(
        stats.penetration() < 0.25,
        "penetration {}",
        stats.penetration()
    );
}
