//! The rules from printables to jobs — pure, so every rule is tested without a lake.
//!
//! A printable is a personalizable enrollment with no `personalization_jobs` row yet. Its
//! NIK's *siblings* are every personalizable enrollment of that NIK (exported or not, the
//! printable itself included). The rules, in this order:
//! 1. a printable is *superseded* when a sibling was captured later (capture time, then
//!    enrollment id): only the latest capture of a person gets a card;
//! 2. a card is a *reissue* when the enrollment's status is `reenrollment` or its NIK already
//!    has an exported card; otherwise it is a *new* card;
//! 3. the cards are grouped by regency/city: one job per regency code, cards in the order the
//!    printables came;
//! 4. each job's id and folder are functions of the run and the regency
//!    ([`crate::job::job_id`], [`crate::job::job_dir`]), so the in-flight plan written before
//!    the first card names exactly the jobs the run may leave behind.

use std::collections::{BTreeMap, HashMap, HashSet};

use lake::vocabulary::IdentityStatus;
use serde::{Deserialize, Serialize};

use crate::card::{REASON_NEW, REASON_REISSUE};
use crate::job;

/// One enrollment to personalize, as the lake describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printable {
    /// The enrollment.
    pub enrollment_id: String,
    /// Its identity status (one of the personalizable ones).
    pub status: IdentityStatus,
    /// Its NIK (compared, never logged).
    pub nik: String,
    /// Capture end, in microseconds.
    pub captured: i64,
    /// Regency/city `PP.KK` whose office prints the card.
    pub regency_code: String,
    /// Store path of its accepted packet, when there is one.
    pub object_path: Option<String>,
    /// SHA-256 of that packet at ingest.
    pub packet_sha256: Option<String>,
}

/// The personalizable enrollments of each printable NIK: `(enrollment_id, captured µs)`.
pub type Siblings = HashMap<String, Vec<(String, i64)>>;

/// One card a job is to hold: the printable and why it gets a card (`new` or `reissue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCard {
    /// The enrollment to personalize.
    pub printable: Printable,
    /// [`REASON_NEW`] or [`REASON_REISSUE`].
    pub reason: &'static str,
}

/// What the rules make of the printables.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Printables left out by rule 1.
    pub superseded: usize,
    /// The cards of each regency's job, by regency code.
    pub by_regency: BTreeMap<String, Vec<PlannedCard>>,
}

/// Rule 1: whether a later personalizable capture of the same NIK exists.
pub fn is_superseded(printable: &Printable, siblings: &Siblings) -> bool {
    let this = (printable.captured, printable.enrollment_id.as_str());
    siblings
        .get(&printable.nik)
        .is_some_and(|list| list.iter().any(|(id, t)| (*t, id.as_str()) > this))
}

/// Rule 2: why the printable gets a card.
pub fn reason_for(printable: &Printable, exported_niks: &HashSet<String>) -> &'static str {
    if printable.status == IdentityStatus::Reenrollment || exported_niks.contains(&printable.nik) {
        REASON_REISSUE
    } else {
        REASON_NEW
    }
}

/// Applies rules 1 to 3 to the printables, in their order.
pub fn plan(
    printables: Vec<Printable>,
    siblings: &Siblings,
    exported_niks: &HashSet<String>,
) -> Plan {
    let mut out = Plan::default();
    for printable in printables {
        if is_superseded(&printable, siblings) {
            out.superseded += 1;
            continue;
        }
        let reason = reason_for(&printable, exported_niks);
        out.by_regency
            .entry(printable.regency_code.clone())
            .or_default()
            .push(PlannedCard { printable, reason });
    }
    out
}

/// The in-flight plan of a run: the jobs it may write, no personal data. Written before the
/// first card, read back by [`crate::recover`] after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InflightPlan {
    /// The run that writes the jobs.
    pub run_id: String,
    /// Its jobs, one per regency.
    pub jobs: Vec<PlannedJob>,
}

/// One planned job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedJob {
    /// The job id (rule 4).
    pub job_id: String,
    /// Regency/city `PP.KK`.
    pub regency_code: String,
    /// The job folder, relative to the store root (rule 4).
    pub dir: String,
}

