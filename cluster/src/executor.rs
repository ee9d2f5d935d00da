//! `tunggal executor`: Ballista's executor with tunggal's codec, so it runs the search
//! tasks. Few task slots: rayon already uses every core inside a task.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};

use crate::codec::SearchCodec;
use crate::{ClusterError, Result};

/// What an executor is started with.
#[derive(Clone, Debug)]
pub struct ExecutorSettings {
    /// The scheduler's host and port.
    pub scheduler: (String, u16),
    /// Address of the executor's Flight service (its results); its gRPC port is the next.
    pub bind: SocketAddr,
    /// The address other processes reach it at, when not the bound one.
    pub external_host: Option<String>,
    /// Tasks at once.
    pub slots: usize,
    /// Where shuffle output is kept (a temporary folder when `None`).
    pub work_dir: Option<PathBuf>,
    /// Heartbeat interval (the scheduler's timeout must be several of these).
    pub heartbeat: Duration,
    /// The only store this executor searches (its URL), if set.
    pub store: Option<String>,
    /// Gallery units kept in memory between tasks.
    pub keep_units: usize,
}

/// Runs an executor until the process is stopped.
pub async fn run(settings: ExecutorSettings) -> Result<()> {
    if let Some(store) = &settings.store {
        crate::worker::allow_only(store);
    }
    crate::worker::keep_units(settings.keep_units);
    let config = ExecutorProcessConfig {
        bind_host: settings.bind.ip().to_string(),
        external_host: settings.external_host.clone(),
        port: settings.bind.port(),
        grpc_port: settings.bind.port().checked_add(1).ok_or_else(|| {
            ClusterError::Ballista("the executor's gRPC port is its port + 1".into())
        })?,
        scheduler_host: settings.scheduler.0.clone(),
        scheduler_port: settings.scheduler.1,
        scheduler_connect_timeout_seconds: 30,
        vcores: settings.slots.max(1),
        work_dir: settings
            .work_dir
            .as_ref()
            .map(|d| d.to_string_lossy().into_owned()),
        executor_heartbeat_interval_seconds: settings.heartbeat.as_secs().max(1),
        print_thread_info: false,
        override_physical_codec: Some(SearchCodec::shared()),
        ..ExecutorProcessConfig::default()
    };
    tracing::info!(bind = %settings.bind, slots = config.vcores, "executor starting");
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| ClusterError::Ballista(e.to_string()))
}
