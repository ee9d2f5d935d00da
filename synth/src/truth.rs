//! Ground truth of a batch, for tests and evaluation only (no pipeline stage reads it).
//!
//! `synth-truth/enrollees/<batch>.csv` has one row per landed object with the columns
//! [`COLUMNS`]: `object_path` (relative to the store root), `packet_id`, `person_id` (the
//! biological person: equal ids across rows = same fingers), `nik` (the NIK in the packet's
//! biodata, empty for a corrupt zip), `case` (`unique`, `fraud_duplicate`, `reenrollment`,
//! `twin`, `family`, `missing_fingers`, `poor_capture` or `bad:<REASON_CODE>`).

use serde::{Deserialize, Serialize};

/// Folder of the per-batch enrollee truth files.
pub const ENROLLEES_PREFIX: &str = "synth-truth/enrollees/";
/// Folder of the per-batch summaries (JSON).
pub const BATCHES_PREFIX: &str = "synth-truth/batches/";
/// Columns of an enrollee truth file.
pub const COLUMNS: &[&str] = &["object_path", "packet_id", "person_id", "nik", "case"];

/// One row of the enrollee truth: what a landed object really is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthRow {
    /// Object path relative to the store root.
    pub object_path: String,
    /// Packet id (file name without `.zip`).
    pub packet_id: String,
    /// The biological person captured.
    pub person_id: String,
    /// NIK presented in the biodata.
    pub nik: String,
    /// The planted situation (`unique`, …, `bad:<CODE>`).
    pub case: String,
}

/// Object path of a batch's enrollee truth file.
pub fn enrollees_path(batch: &str) -> String {
    format!("{ENROLLEES_PREFIX}{batch}.csv")
}

/// Object path of a batch's summary.
pub fn batch_summary_path(batch: &str) -> String {
    format!("{BATCHES_PREFIX}{batch}.json")
}

/// Serializes truth rows as CSV with a header.
pub fn to_csv(rows: &[TruthRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        w.write_record(COLUMNS)?;
    }
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Parses an enrollee truth file.
pub fn from_csv(bytes: &[u8]) -> Result<Vec<TruthRow>, csv::Error> {
    csv::Reader::from_reader(bytes).deserialize().collect()
}
