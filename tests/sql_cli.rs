//! The analyst's `tunggal sql`: every saved query on a synthesized country answers what an
//! independent count in Rust (from synth-truth, the SIAK extract and the rows the fixture
//! planted) says it must; the shell, `-f`, `--param` and the output formats work as documented.

mod common;
#[path = "support/sql_fixture.rs"]
mod sql_fixture;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::{ok, run};
use sql_fixture::{fixture, residents, saved, site_and_day, Enrollment};

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?} is not a number", row[col]))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Expected (wajib_ktp, enrolled) per key, counted in Rust from the SIAK extract and the truth.
fn expected_coverage(
    day: NaiveDate,
    key: impl Fn(&reference::Resident) -> String,
    region: &str,
) -> BTreeMap<String, (u64, u64)> {
    let f = fixture();
    let enrolled: HashSet<&str> = f
        .enrollments
        .iter()
        .filter(|e| e.capture_finished.date_naive() <= day)
        .map(|e| e.nik.as_str())
        .collect();
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in residents(&f.root) {
        if !r.regency_code.starts_with(region) || !r.is_wajib_ktp(day) {
            continue;
        }
        let entry = out.entry(key(&r)).or_default();
        entry.0 += 1;
        entry.1 += u64::from(enrolled.contains(r.nik.as_str()));
    }
    out
}

fn check_coverage(
    rows: &[HashMap<String, String>],
    code_col: &str,
    expected: &BTreeMap<String, (u64, u64)>,
) {
    let got: BTreeMap<String, (u64, u64)> = rows
        .iter()
        .map(|r| {
            let w = num(r, "wajib_ktp") as u64;
            let n = num(r, "enrolled") as u64;
            assert!(
                close(num(r, "coverage"), n as f64 / w as f64, 1e-9),
                "{r:?}"
            );
            (r[code_col].clone(), (w, n))
        })
        .collect();
    assert_eq!(&got, expected);
    assert!(expected.values().any(|(_, n)| *n > 0), "nobody enrolled");
}

#[test]
fn coverage_by_province_matches_the_siak_extract_and_the_truth() {
    let f = fixture();
    let day = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let rows = saved(
        &f.root,
        "coverage_by_province",
        &["reference_date=2027-03-01"],
    );
    check_coverage(
        &rows,
        "province_code",
        &expected_coverage(day, |r| r.province_code.clone(), ""),
    );
    assert!(rows.iter().all(|r| !r["province"].is_empty()), "{rows:?}");

    // The default reference date is today.
    let today = Utc::now().date_naive();
    let rows = saved(&f.root, "coverage_by_province", &[]);
    check_coverage(
        &rows,
        "province_code",
        &expected_coverage(today, |r| r.province_code.clone(), ""),
    );
}

#[test]
fn coverage_by_regency_honours_the_region_parameter() {
    let f = fixture();
    let day = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    let all = expected_coverage(day, |r| r.regency_code.clone(), "");
    let rows = saved(
        &f.root,
        "coverage_by_regency",
        &["reference_date=2026-12-31"],
    );
    check_coverage(&rows, "regency_code", &all);

    let province = all.keys().next().unwrap()[..2].to_string();
    let rows = saved(
        &f.root,
        "coverage_by_regency",
        &["reference_date=2026-12-31", &format!("region={province}")],
    );
    check_coverage(
        &rows,
        "regency_code",
        &expected_coverage(day, |r| r.regency_code.clone(), &province),
    );
}

