//! The nightly lock: two nights never run at once on the same store.
//!
//! Every stage is idempotent, but two nights interleaving their stages would race on the same
//! Delta tables and the same case store, and the timer or an operator can easily start a second
//! night while the first is still running. [`NightlyLock::acquire`] takes an exclusive advisory
//! lock (`flock`, through `std::fs::File::try_lock`) on a lock file: for a local store
//! `<store>/nightly.lock`, for any other store a local path ([`LOCK_FILE_ENV`], default
//! `./tunggal-nightly-<hash of the store's URL>.lock`: one lock per store, so that runs on
//! different stores from one folder do not wait for each other). The operating system releases the lock when the process ends, however
//! it ends, so a killed night never leaves a stale lock behind; the file itself stays and only
//! records the pid of the last holder, for the message a second start prints.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Environment variable naming the lock file (for a store that is not a local folder).
pub const LOCK_FILE_ENV: &str = "TUNGGAL_NIGHTLY_LOCK";

/// The start of the lock file's name of a non-local store when none is given (in the working
/// directory, followed by a hash of the store's URL).
pub const DEFAULT_LOCK_PREFIX: &str = "tunggal-nightly-";

/// The lock file's name inside a local store.
pub const LOCK_FILE_NAME: &str = "nightly.lock";

/// Why the lock was not taken.
#[derive(Debug, Error)]
pub enum LockError {
    /// Another process (another night) holds the lock and we were told not to wait.
    #[error("another nightly holds {} ({}); not starting", path.display(), holder_text(*pid))]
    Held {
        /// The lock file.
        path: PathBuf,
        /// The holder's pid as it recorded it, when readable.
        pid: Option<u32>,
    },
    /// The lock file could not be opened, locked or written.
    #[error("nightly lock {}: {error}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
}

fn holder_text(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("pid {pid}"),
        None => "pid unknown".to_string(),
    }
}

/// The lock file for `store`: `explicit` when given, else `<store>/nightly.lock` for a local
/// store, else `./tunggal-nightly-<first 16 hex digits of the SHA-256 of the store URL>.lock`. (The caller reads `--lock-file` / [`LOCK_FILE_ENV`] into
/// `explicit`.)
pub fn lock_path(store: &lake::Store, explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    match store.url().to_file_path() {
        Ok(folder) if store.url().scheme() == "file" => folder.join(LOCK_FILE_NAME),
        _ => {
            use sha2::{Digest, Sha256};
            let hash = hex::encode(Sha256::digest(store.url().as_str().as_bytes()));
            PathBuf::from(".").join(format!("{DEFAULT_LOCK_PREFIX}{}.lock", &hash[..16]))
        }
    }
}

/// A held nightly lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct NightlyLock {
    file: File,
    path: PathBuf,
}

impl NightlyLock {
    /// Takes the lock on `path`, creating the file if needed, and records this process's pid
    /// in it. If another process holds it: with `wait`, calls `on_wait` once with the holder's
    /// pid and blocks until it is released; without, returns [`LockError::Held`] at once.
    pub fn acquire(
        path: &Path,
        wait: bool,
        on_wait: impl FnOnce(Option<u32>),
    ) -> Result<NightlyLock, LockError> {
        let io = |error| LockError::Io {
            path: path.to_path_buf(),
            error,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let pid = read_pid(&mut file);
                if !wait {
                    return Err(LockError::Held {
                        path: path.to_path_buf(),
                        pid,
                    });
                }
                on_wait(pid);
                file.lock().map_err(io)?;
            }
            Err(TryLockError::Error(error)) => return Err(io(error)),
        }
        // We hold it: record who we are for the next one's message.
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(NightlyLock {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file this lock holds.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for NightlyLock {
    fn drop(&mut self) {
        // Closing the file releases it too; unlocking first makes the release explicit.
        let _ = self.file.unlock();
    }
}

/// The pid the holder wrote into the lock file, if it parses.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_store_has_its_own_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let local = lake::Store::open(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(lock_path(&local, None), dir.path().join(LOCK_FILE_NAME));
        let a = lake::Store::open("s3://bucket-a/tunggal").unwrap();
        let b = lake::Store::open("s3://bucket-b/tunggal").unwrap();
        let (pa, pb) = (lock_path(&a, None), lock_path(&b, None));
        assert_ne!(pa, pb, "two S3 stores share a lock file");
        assert_eq!(pa, lock_path(&a, None));
        assert!(pa.starts_with(".") && pa.to_string_lossy().contains(DEFAULT_LOCK_PREFIX));
        let explicit = Path::new("/run/tunggal.lock");
        assert_eq!(lock_path(&a, Some(explicit)), explicit);
    }

    #[test]
    fn second_lock_is_refused_with_the_holders_pid_then_free_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nightly.lock");
        let first = NightlyLock::acquire(&path, false, |_| {}).unwrap();
        match NightlyLock::acquire(&path, false, |_| {}) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        NightlyLock::acquire(&path, false, |_| {}).unwrap();
    }
}
