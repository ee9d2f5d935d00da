//! The nightly lock as the verbs that write the lake take it (`nightly`, `ingest`, `dedup`,
//! `export`, `maintain`, `reference load`): one writer of a store at a time, so that a stage
//! run by hand during the night cannot write what the night writes too (two ingests that both
//! read the ledger before either commits would record the same packets twice).

use std::path::{Path, PathBuf};

use anyhow::Result;

/// Exit status of a verb that did not start because another night holds the lock
/// (`EX_TEMPFAIL`): distinct from a failed run (1), so a wrapper can tell them apart.
pub const LOCK_HELD_EXIT: i32 = 75;

/// The flags of every verb that takes the nightly lock.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LockArgs {
    /// The lock file that keeps two writers of one store from overlapping. Default:
    /// `<store>/nightly.lock` for a local store, else `./tunggal-nightly-<hash of the store
    /// URL>.lock` (give every driver of one S3 store the same path on a shared folder, or run
    /// the timer on one machine only).
    #[arg(long, env = nightly::lock::LOCK_FILE_ENV)]
    pub lock_file: Option<PathBuf>,

    /// When another run holds the lock, wait for it to end instead of exiting at once.
    #[arg(long)]
    pub wait_lock: bool,
}

impl LockArgs {
    /// Takes the lock these flags name ([`hold`]).
    pub fn hold(&self, store: &lake::Store) -> Result<nightly::lock::NightlyLock> {
        hold(store, self.lock_file.as_deref(), self.wait_lock)
    }
}

/// Takes the nightly lock of `store` (`explicit` lock file, else the default), waiting for
/// the holder with `wait`; without it, exits with [`LOCK_HELD_EXIT`] and a message naming the
/// lock file and its holder.
pub fn hold(
    store: &lake::Store,
    explicit: Option<&Path>,
    wait: bool,
) -> Result<nightly::lock::NightlyLock> {
    let lock_path = nightly::lock::lock_path(store, explicit);
    let lock = nightly::lock::NightlyLock::acquire(&lock_path, wait, |pid| {
        let holder = pid.map_or("pid unknown".to_string(), |pid| format!("pid {pid}"));
        eprintln!(
            "another nightly holds {} ({holder}); waiting for it to end",
            lock_path.display()
        );
    });
    match lock {
        Ok(lock) => Ok(lock),
        Err(held @ nightly::lock::LockError::Held { .. }) => {
            eprintln!("error: {held}");
            std::process::exit(LOCK_HELD_EXIT);
        }
        Err(other) => Err(other.into()),
    }
}
