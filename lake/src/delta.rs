//! Delta Lake access: open-or-create a lake table on the store, append, delete and update
//! with atomic commits.
//!
//! Tables are opened with *our* object store ([`Store::backend`]) handed to deltalake via
//! `with_storage_backend`, so S3 works without deltalake's own AWS crate: deltalake's default
//! log store commits with put-if-absent (`PutMode::Create`), which object_store's S3 client
//! sends as `If-None-Match: *`. The S3 server must honour it (moto does; see
//! docs/tables.md). Every data file written here is laid out by [`file_layout`] (row groups,
//! bloom filters on the key columns). Every commit made here passes through
//! [`after_commit`], the fault-injection point the crash tests use.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

use arrow::array::RecordBatch;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::StructType;
use deltalake::logstore::{
    default_logstore, logstore_factories, LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig,
};
use deltalake::protocol::SaveMode;
use deltalake::{DeltaResult, DeltaTable, DeltaTableBuilder, DeltaTableError, TableProperty};
use futures::TryStreamExt;
use url::Url;

use crate::error::{LakeError, Result};
use crate::file_layout;
use crate::store::Store;
use crate::tables::Table;

/// Environment variable naming how many Delta commits this process may make before it
/// aborts itself (`std::process::abort`, no unwinding, no cleanup): the crash tests set it to
/// kill a run between any two commits. Unset in production.
pub const FAULT_ABORT_AFTER_COMMITS: &str = "TUNGGAL_FAULT_ABORT_AFTER_COMMITS";

static COMMITS: AtomicU64 = AtomicU64::new(0);

/// Counts a successful commit and aborts the process when the fault-injection budget in
/// [`FAULT_ABORT_AFTER_COMMITS`] is spent.
pub fn after_commit() {
    let done = COMMITS.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(limit) = std::env::var(FAULT_ABORT_AFTER_COMMITS)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        if done >= limit {
            eprintln!("fault injection: aborting after {done} commits");
            std::process::abort();
        }
    }
}

/// Log-store factory for `s3://` tables: deltalake's default (put-if-absent) log store over
/// the object store we built.
#[derive(Debug, Default)]
struct S3LogStoreFactory;

impl LogStoreFactory for S3LogStoreFactory {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

/// Registers the `s3://` log store with deltalake, once per process.
pub(crate) fn register_s3_log_store() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(scheme) = Url::parse("s3://") {
            logstore_factories().insert(scheme, Arc::new(S3LogStoreFactory));
        }
    });
}

/// Opens a lake table without creating it; `Ok(None)` when it does not exist yet (no
/// `_delta_log/` entry under its folder).
pub async fn open_existing(store: &Store, table: Table) -> Result<Option<DeltaTable>> {
    let log = format!("{}/_delta_log", table.folder());
    let mut entries = store.objects().list(Some(&log.as_str().into()));
    if entries.try_next().await?.is_none() {
        return Ok(None);
    }
    let mut delta = unloaded(store, table)?;
    match delta.load().await {
        Ok(()) => Ok(Some(delta)),
        Err(DeltaTableError::NotATable(_)) => Ok(None),
        Err(err) => Err(LakeError::delta(table.name(), err)),
    }
}

/// Opens a lake table, creating it empty with its schema when it does not exist yet.
///
/// Creation is idempotent (`SaveMode::Ignore`), so two processes racing to create the same
/// table both end with the one table.
pub async fn open(store: &Store, table: Table) -> Result<DeltaTable> {
    if let Some(delta) = open_existing(store, table).await? {
        return Ok(delta);
    }
    let arrow_schema = table.schema();
    let schema: StructType = arrow_schema.as_ref().try_into_kernel()?;
    let mut create = unloaded(store, table)?
        .create()
        .with_table_name(table.name())
        .with_columns(schema.fields().cloned())
        .with_save_mode(SaveMode::Ignore);
    // Min/max statistics of template bytes are useless for file skipping (and deltalake warns
    // on every write of them): keep statistics for the other columns only.
    let stats_columns: Vec<&str> = arrow_schema
        .fields()
        .iter()
        .filter(|f| f.data_type() != &arrow::datatypes::DataType::Binary)
        .map(|f| f.name().as_str())
        .collect();
    if stats_columns.len() < arrow_schema.fields().len() {
        create = create.with_configuration_property(
            TableProperty::DataSkippingStatsColumns,
            Some(stats_columns.join(",")),
        );
    }
    let delta = create
        .await
        .map_err(|e| LakeError::delta(table.name(), e))?;
    after_commit();
    Ok(delta)
}

