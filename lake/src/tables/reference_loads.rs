//! `reference_loads`: one row per reference file (SIAK extract, station registry file) taken
//! into `resident_history` or `station_history`, by path and SHA-256.
//!
//! It is the commit point of a load: a file counts as loaded exactly when it has a row here,
//! so a load skips it, and a file whose bytes changed under the same name (another SHA-256)
//! is loaded again. The object's size and last-modified time are kept too, so a later load
//! skips a file whose listing shows them unchanged without reading it (at national scale the
//! extract is tens of gigabytes). A load killed before this commit is re-run whole; its history commits
//! do not repeat because a load appends only rows that differ from the current ones.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use chrono::{DateTime, Utc};

use super::columns::{longs, strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;

/// SQL name and folder name of the table.
pub const NAME: &str = "reference_loads";

/// Arrow schema of `reference_loads`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `path` | string | object path of the file, e.g. `reference/siak/b1.csv` |
/// | `sha256` | string | lowercase hex SHA-256 of the file's bytes as loaded |
/// | `kind` | string | `siak` or `stations` |
/// | `size` | long | the object's size in bytes |
/// | `modified` | timestamp | the object's last-modified time in the store |
/// | `file_rows` | long | rows in the file |
/// | `appended` | long | rows the file added to its history table (new or changed) |
/// | `load_id` | string | the load that took the file |
/// | `loaded` | timestamp | when that load ran |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("path", false),
        text("sha256", false),
        text("kind", false),
        arrow::datatypes::Field::new("size", arrow::datatypes::DataType::Int64, false),
        timestamp("modified", false),
        arrow::datatypes::Field::new("file_rows", arrow::datatypes::DataType::Int64, false),
        arrow::datatypes::Field::new("appended", arrow::datatypes::DataType::Int64, false),
        text("load_id", false),
        timestamp("loaded", false),
    ]))
}

/// One row of `reference_loads`: one file taken by one load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceLoadRecord {
    /// Object path of the file.
    pub path: String,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
    /// `siak` or `stations`.
    pub kind: String,
    /// The object's size in bytes.
    pub size: i64,
    /// The object's last-modified time.
    pub modified: DateTime<Utc>,
    /// Rows in the file.
    pub file_rows: i64,
    /// Rows it added to its history table.
    pub appended: i64,
    /// The load that took it.
    pub load_id: String,
    /// When that load ran.
    pub loaded: DateTime<Utc>,
}

/// Builds a record batch of `reference_loads` rows.
pub fn to_batch(rows: &[ReferenceLoadRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(rows.iter().map(|r| r.path.as_str())),
            strings(rows.iter().map(|r| r.sha256.as_str())),
            strings(rows.iter().map(|r| r.kind.as_str())),
            longs(rows.iter().map(|r| r.size)),
            timestamps(rows.iter().map(|r| r.modified)),
            longs(rows.iter().map(|r| r.file_rows)),
            longs(rows.iter().map(|r| r.appended)),
            strings(rows.iter().map(|r| r.load_id.as_str())),
            timestamps(rows.iter().map(|r| r.loaded)),
        ],
    )?)
}

/// Reads `reference_loads` rows back from a batch holding every column of the table.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<ReferenceLoadRecord>> {
    let c = Columns::new(batch);
    let (path, sha, kind) = (c.text("path")?, c.text("sha256")?, c.text("kind")?);
    let (size, modified) = (c.longs("size")?, c.times("modified")?);
    let (file_rows, appended) = (c.longs("file_rows")?, c.longs("appended")?);
    let (load_id, loaded) = (c.text("load_id")?, c.times("loaded")?);
    Ok((0..batch.num_rows())
        .map(|r| ReferenceLoadRecord {
            path: path.string(r),
            sha256: sha.string(r),
            kind: kind.string(r),
            size: size.value(r),
            modified: modified.get(r),
            file_rows: file_rows.value(r),
            appended: appended.value(r),
            load_id: load_id.string(r),
            loaded: loaded.get(r),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rows_survive_a_batch() {
        let rows = vec![ReferenceLoadRecord {
            path: "reference/siak/a.csv".into(),
            sha256: "00".repeat(32),
            kind: "siak".into(),
            size: 1234,
            modified: Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap(),
            file_rows: 10,
            appended: 3,
            load_id: "l".into(),
            loaded: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        }];
        assert_eq!(from_batch(&to_batch(&rows).unwrap()).unwrap(), rows);
    }
}
