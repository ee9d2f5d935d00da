//! The analysts' test country: a store synthesized and ingested by the real binary, plus
//! planted rows in the dedup, adjudication and export tables (`identity_status`, `clusters`,
//! `decisions`, `personalization_jobs`, `match_candidates`) written straight through the
//! lake crate, with a known pattern. The planted rows are kept in memory too, so a test can
//! compute what a saved query must answer by counting in Rust — never by running SQL.
//!
//! The binary is run through the helpers of `tests/common`, which every test file that
//! includes this one also declares (`mod common;`).
//!
//! Until the nightly dedup stage lands for every run, planting keeps these tests independent
//! of it: the store is built with `tunggal ingest` only.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use lake::tables::{
    clusters::ClusterRecord, decisions::DecisionRecord, identity_status::IdentityStatusRecord,
    match_candidates::MatchCandidateRecord, personalization_jobs::PersonalizationJobRecord,
};
use lake::vocabulary::{Band, CandidateSource, Relation};
use lake::Table;

use crate::common::{files_under, ok, read_csv};

/// One accepted enrollment as the test knows it.
#[derive(Clone, Debug)]
pub struct Enrollment {
    /// Enrollment id.
    pub enrollment_id: String,
    /// NIK in the packet.
    pub nik: String,
    /// Service point (from the landing path of the truth file).
    pub site: String,
    /// Capture day folder of the landing path.
    pub day: String,
    /// `enrollments.site` (the manifest's site).
    pub enrollment_site: String,
    /// Regency of the address.
    pub regency_code: String,
    /// Capture finished.
    pub capture_finished: DateTime<Utc>,
    /// Biological person (synth truth).
    pub person_id: String,
}

/// The store and everything planted in it.
pub struct Fixture {
    /// Store root folder.
    pub root: PathBuf,
    /// Truth rows (`synth-truth/enrollees/*.csv`).
    pub truth: Vec<HashMap<String, String>>,
    /// Accepted enrollments, sorted by id.
    pub enrollments: Vec<Enrollment>,
    /// Planted `identity_status`.
    pub status: Vec<IdentityStatusRecord>,
    /// Planted `decisions`.
    pub decisions: Vec<DecisionRecord>,
    /// Planted `personalization_jobs`.
    pub jobs: Vec<PersonalizationJobRecord>,
    /// Planted `match_candidates`.
    pub candidates: Vec<MatchCandidateRecord>,
}

/// Runs `tunggal sql --saved NAME --param … --format csv` and parses the rows.
pub fn saved(root: &Path, name: &str, params: &[&str]) -> Vec<HashMap<String, String>> {
    let mut args = vec!["sql", "--saved", name, "--format", "csv"];
    for p in params {
        args.push("--param");
        args.push(p);
    }
    read_csv(ok(root, &args).as_bytes())
}

/// The landing path's `<site>` and `<date>` folders.
pub fn site_and_day(object_path: &str) -> (String, String) {
    let parts: Vec<&str> = object_path.split('/').collect();
    (parts[1].to_string(), parts[2].to_string())
}

/// Every resident of the store's SIAK extract.
pub fn residents(root: &Path) -> Vec<reference::Resident> {
    files_under(&root.join("reference/siak"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .flat_map(|p| {
            reference::siak::read_csv(std::fs::File::open(p).expect("extract")).expect("parse")
        })
        .collect()
}

/// Base time of planted events.
pub fn t0() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 11, 4)
        .unwrap()
        .and_hms_opt(6, 0, 0)
        .unwrap()
        .and_utc()
}

/// Hours from capture to first result, by enrollment index: three within the SLA, two late.
pub const SLA_HOURS: [f64; 5] = [2.0, 10.5, 23.75, 30.0, 50.25];

/// The fixture, built once per test binary.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

