//! The SQL view of the lake: one DataFusion [`SessionContext`] with every lake table and the
//! reference tables registered by name.
//!
//! `tunggal sql`, analysts' saved queries and ingest's own look-ups all go through
//! [`sql_context`], so a table means the same thing everywhere. A lake table that does not
//! exist yet (a fresh store) is registered empty with its schema, so queries over a new store
//! return zero rows instead of failing.

use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use crate::delta;
use crate::error::{LakeError, Result};
use crate::reference;
use crate::store::Store;
use crate::tables::Table;

/// A session with every lake table (`packets`, `enrollments`, `fingerprints`, `irises`,
/// `runs`) and the reference tables (`regions`, `residents`, `stations`) registered.
pub async fn sql_context(store: &Store) -> Result<SessionContext> {
    let ctx = lake_context(store).await?;
    register_batch(&ctx, reference::REGIONS, reference::regions_batch()?)?;
    let residents = reference::load_residents(store).await?;
    register_batch(
        &ctx,
        reference::RESIDENTS,
        reference::residents_batch(&residents)?,
    )?;
    let stations = reference::load_stations(store).await?;
    register_batch(
        &ctx,
        reference::STATIONS,
        reference::stations_batch(&stations)?,
    )?;
    Ok(ctx)
}

/// A session with only the lake tables registered (no reference data): cheaper, for stages
/// that read their own tables.
pub async fn lake_context(store: &Store) -> Result<SessionContext> {
    let ctx = SessionContext::new();
    for table in Table::ALL {
        let provider: Arc<dyn TableProvider> = match delta::open_existing(store, table).await? {
            Some(delta_table) => {
                delta_table
                    .update_datafusion_session(&ctx.state())
                    .map_err(|e| LakeError::delta(table.name(), e))?;
                delta_table.table_provider().await?
            }
            None => Arc::new(MemTable::try_new(table.schema(), vec![vec![]])?),
        };
        ctx.register_table(table.name(), provider)?;
    }
    Ok(ctx)
}

fn register_batch(ctx: &SessionContext, name: &str, batch: RecordBatch) -> Result<()> {
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}
