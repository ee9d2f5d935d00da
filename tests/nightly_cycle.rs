//! End to end over two nights: the first flags duplicates, opens adjudication cases and
//! exports only unique identities; adjudicators decide in the case store; the second night
//! applies the decisions — cleared records are personalized, duplicates stay blocked.

mod common;

use std::collections::{HashMap, HashSet};

use adjudication::store::{DecisionInput, QueueFilter, Verdict};
use adjudication::{CaseStore, Role};
use common::TestStore;

fn statuses(store: &TestStore) -> HashMap<String, String> {
    store
        .query("SELECT enrollment_id, status FROM identity_status")
        .into_iter()
        .map(|r| (r["enrollment_id"].clone(), r["status"].clone()))
        .collect()
}

fn exported(store: &TestStore) -> Vec<String> {
    store
        .query("SELECT enrollment_id FROM personalization_jobs")
        .into_iter()
        .map(|r| r["enrollment_id"].clone())
        .collect()
}

#[test]
fn decisions_taken_in_the_console_change_what_the_next_night_does() {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "300",
        "--seed",
        "17",
        "--days",
        "1",
        "--duplicate-rate",
        "0.06",
        "--bad-rate",
        "0",
    ]);
    let summary = store.ok(&["nightly", "--no-progress"]);
    assert!(
        summary.contains("stages run: ingest, adjudication sync, dedup"),
        "{summary}"
    );

    // Night 1: only personalizable identities were exported, once each, and every NIK with a
    // personalizable enrollment got exactly one card (a re-enrollment supersedes the
    // earlier capture of the same NIK).
    let st = statuses(&store);
    let first: Vec<String> = exported(&store);
    let first_set: HashSet<&String> = first.iter().collect();
    assert_eq!(first.len(), first_set.len(), "an enrollment exported twice");
    let mut cards_per_nik: HashMap<String, usize> = HashMap::new();
    for r in store.query(
        "SELECT e.enrollment_id, e.nik FROM enrollments e JOIN identity_status s \
         ON e.enrollment_id = s.enrollment_id WHERE s.status IN ('tunggal', 'reenrollment')",
    ) {
        *cards_per_nik.entry(r["nik"].clone()).or_default() +=
            first_set.contains(&r["enrollment_id"]) as usize;
    }
    assert!(
        cards_per_nik.values().all(|&n| n == 1),
        "a NIK without exactly one card"
    );
    for id in &first {
        let s = &st[id];
        assert!(
            s == "tunggal" || s == "reenrollment",
            "{id} exported with status {s}"
        );
    }

    // Adjudicators work two cases.
    let db = store.path().join("adjudication").join("cases.sqlite");
    let cases = CaseStore::open(&db).expect("case store made by the nightly");
    cases
        .add_user("alice", Role::Adjudicator, "alice-password-1")
        .unwrap();
    cases
        .add_user("bruno", Role::Supervisor, "bruno-password-1")
        .unwrap();
    let users = cases.users().unwrap();
    let alice = users.iter().find(|u| u.username == "alice").unwrap();
    let bruno = users.iter().find(|u| u.username == "bruno").unwrap();
    let queue = cases
        .queue(
            &QueueFilter {
                kind: Some("ganda".into()),
                ..Default::default()
            },
            100,
        )
        .unwrap();
    assert!(queue.len() >= 2, "only {} ganda cases", queue.len());
    let (fraud_case, false_match_case) = (&queue[0], &queue[1]);
    let fraud_members: Vec<String> = cases
        .members(&fraud_case.case_id)
        .unwrap()
        .into_iter()
        .map(|m| m.enrollment_id)
        .collect();
    let keep = fraud_members[0].clone();
    cases
        .claim(alice, &fraud_case.case_id, 600, "127.0.0.1")
        .unwrap();
    cases
        .decide(
            alice,
            &fraud_case.case_id,
            &DecisionInput {
                outcome: "duplicate".into(),
                keep_enrollment_id: Some(keep.clone()),
                fraud: true,
                comment: "same fingers and irises under two NIKs".into(),
            },
            "127.0.0.1",
        )
        .unwrap();
    cases
        .claim(bruno, &fraud_case.case_id, 600, "127.0.0.1")
        .unwrap();
    cases
        .confirm(
            bruno,
            &fraud_case.case_id,
            Verdict::Confirm,
            "confirmed",
            "127.0.0.1",
        )
        .unwrap();
    let other_members: Vec<String> = cases
        .members(&false_match_case.case_id)
        .unwrap()
        .into_iter()
        .map(|m| m.enrollment_id)
        .collect();
    cases
        .claim(alice, &false_match_case.case_id, 600, "127.0.0.1")
        .unwrap();
    cases
        .decide(
            alice,
            &false_match_case.case_id,
            &DecisionInput {
                outcome: "different_persons".into(),
                keep_enrollment_id: None,
                fraud: false,
                comment: "test of the false-match path".into(),
            },
            "127.0.0.1",
        )
        .unwrap();
    // Releasing held enrollments takes a second person (issue 20).
    cases
        .claim(bruno, &false_match_case.case_id, 600, "127.0.0.1")
        .unwrap();
    cases
        .confirm(
            bruno,
            &false_match_case.case_id,
            Verdict::Confirm,
            "confirmed",
            "127.0.0.1",
        )
        .unwrap();
    drop(cases);

    // Night 2 applies them.
    store.ok(&["nightly", "--no-progress"]);
    let st = statuses(&store);
    assert_eq!(st[&keep], "cleared");
    for id in fraud_members.iter().filter(|id| **id != keep) {
        assert_eq!(st[id], "duplicate", "{id}");
    }
    for id in &other_members {
        assert_eq!(st[id], "cleared", "{id}");
    }
    let second = exported(&store);
    let second_set: HashSet<&String> = second.iter().collect();
    assert_eq!(
        second.len(),
        second_set.len(),
        "an enrollment exported twice"
    );
    assert!(
        second_set.contains(&keep),
        "the record that stands was not personalized"
    );
    for id in fraud_members.iter().filter(|id| **id != keep) {
        assert!(
            !second_set.contains(id),
            "blocked duplicate {id} personalized"
        );
    }
    for id in &other_members {
        assert!(second_set.contains(id), "cleared {id} not personalized");
    }
    let decided = store.query("SELECT count(DISTINCT decision_id) AS n FROM decisions");
    assert_eq!(decided[0]["n"], "2");

    // A third night changes nothing.
    store.ok(&["nightly", "--no-progress"]);
    assert_eq!(exported(&store).len(), second.len());
    assert_eq!(statuses(&store), st);
}
