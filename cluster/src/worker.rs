//! One task on an executor: open the store (each process's own credentials), load the
//! batch's probes once per executor (cached), read and merge the task's gallery unit, run
//! the pass on the blocking pool (rayon uses every core inside it; the executor's runtime
//! keeps its heartbeats), and turn the result into rows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use arrow::record_batch::RecordBatch;
use biometrics::index::{compare_chosen, Partition, ProbeSet, Ranking, UnitPass};
use lake::Store;
use tokio::sync::OnceCell;

use crate::files;
use crate::rows;
use crate::spec::{FileRef, Job, SearchSpec};
use crate::{ClusterError, Result};

/// Probe sets kept per executor: the current batch's and the one before (a retried task of
/// an earlier job).
const PROBE_SETS_KEPT: usize = 2;

/// The only store this process searches, when its operator said so (`tunggal executor
/// --store`): a plan naming another is refused.
static ALLOWED_STORE: OnceLock<String> = OnceLock::new();

/// Restricts this process's tasks to the store at `url`.
pub fn allow_only(url: &str) {
    let _ = ALLOWED_STORE.set(url.trim_end_matches('/').to_string());
}

/// Gallery units kept per executor (`tunggal executor --keep-units`): the rank, gather and
/// compare jobs of a batch read the same units, and the next batch of the night all of them
/// again; a unit kept is neither read nor merged a second time. At least one: the unit of
/// the task running.
static UNITS_KEPT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(2);

/// Sets how many gallery units this process keeps between tasks.
pub fn keep_units(n: usize) {
    UNITS_KEPT.store(n.max(1), std::sync::atomic::Ordering::Relaxed);
}

type ProbeCell = Arc<OnceCell<Arc<ProbeSet>>>;
type PassCell = Arc<OnceCell<Arc<UnitPass>>>;
type UnitCell = Arc<OnceCell<Arc<Partition>>>;
/// Cells by key, the most recently asked for last.
type Cache<T> = Mutex<Vec<(String, Arc<OnceCell<T>>)>>;

fn units() -> &'static Mutex<Vec<(String, UnitCell)>> {
    static U: OnceLock<Mutex<Vec<(String, UnitCell)>>> = OnceLock::new();
    U.get_or_init(Default::default)
}

/// Takes the cell of `key` from `cache` (newest last), adding it when missing and dropping
/// the oldest beyond `kept`.
fn cell<T>(cache: &Cache<T>, key: &str, kept: usize) -> Arc<OnceCell<T>> {
    let mut entries = cache.lock().expect("executor cache");
    if let Some(i) = entries.iter().position(|(k, _)| k == key) {
        let entry = entries.remove(i);
        let c = Arc::clone(&entry.1);
        entries.push(entry);
        return c;
    }
    let c: Arc<OnceCell<T>> = Arc::default();
    entries.push((key.to_string(), Arc::clone(&c)));
    if entries.len() > kept {
        entries.remove(0);
    }
    c
}

/// A gallery unit, read and merged once per executor while it stays among the last
/// [`UNITS_KEPT`] asked for. Stored partitions are immutable (a run's own, named by its id),
/// so a unit is known by the store and its paths.
/// Also says whether this task read it (false: it was held).
async fn unit(store: &Store, url: &str, paths: &[String]) -> Result<(Arc<Partition>, bool)> {
    let key = format!("{url}|{}", paths.join("|"));
    let cell = cell(
        units(),
        &key,
        UNITS_KEPT.load(std::sync::atomic::Ordering::Relaxed),
    );
    let read = std::sync::atomic::AtomicBool::new(false);
    let unit = cell
        .get_or_try_init(|| async {
            read.store(true, std::sync::atomic::Ordering::Relaxed);
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            Ok::<_, ClusterError>(Arc::new(dedup::segments::load_merged(store, &paths).await?))
        })
        .await?;
    Ok((Arc::clone(unit), read.into_inner()))
}

fn unit_passes() -> &'static Mutex<Vec<(String, PassCell)>> {
    static R: OnceLock<Mutex<Vec<(String, PassCell)>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// A unit's first pass is known by the probes' hash, the store, the unit and the
/// parameters.
fn pass_key(spec: &SearchSpec, unit: usize) -> String {
    format!(
        "{}|{}|{}|{}",
        spec.probes.sha256,
        spec.store,
        spec.units[unit].join("|"),
        serde_json::to_string(&spec.params).unwrap_or_default()
    )
}

