//! Reading what a run needs from the lake: the enrollments (id, NIK, capture time), the
//! current statuses, decisions, match edges, and the templates of a batch of probes.

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use biometrics::finger::FingerTemplate;
use biometrics::fusion::PersonTemplate;
use biometrics::iris::IrisCode;
use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use lake::tables::identity_status::{self, IdentityStatusRecord};
use lake::tables::read::Columns;
use lake::tables::status_history::{self, StatusHistoryRecord};
use lake::tables::{clusters, decisions};
use lake::vocabulary::{Band, Effect, Outcome};
use rayon::prelude::*;

use crate::error::Result;

/// What dedup knows of an enrollment besides its templates.
#[derive(Clone, Debug)]
pub struct Enrollee {
    /// The enrollment id.
    pub enrollment_id: String,
    /// The NIK it was enrolled under (never logged).
    pub nik: String,
    /// End of capture: orders enrollments in time, starts the SLA clock.
    pub capture_finished: DateTime<Utc>,
}

/// Runs `sql` and returns its batches.
pub async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(lake::query::collect(ctx, sql).await?)
}

/// Every accepted enrollment, oldest capture first (ties by id).
pub async fn enrollees(ctx: &SessionContext) -> Result<Vec<Enrollee>> {
    enrollees_of(
        ctx,
        "SELECT enrollment_id, nik, capture_finished FROM enrollments \
         ORDER BY capture_finished, enrollment_id",
    )
    .await
}

/// Runs `sql` with `{keys}` standing for a one-column table (`id`) of `ids`
/// ([`lake::query::collect_with_keys`]): a query joins against it to read only the row
/// groups that can hold a night's enrollments (bloom filters, [`lake::file_layout`]). No ids:
/// no rows.
pub async fn collect_with_ids(
    ctx: &SessionContext,
    sql: &str,
    ids: &[String],
) -> Result<Vec<RecordBatch>> {
    Ok(lake::query::collect_with_keys(ctx, sql, ids).await?)
}

/// Reads `(enrollment_id, nik, capture_finished)` rows of a query into enrollees.
async fn enrollees_of(ctx: &SessionContext, sql: &str) -> Result<Vec<Enrollee>> {
    let mut out = Vec::new();
    for b in &collect(ctx, sql).await? {
        let c = Columns::new(b);
        let (ids, niks) = (c.text("enrollment_id")?, c.text("nik")?);
        let at = c.times("capture_finished")?;
        out.extend((0..c.len()).map(|r| Enrollee {
            enrollment_id: ids.string(r),
            nik: niks.string(r),
            capture_finished: at.get(r),
        }));
    }
    Ok(out)
}

/// How much the clocks of the hosts that write the lake (ingest, the console's decisions,
/// dedup) may differ: windows that start at the last committed dedup run's start begin this
/// much earlier (reading a little more is harmless; missing a row is not).
pub const CLOCK_MARGIN_US: i64 = 3_600 * 1_000_000;

/// Enrollments without a status yet (never searched, or held back or interrupted before
/// their run's commit), oldest capture first: the probes of a run.
///
/// With `last`, the latest committed run (which listed every enrollment without a status
/// when it started, and either gave each a status or held it back by name), only two places
/// can hold such enrollments: the rows of ingest runs that may have written after it started
/// (files a Delta scan selects by their `run_id` statistics, not a scan of the country) and
/// its held-back list. Without it (a first run, or one after a run that died between its
/// commit and recording its end) every enrollment is checked.
pub async fn pending(
    ctx: &SessionContext,
    last: Option<&crate::totals::LastRun>,
) -> Result<Vec<Enrollee>> {
    const NO_STATUS: &str = "NOT EXISTS (SELECT 1 FROM status_history h \
                             WHERE h.enrollment_id = e.enrollment_id)";
    const ORDER: &str = "ORDER BY capture_finished, enrollment_id";
    let Some((started, held)) = last.and_then(|l| Some((l.started, l.held_back()?))) else {
        return enrollees_of(
            ctx,
            &format!(
                "SELECT e.enrollment_id, e.nik, e.capture_finished FROM enrollments e \
                 WHERE {NO_STATUS} {ORDER}"
            ),
        )
        .await;
    };
    let runs = lake::query::texts(
        ctx,
        &format!(
            "SELECT run_id FROM runs WHERE stage = {} AND \
             (finished IS NULL OR CAST(finished AS BIGINT) > {})",
            lake::delta::sql_literal(lake::vocabulary::Stage::Ingest.as_str()),
            started - CLOCK_MARGIN_US
        ),
        "run_id",
    )
    .await?;
    let mut parts = Vec::new();
    if !runs.is_empty() {
        let list: Vec<String> = runs.iter().map(|r| lake::delta::sql_literal(r)).collect();
        parts.push(format!(
            "SELECT e.enrollment_id, e.nik, e.capture_finished FROM enrollments e \
             WHERE e.run_id IN ({}) AND {NO_STATUS}",
            list.join(", ")
        ));
    }
    if !held.is_empty() {
        lake::query::register_texts(ctx, "dedup_held_back", "id", &held)?;
        parts.push(format!(
            "SELECT e.enrollment_id, e.nik, e.capture_finished FROM enrollments e \
             JOIN dedup_held_back b ON e.enrollment_id = b.id WHERE {NO_STATUS}"
        ));
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT * FROM ({}) AS p {ORDER}", parts.join(" UNION "));
    let out = enrollees_of(ctx, &sql).await;
    if !held.is_empty() {
        ctx.deregister_table("dedup_held_back")?;
    }
    out
}

/// Enrollments that have a status: the gallery a run's probes are searched against.
pub async fn gallery_size(ctx: &SessionContext) -> Result<u64> {
    count(
        ctx,
        "SELECT count(DISTINCT enrollment_id) AS n FROM status_history",
    )
    .await
}

/// The first column of the first row of `sql`, a count.
async fn count(ctx: &SessionContext, sql: &str) -> Result<u64> {
    let batches = collect(ctx, sql).await?;
    let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(0);
    };
    let n = arrow::compute::cast(b.column(0), &DataType::Int64)?;
    let n = n
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .map_or(0, |a| a.value(0));
    Ok(n.max(0) as u64)
}

