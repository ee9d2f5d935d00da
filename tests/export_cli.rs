//! End to end: `tunggal export` turns a night's personalizable identities into signed jobs
//! per regency/city, exactly once; `tunggal export check` catches tampering and names it; a
//! crash between the job files and the table commit never produces a second card.

mod common;
#[path = "support/personalization.rs"]
mod personalization;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use common::{files_under, read_csv, TestStore};
use personalization::{attacker_key_published_in, by_id, dc_keyring, prepared_store};

/// Every file under `dir` with its content, by path relative to `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|f| {
            (
                f.strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(&f).unwrap(),
            )
        })
        .collect()
}

/// Job folders (those holding a manifest.json) under the store's exports.
fn job_dirs(store: &TestStore) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = files_under(&store.path().join("exports/personalization"))
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "manifest.json"))
        .map(|f| f.parent().unwrap().to_path_buf())
        .collect();
    dirs.sort();
    dirs
}

fn card_files(store: &TestStore) -> Vec<PathBuf> {
    files_under(&store.path().join("exports/personalization"))
        .into_iter()
        .filter(|f| {
            f.parent()
                .and_then(|p| p.file_name())
                .is_some_and(|n| n == "cards")
        })
        .collect()
}

#[test]
fn export_writes_one_signed_job_per_regency_for_personalizable_identities_only_and_rerun_changes_nothing(
) {
    let (store, enrolled) = prepared_store(80, 21);
    let expected: HashSet<String> = enrolled
        .iter()
        .filter(|e| e.personalizable())
        .map(|e| e.enrollment_id.clone())
        .collect();
    assert!(
        expected.len() >= 20,
        "fixture too small: {}",
        expected.len()
    );
    let by_id = by_id(&enrolled);

    let out = store.run(&["export"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("export run"), "{stdout}");
    // No NIK and no name in the output or the logs.
    let logs = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for e in &enrolled {
        assert!(!logs.contains(&e.nik), "a NIK was logged");
    }

    // personalization_jobs: exactly the personalizable set, once each, routed by regency.
    let rows = store.query(
        "SELECT enrollment_id, job_id, regency_code, reason, file, sha256, run_id \
         FROM personalization_jobs",
    );
    let exported: HashSet<String> = rows.iter().map(|r| r["enrollment_id"].clone()).collect();
    assert_eq!(rows.len(), exported.len(), "an enrollment exported twice");
    assert_eq!(exported, expected);
    for r in &rows {
        let e = &by_id[&r["enrollment_id"]];
        assert_eq!(r["regency_code"], e.regency_code);
        let want = if e.status == lake::vocabulary::IdentityStatus::Reenrollment {
            "reissue"
        } else {
            "new"
        };
        assert_eq!(r["reason"], want, "reason of a {} enrollment", e.status);
        let file = store.path().join(&r["file"]);
        let bytes = std::fs::read(&file).expect("card file named by the row");
        assert_eq!(r["sha256"], sha256_hex(&bytes));
    }

    // One job per regency, each checks out, each card is the enrollment's face and chip.
    let regencies: HashSet<&str> = rows.iter().map(|r| r["regency_code"].as_str()).collect();
    let jobs = job_dirs(&store);
    assert_eq!(jobs.len(), regencies.len(), "one job per regency/city");
    for dir in &jobs {
        let regency = dir.parent().unwrap().file_name().unwrap().to_str().unwrap();
        assert!(regencies.contains(regency), "job for {regency}");
        let keyring = dc_keyring(&store);
        let report = store.ok(&[
            "export",
            "check",
            dir.to_str().unwrap(),
            "--keyring",
            keyring.to_str().unwrap(),
        ]);
        assert!(report.contains("OK"), "{report}");
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let cards: Vec<PathBuf> = files_under(&dir.join("cards"));
        assert_eq!(
            manifest["record_count"].as_u64().unwrap() as usize,
            cards.len()
        );
        assert!(manifest["software"]
            .as_str()
            .unwrap()
            .starts_with("tunggal "));
        for card_path in cards {
            let card: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&card_path).unwrap()).unwrap();
            let card = &card["card"];
            let e = &by_id[card["enrollment_id"].as_str().unwrap()];
            let face = &card["face"];
            assert_eq!(face["nik"], e.nik.as_str());
            assert!(face["provinsi"].as_str().unwrap().starts_with("PROVINSI "));
            let kabkota = face["kabupaten_kota"].as_str().unwrap();
            assert!(kabkota.starts_with("KABUPATEN ") || kabkota.starts_with("KOTA "));
            assert_eq!(face["berlaku_hingga"], "SEUMUR HIDUP");
            assert!(face["rt_rw"].as_str().unwrap().contains('/'));
            assert_eq!(card["chip"]["biodata"]["nik"], e.nik.as_str());
            assert!(card["chip"]["photo_jpg"].as_str().unwrap().len() > 10);
            assert!(
                !card["chip"]["right_finger"].is_null() || !card["chip"]["left_finger"].is_null()
            );
        }
    }

    // The public key is published; the private key stays outside the exported tree.
    let secret = std::fs::read_to_string(store.path().join("keys/dc-signing.key")).unwrap();
    let secret = secret.trim();
    assert_eq!(secret.len(), 64);
    let pubs = files_under(&store.path().join("exports/personalization/keys"));
    assert_eq!(pubs.len(), 1);
    for f in files_under(&store.path().join("exports")) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_string();
        assert!(!text.contains(secret), "private key inside {}", f.display());
    }

    // Site results: every deduplicated enrollee, with its result, at its own site.
    let mut fed: HashMap<String, HashMap<String, String>> = HashMap::new();
    for f in files_under(&store.path().join("exports/site-results")) {
        let site = f
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        for row in read_csv(&std::fs::read(&f).unwrap()) {
            assert_eq!(by_id[&row["enrollment_id"]].site, site);
            fed.insert(row["enrollment_id"].clone(), row);
        }
    }
    assert_eq!(fed.len(), enrolled.len());
    for e in &enrolled {
        let row = &fed[&e.enrollment_id];
        let want = match e.status.as_str() {
            "tunggal" | "reenrollment" | "cleared" => "unique",
            "ganda" | "nik_conflict" => "pending_adjudication",
            "duplicate" => "duplicate",
            _ => "referred",
        };
        assert_eq!(row["result"], want);
        assert_eq!(row["packet_id"], e.packet_id);
        assert_eq!(row["card_job_id"].is_empty(), !e.personalizable());
    }

    // Re-running changes nothing.
    let before = snapshot(&store.path().join("exports"));
    let again = store.ok(&["export"]);
    assert!(again.contains("exported       0 cards"), "{again}");
    assert_eq!(
        snapshot(&store.path().join("exports"))
            .keys()
            .collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    assert_eq!(snapshot(&store.path().join("exports")), before);
    let count = store.query("SELECT count(*) AS n FROM personalization_jobs");
    assert_eq!(count[0]["n"], rows.len().to_string());
}

