//! NIK (Nomor Induk Kependudukan): the 16-digit personal number `PPKKCC DDMMYY SSSS`.
//!
//! `PPKKCC` is the district (kecamatan) that issued it, `DDMMYY` the birth date with 40 added
//! to the day for women, `SSSS` a serial 0001-9999 among people of the same district, birth
//! date and sex. [`Nik::parse`] checks only the structure; whether the district still exists
//! is the separate, softer [`Nik::district_known`] — regions split and are renamed, while an
//! old NIK keeps the code it was issued under. Errors never echo the number itself, because a
//! NIK is personal data that must not reach logs.

use crate::civil::Sex;
use crate::regions;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why a string is not a structurally valid NIK or KK number (no digits are echoed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NikError {
    /// Not exactly 16 characters.
    #[error("must be exactly 16 digits")]
    WrongLength,
    /// Contains something other than ASCII digits.
    #[error("must contain only digits")]
    NotDigits,
    /// Province, regency or district part is out of range (`00`, or province below 11).
    #[error("region code part is out of range")]
    BadRegionCode,
    /// Day/month/year part is not a calendar date (after removing the +40 for women).
    #[error("date part is not a calendar date")]
    BadDate,
    /// Serial part is `0000`.
    #[error("serial part must be 0001-9999")]
    BadSerial,
}

/// Structural checks shared by NIK and KK number: digits, region part, serial.
fn check_common(s: &str) -> Result<[u8; 16], NikError> {
    if s.len() != 16 {
        return Err(NikError::WrongLength);
    }
    let bytes: [u8; 16] = s.as_bytes().try_into().map_err(|_| NikError::WrongLength)?;
    if !bytes.iter().all(u8::is_ascii_digit) {
        return Err(NikError::NotDigits);
    }
    let two = |i: usize| (bytes[i] - b'0') * 10 + (bytes[i + 1] - b'0');
    if two(0) < 11 || two(2) == 0 || two(4) == 0 {
        return Err(NikError::BadRegionCode);
    }
    if &bytes[12..16] == b"0000" {
        return Err(NikError::BadSerial);
    }
    Ok(bytes)
}

/// Whether day/month/two-digit-year is a real date in the 1900s or the 2000s.
fn date_exists(day: u32, month: u32, yy: u32) -> bool {
    NaiveDate::from_ymd_opt(1900 + yy as i32, month, day).is_some()
        || NaiveDate::from_ymd_opt(2000 + yy as i32, month, day).is_some()
}

/// Digits `i..i+2` of a checked 16-digit array as a number.
fn pair(bytes: &[u8; 16], i: usize) -> u32 {
    u32::from(bytes[i] - b'0') * 10 + u32::from(bytes[i + 1] - b'0')
}

/// The dotted district code `PP.KK.CC` of the first six digits.
fn dotted_district(bytes: &[u8; 16]) -> String {
    let s = std::str::from_utf8(&bytes[0..6]).unwrap_or("000000");
    format!("{}.{}.{}", &s[0..2], &s[2..4], &s[4..6])
}

/// Resolves a two-digit year to the latest century that does not put the date after
/// `reference` (a person cannot be born in the future).
fn resolve_century(day: u32, month: u32, yy: u32, reference: NaiveDate) -> Option<NaiveDate> {
    let recent = NaiveDate::from_ymd_opt(2000 + yy as i32, month, day);
    match recent {
        Some(d) if d <= reference => Some(d),
        _ => NaiveDate::from_ymd_opt(1900 + yy as i32, month, day),
    }
}

/// Writes the six region digits of a dotted or compact district code, or fails.
fn district_digits(district_code: &str) -> Result<String, NikError> {
    let compact = regions::compact_code(district_code);
    if compact.len() != 6 {
        return Err(NikError::BadRegionCode);
    }
    if !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NikError::NotDigits);
    }
    Ok(compact)
}

/// A structurally valid NIK. Construct with [`Nik::parse`] or [`Nik::new`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nik([u8; 16]);

impl Nik {
    /// Checks the structure of a 16-digit string and wraps it.
    pub fn parse(s: &str) -> Result<Nik, NikError> {
        let bytes = check_common(s)?;
        let mut day = pair(&bytes, 6);
        if day > 40 {
            day -= 40;
        }
        if !date_exists(day, pair(&bytes, 8), pair(&bytes, 10)) {
            return Err(NikError::BadDate);
        }
        Ok(Nik(bytes))
    }

