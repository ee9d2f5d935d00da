//! The files a driver leaves in the store for its executors, under
//! `dedup/runs/<run_id>/<batch>/`: the batch's probes (`probes.bin`: each probe's id and
//! its templates in their stored forms) and, per gallery unit, the members chosen for the
//! second pass (`chosen-<k>.bin`). Each is named in the plan with its SHA-256, which the
//! executor checks before use: a file replaced or cut short is an error, never another
//! search.

use biometrics::finger::FingerTemplate;
use biometrics::fusion::PersonTemplate;
use biometrics::index::{Chosen, ProbeSet};
use biometrics::iris::IrisCode;
use bytes::Bytes;
use lake::Store;
use object_store::ObjectStoreExt;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::spec::FileRef;
use crate::{ClusterError, Result};

/// Folder of the driver's files, relative to the store root.
pub const PREFIX: &str = "dedup/runs";

const PROBES_MAGIC: &[u8; 8] = b"TGPROBE1";
const CHOSEN_MAGIC: &[u8; 8] = b"TGCHOSE1";
const FLOORS_MAGIC: &[u8; 8] = b"TGFLOOR1";

/// Writes `bytes` to `path` and names it with its hash.
async fn put(store: &Store, path: String, bytes: Vec<u8>) -> Result<FileRef> {
    let sha256 = hex::encode(Sha256::digest(&bytes));
    store.put(&path, Bytes::from(bytes)).await?;
    Ok(FileRef { path, sha256 })
}

/// Reads a file and checks it is the one named.
pub async fn get(store: &Store, file: &FileRef) -> Result<Bytes> {
    let bytes = store.get(&file.path).await?;
    let got = hex::encode(Sha256::digest(&bytes));
    if got != file.sha256 {
        return Err(ClusterError::File {
            path: file.path.clone(),
            reason: format!("SHA-256 {got} is not the {} the plan names", file.sha256),
        });
    }
    Ok(bytes)
}

/// Writes the probes of batch `batch` (`<run_id>/<n>`).
pub async fn put_probes(store: &Store, batch: &str, probes: &ProbeSet) -> Result<FileRef> {
    put(
        store,
        format!("{PREFIX}/{batch}/probes.bin"),
        encode_probes(probes),
    )
    .await
}

/// Writes the members chosen in unit `unit` for the second pass of batch `batch`.
pub async fn put_chosen(
    store: &Store,
    batch: &str,
    unit: usize,
    chosen: &Chosen,
) -> Result<FileRef> {
    put(
        store,
        format!("{PREFIX}/{batch}/chosen-{unit:05}.bin"),
        encode_chosen(chosen),
    )
    .await
}

/// Writes each probe's floor for the gather job of batch `batch`.
pub async fn put_floors(store: &Store, batch: &str, floors: &[f32]) -> Result<FileRef> {
    let mut out = FLOORS_MAGIC.to_vec();
    out.extend_from_slice(&(floors.len() as u32).to_le_bytes());
    for f in floors {
        out.extend_from_slice(&f.to_bits().to_le_bytes());
    }
    put(store, format!("{PREFIX}/{batch}/floors.bin"), out).await
}

/// The floors again, for `probes` probes.
pub fn decode_floors(path: &str, bytes: &[u8], probes: usize) -> Result<Vec<f32>> {
    let bad = |reason: String| ClusterError::File {
        path: path.to_string(),
        reason,
    };
    let mut r = Reader { bytes, at: 0 };
    if r.take(8).map_err(&bad)? != FLOORS_MAGIC {
        return Err(bad("not a floors file".into()));
    }
    let n = r.u32().map_err(&bad)? as usize;
    if n != probes {
        return Err(bad(format!(
            "floors for {n} probes, the batch has {probes}"
        )));
    }
    let floors = (0..n)
        .map(|_| r.u32().map(f32::from_bits))
        .collect::<std::result::Result<Vec<f32>, String>>()
        .map_err(&bad)?;
    if r.at != bytes.len() {
        return Err(bad("trailing bytes".into()));
    }
    Ok(floors)
}

/// Deletes the files of every batch of `run_id` (after the run's search is done).
pub async fn remove_run(store: &Store, run_id: &str) -> Result<()> {
    remove_under(store, &format!("{PREFIX}/{run_id}")).await
}

/// Deletes every driver file, of whatever run (those a failed run left).
pub async fn remove_all(store: &Store) -> Result<()> {
    remove_under(store, PREFIX).await
}

async fn remove_under(store: &Store, prefix: &str) -> Result<()> {
    for meta in store.list(prefix).await? {
        store
            .objects()
            .delete(&meta.location)
            .await
            .map_err(lake::LakeError::from)?;
    }
    Ok(())
}

/// The probes as bytes: magic, count, then per probe its id and its twelve slots (ten
/// fingers, two irises), each as a length and the stored form (length 0: none).
pub fn encode_probes(probes: &ProbeSet) -> Vec<u8> {
    let mut out = PROBES_MAGIC.to_vec();
    out.extend_from_slice(&(probes.len() as u32).to_le_bytes());
    for i in 0..probes.len() as u32 {
        let id = probes.enrollment_id(i).as_bytes();
        out.extend_from_slice(&(id.len() as u32).to_le_bytes());
        out.extend_from_slice(id);
        let person = probes.person(i);
        let slots = person
            .fingers
            .iter()
            .map(|f| f.as_ref().map(FingerTemplate::to_bytes))
            .chain(
                person
                    .irises
                    .iter()
                    .map(|c| c.as_ref().map(IrisCode::to_bytes)),
            );
        for slot in slots {
            let b = slot.unwrap_or_default();
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(&b);
        }
    }
    out
}

