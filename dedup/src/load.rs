//! Reading what a run needs from the lake: the enrollments (id, NIK, capture time), the
//! current statuses, decisions, match edges, and the templates of a batch of probes.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::DataType;
use biometrics::finger::FingerTemplate;
use biometrics::fusion::PersonTemplate;
use biometrics::iris::IrisCode;
use chrono::{DateTime, Utc};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use lake::tables::identity_status::{self, IdentityStatusRecord};
use lake::tables::read::Columns;
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
    let batches = collect(
        ctx,
        "SELECT enrollment_id, nik, capture_finished FROM enrollments \
         ORDER BY capture_finished, enrollment_id",
    )
    .await?;
    let mut out = Vec::new();
    for b in &batches {
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
    Ok(rows
        .into_iter()
        .map(|d| {
            let decision = AppliedDecision {
                decision_id: d.decision_id,
                outcome: d.outcome,
                effect: d.effect,
            };
            (d.enrollment_id, decision)
        })
        .collect())
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
    let wanted = RecordBatch::try_new(
        Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("id", DataType::Utf8, false),
        ])),
        vec![Arc::new(StringArray::from_iter_values(ids.iter()))],
    )?;
    ctx.deregister_table("dedup_wanted")?;
    ctx.register_table(
        "dedup_wanted",
        Arc::new(MemTable::try_new(wanted.schema(), vec![vec![wanted]])?),
    )?;
    let fingers = collect(
        ctx,
        "SELECT f.enrollment_id, f.position, f.prepared FROM fingerprints f \
         JOIN dedup_wanted w ON f.enrollment_id = w.id WHERE f.prepared IS NOT NULL",
    )
    .await?;
    let irises = collect(
        ctx,
        "SELECT i.enrollment_id, i.eye, i.code FROM irises i \
         JOIN dedup_wanted w ON i.enrollment_id = w.id WHERE i.code IS NOT NULL",
    )
    .await?;
    ctx.deregister_table("dedup_wanted")?;

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
