//! Reference data as lake tables (issue 19): `tunggal reference load` takes the SIAK extract
//! and the station registry files into `resident_history` / `station_history` once, the SQL
//! names `residents` and `stations` show the current rows, a corrected resident and a retired
//! station are history (the old row kept), loading again changes nothing, a load killed at
//! any commit and run again ends where an uninterrupted one does, and ingest checks packets
//! against the tables: the correction and the retirement decide the next day's packets.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use common::TestStore;

const SYNTH: &[&str] = &[
    "synth",
    "--people",
    "120",
    "--seed",
    "7",
    "--days",
    "2",
    "--bad-rate",
    "0.1",
    "--progress",
    "quiet",
];

fn scalar(store: &TestStore, sql: &str) -> i64 {
    store.query(sql)[0]["n"].parse().expect("integer")
}

/// The one CSV file synth wrote under `reference/<kind>/`, as (path, rows).
fn reference_file(store: &TestStore, kind: &str) -> (String, Vec<HashMap<String, String>>) {
    let files = common::files_under(&store.path().join("reference").join(kind));
    assert_eq!(files.len(), 1, "{files:?}");
    let rows = common::read_csv(&std::fs::read(&files[0]).unwrap());
    let relative = files[0]
        .strip_prefix(store.path())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    (relative, rows)
}