impl InflightPlan {
    /// Rule 4: the jobs of `run_id` for the given regencies, in their order.
    pub fn new<'a>(run_id: &str, regencies: impl IntoIterator<Item = &'a String>) -> Self {
        InflightPlan {
            run_id: run_id.into(),
            jobs: regencies
                .into_iter()
                .map(|r| PlannedJob {
                    job_id: job::job_id(run_id, r),
                    regency_code: r.clone(),
                    dir: job::job_dir(r, run_id),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printable(id: &str, nik: &str, captured: i64, regency: &str) -> Printable {
        Printable {
            enrollment_id: id.into(),
            status: IdentityStatus::Tunggal,
            nik: nik.into(),
            captured,
            regency_code: regency.into(),
            object_path: None,
            packet_sha256: None,
        }
    }

    fn siblings(list: &[(&str, &str, i64)]) -> Siblings {
        let mut out = Siblings::new();
        for (nik, id, t) in list {
            out.entry(nik.to_string())
                .or_default()
                .push((id.to_string(), *t));
        }
        out
    }

    #[test]
    fn rule_1_a_later_capture_of_the_nik_supersedes_an_earlier_one() {
        let early = printable("a", "1", 10, "31.71");
        let late = printable("b", "1", 20, "31.71");
        let s = siblings(&[("1", "a", 10), ("1", "b", 20)]);
        assert!(is_superseded(&early, &s));
        assert!(!is_superseded(&late, &s));
        // same capture time: the larger enrollment id is the later one
        let tie = siblings(&[("1", "a", 10), ("1", "b", 10)]);
        assert!(is_superseded(&printable("a", "1", 10, "31.71"), &tie));
        assert!(!is_superseded(&printable("b", "1", 10, "31.71"), &tie));
        // alone with its NIK, or unknown to the siblings: not superseded
        assert!(!is_superseded(&early, &siblings(&[("1", "a", 10)])));
        assert!(!is_superseded(&early, &Siblings::new()));
    }

    #[test]
    fn rule_2_a_reenrollment_or_an_exported_nik_gets_a_reissue() {
        let none = HashSet::new();
        let first = printable("a", "1", 10, "31.71");
        assert_eq!(reason_for(&first, &none), REASON_NEW);
        let mut again = first.clone();
        again.status = IdentityStatus::Reenrollment;
        assert_eq!(reason_for(&again, &none), REASON_REISSUE);
        let exported: HashSet<String> = ["1".to_string()].into();
        assert_eq!(reason_for(&first, &exported), REASON_REISSUE);
    }

    #[test]
    fn rule_3_cards_are_grouped_by_regency_in_candidate_order() {
        let cands = vec![
            printable("a", "1", 10, "32.73"),
            printable("b", "2", 10, "31.71"),
            printable("c", "3", 10, "32.73"),
            printable("d", "4", 10, "31.71"),
            printable("e", "4", 5, "31.71"), // superseded by d
        ];
        let s = siblings(&[("4", "d", 10), ("4", "e", 5)]);
        let plan = plan(cands, &s, &HashSet::new());
        assert_eq!(plan.superseded, 1);
        let ids = |r: &str| -> Vec<&str> {
            plan.by_regency[r]
                .iter()
                .map(|c| c.printable.enrollment_id.as_str())
                .collect()
        };
        assert_eq!(plan.by_regency.len(), 2);
        assert_eq!(ids("31.71"), ["b", "d"]);
        assert_eq!(ids("32.73"), ["a", "c"]);
        assert!(plan.by_regency["31.71"]
            .iter()
            .all(|c| c.reason == REASON_NEW));
    }

    #[test]
    fn rule_4_job_ids_and_folders_follow_run_and_regency() {
        let regencies = ["31.71".to_string(), "32.73".to_string()];
        let p = InflightPlan::new("run-1", &regencies);
        assert_eq!(p, InflightPlan::new("run-1", &regencies));
        assert_eq!(p.run_id, "run-1");
        assert_eq!(p.jobs.len(), 2);
        assert_eq!(p.jobs[0].regency_code, "31.71");
        assert_eq!(p.jobs[0].job_id, job::job_id("run-1", "31.71"));
        assert_eq!(p.jobs[1].dir, job::job_dir("32.73", "run-1"));
        assert_ne!(p.jobs[0].job_id, p.jobs[1].job_id);
        let other = InflightPlan::new("run-2", &regencies);
        assert_ne!(other.jobs[0].job_id, p.jobs[0].job_id);
    }
}
