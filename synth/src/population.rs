//! The synthetic SIAK population: households (one family card each) spread over real
//! villages, with plausible names, religions, occupations and ages.
//!
//! A household is a head, usually a spouse, children of all ages (so the registry holds many
//! people who are not *wajib KTP* yet) and sometimes an elderly parent. Members share the KK
//! number, address, RT/RW and religion; families of traditions with family names share the
//! surname. Some adults carry a NIK issued in another district of the province, as people
//! who moved do. Generation is sequential from one seeded rng (cheap; the expensive part,
//! packets, runs in parallel elsewhere).

use crate::geography::{self, pick_weighted, ProvincePicker};
use crate::ids::IdAllocator;
use crate::names::{self, Flavour};
use crate::SynthError;
use chrono::{Datelike, Duration, NaiveDate};
use rand::seq::SliceRandom;
use rand::Rng;
use reference::regions::{self, Regency};
use reference::{BloodType, Citizenship, FamilyRelation, MaritalStatus, Resident, Sex};

/// Index range of one household's members in [`Population::residents`].
#[derive(Debug, Clone)]
pub struct Household {
    /// First member index.
    pub first: usize,
    /// Number of members.
    pub len: usize,
    /// Naming tradition of the household.
    pub flavour: Flavour,
    /// Whether the household was generated with adult twins (the last two members).
    pub twins: bool,
}

impl Household {
    /// Member indices.
    pub fn members(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.len
    }
}

/// Residents and the households that group them.
#[derive(Debug, Default)]
pub struct Population {
    /// Every registered resident (the SIAK extract of this batch), households contiguous.
    pub residents: Vec<Resident>,
    /// The households.
    pub households: Vec<Household>,
}

/// Generates households into a [`Population`].
pub struct Generator<'a> {
    today: NaiveDate,
    picker: ProvincePicker,
    ids: &'a mut IdAllocator,
}

/// One member before its NIK is allocated.
struct Draft {
    name: String,
    sex: Sex,
    birth: NaiveDate,
    relation: FamilyRelation,
    marital: MaritalStatus,
}

const STREETS: &[&str] = &[
    "MERDEKA",
    "SUDIRMAN",
    "DIPONEGORO",
    "GATOT SUBROTO",
    "AHMAD YANI",
    "PAHLAWAN",
    "MELATI",
    "MAWAR",
    "KENANGA",
    "CEMPAKA",
    "PEMUDA",
    "KARTINI",
    "HASANUDDIN",
    "IMAM BONJOL",
    "TEUKU UMAR",
    "PATTIMURA",
    "SAM RATULANGI",
    "GAJAH MADA",
    "SISINGAMANGARAJA",
];
const HAMLETS: &[&str] = &[
    "KRAJAN",
    "SUKAMAJU",
    "MEKARSARI",
    "SIDOMULYO",
    "KARANGANYAR",
    "TANJUNG",
    "TELAGA",
    "BATU",
    "SUMBER",
    "SUKARAME",
    "MARGAJAYA",
    "TEGALSARI",
];

