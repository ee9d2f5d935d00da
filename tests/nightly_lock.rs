//! Two nights never overlap: while the nightly lock on `<store>/nightly.lock` is held (here by
//! this test process, exactly as a running `tunggal nightly` holds it: an exclusive `flock`
//! with the holder's pid in the file), a real `tunggal nightly` refuses at once with a clear
//! message and its own exit status, and `tunggal nightly --wait-lock` waits and then runs.
//! No timing: the waiting process says it waits before the lock is released.

mod common;

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::TestStore;

/// Takes the lock as a running night does and writes our pid into the file.
fn hold_lock(path: &std::path::Path) -> std::fs::File {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .expect("open lock file");
    file.try_lock().expect("lock free at the start");
    writeln!(file, "{}", std::process::id()).unwrap();
    file
}

/// Starts `tunggal VERB --no-progress --wait-lock` on `store` (stderr piped), with the lock
/// file of the store itself whatever this environment says.
fn spawn_waiting(store: &TestStore, verb: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(store.path())
        .args([verb, "--no-progress", "--wait-lock"])
        .env_remove("TUNGGAL_STORE")
        .env_remove("TUNGGAL_NIGHTLY_LOCK")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start tunggal {verb} --wait-lock: {e}"))
}

#[test]
fn a_second_nightly_refuses_while_one_holds_the_lock_and_waits_with_wait_lock() {
    let store = TestStore::new();
    store.ok(&["init"]); // a folder without a store is refused (tests/first_hour.rs)
    let lock_path = store.path().join("nightly.lock");
    let held = hold_lock(&lock_path);

    // Refuses at once, naming the file and the holder, with status 75.
    let out = store.run(&["nightly", "--no-progress"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "another nightly holds {} (pid {}); not starting",
            lock_path.display(),
            std::process::id()
        )),
        "stderr:\n{stderr}"
    );
    assert!(
        !store.path().join("lake").exists(),
        "the refused night touched the lake"
    );

    // With --wait-lock it says it waits, then runs once the holder lets go.
    let mut child = spawn_waiting(&store, "nightly");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("nightly --wait-lock ended without waiting: {seen:#?}"))
            .unwrap();
        let waiting = line.contains("another nightly holds") && line.contains("waiting");
        seen.push(line);
        if waiting {
            break;
        }
    }
    drop(held);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_ne!(status.code(), Some(75), "stderr: {seen:#?} {rest:#?}");
    // It took the lock: the file now names it.
    let recorded = std::fs::read_to_string(&lock_path).unwrap();
    assert_eq!(recorded.trim(), child.id().to_string());
}

#[test]
fn stages_run_by_hand_wait_for_the_night_and_two_ingests_at_once_record_each_packet_once() {
    // An operator (or a second timer) running a stage by hand while a night runs: without the
    // lock, two ingests that both read the ledger before either commits record the same
    // packets twice. Every verb that writes the lake takes the night's lock.
    let store = TestStore::new();
    store.ok(&["init"]);
    store.ok(&[
        "synth",
        "--people",
        "30",
        "--seed",
        "41",
        "--days",
        "1",
        "--progress",
        "quiet",
    ]);
    let lake = |s: &TestStore| {
        let mut files = common::files_under(&s.path().join("lake"));
        files.sort();
        files
    };
    let before = lake(&store);
    let lock_path = store.path().join("nightly.lock");
    let held = hold_lock(&lock_path);
    for verb in [
        &["ingest", "--no-progress"][..],
        &["dedup", "--no-progress"][..],
        &["export"][..],
    ] {
        let out = store.run(verb);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(75), "{verb:?} stderr:\n{stderr}");
        assert!(stderr.contains("holds"), "{verb:?} stderr:\n{stderr}");
    }
    assert_eq!(lake(&store), before, "a refused stage touched the lake");
    drop(held);

    // Two ingests at once, both willing to wait: one runs, then the other finds nothing new.
    let (a, b) = (
        spawn_waiting(&store, "ingest"),
        spawn_waiting(&store, "ingest"),
    );
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rows = store.query("SELECT count(*) AS n, count(DISTINCT object_path) AS d FROM packets");
    let (n, d) = (&rows[0]["n"], &rows[0]["d"]);
    assert_eq!(n, d, "a packet recorded twice: {n} rows for {d} objects");
    assert!(n.parse::<u64>().unwrap() >= 30, "{n} packets for 30 people");
}
