//! `decisions`: adjudicators' final decisions, one row per enrollment a decision concerns.
//!
//! Written by the adjudication console when a decision becomes final (confirmed by a second
//! adjudicator or a supervisor where that is required); read by the next dedup run, which
//! turns each row's `effect` into the enrollment's identity status. Append-only: a later
//! decision on the same enrollment supersedes an earlier one (latest `decided_time` wins).

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Utc};

use super::columns::{bools, opt_strings, opt_timestamps, strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;
use crate::vocabulary::{Effect, Outcome};

/// SQL name and folder name of the table.
pub const NAME: &str = "decisions";

/// Arrow schema of `decisions`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `decision_id` | string | id of the decision (one decision covers every enrollment of its case) |
/// | `case_id` | string | the adjudication case |
/// | `cluster_id` | string | the duplicate cluster the case was made from |
/// | `enrollment_id` | string | the enrollment this row decides |
/// | `outcome` | string | `duplicate`, `different_persons`, `reenrollment`, `refer_back` |
/// | `effect` | string | what happens to this enrollment: `proceed`, `block`, `refer` |
/// | `fraud` | boolean | the adjudicator flagged fraud |
/// | `decided_by` | string | user name of the deciding adjudicator |
/// | `decided_time` | timestamp | when decided |
/// | `confirmed_by` | string, null | second adjudicator or supervisor who confirmed, where required |
/// | `confirmed_time` | timestamp, null | when confirmed |
/// | `comment` | string | the required comment |
/// | `exported_time` | timestamp | when the console wrote the row to the lake |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("decision_id", false),
        text("case_id", false),
        text("cluster_id", false),
        text("enrollment_id", false),
        text("outcome", false),
        text("effect", false),
        Field::new("fraud", DataType::Boolean, false),
        text("decided_by", false),
        timestamp("decided_time", false),
        text("confirmed_by", true),
        timestamp("confirmed_time", true),
        text("comment", false),
        timestamp("exported_time", false),
    ]))
}

/// One row of `decisions`.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRecord {
    /// Decision id.
    pub decision_id: String,
    /// Case id.
    pub case_id: String,
    /// Cluster the case came from.
    pub cluster_id: String,
    /// The enrollment decided.
    pub enrollment_id: String,
    /// What the adjudicator decided about the case.
    pub outcome: Outcome,
    /// What the decision does to this enrollment.
    pub effect: Effect,
    /// Fraud flag.
    pub fraud: bool,
    /// Deciding user.
    pub decided_by: String,
    /// When decided.
    pub decided_time: DateTime<Utc>,
    /// Confirming user, where required.
    pub confirmed_by: Option<String>,
    /// When confirmed.
    pub confirmed_time: Option<DateTime<Utc>>,
    /// The adjudicator's comment.
    pub comment: String,
    /// When exported to the lake.
    pub exported_time: DateTime<Utc>,
}

/// Builds a record batch of `decisions` rows.
pub fn to_batch(rows: &[DecisionRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(rows.iter().map(|r| r.decision_id.as_str())),
            strings(rows.iter().map(|r| r.case_id.as_str())),
            strings(rows.iter().map(|r| r.cluster_id.as_str())),
            strings(rows.iter().map(|r| r.enrollment_id.as_str())),
            strings(rows.iter().map(|r| r.outcome.as_str())),
            strings(rows.iter().map(|r| r.effect.as_str())),
            bools(rows.iter().map(|r| r.fraud)),
            strings(rows.iter().map(|r| r.decided_by.as_str())),
            timestamps(rows.iter().map(|r| r.decided_time)),
            opt_strings(rows.iter().map(|r| r.confirmed_by.as_deref())),
            opt_timestamps(rows.iter().map(|r| r.confirmed_time)),
            strings(rows.iter().map(|r| r.comment.as_str())),
            timestamps(rows.iter().map(|r| r.exported_time)),
        ],
    )?)
}

/// Reads `decisions` rows back from a batch holding every column of the table (a scan or a
/// `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<DecisionRecord>> {
    let c = Columns::new(batch);
    let decision_id = c.text("decision_id")?;
    let case_id = c.text("case_id")?;
    let cluster_id = c.text("cluster_id")?;
    let enrollment_id = c.text("enrollment_id")?;
    let outcome = c.text("outcome")?;
    let effect = c.text("effect")?;
    let fraud = c.bools("fraud")?;
    let decided_by = c.text("decided_by")?;
    let decided_time = c.times("decided_time")?;
    let confirmed_by = c.text("confirmed_by")?;
    let confirmed_time = c.times("confirmed_time")?;
    let comment = c.text("comment")?;
    let exported_time = c.times("exported_time")?;
    (0..c.len())
        .map(|r| {
            Ok(DecisionRecord {
                decision_id: decision_id.string(r),
                case_id: case_id.string(r),
                cluster_id: cluster_id.string(r),
                enrollment_id: enrollment_id.string(r),
                outcome: outcome.parse(r)?,
                effect: effect.parse(r)?,
                fraud: fraud.value(r),
                decided_by: decided_by.string(r),
                decided_time: decided_time.get(r),
                confirmed_by: confirmed_by.opt(r),
                confirmed_time: confirmed_time.opt(r),
                comment: comment.string(r),
                exported_time: exported_time.get(r),
            })
        })
        .collect()
}
