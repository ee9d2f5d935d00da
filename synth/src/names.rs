//! Plausible Indonesian names by naming tradition.
//!
//! Traditions differ in ways that matter to deduplication: Javanese and Bugis people often
//! have a single name; Batak, Minahasa, eastern and Papuan families pass on a family name
//! (marga/fam), so siblings share a surname; Balinese names carry the birth order
//! (Wayan/Putu, Made/Kadek, Nyoman/Komang, Ketut). Names are upper case, as SIAK stores them.

use rand::seq::SliceRandom;
use rand::Rng;
use reference::Sex;

/// A naming tradition (regional flavour) of a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// Central/East Java, Yogyakarta: single names common.
    Javanese,
    /// West Java, Banten.
    Sundanese,
    /// Malay/Islamic names of Sumatra, Kalimantan, NTB, Aceh.
    Malay,
    /// West Sumatra.
    Minang,
    /// North Sumatra highlands: given name + marga.
    Batak,
    /// South Sulawesi: single names common, Andi for nobility.
    Bugis,
    /// Bali: I/Ni + birth-order name + personal name.
    Balinese,
    /// North Sulawesi: Christian given name + fam.
    Minahasa,
    /// NTT and Maluku: Christian given name + family name.
    Eastern,
    /// Papua: Christian given name + clan name.
    Papuan,
    /// Kalimantan interior.
    Dayak,
    /// Chinese-Indonesian: Indonesianized family name.
    Chinese,
}

/// Male and female given names and (where passed on) family names of a tradition.
struct Pool {
    male: &'static [&'static str],
    female: &'static [&'static str],
    family: &'static [&'static str],
    /// Share of people with a single name (no second part), where no family name applies.
    single: f64,
}

