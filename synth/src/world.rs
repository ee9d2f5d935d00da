//! The plan of a batch: the SIAK population, who enrolls when and where, which situations are
//! planted, and the station registry. Everything here is decided sequentially from the seed;
//! turning a planned packet into bytes ([`crate::assemble`]) is then independent per packet
//! and runs in parallel.
//!
//! Longer than our ~600-line mark on purpose: the plan is one sequence of draws from one
//! seeded generator, and splitting it across files would hide the order the draws are made in,
//! which is what keeps a seed's country the same from one version to the next.

use crate::biometric::Lineage;
use crate::capture::CaptureQuality;
use crate::config::SynthConfig;
use crate::earlier::EarlierEnrollee;
use crate::geography;
use crate::ids::IdAllocator;
use crate::plants::{Plant, BAD_KINDS};
use crate::population::{Generator, Population};
use crate::truth::EarlierRef;
use crate::SynthError;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use packet::{Eye, MissingReason, ReasonCode};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reference::{FamilyRelation, Nik, Resident, Station};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};

/// A biological person who appears in at least one packet.
#[derive(Debug, Clone)]
pub struct Person {
    /// Truth id, unique across batches (`<tag>-P<index>`).
    pub id: String,
    /// Their own SIAK record (index into the population).
    pub resident: usize,
    /// Where their biometrics come from.
    pub lineage: Lineage,
    /// Fingers they cannot give, with the reason.
    pub missing_fingers: Vec<(u8, MissingReason)>,
    /// Eyes they cannot give, with the reason.
    pub missing_eyes: Vec<(Eye, MissingReason)>,
}

impl Person {
    /// Seed of personal, non-biometric traits (photo look, signature).
    pub fn look_seed(&self) -> u64 {
        match self.lineage {
            Lineage::Own { seed } | Lineage::RelativeOf { seed, .. } => seed,
        }
    }
}

/// Whose biodata a packet carries.
#[derive(Debug, Clone)]
pub enum Identity {
    /// A resident of this batch's SIAK extract (index).
    Siak(usize),
    /// A resident record with a NIK that is not in SIAK.
    Ghost(Box<Resident>),
    /// A resident of an earlier batch's SIAK extract (a hijacked NIK).
    Earlier(Box<Resident>),
}

/// Which station signs a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// A station of the registry (index into [`World::stations`]).
    Registered(usize),
    /// A station that is not in the registry (`UNKNOWN_STATION`), numbered per site.
    Unregistered(u32),
}

/// One packet to land.
#[derive(Debug, Clone)]
pub struct PlannedPacket {
    /// Packet id (UUID v5 of batch and index).
    pub packet_id: String,
    /// The person captured.
    pub person: usize,
    /// The biodata presented.
    pub identity: Identity,
    /// What the packet is, in truth.
    pub case: Plant,
    /// Capture day, counted from the batch start.
    pub day: u32,
    /// Dotted district code of the enrollment site.
    pub site: String,
    /// The signing station.
    pub signer: Signer,
    /// Capture quality.
    pub quality: CaptureQuality,
    /// Seed of this capture's noise, photo pose and timestamps.
    pub capture_seed: u64,
    /// For a re-upload: the index of the packet whose bytes are copied.
    pub copy_of: Option<usize>,
    /// For a cross-batch plant: the earlier enrollment it is planted against.
    pub earlier: Option<EarlierRef>,
}

/// A registered station and the secrets that stay inside synth.
#[derive(Debug, Clone)]
pub struct StationPlan {
    /// The registry row.
    pub station: Station,
    /// Seed of the Ed25519 signing key.
    pub key_seed: [u8; 32],
    /// NIK of the operator working at it.
    pub operator: Nik,
}

