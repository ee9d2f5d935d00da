//! `tunggal match` and `tunggal eval fvc`: fingerprint 1:1 comparison and the FVC accuracy
//! protocol over template files, as thin glue over `biometrics`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use biometrics::finger::{self, FingerTemplate};
use biometrics::iso19794;
use clap::{Args, Subcommand};
use rayon::prelude::*;

/// Flags of `tunggal match`.
#[derive(Args)]
pub struct MatchArgs {
    /// First ISO/IEC 19794-2 template (with B: compare one pair).
    a: Option<PathBuf>,
    /// Second ISO/IEC 19794-2 template.
    b: Option<PathBuf>,
    /// CSV of template path pairs (`a,b` per line); writes `a,b,score` per line to stdout.
    #[arg(long, conflicts_with_all = ["a", "b"])]
    pairs: Option<PathBuf>,
    /// With one pair: list the paired minutiae and each pair's contribution to the score.
    #[arg(long)]
    explain: bool,
}

/// Capture models of `eval fvc --synthetic` (see `synth::finger::Distortion`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DistortionArg {
    /// Enrollment and pickup live-scan captures.
    LiveScan,
    /// FVC2004-like: strong distortion and rotation, dry and wet prints.
    Fvc2004,
}

/// `tunggal eval …` verbs.
#[derive(Subcommand)]
pub enum EvalCommand {
    /// FVC protocol on a folder of `<finger>_<impression>.iso` files: EER and FNMR at FMR
    /// 1 %, 0.1 % and 0 (genuine: every two impressions of one finger; impostor: every two
    /// impressions of different fingers).
    Fvc {
        /// Folder holding the templates (or none with `--synthetic`).
        #[arg(required_unless_present = "synthetic", conflicts_with = "synthetic")]
        dir: Option<PathBuf>,
        /// Instead of a folder: a synthetic database of this many fingers (8 impressions
        /// each), captured as `--distortion` says.
        #[arg(long)]
        synthetic: Option<usize>,
        /// Capture model of the synthetic database: `live-scan` (enrollment and pickup
        /// captures) or `fvc2004` (exaggerated skin distortion, rotations up to ±30°, dry and
        /// wet prints).
        #[arg(long, value_enum, default_value_t = DistortionArg::LiveScan, requires = "synthetic")]
        distortion: DistortionArg,
        /// Seed of the synthetic database.
        #[arg(long, default_value_t = 2004, requires = "synthetic")]
        seed: u64,
    },
    /// 1:N deduplication results of the store against its synth truth: FNIR, FPIR, twins
    /// and family members flagged, adjudication cases per 10,000 enrollments.
    Dedup,
    /// Card pickup as a citizen at the counter experiences it: fresh captures of the fingers
    /// each card names (up to three attempts, `ulangi` recaptured) and impostor attempts,
    /// through `tunggal verify`'s decision: FNMR at the first attempt and within three, FMR.
    Pickup(super::eval_pickup::EvalPickupArgs),
}

impl EvalCommand {
    /// Whether the evaluation reads the store (`--store`).
    pub fn needs_store(&self) -> bool {
        matches!(self, EvalCommand::Dedup | EvalCommand::Pickup(_))
    }
}

/// Reads, parses and prepares the first finger view of one template file.
fn load(path: &Path) -> Result<FingerTemplate> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let record = iso19794::parse(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let view = record
        .views
        .first()
        .with_context(|| format!("{} holds no finger view", path.display()))?;
    Ok(finger::prepare(view, record.res_x, record.res_y))
}

