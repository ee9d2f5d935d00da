//! What a search task is told: the job, the store, the files the driver left, the gallery
//! units and the search parameters. Serialized into the plan node (JSON), so it holds paths
//! and hashes, never templates: a plan stays far below Ballista's 16 MiB message limit.

use biometrics::fusion::Fusion;
use biometrics::index::SearchParams;
use serde::{Deserialize, Serialize};

/// Which step of a batch's search a task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Job {
    /// The index's first pass over one unit ([`biometrics::index::Ranking::rank`]), kept by
    /// the executor; returns samples of its evidence ([`biometrics::index::Ranked::samples`]).
    Rank,
    /// The unit's first pass again (kept, or computed anew), only the members at or above
    /// each probe's floor ([`biometrics::index::Ranked::above`]).
    Gather,
    /// The iris check and full comparison of the chosen members of one unit.
    Compare,
}

impl Job {
    /// The job's name in logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Job::Rank => "rank",
            Job::Gather => "gather",
            Job::Compare => "compare",
        }
    }
}

/// An object the driver wrote for the executors, and the SHA-256 it must have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Path relative to the store root.
    pub path: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
}

/// One job's plan node: task `k` searches `units[k]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchSpec {
    /// Rank or compare.
    pub job: Job,
    /// The store's URL (`file:///…` or `s3://…`); credentials come from each process's
    /// environment, never from here.
    pub store: String,
    /// The batch's probes.
    pub probes: FileRef,
    /// Per unit, the stored partitions merged into it.
    pub units: Vec<Vec<String>>,
    /// For [`Job::Compare`], per unit, the members chosen to compare.
    pub chosen: Vec<FileRef>,
    /// For [`Job::Gather`], each probe's floor.
    #[serde(default)]
    pub floors: Option<FileRef>,
    /// The search parameters.
    pub params: Params,
}

/// [`SearchParams`] as shipped: every field but the fusion model (the default one on both
/// sides), floats as their bits so that infinities and every value cross exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    min_llr: u32,
    shortlist: usize,
    min_votes: u32,
    always_votes: u32,
    iris_depth: usize,
    iris_admit_llr: u32,
    reject_llr: u32,
    max_list_share: u32,
}

impl Params {
    /// The shippable form of `p`; `None` when it uses another fusion model than the default
    /// (executors compare with the default one).
    pub fn of(p: &SearchParams) -> Option<Params> {
        (p.fusion == Fusion::default()).then(|| Params {
            min_llr: p.min_llr.to_bits(),
            shortlist: p.shortlist,
            min_votes: p.min_votes,
            always_votes: p.always_votes,
            iris_depth: p.iris_depth,
            iris_admit_llr: p.iris_admit_llr.to_bits(),
            reject_llr: p.reject_llr.to_bits(),
            max_list_share: p.max_list_share.to_bits(),
        })
    }

    /// The parameters again.
    pub fn search_params(&self) -> SearchParams {
        SearchParams {
            fusion: Fusion::default(),
            min_llr: f32::from_bits(self.min_llr),
            shortlist: self.shortlist,
            min_votes: self.min_votes,
            always_votes: self.always_votes,
            iris_depth: self.iris_depth,
            iris_admit_llr: f32::from_bits(self.iris_admit_llr),
            reject_llr: f32::from_bits(self.reject_llr),
            max_list_share: f32::from_bits(self.max_list_share),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_cross_exactly_infinities_included() {
        let p = SearchParams {
            min_llr: 9.210_340_5,
            reject_llr: f32::NEG_INFINITY,
            shortlist: 7,
            ..SearchParams::default()
        };
        let shipped = Params::of(&p).unwrap();
        let json = serde_json::to_string(&shipped).unwrap();
        let back: Params = serde_json::from_str(&json).unwrap();
        assert_eq!(back.search_params(), p);
    }
}
