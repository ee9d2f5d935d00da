//! `tunggal nightly`: the DC's nightly job, every stage in order, safe to re-run: flags in,
//! the `nightly` library's summary out (the stages and their order are documented there).

use std::path::PathBuf;

use anyhow::Result;

use super::dedup::DedupArgs;
use super::ingest::IngestArgs;

/// Flags of `tunggal nightly`.
#[derive(clap::Args, Debug)]
pub struct NightlyArgs {
    #[command(flatten)]
    ingest: IngestArgs,

    #[command(flatten)]
    dedup: DedupArgs,

    /// The adjudication case store (SQLite). Default: `<store>/adjudication/cases.sqlite` for
    /// a local store, else `./tunggal-cases.sqlite`.
    #[arg(long, env = adjudication::CASE_DB_ENV)]
    case_db: Option<PathBuf>,

    /// The DC's Ed25519 signing key for personalization jobs (see `tunggal export`).
    #[arg(long, env = personalization_export::keys::SIGNING_KEY_ENV)]
    signing_key: Option<PathBuf>,

    #[command(flatten)]
    lock: super::lock::LockArgs,

    /// Write the night's Prometheus metrics to this file (node-exporter's textfile
    /// collector, e.g. `/var/lib/node-exporter/textfile/tunggal.prom`) after every stage and
    /// at the end, also when a stage fails; replaced atomically. Families: docs/operations.md.
    #[arg(long, env = "TUNGGAL_METRICS_FILE")]
    metrics_file: Option<PathBuf>,

    /// Skip the last stage, housekeeping (then run `tunggal maintain` yourself).
    #[arg(long)]
    no_maintain: bool,

    /// Days of history the tables keep readable by time travel (see `tunggal maintain`).
    #[arg(long, env = "TUNGGAL_RETAIN_DAYS", default_value_t = 35)]
    retain_days: u32,
}

/// Runs the nightly stages in order (the `nightly` library) and prints one summary.
///
/// Holds the nightly lock for the whole night: a second start exits with status
/// [`super::lock::LOCK_HELD_EXIT`] and a message naming the lock file and its holder, or waits with
/// `--wait-lock`.
pub async fn run(store: &lake::Store, args: &NightlyArgs) -> Result<()> {
    let _lock = args.lock.hold(store)?;
    let options = nightly::NightlyOptions {
        ingest: args.ingest.options(),
        dedup: args.dedup.options(!args.ingest.no_progress),
        cluster: args.dedup.cluster(),
        case_db: args.case_db.clone(),
        export: personalization_export::ExportOptions {
            signing_key: args.signing_key.clone(),
            fetch_concurrency: args.ingest.fetch_concurrency,
            ..Default::default()
        },
        metrics_file: args.metrics_file.clone(),
        maintain: (!args.no_maintain).then(|| nightly::maintain::MaintainOptions {
            tables: lake::maintain::MaintainOptions {
                retain: chrono::Duration::days(i64::from(args.retain_days)),
                ..Default::default()
            },
            unit_bytes: super::dedup::mib_to_bytes(args.dedup.unit_mib),
        }),
    };
    let summary = nightly::nightly(store, &options).await?;
    println!("{summary}");
    Ok(())
}
