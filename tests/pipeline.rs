//! End to end: a synthesized country goes from landing/ to the lake tables through the real
//! binary, every landed object is recorded exactly once with the planted outcome, and
//! re-running the night changes nothing.

mod common;

use std::collections::HashMap;

use common::TestStore;

fn count(store: &TestStore, table: &str) -> usize {
    let rows = store.query(&format!("SELECT count(*) AS n FROM {table}"));
    rows[0]["n"].parse().expect("count")
}

#[test]
fn nightly_records_every_landed_packet_once_with_its_planted_outcome() {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "300",
        "--seed",
        "11",
        "--days",
        "3",
        "--bad-rate",
        "0.08",
    ]);
    let summary = store.ok(&["nightly", "--no-progress"]);
    assert!(
        summary.contains("nightly summary"),
        "summary missing:\n{summary}"
    );

    let truth = store.truth();
    assert!(truth.len() >= 300, "truth rows: {}", truth.len());
    let packets: HashMap<String, HashMap<String, String>> = store
        .query("SELECT object_path, status, reason_code FROM packets")
        .into_iter()
        .map(|r| (r["object_path"].clone(), r))
        .collect();
    assert_eq!(
        packets.len(),
        truth.len(),
        "one packets row per landed object"
    );

    let mut bad = 0;
    for row in &truth {
        let recorded = packets
            .get(&row["object_path"])
            .unwrap_or_else(|| panic!("{} never recorded", row["object_path"]));
        match row["case"].strip_prefix("bad:") {
            Some(code) => {
                bad += 1;
                assert_eq!(recorded["status"], "rejected", "{}", row["object_path"]);
                assert_eq!(recorded["reason_code"], code, "{}", row["object_path"]);
            }
            None => assert_eq!(
                recorded["status"], "accepted",
                "{} ({}) rejected as {}",
                row["object_path"], row["case"], recorded["reason_code"]
            ),
        }
    }
    assert!(bad > 0, "the bad rate planted no bad packet");
    assert_eq!(count(&store, "enrollments"), truth.len() - bad);
}

#[test]
fn rerunning_a_finished_night_changes_nothing() {
    let store = TestStore::new();
    store.ok(&["synth", "--people", "120", "--seed", "5", "--days", "2"]);
    store.ok(&["nightly", "--no-progress"]);
    let before: Vec<usize> = ["packets", "enrollments", "fingerprints", "irises"]
        .iter()
        .map(|t| count(&store, t))
        .collect();
    store.ok(&["nightly", "--no-progress"]);
    let after: Vec<usize> = ["packets", "enrollments", "fingerprints", "irises"]
        .iter()
        .map(|t| count(&store, t))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn a_second_synth_batch_is_ingested_on_top_of_the_first() {
    let store = TestStore::new();
    store.ok(&["synth", "--people", "80", "--seed", "1", "--days", "1"]);
    store.ok(&["nightly", "--no-progress"]);
    let first = count(&store, "packets");
    store.ok(&[
        "synth",
        "--people",
        "60",
        "--seed",
        "2",
        "--days",
        "1",
        "--start",
        &(chrono::Utc::now().date_naive() - chrono::Duration::days(3))
            .format("%Y-%m-%d")
            .to_string(),
    ]);
    store.ok(&["nightly", "--no-progress"]);
    assert_eq!(count(&store, "packets"), store.truth().len());
    assert!(count(&store, "packets") > first);
}