#[test]
fn export_check_names_every_tampered_file_and_fails() {
    let (store, _) = prepared_store(40, 5);
    store.ok(&["export"]);
    let job = job_dirs(&store).into_iter().next().expect("a job");
    let copy = tempfile::tempdir().unwrap();
    let tampered = copy.path().join("job");
    for (rel, bytes) in snapshot(&job) {
        let to = tampered.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
    let keyring = dc_keyring(&store);
    let check = |dir: &Path| {
        store.run(&[
            "export",
            "check",
            dir.to_str().unwrap(),
            "--keyring",
            keyring.to_str().unwrap(),
        ])
    };
    assert!(check(&tampered).status.success());

    // A changed byte in a card file.
    let card = files_under(&tampered.join("cards"))[0].clone();
    let rel = format!("cards/{}", card.file_name().unwrap().to_str().unwrap());
    let mut bytes = std::fs::read(&card).unwrap();
    let at = bytes.iter().position(|b| *b == b'"').unwrap() + 1;
    bytes[at] ^= 0x01;
    std::fs::write(&card, &bytes).unwrap();
    // An edited manifest, an extra file.
    let manifest = tampered.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen("\"record_count\"", "\"record_count\" ", 1),
    )
    .unwrap();
    std::fs::write(tampered.join("cards/extra.json"), b"{}").unwrap();

    let out = check(&tampered);
    assert!(!out.status.success(), "a tampered job passed");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&format!("{rel}: SHA-256 differs")),
        "{report}"
    );
    assert!(report.contains("manifest.sig does not verify"), "{report}");
    assert!(
        report.contains("cards/extra.json is not listed"),
        "{report}"
    );

    // A missing card and a missing signature.
    std::fs::remove_file(&card).unwrap();
    std::fs::remove_file(tampered.join("manifest.sig")).unwrap();
    let report = String::from_utf8_lossy(&check(&tampered).stdout).to_string();
    assert!(
        report.contains(&format!("{rel} is listed in manifest.json but missing")),
        "{report}"
    );
    assert!(report.contains("manifest.sig is missing"), "{report}");
}

