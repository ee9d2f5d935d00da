//! Prometheus `/metrics` of the long-running servers, scraped as a DC's Prometheus would and
//! parsed with a real exposition-format parser (`prometheus_client.parser` in the repo's
//! `.venv`, installed by `scripts/install-test-deps.sh`):
//! - `tunggal console`: a failed login, a case page, a decision and the open cases show up
//!   under route patterns and small vocabularies, never an id; `/metrics` is refused to a
//!   request relayed by an untrusted proxy, and with `--metrics-token-file` to anyone
//!   without the token;
//! - `tunggal serve-sql --metrics-bind`: a Flight SQL query (ADBC client), a refused one and
//!   a failed login are counted by role and outcome;
//! - `tunggal scheduler --metrics-bind`: up, with its build info.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestStore;

const PASSWORD: &str = "correct horse battery";

/// Parses an exposition with `prometheus_client.parser` and prints every sample as JSON:
/// family name and type, sample name, labels, value.
const PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"family": family.name, "type": family.type, "name": s.name,
                    "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;

/// One sample of a scrape.
#[derive(Debug, Clone)]
struct Sample {
    family_type: String,
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// A scrape, parsed by the Python client's parser (which fails on malformed text).
struct Scrape(Vec<Sample>);

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut child = Command::new(common::venv_python())
            .args(["-c", PARSER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start python");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "the exposition does not parse:\n{}\n---\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        Scrape(
            rows.into_iter()
                .map(|r| Sample {
                    family_type: r["type"].as_str().unwrap().to_string(),
                    name: r["name"].as_str().unwrap().to_string(),
                    labels: r["labels"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                        .collect(),
                    value: r["value"].as_f64().unwrap(),
                })
                .collect(),
        )
    }

    /// The samples named `name` whose labels include every pair of `labels`.
    fn matching(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.0
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The value of the one sample named `name` with `labels`; 0 when there is none.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = self.matching(name, labels);
        assert!(found.len() <= 1, "several {name} {labels:?}: {found:?}");
        found.first().map_or(0.0, |s| s.value)
    }

    /// The sum over every sample named `name` with `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).iter().map(|s| s.value).sum()
    }

    /// No label value looks like personal data or an id: a NIK (16 digits), a UUID, a long
    /// hex or digit run, or any of `known_ids`.
    fn assert_no_ids(&self, known_ids: &[String]) {
        for s in &self.0 {
            for (k, v) in &s.labels {
                let digits = v.chars().filter(char::is_ascii_digit).count();
                let hex_run = v
                    .split(|c: char| !c.is_ascii_hexdigit())
                    .map(str::len)
                    .max()
                    .unwrap_or(0);
                assert!(
                    digits < 12 && hex_run < 16,
                    "{}{{{k}={v:?}}} looks like an id",
                    s.name
                );
                for id in known_ids {
                    assert!(
                        !v.contains(id.as_str()),
                        "{}{{{k}={v:?}}} holds {id}",
                        s.name
                    );
                }
            }
        }
    }
}

/// An HTTP/1.0 answer: status, headers (lowercase names), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.0 request (the server closes the connection after answering, no chunking).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

fn json(answer: &Answer) -> serde_json::Value {
    serde_json::from_str(&answer.body)
        .unwrap_or_else(|e| panic!("{e}: HTTP {} {:?}", answer.status, answer.body))
}

/// A store with cases: a small synthesized night, ingested, with synth's planted fraud
/// duplicates as `ganda` clusters, and an adjudicator.
fn store_with_cases() -> TestStore {
    let store = common::store_with_planted_cases();
    common::add_user(&store, "sulastri", "adjudicator", PASSWORD);
    store
}

/// Starts `tunggal console` on a free loopback port with `extra` flags; returns it and its
/// `HOST:PORT`.
fn start_console(store: &TestStore, extra: &[&str]) -> (common::Server, String) {
    let mut args = vec!["console", "--bind", "127.0.0.1:0", "--sync-seconds", "3600"];
    args.extend_from_slice(extra);
    let console = common::start_server(store.path(), &args, &[]);
    let addr = console
        .first_line
        .strip_prefix("console listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {}", console.first_line))
        .trim()
        .to_string();
    (console, addr)
}

