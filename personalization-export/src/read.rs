//! Reading query results: DataFusion may hand back Utf8View or other encodings, so every
//! column is cast to the one type the caller wants.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::prelude::SessionContext;

use crate::error::Result;

/// Runs `sql` and returns its batches.
pub async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(ctx.sql(sql).await?.collect().await?)
}

/// Column `i` of `batch` as optional strings.
pub fn strings(batch: &RecordBatch, i: usize) -> Result<Vec<Option<String>>> {
    let col = arrow::compute::cast(batch.column(i), &DataType::Utf8)?;
    let col = col.as_string::<i32>();
    Ok((0..col.len())
        .map(|r| col.is_valid(r).then(|| col.value(r).to_string()))
        .collect())
}

/// Column `i` of `batch` as optional i64 (timestamps cast to their microseconds).
pub fn longs(batch: &RecordBatch, i: usize) -> Result<Vec<Option<i64>>> {
    let col = arrow::compute::cast(batch.column(i), &DataType::Int64)?;
    let col = col.as_primitive::<Int64Type>();
    Ok((0..col.len())
        .map(|r| col.is_valid(r).then(|| col.value(r)))
        .collect())
}
