//! The first hour of a new user, end to end with the real binary: a folder without a store is
//! refused by every verb that reads one (only `synth` and `init` make one), `tunggal.toml`
//! sets flags with precedence flag > environment > file > default and refuses secrets and
//! unknown keys, and the help and errors a newcomer meets say what to do.

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `tunggal ARGS…` in `dir` with none of tunggal's variables set except `env`: no
/// `--store` unless the test gives one, so the configuration file is what names it.
fn tunggal(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tunggal"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("TUNGGAL_STORE")
        .env_remove("TUNGGAL_CONFIG")
        .env_remove("TUNGGAL_LOG_FORMAT")
        .env_remove("TUNGGAL_PASSWORD")
        .env_remove("TUNGGAL_CASE_DB");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("start tunggal")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts that `out` failed saying there is no store at a path ending in `name`.
fn refused_for_no_store(out: &Output, name: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "succeeded without a store:\n{err}");
    assert!(
        err.contains("no tunggal store at") && err.contains(name),
        "expected a refusal naming {name}:\n{err}"
    );
    assert!(
        err.contains("tunggal init"),
        "no hint how to make one:\n{err}"
    );
}

#[test]
fn verbs_refuse_a_folder_without_a_store_and_init_makes_one() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = dir.path().join("missing");
    for store in [&empty, &missing] {
        let s = store.to_str().unwrap();
        let name = store.file_name().unwrap().to_str().unwrap();
        for args in [
            &["sql", "SELECT count(*) FROM packets"][..],
            &["nightly", "--no-progress"],
            &["ingest", "--no-progress"],
            &["dedup"],
            &["export"],
            &["users", "list"],
            &["audit", "verify"],
        ] {
            let mut full = vec!["--store", s];
            full.extend_from_slice(args);
            refused_for_no_store(&tunggal(dir.path(), &full, &[]), name);
        }
        assert!(!store.join("lake").exists(), "a refused verb made lake/");
    }
    assert!(!missing.exists(), "a refused verb created the store folder");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);

    // `init` makes an empty store the read verbs accept; a second `init` changes nothing.
    let out = tunggal(dir.path(), &["--store", "empty", "init"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("created an empty tunggal store"),
        "{}",
        stdout(&out)
    );
    assert!(empty.join("landing").is_dir());
    let out = tunggal(
        dir.path(),
        &[
            "--store",
            "empty",
            "sql",
            "SELECT count(*) AS n FROM packets",
            "--format",
            "csv",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), ["n", "0"]);
    let out = tunggal(dir.path(), &["--store", "empty", "init"], &[]);
    assert!(stdout(&out).contains("already"), "{}", stdout(&out));
}

