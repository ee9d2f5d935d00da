//! Object-store I/O of a batch: reading the SIAK extract already in the store, writing
//! objects, and uploading many packets with bounded concurrency.

use crate::SynthError;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use reference::{KkNumber, Nik};
use std::collections::HashSet;

/// `root` joined with a relative `a/b/c` path, one segment at a time.
pub fn at(root: &Path, relative: &str) -> Path {
    relative
        .split('/')
        .filter(|s| !s.is_empty())
        .fold(root.clone(), |p, seg| p.join(seg))
}

/// NIKs and KK numbers of every SIAK extract file in the store except `skip_batch`'s own
/// (so that re-running a batch reproduces it instead of dodging its own numbers).
pub async fn existing_ids(
    store: &dyn ObjectStore,
    root: &Path,
    skip_batch: &str,
) -> Result<(HashSet<Nik>, HashSet<KkNumber>), SynthError> {
    let prefix = at(root, reference::siak::STORE_PREFIX);
    let own = at(root, &reference::siak::object_path(skip_batch));
    let metas: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
    let mut niks = HashSet::new();
    let mut kks = HashSet::new();
    for meta in metas {
        if meta.location == own || !meta.location.as_ref().ends_with(".csv") {
            continue;
        }
        let bytes = store.get(&meta.location).await?.bytes().await?;
        for r in reference::siak::read_csv(bytes.as_ref())? {
            niks.insert(r.nik);
            kks.insert(r.kk_number);
        }
    }
    Ok((niks, kks))
}

/// Writes one object.
pub async fn put(store: &dyn ObjectStore, path: &Path, bytes: Vec<u8>) -> Result<(), SynthError> {
    store
        .put(path, PutPayload::from(Bytes::from(bytes)))
        .await?;
    Ok(())
}

/// Uploads `(path, bytes)` pairs with at most `concurrency` in flight; returns bytes written.
pub async fn put_many(
    store: &dyn ObjectStore,
    objects: Vec<(Path, Vec<u8>)>,
    concurrency: usize,
) -> Result<u64, SynthError> {
    let sizes = futures::stream::iter(objects)
        .map(|(path, bytes)| async move {
            let n = bytes.len() as u64;
            put(store, &path, bytes).await.map(|_| n)
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<u64>>()
        .await?;
    Ok(sizes.iter().sum())
}