#[test]
fn sla_compliance_counts_results_within_24_hours_per_site_and_day() {
    let f = fixture();
    let results: HashMap<&str, DateTime<Utc>> = f
        .status
        .iter()
        .map(|s| (s.enrollment_id.as_str(), s.first_result_time))
        .collect();
    // (enrolled, deduplicated, within, late, pending)
    let mut expected: BTreeMap<(String, String), [u64; 5]> = BTreeMap::new();
    for e in &f.enrollments {
        let c = expected.entry((e.site.clone(), e.day.clone())).or_default();
        c[0] += 1;
        match results.get(e.enrollment_id.as_str()) {
            None => c[4] += 1,
            Some(t) => {
                c[1] += 1;
                if *t <= e.capture_finished + Duration::hours(24) {
                    c[2] += 1;
                } else {
                    c[3] += 1;
                }
            }
        }
    }
    let rows = saved(&f.root, "sla_by_service_point", &[]);
    let got: BTreeMap<(String, String), [u64; 5]> = rows
        .iter()
        .map(|r| {
            let c = ["enrolled", "deduplicated", "within_sla", "late", "pending"]
                .map(|k| num(r, k) as u64);
            if c[1] > 0 {
                assert!(
                    close(num(r, "compliance"), c[2] as f64 / c[1] as f64, 1e-9),
                    "{r:?}"
                );
                let pct = (1000.0 * c[2] as f64 / c[1] as f64).round() / 10.0;
                assert!(close(num(r, "compliance_pct"), pct, 1e-9), "{r:?}");
            }
            ((r["site"].clone(), r["day"].clone()), c)
        })
        .collect();
    assert_eq!(got, expected);
    assert!(got.values().any(|c| c[3] > 0) && got.values().any(|c| c[2] > 0));
}

fn latest_outcomes() -> HashMap<String, String> {
    let mut latest: HashMap<String, (DateTime<Utc>, String)> = HashMap::new();
    for d in &fixture().decisions {
        let entry = latest
            .entry(d.enrollment_id.clone())
            .or_insert((d.decided_time, d.outcome.to_string()));
        if d.decided_time > entry.0 {
            *entry = (d.decided_time, d.outcome.to_string());
        }
    }
    latest.into_iter().map(|(k, (_, o))| (k, o)).collect()
}

/// Expected duplicate counts per key: [deduplicated, flagged, open_ganda, open_nik_conflict,
/// duplicate, different_persons, reenrollment, refer_back].
fn expected_duplicates(key: impl Fn(&Enrollment) -> String) -> BTreeMap<String, [u64; 8]> {
    let f = fixture();
    let latest = latest_outcomes();
    let by_id: HashMap<&str, &Enrollment> = f
        .enrollments
        .iter()
        .map(|e| (e.enrollment_id.as_str(), e))
        .collect();
    let mut out: BTreeMap<String, [u64; 8]> = BTreeMap::new();
    for s in &f.status {
        let c = out.entry(key(by_id[s.enrollment_id.as_str()])).or_default();
        c[0] += 1;
        let outcome = latest.get(&s.enrollment_id).map(String::as_str);
        let flagged = outcome.is_some() || s.status == "ganda" || s.status == "nik_conflict";
        c[1] += u64::from(flagged);
        match (outcome, s.status.as_str()) {
            (None, "ganda") => c[2] += 1,
            (None, "nik_conflict") => c[3] += 1,
            (Some("duplicate"), _) => c[4] += 1,
            (Some("different_persons"), _) => c[5] += 1,
            (Some("reenrollment"), _) => c[6] += 1,
            (Some("refer_back"), _) => c[7] += 1,
            _ => {}
        }
    }
    out
}

fn check_duplicates(
    rows: &[HashMap<String, String>],
    key: &str,
    expected: &BTreeMap<String, [u64; 8]>,
) {
    let cols = [
        "deduplicated",
        "flagged",
        "open_ganda",
        "open_nik_conflict",
        "decided_duplicate",
        "decided_different_persons",
        "decided_reenrollment",
        "referred_back",
    ];
    let got: BTreeMap<String, [u64; 8]> = rows
        .iter()
        .map(|r| {
            let c = cols.map(|k| num(r, k) as u64);
            assert!(
                close(
                    num(r, "per_10k"),
                    c[1] as f64 * 10_000.0 / c[0] as f64,
                    0.005
                ),
                "{r:?}"
            );
            (r[key].clone(), c)
        })
        .collect();
    assert_eq!(&got, expected);
    let totals: Vec<u64> = (0..8).map(|i| got.values().map(|c| c[i]).sum()).collect();
    assert!(
        totals[2..].iter().all(|&t| t > 0),
        "every outcome planted: {totals:?}"
    );
}

