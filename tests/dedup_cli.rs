//! End to end: `tunggal nightly` on a synthesized country flags the planted duplicates,
//! passes the unique persons, finds duplicates across nights through the persisted gallery,
//! changes nothing when re-run, and finishes correctly after being killed at any commit.
//!
//! Expected results come from synth truth (which packets are the same biological person),
//! never from the tables under test.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use common::{move_day, TestStore};

/// Accepted enrollments by person, from truth and the packets table.
struct Truth {
    /// enrollment id → (person id, case)
    who: HashMap<String, (String, String)>,
    /// person → enrollment ids
    by_person: HashMap<String, Vec<String>>,
}

fn truth(store: &TestStore) -> Truth {
    let accepted: HashMap<String, String> = store
        .query("SELECT packet_id, enrollment_id FROM packets WHERE status = 'accepted'")
        .into_iter()
        .map(|r| (r["packet_id"].clone(), r["enrollment_id"].clone()))
        .collect();
    let mut who = HashMap::new();
    let mut by_person: HashMap<String, Vec<String>> = HashMap::new();
    for row in store.truth() {
        if let Some(id) = accepted.get(&row["packet_id"]) {
            who.insert(id.clone(), (row["person_id"].clone(), row["case"].clone()));
            by_person
                .entry(row["person_id"].clone())
                .or_default()
                .push(id.clone());
        }
    }
    Truth { who, by_person }
}

fn statuses(store: &TestStore) -> HashMap<String, (String, String)> {
    store
        .query("SELECT enrollment_id, status, cluster_id FROM identity_status")
        .into_iter()
        .map(|r| {
            (
                r["enrollment_id"].clone(),
                (r["status"].clone(), r["cluster_id"].clone()),
            )
        })
        .collect()
}

fn count(store: &TestStore, table: &str) -> usize {
    store.query(&format!("SELECT count(*) AS n FROM {table}"))[0]["n"]
        .parse()
        .expect("count")
}

/// Checks every planted duplicate is clustered with its mates and carries the right status,
/// and that no person enrolled once is flagged. Returns (duplicate persons, unique persons).
fn assert_matches_truth(store: &TestStore) -> (usize, usize) {
    let t = truth(store);
    let st = statuses(store);
    assert_eq!(
        st.len(),
        t.who.len(),
        "every accepted enrollment has a status"
    );
    let (mut dup_persons, mut unique) = (0, 0);
    for (person, ids) in &t.by_person {
        if ids.len() == 1 {
            unique += 1;
            let (status, cluster) = &st[&ids[0]];
            assert_eq!(
                status, "tunggal",
                "person {person} enrolled once ({}) but flagged",
                t.who[&ids[0]].1
            );
            assert!(cluster.is_empty(), "unique person {person} in a cluster");
            continue;
        }
        dup_persons += 1;
        let clusters: HashSet<&String> = ids.iter().map(|id| &st[id].1).collect();
        assert_eq!(
            clusters.len(),
            1,
            "person {person}: mates split over {clusters:?}"
        );
        assert!(
            !clusters.iter().next().unwrap().is_empty(),
            "person {person} not clustered"
        );
        let cases: Vec<&str> = ids.iter().map(|id| t.who[id].1.as_str()).collect();
        if cases.contains(&"fraud_duplicate") {
            for id in ids {
                assert_eq!(st[id].0, "ganda", "fraud person {person}: {cases:?}");
            }
        } else if cases.contains(&"reenrollment") {
            let got: Vec<&str> = ids.iter().map(|id| st[id].0.as_str()).collect();
            assert!(got.contains(&"reenrollment"), "person {person}: {got:?}");
            assert!(got.contains(&"tunggal"), "person {person}: {got:?}");
        }
    }
    (dup_persons, unique)
}

#[test]
fn nightly_flags_planted_duplicates_and_passes_unique_persons() {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "400",
        "--seed",
        "21",
        "--days",
        "2",
        "--duplicate-rate",
        "0.05",
        "--bad-rate",
        "0",
    ]);
    let summary = store.ok(&["nightly", "--no-progress", "--batch-size", "150"]);
    assert!(summary.contains("dedup run"), "{summary}");
    let (dups, unique) = assert_matches_truth(&store);
    assert!(dups >= 5, "synth planted only {dups} duplicate persons");
    assert!(unique > 300);

    let eval = store.ok(&["eval", "dedup"]);
    assert!(eval.contains("missed 0 "), "{eval}");
    assert!(eval.contains("falsely flagged 0 "), "{eval}");

    // Every cluster row names an enrollment whose status names the same cluster.
    let st = statuses(&store);
    for r in store.query("SELECT cluster_id, enrollment_id FROM clusters") {
        assert_eq!(st[&r["enrollment_id"]].1, r["cluster_id"]);
    }
}

