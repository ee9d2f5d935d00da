//! `biodata.json`: the registry fields of the card as the service point recorded them.
//!
//! The field names and value spellings are those of the SIAK extract
//! ([`reference::siak::Resident`]) so that ingest can compare a packet with the registry field by
//! field. Only the checks that need no registry live here: schema, NIK structure, region code
//! shapes, and agreement of birth date and sex with the NIK.

use chrono::NaiveDate;
use reference::{BloodType, Citizenship, KkNumber, MaritalStatus, Nik, Religion, Resident, Sex};
use serde::{Deserialize, Serialize};

use crate::reason::{ReasonCode, Rejection};

/// The parsed `biodata.json` of format v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Biodata {
    /// Personal number of the enrollee.
    pub nik: Nik,
    /// Family card number.
    pub kk_number: KkNumber,
    /// Full name.
    pub name: String,
    /// Place of birth.
    pub birth_place: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Blood type (`-` when unknown).
    pub blood_type: BloodType,
    /// Street address.
    pub address: String,
    /// RT number.
    pub rt: u16,
    /// RW number.
    pub rw: u16,
    /// Dotted village code `PP.KK.CC.VVVV`.
    pub village_code: String,
    /// Dotted district code `PP.KK.CC`.
    pub district_code: String,
    /// Dotted regency/city code `PP.KK`.
    pub regency_code: String,
    /// Province code `PP`.
    pub province_code: String,
    /// Religion.
    pub religion: Religion,
    /// Marital status.
    pub marital_status: MaritalStatus,
    /// Occupation.
    pub occupation: String,
    /// Citizenship.
    pub citizenship: Citizenship,
}

impl Biodata {
    /// The biodata a service point records for a registered resident (the card fields of the
    /// SIAK row).
    pub fn from_resident(r: &Resident) -> Biodata {
        Biodata {
            nik: r.nik,
            kk_number: r.kk_number,
            name: r.name.clone(),
            birth_place: r.birth_place.clone(),
            birth_date: r.birth_date,
            sex: r.sex,
            blood_type: r.blood_type,
            address: r.address.clone(),
            rt: r.rt,
            rw: r.rw,
            village_code: r.village_code.clone(),
            district_code: r.district_code.clone(),
            regency_code: r.regency_code.clone(),
            province_code: r.province_code.clone(),
            religion: r.religion,
            marital_status: r.marital_status,
            occupation: r.occupation.clone(),
            citizenship: r.citizenship,
        }
    }

    /// Parses and checks `biodata.json` bytes: `NIK_INVALID` for a malformed NIK, `BAD_BIODATA`
    /// for any other schema or shape defect, `BIODATA_NIK_MISMATCH` when birth date or sex
    /// contradict the NIK. Details never include the values.
    pub fn from_json(bytes: &[u8]) -> Result<Biodata, Rejection> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            Rejection::new(
                ReasonCode::BadBiodata,
                format!(
                    "biodata.json is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        if let Ok(Some(key)) = crate::strict_json::repeated_key(bytes) {
            return Err(Rejection::new(
                ReasonCode::BadBiodata,
                format!("biodata.json gives the key {key} more than once"),
            ));
        }
        match value.get("nik") {
            Some(serde_json::Value::String(s)) => {
                if let Err(e) = Nik::parse(s) {
                    return Err(Rejection::new(
                        ReasonCode::NikInvalid,
                        format!("the NIK in biodata.json is invalid: it {}", e_text(e)),
                    ));
                }
            }
            Some(_) => {
                return Err(Rejection::new(
                    ReasonCode::NikInvalid,
                    "the NIK in biodata.json is not a string",
                ))
            }
            None => {
                return Err(Rejection::new(
                    ReasonCode::BadBiodata,
                    "biodata.json has no nik field",
                ))
            }
        }
        let biodata: Biodata = serde_json::from_value(value).map_err(|e| {
            Rejection::new(
                ReasonCode::BadBiodata,
                format!(
                    "biodata.json does not match the v1 schema ({})",
                    schema_hint(&e)
                ),
            )
        })?;
        biodata.check_shapes()?;
        biodata.check_against_nik()?;
        Ok(biodata)
    }

    /// Region codes must nest (`village` starts with `district` starts with `regency`…) and
    /// the name must not be blank.
    fn check_shapes(&self) -> Result<(), Rejection> {
        let bad = |what: &str| {
            Err(Rejection::new(
                ReasonCode::BadBiodata,
                format!("biodata.json: {what}"),
            ))
        };
        if self.name.trim().is_empty() {
            return bad("name is blank");
        }
        if !code_shape(&self.province_code, 1)
            || !code_shape(&self.regency_code, 2)
            || !code_shape(&self.district_code, 3)
            || !village_shape(&self.village_code)
        {
            return bad("a region code does not have the dotted PP.KK.CC.VVVV shape");
        }
        let nested = self
            .village_code
            .starts_with(&format!("{}.", self.district_code))
            && self
                .district_code
                .starts_with(&format!("{}.", self.regency_code))
            && self
                .regency_code
                .starts_with(&format!("{}.", self.province_code));
        if !nested {
            return bad("village, district, regency and province codes do not nest");
        }
        Ok(())
    }

