//! End to end: the fingerprint verbs on the real FVC2002 templates, through the binary.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{shared_data, TestStore};

fn score(out: &str) -> f32 {
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a score: {out:?}"))
}

#[test]
fn a_template_matches_itself_better_than_another_impression_and_far_better_than_another_finger() {
    let store = TestStore::new();
    let db = shared_data().join("fvc2002/DB1_B");
    let a = db.join("101_1.iso");
    let same_finger = db.join("101_2.iso");
    let other_finger = db.join("102_1.iso");
    let a = a.to_str().unwrap();
    let itself = score(&store.ok(&["match", a, a]));
    let genuine = score(&store.ok(&["match", a, same_finger.to_str().unwrap()]));
    let impostor = score(&store.ok(&["match", a, other_finger.to_str().unwrap()]));
    assert!((0.0..=1.0).contains(&itself) && (0.0..=1.0).contains(&impostor));
    assert!(itself >= genuine, "self {itself} < genuine {genuine}");
    assert!(
        genuine > impostor,
        "genuine {genuine} <= impostor {impostor}"
    );
}

#[test]
fn explain_lists_the_paired_minutiae_behind_the_score() {
    let store = TestStore::new();
    let db = shared_data().join("fvc2002/DB2_B");
    let out = store.ok(&[
        "match",
        db.join("103_1.iso").to_str().unwrap(),
        db.join("103_4.iso").to_str().unwrap(),
        "--explain",
    ]);
    let pairs: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("paired minutiae: "))
        .expect("pair count line")
        .parse()
        .unwrap();
    assert!(
        pairs >= 5,
        "a genuine pair should pair several minutiae:\n{out}"
    );
    assert_eq!(out.lines().count(), 3 + pairs);
}

#[test]
fn pairs_file_gives_one_scored_line_per_pair_in_order() {
    let store = TestStore::new();
    let db = shared_data().join("fvc2002/DB3_B");
    let list: Vec<(String, String)> = [("101_1", "101_2"), ("101_1", "105_3"), ("104_8", "104_7")]
        .iter()
        .map(|(a, b)| {
            (
                db.join(format!("{a}.iso")).display().to_string(),
                db.join(format!("{b}.iso")).display().to_string(),
            )
        })
        .collect();
    let csv: String = list.iter().map(|(a, b)| format!("{a},{b}\n")).collect();
    let file = store.path().join("pairs.csv");
    std::fs::write(&file, csv).unwrap();
    let out = store.ok(&["match", "--pairs", file.to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3);
    for (line, (a, b)) in lines.iter().zip(&list) {
        let fields: Vec<&str> = line.rsplitn(2, ',').collect();
        assert!(line.starts_with(&format!("{a},{b},")), "{line}");
        let s: f32 = fields[0].parse().unwrap();
        assert!((0.0..=1.0).contains(&s));
    }
}

#[test]
fn a_truncated_template_is_refused_with_a_clear_error() {
    let store = TestStore::new();
    let bad = shared_data().join("fvc-invalid/101_1_truncate_1_byte.iso");
    let good = shared_data().join("fvc2002/DB1_B/101_1.iso");
    let out = store.run(&["match", bad.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("101_1_truncate_1_byte.iso"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The FVC protocol's pair counts for a folder of `<finger>_<impression>.iso` files, counted
/// from the file names: every two impressions of one finger are a genuine pair, every other
/// two templates an impostor pair.
fn fvc_pair_counts(dir: &Path) -> (usize, usize) {
    let mut per_finger: HashMap<String, usize> = HashMap::new();
    for entry in std::fs::read_dir(dir).expect("FVC folder") {
        let name = entry.expect("entry").file_name().into_string().unwrap();
        if let Some((finger, _)) = name.strip_suffix(".iso").and_then(|n| n.split_once('_')) {
            *per_finger.entry(finger.to_string()).or_default() += 1;
        }
    }
    let pairs = |k: usize| k * k.saturating_sub(1) / 2;
    let genuine: usize = per_finger.values().map(|&k| pairs(k)).sum();
    let all = pairs(per_finger.values().sum());
    assert!(genuine > 0, "no templates in {}", dir.display());
    (genuine, all - genuine)
}

/// The accuracy goal of the biometric core (half of OpenAFIS's published figures on the same
/// templates) as a regression guard: accuracy, not timing.
#[test]
fn fvc_protocol_on_every_database_meets_the_accuracy_goal() {
    let store = TestStore::new();
    // (database, EER goal %, FNMR at FMR 0.1 % goal %) = half of OpenAFIS's figures.
    for (db, eer_goal, fnmr_goal) in [
        ("DB1_B", 4.05, 8.2),
        ("DB2_B", 3.75, 7.15),
        ("DB3_B", 7.1, 16.95),
        ("DB4_B", 3.35, 6.95),
    ] {
        let dir = shared_data().join("fvc2002").join(db);
        let out = store.ok(&["eval", "fvc", dir.to_str().unwrap()]);
        let figure = |label: &str| -> f64 {
            out.lines()
                .find_map(|l| l.strip_prefix(label))
                .and_then(|rest| rest.trim().strip_suffix('%'))
                .unwrap_or_else(|| panic!("no {label} in:\n{out}"))
                .trim()
                .parse()
                .unwrap()
        };
        let count = |label: &str| -> usize {
            out.lines()
                .find_map(|l| l.strip_prefix(label))
                .unwrap_or_else(|| panic!("no {label} in:\n{out}"))
                .trim()
                .parse()
                .unwrap()
        };
        let (genuine, impostor) = fvc_pair_counts(&dir);
        // FVC2002 set B: 10 fingers × 8 impressions = 10·C(8,2) genuine, C(80,2) − 280 impostor.
        assert_eq!((genuine, impostor), (280, 2880), "{db}: templates missing");
        assert_eq!(count("comparisons genuine"), genuine, "{db}:\n{out}");
        assert_eq!(count("comparisons impostor"), impostor, "{db}:\n{out}");
        let eer = figure("EER");
        let fnmr = figure("FNMR at FMR 0.1%");
        assert!(eer <= eer_goal, "{db}: EER {eer}% above goal {eer_goal}%");
        assert!(
            fnmr <= fnmr_goal,
            "{db}: FNMR@0.1% {fnmr}% above goal {fnmr_goal}%"
        );
    }
}

/// The EER line of `eval fvc`'s report, in percent.
fn eer(report: &str) -> f64 {
    report
        .lines()
        .find(|l| l.starts_with("EER"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("no EER in {report}"))
}

#[test]
fn a_synthetic_fvc2004_like_database_is_harder_than_live_scan_captures() {
    let store = TestStore::new();
    let run = |distortion: &str| {
        store.ok(&[
            "eval",
            "fvc",
            "--synthetic",
            "24",
            "--distortion",
            distortion,
            "--seed",
            "11",
        ])
    };
    let live = run("live-scan");
    assert!(live.contains("192 templates"), "{live}");
    assert!(live.contains("comparisons genuine         672"), "{live}");
    let hard = run("fvc2004");
    assert!(
        eer(&hard) > eer(&live),
        "distortion should cost accuracy:\n{live}\n{hard}"
    );
    // the same seed gives the same database, so the same report
    assert_eq!(run("fvc2004"), hard);
}
