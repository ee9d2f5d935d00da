//! `tunggal bench dedup --cluster`: the nightly's search of one batch against a stored
//! gallery, once in this process and once on a Ballista cluster, in the same run, with the
//! same code path (`dedup::search::search_batch`). Prints both wall times, their ratio (the
//! engine's overhead on the same cores), what crossed from the executors, each executor's
//! peak memory (as it reports it to the scheduler), and whether both found exactly the same
//! pairs.
//!
//! The gallery is the cached partitions of `bench dedup` (synthesized persons, the same for
//! the same seed and size) copied into the store as stored partitions, where both searches
//! read them: the single-machine one through its memory budget like a night, the cluster's
//! executors through the store.

use std::fmt;
use std::time::{Duration, Instant};

use biometrics::fusion::llr_threshold_for_fmr;
use biometrics::index::{ProbeSet, SearchParams};
use bytes::Bytes;
use dedup::search::{self, Gallery, Unit};
use dedup::{segments, DedupSummary};
use lake::Store;

use crate::bench_dedup::{self, BenchOptions};
use crate::error::{EvalError, Result};

/// What to benchmark on the cluster.
#[derive(Clone, Debug)]
pub struct ClusterBenchOptions {
    /// The gallery and probes (needs `cache`); `resident_bytes` is the single-machine run's
    /// memory budget (`None`: the nightly default).
    pub bench: BenchOptions,
    /// Stored bytes per unit (one task per unit on the cluster).
    pub unit_bytes: usize,
    /// The cluster.
    pub cluster: cluster::ClusterOptions,
}

/// The figures of one run.
#[derive(Clone, Debug, Default)]
pub struct ClusterBenchReport {
    /// Gallery persons, probes, stored partitions and units.
    pub sizes: (usize, usize, usize, usize),
    /// Wall time of the search on one machine (gallery load included).
    pub single: Duration,
    /// Of `single`, the time spent reading and merging the gallery units.
    pub single_load: Duration,
    /// Wall time of the search on the cluster.
    pub cluster: Duration,
    /// Executors alive.
    pub executors: usize,
    /// What the cluster's jobs returned.
    pub report: cluster::ClusterReport,
    /// Peak RSS of each executor as it reports it to the scheduler, bytes.
    pub executor_peaks: Vec<u64>,
    /// Peak RSS of this process (the single-machine search and the driver), bytes.
    pub driver_peak: u64,
    /// Pairs found by each, and whether they are the same.
    pub found: (usize, usize, bool),
    /// Planted mates found by the cluster run, of all planted.
    pub mates: (usize, usize),
}

impl fmt::Display for ClusterBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        let (gallery, probes, parts, units) = self.sizes;
        writeln!(
            f,
            "1:N search of {probes} probes against {gallery} stored in {parts} partitions ({units} units)"
        )?;
        writeln!(f, "| | wall time | peak RSS |")?;
        writeln!(f, "| --- | ---: | ---: |")?;
        writeln!(
            f,
            "| one machine (this process) | {:.1} s | {:.2} GiB (this process) |",
            self.single.as_secs_f64(),
            gib(self.driver_peak)
        )?;
        let peaks: Vec<String> = self
            .executor_peaks
            .iter()
            .map(|&b| format!("{:.2}", gib(b)))
            .collect();
        writeln!(
            f,
            "| cluster, {} executor(s) | {:.1} s | {} GiB per executor |",
            self.executors,
            self.cluster.as_secs_f64(),
            peaks.join(" / ")
        )?;
        let secs = |ns: u64| ns as f64 / 1e9;
        let r = &self.report;
        writeln!(
            f,
            "one machine: units read and merged {:.1} s, the rest of the search {:.1} s",
            self.single_load.as_secs_f64(),
            (self.single - self.single_load).as_secs_f64()
        )?;
        let mut in_jobs = Duration::ZERO;
        for (job, (wall, t)) in &r.by_job {
            in_jobs += *wall;
            writeln!(
                f,
                "cluster {job} job: {:.1} s wall; its {} tasks summed: probes ready {:.1} s, units ready {:.1} s ({} read from the store), pass {:.1} s",
                wall.as_secs_f64(),
                t.tasks,
                secs(t.probes_ns),
                secs(t.unit_ns),
                t.units_read,
                secs(t.work_ns)
            )?;
        }
        writeln!(
            f,
            "cluster driver between and around the jobs: {:.1} s",
            self.cluster.saturating_sub(in_jobs).as_secs_f64()
        )?;
        writeln!(
            f,
            "ratio cluster / one machine: {:.2}×",
            self.cluster.as_secs_f64() / self.single.as_secs_f64().max(1e-9)
        )?;
        writeln!(
            f,
            "returned by the executors: {} rows, {:.1} MiB in {} jobs ({} retried)",
            self.report.rows,
            self.report.bytes as f64 / (1u64 << 20) as f64,
            self.report.jobs,
            self.report.retried
        )?;
        writeln!(
            f,
            "pairs found: one machine {}, cluster {}: {}",
            self.found.0,
            self.found.1,
            if self.found.2 {
                "identical"
            } else {
                "DIFFERENT"
            }
        )?;
        write!(
            f,
            "planted mates found: {} of {}",
            self.mates.0, self.mates.1
        )
    }
}