/// The whole plan of one batch.
#[derive(Debug)]
pub struct World {
    /// Batch id (file names of the batch's reference and truth files).
    pub batch: String,
    /// Short batch tag used inside ids.
    pub tag: String,
    /// First capture day.
    pub start: NaiveDate,
    /// No capture ends after this instant (see [`SynthConfig::until`]).
    pub until: DateTime<Utc>,
    /// The SIAK population of this batch.
    pub population: Population,
    /// People who appear in packets.
    pub persons: Vec<Person>,
    /// Packets in landing order.
    pub packets: Vec<PlannedPacket>,
    /// The station registry of this batch (active and retired).
    pub stations: Vec<StationPlan>,
}

/// How many packets of each planted kind a batch of `n` gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counts {
    pub bad_each: usize,
    pub fraud: usize,
    pub reenroll: usize,
    pub twin_pairs: usize,
    pub family_pairs: usize,
    pub missing: usize,
    pub poor: usize,
    pub unique: usize,
}

/// `ceil(n·rate)` for a positive rate, 0 otherwise.
fn share(n: usize, rate: f64) -> usize {
    if rate > 0.0 {
        (n as f64 * rate).ceil() as usize
    } else {
        0
    }
}

impl Counts {
    /// Splits `n` packets over the planted kinds; every kind with a positive rate gets at
    /// least one when `n` allows, and the rest are unique first enrollments.
    pub(crate) fn for_batch(n: usize, duplicate_rate: f64, bad_rate: f64) -> Counts {
        // Originals for fraud/re-enrollment/re-upload must exist: keep one unique back.
        let reserve = usize::from(n > 1);
        let take_after_reserve = |want: usize, cost: usize, left: &mut usize| {
            let avail = left.saturating_sub(reserve);
            let k = want.min(avail / cost.max(1));
            *left -= k * cost;
            k
        };
        let mut l = n;
        let bad_each = take_after_reserve(
            share(n, bad_rate).div_ceil(BAD_KINDS.len()),
            BAD_KINDS.len(),
            &mut l,
        );
        let fraud = take_after_reserve(share(n, duplicate_rate), 1, &mut l);
        let reenroll = take_after_reserve(share(n, duplicate_rate / 2.0), 1, &mut l);
        let twin_pairs = take_after_reserve(share(n, 0.003), 2, &mut l);
        let family_pairs = take_after_reserve(share(n, 0.005), 2, &mut l);
        let missing = take_after_reserve(share(n, 0.01), 1, &mut l);
        let poor = take_after_reserve(share(n, 0.03), 1, &mut l);
        Counts {
            bad_each,
            fraud,
            reenroll,
            twin_pairs,
            family_pairs,
            missing,
            poor,
            unique: l,
        }
    }
}

/// A seed derived from the batch seed and a label (independent streams).
pub fn derive_seed(seed: u64, label: &str, index: u64) -> u64 {
    let h = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(label.as_bytes())
        .chain_update(index.to_le_bytes())
        .finalize();
    u64::from_le_bytes(h[..8].try_into().unwrap_or([0; 8]))
}

impl World {
    /// Plans a batch, avoiding NIKs and KK numbers taken by `ids` (the existing extract).
    pub fn plan(config: &SynthConfig, ids: IdAllocator) -> Result<World, SynthError> {
        World::plan_across(config, ids, &[])
    }

    /// Plans a batch like [`World::plan`], planting cross-batch duplicates and NIK hijacks
    /// against `earlier` enrollments as the config's rates ask (each target used once).
    pub fn plan_across(
        config: &SynthConfig,
        mut ids: IdAllocator,
        earlier: &[EarlierEnrollee],
    ) -> Result<World, SynthError> {
        config.validate()?;
        let tag = config.tag();
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(config.seed, "world", 0));
        let budget = config.people.saturating_sub(1);
        let cross = share(config.people, config.cross_batch_duplicate_rate)
            .min(earlier.len())
            .min(budget);
        let hijacks = share(config.people, config.hijack_rate)
            .min(earlier.len() - cross)
            .min(budget - cross);
        let counts = Counts::for_batch(
            config.people - cross - hijacks,
            config.duplicate_rate,
            config.bad_rate,
        );
        let start = config.first_day();
        let days = config.days;