#[test]
fn duplicates_by_region_count_flags_per_10k_with_the_latest_decision() {
    let f = fixture();
    let rows = saved(&f.root, "duplicates_by_region", &[]);
    check_duplicates(
        &rows,
        "regency_code",
        &expected_duplicates(|e| e.regency_code.clone()),
    );
}

#[test]
fn duplicates_by_service_point_count_flags_per_10k_with_the_latest_decision() {
    let f = fixture();
    let rows = saved(&f.root, "duplicates_by_service_point", &[]);
    check_duplicates(
        &rows,
        "site",
        &expected_duplicates(|e| e.enrollment_site.clone()),
    );
}

#[test]
fn reject_reasons_match_the_planted_bad_packets() {
    let f = fixture();
    let mut landed: HashMap<(String, String), u64> = HashMap::new();
    let mut rejected: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for t in &f.truth {
        let (site, day) = site_and_day(&t["object_path"]);
        *landed.entry((site.clone(), day.clone())).or_default() += 1;
        if let Some(code) = t["case"].strip_prefix("bad:") {
            *rejected.entry((site, day, code.to_string())).or_default() += 1;
        }
    }
    assert!(!rejected.is_empty());
    let rows = saved(&f.root, "reject_reasons", &[]);
    let got: BTreeMap<(String, String, String), u64> = rows
        .iter()
        .map(|r| {
            let key = (
                r["site"].clone(),
                r["day"].clone(),
                r["reason_code"].clone(),
            );
            let site_day = (key.0.clone(), key.1.clone());
            assert_eq!(num(r, "landed") as u64, landed[&site_day], "{r:?}");
            assert!(close(
                num(r, "share"),
                num(r, "rejected") / num(r, "landed"),
                1e-9
            ));
            (key, num(r, "rejected") as u64)
        })
        .collect();
    assert_eq!(got, rejected);
}

#[test]
fn adjudication_backlog_counts_open_flags_and_their_age() {
    let f = fixture();
    // Half a day after the latest flag (synth's captures end on the day it runs), to whole
    // seconds as the parameter is written.
    let latest = f.status.iter().map(|s| s.since).max().unwrap();
    let as_of_text = (latest + chrono::Duration::hours(12))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let as_of: DateTime<Utc> = as_of_text.parse().unwrap();
    let decided: HashSet<&str> = f
        .decisions
        .iter()
        .map(|d| d.enrollment_id.as_str())
        .collect();
    // status -> (open, clusters, under_24h, 1-7 days, over 7 days, max age hours)
    let mut expected: BTreeMap<String, (u64, HashSet<String>, [u64; 3], f64)> = BTreeMap::new();
    for s in &f.status {
        if !(s.status == "ganda" || s.status == "nik_conflict")
            || decided.contains(s.enrollment_id.as_str())
        {
            continue;
        }
        let e = expected.entry(s.status.to_string()).or_default();
        e.0 += 1;
        e.1.insert(s.cluster_id.clone().unwrap());
        let age = (as_of.timestamp() - s.since.timestamp()) as f64 / 3600.0;
        e.2[if age < 24.0 {
            0
        } else if age < 168.0 {
            1
        } else {
            2
        }] += 1;
        e.3 = e.3.max(age);
    }
    let rows = saved(
        &f.root,
        "adjudication_backlog",
        &[&format!("as_of={as_of_text}")],
    );
    assert_eq!(rows.len(), expected.len(), "{rows:?}");
    for r in &rows {
        let e = &expected[&r["status"]];
        assert_eq!(num(r, "open_enrollments") as u64, e.0, "{r:?}");
        assert_eq!(num(r, "open_clusters") as u64, e.1.len() as u64, "{r:?}");
        let buckets = ["under_24h", "from_1_to_7_days", "over_7_days"].map(|k| num(r, k) as u64);
        assert_eq!(buckets, e.2, "{r:?}");
        assert!(
            close(num(r, "max_age_hours"), e.3, 0.006),
            "{r:?} vs {}",
            e.3
        );
    }
}

