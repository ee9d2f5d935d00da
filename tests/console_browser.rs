//! The adjudication console in a real browser: Debian's chromium driven by playwright-core
//! (tests/browser/console.mjs) against `tunggal console` as a DC would run it.
//!
//! A synthetic country is synthesized and ingested with the binary; its planted fraud
//! duplicates are made into clusters (dedup's output), two adjudicators are added with
//! `tunggal users add` (and a supervisor), and the browser logs in, opens the queue and a case,
//! sees the minutiae overlay and the score beside its threshold, decides, logs in as the second
//! adjudicator and confirms; the supervisor opens the overview (the map of Indonesia), follows
//! a province to its queue, and switches the console from Bahasa Indonesia (the default) to
//! English. The decision must then be in the lake's `decisions` table. Screenshots of the
//! queue, a case and the overview in both languages go to `<target tmp>/console-browser/`.
//!
//! Needs /usr/bin/chromium and tests/browser/node_modules: `scripts/install-test-deps.sh`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestStore;

const PASSWORD: &str = "browser test password";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser")
}

fn require_prerequisites() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: run scripts/install-test-deps.sh (installs Debian's chromium)"
    );
    assert!(
        browser_dir().join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules is missing: run scripts/install-test-deps.sh (npm ci of playwright-core)"
    );
}

fn start_console(store: &TestStore) -> (common::Server, String) {
    let console = common::start_server(store.path(), &["console", "--bind", "127.0.0.1:0"], &[]);
    let addr = console
        .first_line
        .strip_prefix("console listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {}", console.first_line))
        .to_string();
    let port = addr.rsplit(':').next().expect("port").to_string();
    // `localhost`: browsers keep Secure cookies on it without TLS.
    (console, format!("http://localhost:{port}"))
}

#[test]
fn an_adjudicator_decides_in_the_browser_and_a_second_one_confirms() {
    require_prerequisites();
    let store = common::store_with_planted_cases();
    for (user, role) in [
        ("adi", "adjudicator"),
        ("budi", "adjudicator"),
        ("sari", "supervisor"),
    ] {
        common::add_user(&store, user, role, PASSWORD);
    }

    let (_console, base) = start_console(&store);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-browser");
    std::fs::create_dir_all(&shots).unwrap();
    println!("screenshots: {}", shots.display());
    let out = Command::new("node")
        .arg("console.mjs")
        .current_dir(browser_dir())
        .env("BASE_URL", &base)
        .env("FIRST_USER", "adi")
        .env("SECOND_USER", "budi")
        .env("SUPERVISOR", "sari")
        .env("PASSWORD", PASSWORD)
        .env("SCREENSHOTS", &shots)
        .output()
        .expect("start node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser walk failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
    assert!(seen["overlay_pairs"].as_u64().unwrap_or(0) > 0);
    assert!(seen["province_paths"].as_u64().unwrap_or(0) >= 30, "{seen}");
    // The same score, written as each language writes it: 40,0 and 40.0.
    let (score_id, score_en) = (
        seen["score_id"].as_str().unwrap(),
        seen["score_en"].as_str().unwrap(),
    );
    assert_eq!(score_id.replace(',', "."), score_en, "{seen}");
    for name in [
        "01-queue.png",
        "02-case.png",
        "03-decided.png",
        "04-confirmed.png",
        "05-overview.png",
        "06-queue-province.png",
        "07-queue-en.png",
        "08-case-en.png",
        "09-overview-en.png",
    ] {
        assert!(shots.join(name).is_file(), "{name} written");
    }

    // The confirmed decision is in the lake, ready for the next nightly run.
    let case_id = seen["case_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let rows = store.query(&format!(
        "SELECT effect, fraud, decided_by, confirmed_by FROM decisions WHERE case_id = '{case_id}'"
    ));
    assert!(rows.len() >= 2, "{rows:?}");
    assert!(rows.iter().any(|r| r["effect"] == "block"));
    assert!(rows.iter().any(|r| r["effect"] == "proceed"));
    assert!(rows
        .iter()
        .all(|r| r["decided_by"] == "adi" && r["confirmed_by"] == "budi" && r["fraud"] == "true"));

    // And every look was audited.
    let cases =
        adjudication::CaseStore::open(&store.path().join("adjudication/cases.sqlite")).unwrap();
    let trail = cases.audit_trail(0, 10_000, Some(&case_id), None).unwrap();
    let did = |user: &str, action: &str| {
        trail
            .iter()
            .any(|e| e.username.as_deref() == Some(user) && e.action == action)
    };
    assert!(did("adi", "case_view") && did("adi", "image_view") && did("adi", "decide"));
    assert!(did("budi", "case_view") && did("budi", "confirm"));
}
