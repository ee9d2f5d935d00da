//! What a dedup run reports: counts, thresholds, the work done and where the time went.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::thresholds::Thresholds;

/// The one-screen summary of a dedup run.
#[derive(Clone, Debug, Default)]
pub struct DedupSummary {
    /// The run.
    pub run_id: String,
    /// New enrollments searched by this run.
    pub probes: u64,
    /// Enrollments already in the gallery when the run started.
    pub gallery: u64,
    /// Persisted gallery partitions searched.
    pub partitions: u64,
    /// Bytes of those partitions in the store.
    pub partition_bytes: u64,
    /// Thresholds used.
    pub thresholds: Option<Thresholds>,
    /// Pairs in the `match` band found by this run.
    pub matches: u64,
    /// Pairs in the `possible` band found by this run.
    pub possible: u64,
    /// Full person comparisons run (index shortlist).
    pub full_comparisons: u64,
    /// Members behind the shortlist whose irises were checked.
    pub iris_checks: u64,
    /// Person pairs the run searched over (probes × gallery + pairs within the run).
    pub pairs_searched: u64,
    /// Pairs also checked by brute force (when asked for), and how many the index missed.
    pub brute_force: Option<(u64, u64)>,
    /// Where the stored gallery was searched, when not here: a line such as "cluster
    /// df://…: 4 jobs (1 retried), 20,000 rows, 1.2 MiB from the executors".
    pub searched_on: Option<String>,
    /// Enrollments by status after the run.
    pub by_status: BTreeMap<String, u64>,
    /// Clusters and their members after the run.
    pub clusters: (u64, u64),
    /// Enrollments whose status and cluster the run derived again: its probes, the clusters
    /// they join or merge, the enrollments whose decisions arrived.
    pub touched: u64,
    /// Of those, the states that changed and were appended to `status_history`.
    pub states_written: u64,
    /// Enrollments not searched because a stored template does not decode (no status yet;
    /// the next run tries again).
    pub held_back: Vec<crate::load::HeldBack>,
    /// Candidates and partitions of an interrupted run that were removed first.
    pub recovered: (u64, u64),
    /// Wall time: loading templates, searching, writing.
    pub load_time: Duration,
    /// Time in the index search and full matching.
    pub search_time: Duration,
    /// Total wall time.
    pub elapsed: Duration,
}

impl lake::run::StageReport for DedupSummary {
    fn counts(&self) -> lake::run::RunCounts {
        lake::run::RunCounts {
            seen: (self.probes + self.gallery) as i64,
            processed: self.probes as i64,
            accepted: self
                .by_status
                .get(lake::vocabulary::IdentityStatus::Tunggal.as_str())
                .copied()
                .unwrap_or(0) as i64,
            rejected: self.held_back.len() as i64,
        }
    }

    fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "by_status": self.by_status,
            "matches": self.matches,
            "possible": self.possible,
            "full_comparisons": self.full_comparisons,
            "pairs_searched": self.pairs_searched,
            "clusters": self.clusters.0,
            "cluster_members": self.clusters.1,
            "held_back": self.held_back,
            // Read by the console to show the threshold beside a pair's score.
            "thresholds": self.thresholds.map(|t| serde_json::json!({
                "match_llr": t.match_llr, "possible_llr": t.possible_llr, "gallery": t.gallery,
            })),
        })
    }
}

impl DedupSummary {
    /// Counts one search call: its wall time, the pairs it fully compared and the pairs it
    /// covered.
    pub(crate) fn add_search(&mut self, took: Duration, stats: &biometrics::index::SearchStats) {
        self.search_time += took;
        self.full_comparisons += stats.full_comparisons;
        self.iris_checks += stats.iris_checks;
        self.pairs_searched += stats.pairs;
    }

    /// Share of searched pairs that were fully compared.
    pub fn penetration(&self) -> f64 {
        if self.pairs_searched == 0 {
            0.0
        } else {
            self.full_comparisons as f64 / self.pairs_searched as f64
        }
    }
}

impl fmt::Display for DedupSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "dedup run {}", self.run_id)?;
        writeln!(
            f,
            "  probes {} new enrollments, gallery {} in {} partitions ({:.1} MiB)",
            self.probes,
            self.gallery,
            self.partitions,
            self.partition_bytes as f64 / (1024.0 * 1024.0)
        )?;
        if let Some(t) = &self.thresholds {
            writeln!(
                f,
                "  thresholds: match llr >= {:.2}, possible >= {:.2} (gallery {})",
                t.match_llr, t.possible_llr, t.gallery
            )?;
        }
        writeln!(
            f,
            "  pairs: {} match, {} possible; full comparisons {} of {} pairs (penetration {:.4}%); \
             iris checks {}",
            self.matches,
            self.possible,
            self.full_comparisons,
            self.pairs_searched,
            100.0 * self.penetration(),
            self.iris_checks
        )?;
        if let Some((checked, missed)) = self.brute_force {
            writeln!(
                f,
                "  brute-force check: {checked} pairs at or above the possible band, {missed} missed by the index"
            )?;
        }
        if let Some(on) = &self.searched_on {
            writeln!(f, "  stored gallery searched on {on}")?;
        }
        let statuses: Vec<String> = self
            .by_status
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(f, "  identity status: {}", statuses.join(", "))?;
        writeln!(
            f,
            "  statuses derived again for {} enrollments, {} changed",
            self.touched, self.states_written
        )?;
        writeln!(
            f,
            "  clusters: {} ({} enrollments)",
            self.clusters.0, self.clusters.1
        )?;
        if !self.held_back.is_empty() {
            let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
            for h in &self.held_back {
                *by_reason.entry(h.reason).or_default() += 1;
            }
            let reasons: Vec<String> = by_reason.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(
                f,
                "  held back (no status, searched again next run): {} ({})",
                self.held_back.len(),
                reasons.join(", ")
            )?;
        }
        if self.recovered != (0, 0) {
            writeln!(
                f,
                "  recovered from an interrupted run: {} candidate rows and {} partitions removed, redone",
                self.recovered.0, self.recovered.1
            )?;
        }
        write!(
            f,
            "  wall {:.1}s (loading templates {:.1}s, search {:.1}s)",
            self.elapsed.as_secs_f64(),
            self.load_time.as_secs_f64(),
            self.search_time.as_secs_f64()
        )
    }
}
