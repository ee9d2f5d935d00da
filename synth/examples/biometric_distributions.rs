//! Prints genuine and impostor score distributions of the synthetic biometrics next to the
//! real FVC2002 templates, so the generator can be tuned to behave like real data.
//!
//! Fingerprints: the FVC protocol (every two impressions of one finger are a genuine pair,
//! every two impressions of different fingers an impostor pair) on the real DB1_B..DB4_B
//! minutiae templates and on synthetic "databases" of the same shape, scored with
//! `biometrics::finger::{prepare, compare}`. Irises: fractional Hamming distances of
//! synthetic IrisCodes with `biometrics::iris::compare`.
//!
//! Run: `cargo run --release -p synth --example biometric_distributions [FVC_DIR] [FINGERS]`
//! (FVC_DIR defaults to `/work/shared/data/fvc2002`, FINGERS, the synthetic fingers per
//! quality mix, to 100). Environment: `SKIP_REAL` / `SKIP_IRIS` skip those parts, `ONLY=k`
//! runs only synthetic quality mix `k` (0 realistic, 1 good, 2 fair, 3 poor), `DUMP_DIR`
//! writes the synthetic records there as `<finger>_<impression>.iso`.

use std::path::PathBuf;

use biometrics::eval::{error_rates, fvc_scores, FvcScores};
use biometrics::iris::{compare as iris_compare, Eye, DEFAULT_MAX_SHIFT};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use synth::capture::CaptureQuality;
use synth::finger::{impression, FingerMaster};
use synth::iris::{capture, IrisMaster};

/// Chooses the capture quality of each synthetic impression.
type Mix = fn(&mut ChaCha8Rng) -> CaptureQuality;

/// Mean and percentiles of a sample, formatted on one line.
fn summary(v: &[f32]) -> String {
    let mut s: Vec<f32> = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let mean = s.iter().map(|&x| f64::from(x)).sum::<f64>() / s.len() as f64;
    let p = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    format!(
        "n {:>6}  mean {:.4}  p5 {:.4}  p25 {:.4}  p50 {:.4}  p75 {:.4}  p95 {:.4}  p99 {:.4}",
        s.len(),
        mean,
        p(0.05),
        p(0.25),
        p(0.5),
        p(0.75),
        p(0.95),
        p(0.99)
    )
}

fn report(label: &str, scores: &FvcScores) {
    println!("{label}");
    println!("  genuine  {}", summary(&scores.genuine));
    println!("  impostor {}", summary(&scores.impostor));
    println!("  {}", error_rates(&scores.genuine, &scores.impostor));
}

/// Synthetic database in FVC shape: `fingers` fingers × 8 impressions, named
/// `<finger>_<impression>`; `quality` picks each impression's capture quality.
fn synthetic_db(seed: u64, fingers: usize, quality: Mix, siblings: bool) -> Vec<(String, Vec<u8>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut prev: Option<FingerMaster> = None;
    for f in 0..fingers {
        let position = (f % 10 + 1) as u8;
        let master = match (&prev, siblings && f % 2 == 1) {
            (Some(p), true) => p.sibling(&mut rng),
            _ => FingerMaster::generate(position, &mut rng),
        };
        for i in 0..8 {
            let q = quality(&mut rng);
            let rec = impression(&master, q, &mut rng);
            out.push((format!("{}_{}", 100 + f, i + 1), rec.to_bytes()));
        }
        prev = Some(master);
    }
    out
}

