//! `match_candidates`: every pair the nightly 1:N search scored at or above the `possible`
//! threshold — the evidence behind every duplicate flag.
//!
//! One row per (probe, candidate) pair and dedup run. The probe is an enrollment deduplicated
//! by the run; the candidate is either an earlier enrollment of the gallery or another probe
//! of the same run. Rows are only ever appended, by the run that scored them; a run that
//! never committed its identity status has its rows deleted by the next run.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Utc};

use super::columns::{doubles, opt_strings, shorts, strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;
use crate::vocabulary::{Band, CandidateSource, Relation};

/// SQL name and folder name of the table.
pub const NAME: &str = "match_candidates";

/// Arrow schema of `match_candidates`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `run_id` | string | the dedup run that scored the pair |
/// | `probe_id` | string | the enrollment searched (deduplicated by this run) |
/// | `candidate_id` | string | the enrollment it matched |
/// | `candidate_source` | string | `gallery` (deduplicated by an earlier run) or `same_run` (another probe of this run) |
/// | `relation` | string | `same_nik` or `different_nik`: the NIKs of the two enrollments |
/// | `llr` | double | fused log-likelihood ratio (genuine vs impostor) over all fingers and irises |
/// | `band` | string | `match` (at or above the decision threshold) or `possible` |
/// | `finger_llr` | double | the fingers' share of `llr` |
/// | `iris_llr` | double | the irises' share of `llr` |
/// | `fingers_compared` | short | finger positions present in both enrollments |
/// | `irises_compared` | short | eyes present in both enrollments |
/// | `swapped` | string, null | finger positions the matcher found swapped at capture, e.g. `2-7` |
/// | `parts` | string | JSON object: similarity and LLR per finger position (`f1`..`f10`) and eye (`right`, `left`) |
/// | `created` | timestamp | when the run scored the pair |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("run_id", false),
        text("probe_id", false),
        text("candidate_id", false),
        text("candidate_source", false),
        text("relation", false),
        Field::new("llr", DataType::Float64, false),
        text("band", false),
        Field::new("finger_llr", DataType::Float64, false),
        Field::new("iris_llr", DataType::Float64, false),
        Field::new("fingers_compared", DataType::Int16, false),
        Field::new("irises_compared", DataType::Int16, false),
        text("swapped", true),
        text("parts", false),
        timestamp("created", false),
    ]))
}

/// One row of `match_candidates`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchCandidateRecord {
    /// Dedup run that scored the pair.
    pub run_id: String,
    /// Enrollment searched.
    pub probe_id: String,
    /// Enrollment matched.
    pub candidate_id: String,
    /// `gallery` or `same_run`.
    pub candidate_source: CandidateSource,
    /// `same_nik` or `different_nik`.
    pub relation: Relation,
    /// Fused LLR.
    pub llr: f64,
    /// Which threshold the pair reached.
    pub band: Band,
    /// Fingers' share of the LLR.
    pub finger_llr: f64,
    /// Irises' share of the LLR.
    pub iris_llr: f64,
    /// Finger positions compared.
    pub fingers_compared: i16,
    /// Eyes compared.
    pub irises_compared: i16,
    /// Swapped positions, `a-b`.
    pub swapped: Option<String>,
    /// Per-part scores as JSON.
    pub parts: String,
    /// When scored.
    pub created: DateTime<Utc>,
}

/// Builds a record batch of `match_candidates` rows.
pub fn to_batch(rows: &[MatchCandidateRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(rows.iter().map(|r| r.run_id.as_str())),
            strings(rows.iter().map(|r| r.probe_id.as_str())),
            strings(rows.iter().map(|r| r.candidate_id.as_str())),
            strings(rows.iter().map(|r| r.candidate_source.as_str())),
            strings(rows.iter().map(|r| r.relation.as_str())),
            doubles(rows.iter().map(|r| r.llr)),
            strings(rows.iter().map(|r| r.band.as_str())),
            doubles(rows.iter().map(|r| r.finger_llr)),
            doubles(rows.iter().map(|r| r.iris_llr)),
            shorts(rows.iter().map(|r| r.fingers_compared)),
            shorts(rows.iter().map(|r| r.irises_compared)),
            opt_strings(rows.iter().map(|r| r.swapped.as_deref())),
            strings(rows.iter().map(|r| r.parts.as_str())),
            timestamps(rows.iter().map(|r| r.created)),
        ],
    )?)
}

/// Reads `match_candidates` rows back from a batch holding every column of the table (a scan or a
/// `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<MatchCandidateRecord>> {
    let c = Columns::new(batch);
    let run_id = c.text("run_id")?;
    let probe_id = c.text("probe_id")?;
    let candidate_id = c.text("candidate_id")?;
    let candidate_source = c.text("candidate_source")?;
    let relation = c.text("relation")?;
    let llr = c.doubles("llr")?;
    let band = c.text("band")?;
    let finger_llr = c.doubles("finger_llr")?;
    let iris_llr = c.doubles("iris_llr")?;
    let fingers_compared = c.shorts("fingers_compared")?;
    let irises_compared = c.shorts("irises_compared")?;
    let swapped = c.text("swapped")?;
    let parts = c.text("parts")?;
    let created = c.times("created")?;
    (0..c.len())
        .map(|r| {
            Ok(MatchCandidateRecord {
                run_id: run_id.string(r),
                probe_id: probe_id.string(r),
                candidate_id: candidate_id.string(r),
                candidate_source: candidate_source.parse(r)?,
                relation: relation.parse(r)?,
                llr: llr.value(r),
                band: band.parse(r)?,
                finger_llr: finger_llr.value(r),
                iris_llr: iris_llr.value(r),
                fingers_compared: fingers_compared.value(r),
                irises_compared: irises_compared.value(r),
                swapped: swapped.opt(r),
                parts: parts.string(r),
                created: created.get(r),
            })
        })
        .collect()
}
