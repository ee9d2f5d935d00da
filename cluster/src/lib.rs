//! The nightly 1:N search on an Apache DataFusion Ballista cluster: the `tunggal scheduler`
//! and `tunggal executor` processes, and the driver that `tunggal dedup --cluster` and
//! `tunggal nightly --cluster` search the stored gallery with.
//!
//! - [`ClusterSearch`] (driver): implements [`dedup::search::RemoteSearch`]. Per batch it
//!   writes the probes to the store once, then submits two Ballista jobs of physical plans:
//!   *rank* (the index's first pass, one task per gallery unit) and *compare* (the iris check
//!   and full comparison of the members the driver chose, one task per unit). Everything
//!   else of the run — this night's own batches, statuses, every lake write — stays on the
//!   driver, so the result is the single-machine result.
//! - [`SearchExec`] and [`SearchCodec`]: the custom operator and the codec that ships it,
//!   wrapping Ballista's own codec for every other node.
//! - [`scheduler`] and [`executor`]: Ballista's scheduler and executor processes as
//!   libraries, configured with that codec, so client, scheduler and executors share one
//!   Ballista, one DataFusion and one codec.
//!
//! The one idea to hold in mind: operators only read. Tasks are retried and stages re-run
//! by Ballista, and a whole job by the driver, so a task may run any number of times; only
//! the driver writes the lake and the gallery, after both jobs of a batch succeeded.

mod affinity;
mod codec;
mod driver;
mod exec;
pub mod executor;
mod files;
mod progress;
mod rows;
pub mod scheduler;
mod spec;
mod worker;

pub use codec::SearchCodec;
pub use driver::{ClusterOptions, ClusterReport, ClusterSearch};
pub use exec::SearchExec;
pub use rows::TaskTimes;
pub use spec::{Job, SearchSpec};

/// Why the cluster could not search.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The cluster address is not `df://host:port`.
    #[error("cluster address {0:?}: expected df://HOST:PORT")]
    Address(String),
    /// The scheduler or the executors failed the job (after the driver's retries).
    #[error("the cluster failed the {job} job after {attempts} attempt(s): {reason}")]
    Job {
        /// Which job.
        job: &'static str,
        /// How often it was tried.
        attempts: usize,
        /// The last failure.
        reason: String,
    },
    /// A file the driver left for the executors is unreadable or not the one named.
    #[error("{path}: {reason}")]
    File {
        /// Object path in the store.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The lake or the store failed.
    #[error(transparent)]
    Lake(#[from] lake::LakeError),
    /// A gallery unit could not be read.
    #[error(transparent)]
    Dedup(#[from] dedup::DedupError),
    /// Ballista failed to start or serve.
    #[error("ballista: {0}")]
    Ballista(String),
}

impl From<ClusterError> for dedup::DedupError {
    fn from(e: ClusterError) -> Self {
        match e {
            ClusterError::Dedup(e) => e,
            other => dedup::DedupError::Worker(other.to_string()),
        }
    }
}

/// One dedup run with the stored gallery searched on the cluster at `cluster.address`: the
/// same run, statuses and result as [`dedup::dedup`]. The files left for the executors
/// (this run's and any a failed run left) are removed once the run is over.
pub async fn dedup(
    store: &lake::Store,
    options: &dedup::DedupOptions,
    cluster: &ClusterOptions,
) -> dedup::Result<dedup::DedupSummary> {
    let search = ClusterSearch::connect(store, cluster.clone()).await?;
    files::remove_all(store).await?;
    let summary = dedup::dedup_with(store, options, Some(&search)).await;
    let report = search.report();
    tracing::info!(
        jobs = report.jobs,
        retried = report.retried,
        rows = report.rows,
        bytes = report.bytes,
        job_seconds = report.job_time.as_secs_f64(),
        "cluster search done"
    );
    search.clean_up().await?;
    let mut summary = summary?;
    summary.searched_on = Some(format!(
        "cluster {}: {} jobs ({} failed and submitted again), {} rows, {:.1} MiB from the executors, {:.1} s in jobs",
        cluster.address,
        report.jobs,
        report.retried,
        report.rows,
        report.bytes as f64 / (1u64 << 20) as f64,
        report.job_time.as_secs_f64()
    ));
    Ok(summary)
}

/// Executors the scheduler at `cluster.address` counts alive (`None`: it does not answer).
pub async fn executors_alive(cluster: &ClusterOptions) -> Option<usize> {
    let (host, port) = parse_address(&cluster.address).ok()?;
    progress::Scheduler::new(&host, port).executors().await
}

/// Peak resident memory of each executor, bytes, as the executors report it to the scheduler
/// at `cluster.address` (`None`: it does not answer).
pub async fn executor_peaks(cluster: &ClusterOptions) -> Option<Vec<u64>> {
    let (host, port) = parse_address(&cluster.address).ok()?;
    progress::Scheduler::new(&host, port).executor_peaks().await
}

/// Result of cluster operations.
pub type Result<T> = std::result::Result<T, ClusterError>;

/// Parses `df://HOST:PORT` into the scheduler's host and port.
pub fn parse_address(address: &str) -> Result<(String, u16)> {
    let bad = || ClusterError::Address(address.to_string());
    let rest = address.strip_prefix("df://").ok_or_else(bad)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.trim_end_matches('/').parse().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_addresses_are_df_host_port() {
        assert_eq!(
            parse_address("df://127.0.0.1:50050").unwrap(),
            ("127.0.0.1".into(), 50050)
        );
        for bad in ["127.0.0.1:50050", "df://:1", "df://host", "df://h:port"] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }
}
