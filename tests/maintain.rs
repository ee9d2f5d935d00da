//! `tunggal maintain` (issue 19, housekeeping): the lake tables compacted, vacuumed and
//! checkpointed and the stored gallery compacted into unit partitions, without changing any
//! answer: the same rows in every table, and later nights decide exactly what they decide on
//! an uncompacted copy. Killed at any commit and run again, it ends exactly where an
//! uninterrupted run ends. A second run finds nothing to do.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{days, move_day, outcome, TestStore};

/// A country of several small nights.
const SYNTH: &[&str] = &[
    "synth",
    "--people",
    "360",
    "--seed",
    "29",
    "--days",
    "6",
    "--duplicate-rate",
    "0.08",
    "--bad-rate",
    "0",
    "--progress",
    "quiet",
];

/// Stored gallery per unit: a night of this country stores ~1.4 MB, so four nights make two
/// units, the first closed (compacted), the last open.
const UNIT_MIB: &str = "3.2";

/// A night without its housekeeping stage (the test runs `maintain` itself).
fn night(store: &TestStore) {
    store.ok(&[
        "nightly",
        "--no-progress",
        "--no-maintain",
        "--unit-mib",
        UNIT_MIB,
    ]);
}

/// The test's nights leave only a few small files per table; with this fan-in compaction
/// takes them (the default, 8, lets a few nights' files wait: checked below).
const FAN_IN: &str = "2";

fn maintain(store: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["maintain", "--unit-mib", UNIT_MIB, "--fan-in", FAN_IN];
    args.extend(extra);
    common::run(store, &args)
}