/// The first pass of the batch's probes over a unit, cut to the unit's share of each
/// probe's depth ([`Ranking::rank_unit`]), computed once per executor: the rank job
/// computes it, the gather job of the same batch (placed on the same executor,
/// `affinity.rs`) takes what it needs from it without the unit. The passes of the newest
/// batch are all kept — across the cluster they hold about four times the driver's ranking
/// (probes × depth), however many units there are — and dropped when another batch's
/// probes come.
async fn first_pass(
    spec: &SearchSpec,
    unit: usize,
    probes: &Arc<ProbeSet>,
    partition: &Arc<Partition>,
) -> Result<Arc<UnitPass>> {
    let key = pass_key(spec, unit);
    let cell = {
        let mut entries = unit_passes().lock().expect("executor cache");
        entries.retain(|(k, _)| k.starts_with(&spec.probes.sha256));
        drop(entries);
        cell(unit_passes(), &key, usize::MAX)
    };
    let units = spec.units.len();
    let pass = cell
        .get_or_try_init(|| async {
            let (probes, partition) = (Arc::clone(probes), Arc::clone(partition));
            let params = spec.params.search_params();
            let r =
                blocking(move || Ranking::rank_unit(&probes, &params, &partition, units)).await?;
            Ok::<_, ClusterError>(Arc::new(r))
        })
        .await?;
    Ok(Arc::clone(pass))
}

/// The unit's first pass when this executor still holds it.
fn kept_pass(spec: &SearchSpec, unit: usize) -> Option<Arc<UnitPass>> {
    let key = pass_key(spec, unit);
    let entries = unit_passes().lock().expect("executor cache");
    entries
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, c)| c.get().cloned())
}

fn stores() -> &'static Mutex<HashMap<String, Store>> {
    static S: OnceLock<Mutex<HashMap<String, Store>>> = OnceLock::new();
    S.get_or_init(Default::default)
}

fn probe_sets() -> &'static Mutex<Vec<(String, ProbeCell)>> {
    static P: OnceLock<Mutex<Vec<(String, ProbeCell)>>> = OnceLock::new();
    P.get_or_init(Default::default)
}

fn store(url: &str) -> Result<Store> {
    if let Some(allowed) = ALLOWED_STORE.get() {
        if url.trim_end_matches('/') != allowed {
            return Err(ClusterError::Ballista(format!(
                "this executor searches only the store it was started with, not {url}"
            )));
        }
    }
    let mut map = stores().lock().expect("store cache");
    if let Some(s) = map.get(url) {
        return Ok(s.clone());
    }
    let s = Store::open(url)?;
    map.insert(url.to_string(), s.clone());
    Ok(s)
}

/// The probes of `file`, read and prepared once per executor however many tasks ask.
async fn probes(store: &Store, file: &FileRef) -> Result<Arc<ProbeSet>> {
    let cell = cell(probe_sets(), &file.sha256, PROBE_SETS_KEPT);
    let set = cell
        .get_or_try_init(|| async {
            let bytes = files::get(store, file).await?;
            let path = file.path.clone();
            let set = blocking(move || files::decode_probes(&path, &bytes)).await??;
            Ok::<_, ClusterError>(Arc::new(set))
        })
        .await?;
    Ok(Arc::clone(set))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClusterError::Ballista(format!("a search task failed: {e}")))
}

/// Test hook: every task waits this many milliseconds before it starts, so that a test can
/// kill an executor while its tasks run (tests/cluster.rs).
pub const TASK_DELAY_ENV: &str = "TUNGGAL_TEST_TASK_DELAY_MS";

/// Runs task `unit` of `spec`; returns its rows. Counted in the executor's metrics
/// (`tunggal_executor_tasks_total{job,outcome}`, `tunggal_executor_task_duration_seconds{job}`).
pub async fn run(spec: &SearchSpec, unit: usize) -> Result<Vec<RecordBatch>> {
    let started = std::time::Instant::now();
    let result = run_unit(spec, unit).await;
    count_task(spec.job, result.is_ok(), started.elapsed());
    result
}

