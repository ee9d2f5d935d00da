//! Accuracy and cost of the 1:N candidate index on synthetic galleries of several sizes.
//!
//! For each gallery size N: N enrolled persons (`synth::biometric::Body`, 5 % relatives of
//! another gallery person, fingers kept with p = 0.95, each eye with 0.9, realistic capture
//! quality) and a probe set of planted mates (re-captures of gallery persons, hard-case mix:
//! 40 % poor captures, a third with 3–4 fingers missing, a third with no irises) and as many
//! non-mates (new persons, half of them relatives — twins/siblings — of gallery persons).
//! `index::search` runs against `index::search_brute` (all pairs when N ≤ `BRUTE_MAX`,
//! otherwise every planted mate pair compared directly, since a pair brute force finds is a
//! pair at or above the decision threshold). Prints one table row per size.
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-index cargo run --release -p synth --example index_eval -- 2000,10000 200
//! ```
//! Environment: `INDEX_VARIANTS="fh=4,fb=20;fh=6,fb=16"` evaluates index configurations
//! side by side (keys: fh, fb, core, pool, ones, ib, is, istep, ishift, iw, share), `SHORTLIST`,
//! `BRUTE_MAX` (default 2000), `BRUTE_CACHE` (a folder: brute force's pairs are kept there
//! per gallery size and probe count, and reused; delete them when the matcher changes).

use biometrics::fusion::{compare_persons, llr_threshold_for_fmr, PersonTemplate};
use biometrics::index::{self, IndexConfig, Partition, ProbeSet, SearchParams};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::time::Instant;
use synth::biometric::Lineage;
use synth::capture::CaptureQuality;

/// How a capture is taken.
#[derive(Clone, Copy)]
struct Take {
    fingers: u16,
    eyes: [bool; 2],
    quality: CaptureQuality,
    seed: u64,
}

fn capture(lineage: Lineage, take: Take) -> PersonTemplate {
    synth::biometric::person_template(lineage, take.fingers, take.eyes, take.quality, take.seed)
}

fn lineage_seed(i: usize) -> u64 {
    0x1d3_0000_0000 + i as u64
}

/// The gallery: person i, 5 % of them relatives of person i/2.
fn gallery_plan(n: usize, rng: &mut ChaCha8Rng) -> Vec<(Lineage, Take)> {
    (0..n)
        .map(|i| {
            let lineage = if i > 10 && rng.gen_bool(0.05) {
                Lineage::RelativeOf {
                    base: lineage_seed(i / 2),
                    seed: lineage_seed(i),
                }
            } else {
                Lineage::Own {
                    seed: lineage_seed(i),
                }
            };
            let fingers = (0..10).fold(0u16, |m, b| m | u16::from(rng.gen_bool(0.95)) << b);
            let take = Take {
                fingers,
                eyes: [rng.gen_bool(0.9), rng.gen_bool(0.9)],
                quality: CaptureQuality::draw(rng),
                seed: rng.gen(),
            };
            (lineage, take)
        })
        .collect()
}

/// A hard re-capture of a gallery person.
fn hard_take(rng: &mut ChaCha8Rng) -> Take {
    let quality = if rng.gen_bool(0.4) {
        CaptureQuality::Poor
    } else {
        CaptureQuality::draw(rng)
    };
    let mut fingers = 0x3ffu16;
    if rng.gen_bool(1.0 / 3.0) {
        let mut pos: Vec<u16> = (0..10).collect();
        pos.shuffle(rng);
        for &p in pos.iter().take(rng.gen_range(3..=4)) {
            fingers &= !(1 << p);
        }
    }
    let eyes = if rng.gen_bool(1.0 / 3.0) {
        [false, false]
    } else {
        [rng.gen_bool(0.9), rng.gen_bool(0.9)]
    };
    Take {
        fingers,
        eyes,
        quality,
        seed: rng.gen(),
    }
}