fn build() -> Fixture {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tempfile::Builder::new()
        .prefix("sql-fixture-")
        .tempdir_in(&base)
        .expect("fixture dir");
    // Kept for the life of the test process (a static); removed at the next build of a
    // fixture, together with any other left behind.
    let root = dir.keep();
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            let p = entry.path();
            let stale = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("sql-fixture-"))
                && p != root
                && entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|age| age.as_secs() > 3600);
            if stale {
                let _ = std::fs::remove_dir_all(p);
            }
        }
    }

    ok(
        &root,
        &[
            "synth",
            "--people",
            "160",
            "--seed",
            "7",
            "--days",
            "3",
            "--bad-rate",
            "0.1",
            "--duplicate-rate",
            "0.08",
            "--progress",
            "quiet",
        ],
    );
    ok(&root, &["ingest", "--no-progress"]);

    let truth = crate::common::truth(&root);
    // A re-sent packet lands twice under one packet id; the accepted landing is the one
    // whose truth is not `bad:…`.
    let by_packet: HashMap<&str, &HashMap<String, String>> = truth
        .iter()
        .filter(|r| !r["case"].starts_with("bad:"))
        .map(|r| (r["packet_id"].as_str(), r))
        .collect();

    let rows = read_csv(
        ok(
            &root,
            &[
                "sql",
                "SELECT enrollment_id, packet_id, nik, site, regency_code, \
                 CAST(capture_finished AS BIGINT) AS capture_us FROM enrollments",
                "--format",
                "csv",
            ],
        )
        .as_bytes(),
    );
    let mut enrollments: Vec<Enrollment> = rows
        .iter()
        .map(|r| {
            let t = by_packet[r["packet_id"].as_str()];
            let (site, day) = site_and_day(&t["object_path"]);
            Enrollment {
                enrollment_id: r["enrollment_id"].clone(),
                nik: r["nik"].clone(),
                site,
                day,
                enrollment_site: r["site"].clone(),
                regency_code: r["regency_code"].clone(),
                capture_finished: DateTime::from_timestamp_micros(
                    r["capture_us"].parse().expect("micros"),
                )
                .expect("time"),
                person_id: t["person_id"].clone(),
            }
        })
        .collect();
    enrollments.sort_by(|a, b| a.enrollment_id.cmp(&b.enrollment_id));
    assert!(enrollments.len() > 100, "{} enrollments", enrollments.len());

    let (status, clusters, decisions, jobs) = plant_outcomes(&enrollments);
    let candidates = plant_candidates(&enrollments);

    let store = lake::Store::open_folder(&root).expect("store");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        use lake::delta::{append, overwrite};
        use lake::tables::{decisions, match_candidates, personalization_jobs, status_history};
        let history =
            status_history::rows_for(&status, &clusters, |_| None, chrono::Utc::now(), "fixture");
        overwrite(
            &store,
            Table::StatusHistory,
            vec![status_history::to_batch(&history).unwrap()],
        )
        .await
        .unwrap();
        append(
            &store,
            Table::Decisions,
            vec![decisions::to_batch(&decisions).unwrap()],
            None,
        )
        .await
        .unwrap();
        append(
            &store,
            Table::PersonalizationJobs,
            vec![personalization_jobs::to_batch(&jobs).unwrap()],
            None,
        )
        .await
        .unwrap();
        append(
            &store,
            Table::MatchCandidates,
            vec![match_candidates::to_batch(&candidates).unwrap()],
            None,
        )
        .await
        .unwrap();
    });

    Fixture {
        root,
        truth,
        enrollments,
        status,
        decisions,
        jobs,
        candidates,
    }
}

type Outcomes = (
    Vec<IdentityStatusRecord>,
    Vec<ClusterRecord>,
    Vec<DecisionRecord>,
    Vec<PersonalizationJobRecord>,
);

