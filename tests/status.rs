//! `tunggal status` as the engineer on call and a monitoring check use it, and the nightly
//! job's metrics textfile as node-exporter reads it: the real binary on a small synthesized
//! store. A night that fails at a stage for a real reason turns `status` red (exit 1, the
//! stage named), the re-run turns it green (exit 0); a path with no store is refused (exit 2)
//! without creating anything; the textfile parses with the Prometheus client's own parser.

mod common;

use std::path::Path;
use std::process::Output;

use common::TestStore;
use serde_json::Value;

/// Runs `tunggal status ARGS…` on `root` with none of the caller's `TUNGGAL_*` variables
/// that would point it elsewhere.
fn status(root: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(root)
        .arg("status")
        .args(args)
        .env_remove("TUNGGAL_STORE")
        .env_remove("TUNGGAL_CASE_DB")
        .env_remove("TUNGGAL_NIGHTLY_LOCK")
        .output()
        .expect("start tunggal status")
}

/// Runs a night writing its metrics to `metrics`; returns the output, whatever the status.
fn night(store: &TestStore, metrics: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(store.path())
        .args(["nightly", "--no-progress", "--metrics-file"])
        .arg(metrics)
        .env_remove("TUNGGAL_STORE")
        .env_remove("TUNGGAL_CASE_DB")
        .env_remove("TUNGGAL_NIGHTLY_LOCK")
        .env_remove("TUNGGAL_METRICS_FILE")
        .env_remove("TUNGGAL_SIGNING_KEY")
        .output()
        .expect("start tunggal nightly")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Parses a textfile with `prometheus_client.parser` (the project's venv) and returns, per
/// family name as the parser names it, the labels of every sample.
fn parse_metrics(path: &Path) -> serde_json::Map<String, Value> {
    let script = "import json, sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = {}\n\
        for fam in text_string_to_metric_families(open(sys.argv[1]).read()):\n\
        \x20   out.setdefault(fam.name, []).extend(\n\
        \x20       dict(s.labels, __sample__=s.name, __type__=fam.type) for s in fam.samples)\n\
        print(json.dumps(out))\n";
    let out = std::process::Command::new(common::venv_python())
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("run the venv's python");
    assert!(
        out.status.success(),
        "prometheus_client could not parse {}:\n{}\n--- file:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    match serde_json::from_slice(&out.stdout).expect("parser output is JSON") {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Whether family `name` has a sample labelled `label = value` (and `outcome` if given).
fn has_sample(
    families: &serde_json::Map<String, Value>,
    name: &str,
    label: &str,
    value: &str,
    outcome: Option<&str>,
) -> bool {
    families
        .get(name)
        .and_then(Value::as_array)
        .is_some_and(|samples| {
            samples
                .iter()
                .any(|s| s[label] == value && outcome.is_none_or(|o| s["outcome"] == o))
        })
}

#[test]
fn status_turns_red_when_a_night_fails_at_a_stage_and_green_after_the_rerun() {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "40",
        "--seed",
        "22",
        "--days",
        "1",
        "--bad-rate",
        "0.1",
        "--progress",
        "quiet",
    ]);
    let metrics_dir = tempfile::tempdir().unwrap();
    let metrics = metrics_dir.path().join("tunggal.prom");

    // Before any night: the stages have never run, which needs attention.
    let out = status(store.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("ingest: has never run"), "{stdout}");

    // (a) a good night: healthy, every stage shown with its outcome.
    let out = night(&store, &metrics);
    assert!(out.status.success(), "night 1: {}", text(&out).1);
    let out = status(store.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("HEALTHY"), "{stdout}");
    for stage in ["ingest", "dedup", "export"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(stage) && l.contains("succeeded")),
            "no succeeded {stage} line:\n{stdout}"
        );
    }
    assert!(
        !stdout.as_bytes().contains(&0x1b),
        "escape codes written to a pipe:\n{stdout}"
    );
    assert!(
        stdout.lines().count() <= 50,
        "more than a screen:\n{stdout}"
    );

    // (d) the same as JSON.
    let out = status(store.path(), &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let json: Value = serde_json::from_slice(&out.stdout).expect("status --format json parses");
    let stages: Vec<&str> = json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages[..3], ["ingest", "dedup", "export"]);
    assert_eq!(json["stages"][0]["last"]["status"], "succeeded");
    assert!(json["stages"][0]["last"]["accepted"].as_i64().unwrap() > 0);
    assert_eq!(json["attention"], Value::Array(vec![]));
    assert_eq!(json["backlog"]["landed_not_ingested"], 0);
    assert_eq!(json["backlog"]["not_deduplicated"], 0);
    assert_eq!(json["sla"]["breached"], 0);
    assert!(json["backlog"]["cases"].is_object(), "{}", json["backlog"]);

    // (e) the textfile: parses, and holds the stage families for every stage.
    let families = parse_metrics(&metrics);
    for stage in ["ingest", "dedup", "export"] {
        assert!(
            has_sample(
                &families,
                "tunggal_stage_duration_seconds",
                "stage",
                stage,
                Some("succeeded")
            ),
            "no duration sample for {stage}: {:?}",
            families.keys().collect::<Vec<_>>()
        );
    }
    assert!(
        has_sample(
            &families,
            "tunggal_sla_enrollments",
            "state",
            "breached",
            None
        ),
        "{:?}",
        families.keys().collect::<Vec<_>>()
    );
    assert!(
        families.contains_key("tunggal_dedup_probes"),
        "{:?}",
        families.keys()
    );
    assert!(
        families.contains_key("tunggal_ingest_rejected"),
        "{:?}",
        families.keys()
    );
    // Night-level counts agree with the runs table: probes are dedup's processed enrollments.
    let raw = std::fs::read_to_string(&metrics).unwrap();
    let probes = json["stages"][1]["last"]["processed"].as_i64().unwrap();
    assert!(probes > 0);
    assert!(
        raw.lines()
            .any(|l| l == format!("tunggal_dedup_probes_total {probes}")),
        "{raw}"
    );

    // (b) the next night fails at export for a real reason: the folder the export publishes
    // the DC public key into is a file (a store that cannot take the write; root is not
    // stopped by permissions, a file in the way stops everyone).
    let keys = store.path().join("exports/personalization/keys");
    assert!(keys.is_dir(), "night 1 published no public key");
    let aside = store.path().join("keys-aside");
    std::fs::rename(&keys, &aside).unwrap();
    std::fs::write(&keys, "in the way\n").unwrap();
    let out = night(&store, &metrics);
    assert!(!out.status.success(), "night 2 did not fail");
    let out = status(store.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("NEEDS ATTENTION"), "{stdout}");
    assert!(stdout.contains("export: last run failed"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("export") && l.contains("failed")),
        "{stdout}"
    );
    // The textfile was written at the failure too.
    let families = parse_metrics(&metrics);
    assert!(
        has_sample(
            &families,
            "tunggal_stage_runs",
            "stage",
            "export",
            Some("failed")
        ),
        "{:?}",
        families.get("tunggal_stage_runs")
    );

    // The re-run, once the store is fixed, succeeds and status is green again.
    std::fs::remove_file(&keys).unwrap();
    std::fs::rename(&aside, &keys).unwrap();
    let out = night(&store, &metrics);
    assert!(out.status.success(), "night 3: {}", text(&out).1);
    let out = status(store.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("HEALTHY"), "{stdout}");
}

