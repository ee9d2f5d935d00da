//! Fits the fusion calibrations (`biometrics::fusion::Calibration::{finger_default,
//! iris_default}`) on synthetic genuine/impostor score distributions and prints the knots as
//! Rust source, with a summary.
//!
//! Fingers: [`MASTERS_PER_POSITION`] synthetic fingers at each of the ten ISO positions,
//! [`IMPRESSIONS`] impressions each, every capture quality drawn with the realistic mix
//! ([`CaptureQuality::draw`]). Genuine pairs: every two impressions of one finger. Impostor
//! pairs: every two impressions of different fingers at the same position (fusion only ever
//! compares same-position fingers), plus the impressions of a [`FingerMaster::sibling`] (a
//! twin or close relative's finger: same class and flow, new minutiae) of every
//! [`SIBLING_EVERY`]-th finger against that finger's impressions. Scored as
//! `biometrics::fusion` scores them: `finger::prepare` of the record's view, then
//! `finger::compare`.
//!
//! Irises: [`IRIS_MASTERS_PER_EYE`] synthetic irises per eye, [`IRIS_CAPTURES`] captures each,
//! same quality mix; genuine = two captures of one iris, impostor = captures of different
//! irises of the same eye; scored `iris::compare(a, b, DEFAULT_MAX_SHIFT).similarity()`.
//!
//! Both are fitted with `Calibration::fit`. The pickup curves by quality band
//! (`finger_for_quality`) get a sample of their own plus ~20 million same-position impostor
//! pairs of fresh fingers ([`BAND_EXTRA_IMPOSTOR_FINGERS`]), fitted with
//! `Calibration::fit_clipped` at `PICKUP_LLR_CLIP`: about 6.5 minutes on 2 cores (the rest
//! takes seconds). Deterministic ([`SEED`]). When the FVC2002 DB1_B
//! templates are present (first argument, default `/work/shared/data/fvc2002/DB1_B`) the
//! example also fits them and compares both calibrations on those real scores.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-synth cargo run --release -p synth --example
//! fit_calibration [DB1_B_DIR]`.

use biometrics::eval::fvc_scores;
use biometrics::finger::{compare as finger_compare, prepare, FingerTemplate};
use biometrics::fusion::{
    llr_threshold_for_fmr, Calibration, ImpostorTail, FINGER_QUALITY_BANDS, PICKUP_LLR_CLIP,
};
use biometrics::iris::{compare as iris_compare, Eye, IrisCode, DEFAULT_MAX_SHIFT};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use synth::capture::CaptureQuality;
use synth::finger::band_samples::impostor_scores_by_band;
use synth::finger::{impression, FingerMaster};
use synth::iris::{capture, IrisMaster};

/// Seed of the whole fit.
const SEED: u64 = 0x7475_6e67_6761_6c01;
/// Synthetic fingers per ISO position (300 fingers in all).
const MASTERS_PER_POSITION: usize = 30;
/// Impressions per synthetic finger.
const IMPRESSIONS: usize = 5;
/// Every this-many-th finger gets a sibling finger (relative) as an extra impostor.
const SIBLING_EVERY: usize = 2;
/// Synthetic fingers per ISO position of the quality-band sample (a sample of its own, so the
/// default fit above stays as it was).
const BAND_MASTERS_PER_POSITION: usize = 40;
/// Impressions per finger of the quality-band sample.
const BAND_IMPRESSIONS: usize = 6;
/// Fresh fingers per ISO position whose same-position pairs (one impression each, about
/// 20 million pairs) join the quality bands' impostor samples: a band's curve beyond LLR 12
/// must rest on impostor counts of millions, not on the tail model's extrapolation from
/// ~100 000 pairs (which the `impostor_tail` example found 10–80× too thin out there).
const BAND_EXTRA_IMPOSTOR_FINGERS: usize = 2_000;
/// Bins of each quality band's fit: twice the default's, so the region where the impostor
/// tail meets the genuine scores is not one wide bin (with 24, the high band's genuine pairs
/// between 0.008 and 0.025 shared one knot and its curve was less sure of them than the
/// curve of all pairs).
const BAND_FIT_BINS: usize = 48;
/// Synthetic irises per eye.
const IRIS_MASTERS_PER_EYE: usize = 300;
/// Captures per synthetic iris.
const IRIS_CAPTURES: usize = 5;