#[test]
fn a_crash_between_job_files_and_commit_never_produces_a_second_card() {
    let (store, enrolled) = prepared_store(40, 9);
    let expected: HashSet<String> = enrolled
        .iter()
        .filter(|e| e.personalizable())
        .map(|e| e.enrollment_id.clone())
        .collect();
    let crashed = std::process::Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(store.path())
        .arg("export")
        .env("TUNGGAL_FAULT_EXPORT_ABORT_BEFORE_COMMIT", "1")
        .output()
        .unwrap();
    assert!(!crashed.status.success(), "the fault did not fire");
    let jobs_after_crash = job_dirs(&store);
    assert!(!jobs_after_crash.is_empty(), "the crashed run wrote no job");
    let none = store.query("SELECT count(*) AS n FROM personalization_jobs");
    assert_eq!(none[0]["n"], "0");

    let out = store.ok(&["export"]);
    assert!(out.contains("interrupted run recovered"), "{out}");
    assert_eq!(
        job_dirs(&store),
        jobs_after_crash,
        "the crashed run's jobs were redone"
    );
    let rows = store.query("SELECT enrollment_id FROM personalization_jobs");
    let ids: HashSet<String> = rows.iter().map(|r| r["enrollment_id"].clone()).collect();
    assert_eq!(rows.len(), ids.len(), "an enrollment recorded twice");
    assert_eq!(ids, expected);
    let cards = card_files(&store);
    assert_eq!(
        cards.len(),
        expected.len(),
        "a second card file was written"
    );
    let runs = store.query("SELECT status FROM runs WHERE stage = 'export' ORDER BY started");
    assert_eq!(runs[0]["status"], "interrupted");
    assert_eq!(runs[1]["status"], "succeeded");
}

