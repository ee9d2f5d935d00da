//! Why do genuine fingers fail at card pickup? A harness on the synthetic impression model.
//!
//! Generates `N` persons' index fingers (ISO positions 2 and 7) the way synth and
//! `tunggal eval pickup` do: the ten fingers of a body drawn in order from the person's seed,
//! an enrollment capture of all ten fingers at one quality, and a pickup capture of the two
//! index fingers in one sitting with a seed of its own and its own quality (both drawn with the
//! realistic 65 / 25 / 10 % mix). Every genuine pair (chip = enrollment capture, live = pickup
//! capture) and `K` same-position impostor pairs per finger are scored with
//! [`biometrics::finger::compare`]. A genuine pair is a *miss* when it scores below the fixed
//! threshold (the impostor 99.9th percentile, and the calibration's LLR-0 score 0.0048).
//!
//! For every genuine pair the impression model's ground truth ([`impression_traced`]) says
//! how the finger was placed (rotation, drag, severity), how many master minutiae both
//! impressions saw, how many were reported in both (the true correspondences), and how far the
//! two impressions are from one rigid motion (RMS residual of the least-squares rigid fit of
//! the true correspondences); [`biometrics::finger::explain`] says how many of the matcher's
//! pairs are true. The report compares misses with hits on these.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bio cargo run --release -p synth --example pickup_misses -- [N] [K] [SEED]
//! ```
//! (defaults 1000 persons, 20 impostors per finger, seed 1; `CSV=path` writes one line per
//! genuine pair; `GATE=1` drops live captures the pickup quality gate would send back.)
//! `pickup_misses fvc2004 [FINGERS] [SEED]` (or `live-scan`) instead runs the FVC protocol on
//! the synthetic FVC-like database, as `tunggal eval fvc --synthetic 100 --distortion fvc2004`
//! does (defaults 100 fingers, seed 2004).

use biometrics::finger::{capture_quality::capture_quality, compare, explain, prepare};
use biometrics::iso19794::FingerRecord;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synth::capture::CaptureQuality;
use synth::finger::{impression_traced, Distortion, FingerMaster, ImpressionTrace};

/// One captured finger: the record, its prepared template and the model's trace.
struct Shot {
    record: FingerRecord,
    template: biometrics::finger::FingerTemplate,
    trace: ImpressionTrace,
    quality: CaptureQuality,
}

/// What one genuine comparison was, in the model's and the matcher's terms.
#[derive(Debug, Clone)]
struct Genuine {
    person: usize,
    position: u8,
    score: f32,
    q_enrol: CaptureQuality,
    q_live: CaptureQuality,
    sev_enrol: f64,
    sev_live: f64,
    /// Rotation of the live impression relative to the enrollment one (sensor rotations), deg.
    rot_deg: f64,
    /// Rotation of the rigid fit of the true correspondences, deg.
    fit_rot_deg: f64,
    /// Translation of the rigid fit (length), pixels.
    fit_shift: f64,
    /// RMS and max residual of the rigid fit, pixels.
    fit_rms: f64,
    fit_max: f64,
    /// Drag magnitude of the two impressions (sum of shift lengths), pixels.
    drag: f64,
    n_enrol: usize,
    n_live: usize,
    /// Master minutiae inside both impressions' contact areas and windows.
    overlap: usize,
    /// Master minutiae reported by both impressions.
    true_pairs: usize,
    /// Pairs in the matcher's pairing, and how many of them are true.
    matched: usize,
    matched_true: usize,
    /// Live capture passes the pickup quality gate.
    gate_ok: bool,
    /// True pairs with an unusable cylinder on either side, with both usable but local
    /// similarity 0, their mean local similarity, and how many are the best in their row.
    t_unusable: usize,
    t_zero: usize,
    t_mean: f64,
    t_best: usize,
    /// The matcher's stages: LSS-R and consolidation scores.
    lss: f32,
    global: f32,
    /// True pairs among the n_P most efficient LSS-R pairs, and among all LSS-R pairs.
    lss_true_np: usize,
    lss_true_all: usize,
    /// Rank (0-based) of the first true pair among the consolidation seeds (20 looked at;
    /// 99 = none).
    seed_rank: usize,
    /// Best rigid score of the first 5 seeds, and of the true seeds among the first 20.
    best5: f32,
    best_true20: f32,
}

