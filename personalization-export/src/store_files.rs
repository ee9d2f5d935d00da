//! Job folders as files in the store: read a whole folder, delete one object.
//!
//! The one idea to hold in mind: a job is checked from the bytes the store holds (what an
//! office would download), so `export check` and crash recovery read the folder back rather
//! than trusting what a run meant to write.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use lake::Store;
use object_store::ObjectStoreExt;

use crate::error::{ExportError, Result};

/// Objects read from the store at the same time.
const READ_CONCURRENCY: usize = 16;

/// Every file of a job folder in the store, by path relative to the folder.
pub async fn read_job_files(store: &Store, dir: &str) -> Result<BTreeMap<String, Vec<u8>>> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let listed = store.list(&prefix).await?;
    let names: Vec<(String, String)> = listed
        .into_iter()
        .filter_map(|m| {
            let full = m.location.to_string();
            let rel = full.strip_prefix(&prefix)?.to_string();
            Some((full, rel))
        })
        .collect();
    futures::stream::iter(names.into_iter().map(|(full, rel)| async move {
        let bytes = store.get(&full).await?;
        Ok::<_, ExportError>((rel, bytes.to_vec()))
    }))
    .buffered(READ_CONCURRENCY)
    .try_collect()
    .await
}

/// Deletes the object at `path` (relative to the store root).
pub async fn delete_object(store: &Store, path: &str) -> Result<()> {
    store
        .objects()
        .delete(&object_store::path::Path::from(path))
        .await?;
    Ok(())
}
