//! Housekeeping of the lake tables: every night adds small Parquet files and log entries to
//! every table it touches; left alone, a reader lists and opens ever more of them. For each
//! table that exists, [`maintain_table`]:
//! 1. compacts small data files in tiers (Delta OPTIMIZE: a `dataChange = false` commit;
//!    readers see the same rows, time travel to earlier versions still works): a tier of
//!    size T is compacted only when [`MaintainOptions::fan_in`] or more files are smaller than
//!    T/2, and then into files of up to T. The tiers are [`MaintainOptions::target_file_bytes`]
//!    / 16 and `target_file_bytes` itself. Why tiers: OPTIMIZE with one target rewrites every
//!    file below it, so while a table is smaller than the target (every table at first, most
//!    for years) one night's small file would rewrite the whole table every night, a cost
//!    that grows with the country. With tiers a night's files wait until `fan_in` of them
//!    fill a small file, and small files until `fan_in` of them fill a large one: each byte
//!    is rewritten about once per tier (as in a log-structured merge), and a reader opens
//!    at most about `2 · fan_in` files plus the settled large ones. Compacted files are
//!    written with the table's [`file_layout`] (row groups, bloom filters), so a table
//!    written before that layout existed gains it as its files are compacted;
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
use crate::file_layout;
use crate::store::Store;
use crate::tables::Table;

/// How housekeeping treats the tables.
#[derive(Clone, Debug)]
pub struct MaintainOptions {
    /// How long removed data files and old log entries are kept (the time-travel window).
    pub retain: chrono::Duration,
    /// Size of the files compaction's largest tier aims for, in bytes.
    pub target_file_bytes: u64,
    /// How many files below half a tier's size make that tier worth compacting.
    pub fan_in: usize,
    /// Also delete files in a table's folder that no version references (leftovers of a
    /// writer that died before its commit); lists the whole folder.
    pub full_vacuum: bool,
}

impl Default for MaintainOptions {
    fn default() -> Self {
        MaintainOptions {
            retain: chrono::Duration::days(35),
            target_file_bytes: 128 << 20,
            fan_in: 8,
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
    let mut delta = delta;
    for tier in tiers(options.target_file_bytes) {
        let below_half = file_sizes(&delta)?
            .into_iter()
            .filter(|&size| size < tier / 2)
            .count();
        if below_half < options.fan_in.max(2) {
            continue;
        }
        let target = NonZeroU64::new(tier.max(1)).expect("at least 1");
        let (optimized, metrics) = delta
            .optimize()
            .with_session_state(delta::rewrite_session())
            .with_writer_properties(file_layout::writer_properties(table))
            .with_target_size(target)
            .await
            .map_err(err)?;
        if metrics.num_files_removed > 0 {
            delta::after_commit();
        }
        upkeep.files_compacted += metrics.num_files_removed;
        delta = optimized;
    }
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

/// The compaction tiers' sizes, smallest first (module docs).
fn tiers(target_file_bytes: u64) -> [u64; 2] {
    [(target_file_bytes / 16).max(1), target_file_bytes.max(1)]
}

/// Sizes in bytes of the current version's data files.
fn file_sizes(delta: &deltalake::DeltaTable) -> Result<Vec<u64>> {
    let snapshot = delta.snapshot().map_err(|e| LakeError::delta("table", e))?;
    Ok(snapshot
        .log_data()
        .iter()
        .map(|file| file.size().max(0) as u64)
        .collect())
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
