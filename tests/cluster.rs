//! End to end on a real Ballista cluster on loopback: `tunggal scheduler` and `tunggal
//! executor` processes spawned from this test, `tunggal nightly --cluster` against them.
//!
//! - The statuses, clusters and candidates of a cluster night are exactly those of a
//!   single-machine night (less run ids and times), with 1, 2 and 3 executors, over two
//!   nights (the second searches the first's gallery partitions), on a local store and on the
//!   S3-compatible server.
//! - Executors SIGKILLed in the middle of the rank job and after their map output exists do
//!   not change the night; with every executor dead, or the scheduler dead, the night fails
//!   with a clear message, commits nothing, and a later run completes with the same result.

mod common;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{days, move_day, outcome, TestStore, OUTCOME};
use s3_server::S3Server;

/// A country small enough for debug builds, with duplicates across days.
const SYNTH: &[&str] = &[
    "synth",
    "--people",
    "240",
    "--seed",
    "17",
    "--days",
    "3",
    "--duplicate-rate",
    "0.08",
    "--bad-rate",
    "0",
    "--progress",
    "quiet",
];

/// Every night: small batches and one stored partition per unit, so the gallery of a later
/// night is several units (several tasks to spread over executors).
const NIGHT: &[&str] = &["nightly", "--no-progress", "--unit-mib", "0"];

/// A process killed when the test ends, however it ends.
struct Proc {
    child: Child,
    port: u16,
}

