//! What a night prints: one screen at any scale, no terminal escape codes when the output is
//! not a terminal, and one JSON object a line with `--log-format json`.

mod common;

use common::TestStore;

/// Lines a night may print (stdout and stderr together), whatever the number of regencies:
/// about 40 fixed lines, at most 10 job rows, and one row per reject reason (a fixed set).
const MAX_LINES: usize = 80;

fn synth(store: &TestStore, seed: &str) {
    store.ok(&[
        "synth",
        "--people",
        "300",
        "--seed",
        seed,
        "--days",
        "1",
        "--progress",
        "quiet",
    ]);
}

#[test]
fn a_night_fits_one_screen_without_escape_codes() {
    let store = TestStore::new();
    synth(&store, "5");
    let out = store.run(&["nightly", "--no-progress"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        !all.as_bytes().contains(&0x1b),
        "escape codes written to a pipe:\n{all}"
    );
    let lines = all.lines().count();
    assert!(lines <= MAX_LINES, "{lines} lines:\n{all}");
    assert!(!all.contains("job written"), "{all}");
    assert!(stdout.contains("stages run: ingest"), "{stdout}");
    // 300 people land in far more than 10 regencies: the rest are counted, and one query away.
    let jobs = store.query("SELECT count(DISTINCT job_id) AS n FROM personalization_jobs");
    let jobs: usize = jobs[0]["n"].parse().unwrap();
    assert!(
        jobs > 10,
        "only {jobs} jobs: the fixture does not exercise the cut"
    );
    assert!(
        stdout.contains(&format!("and {} more job(s)", jobs - 10)),
        "{stdout}"
    );
}

#[test]
fn json_logs_are_one_object_a_line() {
    let store = TestStore::new();
    synth(&store, "6");
    let out = store.run(&["nightly", "--no-progress", "--log-format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.as_bytes().contains(&0x1b), "{stderr}");
    let mut messages = Vec::new();
    for line in stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        assert!(v["level"].is_string(), "{line}");
        let message = v["fields"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no fields.message: {line}"));
        messages.push(message.to_string());
    }
    assert!(
        messages.iter().any(|m| m.contains("stage 6 of 6")),
        "{messages:?}"
    );

    // The environment variable does the same.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(store.path())
        .args(["nightly", "--no-progress"])
        .env_remove("TUNGGAL_STORE")
        .env("TUNGGAL_LOG_FORMAT", "json")
        .output()
        .expect("start tunggal");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().count() > 0);
    for line in stderr.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
}