#[test]
fn adjudication_throughput_counts_cases_per_adjudicator_and_day() {
    let f = fixture();
    let first: HashMap<&str, DateTime<Utc>> = f
        .status
        .iter()
        .map(|s| (s.enrollment_id.as_str(), s.first_result_time))
        .collect();
    #[derive(Default, Debug)]
    struct Day {
        cases: HashSet<String>,
        rows: u64,
        by_outcome: HashMap<&'static str, HashSet<String>>,
        hours: Vec<f64>,
    }
    let mut expected: BTreeMap<(String, String), Day> = BTreeMap::new();
    for d in &f.decisions {
        let day = expected
            .entry((
                d.decided_by.clone(),
                d.decided_time.date_naive().to_string(),
            ))
            .or_default();
        day.cases.insert(d.case_id.clone());
        day.rows += 1;
        let bucket = match d.outcome.as_str() {
            "duplicate" => "duplicate",
            "refer_back" => "referred",
            _ => "cleared",
        };
        day.by_outcome
            .entry(bucket)
            .or_default()
            .insert(d.case_id.clone());
        if d.fraud {
            day.by_outcome
                .entry("fraud")
                .or_default()
                .insert(d.case_id.clone());
        }
        if d.confirmed_by.is_some() {
            day.by_outcome
                .entry("confirmed")
                .or_default()
                .insert(d.case_id.clone());
        }
        day.hours.push(
            (d.decided_time.timestamp() - first[d.enrollment_id.as_str()].timestamp()) as f64
                / 3600.0,
        );
    }
    let rows = saved(&f.root, "adjudication_throughput", &[]);
    assert_eq!(rows.len(), expected.len());
    for r in &rows {
        let day = &expected[&(r["decided_by"].clone(), r["day"].clone())];
        let n = |k: &str| day.by_outcome.get(k).map_or(0, |s| s.len()) as f64;
        assert_eq!(num(r, "cases"), day.cases.len() as f64, "{r:?}");
        assert_eq!(num(r, "enrollments"), day.rows as f64, "{r:?}");
        assert_eq!(num(r, "duplicate_cases"), n("duplicate"), "{r:?}");
        assert_eq!(num(r, "cleared_cases"), n("cleared"), "{r:?}");
        assert_eq!(num(r, "referred_cases"), n("referred"), "{r:?}");
        assert_eq!(num(r, "fraud_cases"), n("fraud"), "{r:?}");
        assert_eq!(num(r, "confirmed_cases"), n("confirmed"), "{r:?}");
        let mut hours = day.hours.clone();
        hours.sort_by(f64::total_cmp);
        let mid = hours.len() / 2;
        let median = if hours.len() % 2 == 1 {
            hours[mid]
        } else {
            (hours[mid - 1] + hours[mid]) / 2.0
        };
        assert!(
            close(num(r, "median_hours_to_decision"), median, 0.006),
            "{r:?} vs {median}"
        );
    }
    let one = saved(&f.root, "adjudication_throughput", &["adjudicator=ana"]);
    assert!(!one.is_empty() && one.iter().all(|r| r["decided_by"] == "ana"));
}

#[test]
fn personalization_counts_cards_and_jobs_per_regency_and_day() {
    let f = fixture();
    // (jobs, cards, new, reissue) per (regency, day)
    type Counts = (HashSet<String>, u64, u64, u64);
    let mut expected: BTreeMap<(String, String), Counts> = BTreeMap::new();
    for j in &f.jobs {
        let e = expected
            .entry((
                j.regency_code.clone(),
                j.exported_time.date_naive().to_string(),
            ))
            .or_default();
        e.0.insert(j.job_id.clone());
        e.1 += 1;
        e.2 += u64::from(j.reason == "new");
        e.3 += u64::from(j.reason == "reissue");
    }
    let rows = saved(&f.root, "personalization_by_regency", &[]);
    let got: BTreeMap<(String, String), [u64; 4]> = rows
        .iter()
        .map(|r| {
            let key = (r["regency_code"].clone(), r["day"].clone());
            (
                key,
                ["jobs", "cards", "new_cards", "reissues"].map(|k| num(r, k) as u64),
            )
        })
        .collect();
    let want: BTreeMap<(String, String), [u64; 4]> = expected
        .into_iter()
        .map(|(k, v)| (k, [v.0.len() as u64, v.1, v.2, v.3]))
        .collect();
    assert_eq!(got, want);
    assert!(want.values().any(|v| v[3] > 0));
}