impl Proc {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port whose successor is free too (an executor takes both).
fn free_port_pair() -> u16 {
    loop {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// `tunggal ARGS…` with `env`, its output to a log file in `logs`.
fn spawn(args: &[String], env: &[(&str, String)], logs: &Path, name: &str) -> Child {
    let log = std::fs::File::create(logs.join(format!("{name}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .args(args)
        .env_remove("TUNGGAL_STORE")
        .env_remove("TUNGGAL_CLUSTER")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start tunggal {args:?}: {e}"))
}

/// GET on the scheduler's REST API; the JSON body, or `None` when it does not answer.
fn rest(port: u16, path: &str) -> Option<serde_json::Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let body = response.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scheduler and its executors, on loopback.
struct Cluster {
    scheduler: Option<Proc>,
    port: u16,
    executors: Vec<Proc>,
    logs: tempfile::TempDir,
    /// Environment of every process (S3 credentials, test hooks).
    env: Vec<(&'static str, String)>,
    /// Flags of every executor.
    executor_flags: Vec<String>,
}

impl Cluster {
    fn start(env: Vec<(&'static str, String)>, executor_flags: &[&str]) -> Cluster {
        let logs = tempfile::tempdir().unwrap();
        let port = free_port_pair();
        let mut cluster = Cluster {
            scheduler: None,
            port,
            executors: Vec::new(),
            logs,
            env,
            executor_flags: executor_flags.iter().map(|s| s.to_string()).collect(),
        };
        cluster.start_scheduler();
        cluster
    }

    /// Starts the scheduler (again) on the cluster's port.
    fn start_scheduler(&mut self) {
        let port = self.port;
        let args: Vec<String> = [
            "scheduler",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--executor-timeout",
            "4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        self.scheduler = Some(Proc {
            child: spawn(&args, &self.env, self.logs.path(), "scheduler"),
            port,
        });
        wait_for("the scheduler", Duration::from_secs(60), || {
            rest(port, "/api/executors").is_some()
        });
    }

    fn address(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }

    fn alive(&self) -> usize {
        rest(self.port, "/api/executors")
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0)
    }

    /// Starts one more executor and waits until the scheduler counts it.
    fn add_executor(&mut self) {
        let port = free_port_pair();
        let mut args: Vec<String> = [
            "executor",
            "--scheduler",
            &format!("127.0.0.1:{}", self.port),
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--heartbeat",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(self.executor_flags.iter().cloned());
        let name = format!("executor-{}", self.executors.len());
        let child = spawn(&args, &self.env, self.logs.path(), &name);
        self.executors.push(Proc { child, port });
        let want = self.executors.iter().filter(|e| e.port != 0).count();
        wait_for("the executor to register", Duration::from_secs(60), || {
            self.alive() >= want
        });
    }

    /// SIGKILLs executor `i`.
    fn kill_executor(&mut self, i: usize) {
        self.executors[i].kill();
        self.executors[i].port = 0;
    }

    /// The progress of the newest job whose name contains `job`: (stages done, tasks done).
    fn job(&self, job: &str) -> Option<(u64, u64)> {
        let jobs = rest(self.port, "/api/jobs")?;
        let j = jobs
            .as_array()?
            .iter()
            .filter(|j| j["job_name"].as_str().is_some_and(|n| n.contains(job)))
            .max_by_key(|j| j["start_time"].as_u64().unwrap_or(0))?;
        if j["status"].as_str() != Some("Running") {
            return None;
        }
        let id = j["job_id"].as_str()?;
        let stages = rest(self.port, &format!("/api/job/{id}/stages"))?;
        let done = stages["stages"]
            .as_array()?
            .iter()
            .flat_map(|s| s["tasks"].as_array().cloned().unwrap_or_default())
            .filter(|t| t["status"].as_str() == Some("Successful"))
            .count();
        Some((j["completed_stages"].as_u64().unwrap_or(0), done as u64))
    }
}

/// The day folders of the store's landing/, in order.
/// A synthesized store with its last `held` days moved aside (brought back night by night).
struct Country {
    store: TestStore,
    aside: tempfile::TempDir,
    later: Vec<String>,
}

impl Country {
    fn new(held: usize) -> Country {
        let store = TestStore::new();
        store.ok(SYNTH);
        let aside = tempfile::tempdir().unwrap();
        let all = days(store.path());
        let later: Vec<String> = all[all.len() - held..].to_vec();
        for d in &later {
            move_day(store.path(), aside.path(), d, false);
        }
        Country {
            store,
            aside,
            later,
        }
    }

    /// Brings the next day held aside back into landing/.
    fn next_day(&mut self) {
        let d = self.later.remove(0);
        move_day(self.store.path(), self.aside.path(), &d, true);
    }

    fn night(&self, batch: &str, extra: &[&str]) -> std::process::Output {
        let mut args: Vec<&str> = NIGHT.to_vec();
        args.extend(["--batch-size", batch]);
        args.extend(extra);
        self.store.run(&args)
    }

    /// Starts a night in the background (to kill parts of the cluster while it runs).
    fn spawn_night(&self, batch: &str, extra: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_tunggal"))
            .arg("--store")
            .arg(self.store.path())
            .args(NIGHT)
            .args(["--batch-size", batch])
            .args(extra)
            .env_remove("TUNGGAL_STORE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn night_ok(&self, batch: &str, extra: &[&str]) {
        let out = self.night(batch, extra);
        assert!(
            out.status.success(),
            "nightly {extra:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Waits for a night started with [`Country::spawn_night`]: whether it succeeded, and its
/// stderr.
fn finish(mut night: Child) -> (bool, String) {
    let status = night.wait().unwrap();
    let mut err = String::new();
    night
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.success(), err)
}

fn count(store: &TestStore, sql: &str) -> usize {
    store.query(sql)[0]["n"].parse().unwrap()
}

/// The reference: the same nights on one machine.
fn single_machine(nights: &[&str]) -> Vec<String> {
    let mut c = Country::new(nights.len() - 1);
    for (i, batch) in nights.iter().enumerate() {
        if i > 0 {
            c.next_day();
        }
        c.night_ok(batch, &[]);
    }
    outcome(&c.store)
}

#[test]
fn a_cluster_night_decides_exactly_what_one_machine_decides_with_1_2_and_3_executors() {
    let nights = ["25", "1000"];
    let expected = single_machine(&nights);
    assert!(
        expected[2].contains(",gallery,"),
        "no candidate found across nights: the test would prove little"
    );
    let mut cluster = Cluster::start(Vec::new(), &["--any-store"]);
    for executors in 1..=3 {
        cluster.add_executor();
        let mut c = Country::new(1);
        let address = cluster.address();
        c.night_ok(nights[0], &["--cluster", &address]);
        let units = std::fs::read_dir(c.store.path().join("dedup/segments"))
            .unwrap()
            .flat_map(|run| std::fs::read_dir(run.unwrap().path()).unwrap())
            .count();
        assert!(units >= 3, "the first night left {units} partitions");
        c.next_day();
        c.night_ok(nights[1], &["--cluster", &address]);
        assert_eq!(outcome(&c.store), expected, "{executors} executor(s)");
        assert!(
            !c.store.path().join("dedup/runs").exists()
                || common::files_under(&c.store.path().join("dedup/runs")).is_empty(),
            "the driver's files were left behind"
        );
    }
}

#[test]
fn killed_executors_and_a_killed_scheduler_lose_nothing_and_count_nothing_twice() {
    // Night 1 in batches of 10: its ~8 stored partitions are the ~8 tasks of night 2's jobs,
    // more than the 3 executors run at once.
    let nights = ["10", "1000", "1000"];
    let expected = single_machine(&nights);
    let mut c = Country::new(2);
    c.night_ok(nights[0], &[]);

    // Tasks that take a while, so the test can kill executors while they run.
    let env = vec![("TUNGGAL_TEST_TASK_DELAY_MS", "1500".to_string())];
    let mut cluster = Cluster::start(env, &["--any-store"]);
    for _ in 0..3 {
        cluster.add_executor();
    }
    let address = cluster.address();
    let retry = ["--cluster-retry-wait", "2"];

    // Night 2: one executor dies while the rank job's first tasks run, another once tasks
    // are done (its map output exists and the job's second stage has not read it yet).
    c.next_day();
    let driver = c.spawn_night(nights[1], &["--cluster", &address, retry[0], retry[1]]);
    wait_for("the rank job", Duration::from_secs(120), || {
        cluster.job("rank").is_some()
    });
    cluster.kill_executor(0);
    wait_for("two rank tasks done", Duration::from_secs(120), || {
        cluster.job("rank").is_some_and(|(_, done)| done >= 2)
    });
    cluster.kill_executor(1);
    let (ok, err) = finish(driver);
    assert!(ok, "night 2 failed:\n{err}");

    // Night 3, every executor dead: a clear failure, nothing committed.
    c.next_day();
    let before = count(&c.store, "SELECT count(*) AS n FROM identity_status");
    let candidates = count(&c.store, "SELECT count(*) AS n FROM match_candidates");
    cluster.kill_executor(2);
    wait_for("no executor alive", Duration::from_secs(30), || {
        cluster.alive() == 0
    });
    let out = c.night(nights[2], &["--cluster", &address, retry[0], retry[1]]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a night without executors succeeded");
    assert!(err.contains("no executor"), "{err}");
    assert_eq!(
        count(&c.store, "SELECT count(*) AS n FROM identity_status"),
        before
    );
    assert_eq!(
        count(&c.store, "SELECT count(*) AS n FROM match_candidates"),
        candidates
    );

    // The scheduler dies in the middle of the rank job: the same.
    cluster.add_executor();
    let driver = c.spawn_night(nights[2], &["--cluster", &address, retry[0], retry[1]]);
    wait_for("the rank job", Duration::from_secs(120), || {
        cluster.job("rank").is_some()
    });
    cluster.scheduler = None;
    let (ok, err) = finish(driver);
    assert!(!ok, "a night without its scheduler succeeded");
    assert!(err.contains("scheduler"), "{err}");
    assert_eq!(
        count(&c.store, "SELECT count(*) AS n FROM identity_status"),
        before
    );

    // A new scheduler and executor: the night completes as on one machine.
    cluster.executors.clear();
    cluster.start_scheduler();
    cluster.add_executor();
    c.night_ok(nights[2], &["--cluster", &address]);
    assert_eq!(outcome(&c.store), expected);
}

/// Uploads every file under `dir` to `bucket/prefix` on the S3 server (moto takes unsigned
/// PUTs), skipping those under `skip`.
fn upload(server: &S3Server, dir: &Path, bucket: &str, prefix: &str, skip: &[PathBuf]) {
    let addr = server.endpoint.trim_start_matches("http://").to_string();
    for file in common::files_under(dir) {
        if skip.iter().any(|s| file.starts_with(s)) {
            continue;
        }
        let key = file
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let body = std::fs::read(&file).unwrap();
        let mut s = TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "PUT /{bucket}/{prefix}/{key} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(&body).unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "PUT {key}: {response}"
        );
    }
}

#[test]
fn a_cluster_night_on_s3_decides_what_one_machine_decides() {
    let nights = ["25", "1000"];
    let expected = single_machine(&nights);
    let server = S3Server::start();
    server.create_bucket("ektp");
    let store = "s3://ektp/cluster";
    let env: Vec<(&'static str, String)> = server.env();

    // The synthesized packets reach the bucket day by day, as stations upload them.
    let local = TestStore::new();
    local.ok(SYNTH);
    let last = days(local.path()).pop().unwrap();
    let last_day: Vec<PathBuf> = std::fs::read_dir(local.path().join("landing"))
        .unwrap()
        .map(|s| s.unwrap().path().join(&last))
        .collect();
    upload(&server, local.path(), "ektp", "cluster", &last_day);

    let mut cluster = Cluster::start(env.clone(), &[]);
    cluster.executor_flags = vec!["--store".into(), store.into()];
    cluster.add_executor();
    cluster.add_executor();
    let address = cluster.address();
    let tunggal = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tunggal"))
            .args(["--store", store])
            .args(args)
            .env_remove("TUNGGAL_STORE")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tunggal {args:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // ingest + dedup: the night's stages that decide statuses (the other stages read them).
    let night = |batch: &str| {
        tunggal(&["ingest", "--no-progress"]);
        tunggal(&[
            "dedup",
            "--no-progress",
            "--unit-mib",
            "0",
            "--batch-size",
            batch,
            "--cluster",
            &address,
        ]);
    };
    night(nights[0]);
    let skip: Vec<PathBuf> = Vec::new();
    for day in &last_day {
        if day.is_dir() {
            let site = day.parent().unwrap().file_name().unwrap().to_string_lossy();
            upload(
                &server,
                day,
                "ektp",
                &format!("cluster/landing/{site}/{last}"),
                &skip,
            );
        }
    }
    night(nights[1]);
    let on_s3: Vec<String> = OUTCOME
        .iter()
        .map(|q| tunggal(&["sql", q, "--format", "csv"]))
        .collect();
    assert_eq!(on_s3, expected);
}
