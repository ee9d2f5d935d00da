//! End-to-end checks of a synth batch written to an in-memory store: determinism, additivity,
//! NIK structure, truth == landed objects, and that every planted case and bad reason is
//! present and is what a reader of the bytes and the registry would conclude.

use chrono::DateTime;
use ed25519_dalek::VerifyingKey;
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use packet::{Limits, ReasonCode};
use reference::stations::Activity;
use reference::{Resident, Station};
use std::collections::{BTreeMap, HashMap, HashSet};
use synth::plants::BAD_KINDS;
use synth::truth::TruthRow;
use synth::{ProgressMode, SynthConfig};

fn config(people: usize, seed: u64) -> SynthConfig {
    let mut c = SynthConfig::new(people, seed);
    c.days = 3;
    c.duplicate_rate = 0.02;
    c.bad_rate = 0.1;
    c.progress = ProgressMode::Quiet;
    c
}

async fn all_objects(store: &InMemory) -> BTreeMap<String, Vec<u8>> {
    let metas: Vec<_> = store.list(None).try_collect().await.unwrap();
    let mut out = BTreeMap::new();
    for m in metas {
        let bytes = store.get(&m.location).await.unwrap().bytes().await.unwrap();
        out.insert(m.location.to_string(), bytes.to_vec());
    }
    out
}

fn csv_objects<'a>(objects: &'a BTreeMap<String, Vec<u8>>, prefix: &str) -> Vec<&'a [u8]> {
    objects
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v.as_slice())
        .collect()
}

