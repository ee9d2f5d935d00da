//! The SQL view of the lake: one DataFusion [`SessionContext`] with every lake table and the
//! reference tables registered by name.
//!
//! `tunggal sql`, analysts' saved queries and ingest's own look-ups all go through
//! [`sql_context`], so a table means the same thing everywhere. A lake table that does not
//! exist yet (a fresh store) is registered empty with its schema, so queries over a new store
//! return zero rows instead of failing.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Schema};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::delta;
use crate::error::{LakeError, Result};
use crate::reference;
use crate::snapshot_scan;
use crate::store::Store;
use crate::tables::Table;

/// A session with every lake table (`packets`, `enrollments`, `fingerprints`, `irises`,
/// `runs`, `match_candidates`, `status_history`, `decisions`, `personalization_jobs`,
/// `audit`, `resident_history`, `station_history`, `reference_loads`), the views
/// `identity_status`, `clusters`, `residents` and `stations` over them, and `regions`
/// registered, configured by [`analyst_config`] for the analysts' queries.
///
/// Lake tables are read as the Parquet files of the snapshot current at opening
/// ([`snapshot_scan`]; deltalake's provider where that would not be faithful); `regions` is
/// held in memory with the string types the lake tables have (`Utf8View`), split across the
/// cores.
pub async fn sql_context(store: &Store) -> Result<SessionContext> {
    sql_context_in(store, Arc::new(RuntimeEnv::default())).await
}

/// [`sql_context`] running in `runtime`: a server shares one runtime, with a memory pool
/// limit, between all its sessions (`tunggal serve-sql`).
pub async fn sql_context_in(store: &Store, runtime: Arc<RuntimeEnv>) -> Result<SessionContext> {
    let ctx = SessionContext::new_with_config_rt(analyst_config(), runtime);
    register_lake_tables(&ctx, store, true).await?;
    register_batch(&ctx, reference::REGIONS, reference::regions_batch()?)?;
    // `residents` and `stations` are views over the reference history tables, registered
    // with the lake tables (`tables::VIEWS`): opening a session reads no reference rows.
    Ok(ctx)
}

/// DataFusion settings of [`sql_context`], chosen by measurement on the analysts' saved
/// queries over a lake of a million enrollments (docs/benchmarks.md, "Analyst SQL"):
///
/// - one partition per core (`target_partitions`);
/// - joins are not hash-repartitioned (`repartition_joins = false`): the build side is
///   collected once and probed from every partition, which on a few cores beats shuffling
///   both million-row sides of each join by key;
/// - batches of 32,768 rows (`batch_size`, default 8,192): a quarter of the per-batch work in
///   joins and aggregations over millions of rows.
///
/// A session can still change any of them with `SET`.
pub fn analyst_config() -> SessionConfig {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut config = SessionConfig::new()
        .with_target_partitions(cores)
        .with_batch_size(32 * 1024);
    config.options_mut().optimizer.repartition_joins = false;
    config
}

/// A session with only the lake tables registered (no reference data), for stages that read
/// their own tables, configured by [`stage_config`]. Lake tables are read as their
/// snapshot's Parquet files ([`snapshot_scan`], deltalake's provider where that would not be
/// faithful): a plain Parquet scan takes the dynamic filters of the joins above it, which
/// deltalake's scan does not, so a night's keys reach the row groups' bloom filters.
pub async fn lake_context(store: &Store) -> Result<SessionContext> {
    let ctx = SessionContext::new_with_config(stage_config());
    register_lake_tables(&ctx, store, true).await?;
    Ok(ctx)
}

/// Build sides of at most this many distinct keys are pushed into the probe side's scan as an
/// IN-list ([`stage_config`]): a night brings about a thousand enrollments, and its closure
/// and scope a few times that.
pub const JOIN_INLIST_MAX_KEYS: usize = 16 * 1024;

