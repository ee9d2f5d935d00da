//! Ground truth of a batch, for tests and evaluation only (no pipeline stage reads it).
//!
//! `synth-truth/enrollees/<batch>.csv` has one row per landed object with the columns
//! [`COLUMNS`]: `object_path` (relative to the store root), `packet_id`, `person_id` (the
//! biological person: equal ids across rows = same fingers), `nik` (the NIK in the packet's
//! biodata, empty for a corrupt zip), `case` (`unique`, `fraud_duplicate`, `reenrollment`,
//! `twin`, `family`, `missing_fingers`, `poor_capture`, `cross_batch_duplicate`,
//! `nik_hijack` or `bad:<REASON_CODE>`).
//!
//! A batch synthesized with cross-batch plants (`--cross-batch-duplicate-rate` or
//! `--hijack-rate` above 0) has the further columns [`CROSS_BATCH_COLUMNS`], filled on its
//! `cross_batch_duplicate` and `nik_hijack` rows and empty elsewhere: `earlier_batch`,
//! `earlier_packet_id` and `earlier_person_id` name the earlier batch's enrollment the row is
//! planted against (for a duplicate: the same person's first enrollment, so `person_id`
//! equals `earlier_person_id`; for a hijack: the enrollment whose NIK the row presents).
//! Other batches keep the five columns, byte for byte. [`from_csv`] reads both shapes.

use serde::{Deserialize, Serialize};

/// Folder of the per-batch enrollee truth files.
pub const ENROLLEES_PREFIX: &str = "synth-truth/enrollees/";
/// Folder of the per-batch summaries (JSON).
pub const BATCHES_PREFIX: &str = "synth-truth/batches/";
/// Columns of an enrollee truth file.
pub const COLUMNS: &[&str] = &["object_path", "packet_id", "person_id", "nik", "case"];

/// Further columns of a batch that plants against earlier batches.
pub const CROSS_BATCH_COLUMNS: &[&str] =
    &["earlier_batch", "earlier_packet_id", "earlier_person_id"];

/// The earlier enrollment a cross-batch plant is planted against.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EarlierRef {
    /// Batch id of the earlier batch.
    pub earlier_batch: String,
    /// Packet id of the earlier enrollment.
    pub earlier_packet_id: String,
    /// Biological person of the earlier enrollment.
    pub earlier_person_id: String,
}

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

/// Serializes truth rows with the [`CROSS_BATCH_COLUMNS`] (empty where `None`).
pub fn to_csv_cross_batch(rows: &[(TruthRow, Option<EarlierRef>)]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS.iter().chain(CROSS_BATCH_COLUMNS))?;
    for (r, e) in rows {
        let e = e.clone().unwrap_or_default();
        w.write_record([
            &r.object_path,
            &r.packet_id,
            &r.person_id,
            &r.nik,
            &r.case,
            &e.earlier_batch,
            &e.earlier_packet_id,
            &e.earlier_person_id,
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Parses an enrollee truth file with its cross-batch references (`None` on rows without
/// one, and on every row of a file without the [`CROSS_BATCH_COLUMNS`]).
pub fn from_csv_cross_batch(
    bytes: &[u8],
) -> Result<Vec<(TruthRow, Option<EarlierRef>)>, csv::Error> {
    // Spelled out rather than `#[serde(flatten)]`: the csv crate types flattened fields
    // itself and would read a NIK as an integer.
    #[derive(Deserialize)]
    struct Wide {
        object_path: String,
        packet_id: String,
        person_id: String,
        nik: String,
        case: String,
        #[serde(default)]
        earlier_batch: String,
        #[serde(default)]
        earlier_packet_id: String,
        #[serde(default)]
        earlier_person_id: String,
    }
    csv::Reader::from_reader(bytes)
        .deserialize::<Wide>()
        .map(|w| {
            let w = w?;
            let earlier = (!w.earlier_packet_id.is_empty()).then_some(EarlierRef {
                earlier_batch: w.earlier_batch,
                earlier_packet_id: w.earlier_packet_id,
                earlier_person_id: w.earlier_person_id,
            });
            let row = TruthRow {
                object_path: w.object_path,
                packet_id: w.packet_id,
                person_id: w.person_id,
                nik: w.nik,
                case: w.case,
            };
            Ok((row, earlier))
        })
        .collect()
}

/// Parses an enrollee truth file.
pub fn from_csv(bytes: &[u8]) -> Result<Vec<TruthRow>, csv::Error> {
    csv::Reader::from_reader(bytes).deserialize().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_read_back() {
        let row = |case: &str| TruthRow {
            object_path: "landing/a.zip".into(),
            packet_id: "p".into(),
            person_id: "t-P0000001".into(),
            nik: "3201010101900001".into(),
            case: case.into(),
        };
        let narrow = to_csv(&[row("unique")]).unwrap();
        assert!(narrow.starts_with(b"object_path,packet_id,person_id,nik,case\n"));
        let back = from_csv_cross_batch(&narrow).unwrap();
        assert_eq!(back, vec![(row("unique"), None)]);
        let e = EarlierRef {
            earlier_batch: "s1-x".into(),
            earlier_packet_id: "q".into(),
            earlier_person_id: "u-P0000002".into(),
        };
        let rows = vec![(row("unique"), None), (row("nik_hijack"), Some(e))];
        let wide = to_csv_cross_batch(&rows).unwrap();
        assert_eq!(from_csv_cross_batch(&wide).unwrap(), rows);
        assert_eq!(from_csv(&wide).unwrap()[1], row("nik_hijack"));
    }
}