/// Runs `tunggal match`.
pub fn run_match(args: &MatchArgs) -> Result<()> {
    if let Some(pairs) = &args.pairs {
        return match_pairs(pairs);
    }
    let (Some(a), Some(b)) = (&args.a, &args.b) else {
        bail!("give two template files, or --pairs FILE");
    };
    let (ta, tb) = (load(a)?, load(b)?);
    if args.explain {
        let explanation = finger::explain(&ta, &tb);
        println!("score {:.4}", explanation.score);
        println!("paired minutiae: {}", explanation.pairs.len());
        println!("{:>6} {:>6} {:>12}", "a", "b", "contribution");
        for pair in &explanation.pairs {
            println!("{:>6} {:>6} {:>12.4}", pair.a, pair.b, pair.contribution);
        }
    } else {
        println!("{:.4}", finger::compare(&ta, &tb));
    }
    Ok(())
}

/// Scores every pair of a CSV file, preparing each distinct template once.
fn match_pairs(file: &Path) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("reading {}", file.display()))?;
    let mut pairs = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record?;
        if record.len() != 2 {
            bail!("{} line {}: expected `a,b`", file.display(), line + 1);
        }
        pairs.push((record[0].to_string(), record[1].to_string()));
    }
    let mut paths: Vec<&String> = pairs.iter().flat_map(|(a, b)| [a, b]).collect();
    paths.sort();
    paths.dedup();
    let templates: HashMap<&String, FingerTemplate> = paths
        .par_iter()
        .map(|p| load(Path::new(p.as_str())).map(|t| (*p, t)))
        .collect::<Result<_>>()?;
    let scores: Vec<f32> = pairs
        .par_iter()
        .map(|(a, b)| finger::compare(&templates[a], &templates[b]))
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for ((a, b), score) in pairs.iter().zip(scores) {
        writeln!(out, "{a},{b},{score:.4}")?;
    }
    Ok(())
}

/// Runs `tunggal eval …`.
pub fn run_eval(command: &EvalCommand) -> Result<()> {
    match command {
        EvalCommand::Fvc { dir: Some(dir), .. } => eval_fvc(dir),
        EvalCommand::Fvc {
            synthetic: Some(fingers),
            distortion,
            seed,
            ..
        } => {
            let model = match distortion {
                DistortionArg::LiveScan => synth::finger::Distortion::LIVE_SCAN,
                DistortionArg::Fvc2004 => synth::finger::Distortion::FVC2004,
            };
            let templates = synth::finger::fvc_database(*fingers, 8, &model, *seed);
            let name = format!("synthetic {fingers} fingers × 8, {distortion:?}, seed {seed}");
            report_fvc(&name, &templates)
        }
        EvalCommand::Fvc { .. } => bail!("give a folder of templates or --synthetic N"),
        EvalCommand::Dedup => bail!("`eval dedup` reads the store; run it through main"),
        EvalCommand::Pickup(_) => bail!("`eval pickup` reads the store; run it through main"),
    }
}

fn eval_fvc(dir: &Path) -> Result<()> {
    let mut templates = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("iso") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("template file name is not UTF-8")?
            .to_string();
        templates.push((name, std::fs::read(&path)?));
    }
    templates.sort();
    if templates.is_empty() {
        bail!("no *.iso templates in {}", dir.display());
    }
    report_fvc(&dir.display().to_string(), &templates)
}

/// Runs the FVC protocol on `templates` and prints its report under `name`.
fn report_fvc(name: &str, templates: &[(String, Vec<u8>)]) -> Result<()> {
    let report = biometrics::eval::fvc_protocol(templates)?;
    println!("FVC protocol on {name} ({} templates)", templates.len());
    println!("{:<22} {:>8}", "comparisons genuine", report.genuine);
    println!("{:<22} {:>8}", "comparisons impostor", report.impostor);
    println!("{:<22} {:>7.2}%", "EER", 100.0 * report.eer);
    println!(
        "{:<22} {:>7.2}%",
        "FNMR at FMR 1%",
        100.0 * report.fnmr_at_fmr_1pct
    );
    println!(
        "{:<22} {:>7.2}%",
        "FNMR at FMR 0.1%",
        100.0 * report.fnmr_at_fmr_01pct
    );
    println!(
        "{:<22} {:>7.2}%",
        "FNMR at FMR 0",
        100.0 * report.fnmr_at_fmr_0
    );
    Ok(())
}
