//! The same ingest against a real S3-compatible server (moto on 127.0.0.1): Delta commits
//! through put-if-absent, exactly-once on re-run, and SQL over the bucket.

mod support;

use ingest::{ingest, IngestOptions};
use support::s3::S3Server;
use support::{count, populate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_on_s3_records_every_packet_once_and_reruns_change_nothing() {
    let _guard = support::s3::exclusive().await;
    let server = S3Server::start();
    server.create_bucket("ektp");
    server.export_env();
    let store = lake::Store::open("s3://ektp/dc-test").unwrap();
    assert_eq!(store.url().as_str(), "s3://ektp/dc-test/");

    let expected = populate(&store, 12, 6).await;
    let options = IngestOptions {
        chunk_size: 4,
        progress_bar: false,
        ..IngestOptions::default()
    };
    let first = ingest(&store, &options).await.unwrap();
    assert_eq!(first.processed, expected.objects);
    assert_eq!(first.accepted, expected.accepted);

    let again = ingest(&store, &options).await.unwrap();
    assert_eq!(again.processed, 0);
    assert_eq!(again.already_recorded, expected.objects);

    assert_eq!(
        count(&store, "SELECT count(*) FROM packets").await,
        expected.objects as i64
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM fingerprints").await,
        10 * expected.accepted as i64
    );
    // The Delta log really is in the bucket, under the prefix.
    let log = store.list("lake/packets/_delta_log").await.unwrap();
    assert!(log.iter().any(|m| m.location.as_ref().ends_with(".json")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_commit_of_the_same_delta_version_is_refused_by_the_server() {
    // Put-if-absent is what makes concurrent Delta commits safe; check the server honours it
    // through our store, not just that writes succeed.
    use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
    let _guard = support::s3::exclusive().await;
    let server = S3Server::start();
    server.create_bucket("cas");
    server.export_env();
    let store = lake::Store::open("s3://cas/x").unwrap();
    let path = object_store::path::Path::from("_delta_log/00000000000000000000.json");
    let create = || PutOptions::from(PutMode::Create);
    store
        .objects()
        .put_opts(&path, PutPayload::from_static(b"first"), create())
        .await
        .unwrap();
    let second = store
        .objects()
        .put_opts(&path, PutPayload::from_static(b"second"), create())
        .await;
    assert!(
        matches!(second, Err(object_store::Error::AlreadyExists { .. })),
        "{second:?}"
    );
    let kept = store
        .objects()
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&kept[..], b"first");
}
