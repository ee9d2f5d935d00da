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
use crate::error::Result;

/// SQL name and folder name of the table.
pub const NAME: &str = "decisions";

/// The records are one person; this enrollment is the duplicate and stays blocked.
pub const OUTCOME_DUPLICATE: &str = "duplicate";
/// The records are different persons (a false match): both proceed.
pub const OUTCOME_DIFFERENT_PERSONS: &str = "different_persons";
/// The same person legitimately enrolled again (lost or damaged card): proceeds.
pub const OUTCOME_REENROLLMENT: &str = "reenrollment";
/// Sent back to the service point for clarification.
pub const OUTCOME_REFER_BACK: &str = "refer_back";

/// Effect on an enrollment: it goes on to personalization (status `cleared`).
pub const EFFECT_PROCEED: &str = "proceed";
/// Effect on an enrollment: it is blocked (status `duplicate`).
pub const EFFECT_BLOCK: &str = "block";
/// Effect on an enrollment: it waits for the service point (status `referred`).
pub const EFFECT_REFER: &str = "refer";

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
    /// One of the `OUTCOME_*` constants.
    pub outcome: String,
    /// One of the `EFFECT_*` constants.
    pub effect: String,
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