/// Genuine and impostor similarity samples of one modality.
struct Scores {
    genuine: Vec<f32>,
    impostor: Vec<f32>,
    /// The impostor scores of sibling (relative) pairs (also in `impostor`).
    sibling: Vec<f32>,
}

fn finger_template(master: &FingerMaster, rng: &mut ChaCha8Rng) -> FingerTemplate {
    let rec = impression(master, CaptureQuality::draw(rng), rng);
    prepare(&rec.views[0], rec.res_x, rec.res_y)
}

fn finger_scores() -> Scores {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let (mut genuine, mut impostor, mut sibling) = (Vec::new(), Vec::new(), Vec::new());
    for position in 1..=10u8 {
        // Templates of each stranger finger, and (base finger index, templates) of siblings.
        let mut fingers: Vec<Vec<FingerTemplate>> = Vec::new();
        let mut siblings: Vec<(usize, Vec<FingerTemplate>)> = Vec::new();
        for f in 0..MASTERS_PER_POSITION {
            let master = FingerMaster::generate(position, &mut rng);
            let t = (0..IMPRESSIONS)
                .map(|_| finger_template(&master, &mut rng))
                .collect();
            fingers.push(t);
            if f % SIBLING_EVERY == 0 {
                let rel = master.sibling(&mut rng);
                let t = (0..IMPRESSIONS)
                    .map(|_| finger_template(&rel, &mut rng))
                    .collect();
                siblings.push((f, t));
            }
        }
        let flat: Vec<(usize, &FingerTemplate)> = fingers
            .iter()
            .enumerate()
            .flat_map(|(f, ts)| ts.iter().map(move |t| (f, t)))
            .collect();
        let mut pairs: Vec<(bool, &FingerTemplate, &FingerTemplate)> = Vec::new();
        for (i, &(fa, a)) in flat.iter().enumerate() {
            for &(fb, b) in &flat[i + 1..] {
                pairs.push((fa == fb, a, b));
            }
        }
        let stranger_pairs = pairs.len();
        for (base, ts) in &siblings {
            for a in ts {
                for b in &fingers[*base] {
                    pairs.push((false, a, b));
                }
            }
        }
        let scored: Vec<(bool, f32)> = pairs
            .par_iter()
            .map(|&(g, a, b)| (g, finger_compare(a, b)))
            .collect();
        for (k, (g, s)) in scored.into_iter().enumerate() {
            if g {
                genuine.push(s)
            } else {
                impostor.push(s)
            }
            if k >= stranger_pairs {
                sibling.push(s)
            }
        }
        eprintln!("fingers: position {position} done");
    }
    Scores {
        genuine,
        impostor,
        sibling,
    }
}

/// Finger scores by [`Calibration::finger_quality_band`] of the pair (the lower ISO finger
/// quality of its two impressions): same generators and quality mix as [`finger_scores`],
/// another seed, more impressions (6 000 genuine pairs in all), same-position impostors, and
/// the ~20 million impostor pairs of [`BAND_EXTRA_IMPOSTOR_FINGERS`] fresh fingers per position.
fn finger_band_scores() -> Vec<Scores> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0xb4d);
    let mut bands: Vec<Scores> = (0..=FINGER_QUALITY_BANDS.len())
        .map(|_| Scores {
            genuine: Vec::new(),
            impostor: Vec::new(),
            sibling: Vec::new(),
        })
        .collect();
    for position in 1..=10u8 {
        let mut flat: Vec<(usize, u8, FingerTemplate)> = Vec::new();
        for f in 0..BAND_MASTERS_PER_POSITION {
            let master = FingerMaster::generate(position, &mut rng);
            for _ in 0..BAND_IMPRESSIONS {
                let rec = impression(&master, CaptureQuality::draw(&mut rng), &mut rng);
                let view = &rec.views[0];
                flat.push((f, view.quality, prepare(view, rec.res_x, rec.res_y)));
            }
        }
        let scored: Vec<(usize, bool, f32)> = (0..flat.len())
            .into_par_iter()
            .flat_map_iter(|i| {
                let (fa, qa, a) = &flat[i];
                flat[i + 1..].iter().filter_map(move |(fb, qb, b)| {
                    let band = Calibration::finger_quality_band(*qa, *qb)?;
                    Some((band, fa == fb, finger_compare(a, b)))
                })
            })
            .collect();
        for (band, genuine, s) in scored {
            if genuine {
                bands[band].genuine.push(s)
            } else {
                bands[band].impostor.push(s)
            }
        }
        eprintln!("quality bands: position {position} done");
    }
    let extra = impostor_scores_by_band(BAND_EXTRA_IMPOSTOR_FINGERS, SEED ^ 0x7a11, |p, n| {
        eprintln!("quality bands, extra impostors: position {p} done, {n} pairs")
    });
    for (scores, more) in bands.iter_mut().zip(extra) {
        scores.impostor.extend(more);
    }
    bands
}

