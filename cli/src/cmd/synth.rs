//! `tunggal synth`: write a synthetic batch (SIAK extract, station registry, landing packets,
//! ground truth) into the object store. Thin glue over [`synth::run()`].

use synth::object_store::path::Path;
use synth::{NaiveDate, ProgressMode, SynthConfig};

/// Arguments of `tunggal synth`.
#[derive(Debug, Clone, clap::Args)]
pub struct SynthArgs {
    /// Packets to land: people enrolling, counting re-enrollments, fraud attempts and bad
    /// uploads.
    #[arg(long)]
    pub people: usize,
    /// Seed; the same arguments always write the same bytes.
    #[arg(long)]
    pub seed: u64,
    /// Number of capture days.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// First capture day (YYYY-MM-DD). Default: the --days days ending today, so a fresh
    /// batch lies inside ingest's capture-time window. An older start gives history, whose
    /// packets ingest rejects CAPTURE_TOO_OLD unless `--max-upload-delay-days` covers them.
    #[arg(long, value_parser = parse_date)]
    pub start: Option<NaiveDate>,
    /// Share of packets that are the same person again under a second NIK; half as many more
    /// are re-enrollments under the same NIK (all within --people).
    #[arg(long, default_value_t = 0.01)]
    pub duplicate_rate: f64,
    /// Share of packets that are bad, spread over the planted reject reasons.
    #[arg(long, default_value_t = 0.01)]
    pub bad_rate: f64,
    /// Share of packets that are persons an earlier batch in the store enrolled, enrolling
    /// again under a new NIK of this batch (same fingers, new capture): `ganda` against the
    /// gallery. Needs an earlier batch; 0 plants none and keeps earlier behaviour and bytes.
    #[arg(long, default_value_t = 0.0)]
    pub cross_batch_duplicate_rate: f64,
    /// Share of packets that are someone else enrolling under the NIK and biodata of a
    /// resident an earlier batch enrolled: `nik_conflict`. 0 plants none.
    #[arg(long, default_value_t = 0.0)]
    pub hijack_rate: f64,
    /// Progress display: auto (bar on a terminal, log lines otherwise), bar, log or quiet.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 32)]
    pub upload_concurrency: usize,
}

/// How `tunggal synth` shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressArg {
    /// A bar on a terminal, log lines otherwise.
    Auto,
    /// Always a bar.
    Bar,
    /// Log lines.
    Log,
    /// Only the final summary.
    Quiet,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not a YYYY-MM-DD date"))
}

impl SynthArgs {
    /// The library configuration these arguments describe.
    pub fn to_config(&self) -> SynthConfig {
        let mut c = SynthConfig::new(self.people, self.seed);
        c.days = self.days;
        c.start = self.start;
        c.duplicate_rate = self.duplicate_rate;
        c.bad_rate = self.bad_rate;
        c.cross_batch_duplicate_rate = self.cross_batch_duplicate_rate;
        c.hijack_rate = self.hijack_rate;
        c.upload_concurrency = self.upload_concurrency;
        c.progress = match self.progress {
            ProgressArg::Auto => ProgressMode::Auto,
            ProgressArg::Bar => ProgressMode::Bar,
            ProgressArg::Log => ProgressMode::Log,
            ProgressArg::Quiet => ProgressMode::Quiet,
        };
        c
    }
}

/// Runs `tunggal synth` against the store and prints the summary to stdout.
pub async fn run(store: &lake::Store, args: &SynthArgs) -> anyhow::Result<()> {
    let summary = synth::run(&args.to_config(), store.objects().as_ref(), &Path::from("")).await?;
    print!("{summary}");
    Ok(())
}
