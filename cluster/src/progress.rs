//! What the driver shows while a job runs: its stages and tasks done and the executors
//! alive, read from the scheduler's REST API (the one Ballista ships) every few seconds and
//! logged when it changes.

use std::time::Duration;

use serde_json::Value;

/// How often the scheduler is asked.
const EVERY: Duration = Duration::from_secs(2);

/// Where a job stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobProgress {
    /// Stages finished, of all.
    pub stages: (usize, usize),
    /// Tasks finished, of all known so far.
    pub tasks: (usize, usize),
    /// Executors the scheduler counts alive.
    pub executors: usize,
}

/// The scheduler's REST API.
#[derive(Clone)]
pub struct Scheduler {
    base: String,
    http: reqwest::Client,
}

impl Scheduler {
    /// The API of the scheduler at `host:port`.
    pub fn new(host: &str, port: u16) -> Scheduler {
        Scheduler {
            base: format!("http://{host}:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("an HTTP client"),
        }
    }

    async fn get(&self, path: &str) -> Option<Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        serde_json::from_str(&r.text().await.ok()?).ok()
    }

    /// Executors alive, or `None` when the scheduler does not answer.
    pub async fn executors(&self) -> Option<usize> {
        Some(self.get("/api/executors").await?.as_array()?.len())
    }

    /// Each executor's peak resident memory (`peak_physical_memory` of its metrics), bytes.
    pub async fn executor_peaks(&self) -> Option<Vec<u64>> {
        let executors = self.get("/api/executors").await?;
        Some(
            executors
                .as_array()?
                .iter()
                .map(|e| {
                    e["metrics"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|m| m["type"].as_str() == Some("peak_physical_memory"))
                        .and_then(|m| m["value"].as_u64())
                        .unwrap_or(0)
                })
                .collect(),
        )
    }

    /// Where the job named `name` stands, when the scheduler knows it.
    pub async fn job(&self, name: &str) -> Option<JobProgress> {
        let jobs = self.get("/api/jobs").await?;
        let job = jobs
            .as_array()?
            .iter()
            .rev()
            .find(|j| j["job_name"].as_str() == Some(name))?;
        let id = job["job_id"].as_str()?;
        let mut p = JobProgress {
            stages: (
                job["completed_stages"].as_u64().unwrap_or(0) as usize,
                job["num_stages"].as_u64().unwrap_or(0) as usize,
            ),
            ..JobProgress::default()
        };
        if let Some(stages) = self.get(&format!("/api/job/{id}/stages")).await {
            for stage in stages["stages"].as_array().into_iter().flatten() {
                for task in stage["tasks"].as_array().into_iter().flatten() {
                    p.tasks.1 += 1;
                    p.tasks.0 += (task["status"].as_str() == Some("Successful")) as usize;
                }
            }
        }
        p.executors = self.executors().await.unwrap_or(0);
        Some(p)
    }

    /// Logs the progress of job `name` (run it beside the job); returns when the scheduler
    /// has counted no executor alive three times in a row (the job cannot progress) or has
    /// not answered that often (it is gone).
    pub async fn watch(self, job: &'static str, name: String) -> &'static str {
        let mut last = None;
        let (mut none_alive, mut silent) = (0, 0);
        loop {
            tokio::time::sleep(EVERY).await;
            match self.executors().await {
                Some(0) => none_alive += 1,
                Some(_) => (none_alive, silent) = (0, 0),
                None => silent += 1,
            }
            if none_alive >= 3 {
                return "no executor is alive";
            }
            if silent >= 3 {
                return "the scheduler does not answer";
            }
            if let Some(p) = self.job(&name).await {
                if last.as_ref() != Some(&p) {
                    tracing::info!(
                        job,
                        stages_done = p.stages.0,
                        stages = p.stages.1,
                        tasks_done = p.tasks.0,
                        tasks = p.tasks.1,
                        executors = p.executors,
                        "cluster job running"
                    );
                    last = Some(p);
                }
            }
        }
    }
}
