//! One chunk of landed objects: decide each object's row (accepted, rejected, duplicate) in
//! path order, then commit — child tables first, `packets` last.
//!
//! The `packets` commit is the marker that makes a chunk count: until it lands, the chunk's
//! child rows are orphans that the next run removes (see `recovery`); once it lands, every
//! object of the chunk is recorded and later runs skip it. Each commit is one atomic Delta
//! version, so there is no state in between to clean up by hand.

use chrono::Utc;
use lake::delta;
use lake::tables::packets::PacketRecord;
use lake::tables::{enrollments, fingerprints, irises, packets};
use lake::vocabulary::PacketStatus;
use lake::{Store, Table};
use packet::{ReasonCode, Rejection};

use crate::error::IngestError;
use crate::extract::{self, EnrollmentRows};
use crate::ledger::Ledger;
use crate::validate::Checked;

/// The rows a chunk adds to every table.
#[derive(Debug, Default)]
pub struct ChunkRows {
    /// `packets` rows, one per object of the chunk.
    pub packets: Vec<PacketRecord>,
    /// Child-table rows of the accepted packets.
    pub enrollments: Vec<EnrollmentRows>,
}

/// The SHA-256 hashes and packet ids of a chunk's objects: what the ledger must know about
/// before [`decide`] ([`Ledger::learn`]).
pub fn keys(checked: &[Checked]) -> (Vec<String>, Vec<String>) {
    let hashes = checked.iter().map(|c| c.sha256.clone()).collect();
    let ids = checked
        .iter()
        .filter_map(|c| c.verdict.as_ref().ok())
        .map(|p| p.manifest.packet_id.clone())
        .collect();
    (hashes, ids)
}

/// Decides the `packets` row of each checked object, in order, consulting and updating the
/// ledger so that a second copy of a packet (earlier run, or earlier in this run) is a
/// `DUPLICATE_PACKET`.
pub fn decide(checked: Vec<Checked>, ledger: &mut Ledger, run_id: &str) -> ChunkRows {
    let now = Utc::now();
    let mut rows = ChunkRows::default();
    for c in checked {
        let packet_id = c
            .verdict
            .as_ref()
            .ok()
            .map(|p| p.manifest.packet_id.clone());
        let site = match &c.verdict {
            Ok(p) => Some(p.manifest.site.clone()),
            Err(_) => folder_site(&c.path),
        };
        let verdict = match ledger.duplicate_of(&c.sha256, packet_id.as_deref()) {
            Some(first) => Err(Rejection::new(
                ReasonCode::DuplicatePacket,
                format!("the same packet was already received as {first}"),
            )),
            None => c.verdict,
        };
        let mut row = PacketRecord {
            object_path: c.path,
            packet_id,
            size: c.size,
            sha256: c.sha256,
            site,
            received_time: c.received,
            status: PacketStatus::Accepted,
            reason_code: None,
            reason_detail: None,
            enrollment_id: None,
            run_id: run_id.to_string(),
            ingested_time: now,
        };
        match verdict {
            Ok(p) => {
                let enrollment = extract::rows(&p, &c.prepared, run_id);
                row.enrollment_id = Some(enrollment.enrollment.enrollment_id.clone());
                rows.enrollments.push(enrollment);
            }
            Err(rejection) => {
                tracing::debug!(
                    object = %row.object_path,
                    reason = rejection.code.as_str(),
                    "packet rejected"
                );
                row.status = PacketStatus::Rejected;
                row.reason_code = Some(rejection.code.as_str().to_string());
                row.reason_detail = Some(rejection.detail);
            }
        }
        ledger.record(&row);
        rows.packets.push(row);
    }
    rows
}

/// The `<site>` folder of a landing path (`landing/<site>/…`), whatever its shape.
fn folder_site(path: &str) -> Option<String> {
    let mut parts = path.split('/');
    (parts.next() == Some("landing"))
        .then(|| parts.next())
        .flatten()
        .filter(|_| path.matches('/').count() >= 2)
        .map(str::to_string)
}

/// Commits a chunk: `enrollments`, `fingerprints`, `irises`, then `packets` (the marker).
pub async fn commit(store: &Store, rows: &ChunkRows) -> Result<(), IngestError> {
    let e: Vec<_> = rows
        .enrollments
        .iter()
        .map(|r| r.enrollment.clone())
        .collect();
    let f: Vec<_> = rows
        .enrollments
        .iter()
        .flat_map(|r| r.fingerprints.iter().cloned())
        .collect();
    let i: Vec<_> = rows
        .enrollments
        .iter()
        .flat_map(|r| r.irises.iter().cloned())
        .collect();
    delta::append(
        store,
        Table::Enrollments,
        vec![enrollments::to_batch(&e)?],
        None,
    )
    .await?;
    delta::append(
        store,
        Table::Fingerprints,
        vec![fingerprints::to_batch(&f)?],
        None,
    )
    .await?;
    delta::append(store, Table::Irises, vec![irises::to_batch(&i)?], None).await?;
    delta::append(
        store,
        Table::Packets,
        vec![packets::to_batch(&rows.packets)?],
        None,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_site_needs_the_landing_layout() {
        assert_eq!(
            folder_site("landing/33.74.01/2024-01-01/a.zip").as_deref(),
            Some("33.74.01")
        );
        assert_eq!(folder_site("landing/a.zip"), None);
        assert_eq!(folder_site("other/x/y.zip"), None);
    }
}