fn minutiae_counts(db: &[(String, Vec<u8>)]) -> String {
    let counts: Vec<f32> = db
        .iter()
        .map(|(_, b)| {
            biometrics::iso19794::parse(b).expect("valid record").views[0]
                .minutiae
                .len() as f32
        })
        .collect();
    summary(&counts)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fvc_dir = PathBuf::from(
        args.get(1)
            .map_or("/work/shared/data/fvc2002", |s| s.as_str()),
    );
    let fingers: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);

    let skip_real = std::env::var("SKIP_REAL").is_ok();
    let skip_iris = std::env::var("SKIP_IRIS").is_ok();
    println!("== Fingerprints: real FVC2002 templates ==");
    for db in if skip_real {
        vec![]
    } else {
        vec!["DB1_B", "DB2_B", "DB3_B", "DB4_B"]
    } {
        let dir = fvc_dir.join(db);
        let Ok(templates) = biometrics::eval::read_fvc_folder(&dir) else {
            println!("{db}: not found under {}", fvc_dir.display());
            continue;
        };
        println!("{db}: minutiae {}", minutiae_counts(&templates));
        match fvc_scores(&templates) {
            Ok(s) => report(db, &s),
            Err(e) => println!("{db}: {e}"),
        }
    }

    println!("\n== Fingerprints: synthetic ({fingers} fingers x 8 impressions) ==");
    let mixes_all: [(&str, Mix); 4] = [
        ("realistic mix (CaptureQuality::draw)", |r| {
            CaptureQuality::draw(r)
        }),
        ("all Good", |_| CaptureQuality::Good),
        ("all Fair", |_| CaptureQuality::Fair),
        ("all Poor", |_| CaptureQuality::Poor),
    ];
    let only: Option<usize> = std::env::var("ONLY").ok().and_then(|v| v.parse().ok());
    let mixes: Vec<_> = mixes_all
        .iter()
        .enumerate()
        .filter(|(k, _)| only.is_none_or(|o| o == *k))
        .map(|(_, m)| *m)
        .collect();
    for (k, (label, mix)) in mixes.iter().enumerate() {
        let db = synthetic_db(1000 + k as u64, fingers, *mix, false);
        if let Ok(dir) = std::env::var("DUMP_DIR") {
            std::fs::create_dir_all(&dir).expect("dump dir");
            for (name, bytes) in &db {
                std::fs::write(format!("{dir}/{name}.iso"), bytes).expect("dump");
            }
        }
        println!("{label}: minutiae {}", minutiae_counts(&db));
        report(label, &fvc_scores(&db).expect("synthetic db scores"));
    }
    if only.is_some() {
        return;
    }
    let db = synthetic_db(2000, fingers, CaptureQuality::draw::<ChaCha8Rng>, true);
    let s = fvc_scores(&db).expect("synthetic db scores");
    // Impostor pairs between siblings: fingers 2k and 2k+1.
    let prepared: Vec<_> = db
        .iter()
        .map(|(n, b)| {
            let r = biometrics::iso19794::parse(b).expect("valid");
            (
                n.clone(),
                biometrics::finger::prepare(&r.views[0], r.res_x, r.res_y),
            )
        })
        .collect();
    let mut sib = Vec::new();
    for f in (0..fingers - 1).step_by(2) {
        for i in 0..8 {
            for j in 0..8 {
                sib.push(biometrics::finger::compare(
                    &prepared[f * 8 + i].1,
                    &prepared[(f + 1) * 8 + j].1,
                ));
            }
        }
    }
    println!(
        "sibling impostors (same class, new minutiae)\n  sibling  {}",
        summary(&sib)
    );
    println!("  (all pairs of that db) genuine {}", summary(&s.genuine));

    if skip_iris {
        return;
    }
    println!("\n== Irises: synthetic ==");
    let mut rng = ChaCha8Rng::seed_from_u64(3000);
    let masters: Vec<IrisMaster> = (0..300)
        .map(|i| IrisMaster::generate(if i % 2 == 0 { Eye::Right } else { Eye::Left }, &mut rng))
        .collect();
    let codes: Vec<_> = masters
        .iter()
        .map(|m| {
            let q = CaptureQuality::draw(&mut rng);
            capture(m, q, &mut rng)
        })
        .collect();
    let (mut raw0, mut best_raw, mut best_norm, mut bits) = (vec![], vec![], vec![], vec![]);
    for i in 0..codes.len() {
        for j in i + 1..codes.len() {
            let s0 = iris_compare(&codes[i], &codes[j], 0);
            raw0.push(s0.hd_raw);
            bits.push(s0.bits_compared as f32);
            let s = iris_compare(&codes[i], &codes[j], DEFAULT_MAX_SHIFT);
            best_raw.push(s.hd_raw);
            best_norm.push(s.hd_norm);
        }
    }
    let dof = |v: &[f32]| {
        let m = v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|&x| (f64::from(x) - m).powi(2)).sum::<f64>() / v.len() as f64;
        (m, var.sqrt(), m * (1.0 - m) / var)
    };
    let (m, sd, d) = dof(&raw0);
    println!(
        "impostor HD raw, no rotation  {}  (sd {sd:.4}, dof {d:.0}, mean {m:.4})",
        summary(&raw0)
    );
    println!(
        "impostor HD raw, best of ±{DEFAULT_MAX_SHIFT}   {}",
        summary(&best_raw)
    );
    println!("impostor HD normalised, best  {}", summary(&best_norm));
    println!("bits compared (impostor)      {}", summary(&bits));
    for q in CaptureQuality::ALL {
        let (mut raw, mut norm) = (vec![], vec![]);
        for m in &masters {
            let enrol = capture(m, CaptureQuality::Good, &mut rng);
            let probe = capture(m, q, &mut rng);
            let s = iris_compare(&probe, &enrol, DEFAULT_MAX_SHIFT);
            raw.push(s.hd_raw);
            norm.push(s.hd_norm);
        }
        println!("genuine {q:?} probe vs Good enrol, raw   {}", summary(&raw));
        println!(
            "genuine {q:?} probe vs Good enrol, norm  {}",
            summary(&norm)
        );
    }
}
