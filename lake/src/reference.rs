//! Reference data as tables: regions (embedded in the `reference` crate), SIAK residents and
//! the station registry (CSV files under `reference/` in the store, loaded into lake tables).
//!
//! The CSV files are what Dukcapil and the station office deliver; [`load`] takes each new
//! file once into `resident_history` / `station_history` (appending only rows that are new or
//! changed) and records it in `reference_loads` by path and SHA-256, so loading again changes
//! nothing. Ingest and SQL read the tables: [`current_stations`] and [`current_residents`]
//! (by NIK, so a run never holds the whole registry), and the views `residents` and `stations`
//! over the latest rows. `regions` is built in memory by [`regions_batch`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Utc};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::prelude::{col, lit, SessionContext};
use reference::{Resident, Station};
use sha2::{Digest, Sha256};

use crate::delta;
use crate::error::{LakeError, Result};
use crate::store::Store;
use crate::tables::columns::{
    dates, ints, opt_strings, opt_timestamps, strings, text, timestamp, timestamps,
};
use crate::tables::read::from_batches;
use crate::tables::reference_loads::{self, ReferenceLoadRecord};
use crate::tables::resident_history::{self, ResidentHistoryRecord};
use crate::tables::station_history::{self, StationHistoryRecord};
use crate::tables::Table;

mod residents;

/// SQL name of the region-code table.
pub const REGIONS: &str = "regions";
/// SQL name of the view of current SIAK residents (over `resident_history`).
pub const RESIDENTS: &str = "residents";
/// SQL name of the view of the current station registry (over `station_history`).
pub const STATIONS: &str = "stations";

/// NIKs asked for in one query by [`current_residents`]: a narrow NIK range (the NIKs are
/// sorted), so the scan skips files, row groups and pages by their statistics.
const NIKS_PER_QUERY: usize = 16_384;

/// What one [`load`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// The load's id (`reference_loads.load_id`); empty when there was nothing to load.
    pub load_id: String,
    /// Object paths of the files taken, SIAK extracts first, each kind in path order.
    pub files_loaded: Vec<String>,
    /// Files already loaded with the same bytes, skipped.
    pub files_skipped: usize,
    /// Resident rows in the files taken.
    pub residents_read: usize,
    /// Rows appended to `resident_history` (new residents and corrections).
    pub residents_appended: usize,
    /// Station rows in the files taken.
    pub stations_read: usize,
    /// Rows appended to `station_history` (new stations, retirements, other changes).
    pub stations_appended: usize,
}

impl std::fmt::Display for LoadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "reference load: {} file(s) loaded, {} already loaded; residents: {} read, {} \
             appended; stations: {} read, {} appended",
            self.files_loaded.len(),
            self.files_skipped,
            self.residents_read,
            self.residents_appended,
            self.stations_read,
            self.stations_appended
        )
    }
}

/// Environment variable setting how many SIAK rows a load takes at a time
/// ([`DEFAULT_CHUNK_ROWS`] when unset): the load's memory follows it (with the default, a
/// load of 2.4 million residents peaked under 1 GiB), and each `resident_history` data file a
/// load writes holds about as many rows. The tests set it small to load many chunks.
pub const CHUNK_ROWS_ENV: &str = "TUNGGAL_REFERENCE_CHUNK_ROWS";

/// SIAK rows a load takes at a time unless [`CHUNK_ROWS_ENV`] says otherwise.
pub const DEFAULT_CHUNK_ROWS: usize = 200_000;

/// How a [`load_with`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// SIAK rows taken at a time (at least 1).
    pub chunk_rows: usize,
}

