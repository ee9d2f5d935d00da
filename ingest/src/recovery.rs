//! Recovery from an interrupted run: removing child rows that no `packets` row vouches for.
//!
//! Ingest commits each chunk to `enrollments`, `fingerprints` and `irises` first and to
//! `packets` last; the `packets` commit is the chunk's marker. A run killed between those
//! commits leaves child rows whose enrollment no accepted `packets` row names. The next run
//! deletes them here (one atomic Delta delete per table) before it starts, then processes
//! those packets again from scratch — so no enrollment is ever present twice, whatever
//! point the previous run died at.

use datafusion::prelude::SessionContext;
use lake::delta;
use lake::{Store, Table};

use crate::error::IngestError;

/// How many ids go into one `IN (…)` predicate.
const IDS_PER_DELETE: usize = 500;

/// Deletes orphaned child rows; returns how many distinct orphan enrollment ids were found
/// (over all child tables).
pub async fn remove_orphans(store: &Store, ctx: &SessionContext) -> Result<usize, IngestError> {
    let mut found = 0;
    for table in [Table::Enrollments, Table::Fingerprints, Table::Irises] {
        let orphans = orphan_ids(ctx, table).await?;
        if orphans.is_empty() {
            continue;
        }
        tracing::warn!(
            table = table.name(),
            enrollments = orphans.len(),
            "removing rows left by an interrupted ingest run"
        );
        found += orphans.len();
        for ids in orphans.chunks(IDS_PER_DELETE) {
            delta::delete_in(store, table, "enrollment_id", ids).await?;
        }
    }
    Ok(found)
}

/// Enrollment ids present in `table` but named by no accepted `packets` row.
async fn orphan_ids(ctx: &SessionContext, table: Table) -> Result<Vec<String>, IngestError> {
    // Only a run that did not succeed can leave orphans, so only its rows are looked at:
    // the anti join then holds the rows of a chunk or two, not the country's.
    let sql = format!(
        "SELECT DISTINCT t.enrollment_id FROM {} t \
         WHERE t.run_id IN (SELECT run_id FROM runs WHERE stage = {} AND status <> {}) \
         AND NOT EXISTS (SELECT 1 FROM packets p WHERE p.enrollment_id = t.enrollment_id)",
        table.name(),
        lake::delta::sql_literal(lake::vocabulary::Stage::Ingest.as_str()),
        lake::delta::sql_literal(lake::vocabulary::RunStatus::Succeeded.as_str()),
    );
    let mut ids = lake::query::texts(ctx, &sql, "enrollment_id").await?;
    ids.sort();
    Ok(ids)
}
