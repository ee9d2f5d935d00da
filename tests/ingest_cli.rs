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
    store.ok(&["init"]); // a folder without a store is refused (tests/first_hour.rs)
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
    store.ok(&["init"]);
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
    // Day folders that old are outside the re-scan window: a plain run does not list them,
    // a full scan records every packet as too old.
    let history = TestStore::new();
    let landed = synth(&history, Some(&old));
    history.ok(&["ingest", "--no-progress"]);
    assert_eq!(scalar(&history, "SELECT count(*) AS n FROM packets"), 0);
    let summary = history.ok(&["ingest", "--no-progress", "--full-scan"]);
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

/// Ingest lists only the day folders of the re-scan window (issue 19): a packet uploaded
/// late into a day folder inside the window is found by the next run; one dropped into a
/// folder older than the window is left alone until a `--full-scan`, which records it.
#[test]
fn late_uploads_inside_the_window_are_found_and_older_folders_wait_for_a_full_scan() {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "40",
        "--seed",
        "5",
        "--days",
        "2",
        "--bad-rate",
        "0",
        "--progress",
        "quiet",
    ]);
    let packets: Vec<std::path::PathBuf> = common::files_under(&store.path().join("landing"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    let late = packets[0].clone();
    let aside = tempfile::tempdir().unwrap();
    let held = aside.path().join("late.zip");
    std::fs::rename(&late, &held).unwrap();
    store.ok(&["ingest", "--no-progress"]);
    let recorded = scalar(&store, "SELECT count(*) AS n FROM packets");
    assert_eq!(recorded as usize, packets.len() - 1);

    // The late upload, into its (recent) day folder.
    std::fs::rename(&held, &late).unwrap();
    store.ok(&["ingest", "--no-progress"]);
    assert_eq!(
        scalar(&store, "SELECT count(*) AS n FROM packets") as usize,
        packets.len()
    );

    // A copy dropped into a day folder 60 days old: outside the window (30 + 2 days).
    let site = late.parent().unwrap().parent().unwrap();
    let old_day = (chrono::Utc::now() - chrono::Duration::days(60))
        .format("%Y-%m-%d")
        .to_string();
    std::fs::create_dir_all(site.join(&old_day)).unwrap();
    std::fs::copy(&late, site.join(&old_day).join("old.zip")).unwrap();
    store.ok(&["ingest", "--no-progress"]);
    let old =
        format!("SELECT count(*) AS n FROM packets WHERE object_path LIKE '%/{old_day}/old.zip'");
    assert_eq!(scalar(&store, &old), 0, "an old folder was listed");
    store.ok(&["ingest", "--no-progress", "--full-scan"]);
    assert_eq!(scalar(&store, &old), 1, "the full scan did not record it");
    let rejected = store.query(&format!(
        "SELECT status, reason_code FROM packets WHERE object_path LIKE '%/{old_day}/old.zip'"
    ));
    assert_eq!(rejected[0]["status"], "rejected", "{rejected:?}");
}
