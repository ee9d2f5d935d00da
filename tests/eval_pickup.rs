//! End to end: `tunggal eval pickup` on a small synthesized store that went through the real
//! `synth`, `ingest`, `dedup` and `export`: card holders at the counter pass (nearly always
//! within three attempts), other persons' fingers are refused, the JSON counts add up, an
//! impostor is never counted as a genuine pickup, and the eval's card holder is the person
//! `tunggal verify` itself says `berhasil` to.

mod common;

use std::collections::{HashMap, HashSet};

use common::{files_under, TestStore};
use personalization_export::card::CardRecord;
use serde_json::Value;
use synth::biometric::{Body, Lineage};
use synth::capture::CaptureQuality;

/// A store of 40 synthesized residents, deduplicated and exported: real cards.
fn exported_store() -> TestStore {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "40",
        "--seed",
        "5",
        "--days",
        "1",
        "--progress",
        "quiet",
    ]);
    store.ok(&["ingest", "--no-progress"]);
    store.ok(&["dedup", "--no-progress"]);
    store.ok(&["export"]);
    store
}

/// The card files of the store's personalization jobs.
fn card_files(store: &TestStore) -> Vec<std::path::PathBuf> {
    files_under(&store.path().join("exports/personalization"))
        .into_iter()
        .filter(|f| {
            f.parent()
                .and_then(|p| p.file_name())
                .is_some_and(|n| n == "cards")
        })
        .collect()
}

fn eval(store: &TestStore, args: &[&str]) -> Value {
    let mut all = vec!["eval", "pickup", "--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&store.ok(&all)).expect("eval pickup prints JSON")
}

fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v:#}"))
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v:#}"))
}

/// Sum of the `pickups` and `failed` counts of a breakdown.
fn sums(breakdown: &Value) -> (u64, u64) {
    breakdown
        .as_object()
        .unwrap()
        .values()
        .fold((0, 0), |(n, failed), c| {
            (
                n + c["pickups"].as_u64().unwrap(),
                failed + c["failed"].as_u64().unwrap(),
            )
        })
}

#[test]
fn card_holders_pass_impostors_are_refused_and_the_counts_add_up() {
    let store = exported_store();
    let cards = card_files(&store);
    assert!(cards.len() >= 20, "export made {} cards", cards.len());
    let enrollments: HashSet<String> = cards
        .iter()
        .map(|c| {
            CardRecord::parse(&std::fs::read(c).unwrap())
                .unwrap()
                .card
                .enrollment_id
        })
        .collect();

    let ev = eval(&store, &["--genuine", "60", "--impostors", "400"]);
    // Which cards were measured.
    assert_eq!(u(&ev, "cards") as usize, enrollments.len(), "{ev:#}");
    assert_eq!(
        u(&ev, "holders") + u(&ev, "cards_left_out"),
        u(&ev, "cards")
    );
    assert!(u(&ev, "holders") * 10 >= u(&ev, "cards") * 8, "{ev:#}");
    assert!(u(&ev, "impostor_pool") >= u(&ev, "holders"));

    // Genuine pickups: every one counted once; failures within three ≤ first-attempt ones.
    let genuine = u(&ev, "genuine");
    assert_eq!(genuine, 60);
    let (first, within) = (
        u(&ev, "first_attempt_failed"),
        u(&ev, "failed_within_attempts"),
    );
    assert!(within <= first && first <= genuine, "{ev:#}");
    assert_eq!(f(&ev, "fnmr_first_attempt"), first as f64 / 60.0);
    assert_eq!(f(&ev, "fnmr_within_attempts"), within as f64 / 60.0);
    // The right person at the counter: nearly always through within three attempts.
    assert!(within <= 2, "{within} of 60 card holders sent back: {ev:#}");
    assert!(first <= 12, "{first} of 60 first attempts failed: {ev:#}");
    assert!(u(&ev, "genuine_attempts") >= genuine);
    assert!(u(&ev, "genuine_attempts") <= genuine + 2 * first);

    // Impostors: matched or recaptured, never accepted at 1e-4.
    let impostors = u(&ev, "impostors");
    assert!(impostors > 390 && impostors <= 400, "{ev:#}");
    assert_eq!(u(&ev, "false_accepts"), 0, "{ev:#}");
    assert_eq!(f(&ev, "fmr"), 0.0);
    let threshold = f(&ev, "threshold");
    assert!((threshold - 10_000f64.ln()).abs() < 1e-3, "{threshold}");
    assert!(f(&ev, "impostor_max_llr") < threshold, "{ev:#}");

    // Answers to disagreeing fingers are among the `ulangi`.
    assert!(
        u(&ev, "genuine_disagree") <= u(&ev, "genuine_ulangi"),
        "{ev:#}"
    );
    assert!(
        u(&ev, "impostor_disagree") <= u(&ev, "impostor_ulangi"),
        "{ev:#}"
    );

    // Every decision timed is a matched attempt or an `ulangi`.
    let timing = &ev["verify_ms"];
    assert_eq!(
        u(timing, "decisions"),
        u(&ev, "genuine_attempts")
            + u(&ev, "genuine_ulangi")
            + impostors
            + u(&ev, "impostor_ulangi"),
        "{ev:#}"
    );
    let (median, p99, max) = (f(timing, "median"), f(timing, "p99"), f(timing, "max"));
    assert!(0.0 < median && median <= p99 && p99 <= max, "{timing}");

    // The breakdowns cover every pickup; each listed failure is below the threshold.
    assert_eq!(sums(&ev["first_attempt_by_quality"]), (genuine, first));
    assert_eq!(sums(&ev["first_attempt_by_case"]), (genuine, first));
    let failures = ev["first_attempt_failures"].as_array().unwrap();
    assert_eq!(failures.len() as u64, first);
    for failure in failures {
        assert!(enrollments.contains(failure["enrollment_id"].as_str().unwrap()));
        assert!(failure["llr"].as_f64().is_none_or(|llr| llr < threshold));
        let case = failure["case"].as_str().unwrap();
        assert!(case != "twin" && case != "family", "{failure}");
        assert!(!failure["fingers"].as_array().unwrap().is_empty());
    }

    // The table names the figures.
    let table = store.ok(&["eval", "pickup", "--genuine", "10", "--impostors", "20"]);
    for needle in [
        "FNMR, first attempt",
        "FNMR, within 3 attempts",
        "FMR",
        "threshold (fused LLR)",
        "ulangi recaptures",
        "time per verify",
    ] {
        assert!(table.contains(needle), "{needle} missing:\n{table}");
    }
}