/// The runs that reached their commit: those that wrote `status_history` rows. Candidates
/// and gallery partitions of any other run are leftovers of an interrupted one.
pub async fn committed_runs(ctx: &SessionContext) -> Result<HashSet<String>> {
    Ok(lake::query::texts(
        ctx,
        "SELECT DISTINCT written_by FROM status_history",
        "written_by",
    )
    .await?
    .into_iter()
    .collect())
}

/// The NIK of each of `ids` that is enrolled.
pub async fn niks(ctx: &SessionContext, ids: &[String]) -> Result<HashMap<String, String>> {
    let batches = collect_with_ids(
        ctx,
        "SELECT e.enrollment_id, e.nik FROM enrollments e \
         JOIN {keys} w ON e.enrollment_id = w.id",
        ids,
    )
    .await?;
    let mut out = HashMap::new();
    for b in &batches {
        let c = Columns::new(b);
        let (ids, niks) = (c.text("enrollment_id")?, c.text("nik")?);
        out.extend((0..c.len()).map(|r| (ids.string(r), niks.string(r))));
    }
    Ok(out)
}

/// Current enrollments by status, and `(clusters, clustered enrollments)`: the totals a
/// run reports after its commit.
pub async fn totals(ctx: &SessionContext) -> Result<(BTreeMap<String, u64>, (u64, u64))> {
    let mut by_status = BTreeMap::new();
    for b in &collect(
        ctx,
        "SELECT status, count(*) AS n FROM identity_status GROUP BY status",
    )
    .await?
    {
        let c = Columns::new(b);
        let status = c.text("status")?;
        let n = c.longs("n")?;
        by_status.extend((0..c.len()).map(|r| (status.string(r), n.value(r).max(0) as u64)));
    }
    let clusters = count(ctx, "SELECT count(DISTINCT cluster_id) FROM clusters").await?;
    let members = count(ctx, "SELECT count(*) FROM clusters").await?;
    Ok((by_status, (clusters, members)))
}

/// The `status_history` rows of `ids` (every state each has had).
pub async fn history_of(ctx: &SessionContext, ids: &[String]) -> Result<Vec<StatusHistoryRecord>> {
    let batches = collect_with_ids(
        ctx,
        "SELECT h.* FROM status_history h JOIN {keys} w ON h.enrollment_id = w.id",
        ids,
    )
    .await?;
    Ok(lake::tables::read::from_batches(
        &batches,
        status_history::from_batch,
    )?)
}

/// The latest decision of each of `ids` that has one (as [`decisions()`]).
pub async fn decisions_of(
    ctx: &SessionContext,
    ids: &[String],
) -> Result<HashMap<String, AppliedDecision>> {
    let batches = collect_with_ids(
        ctx,
        "SELECT d.* FROM decisions d JOIN {keys} w ON d.enrollment_id = w.id \
         ORDER BY d.decided_time, d.decision_id",
        ids,
    )
    .await?;
    let rows = lake::tables::read::from_batches(&batches, decisions::from_batch)?;
    Ok(latest_decisions(rows))
}

