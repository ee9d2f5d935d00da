//! Reading what a run needs from the lake: the enrollments (id, NIK, capture time), the
//! current statuses, decisions, match edges, and the templates of a batch of probes.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, BinaryArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, TimeUnit};
use biometrics::finger::FingerTemplate;
use biometrics::fusion::PersonTemplate;
use biometrics::iris::IrisCode;
use chrono::{DateTime, Utc};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use lake::tables::identity_status::IdentityStatusRecord;
use rayon::prelude::*;

use crate::error::{DedupError, Result};

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
    Ok(ctx.sql(sql).await?.collect().await?)
}

fn strings(batch: &RecordBatch, i: usize) -> Result<StringArray> {
    let col = arrow::compute::cast(batch.column(i), &DataType::Utf8)?;
    Ok(col
        .as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .unwrap_or_else(|| StringArray::from(Vec::<Option<&str>>::new())))
}

fn times(batch: &RecordBatch, i: usize) -> Result<TimestampMicrosecondArray> {
    let col = arrow::compute::cast(
        batch.column(i),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    )?;
    Ok(col
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .cloned()
        .unwrap_or_else(|| TimestampMicrosecondArray::from(Vec::<Option<i64>>::new())))
}

fn binaries(batch: &RecordBatch, i: usize) -> Result<BinaryArray> {
    let col = arrow::compute::cast(batch.column(i), &DataType::Binary)?;
    Ok(col
        .as_any()
        .downcast_ref::<BinaryArray>()
        .cloned()
        .unwrap_or_else(|| BinaryArray::from(Vec::<Option<&[u8]>>::new())))
}

fn time_at(a: &TimestampMicrosecondArray, row: usize) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(a.value(row)).unwrap_or_default()
}

fn opt_str(a: &StringArray, row: usize) -> Option<String> {
    (!a.is_null(row)).then(|| a.value(row).to_string())
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
        let (ids, niks, at) = (strings(b, 0)?, strings(b, 1)?, times(b, 2)?);
        for r in 0..b.num_rows() {
            out.push(Enrollee {
                enrollment_id: ids.value(r).to_string(),
                nik: niks.value(r).to_string(),
                capture_finished: time_at(&at, r),
            });
        }
    }
    Ok(out)
}

/// The current `identity_status` rows by enrollment id.
pub async fn statuses(ctx: &SessionContext) -> Result<HashMap<String, IdentityStatusRecord>> {
    let batches = collect(
        ctx,
        "SELECT enrollment_id, status, cluster_id, since, run_id, first_run_id, \
         first_result_time, detail FROM identity_status",
    )
    .await?;
    let mut out = HashMap::new();
    for b in &batches {
        let (ids, status, cluster) = (strings(b, 0)?, strings(b, 1)?, strings(b, 2)?);
        let (since, run, first_run) = (times(b, 3)?, strings(b, 4)?, strings(b, 5)?);
        let (first_time, detail) = (times(b, 6)?, strings(b, 7)?);
        for r in 0..b.num_rows() {
            let rec = IdentityStatusRecord {
                enrollment_id: ids.value(r).to_string(),
                status: status.value(r).to_string(),
                cluster_id: opt_str(&cluster, r),
                since: time_at(&since, r),
                run_id: run.value(r).to_string(),
                first_run_id: first_run.value(r).to_string(),
                first_result_time: time_at(&first_time, r),
                detail: opt_str(&detail, r),
            };
            out.insert(rec.enrollment_id.clone(), rec);
        }
    }
    Ok(out)
}

/// Current cluster of each clustered enrollment: `(cluster_id, created)`.
pub async fn clusters(ctx: &SessionContext) -> Result<HashMap<String, (String, DateTime<Utc>)>> {
    let batches = collect(
        ctx,
        "SELECT enrollment_id, cluster_id, created FROM clusters",
    )
    .await?;
    let mut out = HashMap::new();
    for b in &batches {
        let (ids, cl, created) = (strings(b, 0)?, strings(b, 1)?, times(b, 2)?);
        for r in 0..b.num_rows() {
            out.insert(
                ids.value(r).to_string(),
                (cl.value(r).to_string(), time_at(&created, r)),
            );
        }
    }
    Ok(out)
}

/// An adjudicator's latest final decision on one enrollment.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedDecision {
    /// The decision.
    pub decision_id: String,
    /// Its outcome (`duplicate`, `different_persons`, …).
    pub outcome: String,
    /// Its effect on this enrollment (`proceed`, `block`, `refer`).
    pub effect: String,
}

/// The latest decision per enrollment (by `decided_time`, then `decision_id`).
pub async fn decisions(ctx: &SessionContext) -> Result<HashMap<String, AppliedDecision>> {
    let batches = collect(
        ctx,
        "SELECT enrollment_id, decision_id, outcome, effect FROM decisions \
         ORDER BY decided_time, decision_id",
    )
    .await?;
    let mut out = HashMap::new();
    for b in &batches {
        let (ids, dec, outcome, effect) = (
            strings(b, 0)?,
            strings(b, 1)?,
            strings(b, 2)?,
            strings(b, 3)?,
        );
        for r in 0..b.num_rows() {
            out.insert(
                ids.value(r).to_string(),
                AppliedDecision {
                    decision_id: dec.value(r).to_string(),
                    outcome: outcome.value(r).to_string(),
                    effect: effect.value(r).to_string(),
                },
            );
        }
    }
    Ok(out)
}

/// Every `match`-band edge recorded so far: `(probe, candidate)`.
pub async fn match_edges(ctx: &SessionContext) -> Result<Vec<(String, String)>> {
    let batches = collect(
        ctx,
        "SELECT probe_id, candidate_id FROM match_candidates WHERE band = 'match' \
         ORDER BY probe_id, candidate_id",
    )
    .await?;
    let mut out = Vec::new();
    for b in &batches {
        let (p, c) = (strings(b, 0)?, strings(b, 1)?);
        for r in 0..b.num_rows() {
            out.push((p.value(r).to_string(), c.value(r).to_string()));
        }
    }
    Ok(out)
}

/// Run ids of the `match_candidates` rows present.
pub async fn candidate_runs(ctx: &SessionContext) -> Result<Vec<String>> {
    let batches = collect(ctx, "SELECT DISTINCT run_id FROM match_candidates").await?;
    let mut out = Vec::new();
    for b in &batches {
        let ids = strings(b, 0)?;
        out.extend((0..b.num_rows()).map(|r| ids.value(r).to_string()));
    }
    Ok(out)
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
        let (ids_a, bytes) = (strings(b, 0)?, binaries(b, 2)?);
        let pos = arrow::compute::cast(b.column(1), &DataType::Int64)?;
        let pos = pos
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .cloned()
            .ok_or_else(|| DedupError::Worker("position column".into()))?;
        for r in 0..b.num_rows() {
            let p = pos.value(r);
            if let (Some(&person), 1..=10) = (index.get(ids_a.value(r)), p) {
                raw.push((person, (p - 1) as usize, bytes.value(r).to_vec()));
            }
        }
    }
    for b in &irises {
        let (ids_a, eyes, bytes) = (strings(b, 0)?, strings(b, 1)?, binaries(b, 2)?);
        for r in 0..b.num_rows() {
            let slot = if eyes.value(r) == "right" { 10 } else { 11 };
            if let Some(&person) = index.get(ids_a.value(r)) {
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
