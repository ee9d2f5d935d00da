//! `tunggal serve-sql` with a real Flight SQL client from the registries: the ADBC Flight SQL
//! driver (PyPI `adbc-driver-flightsql`, installed into `.venv` by
//! `scripts/install-test-deps.sh`) connects to the server on 127.0.0.1, queries with a token
//! or a user/password login, and is refused with a wrong token, a wrong password, or a
//! statement that is not a query. The attacks of issue 20 too: password guessing against the
//! console's lockout, reading what a role may not, and tokens outliving their user.

mod common;
#[path = "support/sql_fixture.rs"]
mod sql_fixture;

use std::process::{Command, Output};

use sql_fixture::fixture;

const TOKEN: &str = "analyst-token-for-tests";

/// A client that logs in once, runs the query of its arguments, then one query per line of
/// its standard input on the same connection (so the same token), printing one JSON line per
/// query: the rows, or `{"error": …}`.
const SESSION_CLIENT: &str = r#"
import json, sys
import adbc_driver_flightsql.dbapi as dbapi
uri, user, password, query = sys.argv[1:5]
def run(conn, q):
    try:
        cur = conn.cursor()
        cur.execute(q)
        rows = cur.fetch_arrow_table().to_pylist()
        cur.close()
        return rows
    except Exception as e:
        return {"error": str(e)}
with dbapi.connect(uri, db_kwargs={"username": user, "password": password}) as conn:
    print(json.dumps(run(conn, query), default=str), flush=True)
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        print(json.dumps(run(conn, line.strip()), default=str), flush=True)
"#;

/// A running `serve-sql` and the address it printed.
struct ServerProcess {
    _server: common::Server,
    uri: String,
}

fn start_server() -> ServerProcess {
    start_server_with(&["--user", "ana:correct horse"])
}

fn start_server_with(auth: &[&str]) -> ServerProcess {
    let f = fixture();
    let mut args = vec!["serve-sql", "--bind", "127.0.0.1:0"];
    args.extend_from_slice(auth);
    let server = common::start_server(&f.root, &args, &[("TUNGGAL_SQL_TOKEN", TOKEN)]);
    let uri = server
        .first_line
        .split_whitespace()
        .find(|w| w.starts_with("grpc://") || w.starts_with("grpc+tls://"))
        .unwrap_or_else(|| panic!("no address in {:?}", server.first_line))
        .to_string();
    ServerProcess {
        _server: server,
        uri,
    }
}

fn client(server: &ServerProcess, mode: &str, secret: &str, query: &str) -> Output {
    common::flight_sql(&server.uri, mode, secret, query)
}

fn rows(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json rows")
}

#[test]
fn a_flight_sql_client_with_the_token_sees_the_lake() {
    let f = fixture();
    let server = start_server();
    let got = rows(&client(
        &server,
        "token",
        TOKEN,
        "SELECT status, count(*) AS n FROM packets GROUP BY status ORDER BY status",
    ));
    let bad = f
        .truth
        .iter()
        .filter(|t| t["case"].starts_with("bad:"))
        .count();
    assert_eq!(
        got,
        vec![
            serde_json::json!({"status": "accepted", "n": f.truth.len() - bad}),
            serde_json::json!({"status": "rejected", "n": bad}),
        ]
    );
    // The dedup stage's tables are served too.
    let statuses = rows(&client(
        &server,
        "token",
        TOKEN,
        "SELECT count(*) AS n FROM identity_status",
    ));
    assert_eq!(statuses[0]["n"], f.status.len());
}

#[test]
fn a_user_logs_in_with_name_and_password() {
    let server = start_server();
    let got = rows(&client(
        &server,
        "user",
        "ana:correct horse",
        "SELECT 41 + 1 AS answer",
    ));
    assert_eq!(got, vec![serde_json::json!({"answer": 42})]);
    let refused = client(&server, "user", "ana:wrong", "SELECT 1");
    assert!(!refused.status.success());
}

#[test]
fn console_users_log_in_with_their_console_passwords() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cases.sqlite");
    let users = |args: &[&str], password: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_tunggal"))
            .arg("--store")
            .arg(&f.root)
            .arg("users")
            .args(args)
            .env("TUNGGAL_CASE_DB", &db)
            .env("TUNGGAL_PASSWORD", password)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    users(&["add", "rina", "--role", "auditor"], "rina-console-pw");
    users(&["add", "budi", "--role", "adjudicator"], "budi-console-pw");
    users(&["disable", "budi"], "");
    let server = start_server_with(&["--console-users", "--case-db", db.to_str().unwrap()]);
    let got = rows(&client(
        &server,
        "user",
        "rina:rina-console-pw",
        "SELECT 2 AS n",
    ));
    assert_eq!(got, vec![serde_json::json!({"n": 2})]);
    assert!(!client(&server, "user", "rina:wrong-password", "SELECT 1")
        .status
        .success());
    assert!(
        !client(&server, "user", "budi:budi-console-pw", "SELECT 1")
            .status
            .success(),
        "a disabled console user was admitted"
    );
}

