//! Every notebook in `notebooks/` executes headless (nbclient, from `.venv`) against a
//! synthesized store, and a cell that fails fails this test. The committed notebooks carry no
//! outputs, so no personal data is committed with them.

mod common;
#[path = "support/sql_fixture.rs"]
mod sql_fixture;

use std::path::{Path, PathBuf};
use std::process::Command;

use sql_fixture::fixture;

const RUNNER: &str = r#"
import os, sys
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": os.path.dirname(path)}}).execute()
print("executed", os.path.basename(path), len(nb.cells), "cells")
"#;

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
fn every_notebook_executes_against_a_synthesized_store() {
    let python = common::venv_python();
    let f = fixture();
    let mut failures = Vec::new();
    for book in notebooks() {
        let out = Command::new(&python)
            .args(["-c", RUNNER])
            .arg(&book)
            .env("TUNGGAL_STORE", &f.root)
            .env("TUNGGAL_REFERENCE_DATE", "2027-01-01")
            .output()
            .expect("start python");
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
        "notebooks failed:\n{}",
        failures.join("\n\n")
    );
}
