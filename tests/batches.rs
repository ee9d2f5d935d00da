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
}