/// The brute-force reference pairs, cached under `$BRUTE_CACHE` (a folder) when set: brute
/// force does not depend on the index configuration, and it is the slow part of the run.
fn brute_reference(
    n: usize,
    probes: usize,
    compute: impl FnOnce() -> Vec<(u32, u32)>,
) -> Vec<(u32, u32)> {
    let Ok(dir) = std::env::var("BRUTE_CACHE") else {
        return compute();
    };
    let path = std::path::Path::new(&dir).join(format!("brute-{n}-{probes}.txt"));
    if let Ok(text) = std::fs::read_to_string(&path) {
        return text
            .lines()
            .map(|l| {
                let (a, b) = l.split_once(' ').expect("pair");
                (a.parse().expect("probe"), b.parse().expect("member"))
            })
            .collect();
    }
    let pairs = compute();
    let text: String = pairs.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    std::fs::write(&path, text).expect("brute cache writable");
    pairs
}

fn parse_variant(spec: &str) -> IndexConfig {
    let mut c = IndexConfig::default();
    for kv in spec.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').expect("key=value");
        match k {
            "fh" => c.finger_hashes = v.parse().unwrap(),
            "fb" => c.finger_hash_bits = v.parse().unwrap(),
            "core" => c.finger_core = v.parse().unwrap(),
            "pool" => c.finger_pool = v.parse().unwrap(),
            "ones" => c.finger_min_ones = v.parse().unwrap(),
            "ib" => c.iris_beacon_bits = v.parse().unwrap(),
            "is" => c.iris_spaces = v.parse().unwrap(),
            "istep" => c.iris_column_step = v.parse().unwrap(),
            "ishift" => c.iris_max_shift = v.parse().unwrap(),
            "iw" => c.iris_weight = v.parse().unwrap(),
            "share" => c.max_bucket_share = v.parse().unwrap(),
            _ => panic!("unknown key {k}"),
        }
    }
    c
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = args
        .get(1)
        .map(|s| s.split(',').map(|x| x.parse().unwrap()).collect())
        .unwrap_or_else(|| vec![2000, 10000]);
    let probes_n: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(200);
    let variants: Vec<(String, IndexConfig)> = match std::env::var("INDEX_VARIANTS") {
        Ok(v) => v
            .split(';')
            .map(|s| (s.to_owned(), parse_variant(s)))
            .collect(),
        Err(_) => vec![("default".into(), IndexConfig::default())],
    };
    let mut params = SearchParams::default();
    if let Ok(s) = std::env::var("SHORTLIST") {
        params.shortlist = s.parse().unwrap();
    }
    let brute_max: usize = std::env::var("BRUTE_MAX")
        .map(|s| s.parse().unwrap())
        .unwrap_or(2000);
    let t = llr_threshold_for_fmr(1e-6);
    params.min_llr = llr_threshold_for_fmr(1e-3).min(t);
    let mut rng = ChaCha8Rng::seed_from_u64(0x1DE7_0001);
    let max_n = *sizes.iter().max().unwrap();
    let plan = gallery_plan(max_n, &mut rng);
    let started = Instant::now();
    let gallery: Vec<PersonTemplate> = plan.par_iter().map(|&(l, t)| capture(l, t)).collect();
    eprintln!(
        "generated {} gallery persons in {:.1} s",
        gallery.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "| variant | gallery | probes | penetration | recall vs brute (pairs at LLR ≥ {t:.1}) | mates found / planted | index ms/probe | full-match ms/probe | postings/member | bytes/member | build s |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for &n in &sizes {
        // Probes: half planted mates of gallery members < n, half new persons.
        let mut prng = ChaCha8Rng::seed_from_u64(0x9B0B_E000 + n as u64);
        let mates: Vec<usize> = (0..probes_n / 2).map(|_| prng.gen_range(0..n)).collect();
        let mut probe_plan: Vec<(Lineage, Take)> = mates
            .iter()
            .map(|&m| (plan[m].0, hard_take(&mut prng)))
            .collect();
        for k in 0..probes_n - mates.len() {
            let lineage = if k % 2 == 0 {
                Lineage::RelativeOf {
                    base: lineage_seed(prng.gen_range(0..n)),
                    seed: 0x7777_0000_0000 + k as u64 + ((n as u64) << 20),
                }
            } else {
                Lineage::Own {
                    seed: 0x5555_0000_0000 + k as u64 + ((n as u64) << 20),
                }
            };
            let take = Take {
                fingers: 0x3ff,
                eyes: [true, true],
                quality: CaptureQuality::draw(&mut prng),
                seed: prng.gen(),
            };
            probe_plan.push((lineage, take));
        }
        let probe_persons: Vec<PersonTemplate> =
            probe_plan.par_iter().map(|&(l, t)| capture(l, t)).collect();
        // Reference: pairs brute force finds at the threshold.
        let mate_llr: Vec<f32> = mates
            .par_iter()
            .enumerate()
            .map(|(i, &m)| compare_persons(&probe_persons[i], &gallery[m], &params.fusion).llr)
            .collect();
        for (name, cfg) in &variants {
            let members: Vec<(String, PersonTemplate)> = gallery[..n]
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("g{i}"), p.clone()))
                .collect();
            let started = Instant::now();
            let part = Partition::build_with(members, cfg);
            let build_s = started.elapsed().as_secs_f64();
            let probes = ProbeSet::build_with(
                probe_persons
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("p{i}"), p.clone()))
                    .collect(),
                cfg,
            );
            let (found, stats) = index::search(&probes, &part, &params);
            let key = |c: &index::Candidate| (c.probe, c.member);
            let found_at: std::collections::HashSet<(u32, u32)> =
                found.iter().filter(|c| c.score.llr >= t).map(key).collect();
            let reference: Vec<(u32, u32)> = if n <= brute_max {
                brute_reference(n, probes_n, || {
                    let (all, _) = index::search_brute(&probes, &part, &params);
                    all.iter().filter(|c| c.score.llr >= t).map(key).collect()
                })
            } else {
                mates
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mate_llr[*i] >= t)
                    .map(|(i, &m)| (i as u32, m as u32))
                    .collect()
            };
            let hit = reference.iter().filter(|p| found_at.contains(p)).count();
            let mates_found = mates
                .iter()
                .enumerate()
                .filter(|(i, &m)| found_at.contains(&(*i as u32, m as u32)))
                .count();
            // Where the missed ones rank.
            for p in reference.iter().filter(|p| !found_at.contains(p)) {
                let votes = index::candidate_votes(&probes, p.0, &part);
                let rank = votes.iter().position(|v| v.0 == p.1);
                let top: Vec<u32> = votes.iter().take(5).map(|v| v.1).collect();
                eprintln!(
                    "  missed probe {} member {}: rank {:?} votes {:?}, top votes {:?}, llr {:.1}",
                    p.0,
                    p.1,
                    rank,
                    rank.map(|r| votes[r].1),
                    top,
                    mate_llr.get(p.0 as usize).copied().unwrap_or(f32::NAN)
                );
            }
            // Rank of every reference pair in its probe's candidate order (what recall a
            // shortlist of that size would give).
            let mut ranks: Vec<usize> = reference
                .iter()
                .map(|p| {
                    index::candidate_votes(&probes, p.0, &part)
                        .iter()
                        .position(|v| v.0 == p.1)
                        .unwrap_or(usize::MAX)
                })
                .collect();
            ranks.sort_unstable();
            let within = |k: usize| ranks.iter().filter(|&&r| r < k).count();
            eprintln!(
                "  reference pairs ranked within 10/20/50/100/150: {}/{}/{}/{}/{} of {}; worst ranks {:?}",
                within(10),
                within(20),
                within(50),
                within(100),
                within(150),
                ranks.len(),
                &ranks[ranks.len().saturating_sub(5)..]
            );
            let pp = probes.len() as f64;
            println!(
                "| {name} | {n} | {} | {:.3} % | {hit}/{} ({:.2} %) | {mates_found}/{} | {:.2} | {:.2} | {:.0} | {:.0} | {:.1} |",
                probes.len(),
                100.0 * stats.penetration(),
                reference.len(),
                100.0 * hit as f64 / reference.len().max(1) as f64,
                mates.len(),
                stats.index_ns as f64 / 1e6 / pp,
                stats.match_ns as f64 / 1e6 / pp,
                part.postings() as f64 / n as f64,
                part.memory_bytes() as f64 / n as f64,
                build_s,
            );
            eprintln!(
                "  index work {:.0} postings/probe, {} members decoded",
                stats.index_work as f64 / pp,
                stats.members_decoded
            );
        }
    }
}
