//! Ingest on a local folder store: every landed object ends as exactly one `packets` row,
//! rejections carry their reason, accepted packets fill the child tables, and re-running
//! changes nothing.

mod support;

use ingest::{ingest, IngestOptions};
use support::{count, populate};

fn options(chunk_size: usize) -> IngestOptions {
    IngestOptions {
        chunk_size,
        progress_bar: false,
        ..IngestOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_landed_object_is_recorded_once_with_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let store = lake::Store::open(dir.path().to_str().unwrap()).unwrap();
    let expected = populate(&store, 20, 12).await;

    let summary = ingest(&store, &options(5)).await.unwrap();
    assert_eq!(summary.seen, expected.objects);
    assert_eq!(summary.processed, expected.objects);
    assert_eq!(summary.accepted, expected.accepted);
    let by_reason: std::collections::BTreeMap<&str, usize> = summary
        .by_reason
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(by_reason, expected.rejected);

    let objects = expected.objects as i64;
    let accepted = expected.accepted as i64;
    assert_eq!(count(&store, "SELECT count(*) FROM packets").await, objects);
    assert_eq!(
        count(&store, "SELECT count(DISTINCT object_path) FROM packets").await,
        objects
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM packets WHERE status = 'accepted'"
        )
        .await,
        accepted
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM packets WHERE status = 'rejected' \
             AND reason_code IS NOT NULL AND length(reason_detail) > 10"
        )
        .await,
        objects - accepted
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM enrollments").await,
        accepted
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM fingerprints").await,
        10 * accepted
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM irises").await,
        2 * accepted
    );
    // Residents 5 and 10 (of the 12 valid) have finger 10 and the left eye declared missing.
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM fingerprints WHERE template IS NULL AND missing_reason = 'amputated'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM irises WHERE code IS NULL AND missing_reason = 'unusable'"
        )
        .await,
        2
    );
    // Every captured finger also carries the matcher's prepared form, and only those.
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM fingerprints WHERE (template IS NULL) <> (prepared IS NULL)"
        )
        .await,
        0
    );
    // Every accepted packet names its enrollment, and every enrollment its packet.
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM packets p JOIN enrollments e \
             ON p.enrollment_id = e.enrollment_id AND p.packet_id = e.packet_id"
        )
        .await,
        accepted
    );
    // Enrollments agree with SIAK.
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM enrollments e JOIN residents r ON e.nik = r.nik AND e.name = r.name"
        )
        .await,
        accepted
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM runs WHERE stage = 'ingest' AND status = 'succeeded' \
             AND processed = 19 AND accepted = 12 AND finished IS NOT NULL"
        )
        .await,
        1
    );
    // The duplicate points at the first copy.
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM packets WHERE reason_code = 'DUPLICATE_PACKET' \
             AND reason_detail LIKE '%pkt-00001.zip%'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerunning_ingest_changes_no_data_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = lake::Store::open(dir.path().to_str().unwrap()).unwrap();
    let expected = populate(&store, 12, 6).await;
    ingest(&store, &options(100)).await.unwrap();
    let versions = |store: lake::Store| async move {
        let mut v = Vec::new();
        for t in [
            lake::Table::Packets,
            lake::Table::Enrollments,
            lake::Table::Fingerprints,
            lake::Table::Irises,
        ] {
            v.push(lake::delta::open(&store, t).await.unwrap().version());
        }
        v
    };
    let before = versions(store.clone()).await;

    let again = ingest(&store, &options(100)).await.unwrap();
    assert_eq!(again.seen, expected.objects);
    assert_eq!(again.already_recorded, expected.objects);
    assert_eq!(again.processed, 0);
    assert_eq!(versions(store.clone()).await, before);
    assert_eq!(
        count(&store, "SELECT count(*) FROM packets").await,
        expected.objects as i64
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM runs WHERE status = 'succeeded'"
        )
        .await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_landed_after_a_run_are_taken_by_the_next_and_duplicates_across_runs_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = lake::Store::open(dir.path().to_str().unwrap()).unwrap();
    populate(&store, 12, 6).await;
    let first = ingest(&store, &options(4)).await.unwrap();

    // A new packet, and a re-upload of an accepted one under a new name.
    store
        .put(
            &support::landing_path("late"),
            support::valid_packet(7).into(),
        )
        .await
        .unwrap();
    store
        .put(
            &support::landing_path("reupload-2"),
            support::valid_packet(2).into(),
        )
        .await
        .unwrap();
    let second = ingest(&store, &options(4)).await.unwrap();
    assert_eq!(second.already_recorded, first.seen);
    assert_eq!(second.processed, 2);
    assert_eq!(second.accepted, 1);
    assert_eq!(second.by_reason.get("DUPLICATE_PACKET"), Some(&1));
    assert_eq!(
        count(&store, "SELECT count(*) FROM enrollments").await,
        first.accepted as i64 + 1
    );
}