#[test]
fn a_wrong_token_is_refused() {
    let server = start_server();
    let out = client(&server, "token", "not-the-token", "SELECT 1");
    assert!(!out.status.success(), "a wrong token was admitted");
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        stderr.contains("unauthenticated") || stderr.contains("invalid token"),
        "{stderr}"
    );
}

#[test]
fn anything_but_a_query_is_refused() {
    let f = fixture();
    let server = start_server();
    for statement in [
        "DELETE FROM packets",
        "CREATE TABLE x AS SELECT 1",
        "COPY (SELECT 1) TO '/tmp/tunggal-flight-copy.csv'",
    ] {
        let out = client(&server, "token", TOKEN, statement);
        assert!(!out.status.success(), "{statement} was allowed");
    }
    let n = rows(&client(
        &server,
        "token",
        TOKEN,
        "SELECT count(*) AS n FROM packets",
    ));
    assert_eq!(n[0]["n"], f.truth.len());
}

/// A case store with console users `(name, role, password)`, made by `tunggal users add`.
fn console_users(users: &[(&str, &str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cases.sqlite");
    for (name, role, password) in users {
        users_verb(&f.root, &db, &["add", name, "--role", role], password);
    }
    (dir, db)
}

/// Runs `tunggal users ARGS` on the case store `db`.
fn users_verb(root: &std::path::Path, db: &std::path::Path, args: &[&str], password: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(root)
        .arg("users")
        .args(args)
        .env("TUNGGAL_CASE_DB", db)
        .env("TUNGGAL_PASSWORD", password)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_lowercase()
}

/// The attack: 30 wrong handshakes in a second, then the right password. Flight now shares
/// the console's lockout (kept in the case store): the right password is refused after five
/// failures, and failures at the console lock Flight out too.
#[test]
fn flight_logins_share_the_console_lockout() {
    let (_dir, db) = console_users(&[
        ("rina", "analyst", "rina-console-pw"),
        ("budi", "adjudicator", "budi-console-pw"),
    ]);
    let server = start_server_with(&["--console-users", "--case-db", db.to_str().unwrap()]);
    for _ in 0..5 {
        let out = client(&server, "user", "rina:wrong-password", "SELECT 1");
        assert!(!out.status.success());
    }
    let out = client(&server, "user", "rina:rina-console-pw", "SELECT 1");
    assert!(
        !out.status.success(),
        "the right password got in after 5 failures"
    );
    assert!(
        stderr_of(&out).contains("too many failed logins"),
        "{}",
        stderr_of(&out)
    );
    // Five failures at the console (the same case store and limiter, this client's address).
    let cases = adjudication::CaseStore::open(&db).unwrap();
    for _ in 0..5 {
        assert!(cases
            .login("budi", "wrong password", "127.0.0.1", 60)
            .is_err());
    }
    let out = client(&server, "user", "budi:budi-console-pw", "SELECT 1");
    assert!(
        !out.status.success(),
        "Flight ignored the console's lockout"
    );
    assert!(stderr_of(&out).contains("too many failed logins"));
    let locked = cases.audit_trail(0, 1000, None, Some("rina")).unwrap();
    assert!(locked.iter().any(|e| e.action == "login_locked"));
}

/// The attack: every role read the whole lake over SQL, residents, templates and iris codes
/// included, unaudited. Now each role reads its grant only (docs/security.md) and every
/// statement, refused or not, is in the console's audit trail, by its hash.
#[test]
fn each_role_reads_only_its_grant_and_every_statement_is_audited() {
    let f = fixture();
    let (_dir, db) = console_users(&[
        ("ana", "analyst", "ana-console-pw"),
        ("adi", "adjudicator", "adi-console-pw"),
        ("sari", "supervisor", "sari-console-pw"),
    ]);
    let server = start_server_with(&["--console-users", "--case-db", db.to_str().unwrap()]);
    let refused = |secret: &str, sql: &str| {
        let out = client(&server, "user", secret, sql);
        assert!(!out.status.success(), "{secret} read {sql}");
    };
    for sql in [
        "SELECT nik FROM enrollments LIMIT 1",
        "SELECT name FROM enrollments LIMIT 1",
        "SELECT * FROM residents LIMIT 1",
        "SELECT template FROM fingerprints LIMIT 1",
        "SELECT code FROM irises LIMIT 1",
        "SELECT count(*) FROM audit",
    ] {
        refused("ana:ana-console-pw", sql);
    }
    for sql in [
        "SELECT count(*) FROM fingerprints",
        "SELECT count(*) FROM irises",
        "SELECT count(*) FROM residents",
        "SELECT operator_nik FROM enrollments LIMIT 1",
    ] {
        refused("adi:adi-console-pw", sql);
    }
    // The shared token reads as an analyst.
    let out = client(
        &server,
        "token",
        TOKEN,
        "SELECT nik FROM enrollments LIMIT 1",
    );
    assert!(!out.status.success(), "the shared token read NIKs");
    let accepted = f
        .truth
        .iter()
        .filter(|t| !t["case"].starts_with("bad:"))
        .count();
    let got = rows(&client(
        &server,
        "user",
        "ana:ana-console-pw",
        "SELECT count(*) AS n, count(DISTINCT regency_code) AS regencies FROM enrollments",
    ));
    assert_eq!(got[0]["n"], accepted);
    let got = rows(&client(
        &server,
        "user",
        "sari:sari-console-pw",
        "SELECT count(*) AS n FROM audit",
    ));
    assert!(got[0]["n"].is_number());
    let cases = adjudication::CaseStore::open(&db).unwrap();
    let trail = cases.audit_trail(0, 10_000, None, None).unwrap();
    let statements = |user: &str| {
        trail
            .iter()
            .filter(|e| e.action == "sql_query" && e.username.as_deref() == Some(user))
            .map(|e| e.detail.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let ana = statements("ana");
    assert!(
        ana.iter().filter(|d| d.contains("outcome=refused")).count() >= 6,
        "{ana:?}"
    );
    assert!(
        ana.iter().any(|d| d.contains("rows=1 outcome=ok")),
        "{ana:?}"
    );
    assert!(ana.iter().all(|d| {
        let hash = d.split("sha256=").nth(1).unwrap_or("");
        hash.len() > 64 && hash[..64].chars().all(|c| c.is_ascii_hexdigit())
    }));
    assert!(
        trail.iter().all(|e| !e
            .detail
            .as_deref()
            .unwrap_or("")
            .to_lowercase()
            .contains("select")),
        "statement text in the audit trail"
    );
    assert!(statements("adi").len() >= 4);
    assert!(statements("sari").iter().any(|d| d.contains("outcome=ok")));
}

/// The attack: after `users disable` and `users reset-password`, the token handed out before
/// still returned rows. Now the token is checked against the user on every call.
#[test]
fn tokens_end_when_the_user_is_disabled_or_their_password_reset() {
    use std::io::{BufRead, BufReader, Write};
    let f = fixture();
    let (_dir, db) = console_users(&[
        ("budi", "adjudicator", "budi-console-pw"),
        ("rina", "analyst", "rina-console-pw"),
    ]);
    let server = start_server_with(&["--console-users", "--case-db", db.to_str().unwrap()]);
    for (user, password, change, new_password) in [
        ("budi", "budi-console-pw", "disable", ""),
        (
            "rina",
            "rina-console-pw",
            "reset-password",
            "rina-new-password",
        ),
    ] {
        let mut child = Command::new(common::venv_python())
            .args([
                "-c",
                SESSION_CLIENT,
                &server.uri,
                user,
                password,
                "SELECT 7 AS n",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next = || -> serde_json::Value {
            serde_json::from_str(&lines.next().expect("a reply").unwrap()).unwrap()
        };
        assert_eq!(next(), serde_json::json!([{"n": 7}]), "{user} before");
        writeln!(stdin, "SELECT 8 AS n").unwrap();
        assert_eq!(next(), serde_json::json!([{"n": 8}]), "{user} still in");
        users_verb(&f.root, &db, &[change, user], new_password);
        writeln!(stdin, "SELECT 9 AS n").unwrap();
        let after = next();
        assert!(
            after.get("error").is_some(),
            "{user}'s token outlived `users {change}`: {after}"
        );
        drop(stdin);
        child.wait().unwrap();
    }
    // The new password works.
    let got = rows(&client(
        &server,
        "user",
        "rina:rina-new-password",
        "SELECT 1 AS n",
    ));
    assert_eq!(got, vec![serde_json::json!({"n": 1})]);
}

/// A user/password client over TLS, trusting the PEM certificate of its fourth argument.
const TLS_CLIENT: &str = r#"
import json, sys
import adbc_driver_flightsql.dbapi as dbapi
uri, user, password, cert, query = sys.argv[1:6]
kwargs = {"username": user, "password": password,
          "adbc.flight.sql.client_option.tls_root_certs": open(cert).read()}
with dbapi.connect(uri, db_kwargs=kwargs) as conn:
    cur = conn.cursor()
    cur.execute(query)
    print(json.dumps(cur.fetch_arrow_table().to_pylist(), default=str))
"#;

/// The attack: Flight SQL logins (user name and password) and bearer tokens crossed the
/// network in the clear. Given a certificate, the server speaks TLS only: a TLS client that
/// trusts the certificate queries, a plaintext client gets nothing.
#[test]
fn flight_sql_speaks_only_tls_when_given_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = start_server_with(&[
        "--user",
        "ana:correct horse",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(server.uri.starts_with("grpc+tls://"), "{}", server.uri);
    let out = Command::new(common::venv_python())
        .args(["-c", TLS_CLIENT, &server.uri, "ana", "correct horse"])
        .arg(&cert)
        .arg("SELECT 6 * 7 AS answer")
        .output()
        .unwrap();
    assert_eq!(rows(&out), vec![serde_json::json!({"answer": 42})]);
    let plain = server.uri.replace("grpc+tls://", "grpc://");
    let out = common::flight_sql(&plain, "user", "ana:correct horse", "SELECT 1");
    assert!(!out.status.success(), "a plaintext client was served");
}