/// Writes rows (maps) as a headed CSV file with `columns`, in that order.
fn write_csv(path: &Path, columns: &[&str], rows: &[HashMap<String, String>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(columns).unwrap();
    for row in rows {
        w.write_record(columns.iter().map(|c| row[*c].as_str()))
            .unwrap();
    }
    w.flush().unwrap();
}

/// Number of commits in a Delta table's log.
fn versions(store: &TestStore, table: &str) -> usize {
    let log = store.path().join("lake").join(table).join("_delta_log");
    common::files_under(&log)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .count()
}

/// What the reference tables hold, to compare stores: the current views, the history tables
/// and the loaded files (less load ids and times).
fn reference_state(store: &TestStore) -> Vec<String> {
    [
        "SELECT nik, name, address, extract FROM residents ORDER BY nik",
        "SELECT station_id, site, active_to, extract FROM stations ORDER BY station_id",
        "SELECT nik, name, extract FROM resident_history ORDER BY nik, extract",
        "SELECT station_id, active_to, extract FROM station_history ORDER BY station_id, extract",
        "SELECT path, sha256, kind, file_rows FROM reference_loads ORDER BY path",
    ]
    .iter()
    .map(|q| store.ok(&["sql", q, "--format", "csv"]))
    .collect()
}

/// (status, reason code) of every recorded packet, by object path.
fn packets(store: &TestStore) -> HashMap<String, (String, String)> {
    store
        .query("SELECT object_path, status, reason_code FROM packets")
        .into_iter()
        .map(|r| {
            (
                r["object_path"].clone(),
                (r["status"].clone(), r["reason_code"].clone()),
            )
        })
        .collect()
}

/// The site folder of a landed object path (`landing/<site>/<day>/<file>`).
fn site_of(object_path: &str) -> &str {
    object_path.split('/').nth(1).unwrap()
}

#[test]
fn reference_files_load_once_keep_history_and_decide_ingest() {
    let store = TestStore::new();
    store.ok(SYNTH);
    let (siak_path, siak) = reference_file(&store, "siak");
    let (stations_path, stations) = reference_file(&store, "stations");
    let days = common::days(store.path());
    assert_eq!(days.len(), 2, "{days:?}");
    let aside = tempfile::tempdir().unwrap();
    let held_back = common::move_day(store.path(), aside.path(), &days[1], false);
    assert!(held_back > 10);

    // First load: both files, every row.
    let out = store.ok(&["reference", "load"]);
    assert!(out.contains(&format!("loaded {siak_path}")), "{out}");
    assert!(out.contains(&format!("loaded {stations_path}")), "{out}");
    assert_eq!(
        scalar(&store, "SELECT count(*) AS n FROM residents"),
        siak.len() as i64
    );
    assert_eq!(
        scalar(&store, "SELECT count(*) AS n FROM stations"),
        stations.len() as i64
    );
    assert_eq!(
        scalar(&store, "SELECT count(*) AS n FROM reference_loads"),
        2
    );
    let some = &siak[siak.len() / 2];
    let row = &store.query(&format!(
        "SELECT name, CAST(birth_date AS VARCHAR) AS birth_date, rt FROM residents \
         WHERE nik = '{}'",
        some["nik"]
    ))[0];
    assert_eq!(row["name"], some["name"]);
    assert_eq!(row["birth_date"], some["birth_date"]);
    assert_eq!(row["rt"], some["rt"]);

    // Loading the same files again changes nothing: no new version of any table.
    let tables = ["resident_history", "station_history", "reference_loads"];
    let before: Vec<usize> = tables.iter().map(|t| versions(&store, t)).collect();
    let state = reference_state(&store);
    let out = store.ok(&["reference", "load"]);
    assert!(out.contains("0 file(s) loaded, 2 already loaded"), "{out}");
    assert_eq!(
        tables
            .iter()
            .map(|t| versions(&store, t))
            .collect::<Vec<_>>(),
        before
    );
    assert_eq!(reference_state(&store), state);

    // The first day goes through the night as before: every planted outcome.
    store.ok(&["nightly", "--no-progress", "--no-maintain"]);
    let truth = store.truth();
    let recorded = packets(&store);
    let mut checked = 0;
    for t in truth
        .iter()
        .filter(|t| recorded.contains_key(&t["object_path"]))
    {
        let (status, reason) = &recorded[&t["object_path"]];
        match t["case"].strip_prefix("bad:") {
            Some(code) => assert_eq!(reason, code, "{}", t["object_path"]),
            None => assert_eq!(status, "accepted", "{} {reason}", t["object_path"]),
        }
        checked += 1;
    }
    assert_eq!(checked, recorded.len());

    // A new extract corrects one resident of the held-back day, a new registry file retires
    // every station of another site of that day.
    let held: Vec<&HashMap<String, String>> = truth
        .iter()
        .filter(|t| !recorded.contains_key(&t["object_path"]))
        .collect();
    assert_eq!(held.len(), held_back);
    let niks_held: HashMap<&str, usize> = held.iter().fold(HashMap::new(), |mut m, t| {
        *m.entry(t["nik"].as_str()).or_default() += 1;
        m
    });
    let corrected = held
        .iter()
        .find(|t| t["case"] == "unique" && niks_held[t["nik"].as_str()] == 1)
        .expect("a unique packet on the held-back day");
    let retired_site = held
        .iter()
        .map(|t| site_of(&t["object_path"]))
        .find(|s| *s != site_of(&corrected["object_path"]))
        .expect("a second site on the held-back day")
        .to_string();
    let mut fixed = siak
        .iter()
        .find(|r| r["nik"] == corrected["nik"])
        .expect("the resident is in SIAK")
        .clone();
    let old_name = fixed["name"].clone();
    fixed.insert("name".into(), format!("{old_name} Koreksi"));
    let siak_columns: Vec<&str> = reference::siak::COLUMNS.to_vec();
    // The correction file repeats an unchanged resident too: only the change is history.
    let unchanged = siak
        .iter()
        .find(|r| r["nik"] != fixed["nik"])
        .unwrap()
        .clone();
    write_csv(
        &store.path().join("reference/siak/zz-correction.csv"),
        &siak_columns,
        &[unchanged, fixed.clone()],
    );
    let retiring: Vec<HashMap<String, String>> = stations
        .iter()
        .filter(|s| s["site"] == retired_site && s["active_to"].is_empty())
        .map(|s| {
            let mut s = s.clone();
            s.insert("active_to".into(), s["active_from"].clone());
            s
        })
        .collect();
    assert!(!retiring.is_empty());
    write_csv(
        &store.path().join("reference/stations/zz-retire.csv"),
        &[
            "station_id",
            "site",
            "public_key",
            "active_from",
            "active_to",
        ],
        &retiring,
    );
    let out = store.ok(&["reference", "load"]);
    assert!(out.contains("2 file(s) loaded, 2 already loaded"), "{out}");
    assert!(
        out.contains(&format!(
            "residents: 2 read, 1 appended; stations: {} read, {} appended",
            retiring.len(),
            retiring.len()
        )),
        "{out}"
    );
    let nik = &fixed["nik"];
    assert_eq!(
        scalar(&store, "SELECT count(*) AS n FROM residents"),
        siak.len() as i64
    );
    let current = store.query(&format!(
        "SELECT name, extract FROM residents WHERE nik = '{nik}'"
    ));
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["name"], fixed["name"]);
    assert_eq!(current[0]["extract"], "reference/siak/zz-correction.csv");
    let history: BTreeSet<String> = store
        .query(&format!(
            "SELECT name FROM resident_history WHERE nik = '{nik}'"
        ))
        .into_iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(history, BTreeSet::from([old_name, fixed["name"].clone()]));
    assert_eq!(
        scalar(&store, "SELECT count(*) AS n FROM resident_history"),
        siak.len() as i64 + 1
    );
    let id = &retiring[0]["station_id"];
    let versions_of = store.query(&format!(
        "SELECT active_to IS NULL AS open FROM station_history WHERE station_id = '{id}' \
         ORDER BY loaded"
    ));
    let open: Vec<&str> = versions_of.iter().map(|r| r["open"].as_str()).collect();
    assert_eq!(open, ["true", "false"]);
    assert_eq!(
        scalar(
            &store,
            &format!(
                "SELECT count(*) AS n FROM stations WHERE site = '{retired_site}' \
                 AND active_to IS NULL"
            )
        ),
        0
    );

    // A file written again with the same bytes is not loaded again; edited in place, it is,
    // and only its changed row is appended.
    let correction = store.path().join("reference/siak/zz-correction.csv");
    let bytes = std::fs::read(&correction).unwrap();
    std::fs::write(&correction, &bytes).unwrap();
    let out = store.ok(&["reference", "load"]);
    assert!(out.contains("0 file(s) loaded, 4 already loaded"), "{out}");
    let text = String::from_utf8(bytes).unwrap();
    std::fs::write(&correction, text.replace(" Koreksi", " Koreksi Lagi")).unwrap();
    let out = store.ok(&["reference", "load"]);
    assert!(out.contains("residents: 2 read, 1 appended"), "{out}");
    assert_eq!(
        scalar(
            &store,
            &format!("SELECT count(*) AS n FROM resident_history WHERE nik = '{nik}'")
        ),
        3
    );
    assert_eq!(
        store.query(&format!("SELECT name FROM residents WHERE nik = '{nik}'"))[0]["name"],
        format!("{} Lagi", fixed["name"])
    );

    // The held-back day lands: ingest reads the tables, so the corrected name no longer
    // matches the packet and the retired stations' packets are refused; everything else is
    // decided as planted.
    common::move_day(store.path(), aside.path(), &days[1], true);
    store.ok(&["ingest", "--no-progress"]);
    let recorded = packets(&store);
    let (mut mismatched, mut retired) = (0, 0);
    for t in &held {
        let (status, reason) = &recorded[&t["object_path"]];
        let at_retired_site = site_of(&t["object_path"]) == retired_site;
        match t["case"].strip_prefix("bad:") {
            Some(code) if !at_retired_site => assert_eq!(reason, code, "{}", t["object_path"]),
            Some(_) => {}
            None if at_retired_site => {
                assert_eq!(reason, "STATION_RETIRED", "{}", t["object_path"]);
                retired += 1;
            }
            None if t["nik"] == *nik => {
                assert_eq!(reason, "BIODATA_SIAK_MISMATCH", "{}", t["object_path"]);
                mismatched += 1;
            }
            None => assert_eq!(status, "accepted", "{} {reason}", t["object_path"]),
        }
    }
    assert_eq!(mismatched, 1);
    assert!(retired >= 1);
}

