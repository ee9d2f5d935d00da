//! Every notebook in `notebooks/` executes headless (nbclient, from `.venv`) against a
//! synthesized store, and a cell that fails fails this test. The committed notebooks carry no
//! outputs, so no personal data is committed with them.

mod common;
#[path = "support/sql_fixture.rs"]
mod sql_fixture;

use std::path::{Path, PathBuf};
use std::process::Command;

use sql_fixture::fixture;

/// The repository root (the folder the README's commands run from).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repo root")
}

/// The headless command of notebooks/README.md, exactly as written there (the line that runs
/// `coverage.ipynb`), so that the test breaks when the recipe does.
fn readme_command() -> String {
    let readme = std::fs::read_to_string(repo_root().join("notebooks/README.md")).unwrap();
    readme
        .lines()
        .find(|l| l.contains("jupyter-execute notebooks/coverage.ipynb"))
        .expect("notebooks/README.md names a jupyter-execute command")
        .trim()
        .to_string()
}

/// `to` as a path relative to `from` (both absolute, canonical): `../../tmp/x`.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c);
    }
    out
}

/// Runs the README's command for `book` through a shell from the repository root, with
/// `TUNGGAL_STORE` set to `store` as the user's `export` line would.
fn run_recipe(book: &Path, store: &Path) -> std::process::Output {
    let name = book.file_name().unwrap().to_str().unwrap();
    let line = readme_command().replace("coverage.ipynb", name);
    Command::new("bash")
        .arg("-c")
        .arg(format!("export TUNGGAL_STORE={}\n{line}", store.display()))
        .current_dir(repo_root())
        .env_remove("PWD")
        .env("TUNGGAL_REFERENCE_DATE", "2027-01-01")
        .output()
        .expect("start bash")
}

fn notebooks() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../notebooks");
    let mut books: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("notebooks/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    books.sort();
    assert!(books.len() >= 5, "notebooks: {books:?}");
    books
}

#[test]
fn committed_notebooks_carry_no_outputs() {
    for book in notebooks() {
        let nb: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&book).unwrap()).expect("notebook json");
        for cell in nb["cells"].as_array().unwrap() {
            if cell["cell_type"] == "code" {
                assert_eq!(
                    cell["outputs"],
                    serde_json::json!([]),
                    "{} has outputs",
                    book.display()
                );
                assert!(
                    cell["execution_count"].is_null(),
                    "{} was executed",
                    book.display()
                );
            }
        }
    }
}

#[test]
fn every_notebook_executes_by_the_readme_recipe_with_a_relative_store() {
    let f = fixture();
    let root = repo_root();
    let store = relative(&root, &f.root.canonicalize().unwrap());
    assert!(store.is_relative(), "{}", store.display());
    let mut failures = Vec::new();
    for book in notebooks() {
        let out = run_recipe(&book, &store);
        if !out.status.success() {
            failures.push(format!(
                "{}:\n{}",
                book.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "notebooks failed (TUNGGAL_STORE={}):\n{}",
        store.display(),
        failures.join("\n\n")
    );
}

#[test]
fn a_notebook_on_a_path_without_a_store_says_so() {
    let book = repo_root().join("notebooks/coverage.ipynb");
    let out = run_recipe(&book, Path::new("./no-tunggal-store-here"));
    assert!(!out.status.success(), "ran without a store");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no tunggal store at") && stderr.contains("no-tunggal-store-here"),
        "{stderr}"
    );
}