/// The probe–candidate pairs a store's dedup runs found, with their fused LLR.
fn found_pairs(store: &TestStore) -> Vec<(String, String, String)> {
    store
        .query(
            "SELECT probe_id, candidate_id, round(llr, 3) AS llr FROM match_candidates \
             ORDER BY probe_id, candidate_id",
        )
        .into_iter()
        .map(|r| {
            (
                r["probe_id"].clone(),
                r["candidate_id"].clone(),
                r["llr"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_later_night_finds_duplicates_in_the_persisted_gallery() {
    // The same two nights twice: once with the gallery in memory, once with a memory budget
    // of zero, so the second night reads every stored partition from the store once per
    // search pass, and with the exact comparison instead of the sequential test. Both must
    // find the same pairs with the same scores.
    // Two recent days (inside ingest's capture-time window); the second is held back.
    let first_day = chrono::Utc::now().date_naive() - chrono::Duration::days(5);
    let start = first_day.format("%Y-%m-%d").to_string();
    let second_day = (first_day + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let synth = [
        "synth",
        "--people",
        "300",
        "--seed",
        "8",
        "--days",
        "2",
        "--start",
        start.as_str(),
        "--duplicate-rate",
        "0.06",
        "--bad-rate",
        "0",
    ];
    let store = TestStore::new();
    let streamed = TestStore::new();
    let mut first_night = 0;
    for (s, budget, reject) in [(&store, "4", "-20"), (&streamed, "0", "-inf")] {
        s.ok(&synth);
        let aside = tempfile::tempdir().unwrap();
        let moved = move_day(s.path(), aside.path(), &second_day, false);
        assert!(moved > 0);
        s.ok(&["nightly", "--no-progress"]);
        first_night = count(s, "identity_status");
        move_day(s.path(), aside.path(), &second_day, true);
        s.ok(&[
            "nightly",
            "--no-progress",
            "--resident-gib",
            budget,
            &format!("--reject-llr={reject}"),
        ]);
    }
    assert_eq!(found_pairs(&streamed), found_pairs(&store));
    assert_eq!(statuses(&streamed), statuses(&store));
    assert!(count(&store, "identity_status") > first_night);
    assert_matches_truth(&store);
    let sources = store.query(
        "SELECT count(*) AS n FROM match_candidates WHERE band = 'match' AND candidate_source = 'gallery'",
    );
    assert!(
        sources[0]["n"].parse::<usize>().unwrap() > 0,
        "no duplicate found across nights"
    );
    // The gallery is two sets of persisted partitions, one per night.
    let runs: HashSet<String> = std::fs::read_dir(store.path().join("dedup/segments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
}

fn snapshot(store: &TestStore) -> (BTreeMap<String, (String, String)>, usize, usize) {
    (
        statuses(store).into_iter().collect(),
        count(store, "match_candidates"),
        count(store, "clusters"),
    )
}

#[test]
fn rerunning_dedup_changes_nothing_and_a_killed_run_finishes_on_rerun() {
    let reference = TestStore::new();
    // A fixed past day: the default (the day ending now) moves captures that would lie after
    // the current hour back a day, so stores synthesized in different hours would differ.
    let start = (chrono::Utc::now() - chrono::Duration::days(2))
        .date_naive()
        .to_string();
    let synth = [
        "synth",
        "--people",
        "150",
        "--seed",
        "3",
        "--start",
        &start,
        "--days",
        "1",
        "--duplicate-rate",
        "0.08",
        "--bad-rate",
        "0",
    ];
    reference.ok(&synth);
    reference.ok(&["ingest", "--no-progress"]);
    reference.ok(&["dedup", "--no-progress", "--batch-size", "60"]);
    let expected = snapshot(&reference);
    let since: Vec<HashMap<String, String>> =
        reference.query("SELECT enrollment_id, since FROM identity_status ORDER BY enrollment_id");
    reference.ok(&["dedup", "--no-progress", "--batch-size", "60"]);
    assert_eq!(
        snapshot(&reference),
        expected,
        "a re-run changed the results"
    );
    assert_eq!(
        reference.query("SELECT enrollment_id, since FROM identity_status ORDER BY enrollment_id"),
        since,
        "a re-run changed when statuses were set"
    );

    // Kill the run after each of its commits in turn; the next run must end where the
    // uninterrupted one did.
    for kill_after in [1, 2, 3, 4, 5, 6] {
        let store = TestStore::new();
        store.ok(&synth);
        store.ok(&["ingest", "--no-progress"]);
        let out = common::run_killed_after(
            store.path(),
            &["dedup", "--no-progress", "--batch-size", "60"],
            kill_after,
        );
        assert!(
            !out.status.success(),
            "run survived kill after {kill_after}"
        );
        store.ok(&["dedup", "--no-progress", "--batch-size", "60"]);
        assert_eq!(
            snapshot(&store),
            expected,
            "killed after {kill_after} commits, then re-run"
        );
    }
}

/// Runs `work` on the test store's lake directly, as a DC engineer's repair script would.
fn on_lake<F, Fut>(store: &TestStore, work: F)
where
    F: FnOnce(lake::Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let lake_store = lake::Store::open(store.path().to_str().expect("utf-8 path")).expect("store");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(work(lake_store));
}

/// Appends a `fingerprints` row whose prepared template is garbage for `enrollment_id`, as a
/// damaged lake would hold, marked with `run_id` so the test can remove it again.
fn corrupt_finger(store: &TestStore, enrollment_id: &str, run_id: &str) {
    use lake::tables::{fingerprints, Table};
    let row = fingerprints::FingerprintRecord {
        enrollment_id: enrollment_id.to_string(),
        position: 3,
        template: None,
        prepared: Some(vec![0xde, 0xad, 0xbe, 0xef, 7]),
        minutiae_count: None,
        quality: None,
        missing_reason: None,
        run_id: run_id.to_string(),
    };
    on_lake(store, |lake_store| async move {
        lake::delta::append(
            &lake_store,
            Table::Fingerprints,
            vec![fingerprints::to_batch(&[row]).expect("batch")],
            None,
        )
        .await
        .expect("append corrupt row");
    });
}

#[test]
fn an_unreadable_stored_template_holds_its_enrollment_back_and_the_run_goes_on() {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "40",
        "--seed",
        "9",
        "--days",
        "1",
        "--duplicate-rate",
        "0",
        "--bad-rate",
        "0",
    ]);
    store.ok(&["ingest", "--no-progress"]);
    let ids: Vec<String> = store
        .query("SELECT enrollment_id FROM enrollments ORDER BY enrollment_id")
        .into_iter()
        .map(|r| r["enrollment_id"].clone())
        .collect();
    assert!(ids.len() > 30);
    let victim = ids[ids.len() / 2].clone();
    corrupt_finger(&store, &victim, "damaged-by-test");

    let summary = store.ok(&["dedup", "--no-progress", "--batch-size", "15"]);
    assert!(
        summary
            .contains("held back (no status, searched again next run): 1 (template_unreadable 1)"),
        "{summary}"
    );
    let st = statuses(&store);
    assert_eq!(
        st.len(),
        ids.len() - 1,
        "every other enrollment got a status"
    );
    assert!(!st.contains_key(&victim));
    let candidates = count(&store, "match_candidates");
    let mentions = store.query(&format!(
        "SELECT count(*) AS n FROM match_candidates WHERE probe_id = '{victim}' OR candidate_id = '{victim}'"
    ));
    assert_eq!(
        mentions[0]["n"], "0",
        "a held-back person is never half-searched"
    );
    let run = store.query(
        "SELECT detail, rejected FROM runs WHERE stage = 'dedup' ORDER BY started DESC LIMIT 1",
    );
    assert!(
        run[0]["detail"].contains("template_unreadable"),
        "{:?}",
        run[0]
    );
    assert!(
        run[0]["detail"].contains(&victim),
        "the run names the enrollment"
    );
    assert_eq!(run[0]["rejected"], "1");

    // A re-run holds it back again and changes nothing else.
    let again = store.ok(&["dedup", "--no-progress", "--batch-size", "15"]);
    assert!(again.contains("held back"), "{again}");
    assert_eq!(statuses(&store), st);
    assert_eq!(count(&store, "match_candidates"), candidates);

    // Once the damaged row is repaired, the next run searches the enrollment like any other.
    on_lake(&store, |lake_store| async move {
        lake::delta::delete_where(
            &lake_store,
            lake::tables::Table::Fingerprints,
            "run_id = 'damaged-by-test'",
        )
        .await
        .expect("repair");
    });
    let fixed = store.ok(&["dedup", "--no-progress", "--batch-size", "15"]);
    assert!(!fixed.contains("held back"), "{fixed}");
    let after = statuses(&store);
    assert_eq!(after.len(), ids.len());
    assert_eq!(
        after[&victim].0, "tunggal",
        "synth planted no duplicate of anyone"
    );
    for (id, s) in &st {
        assert_eq!(&after[id], s, "statuses of the others stay as they were");
    }
}
