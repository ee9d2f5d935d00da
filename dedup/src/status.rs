//! The rules from evidence to identity status and clusters — pure, so every rule is tested
//! without a lake.
//!
//! Inputs ([`StatusInputs`]): the `match` edges found so far, which enrollments share a NIK, adjudicators'
//! decisions, and the previous statuses (to keep `since` when nothing changed). For each
//! enrollment, in this order:
//! 1. a decision applies → `cleared` (proceed), `duplicate` (block) or `referred` (refer);
//! 2. a `match` edge to an enrollment with a different NIK → `ganda`;
//! 3. an earlier enrollment (capture time, then id) has the same NIK: a `match` edge to one of
//!    them → `reenrollment`, none → `nik_conflict` (someone else is using the NIK);
//! 4. otherwise `tunggal`.
//!
//! Clusters are the connected components (two or more members) of the `match` edges plus the
//! links between a `nik_conflict` enrollment and the earliest holder of its NIK, so every case
//! for adjudication is one cluster. A cluster's id is the UUID v5 of its oldest member: it
//! survives growth, and a merge keeps the older cluster's id.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use lake::tables::clusters::ClusterRecord;
use lake::tables::identity_status::IdentityStatusRecord;
use lake::vocabulary::IdentityStatus;
use uuid::Uuid;

use crate::load::{AppliedDecision, Enrollee};

/// Namespace of the UUID v5 cluster ids (a random constant, fixed forever).
const CLUSTER_NAMESPACE: Uuid = Uuid::from_u128(0x2b0d_6a17_44f1_4e0c_9c55_3f7e_81a2_d9b4);

/// The stable id of a cluster whose oldest member is `enrollment_id`.
pub fn cluster_id_for(enrollment_id: &str) -> String {
    Uuid::new_v5(&CLUSTER_NAMESPACE, enrollment_id.as_bytes()).to_string()
}

/// Everything the rules look at.
pub struct StatusInputs<'a> {
    /// Every deduplicated enrollment (after this run), any order.
    pub enrollees: &'a [Enrollee],
    /// `match` edges, each pair once or more, either direction.
    pub edges: &'a [(String, String)],
    /// Latest decision per enrollment.
    pub decisions: &'a HashMap<String, AppliedDecision>,
    /// Statuses before this run.
    pub previous: &'a HashMap<String, IdentityStatusRecord>,
    /// Cluster ids and creation times before this run, by member.
    pub previous_clusters: &'a HashMap<String, (String, DateTime<Utc>)>,
    /// This run.
    pub run_id: &'a str,
    /// This run's commit time.
    pub now: DateTime<Utc>,
}

/// The derived state: one status per enrollment, one cluster row per clustered member.
#[derive(Debug, Default)]
pub struct Derived {
    /// Status rows, in the order of the evidence's enrollees.
    pub statuses: Vec<IdentityStatusRecord>,
    /// Cluster rows, by cluster id then member.
    pub clusters: Vec<ClusterRecord>,
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // keep the smaller index (the older enrollment) as root
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi] = lo;
        }
    }
}

