//! Housekeeping of the lake tables: every night adds small Parquet files and log entries to
//! every table it touches; left alone, a reader lists and opens ever more of them. For each
//! table that exists, [`maintain_table`]:
//! 1. compacts small data files into files of up to [`MaintainOptions::target_file_bytes`]
//!    (Delta OPTIMIZE: a `dataChange = false` commit; readers see the same rows, time travel
//!    to earlier versions still works);
//! 2. VACUUMs data files removed from the table more than [`MaintainOptions::retain`] ago
//!    (deltalake's lite mode: files the log says were removed; orphans of a crashed writer
//!    with `full`);
//! 3. writes a checkpoint when the table has commits since the last one, so opening it reads
//!    one Parquet checkpoint and a few JSON commits instead of its whole history;
//! 4. deletes log entries older than both the retention and the newest checkpoint before it.
//!
//! Retention is the time-travel window: any version of the last `retain` can be read
//! (docs/operations.md: adjudication and audit need 35 days, the default). Each step is one
//! Delta commit or none, so the whole is crash-safe and idempotent: a second run finds
//! nothing to compact, nothing to vacuum and no commit since its own checkpoint.

use std::num::NonZeroU64;

use chrono::Utc;
use deltalake::operations::vacuum::VacuumMode;

use crate::delta;
use crate::error::{LakeError, Result};
use crate::store::Store;
use crate::tables::Table;

/// How housekeeping treats the tables.
#[derive(Clone, Debug)]
pub struct MaintainOptions {
    /// How long removed data files and old log entries are kept (the time-travel window).
    pub retain: chrono::Duration,
    /// Size compaction aims for, in bytes.
    pub target_file_bytes: u64,
    /// Also delete files in a table's folder that no version references (leftovers of a
    /// writer that died before its commit); lists the whole folder.
    pub full_vacuum: bool,
}

impl Default for MaintainOptions {
    fn default() -> Self {
        MaintainOptions {
            retain: chrono::Duration::days(35),
            target_file_bytes: 128 << 20,
            full_vacuum: false,
        }
    }
}

/// What housekeeping did to one table.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableUpkeep {
    /// The table.
    pub table: String,
    /// Data files of the current version before.
    pub files_before: u64,
    /// Data files of the current version after.
    pub files_after: u64,
    /// Small files compaction replaced.
    pub files_compacted: u64,
    /// Files VACUUM deleted.
    pub files_vacuumed: u64,
    /// Whether a checkpoint was written.
    pub checkpointed: bool,
    /// Log entries deleted.
    pub log_entries_removed: u64,
}

/// Housekeeping of one table (module docs); `None` when the table does not exist yet.
pub async fn maintain_table(
    store: &Store,
    table: Table,
    options: &MaintainOptions,
) -> Result<Option<TableUpkeep>> {
    let err = |e| LakeError::delta(table.name(), e);
    let Some(delta) = delta::open_existing(store, table).await? else {
        return Ok(None);
    };
    let mut upkeep = TableUpkeep {
        table: table.name().to_string(),
        files_before: file_count(&delta)?,
        ..TableUpkeep::default()
    };
    let target = NonZeroU64::new(options.target_file_bytes.max(1)).expect("at least 1");
    let (delta, metrics) = delta
        .optimize()
        .with_target_size(target)
        .await
        .map_err(err)?;
    if metrics.num_files_removed > 0 {
        delta::after_commit();
    }
    upkeep.files_compacted = metrics.num_files_removed;
    let mode = if options.full_vacuum {
        VacuumMode::Full
    } else {
        VacuumMode::Lite
    };
    let (mut delta, vacuum) = delta
        .vacuum()
        .with_retention_period(options.retain)
        .with_enforce_retention_duration(false)
        .with_mode(mode)
        .await
        .map_err(err)?;
    upkeep.files_vacuumed = vacuum.files_deleted.len() as u64;
    delta.update_incremental(None).await.map_err(err)?;
    upkeep.files_after = file_count(&delta)?;
    let version = delta.version().unwrap_or(0);
    if last_checkpoint(store, table).await? < Some(version as i64) {
        deltalake::checkpoints::create_checkpoint(&delta, None)
            .await
            .map_err(err)?;
        upkeep.checkpointed = true;
    }
    let cutoff = (Utc::now() - options.retain).timestamp_millis();
    upkeep.log_entries_removed = deltalake::checkpoints::cleanup_expired_logs_for(
        version,
        delta.log_store().as_ref(),
        cutoff,
        None,
    )
    .await
    .map_err(err)? as u64;
    Ok(Some(upkeep))
}

/// Housekeeping of every lake table that exists, in [`Table::ALL`] order.
pub async fn maintain_tables(store: &Store, options: &MaintainOptions) -> Result<Vec<TableUpkeep>> {
    let mut out = Vec::new();
    for table in Table::ALL {
        if let Some(upkeep) = maintain_table(store, table, options).await? {
            out.push(upkeep);
        }
    }
    Ok(out)
}

fn file_count(delta: &deltalake::DeltaTable) -> Result<u64> {
    let files = delta
        .get_file_uris()
        .map_err(|e| LakeError::delta("table", e))?;
    Ok(files.count() as u64)
}

/// The version of the table's newest checkpoint (`_delta_log/_last_checkpoint`), if any.
async fn last_checkpoint(store: &Store, table: Table) -> Result<Option<i64>> {
    let path = format!("{}/_delta_log/_last_checkpoint", table.folder());
    let Ok(bytes) = store.get(&path).await else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("version").and_then(serde_json::Value::as_i64)))
}
