//! `fingerprints`: one row per finger position of each accepted enrollment.
//!
//! All ten positions are present for every enrollment: a finger that could not be captured
//! has a null template and a `missing_reason`, never a missing row, so "how many amputees"
//! is a query, not a guess.

use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::columns::{opt_binaries, opt_shorts, opt_strings, shorts, strings, text};
use super::read::Columns;
use crate::error::Result;

/// SQL name and folder name of the table.
pub const NAME: &str = "fingerprints";

/// Arrow schema of `fingerprints`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `enrollment_id` | string | the enrollment (see `enrollments`) |
/// | `position` | short | ISO/IEC 19794-2 finger position, 1 (right thumb) … 10 (left little) |
/// | `template` | binary, null | the ISO/IEC 19794-2:2005 minutiae record as captured |
/// | `prepared` | binary, null | the matcher's pre-processed form (`biometrics::finger::prepare(..).to_bytes()`), computed once at ingest so 1:N search never re-prepares |
/// | `minutiae_count` | short, null | number of minutiae in the template |
/// | `quality` | short, null | finger quality 0..100 from the template |
/// | `missing_reason` | string, null | why no template: `amputated`, `bandaged`, `unusable` |
/// | `run_id` | string | the ingest run that wrote the row |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("enrollment_id", false),
        Field::new("position", DataType::Int16, false),
        Field::new("template", DataType::Binary, true),
        Field::new("prepared", DataType::Binary, true),
        Field::new("minutiae_count", DataType::Int16, true),
        Field::new("quality", DataType::Int16, true),
        text("missing_reason", true),
        text("run_id", false),
    ]))
}

/// One row of `fingerprints`.
#[derive(Clone, Debug, PartialEq)]
pub struct FingerprintRecord {
    /// The enrollment the finger belongs to.
    pub enrollment_id: String,
    /// ISO finger position 1..=10.
    pub position: i16,
    /// ISO 19794-2 record bytes, when captured.
    pub template: Option<Vec<u8>>,
    /// Pre-processed matching form of the template.
    pub prepared: Option<Vec<u8>>,
    /// Minutiae count of the template.
    pub minutiae_count: Option<i16>,
    /// Finger quality 0..100.
    pub quality: Option<i16>,
    /// Declared reason for a missing finger.
    pub missing_reason: Option<String>,
    /// Ingest run that wrote the row.
    pub run_id: String,
}

/// Builds a record batch of `fingerprints` rows.
pub fn to_batch(rows: &[FingerprintRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(rows.iter().map(|r| r.enrollment_id.as_str())),
            shorts(rows.iter().map(|r| r.position)),
            opt_binaries(rows.iter().map(|r| r.template.as_deref())),
            opt_binaries(rows.iter().map(|r| r.prepared.as_deref())),
            opt_shorts(rows.iter().map(|r| r.minutiae_count)),
            opt_shorts(rows.iter().map(|r| r.quality)),
            opt_strings(rows.iter().map(|r| r.missing_reason.as_deref())),
            strings(rows.iter().map(|r| r.run_id.as_str())),
        ],
    )?)
}

/// Reads `fingerprints` rows back from a batch holding every column of the table (a scan or a
/// `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<FingerprintRecord>> {
    let c = Columns::new(batch);
    let enrollment_id = c.text("enrollment_id")?;
    let position = c.shorts("position")?;
    let template = c.binaries("template")?;
    let prepared = c.binaries("prepared")?;
    let minutiae_count = c.shorts("minutiae_count")?;
    let quality = c.shorts("quality")?;
    let missing_reason = c.text("missing_reason")?;
    let run_id = c.text("run_id")?;
    Ok((0..c.len())
        .map(|r| FingerprintRecord {
            enrollment_id: enrollment_id.string(r),
            position: position.value(r),
            template: (!template.is_null(r)).then(|| template.value(r).to_vec()),
            prepared: (!prepared.is_null(r)).then(|| prepared.value(r).to_vec()),
            minutiae_count: (!minutiae_count.is_null(r)).then(|| minutiae_count.value(r)),
            quality: (!quality.is_null(r)).then(|| quality.value(r)),
            missing_reason: missing_reason.opt(r),
            run_id: run_id.string(r),
        })
        .collect())
}