#[test]
fn an_unknown_nik_is_rejected_when_nothing_was_loaded_before_ingest() {
    // No `reference load`: ingest loads the pending files itself, then checks against them.
    let store = TestStore::new();
    store.ok(SYNTH);
    store.ok(&["ingest", "--no-progress"]);
    assert_eq!(
        scalar(&store, "SELECT count(*) AS n FROM reference_loads"),
        2
    );
    let recorded = packets(&store);
    let truth = store.truth();
    assert_eq!(recorded.len(), truth.len());
    let mut unknown = 0;
    for t in &truth {
        let (status, reason) = &recorded[&t["object_path"]];
        match t["case"].strip_prefix("bad:") {
            Some(code) => {
                assert_eq!(reason, code, "{}", t["object_path"]);
                unknown += usize::from(code == "NIK_NOT_IN_SIAK");
            }
            None => assert_eq!(status, "accepted", "{} {reason}", t["object_path"]),
        }
    }
    assert!(unknown >= 1, "no unknown NIK planted");
    // Ingest again: nothing new to load, nothing new to record.
    let before = versions(&store, "reference_loads");
    store.ok(&["ingest", "--no-progress"]);
    assert_eq!(versions(&store, "reference_loads"), before);
}

#[test]
fn a_load_killed_at_any_commit_ends_as_an_uninterrupted_one_when_run_again() {
    let source = TestStore::new();
    source.ok(&["synth", "--people", "30", "--seed", "8", "--days", "1"]);
    let copy_reference = |to: &TestStore| {
        for file in common::files_under(&source.path().join("reference")) {
            let target = to.path().join(file.strip_prefix(source.path()).unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&file, &target).unwrap();
        }
        to.ok(&["init"]);
    };
    let reference = TestStore::new();
    copy_reference(&reference);
    reference.ok(&["reference", "load"]);
    let expected = reference_state(&reference);

    let mut killed = 0;
    for after in 1..=6 {
        let store = TestStore::new();
        copy_reference(&store);
        let out = common::run_killed_after(store.path(), &["reference", "load"], after);
        if out.status.success() {
            break;
        }
        killed += 1;
        store.ok(&["reference", "load"]);
        assert_eq!(reference_state(&store), expected, "killed after {after}");
        let again = store.ok(&["reference", "load"]);
        assert!(
            again.contains("0 file(s) loaded, 2 already loaded"),
            "{again}"
        );
    }
    assert!(killed >= 5, "only {killed} kills");
}

