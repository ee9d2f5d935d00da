//! `tunggal scheduler` and `tunggal executor`: the processes of a Ballista cluster that
//! `--cluster` searches on (the `cluster` library runs them).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

/// Flags of `tunggal scheduler`.
#[derive(clap::Args, Debug)]
pub struct SchedulerArgs {
    /// Address to serve gRPC (executors, drivers) and Ballista's REST API on.
    #[arg(long, default_value = "127.0.0.1:50050")]
    bind: SocketAddr,

    /// Seconds without a heartbeat after which an executor counts as dead and its tasks
    /// run elsewhere (several of the executors' --heartbeat).
    #[arg(long, default_value_t = 30)]
    executor_timeout: u64,

    /// Tries per task, and re-runs per stage when map output is lost, before a job fails.
    #[arg(long, default_value_t = 4)]
    task_attempts: usize,

    /// Serve Prometheus metrics at `http://ADDR/metrics` (off by default); whoever reaches
    /// ADDR may scrape (docs/operations.md).
    #[arg(long, value_name = "ADDR")]
    metrics_bind: Option<SocketAddr>,
}

/// Flags of `tunggal executor`.
#[derive(clap::Args, Debug)]
pub struct ExecutorArgs {
    /// The scheduler, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50050")]
    scheduler: String,

    /// Address of this executor's Flight service (results); its gRPC port is the next one.
    #[arg(long, default_value = "127.0.0.1:50051")]
    bind: SocketAddr,

    /// Host name other machines reach this executor at, when not the bound address.
    #[arg(long)]
    external_host: Option<String>,

    /// Search tasks at once (each uses every core through rayon).
    #[arg(long, default_value_t = 1)]
    slots: usize,

    /// Folder for the tasks' output until the driver fetches it (default: a temporary one).
    #[arg(long)]
    work_dir: Option<PathBuf>,

    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = 5)]
    heartbeat: u64,

    /// Gallery units this executor keeps in memory between tasks (each up to the drivers'
    /// --unit-mib, 1 GiB by default): the scheduler sends a unit's tasks back to the
    /// executor that holds it, so an executor that keeps all of its share reads each unit
    /// once a night instead of once a job.
    #[arg(long, default_value_t = 2)]
    keep_units: usize,

    /// Search any store a plan names (default: only the store of --store / TUNGGAL_STORE, so
    /// that whoever reaches the scheduler cannot point the executors at another store).
    #[arg(long)]
    any_store: bool,

    /// Serve Prometheus metrics at `http://ADDR/metrics` (off by default): search tasks run
    /// and failed; whoever reaches ADDR may scrape (docs/operations.md).
    #[arg(long, value_name = "ADDR")]
    metrics_bind: Option<SocketAddr>,
}

/// Starts the `/metrics` listener of `component` when `bind` is given; kept until dropped.
async fn metrics(
    component: &'static str,
    bind: Option<SocketAddr>,
) -> Result<Option<lake::metrics::MetricsServer>> {
    lake::metrics::record_start(component);
    let Some(addr) = bind else {
        return Ok(None);
    };
    let server = lake::metrics::serve(addr)
        .await
        .with_context(|| format!("cannot serve metrics on {addr}"))?;
    tracing::info!(addr = %server.local_addr(), "{component}: metrics on /metrics");
    Ok(Some(server))
}

/// Runs a scheduler until stopped.
pub async fn run_scheduler(args: &SchedulerArgs) -> Result<()> {
    let _metrics = metrics("scheduler", args.metrics_bind).await?;
    cluster::scheduler::run(cluster::scheduler::SchedulerSettings {
        bind: args.bind,
        executor_timeout: Duration::from_secs(args.executor_timeout),
        task_attempts: args.task_attempts,
    })
    .await?;
    Ok(())
}

/// Runs an executor until stopped.
pub async fn run_executor(store: &str, args: &ExecutorArgs) -> Result<()> {
    let (host, port) = args
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .with_context(|| format!("--scheduler {:?}: expected HOST:PORT", args.scheduler))?;
    let _metrics = metrics("executor", args.metrics_bind).await?;
    let store = if args.any_store {
        None
    } else {
        Some(lake::Store::open(store)?.url().to_string())
    };
    cluster::executor::run(cluster::executor::ExecutorSettings {
        scheduler: (host, port),
        bind: args.bind,
        external_host: args.external_host.clone(),
        slots: args.slots,
        work_dir: args.work_dir.clone(),
        heartbeat: Duration::from_secs(args.heartbeat),
        store,
        keep_units: args.keep_units,
    })
    .await?;
    Ok(())
}
