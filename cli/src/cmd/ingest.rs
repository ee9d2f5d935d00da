//! `tunggal ingest`: validate every packet in `landing/` not yet recorded and commit it to
//! the lake tables, then print the run summary.

use anyhow::Result;

/// Flags of `tunggal ingest`.
#[derive(clap::Args, Debug)]
pub struct IngestArgs {
    /// Objects per chunk: one Delta commit per table per chunk.
    #[arg(long, default_value_t = 500)]
    pub chunk_size: usize,

    /// Objects fetched from the store at the same time.
    #[arg(long, default_value_t = 16)]
    pub fetch_concurrency: usize,

    /// Never draw a progress bar (log lines instead), even on a terminal.
    #[arg(long)]
    pub no_progress: bool,

    /// Reject captures that started more than this many days before their packet was
    /// received (CAPTURE_TOO_OLD); widen it once to ingest an older backlog.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub max_upload_delay_days: u32,

    /// Reject captures that ended more than this many minutes after their packet was
    /// received (CAPTURE_IN_FUTURE): the station clock skew tolerated.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(0..=1440))]
    pub max_clock_skew_minutes: u32,

    /// Accept a retired station's packets only when received at most this many days after
    /// its retirement (STATION_RETIRED otherwise).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(0..=365))]
    pub retirement_grace_days: u32,

    /// List all of landing/, not only the day folders of the re-scan window (the upload
    /// delay + 2 days): finds objects dropped into old day folders. Costs a listing of every
    /// packet ever uploaded; run it monthly and with a widened --max-upload-delay-days.
    #[arg(long)]
    pub full_scan: bool,
}

impl IngestArgs {
    /// The library options these flags stand for.
    pub fn options(&self) -> ingest::IngestOptions {
        ingest::IngestOptions {
            chunk_size: self.chunk_size,
            fetch_concurrency: self.fetch_concurrency,
            progress_bar: !self.no_progress,
            window: ingest::CaptureWindow::from_units(
                self.max_clock_skew_minutes,
                self.max_upload_delay_days,
                self.retirement_grace_days,
            ),
            scan: self.full_scan.then_some(ingest::LandingScan::Full),
            ..ingest::IngestOptions::default()
        }
    }
}

/// Flags of `tunggal ingest`: the stage's own (shared with `tunggal nightly`) and the lock.
#[derive(clap::Args, Debug)]
pub struct IngestCommandArgs {
    #[command(flatten)]
    ingest: IngestArgs,

    #[command(flatten)]
    lock: super::lock::LockArgs,
}

/// Runs ingest on the store, holding the nightly lock, and prints the one-screen summary.
pub async fn run(store: &lake::Store, args: &IngestCommandArgs) -> Result<()> {
    let _lock = args.lock.hold(store)?;
    let summary = ingest::ingest(store, &args.ingest.options()).await?;
    println!("{summary}");
    Ok(())
}