/// Residents for the chunked-load test: serials `from..to` of one district, spread over a
/// few birth dates, with a name and address that tell versions apart.
fn residents(from: u16, to: u16, tag: &str) -> Vec<reference::Resident> {
    use chrono::NaiveDate;
    use reference::civil::{BloodType, Citizenship, FamilyRelation, MaritalStatus, Religion};
    (from..to)
        .map(|serial| {
            let birth =
                NaiveDate::from_ymd_opt(1980 + i32::from(serial % 7), 3, 1 + u32::from(serial % 5))
                    .unwrap();
            let sex = if serial % 2 == 0 {
                reference::Sex::Male
            } else {
                reference::Sex::Female
            };
            reference::Resident {
                nik: reference::Nik::new("33.74.01", birth, sex, serial).unwrap(),
                kk_number: reference::KkNumber::new(
                    "33.74.01",
                    NaiveDate::from_ymd_opt(2012, 5, 1).unwrap(),
                    1 + serial / 4,
                )
                .unwrap(),
                name: format!("WARGA {serial}"),
                sex,
                birth_place: "SEMARANG".into(),
                birth_date: birth,
                blood_type: BloodType::Unknown,
                religion: Religion::Islam,
                marital_status: MaritalStatus::Kawin,
                occupation: "PETANI/PEKEBUN".into(),
                citizenship: Citizenship::Wni,
                address: format!("JL. {tag} {serial}"),
                rt: 1,
                rw: 2,
                village_code: "33.74.01.1001".into(),
                district_code: "33.74.01".into(),
                regency_code: "33.74".into(),
                province_code: "33".into(),
                mother_name: "IBU".into(),
                father_name: String::new(),
                family_relation: FamilyRelation::Head,
            }
        })
        .collect()
}

