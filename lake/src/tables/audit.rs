//! `audit`: the adjudication console's audit trail, one row per audited action.
//!
//! Written by the adjudication console's sync (run by `tunggal nightly`), exactly once per
//! entry of the console's append-only audit trail: every login, case view, image view, claim
//! and decision, with who, when and from where. Append-only, like the trail it copies; the
//! `detail` column never holds personal data.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Utc};

use super::columns::{longs, opt_strings, strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;

/// SQL name and folder name of the table.
pub const NAME: &str = "audit";

/// Arrow schema of `audit`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `seq` | long | sequence number of the entry in the console's audit trail (strictly increasing) |
/// | `time` | timestamp | when the action happened |
/// | `username` | string, null | who (the name given, for failed logins) |
/// | `role` | string, null | the user's role at export time (`adjudicator`, `supervisor`, `auditor`); null for unknown user names |
/// | `action` | string | `login`, `login_failed`, `logout`, `case_view`, `image_view`, `claim`, `release`, `decide`, `confirm`, `reject`, `audit_view`, `audit_export` |
/// | `case_id` | string, null | the case concerned |
/// | `detail` | string, null | details (outcome, …; never personal data) |
/// | `remote_addr` | string | the client address the action came from |
/// | `exported_time` | timestamp | when the console wrote the row to the lake |
/// | `target` | string, null | the object concerned (an enrollment id, an image kind, an account) |
/// | `hash` | string, null | the hash chain: SHA-256 over the previous row's `hash` and this row (`tunggal audit verify`); null for rows older than the chain |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::Int64, false),
        timestamp("time", false),
        text("username", true),
        text("role", true),
        text("action", false),
        text("case_id", true),
        text("detail", true),
        text("remote_addr", false),
        timestamp("exported_time", false),
        text("target", true),
        text("hash", true),
    ]))
}

/// One row of `audit`.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    /// Sequence number in the console's audit trail.
    pub seq: i64,
    /// When the action happened.
    pub time: DateTime<Utc>,
    /// Who.
    pub username: Option<String>,
    /// The user's role, where the user is known.
    pub role: Option<String>,
    /// What was done.
    pub action: String,
    /// The case concerned.
    pub case_id: Option<String>,
    /// Details (never personal data).
    pub detail: Option<String>,
    /// Client address.
    pub remote_addr: String,
    /// When exported to the lake.
    pub exported_time: DateTime<Utc>,
    /// The object concerned.
    pub target: Option<String>,
    /// The hash chain's link.
    pub hash: Option<String>,
}

/// Builds a record batch of `audit` rows.
pub fn to_batch(rows: &[AuditRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            longs(rows.iter().map(|r| r.seq)),
            timestamps(rows.iter().map(|r| r.time)),
            opt_strings(rows.iter().map(|r| r.username.as_deref())),
            opt_strings(rows.iter().map(|r| r.role.as_deref())),
            strings(rows.iter().map(|r| r.action.as_str())),
            opt_strings(rows.iter().map(|r| r.case_id.as_deref())),
            opt_strings(rows.iter().map(|r| r.detail.as_deref())),
            strings(rows.iter().map(|r| r.remote_addr.as_str())),
            timestamps(rows.iter().map(|r| r.exported_time)),
            opt_strings(rows.iter().map(|r| r.target.as_deref())),
            opt_strings(rows.iter().map(|r| r.hash.as_deref())),
        ],
    )?)
}

/// Reads `audit` rows back from a batch holding every column of the table (a scan or a
/// `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<AuditRecord>> {
    let c = Columns::new(batch);
    let seq = c.longs("seq")?;
    let time = c.times("time")?;
    let username = c.text("username")?;
    let role = c.text("role")?;
    let action = c.text("action")?;
    let case_id = c.text("case_id")?;
    let detail = c.text("detail")?;
    let remote_addr = c.text("remote_addr")?;
    let exported_time = c.times("exported_time")?;
    let target = c.text("target")?;
    let hash = c.text("hash")?;
    Ok((0..c.len())
        .map(|r| AuditRecord {
            seq: seq.value(r),
            time: time.get(r),
            username: username.opt(r),
            role: role.opt(r),
            action: action.string(r),
            case_id: case_id.opt(r),
            detail: detail.opt(r),
            remote_addr: remote_addr.string(r),
            exported_time: exported_time.get(r),
            target: target.opt(r),
            hash: hash.opt(r),
        })
        .collect())
}