    /// Composes a NIK from the issuing district (dotted `PP.KK.CC` or compact `PPKKCC`), birth
    /// date, sex and serial (1-9999).
    pub fn new(
        district_code: &str,
        birth_date: NaiveDate,
        sex: Sex,
        serial: u16,
    ) -> Result<Nik, NikError> {
        if serial == 0 || serial > 9999 {
            return Err(NikError::BadSerial);
        }
        let day = birth_date.day() + if sex == Sex::Female { 40 } else { 0 };
        let s = format!(
            "{}{:02}{:02}{:02}{:04}",
            district_digits(district_code)?,
            day,
            birth_date.month(),
            birth_date.year().rem_euclid(100),
            serial
        );
        Nik::parse(&s)
    }

    /// The 16 digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The digits grouped as `PPKKCC DDMMYY SSSS`, the way the number is read out.
    pub fn formatted(&self) -> String {
        let s = self.as_str();
        format!("{} {} {}", &s[0..6], &s[6..12], &s[12..16])
    }

    /// Dotted code of the issuing district, `PP.KK.CC`.
    pub fn district_code(&self) -> String {
        dotted_district(&self.0)
    }

    /// Dotted code of the issuing regency/city, `PP.KK`.
    pub fn regency_code(&self) -> String {
        let s = self.as_str();
        format!("{}.{}", &s[0..2], &s[2..4])
    }

    /// Code of the issuing province, `PP`.
    pub fn province_code(&self) -> String {
        self.as_str()[0..2].to_string()
    }

    /// Soft check: whether the issuing district exists in today's region table. `false` is a
    /// reason to look closer, not proof of forgery (old NIKs keep codes of split regions).
    pub fn district_known(&self) -> bool {
        regions::regions().district(&self.district_code()).is_some()
    }

    /// Sex encoded by the +40 on the birth day.
    pub fn sex(&self) -> Sex {
        if pair(&self.0, 6) > 40 {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// Birth day of month (1-31), with the +40 for women removed.
    pub fn birth_day(&self) -> u32 {
        let d = pair(&self.0, 6);
        if d > 40 {
            d - 40
        } else {
            d
        }
    }

    /// Birth month (1-12).
    pub fn birth_month(&self) -> u32 {
        pair(&self.0, 8)
    }

    /// Two-digit birth year (0-99); the century is not encoded.
    pub fn birth_year_2digit(&self) -> u32 {
        pair(&self.0, 10)
    }

    /// The full birth date, choosing the century that does not put it after `reference`
    /// (usually today or the capture date).
    pub fn birth_date_relative_to(&self, reference: NaiveDate) -> Option<NaiveDate> {
        resolve_century(
            self.birth_day(),
            self.birth_month(),
            self.birth_year_2digit(),
            reference,
        )
    }

    /// Whether a full birth date agrees with the NIK's day, month and two-digit year.
    pub fn matches_birth_date(&self, date: NaiveDate) -> bool {
        date.day() == self.birth_day()
            && date.month() == self.birth_month()
            && date.year().rem_euclid(100) as u32 == self.birth_year_2digit()
    }

    /// Serial among people of the same district, birth date and sex (1-9999).
    pub fn serial(&self) -> u16 {
        self.as_str()[12..16].parse().unwrap_or(0)
    }
}

/// Keeps NIKs out of debug output by accident: only the region part is shown.
impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nik({}…)", &self.as_str()[0..6])
    }
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Nik {
    type Err = NikError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Nik::parse(s)
    }
}

impl Serialize for Nik {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Nik {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Nik::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A structurally valid family-card (Kartu Keluarga) number: `PPKKCC DDMMYY SSSS` with the
/// district of issue, the issue date (no +40) and a serial.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KkNumber([u8; 16]);

impl KkNumber {
    /// Checks the structure of a 16-digit string and wraps it.
    pub fn parse(s: &str) -> Result<KkNumber, NikError> {
        let bytes = check_common(s)?;
        if !date_exists(pair(&bytes, 6), pair(&bytes, 8), pair(&bytes, 10)) {
            return Err(NikError::BadDate);
        }
        Ok(KkNumber(bytes))
    }

    /// Composes a KK number from the issuing district (dotted or compact), issue date and
    /// serial (1-9999).
    pub fn new(district_code: &str, issued: NaiveDate, serial: u16) -> Result<KkNumber, NikError> {
        if serial == 0 || serial > 9999 {
            return Err(NikError::BadSerial);
        }
        let s = format!(
            "{}{:02}{:02}{:02}{:04}",
            district_digits(district_code)?,
            issued.day(),
            issued.month(),
            issued.year().rem_euclid(100),
            serial
        );
        KkNumber::parse(&s)
    }

    /// The 16 digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// Dotted code of the issuing district, `PP.KK.CC`.
    pub fn district_code(&self) -> String {
        dotted_district(&self.0)
    }

    /// The issue date, choosing the century that does not put it after `reference`.
    pub fn issue_date_relative_to(&self, reference: NaiveDate) -> Option<NaiveDate> {
        resolve_century(
            pair(&self.0, 6),
            pair(&self.0, 8),
            pair(&self.0, 10),
            reference,
        )
    }