/// The stored gallery: object name → bytes.
fn gallery(store: &Path) -> BTreeMap<String, Vec<u8>> {
    common::files_under(&store.join("dedup/segments"))
        .into_iter()
        .map(|p| {
            let name = p
                .strip_prefix(store)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// Every row of every table a night writes (less `runs`, which maintain itself writes),
/// sorted, as CSV.
fn tables(store: &TestStore) -> Vec<String> {
    [
        "packets",
        "enrollments",
        "fingerprints",
        "irises",
        "match_candidates",
        "status_history",
        "clusters",
        "identity_status",
        "personalization_jobs",
    ]
    .iter()
    .map(|t| {
        let csv = store.ok(&["sql", &format!("SELECT * FROM {t}"), "--format", "csv"]);
        let mut lines: Vec<&str> = csv.lines().collect();
        lines.sort_unstable();
        lines.join("\n")
    })
    .collect()
}

/// Parquet files in a table's folder: the current version's and the removed ones kept for
/// time travel.
fn parquet_files(store: &Path, table: &str) -> usize {
    common::files_under(&store.join("lake").join(table))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .count()
}

/// Reads every lake table of `store` as an analyst's Python does (pyarrow datasets, as the
/// notebooks' `tunggal_lake` module registers them): each data file's Arrow schema and a
/// filter on the table's first string column. Returns what failed, per table.
///
/// `runs` is left out of the schema check: its rows are finished by deltalake's UPDATE, whose
/// rewrite scan (deltalake 1.1.3) ignores the session's string types and writes view types
/// until housekeeping compacts the file (docs/operations.md, "Housekeeping").
fn python_readers_fail(store: &Path) -> Vec<String> {
    let script = r#"
import glob, os, sys
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
from deltalake import DeltaTable
bad = []
for log in sorted(glob.glob(os.path.join(sys.argv[1], "lake", "*", "_delta_log"))):
    root = os.path.dirname(log)
    table = os.path.basename(root)
    dt = DeltaTable(root)
    for f in ([] if table == "runs" else dt.file_uris()):
        views = [x.name for x in pq.read_schema(f) if "view" in str(x.type)]
        if views:
            bad.append(f"{table}: {os.path.basename(f)} holds view types {views}")
    ds = dt.to_pyarrow_dataset()
    col = next((x.name for x in ds.schema if pa.types.is_string(x.type)), None)
    if col is None:
        continue
    try:
        ds.to_table(filter=pc.field(col) == "x")
    except Exception as e:
        bad.append(f"{table}: filter on {col}: {e}")
print("\n".join(bad))
"#;
    let out = std::process::Command::new(common::venv_python())
        .args(["-c", script])
        .arg(store)
        .output()
        .expect("start python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn last_maintain(store: &TestStore) -> serde_json::Value {
    let rows = store.query(
        "SELECT detail FROM runs WHERE stage = 'maintain' AND status = 'succeeded' \
         ORDER BY finished DESC LIMIT 1",
    );
    serde_json::from_str(&rows[0]["detail"]).expect("maintain's detail is JSON")
}

fn units_written(detail: &serde_json::Value) -> u64 {
    detail["gallery"]["units_written"].as_u64().unwrap()
}

/// Four nights on a store whose last two days are held aside.
fn four_nights() -> (TestStore, tempfile::TempDir, Vec<String>) {
    let store = TestStore::new();
    store.ok(SYNTH);
    let aside = tempfile::tempdir().unwrap();
    let all = days(store.path());
    for d in &all[1..] {
        move_day(store.path(), aside.path(), d, false);
    }
    night(&store);
    for d in &all[1..4] {
        move_day(store.path(), aside.path(), d, true);
        night(&store);
    }
    (store, aside, all[4..].to_vec())
}

#[test]
fn maintenance_changes_no_answer_and_a_second_run_finds_nothing_to_do() {
    let (store, aside, later) = four_nights();
    let plain = TestStore::new();
    common::copy_dir(store.path(), plain.path());
    let rows_before = tables(&store);
    let stored_before = gallery(store.path()).len();

    let out = maintain(store.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let detail = last_maintain(&store);
    let g = &detail["gallery"];
    assert!(units_written(&detail) >= 1, "nothing compacted: {detail}");
    assert!(
        g["partitions_after"].as_u64() < g["partitions_before"].as_u64(),
        "{detail}"
    );
    let segs = |s: &Path| gallery(s).keys().filter(|k| k.ends_with(".seg")).count();
    assert!(segs(store.path()) < stored_before, "{detail}");
    let compacted: u64 = detail["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["files_compacted"].as_u64().unwrap())
        .sum();
    assert!(compacted > 0, "four nights left no small files: {detail}");
    let checkpoints = detail["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["checkpointed"].as_bool() == Some(true))
        .count();
    assert!(checkpoints >= 8, "{detail}");
    assert!(store
        .path()
        .join("lake/status_history/_delta_log/_last_checkpoint")
        .exists());
    assert_eq!(
        tables(&store),
        rows_before,
        "maintain changed a table's rows"
    );
    // The compacted files (and the `runs` rows rewritten by updates) stay readable by the
    // analysts' Python tools: plain string types, as the tables declare them.
    let unreadable = python_readers_fail(store.path());
    assert!(unreadable.is_empty(), "{}", unreadable.join("\n"));

    // Again: nothing left to compact in the gallery or the tables (but `runs`, where the
    // first maintain recorded itself).
    let again = maintain(store.path(), &[]);
    assert!(again.status.success());
    let detail = last_maintain(&store);
    assert_eq!(units_written(&detail), 0, "{detail}");
    for t in detail["tables"].as_array().unwrap() {
        if t["table"] != "runs" {
            assert_eq!(t["files_compacted"], 0, "{t}");
            assert_eq!(t["checkpointed"], false, "{t}");
        }
    }
    assert_eq!(tables(&store), rows_before);

    // The next nights decide on the compacted store exactly what they decide on the copy
    // that was never compacted.
    let plain_aside = tempfile::tempdir().unwrap();
    common::copy_dir(aside.path(), plain_aside.path());
    for d in &later {
        move_day(store.path(), aside.path(), d, true);
        move_day(plain.path(), plain_aside.path(), d, true);
        night(&store);
        night(&plain);
    }
    assert_eq!(outcome(&store), outcome(&plain));

    // With the default fan-in, the few small files those nights added wait: housekeeping
    // does not rewrite a table for them (it would rewrite the whole table every night).
    let out = common::run(store.path(), &["maintain", "--unit-mib", UNIT_MIB]);
    assert!(out.status.success());
    let detail = last_maintain(&store);
    let enrollments = detail["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "enrollments")
        .unwrap()
        .clone();
    assert!(
        enrollments["files_after"].as_u64() >= Some(2),
        "{enrollments}"
    );
    assert_eq!(enrollments["files_compacted"], 0, "{enrollments}");

    // A zero retention vacuums the files compaction removed; the rows stay.
    let files_before = parquet_files(store.path(), "enrollments");
    let out = maintain(store.path(), &["--retain-days", "0"]);
    assert!(out.status.success());
    let detail = last_maintain(&store);
    let vacuumed: u64 = detail["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["files_vacuumed"].as_u64().unwrap())
        .sum();
    assert!(vacuumed > 0, "{detail}");
    assert!(parquet_files(store.path(), "enrollments") < files_before);
    assert_eq!(outcome(&store), outcome(&plain));

    // A night ends with housekeeping unless told not to.
    let summary = store.ok(&["nightly", "--no-progress", "--unit-mib", UNIT_MIB]);
    assert!(summary.contains("export, maintain"), "{summary}");
    let runs = store
        .query("SELECT count(*) AS n FROM runs WHERE stage = 'maintain' AND status = 'succeeded'");
    assert_eq!(runs[0]["n"], "5");
}

#[test]
fn maintenance_killed_at_any_commit_ends_where_an_uninterrupted_run_ends() {
    let (store, _aside, _) = four_nights();
    let reference = TestStore::new();
    common::copy_dir(store.path(), reference.path());
    let out = maintain(reference.path(), &[]);
    assert!(out.status.success());
    let want_gallery = gallery(reference.path());
    let want_rows = tables(&reference);
    assert!(units_written(&last_maintain(&reference)) >= 1);

    // Kill it after each commit in turn (the run's own row, the gallery's unit partitions
    // and manifests, the first tables' compactions), run it again, compare.
    let mut killed = 0;
    for after in 1..=6 {
        let crashed = TestStore::new();
        common::copy_dir(store.path(), crashed.path());
        let args = ["maintain", "--unit-mib", UNIT_MIB, "--fan-in", FAN_IN];
        let out = common::run_killed_after(crashed.path(), &args, after);
        if out.status.success() {
            break;
        }
        killed += 1;
        let rerun = maintain(crashed.path(), &[]);
        assert!(
            rerun.status.success(),
            "after a kill at commit {after}: {}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        assert_eq!(
            gallery(crashed.path()),
            want_gallery,
            "gallery after a kill at commit {after}"
        );
        assert_eq!(
            tables(&crashed),
            want_rows,
            "rows after a kill at commit {after}"
        );
        let interrupted = crashed.query(
            "SELECT count(*) AS n FROM runs WHERE stage = 'maintain' AND status = 'interrupted'",
        );
        assert!(
            after < 2 || interrupted[0]["n"] == "1",
            "the killed run is not recorded as interrupted"
        );
    }
    assert!(killed >= 4, "only {killed} kill points reached");
}
