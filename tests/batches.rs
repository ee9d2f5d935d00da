//! End to end across nights (issue 19): a second synth batch, written into a store whose
//! first batch a night already took in, plants persons of the first batch enrolling again
//! under a new NIK and NIK hijacks of first-batch residents; the second night must flag the
//! former `ganda` (clustered with their earlier enrollment) and the latter `nik_conflict`.
//! Synthesizing the second batch must leave the first batch's objects as they were.
//!
//! Expected results come from the synth truth files, never from the tables under test.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use common::{files_under, read_csv, TestStore};

/// Every file under `landing/` with its bytes.
fn landing(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(&root.join("landing"))
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).expect("landing object");
            (f.display().to_string(), bytes)
        })
        .collect()
}

/// The truth file of the one batch whose name starts with `s<seed>-`.
fn batch_truth(root: &Path, seed: u64) -> Vec<HashMap<String, String>> {
    let dir = root.join("synth-truth/enrollees");
    let file = std::fs::read_dir(&dir)
        .expect("truth folder")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("s{seed}-")))
        })
        .expect("truth file of the batch");
    read_csv(&std::fs::read(file).expect("truth"))
}

fn synth(store: &TestStore, seed: &str, start: &str, extra: &[&str]) {
    let mut args = vec![
        "synth",
        "--people",
        "120",
        "--seed",
        seed,
        "--days",
        "2",
        "--start",
        start,
        "--duplicate-rate",
        "0",
        "--bad-rate",
        "0",
        "--progress",
        "quiet",
    ];
    args.extend_from_slice(extra);
    store.ok(&args);
}

#[test]
fn a_later_batch_plants_what_the_next_night_must_catch() {
    let today = chrono::Utc::now().date_naive();
    let day = |back: i64| (today - chrono::Duration::days(back)).to_string();
    let store = TestStore::new();

    synth(&store, "901", &day(10), &[]);
    let first_landing = landing(store.path());
    let first_truth = batch_truth(store.path(), 901);
    assert!(
        first_truth
            .iter()
            .all(|r| !r.contains_key("earlier_packet_id")),
        "a batch without cross-batch plants keeps the five truth columns"
    );
    store.ok(&["nightly", "--no-progress", "--no-maintain"]);

    synth(
        &store,
        "902",
        &day(4),
        &[
            "--cross-batch-duplicate-rate",
            "0.05",
            "--hijack-rate",
            "0.04",
        ],
    );
    let after = landing(store.path());
    for (path, bytes) in &first_landing {
        assert_eq!(
            after.get(path),
            Some(bytes),
            "{path}: batch 1 changed by batch 2"
        );
    }
    assert_eq!(after.len(), first_landing.len() + 120);

    let second = batch_truth(store.path(), 902);
    let dups: Vec<_> = second
        .iter()
        .filter(|r| r["case"] == "cross_batch_duplicate")
        .collect();
    let hijacks: Vec<_> = second
        .iter()
        .filter(|r| r["case"] == "nik_hijack")
        .collect();
    assert_eq!(dups.len(), 6, "ceil(120 × 0.05) duplicates planted");
    assert_eq!(hijacks.len(), 5, "ceil(120 × 0.04) hijacks planted");
    let earlier: HashMap<&str, &HashMap<String, String>> = first_truth
        .iter()
        .map(|r| (r["packet_id"].as_str(), r))
        .collect();
    for r in dups.iter().chain(&hijacks) {
        let e = earlier
            .get(r["earlier_packet_id"].as_str())
            .unwrap_or_else(|| panic!("{}: earlier packet not in batch 1", r["packet_id"]));
        assert!(r["earlier_batch"].starts_with("s901-"));
        assert_eq!(r["earlier_person_id"], e["person_id"]);
        if r["case"] == "cross_batch_duplicate" {
            assert_eq!(r["person_id"], e["person_id"], "same biological person");
            assert_ne!(r["nik"], e["nik"], "under another NIK");
        } else {
            assert_ne!(r["person_id"], e["person_id"], "someone else");
            assert_eq!(r["nik"], e["nik"], "under the earlier resident's NIK");
        }
    }
    assert!(second
        .iter()
        .filter(|r| r["case"] != "cross_batch_duplicate" && r["case"] != "nik_hijack")
        .all(|r| r["earlier_packet_id"].is_empty()));

    store.ok(&["nightly", "--no-progress", "--no-maintain"]);

    let enrollment: HashMap<String, String> = store
        .query("SELECT packet_id, enrollment_id FROM packets WHERE status = 'accepted'")
        .into_iter()
        .map(|r| (r["packet_id"].clone(), r["enrollment_id"].clone()))
        .collect();
    let status: HashMap<String, (String, String)> = store
        .query("SELECT enrollment_id, status, cluster_id FROM identity_status")
        .into_iter()
        .map(|r| {
            let s = (r["status"].clone(), r["cluster_id"].clone());
            (r["enrollment_id"].clone(), s)
        })
        .collect();
    let of = |packet: &str| {
        let id = enrollment
            .get(packet)
            .unwrap_or_else(|| panic!("packet {packet} not accepted"));
        status
            .get(id)
            .unwrap_or_else(|| panic!("enrollment of {packet} has no status"))
            .clone()
    };
    for r in &dups {
        let (st, cluster) = of(&r["packet_id"]);
        let (_, earlier_cluster) = of(&r["earlier_packet_id"]);
        assert!(
            st == "ganda" || (!cluster.is_empty() && cluster == earlier_cluster),
            "cross-batch duplicate {} ended {st} (cluster {cluster:?}, earlier {earlier_cluster:?})",
            r["packet_id"]
        );
    }
    for r in &hijacks {
        let (st, _) = of(&r["packet_id"]);
        assert_eq!(st, "nik_conflict", "hijack {}", r["packet_id"]);
    }

    a_night_writes_what_it_touches(&store, &dups, &hijacks, &enrollment);
}