#[test]
fn match_scores_list_every_pair_above_the_threshold() {
    let f = fixture();
    let rows = saved(&f.root, "match_scores", &[]);
    assert_eq!(rows.len(), f.candidates.len());
    let rows = saved(&f.root, "match_scores", &["min_llr=12"]);
    assert_eq!(
        rows.len(),
        f.candidates.iter().filter(|c| c.llr >= 12.0).count()
    );
    assert!(rows.iter().all(|r| r["band"] == "match"));
}

#[test]
fn saved_without_a_name_lists_every_query_with_its_purpose() {
    let f = fixture();
    let listing = ok(&f.root, &["sql", "--saved"]);
    for name in [
        "coverage_by_province",
        "coverage_by_regency",
        "sla_by_service_point",
        "duplicates_by_region",
        "duplicates_by_service_point",
        "reject_reasons",
        "adjudication_backlog",
        "adjudication_throughput",
        "personalization_by_regency",
    ] {
        assert!(listing.contains(name), "{name} missing:\n{listing}");
    }
    let out = run(&f.root, &["sql", "--saved", "nope"]);
    assert!(!out.status.success());
    let out = run(
        &f.root,
        &["sql", "--saved", "reject_reasons", "--param", "colour=red"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));
}

#[test]
fn a_file_of_statements_runs_each_and_parquet_needs_an_out_file() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("q.sql");
    std::fs::write(
        &script,
        "SELECT 1 AS a;\n-- a comment; with a semicolon\nSELECT 'x;y' AS b;\n",
    )
    .unwrap();
    let text = ok(
        &f.root,
        &["sql", "-f", script.to_str().unwrap(), "--format", "csv"],
    );
    assert_eq!(text, "a\n1\nb\nx;y\n");

    assert!(!run(&f.root, &["sql", "SELECT 1", "--format", "parquet"])
        .status
        .success());
    let out = dir.path().join("packets.parquet");
    ok(
        &f.root,
        &[
            "sql",
            "SELECT status, count(*) AS n FROM packets GROUP BY status",
            "--format",
            "parquet",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    let json = ok(
        &f.root,
        &[
            "sql",
            "SELECT count(*) AS n FROM packets",
            "--format",
            "json",
        ],
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value[0]["n"], f.truth.len());
}

#[test]
fn the_lake_cannot_be_written_through_sql() {
    let f = fixture();
    let out = run(&f.root, &["sql", "DELETE FROM packets"]);
    assert!(!out.status.success());
    let n = ok(
        &f.root,
        &[
            "sql",
            "SELECT count(*) AS n FROM packets",
            "--format",
            "csv",
        ],
    );
    assert_eq!(n, format!("n\n{}\n", f.truth.len()));
}

#[test]
fn the_shell_reads_statements_and_backslash_commands_from_standard_input() {
    let f = fixture();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(&f.root)
        .args(["sql", "--format", "csv"])
        .env_remove("TUNGGAL_STORE")
        .env("TUNGGAL_SQL_HISTORY", f.root.join("history"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tunggal sql");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\\d\n\\d identity_status\nSELECT count(*)\n  AS n FROM packets;\n\\saved reject_reasons region=99\n\\q\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for table in [
        "packets",
        "enrollments",
        "residents",
        "regions",
        "match_candidates",
    ] {
        assert!(text.contains(table), "\\d misses {table}:\n{text}");
    }
    let doc = tables_md_section("identity_status");
    assert!(
        text.contains(&doc),
        "\\d identity_status is not docs/tables.md's text:\n{text}"
    );
    assert!(
        text.contains(&format!("n\n{}\n(1 row, ", f.truth.len())),
        "{text}"
    );
    assert!(
        text.contains("site,service_point,day,reason_code"),
        "{text}"
    );
}

/// The section of docs/tables.md about `table`, cut here by hand (heading to next heading).
fn tables_md_section(table: &str) -> String {
    let md =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/tables.md")).unwrap();
    let start = md.find(&format!("## `{table}`")).expect("section");
    let end = md[start + 3..]
        .find("\n## ")
        .map_or(md.len(), |i| start + 3 + i);
    md[start..end].trim_end().to_string()
}
