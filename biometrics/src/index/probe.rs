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
    /// Whether `postings` holds them ([`ProbeSet::build_against_gallery`] leaves it empty).
    pub(crate) filed: bool,
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
        ProbeSet::prepare(probes, config, true)
    }

    /// Prepares probes that are searched against gallery partitions only (with the default
    /// [`IndexConfig`]): without the index over themselves that [`super::search_within`]
    /// needs, which costs as much to build as their lookups. What a cluster's executors
    /// build, since the within-batch search stays on the driver.
    pub fn build_against_gallery(probes: Vec<(String, PersonTemplate)>) -> ProbeSet {
        ProbeSet::prepare(probes, &IndexConfig::default(), false)
    }

    fn prepare(
        probes: Vec<(String, PersonTemplate)>,
        config: &IndexConfig,
        file: bool,
    ) -> ProbeSet {
        assert!(config.is_valid(), "index configuration out of range");
        let hf = config.hash_functions();
        let (lookups, filed): (Vec<ProbeKeys>, Vec<Vec<u64>>) = probes
            .par_iter()
            .map(|(_, p)| {
                let filed = if file {
                    gallery_keys(p, config, &hf)
                } else {
                    Vec::new()
                };
                (probe_keys(p, config, &hf), filed)
            })
            .unzip();
        let max_list = ((config.max_bucket_share as f64 * probes.len() as f64) as usize).max(64);
        let postings = Postings::build(if file { &filed } else { &[] }, max_list);
        let (ids, persons) = probes.into_iter().unzip();
        ProbeSet {
            config: config.clone(),
            ids,
            persons,
            lookups,
            postings,
            filed: file,
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
