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
}

/// Runs the nightly stages in order (the `nightly` library) and prints one summary.
pub async fn run(store: &lake::Store, args: &NightlyArgs) -> Result<()> {
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
    };
    let summary = nightly::nightly(store, &options).await?;
    println!("{summary}");
    Ok(())
}
