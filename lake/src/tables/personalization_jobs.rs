//! `personalization_jobs`: every enrollment sent to a regency/city office for card printing,
//! exactly once per card.
//!
//! Written by `tunggal export` in the same step that writes the job files; an enrollment with
//! a row here is never exported again, so re-running export changes nothing.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use chrono::{DateTime, Utc};

use super::columns::{strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;

/// SQL name and folder name of the table.
pub const NAME: &str = "personalization_jobs";

/// Arrow schema of `personalization_jobs`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `enrollment_id` | string | the enrollment personalized |
/// | `job_id` | string | the job (one per regency/city per export run) |
/// | `regency_code` | string | kabupaten/kota `PP.KK` whose office prints the card |
/// | `run_id` | string | the export run |
/// | `reason` | string | `new` (first card) or `reissue` (re-enrollment: lost or damaged card) |
/// | `exported_time` | timestamp | when the job was written |
/// | `file` | string | path of the card's record file relative to the store root |
/// | `sha256` | string | lowercase hex SHA-256 of that file |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("enrollment_id", false),
        text("job_id", false),
        text("regency_code", false),
        text("run_id", false),
        text("reason", false),
        timestamp("exported_time", false),
        text("file", false),
        text("sha256", false),
    ]))
}

/// One row of `personalization_jobs`.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonalizationJobRecord {
    /// Enrollment personalized.
    pub enrollment_id: String,
    /// Job id.
    pub job_id: String,
    /// Regency/city code.
    pub regency_code: String,
    /// Export run.
    pub run_id: String,
    /// `new` or `reissue`.
    pub reason: String,
    /// When written.
    pub exported_time: DateTime<Utc>,
    /// Card record file path.
    pub file: String,
    /// SHA-256 of the file.
    pub sha256: String,
}

/// Builds a record batch of `personalization_jobs` rows.
pub fn to_batch(rows: &[PersonalizationJobRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(rows.iter().map(|r| r.enrollment_id.as_str())),
            strings(rows.iter().map(|r| r.job_id.as_str())),
            strings(rows.iter().map(|r| r.regency_code.as_str())),
            strings(rows.iter().map(|r| r.run_id.as_str())),
            strings(rows.iter().map(|r| r.reason.as_str())),
            timestamps(rows.iter().map(|r| r.exported_time)),
            strings(rows.iter().map(|r| r.file.as_str())),
            strings(rows.iter().map(|r| r.sha256.as_str())),
        ],
    )?)
}

/// Reads `personalization_jobs` rows back from a batch holding every column of the table (a scan or a
/// `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<PersonalizationJobRecord>> {
    let c = Columns::new(batch);
    let enrollment_id = c.text("enrollment_id")?;
    let job_id = c.text("job_id")?;
    let regency_code = c.text("regency_code")?;
    let run_id = c.text("run_id")?;
    let reason = c.text("reason")?;
    let exported_time = c.times("exported_time")?;
    let file = c.text("file")?;
    let sha256 = c.text("sha256")?;
    Ok((0..c.len())
        .map(|r| PersonalizationJobRecord {
            enrollment_id: enrollment_id.string(r),
            job_id: job_id.string(r),
            regency_code: regency_code.string(r),
            run_id: run_id.string(r),
            reason: reason.string(r),
            exported_time: exported_time.get(r),
            file: file.string(r),
            sha256: sha256.string(r),
        })
        .collect())
}