/// A fixed pattern by enrollment index `i`: every 10th has no result yet; results come
/// [`SLA_HOURS`]`[i % 5]` after capture; `i % 7 == 0` is ganda, `i % 7 == 3` nik_conflict,
/// `i % 11 == 5` a re-enrollment, the rest tunggal. Flagged ones with `i % 3 == 0` are
/// decided (outcome cycling through the four), those with `i % 6 == 0` after an earlier
/// decision that the later one supersedes. Every second personalizable one is exported.
fn plant_outcomes(enrollments: &[Enrollment]) -> Outcomes {
    let outcomes = [
        ("duplicate", "block"),
        ("different_persons", "proceed"),
        ("reenrollment", "proceed"),
        ("refer_back", "refer"),
    ];
    let mut status = Vec::new();
    let mut clusters = Vec::new();
    let mut decisions = Vec::new();
    let mut jobs = Vec::new();
    for (i, e) in enrollments.iter().enumerate() {
        if i % 10 == 9 {
            continue;
        }
        let hours = SLA_HOURS[i % 5];
        let result = e.capture_finished + Duration::seconds((hours * 3600.0) as i64);
        let state = if i % 7 == 0 {
            "ganda"
        } else if i % 7 == 3 {
            "nik_conflict"
        } else if i % 11 == 5 {
            "reenrollment"
        } else {
            "tunggal"
        };
        let flagged = state == "ganda" || state == "nik_conflict";
        let cluster_id = flagged.then(|| format!("cluster-{}", i % 4));
        status.push(IdentityStatusRecord {
            enrollment_id: e.enrollment_id.clone(),
            status: state.parse().expect("an identity status"),
            cluster_id: cluster_id.clone(),
            since: result,
            run_id: "run-dedup-1".into(),
            first_run_id: "run-dedup-1".into(),
            first_result_time: result,
            detail: None,
        });
        if let Some(cluster_id) = &cluster_id {
            clusters.push(ClusterRecord {
                cluster_id: cluster_id.clone(),
                enrollment_id: e.enrollment_id.clone(),
                cluster_size: 2,
                created: result,
                run_id: "run-dedup-1".into(),
            });
        }
        if let (Some(cluster_id), true) = (cluster_id.as_deref(), flagged && i % 3 == 0) {
            let (outcome, effect) = outcomes[(i / 3) % 4];
            let decided = result + Duration::hours(5 + (i % 4) as i64 * 12);
            let adjudicator = ["ana", "budi"][i % 2];
            if i % 6 == 0 {
                let (earlier, earlier_effect) = outcomes[((i / 3) + 1) % 4];
                decisions.push(decision(
                    i,
                    "a",
                    e,
                    cluster_id,
                    earlier,
                    earlier_effect,
                    adjudicator,
                    decided - Duration::hours(1),
                ));
            }
            decisions.push(decision(
                i,
                "b",
                e,
                cluster_id,
                outcome,
                effect,
                adjudicator,
                decided,
            ));
        }
        if (state == "tunggal" || state == "reenrollment") && i % 2 == 0 {
            let exported = result + Duration::days((i % 3) as i64);
            let day = exported.date_naive();
            jobs.push(PersonalizationJobRecord {
                enrollment_id: e.enrollment_id.clone(),
                job_id: format!("job-{}-{day}", e.regency_code),
                regency_code: e.regency_code.clone(),
                run_id: format!("run-export-{day}"),
                reason: if state == "reenrollment" {
                    "reissue"
                } else {
                    "new"
                }
                .into(),
                exported_time: exported,
                file: format!(
                    "exports/personalization/{}/{day}/records.jsonl",
                    e.regency_code
                ),
                sha256: "0".repeat(64),
            });
        }
    }
    (status, clusters, decisions, jobs)
}

#[allow(clippy::too_many_arguments)]
fn decision(
    i: usize,
    suffix: &str,
    e: &Enrollment,
    cluster_id: &str,
    outcome: &str,
    effect: &str,
    adjudicator: &str,
    decided: DateTime<Utc>,
) -> DecisionRecord {
    DecisionRecord {
        decision_id: format!("decision-{i}-{suffix}"),
        case_id: format!("case-{cluster_id}-{i}"),
        cluster_id: cluster_id.to_string(),
        enrollment_id: e.enrollment_id.clone(),
        outcome: outcome.parse().expect("a decision outcome"),
        effect: effect.parse().expect("a decision effect"),
        fraud: outcome == "duplicate" && i.is_multiple_of(2),
        decided_by: adjudicator.to_string(),
        decided_time: decided,
        confirmed_by: i.is_multiple_of(4).then(|| "supervisor".to_string()),
        confirmed_time: i.is_multiple_of(4).then(|| decided + Duration::minutes(30)),
        comment: "planted by the test".into(),
        exported_time: decided + Duration::minutes(45),
    }
}

/// Scored pairs: every pair of enrollments of the same person (genuine, high scores) and a
/// band of pairs of different persons (impostors, low scores), deterministic.
fn plant_candidates(enrollments: &[Enrollment]) -> Vec<MatchCandidateRecord> {
    let mut rows = Vec::new();
    let mut push = |a: &Enrollment, b: &Enrollment, llr: f64| {
        rows.push(MatchCandidateRecord {
            run_id: "run-dedup-1".into(),
            probe_id: b.enrollment_id.clone(),
            candidate_id: a.enrollment_id.clone(),
            candidate_source: CandidateSource::Gallery,
            relation: Relation::of(&a.nik, &b.nik),
            llr,
            band: if llr >= 12.0 {
                Band::Match
            } else {
                Band::Possible
            },
            finger_llr: llr * 0.7,
            iris_llr: llr * 0.3,
            fingers_compared: 10,
            irises_compared: 2,
            swapped: None,
            parts: "{}".into(),
            created: t0(),
        });
    };
    for (i, a) in enrollments.iter().enumerate() {
        for (j, b) in enrollments.iter().enumerate().skip(i + 1) {
            if a.person_id == b.person_id {
                push(a, b, 18.0 + ((i * 7 + j * 3) % 23) as f64 * 0.5);
            } else if (i * 31 + j * 17) % 97 == 0 {
                push(a, b, -4.0 + ((i * 13 + j * 5) % 29) as f64 * 0.6);
            }
        }
    }
    rows
}
