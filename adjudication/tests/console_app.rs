//! The console as an actix app, driven through its HTTP interface: authentication, CSRF,
//! roles, the four-eyes rule, claim locking, idempotent case creation and the exactly-once
//! decision export.
//!
//! Fixture: one synthetic country (synth plants fraud duplicates: one person under two NIKs),
//! ingested into a lake; clusters are planted from synth's truth (dedup's job in production).
//! Each test gets its own case store on that one lake.

use std::path::PathBuf;
use std::sync::OnceLock;

use actix_web::cookie::Cookie;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test as atest;
use actix_web::App;
use adjudication::store::{
    AuditAction, CaseState, CaseStore, DecisionInput, DecisionState, Verdict,
};
use adjudication::web::{self, ConsoleConfig};
use adjudication::Role;
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough password";

struct Lake {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

/// The shared lake: synth + ingest + planted clusters, built once per test binary.
fn lake() -> &'static Lake {
    static LAKE: OnceLock<Lake> = OnceLock::new();
    LAKE.get_or_init(|| {
        std::thread::spawn(|| {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let store = lake::Store::open_folder(dir.path()).unwrap();
                let mut config = synth::SynthConfig::new(60, 7);
                config.duplicate_rate = 0.08;
                config.bad_rate = 0.0;
                config.progress = synth::ProgressMode::Quiet;
                synth::run(
                    &config,
                    store.objects().as_ref(),
                    &synth::object_store::path::Path::from(""),
                )
                .await
                .unwrap();
                let options = ingest::IngestOptions {
                    progress_bar: false,
                    ..Default::default()
                };
                ingest::ingest(&store, &options).await.unwrap();
                let clusters = evaluation::plant::plant_from_synth_truth(&store)
                    .await
                    .unwrap();
                assert!(
                    clusters.len() >= 2,
                    "synth planted too few duplicates: {clusters:?}"
                );
                Lake {
                    root: dir.path().to_path_buf(),
                    _dir: dir,
                }
            })
        })
        .join()
        .unwrap()
    })
}

struct Console {
    store: lake::Store,
    cases: CaseStore,
    data: actix_web::web::Data<web::AppState>,
    _db: tempfile::TempDir,
}

async fn console(config: ConsoleConfig) -> Console {
    let lake = lake();
    let store = lake::Store::open_folder(&lake.root).unwrap();
    let db = tempfile::tempdir().unwrap();
    let cases = CaseStore::open(&db.path().join("cases.sqlite")).unwrap();
    let summary = adjudication::lakeview::sync_with(&store, &cases)
        .await
        .unwrap();
    assert!(summary.cases.created >= 2);
    for (name, role) in [
        ("adi", Role::Adjudicator),
        ("budi", Role::Adjudicator),
        ("sari", Role::Supervisor),
        ("tono", Role::Auditor),
    ] {
        cases.add_user(name, role, PASSWORD).unwrap();
    }
    let data = web::state(store.clone(), cases.clone(), config);
    Console {
        store,
        cases,
        data,
        _db: db,
    }
}

async fn app(
    c: &Console,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    atest::init_service(
        App::new()
            .app_data(c.data.clone())
            .wrap(web::security_headers())
            .wrap(actix_web::middleware::from_fn(web::i18n::localise_errors))
            .configure(web::routes),
    )
    .await
}

/// An API session: its cookie and CSRF token.
#[derive(Clone)]
struct Who {
    cookie: Cookie<'static>,
    csrf: String,
}

async fn login<S>(app: &S, user: &str) -> Who
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let resp = atest::call_service(
        app,
        atest::TestRequest::post()
            .uri("/api/login")
            .set_json(json!({ "username": user, "password": PASSWORD }))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "login of {user}");
    let cookie = resp
        .response()
        .cookies()
        .find(|c| c.name() == web::SESSION_COOKIE)
        .expect("session cookie")
        .into_owned();
    assert!(cookie.http_only().unwrap_or(false));
    assert!(cookie.secure().unwrap_or(false));
    let body: Value = atest::read_body_json(resp).await;
    Who {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_string(),
    }
}

