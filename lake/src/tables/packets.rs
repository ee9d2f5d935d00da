//! `packets`: every object that ever landed in `landing/`, exactly once.
//!
//! This table is ingest's ledger and its commit marker: an object is "done" when, and only
//! when, its row is here. A packet is never lost (every landed object gets a row) and never
//! counted twice (`object_path` is unique; ingest skips paths already present).

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Utc};

use super::columns::{longs, opt_strings, strings, text, timestamp, timestamps};
use super::read::Columns;
use crate::error::Result;
use crate::vocabulary::PacketStatus;

/// SQL name and folder name of the table.
pub const NAME: &str = "packets";

/// Arrow schema of `packets`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `object_path` | string | path of the object relative to the store root (`landing/<site>/<date>/<id>.zip`); unique |
/// | `packet_id` | string, null | packet id from the manifest; null when the manifest could not be read |
/// | `size` | long | object size in bytes |
/// | `sha256` | string | lowercase hex SHA-256 of the whole object |
/// | `site` | string, null | service point: the `<site>` folder of the landing path |
/// | `received_time` | timestamp | when the object store received the object (its last-modified time) |
/// | `status` | string | `accepted` or `rejected` |
/// | `reason_code` | string, null | stable rejection code (e.g. `BAD_SIGNATURE`), null when accepted |
/// | `reason_detail` | string, null | one human sentence explaining the rejection |
/// | `enrollment_id` | string, null | the enrollment created from an accepted packet |
/// | `run_id` | string | the ingest run that recorded the packet |
/// | `ingested_time` | timestamp | when that run processed the packet |
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("object_path", false),
        text("packet_id", true),
        Field::new("size", DataType::Int64, false),
        text("sha256", false),
        text("site", true),
        timestamp("received_time", false),
        text("status", false),
        text("reason_code", true),
        text("reason_detail", true),
        text("enrollment_id", true),
        text("run_id", false),
        timestamp("ingested_time", false),
    ]))
}

/// One row of `packets`.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketRecord {
    /// Path relative to the store root.
    pub object_path: String,
    /// Packet id from the manifest, when it could be read.
    pub packet_id: Option<String>,
    /// Object size in bytes.
    pub size: i64,
    /// Lowercase hex SHA-256 of the object.
    pub sha256: String,
    /// Service point folder of the landing path.
    pub site: Option<String>,
    /// Last-modified time of the object.
    pub received_time: DateTime<Utc>,
    /// [`PacketStatus::Accepted`] or [`PacketStatus::Rejected`].
    pub status: PacketStatus,
    /// Stable rejection code.
    pub reason_code: Option<String>,
    /// Human sentence for the rejection.
    pub reason_detail: Option<String>,
    /// Enrollment created from the packet, when accepted.
    pub enrollment_id: Option<String>,
    /// Ingest run that recorded the packet.
    pub run_id: String,
    /// When the packet was processed.
    pub ingested_time: DateTime<Utc>,
}

/// Builds a record batch of `packets` rows.
pub fn to_batch(rows: &[PacketRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(rows.iter().map(|r| r.object_path.as_str())),
            opt_strings(rows.iter().map(|r| r.packet_id.as_deref())),
            longs(rows.iter().map(|r| r.size)),
            strings(rows.iter().map(|r| r.sha256.as_str())),
            opt_strings(rows.iter().map(|r| r.site.as_deref())),
            timestamps(rows.iter().map(|r| r.received_time)),
            strings(rows.iter().map(|r| r.status.as_str())),
            opt_strings(rows.iter().map(|r| r.reason_code.as_deref())),
            opt_strings(rows.iter().map(|r| r.reason_detail.as_deref())),
            opt_strings(rows.iter().map(|r| r.enrollment_id.as_deref())),
            strings(rows.iter().map(|r| r.run_id.as_str())),
            timestamps(rows.iter().map(|r| r.ingested_time)),
        ],
    )?)
}

/// Reads `packets` rows back from a batch holding every column of the table (a scan or a
/// `SELECT *`), in any physical types DataFusion returns; a missing column is an error.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<PacketRecord>> {
    let c = Columns::new(batch);
    let object_path = c.text("object_path")?;
    let packet_id = c.text("packet_id")?;
    let size = c.longs("size")?;
    let sha256 = c.text("sha256")?;
    let site = c.text("site")?;
    let received_time = c.times("received_time")?;
    let status = c.text("status")?;
    let reason_code = c.text("reason_code")?;
    let reason_detail = c.text("reason_detail")?;
    let enrollment_id = c.text("enrollment_id")?;
    let run_id = c.text("run_id")?;
    let ingested_time = c.times("ingested_time")?;
    (0..c.len())
        .map(|r| {
            Ok(PacketRecord {
                object_path: object_path.string(r),
                packet_id: packet_id.opt(r),
                size: size.value(r),
                sha256: sha256.string(r),
                site: site.opt(r),
                received_time: received_time.get(r),
                status: status.parse(r)?,
                reason_code: reason_code.opt(r),
                reason_detail: reason_detail.opt(r),
                enrollment_id: enrollment_id.opt(r),
                run_id: run_id.string(r),
                ingested_time: ingested_time.get(r),
            })
        })
        .collect()
}
