//! Indonesian region codes (Kode Wilayah Kemendagri) shipped inside the crate.
//!
//! Four levels: province `PP`, regency/city `PP.KK` (kabupaten 01-69, kota 71-99), district
//! (kecamatan) `PP.KK.CC` and village (desa/kelurahan) `PP.KK.CC.VVVV`. The tables are embedded
//! with `include_str!` and parsed on first use, so every binary carries the same codes and no
//! run depends on a file next to it. Villages (≈84 000 rows) are parsed separately from the
//! three upper levels because most callers never need them.
//!
//! Codes here are the *dotted* form used by the ministry; a NIK carries the first three levels
//! without dots (`PPKKCC`), see [`district_code_from_compact`].

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

const REGIONS_CSV: &str = include_str!("../data/regions.csv");
const VILLAGES_CSV: &str = include_str!("../data/villages.csv");

/// A province (provinsi), code `PP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Province {
    /// Two-digit code, e.g. `"33"` (Jawa Tengah).
    pub code: String,
    /// Official name, e.g. `"Jawa Tengah"`.
    pub name: String,
}

/// Whether a second-level region is a rural regency or an urban city; it decides which office
/// title and which village kind (desa or kelurahan) dominate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegencyKind {
    /// Kabupaten (regency), codes 01-69.
    Kabupaten,
    /// Kota (city), codes 71-99.
    Kota,
}

/// A regency or city (kabupaten/kota), code `PP.KK`; the level whose Dukcapil office prints
/// cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regency {
    /// Dotted code, e.g. `"33.74"` (Kota Semarang).
    pub code: String,
    /// Official name including its prefix, e.g. `"Kota Semarang"`.
    pub name: String,
    /// Kabupaten or kota, derived from the code number.
    pub kind: RegencyKind,
}

/// A district (kecamatan), code `PP.KK.CC`: the level whose office runs an enrollment site and
/// whose code opens a NIK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct District {
    /// Dotted code, e.g. `"33.74.01"`.
    pub code: String,
    /// Official name, e.g. `"Semarang Tengah"`.
    pub name: String,
}

/// Whether a village is an urban kelurahan or a rural desa (first digit of `VVVV`: 1 or 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VillageKind {
    /// Kelurahan: urban village headed by a civil servant (`1VVV`).
    Kelurahan,
    /// Desa: rural village with an elected head (`2VVV`).
    Desa,
}

/// A village (desa or kelurahan), code `PP.KK.CC.VVVV`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Village {
    /// Dotted code, e.g. `"33.74.01.1001"`.
    pub code: String,
    /// Official name.
    pub name: String,
    /// Desa or kelurahan, derived from the code.
    pub kind: VillageKind,
}

/// The three upper levels of the region table with lookups by code and by parent.
#[derive(Debug)]
pub struct Regions {
    provinces: Vec<Province>,
    regencies: Vec<Regency>,
    districts: Vec<District>,
    province_index: HashMap<String, usize>,
    regency_index: HashMap<String, usize>,
    district_index: HashMap<String, usize>,
    regencies_by_province: HashMap<String, Range<usize>>,
    districts_by_regency: HashMap<String, Range<usize>>,
}

/// The village level of the region table with lookups by code and by district.
#[derive(Debug)]
pub struct Villages {
    villages: Vec<Village>,
    index: HashMap<String, usize>,
    by_district: HashMap<String, Range<usize>>,
}

/// The embedded provinces, regencies/cities and districts, parsed once on first call.
pub fn regions() -> &'static Regions {
    static REGIONS: OnceLock<Regions> = OnceLock::new();
    REGIONS.get_or_init(|| Regions::parse(REGIONS_CSV))
}

/// The embedded villages, parsed once on first call (kept apart from [`regions`] because it is
/// ten times larger).
pub fn villages() -> &'static Villages {
    static VILLAGES: OnceLock<Villages> = OnceLock::new();
    VILLAGES.get_or_init(|| Villages::parse(VILLAGES_CSV))
}

/// Turns the six NIK digits `PPKKCC` into the dotted district code `PP.KK.CC`; `None` unless
/// the input is exactly six ASCII digits.
pub fn district_code_from_compact(compact: &str) -> Option<String> {
    if compact.len() != 6 || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{}.{}.{}",
        &compact[0..2],
        &compact[2..4],
        &compact[4..6]
    ))
}

/// Removes the dots of a dotted region code (`"33.74.01"` → `"337401"`), the form a NIK or KK
/// number carries.
pub fn compact_code(dotted: &str) -> String {
    dotted.chars().filter(|c| *c != '.').collect()
}

