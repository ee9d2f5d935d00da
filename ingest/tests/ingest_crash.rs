//! Exactly once under crashes: an ingest process killed right after its N-th Delta commit
//! (for every N until a run completes), then killed again early in the recovery run, is
//! completed by a final run with every landed object recorded once and no enrollment,
//! fingerprint or iris row duplicated.
//!
//! The kill is real: the test binary re-executes itself as a child process running
//! `crash_child`, whose ingest aborts (`std::process::abort`, no unwinding) through the
//! `TUNGGAL_FAULT_ABORT_AFTER_COMMITS` hook of `lake::delta`.

mod support;

use std::path::Path;
use std::process::Command;

use ingest::{ingest, IngestOptions};
use support::{count, populate, Expected};

/// Environment variable handing the child its store folder.
const CHILD_STORE: &str = "TUNGGAL_CRASH_TEST_STORE";

fn options() -> IngestOptions {
    IngestOptions {
        chunk_size: 4,
        progress_bar: false,
        ..IngestOptions::default()
    }
}

/// Child side: ingest the store named by [`CHILD_STORE`] (and die where the fault hook says).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper run in a child process by the crash test"]
async fn crash_child() {
    let path = std::env::var(CHILD_STORE).expect("run by the crash test only");
    let store = lake::Store::open(&path).unwrap();
    ingest(&store, &options()).await.unwrap();
}

/// Runs `crash_child` on `store_dir`, aborting after `commits` commits; true if it crashed.
fn run_child(store_dir: &Path, commits: u32) -> bool {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD_STORE, store_dir)
        .env(lake::delta::FAULT_ABORT_AFTER_COMMITS, commits.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    !status.success()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

async fn assert_exactly_once(store: &lake::Store, expected: &Expected, context: &str) {
    let objects = expected.objects as i64;
    let accepted = expected.accepted as i64;
    let checks = [
        ("SELECT count(*) FROM packets", objects),
        ("SELECT count(DISTINCT object_path) FROM packets", objects),
        ("SELECT count(*) FROM packets WHERE status = 'accepted'", accepted),
        ("SELECT count(*) FROM enrollments", accepted),
        ("SELECT count(DISTINCT enrollment_id) FROM enrollments", accepted),
        ("SELECT count(*) FROM fingerprints", 10 * accepted),
        (
            "SELECT count(*) FROM (SELECT DISTINCT enrollment_id, position FROM fingerprints)",
            10 * accepted,
        ),
        ("SELECT count(*) FROM irises", 2 * accepted),
        (
            "SELECT count(*) FROM enrollments e JOIN packets p ON e.enrollment_id = p.enrollment_id",
            accepted,
        ),
    ];
    for (sql, want) in checks {
        assert_eq!(count(store, sql).await, want, "{context}: {sql}");
    }
}

#[test]
fn a_run_killed_after_any_commit_is_completed_exactly_once_by_the_next_run() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let template = tempfile::tempdir().unwrap();
    let expected = runtime.block_on(async {
        let store = lake::Store::open(template.path().to_str().unwrap()).unwrap();
        populate(&store, 10, 4).await
    });

    let mut crash_points = 0;
    for commits in 1..=200u32 {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(template.path(), dir.path());
        if !run_child(dir.path(), commits) {
            // The run needed fewer commits than that: every point before has been tried.
            break;
        }
        crash_points += 1;
        // Kill the recovery run too, early (during run bookkeeping or orphan removal).
        let recovery_crashed = run_child(dir.path(), 1 + commits % 3);
        assert!(recovery_crashed, "the recovery run should have been killed");

        runtime.block_on(async {
            let store = lake::Store::open(dir.path().to_str().unwrap()).unwrap();
            let summary = ingest(&store, &options()).await.unwrap();
            let context = format!("killed after commit {commits}");
            assert_exactly_once(&store, &expected, &context).await;
            assert_eq!(
                summary.already_recorded + summary.processed,
                expected.objects,
                "{context}"
            );
            if commits >= 2 {
                // The killed runs had appended their `running` row: they show as interrupted.
                assert!(
                    count(
                        &store,
                        "SELECT count(*) FROM runs WHERE status = 'interrupted'"
                    )
                    .await
                        >= 1,
                    "{context}"
                );
            }
            // A re-run after recovery changes nothing.
            let again = ingest(&store, &options()).await.unwrap();
            assert_eq!(again.processed, 0, "{context}");
            assert_exactly_once(&store, &expected, &context).await;
        });
    }
    assert!(
        crash_points >= 10,
        "expected a run of several commits, got {crash_points} crash points"
    );
}