/// Impostor attempts never enter the genuine counts: the genuine figures are the same with or
/// without impostors, and impostors score far from what a card holder scores.
#[test]
fn an_impostor_is_never_counted_as_a_genuine_pickup() {
    let store = exported_store();
    let genuine_only = eval(&store, &["--genuine", "30", "--impostors", "0"]);
    let with = eval(&store, &["--genuine", "30", "--impostors", "300"]);
    for key in [
        "genuine",
        "genuine_attempts",
        "first_attempt_failed",
        "failed_within_attempts",
        "genuine_ulangi",
    ] {
        assert_eq!(genuine_only[key], with[key], "{key}");
    }
    assert_eq!(u(&genuine_only, "impostors"), 0);

    // Another person's fingers stay far below the threshold: had the eval presented the
    // card holder's own fingers as an impostor, they would score like a genuine pickup.
    assert!(
        f(&with, "impostor_max_llr") < f(&with, "threshold") / 2.0,
        "{with:#}"
    );
    assert_eq!(u(&with, "false_accepts"), 0);
}

/// The card holder the eval measures is the person `tunggal verify` answers `berhasil` to:
/// regenerated here from the truth independently (batch seed, person index), captured afresh
/// and verified by the real command; another person's fingers get `gagal`.
#[test]
fn the_evaluated_holder_is_the_person_verify_accepts() {
    let store = exported_store();
    let truth = store.truth();
    let by_enrollment: HashMap<String, &HashMap<String, String>> = truth
        .iter()
        .map(|r| {
            (
                lake::tables::enrollments::enrollment_id_for(&r["packet_id"]),
                r,
            )
        })
        .collect();
    let batch = files_under(&store.path().join("synth-truth/enrollees"))[0]
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let seed: u64 = batch[1..batch.find('-').unwrap()].parse().unwrap();
    let body_of = |person_id: &str| {
        let index: u64 = person_id.rsplit_once("-P").unwrap().1.parse().unwrap();
        Body::of(Lineage::Own {
            seed: synth::world::derive_seed(seed, "person", index),
        })
    };
    let card_path = card_files(&store)
        .into_iter()
        .find(|c| {
            let card = CardRecord::parse(&std::fs::read(c).unwrap()).unwrap().card;
            card.chip.right_finger.is_some()
                && card.chip.left_finger.is_some()
                && by_enrollment
                    .get(&card.enrollment_id)
                    .is_some_and(|r| r["case"] == "unique")
        })
        .expect("a card of a unique enrollee");
    let card = CardRecord::parse(&std::fs::read(&card_path).unwrap())
        .unwrap()
        .card;
    let holder = &by_enrollment[&card.enrollment_id]["person_id"];
    let other = truth
        .iter()
        .find(|r| r["case"] == "unique" && &r["person_id"] != holder)
        .map(|r| r["person_id"].clone())
        .unwrap();
    let positions = [
        card.chip.right_finger.as_ref().unwrap().position,
        card.chip.left_finger.as_ref().unwrap().position,
    ];
    let dir = tempfile::tempdir().unwrap();
    let keyring = store.path().join("keys/dc-signing.key.pub");
    let verify = |person: &str, seed: u64| {
        let capture = body_of(person).capture(&positions, &[], CaptureQuality::Good, seed);
        let (r, l) = (dir.path().join("r.fmr"), dir.path().join("l.fmr"));
        std::fs::write(&r, &capture.fingers[0].1).unwrap();
        std::fs::write(&l, &capture.fingers[1].1).unwrap();
        store.run(&[
            "verify",
            "--card",
            card_path.to_str().unwrap(),
            "--right-index",
            r.to_str().unwrap(),
            "--left-index",
            l.to_str().unwrap(),
            "--keyring",
            keyring.to_str().unwrap(),
        ])
    };
    let passed = (0..3)
        .map(|s| verify(holder, 9_000 + s).status.code())
        .filter(|c| *c == Some(0))
        .count();
    assert!(
        passed >= 2,
        "the holder passed {passed} of 3 fresh good captures"
    );
    let out = verify(&other, 9_100);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
