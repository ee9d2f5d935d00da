//! `tunggal ingest` and `tunggal sql` as users run them: the summary, the output formats, a
//! bad query's exit code, and a process killed mid-ingest completed exactly once by the next
//! run.

mod common;

use common::TestStore;

fn scalar(store: &TestStore, sql: &str) -> i64 {
    let rows = store.query(sql);
    rows[0]["n"].parse().expect("integer")
}

#[test]
fn sql_prints_csv_with_a_header_json_and_a_table_even_on_a_fresh_store() {
    let store = TestStore::new();
    let csv = store.ok(&[
        "sql",
        "SELECT count(*) AS n FROM packets",
        "--format",
        "csv",
    ]);
    assert_eq!(csv.lines().collect::<Vec<_>>(), ["n", "0"]);
    let json = store.ok(&[
        "sql",
        "SELECT level, count(*) AS n FROM regions GROUP BY level ORDER BY level",
        "--format",
        "json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    let levels: Vec<&str> = value
        .as_array()
        .expect("array")
        .iter()
        .map(|row| row["level"].as_str().expect("level"))
        .collect();
    assert_eq!(levels, ["district", "province", "regency", "village"]);
    let table = store.ok(&["sql", "SELECT status FROM packets"]);
    assert!(table.contains("status"), "{table}");
}

#[test]
fn a_bad_query_exits_non_zero_with_datafusion_s_message() {
    let store = TestStore::new();
    let out = store.run(&["sql", "SELECT nonsense FROM no_such_table"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_table"), "{stderr}");
    let out = store.run(&["sql", "SELECT no_such_column FROM packets"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_column"), "{stderr}");
    let out = store.run(&["sql", "SELEKT 1"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SELEKT"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_ingest_killed_mid_run_is_completed_exactly_once_by_the_next_run() {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "60",
        "--seed",
        "3",
        "--days",
        "2",
        "--bad-rate",
        "0.1",
        "--progress",
        "quiet",
    ]);
    let landed = common::files_under(&store.path().join("landing")).len() as i64;
    assert!(landed >= 60);

    // Killed right after its 9th Delta commit: mid-chunk, child rows committed, no marker.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(store.path())
        .args(["ingest", "--chunk-size", "7", "--no-progress"])
        .env("TUNGGAL_FAULT_ABORT_AFTER_COMMITS", "9")
        .output()
        .expect("start tunggal");
    assert!(
        !out.status.success(),
        "the fault hook should have killed the run"
    );
    let partial = scalar(&store, "SELECT count(*) AS n FROM packets");
    assert!(
        partial < landed,
        "the killed run recorded everything ({partial})"
    );

    let summary = store.ok(&["ingest", "--chunk-size", "7", "--no-progress"]);
    assert!(summary.contains("ingest run"), "{summary}");
    assert_eq!(scalar(&store, "SELECT count(*) AS n FROM packets"), landed);
    assert_eq!(
        scalar(
            &store,
            "SELECT count(DISTINCT object_path) AS n FROM packets"
        ),
        landed
    );
    let accepted = scalar(
        &store,
        "SELECT count(*) AS n FROM packets WHERE status = 'accepted'",
    );
    assert!(accepted > 0);
    assert_eq!(
        scalar(
            &store,
            "SELECT count(DISTINCT enrollment_id) AS n FROM enrollments"
        ),
        accepted
    );
    assert_eq!(
        scalar(&store, "SELECT count(*) AS n FROM enrollments"),
        accepted
    );
    assert_eq!(
        scalar(&store, "SELECT count(*) AS n FROM fingerprints"),
        10 * accepted
    );
    assert_eq!(
        scalar(&store, "SELECT count(*) AS n FROM irises"),
        2 * accepted
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT count(*) AS n FROM runs WHERE stage = 'ingest' AND status = 'interrupted'"
        ),
        1
    );

    // And once more: nothing new.
    let again = store.ok(&["ingest", "--no-progress"]);
    assert!(again.contains("new        0"), "{again}");
    assert_eq!(scalar(&store, "SELECT count(*) AS n FROM packets"), landed);
}

/// `synth`'s default captures end at the time it runs, inside ingest's capture-time window;
/// `--start` with an older date gives history that ingest rejects `CAPTURE_TOO_OLD` unless
/// `--max-upload-delay-days` widens the window.
#[test]
fn fresh_synth_captures_fall_inside_the_window_and_old_history_needs_a_wider_one() {
    let synth = |store: &TestStore, start: Option<&str>| {
        let mut args = vec![
            "synth",
            "--people",
            "30",
            "--seed",
            "12",
            "--days",
            "3",
            "--bad-rate",
            "0",
            "--duplicate-rate",
            "0",
            "--progress",
            "quiet",
        ];
        if let Some(start) = start {
            args.extend(["--start", start]);
        }
        store.ok(&args);
        common::files_under(&store.path().join("landing")).len() as i64
    };
    let by_reason = |store: &TestStore, code: &str| {
        scalar(
            store,
            &format!("SELECT count(*) AS n FROM packets WHERE reason_code = '{code}'"),
        )
    };

    let fresh = TestStore::new();
    let landed = synth(&fresh, None);
    fresh.ok(&["ingest", "--no-progress"]);
    assert_eq!(
        scalar(
            &fresh,
            "SELECT count(*) AS n FROM packets WHERE status = 'accepted'"
        ),
        landed
    );

    let old = (chrono::Utc::now().date_naive() - chrono::Duration::days(60))
        .format("%Y-%m-%d")
        .to_string();
    let history = TestStore::new();
    let landed = synth(&history, Some(&old));
    let summary = history.ok(&["ingest", "--no-progress"]);
    assert_eq!(by_reason(&history, "CAPTURE_TOO_OLD"), landed, "{summary}");

    let widened = TestStore::new();
    let landed = synth(&widened, Some(&old));
    widened.ok(&["ingest", "--no-progress", "--max-upload-delay-days", "90"]);
    assert_eq!(by_reason(&widened, "CAPTURE_TOO_OLD"), 0);
    assert_eq!(
        scalar(
            &widened,
            "SELECT count(*) AS n FROM packets WHERE status = 'accepted'"
        ),
        landed
    );
}