/// Counts one search task in the process's metrics ([`lake::metrics`]).
fn count_task(job: Job, succeeded: bool, elapsed: std::time::Duration) {
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    lake::metrics::handle();
    DESCRIBED.call_once(|| {
        metrics::describe_counter!(
            "tunggal_executor_tasks_total",
            "Search tasks this executor ran, by job (rank, compare) and outcome (ok, failed)."
        );
        metrics::describe_histogram!(
            "tunggal_executor_task_duration_seconds",
            metrics::Unit::Seconds,
            "Wall time of a search task on this executor, by job."
        );
    });
    let job = job.name();
    let outcome = if succeeded { "ok" } else { "failed" };
    metrics::counter!("tunggal_executor_tasks_total", "job" => job, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("tunggal_executor_task_duration_seconds", "job" => job)
        .record(elapsed.as_secs_f64());
}

/// A task that needs its unit found none loaded: a bug, not a fault of the cluster.
fn no_unit() -> ClusterError {
    ClusterError::Ballista("a search task ran without its gallery unit".into())
}

/// The work of [`run`].
async fn run_unit(spec: &SearchSpec, unit: usize) -> Result<Vec<RecordBatch>> {
    if let Some(ms) = std::env::var(TASK_DELAY_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let store = store(&spec.store)?;
    // A gather task whose executor still holds the unit's pass needs no unit.
    let held = match spec.job {
        Job::Gather => kept_pass(spec, unit),
        Job::Rank | Job::Compare => None,
    };
    // The probes are prepared while the unit is read and merged.
    let timed = |clock: std::time::Instant| clock.elapsed().as_nanos() as u64;
    let started = std::time::Instant::now();
    let ((probes, probes_ns), loaded) = tokio::try_join!(
        async {
            probes(&store, &spec.probes)
                .await
                .map(|p| (p, timed(started)))
        },
        async {
            if held.is_some() {
                return Ok(None);
            }
            let (p, read) = self::unit(&store, &spec.store, &spec.units[unit]).await?;
            Ok::<_, ClusterError>(Some((p, read, timed(started))))
        }
    )?;
    let mut times = rows::TaskTimes {
        tasks: 1,
        probes_ns,
        unit_ns: loaded.as_ref().map_or(0, |l| l.2),
        units_read: loaded.as_ref().map_or(0, |l| u64::from(l.1)),
        ..rows::TaskTimes::default()
    };
    let mut partition = loaded.map(|l| l.0);
    let params = spec.params.search_params();
    let k = unit as u32;
    let clock = std::time::Instant::now();
    let log = move |times: &mut rows::TaskTimes| {
        times.work_ns = clock.elapsed().as_nanos() as u64;
        let ms = |ns: u64| ns / 1_000_000;
        tracing::info!(
            job = spec.job.name(),
            unit,
            probes_ms = ms(times.probes_ns),
            unit_ms = ms(times.unit_ns),
            unit_read = times.units_read > 0,
            work_ms = ms(times.work_ns),
            "search task done"
        );
    };
    match spec.job {
        Job::Rank => {
            let partition = partition.take().ok_or_else(no_unit)?;
            let pass = first_pass(spec, unit, &probes, &partition).await?;
            let units = spec.units.len();
            let samples = blocking(move || {
                let depths = Ranking::depths(&probes, &params);
                let samples = pass.ranked.samples(params.always_votes, &depths, units);
                (pass, samples)
            })
            .await?;
            log(&mut times);
            rows::sample_rows(k, &samples.0.ranked, &samples.1, &times)
        }
        Job::Gather => {
            let file = spec.floors.as_ref().ok_or_else(|| ClusterError::File {
                path: "floors".into(),
                reason: "not named in the plan".into(),
            })?;
            let bytes = files::get(&store, file).await?;
            let floors = files::decode_floors(&file.path, &bytes, probes.len())?;
            let above = Some((floors.as_slice(), params.always_votes));
            match held.filter(|pass| pass.covers(&floors)) {
                Some(pass) => {
                    log(&mut times);
                    rows::rank_rows(k, &pass.ranked, above, &times)
                }
                None => {
                    // The pass is not held here (another executor ranked the unit, or this
                    // one dropped it), or some probe's best reach deeper into this unit than
                    // its share: the unit's whole pass answers.
                    let partition = match partition {
                        Some(p) => p,
                        None => {
                            let (p, read) =
                                self::unit(&store, &spec.store, &spec.units[unit]).await?;
                            times.units_read = u64::from(read);
                            p
                        }
                    };
                    let whole =
                        blocking(move || Ranking::rank(&probes, &params, &partition)).await?;
                    log(&mut times);
                    rows::rank_rows(k, &whole, above, &times)
                }
            }
        }
        Job::Compare => {
            let partition = partition.take().ok_or_else(no_unit)?;
            let file = spec.chosen.get(unit).ok_or_else(|| ClusterError::File {
                path: format!("chosen members of unit {unit}"),
                reason: "not named in the plan".into(),
            })?;
            let bytes = files::get(&store, file).await?;
            let chosen = files::decode_chosen(&file.path, &bytes, partition.len())?;
            if chosen.per_probe.len() != probes.len() {
                return Err(ClusterError::File {
                    path: file.path.clone(),
                    reason: format!(
                        "lists for {} probes, the batch has {}",
                        chosen.per_probe.len(),
                        probes.len()
                    ),
                });
            }
            let (named, stats) = blocking(move || {
                let (found, stats) = compare_chosen(&probes, &params, &partition, &chosen);
                let named: Vec<_> = found
                    .into_iter()
                    .map(|c| {
                        let id = partition.enrollment_id(c.member).to_string();
                        (c, id)
                    })
                    .collect();
                (named, stats)
            })
            .await?;
            log(&mut times);
            rows::compare_rows(k, &named, &stats, &times)
        }
    }
}