        let mut population = Population::default();
        let mut gen = Generator::new(start, &mut ids);

        // Twins and family households first, then enough others to leave unenrolled adults.
        let mut twin_households = Vec::new();
        for _ in 0..counts.twin_pairs {
            gen.household(&mut population, true, &mut rng)?;
            twin_households.push(population.households.len() - 1);
        }
        let bad_persons = counts.bad_each * (BAD_KINDS.len() - 1);
        let singles_needed = counts.unique + counts.missing + counts.poor + bad_persons;
        let mut family_households = Vec::new();
        let mut wajib_pool = Vec::new();
        while family_households.len() < counts.family_pairs
            || wajib_pool.len() < singles_needed + singles_needed * 2 / 5 + 5
        {
            gen.household(&mut population, false, &mut rng)?;
            let h = population.households.len() - 1;
            let wajib: Vec<usize> = population.households[h]
                .members()
                .filter(|&i| population.residents[i].is_wajib_ktp(start))
                .collect();
            let pair = (family_households.len() < counts.family_pairs)
                .then(|| blood_pair(&population, h, start))
                .flatten();
            match pair {
                Some(pair) => family_households.push(pair),
                None => wajib_pool.extend(wajib),
            }
        }
        wajib_pool.shuffle(&mut rng);
        let mut pool = wajib_pool.into_iter();

        let mut persons: Vec<Person> = Vec::new();
        let mut packets: Vec<PlannedPacket> = Vec::new();
        let new_person = |persons: &mut Vec<Person>, resident: usize, lineage: Option<Lineage>| {
            let index = persons.len() as u64;
            let own = derive_seed(config.seed, "person", index);
            persons.push(Person {
                id: format!("{tag}-P{index:07}"),
                resident,
                lineage: lineage.unwrap_or(Lineage::Own { seed: own }),
                missing_fingers: Vec::new(),
                missing_eyes: Vec::new(),
            });
            persons.len() - 1
        };
        let regular = |rng: &mut ChaCha8Rng| {
            if rng.gen_bool(0.72) {
                CaptureQuality::Good
            } else {
                CaptureQuality::Fair
            }
        };
        let plan_packet = |packets: &mut Vec<PlannedPacket>,
                           person: usize,
                           identity: Identity,
                           case: Plant,
                           day: u32,
                           quality: CaptureQuality| {
            packets.push(PlannedPacket {
                packet_id: String::new(),
                person,
                identity,
                case,
                day,
                site: String::new(),
                signer: Signer::Registered(usize::MAX),
                quality,
                capture_seed: 0,
                copy_of: None,
                earlier: None,
            });
        };

        let next_resident = |pool: &mut std::vec::IntoIter<usize>| {
            pool.next()
                .ok_or(SynthError::Config("population too small".into()))
        };

