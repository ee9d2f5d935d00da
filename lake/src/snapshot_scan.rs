//! A lake table as plain Parquet: the files of one Delta snapshot, listed once when the
//! session opens, scanned by DataFusion's own Parquet reader.
//!
//! deltalake's table provider replays the table's log through delta-kernel at every scan and
//! wraps each Parquet batch to add a file-id column; for the analysts' queries that is pure
//! overhead, because a session reads one snapshot from start to end. [`provider`] therefore
//! takes the snapshot's active files once (path, size, row count from the `add` action's
//! statistics) and answers every scan with a `DataSourceExec` over exactly those files — the
//! same files deltalake would read, with the same schema — so DataFusion's Parquet footer
//! cache, row-group pruning and statistics-based join planning all apply.
//!
//! The one idea to hold in mind: this is only a faithful reading of the table when the
//! snapshot's rows are exactly the rows of its files. That holds for reader-protocol-1 tables
//! without partition columns (no deletion vectors, no column mapping, no partition values
//! outside the files), which is what tunggal writes; for anything else [`provider`] returns
//! `None` and the caller keeps deltalake's provider.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{project_schema, Statistics};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::TableType;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::ExecutionPlan;
use deltalake::DeltaTable;
use object_store::path::Path;
use object_store::ObjectMeta;

use crate::error::{LakeError, Result};

/// One Delta snapshot's files, scanned as Parquet (see the module docs).
#[derive(Debug)]
pub struct SnapshotTable {
    schema: SchemaRef,
    store_url: ObjectStoreUrl,
    files: Vec<PartitionedFile>,
    statistics: Statistics,
}

/// A provider reading the current snapshot of `table` as plain Parquet, with `schema` (the
/// schema deltalake's own provider exposes, so query results keep their types), or `None`
/// when the snapshot cannot be read that way faithfully (see the module docs).
pub fn provider(
    name: &str,
    table: &DeltaTable,
    schema: SchemaRef,
) -> Result<Option<SnapshotTable>> {
    let delta_error = |e| LakeError::delta(name, e);
    let state = table.snapshot().map_err(delta_error)?;
    if state.protocol().min_reader_version() != 1 {
        tracing::debug!(
            table = name,
            "read through deltalake: reader protocol above 1"
        );
        return Ok(None);
    }
    if !state.metadata().partition_columns().is_empty() {
        tracing::debug!(table = name, "read through deltalake: partitioned");
        return Ok(None);
    }
    // Files are named relative to the table's root URL: the store part of it (`file://`,
    // `s3://bucket`) is what the session's object store is registered under, the rest is the
    // path prefix of every file.
    let root = table.log_store().root_url().clone();
    let store_url = ObjectStoreUrl::parse(&root[..url::Position::BeforePath])?;
    let root_path = Path::from_url_path(root.path()).map_err(object_store::Error::from)?;
    let mut files = Vec::new();
    let mut rows = Some(0usize);
    let mut bytes = 0u64;
    for file in state.log_data().iter() {
        if file.deletion_vector_descriptor().is_some() {
            tracing::debug!(table = name, "read through deltalake: deletion vectors");
            return Ok(None);
        }
        if file.path().contains("://") {
            tracing::debug!(
                table = name,
                "read through deltalake: a file outside the table"
            );
            return Ok(None);
        }
        // The row count is a planning hint (join order); a file without statistics is read
        // all the same.
        let num_rows = file.num_records();
        let location = Path::from_iter(root_path.parts().chain(file.object_store_path().parts()));
        let size = u64::try_from(file.size()).unwrap_or(0);
        let meta = ObjectMeta {
            location,
            last_modified: file.modification_datetime().map_err(delta_error)?,
            size,
            e_tag: None,
            version: None,
        };
        let mut stats = Statistics::new_unknown(&schema);
        stats.num_rows = num_rows.map_or(Precision::Absent, Precision::Exact);
        stats.total_byte_size = Precision::Inexact(usize::try_from(size).unwrap_or(usize::MAX));
        files.push(PartitionedFile::new_from_meta(meta).with_statistics(Arc::new(stats)));
        rows = rows.zip(num_rows).map(|(a, b)| a + b);
        bytes += size;
    }
    tracing::debug!(
        table = name,
        files = files.len(),
        "read as the snapshot's Parquet files"
    );
    let mut statistics = Statistics::new_unknown(&schema);
    statistics.num_rows = rows.map_or(Precision::Absent, Precision::Exact);
    statistics.total_byte_size = Precision::Inexact(usize::try_from(bytes).unwrap_or(usize::MAX));
    Ok(Some(SnapshotTable {
        schema,
        store_url,
        files,
        statistics,
    }))
}

impl SnapshotTable {
    /// The files in at most `partitions` groups of about equal bytes (largest first, each to
    /// the lightest group), so every core gets a share of the scan.
    fn file_groups(&self, partitions: usize) -> Vec<FileGroup> {
        let mut files: Vec<&PartitionedFile> = self.files.iter().collect();
        files.sort_by_key(|file| std::cmp::Reverse(file.object_meta.size));
        let mut groups: Vec<(u64, Vec<PartitionedFile>)> =
            vec![(0, Vec::new()); partitions.clamp(1, files.len().max(1))];
        for file in files {
            if let Some(lightest) = groups.iter_mut().min_by_key(|(bytes, _)| *bytes) {
                lightest.0 += file.object_meta.size;
                lightest.1.push(file.clone());
            }
        }
        groups
            .into_iter()
            .filter(|(_, files)| !files.is_empty())
            .map(|(_, files)| FileGroup::new(files))
            .collect()
    }
}

#[async_trait::async_trait]
impl TableProvider for SnapshotTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn statistics(&self) -> Option<Statistics> {
        Some(self.statistics.clone())
    }

    /// Filters are handed to the Parquet scan for row-group pruning (and row filtering when
    /// `datafusion.execution.parquet.pushdown_filters` is on) and applied again above it.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        if self.files.is_empty() {
            let projected = project_schema(&self.schema, projection)?;
            return Ok(Arc::new(EmptyExec::new(projected)) as Arc<dyn ExecutionPlan>);
        }
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let source = format.file_source(self.schema.clone().into());
        let config = FileScanConfigBuilder::new(self.store_url.clone(), source)
            .with_file_groups(self.file_groups(state.config().target_partitions()))
            .with_statistics(self.statistics.clone())
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        format.create_physical_plan(state, config).await
    }
}