/// Writes residents as a SIAK extract file `reference/siak/NAME.csv` of the store.
fn write_extract(root: &Path, name: &str, rows: &[reference::Resident]) {
    let path = root.join(reference::siak::object_path(name));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut bytes = Vec::new();
    reference::siak::write_csv(&mut bytes, rows).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// `tunggal reference load` taking `CHUNK` SIAK rows at a time; with `kill`, aborting right
/// after that many commits.
fn chunked_load(root: &Path, kill: Option<usize>) -> std::process::Output {
    const CHUNK: &str = "1000";
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tunggal"));
    cmd.arg("--store")
        .arg(root)
        .args(["reference", "load"])
        .env_remove("TUNGGAL_STORE")
        .env("TUNGGAL_REFERENCE_CHUNK_ROWS", CHUNK);
    if let Some(commits) = kill {
        cmd.env("TUNGGAL_FAULT_ABORT_AFTER_COMMITS", commits.to_string());
    }
    cmd.output().expect("start tunggal")
}

fn chunked_load_ok(root: &Path) -> String {
    let out = chunked_load(root, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every resident row of the current view, and every history row, as text: what two stores
/// must agree on (load times and ids aside).
fn resident_state(root: &Path) -> Vec<String> {
    [
        "SELECT nik, kk_number, name, address, extract FROM residents ORDER BY nik",
        "SELECT nik, name, address, extract FROM resident_history ORDER BY nik, extract, address",
        "SELECT path, sha256, kind, file_rows, appended FROM reference_loads ORDER BY path",
    ]
    .iter()
    .map(|q| common::ok(root, &["sql", q, "--format", "csv"]))
    .collect()
}

/// The current rows the loads must leave: the last row given for each NIK, files in path
/// order, rows in file order.
fn expected_current(files: &[&[reference::Resident]]) -> HashMap<String, (String, String)> {
    let mut current = HashMap::new();
    for rows in files {
        for r in *rows {
            current.insert(
                r.nik.as_str().to_string(),
                (r.name.clone(), r.address.clone()),
            );
        }
    }
    current
}

fn current_rows(root: &Path) -> HashMap<String, (String, String)> {
    let csv_text = common::ok(
        root,
        &[
            "sql",
            "SELECT nik, name, address FROM residents",
            "--format",
            "csv",
        ],
    );
    common::read_csv(csv_text.as_bytes())
        .into_iter()
        .map(|r| (r["nik"].clone(), (r["name"].clone(), r["address"].clone())))
        .collect()
}

#[test]
fn a_siak_extract_larger_than_a_chunk_loads_as_a_whole_file_would() {
    // Load 1: one extract of 3,000 residents (three chunks and more), not in NIK order, in
    // which 40 residents come again further down with another address (the later row wins).
    let base = residents(1, 3001, "LAMA");
    let mut first: Vec<reference::Resident> = Vec::new();
    for k in 0..3000usize {
        first.push(base[(k * 1361) % 3000].clone());
    }
    first.extend(residents(1, 41, "PINDAH"));
    let store = TestStore::new();
    store.ok(&["init"]);
    write_extract(store.path(), "2026-11", &first);
    let out = chunked_load_ok(store.path());
    assert!(out.contains("residents: 3040 read, 3040 appended"), "{out}");
    let want = expected_current(&[&first]);
    assert_eq!(want.len(), 3000);
    assert_eq!(current_rows(store.path()), want);
    // One commit for the data (the other creates the table), several data files.
    assert_eq!(versions(&store, "resident_history"), 2);
    let data_files = common::files_under(&store.path().join("lake/resident_history"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .count();
    assert!(data_files >= 3, "{data_files} data files");
    // Again: nothing.
    let out = chunked_load_ok(store.path());
    assert!(out.contains("0 file(s) loaded, 1 already loaded"), "{out}");
    assert_eq!(versions(&store, "resident_history"), 2);
    let after_first = tempfile::tempdir().unwrap();
    common::copy_dir(store.path(), after_first.path());

    // Load 2, two files: `a` corrects 500 residents (50 of whom `b` gives back their row of
    // load 1: the correction is undone) and adds 1,000; `b` changes 100 of `a`'s new
    // residents again, repeats 100 unchanged, and adds 500.
    let mut a = residents(1, 501, "KOREKSI");
    a.extend(residents(3001, 4001, "BARU"));
    let mut b: Vec<reference::Resident> = base[..50].to_vec();
    b.extend(residents(3001, 3101, "BARU LAGI"));
    b.extend(residents(3101, 3201, "BARU"));
    b.extend(residents(4001, 4501, "BARU"));
    b.reverse();
    write_extract(store.path(), "2026-12-a", &a);
    write_extract(store.path(), "2026-12-b", &b);
    let out = chunked_load_ok(store.path());
    assert!(out.contains("2 file(s) loaded, 1 already loaded"), "{out}");
    assert!(
        out.contains(&format!("residents: {} read", a.len() + b.len())),
        "{out}"
    );
    assert_eq!(
        current_rows(store.path()),
        expected_current(&[&first, &a, &b])
    );
    assert_eq!(versions(&store, "resident_history"), 3);
    assert_eq!(versions(&store, "reference_loads"), 3);
    // An undone correction is current again, from the later file.
    let undone = &base[45];
    let row = &store.query(&format!(
        "SELECT address, extract FROM residents WHERE nik = '{}'",
        undone.nik.as_str()
    ))[0];
    assert_eq!(row["address"], undone.address);
    assert_eq!(row["extract"], "reference/siak/2026-12-b.csv");
    let out = chunked_load_ok(store.path());
    assert!(out.contains("0 file(s) loaded, 3 already loaded"), "{out}");
    let expected = resident_state(store.path());

    // Killed at every commit of either load and run again: the same tables.
    let mut killed = 0;
    for (load, commits) in [(1, 4), (2, 2)] {
        for after in 1..=commits {
            let again = TestStore::new();
            if load == 1 {
                again.ok(&["init"]);
                write_extract(again.path(), "2026-11", &first);
            } else {
                common::copy_dir(after_first.path(), again.path());
                write_extract(again.path(), "2026-12-a", &a);
                write_extract(again.path(), "2026-12-b", &b);
            }
            let out = chunked_load(again.path(), Some(after));
            assert!(
                !out.status.success(),
                "load {load} not killed after {after}"
            );
            killed += 1;
            chunked_load_ok(again.path());
            if load == 1 {
                write_extract(again.path(), "2026-12-a", &a);
                write_extract(again.path(), "2026-12-b", &b);
                chunked_load_ok(again.path());
            }
            let state = resident_state(again.path());
            for (got, want) in state.iter().zip(&expected) {
                let (got, want): (Vec<&str>, Vec<&str>) =
                    (got.lines().collect(), want.lines().collect());
                let missing: Vec<&&str> =
                    want.iter().filter(|l| !got.contains(l)).take(5).collect();
                let extra: Vec<&&str> = got.iter().filter(|l| !want.contains(l)).take(5).collect();
                assert!(
                    got == want,
                    "load {load} killed after {after} commits: missing {missing:?}, extra {extra:?}"
                );
            }
            let out = chunked_load_ok(again.path());
            assert!(out.contains("0 file(s) loaded, 3 already loaded"), "{out}");
        }
    }
    assert_eq!(killed, 6);
}