/// Issue 20's attack: a job re-sealed with an attacker's key (every card re-sealed, the
/// manifest re-hashed and re-signed) and the attacker's public key published in the store
/// where the DC publishes its own. `export check` used to fetch whatever key the manifest
/// named from the store and passed it; with the DC's keyring it fails, and without a keyring
/// it refuses to check at all.
#[test]
fn a_job_resealed_with_a_key_published_in_the_store_fails_the_check() {
    use personalization_export::card::CardRecord;
    use personalization_export::job::{JobManifest, MANIFEST, MANIFEST_SIG};

    let (store, _) = prepared_store(40, 6);
    store.ok(&["export"]);
    let job = job_dirs(&store).into_iter().next().expect("a job");
    let outside = tempfile::tempdir().unwrap();
    let attacker = attacker_key_published_in(&store, outside.path());

    let mut manifest: JobManifest =
        serde_json::from_slice(&std::fs::read(job.join(MANIFEST)).unwrap()).unwrap();
    for entry in &mut manifest.files {
        let path = job.join(&entry.path);
        let mut record = CardRecord::parse(&std::fs::read(&path).unwrap()).unwrap();
        record.card.face.nama = "NAMA PALSU".into();
        let bytes = record.card.seal(&attacker).unwrap().to_bytes().unwrap();
        entry.sha256 = sha256_hex(&bytes);
        entry.bytes = bytes.len() as u64;
        std::fs::write(&path, bytes).unwrap();
    }
    manifest.key_id = attacker.key_id().to_string();
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    std::fs::write(job.join(MANIFEST), &manifest_bytes).unwrap();
    std::fs::write(
        job.join(MANIFEST_SIG),
        attacker.sign(&manifest_bytes).to_bytes(),
    )
    .unwrap();

    let keyring = dc_keyring(&store);
    let out = store.run(&[
        "export",
        "check",
        job.to_str().unwrap(),
        "--keyring",
        keyring.to_str().unwrap(),
    ]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a job sealed by an attacker passed: {report}"
    );
    assert!(report.contains("not a trusted DC key"), "{report}");

    let out = store.run(&["export", "check", job.to_str().unwrap()]);
    assert!(!out.status.success(), "checked without a keyring");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--keyring"), "{stderr}");

    // A keyring that group or others may read or write is refused.
    let loose = outside.path().join("loose.keyring");
    std::fs::copy(&keyring, &loose).unwrap();
    set_mode(&loose, 0o644);
    let out = store.run(&[
        "export",
        "check",
        job.to_str().unwrap(),
        "--keyring",
        loose.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wider than 0600"), "{stderr}");
}

/// `export` refuses a signing key file that others may read.
#[test]
fn a_signing_key_readable_by_others_is_refused() {
    let (store, _) = prepared_store(20, 4);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("dc.key");
    personalization_export::keys::load_or_create(&key).unwrap();
    set_mode(&key, 0o644);
    let out = store.run(&["export", "--signing-key", key.to_str().unwrap()]);
    assert!(!out.status.success(), "exported with a world-readable key");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wider than 0600"), "{stderr}");
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    personalization_export::job::sha256_hex(bytes)
}

/// Issue 19: a night's export looks only at the NIKs whose statuses changed since the last
/// successful export, so a card that could not be made (its packet unreadable) must be
/// carried to the next run by name (`runs.detail.retry`): nothing changes its status, yet it
/// is tried again every night until it is exported, once.
#[test]
fn a_card_that_could_not_be_made_is_tried_again_until_it_is_exported() {
    let (store, enrolled) = prepared_store(40, 13);
    let expected: HashSet<String> = enrolled
        .iter()
        .filter(|e| e.personalizable())
        .map(|e| e.enrollment_id.clone())
        .collect();
    let victim = expected.iter().min().unwrap().clone();
    let object = store.query(&format!(
        "SELECT object_path FROM packets WHERE enrollment_id = '{victim}' AND status = 'accepted'"
    ))[0]["object_path"]
        .clone();
    let path = store.path().join(&object);
    let aside = path.with_extension("aside");
    std::fs::rename(&path, &aside).unwrap();

    let exported = |store: &TestStore| -> HashSet<String> {
        store
            .query("SELECT enrollment_id FROM personalization_jobs")
            .into_iter()
            .map(|r| r["enrollment_id"].clone())
            .collect()
    };
    let last_retry = |store: &TestStore| -> Vec<String> {
        let d = store.query(
            "SELECT detail FROM runs WHERE stage = 'export' AND status = 'succeeded' \
             ORDER BY started DESC LIMIT 1",
        )[0]["detail"]
            .clone();
        let d: serde_json::Value = serde_json::from_str(&d).unwrap();
        d["retry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    // Night 1: every card but the victim's; night 2 (nothing changed): the victim again.
    for _ in 0..2 {
        store.ok(&["export"]);
        let mut want = expected.clone();
        want.remove(&victim);
        assert_eq!(exported(&store), want);
        assert_eq!(last_retry(&store), vec![victim.clone()]);
    }
    // The packet is back: the next run exports it, though no status changed.
    std::fs::rename(&aside, &path).unwrap();
    let out = store.ok(&["export"]);
    assert!(out.contains("export run"), "{out}");
    assert_eq!(exported(&store), expected);
    assert!(last_retry(&store).is_empty());
    // And never again.
    store.ok(&["export"]);
    let rows = store.query("SELECT enrollment_id FROM personalization_jobs");
    assert_eq!(rows.len(), expected.len(), "an enrollment exported twice");
    let printables = store.query(
        "SELECT seen FROM runs WHERE stage = 'export' AND status = 'succeeded' \
         ORDER BY started DESC LIMIT 1",
    );
    assert_eq!(
        printables[0]["seen"], "0",
        "a printable left after every card was made"
    );
}