/// The parent of a dotted code one level up (`"33.74.01"` → `"33.74"`); `None` for a province.
pub fn parent_code(dotted: &str) -> Option<&str> {
    dotted.rfind('.').map(|i| &dotted[..i])
}

/// Classifies a regency code number: 01-69 kabupaten, 71-99 kota; `None` otherwise.
pub fn regency_kind_of(number: u8) -> Option<RegencyKind> {
    match number {
        1..=69 => Some(RegencyKind::Kabupaten),
        71..=99 => Some(RegencyKind::Kota),
        _ => None,
    }
}

/// Groups a slice sorted by code into contiguous ranges keyed by the parent code.
fn ranges_by_parent<'a>(codes: impl Iterator<Item = &'a str>) -> HashMap<String, Range<usize>> {
    let mut out: HashMap<String, Range<usize>> = HashMap::new();
    for (i, code) in codes.enumerate() {
        if let Some(parent) = parent_code(code) {
            out.entry(parent.to_string())
                .and_modify(|r| r.end = i + 1)
                .or_insert(i..i + 1);
        }
    }
    out
}

/// Reads `(code, rest…)` records of an embedded CSV; the embedded data is fixed at compile
/// time and checked by the crate's tests, so unreadable rows are skipped rather than reported.
fn records(csv_text: &'static str) -> impl Iterator<Item = csv::StringRecord> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv_text.as_bytes())
        .into_records()
        .filter_map(Result::ok)
}

impl Regions {
    fn parse(text: &'static str) -> Regions {
        let mut provinces = Vec::new();
        let mut regencies = Vec::new();
        let mut districts = Vec::new();
        for rec in records(text) {
            let (Some(code), Some(level), Some(name)) = (rec.get(0), rec.get(1), rec.get(2)) else {
                continue;
            };
            let (code, name) = (code.to_string(), name.to_string());
            match level {
                "province" => provinces.push(Province { code, name }),
                "regency" => {
                    let number = code.get(3..5).and_then(|n| n.parse::<u8>().ok());
                    let kind = number
                        .and_then(regency_kind_of)
                        .unwrap_or(RegencyKind::Kabupaten);
                    regencies.push(Regency { code, name, kind });
                }
                "district" => districts.push(District { code, name }),
                _ => {}
            }
        }
        provinces.sort_by(|a, b| a.code.cmp(&b.code));
        regencies.sort_by(|a, b| a.code.cmp(&b.code));
        districts.sort_by(|a, b| a.code.cmp(&b.code));
        let index = |codes: Vec<&String>| -> HashMap<String, usize> {
            codes
                .into_iter()
                .enumerate()
                .map(|(i, c)| (c.clone(), i))
                .collect()
        };
        Regions {
            province_index: index(provinces.iter().map(|p| &p.code).collect()),
            regency_index: index(regencies.iter().map(|r| &r.code).collect()),
            district_index: index(districts.iter().map(|d| &d.code).collect()),
            regencies_by_province: ranges_by_parent(regencies.iter().map(|r| r.code.as_str())),
            districts_by_regency: ranges_by_parent(districts.iter().map(|d| d.code.as_str())),
            provinces,
            regencies,
            districts,
        }
    }

    /// All provinces, sorted by code.
    pub fn provinces(&self) -> &[Province] {
        &self.provinces
    }

    /// All regencies and cities, sorted by code.
    pub fn regencies(&self) -> &[Regency] {
        &self.regencies
    }

    /// All districts, sorted by code.
    pub fn districts(&self) -> &[District] {
        &self.districts
    }

    /// The province with this two-digit code, if it exists today.
    pub fn province(&self, code: &str) -> Option<&Province> {
        self.province_index.get(code).map(|&i| &self.provinces[i])
    }

    /// The regency or city with this dotted code (`PP.KK`), if it exists today.
    pub fn regency(&self, code: &str) -> Option<&Regency> {
        self.regency_index.get(code).map(|&i| &self.regencies[i])
    }

    /// The district with this dotted code (`PP.KK.CC`), if it exists today.
    pub fn district(&self, code: &str) -> Option<&District> {
        self.district_index.get(code).map(|&i| &self.districts[i])
    }

    /// The regencies and cities of a province (empty for an unknown code).
    pub fn regencies_of(&self, province_code: &str) -> &[Regency] {
        match self.regencies_by_province.get(province_code) {
            Some(r) => &self.regencies[r.clone()],
            None => &[],
        }
    }

