//! [`ClusterSearch`]: the driver's side of a distributed search. Per batch: the probes go to
//! the store once; the rank job runs each unit's first pass (kept on its executor) and
//! returns samples of its evidence; from them the driver takes each probe's floor (the
//! threshold round: no member below it can be among the probe's best); the gather job
//! returns each unit's members at or above the floors; the driver ranks and chooses
//! (adding this night's own batches, which only it holds); the chosen members go to the
//! store; the compare job returns each unit's candidates. A job that fails (an executor
//! lost beyond what Ballista's task and stage retries absorb, the scheduler gone) is
//! submitted again, up to [`ClusterOptions::attempts`] times; then the run fails and
//! commits nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use ballista_core::config::BALLISTA_SCHEDULER_MAX_PARTITIONS_PER_TASK;
use ballista_core::execution_plans::execute_physical_plan;
use ballista_core::extension::SessionConfigExt;
use biometrics::index::{Candidate, Chosen, ProbeSet, Ranked, Ranking, SearchParams, SearchStats};
use datafusion::execution::context::SessionConfig;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::TryStreamExt;
use lake::Store;

use crate::codec::SearchCodec;
use crate::exec::SearchExec;
use crate::files;
use crate::progress::Scheduler;
use crate::rows::{self, TaskTimes};
use crate::spec::{FileRef, Job, Params, SearchSpec};
use crate::{parse_address, ClusterError, Result};

/// How the driver uses the cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// The scheduler, `df://HOST:PORT`.
    pub address: String,
    /// Times a failed job is submitted before the run gives up.
    pub attempts: usize,
    /// Wait between attempts (Ballista needs a heartbeat timeout to drop a dead executor).
    pub retry_wait: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            address: "df://127.0.0.1:50050".into(),
            attempts: 3,
            retry_wait: Duration::from_secs(10),
        }
    }
}

/// What the cluster did for a run, for its summary.
#[derive(Clone, Debug, Default)]
pub struct ClusterReport {
    /// Jobs that succeeded.
    pub jobs: u64,
    /// Job submissions that failed and were retried.
    pub retried: u64,
    /// Rows the jobs returned.
    pub rows: u64,
    /// Bytes of those rows (the Arrow buffers they use), roughly what crossed the network.
    pub bytes: u64,
    /// Time in jobs.
    pub job_time: Duration,
    /// Per job name (rank, gather, compare): wall time of its successful submissions and
    /// where its tasks' time went.
    pub by_job: BTreeMap<&'static str, (Duration, TaskTimes)>,
}

/// A distributed search of the stored gallery on a Ballista cluster.
pub struct ClusterSearch {
    store: Store,
    host: String,
    port: u16,
    options: ClusterOptions,
    /// The probes file of the batch being searched.
    probes: Mutex<Option<(String, FileRef)>>,
    /// Runs whose files to remove at the end.
    runs: Mutex<Vec<String>>,
    report: Mutex<ClusterReport>,
}

impl ClusterSearch {
    /// Connects to the scheduler of `options.address`; fails with a clear message when it
    /// does not answer or has no executor.
    pub async fn connect(store: &Store, options: ClusterOptions) -> Result<ClusterSearch> {
        let (host, port) = parse_address(&options.address)?;
        let executors = Scheduler::new(&host, port)
            .executors()
            .await
            .ok_or_else(|| {
                ClusterError::Ballista(format!(
                    "no scheduler answers at {} (start one with `tunggal scheduler`)",
                    options.address
                ))
            })?;
        if executors == 0 {
            return Err(ClusterError::Ballista(format!(
                "the scheduler at {} has no executor (start them with `tunggal executor`)",
                options.address
            )));
        }
        tracing::info!(executors, "connected to the cluster");
        Ok(ClusterSearch {
            store: store.clone(),
            host,
            port,
            options,
            probes: Mutex::new(None),
            runs: Mutex::new(Vec::new()),
            report: Mutex::new(ClusterReport::default()),
        })
    }

    /// What the cluster did so far.
    pub fn report(&self) -> ClusterReport {
        self.report.lock().expect("report").clone()
    }

    /// Removes the files the driver left for the executors (the search is over).
    pub async fn clean_up(&self) -> Result<()> {
        let runs = std::mem::take(&mut *self.runs.lock().expect("runs"));
        for run in runs {
            files::remove_run(&self.store, &run).await?;
        }
        Ok(())
    }

    fn spec(
        &self,
        job: Job,
        probes: FileRef,
        units: &[Vec<String>],
        params: &SearchParams,
    ) -> Result<SearchSpec> {
        let params = Params::of(params).ok_or_else(|| {
            ClusterError::Ballista("the cluster searches with the default fusion model only".into())
        })?;
        Ok(SearchSpec {
            job,
            store: self.store.url().to_string(),
            probes,
            units: units.to_vec(),
            chosen: Vec::new(),
            floors: None,
            params,
        })
    }

