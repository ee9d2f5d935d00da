//! A reference table read from the store the first time a query scans it, then held in
//! memory for the rest of the session.
//!
//! The SIAK extract is millions of CSV rows (≈ 10 s to parse at national-test scale), and
//! most analyst queries never touch it: a one-shot `tunggal sql --saved sla_by_service_point`
//! should not wait for it. The table's schema is known without reading it (`\d` and the
//! planner need only that); its rows are loaded once, by the first scan, and every later
//! scan of the session reuses them.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use futures::future::BoxFuture;
use tokio::sync::OnceCell;

use crate::error::Result;

/// Produces the table's rows when first needed.
pub type Loader = Arc<dyn Fn() -> BoxFuture<'static, Result<RecordBatch>> + Send + Sync>;

/// Turns the loaded rows into the in-memory table scans read (split across partitions).
pub type Holder = Arc<dyn Fn(RecordBatch, &dyn Session) -> Result<MemTable> + Send + Sync>;

/// A table whose rows are read on first scan (see the module documentation).
pub struct LazyTable {
    schema: SchemaRef,
    load: Loader,
    hold: Holder,
    rows: OnceCell<Arc<MemTable>>,
}

impl std::fmt::Debug for LazyTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyTable")
            .field("schema", &self.schema)
            .field("loaded", &self.rows.initialized())
            .finish()
    }
}

impl LazyTable {
    /// A table of `schema` whose rows `load` reads and `hold` arranges, on first scan. The
    /// loaded batch must have exactly `schema`.
    pub fn new(schema: SchemaRef, load: Loader, hold: Holder) -> LazyTable {
        LazyTable {
            schema,
            load,
            hold,
            rows: OnceCell::new(),
        }
    }

    async fn rows(&self, state: &dyn Session) -> datafusion::error::Result<Arc<MemTable>> {
        self.rows
            .get_or_try_init(|| async {
                let batch = (self.load)()
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                if batch.schema() != self.schema {
                    return Err(DataFusionError::Internal(format!(
                        "lazily loaded table has schema {:?}, expected {:?}",
                        batch.schema(),
                        self.schema
                    )));
                }
                let table = (self.hold)(batch, state)
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                Ok(Arc::new(table))
            })
            .await
            .cloned()
    }
}

#[async_trait::async_trait]
impl TableProvider for LazyTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let table = self.rows(state).await?;
        table.scan(state, projection, filters, limit).await
    }
}
