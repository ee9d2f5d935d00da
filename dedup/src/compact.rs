//! Compaction of the stored gallery: every closed unit of many small nightly partitions is
//! stored once as one unit partition, so a run reads a few large objects instead of one per
//! night, and the work of merging them is done once instead of every night.
//!
//! A unit is *closed* when a later unit follows it in the gallery's plan
//! ([`segments::plan_gallery`]): no partition a later night stores can join it. The last unit
//! stays open (tomorrow's partition may still join it) and is left as it is. A unit partition
//! holds exactly the merge the search would make of its sources, in the same order, and the
//! plan keeps it a unit of its own, so the search's results do not change.
//!
//! Crash safety (the order of the writes is the design):
//! 1. the unit partition is written beside its sources (`…-unit.seg`); until its manifest
//!    exists it does not count, and a later listing reports it as superseded;
//! 2. its manifest (`…-unit.json`) is written: from now on the unit counts and its sources
//!    are superseded (never searched, never counted twice);
//! 3. the superseded sources are deleted (by this run, or by the next one or the next dedup
//!    run if this one dies first).
//!
//! Nothing here decodes a fingerprint or iris template: partitions are merged as stored
//! (index and compact templates).

use std::collections::HashSet;

use bytes::Bytes;
use lake::Store;

use crate::error::{DedupError, Result};
use crate::segments::{self, UnitManifest};

/// What one compaction did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CompactSummary {
    /// Stored partitions of the gallery before.
    pub partitions_before: u64,
    /// Stored partitions of the gallery after.
    pub partitions_after: u64,
    /// Unit partitions written by this run.
    pub units_written: u64,
    /// Leftovers deleted (sources replaced by a unit, unit partitions without a manifest).
    pub leftovers_removed: u64,
    /// Stored bytes of the partitions replaced by this run's units.
    pub bytes_replaced: u64,
    /// Stored bytes of this run's units.
    pub bytes_written: u64,
}

/// The runs whose partitions count: every run that reached its commit
/// ([`crate::load::committed_runs`]).
pub async fn committed_runs(store: &Store) -> Result<HashSet<String>> {
    let ctx = lake::lake_context(store).await?;
    crate::load::committed_runs(&ctx).await
}

/// Compacts the stored gallery of `store` into unit partitions of up to `unit_bytes` stored
/// bytes (use the search's unit size, [`crate::DedupOptions::unit_bytes`], so the search
/// takes the same units as before). Safe to run again and after a crash at any point; it must
/// not run while a dedup run writes (the nightly lock keeps them apart). `progress` gets one
/// line per unit written.
pub async fn compact(
    store: &Store,
    unit_bytes: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<CompactSummary> {
    let committed = committed_runs(store).await?;
    let listing = segments::list(store, &committed).await?;
    let mut summary = CompactSummary {
        partitions_before: listing.gallery.len() as u64,
        ..CompactSummary::default()
    };
    summary.leftovers_removed += segments::remove(store, &listing.superseded).await? as u64;

    let sizes = segments::sizes(store, &listing.gallery).await?;
    let (_, units) = segments::plan_gallery(
        listing
            .gallery
            .iter()
            .map(String::as_str)
            .zip(sizes.iter().map(|&s| s as usize)),
        0,
        unit_bytes,
    );
    let closed = units.len().saturating_sub(1);
    let mut after = listing.gallery.len() as u64;
    for unit in units.into_iter().take(closed).filter(|u| u.len() > 1) {
        let partition = segments::load_merged(store, &unit).await?;
        let target = segments::unit_path(unit[0]);
        let bytes = partition.to_bytes();
        let written = bytes.len() as u64;
        store.put(&target, Bytes::from(bytes)).await?;
        // Both writes are commit points of the gallery: the crash tests stop here.
        lake::delta::after_commit();
        let manifest = UnitManifest {
            sources: unit.iter().map(|p| p.to_string()).collect(),
            members: partition.len() as u64,
        };
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| DedupError::Segment {
            path: segments::manifest_path(&target),
            reason: e.to_string(),
        })?;
        store
            .put(&segments::manifest_path(&target), Bytes::from(json))
            .await?;
        lake::delta::after_commit();
        let sources: Vec<String> = manifest.sources;
        summary.bytes_replaced += unit
            .iter()
            .map(|p| {
                let k = listing.gallery.iter().position(|g| g == p);
                k.map_or(0, |k| sizes[k])
            })
            .sum::<u64>();
        summary.leftovers_removed += segments::remove(store, &sources).await? as u64;
        summary.units_written += 1;
        summary.bytes_written += written;
        after -= sources.len() as u64 - 1;
        progress(&format!(
            "gallery: {} partitions ({} enrollments) stored as one unit",
            sources.len(),
            partition.len()
        ));
    }
    summary.partitions_after = after;
    Ok(summary)
}