/// Enrollments whose latest decision is not the one their current status applies: the
/// decisions that arrived since the last run. The current state is read only for decided
/// enrollments, not aggregated over the whole history; with `since` (µs), only enrollments
/// with a decision written to the lake after it are looked at: the last committed run,
/// which started after every older one was written, applied those.
pub async fn decisions_not_applied(
    ctx: &SessionContext,
    since: Option<i64>,
) -> Result<Vec<String>> {
    let decided = match since {
        Some(t) => format!(
            "SELECT enrollment_id FROM decisions WHERE exported_time > to_timestamp_micros({t})"
        ),
        None => "SELECT enrollment_id FROM decisions".to_string(),
    };
    Ok(lake::query::texts(
        ctx,
        &format!(
            "SELECT d.enrollment_id FROM \
             (SELECT enrollment_id, \
                     first_value(decision_id ORDER BY decided_time DESC, decision_id DESC) \
                       AS decision_id \
              FROM decisions WHERE enrollment_id IN ({decided}) \
              GROUP BY enrollment_id) AS d \
             JOIN (SELECT h.enrollment_id, \
                          first_value(h.decision_id ORDER BY h.recorded DESC) AS decision_id \
                   FROM status_history h WHERE h.enrollment_id IN ({decided}) \
                   GROUP BY h.enrollment_id) AS s ON s.enrollment_id = d.enrollment_id \
             WHERE s.decision_id IS DISTINCT FROM d.decision_id \
             ORDER BY d.enrollment_id"
        ),
        "enrollment_id",
    )
    .await?)
}

/// The current `identity_status` rows by enrollment id.
pub async fn statuses(ctx: &SessionContext) -> Result<HashMap<String, IdentityStatusRecord>> {
    let rows = lake::query::rows(
        ctx,
        "SELECT * FROM identity_status",
        identity_status::from_batch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.enrollment_id.clone(), r))
        .collect())
}

/// Current cluster of each clustered enrollment: `(cluster_id, created)`.
pub async fn clusters(ctx: &SessionContext) -> Result<HashMap<String, (String, DateTime<Utc>)>> {
    let rows = lake::query::rows(ctx, "SELECT * FROM clusters", clusters::from_batch).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.enrollment_id, (r.cluster_id, r.created)))
        .collect())
}

/// An adjudicator's latest final decision on one enrollment.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedDecision {
    /// The decision.
    pub decision_id: String,
    /// Its outcome.
    pub outcome: Outcome,
    /// Its effect on this enrollment.
    pub effect: Effect,
}

/// The latest decision per enrollment (by `decided_time`, then `decision_id`).
pub async fn decisions(ctx: &SessionContext) -> Result<HashMap<String, AppliedDecision>> {
    let rows = lake::query::rows(
        ctx,
        "SELECT * FROM decisions ORDER BY decided_time, decision_id",
        decisions::from_batch,
    )
    .await?;
    Ok(latest_decisions(rows))
}

/// The last of each enrollment's decisions, given in decision order.
fn latest_decisions(rows: Vec<decisions::DecisionRecord>) -> HashMap<String, AppliedDecision> {
    rows.into_iter()
        .map(|d| {
            let decision = AppliedDecision {
                decision_id: d.decision_id,
                outcome: d.outcome,
                effect: d.effect,
            };
            (d.enrollment_id, decision)
        })
        .collect()
}

/// Every `match`-band edge recorded so far: `(probe, candidate)`.
pub async fn match_edges(ctx: &SessionContext) -> Result<Vec<(String, String)>> {
    let batches = collect(
        ctx,
        &format!(
            "SELECT probe_id, candidate_id FROM match_candidates WHERE band = {} \
             ORDER BY probe_id, candidate_id",
            lake::delta::sql_literal(Band::Match.as_str())
        ),
    )
    .await?;
    let mut out = Vec::new();
    for b in &batches {
        let c = Columns::new(b);
        let (p, cand) = (c.text("probe_id")?, c.text("candidate_id")?);
        out.extend((0..c.len()).map(|r| (p.string(r), cand.string(r))));
    }
    Ok(out)
}

/// Run ids of the `match_candidates` rows present.
pub async fn candidate_runs(ctx: &SessionContext) -> Result<Vec<String>> {
    Ok(lake::query::texts(
        ctx,
        "SELECT DISTINCT run_id FROM match_candidates",
        "run_id",
    )
    .await?)
}

/// Reason code of an enrollment held back because a stored template does not decode.
pub const TEMPLATE_UNREADABLE: &str = "template_unreadable";

