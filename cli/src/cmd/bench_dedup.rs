//! `tunggal bench dedup`: 1:N search at gallery scale beside brute force, one table.

use std::path::PathBuf;

use anyhow::Result;

/// Flags of `tunggal bench dedup`.
#[derive(clap::Args, Debug)]
pub struct BenchDedupArgs {
    /// Gallery persons (synthesized in memory, prepared and indexed like a nightly run).
    #[arg(long, default_value_t = 10_000)]
    gallery: usize,

    /// Probes searched against the gallery.
    #[arg(long, default_value_t = 1_000)]
    probes: usize,

    /// Share of probes that are re-captures of a gallery person.
    #[arg(long, default_value_t = 0.01)]
    mate_rate: f64,

    /// How planted mates are captured: `hard` (half fair, half poor: the index's worst
    /// case) or `nightly` (72 % good, 28 % fair, as `synth` plants duplicates).
    #[arg(long, value_enum, default_value_t = Mates::Hard)]
    mates: Mates,

    /// Gallery persons per partition.
    #[arg(long, default_value_t = 50_000)]
    partition_size: usize,

    /// Probe–gallery pairs timed by brute force (then extrapolated to all pairs).
    #[arg(long, default_value_t = 20_000)]
    brute_pairs: usize,

    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Members fully compared per probe after the index stage.
    #[arg(long, default_value_t = biometrics::index::SearchParams::default().shortlist)]
    shortlist: usize,

    /// Members behind the shortlist whose irises are checked (0: none); see `dedup --help`.
    #[arg(long, default_value_t = biometrics::index::SearchParams::default().iris_depth)]
    iris_depth: usize,

    /// Sequential test level of the full comparison; `--reject-llr=-inf`: exact. See
    /// `dedup --help`.
    #[arg(long, default_value_t = biometrics::index::SearchParams::default().reject_llr, allow_hyphen_values = true)]
    reject_llr: f32,

    /// Cache built gallery partitions in this folder and reuse them on the next run.
    #[arg(long)]
    cache: Option<PathBuf>,

    /// Keep at most this many GiB of gallery partitions in memory and read the others from
    /// the cache once per search pass, as a nightly run streams what exceeds its budget
    /// (needs --cache). Default: the whole gallery in memory.
    #[arg(long)]
    resident_gib: Option<f64>,

    /// Also search on this Ballista cluster (`df://HOST:PORT`) and compare: the gallery is
    /// copied into --store as stored partitions (use a scratch store), searched once here
    /// and once by the executors (needs --cache).
    #[arg(long)]
    cluster: Option<String>,

    /// With --cluster: MiB of stored gallery per unit (one task each).
    #[arg(long, default_value_t = 1024)]
    unit_mib: usize,
}

/// `--mates`: how planted mates are captured.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Mates {
    /// Half fair, half poor captures.
    Hard,
    /// As the nightly's planted duplicates: 72 % good, 28 % fair.
    Nightly,
}

/// Runs the benchmark and prints its table.
pub async fn run(store: &lake::Store, args: &BenchDedupArgs) -> Result<()> {
    let opts = evaluation::bench_dedup::BenchOptions {
        gallery: args.gallery,
        probes: args.probes,
        mate_rate: args.mate_rate,
        mates: match args.mates {
            Mates::Hard => evaluation::bench_dedup::MateMix::Hard,
            Mates::Nightly => evaluation::bench_dedup::MateMix::Nightly,
        },
        partition_size: args.partition_size,
        brute_pairs: args.brute_pairs,
        seed: args.seed,
        cache: args.cache.clone(),
        shortlist: args.shortlist,
        iris_depth: args.iris_depth,
        reject_llr: args.reject_llr,
        resident_bytes: args
            .resident_gib
            .map(|g| (g.max(0.0) * (1u64 << 30) as f64) as usize),
    };
    let started = std::time::Instant::now();
    let progress = |line: &str| eprintln!("[{:>7.1}s] {line}", started.elapsed().as_secs_f64());
    if let Some(address) = &args.cluster {
        let options = evaluation::bench_cluster::ClusterBenchOptions {
            bench: opts,
            unit_bytes: args.unit_mib.saturating_mul(1 << 20),
            cluster: cluster::ClusterOptions {
                address: address.clone(),
                ..Default::default()
            },
        };
        let report = evaluation::bench_cluster::run(store, &options, &progress).await?;
        println!("{report}");
        return Ok(());
    }
    let report = evaluation::bench_dedup::run(&opts, &progress)?;
    println!("{report}");
    Ok(())
}