impl<'a> Generator<'a> {
    /// A generator for a registry as of `today` (ages are computed against it).
    pub fn new(today: NaiveDate, ids: &'a mut IdAllocator) -> Generator<'a> {
        Generator {
            today,
            picker: ProvincePicker::new(),
            ids,
        }
    }

    /// Adds one household; with `adult_twins` its last two members are twins aged 17+.
    pub fn household<R: Rng + ?Sized>(
        &mut self,
        pop: &mut Population,
        adult_twins: bool,
        rng: &mut R,
    ) -> Result<(), SynthError> {
        let (province, regency, district, village) = self.place(rng)?;
        let flavour = geography::pick_flavour(&province, rng);
        let religion = geography::pick_religion(&province, flavour, rng);
        let family = names::family_name(flavour, rng);
        let fam = family.as_deref();

        let mut drafts = Vec::new();
        let head_sex = if adult_twins || rng.gen_bool(0.87) {
            Sex::Male
        } else {
            Sex::Female
        };
        let head_age = if adult_twins {
            rng.gen_range(42..66)
        } else {
            22 + (rng.gen::<f64>().powf(1.3) * 53.0) as u32
        };
        let married = head_sex == Sex::Male && (adult_twins || rng.gen_bool(0.9));
        let head_marital = match (married, head_sex) {
            (true, _) => MaritalStatus::Kawin,
            (false, Sex::Female) => *[MaritalStatus::CeraiMati, MaritalStatus::CeraiHidup]
                .choose(rng)
                .unwrap_or(&MaritalStatus::CeraiMati),
            (false, Sex::Male) if head_age < 30 => MaritalStatus::BelumKawin,
            (false, Sex::Male) => MaritalStatus::CeraiHidup,
        };
        drafts.push(Draft {
            name: names::person_name(flavour, head_sex, fam, rng.gen_range(1..5), rng),
            sex: head_sex,
            birth: self.birth_for_age(head_age, rng),
            relation: FamilyRelation::Head,
            marital: head_marital,
        });
        let mother_age = if married {
            let age = (head_age as i32 + rng.gen_range(-9..3)).max(18) as u32;
            // A wife keeps her own family name (marga/fam) where the tradition has one.
            let own_family = names::family_name(flavour, rng);
            let order = rng.gen_range(1..5);
            drafts.push(Draft {
                name: names::person_name(flavour, Sex::Female, own_family.as_deref(), order, rng),
                sex: Sex::Female,
                birth: self.birth_for_age(age, rng),
                relation: FamilyRelation::Wife,
                marital: MaritalStatus::Kawin,
            });
            Some(age)
        } else if head_sex == Sex::Female {
            Some(head_age)
        } else {
            None
        };
        if let Some(mother_age) = mother_age.filter(|_| head_marital != MaritalStatus::BelumKawin) {
            let max_child_age = mother_age.saturating_sub(19).min(30);
            let n = pick_weighted(
                &[
                    (0u32, 0.1),
                    (1, 0.2),
                    (2, 0.32),
                    (3, 0.22),
                    (4, 0.1),
                    (5, 0.06),
                ],
                rng,
            );
            let mut ages: Vec<u32> = (0..n).map(|_| rng.gen_range(0..=max_child_age)).collect();
            ages.sort_unstable_by(|a, b| b.cmp(a));
            for (i, age) in ages.into_iter().enumerate() {
                let sex = if rng.gen_bool(0.51) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                drafts.push(self.child(flavour, fam, sex, age, i as u32 + 1, rng));
            }
            if adult_twins {
                let age = rng.gen_range(17..=max_child_age.clamp(17, 28));
                let birth = self.birth_for_age(age, rng);
                let same_sex = rng.gen_bool(0.6);
                let first = if rng.gen_bool(0.5) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let order = drafts.len() as u32;
                for (k, sex) in [first, if same_sex { first } else { opposite(first) }]
                    .into_iter()
                    .enumerate()
                {
                    let mut twin = self.child(flavour, fam, sex, age, order + k as u32, rng);
                    twin.birth = birth;
                    drafts.push(twin);
                }
            }
        }
        if rng.gen_bool(0.05) {
            let age = (head_age + rng.gen_range(20..30)).min(95);
            drafts.insert(
                drafts.len().min(2),
                Draft {
                    name: names::person_name(flavour, Sex::Female, None, 1, rng),
                    sex: Sex::Female,
                    birth: self.birth_for_age(age, rng),
                    relation: FamilyRelation::Parent,
                    marital: MaritalStatus::CeraiMati,
                },
            );
        }

        let youngest = drafts.iter().map(|d| d.birth).max().unwrap_or(self.today);
        let earliest = youngest.max(self.today - Duration::days(15 * 365));
        let span = (self.today - Duration::days(30) - earliest)
            .num_days()
            .max(1);
        let issued = earliest + Duration::days(rng.gen_range(0..span));
        let kk_number = self.ids.kk(&district, issued)?;
        let address = address(&village, flavour, rng);
        let (rt, rw) = (rng.gen_range(1..=15), rng.gen_range(1..=10));
        let home_place = place_name(regency);
        let regency_list = regions::regions().regencies_of(&province);
        let other_mother = names::person_name(flavour, Sex::Female, None, 1, rng);
        let head_name = drafts[0].name.clone();
        let wife_name = drafts
            .iter()
            .find(|d| d.relation == FamilyRelation::Wife)
            .map(|d| d.name.clone());
        let (mother_of_children, father_of_children) = match head_sex {
            Sex::Male => (wife_name.unwrap_or(other_mother), head_name),
            Sex::Female => (head_name, String::new()),
        };

        let first = pop.residents.len();
        for d in drafts {
            let child = d.relation == FamilyRelation::Child;
            let moved = !child && rng.gen_bool(0.3);
            let nik_district = if moved {
                regency_list
                    .choose(rng)
                    .map(|r| regions::regions().districts_of(&r.code))
                    .and_then(|ds| ds.choose(rng))
                    .map(|d| d.code.clone())
                    .unwrap_or_else(|| district.clone())
            } else {
                district.clone()
            };
            let birth_place = if moved {
                regency_list
                    .choose(rng)
                    .map(place_name)
                    .unwrap_or_else(|| home_place.clone())
            } else {
                home_place.clone()
            };
            let (mother_name, father_name) = if child {
                (mother_of_children.clone(), father_of_children.clone())
            } else {
                let father = names::person_name(flavour, Sex::Male, family.as_deref(), 1, rng);
                (
                    names::person_name(flavour, Sex::Female, None, 1, rng),
                    father,
                )
            };
            let nik = self.ids.nik(&nik_district, d.birth, d.sex)?;
            let age = regions_age(d.birth, self.today);
            pop.residents.push(Resident {
                nik,
                kk_number,
                name: d.name,
                sex: d.sex,
                birth_place,
                birth_date: d.birth,
                blood_type: blood_type(rng),
                religion: if rng.gen_bool(0.02) {
                    geography::pick_religion(&province, flavour, rng)
                } else {
                    religion
                },
                marital_status: d.marital,
                occupation: occupation(age, d.sex, rng).to_string(),
                citizenship: if flavour == Flavour::Chinese && rng.gen_bool(0.01) {
                    Citizenship::Wna
                } else {
                    Citizenship::Wni
                },
                address: address.clone(),
                rt,
                rw,
                village_code: village.clone(),
                district_code: district.clone(),
                regency_code: regency.code.clone(),
                province_code: province.clone(),
                mother_name,
                father_name,
                family_relation: d.relation,
            });
        }
        pop.households.push(Household {
            first,
            len: pop.residents.len() - first,
            flavour,
            twins: adult_twins,
        });
        Ok(())
    }

    /// A single-person household for an extra identity (used for a fraudulent second NIK).
    pub fn loner<R: Rng + ?Sized>(
        &mut self,
        pop: &mut Population,
        sex: Sex,
        age: u32,
        rng: &mut R,
    ) -> Result<usize, SynthError> {
        let start = pop.residents.len();
        loop {
            self.household(pop, false, rng)?;
            let h = pop
                .households
                .last()
                .cloned()
                .ok_or(SynthError::IdSpaceExhausted)?;
            // Keep only the head, re-dressed as the requested person.
            pop.residents.truncate(h.first + 1);
            let head = &mut pop.residents[h.first];
            if head.sex != sex {
                pop.residents.truncate(h.first);
                pop.households.pop();
                continue;
            }
            let birth = self.birth_for_age(age, rng);
            head.birth_date = birth;
            head.marital_status = MaritalStatus::BelumKawin;
            head.nik = self.ids.nik(&head.district_code.clone(), birth, sex)?;
            if let Some(last) = pop.households.last_mut() {
                last.len = 1;
            }
            debug_assert!(pop.residents.len() > start);
            return Ok(h.first);
        }
    }

    /// A valid NIK reserved from SIAK (for planted `NIK_NOT_IN_SIAK` packets).
    pub fn ghost_nik(
        &mut self,
        district: &str,
        birth: NaiveDate,
        sex: Sex,
    ) -> Result<reference::Nik, SynthError> {
        self.ids.ghost_nik(district, birth, sex)
    }

    fn child<R: Rng + ?Sized>(
        &self,
        flavour: Flavour,
        family: Option<&str>,
        sex: Sex,
        age: u32,
        order: u32,
        rng: &mut R,
    ) -> Draft {
        Draft {
            name: names::person_name(flavour, sex, family, order, rng),
            sex,
            birth: self.birth_for_age(age, rng),
            relation: FamilyRelation::Child,
            marital: MaritalStatus::BelumKawin,
        }
    }

    /// A birth date that makes someone `age` years old today.
    fn birth_for_age<R: Rng + ?Sized>(&self, age: u32, rng: &mut R) -> NaiveDate {
        let year = self.today.year() - age as i32 - 1;
        let base = NaiveDate::from_ymd_opt(year, self.today.month(), 1).unwrap_or(self.today)
            + Duration::days(i64::from(self.today.day()));
        base + Duration::days(rng.gen_range(0..365))
    }

    /// A real village with its district, regency and province.
    fn place<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<(String, &'static Regency, String, String), SynthError> {
        let regions = regions::regions();
        for _ in 0..100 {
            let province = self.picker.pick(rng);
            let Some(regency) = regions.regencies_of(province).choose(rng) else {
                continue;
            };
            let Some(district) = regions.districts_of(&regency.code).choose(rng) else {
                continue;
            };
            let Some(village) = regions::villages().of_district(&district.code).choose(rng) else {
                continue;
            };
            return Ok((
                province.to_string(),
                regency,
                district.code.clone(),
                village.code.clone(),
            ));
        }
        Err(SynthError::NoRegions)
    }
}

fn opposite(sex: Sex) -> Sex {
    match sex {
        Sex::Male => Sex::Female,
        Sex::Female => Sex::Male,
    }
}

fn regions_age(birth: NaiveDate, today: NaiveDate) -> u32 {
    reference::siak::age_on(birth, today)
}

/// Birth-place spelling of a regency: its name without the Kabupaten/Kota prefix, upper case.
fn place_name(regency: &Regency) -> String {
    regency
        .name
        .trim_start_matches("Kabupaten ")
        .trim_start_matches("Kota ")
        .to_uppercase()
}

/// A street address for an urban kelurahan, a hamlet for a rural desa.
fn address<R: Rng + ?Sized>(village_code: &str, flavour: Flavour, rng: &mut R) -> String {
    let urban = village_code
        .rsplit('.')
        .next()
        .is_some_and(|v| v.starts_with('1'));
    if urban {
        let street = STREETS.choose(rng).unwrap_or(&"MERDEKA");
        format!("JL. {street} NO. {}", rng.gen_range(1..200))
    } else {
        let hamlet = HAMLETS.choose(rng).unwrap_or(&"KRAJAN");
        match flavour {
            Flavour::Balinese => format!("BANJAR {hamlet}"),
            Flavour::Sundanese => format!("KP. {hamlet}"),
            Flavour::Minang => format!("JORONG {hamlet}"),
            _ => format!("DUSUN {hamlet}"),
        }
    }
}

/// Blood type as SIAK holds it: many residents never declared one.
fn blood_type<R: Rng + ?Sized>(rng: &mut R) -> BloodType {
    pick_weighted(
        &[
            (BloodType::Unknown, 0.35),
            (BloodType::O, 0.26),
            (BloodType::B, 0.18),
            (BloodType::A, 0.16),
            (BloodType::Ab, 0.05),
        ],
        rng,
    )
}

/// An occupation from SIAK's list, by age and sex.
fn occupation<R: Rng + ?Sized>(age: u32, sex: Sex, rng: &mut R) -> &'static str {
    if age < 5 {
        return "BELUM/TIDAK BEKERJA";
    }
    if age < 18 || (age < 23 && rng.gen_bool(0.4)) {
        return "PELAJAR/MAHASISWA";
    }
    if age >= 60 && rng.gen_bool(0.2) {
        return "PENSIUNAN";
    }
    match sex {
        Sex::Male => pick_weighted(
            &[
                ("PETANI/PEKEBUN", 0.2),
                ("WIRASWASTA", 0.2),
                ("KARYAWAN SWASTA", 0.2),
                ("BURUH HARIAN LEPAS", 0.1),
                ("PEDAGANG", 0.06),
                ("PEGAWAI NEGERI SIPIL", 0.04),
                ("NELAYAN/PERIKANAN", 0.03),
                ("SOPIR", 0.03),
                ("TUKANG BATU", 0.03),
                ("GURU", 0.02),
                ("TENTARA NASIONAL INDONESIA", 0.01),
                ("KEPOLISIAN RI", 0.01),
                ("BELUM/TIDAK BEKERJA", 0.07),
            ],
            rng,
        ),
        Sex::Female => pick_weighted(
            &[
                ("MENGURUS RUMAH TANGGA", 0.45),
                ("WIRASWASTA", 0.12),
                ("KARYAWAN SWASTA", 0.12),
                ("PETANI/PEKEBUN", 0.1),
                ("PEDAGANG", 0.07),
                ("GURU", 0.04),
                ("PEGAWAI NEGERI SIPIL", 0.03),
                ("PERAWAT", 0.02),
                ("BIDAN", 0.01),
                ("BELUM/TIDAK BEKERJA", 0.04),
            ],
            rng,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn households_are_consistent_families() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let mut ids = IdAllocator::default();
        let mut gen = Generator::new(today, &mut ids);
        let mut pop = Population::default();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for i in 0..300 {
            gen.household(&mut pop, i % 50 == 0, &mut rng).unwrap();
        }
        let mut niks = std::collections::HashSet::new();
        let mut minors = 0;
        for h in &pop.households {
            let members = &pop.residents[h.members()];
            assert_eq!(members[0].family_relation, FamilyRelation::Head);
            assert!(members.iter().all(|m| m.kk_number == members[0].kk_number));
            assert!(members.iter().all(|m| m.address == members[0].address));
            if h.twins {
                let (a, b) = (&members[h.len - 2], &members[h.len - 1]);
                assert_eq!(a.birth_date, b.birth_date);
                assert!(a.age_on(today) >= 17);
            }
            for m in members {
                assert!(niks.insert(m.nik));
                assert!(m.nik.matches_birth_date(m.birth_date));
                assert_eq!(m.nik.sex(), m.sex);
                assert!(m.village_code.starts_with(&m.district_code));
                assert!(regions::villages().get(&m.village_code).is_some());
                if !m.is_wajib_ktp(today) {
                    minors += 1;
                }
            }
        }
        assert!(minors > 100, "registry holds children: {minors}");
        let loner = gen.loner(&mut pop, Sex::Female, 30, &mut rng).unwrap();
        assert_eq!(pop.residents[loner].sex, Sex::Female);
        assert_eq!(pop.residents[loner].age_on(today), 30);
        assert_eq!(pop.residents.len(), loner + 1);
    }
}