    /// Birth date and sex must agree with what the NIK encodes.
    fn check_against_nik(&self) -> Result<(), Rejection> {
        if !self.nik.matches_birth_date(self.birth_date) {
            return Err(Rejection::new(
                ReasonCode::BiodataNikMismatch,
                "the birth date in biodata.json differs from the one encoded in the NIK",
            ));
        }
        if self.nik.sex() != self.sex {
            return Err(Rejection::new(
                ReasonCode::BiodataNikMismatch,
                "the sex in biodata.json differs from the one encoded in the NIK",
            ));
        }
        Ok(())
    }
}

/// A NIK error as a sentence fragment ("must be exactly 16 digits").
fn e_text(e: reference::NikError) -> String {
    e.to_string()
}

/// Where a schema error is, without the offending value (serde messages quote values).
pub(crate) fn schema_hint(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Data => "a field is missing, unknown or has an invalid value",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Eof => "unexpected end",
        serde_json::error::Category::Io => "read error",
    };
    let field = missing_or_unknown_field(&e.to_string());
    match field {
        Some(f) => format!("{what}: field `{f}`"),
        None => what.to_string(),
    }
}

/// Extracts the field name from serde's "missing field `x`" / "unknown field `x`" messages;
/// field names are schema words, never personal data.
fn missing_or_unknown_field(msg: &str) -> Option<String> {
    for prefix in ["missing field `", "unknown field `"] {
        if let Some(rest) = msg.split(prefix).nth(1) {
            let name: String = rest.chars().take_while(|c| *c != '`').collect();
            if name.len() <= 40 && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return Some(name);
            }
        }
    }
    None
}

/// Whether `code` is `levels` dot-separated two-digit groups.
fn code_shape(code: &str, levels: usize) -> bool {
    let parts: Vec<&str> = code.split('.').collect();
    parts.len() == levels
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `code` is `PP.KK.CC.VVVV`.
fn village_shape(code: &str) -> bool {
    match code.rsplit_once('.') {
        Some((district, v)) => {
            code_shape(district, 3) && v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A consistent biodata record for tests.
    pub(crate) fn sample() -> Biodata {
        let birth = NaiveDate::from_ymd_opt(1990, 3, 15).unwrap();
        Biodata {
            nik: Nik::new("33.74.01", birth, Sex::Female, 12).unwrap(),
            kk_number: KkNumber::new("33.74.01", NaiveDate::from_ymd_opt(2015, 6, 20).unwrap(), 3)
                .unwrap(),
            name: "Dewi Lestari".into(),
            birth_place: "Kota Semarang".into(),
            birth_date: birth,
            sex: Sex::Female,
            blood_type: BloodType::O,
            address: "Jl. Pandanaran No. 5".into(),
            rt: 2,
            rw: 7,
            village_code: "33.74.01.1001".into(),
            district_code: "33.74.01".into(),
            regency_code: "33.74".into(),
            province_code: "33".into(),
            religion: Religion::Islam,
            marital_status: MaritalStatus::Kawin,
            occupation: "WIRASWASTA".into(),
            citizenship: Citizenship::Wni,
        }
    }

    fn code_of(json: &serde_json::Value) -> ReasonCode {
        Biodata::from_json(json.to_string().as_bytes())
            .unwrap_err()
            .code
    }

    #[test]
    fn round_trip() {
        let b = sample();
        let bytes = serde_json::to_vec(&b).unwrap();
        assert_eq!(Biodata::from_json(&bytes).unwrap(), b);
    }

    #[test]
    fn invalid_nik_is_its_own_code() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["nik"] = "3374015503900000".into();
        assert_eq!(code_of(&v), ReasonCode::NikInvalid);
        v["nik"] = 42.into();
        assert_eq!(code_of(&v), ReasonCode::NikInvalid);
    }

    #[test]
    fn schema_defects_are_bad_biodata_without_values() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["sex"] = "WANITA".into();
        let r = Biodata::from_json(v.to_string().as_bytes()).unwrap_err();
        assert_eq!(r.code, ReasonCode::BadBiodata);
        assert!(!r.detail.contains("WANITA"), "{}", r.detail);
        let mut v = serde_json::to_value(sample()).unwrap();
        v.as_object_mut().unwrap().remove("name");
        let r = Biodata::from_json(v.to_string().as_bytes()).unwrap_err();
        assert!(r.detail.contains("`name`"), "{}", r.detail);
        let mut v = serde_json::to_value(sample()).unwrap();
        v["village_code"] = "33.75.01.1001".into();
        assert_eq!(code_of(&v), ReasonCode::BadBiodata);
        assert_eq!(
            Biodata::from_json(b"{not json").unwrap_err().code,
            ReasonCode::BadBiodata
        );
    }

    #[test]
    fn birth_date_or_sex_contradicting_nik() {
        let mut b = sample();
        b.sex = Sex::Male;
        let bytes = serde_json::to_vec(&b).unwrap();
        assert_eq!(
            Biodata::from_json(&bytes).unwrap_err().code,
            ReasonCode::BiodataNikMismatch
        );
        let mut b = sample();
        b.birth_date = NaiveDate::from_ymd_opt(1991, 3, 15).unwrap();
        let bytes = serde_json::to_vec(&b).unwrap();
        assert_eq!(
            Biodata::from_json(&bytes).unwrap_err().code,
            ReasonCode::BiodataNikMismatch
        );
    }
}