fn pool(f: Flavour) -> Pool {
    match f {
        Flavour::Javanese => Pool {
            male: &[
                "BUDI",
                "AGUS",
                "SLAMET",
                "JOKO",
                "BAMBANG",
                "HERU",
                "EKO",
                "DWI",
                "TRI",
                "WAHYU",
                "SUTRISNO",
                "SUPRIYADI",
                "SUPARMAN",
                "MULYONO",
                "SUGENG",
                "HADI",
                "TEGUH",
                "RUDI",
                "WIDODO",
                "PURNOMO",
                "SETIAWAN",
                "SANTOSO",
                "PRASETYO",
                "NUGROHO",
                "WIBOWO",
                "KURNIAWAN",
                "SAPUTRA",
                "SUHARTO",
                "PAIMAN",
                "SARIMIN",
            ],
            female: &[
                "SRI",
                "SITI",
                "DEWI",
                "ENDANG",
                "TRI",
                "WAHYUNI",
                "LESTARI",
                "RAHAYU",
                "SUMARNI",
                "SUHARTI",
                "NINGSIH",
                "YULIANI",
                "PUJI",
                "ASTUTI",
                "INDAH",
                "RETNO",
                "SULASTRI",
                "WULANDARI",
                "KARTINI",
                "PURWANTI",
                "WAGIYEM",
                "SUKINAH",
                "MARYATI",
            ],
            family: &[],
            single: 0.4,
        },
        Flavour::Sundanese => Pool {
            male: &[
                "ASEP", "UJANG", "DADANG", "CECEP", "DEDEN", "YAYAN", "AEP", "ENCEP", "IWAN",
                "DEDE", "JAJANG", "ADE", "HENDRA", "RAHMAT", "NANDANG", "SUNANDAR", "HIDAYAT",
                "SURYANA", "SETIADI", "KURNIA", "SAEPUDIN", "PERMANA", "GUNAWAN", "MULYANA",
            ],
            female: &[
                "EUIS",
                "NENENG",
                "IMAS",
                "IIS",
                "CUCU",
                "ENOK",
                "YENI",
                "RINA",
                "TATI",
                "ENTIN",
                "NINING",
                "LILIS",
                "NURHAYATI",
                "ROHAETI",
                "KURNIASIH",
                "SUMIATI",
                "KOMALASARI",
                "ROSITA",
                "ELIS",
            ],
            family: &[],
            single: 0.15,
        },
        Flavour::Malay => Pool {
            male: &[
                "MUHAMMAD", "AHMAD", "ABDUL", "ZULKIFLI", "SYAHRUL", "RIZKI", "FAUZAN", "HASAN",
                "HUSAIN", "RIDWAN", "ISMAIL", "YUSUF", "HAMDAN", "TAUFIK", "FADLI", "IRFAN",
                "RAHMAN", "NASIR", "HAMZAH", "HAKIM", "SAPUTRA", "HIDAYAT", "PRATAMA", "RAMADHAN",
                "FAUZI", "AKBAR",
            ],
            female: &[
                "NUR",
                "SITI",
                "AISYAH",
                "FATIMAH",
                "KHADIJAH",
                "NURUL",
                "RAHMAWATI",
                "ZAHRA",
                "AMINAH",
                "HALIMAH",
                "PUTRI",
                "RINA",
                "YUSNIDAR",
                "MARDIAH",
                "AINI",
                "HASANAH",
                "FITRI",
                "SAFITRI",
                "YANTI",
                "RAHMAH",
            ],
            family: &[],
            single: 0.1,
        },
        Flavour::Minang => Pool {
            male: &[
                "AFRIZAL",
                "SYAFRIZAL",
                "ZULFIKAR",
                "HENDRI",
                "YULIANDRI",
                "DARMAWAN",
                "IRWAN",
                "RUSLI",
                "SYAMSUL",
                "ERWIN",
                "NOVRIZAL",
                "FAJRI",
                "RISKI",
                "ANDIKA",
                "PUTRA",
            ],
            female: &[
                "YUSRA",
                "ROSMAINI",
                "DESMAWATI",
                "NURHAYATI",
                "ELVIRA",
                "YENTI",
                "RAHMI",
                "FITRIANI",
                "ASNIDAR",
                "YUSNIMAR",
                "DEVI",
                "WATI",
            ],
            family: &[],
            single: 0.35,
        },
        Flavour::Batak => Pool {
            male: &[
                "TOGAR",
                "PARLINDUNGAN",
                "HOTMAN",
                "MANGASI",
                "BINSAR",
                "POLTAK",
                "SAHAT",
                "JONGGI",
                "ROY",
                "DANIEL",
                "FERNANDO",
                "RUDOLF",
                "MARULI",
                "TUMPAL",
                "BONAR",
            ],
            female: &[
                "ROSMAWATI",
                "TIURMA",
                "LASMARIA",
                "DUMA",
                "ROTUA",
                "HOTMAIDA",
                "NURMAIDA",
                "SONDANG",
                "MARIA",
                "RUTH",
                "MASNIARI",
                "ROSLINA",
            ],
            family: &[
                "SIREGAR",
                "NASUTION",
                "SIMANJUNTAK",
                "HUTAPEA",
                "SITOMPUL",
                "LUBIS",
                "HARAHAP",
                "SINAGA",
                "SITUMORANG",
                "PANJAITAN",
                "SIHOMBING",
                "MANURUNG",
                "PARDEDE",
                "TAMPUBOLON",
                "SIMATUPANG",
                "NAINGGOLAN",
                "HUTAGALUNG",
                "SIAHAAN",
            ],
            single: 0.0,
        },
        Flavour::Bugis => Pool {
            male: &[
                "MUHAMMAD",
                "SYAMSUDDIN",
                "BAHARUDDIN",
                "JAMALUDDIN",
                "AMIRUDDIN",
                "NURDIN",
                "SUDIRMAN",
                "RUSDI",
                "HAERUDDIN",
                "TAMRIN",
                "ARIFIN",
                "ASHAR",
                "ILHAM",
                "SAPARUDDIN",
            ],
            female: &[
                "HASNAH",
                "NURHAEDAH",
                "SITTI",
                "HASMAWATI",
                "ROSDIANA",
                "HADIJAH",
                "SUMARNI",
                "NURLINA",
                "KASMAWATI",
                "MUSDALIFAH",
                "ASTUTI",
                "NURHAYATI",
            ],
            family: &[],
            single: 0.45,
        },
        Flavour::Balinese => Pool {
            male: &[
                "SUDARSANA",
                "SUARTA",
                "ARTAWAN",
                "SUKADANA",
                "BUDIASA",
                "MERTHA",
                "ARIANA",
                "DHARMA",
                "WIDIANA",
                "SUYASA",
                "ADNYANA",
                "WIRAWAN",
            ],
            female: &[
                "SUKERTI",
                "ARIANI",
                "SUARTINI",
                "DARMAYANTI",
                "ASTITI",
                "WIDIASTUTI",
                "SRIASIH",
                "PURNAMI",
                "SUWENDRI",
                "ARYANI",
            ],
            family: &[],
            single: 0.0,
        },
        Flavour::Minahasa => Pool {
            male: &[
                "JOHNY",
                "STEVANUS",
                "FERDINAND",
                "HENDRIK",
                "MARTHEN",
                "RICHARD",
                "FRANS",
                "YOHANES",
                "RONALD",
                "JEFRY",
                "ALFRED",
                "NOLDY",
            ],
            female: &[
                "MARIA",
                "YULIANA",
                "STELLA",
                "GRACE",
                "MEISKE",
                "NOVITA",
                "DEISY",
                "OLIVIA",
                "CHRISTINE",
                "JEANE",
                "FEMMY",
            ],
            family: &[
                "WOWOR",
                "LUMENTA",
                "RONDONUWU",
                "SONDAKH",
                "KALANGI",
                "MANDAGI",
                "PANGEMANAN",
                "RUMENGAN",
                "TUMEWU",
                "LENGKONG",
                "SUPIT",
                "TANGKILISAN",
                "WORANG",
                "POLII",
            ],
            single: 0.0,
        },
        Flavour::Eastern => Pool {
            male: &[
                "YOHANES",
                "AGUSTINUS",
                "PETRUS",
                "PAULUS",
                "MARKUS",
                "YOSEF",
                "FRANSISKUS",
                "ALOYSIUS",
                "SIMON",
                "DOMINGGUS",
                "YAKOB",
            ],
            female: &[
                "MARIA",
                "YULIANA",
                "AGUSTINA",
                "THERESIA",
                "MAGDALENA",
                "YOHANA",
                "VERONIKA",
                "FERONIKA",
                "ELISABETH",
                "MARGARETHA",
            ],
            family: &[
                "NDUN",
                "MANAFE",
                "NOPE",
                "TEFA",
                "BRIA",
                "SERAN",
                "LAKE",
                "NENOBAIS",
                "PATTINAMA",
                "WATTIMENA",
                "TUHUMURY",
                "PATTIASINA",
                "LATUHERU",
                "SIAHAYA",
                "DA COSTA",
                "FERNANDES",
                "PEREIRA",
            ],
            single: 0.0,
        },
        Flavour::Papuan => Pool {
            male: &[
                "YAKOBUS", "YOHANIS", "MATIAS", "OTTO", "LUKAS", "BENNY", "YONAS", "ELISA",
                "NATANIEL", "YUNUS", "SEMUEL",
            ],
            female: &[
                "NAOMI", "YULIANA", "ESTER", "DEBORA", "FRANSINA", "MARINCE", "MARTHA", "ANACE",
                "SARA", "YOSINA",
            ],
            family: &[
                "WENDA", "KOGOYA", "WONDA", "TABUNI", "RUMBIAK", "MANDOWEN", "YOKU", "AYOMI",
                "KAMBU", "WANIMBO", "MURIB", "KARUBABA", "RUMERE", "NUMBERI",
            ],
            single: 0.0,
        },
        Flavour::Dayak => Pool {
            male: &[
                "YOHANES",
                "AGUSTINUS",
                "HENDRIKUS",
                "DOMINIKUS",
                "LAMBERTUS",
                "YOSEF",
                "MARKUS",
                "ANTONIUS",
                "PIUS",
            ],
            female: &[
                "MARIA", "YULIANA", "LUSIA", "AGNES", "KATARINA", "MONIKA", "SISILIA", "ROSALIA",
            ],
            family: &[
                "AJANG", "LAWING", "BILUNG", "INGAN", "TINGANG", "USOP", "NYARING", "LAHANG",
                "JALUNG",
            ],
            single: 0.0,
        },
        Flavour::Chinese => Pool {
            male: &[
                "HENDRA", "BUDI", "ANDI", "RUDY", "TONY", "KEVIN", "WILLIAM", "STEVEN", "JIMMY",
                "FERRY", "SUGIANTO", "HARTONO",
            ],
            female: &[
                "LINA", "SUSANTI", "MELIANA", "WENNY", "JESSICA", "CINDY", "YENNY", "LILY",
                "VIVIAN", "FENNY",
            ],
            family: &[
                "WIJAYA",
                "GUNAWAN",
                "SANTOSO",
                "HALIM",
                "TANOTO",
                "SALIM",
                "KUSUMA",
                "TANUWIJAYA",
                "SETIAWAN",
                "HARTONO",
                "SUGIANTO",
                "LIMANTO",
                "TANDIONO",
            ],
            single: 0.0,
        },
    }
}