/// An enrollment a run could not search: it keeps no status, so every later run tries again
/// (the SLA clock keeps running and the run's record names it), and it never enters the
/// gallery half-decoded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HeldBack {
    /// The enrollment (an id, never a NIK).
    pub enrollment_id: String,
    /// Reason code, e.g. [`TEMPLATE_UNREADABLE`].
    pub reason: &'static str,
    /// Which part: `finger N`, `iris right` or `iris left`.
    pub part: String,
    /// The decoder's message.
    pub detail: String,
}

/// The templates of a batch: the people that decoded, and those held back.
#[derive(Debug, Default)]
pub struct Templates {
    /// Decoded people, in the order of the ids asked for (held-back ones left out).
    pub people: Vec<(String, PersonTemplate)>,
    /// Enrollments with a template that does not decode.
    pub held_back: Vec<HeldBack>,
}

/// The person templates of `ids`, decoded from the lake's `fingerprints.prepared` and
/// `irises.code` columns (in parallel: decoding rebuilds the MCC cylinders). A stored
/// template that does not decode holds its whole enrollment back rather than failing the run
/// or searching the person with a part missing.
pub async fn templates(ctx: &SessionContext, ids: &[String]) -> Result<Templates> {
    let fingers = collect_with_ids(
        ctx,
        "SELECT f.enrollment_id, f.position, f.prepared FROM fingerprints f \
         JOIN {keys} w ON f.enrollment_id = w.id WHERE f.prepared IS NOT NULL",
        ids,
    )
    .await?;
    let irises = collect_with_ids(
        ctx,
        "SELECT i.enrollment_id, i.eye, i.code FROM irises i \
         JOIN {keys} w ON i.enrollment_id = w.id WHERE i.code IS NOT NULL",
        ids,
    )
    .await?;

    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    // (person, slot, bytes): slot 0..10 fingers, 10..12 irises
    let mut raw: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    for b in &fingers {
        let c = Columns::new(b);
        let (ids_a, bytes) = (c.text("enrollment_id")?, c.binaries("prepared")?);
        let pos = c.shorts("position")?;
        for r in 0..c.len() {
            let p = pos.value(r);
            if let (Some(&person), 1..=10) = (index.get(ids_a.get(r)), p) {
                raw.push((person, (p - 1) as usize, bytes.value(r).to_vec()));
            }
        }
    }
    for b in &irises {
        let c = Columns::new(b);
        let (ids_a, eyes) = (c.text("enrollment_id")?, c.text("eye")?);
        let bytes = c.binaries("code")?;
        for r in 0..c.len() {
            let slot = if eyes.get(r) == "right" { 10 } else { 11 };
            if let Some(&person) = index.get(ids_a.get(r)) {
                raw.push((person, slot, bytes.value(r).to_vec()));
            }
        }
    }
    enum Part {
        Finger(FingerTemplate),
        Iris(IrisCode),
    }
    // Decoding is CPU work on the rayon pool; the run has nothing else to do meanwhile.
    let decoded: Vec<(usize, usize, std::result::Result<Part, String>)> = raw
        .into_par_iter()
        .map(|(person, slot, bytes)| {
            let part = if slot < 10 {
                FingerTemplate::from_bytes(&bytes)
                    .map(Part::Finger)
                    .map_err(|e| e.to_string())
            } else {
                IrisCode::from_bytes(&bytes)
                    .map(Part::Iris)
                    .map_err(|e| e.to_string())
            };
            (person, slot, part)
        })
        .collect();
    let mut people: Vec<PersonTemplate> = vec![PersonTemplate::default(); ids.len()];
    let mut held: HashMap<usize, HeldBack> = HashMap::new();
    for (person, slot, part) in decoded {
        match part {
            Ok(Part::Finger(t)) => people[person].fingers[slot] = Some(t),
            Ok(Part::Iris(c)) => people[person].irises[slot - 10] = Some(c),
            Err(detail) => {
                held.entry(person).or_insert_with(|| HeldBack {
                    enrollment_id: ids[person].clone(),
                    reason: TEMPLATE_UNREADABLE,
                    part: match slot {
                        0..=9 => format!("finger {}", slot + 1),
                        10 => "iris right".into(),
                        _ => "iris left".into(),
                    },
                    detail,
                });
            }
        }
    }
    let mut out = Templates::default();
    for (i, (id, person)) in ids.iter().zip(people).enumerate() {
        match held.remove(&i) {
            Some(h) => out.held_back.push(h),
            None => out.people.push((id.clone(), person)),
        }
    }
    Ok(out)
}
