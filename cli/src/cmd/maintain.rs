//! `tunggal maintain`: housekeeping of the lake tables and the stored gallery (the `nightly`
//! library's `maintain` stage, also the last stage of every night), under the nightly lock.

use anyhow::Result;

/// Flags of `tunggal maintain`.
#[derive(clap::Args, Debug)]
pub struct MaintainArgs {
    /// Days of history every table keeps readable by time travel (removed data files and log
    /// entries older than this are deleted). Adjudication and audit need 35 days: see
    /// docs/operations.md before lowering it.
    #[arg(long, env = "TUNGGAL_RETAIN_DAYS", default_value_t = 35)]
    pub retain_days: u32,

    /// Size in MiB that compaction of small data files aims for (its largest tier; the
    /// smaller one is a sixteenth of it).
    #[arg(long, default_value_t = 128)]
    pub target_file_mib: u64,

    /// Compact a tier only when at least this many of a table's files are below half the
    /// tier's size, so a night's few small files do not make compaction rewrite the table.
    #[arg(long, default_value_t = 8)]
    pub fan_in: usize,

    /// Also delete files no table version references (leftovers of a writer that died
    /// before committing). Lists every table's whole folder: run it now and then, not nightly.
    #[arg(long)]
    pub full_vacuum: bool,

    /// MiB of stored gallery per unit: the same value as the nightly's `--unit-mib`, so the
    /// compacted gallery is searched in the same units (same results).
    #[arg(long, default_value_t = 1024.0)]
    pub unit_mib: f64,

    #[command(flatten)]
    pub lock: super::lock::LockArgs,
}

impl MaintainArgs {
    /// The library's options from the flags.
    pub fn options(&self) -> nightly::maintain::MaintainOptions {
        nightly::maintain::MaintainOptions {
            tables: lake::maintain::MaintainOptions {
                retain: chrono::Duration::days(i64::from(self.retain_days)),
                target_file_bytes: self.target_file_mib.max(1) << 20,
                fan_in: self.fan_in,
                full_vacuum: self.full_vacuum,
            },
            unit_bytes: super::dedup::mib_to_bytes(self.unit_mib),
        }
    }
}

/// Runs housekeeping once and prints its summary.
pub async fn run(store: &lake::Store, args: &MaintainArgs) -> Result<()> {
    let _lock = args.lock.hold(store)?;
    let summary = nightly::maintain::maintain(store, &args.options()).await?;
    println!("{summary}");
    Ok(())
}