fn iris_scores() -> Scores {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0x1215);
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for eye in [Eye::Right, Eye::Left] {
        let mut codes: Vec<(usize, IrisCode)> = Vec::new();
        for m in 0..IRIS_MASTERS_PER_EYE {
            let master = IrisMaster::generate(eye, &mut rng);
            for _ in 0..IRIS_CAPTURES {
                let q = CaptureQuality::draw(&mut rng);
                codes.push((m, capture(&master, q, &mut rng)));
            }
        }
        let scored: Vec<Vec<(bool, f32)>> = (0..codes.len())
            .into_par_iter()
            .map(|i| {
                codes[i + 1..]
                    .iter()
                    .map(|(m, c)| {
                        let s = iris_compare(&codes[i].1, c, DEFAULT_MAX_SHIFT).similarity();
                        (*m == codes[i].0, s)
                    })
                    .collect()
            })
            .collect();
        for (g, s) in scored.into_iter().flatten() {
            if g {
                genuine.push(s)
            } else {
                impostor.push(s)
            }
        }
    }
    Scores {
        genuine,
        impostor,
        sibling: Vec::new(),
    }
}

/// Percentiles of a sample on one line.
fn percentiles(v: &[f32]) -> String {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    format!(
        "p1 {:.4}  p5 {:.4}  p50 {:.4}  p95 {:.4}  p99 {:.4}  p99.9 {:.4}  max {:.4}",
        p(0.01),
        p(0.05),
        p(0.5),
        p(0.95),
        p(0.99),
        p(0.999),
        s[s.len() - 1]
    )
}

/// Share of `scores` whose LLR under `c` is at least `t`.
fn share_at_or_above(c: &Calibration, scores: &[f32], t: f32) -> f64 {
    scores.iter().filter(|&&s| c.llr(s) >= t).count() as f64 / scores.len().max(1) as f64
}

fn knots_source(name: &str, c: &Calibration) -> String {
    let rows: Vec<String> = c
        .knots
        .iter()
        .map(|(x, y)| format!("    ({x:.4}, {y:.3}),"))
        .collect();
    format!("const {name}: &[(f32, f32)] = &[\n{}\n];", rows.join("\n"))
}

/// Sample sizes, percentiles, the calibration's LLR at a few scores and the empirical
/// error rates at the thresholds `llr_threshold_for_fmr(p)`.
fn report(label: &str, s: &Scores, c: &Calibration, probes: &[f32]) {
    println!("== {label} ==");
    println!(
        "genuine  n {:>8}  {}",
        s.genuine.len(),
        percentiles(&s.genuine)
    );
    println!(
        "impostor n {:>8}  {}",
        s.impostor.len(),
        percentiles(&s.impostor),
    );
    if !s.sibling.is_empty() {
        println!(
            "  of which sibling n {:>8}  {}",
            s.sibling.len(),
            percentiles(&s.sibling)
        );
    }
    if let Some(tail) = ImpostorTail::fit(&s.impostor) {
        // How well the exponential tail model predicts the rarest impostor scores sampled.
        let mut sorted = s.impostor.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let n = sorted.len();
        let checks: Vec<String> = [0.999, 0.9999, 0.99999]
            .iter()
            .filter_map(|&q| {
                let i = ((n as f64) * q) as usize;
                (i < n).then(|| {
                    let x = sorted[i];
                    let observed = (n - sorted.partition_point(|&v| v <= x)) as f64 / n as f64;
                    format!(
                        "P(S > {x:.4}) observed {observed:.2e} model {:.2e}",
                        tail.exceedance(x)
                    )
                })
            })
            .collect();
        println!(
            "impostor tail: threshold {:.4}, share {:.4}, scale {:.5}; {}",
            tail.threshold,
            tail.share,
            tail.scale,
            checks.join("; ")
        );
    }
    let llrs: Vec<String> = probes
        .iter()
        .map(|&x| format!("{x:.2} → {:+.2}", c.llr(x)))
        .collect();
    println!("LLR at: {}", llrs.join(", "));
    for p in [1e-2, 1e-3, 1e-4] {
        let t = llr_threshold_for_fmr(p);
        let sib = if s.sibling.is_empty() {
            String::new()
        } else {
            format!("  (siblings {:.2e})", share_at_or_above(c, &s.sibling, t))
        };
        println!(
            "  threshold ln(1/{p:e}) = {t:.2}: FMR {:.2e}  FNMR {:.4}{sib}",
            share_at_or_above(c, &s.impostor, t),
            1.0 - share_at_or_above(c, &s.genuine, t)
        );
    }
}

