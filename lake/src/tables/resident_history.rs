//! `resident_history`: every version of every SIAK resident row ever loaded, appended by
//! `tunggal reference load` (or the load at the start of ingest).
//!
//! Why history and not the extract as it stands: SIAK sends corrections (a misspelt name, a
//! new family card) as new extract files, and a packet enrolled before a correction was
//! checked against the row of its day. Appending a row only when a resident is new or their
//! row changed keeps both, and keeps a load's writes proportional to what changed. The
//! current registry is the view `residents` ([`super::VIEWS`]): the latest row of each NIK.
//! An extract never removes a resident (the files are a union, as before).

use std::str::FromStr;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use chrono::{DateTime, Utc};
use reference::Resident;

use super::columns::{extended, strings, text, timestamp, timestamps};
use super::read::{Columns, Text};
use crate::error::{LakeError, Result};

/// SQL name and folder name of the table.
pub const NAME: &str = "resident_history";

/// Arrow schema of `resident_history`: the columns of the SIAK extract
/// ([`crate::reference::residents_schema`]), then
///
/// | column | type | meaning |
/// | --- | --- | --- |
/// | `extract` | string | object path of the extract file the row came from |
/// | `loaded` | timestamp | when the load that appended the row ran: the latest row of a NIK is current |
pub fn schema() -> SchemaRef {
    extended(
        &crate::reference::residents_schema(),
        [text("extract", false), timestamp("loaded", false)],
    )
}

/// One row of `resident_history`: a version of one resident.
#[derive(Clone, Debug, PartialEq)]
pub struct ResidentHistoryRecord {
    /// The resident as the extract file gives them.
    pub resident: Resident,
    /// Object path of that extract file.
    pub extract: String,
    /// When the load ran.
    pub loaded: DateTime<Utc>,
}

/// Builds a record batch of `resident_history` rows.
pub fn to_batch(rows: &[ResidentHistoryRecord]) -> Result<RecordBatch> {
    let residents: Vec<Resident> = rows.iter().map(|r| r.resident.clone()).collect();
    let mut columns = crate::reference::residents_batch(&residents)?
        .columns()
        .to_vec();
    columns.push(strings(rows.iter().map(|r| r.extract.as_str())));
    columns.push(timestamps(rows.iter().map(|r| r.loaded)));
    Ok(RecordBatch::try_new(schema(), columns)?)
}

/// Parses a reference value (NIK, vocabulary word) of a string column.
fn parse<T: FromStr>(column: &Text, name: &str, row: usize) -> Result<T> {
    column.get(row).parse().map_err(|_| LakeError::Column {
        column: name.to_string(),
        reason: format!("row {row} holds a value that is not a valid {name}"),
    })
}

/// Reads `resident_history` rows back from a batch holding every column of the table.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<ResidentHistoryRecord>> {
    let c = Columns::new(batch);
    let t = |name: &str| c.text(name);
    let (nik, kk, name, sex) = (t("nik")?, t("kk_number")?, t("name")?, t("sex")?);
    let (birth_place, birth_date) = (t("birth_place")?, c.dates("birth_date")?);
    let (blood, religion, marital) = (t("blood_type")?, t("religion")?, t("marital_status")?);
    let (occupation, citizenship, address) = (t("occupation")?, t("citizenship")?, t("address")?);
    let (rt, rw) = (c.ints("rt")?, c.ints("rw")?);
    let (village, district) = (t("village_code")?, t("district_code")?);
    let (regency, province) = (t("regency_code")?, t("province_code")?);
    let (mother, father, relation) = (t("mother_name")?, t("father_name")?, t("family_relation")?);
    let (extract, loaded) = (t("extract")?, c.times("loaded")?);
    let small = |v: i32, name: &str| {
        u16::try_from(v).map_err(|_| LakeError::Column {
            column: name.to_string(),
            reason: "out of range".into(),
        })
    };
    (0..batch.num_rows())
        .map(|r| {
            Ok(ResidentHistoryRecord {
                resident: Resident {
                    nik: parse(&nik, "nik", r)?,
                    kk_number: parse(&kk, "kk_number", r)?,
                    name: name.string(r),
                    sex: parse(&sex, "sex", r)?,
                    birth_place: birth_place.string(r),
                    birth_date: birth_date.get(r),
                    blood_type: parse(&blood, "blood_type", r)?,
                    religion: parse(&religion, "religion", r)?,
                    marital_status: parse(&marital, "marital_status", r)?,
                    occupation: occupation.string(r),
                    citizenship: parse(&citizenship, "citizenship", r)?,
                    address: address.string(r),
                    rt: small(rt.value(r), "rt")?,
                    rw: small(rw.value(r), "rw")?,
                    village_code: village.string(r),
                    district_code: district.string(r),
                    regency_code: regency.string(r),
                    province_code: province.string(r),
                    mother_name: mother.string(r),
                    father_name: father.string(r),
                    family_relation: parse(&relation, "family_relation", r)?,
                },
                extract: extract.string(r),
                loaded: loaded.get(r),
            })
        })
        .collect()
}

/// `residents`: the latest row of each NIK, with the extract's columns, `extract` and
/// `loaded`.
pub const RESIDENTS_VIEW: &str = "SELECT nik, kk_number, name, sex, birth_place, birth_date, \
     blood_type, religion, marital_status, occupation, citizenship, address, rt, rw, \
     village_code, district_code, regency_code, province_code, mother_name, father_name, \
     family_relation, extract, loaded \
     FROM (SELECT *, row_number() OVER (PARTITION BY nik ORDER BY loaded DESC) AS latest \
     FROM resident_history) AS h WHERE latest = 1";

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rows_survive_a_batch() {
        let resident = {
            let birth = chrono::NaiveDate::from_ymd_opt(2009, 11, 2).unwrap();
            Resident {
                nik: reference::Nik::new("33.74.01", birth, reference::Sex::Female, 7).unwrap(),
                kk_number: reference::KkNumber::new(
                    "33.74.01",
                    chrono::NaiveDate::from_ymd_opt(2012, 5, 1).unwrap(),
                    42,
                )
                .unwrap(),
                name: "Siti, Rahayu".into(),
                sex: reference::Sex::Female,
                birth_place: "Kota Semarang".into(),
                birth_date: birth,
                blood_type: reference::civil::BloodType::Unknown,
                religion: reference::civil::Religion::Islam,
                marital_status: reference::civil::MaritalStatus::BelumKawin,
                occupation: "PELAJAR/MAHASISWA".into(),
                citizenship: reference::civil::Citizenship::Wni,
                address: "Jl. Pemuda No. 12".into(),
                rt: 3,
                rw: 5,
                village_code: "33.74.01.1001".into(),
                district_code: "33.74.01".into(),
                regency_code: "33.74".into(),
                province_code: "33".into(),
                mother_name: "Sri Wahyuni".into(),
                father_name: String::new(),
                family_relation: reference::civil::FamilyRelation::Child,
            }
        };
        let rows = vec![ResidentHistoryRecord {
            resident,
            extract: "reference/siak/a.csv".into(),
            loaded: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        }];
        let batch = to_batch(&rows).unwrap();
        assert_eq!(batch.schema(), schema());
        assert_eq!(from_batch(&batch).unwrap(), rows);
    }
}
