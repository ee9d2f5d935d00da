//! Transitional: query results as untyped rows of text cells, for the readers that have not
//! moved to the typed records yet — [`crate::evidence::build`] (through [`EvidenceRows`]) and
//! the console's integration tests (through [`query`] and [`text`]).
//!
//! [`evidence_rows`] reads the lake through [`super::evidence_records`] (typed, so a
//! misspelled column in its queries is an error) and only then renders each record as a
//! [`Row`], with the texts Arrow gives each value (what the earlier `CAST … AS VARCHAR`
//! queries gave). Once the evidence page reads [`super::EvidenceRecords`] directly, this
//! module goes: [`text`] still yields `""` for a column a row does not have.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::DataType;
use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use lake::tables::{enrollments, fingerprints, identity_status, irises, match_candidates};

use super::{evidence_records, EvidenceRecords, FingerBytes, NikHistoryRecord};
use crate::error::Result;

/// One value of a query result: text (every non-binary type, as Arrow prints it), bytes, or
/// null.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// Any non-binary value in its text form.
    Text(String),
    /// A binary value.
    Bytes(Vec<u8>),
}

/// A query result row by column name (transitional, see the module documentation).
pub type Row = HashMap<String, Cell>;

/// Text of a column of a row (empty for null or missing: prefer the typed records, where a
/// missing column is an error).
pub fn text(row: &Row, column: &str) -> String {
    match row.get(column) {
        Some(Cell::Text(s)) => s.clone(),
        _ => String::new(),
    }
}

/// Bytes of a binary column of a row (`None` for null, missing or not binary).
fn bytes(row: &Row, column: &str) -> Option<Vec<u8>> {
    match row.get(column) {
        Some(Cell::Bytes(b)) => Some(b.clone()),
        _ => None,
    }
}

/// Runs `sql` and returns its rows untyped (transitional: new readers use
/// `lake::query::rows` with a table's `from_batch`, or `lake::tables::read::Columns`).
pub async fn query(ctx: &SessionContext, sql: &str) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for batch in lake::query::collect(ctx, sql).await? {
        rows_of(&batch, &mut out)?;
    }
    Ok(out)
}

/// Appends the rows of `batch` to `out`, every column cast to text or bytes.
fn rows_of(batch: &RecordBatch, out: &mut Vec<Row>) -> Result<()> {
    let schema = batch.schema();
    let mut columns: Vec<(String, ArrayRef, bool)> = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let binary = matches!(
            field.data_type(),
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView
        );
        let to = if binary {
            DataType::Binary
        } else {
            DataType::Utf8
        };
        let cast = arrow::compute::cast(batch.column(i), &to)?;
        columns.push((field.name().clone(), cast, binary));
    }
    for r in 0..batch.num_rows() {
        let mut row = Row::new();
        for (name, col, binary) in &columns {
            let cell = if col.is_null(r) {
                Cell::Null
            } else if *binary {
                let a = col.as_any().downcast_ref::<BinaryArray>().expect("binary");
                Cell::Bytes(a.value(r).to_vec())
            } else {
                let a = col.as_any().downcast_ref::<StringArray>().expect("utf8");
                Cell::Text(a.value(r).to_string())
            };
            row.insert(name.clone(), cell);
        }
        out.push(row);
    }
    Ok(())
}

/// Every row of `batch`, untyped.
fn all_rows(batch: &RecordBatch) -> Result<Vec<Row>> {
    let mut out = Vec::with_capacity(batch.num_rows());
    rows_of(batch, &mut out)?;
    Ok(out)
}

/// A time as Arrow prints a lake timestamp (UTC microseconds), or null.
fn time_cell(time: Option<DateTime<Utc>>) -> Result<Cell> {
    let array: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from(vec![time.map(|t| t.timestamp_micros())])
            .with_timezone("UTC"),
    );
    let text = arrow::compute::cast(&array, &DataType::Utf8)?;
    let text = text.as_any().downcast_ref::<StringArray>().expect("utf8");
    Ok(if text.is_null(0) {
        Cell::Null
    } else {
        Cell::Text(text.value(0).to_string())
    })
}

