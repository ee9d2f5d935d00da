//! Crash recovery: what a run finds left by a killed run, and how it rolls that forward.
//!
//! The one idea to hold in mind — no enrollment gets a second card. A run writes its
//! [`InflightPlan`] to `state/export-inflight/<run_id>.json` before its first card and deletes
//! it after its commit, so a plan left in the store names jobs a killed run may have written.
//! For each such job not already in `personalization_jobs`:
//! 1. no files: nothing to do;
//! 2. files but no `manifest.sig`: an unsigned partial job, deleted (no office may print from
//!    it);
//! 3. signed with this run's own key and passing [`crate::job::check_job`]: adopted — its rows are committed as they
//!    were written, with the old run and job ids, so a job an office may already have picked
//!    up is never exported again under a new id;
//! 4. signed but failing its check, or signed by any other key (a key published in the
//!    store is never trusted): the export stops (a person must look); guessing either way
//!    could print a card twice or never.
//!
//! Then the plan is deleted.

use std::collections::BTreeSet;

use lake::tables::personalization_jobs::PersonalizationJobRecord;
use lake::Store;
use tracing::{info, warn};

use crate::card::CardRecord;
use crate::error::{ExportError, Result};
use crate::job::{self, JobManifest};
use crate::keys::DcKey;
use crate::plan::{InflightPlan, PlannedJob};
use crate::queries;
use crate::store_files::{delete_object, read_job_files};

/// Folder of the in-flight plans, relative to the store root.
pub const INFLIGHT_PREFIX: &str = "state/export-inflight";

/// Store path of the in-flight plan of `run_id`.
fn inflight_path(run_id: &str) -> String {
    format!("{INFLIGHT_PREFIX}/{run_id}.json")
}

/// Writes a run's in-flight plan (before its first card).
pub async fn write_inflight(store: &Store, plan: &InflightPlan) -> Result<()> {
    store
        .put(
            &inflight_path(&plan.run_id),
            serde_json::to_vec_pretty(plan)?.into(),
        )
        .await?;
    Ok(())
}

/// Deletes a run's in-flight plan (after its commit).
pub async fn remove_inflight(store: &Store, run_id: &str) -> Result<()> {
    delete_object(store, &inflight_path(run_id)).await
}

/// What recovery did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// The interrupted runs whose jobs were adopted (their cards go into this run's feed).
    pub adopted_runs: BTreeSet<String>,
    /// Signed jobs adopted.
    pub adopted_jobs: usize,
    /// Cards in those jobs.
    pub adopted_cards: usize,
    /// Unsigned partial jobs removed.
    pub removed_partial_jobs: usize,
}

/// Rolls forward every in-flight plan of an interrupted run (see the module docs).
pub async fn recover(store: &Store, key: &DcKey) -> Result<Recovered> {
    let mut done = Recovered::default();
    for plan_meta in store.list(INFLIGHT_PREFIX).await? {
        let plan_path = plan_meta.location.to_string();
        let plan: InflightPlan = serde_json::from_slice(&store.get(&plan_path).await?)
            .map_err(|e| ExportError::Recovery(format!("{plan_path} is unreadable ({e})")))?;
        warn!(run_id = %plan.run_id, jobs = plan.jobs.len(), "recovering an interrupted export run");
        let ctx = lake::lake_context(store).await?;
        let committed = queries::committed_jobs(&ctx, &plan.run_id).await?;
        let mut rows = Vec::new();
        for planned in &plan.jobs {
            if committed.contains(&planned.job_id) {
                continue;
            }
            if let Some(adopted) = roll_forward(store, key, planned, &mut done).await? {
                done.adopted_runs.insert(plan.run_id.clone());
                rows.extend(adopted);
            }
        }
        crate::writer::commit_jobs(store, &rows).await?;
        delete_object(store, &plan_path).await?;
    }
    Ok(done)
}

/// Rules 1 to 4 for one planned job not yet committed: the rows of an adopted job, `None`
/// when there was nothing to adopt.
async fn roll_forward(
    store: &Store,
    key: &DcKey,
    planned: &PlannedJob,
    done: &mut Recovered,
) -> Result<Option<Vec<PersonalizationJobRecord>>> {
    let files = read_job_files(store, &planned.dir).await?;
    if files.is_empty() {
        return Ok(None);
    }
    if !files.contains_key(job::MANIFEST_SIG) {
        for name in files.keys() {
            delete_object(store, &format!("{}/{name}", planned.dir)).await?;
        }
        done.removed_partial_jobs += 1;
        warn!(dir = %planned.dir, "removed an unsigned partial job");
        return Ok(None);
    }
    // Only the key this run signs with is trusted here: a job in the store signed by any
    // other key (even one published beside it) is never adopted.
    let public = match job::manifest_key_id(&files) {
        Some(id) if id == key.key_id() => Some(key.verifying_key()),
        _ => None,
    };
    let check = job::check_job(&files, public.as_ref());
    if !check.is_ok() {
        return Err(ExportError::Recovery(format!(
            "{} is signed but fails its check, so it cannot be adopted or redone \
             safely; inspect it with `tunggal export check`:\n{check}",
            planned.dir
        )));
    }
    let manifest: JobManifest = serde_json::from_slice(&files[job::MANIFEST])?;
    let mut rows = Vec::with_capacity(manifest.files.len());
    for entry in &manifest.files {
        let card = CardRecord::parse(&files[&entry.path])?.card;
        rows.push(PersonalizationJobRecord {
            enrollment_id: card.enrollment_id,
            job_id: manifest.job_id.clone(),
            regency_code: manifest.regency_code.clone(),
            run_id: manifest.run_id.clone(),
            reason: card.reason,
            exported_time: manifest.created,
            file: format!("{}/{}", planned.dir, entry.path),
            sha256: entry.sha256.clone(),
        });
    }
    done.adopted_jobs += 1;
    done.adopted_cards += manifest.record_count;
    info!(dir = %planned.dir, cards = manifest.record_count, "adopted a signed job");
    Ok(Some(rows))
}
