//! The gallery as persisted partitions: `dedup/segments/<run_id>/<batch>.seg` in the store,
//! one per batch of probes a run deduplicated, each a [`biometrics::index::Partition`]
//! (candidate index + compact templates) in its own versioned format.
//!
//! The gallery grows by one set of partitions per night and is never rebuilt. A run's
//! partitions count only once its `identity_status` commit names it as some enrollment's
//! `first_run_id`; partitions of a run that died before that commit are deleted by the next
//! run, which searches those probes again.

use std::collections::HashSet;

use biometrics::index::Partition;
use bytes::Bytes;
use lake::Store;
use object_store::ObjectStoreExt;

use crate::error::{DedupError, Result};

/// Folder of the persisted gallery partitions, relative to the store root.
pub const PREFIX: &str = "dedup/segments";

/// Object path of partition `batch` of run `run_id`.
pub fn path(run_id: &str, batch: usize) -> String {
    format!("{PREFIX}/{run_id}/{batch:05}.seg")
}

fn run_of(path: &str) -> Option<&str> {
    path.strip_prefix(PREFIX)?
        .trim_start_matches('/')
        .split('/')
        .next()
}

/// The partitions of committed runs (in path order, so oldest runs' batches stay together),
/// and the paths of partitions left by runs that never committed.
pub async fn list(
    store: &Store,
    committed: &HashSet<String>,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut paths: Vec<String> = store
        .list(PREFIX)
        .await?
        .into_iter()
        .map(|m| m.location.to_string())
        .filter(|p| p.ends_with(".seg"))
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .partition(|p| run_of(p).is_some_and(|r| committed.contains(r))))
}

/// Deletes partitions left by runs that never committed; returns how many went.
pub async fn remove(store: &Store, paths: &[String]) -> Result<usize> {
    for p in paths {
        store
            .objects()
            .delete(&p.as_str().into())
            .await
            .map_err(lake::LakeError::from)?;
    }
    Ok(paths.len())
}

/// Writes one partition.
pub async fn save(store: &Store, run_id: &str, batch: usize, partition: &Partition) -> Result<()> {
    store
        .put(&path(run_id, batch), Bytes::from(partition.to_bytes()))
        .await?;
    Ok(())
}

/// Reads one partition.
pub async fn load(store: &Store, path: &str) -> Result<Partition> {
    let bytes = store.get(path).await?;
    Partition::from_bytes(&bytes).map_err(|e| DedupError::Segment {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

/// Total size in bytes of the committed partitions (for the summary).
pub async fn total_size(store: &Store, paths: &[String]) -> Result<u64> {
    let set: HashSet<&str> = paths.iter().map(|p| p.as_str()).collect();
    Ok(store
        .list(PREFIX)
        .await?
        .iter()
        .filter(|m| set.contains(m.location.as_ref()))
        .map(|m| m.size)
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_run() {
        let p = path("run-1", 3);
        assert_eq!(p, "dedup/segments/run-1/00003.seg");
        assert_eq!(run_of(&p), Some("run-1"));
    }
}
