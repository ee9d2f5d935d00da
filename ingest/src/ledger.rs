//! The ledger: what `packets` already records about the objects a run is looking at.
//!
//! It answers the two questions of exactly-once ingest: "is this object already recorded?"
//! (then skip it) and "was the same packet already accepted at another path?" (then it is a
//! `DUPLICATE_PACKET`). At national scale `packets` holds hundreds of millions of rows, so
//! the ledger never reads it whole: [`Ledger::load`] asks only about the paths this run
//! listed, and [`Ledger::learn`] only about the hashes and packet ids of the chunk in hand,
//! each by a join against the table. The run adds each committed chunk to it, so duplicates
//! within one run are found too.

use std::collections::{HashMap, HashSet};

use datafusion::prelude::SessionContext;
use lake::tables::packets::PacketRecord;
use lake::tables::read::Columns;
use lake::vocabulary::PacketStatus;

use crate::error::IngestError;

/// Recorded object paths, and the accepted packets by packet id and by SHA-256 — of the
/// objects asked about so far.
#[derive(Debug, Default)]
pub struct Ledger {
    recorded: HashSet<String>,
    accepted_ids: HashMap<String, String>,
    accepted_hashes: HashMap<String, String>,
}

/// Registers `values` as the one-column table `name` (`v`).
fn register_values(ctx: &SessionContext, name: &str, values: &[String]) -> Result<(), IngestError> {
    Ok(lake::query::register_texts(ctx, name, "v", values)?)
}

impl Ledger {
    /// Which of `listed` (object paths) `packets` already records, read through `ctx` (a
    /// context from [`lake::lake_context`]).
    pub async fn load(ctx: &SessionContext, listed: &[String]) -> Result<Ledger, IngestError> {
        register_values(ctx, "ingest_listed", listed)?;
        let found = lake::query::texts(
            ctx,
            "SELECT p.object_path FROM ingest_listed l JOIN packets p ON p.object_path = l.v",
            "object_path",
        )
        .await;
        ctx.deregister_table("ingest_listed")
            .map_err(lake::LakeError::from)?;
        Ok(Ledger {
            recorded: found?.into_iter().collect(),
            ..Ledger::default()
        })
    }

    /// Learns the accepted packets in `packets` that have one of `hashes` (SHA-256) or
    /// `packet_ids`: what [`Ledger::duplicate_of`] needs for a chunk holding those. The
    /// chunk's keys stand first in each join, so they are what the hash join collects even
    /// where the filtered `packets` scan has no row estimate to swap by.
    pub async fn learn(
        &mut self,
        ctx: &SessionContext,
        hashes: &[String],
        packet_ids: &[String],
    ) -> Result<(), IngestError> {
        register_values(ctx, "ingest_hashes", hashes)?;
        register_values(ctx, "ingest_packet_ids", packet_ids)?;
        let accepted = lake::delta::sql_literal(PacketStatus::Accepted.as_str());
        let batches = lake::query::collect(
            ctx,
            &format!(
                "SELECT p.object_path, p.packet_id, p.sha256 FROM ingest_hashes h \
                 JOIN packets p ON p.sha256 = h.v WHERE p.status = {accepted} \
                 UNION ALL \
                 SELECT p.object_path, p.packet_id, p.sha256 FROM ingest_packet_ids i \
                 JOIN packets p ON p.packet_id = i.v WHERE p.status = {accepted}"
            ),
        )
        .await;
        ctx.deregister_table("ingest_hashes")
            .map_err(lake::LakeError::from)?;
        ctx.deregister_table("ingest_packet_ids")
            .map_err(lake::LakeError::from)?;
        for batch in &batches? {
            let c = Columns::new(batch);
            let (paths, ids) = (c.text("object_path")?, c.text("packet_id")?);
            let hashes = c.text("sha256")?;
            for i in 0..c.len() {
                let path = paths.string(i);
                if let Some(id) = ids.opt(i) {
                    self.accepted_ids.entry(id).or_insert_with(|| path.clone());
                }
                self.accepted_hashes.entry(hashes.string(i)).or_insert(path);
            }
        }
        Ok(())
    }

    /// Whether `packets` already has a row for this object path.
    pub fn is_recorded(&self, object_path: &str) -> bool {
        self.recorded.contains(object_path)
    }

    /// Number of recorded objects.
    pub fn len(&self) -> usize {
        self.recorded.len()
    }

    /// Whether nothing is recorded yet.
    pub fn is_empty(&self) -> bool {
        self.recorded.is_empty()
    }

    /// The object path of an earlier accepted packet with the same bytes or the same packet
    /// id, if any.
    pub fn duplicate_of(&self, sha256: &str, packet_id: Option<&str>) -> Option<&str> {
        self.accepted_hashes
            .get(sha256)
            .or_else(|| packet_id.and_then(|id| self.accepted_ids.get(id)))
            .map(String::as_str)
    }

    /// Adds a row (about to be committed) to the ledger.
    pub fn record(&mut self, row: &PacketRecord) {
        if row.status == PacketStatus::Accepted {
            if let Some(id) = &row.packet_id {
                self.accepted_ids
                    .insert(id.clone(), row.object_path.clone());
            }
            self.accepted_hashes
                .insert(row.sha256.clone(), row.object_path.clone());
        }
        self.recorded.insert(row.object_path.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn row(path: &str, id: Option<&str>, sha: &str, status: PacketStatus) -> PacketRecord {
        PacketRecord {
            object_path: path.into(),
            packet_id: id.map(Into::into),
            size: 1,
            sha256: sha.into(),
            site: None,
            received_time: Utc::now(),
            status,
            reason_code: None,
            reason_detail: None,
            enrollment_id: None,
            run_id: "r".into(),
            ingested_time: Utc::now(),
        }
    }

    #[test]
    fn duplicates_are_found_by_hash_or_by_id_of_accepted_packets_only() {
        let mut ledger = Ledger::default();
        ledger.record(&row("a", Some("p1"), "h1", PacketStatus::Accepted));
        ledger.record(&row("b", None, "h2", PacketStatus::Rejected));
        assert!(ledger.is_recorded("a") && ledger.is_recorded("b"));
        assert_eq!(ledger.duplicate_of("h1", None), Some("a"));
        assert_eq!(ledger.duplicate_of("hX", Some("p1")), Some("a"));
        assert_eq!(ledger.duplicate_of("h2", None), None);
        assert_eq!(ledger.len(), 2);
    }
}