/// Applies the rules to the evidence.
pub fn derive(ev: &StatusInputs<'_>) -> Derived {
    // Index enrollees oldest first, so a component's smallest index is its oldest member.
    let mut order: Vec<usize> = (0..ev.enrollees.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&ev.enrollees[a], &ev.enrollees[b]);
        (x.capture_finished, &x.enrollment_id).cmp(&(y.capture_finished, &y.enrollment_id))
    });
    let people: Vec<&Enrollee> = order.iter().map(|&i| &ev.enrollees[i]).collect();
    let at: HashMap<&str, usize> = people
        .iter()
        .enumerate()
        .map(|(i, e)| (e.enrollment_id.as_str(), i))
        .collect();

    let n = people.len();
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut uf = UnionFind((0..n).collect());
    for (a, b) in ev.edges {
        if let (Some(&i), Some(&j)) = (at.get(a.as_str()), at.get(b.as_str())) {
            if i != j {
                neighbours[i].push(j);
                neighbours[j].push(i);
                uf.union(i, j);
            }
        }
    }
    // Earliest holder of each NIK.
    let mut first_with_nik: HashMap<&str, usize> = HashMap::new();
    for (i, e) in people.iter().enumerate() {
        first_with_nik.entry(e.nik.as_str()).or_insert(i);
    }

    let mut status: Vec<(IdentityStatus, String)> = Vec::with_capacity(n);
    for (i, e) in people.iter().enumerate() {
        let different = neighbours[i]
            .iter()
            .filter(|&&j| people[j].nik != e.nik)
            .count();
        let first = first_with_nik[e.nik.as_str()];
        let verdict: (IdentityStatus, String) = if let Some(d) = ev.decisions.get(&e.enrollment_id)
        {
            (
                d.effect.status(),
                format!("decision {} ({})", d.decision_id, d.outcome),
            )
        } else if different > 0 {
            (
                IdentityStatus::Ganda,
                format!("matches {different} enrollment(s) with another NIK"),
            )
        } else if first < i {
            let same_earlier = neighbours[i]
                .iter()
                .any(|&j| j < i && people[j].nik == e.nik);
            if same_earlier {
                (
                    IdentityStatus::Reenrollment,
                    "matches an earlier enrollment of the same NIK".into(),
                )
            } else {
                uf.union(first, i);
                (
                    IdentityStatus::NikConflict,
                    "an earlier enrollment holds this NIK with other biometrics".into(),
                )
            }
        } else {
            (IdentityStatus::Tunggal, "no match".into())
        };
        status.push(verdict);
    }

    // Components of two or more.
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let r = uf.find(i);
        members.entry(r).or_default().push(i);
    }
    let mut cluster_of: Vec<Option<String>> = vec![None; n];
    let mut clusters = Vec::new();
    for (root, list) in members.into_iter().filter(|(_, l)| l.len() > 1) {
        let id = cluster_id_for(&people[root].enrollment_id);
        let created = list
            .iter()
            .filter_map(|&i| ev.previous_clusters.get(&people[i].enrollment_id))
            .map(|(_, t)| *t)
            .min()
            .unwrap_or(ev.now);
        for &i in &list {
            cluster_of[i] = Some(id.clone());
            clusters.push(ClusterRecord {
                cluster_id: id.clone(),
                enrollment_id: people[i].enrollment_id.clone(),
                cluster_size: list.len() as i32,
                created,
                run_id: ev.run_id.to_string(),
            });
        }
    }
    clusters
        .sort_by(|a, b| (&a.cluster_id, &a.enrollment_id).cmp(&(&b.cluster_id, &b.enrollment_id)));

    let mut rows: Vec<Option<IdentityStatusRecord>> = vec![None; n];
    for (i, e) in people.iter().enumerate() {
        let (s, detail) = &status[i];
        let prev = ev.previous.get(&e.enrollment_id);
        let unchanged = prev.filter(|p| p.status == *s);
        rows[i] = Some(IdentityStatusRecord {
            enrollment_id: e.enrollment_id.clone(),
            status: *s,
            cluster_id: cluster_of[i].clone(),
            since: unchanged.map(|p| p.since).unwrap_or(ev.now),
            run_id: unchanged
                .map(|p| p.run_id.clone())
                .unwrap_or_else(|| ev.run_id.to_string()),
            first_run_id: prev
                .map(|p| p.first_run_id.clone())
                .unwrap_or_else(|| ev.run_id.to_string()),
            first_result_time: prev.map(|p| p.first_result_time).unwrap_or(ev.now),
            detail: Some(detail.clone()),
        });
    }
    // Back to the caller's order.
    let mut statuses: Vec<Option<IdentityStatusRecord>> = vec![None; n];
    for (pos, &orig) in order.iter().enumerate() {
        statuses[orig] = rows[pos].take();
    }
    Derived {
        statuses: statuses.into_iter().flatten().collect(),
        clusters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use lake::vocabulary::{Effect, Outcome};

    fn person(id: &str, nik: &str, hour: u32) -> Enrollee {
        Enrollee {
            enrollment_id: id.into(),
            nik: nik.into(),
            capture_finished: Utc.with_ymd_and_hms(2026, 11, 1, hour, 0, 0).unwrap(),
        }
    }

    fn edge(a: &str, b: &str) -> (String, String) {
        (a.into(), b.into())
    }

    struct Scenario {
        people: Vec<Enrollee>,
        edges: Vec<(String, String)>,
        decisions: HashMap<String, AppliedDecision>,
        previous: HashMap<String, IdentityStatusRecord>,
        previous_clusters: HashMap<String, (String, DateTime<Utc>)>,
    }

    impl Scenario {
        fn new(people: Vec<Enrollee>, edges: Vec<(String, String)>) -> Scenario {
            Scenario {
                people,
                edges,
                decisions: HashMap::new(),
                previous: HashMap::new(),
                previous_clusters: HashMap::new(),
            }
        }
        fn run(&self, run_id: &str, hour: u32) -> Derived {
            derive(&StatusInputs {
                enrollees: &self.people,
                edges: &self.edges,
                decisions: &self.decisions,
                previous: &self.previous,
                previous_clusters: &self.previous_clusters,
                run_id,
                now: Utc.with_ymd_and_hms(2026, 11, 2, hour, 0, 0).unwrap(),
            })
        }
    }

    fn status_of<'a>(d: &'a Derived, id: &str) -> &'a IdentityStatusRecord {
        d.statuses.iter().find(|s| s.enrollment_id == id).unwrap()
    }

    #[test]
    fn each_rule_gives_its_status() {
        let case = Scenario::new(
            vec![
                person("a", "1", 1),
                person("b", "2", 2), // fraud: a's biometrics under another NIK
                person("c", "3", 3),
                person("d", "3", 4), // re-enrollment of c
                person("e", "4", 5),
                person("f", "4", 6), // someone else using e's NIK
                person("g", "5", 7), // unique
            ],
            vec![edge("b", "a"), edge("d", "c")],
        );
        let d = case.run("r1", 0);
        let s = |id| status_of(&d, id).status;
        assert_eq!(s("a"), IdentityStatus::Ganda);
        assert_eq!(s("b"), IdentityStatus::Ganda);
        assert_eq!(s("c"), IdentityStatus::Tunggal);
        assert_eq!(s("d"), IdentityStatus::Reenrollment);
        assert_eq!(s("e"), IdentityStatus::Tunggal);
        assert_eq!(s("f"), IdentityStatus::NikConflict);
        assert_eq!(s("g"), IdentityStatus::Tunggal);
        // clusters: {a,b}, {c,d}, {e,f}; g alone is in none
        assert_eq!(d.clusters.len(), 6);
        assert!(status_of(&d, "g").cluster_id.is_none());
        assert_eq!(status_of(&d, "a").cluster_id, Some(cluster_id_for("a")));
        assert_eq!(status_of(&d, "f").cluster_id, Some(cluster_id_for("e")));
    }

    #[test]
    fn cluster_ids_survive_growth_and_merges_keep_the_older_id() {
        let mut case = Scenario::new(
            vec![
                person("a", "1", 1),
                person("b", "2", 2),
                person("x", "7", 3),
                person("y", "8", 4),
            ],
            vec![edge("b", "a"), edge("y", "x")],
        );
        let first = case.run("r1", 0);
        let ab = cluster_id_for("a");
        let xy = cluster_id_for("x");
        assert_eq!(status_of(&first, "y").cluster_id, Some(xy.clone()));
        // a new enrollment z links both clusters
        case.people.push(person("z", "9", 5));
        case.edges.push(edge("z", "b"));
        case.edges.push(edge("z", "y"));
        for c in &first.clusters {
            case.previous_clusters
                .insert(c.enrollment_id.clone(), (c.cluster_id.clone(), c.created));
        }
        let second = case.run("r2", 1);
        for id in ["a", "b", "x", "y", "z"] {
            assert_eq!(status_of(&second, id).cluster_id, Some(ab.clone()), "{id}");
        }
        assert!(second.clusters.iter().all(|c| c.cluster_size == 5));
        // created is the older cluster's creation time
        let created_first = first.clusters[0].created;
        assert!(second.clusters.iter().all(|c| c.created == created_first));
    }

    #[test]
    fn decisions_override_and_unchanged_statuses_keep_their_time() {
        let mut case = Scenario::new(
            vec![
                person("a", "1", 1),
                person("b", "2", 2),
                person("c", "3", 3),
            ],
            vec![edge("b", "a")],
        );
        let first = case.run("r1", 0);
        for s in &first.statuses {
            case.previous.insert(s.enrollment_id.clone(), s.clone());
        }
        case.decisions.insert(
            "a".into(),
            AppliedDecision {
                decision_id: "d1".into(),
                outcome: Outcome::Duplicate,
                effect: Effect::Proceed,
            },
        );
        case.decisions.insert(
            "b".into(),
            AppliedDecision {
                decision_id: "d1".into(),
                outcome: Outcome::Duplicate,
                effect: Effect::Block,
            },
        );
        let second = case.run("r2", 5);
        assert_eq!(status_of(&second, "a").status, IdentityStatus::Cleared);
        assert_eq!(status_of(&second, "b").status, IdentityStatus::Duplicate);
        assert_eq!(status_of(&second, "b").run_id, "r2");
        // c is unchanged: since and run stay those of the first run
        let c1 = status_of(&first, "c");
        let c2 = status_of(&second, "c");
        assert_eq!((c2.since, c2.run_id.as_str()), (c1.since, "r1"));
        assert_eq!(c2.first_result_time, c1.first_result_time);
        assert_eq!(status_of(&second, "a").first_run_id, "r1");
    }

    #[test]
    fn derivation_is_independent_of_input_order() {
        let people = vec![
            person("a", "1", 1),
            person("b", "2", 2),
            person("c", "2", 3),
        ];
        let edges = vec![edge("a", "b")];
        let x = Scenario::new(people.clone(), edges.clone()).run("r", 0);
        let mut rev = people;
        rev.reverse();
        let y = Scenario::new(rev, edges).run("r", 0);
        for s in &x.statuses {
            assert_eq!(status_of(&y, &s.enrollment_id), s);
        }
        assert_eq!(x.clusters, y.clusters);
    }
}
