//! Lake tables on a real local store: create on first use, atomic appends visible to SQL,
//! application transactions, deletes and updates, run bookkeeping.

use chrono::Utc;
use lake::delta;
use lake::tables::packets::{self, PacketRecord};
use lake::vocabulary::PacketStatus;
use lake::{Store, Table};

fn packet(path: &str, status: PacketStatus) -> PacketRecord {
    PacketRecord {
        object_path: path.into(),
        packet_id: Some(format!("id-{path}")),
        size: 10,
        sha256: "00".repeat(32),
        site: Some("32.73.05".into()),
        received_time: Utc::now(),
        status,
        reason_code: (status == PacketStatus::Rejected).then(|| "CORRUPT_ZIP".into()),
        reason_detail: None,
        enrollment_id: None,
        run_id: "run-1".into(),
        ingested_time: Utc::now(),
    }
}

/// Appends packet rows as one commit.
async fn append_packets(store: &Store, rows: &[PacketRecord]) {
    delta::append(
        store,
        Table::Packets,
        vec![packets::to_batch(rows).unwrap()],
        None,
    )
    .await
    .unwrap();
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    let ctx = lake::sql_context(store).await.unwrap();
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let col =
        arrow::compute::cast(batches[0].column(0), &arrow::datatypes::DataType::Int64).unwrap();
    col.as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap()
        .value(0)
}

#[tokio::test]
async fn a_fresh_store_answers_sql_with_empty_tables() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    for table in Table::ALL {
        assert_eq!(
            scalar(&store, &format!("SELECT count(*) FROM {table}")).await,
            0
        );
    }
    assert!(scalar(&store, "SELECT count(*) FROM regions").await > 80_000);
    assert_eq!(scalar(&store, "SELECT count(*) FROM residents").await, 0);
    assert_eq!(scalar(&store, "SELECT count(*) FROM stations").await, 0);
    // Nothing was created by merely reading.
    assert!(delta::open_existing(&store, Table::Packets)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn appends_are_whole_commits_visible_to_sql_and_to_a_reopened_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let rows = vec![
        packet("landing/a.zip", PacketStatus::Accepted),
        packet("landing/b.zip", PacketStatus::Rejected),
    ];
    append_packets(&store, &rows).await;
    delta::append(
        &store,
        Table::Packets,
        vec![packets::to_batch(&[packet("landing/c.zip", PacketStatus::Accepted)]).unwrap()],
        Some(("ingest-test", 7)),
    )
    .await
    .unwrap();

    let reopened = Store::open(store.url().as_str()).unwrap();
    assert_eq!(scalar(&reopened, "SELECT count(*) FROM packets").await, 3);
    assert_eq!(
        scalar(
            &reopened,
            "SELECT count(*) FROM packets WHERE reason_code = 'CORRUPT_ZIP'"
        )
        .await,
        1
    );
    // create (v0) + two appends
    let table = delta::open(&reopened, Table::Packets).await.unwrap();
    assert_eq!(table.version(), Some(2));
    assert_eq!(
        delta::app_version(&reopened, Table::Packets, "ingest-test")
            .await
            .unwrap(),
        Some(7)
    );
    assert_eq!(
        delta::app_version(&reopened, Table::Packets, "other")
            .await
            .unwrap(),
        None
    );
    // The table is a real Delta table on disk.
    assert!(dir
        .path()
        .join("lake/packets/_delta_log/00000000000000000000.json")
        .exists());
}

