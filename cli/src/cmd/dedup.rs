//! `tunggal dedup` and `tunggal eval dedup`: the nightly 1:N search and its evaluation
//! against synth truth.

use anyhow::Result;

/// Flags of `tunggal dedup` (also taken by `tunggal nightly`).
#[derive(clap::Args, Debug)]
pub struct DedupArgs {
    /// Target false-positive identification rate of the `match` band (acted upon): the share
    /// of unique persons that may be flagged. Turned into a fused-score threshold by the
    /// fusion calibration and the gallery size.
    #[arg(long, default_value_t = 1e-4)]
    pub match_fpir: f64,

    /// Target FPIR of the `possible` band (recorded for review, not acted upon).
    #[arg(long, default_value_t = 1e-2)]
    pub possible_fpir: f64,

    /// New enrollments searched together; each batch becomes one persisted gallery partition.
    #[arg(long, default_value_t = 5_000)]
    pub batch_size: usize,

    /// Members fully compared per probe after the index stage (across all partitions).
    /// Larger finds more poor re-captures at proportionally more full comparisons: see
    /// docs/benchmarks.md.
    #[arg(long, default_value_t = biometrics::index::SearchParams::default().shortlist)]
    pub shortlist: usize,

    /// Members behind the shortlist, down to this rank by index evidence, whose irises are
    /// compared with the probe's; those whose irises alone pass a strict level are fully
    /// compared too (finds poor finger re-captures the index ranks low). 0: no iris check.
    #[arg(long, default_value_t = biometrics::index::SearchParams::default().iris_depth)]
    pub iris_depth: usize,

    /// A shortlisted pair is given up as soon as the fused LLR of the fingers and irises
    /// compared so far is at or below this (a sequential test: the same person is lost with
    /// probability ≤ e^LLR while most fingers of most strangers are never rebuilt).
    /// `--reject-llr=-inf` compares every shortlisted pair exactly.
    #[arg(long, default_value_t = biometrics::index::SearchParams::default().reject_llr, allow_hyphen_values = true)]
    pub reject_llr: f32,

    /// GiB of gallery partitions kept in memory during the run; the rest is read from the
    /// store twice per batch (once per search pass). Same results, less memory, more I/O.
    #[arg(long, default_value_t = 4.0)]
    pub resident_gib: f64,

    /// MiB of stored gallery per unit: a night is saved in partitions of up to this and the
    /// gallery searched in units of up to this, each one task on a cluster (smaller: more
    /// tasks to spread). Runs compared with each other, and `tunggal maintain`, must use the
    /// same value. Fractions allowed (0.25 = 256 KiB, for tests of a small gallery).
    #[arg(long, default_value_t = 1024.0)]
    pub unit_mib: f64,

    /// Also search every batch by brute force and report what the index missed (slow).
    #[arg(long)]
    pub check_brute_force: bool,

    /// Search the stored gallery on a Ballista cluster (`df://HOST:PORT` of `tunggal
    /// scheduler`) instead of in this process; same results. Executors must reach the same
    /// --store.
    #[arg(long, env = "TUNGGAL_CLUSTER")]
    pub cluster: Option<String>,

    /// With --cluster: times a failed cluster job is submitted before the run fails.
    #[arg(long, default_value_t = 3)]
    pub cluster_attempts: usize,

    /// With --cluster: seconds between attempts (leave the scheduler time to drop a dead
    /// executor: more than its --executor-timeout).
    #[arg(long, default_value_t = 10)]
    pub cluster_retry_wait: u64,
}

/// Flags of `tunggal dedup` alone.
#[derive(clap::Args, Debug)]
pub struct DedupCommandArgs {
    #[command(flatten)]
    dedup: DedupArgs,

    #[command(flatten)]
    lock: super::lock::LockArgs,

    /// Never draw a progress bar (log lines instead), even on a terminal.
    #[arg(long)]
    no_progress: bool,
}

impl DedupArgs {
    /// The cluster to search on, if any.
    pub fn cluster(&self) -> Option<cluster::ClusterOptions> {
        self.cluster
            .as_ref()
            .map(|address| cluster::ClusterOptions {
                address: address.clone(),
                attempts: self.cluster_attempts,
                retry_wait: std::time::Duration::from_secs(self.cluster_retry_wait),
            })
    }

    /// The library options these flags stand for.
    pub fn options(&self, progress_bar: bool) -> dedup::DedupOptions {
        dedup::DedupOptions {
            match_fpir: self.match_fpir,
            possible_fpir: self.possible_fpir,
            batch_size: self.batch_size,
            shortlist: self.shortlist,
            iris_depth: self.iris_depth,
            reject_llr: self.reject_llr,
            resident_bytes: (self.resident_gib.max(0.0) * (1u64 << 30) as f64) as usize,
            unit_bytes: mib_to_bytes(self.unit_mib),
            compare_brute_force: self.check_brute_force,
            progress_bar,
        }
    }
}

/// Runs one dedup stage and prints its summary.
pub async fn run(store: &lake::Store, args: &DedupCommandArgs) -> Result<()> {
    let _lock = args.lock.hold(store)?;
    let options = args.dedup.options(!args.no_progress);
    let summary = match args.dedup.cluster() {
        Some(c) => cluster::dedup(store, &options, &c).await?,
        None => dedup::dedup(store, &options).await?,
    };
    println!("{summary}");
    Ok(())
}

/// Bytes of `mib` MiB (negative or NaN: 0), for the size flags given in MiB.
pub fn mib_to_bytes(mib: f64) -> usize {
    (mib.max(0.0) * (1u64 << 20) as f64) as usize
}