/// A NIK history record as the untyped row the evidence page reads.
fn history_row(h: &NikHistoryRecord) -> Result<Row> {
    let cell = |s: &str| Cell::Text(s.to_string());
    Ok(Row::from([
        ("enrollment_id".to_string(), cell(&h.enrollment_id)),
        ("nik".to_string(), cell(&h.nik)),
        ("name".to_string(), cell(&h.name)),
        ("site".to_string(), cell(&h.site)),
        ("finished".to_string(), time_cell(Some(h.captured))?),
        (
            "status".to_string(),
            h.status.map_or(Cell::Null, |s| cell(s.as_str())),
        ),
        ("card_job".to_string(), time_cell(h.card_job)?),
    ]))
}

/// Raw evidence rows of a case, as read from the lake (transitional: the untyped form of
/// [`EvidenceRecords`]).
#[derive(Debug, Default)]
pub struct EvidenceRows {
    /// `enrollments` rows of the members, with `started` and `finished` (the capture times
    /// as text) added.
    pub enrollments: Vec<Row>,
    /// `fingerprints` rows of the members.
    pub fingers: Vec<Row>,
    /// `irises` rows of the members.
    pub irises: Vec<Row>,
    /// `match_candidates` among the members, newest first.
    pub candidates: Vec<Row>,
    /// Every enrollment under the members' NIKs (`enrollment_id`, `nik`, `name`, `site`,
    /// `finished`, `status`, `card_job`).
    pub history: Vec<Row>,
    /// Current identity status of the members.
    pub statuses: Vec<Row>,
}

impl EvidenceRows {
    /// The untyped rows of `records`.
    pub fn from_records(records: &EvidenceRecords) -> Result<EvidenceRows> {
        let mut enrollments = all_rows(&enrollments::to_batch(&records.enrollments)?)?;
        for row in &mut enrollments {
            let started = row.get("capture_started").cloned().unwrap_or(Cell::Null);
            let finished = row.get("capture_finished").cloned().unwrap_or(Cell::Null);
            row.insert("started".into(), started);
            row.insert("finished".into(), finished);
        }
        Ok(EvidenceRows {
            enrollments,
            fingers: all_rows(&fingerprints::to_batch(&records.fingers)?)?,
            irises: all_rows(&irises::to_batch(&records.irises)?)?,
            candidates: all_rows(&match_candidates::to_batch(&records.candidates)?)?,
            history: records
                .history
                .iter()
                .map(history_row)
                .collect::<Result<_>>()?,
            statuses: all_rows(&identity_status::to_batch(&records.statuses)?)?,
        })
    }

    /// The finger rows' template bytes by (enrollment, position).
    pub fn finger_bytes(&self) -> HashMap<(String, u8), FingerBytes> {
        self.fingers
            .iter()
            .filter_map(|r| {
                let pos: u8 = text(r, "position").parse().ok()?;
                Some((
                    (text(r, "enrollment_id"), pos),
                    (bytes(r, "template"), bytes(r, "prepared")),
                ))
            })
            .collect()
    }

    /// The iris codes by (enrollment, eye).
    pub fn iris_bytes(&self) -> HashMap<(String, String), Vec<u8>> {
        self.irises
            .iter()
            .filter_map(|r| {
                Some((
                    (text(r, "enrollment_id"), text(r, "eye")),
                    bytes(r, "code")?,
                ))
            })
            .collect()
    }
}

/// Reads the evidence rows of a case's members ([`evidence_records`]) in their untyped form.
pub async fn evidence_rows(ctx: &SessionContext, members: &[String]) -> Result<EvidenceRows> {
    EvidenceRows::from_records(&evidence_records(ctx, members).await?)
}
