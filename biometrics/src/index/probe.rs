//! The probes of one search: prepared person templates plus what the candidate stage needs
//! from them, computed once and reused for every partition searched.

use super::config::IndexConfig;
use super::keys::{gallery_keys, probe_keys, ProbeKeys};
use super::partition::Partition;
use super::postings::Postings;
use crate::fusion::PersonTemplate;
use rayon::prelude::*;
use std::borrow::Cow;

/// Probes (the night's new enrollees) with their index lookups precomputed, and an index over
/// themselves for [`super::search_within`]. Probe `i` is the `i`-th given to
/// [`ProbeSet::build`].
#[derive(Debug, Clone)]
pub struct ProbeSet {
    pub(crate) config: IndexConfig,
    pub(crate) ids: Vec<String>,
    pub(crate) persons: Vec<PersonTemplate>,
    /// Per probe, the keys it looks up in groups (probe side: rotations of the irises
    /// included).
    pub(crate) lookups: Vec<ProbeKeys>,
    /// The probes filed as a gallery (for the within-batch search).
    pub(crate) postings: Postings,
}

impl ProbeSet {
    /// Prepares the probes with the default [`IndexConfig`] (in parallel).
    pub fn build(probes: Vec<(String, PersonTemplate)>) -> ProbeSet {
        ProbeSet::build_with(probes, &IndexConfig::default())
    }

    /// Prepares the probes for partitions built with `config`.
    ///
    /// # Panics
    /// If the configuration is out of range.
    pub fn build_with(probes: Vec<(String, PersonTemplate)>, config: &IndexConfig) -> ProbeSet {
        assert!(config.is_valid(), "index configuration out of range");
        let hf = config.hash_functions();
        let (lookups, filed): (Vec<ProbeKeys>, Vec<Vec<u64>>) = probes
            .par_iter()
            .map(|(_, p)| (probe_keys(p, config, &hf), gallery_keys(p, config, &hf)))
            .unzip();
        let max_list = ((config.max_bucket_share as f64 * probes.len() as f64) as usize).max(64);
        let postings = Postings::build(&filed, max_list);
        let (ids, persons) = probes.into_iter().unzip();
        ProbeSet {
            config: config.clone(),
            ids,
            persons,
            lookups,
            postings,
        }
    }

    /// Number of probes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no probes.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The enrollment id of probe `i`.
    ///
    /// # Panics
    /// If `i` is out of range.
    pub fn enrollment_id(&self, i: u32) -> &str {
        &self.ids[i as usize]
    }

    /// The person template of probe `i`.
    ///
    /// # Panics
    /// If `i` is out of range.
    pub fn person(&self, i: u32) -> &PersonTemplate {
        &self.persons[i as usize]
    }

    /// The grouped keys probe `i` looks up in `partition`: its own, or recomputed when the
    /// partition was built with another index configuration.
    pub(crate) fn lookups_in(&self, i: usize, partition: &Partition) -> Cow<'_, ProbeKeys> {
        if self.config == partition.config {
            Cow::Borrowed(&self.lookups[i])
        } else {
            Cow::Owned(probe_keys(
                &self.persons[i],
                &partition.config,
                &partition.hf,
            ))
        }
    }
}
