//! `irises`: one row per eye (left, right) of each accepted enrollment.
//!
//! Like fingerprints, an eye that could not be captured keeps its row with a null code and a
//! `missing_reason`.

use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::columns::{opt_binaries, opt_shorts, opt_strings, strings, text};
use super::read::Columns;
use crate::error::Result;

/// SQL name and folder name of the table.
pub const NAME: &str = "irises";

/// Arrow schema of `irises`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `enrollment_id` | string | the enrollment (see `enrollments`) |
/// | `eye` | string | `left` or `right` |
/// | `code` | binary, null | the iris record as captured (IrisCode + mask, see docs/iris-code-format.md) |
/// | `quality` | short, null | iris quality 0..100 from the record |
/// | `missing_reason` | string, null | why no code: `amputated` (enucleated), `bandaged`, `unusable` |
/// | `run_id` | string | the ingest run that wrote the row |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("enrollment_id", false),
        text("eye", false),
        Field::new("code", DataType::Binary, true),
        Field::new("quality", DataType::Int16, true),
        text("missing_reason", true),
        text("run_id", false),
    ]))
}

/// One row of `irises`.
#[derive(Clone, Debug, PartialEq)]
pub struct IrisRecord {
    /// The enrollment the eye belongs to.
    pub enrollment_id: String,
    /// `left` or `right`.
    pub eye: String,
    /// Iris record bytes, when captured.
    pub code: Option<Vec<u8>>,
    /// Iris quality 0..100.
    pub quality: Option<i16>,
    /// Declared reason for a missing eye.
    pub missing_reason: Option<String>,
    /// Ingest run that wrote the row.
    pub run_id: String,
}

/// Builds a record batch of `irises` rows.
pub fn to_batch(rows: &[IrisRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(rows.iter().map(|r| r.enrollment_id.as_str())),
            strings(rows.iter().map(|r| r.eye.as_str())),
            opt_binaries(rows.iter().map(|r| r.code.as_deref())),
            opt_shorts(rows.iter().map(|r| r.quality)),
            opt_strings(rows.iter().map(|r| r.missing_reason.as_deref())),
            strings(rows.iter().map(|r| r.run_id.as_str())),
        ],
    )?)
}

/// Reads `irises` rows back from a batch holding every column of the table (a scan or a
/// `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<IrisRecord>> {
    let c = Columns::new(batch);
    let enrollment_id = c.text("enrollment_id")?;
    let eye = c.text("eye")?;
    let code = c.binaries("code")?;
    let quality = c.shorts("quality")?;
    let missing_reason = c.text("missing_reason")?;
    let run_id = c.text("run_id")?;
    Ok((0..c.len())
        .map(|r| IrisRecord {
            enrollment_id: enrollment_id.string(r),
            eye: eye.string(r),
            code: (!code.is_null(r)).then(|| code.value(r).to_vec()),
            quality: (!quality.is_null(r)).then(|| quality.value(r)),
            missing_reason: missing_reason.opt(r),
            run_id: run_id.string(r),
        })
        .collect())
}
