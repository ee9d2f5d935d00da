//! `tunggal serve-sql` with a real Flight SQL client from the registries: the ADBC Flight SQL
//! driver (PyPI `adbc-driver-flightsql`, installed into `.venv` by
//! `scripts/install-test-deps.sh`) connects to the server on 127.0.0.1, queries with a token
//! or a user/password login, and is refused with a wrong token, a wrong password, or a
//! statement that is not a query.

mod common;
#[path = "support/sql_fixture.rs"]
mod sql_fixture;

use std::process::{Command, Output};

use sql_fixture::fixture;

const TOKEN: &str = "analyst-token-for-tests";

/// The client: connects, runs one statement, prints the rows as JSON.
const CLIENT: &str = r#"
import json, sys
import adbc_driver_flightsql as flightsql
import adbc_driver_flightsql.dbapi as dbapi
uri, mode, secret, query = sys.argv[1:5]
if mode == "token":
    kwargs = {flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value: "Bearer " + secret}
else:
    user, password = secret.split(":", 1)
    kwargs = {"username": user, "password": password}
with dbapi.connect(uri, db_kwargs=kwargs) as conn:
    cur = conn.cursor()
    cur.execute(query)
    rows = cur.fetch_arrow_table().to_pylist()
    cur.close()
print(json.dumps(rows, default=str))
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
        .find(|w| w.starts_with("grpc://"))
        .unwrap_or_else(|| panic!("no address in {:?}", server.first_line))
        .to_string();
    ServerProcess {
        _server: server,
        uri,
    }
}

fn client(server: &ServerProcess, mode: &str, secret: &str, query: &str) -> Output {
    Command::new(common::venv_python())
        .args(["-c", CLIENT, &server.uri, mode, secret, query])
        .output()
        .expect("start python")
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
