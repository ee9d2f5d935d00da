//! Fixture of the personalization tests: a synthesized, ingested store whose enrollments get
//! identity statuses written directly (as dedup would), so export can be tested on its own.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use lake::tables::identity_status::IdentityStatusRecord;
use lake::vocabulary::IdentityStatus;

use crate::common::TestStore;

/// One enrollment of the fixture with the status it was given.
#[derive(Clone, Debug)]
pub struct Enrolled {
    pub enrollment_id: String,
    pub packet_id: String,
    pub nik: String,
    pub regency_code: String,
    pub site: String,
    pub status: IdentityStatus,
}

impl Enrolled {
    /// Whether export may make a card of it.
    pub fn personalizable(&self) -> bool {
        self.status.is_personalizable()
    }
}

/// The statuses handed out in turn; every status occurs.
const CYCLE: [IdentityStatus; 10] = [
    IdentityStatus::Tunggal,
    IdentityStatus::Tunggal,
    IdentityStatus::Ganda,
    IdentityStatus::Reenrollment,
    IdentityStatus::NikConflict,
    IdentityStatus::Cleared,
    IdentityStatus::Tunggal,
    IdentityStatus::Duplicate,
    IdentityStatus::Referred,
    IdentityStatus::Tunggal,
];

/// Synthesizes `people` residents, ingests them, and gives every accepted enrollment a status
/// (in turn from [`CYCLE`]; at most one personalizable enrollment per NIK, so the expected
/// export is exactly the personalizable set).
pub fn prepared_store(people: usize, seed: u64) -> (TestStore, Vec<Enrolled>) {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        &people.to_string(),
        "--seed",
        &seed.to_string(),
        "--days",
        "1",
        "--bad-rate",
        "0.02",
    ]);
    store.ok(&["ingest", "--no-progress"]);
    let rows = store.query(
        "SELECT enrollment_id, packet_id, nik, regency_code, site FROM enrollments \
         ORDER BY enrollment_id",
    );
    let mut with_card: HashSet<String> = HashSet::new();
    let enrolled: Vec<Enrolled> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut status = CYCLE[i % CYCLE.len()];
            if status.is_personalizable() && !with_card.insert(r["nik"].clone()) {
                status = IdentityStatus::Duplicate;
            }
            Enrolled {
                enrollment_id: r["enrollment_id"].clone(),
                packet_id: r["packet_id"].clone(),
                nik: r["nik"].clone(),
                regency_code: r["regency_code"].clone(),
                site: r["site"].clone(),
                status,
            }
        })
        .collect();
    write_statuses(&store, &enrolled);
    (store, enrolled)
}

/// Overwrites `identity_status` with the given statuses (what a dedup run commits).
pub fn write_statuses(store: &TestStore, enrolled: &[Enrolled]) {
    let now = Utc::now();
    let rows: Vec<IdentityStatusRecord> = enrolled
        .iter()
        .map(|e| IdentityStatusRecord {
            enrollment_id: e.enrollment_id.clone(),
            status: e.status,
            cluster_id: None,
            since: now,
            run_id: "test-dedup".into(),
            first_run_id: "test-dedup".into(),
            first_result_time: now,
            detail: None,
        })
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let lake_store = lake::Store::open(store.path().to_str().unwrap()).unwrap();
        let history =
            lake::tables::status_history::rows_for(&rows, &[], |_| None, now, "test-dedup");
        lake::delta::overwrite(
            &lake_store,
            lake::Table::StatusHistory,
            vec![lake::tables::status_history::to_batch(&history).unwrap()],
        )
        .await
        .unwrap();
    });
}

/// Enrollments by id.
pub fn by_id(enrolled: &[Enrolled]) -> HashMap<String, Enrolled> {
    enrolled
        .iter()
        .map(|e| (e.enrollment_id.clone(), e.clone()))
        .collect()
}

/// The DC's keyring as the test hands it to `export check` and `verify`: the one-key keyring
/// `<store>/keys/dc-signing.key.pub` that the first export wrote (mode 0600) beside its key.
pub fn dc_keyring(store: &TestStore) -> std::path::PathBuf {
    store.path().join("keys/dc-signing.key.pub")
}

/// An attacker's Ed25519 key (a fresh key file in `dir`), with its public key published in
/// the store under `exports/personalization/keys/` exactly where the DC publishes its own.
pub fn attacker_key_published_in(
    store: &TestStore,
    dir: &std::path::Path,
) -> personalization_export::keys::DcKey {
    let key = personalization_export::keys::load_or_create(&dir.join("attacker.key")).unwrap();
    let published = store
        .path()
        .join(format!("exports/personalization/keys/{}.pub", key.key_id()));
    std::fs::create_dir_all(published.parent().unwrap()).unwrap();
    let hex: String = key
        .verifying_key()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(published, format!("{hex}\n")).unwrap();
    key
}
