//! What earlier batches of the store enrolled, for plants that a later night must catch
//! across nights: persons enrolling again under a new NIK, and NIKs hijacked by someone else.
//!
//! Read from the earlier batches' truth files and SIAK extracts when a batch with cross-batch
//! plants starts. Only `unique` first enrollments qualify (a person of their own lineage, all
//! fingers and eyes, a SIAK identity of their own), minus those an earlier cross-batch plant
//! already used. A person's biometrics are regenerated from the earlier batch's seed (the
//! `s<seed>-` prefix of its id) and the person index (the `-P<index>` suffix of its id),
//! exactly as [`crate::world::World::plan`] derived them.

use crate::biometric::Lineage;
use crate::store::at;
use crate::truth::{self, EarlierRef};
use crate::world::derive_seed;
use crate::SynthError;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use reference::Resident;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One first enrollment of an earlier batch that a cross-batch plant may target.
#[derive(Debug, Clone)]
pub struct EarlierEnrollee {
    /// Which earlier enrollment this is.
    pub reference: EarlierRef,
    /// The person's biometrics, as the earlier batch generated them.
    pub lineage: Lineage,
    /// The SIAK record the earlier packet carried.
    pub resident: Resident,
}

/// The seed of a batch, from its id (`s<seed>-<start>-d<days>-n<people>-<tag>`).
fn batch_seed(batch: &str) -> Option<u64> {
    batch.strip_prefix('s')?.split('-').next()?.parse().ok()
}

/// The person index of a truth person id (`<tag>-P<index>`).
fn person_index(person_id: &str) -> Option<u64> {
    person_id.rsplit_once("-P")?.1.parse().ok()
}

/// Every qualifying first enrollment of the batches in the store other than `skip_batch`,
/// ordered by batch and packet id (so a plan drawing from them is reproducible).
pub async fn load(
    store: &dyn ObjectStore,
    root: &Path,
    skip_batch: &str,
) -> Result<Vec<EarlierEnrollee>, SynthError> {
    let prefix = at(root, truth::ENROLLEES_PREFIX);
    let mut metas: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
    metas.sort_by(|a, b| a.location.cmp(&b.location));
    let mut truths: BTreeMap<String, Vec<_>> = BTreeMap::new();
    let mut used: HashSet<String> = HashSet::new();
    for meta in metas {
        let Some(batch) = meta
            .location
            .filename()
            .and_then(|f| f.strip_suffix(".csv"))
            .map(str::to_string)
        else {
            continue;
        };
        if batch == skip_batch {
            continue;
        }
        let bytes = store.get(&meta.location).await?.bytes().await?;
        let rows = truth::from_csv_cross_batch(&bytes)?;
        used.extend(
            rows.iter()
                .filter_map(|(_, e)| e.clone())
                .map(|e| e.earlier_packet_id),
        );
        truths.insert(batch, rows);
    }
    let mut out = Vec::new();
    for (batch, rows) in truths {
        let Some(seed) = batch_seed(&batch) else {
            continue;
        };
        let siak_path = at(root, &reference::siak::object_path(&batch));
        let residents: HashMap<String, Resident> = match store.get(&siak_path).await {
            Ok(got) => reference::siak::read_csv(got.bytes().await?.as_ref())?
                .into_iter()
                .map(|r| (r.nik.to_string(), r))
                .collect(),
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut seen = HashSet::new();
        for (row, _) in rows {
            if row.case != "unique" || used.contains(&row.packet_id) {
                continue;
            }
            // A re-upload repeats the packet id: keep one.
            if !seen.insert(row.packet_id.clone()) {
                continue;
            }
            let (Some(index), Some(resident)) =
                (person_index(&row.person_id), residents.get(&row.nik))
            else {
                continue;
            };
            out.push(EarlierEnrollee {
                reference: EarlierRef {
                    earlier_batch: batch.clone(),
                    earlier_packet_id: row.packet_id,
                    earlier_person_id: row.person_id,
                },
                lineage: Lineage::Own {
                    seed: derive_seed(seed, "person", index),
                },
                resident: resident.clone(),
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.reference.earlier_batch, &a.reference.earlier_packet_id)
            .cmp(&(&b.reference.earlier_batch, &b.reference.earlier_packet_id))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse() {
        assert_eq!(batch_seed("s42-20261120-d2-n120-abcdef"), Some(42));
        assert_eq!(batch_seed("x42"), None);
        assert_eq!(person_index("abcdef-P0000017"), Some(17));
        assert_eq!(person_index("abcdef"), None);
    }
}