#[test]
fn the_console_counts_requests_logins_decisions_and_open_cases_without_ids() {
    let store = store_with_cases();
    let (console, addr) = start_console(&store, &[]);

    // A failed login, then a good one.
    let wrong = http(
        &addr,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        r#"{"username": "sulastri", "password": "not the password"}"#,
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let login = http(
        &addr,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        &format!(r#"{{"username": "sulastri", "password": "{PASSWORD}"}}"#),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let csrf = json(&login)["csrf_token"].as_str().unwrap().to_string();
    let session = login
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let cookie = [("Cookie", session.as_str())];

    // The queue, a case page, a decision.
    let queue = json(&http(&addr, "GET", "/api/cases", &cookie, ""));
    let cases: Vec<String> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_id"].as_str().unwrap().to_string())
        .collect();
    assert!(!cases.is_empty(), "no case to adjudicate");
    let case = &cases[0];
    let page = http(&addr, "GET", &format!("/cases/{case}"), &cookie, "");
    assert_eq!(page.status, 200, "{}", page.body);
    let with_csrf = [
        ("Cookie", session.as_str()),
        ("X-CSRF-Token", csrf.as_str()),
        ("Content-Type", "application/json"),
    ];
    let claim = http(
        &addr,
        "POST",
        &format!("/api/cases/{case}/claim"),
        &with_csrf,
        "{}",
    );
    assert_eq!(claim.status, 200, "{}", claim.body);
    let decide = http(
        &addr,
        "POST",
        &format!("/api/cases/{case}/decide"),
        &with_csrf,
        r#"{"outcome": "different_persons", "comment": "different faces and fingers"}"#,
    );
    assert_eq!(decide.status, 200, "{}", decide.body);
    let waiting = json(&http(&addr, "GET", "/api/cases", &cookie, ""))
        .as_array()
        .unwrap()
        .len();

    let answer = http(&addr, "GET", "/metrics", &[], "");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        answer.headers
    );
    let m = Scrape::parse(&answer.body);

    assert_eq!(m.value("tunggal_console_logins_failed_total", &[]), 1.0);
    assert_eq!(m.value("tunggal_console_logins_locked_total", &[]), 0.0);
    let requests = "tunggal_console_http_requests_total";
    let by = |route: &str, method: &str, status: &str| {
        m.value(
            requests,
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(by("/api/login", "POST", "401"), 1.0);
    assert_eq!(by("/api/login", "POST", "200"), 1.0);
    assert_eq!(by("/api/cases", "GET", "200"), 2.0);
    assert_eq!(by("/cases/{case_id}", "GET", "200"), 1.0);
    assert_eq!(by("/api/cases/{case_id}/{action}", "POST", "200"), 2.0);
    // The latency of the same requests, by route pattern: a histogram with buckets.
    let latency = m.matching(
        "tunggal_console_http_request_duration_seconds_count",
        &[("route", "/cases/{case_id}"), ("method", "GET")],
    );
    assert_eq!(latency.len(), 1, "{latency:?}");
    assert_eq!(latency[0].value, 1.0);
    assert_eq!(latency[0].family_type, "histogram");
    let buckets = m.matching(
        "tunggal_console_http_request_duration_seconds_bucket",
        &[
            ("route", "/cases/{case_id}"),
            ("method", "GET"),
            ("le", "+Inf"),
        ],
    );
    assert_eq!(buckets.len(), 1, "{buckets:?}");
    assert_eq!(buckets[0].value, 1.0);
    assert_eq!(
        m.value(
            "tunggal_console_decisions_total",
            &[("decision", "different_persons")]
        ),
        1.0
    );
    // Every case still waiting (open, or pending a second person) is counted once, in one
    // kind and age bucket; each bucket of each kind is present, empty ones as 0.
    assert_eq!(
        m.sum("tunggal_console_cases_open", &[]),
        waiting as f64,
        "open cases"
    );
    assert_eq!(
        m.matching("tunggal_console_cases_open", &[]).len(),
        2 * 4,
        "kinds × age buckets"
    );
    for age in ["lt_1d", "1d_3d", "3d_7d", "ge_7d"] {
        assert_eq!(
            m.matching(
                "tunggal_console_cases_open",
                &[("kind", "ganda"), ("age", age)]
            )
            .len(),
            1
        );
    }
    assert_eq!(
        m.value("tunggal_build_info", &[("component", "console")]),
        1.0
    );
    let mut ids = cases.clone();
    ids.push("sulastri".into());
    m.assert_no_ids(&ids);
    assert!(!answer.body.contains(case.as_str()));

    // Who may scrape: not a request relayed by a proxy this console does not trust.
    let relayed = http(
        &addr,
        "GET",
        "/metrics",
        &[("X-Forwarded-For", "203.0.113.7")],
        "",
    );
    assert_eq!(relayed.status, 403, "{}", relayed.body);
    assert!(!relayed.body.contains("tunggal_"), "{}", relayed.body);
    drop(console);

    // With a scrape token: only with it.
    let token_file = store.path().join("metrics.token");
    std::fs::write(&token_file, "scrape-token-0123456789abcdef\n").unwrap();
    let (_console, addr) = start_console(
        &store,
        &["--metrics-token-file", token_file.to_str().unwrap()],
    );
    let none = http(&addr, "GET", "/metrics", &[], "");
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let wrong = http(
        &addr,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer scrape-token-wrong")],
        "",
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(!wrong.body.contains("tunggal_"), "{}", wrong.body);
    let right = http(
        &addr,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer scrape-token-0123456789abcdef")],
        "",
    );
    assert_eq!(right.status, 200, "{}", right.body);
    let m = Scrape::parse(&right.body);
    // A new process: the refused scrapes are counted, under the route pattern.
    assert_eq!(
        m.value(
            requests,
            &[("route", "/metrics"), ("method", "GET"), ("status", "401")]
        ),
        2.0
    );
}

/// A free loopback port (bound and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_sql_counts_queries_rows_and_failed_logins_by_role() {
    let store = TestStore::new();
    store.ok(&[
        "synth",
        "--people",
        "20",
        "--seed",
        "5",
        "--bad-rate",
        "0",
        "--progress",
        "quiet",
    ]);
    store.ok(&["ingest", "--no-progress"]);
    let token = "analyst-token-for-metrics";
    let server = common::start_server(
        store.path(),
        &[
            "serve-sql",
            "--bind",
            "127.0.0.1:0",
            "--metrics-bind",
            "127.0.0.1:0",
            "--user",
            "ana:correct horse",
        ],
        &[("TUNGGAL_SQL_TOKEN", token)],
    );
    let word = |prefix: &str| {
        server
            .first_line
            .split_whitespace()
            .find(|w| w.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {:?}", server.first_line))
            .to_string()
    };
    let uri = word("grpc://");
    let metrics = word("http://");
    let metrics_addr = metrics
        .strip_prefix("http://")
        .and_then(|m| m.strip_suffix("/metrics"))
        .unwrap()
        .to_string();

    let ok = common::flight_sql(&uri, "token", token, "SELECT count(*) AS n FROM packets");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let refused = common::flight_sql(&uri, "token", token, "SELECT * FROM no_such_table");
    assert!(!refused.status.success());
    let bad_login = common::flight_sql(&uri, "user", "ana:wrong horse", "SELECT 1");
    assert!(!bad_login.status.success());

    let answer = http(&metrics_addr, "GET", "/metrics", &[], "");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let m = Scrape::parse(&answer.body);
    let analyst = ("role", "analyst");
    assert_eq!(
        m.value("tunggal_sql_queries_total", &[analyst, ("outcome", "ok")]),
        1.0
    );
    assert_eq!(
        m.value(
            "tunggal_sql_queries_total",
            &[analyst, ("outcome", "refused")]
        ),
        1.0
    );
    assert_eq!(m.value("tunggal_sql_rows_total", &[analyst]), 1.0);
    assert_eq!(
        m.value("tunggal_sql_query_duration_seconds_count", &[analyst]),
        1.0
    );
    assert_eq!(m.value("tunggal_sql_logins_failed_total", &[]), 1.0);
    assert_eq!(
        m.value("tunggal_build_info", &[("component", "serve-sql")]),
        1.0
    );
    m.assert_no_ids(&[]);
    // The listener serves metrics and nothing else.
    assert_eq!(http(&metrics_addr, "GET", "/", &[], "").status, 404);
    assert_eq!(http(&metrics_addr, "POST", "/metrics", &[], "").status, 405);
}

#[test]
fn the_scheduler_serves_its_build_info() {
    let store = TestStore::new();
    let (grpc, metrics) = (free_port(), free_port());
    let mut scheduler = Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .arg("--store")
        .arg(store.path())
        .args([
            "scheduler",
            "--bind",
            &format!("127.0.0.1:{grpc}"),
            "--metrics-bind",
            &format!("127.0.0.1:{metrics}"),
        ])
        .env_remove("TUNGGAL_STORE")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the scheduler");
    let addr = format!("127.0.0.1:{metrics}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let answer = loop {
        if TcpStream::connect(&addr).is_ok() {
            break http(&addr, "GET", "/metrics", &[], "");
        }
        if Instant::now() > deadline || scheduler.try_wait().unwrap().is_some() {
            let _ = scheduler.kill();
            panic!("the scheduler's metrics never answered on {addr}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = scheduler.kill();
    let _ = scheduler.wait();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let m = Scrape::parse(&answer.body);
    assert_eq!(
        m.value("tunggal_build_info", &[("component", "scheduler")]),
        1.0
    );
    assert!(
        m.value(
            "tunggal_process_start_time_seconds",
            &[("component", "scheduler")]
        ) > 0.0
    );
}
