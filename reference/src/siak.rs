//! The SIAK resident extract: who exists in the population registry and so may enroll.
//!
//! In the object store the extract lives under [`STORE_PREFIX`] (`reference/siak/`) as one or
//! more CSV files `<batch>.csv`; the union of all files in that folder is the registry. Each
//! row is a [`Resident`]; the CSV columns are the field names of that struct, in declaration
//! order ([`COLUMNS`]). Names and types here are a contract with ingest and the lake: keep
//! them stable.

use crate::civil::{BloodType, Citizenship, FamilyRelation, MaritalStatus, Religion, Sex};
use crate::csvio::{self, CsvError};
use crate::nik::{KkNumber, Nik};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// Folder (relative to the store root, with trailing slash) holding the SIAK extract files.
pub const STORE_PREFIX: &str = "reference/siak/";

/// Age from which every resident must hold an e-KTP.
pub const WAJIB_KTP_AGE: u32 = 17;

/// The CSV columns of an extract file, in order (the field names of [`Resident`]).
pub const COLUMNS: &[&str] = &[
    "nik",
    "kk_number",
    "name",
    "sex",
    "birth_place",
    "birth_date",
    "blood_type",
    "religion",
    "marital_status",
    "occupation",
    "citizenship",
    "address",
    "rt",
    "rw",
    "village_code",
    "district_code",
    "regency_code",
    "province_code",
    "mother_name",
    "father_name",
    "family_relation",
];

/// One row of the SIAK extract: a registered resident as the registry knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resident {
    /// Personal number (unique for life).
    pub nik: Nik,
    /// Number of the family card (KK) the resident is listed on; shared by the household.
    pub kk_number: KkNumber,
    /// Full name as registered (may be a single name).
    pub name: String,
    /// Registered sex.
    pub sex: Sex,
    /// Place of birth (usually a regency or city name).
    pub birth_place: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Blood type (`-` when unknown).
    pub blood_type: BloodType,
    /// Religion.
    pub religion: Religion,
    /// Marital status.
    pub marital_status: MaritalStatus,
    /// Occupation as registered (free text from SIAK's occupation list, upper case).
    pub occupation: String,
    /// Citizenship (WNI, or WNA with permanent residence).
    pub citizenship: Citizenship,
    /// Street address (without RT/RW and region names).
    pub address: String,
    /// Rukun tetangga (neighbourhood unit) number.
    pub rt: u16,
    /// Rukun warga (community unit) number.
    pub rw: u16,
    /// Dotted village code of the address, `PP.KK.CC.VVVV`.
    pub village_code: String,
    /// Dotted district code of the address, `PP.KK.CC`.
    pub district_code: String,
    /// Dotted regency/city code of the address, `PP.KK`.
    pub regency_code: String,
    /// Province code of the address, `PP`.
    pub province_code: String,
    /// Mother's name (used by Dukcapil to tell namesakes apart).
    pub mother_name: String,
    /// Father's name (empty when not registered).
    pub father_name: String,
    /// Relation to the head of the family card.
    pub family_relation: FamilyRelation,
}

impl Resident {
    /// Age in whole years on a given day.
    pub fn age_on(&self, day: NaiveDate) -> u32 {
        age_on(self.birth_date, day)
    }

    /// Whether the resident must hold an e-KTP on `day`: aged 17 or more, or married now or
    /// before (a married minor is *wajib KTP* too).
    pub fn is_wajib_ktp(&self, day: NaiveDate) -> bool {
        self.age_on(day) >= WAJIB_KTP_AGE || self.marital_status != MaritalStatus::BelumKawin
    }
}

