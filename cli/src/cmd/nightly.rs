//! `tunggal nightly`: the DC's nightly job, every stage in order, safe to re-run: flags in,
//! the `nightly` library's summary out (the stages and their order are documented there).

use std::path::PathBuf;

use anyhow::Result;

use super::dedup::DedupArgs;
use super::ingest::IngestArgs;

/// Exit status of a `tunggal nightly` that did not start because another night holds the
/// lock (`EX_TEMPFAIL`): distinct from a failed night (1), so a wrapper can tell them apart.
pub const LOCK_HELD_EXIT: i32 = 75;

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

    /// The lock file that keeps two nights from overlapping. Default: `<store>/nightly.lock`
    /// for a local store, else `./tunggal-nightly.lock` (give every driver of one S3 store the
    /// same path on a shared folder, or run the timer on one machine only).
    #[arg(long, env = nightly::lock::LOCK_FILE_ENV)]
    lock_file: Option<PathBuf>,

    /// When another night holds the lock, wait for it to end instead of exiting at once.
    #[arg(long)]
    wait_lock: bool,
}

/// Runs the nightly stages in order (the `nightly` library) and prints one summary.
///
/// Holds the nightly lock for the whole night: a second start exits with status
/// [`LOCK_HELD_EXIT`] and a message naming the lock file and its holder, or waits with
/// `--wait-lock`.
pub async fn run(store: &lake::Store, args: &NightlyArgs) -> Result<()> {
    let lock_path = nightly::lock::lock_path(store, args.lock_file.as_deref());
    let lock = nightly::lock::NightlyLock::acquire(&lock_path, args.wait_lock, |pid| {
        let holder = pid.map_or("pid unknown".to_string(), |pid| format!("pid {pid}"));
        eprintln!(
            "another nightly holds {} ({holder}); waiting for it to end",
            lock_path.display()
        );
    });
    let _lock = match lock {
        Ok(lock) => lock,
        Err(held @ nightly::lock::LockError::Held { .. }) => {
            eprintln!("error: {held}");
            std::process::exit(LOCK_HELD_EXIT);
        }
        Err(other) => return Err(other.into()),
    };
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