        // Unique first enrollments (also the originals of later duplicates).
        let mut uniques = Vec::new();
        for _ in 0..counts.unique {
            let r = next_resident(&mut pool)?;
            let p = new_person(&mut persons, r, None);
            let day = rng.gen_range(0..days);
            let q = regular(&mut rng);
            plan_packet(&mut packets, p, Identity::Siak(r), Plant::Unique, day, q);
            uniques.push(packets.len() - 1);
        }
        for _ in 0..counts.missing {
            let r = next_resident(&mut pool)?;
            let p = new_person(&mut persons, r, None);
            let k = rng.gen_range(1..=3);
            let mut fingers: Vec<u8> = (1..=10).collect();
            fingers.shuffle(&mut rng);
            for &f in &fingers[..k] {
                let reason = geography::pick_weighted(
                    &[
                        (MissingReason::Amputated, 0.4),
                        (MissingReason::Bandaged, 0.4),
                        (MissingReason::Unusable, 0.2),
                    ],
                    &mut rng,
                );
                persons[p].missing_fingers.push((f, reason));
            }
            persons[p].missing_fingers.sort_by_key(|m| m.0);
            if rng.gen_bool(0.15) {
                let eye = if rng.gen_bool(0.5) {
                    Eye::Right
                } else {
                    Eye::Left
                };
                persons[p].missing_eyes.push((eye, MissingReason::Unusable));
            }
            let day = rng.gen_range(0..days);
            let q = regular(&mut rng);
            plan_packet(
                &mut packets,
                p,
                Identity::Siak(r),
                Plant::MissingFingers,
                day,
                q,
            );
        }
        for _ in 0..counts.poor {
            let r = next_resident(&mut pool)?;
            let p = new_person(&mut persons, r, None);
            let day = rng.gen_range(0..days);
            plan_packet(
                &mut packets,
                p,
                Identity::Siak(r),
                Plant::PoorCapture,
                day,
                CaptureQuality::Poor,
            );
        }
        // Twins and families: the second member's fingers derive from the first's.
        let twin_pairs = twin_households.iter().map(|&h| {
            let hh = &population.households[h];
            ((hh.first + hh.len - 2, hh.first + hh.len - 1), Plant::Twin)
        });
        let family_pairs = family_households.iter().map(|&pair| (pair, Plant::Family));
        let pairs: Vec<((usize, usize), Plant)> = twin_pairs.chain(family_pairs).collect();
        for ((a, b), case) in pairs {
            let pa = new_person(&mut persons, a, None);
            let base = persons[pa].look_seed();
            let own = derive_seed(config.seed, "relative", pa as u64);
            let pb = new_person(
                &mut persons,
                b,
                Some(Lineage::RelativeOf { base, seed: own }),
            );
            for (p, r) in [(pa, a), (pb, b)] {
                let day = rng.gen_range(0..days);
                let q = regular(&mut rng);
                plan_packet(&mut packets, p, Identity::Siak(r), case, day, q);
            }
        }
        // Fraud: a second SIAK identity for an already enrolling person.
        for _ in 0..counts.fraud {
            let Some(&orig) = uniques.choose(&mut rng) else {
                break;
            };
            let (person, day0) = (packets[orig].person, packets[orig].day);
            let real = &population.residents[persons[person].resident];
            let (sex, age) = (real.sex, real.age_on(start) + rng.gen_range(0..4));
            let alias = gen.loner(&mut population, sex, age.max(17), &mut rng)?;
            let day = rng.gen_range(day0..days);
            let q = regular(&mut rng);
            plan_packet(
                &mut packets,
                person,
                Identity::Siak(alias),
                Plant::FraudDuplicate,
                day,
                q,
            );
        }
        for _ in 0..counts.reenroll {
            let Some(&orig) = uniques.choose(&mut rng) else {
                break;
            };
            let (person, day0) = (packets[orig].person, packets[orig].day);
            let r = persons[person].resident;
            let day = rng.gen_range((day0 + 1).min(days - 1)..days);
            let q = regular(&mut rng);
            plan_packet(
                &mut packets,
                person,
                Identity::Siak(r),
                Plant::Reenrollment,
                day,
                q,
            );
        }
        // Bad packets.
        let mut reuploads = Vec::new();
        for &code in BAD_KINDS {
            for _ in 0..counts.bad_each {
                if code == ReasonCode::DuplicatePacket {
                    if let Some(&orig) = uniques.choose(&mut rng) {
                        reuploads.push(orig);
                    }
                    continue;
                }
                let r = next_resident(&mut pool)?;
                let p = new_person(&mut persons, r, None);
                let identity = if code == ReasonCode::NikNotInSiak {
                    let mut ghost = population.residents[r].clone();
                    ghost.nik = gen_ghost(&mut gen, &ghost)?;
                    Identity::Ghost(Box::new(ghost))
                } else {
                    Identity::Siak(r)
                };
                let day = rng.gen_range(0..days);
                let q = regular(&mut rng);
                plan_packet(&mut packets, p, identity, Plant::Bad(code), day, q);
            }
        }
        // Cross-batch plants, from a stream of their own (batches without them draw nothing).
        if cross + hijacks > 0 {
            let mut xrng = ChaCha8Rng::seed_from_u64(derive_seed(config.seed, "cross-batch", 0));
            let mut targets: Vec<&EarlierEnrollee> = earlier.iter().collect();
            targets.shuffle(&mut xrng);
            for (k, target) in targets.into_iter().take(cross + hijacks).enumerate() {
                let victim = &target.resident;
                let age = victim.age_on(start) + xrng.gen_range(0..4);
                let own = gen.loner(&mut population, victim.sex, age.max(17), &mut xrng)?;
                let (p, identity, case) = if k < cross {
                    // The earlier person again, under a new identity of this batch's SIAK.
                    persons.push(Person {
                        id: target.reference.earlier_person_id.clone(),
                        resident: own,
                        lineage: target.lineage,
                        missing_fingers: Vec::new(),
                        missing_eyes: Vec::new(),
                    });
                    (
                        persons.len() - 1,
                        Identity::Siak(own),
                        Plant::CrossBatchDuplicate,
                    )
                } else {
                    // Someone else presenting the earlier resident's NIK and biodata.
                    let p = new_person(&mut persons, own, None);
                    (
                        p,
                        Identity::Earlier(Box::new(victim.clone())),
                        Plant::NikHijack,
                    )
                };
                let day = xrng.gen_range(0..days);
                let q = regular(&mut xrng);
                plan_packet(&mut packets, p, identity, case, day, q);
                if let Some(last) = packets.last_mut() {
                    last.earlier = Some(target.reference.clone());
                }
            }
        }
        drop(gen);