/// DataFusion settings of [`lake_context`]: the stages' look-ups join the night's keys (a
/// small in-memory table, [`register_texts`], or a selective subquery) against tables that
/// hold the whole country, and should read only the row groups that can hold those keys:
///
/// - a hash join publishes its build side's keys as a dynamic filter on the probe side's
///   scan (DataFusion's default, `enable_join_dynamic_filter_pushdown`); only an IN-list of
///   literals lets the Parquet scan skip row groups by bloom filter
///   ([`crate::file_layout`]), and DataFusion makes one only for build sides of at most 150
///   keys and 128 KiB by default: here [`JOIN_INLIST_MAX_KEYS`] keys and 4 MiB;
/// - joins are not hash-repartitioned (`repartition_joins = false`): the build side is
///   collected once (`CollectLeft`), so the dynamic filter is one IN-list, not a per-partition
///   `CASE` that no pruning understands (and on a few cores collecting beats shuffling);
/// - no Parquet page index (`enable_page_index = false`): the look-ups are by random keys
///   (UUIDs, NIKs, hashes), whose min/max per page prune nothing inside a row group that its
///   bloom filter let through, while loading a surviving row group's page index and building
///   page predicates from a night-sized IN-list for every file cost memory that grows with the
///   number of row groups (export at ~1,000,000 enrollments: about 35 MiB less peak RSS,
///   docs/benchmarks.md "Fifth run"). Row groups are still pruned by statistics and bloom
///   filters.
pub fn stage_config() -> SessionConfig {
    let mut config = SessionConfig::new();
    let options = config.options_mut();
    options.optimizer.repartition_joins = false;
    options
        .optimizer
        .hash_join_inlist_pushdown_max_distinct_values = JOIN_INLIST_MAX_KEYS;
    options.optimizer.hash_join_inlist_pushdown_max_size = 4 << 20;
    options.execution.parquet.enable_page_index = false;
    config
}

/// Runs `sql` in `ctx` and collects its batches.
pub async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(ctx.sql(sql).await?.collect().await?)
}

/// Runs `sql` and reads every row of its result with a table module's `from_batch` (the
/// query selects every column of that table, e.g. `SELECT * FROM decisions WHERE …`).
pub async fn rows<T>(
    ctx: &SessionContext,
    sql: &str,
    from_batch: impl Fn(&RecordBatch) -> Result<Vec<T>>,
) -> Result<Vec<T>> {
    crate::tables::read::from_batches(&collect(ctx, sql).await?, from_batch)
}

/// Runs `sql` and returns the non-null values of its string column `column`, in result
/// order (ids for a delete, a list of runs, …).
pub async fn texts(ctx: &SessionContext, sql: &str, column: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for batch in collect(ctx, sql).await? {
        let values = crate::tables::read::Columns::new(&batch).text(column)?;
        out.extend((0..batch.num_rows()).filter_map(|r| values.opt(r)));
    }
    Ok(out)
}

/// Registers `values` as the one-column in-memory table `name` (column `column`, strings),
/// replacing an earlier one of that name: a night's ids, paths or hashes that a query joins
/// against a lake table, so the query reads only their rows and memory follows the night.
pub fn register_texts(
    ctx: &SessionContext,
    name: &str,
    column: &str,
    values: &[String],
) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![arrow::datatypes::Field::new(
        column,
        DataType::Utf8,
        false,
    )]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(arrow::array::StringArray::from_iter_values(
            values.iter(),
        ))],
    )?;
    ctx.deregister_table(name)?;
    ctx.register_table(
        name,
        Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
    )?;
    Ok(())
}

/// The placeholder a [`collect_with_keys`] query names its keys' table by.
pub const KEYS: &str = "{keys}";

/// Runs `sql` with [`KEYS`] (`{keys}`) standing for a one-column in-memory table (column
/// `id`, strings) of `keys`, registered for this query only: the way a stage looks a night's
/// ids or NIKs up in a table that holds the whole country, e.g.
/// `SELECT e.nik FROM enrollments e JOIN {keys} k ON e.enrollment_id = k.id`.
///
/// Why a join against a table of the keys: its exact (small) size makes it the hash join's
/// build side, and the join hands its keys to the big table's Parquet scan as an IN-list
/// (a dynamic filter, [`stage_config`]), which skips every row group whose bloom filter
/// holds none of them ([`crate::file_layout`]). Planning is constant in the number of keys
/// (an IN-list of literals written into the SQL costs about 65 µs per key to plan).
///
/// The query's rows must all come from a match with a key (an inner or semi join): with no
/// keys it is not run and yields no batches.
pub async fn collect_with_keys(
    ctx: &SessionContext,
    sql: &str,
    keys: &[String],
) -> Result<Vec<RecordBatch>> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("lookup_keys_{n}");
    register_texts(ctx, &name, "id", keys)?;
    let out = collect(ctx, &sql.replace(KEYS, &name)).await;
    ctx.deregister_table(name.as_str())?;
    out
}