    /// The districts of a regency or city (empty for an unknown code).
    pub fn districts_of(&self, regency_code: &str) -> &[District] {
        match self.districts_by_regency.get(regency_code) {
            Some(r) => &self.districts[r.clone()],
            None => &[],
        }
    }
}

impl Villages {
    fn parse(text: &'static str) -> Villages {
        let mut villages: Vec<Village> = records(text)
            .filter_map(|rec| {
                let code = rec.get(0)?.to_string();
                let name = rec.get(1)?.to_string();
                let kind = if code.rsplit('.').next()?.starts_with('1') {
                    VillageKind::Kelurahan
                } else {
                    VillageKind::Desa
                };
                Some(Village { code, name, kind })
            })
            .collect();
        villages.sort_by(|a, b| a.code.cmp(&b.code));
        Villages {
            index: villages
                .iter()
                .enumerate()
                .map(|(i, v)| (v.code.clone(), i))
                .collect(),
            by_district: ranges_by_parent(villages.iter().map(|v| v.code.as_str())),
            villages,
        }
    }

    /// All villages, sorted by code.
    pub fn all(&self) -> &[Village] {
        &self.villages
    }

    /// The village with this dotted code (`PP.KK.CC.VVVV`), if it exists today.
    pub fn get(&self, code: &str) -> Option<&Village> {
        self.index.get(code).map(|&i| &self.villages[i])
    }

    /// The villages of a district (empty for an unknown code).
    pub fn of_district(&self, district_code: &str) -> &[Village] {
        match self.by_district.get(district_code) {
            Some(r) => &self.villages[r.clone()],
            None => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_levels_have_expected_counts_and_lookups() {
        let r = regions();
        assert_eq!(r.provinces().len(), 38);
        assert_eq!(r.regencies().len(), 514);
        assert_eq!(r.districts().len(), 7285);
        assert_eq!(r.province("32").unwrap().name, "Jawa Barat");
        let semarang = r.regency("33.74").unwrap();
        assert_eq!(semarang.kind, RegencyKind::Kota);
        assert_eq!(r.regency("33.01").unwrap().kind, RegencyKind::Kabupaten);
        assert!(r.district("33.74.01").is_some());
        assert!(r.district("99.99.99").is_none());
    }

    #[test]
    fn regency_kind_agrees_with_the_official_name() {
        for g in regions().regencies() {
            let named_kota = g.name.starts_with("Kota ");
            assert_eq!(g.kind == RegencyKind::Kota, named_kota, "{}", g.code);
        }
    }

    #[test]
    fn children_are_grouped_under_their_parent() {
        let r = regions();
        let jateng = r.regencies_of("33");
        assert!(jateng.len() >= 35);
        assert!(jateng.iter().all(|g| g.code.starts_with("33.")));
        let districts = r.districts_of("33.74");
        assert!(!districts.is_empty());
        assert!(districts.iter().all(|d| d.code.starts_with("33.74.")));
        assert!(r.regencies_of("00").is_empty());
    }

    #[test]
    fn villages_parse_including_quoted_names() {
        let v = villages();
        assert!(v.all().len() > 80_000);
        assert_eq!(v.get("12.07.28.1007").unwrap().name, "Lubuk Pakam I,II");
        assert_eq!(v.get("12.07.28.1007").unwrap().kind, VillageKind::Kelurahan);
        assert_eq!(v.get("11.01.01.2001").unwrap().kind, VillageKind::Desa);
        let of = v.of_district("11.01.01");
        assert!(of.iter().any(|x| x.name == "Keude Bakongan"));
        assert!(of.iter().all(|x| x.code.starts_with("11.01.01.")));
    }

    #[test]
    fn every_district_has_a_regency_and_province() {
        let r = regions();
        for d in r.districts() {
            let reg = parent_code(&d.code).unwrap();
            assert!(r.regency(reg).is_some(), "{}", d.code);
            assert!(r.province(parent_code(reg).unwrap()).is_some());
        }
    }

    #[test]
    fn code_helpers() {
        assert_eq!(district_code_from_compact("337401").unwrap(), "33.74.01");
        assert!(district_code_from_compact("33740").is_none());
        assert!(district_code_from_compact("33740a").is_none());
        assert_eq!(compact_code("33.74.01"), "337401");
        assert_eq!(parent_code("33.74.01"), Some("33.74"));
        assert_eq!(parent_code("33"), None);
        assert_eq!(regency_kind_of(70), None);
        assert_eq!(regency_kind_of(71), Some(RegencyKind::Kota));
    }
}