        // Landing order: shuffled; re-uploads of an original go last.
        let mut order: Vec<usize> = (0..packets.len()).collect();
        order.shuffle(&mut rng);
        let mut new_index = vec![0; packets.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut slots: Vec<Option<PlannedPacket>> = packets.into_iter().map(Some).collect();
        let mut packets: Vec<PlannedPacket> =
            order.iter().filter_map(|&old| slots[old].take()).collect();
        for old in reuploads {
            let orig = new_index[old];
            let mut copy = packets[orig].clone();
            copy.case = Plant::Bad(ReasonCode::DuplicatePacket);
            copy.copy_of = Some(orig);
            copy.day = packets[orig].day + 1;
            packets.push(copy);
        }
        for (i, p) in packets.iter_mut().enumerate() {
            if p.copy_of.is_some() {
                continue;
            }
            p.packet_id = uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                format!("tunggal-synth/{tag}/{i}").as_bytes(),
            )
            .to_string();
            p.capture_seed = derive_seed(config.seed, "capture", i as u64);
            p.site = match &p.identity {
                Identity::Siak(r) => population.residents[*r].district_code.clone(),
                Identity::Ghost(g) | Identity::Earlier(g) => g.district_code.clone(),
            };
        }
        for i in 0..packets.len() {
            if let Some(orig) = packets[i].copy_of {
                let (id, seed, site) = (
                    packets[orig].packet_id.clone(),
                    packets[orig].capture_seed,
                    packets[orig].site.clone(),
                );
                packets[i].packet_id = id;
                packets[i].capture_seed = seed;
                packets[i].site = site;
            }
        }
        let stations = plan_stations(config, &tag, &population, &mut packets, &mut rng);
        Ok(World {
            batch: config.batch_id(),
            tag,
            start,
            until: config.until,
            population,
            persons,
            packets,
            stations,
        })
    }

    /// The SIAK resident whose biodata a packet carries.
    pub fn resident_of<'a>(&'a self, p: &'a PlannedPacket) -> &'a Resident {
        match &p.identity {
            Identity::Siak(r) => &self.population.residents[*r],
            Identity::Ghost(g) | Identity::Earlier(g) => g,
        }
    }

    /// The object path of a packet, relative to the store root.
    pub fn object_path(&self, p: &PlannedPacket) -> String {
        let date = self.start + Duration::days(i64::from(p.day));
        format!(
            "landing/{}/{}/{}.zip",
            p.site,
            date.format("%Y-%m-%d"),
            p.packet_id
        )
    }
}