fn main() {
    let db1 = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/work/shared/data/fvc2002/DB1_B".into());
    let t0 = std::time::Instant::now();
    let fingers = finger_scores();
    eprintln!("finger scores in {:.1?}", t0.elapsed());
    let irises = iris_scores();
    eprintln!("iris scores in {:.1?}", t0.elapsed());
    let finger_cal = Calibration::fit(&fingers.genuine, &fingers.impostor);
    let iris_cal = Calibration::fit(&irises.genuine, &irises.impostor);

    println!("// Seed {SEED:#x}; regenerate with `CARGO_TARGET_DIR=/work/target-synth cargo run --release -p synth --example fit_calibration`.");
    println!("{}", knots_source("FINGER_DEFAULT_KNOTS", &finger_cal));
    println!("{}", knots_source("IRIS_DEFAULT_KNOTS", &iris_cal));
    println!();
    report(
        "fingers (synthetic)",
        &fingers,
        &finger_cal,
        &[0.0, 0.02, 0.05, 0.1, 0.2, 0.4],
    );
    let band_names = [
        "FINGER_LOW_QUALITY_KNOTS",
        "FINGER_MID_QUALITY_KNOTS",
        "FINGER_HIGH_QUALITY_KNOTS",
    ];
    let bands = finger_band_scores();
    for (name, scores) in band_names.iter().zip(&bands) {
        // The pickup curves: clipped at ±PICKUP_LLR_CLIP (checked by the `impostor_tail` example).
        let cal = Calibration::fit_clipped(
            &scores.genuine,
            &scores.impostor,
            BAND_FIT_BINS,
            PICKUP_LLR_CLIP,
        );
        println!("{}", knots_source(name, &cal));
        report(
            &format!("fingers (synthetic) in band {name}"),
            scores,
            &cal,
            &[0.0, 0.004, 0.006, 0.01, 0.02, 0.05],
        );
        report(
            &format!("the same, under the calibration of all pairs ({name})"),
            scores,
            &finger_cal,
            &[0.0, 0.004, 0.006, 0.01, 0.02, 0.05],
        );
    }
    report(
        "irises (synthetic)",
        &irises,
        &iris_cal,
        &[0.0, 0.1, 0.2, 0.3, 0.4, 0.6],
    );

    // Cross-check on the real FVC2002 DB1_B scores, when present.
    let templates =
        biometrics::eval::read_fvc_folder(std::path::Path::new(&db1)).unwrap_or_default();
    let Ok(real) = fvc_scores(&templates) else {
        println!("\n(no FVC2002 DB1_B templates under {db1}: cross-check skipped)");
        return;
    };
    let real_cal = Calibration::fit(&real.genuine, &real.impostor);
    println!("\n== cross-check: FVC2002 DB1_B ({db1}) ==");
    println!("{}", knots_source("DB1_FIT_KNOTS", &real_cal));
    let real = Scores {
        genuine: real.genuine,
        impostor: real.impostor,
        sibling: Vec::new(),
    };
    report(
        "DB1_B scores, synthetic fit",
        &real,
        &finger_cal,
        &[0.0, 0.02, 0.05, 0.1, 0.2, 0.4],
    );
    report(
        "DB1_B scores, DB1_B fit",
        &real,
        &real_cal,
        &[0.0, 0.02, 0.05, 0.1, 0.2, 0.4],
    );
    report(
        "synthetic finger scores, DB1_B fit",
        &fingers,
        &real_cal,
        &[0.0, 0.02, 0.05, 0.1, 0.2, 0.4],
    );
}
