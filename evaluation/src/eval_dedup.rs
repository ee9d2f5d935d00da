//! `tunggal eval dedup`: the run's results against the synthesizer's ground truth.
//!
//! Truth (`synth-truth/enrollees/*.csv`) says which landed packets are the same biological
//! person. Among accepted enrollments:
//! - a *planted duplicate* is an enrollment whose person enrolled earlier too (fraud under
//!   another NIK, or a re-enrollment under the same NIK); it is *found* when it shares a
//!   cluster with an earlier enrollment of the same person. FNIR = planted duplicates not
//!   found ÷ planted duplicates.
//! - a *unique person* has exactly one accepted enrollment; it is *falsely flagged* when it
//!   has any `match` edge. FPIR = falsely flagged ÷ unique persons.
//! - twins and family members are unique persons whose biodata (KK, address, birth date)
//!   resemble a relative's: they are reported apart and must not be flagged.

use std::collections::{HashMap, HashSet};
use std::fmt;

use dedup::{load, thresholds, DedupOptions};
use lake::tables::enrollments::enrollment_id_for;
use lake::vocabulary::IdentityStatus;
use lake::Store;

use crate::diagnose::{self, MissedPair};
use crate::error::Result;

/// The comparison of a store's dedup results with its synth truth.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DedupEval {
    /// Accepted enrollments with truth.
    pub enrollments: u64,
    /// Of those, deduplicated (with a status).
    pub deduplicated: u64,
    /// Planted duplicates (fraud + re-enrollment).
    pub planted: u64,
    /// Planted duplicates not found.
    pub missed: u64,
    /// The enrollments behind `missed` (enrollment id, synth case), sorted: where to start
    /// diagnosing (index recall or a score below the threshold). Ids only, no personal data.
    pub missed_enrollments: Vec<(String, String)>,
    /// The first missed ones measured against their earliest mate: fused score and the
    /// mate's rank in the index ([`crate::diagnose`]).
    pub missed_pairs: Vec<MissedPair>,
    /// The `match` threshold a run over this gallery with the default target FPIR sets, and
    /// the default shortlist length: what `missed_pairs` are read against.
    pub match_llr: f32,
    /// See `match_llr`.
    pub shortlist: usize,
    /// Planted fraud duplicates (other NIK) and how many got status `ganda`.
    pub fraud: (u64, u64),
    /// Planted re-enrollments (same NIK) and how many got status `reenrollment`.
    pub reenrollment: (u64, u64),
    /// Enrollments of persons enrolled once.
    pub unique: u64,
    /// Of those, flagged by a `match` edge.
    pub falsely_flagged: u64,
    /// Twins and family members, and how many were flagged.
    pub relatives: (u64, u64),
    /// `match` edges between different persons.
    pub false_edges: u64,
    /// Clusters needing adjudication (a `ganda` or `nik_conflict` member).
    pub adjudication_cases: u64,
}

