//! `tunggal scheduler`: Ballista's scheduler (gRPC and REST on one port, as it ships) with
//! tunggal's codec, so it can plan the search jobs the driver submits.
//!
//! Fault settings (docs/scale.md): an executor that misses heartbeats for
//! [`SchedulerSettings::executor_timeout`] is dropped and its tasks run elsewhere; a task is
//! tried [`SchedulerSettings::task_attempts`] times and a stage re-run that many times
//! (a lost map output) before the job fails — and then the driver submits it again. Tasks
//! are placed by `UnitAffinity` (the private `affinity` module): a unit's task goes back to
//! the executor that holds it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{SchedulerConfig, TaskDistributionPolicy};
use ballista_scheduler::scheduler_process::start_server;

use crate::affinity::UnitAffinity;
use crate::codec::SearchCodec;
use crate::{ClusterError, Result};

/// What a scheduler is started with.
#[derive(Clone, Debug)]
pub struct SchedulerSettings {
    /// Address to serve gRPC and REST on.
    pub bind: SocketAddr,
    /// An executor without a heartbeat for this long is dead.
    pub executor_timeout: Duration,
    /// Tries per task, and re-runs per stage, before a job fails.
    pub task_attempts: usize,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        SchedulerSettings {
            bind: SocketAddr::from(([127, 0, 0, 1], 50050)),
            executor_timeout: Duration::from_secs(30),
            task_attempts: 4,
        }
    }
}

/// Runs a scheduler until the process is stopped.
pub async fn run(settings: SchedulerSettings) -> Result<()> {
    let timeout = settings.executor_timeout.as_secs().max(1);
    let config = SchedulerConfig {
        bind_host: settings.bind.ip().to_string(),
        external_host: settings.bind.ip().to_string(),
        bind_port: settings.bind.port(),
        executor_timeout_seconds: timeout,
        expire_dead_executor_interval_seconds: (timeout / 3).max(1),
        task_max_failures: settings.task_attempts.max(1),
        stage_max_failures: settings.task_attempts.max(1),
        override_physical_codec: Some(SearchCodec::shared()),
        task_distribution: TaskDistributionPolicy::Custom(Arc::new(UnitAffinity::default())),
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| ClusterError::Ballista(e.to_string()))?;
    tracing::info!(bind = %settings.bind, "scheduler listening");
    start_server(cluster, settings.bind, Arc::new(config))
        .await
        .map_err(|e| ClusterError::Ballista(e.to_string()))
}
