//! Housekeeping as a stage (`tunggal maintain`, and the nightly job's last stage): the lake
//! tables compacted, vacuumed and checkpointed (`lake::maintain`), and the stored gallery's
//! closed units compacted into unit partitions (`dedup::compact`). Recorded in `runs` as
//! stage `maintain` through the one stage runner; crash-safe and idempotent like every stage
//! (each part's docs say why), so a killed run is simply run again.

use std::fmt;
use std::time::{Duration, Instant};

use lake::maintain::{MaintainOptions as TableOptions, TableUpkeep};
use lake::run::{RunCounts, StageReport};
use lake::vocabulary::Stage;
use thiserror::Error;

/// What housekeeping runs with.
#[derive(Clone, Debug)]
pub struct MaintainOptions {
    /// Compaction, retention and vacuum of the lake tables.
    pub tables: TableOptions,
    /// Stored bytes of a gallery unit: the search's unit size
    /// ([`dedup::DedupOptions::unit_bytes`]), so the search takes the same units as before.
    pub unit_bytes: usize,
}

impl Default for MaintainOptions {
    fn default() -> Self {
        MaintainOptions {
            tables: TableOptions::default(),
            unit_bytes: dedup::DedupOptions::default().unit_bytes,
        }
    }
}

/// What housekeeping did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MaintainSummary {
    /// Per table that exists.
    pub tables: Vec<TableUpkeep>,
    /// The stored gallery.
    pub gallery: dedup::compact::CompactSummary,
    /// Wall time.
    #[serde(skip)]
    pub elapsed: Duration,
}

/// Housekeeping failed; what it committed before is consistent (module docs).
#[derive(Debug, Error)]
pub enum MaintainError {
    /// A table could not be maintained, or the run not recorded.
    #[error(transparent)]
    Lake(#[from] lake::LakeError),
    /// The gallery could not be compacted.
    #[error(transparent)]
    Dedup(#[from] dedup::DedupError),
}

/// Runs housekeeping on `store` as stage `maintain`. Must not overlap a dedup run (the
/// callers hold the nightly lock).
pub async fn maintain(
    store: &lake::Store,
    options: &MaintainOptions,
) -> Result<MaintainSummary, MaintainError> {
    lake::run::run_stage(store, Stage::Maintain, async |_run| {
        let started = Instant::now();
        let gallery = dedup::compact::compact(store, options.unit_bytes, &mut |line| {
            tracing::info!("maintain: {line}")
        })
        .await?;
        let mut tables = Vec::new();
        for table in lake::Table::ALL {
            if let Some(upkeep) =
                lake::maintain::maintain_table(store, table, &options.tables).await?
            {
                tracing::debug!(
                    table = %upkeep.table,
                    files_before = upkeep.files_before,
                    files_after = upkeep.files_after,
                    vacuumed = upkeep.files_vacuumed,
                    "maintain: table done"
                );
                tables.push(upkeep);
            }
        }
        Ok::<_, MaintainError>(MaintainSummary {
            tables,
            gallery,
            elapsed: started.elapsed(),
        })
    })
    .await
}

impl StageReport for MaintainSummary {
    fn counts(&self) -> RunCounts {
        let files_before: u64 = self.tables.iter().map(|t| t.files_before).sum();
        let files_after: u64 = self.tables.iter().map(|t| t.files_after).sum();
        RunCounts {
            seen: (files_before + self.gallery.partitions_before) as i64,
            processed: (files_after + self.gallery.partitions_after) as i64,
            accepted: 0,
            rejected: 0,
        }
    }

    fn detail(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl fmt::Display for MaintainSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sum = |g: fn(&TableUpkeep) -> u64| self.tables.iter().map(g).sum::<u64>();
        let checkpoints = self.tables.iter().filter(|t| t.checkpointed).count();
        writeln!(
            f,
            "maintain: {} tables: data files {} → {} ({} small files compacted, {} removed files vacuumed), {} checkpoints, {} old log entries removed",
            self.tables.len(),
            sum(|t| t.files_before),
            sum(|t| t.files_after),
            sum(|t| t.files_compacted),
            sum(|t| t.files_vacuumed),
            checkpoints,
            sum(|t| t.log_entries_removed),
        )?;
        write!(
            f,
            "maintain: gallery partitions {} → {} ({} units written, {:.1} MiB → {:.1} MiB; {} leftovers removed)  wall time {:.1}s",
            self.gallery.partitions_before,
            self.gallery.partitions_after,
            self.gallery.units_written,
            self.gallery.bytes_replaced as f64 / (1u64 << 20) as f64,
            self.gallery.bytes_written as f64 / (1u64 << 20) as f64,
            self.gallery.leftovers_removed,
            self.elapsed.as_secs_f64()
        )
    }
}
