//! Adjudication: the humans' side of deduplication. Suspected duplicates (`ganda` and
//! `nik_conflict` clusters from the nightly 1:N search) become cases; adjudicators review the
//! evidence in a web console and decide; final decisions go back to the lake's `decisions`
//! table, which the next nightly dedup run applies.
//!
//! - [`store`]: the case store (SQLite, WAL): schema, users, sessions, the case queue, claims
//!   and the decision state machine (pure rules in [`store::rules`]), the audit trail.
//! - [`auth`]: roles, argon2 passwords, tokens, login rate limiting.
//! - [`lakeview`]: cases from clusters, evidence rows, images, the exactly-once decision export.
//! - [`evidence`]: what the case page shows: biodata differences, 10×10 finger matrix, iris
//!   scores, minutiae overlays, NIK history.
//! - [`present`]: numbers for people: times in WIB/WITA/WIT, region names, the iris
//!   threshold.
//! - [`web`]: the actix-web console: HTML pages and a JSON API under `/api` (OpenAPI at
//!   `/api/openapi.yaml`) over one view of a case and of the audit trail; an `Authenticated`
//!   extractor; the periodic sync task it owns.
//! - [`sync`]: what `tunggal nightly` calls: create cases, export final decisions.
//!
//! The one idea to hold in mind: a case's state changes only inside one SQLite transaction that
//! checks who holds it and writes the audit row, so two people never work the same case and
//! nothing happens without a trace.

pub mod auth;
mod error;
pub mod evidence;
pub mod lakeview;
pub mod present;
pub mod store;
pub mod web;

use std::path::{Path, PathBuf};

pub use auth::Role;
pub use error::{AdjudicationError, Result};
pub use lakeview::SyncSummary;
pub use store::CaseStore;
pub use web::{serve, ConsoleConfig};

/// Environment variable naming the case store file.
pub const CASE_DB_ENV: &str = "TUNGGAL_CASE_DB";

/// The default case store file of `store`: `<store folder>/adjudication/cases.sqlite` for a
/// local store, `./tunggal-cases.sqlite` otherwise (an object store cannot hold SQLite).
pub fn default_case_db(store: &lake::Store) -> PathBuf {
    match store.url().to_file_path() {
        Ok(folder) if store.url().scheme() == "file" => {
            folder.join("adjudication").join("cases.sqlite")
        }
        _ => PathBuf::from("./tunggal-cases.sqlite"),
    }
}

/// The nightly job's step: (1) creates cases from the lake's current `ganda` and
/// `nik_conflict` clusters, idempotently (a case id derives from its cluster and members),
/// and (2) writes every final decision not yet exported to the lake's `decisions` table,
/// exactly once. Run it before dedup, which then applies the decisions.
pub async fn sync(store: &lake::Store, case_db: &Path) -> Result<SyncSummary> {
    let cases = CaseStore::open(case_db)?;
    lakeview::sync_with(store, &cases).await
}