fn unloaded(store: &Store, table: Table) -> Result<DeltaTable> {
    let url = store.url_of(&table.folder())?;
    DeltaTableBuilder::from_url(url.clone())
        .and_then(|b| b.with_storage_backend(store.backend().clone(), url).build())
        .map_err(|e| LakeError::delta(table.name(), e))
}

/// Appends `batches` to `table` in one atomic commit (one new table version).
///
/// With `txn = Some((app_id, version))` the commit also records a Delta application
/// transaction, so a later reader can ask [`app_version`] whether this step already committed.
/// Empty input commits nothing.
pub async fn append(
    store: &Store,
    table: Table,
    batches: Vec<RecordBatch>,
    txn: Option<(&str, i64)>,
) -> Result<()> {
    if batches.iter().all(|b| b.num_rows() == 0) {
        return Ok(());
    }
    let delta = open(store, table).await?;
    let mut props = CommitProperties::default();
    if let Some((app_id, version)) = txn {
        props = props
            .with_application_transaction(deltalake::kernel::Transaction::new(app_id, version));
    }
    delta
        .write(batches)
        .with_save_mode(SaveMode::Append)
        .with_writer_properties(file_layout::writer_properties(table))
        .with_commit_properties(props)
        .await
        .map_err(|e| LakeError::delta(table.name(), e))?;
    after_commit();
    Ok(())
}

/// Replaces the whole content of `table` with `batches` in one atomic commit (one new table
/// version; the previous content stays readable as the version before). Used for tables that
/// hold a current state derived anew by each run, such as `identity_status` and `clusters`.
/// An empty input commits an empty table.
pub async fn overwrite(store: &Store, table: Table, batches: Vec<RecordBatch>) -> Result<()> {
    let delta = open(store, table).await?;
    let batches = if batches.is_empty() {
        vec![RecordBatch::new_empty(table.schema())]
    } else {
        batches
    };
    delta
        .write(batches)
        .with_save_mode(SaveMode::Overwrite)
        .with_writer_properties(file_layout::writer_properties(table))
        .await
        .map_err(|e| LakeError::delta(table.name(), e))?;
    after_commit();
    Ok(())
}

/// The last application-transaction version recorded for `app_id` in `table`, if any.
pub async fn app_version(store: &Store, table: Table, app_id: &str) -> Result<Option<i64>> {
    let Some(delta) = open_existing(store, table).await? else {
        return Ok(None);
    };
    let state = delta
        .snapshot()
        .map_err(|e| LakeError::delta(table.name(), e))?;
    state
        .transaction_version(delta.log_store().as_ref(), app_id)
        .await
        .map_err(|e| LakeError::delta(table.name(), e))
}

/// Deletes the rows matching the SQL `predicate` in one atomic commit; returns how many rows
/// went (when deltalake can tell) — `None` when the count is unknown.
pub async fn delete_where(store: &Store, table: Table, predicate: &str) -> Result<Option<usize>> {
    let Some(delta) = open_existing(store, table).await? else {
        return Ok(Some(0));
    };
    let (_, metrics) = delta
        .delete()
        .with_session_state(rewrite_session())
        .with_writer_properties(file_layout::writer_properties(table))
        .with_predicate(predicate.to_string())
        .await
        .map_err(|e| LakeError::delta(table.name(), e))?;
    after_commit();
    Ok(metrics.num_deleted_rows)
}

/// Deletes the rows whose `column` holds one of `values`, in one atomic commit; returns how
/// many rows went, as [`delete_where`] does. No values: nothing to delete, no commit.
pub async fn delete_in<S: AsRef<str>>(
    store: &Store,
    table: Table,
    column: &str,
    values: &[S],
) -> Result<Option<usize>> {
    if values.is_empty() {
        return Ok(Some(0));
    }
    if !table.schema().fields().iter().any(|f| f.name() == column) {
        return Err(LakeError::Column {
            column: column.to_string(),
            reason: format!("not a column of {table}"),
        });
    }
    let predicate = format!("{column} IN {}", crate::vocabulary::sql_list(values));
    delete_where(store, table, &predicate).await
}

/// Sets `column = sql_value` for each pair on the rows matching the SQL `predicate`, in one
/// atomic commit.
pub async fn update_where(
    store: &Store,
    table: Table,
    predicate: &str,
    assignments: &[(&str, String)],
) -> Result<()> {
    let delta = open(store, table).await?;
    let mut builder = delta
        .update()
        .with_session_state(rewrite_session())
        .with_writer_properties(file_layout::writer_properties(table))
        .with_predicate(predicate.to_string());
    for (column, value) in assignments {
        builder = builder.with_update(*column, value.clone());
    }
    builder
        .await
        .map_err(|e| LakeError::delta(table.name(), e))?;
    after_commit();
    Ok(())
}