    /// Serial among cards of the same district and issue date (1-9999).
    pub fn serial(&self) -> u16 {
        self.as_str()[12..16].parse().unwrap_or(0)
    }
}

/// Shows only the region part, like [`Nik`]'s debug output.
impl fmt::Debug for KkNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KkNumber({}…)", &self.as_str()[0..6])
    }
}

impl fmt::Display for KkNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KkNumber {
    type Err = NikError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KkNumber::parse(s)
    }
}

impl Serialize for KkNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for KkNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        KkNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn composes_and_decodes_a_woman_nik() {
        let nik = Nik::new("33.74.01", date(1990, 3, 15), Sex::Female, 12).unwrap();
        assert_eq!(nik.as_str(), "3374015503900012");
        assert_eq!(nik.formatted(), "337401 550390 0012");
        assert_eq!(nik.sex(), Sex::Female);
        assert_eq!(nik.birth_day(), 15);
        assert_eq!(nik.birth_month(), 3);
        assert_eq!(nik.serial(), 12);
        assert_eq!(nik.district_code(), "33.74.01");
        assert_eq!(nik.regency_code(), "33.74");
        assert_eq!(nik.province_code(), "33");
        assert!(nik.district_known());
        assert!(nik.matches_birth_date(date(1990, 3, 15)));
        assert!(!nik.matches_birth_date(date(1990, 3, 16)));
    }

    #[test]
    fn man_nik_has_plain_day() {
        let nik = Nik::new("337401", date(2001, 12, 1), Sex::Male, 9999).unwrap();
        assert_eq!(nik.as_str(), "3374010112019999");
        assert_eq!(nik.sex(), Sex::Male);
    }

    #[test]
    fn century_is_resolved_against_the_reference_date() {
        let nik = Nik::parse("3374010101300001").unwrap();
        let today = date(2026, 11, 1);
        assert_eq!(nik.birth_date_relative_to(today), Some(date(1930, 1, 1)));
        let young = Nik::parse("3374010101100001").unwrap();
        assert_eq!(young.birth_date_relative_to(today), Some(date(2010, 1, 1)));
    }

    #[test]
    fn rejects_malformed_numbers() {
        assert_eq!(Nik::parse("337401550390001"), Err(NikError::WrongLength));
        assert_eq!(Nik::parse("33740155039000a1"), Err(NikError::NotDigits));
        assert_eq!(Nik::parse("0974015503900012"), Err(NikError::BadRegionCode));
        assert_eq!(Nik::parse("3300015503900012"), Err(NikError::BadRegionCode));
        assert_eq!(Nik::parse("3374013203900012"), Err(NikError::BadDate));
        assert_eq!(Nik::parse("3374017203900012"), Err(NikError::BadDate));
        assert_eq!(Nik::parse("3374011513900012"), Err(NikError::BadDate));
        assert_eq!(Nik::parse("3374013002900012"), Err(NikError::BadDate));
        assert_eq!(Nik::parse("3374011503900000"), Err(NikError::BadSerial));
        // 29 Feb of year 00 exists in 2000.
        assert!(Nik::parse("3374012902000001").is_ok());
        assert_eq!(
            Nik::new("33.74.01", date(1990, 1, 1), Sex::Male, 0),
            Err(NikError::BadSerial)
        );
    }

    #[test]
    fn unknown_district_is_structurally_valid_but_not_known() {
        let nik = Nik::parse("3399990101900001").unwrap();
        assert!(!nik.district_known());
    }

    #[test]
    fn errors_and_debug_do_not_echo_the_number() {
        let err = Nik::parse("3374011503900000").unwrap_err();
        assert!(!err.to_string().contains("3374"));
        let nik = Nik::parse("3374015503900012").unwrap();
        assert!(!format!("{nik:?}").contains("5503900012"));
    }

    #[test]
    fn serde_round_trip_and_rejection() {
        let nik = Nik::parse("3374015503900012").unwrap();
        let json = serde_json::to_string(&nik).unwrap();
        assert_eq!(json, "\"3374015503900012\"");
        assert_eq!(serde_json::from_str::<Nik>(&json).unwrap(), nik);
        assert!(serde_json::from_str::<Nik>("\"1234\"").is_err());
    }

    #[test]
    fn kk_number_has_no_sex_offset() {
        let kk = KkNumber::new("33.74.01", date(2015, 6, 20), 321).unwrap();
        assert_eq!(kk.as_str(), "3374012006150321");
        assert_eq!(kk.district_code(), "33.74.01");
        assert_eq!(
            kk.issue_date_relative_to(date(2026, 1, 1)),
            Some(date(2015, 6, 20))
        );
        assert_eq!(kk.serial(), 321);
        assert_eq!(KkNumber::parse("3374016006150321"), Err(NikError::BadDate));
    }
}
