//! Reference data as tables: regions (embedded in the `reference` crate), SIAK residents and
//! the station registry (CSV extracts under `reference/` in the store).
//!
//! Ingest checks packets against [`load_residents`] and [`load_stations`]; SQL sees the same
//! rows as the tables `regions`, `residents` and `stations`, built by the `*_batch`
//! functions. The extract files are the source of truth: nothing here is cached across runs,
//! so a new extract is seen by the next run.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use reference::{Resident, Station};

use crate::error::{LakeError, Result};
use crate::store::Store;
use crate::tables::columns::{
    dates, ints, opt_strings, opt_timestamps, strings, text, timestamp, timestamps,
};

/// SQL name of the region-code table.
pub const REGIONS: &str = "regions";
/// SQL name of the SIAK resident table.
pub const RESIDENTS: &str = "residents";
/// SQL name of the station registry table.
pub const STATIONS: &str = "stations";

/// Reads every SIAK extract file under `reference/siak/` (the union is the registry).
pub async fn load_residents(store: &Store) -> Result<Vec<Resident>> {
    load_csv_folder(store, reference::siak::STORE_PREFIX, |bytes| {
        reference::siak::read_csv(bytes)
    })
    .await
}

/// Reads every station registry file under `reference/stations/`.
pub async fn load_stations(store: &Store) -> Result<Vec<Station>> {
    load_csv_folder(store, reference::stations::STORE_PREFIX, |bytes| {
        reference::stations::read_csv(bytes)
    })
    .await
}

async fn load_csv_folder<T>(
    store: &Store,
    prefix: &str,
    parse: impl Fn(&[u8]) -> Result<Vec<T>, reference::CsvError>,
) -> Result<Vec<T>> {
    let mut all = Vec::new();
    for meta in store.list(prefix).await? {
        let path = meta.location.to_string();
        if !path.ends_with(".csv") {
            continue;
        }
        let bytes = store.get(&path).await?;
        let rows = parse(&bytes).map_err(|e| LakeError::Reference {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        all.extend(rows);
    }
    Ok(all)
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