    /// Runs one job to its rows, submitting it again when it fails.
    async fn run_job(&self, spec: SearchSpec, batch: &str) -> Result<Vec<RecordBatch>> {
        let job = spec.job.name();
        let url = format!("http://{}:{}", self.host, self.port);
        let codec = SearchCodec::default();
        let plan: Arc<dyn ExecutionPlan> = Arc::new(CoalescePartitionsExec::new(Arc::new(
            SearchExec::job(spec).map_err(|e| ClusterError::Ballista(e.to_string()))?,
        )));
        let mut last = String::new();
        for attempt in 1..=self.options.attempts.max(1) {
            let name = format!("tunggal {job} {batch} #{attempt}");
            // One unit per task: a task already uses every core (rayon), and one unit per
            // task is what a lost executor's retry redoes.
            let config = SessionConfig::new_with_ballista()
                .with_ballista_job_name(&name)
                .set_usize(BALLISTA_SCHEDULER_MAX_PARTITIONS_PER_TASK, 1);
            let started = Instant::now();
            let scheduler = Scheduler::new(&self.host, self.port);
            let result: std::result::Result<Vec<RecordBatch>, String> =
                match scheduler.executors().await {
                    None => Err(format!("no scheduler answers at {}", self.options.address)),
                    Some(0) => Err("the scheduler has no executor alive".into()),
                    Some(_) => {
                        let job_run = async {
                            let stream = execute_physical_plan::<PhysicalPlanNode>(
                                url.clone(),
                                &config.ballista_config(),
                                Arc::clone(&plan),
                                &codec,
                                uuid::Uuid::new_v4().to_string(),
                                config.clone(),
                            )
                            .await?;
                            stream.try_collect::<Vec<RecordBatch>>().await
                        };
                        tokio::select! {
                            r = job_run => r.map_err(|e| e.to_string()),
                            why = scheduler.watch(job, name) => Err(why.to_string()),
                        }
                    }
                };
            match result {
                Ok(batches) => {
                    let mut r = self.report.lock().expect("report");
                    r.jobs += 1;
                    r.rows += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
                    r.bytes += batches
                        .iter()
                        .flat_map(|b| b.columns())
                        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0) as u64)
                        .sum::<u64>();
                    r.job_time += started.elapsed();
                    r.by_job.entry(job).or_default().0 += started.elapsed();
                    return Ok(batches);
                }
                Err(e) => {
                    last = e;
                    self.report.lock().expect("report").retried += 1;
                    tracing::warn!(
                        job,
                        attempt,
                        attempts = self.options.attempts,
                        error = %last,
                        "cluster job failed"
                    );
                    if attempt < self.options.attempts {
                        tokio::time::sleep(self.options.retry_wait).await;
                    }
                }
            }
        }
        Err(ClusterError::Job {
            job,
            attempts: self.options.attempts.max(1),
            reason: last,
        })
    }

    /// Adds a job's task times to the report.
    fn count_tasks(&self, job: Job, times: &TaskTimes) {
        let mut r = self.report.lock().expect("report");
        r.by_job.entry(job.name()).or_default().1.add(times);
    }

    async fn probes_file(&self, batch: &str, probes: &ProbeSet) -> Result<FileRef> {
        if let Some((b, f)) = self.probes.lock().expect("probes").as_ref() {
            if b == batch {
                return Ok(f.clone());
            }
        }
        let file = files::put_probes(&self.store, batch, probes).await?;
        *self.probes.lock().expect("probes") = Some((batch.to_string(), file.clone()));
        let run = batch.split('/').next().unwrap_or(batch).to_string();
        let mut runs = self.runs.lock().expect("runs");
        if !runs.contains(&run) {
            runs.push(run);
        }
        Ok(file)
    }
}

#[async_trait::async_trait]
impl dedup::search::RemoteSearch for ClusterSearch {
    async fn rank(
        &self,
        batch: &str,
        probes: &ProbeSet,
        units: &[Vec<String>],
        params: &SearchParams,
    ) -> dedup::Result<Vec<Ranked>> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let file = self.probes_file(batch, probes).await?;
        // Rank: each unit's first pass, kept on its executor; only samples come back.
        let spec = self.spec(Job::Rank, file.clone(), units, params)?;
        let batches = self.run_job(spec, batch).await?;
        let (sampled, times) = rows::read_samples(&batches, units.len(), probes.len())?;
        self.count_tasks(Job::Rank, &times);
        let samples: Vec<_> = sampled.iter().map(|s| s.samples.clone()).collect();
        let floors = Ranking::floors(&Ranking::depths(probes, params), &samples);
        // Gather: of each unit's pass, what is at or above each probe's floor.
        let mut spec = self.spec(Job::Gather, file, units, params)?;
        spec.floors = Some(files::put_floors(&self.store, batch, &floors).await?);
        let batches = self.run_job(spec, batch).await?;
        let (mut ranked, times) = rows::read_ranked(&batches, units.len(), probes.len())?;
        self.count_tasks(Job::Gather, &times);
        for (k, (r, s)) in ranked.iter_mut().zip(&sampled).enumerate() {
            if r.members != s.members {
                return Err(ClusterError::Ballista(format!(
                    "unit {k} has {} members in the rank job and {} in the gather job",
                    s.members, r.members
                ))
                .into());
            }
            r.stats = s.stats;
        }
        Ok(ranked)
    }

    async fn compare(
        &self,
        batch: &str,
        probes: &ProbeSet,
        units: &[Vec<String>],
        chosen: Vec<Chosen>,
        params: &SearchParams,
    ) -> dedup::Result<Vec<(Vec<(Candidate, String)>, SearchStats)>> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let file = self.probes_file(batch, probes).await?;
        let mut spec = self.spec(Job::Compare, file, units, params)?;
        for (k, c) in chosen.iter().enumerate() {
            spec.chosen
                .push(files::put_chosen(&self.store, batch, k, c).await?);
        }
        let batches = self.run_job(spec, batch).await?;
        let (compared, times) = rows::read_compared(&batches, units.len())?;
        self.count_tasks(Job::Compare, &times);
        Ok(compared)
    }
}
