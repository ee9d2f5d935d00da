//! Why a planted duplicate was missed: the two ways a 1:N search loses a mate.
//!
//! - **The matcher**: the full fused comparison of the missed enrollment with the earlier
//!   enrollment of the same person scores below the `match` threshold (poor captures, a
//!   missing finger or eye). The index is then not to blame.
//! - **The index**: the fused score would have passed, but the earlier enrollment did not
//!   make the probe's shortlist: its rank by index evidence, over the whole stored gallery,
//!   is beyond the shortlist.
//!
//! [`explain`] measures both for each missed pair, so the FNIR of `tunggal eval dedup` comes
//! with where to look. It reads only ids, scores and ranks: no personal data.

use std::collections::HashMap;

use biometrics::fusion::{compare_persons, Fusion, Modality, PersonTemplate};
use biometrics::index::{candidate_evidence, ProbeSet};
use datafusion::prelude::SessionContext;
use dedup::{load, segments};
use lake::Store;

use crate::error::Result;

/// One missed planted duplicate and its earlier mate, measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MissedPair {
    /// The missed enrollment.
    pub enrollment_id: String,
    /// Its synth case (`fraud_duplicate`, `reenrollment`, `unique` for the later capture of a
    /// pair whose other capture came first, …).
    pub case: String,
    /// The earlier enrollment of the same person it is compared with.
    pub mate_id: String,
    /// Fused LLR of the full comparison (`None`: a template of either did not decode).
    pub llr: Option<f32>,
    /// Of which fingers (same positions and swap hypotheses) and irises.
    pub finger_llr: f32,
    /// The irises' share of `llr`.
    pub iris_llr: f32,
    /// Same-position finger pairs and eyes compared.
    pub compared: (u8, u8),
    /// The mate's rank (1 = first) among the gallery members the probe's index lookups hit,
    /// by the evidence the shortlist is drawn by; `None` when the index found no evidence
    /// for it at all (or it is not in a stored partition).
    pub rank: Option<usize>,
    /// Gallery members with any index evidence for the probe.
    pub hit: usize,
}

/// Measures each `(missed enrollment, synth case, earlier mate)`: the full fused comparison
/// and the mate's rank in the probe's index evidence over every committed stored partition
/// (the whole gallery now, a superset of what the run searched, so the rank is if anything
/// pessimistic). Partitions are read one at a time.
pub async fn explain(
    store: &Store,
    ctx: &SessionContext,
    missed: &[(String, String, String)],
    committed_runs: &std::collections::HashSet<String>,
) -> Result<Vec<MissedPair>> {
    if missed.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<String> = missed
        .iter()
        .flat_map(|(id, _, mate)| [id.clone(), mate.clone()])
        .collect();
    ids.sort();
    ids.dedup();
    let people: HashMap<String, PersonTemplate> = load::templates(ctx, &ids)
        .await?
        .people
        .into_iter()
        .collect();
    let fusion = Fusion::default();
    let mut out: Vec<MissedPair> = missed
        .iter()
        .map(|(id, case, mate)| {
            let mut m = MissedPair {
                enrollment_id: id.clone(),
                case: case.clone(),
                mate_id: mate.clone(),
                ..Default::default()
            };
            if let (Some(a), Some(b)) = (people.get(id), people.get(mate)) {
                let s = compare_persons(a, b, &fusion);
                m.llr = Some(s.llr);
                for p in &s.parts {
                    match p.what {
                        Modality::Finger(x, y) => {
                            m.finger_llr += p.llr;
                            m.compared.0 += u8::from(x == y);
                        }
                        Modality::Iris(_) => {
                            m.iris_llr += p.llr;
                            m.compared.1 += 1;
                        }
                    }
                }
            }
            m
        })
        .collect();

    // Index evidence of each probe over the whole gallery: (evidence, votes, enrollment).
    let probes: Vec<(String, PersonTemplate)> = missed
        .iter()
        .filter_map(|(id, _, _)| people.get(id).map(|p| (id.clone(), p.clone())))
        .collect();
    let set = ProbeSet::build(probes);
    let mut evidence: Vec<Vec<(f32, u32, String)>> = vec![Vec::new(); set.len()];
    let paths = segments::list(store, committed_runs).await?.gallery;
    for path in &paths {
        let part = segments::load(store, path).await?;
        for (i, found) in evidence.iter_mut().enumerate() {
            let me = set.enrollment_id(i as u32);
            found.extend(
                candidate_evidence(&set, i as u32, &part)
                    .into_iter()
                    .map(|(e, v, member)| (e, v, part.enrollment_id(member).to_string()))
                    .filter(|(_, _, id)| id != me),
            );
        }
    }
    let row_of: HashMap<&str, usize> = (0..set.len())
        .map(|i| (set.enrollment_id(i as u32), i))
        .collect();
    for m in &mut out {
        if let Some(&i) = row_of.get(m.enrollment_id.as_str()) {
            let found = &mut evidence[i];
            found.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            m.hit = found.len();
            m.rank = found
                .iter()
                .position(|(_, _, id)| *id == m.mate_id)
                .map(|r| r + 1);
        }
    }
    Ok(out)
}
