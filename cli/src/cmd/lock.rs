//! The nightly lock as the verbs that write the lake take it (`nightly`, `maintain`).

use std::path::Path;

use anyhow::Result;

/// Exit status of a verb that did not start because another night holds the lock
/// (`EX_TEMPFAIL`): distinct from a failed run (1), so a wrapper can tell them apart.
pub const LOCK_HELD_EXIT: i32 = 75;

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