impl LoadOptions {
    /// The options [`load`] uses: the chunk size from [`CHUNK_ROWS_ENV`], else
    /// [`DEFAULT_CHUNK_ROWS`].
    pub fn from_env() -> LoadOptions {
        let chunk_rows = std::env::var(CHUNK_ROWS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(DEFAULT_CHUNK_ROWS);
        LoadOptions { chunk_rows }
    }
}

/// A reference file as listed in the store, not loaded yet by its listing.
pub(crate) struct Listed {
    path: String,
    size: i64,
    modified: DateTime<Utc>,
}

/// A station registry file not loaded yet, parsed (registries are small: read whole).
struct Pending<T> {
    path: String,
    sha256: String,
    size: i64,
    modified: DateTime<Utc>,
    rows: Vec<T>,
}

/// The files loaded before: (path, SHA-256) pairs, each path's (size, last-modified) as
/// listed when loaded, and its sizes (a file listed with one may be the same bytes again).
#[derive(Default)]
struct Done {
    hashes: HashSet<(String, String)>,
    listed: HashSet<(String, i64, DateTime<Utc>)>,
    sizes: HashSet<(String, i64)>,
}

/// Takes every reference file not loaded yet (by path and SHA-256) into the lake: SIAK
/// extracts under `reference/siak/` into `resident_history`, registry files under
/// `reference/stations/` into `station_history`, then the files into `reference_loads`.
/// The chunk size comes from [`CHUNK_ROWS_ENV`] ([`LoadOptions::from_env`]).
///
/// Files are taken in path order, a later file winning for a NIK given by two files of one
/// load. A station given by two rows of one load (in one file or in two) is ambiguous (which
/// key to trust?): the load fails and takes nothing. A row is appended only when it differs
/// from the current row of its NIK or station, so a file already loaded, or a load re-run
/// after a crash, appends nothing; each table gets at most one commit, `reference_loads` last
/// (the commit point). SIAK extracts are streamed a chunk of rows at a time (see
/// `residents`), so memory follows the chunk size, never the extract or the registry.
pub async fn load(store: &Store) -> Result<LoadSummary> {
    load_with(store, LoadOptions::from_env()).await
}

/// [`load`] with explicit options.
pub async fn load_with(store: &Store, options: LoadOptions) -> Result<LoadSummary> {
    let ctx = reference_context(store).await?;
    let mut done = Done::default();
    for r in from_batches(
        &crate::query::collect(&ctx, "SELECT * FROM reference_loads").await?,
        reference_loads::from_batch,
    )? {
        done.listed.insert((r.path.clone(), r.size, r.modified));
        done.sizes.insert((r.path.clone(), r.size));
        done.hashes.insert((r.path, r.sha256));
    }
    let mut summary = LoadSummary::default();
    let siak = listed(store, reference::siak::STORE_PREFIX, &done, &mut summary).await?;
    let station_files = listed(
        store,
        reference::stations::STORE_PREFIX,
        &done,
        &mut summary,
    )
    .await?;
    let stations = read_stations(store, station_files, &done, &mut summary).await?;
    let loaded = now_micros();

    // Stations: one row per station across the new files, else the load is ambiguous.
    let mut given: HashMap<&str, (usize, &Station)> = HashMap::new();
    for (file, p) in stations.iter().enumerate() {
        summary.stations_read += p.rows.len();
        for s in &p.rows {
            if let Some((first, _)) = given.insert(&s.station_id, (file, s)) {
                return Err(LakeError::Reference {
                    path: p.path.clone(),
                    reason: format!(
                        "station {:?} is registered more than once in the files of this load \
                         (also in {}); fix the registry and run again",
                        s.station_id, stations[first].path
                    ),
                });
            }
        }
    }
    let current = current_stations(&ctx).await?;
    let mut station_rows = Vec::new();
    let mut station_appended_by_file = vec![0i64; stations.len()];
    for (id, (file, station)) in &given {
        if current.get(*id) != Some(*station) {
            station_appended_by_file[*file] += 1;
            station_rows.push(StationHistoryRecord {
                station: (*station).clone(),
                extract: stations[*file].path.clone(),
                loaded,
            });
        }
    }
    station_rows.sort_by(|a, b| a.station.station_id.cmp(&b.station.station_id));

    // A file listed with the size of a loaded version of its path may be the same bytes
    // written again, which are not loaded twice: hashed first, parsed only when new.
    let mut siak_new = Vec::with_capacity(siak.len());
    for file in siak {
        if done.sizes.contains(&(file.path.clone(), file.size)) {
            let sha256 = residents::sha256_of(store, &file.path).await?;
            if done.hashes.contains(&(file.path.clone(), sha256)) {
                summary.files_skipped += 1;
                continue;
            }
        }
        siak_new.push(file);
    }

    // A load killed between its resident_history and reference_loads commits: its files,
    // when they are still the first ones to load, unchanged, are recorded as it read them.
    let mut adopted = residents::interrupted(store, &done.hashes).await?;
    let unchanged = adopted.len() <= siak_new.len()
        && adopted
            .iter()
            .zip(&siak_new)
            .all(|(f, l)| f.path == l.path && f.size == l.size && f.modified() == l.modified);
    if !unchanged {
        adopted.clear();
    }
    if !adopted.is_empty() {
        tracing::info!(
            files = adopted.len(),
            "an interrupted load already appended these SIAK files' rows: recording them"
        );
    }

    summary.load_id = uuid::Uuid::new_v4().to_string();
    let mut stream =
        residents::Stream::new(store, &ctx, &summary.load_id, loaded, options.chunk_rows);
    for file in &siak_new[adopted.len()..] {
        stream.file(file).await?;
    }
    let taken = stream.commit(&adopted).await?;
    let siak_done: Vec<residents::FileDone> = adopted.into_iter().chain(taken).collect();
    if siak_done.is_empty() && stations.is_empty() {
        summary.load_id.clear();
        return Ok(summary);
    }
    for f in &siak_done {
        summary.residents_read += f.rows as usize;
        summary.residents_appended += f.appended as usize;
    }
    summary.stations_appended = station_rows.len();
    if !station_rows.is_empty() {
        let batch = station_history::to_batch(&station_rows)?;
        delta::append(store, Table::StationHistory, vec![batch], None).await?;
    }

    let record = |p: (&str, &str, i64, DateTime<Utc>), kind: &str, rows: u64, appended: u64| {
        ReferenceLoadRecord {
            path: p.0.to_string(),
            sha256: p.1.to_string(),
            kind: kind.to_string(),
            size: p.2,
            modified: p.3,
            file_rows: rows as i64,
            appended: appended as i64,
            load_id: summary.load_id.clone(),
            loaded,
        }
    };
    let mut load_rows: Vec<ReferenceLoadRecord> = siak_done
        .iter()
        .map(|f| {
            record(
                (&f.path, &f.sha256, f.size, f.modified()),
                "siak",
                f.rows,
                f.appended,
            )
        })
        .collect();
    load_rows.extend(
        stations
            .iter()
            .zip(&station_appended_by_file)
            .map(|(p, &n)| record(p.key(), "stations", p.rows.len() as u64, n as u64)),
    );
    delta::append(
        store,
        Table::ReferenceLoads,
        vec![reference_loads::to_batch(&load_rows)?],
        None,
    )
    .await?;
    summary.files_loaded = load_rows.into_iter().map(|r| r.path).collect();
    tracing::info!(
        files = summary.files_loaded.len(),
        residents_read = summary.residents_read,
        residents_appended = summary.residents_appended,
        stations_appended = summary.stations_appended,
        "reference files loaded"
    );
    Ok(summary)
}

impl<T> Pending<T> {
    /// What `reference_loads` records of the file: path, SHA-256, size, last-modified.
    fn key(&self) -> (&str, &str, i64, DateTime<Utc>) {
        (&self.path, &self.sha256, self.size, self.modified)
    }
}

/// The `.csv` files under `prefix`, in path order, less those listed with the path, size and
/// last-modified time of a loaded one (skipped unread, counted in `summary`).
async fn listed(
    store: &Store,
    prefix: &str,
    done: &Done,
    summary: &mut LoadSummary,
) -> Result<Vec<Listed>> {
    let mut listed: Vec<Listed> = store
        .list(prefix)
        .await?
        .into_iter()
        .map(|m| {
            let modified = DateTime::from_timestamp_micros(m.last_modified.timestamp_micros())
                .unwrap_or(m.last_modified);
            let size = i64::try_from(m.size).unwrap_or(i64::MAX);
            Listed {
                path: m.location.to_string(),
                size,
                modified,
            }
        })
        .filter(|l| l.path.ends_with(".csv"))
        .collect();
    listed.sort_by(|a, b| a.path.cmp(&b.path));
    let before = listed.len();
    listed.retain(|l| !done.listed.contains(&(l.path.clone(), l.size, l.modified)));
    summary.files_skipped += before - listed.len();
    Ok(listed)
}

/// The station registry files among `files`, read and parsed whole, less those whose path
/// and SHA-256 were loaded (skipped, counted in `summary`).
async fn read_stations(
    store: &Store,
    files: Vec<Listed>,
    done: &Done,
    summary: &mut LoadSummary,
) -> Result<Vec<Pending<Station>>> {
    let mut out = Vec::new();
    for Listed {
        path,
        size,
        modified,
    } in files
    {
        let bytes = store.get(&path).await?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if done.hashes.contains(&(path.clone(), sha256.clone())) {
            summary.files_skipped += 1;
            continue;
        }
        let rows = reference::stations::read_csv(&bytes[..]).map_err(|e| LakeError::Reference {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        out.push(Pending {
            path,
            sha256,
            size,
            modified,
            rows,
        });
    }
    Ok(out)
}

/// Now, to the microsecond (the precision of a Delta timestamp).
fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// A session with only `resident_history`, `station_history` and `reference_loads`
/// registered (each empty with its schema when it does not exist yet).
pub async fn reference_context(store: &Store) -> Result<SessionContext> {
    let ctx = SessionContext::new();
    for table in [
        Table::ResidentHistory,
        Table::StationHistory,
        Table::ReferenceLoads,
    ] {
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

/// The current station registry (the latest row of each station in `station_history`), by
/// station id. `ctx` has `station_history` registered ([`reference_context`],
/// [`crate::lake_context`], [`crate::sql_context`]). The registry is small (one row per
/// workstation), so it is read whole.
pub async fn current_stations(ctx: &SessionContext) -> Result<HashMap<String, Station>> {
    let batches = ctx.table(station_history::NAME).await?.collect().await?;
    let rows = from_batches(&batches, station_history::from_batch)?;
    let mut latest: HashMap<String, StationHistoryRecord> = HashMap::new();
    for row in rows {
        match latest.get(&row.station.station_id) {
            Some(kept) if kept.loaded >= row.loaded => {}
            _ => {
                latest.insert(row.station.station_id.clone(), row);
            }
        }
    }
    Ok(latest.into_iter().map(|(k, v)| (k, v.station)).collect())
}

/// The current SIAK rows (the latest row of each NIK in `resident_history`) of the residents
/// with these NIKs, by NIK; a NIK not in SIAK is absent. `ctx` as for [`current_stations`];
/// memory follows `niks`, not the registry.
///
/// The NIKs are sorted and asked a range at a time as a semi join with an in-memory table of
/// them: a long IN-list of literals costs DataFusion far more to plan than the scan (about
/// 65 µs a NIK), and the range lets the scan skip files by their statistics.
pub async fn current_residents(
    ctx: &SessionContext,
    niks: &[String],
) -> Result<HashMap<String, Resident>> {
    use datafusion::common::JoinType;

    let mut sorted: Vec<&str> = niks.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let schema = Arc::new(Schema::new(vec![Field::new(
        "wanted",
        DataType::Utf8,
        false,
    )]));
    let mut latest: HashMap<String, ResidentHistoryRecord> = HashMap::new();
    for group in sorted.chunks(NIKS_PER_QUERY) {
        let (Some(&first), Some(&last)) = (group.first(), group.last()) else {
            continue;
        };
        let wanted = arrow::array::StringArray::from_iter_values(group.iter().copied());
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(wanted)])?;
        let wanted = ctx.read_table(Arc::new(MemTable::try_new(
            schema.clone(),
            vec![vec![batch]],
        )?))?;
        // The wanted NIKs on the left, the side a hash join builds its table from: the
        // history's rows stream past it (and its keys reach the history's scan as a filter,
        // which skips row groups by their bloom filters). With the history on the left the
        // join held every row of the NIK range, and a night's NIKs span most of the country.
        let history = ctx.table(resident_history::NAME).await?.filter(
            col("nik")
                .gt_eq(lit(first))
                .and(col("nik").lt_eq(lit(last))),
        )?;
        let batches = wanted
            .join(history, JoinType::RightSemi, &["wanted"], &["nik"], None)?
            .collect()
            .await?;
        for row in from_batches(&batches, resident_history::from_batch)? {
            let nik = row.resident.nik.as_str().to_string();
            match latest.get(&nik) {
                Some(kept) if kept.loaded >= row.loaded => {}
                _ => {
                    latest.insert(nik, row);
                }
            }
        }
    }
    Ok(latest.into_iter().map(|(k, v)| (k, v.resident)).collect())
}

/// Schema of `regions`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `code` | string | dotted region code (`PP`, `PP.KK`, `PP.KK.CC`, `PP.KK.CC.VVVV`) |
/// | `level` | string | `province`, `regency`, `district` or `village` |
/// | `name` | string | official name |
/// | `kind` | string, null | `kabupaten`/`kota` for regencies, `desa`/`kelurahan` for villages |
/// | `parent_code` | string, null | code of the enclosing region |
pub fn regions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("code", false),
        text("level", false),
        text("name", false),
        text("kind", true),
        text("parent_code", true),
    ]))
}