#[tokio::test]
async fn delete_and_update_change_only_the_matching_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let rows: Vec<_> = (0..5)
        .map(|i| packet(&format!("landing/{i}.zip"), PacketStatus::Accepted))
        .collect();
    append_packets(&store, &rows).await;
    delta::delete_where(
        &store,
        Table::Packets,
        "object_path IN ('landing/1.zip', 'landing/3.zip')",
    )
    .await
    .unwrap();
    delta::update_where(
        &store,
        Table::Packets,
        "object_path = 'landing/0.zip'",
        &[(
            "status",
            delta::sql_literal(PacketStatus::Rejected.as_str()),
        )],
    )
    .await
    .unwrap();
    assert_eq!(scalar(&store, "SELECT count(*) FROM packets").await, 3);
    assert_eq!(
        scalar(
            &store,
            "SELECT count(*) FROM packets WHERE status = 'rejected'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn runs_are_started_finished_and_stale_ones_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let crashed = lake::run::start(&store, lake::vocabulary::Stage::Ingest)
        .await
        .unwrap();
    let run = lake::run::start(&store, lake::vocabulary::Stage::Ingest)
        .await
        .unwrap();
    assert_ne!(crashed.run_id, run.run_id);
    let counts = lake::run::RunCounts {
        seen: 4,
        processed: 3,
        accepted: 2,
        rejected: 1,
    };
    run.finish(
        &store,
        lake::vocabulary::RunStatus::Succeeded,
        &counts,
        Some("{\"x\":1}"),
    )
    .await
    .unwrap();
    let q = |status: &str| {
        format!("SELECT count(*) FROM runs WHERE stage = 'ingest' AND status = '{status}'")
    };
    assert_eq!(scalar(&store, &q("interrupted")).await, 1);
    assert_eq!(scalar(&store, &q("succeeded")).await, 1);
    assert_eq!(
        scalar(
            &store,
            &format!(
                "SELECT count(*) FROM runs WHERE run_id = '{}' AND processed = 3 \
                 AND accepted = 2 AND rejected = 1 AND finished >= started AND detail = '{{\"x\":1}}'",
                run.run_id
            )
        )
        .await,
        1
    );
}

async fn rendered(ctx: &datafusion::prelude::SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_sql_session_scans_the_snapshot_files_and_sees_what_deltalake_sees() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    for part in 0..3 {
        let rows: Vec<_> = (0..4)
            .map(|i| packet(&format!("landing/{part}-{i}.zip"), PacketStatus::Accepted))
            .collect();
        append_packets(&store, &rows).await;
    }
    // Both rewrite files: the snapshot then holds new files and has removed others.
    delta::delete_where(&store, Table::Packets, "object_path LIKE 'landing/1-%'")
        .await
        .unwrap();
    delta::update_where(
        &store,
        Table::Packets,
        "object_path = 'landing/2-0.zip'",
        &[(
            "status",
            delta::sql_literal(PacketStatus::Rejected.as_str()),
        )],
    )
    .await
    .unwrap();

    let analyst = lake::sql_context(&store).await.unwrap();
    let stages = lake::lake_context(&store).await.unwrap();
    let query = "SELECT object_path, packet_id, size, status, received_time FROM packets \
                 ORDER BY object_path";
    let seen = rendered(&analyst, query).await;
    assert_eq!(seen, rendered(&stages, query).await);
    assert_eq!(seen.matches("| landing/").count(), 8, "{seen}");
    assert_eq!(
        rendered(
            &analyst,
            "SELECT status, count(*) AS n FROM packets GROUP BY status ORDER BY status"
        )
        .await,
        rendered(
            &stages,
            "SELECT status, count(*) AS n FROM packets GROUP BY status ORDER BY status"
        )
        .await
    );
    assert_eq!(
        analyst.table("packets").await.unwrap().schema(),
        stages.table("packets").await.unwrap().schema()
    );

    // Both sessions scan the snapshot's files as plain Parquet: the stages' too, so a join's
    // keys reach the scan's bloom filters (lake/tests/file_layout.rs).
    for ctx in [&analyst, &stages] {
        let plan = rendered(ctx, "EXPLAIN SELECT * FROM packets").await;
        assert!(plan.contains("DataSourceExec"), "{plan}");
        assert!(!plan.contains("DeltaScan"), "{plan}");
    }
}

#[tokio::test]
async fn reference_tables_have_the_lake_string_type_and_one_partition_per_core() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let ctx = lake::sql_context(&store).await.unwrap();
    let types = rendered(
        &ctx,
        "SELECT arrow_typeof(code) AS t, arrow_typeof(name) AS n FROM regions LIMIT 1",
    )
    .await;
    assert_eq!(types.matches("Utf8View").count(), 2, "{types}");
    let partitions = ctx.copied_config().target_partitions();
    let plan = rendered(&ctx, "EXPLAIN SELECT code FROM regions").await;
    assert!(
        plan.contains(&format!("partitions={partitions}")),
        "{partitions} partitions expected: {plan}"
    );
}

#[tokio::test]
async fn the_siak_extract_is_read_by_a_load_never_by_a_sql_session() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let extract = reference::siak::object_path("2026-11");
    store
        .put(
            &extract,
            bytes::Bytes::from_static(b"not,a,siak\nextract\n"),
        )
        .await
        .unwrap();
    // A session reads the loaded rows (none yet), never the extract file.
    let ctx = lake::sql_context(&store).await.unwrap();
    let n = rendered(&ctx, "SELECT count(*) AS n FROM residents").await;
    assert!(n.contains("| 0 |"), "{n}");
    // The load reads it, says which file is wrong, and commits nothing.
    let err = lake::reference::load(&store).await.unwrap_err().to_string();
    assert!(err.contains("reference/siak"), "{err}");
    assert!(delta::open_existing(&store, Table::ReferenceLoads)
        .await
        .unwrap()
        .is_none());
    // Once the extract is mended, the next load takes it.
    let mut csv = Vec::new();
    reference::siak::write_csv(&mut csv, &[]).unwrap();
    store.put(&extract, bytes::Bytes::from(csv)).await.unwrap();
    let loaded = lake::reference::load(&store).await.unwrap();
    assert_eq!(loaded.files_loaded, vec![extract]);
}