/// The `add` actions of the latest commit of a local Delta table: `(files, records)`.
fn latest_commit_adds(table: &Path) -> (usize, u64) {
    let log = table.join("_delta_log");
    let latest = std::fs::read_dir(&log)
        .expect("delta log")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .max()
        .expect("a commit");
    let mut files = 0;
    let mut records = 0;
    for line in std::fs::read_to_string(latest).expect("commit").lines() {
        let action: serde_json::Value = serde_json::from_str(line).expect("action");
        if let Some(add) = action.get("add") {
            files += 1;
            let stats: serde_json::Value =
                serde_json::from_str(add["stats"].as_str().expect("stats")).expect("stats json");
            records += stats["numRecords"].as_u64().expect("numRecords");
        }
    }
    (files, records)
}

/// The second night appended only the states it changed — its probes and the first-batch
/// enrollments they cluster with — in one commit, and what the views show equals the rules
/// applied to everything (the derivation a night no longer does).
fn a_night_writes_what_it_touches(
    store: &TestStore,
    dups: &[&HashMap<String, String>],
    hijacks: &[&HashMap<String, String>],
    enrollment: &HashMap<String, String>,
) {
    let table = store.path().join("lake/status_history");
    let (files, records) = latest_commit_adds(&table);
    let last_run = store
        .query("SELECT run_id FROM runs WHERE stage = 'dedup' ORDER BY started DESC LIMIT 1")[0]
        ["run_id"]
        .clone();
    let written = store.query(&format!(
        "SELECT h.enrollment_id, h.cluster_id FROM status_history h \
         WHERE h.written_by = '{last_run}'"
    ));
    assert_eq!(files, 1, "one file per night");
    assert_eq!(
        records as usize,
        written.len(),
        "the commit is the night's rows"
    );
    let statused = store
        .query("SELECT enrollment_id FROM identity_status")
        .len();
    assert_eq!(statused, 240);
    // 120 probes, and of the first batch only the enrollments now clustered with them.
    let second_night: std::collections::HashSet<String> = store
        .query(&format!(
            "SELECT enrollment_id FROM status_history WHERE first_run_id = '{last_run}'"
        ))
        .into_iter()
        .map(|r| r["enrollment_id"].clone())
        .collect();
    assert_eq!(second_night.len(), 120);
    let clusters_of_night: std::collections::HashSet<String> = store
        .query("SELECT cluster_id, enrollment_id FROM clusters")
        .into_iter()
        .filter(|r| second_night.contains(&r["enrollment_id"]))
        .map(|r| r["cluster_id"].clone())
        .collect();
    let earlier_touched: Vec<_> = written
        .iter()
        .filter(|r| !second_night.contains(&r["enrollment_id"]))
        .collect();
    for r in &earlier_touched {
        assert!(
            clusters_of_night.contains(&r["cluster_id"]),
            "first-batch enrollment {} rewritten though no new enrollment joined it",
            r["enrollment_id"]
        );
    }
    let linked: usize = dups.len() + hijacks.len();
    assert!(
        earlier_touched.len() >= linked && earlier_touched.len() < 120,
        "{} first-batch states rewritten for {linked} planted links",
        earlier_touched.len()
    );
    for r in dups.iter().chain(hijacks) {
        let earlier = &enrollment[&r["earlier_packet_id"]];
        assert!(
            earlier_touched
                .iter()
                .any(|w| &w["enrollment_id"] == earlier),
            "the earlier enrollment of {} was not updated",
            r["packet_id"]
        );
    }

    // The rules over everything give what the incremental night wrote.
    let lake_store = lake::Store::open(store.path().to_str().expect("utf-8")).expect("store");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        use dedup::load;
        let ctx = lake::lake_context(&lake_store).await.expect("ctx");
        let enrollees = load::enrollees(&ctx).await.expect("enrollees");
        let edges = load::match_edges(&ctx).await.expect("edges");
        let decisions = load::decisions(&ctx).await.expect("decisions");
        let previous = load::statuses(&ctx).await.expect("statuses");
        let previous_clusters = load::clusters(&ctx).await.expect("clusters");
        let full = dedup::status::derive(&dedup::status::StatusInputs {
            enrollees: &enrollees,
            edges: &edges,
            decisions: &decisions,
            previous: &previous,
            previous_clusters: &previous_clusters,
            run_id: "check",
            now: chrono::Utc::now(),
        });
        assert_eq!(full.statuses.len(), previous.len());
        for s in &full.statuses {
            assert_eq!(Some(s), previous.get(&s.enrollment_id), "status differs");
        }
        let full_clusters: BTreeMap<String, (String, i32, chrono::DateTime<chrono::Utc>)> = full
            .clusters
            .iter()
            .map(|c| {
                let v = (c.cluster_id.clone(), c.cluster_size, c.created);
                (c.enrollment_id.clone(), v)
            })
            .collect();
        let stored: BTreeMap<String, (String, i32, chrono::DateTime<chrono::Utc>)> =
            lake::query::rows(
                &ctx,
                "SELECT * FROM clusters",
                lake::tables::clusters::from_batch,
            )
            .await
            .expect("clusters")
            .into_iter()
            .map(|c| (c.enrollment_id, (c.cluster_id, c.cluster_size, c.created)))
            .collect();
        assert_eq!(full_clusters, stored);

        // The totals the night carried forward from the first night's (by status, clusters,
        // members) are the totals counted over the whole history.
        let committed = load::committed_runs(&ctx).await.expect("committed");
        let carried = dedup::totals::last_committed(&ctx, &committed)
            .await
            .expect("runs")
            .and_then(|last| last.totals())
            .expect("the night recorded its totals");
        let counted = dedup::totals::counted(&ctx).await.expect("counted");
        assert_eq!(carried, counted);
        assert!(
            counted.clusters > 0 && counted.gallery() == 240,
            "{counted:?}"
        );
    });

    // A night with nothing new writes no state at all.
    let versions = std::fs::read_dir(table.join("_delta_log"))
        .expect("log")
        .count();
    store.ok(&["dedup", "--no-progress"]);
    assert_eq!(
        std::fs::read_dir(table.join("_delta_log"))
            .expect("log")
            .count(),
        versions,
        "a night without probes or decisions committed states"
    );
}