/// The probes again, prepared for the gallery search as [`ProbeSet::build`] prepares them
/// (in parallel; the within-batch search runs on the driver, so without their own index).
pub fn decode_probes(path: &str, bytes: &[u8]) -> Result<ProbeSet> {
    let bad = |reason: String| ClusterError::File {
        path: path.to_string(),
        reason,
    };
    let mut r = Reader { bytes, at: 0 };
    if r.take(8).map_err(&bad)? != PROBES_MAGIC {
        return Err(bad("not a probes file".into()));
    }
    let n = r.u32().map_err(&bad)? as usize;
    let mut raw: Vec<(String, Vec<&[u8]>)> = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let len = r.u32().map_err(&bad)? as usize;
        let id = std::str::from_utf8(r.take(len).map_err(&bad)?)
            .map_err(|_| bad("an id is not UTF-8".into()))?
            .to_string();
        let mut slots = Vec::with_capacity(12);
        for _ in 0..12 {
            let len = r.u32().map_err(&bad)? as usize;
            slots.push(r.take(len).map_err(&bad)?);
        }
        raw.push((id, slots));
    }
    if r.at != bytes.len() {
        return Err(bad("trailing bytes".into()));
    }
    let people: Vec<(String, PersonTemplate)> = raw
        .into_par_iter()
        .map(|(id, slots)| {
            let mut p = PersonTemplate::default();
            for (s, b) in slots.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
                if s < 10 {
                    p.fingers[s] = Some(FingerTemplate::from_bytes(b).map_err(|e| e.to_string())?);
                } else {
                    p.irises[s - 10] = Some(IrisCode::from_bytes(b).map_err(|e| e.to_string())?);
                }
            }
            Ok((id, p))
        })
        .collect::<std::result::Result<_, String>>()
        .map_err(|e| bad(format!("a template does not decode: {e}")))?;
    Ok(ProbeSet::build_against_gallery(people))
}

/// The chosen members as bytes: magic, probe count, then per probe the two ascending lists,
/// each as a count and little-endian u32 indices.
pub fn encode_chosen(chosen: &Chosen) -> Vec<u8> {
    let mut out = CHOSEN_MAGIC.to_vec();
    out.extend_from_slice(&(chosen.per_probe.len() as u32).to_le_bytes());
    for (sure, behind) in &chosen.per_probe {
        for list in [sure, behind] {
            out.extend_from_slice(&(list.len() as u32).to_le_bytes());
            for m in list {
                out.extend_from_slice(&m.to_le_bytes());
            }
        }
    }
    out
}

/// The chosen members again; `members` bounds every index (the unit's size).
pub fn decode_chosen(path: &str, bytes: &[u8], members: usize) -> Result<Chosen> {
    let bad = |reason: String| ClusterError::File {
        path: path.to_string(),
        reason,
    };
    let mut r = Reader { bytes, at: 0 };
    if r.take(8).map_err(&bad)? != CHOSEN_MAGIC {
        return Err(bad("not a chosen-members file".into()));
    }
    let n = r.u32().map_err(&bad)? as usize;
    let mut per_probe = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let mut lists = [Vec::new(), Vec::new()];
        for list in &mut lists {
            let len = r.u32().map_err(&bad)? as usize;
            list.reserve(len.min(1 << 20));
            for _ in 0..len {
                let m = r.u32().map_err(&bad)?;
                if m as usize >= members {
                    return Err(bad(format!("member {m} beyond the unit's {members}")));
                }
                list.push(m);
            }
        }
        let [sure, behind] = lists;
        per_probe.push((sure, behind));
    }
    if r.at != bytes.len() {
        return Err(bad("trailing bytes".into()));
    }
    Ok(Chosen { per_probe })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| format!("cut short at byte {}", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use biometrics::index::Partition;

    fn probes() -> ProbeSet {
        let mut p = PersonTemplate::default();
        let tft = |n: u16| {
            let mut b = b"TFT\x01".to_vec();
            b.extend_from_slice(&n.to_le_bytes());
            for i in 0..n as i16 {
                b.extend_from_slice(&(40 * i + 100).to_le_bytes());
                b.extend_from_slice(&(37 * i + 90).to_le_bytes());
                b.extend_from_slice(&(1000u16 * i as u16).to_le_bytes());
                b.push(1);
            }
            FingerTemplate::from_bytes(&b).unwrap()
        };
        p.fingers[1] = Some(tft(20));
        p.fingers[6] = Some(tft(14));
        ProbeSet::build(vec![
            ("e-1".into(), p),
            ("e-2".into(), PersonTemplate::default()),
        ])
    }

    #[test]
    fn probes_cross_as_the_same_prepared_templates() {
        let probes = probes();
        let bytes = encode_probes(&probes);
        let back = decode_probes("p", &bytes).unwrap();
        assert_eq!(back.len(), 2);
        for i in 0..2 {
            assert_eq!(back.enrollment_id(i), probes.enrollment_id(i));
            // Equal stored forms and equal indexing: the same partition built from both.
            let a = Partition::build(vec![("x".into(), probes.person(i).clone())]);
            let b = Partition::build(vec![("x".into(), back.person(i).clone())]);
            assert_eq!(a, b);
        }
        assert!(decode_probes("p", &bytes[..bytes.len() - 3]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_probes("p", &longer).is_err());
    }

    #[test]
    fn chosen_lists_cross_and_indices_beyond_the_unit_are_refused() {
        let chosen = Chosen {
            per_probe: vec![(vec![1, 4], vec![7]), (vec![], vec![])],
        };
        let bytes = encode_chosen(&chosen);
        assert_eq!(decode_chosen("c", &bytes, 8).unwrap(), chosen);
        assert!(decode_chosen("c", &bytes, 7).is_err());
        assert!(decode_chosen("c", &bytes[..10], 8).is_err());
    }
}