/// [`collect_with_keys`], then the non-null values of the result's string column `column`
/// (as [`texts`]).
pub async fn texts_of_keys(
    ctx: &SessionContext,
    sql: &str,
    keys: &[String],
    column: &str,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for batch in collect_with_keys(ctx, sql, keys).await? {
        let values = crate::tables::read::Columns::new(&batch).text(column)?;
        out.extend((0..batch.num_rows()).filter_map(|r| values.opt(r)));
    }
    Ok(out)
}

/// The distinct NIKs of the enrollments `ids` (a NIK not enrolled is absent): the first step
/// from a night's enrollments to every enrollment sharing a NIK with them (dedup's match
/// closure, export's scope), looked up by key ([`texts_of_keys`]).
pub async fn niks_of_enrollments(ctx: &SessionContext, ids: &[String]) -> Result<Vec<String>> {
    texts_of_keys(
        ctx,
        "SELECT DISTINCT e.nik FROM enrollments e JOIN {keys} k ON e.enrollment_id = k.id",
        ids,
        "nik",
    )
    .await
}

/// Registers every lake table of `store` in `ctx`: through [`snapshot_scan`] when
/// `snapshot_files` and the table allows it, else through deltalake's provider; a table that
/// does not exist yet as an empty in-memory table with its schema.
async fn register_lake_tables(
    ctx: &SessionContext,
    store: &Store,
    snapshot_files: bool,
) -> Result<()> {
    // Files read by the session (snapshot scans name them under the store's `file://` or
    // `s3://bucket`) go through the store's own counted backend, so a stage's `io` counts
    // the Parquet it reads ([`crate::store_io`]), not only our own requests.
    let root = store.url();
    let base = url::Url::parse(&root[..url::Position::BeforePath]).map_err(|e| {
        LakeError::InvalidLocation {
            location: root.to_string(),
            reason: e.to_string(),
        }
    })?;
    ctx.register_object_store(&base, store.backend().clone());
    for table in Table::ALL {
        let provider: Arc<dyn TableProvider> = match delta::open_existing(store, table).await? {
            Some(delta_table) => {
                delta_table
                    .update_datafusion_session(&ctx.state())
                    .map_err(|e| LakeError::delta(table.name(), e))?;
                let delta_provider: Arc<dyn TableProvider> = delta_table.table_provider().await?;
                let files = if snapshot_files {
                    snapshot_scan::provider(table.name(), &delta_table, delta_provider.schema())?
                } else {
                    None
                };
                match files {
                    Some(files) => Arc::new(files),
                    None => delta_provider,
                }
            }
            None => Arc::new(MemTable::try_new(table.schema(), vec![vec![]])?),
        };
        ctx.register_table(table.name(), provider)?;
    }
    for (name, sql) in crate::tables::VIEWS {
        let view = ctx.sql(sql).await?.into_view();
        ctx.register_table(name, view)?;
    }
    Ok(())
}

/// Registers `batch` as an in-memory table: string columns as `Utf8View` (the type lake
/// tables' strings are read as, so joins between the two need no cast), the rows split into
/// one partition per target partition, each in batches of the session's batch size.
fn register_batch(ctx: &SessionContext, name: &str, batch: RecordBatch) -> Result<()> {
    let table = in_partitions(with_view_strings(batch)?, &ctx.copied_config())?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// An in-memory table of `batch`, split into one partition per target partition of
/// `config`, each in batches of the configured size (so scans run on every core).
fn in_partitions(batch: RecordBatch, config: &SessionConfig) -> Result<MemTable> {
    let rows = batch.num_rows();
    let partitions = config.target_partitions().max(1);
    let per_partition = rows.div_ceil(partitions).max(1);
    let batch_size = config.batch_size().max(1);
    let parts: Vec<Vec<RecordBatch>> = (0..partitions)
        .map(|p| {
            let start = (p * per_partition).min(rows);
            let end = ((p + 1) * per_partition).min(rows);
            (start..end)
                .step_by(batch_size)
                .map(|offset| batch.slice(offset, batch_size.min(end - offset)))
                .collect()
        })
        .collect();
    Ok(MemTable::try_new(batch.schema(), parts)?)
}

/// `schema` with every `Utf8` field as `Utf8View`.
fn view_schema(schema: &Schema) -> arrow::datatypes::SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                if f.data_type() == &DataType::Utf8 {
                    Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View))
                } else {
                    f.clone()
                }
            })
            .collect::<Vec<_>>(),
    ))
}

/// `batch` with every `Utf8` column cast to `Utf8View` (same values, same nullability).
fn with_view_strings(batch: RecordBatch) -> Result<RecordBatch> {
    let schema = view_schema(&batch.schema());
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                cast(column, field.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}