fn capture_body(
    masters: &[FingerMaster],
    positions: &[u8],
    quality: CaptureQuality,
    seed: u64,
) -> Vec<Shot> {
    // As `Body::capture`: one random stream for the fingers of one sitting, in order.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    positions
        .iter()
        .map(|&p| {
            let (record, trace) = impression_traced(
                &masters[usize::from(p) - 1],
                quality,
                &Distortion::LIVE_SCAN,
                &mut rng,
            );
            let template = prepare(&record.views[0], record.res_x, record.res_y);
            Shot {
                record,
                template,
                trace,
                quality,
            }
        })
        .collect()
}

/// Least-squares rigid motion of `src` onto `dst`: (rotation rad, shift length, RMS, max).
fn rigid_fit(src: &[(f64, f64)], dst: &[(f64, f64)]) -> (f64, f64, f64, f64) {
    let n = src.len() as f64;
    if src.len() < 2 {
        return (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
    }
    let c = |v: &[(f64, f64)]| {
        let (sx, sy) = v.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
        (sx / n, sy / n)
    };
    let (cs, cd) = (c(src), c(dst));
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (p, q) in src.iter().zip(dst) {
        let (ax, ay) = (p.0 - cs.0, p.1 - cs.1);
        let (bx, by) = (q.0 - cd.0, q.1 - cd.1);
        sxx += ax * bx + ay * by;
        sxy += ax * by - ay * bx;
    }
    let th = sxy.atan2(sxx);
    let (s, co) = th.sin_cos();
    let (tx, ty) = (cd.0 - (co * cs.0 - s * cs.1), cd.1 - (s * cs.0 + co * cs.1));
    let (mut ss, mut mx) = (0.0f64, 0.0f64);
    for (p, q) in src.iter().zip(dst) {
        let (x, y) = (co * p.0 - s * p.1 + tx, s * p.0 + co * p.1 + ty);
        let d = (x - q.0).hypot(y - q.1);
        ss += d * d;
        mx = mx.max(d);
    }
    (th, tx.hypot(ty), (ss / n).sqrt(), mx)
}

fn genuine(person: usize, position: u8, chip: &Shot, live: &Shot) -> Genuine {
    let score = compare(&chip.template, &live.template);
    let (te, tl) = (&chip.trace, &live.trace);
    let overlap = te
        .visible
        .iter()
        .zip(&tl.visible)
        .filter(|(a, b)| a.is_some() && b.is_some())
        .count();
    // True correspondences: record index in the chip and in the live view per master minutia.
    let mut in_live = vec![None; tl.visible.len()];
    for (j, s) in tl.sources.iter().enumerate() {
        if let Some(m) = s {
            in_live[*m] = Some(j);
        }
    }
    let (ve, vl) = (&chip.record.views[0], &live.record.views[0]);
    let mut src = Vec::new();
    let mut dst = Vec::new();
    for (i, s) in te.sources.iter().enumerate() {
        if let Some(j) = s.and_then(|m| in_live[m]) {
            src.push((f64::from(ve.minutiae[i].x), f64::from(ve.minutiae[i].y)));
            dst.push((f64::from(vl.minutiae[j].x), f64::from(vl.minutiae[j].y)));
        }
    }
    let (th, shift, rms, mx) = rigid_fit(&src, &dst);
    let ex = explain(&chip.template, &live.template);
    let matched_true = ex
        .pairs
        .iter()
        .filter(|p| matches!((te.sources[p.a], tl.sources[p.b]), (Some(x), Some(y)) if x == y))
        .count();
    let is_true =
        |a: usize, b: usize| matches!((te.sources[a], tl.sources[b]), (Some(x), Some(y)) if x == y);
    let tr = biometrics::finger::trace(&chip.template, &live.template);
    assert_eq!(tr.score, score, "trace reproduces the score");
    let lss_true_np = tr
        .by_efficiency
        .iter()
        .take(tr.np)
        .filter(|p| is_true(p.0, p.1))
        .count();
    let lss_true_all = tr
        .by_efficiency
        .iter()
        .filter(|p| is_true(p.0, p.1))
        .count();
    let seed_rank = tr
        .seeds
        .iter()
        .position(|p| is_true(p.0, p.1))
        .unwrap_or(99);
    let best5 = tr.seeds.iter().take(5).map(|p| p.3).fold(0f32, f32::max);
    let best_true20 = tr
        .seeds
        .iter()
        .filter(|p| is_true(p.0, p.1))
        .map(|p| p.3)
        .fold(0f32, f32::max);
    // Local similarity of the true pairs: unusable cylinder, zero (not comparable), and
    // rank of the true partner within its row.
    let nb = tl.sources.len();
    let (mut t_unusable, mut t_zero, mut t_sum, mut t_best) = (0usize, 0usize, 0f64, 0usize);
    for (i, si) in te.sources.iter().enumerate() {
        let Some(j) = si.and_then(|m| in_live[m]) else {
            continue;
        };
        if !tr.usable.0[i] || !tr.usable.1[j] {
            t_unusable += 1;
            continue;
        }
        let v = tr.local[i * nb + j];
        if v == 0.0 {
            t_zero += 1;
        }
        t_sum += f64::from(v);
        let row = &tr.local[i * nb..(i + 1) * nb];
        if row.iter().all(|&w| w <= v) {
            t_best += 1;
        }
    }
    let t_usable = src.len() - t_unusable;
    let drag = te.drag_shift.0.hypot(te.drag_shift.1) + tl.drag_shift.0.hypot(tl.drag_shift.1);
    Genuine {
        person,
        position,
        score,
        q_enrol: chip.quality,
        q_live: live.quality,
        sev_enrol: te.severity,
        sev_live: tl.severity,
        rot_deg: (tl.rotation - te.rotation).to_degrees(),
        fit_rot_deg: th.to_degrees(),
        fit_shift: shift,
        fit_rms: rms,
        fit_max: mx,
        drag,
        n_enrol: ve.minutiae.len(),
        n_live: vl.minutiae.len(),
        overlap,
        true_pairs: src.len(),
        matched: ex.pairs.len(),
        matched_true,
        gate_ok: capture_quality(vl, live.record.res_x, live.record.res_y)
            .problems
            .is_empty(),
        t_unusable,
        t_zero,
        t_mean: if t_usable > 0 {
            t_sum / t_usable as f64
        } else {
            f64::NAN
        },
        t_best,
        lss: tr.lss,
        global: tr.global,
        lss_true_np,
        lss_true_all,
        seed_rank,
        best5,
        best_true20,
    }
}

/// The live view turned by `units` ISO angle steps (1.40625° each, so directions stay exact)
/// about the sensor centre and shifted by 200 px (coordinates stay positive).
fn turned(view: &biometrics::iso19794::FingerView, units: i32) -> biometrics::iso19794::FingerView {
    let mut v = view.clone();
    let th = f64::from(units) * 2.0 * std::f64::consts::PI / 256.0;
    let (s, c) = th.sin_cos();
    for m in v.minutiae.iter_mut() {
        // ISO angles turn counter-clockwise with y down: a visual rotation by −th.
        let (x, y) = (f64::from(m.x) - 150.0, f64::from(m.y) - 200.0);
        let (rx, ry) = (c * x + s * y, -s * x + c * y);
        m.x = (rx + 350.0).round() as u16;
        m.y = (ry + 400.0).round() as u16;
        m.angle = (i32::from(m.angle) + units).rem_euclid(256) as u8;
    }
    v
}

/// Is the matcher rotation invariant? Scores of every genuine pair with the live view turned
/// by 0, ±10, ±20 and ±30 ISO steps (shifted by 200 px in every case).
fn rotation_check(chips: &[Vec<Shot>], lives: &[Vec<Shot>], fingers: usize) {
    for units in [0, 7, -7, 14, -14, 21, -21] {
        let mut scores = Vec::new();
        let mut same = 0;
        for (c, l) in chips.iter().zip(lives) {
            for f in 0..fingers {
                let v = turned(&l[f].record.views[0], units);
                let t = prepare(&v, l[f].record.res_x, l[f].record.res_y);
                let sc = compare(&c[f].template, &t);
                if sc == compare(&c[f].template, &l[f].template) {
                    same += 1;
                }
                scores.push(sc);
            }
        }
        let miss = scores.iter().filter(|&&s| s < 0.0048).count();
        println!(
            "  rotation check {:>6.1}°: genuine miss at 0.0048 {miss} / {}, median {:.4}, unchanged {same}",
            f64::from(units) * 1.40625,
            scores.len(),
            quantile(&scores, 0.5)
        );
    }
}

fn quantile(v: &[f32], p: f64) -> f32 {
    let mut v = v.to_vec();
    v.sort_by(f32::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The FVC protocol on a synthetic database (as `tunggal eval fvc --synthetic F --distortion
/// MODEL --seed S`, without building the CLI).
fn fvc_synthetic(model: &str, fingers: usize, seed: u64) {
    let distortion = match model {
        "fvc2004" => Distortion::FVC2004,
        _ => Distortion::LIVE_SCAN,
    };
    let templates = synth::finger::fvc_database(fingers, 8, &distortion, seed);
    let t0 = std::time::Instant::now();
    let report = biometrics::eval::fvc_protocol(&templates).expect("FVC protocol");
    println!(
        "synthetic {fingers} fingers x 8, {model}, seed {seed}: {report}  ({:.1}s)",
        t0.elapsed().as_secs_f64()
    );
}

/// One line per comparison of the matcher's stages: `genuine,score,lss,global,best rigid`.
fn stage_line(
    genuine: bool,
    a: &biometrics::finger::FingerTemplate,
    b: &biometrics::finger::FingerTemplate,
) -> String {
    let t = biometrics::finger::trace(a, b);
    let best = t.seeds.iter().take(5).map(|p| p.3).fold(0f32, f32::max);
    format!(
        "{},{},{},{},{},{},{}\n",
        u8::from(genuine),
        t.score,
        t.lss,
        t.global,
        best,
        t.verified_lss,
        t.verified_pairs
    )
}

/// `fvcdump DIR OUT`: the stages of every FVC protocol comparison of a folder, for offline
/// experiments with the score formula.
fn fvc_dump(dir: &str, out: &str) {
    let templates = biometrics::eval::read_fvc_folder(std::path::Path::new(dir)).expect("folder");
    let prepared: Vec<(String, biometrics::finger::FingerTemplate)> = templates
        .iter()
        .map(|(name, bytes)| {
            let rec = biometrics::iso19794::parse(bytes).expect("ISO record");
            let finger = name.split('_').next().unwrap_or("").to_string();
            (finger, prepare(&rec.views[0], rec.res_x, rec.res_y))
        })
        .collect();
    let mut text = String::from("genuine,score,lss,global,best,vlss,vpairs\n");
    for i in 0..prepared.len() {
        for j in i + 1..prepared.len() {
            text.push_str(&stage_line(
                prepared[i].0 == prepared[j].0,
                &prepared[i].1,
                &prepared[j].1,
            ));
        }
    }
    std::fs::write(out, text).expect("write");
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.first().map(String::as_str) == Some("fvcdump") {
        fvc_dump(&raw[1], &raw[2]);
        return;
    }
    if let Some(model) = raw.first().filter(|m| *m == "fvc2004" || *m == "live-scan") {
        let fingers = raw.get(1).map_or(100, |v| v.parse().expect("fingers"));
        let seed = raw.get(2).map_or(2004, |v| v.parse().expect("seed"));
        fvc_synthetic(model, fingers, seed);
        return;
    }
    let args: Vec<u64> = raw
        .iter()
        .map(|a| a.parse().expect("numeric argument"))
        .collect();
    let persons = *args.first().unwrap_or(&1000) as usize;
    let k_imp = *args.get(1).unwrap_or(&20) as usize;
    let seed = *args.get(2).unwrap_or(&1);
    let gate = std::env::var_os("GATE").is_some();
    let positions = [2u8, 7u8];

    let t0 = std::time::Instant::now();
    let mut chips: Vec<Vec<Shot>> = Vec::with_capacity(persons);
    let mut lives: Vec<Vec<Shot>> = Vec::with_capacity(persons);
    for i in 0..persons {
        let pseed = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ (i as u64).wrapping_mul(0xd1b5_4a32_d192_ed03);
        // As `Body::generate`: fingers 1..=10 in order from the person's stream.
        let mut rng = ChaCha8Rng::seed_from_u64(pseed);
        let masters: Vec<FingerMaster> = (1..=10)
            .map(|p| FingerMaster::generate(p, &mut rng))
            .collect();
        let mut qrng = ChaCha8Rng::seed_from_u64(pseed ^ 0x5151);
        let q_enrol = CaptureQuality::draw(&mut qrng);
        let q_live = CaptureQuality::draw(&mut qrng);
        let all: Vec<u8> = (1..=10).collect();
        let enrol = capture_body(&masters, &all, q_enrol, pseed ^ 0xe4);
        chips.push(
            enrol
                .into_iter()
                .filter(|s| positions.contains(&s.record.views[0].position))
                .collect(),
        );
        lives.push(capture_body(&masters, &positions, q_live, pseed ^ 0x71c0));
    }
    let t_gen = t0.elapsed();

    let t1 = std::time::Instant::now();
    let mut gen: Vec<Genuine> = Vec::new();
    for i in 0..persons {
        for f in 0..positions.len() {
            gen.push(genuine(i, positions[f], &chips[i][f], &lives[i][f]));
        }
    }
    let t_gen_cmp = t1.elapsed();
    let t2 = std::time::Instant::now();
    let mut imp: Vec<f32> = Vec::new();
    // STAGES=path: the stages of every comparison (genuine and impostor), for offline work.
    let mut imp_stages = std::env::var_os("STAGES")
        .map(|_| String::from("genuine,score,lss,global,best,vlss,vpairs\n"));
    if let Some(stages) = imp_stages.as_mut() {
        for i in 0..persons {
            for f in 0..positions.len() {
                stages.push_str(&stage_line(
                    true,
                    &chips[i][f].template,
                    &lives[i][f].template,
                ));
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1a90);
    for i in 0..persons {
        for f in 0..positions.len() {
            if gate && !gen[i * positions.len() + f].gate_ok {
                continue;
            }
            for _ in 0..k_imp {
                let mut j = rng.gen_range(0..persons);
                if j == i {
                    j = (j + 1) % persons;
                }
                imp.push(compare(&chips[j][f].template, &lives[i][f].template));
                if let Some(stages) = imp_stages.as_mut() {
                    stages.push_str(&stage_line(
                        false,
                        &chips[j][f].template,
                        &lives[i][f].template,
                    ));
                }
            }
        }
    }
    let t_imp = t2.elapsed();
    if let (Some(text), Some(path)) = (imp_stages, std::env::var_os("STAGES")) {
        std::fs::write(path, text).expect("write stages");
    }
    if gate {
        gen.retain(|g| g.gate_ok);
    }
    if std::env::var_os("ROTCHECK").is_some() {
        rotation_check(&chips, &lives, positions.len());
    }

    let thr999 = quantile(&imp, 0.999);
    let thr = [
        ("impostor p99", quantile(&imp, 0.99)),
        ("impostor p99.9", thr999),
        ("score 0.0048", 0.0048),
    ];
    println!(
        "pickup_misses: {persons} persons, {} genuine pairs, {} impostor pairs, seed {seed}{}",
        gen.len(),
        imp.len(),
        if gate { ", quality gate on" } else { "" }
    );
    println!(
        "  time: generate {:.1}s, genuine {:.1}s ({:.1} µs/pair incl. explain), impostor {:.1}s ({:.1} µs/pair)",
        t_gen.as_secs_f64(),
        t_gen_cmp.as_secs_f64(),
        t_gen_cmp.as_secs_f64() * 1e6 / gen.len() as f64,
        t_imp.as_secs_f64(),
        t_imp.as_secs_f64() * 1e6 / imp.len().max(1) as f64
    );
    let gs: Vec<f32> = gen.iter().map(|g| g.score).collect();
    println!(
        "  impostor p99 {:.4} p99.9 {:.4} max {:.4}; genuine p1 {:.4} p5 {:.4} p50 {:.4}",
        quantile(&imp, 0.99),
        thr999,
        quantile(&imp, 1.0),
        quantile(&gs, 0.01),
        quantile(&gs, 0.05),
        quantile(&gs, 0.5)
    );
    for (name, t) in thr {
        let miss = gen.iter().filter(|g| g.score < t).count();
        let fm = imp.iter().filter(|&&s| s >= t).count();
        println!(
            "  threshold {name} = {t:.4}: genuine miss {miss} / {} = {:.2} %  (impostors at or above: {:.3} %)",
            gen.len(),
            100.0 * miss as f64 / gen.len() as f64,
            100.0 * fm as f64 / imp.len().max(1) as f64
        );
        for q in CaptureQuality::ALL {
            let sel: Vec<&Genuine> = gen.iter().filter(|g| g.q_live == q).collect();
            let m = sel.iter().filter(|g| g.score < t).count();
            println!(
                "    live {q:?}: {m} / {} = {:.2} %",
                sel.len(),
                100.0 * m as f64 / sel.len().max(1) as f64
            );
        }
    }
    // Misses against hits at the fixed 0.0048 threshold.
    let t = 0.0048;
    let (miss, hit): (Vec<&Genuine>, Vec<&Genuine>) = gen.iter().partition(|g| g.score < t);
    type Field = (&'static str, fn(&Genuine) -> f64);
    let fields: [Field; 28] = [
        ("score", |g| f64::from(g.score)),
        ("|rotation| deg", |g| g.rot_deg.abs()),
        ("|fit rotation| deg", |g| g.fit_rot_deg.abs()),
        ("fit shift px", |g| g.fit_shift),
        ("fit rms px", |g| g.fit_rms),
        ("fit max px", |g| g.fit_max),
        ("drag px", |g| g.drag),
        ("severity enrol", |g| g.sev_enrol),
        ("severity live", |g| g.sev_live),
        ("minutiae enrol", |g| g.n_enrol as f64),
        ("minutiae live", |g| g.n_live as f64),
        ("overlap masters", |g| g.overlap as f64),
        ("true pairs", |g| g.true_pairs as f64),
        ("true / min count", |g| {
            g.true_pairs as f64 / g.n_enrol.min(g.n_live).max(1) as f64
        }),
        ("matcher pairs", |g| g.matched as f64),
        ("matcher true pairs", |g| g.matched_true as f64),
        ("matcher true share", |g| {
            g.matched_true as f64 / g.matched.max(1) as f64
        }),
        ("true: unusable cylinder", |g| g.t_unusable as f64),
        ("true: local sim 0", |g| g.t_zero as f64),
        ("true: mean local sim", |g| g.t_mean),
        ("true: best in row", |g| g.t_best as f64),
        ("LSS-R", |g| f64::from(g.lss)),
        ("consolidation", |g| f64::from(g.global)),
        ("true in top n_P", |g| g.lss_true_np as f64),
        ("true in LSS pairs", |g| g.lss_true_all as f64),
        ("first true seed rank", |g| g.seed_rank as f64),
        ("best rigid, 5 seeds", |g| f64::from(g.best5)),
        ("best rigid, true seed", |g| f64::from(g.best_true20)),
    ];
    // Where the misses go wrong.
    let cat = |g: &Genuine| {
        if g.seed_rank < 5 {
            if g.best_true20 >= g.best5 {
                "true seed in first 5, true alignment wins"
            } else {
                "true seed in first 5, a false alignment wins"
            }
        } else if g.seed_rank < 20 {
            if g.best_true20 > g.best5 {
                "first true seed 6..20, it would win"
            } else {
                "first true seed 6..20, would not win"
            }
        } else {
            "no true seed in first 20"
        }
    };
    let mut cats: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for g in &gen {
        let e = cats.entry(cat(g)).or_default();
        e.0 += 1;
        if g.score < 0.0048 {
            e.1 += 1;
        }
    }
    println!("  seeds of the consolidation (all genuine / misses at 0.0048):");
    for (c, (n, m)) in &cats {
        println!("    {c:<45} {n:>5} {m:>5}");
    }
    println!(
        "  medians at 0.0048: {:<20} {:>10} {:>10}",
        "",
        format!("miss ({})", miss.len()),
        format!("hit ({})", hit.len())
    );
    for (name, f) in fields {
        println!(
            "    {name:<28} {:>10.3} {:>10.3}",
            median(miss.iter().map(|g| f(g)).collect()),
            median(hit.iter().map(|g| f(g)).collect())
        );
    }
    // Miss rate by bins of the true rotation and of the true pairs.
    println!("  miss rate by |rotation| (deg):");
    let rotations = [0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0];
    print_miss_rates(&gen, t, &rotations, |g| g.rot_deg.abs());
    println!("  miss rate by true pairs:");
    let true_pairs = [0.0, 6.0, 9.0, 12.0, 15.0, 20.0, 1000.0];
    print_miss_rates(&gen, t, &true_pairs, |g| g.true_pairs as f64);
    println!("  first misses (person pos score | rot fitrot rms max | n_e n_l overlap true | matched true | q):");
    for g in miss.iter().take(25) {
        println!(
            "    {:>5} {} {:.4} | {:>6.1} {:>6.1} {:>5.1} {:>5.1} | {:>3} {:>3} {:>3} {:>3} | {:>3} {:>3} | {:?}/{:?}",
            g.person,
            g.position,
            g.score,
            g.rot_deg,
            g.fit_rot_deg,
            g.fit_rms,
            g.fit_max,
            g.n_enrol,
            g.n_live,
            g.overlap,
            g.true_pairs,
            g.matched,
            g.matched_true,
            g.q_enrol,
            g.q_live
        );
    }
    if let Some(path) = std::env::var_os("CSV") {
        let mut out = String::from("person,position,score,q_enrol,q_live,sev_enrol,sev_live,rot_deg,fit_rot_deg,fit_shift,fit_rms,fit_max,drag,n_enrol,n_live,overlap,true_pairs,matched,matched_true,gate_ok,t_unusable,t_zero,t_mean,t_best,lss,global,lss_true_np,lss_true_all,seed_rank,best5,best_true20\n");
        for g in &gen {
            out.push_str(&format!(
                "{},{},{},{:?},{:?},{:.3},{:.3},{:.2},{:.2},{:.1},{:.2},{:.2},{:.1},{},{},{},{},{},{},{},{},{},{:.3},{},{},{},{},{},{},{},{}\n",
                g.person, g.position, g.score, g.q_enrol, g.q_live, g.sev_enrol, g.sev_live,
                g.rot_deg, g.fit_rot_deg, g.fit_shift, g.fit_rms, g.fit_max, g.drag, g.n_enrol,
                g.n_live, g.overlap, g.true_pairs, g.matched, g.matched_true, g.gate_ok,
                g.t_unusable, g.t_zero, g.t_mean, g.t_best, g.lss, g.global, g.lss_true_np, g.lss_true_all, g.seed_rank, g.best5,
                g.best_true20
            ));
        }
        std::fs::write(path, out).expect("write CSV");
    }
}

/// Prints the share of `gen` scoring below `t` in each bin `[edges[i], edges[i + 1])` of `key`.
fn print_miss_rates(gen: &[Genuine], t: f32, edges: &[f64], key: impl Fn(&Genuine) -> f64) {
    for w in edges.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        let sel: Vec<&Genuine> = gen.iter().filter(|g| (lo..hi).contains(&key(g))).collect();
        let m = sel.iter().filter(|g| g.score < t).count();
        println!(
            "    [{lo:>4}, {hi:>4}): {m:>4} / {:>5} = {:>6.2} %",
            sel.len(),
            100.0 * m as f64 / sel.len().max(1) as f64
        );
    }
}
