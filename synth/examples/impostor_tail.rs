//! Are the pickup curves' large LLRs backed by impostor data? The check behind
//! [`biometrics::fusion::PICKUP_LLR_CLIP`] (docs/biometrics.md, "Pickup calibration in the
//! far impostor tail").
//!
//! Fresh synthetic fingers, a seed of their own so that none was in the calibration's sample:
//! `[FINGERS]` per ISO position (default 1 000, one impression each, capture quality drawn with
//! the field mix), every pair of different fingers at one position compared (about 5 million
//! impostor pairs at the default), and 300 fingers per position × 4 impressions for genuine
//! pairs. Per quality band ([`Calibration::finger_quality_band`]) and for the scores `s` where
//! the band's pickup curve ([`Calibration::finger_for_quality`]) reaches LLR `L`
//! = 6, 9.21, 12, 13, 14: the impostor pairs scoring at least `s`, and the most a calibrated
//! curve allows there. For a likelihood ratio that grows with the score, the ratio at `s` is at
//! most the ratio over all scores from `s` up, so a calibrated curve needs
//! `P(S ≥ s | impostor) ≤ P(S ≥ s | genuine) · e^−L`; a band whose impostors exceed that
//! claims more than its data (`over` in the last column).
//!
//! Run: `CARGO_TARGET_DIR=/work/target-cal cargo run --release -p synth --example
//! impostor_tail [FINGERS] [SEED]`.

use biometrics::fusion::Calibration;
use synth::finger::band_samples::{genuine_scores_by_band, impostor_scores_by_band};

/// The LLR levels whose scores are checked.
const LEVELS: [f32; 5] = [6.0, 9.21, 12.0, 13.0, 14.0];

/// The smallest score at which `cal` gives at least `llr` (`None` if it never does).
fn score_at(cal: &Calibration, llr: f32) -> Option<f32> {
    let k = &cal.knots;
    let i = k.iter().position(|p| p.1 >= llr)?;
    if i == 0 {
        return Some(k[0].0);
    }
    let ((x0, y0), (x1, y1)) = (k[i - 1], k[i]);
    Some(x0 + (x1 - x0) * (llr - y0) / (y1 - y0))
}

/// Share of the sorted `scores` at or above `x`.
fn share_from(scores: &[f32], x: f32) -> (usize, f64) {
    let n = scores.len() - scores.partition_point(|&v| v < x);
    (n, n as f64 / scores.len().max(1) as f64)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let fingers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let seed: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0x7461_696c);
    let t0 = std::time::Instant::now();
    let mut impostors = impostor_scores_by_band(fingers, seed, |position, pairs| {
        eprintln!(
            "position {position}: {pairs} impostor pairs, {:.0?}",
            t0.elapsed()
        )
    });
    let mut genuine = genuine_scores_by_band(300, 4, seed ^ 0x6765_6e75);
    let names = ["low (< 45)", "middle (45–69)", "high (≥ 70)"];
    // A quality inside each band, to ask for the band's curve.
    let quality_of_band = [30u8, 60, 80];
    println!(
        "{} impostor pairs ({fingers} fresh fingers per position, seed {seed:#x}), {} genuine, \
         {:.0?}",
        impostors.iter().map(Vec::len).sum::<usize>(),
        genuine.iter().map(Vec::len).sum::<usize>(),
        t0.elapsed()
    );
    for band in 0..impostors.len() {
        let (imp, gen) = (&mut impostors[band], &mut genuine[band]);
        imp.sort_by(|a, b| a.total_cmp(b));
        gen.sort_by(|a, b| a.total_cmp(b));
        let cal = Calibration::finger_for_quality(quality_of_band[band], quality_of_band[band]);
        println!(
            "\nband {}: {} impostor pairs (largest score {:.4}), {} genuine",
            names[band],
            imp.len(),
            imp.last().copied().unwrap_or(0.0),
            gen.len()
        );
        println!("  LLR    score   impostors ≥   share     P(gen ≥)·e^−L  verdict");
        for level in LEVELS {
            let Some(x) = score_at(&cal, level) else {
                println!("  {level:5.2}  (the curve never reaches it)");
                continue;
            };
            let (above, share) = share_from(imp, x);
            let allowed = share_from(gen, x).1 * f64::from(-level).exp();
            // With no impostor above, the sample bounds the share by 3/n (95 %).
            let bound = if above == 0 {
                3.0 / imp.len() as f64
            } else {
                share
            };
            let verdict = match (above, bound <= allowed) {
                (_, true) => "ok",
                (0, false) => "sample too small",
                _ => "over",
            };
            println!(
                "  {level:5.2}  {x:.4}  {above:>11}   {share:.2e}  {allowed:.2e}       {verdict}"
            );
        }
    }
}