#[test]
fn tunggal_toml_sets_flags_with_flag_over_env_over_file() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    assert!(tunggal(work, &["--store", "real", "init"], &[])
        .status
        .success());

    // A file value is used: ./tunggal.toml names the store and sql's output format.
    std::fs::write(
        work.join("tunggal.toml"),
        "store = \"real\"\n\n[sql]\nformat = \"csv\"\n",
    )
    .unwrap();
    let out = tunggal(work, &["sql", "SELECT 1 AS n"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), ["n", "1"]);
    // … and a flag beats it.
    let out = tunggal(work, &["sql", "SELECT 1 AS n", "--format", "json"], &[]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json output");
    assert_eq!(json, serde_json::json!([{"n": 1}]), "{}", stderr(&out));

    // Each source names a different store that does not exist: the refusal says which won.
    std::fs::write(work.join("tunggal.toml"), "store = \"from-file\"\n").unwrap();
    let sql = ["sql", "SELECT 1"];
    refused_for_no_store(&tunggal(work, &sql, &[]), "from-file");
    let env = [("TUNGGAL_STORE", "from-env")];
    refused_for_no_store(&tunggal(work, &sql, &env), "from-env");
    let flagged = ["--store", "from-flag", "sql", "SELECT 1"];
    refused_for_no_store(&tunggal(work, &flagged, &env), "from-flag");

    // `--config PATH` and TUNGGAL_CONFIG name another file; a named file must exist.
    let other = work.join("other.toml");
    std::fs::write(&other, "store = \"from-other\"\n").unwrap();
    let other = other.to_str().unwrap();
    let with_config = ["--config", other, "sql", "SELECT 1"];
    refused_for_no_store(&tunggal(work, &with_config, &[]), "from-other");
    refused_for_no_store(
        &tunggal(work, &sql, &[("TUNGGAL_CONFIG", other)]),
        "from-other",
    );
    let out = tunggal(work, &["--config", "nope.toml", "sql", "SELECT 1"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nope.toml"), "{}", stderr(&out));
}

#[test]
fn tunggal_toml_refuses_secrets_and_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let refused = |toml: &str, words: &[&str]| {
        std::fs::write(work.join("tunggal.toml"), toml).unwrap();
        let out = tunggal(work, &["--store", "x", "sql", "SELECT 1"], &[]);
        let err = stderr(&out);
        assert!(!out.status.success(), "accepted {toml:?}");
        for w in words {
            assert!(err.contains(w), "{toml:?}: expected {w:?} in:\n{err}");
        }
    };
    refused(
        "[serve-sql]\ntoken = \"s3cr3t-token\"\n",
        &["token", "[serve-sql]", "secret", "TUNGGAL_SQL_TOKEN"],
    );
    refused(
        "[serve-sql]\nuser = [\"ana:correct horse battery\"]\n",
        &["user", "secret"],
    );
    refused(
        &format!("[export]\nsigning_key = \"{}\"\n", "ab".repeat(32)),
        &["signing_key", "key material", "TUNGGAL_SIGNING_KEY"],
    );
    refused(
        "aws_secret_access_key = \"abc\"\n",
        &["aws_secret_access_key", "secret"],
    );
    refused(
        "[nightly]\nmetrics_fil = \"/tmp/m.prom\"\n",
        &["metrics_fil", "[nightly]", "tunggal nightly", "unknown key"],
    );
    refused(
        "[nightlly]\nwait_lock = true\n",
        &["nightlly", "unknown section"],
    );
    refused(
        "log_format = \"xml\"\n",
        &["log_format", "xml", "text, json"],
    );
    // A path to the key is what the file is for.
    std::fs::write(
        work.join("tunggal.toml"),
        "[export]\nsigning_key = \"/etc/tunggal/dc.key\"\n",
    )
    .unwrap();
    let out = tunggal(work, &["--store", "no-store-here", "sql", "SELECT 1"], &[]);
    refused_for_no_store(&out, "no-store-here");
    // So is the path of a token's file, although the flag's name says "token".
    std::fs::write(
        work.join("tunggal.toml"),
        "[console]\nmetrics_token_file = \"/etc/tunggal/secrets/metrics.token\"\n",
    )
    .unwrap();
    let out = tunggal(work, &["--store", "no-store-here", "sql", "SELECT 1"], &[]);
    refused_for_no_store(&out, "no-store-here");
}

#[test]
fn the_example_configuration_of_deploy_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/tunggal.toml.example");
    let dir = tempfile::tempdir().unwrap();
    let out = tunggal(
        dir.path(),
        &["--config", example.to_str().unwrap(), "nightly", "--help"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The file's values show as the defaults in the help.
    assert!(
        stdout(&out).contains("/var/lib/tunggal/nightly.lock"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn help_and_errors_speak_to_a_newcomer() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&tunggal(dir.path(), &["sql", "--help"], &[]));
    for table in lake::Table::ALL {
        assert!(
            help.contains(table.name()),
            "{} missing:\n{help}",
            table.name()
        );
    }
    assert!(
        help.contains("audit") && help.contains("residents"),
        "{help}"
    );

    let help = stdout(&tunggal(dir.path(), &["users", "add", "--help"], &[]));
    assert!(help.contains("at least 10 characters"), "{help}");

    assert!(tunggal(dir.path(), &["--store", "s", "init"], &[])
        .status
        .success());
    let out = tunggal(
        dir.path(),
        &[
            "--store",
            "s",
            "users",
            "add",
            "ana",
            "--role",
            "adjudicator",
        ],
        &[("TUNGGAL_PASSWORD", "short")],
    );
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("error: a password has at least 10 characters"),
        "{err}"
    );
    assert!(!err.contains("bad request"), "{err}");
}