/// All embedded region codes, every level, as one batch.
pub fn regions_batch() -> Result<RecordBatch> {
    use reference::regions::{self, RegencyKind, VillageKind};
    struct Row<'a> {
        code: &'a str,
        level: &'static str,
        name: &'a str,
        kind: Option<&'static str>,
    }
    let r = regions::regions();
    let mut rows: Vec<Row> = Vec::new();
    rows.extend(r.provinces().iter().map(|p| Row {
        code: &p.code,
        level: "province",
        name: &p.name,
        kind: None,
    }));
    rows.extend(r.regencies().iter().map(|g| Row {
        code: &g.code,
        level: "regency",
        name: &g.name,
        kind: Some(match g.kind {
            RegencyKind::Kabupaten => "kabupaten",
            RegencyKind::Kota => "kota",
        }),
    }));
    rows.extend(r.districts().iter().map(|d| Row {
        code: &d.code,
        level: "district",
        name: &d.name,
        kind: None,
    }));
    rows.extend(regions::villages().all().iter().map(|v| Row {
        code: &v.code,
        level: "village",
        name: &v.name,
        kind: Some(match v.kind {
            VillageKind::Desa => "desa",
            VillageKind::Kelurahan => "kelurahan",
        }),
    }));
    Ok(RecordBatch::try_new(
        regions_schema(),
        vec![
            strings(rows.iter().map(|r| r.code)),
            strings(rows.iter().map(|r| r.level)),
            strings(rows.iter().map(|r| r.name)),
            opt_strings(rows.iter().map(|r| r.kind)),
            opt_strings(rows.iter().map(|r| regions::parent_code(r.code))),
        ],
    )?)
}

