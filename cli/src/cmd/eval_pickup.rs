//! `tunggal eval pickup`: glue to [`evaluation::pickup`]; prints its table, or JSON.

use anyhow::Result;
use clap::{Args, ValueEnum};
use evaluation::pickup::{self, PickupEval, PickupOptions, PickupQuality};
use serde_json::json;
use synth::capture::CaptureQuality;

/// Output of `tunggal eval pickup`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// One JSON object, for scripts and tests.
    Json,
}

/// Capture quality of the counter device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Quality {
    /// Drawn per capture with field proportions (65 % good, 25 % fair, 10 % poor).
    Mixed,
    /// Every capture good.
    Good,
    /// Every capture fair.
    Fair,
    /// Every capture poor.
    Poor,
}

/// Flags of `tunggal eval pickup`.
#[derive(Args, Debug)]
pub struct EvalPickupArgs {
    /// Genuine pickups: card holders at the counter (cycling through the cards when the store
    /// has fewer), each with up to `--attempts` attempts.
    #[arg(long, default_value_t = pickup::DEFAULT_GENUINE)]
    pub genuine: usize,
    /// Impostor attempts: another person's fingers against a card.
    #[arg(long, default_value_t = pickup::DEFAULT_IMPOSTORS)]
    pub impostors: usize,
    /// Attempts a citizen gets (an `ulangi` recapture is not an attempt).
    #[arg(long, default_value_t = pickup::DEFAULT_ATTEMPTS)]
    pub attempts: usize,
    /// Seed of the pickup captures.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Capture quality at the counter.
    #[arg(long, value_enum, default_value_t = Quality::Mixed)]
    pub quality: Quality,
    /// Target false-match rate the threshold is set for (as `tunggal verify --target-fmr`).
    #[arg(long, default_value_t = personalization_export::verify::DEFAULT_TARGET_FMR)]
    pub target_fmr: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Genuine first-attempt failures listed in the table (all of them are in the JSON).
    #[arg(long, default_value_t = 10)]
    pub show_failures: usize,
}

/// Runs `tunggal eval pickup` on the store's cards and synth truth.
pub async fn run(store: &lake::Store, args: &EvalPickupArgs) -> Result<()> {
    let quality = match args.quality {
        Quality::Mixed => PickupQuality::Mixed,
        Quality::Good => PickupQuality::Fixed(CaptureQuality::Good),
        Quality::Fair => PickupQuality::Fixed(CaptureQuality::Fair),
        Quality::Poor => PickupQuality::Fixed(CaptureQuality::Poor),
    };
    let opts = PickupOptions {
        genuine: args.genuine,
        impostors: args.impostors,
        attempts: args.attempts,
        seed: args.seed,
        quality,
        target_fmr: args.target_fmr,
    };
    let ev = pickup::evaluate(store, &opts).await?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&to_json(&ev))?),
        Format::Table => {
            print!("{ev}");
            if !ev.failures.is_empty() && args.show_failures > 0 {
                println!(
                    "  first-attempt failures (first {} of {}): case, live quality, fused LLR; \
                     per finger: position, chip minutiae/quality, live minutiae/quality, LLR",
                    args.show_failures.min(ev.failures.len()),
                    ev.failures.len()
                );
                for f in ev.failures.iter().take(args.show_failures) {
                    let fingers: Vec<String> = f
                        .fingers
                        .iter()
                        .map(|d| {
                            format!(
                                "{}: {}/{} vs {}/{} {:+.2}",
                                d.position,
                                d.chip_minutiae,
                                d.chip_quality,
                                d.live_minutiae,
                                d.live_quality,
                                d.llr
                            )
                        })
                        .collect();
                    println!(
                        "    {:<16} {:<5} {:+7.2}{}  [{}]",
                        f.case,
                        quality_name(f.live_quality),
                        f.llr,
                        if f.passed_later {
                            " (passed later)"
                        } else {
                            ""
                        },
                        fingers.join("; ")
                    );
                }
            }
        }
    }
    Ok(())
}

fn quality_name(q: CaptureQuality) -> &'static str {
    match q {
        CaptureQuality::Good => "good",
        CaptureQuality::Fair => "fair",
        CaptureQuality::Poor => "poor",
    }
}

/// A finite JSON number (an LLR of −∞, for "no match at all", becomes null).
fn num(x: f32) -> serde_json::Value {
    if x.is_finite() {
        json!(x)
    } else {
        serde_json::Value::Null
    }
}

fn to_json(ev: &PickupEval) -> serde_json::Value {
    let counts = |m: Vec<(String, (u64, u64))>| {
        m.into_iter()
            .map(|(k, (n, failed))| (k, json!({ "pickups": n, "failed": failed })))
            .collect::<serde_json::Map<_, _>>()
    };
    json!({
        "cards": ev.cards,
        "holders": ev.holders,
        "cards_left_out": ev.cards_left_out,
        "impostor_pool": ev.impostor_pool,
        "attempts": ev.attempts,
        "genuine": ev.genuine,
        "genuine_attempts": ev.genuine_attempts,
        "first_attempt_failed": ev.first_attempt_failed,
        "failed_within_attempts": ev.failed_within,
        "fnmr_first_attempt": ev.fnmr_first(),
        "fnmr_within_attempts": ev.fnmr_within(),
        "genuine_ulangi": ev.genuine_ulangi,
        "genuine_disagree": ev.genuine_disagree,
        "genuine_recaptures_exhausted": ev.genuine_recapture_exhausted,
        "impostors": ev.impostors,
        "false_accepts": ev.false_accepts,
        "fmr": ev.fmr(),
        "impostor_ulangi": ev.impostor_ulangi,
        "impostor_disagree": ev.impostor_disagree,
        "impostor_max_llr": num(ev.impostor_max_llr),
        "threshold": ev.threshold,
        "target_fmr": ev.target_fmr,
        "verify_ms": {
            "median": ev.verify_median_ms,
            "p99": ev.verify_p99_ms,
            "max": ev.verify_max_ms,
            "decisions": ev.decisions,
        },
        "first_attempt_by_quality": counts(
            ev.first_by_quality
                .iter()
                .map(|(q, c)| (quality_name(*q).to_string(), *c))
                .collect()
        ),
        "first_attempt_by_case": counts(
            ev.first_by_case.iter().map(|(k, c)| (k.clone(), *c)).collect()
        ),
        "first_attempt_failures": ev.failures.iter().map(|f| json!({
            "enrollment_id": f.enrollment_id,
            "case": f.case,
            "live_quality": quality_name(f.live_quality),
            "llr": num(f.llr),
            "passed_later": f.passed_later,
            "fingers": f.fingers.iter().map(|d| json!({
                "position": d.position,
                "chip_minutiae": d.chip_minutiae,
                "chip_quality": d.chip_quality,
                "live_minutiae": d.live_minutiae,
                "live_quality": d.live_quality,
                "similarity": d.similarity,
                "llr": d.llr,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