/// Two blood relatives aged 17+ (or married) in a household: two children, else the head
/// and a child; `None` when the only adults are spouses.
fn blood_pair(population: &Population, h: usize, day: NaiveDate) -> Option<(usize, usize)> {
    let hh = &population.households[h];
    let wajib = |i: &usize| population.residents[*i].is_wajib_ktp(day);
    let children: Vec<usize> = hh
        .members()
        .filter(|i| population.residents[*i].family_relation == FamilyRelation::Child)
        .filter(wajib)
        .collect();
    match children.as_slice() {
        [a, b, ..] => Some((*a, *b)),
        [a] => Some((hh.first, *a)),
        [] => None,
    }
}

fn gen_ghost(gen: &mut Generator<'_>, r: &Resident) -> Result<Nik, SynthError> {
    gen.ghost_nik(&r.district_code, r.birth_date, r.sex)
}

/// A local time at a site on `date`.
fn local(date: NaiveDate, hour: u32, province: &str) -> DateTime<FixedOffset> {
    let offset = geography::utc_offset(province);
    let t = date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default());
    offset
        .from_local_datetime(&t)
        .single()
        .unwrap_or_else(|| offset.from_utc_datetime(&t))
}

/// Stations for every site that has packets (more for busy sites), some retired, and the
/// signer of every packet.
fn plan_stations(
    config: &SynthConfig,
    tag: &str,
    population: &Population,
    packets: &mut [PlannedPacket],
    rng: &mut ChaCha8Rng,
) -> Vec<StationPlan> {
    let mut per_site: BTreeMap<String, usize> = BTreeMap::new();
    let mut needs_retired: HashSet<String> = HashSet::new();
    for p in packets.iter() {
        *per_site.entry(p.site.clone()).or_default() += 1;
        if p.case == Plant::Bad(ReasonCode::StationRetired) {
            needs_retired.insert(p.site.clone());
        }
    }
    // An operator per site: an adult resident of that district, else anyone adult.
    let mut operator_of: BTreeMap<&str, Nik> = BTreeMap::new();
    let mut any_adult = None;
    for r in &population.residents {
        if r.age_on(config.first_day()) >= 21 {
            operator_of.entry(r.district_code.as_str()).or_insert(r.nik);
            any_adult.get_or_insert(r.nik);
        }
    }
    let fallback = any_adult.or_else(|| population.residents.first().map(|r| r.nik));
    let mut stations = Vec::new();
    let mut active_by_site: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut retired_by_site: BTreeMap<String, usize> = BTreeMap::new();
    for (site, count) in &per_site {
        let province = &site[..2];
        let compact = reference::regions::compact_code(site);
        let Some(operator) = operator_of.get(site.as_str()).copied().or(fallback) else {
            continue;
        };
        let active = 1 + (count / 150).min(3);
        let retired = usize::from(needs_retired.contains(site) || rng.gen_bool(0.05));
        for k in 0..active + retired {
            let station_id = format!("{compact}-{tag}-{:02}", k + 1);
            let from = config.first_day() - Duration::days(rng.gen_range(200..900));
            let is_retired = k >= active;
            let to = is_retired.then(|| {
                local(
                    config.first_day() - Duration::days(rng.gen_range(5..200)),
                    17,
                    province,
                )
            });
            let key_seed: [u8; 32] = Sha256::new()
                .chain_update(b"tunggal-synth-station")
                .chain_update(config.seed.to_le_bytes())
                .chain_update(station_id.as_bytes())
                .finalize()
                .into();
            let public_key = hex::encode(
                ed25519_dalek::SigningKey::from_bytes(&key_seed)
                    .verifying_key()
                    .as_bytes(),
            );
            let idx = stations.len();
            stations.push(StationPlan {
                station: Station {
                    station_id,
                    site: site.clone(),
                    public_key,
                    active_from: local(from, 8, province),
                    active_to: to,
                },
                key_seed,
                operator,
            });
            if is_retired {
                retired_by_site.insert(site.clone(), idx);
            } else {
                active_by_site.entry(site.clone()).or_default().push(idx);
            }
        }
    }
    for i in 0..packets.len() {
        if let Some(orig) = packets[i].copy_of {
            packets[i].signer = packets[orig].signer;
            continue;
        }
        let p = &mut packets[i];
        p.signer = match p.case {
            Plant::Bad(ReasonCode::UnknownStation) => {
                Signer::Unregistered(90 + rng.gen_range(0..9))
            }
            Plant::Bad(ReasonCode::StationRetired) => match retired_by_site.get(&p.site) {
                Some(&s) => Signer::Registered(s),
                None => Signer::Unregistered(99),
            },
            _ => match active_by_site.get(&p.site).and_then(|v| v.choose(rng)) {
                Some(&s) => Signer::Registered(s),
                None => Signer::Unregistered(99),
            },
        };
    }
    stations
}