/// Schema of `residents`: the columns of the SIAK extract (`reference::siak::COLUMNS`), typed.
pub fn residents_schema() -> SchemaRef {
    let mut fields = Vec::new();
    for &name in reference::siak::COLUMNS {
        fields.push(match name {
            "birth_date" => Field::new(name, DataType::Date32, false),
            "rt" | "rw" => Field::new(name, DataType::Int32, false),
            _ => text(name, false),
        });
    }
    Arc::new(Schema::new(fields))
}

/// The SIAK residents as one batch of `residents`.
pub fn residents_batch(residents: &[Resident]) -> Result<RecordBatch> {
    let s = |f: fn(&Resident) -> &str| strings(residents.iter().map(f));
    let columns = reference::siak::COLUMNS
        .iter()
        .map(|&name| match name {
            "nik" => s(|r| r.nik.as_str()),
            "kk_number" => s(|r| r.kk_number.as_str()),
            "name" => s(|r| &r.name),
            "sex" => s(|r| r.sex.as_str()),
            "birth_place" => s(|r| &r.birth_place),
            "birth_date" => dates(residents.iter().map(|r| r.birth_date)),
            "blood_type" => s(|r| r.blood_type.as_str()),
            "religion" => s(|r| r.religion.as_str()),
            "marital_status" => s(|r| r.marital_status.as_str()),
            "occupation" => s(|r| &r.occupation),
            "citizenship" => s(|r| r.citizenship.as_str()),
            "address" => s(|r| &r.address),
            "rt" => ints(residents.iter().map(|r| i32::from(r.rt))),
            "rw" => ints(residents.iter().map(|r| i32::from(r.rw))),
            "village_code" => s(|r| &r.village_code),
            "district_code" => s(|r| &r.district_code),
            "regency_code" => s(|r| &r.regency_code),
            "province_code" => s(|r| &r.province_code),
            "mother_name" => s(|r| &r.mother_name),
            "father_name" => s(|r| &r.father_name),
            "family_relation" => s(|r| r.family_relation.as_str()),
            other => strings(std::iter::repeat_n(other, 0)),
        })
        .collect();
    Ok(RecordBatch::try_new(residents_schema(), columns)?)
}