/// Runs the benchmark on `store`; `progress` receives one line per step.
pub async fn run(
    store: &Store,
    opts: &ClusterBenchOptions,
    progress: &dyn Fn(&str),
) -> Result<ClusterBenchReport> {
    let b = &opts.bench;
    if b.cache.is_none() {
        return Err(EvalError::Bench(
            "the cluster benchmark stores the gallery from the cache: give --cache".into(),
        ));
    }
    let files = bench_dedup::cached_files(b, progress)?;
    // Stored partitions, copied once.
    let run = format!("bench-s{}-p{}-g{}", b.seed, b.partition_size, b.gallery);
    let mut stored: Vec<(String, usize)> = Vec::new();
    let have = store.list(&format!("{}/{run}", segments::PREFIX)).await?;
    for (k, (file, len)) in files.iter().enumerate() {
        let path = segments::path(&run, k);
        if !have
            .iter()
            .any(|m| m.location.as_ref() == path && m.size as usize == *len)
        {
            let bytes = std::fs::read(file)
                .map_err(|e| EvalError::Bench(format!("cannot read {file:?}: {e}")))?;
            store.put(&path, Bytes::from(bytes)).await?;
        }
        stored.push((path, *len));
    }
    progress(&format!("{} partitions stored under {run}", stored.len()));
    let (probe_list, mates) = bench_dedup::probes(b);
    let probes = ProbeSet::build(probe_list);
    let params = SearchParams {
        min_llr: llr_threshold_for_fmr(1e-4 / b.gallery.max(1) as f64),
        shortlist: b.shortlist,
        iris_depth: b.iris_depth,
        reject_llr: b.reject_llr,
        ..SearchParams::default()
    };
    let sized = || stored.iter().map(|(p, l)| (p.as_str(), *l));

    // One machine: the night's memory budget, the rest streamed.
    let started = Instant::now();
    let budget = b
        .resident_bytes
        .unwrap_or(dedup::DedupOptions::default().resident_bytes);
    let (held, streamed) = segments::plan_units(sized(), budget, opts.unit_bytes);
    let units = held.len() + streamed.len();
    let mut gallery = Gallery {
        store,
        stored: Vec::new(),
        this_run: Vec::new(),
    };
    let loading = Instant::now();
    for unit in &held {
        gallery.stored.push(Unit::Held(Box::new(
            segments::load_merged(store, unit).await?,
        )));
    }
    let held_load = loading.elapsed();
    gallery
        .stored
        .extend(streamed.into_iter().map(Unit::Streamed));
    let mut summary = DedupSummary::default();
    let single_found = search::search_batch(&gallery, None, &probes, &params, None, &mut summary)
        .await
        .map_err(|e| EvalError::Bench(e.to_string()))?;
    let single = started.elapsed();
    let single_load = summary.load_time + held_load;
    drop(gallery);
    progress(&format!("one machine: {:.1} s", single.as_secs_f64()));

    // The cluster: every unit searched by the executors.
    let search = cluster::ClusterSearch::connect(store, opts.cluster.clone())
        .await
        .map_err(|e| EvalError::Bench(e.to_string()))?;
    let executors = cluster::executors_alive(&opts.cluster).await.unwrap_or(0);
    let started = Instant::now();
    let (none, all) = segments::plan_units(sized(), 0, opts.unit_bytes);
    debug_assert!(none.is_empty());
    let gallery = Gallery {
        store,
        stored: all.into_iter().map(Unit::Streamed).collect(),
        this_run: Vec::new(),
    };
    let mut summary = DedupSummary::default();
    let cluster_found = search::search_batch(
        &gallery,
        Some((&search, "bench/00000")),
        &probes,
        &params,
        None,
        &mut summary,
    )
    .await
    .map_err(|e| EvalError::Bench(e.to_string()))?;
    let cluster_time = started.elapsed();
    search
        .clean_up()
        .await
        .map_err(|e| EvalError::Bench(e.to_string()))?;
    progress(&format!("cluster: {:.1} s", cluster_time.as_secs_f64()));

    let key = |f: &search::Found| {
        (
            f.probe_id.clone(),
            f.candidate_id.clone(),
            f.score.llr.to_bits(),
        )
    };
    let mut a: Vec<_> = single_found.iter().map(key).collect();
    let mut c: Vec<_> = cluster_found.iter().map(key).collect();
    a.sort();
    c.sort();
    let mates_found = cluster_found
        .iter()
        .filter(|f| {
            f.probe_id
                .split_once(':')
                .is_some_and(|(_, target)| target == f.candidate_id)
        })
        .count();
    Ok(ClusterBenchReport {
        sizes: (b.gallery, probes.len(), stored.len(), units),
        single,
        single_load,
        cluster: cluster_time,
        executors,
        report: search.report(),
        executor_peaks: cluster::executor_peaks(&opts.cluster)
            .await
            .unwrap_or_default(),
        driver_peak: bench_dedup::peak_rss(),
        found: (a.len(), c.len(), a == c),
        mates: (mates_found, mates),
    })
}
