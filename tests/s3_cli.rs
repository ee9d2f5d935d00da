//! The same night on a real S3-compatible server (moto on 127.0.0.1, started here): synth,
//! ingest and sql through `--store s3://…` give exactly the verdicts of a local folder run,
//! and re-running ingest on the bucket changes nothing; housekeeping on the bucket changes no
//! verdict.

mod common;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::process::Command;

use common::TestStore;
use s3_server::S3Server;

/// Runs `tunggal --store <store> ARGS…` with the server's AWS variables; returns stdout.
fn tunggal(server: &S3Server, store: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(store)
        .args(args)
        .envs(server.env())
        .env_remove("TUNGGAL_STORE")
        .output()
        .expect("start tunggal");
    assert!(
        out.status.success(),
        "tunggal {args:?} on {store} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

const SYNTH: &[&str] = &[
    "synth",
    "--people",
    "50",
    "--seed",
    "21",
    "--days",
    "2",
    "--bad-rate",
    "0.1",
    "--progress",
    "quiet",
];
const VERDICTS: &str = "SELECT object_path, status, reason_code, enrollment_id FROM packets \
                        ORDER BY object_path";

#[test]
fn ingest_on_s3_gives_the_verdicts_of_a_local_run_and_reruns_change_nothing() {
    let server = S3Server::start();
    server.create_bucket("ektp");
    let bucket = "s3://ektp/night";

    tunggal(&server, bucket, SYNTH);
    let summary = tunggal(
        &server,
        bucket,
        &["ingest", "--no-progress", "--chunk-size", "16"],
    );
    assert!(summary.contains("accepted"), "{summary}");
    let on_s3 = tunggal(&server, bucket, &["sql", VERDICTS, "--format", "csv"]);

    let local = TestStore::new();
    local.ok(SYNTH);
    local.ok(&["ingest", "--no-progress", "--chunk-size", "16"]);
    let on_disk = local.ok(&["sql", VERDICTS, "--format", "csv"]);
    assert!(on_s3.lines().count() > 50, "{on_s3}");
    assert_eq!(on_s3, on_disk, "S3 and local verdicts differ");

    let again = tunggal(&server, bucket, &["ingest", "--no-progress"]);
    assert!(again.contains("new        0"), "{again}");
    let counts =
        "SELECT (SELECT count(*) FROM packets) AS p, (SELECT count(*) FROM fingerprints) AS f";
    assert_eq!(
        tunggal(&server, bucket, &["sql", counts, "--format", "csv"]),
        local.ok(&["sql", counts, "--format", "csv"])
    );

    // Housekeeping on the bucket (small files compacted with chunks of 16, checkpoints,
    // vacuum through our object store) changes no verdict.
    let lock = tempfile::tempdir().unwrap();
    let lock_file = lock.path().join("nightly.lock");
    let housekept = tunggal(
        &server,
        bucket,
        &[
            "maintain",
            "--retain-days",
            "0",
            // four chunks leave four small files per table: compact them all
            "--fan-in",
            "2",
            "--lock-file",
            lock_file.to_str().unwrap(),
        ],
    );
    assert!(housekept.contains("small files compacted"), "{housekept}");
    let detail = tunggal(
        &server,
        bucket,
        &[
            "sql",
            "SELECT detail FROM runs WHERE stage = 'maintain' AND status = 'succeeded'",
            "--format",
            "json",
        ],
    );
    let rows: serde_json::Value = serde_json::from_str(&detail).unwrap();
    let detail: serde_json::Value =
        serde_json::from_str(rows[0]["detail"].as_str().unwrap()).unwrap();
    let tables = detail["tables"].as_array().unwrap();
    let packets = tables.iter().find(|t| t["table"] == "packets").unwrap();
    assert!(
        packets["files_compacted"].as_u64().unwrap() > 1,
        "{packets}"
    );
    assert!(packets["files_vacuumed"].as_u64().unwrap() > 1, "{packets}");
    assert_eq!(packets["checkpointed"], true, "{packets}");
    assert_eq!(
        tunggal(&server, bucket, &["sql", VERDICTS, "--format", "csv"]),
        on_disk,
        "maintain changed a verdict on S3"
    );
}