/// Picks one name of a list (the lists above are never empty).
fn one<R: Rng + ?Sized>(list: &[&'static str], rng: &mut R) -> &'static str {
    list.choose(rng).copied().unwrap_or("BUDI")
}

/// The family name a household passes on to its children, for traditions that have one.
pub fn family_name<R: Rng + ?Sized>(flavour: Flavour, rng: &mut R) -> Option<String> {
    let p = pool(flavour);
    (!p.family.is_empty()).then(|| one(p.family, rng).to_string())
}

/// A person's full name in a tradition. `family` is the household's family name (used where
/// the tradition passes one on), `birth_order` (1-based) drives Balinese names.
pub fn person_name<R: Rng + ?Sized>(
    flavour: Flavour,
    sex: Sex,
    family: Option<&str>,
    birth_order: u32,
    rng: &mut R,
) -> String {
    let p = pool(flavour);
    let given = |rng: &mut R| match sex {
        Sex::Male => one(p.male, rng),
        Sex::Female => one(p.female, rng),
    };
    match flavour {
        Flavour::Balinese => {
            let prefix = if sex == Sex::Male { "I" } else { "NI" };
            let order = match (birth_order - 1) % 4 {
                0 if sex == Sex::Male => *["WAYAN", "PUTU", "GEDE"].choose(rng).unwrap_or(&"WAYAN"),
                0 => *["WAYAN", "PUTU", "LUH"].choose(rng).unwrap_or(&"WAYAN"),
                1 => *["MADE", "KADEK"].choose(rng).unwrap_or(&"MADE"),
                2 => *["NYOMAN", "KOMANG"].choose(rng).unwrap_or(&"NYOMAN"),
                _ => "KETUT",
            };
            format!("{prefix} {order} {}", given(rng))
        }
        Flavour::Bugis if sex == Sex::Male && rng.gen_bool(0.08) => {
            format!("ANDI {}", given(rng))
        }
        _ => {
            let first = given(rng);
            if let Some(fam) = family.filter(|_| !p.family.is_empty()) {
                if rng.gen_bool(0.5) {
                    let second = given(rng);
                    if second != first {
                        return format!("{first} {second} {fam}");
                    }
                }
                return format!("{first} {fam}");
            }
            if rng.gen_bool(p.single) {
                return first.to_string();
            }
            let second = given(rng);
            if second == first {
                first.to_string()
            } else {
                format!("{first} {second}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn traditions_shape_names() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let marga = family_name(Flavour::Batak, &mut rng).unwrap();
        let name = person_name(Flavour::Batak, Sex::Male, Some(&marga), 1, &mut rng);
        assert!(name.ends_with(&marga), "{name}");
        let bali = person_name(Flavour::Balinese, Sex::Female, None, 4, &mut rng);
        assert!(bali.starts_with("NI KETUT "), "{bali}");
        assert!(family_name(Flavour::Javanese, &mut rng).is_none());
        let singles = (0..400)
            .filter(|_| !person_name(Flavour::Javanese, Sex::Male, None, 1, &mut rng).contains(' '))
            .count();
        assert!((80..250).contains(&singles), "{singles}");
        let all_upper = (0..100).all(|_| {
            let n = person_name(Flavour::Sundanese, Sex::Female, None, 2, &mut rng);
            n == n.to_uppercase()
        });
        assert!(all_upper);
    }
}
