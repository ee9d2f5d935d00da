//! Shared helpers of the end-to-end tests: run the real `tunggal` binary against a store in
//! a temporary folder, the way a DC engineer does, and read its outputs back.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A store in a temporary folder, removed when dropped.
pub struct TestStore {
    dir: tempfile::TempDir,
}

impl TestStore {
    /// A fresh, empty store.
    pub fn new() -> TestStore {
        TestStore {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The store's root folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `tunggal --store <this store> ARGS…` and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        run(self.path(), args)
    }

    /// Runs `tunggal …` and panics with its stderr unless it succeeds; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        ok(self.path(), args)
    }

    /// Runs a query through `tunggal sql --format csv` and returns the rows as maps.
    pub fn query(&self, sql: &str) -> Vec<HashMap<String, String>> {
        let csv_text = self.ok(&["sql", sql, "--format", "csv"]);
        read_csv(csv_text.as_bytes())
    }

    /// Every row of every CSV file under `synth-truth/` (the planted truth of all batches).
    pub fn truth(&self) -> Vec<HashMap<String, String>> {
        truth(self.path())
    }
}

/// Runs `tunggal --store ROOT ARGS…` and returns its output, whatever the exit code.
pub fn run(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(root)
        .args(args)
        .env_remove("TUNGGAL_STORE")
        .output()
        .expect("start tunggal")
}

/// Runs `tunggal --store ROOT ARGS…` that aborts right after its `commits`-th commit, as a
/// process killed at that point would stop (the lake's fault injection); returns its output
/// (a run with fewer commits ends normally).
pub fn run_killed_after(root: &Path, args: &[&str], commits: usize) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(root)
        .args(args)
        .env_remove("TUNGGAL_STORE")
        .env("TUNGGAL_FAULT_ABORT_AFTER_COMMITS", commits.to_string())
        .output()
        .expect("start tunggal")
}