/// What ingest would decide for a packet, from the bytes and the registries only.
fn judge(
    bytes: &[u8],
    path: &str,
    seen: &mut HashMap<Vec<u8>, String>,
    stations: &HashMap<String, Station>,
    siak: &HashMap<String, Resident>,
) -> Result<(), ReasonCode> {
    let p = packet::open(bytes, &Limits::default()).map_err(|r| r.code)?;
    if let Some(first) = seen.get(&p.sha256.to_vec()) {
        if first != path {
            return Err(ReasonCode::DuplicatePacket);
        }
    }
    seen.insert(p.sha256.to_vec(), path.to_string());
    let station = stations
        .get(&p.manifest.station_id)
        .ok_or(ReasonCode::UnknownStation)?;
    let key = VerifyingKey::from_bytes(&station.public_key_bytes().unwrap()).unwrap();
    p.verify_signature(&key).map_err(|r| r.code)?;
    match station.activity_at(p.manifest.capture_started_at) {
        Activity::Active => {}
        Activity::Retired => return Err(ReasonCode::StationRetired),
        Activity::NotYetActive => return Err(ReasonCode::StationNotYetActive),
    }
    if station.site != p.manifest.site || !path.contains(&format!("/{}/", p.manifest.site)) {
        return Err(ReasonCode::SiteMismatch);
    }
    let r = siak
        .get(p.biodata.nik.as_str())
        .ok_or(ReasonCode::NikNotInSiak)?;
    if r.name != p.biodata.name || r.birth_date != p.biodata.birth_date {
        return Err(ReasonCode::BiodataSiakMismatch);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_plants_every_case_with_truthful_labels() {
    let store = InMemory::new();
    let root = Path::from("country");
    let cfg = config(400, 42);
    let summary = synth::run(&cfg, &store, &root).await.unwrap();
    assert_eq!(summary.packets, 400);
    let objects = all_objects(&store).await;

    // Registries.
    let mut siak: HashMap<String, Resident> = HashMap::new();
    for bytes in csv_objects(&objects, "country/reference/siak/") {
        for r in reference::siak::read_csv(bytes).unwrap() {
            assert!(r.nik.matches_birth_date(r.birth_date));
            assert_eq!(r.nik.sex(), r.sex);
            assert!(siak.insert(r.nik.to_string(), r).is_none(), "NIK collision");
        }
    }
    assert!(siak.len() > 400, "SIAK holds more than the enrollees");
    let start = cfg.first_day();
    assert!(
        siak.values().any(|r| !r.is_wajib_ktp(start)),
        "children present"
    );
    let mut stations = HashMap::new();
    for bytes in csv_objects(&objects, "country/reference/stations/") {
        for s in reference::stations::read_csv(bytes).unwrap() {
            stations.insert(s.station_id.clone(), s);
        }
    }
    assert!(
        stations.values().any(|s| s.active_to.is_some()),
        "some retired"
    );

    // Truth == landed objects.
    let truth_bytes = csv_objects(&objects, "country/synth-truth/enrollees/");
    assert_eq!(truth_bytes.len(), 1);
    let truth: Vec<TruthRow> = synth::truth::from_csv(truth_bytes[0]).unwrap();
    let landed: HashSet<String> = objects
        .keys()
        .filter(|k| k.starts_with("country/landing/"))
        .map(|k| k.trim_start_matches("country/").to_string())
        .collect();
    let truth_paths: HashSet<String> = truth.iter().map(|t| t.object_path.clone()).collect();
    assert_eq!(truth.len(), truth_paths.len(), "one row per object");
    assert_eq!(truth_paths, landed);

    // Every planted case and bad reason is present.
    let cases: HashSet<&str> = truth.iter().map(|t| t.case.as_str()).collect();
    for case in [
        "unique",
        "fraud_duplicate",
        "reenrollment",
        "twin",
        "family",
        "missing_fingers",
        "poor_capture",
    ] {
        assert!(cases.contains(case), "{case} missing");
    }
    for code in BAD_KINDS {
        assert!(
            cases.contains(format!("bad:{code}").as_str()),
            "{code} missing"
        );
    }

    // Each label is what the bytes and registries say.
    let mut seen = HashMap::new();
    let mut ordered: Vec<&TruthRow> = truth.iter().collect();
    ordered.sort_by_key(|t| (t.case.starts_with("bad:DUPLICATE"), t.object_path.clone()));
    for t in ordered {
        let bytes = &objects[&format!("country/{}", t.object_path)];
        let verdict = judge(bytes, &t.object_path, &mut seen, &stations, &siak);
        match t.case.strip_prefix("bad:") {
            Some(code) => assert_eq!(
                verdict.err().map(|c| c.as_str()),
                Some(code),
                "{}",
                t.object_path
            ),
            None => assert_eq!(verdict, Ok(()), "{} ({})", t.object_path, t.case),
        }
    }

    // Duplicates are the same person; twins share KK and birth date.
    let by_person: HashMap<&str, Vec<&TruthRow>> = truth.iter().fold(HashMap::new(), |mut m, t| {
        m.entry(t.person_id.as_str()).or_default().push(t);
        m
    });
    for t in truth.iter().filter(|t| t.case == "fraud_duplicate") {
        let others = &by_person[t.person_id.as_str()];
        assert!(others.iter().any(|o| o.case == "unique" && o.nik != t.nik));
        assert!(
            siak.contains_key(&t.nik),
            "fraud uses a second SIAK identity"
        );
    }
    for t in truth.iter().filter(|t| t.case == "reenrollment") {
        let others = &by_person[t.person_id.as_str()];
        assert!(others.iter().any(|o| o.case == "unique" && o.nik == t.nik));
    }
    let twins: Vec<&Resident> = truth
        .iter()
        .filter(|t| t.case == "twin")
        .map(|t| &siak[&t.nik])
        .collect();
    assert!(twins.iter().any(|a| twins
        .iter()
        .any(|b| a.nik != b.nik && a.kk_number == b.kk_number && a.birth_date == b.birth_date)));
    let mut family_by_kk: HashMap<String, Vec<&Resident>> = HashMap::new();
    for t in truth.iter().filter(|t| t.case == "family") {
        let r = &siak[&t.nik];
        family_by_kk
            .entry(r.kk_number.to_string())
            .or_default()
            .push(r);
    }
    assert!(!family_by_kk.is_empty());
    for members in family_by_kk.values() {
        assert_eq!(
            members.len(),
            2,
            "family cases come in pairs of one household"
        );
        assert!(
            members
                .iter()
                .any(|r| r.family_relation == reference::FamilyRelation::Child),
            "relatives by blood, not spouses"
        );
    }
    for t in truth.iter().filter(|t| t.case == "missing_fingers") {
        let p = packet::open(
            &objects[&format!("country/{}", t.object_path)],
            &Limits::default(),
        )
        .unwrap();
        assert!(!p.manifest.missing_fingers.is_empty());
        assert_eq!(p.fingers.len(), 10 - p.manifest.missing_fingers.len());
    }
    let capture_days: HashSet<String> = truth
        .iter()
        .map(|t| t.object_path.split('/').nth(2).unwrap().to_string())
        .collect();
    assert!(capture_days.len() >= 3);
    let first = truth.iter().find(|t| t.case == "unique").unwrap();
    let p = packet::open(
        &objects[&format!("country/{}", first.object_path)],
        &Limits::default(),
    )
    .unwrap();
    assert!(
        p.manifest.capture_started_at
            >= DateTime::parse_from_rfc3339("2026-11-01T00:00:00+09:00").unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_config_rewrites_identical_files_and_new_batches_add_without_collisions() {
    let store = InMemory::new();
    let root = Path::from("");
    let a = config(60, 1);
    synth::run(&a, &store, &root).await.unwrap();
    let first = all_objects(&store).await;
    synth::run(&a, &store, &root).await.unwrap();
    let again = all_objects(&store).await;
    let strip = |m: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        m.iter()
            .filter(|(k, _)| !k.starts_with("synth-truth/batches/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(strip(&first), strip(&again), "deterministic and idempotent");

    let mut b = config(60, 2);
    b.start = chrono::NaiveDate::from_ymd_opt(2026, 11, 8);
    synth::run(&b, &store, &root).await.unwrap();
    let both = all_objects(&store).await;
    let mut niks = HashSet::new();
    let files = csv_objects(&both, "reference/siak/");
    assert_eq!(files.len(), 2, "one extract per batch");
    for bytes in files {
        for r in reference::siak::read_csv(bytes).unwrap() {
            assert!(niks.insert(r.nik), "NIK collides across batches");
        }
    }
    assert_eq!(csv_objects(&both, "synth-truth/enrollees/").len(), 2);
    assert!(both.len() > first.len() + 60);
}
