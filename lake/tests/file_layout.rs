//! The Parquet layout of the lake's data files (`lake::file_layout`): every writer (appends,
//! updates, `maintain`'s compaction) puts bloom filters on the configured key columns, and a
//! stage's look-up of a night's keys (a join against a small in-memory table of them, as the
//! stages make with `lake::query::register_texts`) skips the row groups that cannot hold
//! them: the join's keys reach the Parquet scan as an IN-list and are probed against the
//! bloom filters.

use std::path::{Path, PathBuf};

use chrono::Utc;
use lake::delta;
use lake::file_layout;
use lake::maintain::{maintain_table, MaintainOptions};
use lake::tables::packets::{self, PacketRecord};
use lake::vocabulary::PacketStatus;
use lake::{Store, Table};
use parquet::file::reader::{FileReader, SerializedFileReader};

/// One night's packets: `n` accepted packets with random enrollment ids.
fn night(n: usize) -> Vec<PacketRecord> {
    (0..n)
        .map(|_| {
            let id = uuid::Uuid::new_v4().to_string();
            PacketRecord {
                object_path: format!("landing/32.73.05/2026-12-01/{id}.zip"),
                packet_id: Some(uuid::Uuid::new_v4().to_string()),
                size: 10,
                sha256: format!("{:064x}", uuid::Uuid::new_v4().as_u128()),
                site: Some("32.73.05".into()),
                received_time: Utc::now(),
                status: PacketStatus::Accepted,
                reason_code: None,
                reason_detail: None,
                enrollment_id: Some(id),
                run_id: "run-1".into(),
                ingested_time: Utc::now(),
            }
        })
        .collect()
}

/// Appends `nights` nights of `n` packets each, one commit (one data file) per night.
async fn append_nights(store: &Store, nights: usize, n: usize) -> Vec<Vec<PacketRecord>> {
    let mut out = Vec::new();
    for _ in 0..nights {
        let rows = night(n);
        delta::append(
            store,
            Table::Packets,
            vec![packets::to_batch(&rows).unwrap()],
            None,
        )
        .await
        .unwrap();
        out.push(rows);
    }
    out
}

/// The data files of the table's current version.
async fn current_files(store: &Store, dir: &Path, table: Table) -> Vec<PathBuf> {
    let delta = delta::open_existing(store, table).await.unwrap().unwrap();
    let folder = dir.join(table.folder());
    delta
        .snapshot()
        .unwrap()
        .log_data()
        .iter()
        .map(|f| folder.join(f.path().as_ref()))
        .collect()
}

/// Per data file, per row group: its row count and the columns whose chunk has a bloom
/// filter.
fn bloom_columns(file: &Path) -> Vec<(i64, Vec<String>)> {
    let reader = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
    reader
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| {
            let columns = rg
                .columns()
                .iter()
                .filter(|c| c.bloom_filter_offset().is_some())
                .map(|c| c.column_path().string())
                .collect();
            (rg.num_rows(), columns)
        })
        .collect()
}

fn assert_layout(files: &[PathBuf], table: Table) {
    let mut expected = file_layout::bloom_filter_columns(table).to_vec();
    expected.sort();
    assert!(!expected.is_empty());
    for file in files {
        for (rows, mut columns) in bloom_columns(file) {
            columns.sort();
            assert_eq!(columns, expected, "{}", file.display());
            assert!(rows as usize <= file_layout::row_group_rows());
        }
    }
}

#[tokio::test]
async fn appends_updates_and_compaction_write_bloom_filters_on_the_configured_columns() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let nights = append_nights(&store, 8, 50).await;
    let files = current_files(&store, dir.path(), Table::Packets).await;
    assert_eq!(files.len(), 8);
    assert_layout(&files, Table::Packets);

    // An update rewrites the file that holds the row.
    let id = nights[0][0].enrollment_id.clone().unwrap();
    delta::update_where(
        &store,
        Table::Packets,
        &format!("enrollment_id = {}", delta::sql_literal(&id)),
        &[("size", "11".to_string())],
    )
    .await
    .unwrap();
    let rewritten = current_files(&store, dir.path(), Table::Packets).await;
    assert!(rewritten.iter().any(|f| !files.contains(f)));
    assert_layout(&rewritten, Table::Packets);

    // Compaction of the eight small files into one.
    let upkeep = maintain_table(&store, Table::Packets, &MaintainOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(upkeep.files_after, 1, "{upkeep:?}");
    let compacted = current_files(&store, dir.path(), Table::Packets).await;
    assert_layout(&compacted, Table::Packets);
}

/// `name=<total> total → <matched> matched` of the Parquet scans in an EXPLAIN ANALYZE
/// rendering, summed; and the scans' `bytes_scanned`.
fn pruning(plan: &str, name: &str) -> (usize, usize) {
    let mut total = 0;
    let mut matched = 0;
    let key = format!("{name}=");
    for part in plan.split(&key).skip(1) {
        let words: Vec<&str> = part.split_whitespace().collect();
        total += words[0].parse::<usize>().unwrap();
        assert_eq!(words[1], "total");
        matched += words[3].trim_end_matches(',').parse::<usize>().unwrap();
    }
    (total, matched)
}

fn bytes_scanned(plan: &str) -> f64 {
    plan.split("bytes_scanned=")
        .skip(1)
        .map(|part| {
            let value: String = part
                .chars()
                .take_while(|c| !matches!(c, ',' | ']'))
                .collect();
            let mut words = value.split_whitespace();
            let number: f64 = words.next().unwrap().parse().unwrap();
            number
                * match words.next() {
                    Some("K") | Some("KB") => 1e3,
                    Some("M") | Some("MB") => 1e6,
                    Some("G") | Some("GB") => 1e9,
                    _ => 1.0,
                }
        })
        .sum()
}

async fn explain_analyze(ctx: &datafusion::prelude::SessionContext, sql: &str) -> String {
    let batches = ctx
        .sql(&format!("EXPLAIN ANALYZE {sql}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_join_on_the_nights_keys_reads_only_the_row_groups_that_can_hold_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let nights = append_nights(&store, 8, 500).await;
    let ctx = lake::lake_context(&store).await.unwrap();

    // The whole table, for comparison.
    let all = explain_analyze(&ctx, "SELECT count(enrollment_id) FROM packets").await;
    // Ten enrollments of the fourth night, looked up by a join as the stages do.
    let keys: Vec<String> = nights[3][..10]
        .iter()
        .map(|p| p.enrollment_id.clone().unwrap())
        .collect();
    lake::query::register_texts(&ctx, "night_keys", "id", &keys).unwrap();
    let sql = "SELECT p.object_path, p.enrollment_id FROM packets p \
               JOIN night_keys k ON p.enrollment_id = k.id";
    let found = lake::query::texts(&ctx, sql, "enrollment_id")
        .await
        .unwrap();
    assert_eq!(found.len(), 10);
    let plan = explain_analyze(&ctx, sql).await;
    let (total, matched) = pruning(&plan, "row_groups_pruned_bloom_filter");
    assert_eq!(
        matched, 1,
        "only the fourth night's row group is read:\n{plan}"
    );
    assert!(total >= 7, "{plan}");
    assert!(
        bytes_scanned(&plan) < bytes_scanned(&all),
        "fewer bytes than the whole column:\n{plan}\n{all}"
    );
}