/// Age in whole years of someone born on `birth` on `day` (0 when `day` is before `birth`).
pub fn age_on(birth: NaiveDate, day: NaiveDate) -> u32 {
    let mut years = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// The object path of one extract file, relative to the store root.
pub fn object_path(batch: &str) -> String {
    format!("{STORE_PREFIX}{batch}.csv")
}

/// Reads one extract file (headed CSV with exactly [`COLUMNS`]).
pub fn read_csv<R: Read>(reader: R) -> Result<Vec<Resident>, CsvError> {
    csvio::read_rows(reader, COLUMNS)
}

/// Reads one extract file row by row (headed CSV with exactly [`COLUMNS`]), so that an extract
/// of any size (a national first extract is hundreds of millions of rows) is read in bounded
/// memory. The header is checked first; each row is a resident or an error with its line.
pub fn read_csv_rows<R: Read>(
    reader: R,
) -> Result<impl Iterator<Item = Result<Resident, CsvError>>, CsvError> {
    csvio::rows(reader, COLUMNS)
}

/// Writes residents as one extract file (headed CSV with [`COLUMNS`]).
pub fn write_csv<W: Write>(writer: W, residents: &[Resident]) -> Result<(), CsvError> {
    csvio::write_rows(writer, residents, COLUMNS)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Resident {
        let birth = NaiveDate::from_ymd_opt(2009, 11, 2).unwrap();
        Resident {
            nik: Nik::new("33.74.01", birth, Sex::Female, 7).unwrap(),
            kk_number: KkNumber::new("33.74.01", NaiveDate::from_ymd_opt(2012, 5, 1).unwrap(), 42)
                .unwrap(),
            name: "Siti, Rahayu".into(),
            sex: Sex::Female,
            birth_place: "Kota Semarang".into(),
            birth_date: birth,
            blood_type: BloodType::Unknown,
            religion: Religion::Islam,
            marital_status: MaritalStatus::BelumKawin,
            occupation: "PELAJAR/MAHASISWA".into(),
            citizenship: Citizenship::Wni,
            address: "Jl. Pemuda No. 12".into(),
            rt: 3,
            rw: 5,
            village_code: "33.74.01.1001".into(),
            district_code: "33.74.01".into(),
            regency_code: "33.74".into(),
            province_code: "33".into(),
            mother_name: "Sri Wahyuni".into(),
            father_name: String::new(),
            family_relation: FamilyRelation::Child,
        }
    }

    #[test]
    fn csv_round_trip_keeps_every_field() {
        let rows = vec![sample(), sample()];
        let mut buf = Vec::new();
        write_csv(&mut buf, &rows).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.starts_with(&COLUMNS.join(",")));
        assert_eq!(read_csv(buf.as_slice()).unwrap(), rows);
    }

    #[test]
    fn rows_one_at_a_time_match_the_whole_file() {
        let mut other = sample();
        other.name = "Budi".into();
        let rows = vec![sample(), other];
        let mut buf = Vec::new();
        write_csv(&mut buf, &rows).unwrap();
        let streamed: Vec<Resident> = read_csv_rows(buf.as_slice())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(streamed, rows);
        let text = String::from_utf8(buf).unwrap().replace("Budi", "Budi,x");
        let errors: Vec<CsvError> = read_csv_rows(text.as_bytes())
            .unwrap()
            .filter_map(Result::err)
            .collect();
        assert!(
            matches!(errors[..], [CsvError::InvalidRow { line: Some(3), .. }]),
            "{errors:?}"
        );
        assert!(matches!(
            read_csv_rows("a,b\n1,2\n".as_bytes()).map(|_| ()),
            Err(CsvError::BadHeader)
        ));
    }

    #[test]
    fn empty_extract_is_well_formed() {
        let mut buf = Vec::new();
        write_csv(&mut buf, &[]).unwrap();
        assert!(read_csv(buf.as_slice()).unwrap().is_empty());
    }

    #[test]
    fn bad_rows_report_position_without_content() {
        let mut buf = Vec::new();
        write_csv(&mut buf, &[sample()]).unwrap();
        let text = String::from_utf8(buf)
            .unwrap()
            .replace("PEREMPUAN", "WANITA");
        let err = read_csv(text.as_bytes()).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, CsvError::InvalidRow { line: Some(2), .. }),
            "{msg}"
        );
        assert!(!msg.contains("WANITA") && !msg.contains("3374"));
        assert!(matches!(
            read_csv("a,b\n1,2\n".as_bytes()),
            Err(CsvError::BadHeader)
        ));
    }

    #[test]
    fn wajib_ktp_by_age_or_marriage() {
        let mut r = sample();
        let before = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let after = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        assert_eq!(r.age_on(before), 16);
        assert!(!r.is_wajib_ktp(before));
        assert!(r.is_wajib_ktp(after));
        r.marital_status = MaritalStatus::Kawin;
        assert!(r.is_wajib_ktp(before));
        assert_eq!(object_path("b1"), "reference/siak/b1.csv");
    }
}