/// Now, to the microsecond the lake keeps.
fn now_micros() -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

#[tokio::test]
async fn rows_read_back_through_sql_equal_the_rows_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let mut rows = vec![
        packet("a.zip", PacketStatus::Accepted),
        packet("b.zip", PacketStatus::Rejected),
    ];
    for row in &mut rows {
        row.received_time = now_micros();
        row.ingested_time = now_micros();
    }
    rows[1].packet_id = None;
    append_packets(&store, &rows).await;
    let ctx = lake::sql_context(&store).await.unwrap();
    let batches = ctx
        .sql("SELECT * FROM packets ORDER BY object_path")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let read = lake::tables::read::from_batches(&batches, packets::from_batch).unwrap();
    assert_eq!(read, rows);
}

#[tokio::test]
async fn a_query_missing_a_column_of_the_table_cannot_be_read_as_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    append_packets(&store, &[packet("a.zip", PacketStatus::Accepted)]).await;
    let ctx = lake::sql_context(&store).await.unwrap();
    let batches = ctx
        .sql("SELECT object_path, status FROM packets")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let err = packets::from_batch(&batches[0]).unwrap_err().to_string();
    assert!(err.contains("packet_id"), "{err}");
}

#[tokio::test]
async fn delete_in_removes_exactly_the_listed_ids_and_refuses_an_unknown_column() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    append_packets(
        &store,
        &[
            packet("a.zip", PacketStatus::Accepted),
            packet("o'b.zip", PacketStatus::Accepted),
            packet("c.zip", PacketStatus::Rejected),
        ],
    )
    .await;
    let gone = delta::delete_in(&store, Table::Packets, "object_path", &["a.zip", "o'b.zip"])
        .await
        .unwrap();
    assert_eq!(gone, Some(2));
    assert_eq!(scalar(&store, "SELECT count(*) FROM packets").await, 1);
    assert_eq!(
        scalar(
            &store,
            "SELECT count(*) FROM packets WHERE object_path = 'c.zip'"
        )
        .await,
        1
    );
    let none: &[&str] = &[];
    assert_eq!(
        delta::delete_in(&store, Table::Packets, "object_path", none)
            .await
            .unwrap(),
        Some(0)
    );
    assert!(
        delta::delete_in(&store, Table::Packets, "object_pth", &["c.zip"])
            .await
            .is_err()
    );
    assert_eq!(scalar(&store, "SELECT count(*) FROM packets").await, 1);
}

/// A stage's report for the runner tests.
struct Report(i64);

impl lake::run::StageReport for Report {
    fn counts(&self) -> lake::run::RunCounts {
        lake::run::RunCounts {
            seen: self.0,
            processed: self.0,
            accepted: self.0,
            rejected: 0,
        }
    }
    fn detail(&self) -> serde_json::Value {
        serde_json::json!({ "seen": self.0 })
    }
}

#[tokio::test]
async fn the_stage_runner_records_success_with_counts_and_failure_with_its_error() {
    use lake::vocabulary::Stage;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let ok: Result<Report, lake::LakeError> =
        lake::run::run_stage(&store, Stage::Dedup, async |run: &lake::run::Run| {
            assert_eq!(run.stage, lake::vocabulary::Stage::Dedup);
            Ok(Report(7))
        })
        .await;
    assert_eq!(ok.unwrap().0, 7);
    let failed: Result<Report, lake::LakeError> =
        lake::run::run_stage(&store, Stage::Dedup, async |_: &lake::run::Run| {
            Err(lake::LakeError::Shape("the stage broke".into()))
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(
        scalar(
            &store,
            "SELECT count(*) FROM runs WHERE stage = 'dedup' AND status = 'succeeded' \
             AND seen = 7 AND detail LIKE '%\"seen\":7%' \
             AND detail LIKE '%\"io\":{\"bytes_read\":%' AND finished IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT count(*) FROM runs WHERE stage = 'dedup' AND status = 'failed' \
             AND seen = 0 AND detail LIKE '%the stage broke%' \
             AND detail LIKE '%\"bytes_written\":%'"
        )
        .await,
        1
    );
}