async fn post<S>(app: &S, who: &Who, uri: &str, body: Value) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let resp = atest::call_service(
        app,
        atest::TestRequest::post()
            .uri(uri)
            .cookie(who.cookie.clone())
            .insert_header((web::CSRF_HEADER, who.csrf.clone()))
            .set_json(body)
            .to_request(),
    )
    .await;
    let status = resp.status();
    let body = atest::read_body(resp).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn get<S>(app: &S, who: Option<&Who>, uri: &str) -> (StatusCode, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let mut req = atest::TestRequest::get().uri(uri);
    if let Some(w) = who {
        req = req.cookie(w.cookie.clone());
    }
    let resp = atest::call_service(app, req.to_request()).await;
    let status = resp.status();
    let body = atest::read_body(resp).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn first_case(c: &Console) -> String {
    c.cases.queue(&Default::default(), 10).unwrap()[0]
        .case_id
        .clone()
}

#[actix_web::test]
async fn a_logged_out_user_sees_nothing() {
    let c = console(ConsoleConfig::default()).await;
    let app = app(&c).await;
    let case = first_case(&c);
    let member = c.cases.case(&case).unwrap().members[0]
        .enrollment_id
        .clone();
    for uri in [
        "/queue".to_string(),
        format!("/cases/{case}"),
        format!("/cases/{case}/image/{member}/photo"),
        "/audit".to_string(),
        "/audit/export.csv".to_string(),
    ] {
        let (status, body) = get(&app, None, &uri).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{uri}");
        assert!(body.is_empty(), "{uri} leaked a body");
    }
    for uri in [
        "/api/cases".to_string(),
        format!("/api/cases/{case}"),
        "/api/audit".into(),
        "/api/me".into(),
    ] {
        let (status, body) = get(&app, None, &uri).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(!body.contains(&member), "{uri} leaked data");
    }
    // A forged or stale session cookie is no better than none.
    let forged = Who {
        cookie: Cookie::new(web::SESSION_COOKIE, "forged"),
        csrf: "x".into(),
    };
    assert_eq!(
        get(&app, Some(&forged), "/api/cases").await.0,
        StatusCode::UNAUTHORIZED
    );
    // After logout the old cookie is dead.
    let adi = login(&app, "adi").await;
    assert_eq!(get(&app, Some(&adi), "/api/cases").await.0, StatusCode::OK);
    assert_eq!(
        post(&app, &adi, "/api/logout", json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, Some(&adi), "/api/cases").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn posts_without_the_csrf_token_are_refused() {
    let c = console(ConsoleConfig::default()).await;
    let app = app(&c).await;
    let case = first_case(&c);
    let adi = login(&app, "adi").await;
    // API without the header, and with a wrong one.
    for header in [None, Some("wrong")] {
        let mut req = atest::TestRequest::post()
            .uri(&format!("/api/cases/{case}/claim"))
            .cookie(adi.cookie.clone());
        if let Some(h) = header {
            req = req.insert_header((web::CSRF_HEADER, h));
        }
        let resp = atest::call_service(&app, req.to_request()).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    // HTML form without the field.
    let resp = atest::call_service(
        &app,
        atest::TestRequest::post()
            .uri(&format!("/cases/{case}/claim"))
            .cookie(adi.cookie.clone())
            .set_form([("comment", "x")])
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // The login form without its double-submit cookie.
    let resp = atest::call_service(
        &app,
        atest::TestRequest::post()
            .uri("/login")
            .set_form([("username", "adi"), ("password", PASSWORD), ("csrf", "abc")])
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Nothing was claimed.
    assert_eq!(c.cases.case(&case).unwrap().claimed_by, None);
    // With the token, the same claim works.
    let (status, _) = post(&app, &adi, &format!("/api/cases/{case}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn an_auditor_cannot_decide_but_reads_the_audit_trail() {
    let c = console(ConsoleConfig::default()).await;
    let app = app(&c).await;
    let case = first_case(&c);
    let tono = login(&app, "tono").await;
    let (status, _) = post(&app, &tono, &format!("/api/cases/{case}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let decision = json!({ "outcome": "different_persons", "comment": "looks different" });
    let (status, _) = post(&app, &tono, &format!("/api/cases/{case}/decide"), decision).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(c.cases.decisions_of(&case).unwrap().is_empty());
    // Auditors may look at a case (and that look is audited) and read the trail.
    assert_eq!(
        get(&app, Some(&tono), &format!("/api/cases/{case}"))
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = get(&app, Some(&tono), "/api/audit").await;
    assert_eq!(status, StatusCode::OK);
    let trail: Value = serde_json::from_str(&body).unwrap();
    assert!(trail
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "case_view"
            && e["username"] == "tono"
            && e["case_id"] == case.as_str()));
    let (status, csv) = get(&app, Some(&tono), "/audit/export.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with("seq,time,username,action"));
    // Adjudicators do not read the audit trail.
    let adi = login(&app, "adi").await;
    assert_eq!(
        get(&app, Some(&adi), "/api/audit").await.0,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn an_adjudicator_cannot_confirm_their_own_decision_and_a_second_one_makes_it_final() {
    let c = console(ConsoleConfig::default()).await;
    let app = app(&c).await;
    let case = first_case(&c);
    let members = c.cases.case(&case).unwrap().members;
    let keep = members[0].enrollment_id.clone();
    let adi = login(&app, "adi").await;
    let budi = login(&app, "budi").await;

    // Deciding needs the claim, and a comment.
    let dup = json!({ "outcome": "duplicate", "keep_enrollment_id": keep, "fraud": true, "comment": "same fingers, two NIKs" });
    let (status, _) = post(
        &app,
        &adi,
        &format!("/api/cases/{case}/decide"),
        dup.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "decide without claim");
    assert_eq!(
        post(&app, &adi, &format!("/api/cases/{case}/claim"), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let (status, _) = post(
        &app,
        &adi,
        &format!("/api/cases/{case}/decide"),
        json!({ "outcome": "duplicate", "keep_enrollment_id": keep, "comment": "  " }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "comment required");
    let (status, d) = post(&app, &adi, &format!("/api/cases/{case}/decide"), dup).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["state"], "pending");
    assert_eq!(
        c.cases.case(&case).unwrap().state,
        CaseState::PendingConfirmation
    );

    // The decider can neither claim it for confirmation nor confirm it.
    assert_eq!(
        post(&app, &adi, &format!("/api/cases/{case}/claim"), json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&app, &adi, &format!("/api/cases/{case}/confirm"), json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // A second adjudicator confirms: final, and written to the lake.
    assert_eq!(
        post(&app, &budi, &format!("/api/cases/{case}/claim"), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let (status, d) = post(
        &app,
        &budi,
        &format!("/api/cases/{case}/confirm"),
        json!({ "comment": "agreed" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["state"], "final");
    assert_eq!(d["confirmed_by"], "budi");
    assert!(d["exported_time"].is_i64(), "exported when final: {d}");
    assert_eq!(c.cases.case(&case).unwrap().state, CaseState::Decided);

    let ctx = lake::lake_context(&c.store).await.unwrap();
    let rows = lake::query::rows(
        &ctx,
        &format!("SELECT * FROM decisions WHERE case_id = '{case}'"),
        lake::tables::decisions::from_batch,
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), members.len());
    for r in &rows {
        let effect = if r.enrollment_id == keep {
            lake::vocabulary::Effect::Proceed
        } else {
            lake::vocabulary::Effect::Block
        };
        assert_eq!(r.effect, effect);
        assert_eq!(r.confirmed_by.as_deref(), Some("budi"));
    }
    // The nightly's sync finds nothing left to export.
    let again = adjudication::lakeview::sync_with(&c.store, &c.cases)
        .await
        .unwrap();
    assert_eq!(again.decisions_exported, 0);
}

#[actix_web::test]
async fn a_supervisor_rejects_a_decision_and_the_case_returns_to_the_queue() {
    let c = console(ConsoleConfig::default()).await;
    let app = app(&c).await;
    let case = first_case(&c);
    let adi = login(&app, "adi").await;
    let sari = login(&app, "sari").await;
    post(&app, &adi, &format!("/api/cases/{case}/claim"), json!({})).await;
    let (s, _) = post(
        &app,
        &adi,
        &format!("/api/cases/{case}/decide"),
        json!({ "outcome": "refer_back", "fraud": true, "comment": "photo unclear" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    post(&app, &sari, &format!("/api/cases/{case}/claim"), json!({})).await;
    let (s, _) = post(&app, &sari, &format!("/api/cases/{case}/reject"), json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "rejecting needs a comment");
    let (s, d) = post(
        &app,
        &sari,
        &format!("/api/cases/{case}/reject"),
        json!({ "comment": "no fraud here" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(d["state"], "rejected");
    assert_eq!(c.cases.case(&case).unwrap().state, CaseState::Open);
}

#[actix_web::test]
async fn concurrent_claims_give_the_case_to_exactly_one_adjudicator() {
    let c = console(ConsoleConfig::default()).await;
    let case = first_case(&c);
    let users: Vec<String> = (0..8).map(|i| format!("adj{i}")).collect();
    for u in &users {
        c.cases.add_user(u, Role::Adjudicator, PASSWORD).unwrap();
    }
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(users.len()));
    let handles: Vec<_> = users
        .iter()
        .map(|u| {
            let (cases, case, barrier) = (c.cases.clone(), case.clone(), barrier.clone());
            let user = adjudication::store::User {
                username: u.clone(),
                role: Role::Adjudicator,
                disabled: false,
            };
            std::thread::spawn(move || {
                barrier.wait();
                cases.claim(&user, &case, 600, "test").is_ok()
            })
        })
        .collect();
    let wins = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|w| *w)
        .count();
    assert_eq!(wins, 1);
    let holder = c.cases.case(&case).unwrap().claimed_by.unwrap();
    assert!(users.contains(&holder));

    // Over HTTP too: the second adjudicator is told who holds it.
    let app = app(&c).await;
    let other = c.cases.queue(&Default::default(), 10).unwrap()[1]
        .case_id
        .clone();
    let adi = login(&app, "adi").await;
    let budi = login(&app, "budi").await;
    assert_eq!(
        post(&app, &adi, &format!("/api/cases/{other}/claim"), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = post(&app, &budi, &format!("/api/cases/{other}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().unwrap().contains("adi"));
    // Releasing frees it.
    post(
        &app,
        &adi,
        &format!("/api/cases/{other}/release"),
        json!({}),
    )
    .await;
    assert_eq!(
        post(&app, &budi, &format!("/api/cases/{other}/claim"), json!({}))
            .await
            .0,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn a_claim_times_out() {
    let c = console(ConsoleConfig {
        claim_seconds: 0,
        ..Default::default()
    })
    .await;
    let app = app(&c).await;
    let case = first_case(&c);
    let adi = login(&app, "adi").await;
    let budi = login(&app, "budi").await;
    assert_eq!(
        post(&app, &adi, &format!("/api/cases/{case}/claim"), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    // adi's claim expired at once: budi may take the case, and adi can no longer decide it.
    assert_eq!(
        post(&app, &budi, &format!("/api/cases/{case}/claim"), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let (s, _) = post(
        &app,
        &adi,
        &format!("/api/cases/{case}/decide"),
        json!({ "outcome": "different_persons", "comment": "x" }),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[actix_web::test]
async fn logins_are_rate_limited_and_sessions_expire() {
    let c = console(ConsoleConfig {
        session_seconds: 0,
        ..Default::default()
    })
    .await;
    let app = app(&c).await;
    for _ in 0..5 {
        let resp = atest::call_service(
            &app,
            atest::TestRequest::post()
                .uri("/api/login")
                .set_json(json!({ "username": "budi", "password": "wrong password!" }))
                .to_request(),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = atest::call_service(
        &app,
        atest::TestRequest::post()
            .uri("/api/login")
            .set_json(json!({ "username": "budi", "password": PASSWORD }))
            .to_request(),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    // A session of zero seconds is dead on arrival.
    let (token, _) = c.cases.login("adi", PASSWORD, "test", 0).unwrap();
    assert!(c.cases.session(&token).unwrap().is_none());
    // Disabled users cannot log in.
    c.cases.disable_user("sari").unwrap();
    assert!(c.cases.login("sari", PASSWORD, "test", 60).is_err());
}

#[actix_web::test]
async fn case_creation_is_idempotent_and_decisions_are_exported_exactly_once() {
    let c = console(ConsoleConfig::default()).await;
    let before = c.cases.queue(&Default::default(), 1000).unwrap();
    let again = adjudication::lakeview::sync_with(&c.store, &c.cases)
        .await
        .unwrap();
    assert_eq!(again.cases.created, 0);
    assert_eq!(again.cases.existing, before.len());
    assert_eq!(again.cases.superseded, 0);
    let after = c.cases.queue(&Default::default(), 1000).unwrap();
    let ids = |v: &[adjudication::store::CaseSummary]| {
        v.iter().map(|c| c.case_id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&before), ids(&after));

    // A decision made in the case store alone (console down before export) goes out with the
    // next sync, once.
    let case = &before[0].case_id;
    let adi = adjudication::store::User {
        username: "adi".into(),
        role: Role::Adjudicator,
        disabled: false,
    };
    c.cases.claim(&adi, case, 600, "test").unwrap();
    let d = c
        .cases
        .decide(
            &adi,
            case,
            &DecisionInput {
                outcome: "different_persons".into(),
                keep_enrollment_id: None,
                fraud: false,
                comment: "twins".into(),
            },
            "test",
        )
        .unwrap();
    // Releasing every member takes a second person.
    assert_eq!(d.state, DecisionState::Pending);
    let budi = adjudication::store::User {
        username: "budi".into(),
        role: Role::Adjudicator,
        disabled: false,
    };
    c.cases.claim(&budi, case, 600, "test").unwrap();
    let d = c
        .cases
        .confirm(&budi, case, Verdict::Confirm, "agreed", "test")
        .unwrap();
    assert_eq!(d.state, DecisionState::Final);
    let db_path = c.cases.path().to_path_buf();
    let first = adjudication::sync(&c.store, &db_path).await.unwrap();
    assert_eq!(first.decisions_exported, 1);
    let second = adjudication::sync(&c.store, &db_path).await.unwrap();
    assert_eq!(second.decisions_exported, 0);
    let ctx = lake::lake_context(&c.store).await.unwrap();
    let effects = lake::query::texts(
        &ctx,
        &format!(
            "SELECT effect FROM decisions WHERE decision_id = '{}'",
            d.decision_id
        ),
        "effect",
    )
    .await
    .unwrap();
    assert_eq!(effects.len(), before[0].members.len());
    assert!(effects
        .iter()
        .all(|e| lake::vocabulary::Effect::Proceed == e.as_str()));
}

#[actix_web::test]
async fn the_case_page_shows_records_scores_and_the_minutiae_overlay_and_is_audited() {
    let c = console(ConsoleConfig::default()).await;
    let app = app(&c).await;
    let case = first_case(&c);
    let member = c.cases.case(&case).unwrap().members[1]
        .enrollment_id
        .clone();
    let adi = login(&app, "adi").await;
    let (status, html) = get(&app, Some(&adi), &format!("/cases/{case}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<svg"), "overlay drawn");
    assert!(html.contains("class=\"pair\""), "paired minutiae joined");
    assert!(html.contains("class=\"matrix\""));
    assert!(
        html.contains("tr class=\"differs\""),
        "differing biodata marked"
    );
    // In Bahasa Indonesia by default, with numbers for people: the planted pair's fused
    // score (40.0) to one decimal with a decimal comma, the run's threshold beside it,
    // region names beside codes, capture times in the site's zone and UTC.
    assert!(html.contains("Riwayat NIK"), "Indonesian case page");
    assert!(html.contains("<html lang=\"id\">"));
    assert!(
        html.contains("data-score=\"40.0\">40,0</strong>"),
        "score to one decimal"
    );
    assert!(
        html.contains("ambang ganda ≥ "),
        "threshold beside the score"
    );
    assert!(!html.contains("115.90272521972656") && !html.contains("Hamming distance (norm.)"));
    let summary = c.cases.case(&case).unwrap();
    let province = adjudication::present::region(&summary.province_code);
    assert!(province.len() > 3, "{province}");
    assert!(html.contains(&province), "province name beside its code");
    assert!(
        [" WIB (", " WITA (", " WIT ("]
            .iter()
            .any(|z| html.contains(z)),
        "times in WIB/WITA/WIT"
    );
    // A planted fraud duplicate: same fingers, so the best cell is high.
    let (_, body) = get(&app, Some(&adi), &format!("/api/cases/{case}")).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let best = v["evidence"]["pairs"][0]["overlays"][0]["score"]
        .as_f64()
        .unwrap();
    assert!(best > 0.1, "best finger pair similarity {best}");
    // Images are served and their views audited.
    let (status, _) = get(
        &app,
        Some(&adi),
        &format!("/cases/{case}/image/{member}/photo"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(
        &app,
        Some(&adi),
        &format!("/cases/{case}/image/not-a-member/photo"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let trail = c
        .cases
        .audit_trail(0, 1000, Some(&case), Some("adi"))
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"case_view"), "{actions:?}");
    assert!(actions.contains(&"image_view"), "{actions:?}");
    // The OpenAPI description is served.
    let (status, yaml) = get(&app, None, "/api/openapi.yaml").await;
    assert_eq!(status, StatusCode::OK);
    assert!(yaml.contains("/api/cases/{case_id}/decide"));
}

#[test]
fn the_audit_trail_is_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.sqlite");
    let cases = CaseStore::open(&path).unwrap();
    cases
        .audit(
            Some("adi"),
            AuditAction::CaseView,
            Some("c1"),
            None,
            None,
            "test",
        )
        .unwrap();
    let conn = rusqlite_connection(&path);
    assert!(conn.execute("UPDATE audit SET username = 'x'", []).is_err());
    assert!(conn.execute("DELETE FROM audit", []).is_err());
    assert_eq!(cases.audit_trail(0, 10, None, None).unwrap().len(), 1);
}

#[actix_web::test]
async fn the_audit_trail_is_exported_to_the_lake_exactly_once() {
    let c = console(ConsoleConfig::default()).await;
    let case = first_case(&c);
    // A client address only this test uses: the lake is shared by every test of this file.
    let addr = format!("audit-export-{}", c.cases.store_id().unwrap());
    c.cases
        .audit(
            Some("adi"),
            AuditAction::CaseView,
            Some(&case),
            None,
            None,
            &addr,
        )
        .unwrap();
    c.cases
        .audit(
            Some("budi"),
            AuditAction::ImageView,
            Some(&case),
            Some("photo"),
            None,
            &addr,
        )
        .unwrap();
    c.cases
        .audit(
            Some("nobody"),
            AuditAction::LoginFailed,
            None,
            None,
            None,
            &addr,
        )
        .unwrap();
    let trail = c.cases.audit_trail(0, 1000, None, None).unwrap();
    let ours: Vec<i64> = trail
        .iter()
        .filter(|e| e.remote_addr.as_deref() == Some(addr.as_str()))
        .map(|e| e.seq)
        .collect();
    assert_eq!(ours.len(), 3);
    let db_path = c.cases.path().to_path_buf();
    let first = adjudication::sync(&c.store, &db_path).await.unwrap();
    assert_eq!(first.audit_exported, trail.len());
    let second = adjudication::sync(&c.store, &db_path).await.unwrap();
    assert_eq!(second.audit_exported, 0);
    // A crash between the lake commit and the watermark: the next sync reads the lake's
    // application transaction back and writes nothing twice.
    c.cases
        .audit(
            Some("sari"),
            AuditAction::AuditView,
            None,
            None,
            None,
            &addr,
        )
        .unwrap();
    let watermark = c.cases.audit_exported_up_to().unwrap();
    let third = adjudication::sync(&c.store, &db_path).await.unwrap();
    assert_eq!(third.audit_exported, 1);
    rusqlite_connection(&db_path)
        .execute(
            "UPDATE audit_export SET up_to = ?1",
            rusqlite::params![watermark],
        )
        .unwrap();
    let fourth = adjudication::sync(&c.store, &db_path).await.unwrap();
    assert_eq!(fourth.audit_exported, 0);
    assert!(c.cases.audit_exported_up_to().unwrap() > watermark);
    let ctx = lake::lake_context(&c.store).await.unwrap();
    let rows = lake::query::rows(
        &ctx,
        &format!("SELECT * FROM audit WHERE remote_addr = '{addr}' ORDER BY seq"),
        lake::tables::audit::from_batch,
    )
    .await
    .unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs.len(), 4, "each entry exactly once: {seqs:?}");
    assert_eq!(&seqs[..3], &ours[..]);
    assert_eq!(rows[0].username.as_deref(), Some("adi"));
    assert_eq!(rows[0].role.as_deref(), Some("adjudicator"));
    assert_eq!(rows[0].action, "case_view");
    assert_eq!(rows[0].case_id.as_deref(), Some(case.as_str()));
    assert_eq!(rows[2].action, "login_failed");
    assert_eq!(rows[2].role, None);
    assert_eq!(rows[3].role.as_deref(), Some("supervisor"));
}

fn rusqlite_connection(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

/// The attack (issue 20): `different_persons` on a `ganda` case was final at once, and a
/// reviewer who rejected a decision could re-claim the case and decide it alone. Now every
/// release of a held enrollment, and every decision by someone who took part in a rejected
/// decision, waits for a second person.
#[actix_web::test]
async fn releasing_a_held_enrollment_or_overruling_a_decision_takes_two_people() {
    let c = console(ConsoleConfig::default()).await;
    let case = first_case(&c);
    let user = |name: &str| adjudication::store::User {
        username: name.into(),
        role: Role::Adjudicator,
        disabled: false,
    };
    let (adi, budi) = (user("adi"), user("budi"));
    let decide = |who: &adjudication::store::User, outcome: &str| {
        c.cases.decide(
            who,
            &case,
            &DecisionInput {
                outcome: outcome.into(),
                keep_enrollment_id: None,
                fraud: false,
                comment: "reviewed".into(),
            },
            "test",
        )
    };
    c.cases.claim(&adi, &case, 600, "test").unwrap();
    let d = decide(&adi, "different_persons").unwrap();
    assert_eq!(d.state, DecisionState::Pending, "released everyone alone");
    // budi rejects adi's decision, claims the case again and decides it himself.
    c.cases.claim(&budi, &case, 600, "test").unwrap();
    c.cases
        .confirm(&budi, &case, Verdict::Reject, "not convinced", "test")
        .unwrap();
    c.cases.claim(&budi, &case, 600, "test").unwrap();
    let d = decide(&budi, "refer_back").unwrap();
    assert_eq!(
        d.state,
        DecisionState::Pending,
        "the reviewer of a rejected decision decided the case alone"
    );
    assert!(c
        .cases
        .confirm(&budi, &case, Verdict::Confirm, "", "test")
        .is_err());
    // A plain referral by someone new to the case releases nobody held: final at once.
    let other = c.cases.queue(&Default::default(), 10).unwrap();
    let fresh = other
        .iter()
        .find(|k| k.case_id != case && k.state == CaseState::Open)
        .expect("a second open case");
    c.cases.claim(&adi, &fresh.case_id, 600, "test").unwrap();
    let d = c
        .cases
        .decide(
            &adi,
            &fresh.case_id,
            &DecisionInput {
                outcome: "refer_back".into(),
                keep_enrollment_id: None,
                fraud: false,
                comment: "photo unclear".into(),
            },
            "test",
        )
        .unwrap();
    assert_eq!(d.state, DecisionState::Final);
}

/// Copies a folder tree (a store) so a test may damage its copy.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The attack (issue 20): after ingest, a packet in `landing/` is replaced (another photo, a
/// re-hashed manifest, any signature). The console showed the swapped photo; now it checks
/// the object against `packets.sha256`, refuses to show it, and audits the attempt.
#[actix_web::test]
async fn a_replaced_landing_packet_is_shown_as_tampering_and_audited() {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&lake().root, copy.path());
    let store = lake::Store::open_folder(copy.path()).unwrap();
    let db = tempfile::tempdir().unwrap();
    let cases = CaseStore::open(&db.path().join("cases.sqlite")).unwrap();
    adjudication::lakeview::sync_with(&store, &cases)
        .await
        .unwrap();
    cases.add_user("adi", Role::Adjudicator, PASSWORD).unwrap();
    let data = web::state(store.clone(), cases.clone(), ConsoleConfig::default());
    let app = atest::init_service(App::new().app_data(data).configure(web::routes)).await;
    let case = cases.queue(&Default::default(), 10).unwrap()[0].clone();
    let (victim, other) = (&case.members[0], &case.members[1]);
    let adi = login(&app, "adi").await;
    let image = |m: &adjudication::store::CaseMember| {
        format!("/cases/{}/image/{}/photo", case.case_id, m.enrollment_id)
    };
    assert_eq!(
        get(&app, Some(&adi), &image(victim)).await.0,
        StatusCode::OK
    );
    // Swap the victim's packet for another (valid, signed) packet's bytes.
    let ctx = lake::lake_context(&store).await.unwrap();
    let mut paths = Vec::new();
    for m in [victim, other] {
        let found = lake::query::texts(
            &ctx,
            &format!(
                "SELECT p.object_path FROM enrollments e JOIN packets p ON p.packet_id = e.packet_id
                 WHERE e.enrollment_id = '{}' AND p.status = 'accepted'",
                m.enrollment_id
            ),
            "object_path",
        )
        .await
        .unwrap();
        paths.push(found[0].clone());
    }
    let (victim_path, other_path) = (&paths[0], &paths[1]);
    std::fs::copy(copy.path().join(other_path), copy.path().join(victim_path)).unwrap();
    let (status, body) = get(&app, Some(&adi), &image(victim)).await;
    assert_eq!(status, StatusCode::CONFLICT, "the swapped photo was served");
    assert!(body.to_lowercase().contains("tampered"), "{body}");
    let trail = cases
        .audit_trail(0, 1000, Some(&case.case_id), None)
        .unwrap();
    assert!(trail.iter().any(|e| e.action == "evidence_tampered"
        && e.target.as_deref() == Some(victim.enrollment_id.as_str())));
    // The untouched member still shows.
    assert_eq!(get(&app, Some(&adi), &image(other)).await.0, StatusCode::OK);
}

/// A GET with an optional session and an optional language cookie: status, headers, body.
async fn get_in<S>(
    app: &S,
    who: Option<&Who>,
    lang: Option<&str>,
    uri: &str,
) -> (StatusCode, actix_web::http::header::HeaderMap, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let mut req = atest::TestRequest::get().uri(uri);
    if let Some(w) = who {
        req = req.cookie(w.cookie.clone());
    }
    if let Some(l) = lang {
        req = req.cookie(Cookie::new(web::i18n::LANG_COOKIE, l.to_string()));
    }
    let resp = atest::call_service(app, req.to_request()).await;
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = atest::read_body(resp).await;
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[actix_web::test]
async fn the_console_speaks_indonesian_until_a_user_chooses_english() {
    let c = console(ConsoleConfig::default()).await;
    let app = app(&c).await;
    // Logged out: the login page, in Bahasa Indonesia, with the switch and the icon.
    let (status, _, html) = get_in(&app, None, None, "/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<html lang=\"id\">") && html.contains("<h1>Masuk</h1>"));
    assert!(
        html.contains("href=\"/lang/en?next=%2Flogin\""),
        "the switch"
    );
    assert!(html.contains("rel=\"icon\""));
    // The switch sets the cookie and comes back; it never leaves the console.
    let (status, headers, _) =
        get_in(&app, None, None, "/lang/en?next=/queue%3Fkind%3Dganda").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get("location").unwrap(), "/queue?kind=ganda");
    let cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("tunggal_lang=en;"), "{cookie}");
    let (_, headers, _) = get_in(&app, None, None, "/lang/en?next=//evil.example/").await;
    assert_eq!(headers.get("location").unwrap(), "/queue");
    assert_eq!(
        get_in(&app, None, None, "/lang/fr").await.0,
        StatusCode::NOT_FOUND
    );

    let adi = login(&app, "adi").await;
    let (_, _, id) = get_in(&app, Some(&adi), None, "/queue").await;
    let (_, _, en) = get_in(&app, Some(&adi), Some("en"), "/queue").await;
    assert!(
        id.contains("<h1>Antrean kasus</h1>") && id.contains("Terbuka"),
        "{id}"
    );
    assert!(en.contains("<html lang=\"en\">") && en.contains("<h1>Case queue</h1>"));
    assert!(en.contains(">Open</td>") && !en.contains("Antrean kasus"));
    // A logged-in user's choice is theirs: it comes back with their next login, in any
    // browser (a fresh client without the cookie).
    let (status, _, _) = get_in(&app, Some(&adi), None, "/lang/en?next=/queue").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let resp = atest::call_service(
        &app,
        atest::TestRequest::post()
            .uri("/api/login")
            .set_json(json!({ "username": "adi", "password": PASSWORD }))
            .to_request(),
    )
    .await;
    let chosen = resp
        .response()
        .cookies()
        .find(|c| c.name() == web::i18n::LANG_COOKIE)
        .map(|c| c.value().to_string());
    assert_eq!(
        chosen.as_deref(),
        Some("en"),
        "the choice did not follow adi"
    );
    let budi = login(&app, "budi").await;
    let (_, _, other) = get_in(&app, Some(&budi), None, "/queue").await;
    assert!(other.contains("<html lang=\"id\">"), "adi's choice leaked");
    // Error pages too.
    let (status, _, id) = get_in(&app, Some(&adi), None, "/cases/no-such-case").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        id.contains("Galat 404") && id.contains("Tidak ditemukan."),
        "{id}"
    );
    let (status, _, en) = get_in(&app, Some(&adi), Some("en"), "/cases/no-such-case").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        en.contains("Error 404") && en.contains("Not found."),
        "{en}"
    );
    // The icon: no page's icon request fails.
    for icon in ["/favicon.ico", "/favicon.svg"] {
        let (status, headers, body) = get_in(&app, None, None, icon).await;
        assert_eq!(status, StatusCode::OK, "{icon}");
        assert_eq!(headers.get("content-type").unwrap(), "image/svg+xml");
        assert!(body.starts_with("<svg"));
    }
}

#[actix_web::test]
async fn the_overview_maps_open_cases_by_province_and_links_each_count_to_its_queue() {
    let c = console(ConsoleConfig::default()).await;
    let app = app(&c).await;
    let adi = login(&app, "adi").await;
    assert_eq!(
        get_in(&app, Some(&adi), None, "/overview").await.0,
        StatusCode::FORBIDDEN,
        "for supervisors"
    );
    let (_, _, queue) = get_in(&app, Some(&adi), None, "/queue").await;
    assert!(
        !queue.contains("href=\"/overview\""),
        "not in an adjudicator's menu"
    );
    let sari = login(&app, "sari").await;
    let (status, _, html) = get_in(&app, Some(&sari), None, "/overview").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("href=\"/overview\""),
        "in a supervisor's menu"
    );
    assert!(html.contains("<svg id=\"map\""));
    assert_eq!(
        html.matches("class=\"province\"").count(),
        38,
        "every province drawn"
    );
    assert!(!html.contains("<script"), "drawn on the server");

    // Each province's count is the length of its filtered queue.
    let all = c.cases.queue(&Default::default(), 500).unwrap();
    let mut by_province = std::collections::BTreeMap::<String, usize>::new();
    for case in &all {
        *by_province.entry(case.province_code.clone()).or_default() += 1;
    }
    for (code, n) in &by_province {
        let anchor = format!(
            "<a href=\"/queue?province={code}\" class=\"province\" data-code=\"{code}\" data-open=\"{n}\""
        );
        assert!(html.contains(&anchor), "{anchor}");
        let (status, _, listed) =
            get_in(&app, Some(&sari), None, &format!("/queue?province={code}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed.matches("class=\"case-row\"").count(), *n, "{code}");
    }
    // The synthetic night is older than the SLA and fully deduplicated by the planting, so
    // no enrollment breaches it.
    assert!(html.contains("data-breaches=\"0\""));

    // Cases opened per day: today's bar counts every case, and its queue lists them.
    let today = chrono::Utc::now()
        .with_timezone(&adjudication::present::Zone::DATA_CENTER.offset())
        .format("%Y-%m-%d")
        .to_string();
    let bar = format!(
        "href=\"/queue?opened={today}\" class=\"bar-opened\"><title>{}: {} dibuka</title>",
        &today[5..],
        all.len()
    );
    assert!(html.contains(&bar), "{bar}");
    let (_, _, opened) = get_in(&app, Some(&sari), None, &format!("/queue?opened={today}")).await;
    assert_eq!(opened.matches("class=\"case-row\"").count(), all.len());
    assert_eq!(
        get_in(&app, Some(&sari), None, "/queue?opened=yesterday")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    // The queue's age: the buckets add up to the open queue, and each lists its cases.
    let buckets = c.cases.age_buckets().unwrap();
    assert_eq!(
        buckets.iter().map(|b| b.count).sum::<i64>(),
        all.len() as i64
    );
    for b in &buckets {
        let mut uri = format!("/queue?min_age_h={}", b.min_h);
        if let Some(m) = b.max_h {
            uri.push_str(&format!("&max_age_h={m}"));
        }
        assert!(html.contains(&uri.replace('&', "&amp;")), "{uri}");
        let (_, _, listed) = get_in(&app, Some(&sari), None, &uri).await;
        assert_eq!(
            listed.matches("class=\"case-row\"").count() as i64,
            b.count,
            "{uri}"
        );
    }
    // In English on request.
    let (_, _, en) = get_in(&app, Some(&sari), Some("en"), "/overview").await;
    assert!(en.contains("<h1>Overview</h1>") && en.contains("open cases"));
}