/// Schema of `stations`.
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `station_id` | string | registry id, as in a packet manifest |
/// | `site` | string | dotted district code of the site |
/// | `public_key` | string | Ed25519 public key, hex |
/// | `active_from` | timestamp | start of service |
/// | `active_to` | timestamp, null | retirement, null while in service |
pub fn stations_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("station_id", false),
        text("site", false),
        text("public_key", false),
        timestamp("active_from", false),
        timestamp("active_to", true),
    ]))
}

/// The station registry as one batch of `stations`.
pub fn stations_batch(stations: &[Station]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        stations_schema(),
        vec![
            strings(stations.iter().map(|s| s.station_id.as_str())),
            strings(stations.iter().map(|s| s.site.as_str())),
            strings(stations.iter().map(|s| s.public_key.as_str())),
            timestamps(stations.iter().map(|s| s.active_from.to_utc())),
            opt_timestamps(stations.iter().map(|s| s.active_to.map(|t| t.to_utc()))),
        ],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_cover_every_level_with_parents() {
        let batch = regions_batch().unwrap();
        let r = reference::regions::regions();
        let expected = r.provinces().len()
            + r.regencies().len()
            + r.districts().len()
            + reference::regions::villages().all().len();
        assert_eq!(batch.num_rows(), expected);
        assert!(batch.num_rows() > 80_000);
        // provinces have no parent, every other level has one
        let parents = batch.column(4);
        assert_eq!(parents.null_count(), r.provinces().len());
    }

    #[test]
    fn residents_schema_follows_the_extract_columns() {
        let schema = residents_schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, reference::siak::COLUMNS);
        assert_eq!(residents_batch(&[]).unwrap().num_rows(), 0);
    }
}