impl DedupEval {
    /// False-negative identification rate.
    pub fn fnir(&self) -> f64 {
        ratio(self.missed, self.planted)
    }
    /// False-positive identification rate.
    pub fn fpir(&self) -> f64 {
        ratio(self.falsely_flagged, self.unique)
    }
    /// Adjudication cases per 10,000 enrollments.
    pub fn cases_per_10k(&self) -> f64 {
        10_000.0 * ratio(self.adjudication_cases, self.enrollments)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Compares the store's `identity_status`, `clusters` and `match_candidates` with its truth.
pub async fn evaluate(store: &Store) -> Result<DedupEval> {
    let truth = crate::truth::enrollees(store).await?;
    let ctx = lake::lake_context(store).await?;
    let enrollees = load::enrollees(&ctx).await?;
    let statuses = load::statuses(&ctx).await?;
    let clusters = load::clusters(&ctx).await?;
    let edges = load::match_edges(&ctx).await?;

    let order: HashMap<&str, usize> = enrollees
        .iter()
        .enumerate()
        .map(|(i, e)| (e.enrollment_id.as_str(), i))
        .collect();
    // enrollment → (person, case), accepted enrollments only
    let mut who: HashMap<String, (String, String)> = HashMap::new();
    for row in &truth {
        let id = enrollment_id_for(&row.packet_id);
        if order.contains_key(id.as_str()) && !row.case.starts_with("bad") {
            who.insert(id, (row.person_id.clone(), row.case.clone()));
        }
    }
    let mut by_person: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, (person, _)) in &who {
        by_person.entry(person).or_default().push(id);
    }
    let with_edge: HashSet<&str> = edges
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();

    let mut matched_with: HashMap<&str, Vec<&str>> = HashMap::new();
    for (a, b) in &edges {
        matched_with.entry(a).or_default().push(b);
        matched_with.entry(b).or_default().push(a);
    }
    let mut earliest_mate: HashMap<&str, &str> = HashMap::new();
    let mut ev = DedupEval {
        enrollments: who.len() as u64,
        deduplicated: who.keys().filter(|id| statuses.contains_key(*id)).count() as u64,
        ..Default::default()
    };
    for (id, (person, case)) in &who {
        let mates = &by_person[person.as_str()];
        let status = statuses.get(id).map(|s| s.status);
        if mates.len() == 1 {
            ev.unique += 1;
            let flagged = with_edge.contains(id.as_str());
            ev.falsely_flagged += flagged as u64;
            if case == "twin" || case == "family" {
                ev.relatives.0 += 1;
                ev.relatives.1 += flagged as u64;
            }
            continue;
        }
        let me = order[id.as_str()];
        let earlier: Vec<&str> = mates.iter().copied().filter(|m| order[*m] < me).collect();
        if earlier.is_empty() {
            continue; // the first enrollment of a person is not a duplicate
        }
        ev.planted += 1;
        let my_cluster = clusters.get(id.as_str()).map(|c| &c.0);
        // Found: in one cluster with an earlier enrollment of the person, through a
        // biometric match of its own (a match edge to a member of that cluster). A NIK link
        // alone (a re-enrollment whose biometrics did not match ends `nik_conflict`, still
        // clustered with the NIK's holder) is a miss of the biometric search.
        let in_my_cluster =
            |m: &str| my_cluster.is_some() && clusters.get(m).map(|c| &c.0) == my_cluster;
        let found = earlier.iter().any(|m| in_my_cluster(m))
            && matched_with
                .get(id.as_str())
                .is_some_and(|others| others.iter().any(|o| in_my_cluster(o)));
        ev.missed += (!found) as u64;
        if !found {
            ev.missed_enrollments.push((id.clone(), case.clone()));
            if let Some(first) = earlier.iter().min_by_key(|m| order[**m]) {
                earliest_mate.insert(id, first);
            }
        }
        match case.as_str() {
            "fraud_duplicate" => {
                ev.fraud.0 += 1;
                ev.fraud.1 += (status == Some(IdentityStatus::Ganda)) as u64;
            }
            "reenrollment" => {
                ev.reenrollment.0 += 1;
                ev.reenrollment.1 += (status == Some(IdentityStatus::Reenrollment)) as u64;
            }
            _ => {}
        }
    }
    ev.missed_enrollments.sort();
    let to_explain: Vec<(String, String, String)> = ev
        .missed_enrollments
        .iter()
        .take(MISSED_LISTED)
        .filter_map(|(id, case)| {
            let mate = earliest_mate.get(id.as_str())?;
            Some((id.clone(), case.clone(), mate.to_string()))
        })
        .collect();
    let committed: HashSet<String> = load::committed_runs(&ctx).await?;
    ev.missed_pairs = diagnose::explain(store, &ctx, &to_explain, &committed).await?;
    let defaults = DedupOptions::default();
    ev.match_llr =
        thresholds::for_gallery(statuses.len(), defaults.match_fpir, defaults.possible_fpir)
            .match_llr;
    ev.shortlist = defaults.shortlist;
    ev.false_edges = edges
        .iter()
        .filter(|(a, b)| match (who.get(a), who.get(b)) {
            (Some(x), Some(y)) => x.0 != y.0,
            _ => false,
        })
        .count() as u64;
    let mut cases: HashSet<&str> = HashSet::new();
    for s in statuses.values() {
        if s.status.needs_adjudication() {
            if let Some(c) = &s.cluster_id {
                cases.insert(c);
            }
        }
    }
    ev.adjudication_cases = cases.len() as u64;
    Ok(ev)
}

impl DedupEval {
    /// One line on a measured missed pair: the matcher's or the index's miss.
    fn explained(&self, m: &MissedPair) -> String {
        let score = match m.llr {
            Some(llr) => format!(
                "fused LLR {llr:.1} (fingers {:.1} over {} positions, irises {:.1} over {}) \
                 vs match threshold {:.1}",
                m.finger_llr, m.compared.0, m.iris_llr, m.compared.1, self.match_llr
            ),
            None => "not compared (a template does not decode)".to_string(),
        };
        let rank = match m.rank {
            Some(r) => format!(
                "index rank {r} of {} hit (shortlist {})",
                m.hit, self.shortlist
            ),
            None => format!("no index evidence ({} others hit)", m.hit),
        };
        let verdict = match (m.llr, m.rank) {
            (Some(llr), _) if llr < self.match_llr => "the matcher",
            (Some(_), Some(r)) if r > self.shortlist => "the index",
            (Some(_), None) => "the index",
            _ => "neither alone (ranked and scoring now: the run's gallery or batch differed)",
        };
        format!("vs earlier {}: {score}; {rank} → {verdict}", m.mate_id)
    }
}

/// How many missed enrollments the summary names.
const MISSED_LISTED: usize = 20;

impl fmt::Display for DedupEval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "dedup evaluation against synth truth")?;
        writeln!(
            f,
            "  enrollments {} (deduplicated {})",
            self.enrollments, self.deduplicated
        )?;
        writeln!(
            f,
            "  planted duplicates {}: missed {}  FNIR {:.4}%",
            self.planted,
            self.missed,
            100.0 * self.fnir()
        )?;
        for (id, case) in self.missed_enrollments.iter().take(MISSED_LISTED) {
            writeln!(f, "    missed: enrollment {id} ({case})")?;
            if let Some(m) = self.missed_pairs.iter().find(|m| &m.enrollment_id == id) {
                writeln!(f, "      {}", self.explained(m))?;
            }
        }
        if self.missed_enrollments.len() > MISSED_LISTED {
            writeln!(
                f,
                "    … and {} more",
                self.missed_enrollments.len() - MISSED_LISTED
            )?;
        }
        writeln!(
            f,
            "    fraud (other NIK) {}: status ganda {}; re-enrollment (same NIK) {}: status reenrollment {}",
            self.fraud.0, self.fraud.1, self.reenrollment.0, self.reenrollment.1
        )?;
        writeln!(
            f,
            "  unique persons {}: falsely flagged {}  FPIR {:.4}%",
            self.unique,
            self.falsely_flagged,
            100.0 * self.fpir()
        )?;
        writeln!(
            f,
            "    twins and family members {}: flagged {}",
            self.relatives.0, self.relatives.1
        )?;
        writeln!(
            f,
            "  match edges between different persons {}",
            self.false_edges
        )?;
        write!(
            f,
            "  adjudication cases {} ({:.1} per 10,000 enrollments)",
            self.adjudication_cases,
            self.cases_per_10k()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_first_missed_enrollments() {
        let ev = DedupEval {
            planted: 100,
            missed: 25,
            missed_enrollments: (0..25)
                .map(|i| (format!("e{i:02}"), "fraud_duplicate".to_string()))
                .collect(),
            ..Default::default()
        };
        let text = ev.to_string();
        assert!(text.contains("missed 25  FNIR 25.0000%"), "{text}");
        assert!(text.contains("missed: enrollment e00 (fraud_duplicate)"));
        assert!(text.contains("missed: enrollment e19 (fraud_duplicate)"));
        assert!(!text.contains("e20"), "{text}");
        assert!(text.contains("… and 5 more"));
        assert!(!DedupEval::default().to_string().contains("missed: "));
    }

    #[test]
    fn a_measured_miss_is_put_on_the_matcher_or_the_index() {
        let pair = |id: &str, llr: Option<f32>, rank: Option<usize>| MissedPair {
            enrollment_id: id.into(),
            case: "fraud_duplicate".into(),
            mate_id: format!("{id}-mate"),
            llr,
            rank,
            hit: 900,
            ..Default::default()
        };
        let ev = DedupEval {
            planted: 10,
            missed: 4,
            missed_enrollments: ["a", "b", "c", "d"]
                .map(|id| (id.to_string(), "fraud_duplicate".to_string()))
                .to_vec(),
            missed_pairs: vec![
                pair("a", Some(12.0), Some(3)),
                pair("b", Some(90.0), Some(600)),
                pair("c", Some(90.0), None),
                pair("d", None, Some(1)),
            ],
            match_llr: 20.7,
            shortlist: 50,
            ..Default::default()
        };
        let text = ev.to_string();
        let line = |id: &str| {
            text.lines()
                .find(|l| l.contains(&format!("vs earlier {id}-mate")))
                .unwrap_or_else(|| panic!("no line for {id}: {text}"))
                .to_string()
        };
        assert!(line("a").contains("fused LLR 12.0") && line("a").ends_with("→ the matcher"));
        assert!(
            line("b").contains("index rank 600 of 900 hit") && line("b").ends_with("→ the index")
        );
        assert!(line("c").contains("no index evidence") && line("c").ends_with("→ the index"));
        assert!(line("d").contains("not compared") && !line("d").contains("→ the matcher"));
    }
}
