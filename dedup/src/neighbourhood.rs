//! The part of the country a night can change: what the status rules must see to re-derive
//! every status and cluster the night touches, and nothing more.
//!
//! An enrollment's status depends on its decision, its `match` edges, the NIKs of the
//! enrollments at their other ends, and the earlier holders of its own NIK; its cluster on
//! the component of those edges and NIK links. So the enrollments whose derivation can differ
//! from the last run are the closure, under `match` edges and shared NIKs, of the night's
//! seeds: its probes and the enrollments whose latest decision is not yet applied. Deriving
//! the rules over that closure gives, for its members, exactly what deriving them over the
//! whole country would, and every other enrollment keeps its state. The closure is found by
//! joins against the lake (edges by enrollment, enrollments by NIK), a frontier at a time, so
//! memory and rows written follow the night and its clusters, not the gallery.

use std::collections::{HashMap, HashSet};

use datafusion::prelude::SessionContext;
use lake::tables::read::Columns;
use lake::tables::status_history::{self, StatusHistoryRecord};
use lake::vocabulary::Band;

use crate::error::Result;
use crate::load::{self, AppliedDecision, Enrollee};

/// Everything the status rules need for the enrollments a night touches.
#[derive(Debug, Default)]
pub struct Neighbourhood {
    /// The closure's enrollments that are searched: this run's probes and those with a status.
    pub enrollees: Vec<Enrollee>,
    /// Every `match` edge between two of them.
    pub edges: Vec<(String, String)>,
    /// Latest decision of each of them that has one.
    pub decisions: HashMap<String, AppliedDecision>,
    /// Current state of each of them that has one.
    pub previous: HashMap<String, StatusHistoryRecord>,
    /// Enrollments whose latest decision had not been applied (seeds of the closure).
    pub decided: usize,
}

/// Gathers the closure of `probes` (this run's searched enrollments) and of the enrollments
/// with a decision not yet applied (looked for among decisions written after `since` µs,
/// [`load::decisions_not_applied`]).
pub async fn gather(
    ctx: &SessionContext,
    probes: &[Enrollee],
    since: Option<i64>,
) -> Result<Neighbourhood> {
    let decided = load::decisions_not_applied(ctx, since).await?;
    let mut seen: HashSet<String> = HashSet::new();
    let mut frontier: Vec<String> = Vec::new();
    for id in probes
        .iter()
        .map(|p| p.enrollment_id.clone())
        .chain(decided.iter().cloned())
    {
        if seen.insert(id.clone()) {
            frontier.push(id);
        }
    }
    let mut found: HashMap<String, Enrollee> = HashMap::new();
    let mut edges: HashSet<(String, String)> = HashSet::new();
    let band = lake::delta::sql_literal(Band::Match.as_str());
    while !frontier.is_empty() {
        // Each look-up joins the frontier (or its NIKs) as a small table against the whole
        // table, so only the row groups that can hold those keys are read.
        let touching = load::collect_with_ids(
            ctx,
            &format!(
                "SELECT m.probe_id, m.candidate_id FROM match_candidates m \
                 JOIN {{keys}} f ON m.probe_id = f.id WHERE m.band = {band} \
                 UNION ALL \
                 SELECT m.probe_id, m.candidate_id FROM match_candidates m \
                 JOIN {{keys}} f ON m.candidate_id = f.id WHERE m.band = {band}"
            ),
            &frontier,
        )
        .await?;
        let niks = lake::query::niks_of_enrollments(ctx, &frontier).await?;
        let holders = load::collect_with_ids(
            ctx,
            "SELECT e.enrollment_id, e.nik, e.capture_finished FROM enrollments e \
             JOIN {keys} n ON e.nik = n.id",
            &niks,
        )
        .await?;
        let mut next = Vec::new();
        let mut reach = |id: String, next: &mut Vec<String>| {
            if seen.insert(id.clone()) {
                next.push(id);
            }
        };
        for b in &touching {
            let c = Columns::new(b);
            let (p, q) = (c.text("probe_id")?, c.text("candidate_id")?);
            for r in 0..c.len() {
                let (a, b) = (p.string(r), q.string(r));
                reach(a.clone(), &mut next);
                reach(b.clone(), &mut next);
                edges.insert(if a <= b { (a, b) } else { (b, a) });
            }
        }
        for b in &holders {
            let c = Columns::new(b);
            let (ids, niks) = (c.text("enrollment_id")?, c.text("nik")?);
            let at = c.times("capture_finished")?;
            for r in 0..c.len() {
                let id = ids.string(r);
                reach(id.clone(), &mut next);
                found.entry(id.clone()).or_insert_with(|| Enrollee {
                    enrollment_id: id,
                    nik: niks.string(r),
                    capture_finished: at.get(r),
                });
            }
        }
        frontier = next;
    }

    let ids: Vec<String> = found.keys().cloned().collect();
    let previous = status_history::latest(load::history_of(ctx, &ids).await?);
    let searched: HashSet<&str> = probes.iter().map(|p| p.enrollment_id.as_str()).collect();
    // Enrollments with neither a status nor a search this run (held back, or landed after
    // the run listed its probes) stay out, as they would from a derivation of everything.
    let mut enrollees: Vec<Enrollee> = found
        .into_values()
        .filter(|e| {
            searched.contains(e.enrollment_id.as_str()) || previous.contains_key(&e.enrollment_id)
        })
        .collect();
    enrollees.sort_by(|a, b| a.enrollment_id.cmp(&b.enrollment_id));
    let members: HashSet<&str> = enrollees.iter().map(|e| e.enrollment_id.as_str()).collect();
    let mut edges: Vec<(String, String)> = edges
        .into_iter()
        .filter(|(a, b)| members.contains(a.as_str()) && members.contains(b.as_str()))
        .collect();
    edges.sort();
    let member_ids: Vec<String> = members.iter().map(|s| s.to_string()).collect();
    let decisions = load::decisions_of(ctx, &member_ids).await?;
    Ok(Neighbourhood {
        enrollees,
        edges,
        decisions,
        previous,
        decided: decided.len(),
    })
}
