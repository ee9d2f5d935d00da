//! The SQL front end over the lake: run one DataFusion query against every lake table and
//! print the result as a table, CSV or JSON.
//!
//! `tunggal sql "QUERY"` is a thin call of [`query`] then [`render`]; notebooks and saved
//! analyst queries (`sql/*.sql`) see the same tables through [`lake::sql_context`]. A bad
//! query is an error carrying DataFusion's own message, which the CLI prints and exits
//! non-zero on.

mod render;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use thiserror::Error;

pub use render::{render, Format};

/// What can go wrong running or printing a query.
#[derive(Debug, Error)]
pub enum SqlError {
    /// The store or a lake table could not be opened.
    #[error(transparent)]
    Lake(#[from] lake::LakeError),
    /// DataFusion refused or failed the query; the message is DataFusion's.
    #[error(transparent)]
    Query(#[from] datafusion::error::DataFusionError),
    /// The result could not be formatted.
    #[error("cannot format result: {0}")]
    Format(#[from] arrow::error::ArrowError),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

/// The result of one query: its schema (kept so an empty result still prints its header)
/// and its rows.
#[derive(Clone, Debug)]
pub struct QueryResult {
    /// Column names and types of the result.
    pub schema: SchemaRef,
    /// The rows, in DataFusion's batches.
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    /// Total number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// Writes the result to `out` in `format` (see [`render`]).
    pub fn write(&self, format: Format, out: &mut dyn std::io::Write) -> Result<(), SqlError> {
        render(&self.batches, &self.schema, format, out)
    }
}

/// Runs one SQL statement over the lake tables (`packets`, `enrollments`, `fingerprints`,
/// `irises`, `runs`) and the reference tables (`regions`, `residents`, `stations`).
pub async fn query(store: &lake::Store, sql: &str) -> Result<QueryResult, SqlError> {
    let ctx = lake::sql_context(store).await?;
    let frame = ctx.sql(sql).await?;
    let schema = frame.schema().inner().clone();
    let batches = frame.collect().await?;
    Ok(QueryResult { schema, batches })
}