/// The local capture window of a day: 08:00 + up to 7.5 h, lasting 4-12 minutes; moved back
/// whole days when it would end after `until` (a capture is never later than its upload).
pub fn capture_times(
    start: NaiveDate,
    day: u32,
    province: &str,
    capture_seed: u64,
    until: DateTime<Utc>,
) -> (DateTime<FixedOffset>, DateTime<FixedOffset>) {
    let mut rng = ChaCha8Rng::seed_from_u64(capture_seed ^ 0x7469_6d65);
    let offset = geography::utc_offset(province);
    let date = start + Duration::days(i64::from(day));
    let t = NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default()
        + Duration::seconds(rng.gen_range(0..27_000));
    let begin = offset
        .from_local_datetime(&date.and_time(t))
        .single()
        .unwrap_or_else(|| offset.from_utc_datetime(&date.and_time(t)));
    let end = begin + Duration::seconds(rng.gen_range(240..720));
    let late = end.with_timezone(&Utc) - until;
    if late > Duration::zero() {
        let back = Duration::days(late.num_seconds().div_euclid(86_400) + 1);
        return (begin - back, end - back);
    }
    (begin, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(c: &Counts) -> usize {
        c.bad_each * BAD_KINDS.len()
            + c.fraud
            + c.reenroll
            + 2 * c.twin_pairs
            + 2 * c.family_pairs
            + c.missing
            + c.poor
            + c.unique
    }

    #[test]
    fn counts_add_up_and_plant_every_kind() {
        for n in [1, 2, 10, 60, 400, 100_000] {
            let c = Counts::for_batch(n, 0.01, 0.01);
            assert_eq!(total(&c), n, "{n}");
            if n > 1 {
                assert!(c.unique >= 1, "{n}: an original is kept");
            }
        }
        let c = Counts::for_batch(400, 0.02, 0.1);
        assert!(c.bad_each >= 1 && c.fraud >= 1 && c.reenroll >= 1);
        assert!(c.twin_pairs >= 1 && c.family_pairs >= 1 && c.missing >= 1 && c.poor >= 1);
        let none = Counts::for_batch(400, 0.0, 0.0);
        assert_eq!((none.bad_each, none.fraud, none.reenroll), (0, 0, 0));
        let big = Counts::for_batch(100_000, 0.01, 0.01);
        assert_eq!(big.fraud, 1000);
        assert_eq!(big.bad_each, 77);
    }

    #[test]
    fn cross_batch_plants_target_earlier_enrollees_and_change_nothing_at_rate_zero() {
        let mut first = SynthConfig::new(60, 3);
        first.start = NaiveDate::from_ymd_opt(2026, 11, 1);
        first.until = "2026-11-20T00:00:00Z".parse().unwrap();
        let a = World::plan(&first, IdAllocator::default()).unwrap();
        let earlier: Vec<EarlierEnrollee> = a
            .packets
            .iter()
            .filter(|p| p.case == Plant::Unique)
            .map(|p| EarlierEnrollee {
                reference: EarlierRef {
                    earlier_batch: a.batch.clone(),
                    earlier_packet_id: p.packet_id.clone(),
                    earlier_person_id: a.persons[p.person].id.clone(),
                },
                lineage: a.persons[p.person].lineage,
                resident: a.resident_of(p).clone(),
            })
            .collect();
        let ids = || {
            IdAllocator::new(
                a.population.residents.iter().map(|r| r.nik).collect(),
                a.population.residents.iter().map(|r| r.kk_number).collect(),
            )
        };
        let mut second = first.clone();
        second.seed = 4;
        second.start = NaiveDate::from_ymd_opt(2026, 11, 10);
        let plain = World::plan(&second, ids()).unwrap();
        let same = World::plan_across(&second, ids(), &earlier).unwrap();
        assert_eq!(
            plain.batch, same.batch,
            "rates 0: earlier batches change nothing"
        );
        assert_eq!(plain.packets.len(), same.packets.len());
        assert!(same.packets.iter().all(|p| p.earlier.is_none()));

        second.cross_batch_duplicate_rate = 0.1;
        second.hijack_rate = 0.05;
        assert_ne!(second.batch_id(), plain.batch);
        let b = World::plan_across(&second, ids(), &earlier).unwrap();
        assert_eq!(b.packets.len(), 60);
        let of = |case| b.packets.iter().filter(move |p| p.case == case);
        assert_eq!(of(Plant::CrossBatchDuplicate).count(), 6);
        assert_eq!(of(Plant::NikHijack).count(), 3);
        let by_packet: std::collections::HashMap<_, _> = earlier
            .iter()
            .map(|e| (e.reference.earlier_packet_id.clone(), e))
            .collect();
        for p in of(Plant::CrossBatchDuplicate) {
            let e = by_packet[&p.earlier.as_ref().unwrap().earlier_packet_id];
            assert_eq!(b.persons[p.person].lineage, e.lineage, "same fingers");
            assert_eq!(b.persons[p.person].id, e.reference.earlier_person_id);
            assert_ne!(b.resident_of(p).nik, e.resident.nik, "a new NIK");
            assert!(b
                .population
                .residents
                .iter()
                .any(|r| r.nik == b.resident_of(p).nik));
        }
        for p in of(Plant::NikHijack) {
            let e = by_packet[&p.earlier.as_ref().unwrap().earlier_packet_id];
            assert_ne!(b.persons[p.person].lineage, e.lineage, "someone else");
            assert_eq!(
                b.resident_of(p),
                &e.resident,
                "the earlier resident's biodata"
            );
        }
    }

    #[test]
    fn capture_times_are_local_office_hours() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        for seed in 0..50 {
            let until = "2030-01-01T00:00:00Z".parse().unwrap();
            let (a, b) = capture_times(start, 2, "51", seed, until);
            assert_eq!(a.offset().local_minus_utc(), 8 * 3600);
            assert_eq!(a.date_naive(), start + Duration::days(2));
            let hour = a.format("%H").to_string().parse::<u32>().unwrap();
            assert!((8..16).contains(&hour));
            assert!(b > a);
        }
    }

    #[test]
    fn captures_never_end_after_until() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let until: DateTime<Utc> = "2026-11-03T03:00:00Z".parse().unwrap(); // 10:00 WIB
        for seed in 0..50 {
            let (a, b) = capture_times(start, 2, "32", seed, until);
            assert!(b.with_timezone(&Utc) <= until, "{b} after {until}");
            let hour = a.format("%H").to_string().parse::<u32>().unwrap();
            assert!((8..16).contains(&hour), "office hours kept: {a}");
        }
    }
}