/// The DataFusion session of the deltalake operations that rewrite data files (update,
/// delete, compaction): strings read as plain `Utf8`, so the files written carry the types
/// the tables declare. With DataFusion's default (`Utf8View`) a rewritten file embeds view
/// types in its Arrow schema, and readers of the lake other than tunggal (pyarrow datasets,
/// the analysts' notebooks) then fail to compare those columns with plain strings.
pub fn rewrite_session() -> Arc<dyn datafusion::catalog::Session> {
    let overrides = std::collections::HashMap::from([(
        "datafusion.execution.parquet.schema_force_view_types".to_string(),
        "false".to_string(),
    )]);
    let ctx =
        deltalake::delta_datafusion::DeltaSessionContext::new_with_session_overrides(&overrides)
            .expect("a known DataFusion option");
    Arc::new(ctx.state())
}

/// Appends to one table batch by batch and commits everything written in one commit: for an
/// append too large to hold in memory (a national SIAK extract), where [`append`] wants every
/// batch at once.
///
/// Each [`Appender::write`] writes its batch as a finished Parquet data file under the table
/// (deltalake's `RecordBatchWriter`) and keeps only the file's add action; [`Appender::commit`]
/// commits all of them as one new table version (deltalake's `CommitBuilder`), so readers see
/// every file of the append or none. Files written by an appender that never commits (the
/// process died) belong to no version: readers never see them and `tunggal maintain
/// --full-vacuum` deletes them.
pub struct Appender {
    table: Table,
    delta: DeltaTable,
    writer: deltalake::writer::RecordBatchWriter,
    adds: Vec<deltalake::kernel::Add>,
    rows: u64,
}

impl Appender {
    /// Opens `table` for a batch-by-batch append, creating it empty when it does not exist
    /// yet (that creation is a commit of its own, as with [`open`]).
    pub async fn open(store: &Store, table: Table) -> Result<Appender> {
        let delta = open(store, table).await?;
        let writer = deltalake::writer::RecordBatchWriter::for_table(&delta)
            .map_err(|e| LakeError::delta(table.name(), e))?
            .with_writer_properties(file_layout::writer_properties(table));
        Ok(Appender {
            table,
            delta,
            writer,
            adds: Vec::new(),
            rows: 0,
        })
    }

    /// Writes `batch` as data files of the table, not committed yet. An empty batch writes
    /// nothing.
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        use deltalake::writer::DeltaWriter;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let name = self.table.name();
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .await
            .map_err(|e| LakeError::delta(name, e))?;
        let adds = self
            .writer
            .flush()
            .await
            .map_err(|e| LakeError::delta(name, e))?;
        self.adds.extend(adds);
        Ok(())
    }

    /// Data files written so far.
    pub fn files(&self) -> usize {
        self.adds.len()
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Commits every file written as one new version (an append), with `metadata` in the
    /// commit's `commitInfo` (what a reader of the log may need to know about the append,
    /// e.g. to resume after a crash). Nothing written: no commit, `Ok(false)`.
    pub async fn commit(
        self,
        metadata: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> Result<bool> {
        use deltalake::kernel::transaction::CommitBuilder;
        use deltalake::kernel::Action;
        if self.adds.is_empty() {
            return Ok(false);
        }
        let name = self.table.name();
        let snapshot = self
            .delta
            .snapshot()
            .map_err(|e| LakeError::delta(name, e))?;
        let operation = deltalake::protocol::DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: None,
            predicate: None,
        };
        CommitBuilder::from(CommitProperties::default().with_metadata(metadata))
            .with_actions(self.adds.into_iter().map(Action::Add).collect())
            .build(Some(snapshot), self.delta.log_store(), operation)
            .await
            .map_err(|e| LakeError::delta(name, e))?;
        after_commit();
        Ok(true)
    }
}

/// The `commitInfo` of the latest commits of `table` (newest first, at most `limit`), with
/// the metadata each commit was given ([`Appender::commit`]); empty when the table does not
/// exist.
pub async fn recent_commit_infos(
    store: &Store,
    table: Table,
    limit: usize,
) -> Result<Vec<deltalake::kernel::CommitInfo>> {
    let Some(delta) = open_existing(store, table).await? else {
        return Ok(Vec::new());
    };
    delta
        .history(Some(limit))
        .try_collect()
        .await
        .map_err(|e| LakeError::delta(table.name(), e))
}

/// Quotes a string as a SQL literal (single quotes doubled), for predicates built here.
pub fn sql_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_literal_escapes_quotes() {
        assert_eq!(sql_literal("o'neil"), "'o''neil'");
    }
}
