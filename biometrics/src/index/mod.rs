//! 1:N candidate index and partition search: the pure core of nightly deduplication.
//!
//! Brute force (every probe against every gallery person, 10 fingers and 2 irises each, ~0.5
//! ms per pair) does not scale to a national gallery. A [`Partition`] holds a slice of the
//! gallery in compact stored form plus an inverted index: MCC cylinders of the fingers hashed
//! by bit sampling (Cappelli, Ferrara, Maltoni, TPAMI 2011) and iris beacons (Hao, Daugman,
//! Zielinski, TIFS 2008). A probe looks up its own keys in groups (one per finger cylinder,
//! one per iris column); per member and finger position (or eye), the distinct groups that
//! hit it are counted and weighed against the number the lists' lengths predict by chance;
//! the evidence of all fingers and both eyes adds up, and only the members with the most
//! evidence (the shortlist) are decoded and compared with the full fused matcher
//! ([`crate::fusion::compare_persons`]).
//!
//! [`search`] is a pure function of (probe set, partition): the unit that runs per partition
//! locally and, later, per executor. [`search_within`] covers the probes among themselves,
//! [`search_brute`] is the exhaustive reference the index is measured against.
//! See `docs/biometrics.md`, section "1:N index", for the design, format and figures.

mod choose;
mod config;
pub mod format;
mod keys;
mod partition;
mod postings;
mod probe;
mod search;
mod staged;

pub use config::IndexConfig;
pub use format::IndexError;
pub use partition::Partition;
pub use probe::ProbeSet;
pub use search::{
    candidate_evidence, candidate_votes, search, search_brute, search_brute_first, search_many,
    search_within,
};
pub use staged::{
    compare_chosen, unit_depths, Chosen, Evidence, Ranked, Ranking, Samples, Selection, UnitPass,
};

use crate::fusion::{llr_threshold_for_fmr, Fusion, PersonScore};

/// What a search records and how much of the partition it fully compares.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchParams {
    /// The fusion model of the full comparison.
    pub fusion: Fusion,
    /// Only candidates with a fused LLR at or above this are returned.
    pub min_llr: f32,
    /// At most this many members per probe are fully compared (those with the most index
    /// evidence across the whole gallery), besides those at or above `always_votes` and
    /// those the iris check admits.
    pub shortlist: usize,
    /// Members with fewer votes are never compared (at least 1: a member no key of the probe
    /// hit has no evidence at all). A vote is one probe finger cylinder or iris column at
    /// least one of whose keys the member shares.
    pub min_votes: u32,
    /// Members with at least this many votes are compared even beyond the shortlist (a
    /// probe that matches several enrollments of one person keeps them all).
    pub always_votes: u32,
    /// Members behind the shortlist, down to this rank by index evidence, have their irises
    /// compared with the probe's (a fraction of a microsecond each); see `iris_admit_llr`.
    /// At or below `shortlist`: no iris check. Between the two search passes a probe keeps
    /// this many members (12 bytes each).
    pub iris_depth: usize,
    /// A member the iris check reaches is fully compared when the LLR of its irises alone
    /// is at least this: a poor finger capture that the index ranked low is still found
    /// through its irises, while a different person passes with probability ≤ e^-level.
    pub iris_admit_llr: f32,
    /// A shortlisted pair is given up as soon as the evidence of the modalities compared so
    /// far is at or below this (negative; minus infinity: never): the sequential test of
    /// [`crate::fusion::compare_persons_sequential`], which spares most fingers of most
    /// strangers while the same person is lost with probability at most `e^reject_llr`.
    pub reject_llr: f32,
    /// Postings lists longer than this share of a partition's members (and at least 64) are
    /// not read: a hash value that many members share is a common pattern, not evidence
    /// about anyone, yet such lists are most of the index stage's work (at 0.4 % of a
    /// 50,000-member partition, 82 % of the finger postings a probe would visit).
    pub max_list_share: f32,
}

impl Default for SearchParams {
    /// Default fusion; records candidates from the "possible match" level LLR ≥
    /// `llr_threshold_for_fmr(1e-3)` up; shortlist of 20, irises checked down to rank
    /// 10,000 (docs/benchmarks.md, "Recall at a million").
    fn default() -> Self {
        SearchParams {
            fusion: Fusion::default(),
            min_llr: llr_threshold_for_fmr(1e-3),
            shortlist: 20,
            min_votes: 1,
            always_votes: 400,
            iris_depth: 10_000,
            iris_admit_llr: 6.0,
            reject_llr: -20.0,
            max_list_share: MAX_LIST_SHARE,
        }
    }
}

/// One probe–member pair at or above `min_llr`.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Index of the probe in its [`ProbeSet`].
    pub probe: u32,
    /// Index of the member in the partition, or in the probe set for [`search_within`].
    pub member: u32,
    /// The full fused comparison.
    pub score: PersonScore,
}

/// What a search did: sizes, work and wall time per stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchStats {
    /// Probes searched.
    pub probes: u64,
    /// Members searched (probes themselves for [`search_within`]).
    pub gallery: u64,
    /// Probe–member pairs the search covers (probes × members; for [`search_within`] the
    /// unordered pairs of probes).
    pub pairs: u64,
    /// Pairs fully compared.
    pub full_comparisons: u64,
    /// Postings visited by the candidate stage (its cost).
    pub index_work: u64,
    /// Of `index_work`, the postings the iris lookups visited (the rest are the fingers').
    pub iris_work: u64,
    /// Members behind the shortlist whose irises were compared ([`SearchParams::iris_depth`]).
    pub iris_checks: u64,
    /// Members fully compared with at least one probe (their fingers are rebuilt as far as
    /// the comparisons reach).
    pub members_decoded: u64,
    /// Wall time of the candidate stage, nanoseconds (not deterministic).
    pub index_ns: u64,
    /// Wall time of decoding and full comparison, nanoseconds (not deterministic).
    pub match_ns: u64,
}

/// Default of [`SearchParams::max_list_share`], and the share above which
/// [`Partition::merge`] drops a merged list (the search would not read it).
pub const MAX_LIST_SHARE: f32 = 0.004;

/// Longest postings list worth reading (or keeping) in a partition of `members` at `share`:
/// never below 64, so small partitions keep their lists.
pub(crate) fn list_cap(share: f32, members: usize) -> usize {
    ((share as f64 * members as f64) as usize).max(64)
}

impl SearchParams {
    /// Longest postings list a lookup reads in a partition of `members`.
    pub fn list_cap(&self, members: usize) -> usize {
        list_cap(self.max_list_share, members)
    }
}

impl SearchStats {
    /// Share of all probe–member pairs that were fully compared (for [`search_within`], of
    /// the unordered pairs).
    pub fn penetration(&self) -> f64 {
        if self.pairs == 0 {
            0.0
        } else {
            self.full_comparisons as f64 / self.pairs as f64
        }
    }

    /// Adds another search's figures (e.g. over partitions).
    pub fn add(&mut self, other: &SearchStats) {
        self.probes = self.probes.max(other.probes);
        self.gallery += other.gallery;
        self.pairs += other.pairs;
        self.full_comparisons += other.full_comparisons;
        self.index_work += other.index_work;
        self.iris_work += other.iris_work;
        self.iris_checks += other.iris_checks;
        self.members_decoded += other.members_decoded;
        self.index_ns += other.index_ns;
        self.match_ns += other.match_ns;
    }
}