/// Current statuses and clusters, less run ids and times: what a re-run must reproduce.
fn standing(store: &Path) -> (Vec<String>, usize) {
    let rows = common::ok(
        store,
        &[
            "sql",
            "SELECT s.enrollment_id, s.status, s.cluster_id, s.cluster_size, s.detail, \
             c.cluster_size AS members FROM identity_status s \
             LEFT JOIN clusters c ON c.enrollment_id = s.enrollment_id \
             ORDER BY s.enrollment_id",
            "--format",
            "csv",
        ],
    );
    let history = common::ok(
        store,
        &[
            "sql",
            "SELECT count(*) AS n FROM status_history",
            "--format",
            "csv",
        ],
    );
    let n = history
        .lines()
        .nth(1)
        .expect("count")
        .trim()
        .parse()
        .expect("number");
    (rows.lines().map(str::to_string).collect(), n)
}

/// A new test store holding a copy of the store at `from`.
fn copy_store(from: &Path) -> TestStore {
    let to = TestStore::new();
    common::copy_dir(from, to.path());
    to
}

#[test]
fn a_second_night_killed_at_any_commit_ends_as_an_uninterrupted_one() {
    let today = chrono::Utc::now().date_naive();
    let day = |back: i64| (today - chrono::Duration::days(back)).to_string();
    let store = TestStore::new();
    synth(&store, "911", &day(10), &[]);
    store.ok(&["nightly", "--no-progress", "--no-maintain"]);
    synth(
        &store,
        "912",
        &day(4),
        &[
            "--cross-batch-duplicate-rate",
            "0.05",
            "--hijack-rate",
            "0.04",
        ],
    );
    store.ok(&["ingest", "--no-progress"]);

    let uninterrupted = copy_store(store.path());
    common::ok(uninterrupted.path(), &["dedup", "--no-progress"]);
    let expected = standing(uninterrupted.path());
    assert!(
        expected.0.iter().any(|r| r.contains("nik_conflict")),
        "the night plants hijacks"
    );
    for kill_after in 1..=6 {
        let killed = copy_store(store.path());
        let out = common::run_killed_after(killed.path(), &["dedup", "--no-progress"], kill_after);
        common::ok(killed.path(), &["dedup", "--no-progress"]);
        assert_eq!(
            standing(killed.path()),
            expected,
            "killed after {kill_after} commits (exit {:?}), then re-run",
            out.status.code()
        );
    }
}
