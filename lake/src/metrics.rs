//! The process's Prometheus metrics: one recorder, installed on first use, that every crate
//! records into through the `metrics` facade; the console and `serve-sql` render it at
//! `/metrics`, the nightly job writes it to a node-exporter textfile after every stage.
//!
//! Conventions (Prometheus): names `tunggal_<what>_<unit>`, counters end in `_total`,
//! durations in `_seconds`. No label ever carries a NIK, a name, an enrollment or run id:
//! labels are small vocabularies (stage, outcome, reason code, route, role, province code).

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Upper bounds (seconds) of the buckets of every `_seconds` histogram.
const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0,
];

use crate::run::RunCounts;
use crate::vocabulary::{RunStatus, Stage};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed as the global `metrics` recorder on first call; later
/// calls return the same handle. If another recorder was installed first (a test harness),
/// a private one is returned so rendering still works, only without that other's values.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        // Durations as histograms with buckets (aggregatable across instances), from a
        // console request's milliseconds to a night's hours.
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .expect("fixed, non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::debug!("a metrics recorder was already installed; rendering a private one");
        }
        describe();
        handle
    })
}

/// The text exposition of every metric recorded so far in this process.
pub fn render() -> String {
    handle().render()
}

/// Writes [`render`] to `path` for node-exporter's textfile collector: written beside it and
/// renamed, so the collector never reads half a file.
pub fn write_textfile(path: &Path) -> std::io::Result<()> {
    let text = render();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let tmp = match dir {
        Some(d) => d.join(format!(
            ".{}.tmp",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("tunggal.prom")
        )),
        None => Path::new(".tunggal.prom.tmp").to_path_buf(),
    };
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

fn describe() {
    metrics::describe_histogram!(
        "tunggal_stage_duration_seconds",
        metrics::Unit::Seconds,
        "Wall time of a pipeline stage run, by stage and outcome."
    );
    metrics::describe_counter!(
        "tunggal_stage_runs_total",
        "Runs of a pipeline stage, by stage and outcome (succeeded, failed)."
    );
    metrics::describe_gauge!(
        "tunggal_stage_last_run_timestamp_seconds",
        metrics::Unit::Seconds,
        "Unix time at which the last run of the stage ended, by stage and outcome."
    );
    metrics::describe_counter!(
        "tunggal_stage_objects_total",
        "Objects a stage run looked at (seen), recorded (processed), accepted and rejected."
    );
}

/// Records the end of one stage run: its duration, outcome and counts. Called by the stage
/// runner, so every stage reports the same families.
pub fn record_stage(stage: Stage, status: RunStatus, elapsed: Duration, counts: &RunCounts) {
    handle();
    let stage = stage.as_str();
    let outcome = status.as_str();
    metrics::histogram!("tunggal_stage_duration_seconds", "stage" => stage, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
    metrics::counter!("tunggal_stage_runs_total", "stage" => stage, "outcome" => outcome)
        .increment(1);
    metrics::gauge!("tunggal_stage_last_run_timestamp_seconds", "stage" => stage, "outcome" => outcome)
        .set(chrono::Utc::now().timestamp() as f64);
    for (kind, value) in [
        ("seen", counts.seen),
        ("processed", counts.processed),
        ("accepted", counts.accepted),
        ("rejected", counts.rejected),
    ] {
        metrics::counter!("tunggal_stage_objects_total", "stage" => stage, "kind" => kind)
            .increment(value.max(0) as u64);
    }
}

/// Records a stage run's object-store traffic ([`crate::store_io`]):
/// `tunggal_stage_store_requests_total{stage,op}` (`list`, `get`, `put`, `other`),
/// `tunggal_stage_store_bytes_total{stage,direction}` (`read`, `written`) and
/// `tunggal_stage_objects_listed_total{stage}` — a night whose listings grow with the
/// country shows here first.
pub fn record_stage_io(stage: Stage, io: &crate::store_io::IoTotals) {
    handle();
    let stage = stage.as_str();
    for (op, n) in [
        ("list", io.list_requests),
        ("get", io.get_requests),
        ("put", io.put_requests),
        ("other", io.other_requests),
    ] {
        metrics::counter!("tunggal_stage_store_requests_total", "stage" => stage, "op" => op)
            .increment(n);
    }
    for (direction, n) in [("read", io.bytes_read), ("written", io.bytes_written)] {
        metrics::counter!("tunggal_stage_store_bytes_total", "stage" => stage, "direction" => direction)
            .increment(n);
    }
    metrics::counter!("tunggal_stage_objects_listed_total", "stage" => stage)
        .increment(io.objects_listed);
}

/// Records that a long-running `component` (`console`, `serve-sql`, `scheduler`,
/// `executor`) started: `tunggal_build_info{component,version}` = 1 (the version a dashboard
/// shows, and an `up`-style series that exists as soon as the process serves) and
/// `tunggal_process_start_time_seconds{component}`.
pub fn record_start(component: &'static str) {
    handle();
    metrics::describe_gauge!(
        "tunggal_build_info",
        "Always 1: the component and version of this process."
    );
    metrics::describe_gauge!(
        "tunggal_process_start_time_seconds",
        metrics::Unit::Seconds,
        "Unix time at which this process started serving."
    );
    metrics::gauge!(
        "tunggal_build_info",
        "component" => component,
        "version" => env!("CARGO_PKG_VERSION")
    )
    .set(1.0);
    metrics::gauge!("tunggal_process_start_time_seconds", "component" => component)
        .set(chrono::Utc::now().timestamp() as f64);
}

/// A `/metrics` HTTP listener started by [`serve`]; it stops when dropped.
pub struct MetricsServer {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// The address it listens on (the chosen port when bound to port 0).
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` and serves [`render`] at `GET /metrics` over plain HTTP/1.1 in the background
/// (on the current tokio runtime), for processes that have no web server of their own
/// (`serve-sql`, the cluster's scheduler and executor). Anything else answers 404.
///
/// Whoever reaches `addr` may scrape: the metrics hold no personal data, and the address is
/// the access control (loopback or the DC's management network; see docs/security.md).
/// Returns once listening, so a bad address fails the caller's start-up.
pub async fn serve(addr: std::net::SocketAddr) -> std::io::Result<MetricsServer> {
    handle();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "metrics listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            tokio::spawn(async move {
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(
                        hyper_util::rt::TokioIo::new(stream),
                        hyper::service::service_fn(answer),
                    )
                    .await;
                if let Err(e) = served {
                    tracing::debug!(error = %e, "metrics listener: connection ended with an error");
                }
            });
        }
    });
    Ok(MetricsServer { addr, task })
}

/// The one route of [`serve`].
async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible> {
    use hyper::{header, Method, StatusCode};
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => (StatusCode::OK, EXPOSITION_TYPE, render()),
        (_, "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "GET /metrics\n".to_string(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: metrics are at /metrics\n".to_string(),
        ),
    };
    let mut response = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    Ok(response)
}

/// The content type of the Prometheus text exposition format.
pub const EXPOSITION_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