/// Runs `tunggal --store ROOT ARGS…` and panics with its stderr unless it succeeds; returns
/// stdout.
pub fn ok(root: &Path, args: &[&str]) -> String {
    let out = run(root, args);
    assert!(
        out.status.success(),
        "tunggal {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Every row of every enrollee CSV file under `ROOT/synth-truth/` (the planted truth of all
/// batches).
pub fn truth(root: &Path) -> Vec<HashMap<String, String>> {
    let mut rows = Vec::new();
    for file in files_under(&root.join("synth-truth")) {
        if file.extension().and_then(|e| e.to_str()) == Some("csv")
            && file
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("enrollees"))
            || file
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                == Some("enrollees")
        {
            rows.extend(read_csv(
                std::fs::read(&file).expect("truth file").as_slice(),
            ));
        }
    }
    rows
}

/// Parses CSV with a header row into one map per row.
pub fn read_csv(bytes: &[u8]) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().expect("csv header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("csv row");
            headers
                .iter()
                .map(String::from)
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Every file below `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The Python of the repo's `.venv` (Flight SQL client, notebook runner), which
/// `scripts/install-test-deps.sh` installs.
pub fn venv_python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/install-test-deps.sh",
        python.display()
    );
    python
}

/// Real template data shipped beside the repo (`../shared/data`, or `TUNGGAL_SHARED_DATA`).
pub fn shared_data() -> PathBuf {
    match std::env::var_os("TUNGGAL_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    }
}

/// A `tunggal` server (console, Flight SQL) started by a test: killed when the test ends,
/// however it ends.
pub struct Server {
    child: std::process::Child,
    /// The first line the server printed on stdout (it names the address it listens on).
    pub first_line: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tunggal --store STORE ARGS…` with `env` set (and none of the `TUNGGAL_*`
/// variables of the caller's shell that would point it elsewhere), and waits until it prints
/// its first line: servers print their address once they listen.
pub fn start_server(store: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("TUNGGAL_STORE")
        .env_remove("TUNGGAL_CASE_DB")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start tunggal {args:?}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let mut server = Server {
        child,
        first_line: String::new(),
    };
    BufReader::new(stdout)
        .read_line(&mut server.first_line)
        .expect("read the server's first line");
    server.first_line = server.first_line.trim_end().to_string();
    server
}

/// Moves every packet captured on `day` out of the store's landing/ (into `aside`), or back;
/// returns how many packets moved. Lets a test hold a day back for a later night.
pub fn move_day(store: &Path, aside: &Path, day: &str, back: bool) -> usize {
    let (from, to) = if back {
        (aside.to_path_buf(), store.join("landing"))
    } else {
        (store.join("landing"), aside.to_path_buf())
    };
    let mut moved = 0;
    for site in std::fs::read_dir(&from).unwrap() {
        let site = site.unwrap().path();
        let day_dir = site.join(day);
        if day_dir.is_dir() {
            let target = to.join(site.file_name().unwrap());
            std::fs::create_dir_all(&target).unwrap();
            moved += std::fs::read_dir(&day_dir).unwrap().count();
            std::fs::rename(&day_dir, target.join(day)).unwrap();
        }
    }
    moved
}

/// What the nights decided, less run ids and times: statuses, clusters, candidates. Two
/// stores that went through the same nights in different ways (one machine or a cluster,
/// compacted or not) must give the same [`outcome`].
pub const OUTCOME: [&str; 3] = [
    "SELECT enrollment_id, status, cluster_id, detail FROM identity_status \
     ORDER BY enrollment_id",
    "SELECT cluster_id, enrollment_id, cluster_size FROM clusters \
     ORDER BY cluster_id, enrollment_id",
    "SELECT probe_id, candidate_id, candidate_source, band, relation, llr, finger_llr, \
     iris_llr, fingers_compared, irises_compared, parts, swapped FROM match_candidates \
     ORDER BY probe_id, candidate_id",
];

/// [`OUTCOME`] of a store, as CSV.
pub fn outcome(store: &TestStore) -> Vec<String> {
    OUTCOME
        .iter()
        .map(|q| store.ok(&["sql", q, "--format", "csv"]))
        .collect()
}

/// The day folders (`landing/<site>/<day>`) of a store, sorted.
pub fn days(store: &Path) -> Vec<String> {
    let mut days = std::collections::BTreeSet::new();
    for site in std::fs::read_dir(store.join("landing")).unwrap() {
        let site = site.unwrap().path();
        if site.is_dir() {
            for day in std::fs::read_dir(site).unwrap() {
                days.insert(day.unwrap().file_name().to_string_lossy().into_owned());
            }
        }
    }
    days.into_iter().collect()
}

/// The ADBC Flight SQL client (Python, the project's venv): logs in with a token (`mode`
/// `token`) or `user:password`, runs one statement, prints the rows as JSON; exit status 1
/// and the error on stderr when refused.
const FLIGHT_SQL_CLIENT: &str = r#"
import json, sys
import adbc_driver_flightsql as flightsql
import adbc_driver_flightsql.dbapi as dbapi
uri, mode, secret, query = sys.argv[1:5]
if mode == "token":
    kwargs = {flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value: "Bearer " + secret}
else:
    user, password = secret.split(":", 1)
    kwargs = {"username": user, "password": password}
with dbapi.connect(uri, db_kwargs=kwargs) as conn:
    cur = conn.cursor()
    cur.execute(query)
    rows = cur.fetch_arrow_table().to_pylist()
    cur.close()
print(json.dumps(rows, default=str))
"#;

/// Runs one statement on the Flight SQL server at `uri` with the ADBC driver.
pub fn flight_sql(uri: &str, mode: &str, secret: &str, query: &str) -> Output {
    Command::new(venv_python())
        .args(["-c", FLIGHT_SQL_CLIENT, uri, mode, secret, query])
        .output()
        .expect("start python")
}

/// A small synthesized country, ingested, with its planted duplicates written as `ganda`
/// clusters straight from the synth truth (no dedup run): cases for the console's tests.
pub fn store_with_planted_cases() -> TestStore {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "40",
        "--seed",
        "11",
        "--duplicate-rate",
        "0.1",
        "--bad-rate",
        "0",
        "--progress",
        "quiet",
    ]);
    store.ok(&["ingest"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lake_store = lake::Store::open_folder(store.path()).unwrap();
    let clusters = rt
        .block_on(evaluation::plant::plant_from_synth_truth(&lake_store))
        .unwrap();
    assert!(!clusters.is_empty(), "synth planted no fraud duplicate");
    store
}

/// Adds a console user with `tunggal users add` (the password from `TUNGGAL_PASSWORD`, as an
/// administrator's script gives it); panics with stderr unless it succeeds.
pub fn add_user(store: &TestStore, user: &str, role: &str, password: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(store.path())
        .args(["users", "add", user, "--role", role])
        .env("TUNGGAL_PASSWORD", password)
        .env_remove("TUNGGAL_CASE_DB")
        .env_remove("TUNGGAL_STORE")
        .output()
        .expect("start tunggal");
    assert!(
        out.status.success(),
        "users add {user}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies the store folder `from` into `to` (created if missing), less its nightly lock file:
/// the same store at the same point, to run one way here and another way there.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "nightly.lock" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