#[test]
fn status_refuses_a_path_without_a_store_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();

    // (c) no folder at all.
    let missing = dir.path().join("no-store-here");
    let out = status(&missing, &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("no tunggal store at"), "{stderr}");
    assert!(!missing.exists(), "status created {}", missing.display());

    // A folder that is not a store (the wrong working directory).
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = status(&empty, &["--format", "json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("no tunggal store at"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&empty).unwrap().count(),
        0,
        "status wrote into a folder that is not a store"
    );
}

/// A night whose signing key cannot be read fails at export, and the failure is a `runs`
/// row that status shows (the key is checked inside the stage, not before it is recorded).
#[test]
fn a_night_without_its_signing_key_shows_as_a_failed_export() {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "20",
        "--seed",
        "23",
        "--days",
        "1",
        "--bad-rate",
        "0",
        "--progress",
        "quiet",
    ]);
    let out = store.run(&[
        "nightly",
        "--no-progress",
        "--signing-key",
        "/no/such/dc-signing.key",
    ]);
    assert!(!out.status.success(), "a night without its key succeeded");
    let out = status(store.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("export: last run failed"), "{stdout}");
    let failed =
        store.query("SELECT detail FROM runs WHERE stage = 'export' AND status = 'failed'");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0]["detail"].contains("no/such"), "{failed:?}");
}
