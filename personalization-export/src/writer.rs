//! Writing one regency's job: each card fetched from its packet, sealed and stored, then the
//! manifest, then its signature.
//!
//! The one idea to hold in mind: `manifest.sig` is written last, so a job is complete — and
//! printable — exactly when its signature exists. A card that cannot be made (packet missing,
//! changed, or no longer consistent with the lake) is left out with a short reason without
//! personal data; it stays a printable for the next run.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};
use futures::StreamExt;
use lake::tables::personalization_jobs::PersonalizationJobRecord;
use lake::Store;
use tracing::{debug, warn};

use crate::card::{Card, CardFace, CardRecord, Chip, REASON_REISSUE};
use crate::error::Result;
use crate::export::ExportOptions;
use crate::job::{self, FileEntry, JobManifest};
use crate::keys::DcKey;
use crate::plan::{PlannedCard, Printable};
use crate::summary::{ExportSummary, JobSummary};

/// Cards written between two progress log lines.
const PROGRESS_EVERY: usize = 500;

/// What every job of one run shares: where it goes, how it is signed, what it says.
pub struct JobWriter<'a> {
    /// The store the packets come from and the jobs go to.
    pub store: &'a Store,
    /// The run's options (concurrency, limits, software).
    pub options: &'a ExportOptions,
    /// The DC key that seals the cards and signs the manifests.
    pub key: &'a DcKey,
    /// The run writing the jobs.
    pub run_id: &'a str,
    /// Date of issue printed on the cards.
    pub issued: NaiveDate,
}

impl JobWriter<'_> {
    /// Writes one regency's job (see the module docs) and counts it in `summary`; returns
    /// its `personalization_jobs` rows, none when no card could be made (then nothing is
    /// written for the regency).
    pub async fn write_job(
        &self,
        regency: &str,
        cards: Vec<PlannedCard>,
        summary: &mut ExportSummary,
    ) -> Result<Vec<PersonalizationJobRecord>> {
        let job_id = job::job_id(self.run_id, regency);
        let dir = job::job_dir(regency, self.run_id);
        let regency_name = reference::regions::regions()
            .regency(regency)
            .map(|r| r.name.to_uppercase())
            .unwrap_or_default();
        let created = Utc::now();
        let total = cards.len();
        let mut files: Vec<FileEntry> = Vec::new();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut job_rows = Vec::new();

        let mut built = futures::stream::iter(cards.into_iter().map(|planned| {
            let job_id = job_id.clone();
            async move {
                let made = self
                    .build_card(&job_id, &planned.printable, planned.reason)
                    .await;
                (planned, made)
            }
        }))
        .buffered(self.options.fetch_concurrency.max(1));
        let mut done = 0usize;
        while let Some((
            PlannedCard {
                printable: c,
                reason,
            },
            made,
        )) = built.next().await
        {
            done += 1;
            let bytes = match made {
                Ok(bytes) => bytes,
                Err(why) => {
                    warn!(enrollment_id = %c.enrollment_id, regency, "not exported: {why}");
                    *summary.failed.entry(why).or_default() += 1;
                    summary.retry.push(c.enrollment_id.clone());
                    continue;
                }
            };
            let rel = job::card_file(&c.enrollment_id);
            let sha = job::sha256_hex(&bytes);
            let path = format!("{dir}/{rel}");
            files.push(FileEntry {
                path: rel,
                bytes: bytes.len() as u64,
                sha256: sha.clone(),
            });
            self.store.put(&path, bytes.into()).await?;
            *reasons.entry(reason.to_string()).or_default() += 1;
            job_rows.push(PersonalizationJobRecord {
                enrollment_id: c.enrollment_id.clone(),
                job_id: job_id.clone(),
                regency_code: regency.to_string(),
                run_id: self.run_id.to_string(),
                reason: reason.to_string(),
                exported_time: created,
                file: path,
                sha256: sha,
            });
            if done.is_multiple_of(PROGRESS_EVERY) {
                debug!(regency, done, total, "cards written");
            }
        }
        if job_rows.is_empty() {
            return Ok(job_rows);
        }
        let manifest = JobManifest {
            format: job::JOB_FORMAT.into(),
            format_version: job::JOB_FORMAT_VERSION.into(),
            job_id: job_id.clone(),
            run_id: self.run_id.into(),
            regency_code: regency.into(),
            regency_name: regency_name.clone(),
            created,
            software: self.options.software.clone(),
            key_id: self.key.key_id().into(),
            record_count: files.len(),
            reasons,
            files,
        };
        self.sign_and_store(&dir, &manifest).await?;
        debug!(regency, cards = job_rows.len(), job_id = %job_id, "job written");
        for r in &job_rows {
            if r.reason == REASON_REISSUE {
                summary.reissues += 1;
            } else {
                summary.new_cards += 1;
            }
        }
        summary.exported += job_rows.len();
        summary.jobs.push(JobSummary {
            regency_code: regency.into(),
            regency_name,
            job_id: job_id.clone(),
            cards: job_rows.len(),
            dir,
        });
        Ok(job_rows)
    }

    /// Stores `manifest.json` in `dir`, then its signature `manifest.sig` (last).
    async fn sign_and_store(&self, dir: &str, manifest: &JobManifest) -> Result<()> {
        let manifest_bytes = serde_json::to_vec_pretty(manifest)?;
        let signature = self.key.sign(&manifest_bytes).to_bytes().to_vec();
        self.store
            .put(&format!("{dir}/{}", job::MANIFEST), manifest_bytes.into())
            .await?;
        self.store
            .put(&format!("{dir}/{}", job::MANIFEST_SIG), signature.into())
            .await?;
        Ok(())
    }

    /// Fetches one enrollment's packet and turns it into sealed card bytes; the error is a
    /// short reason without personal data (it becomes a summary count).
    async fn build_card(
        &self,
        job_id: &str,
        c: &Printable,
        reason: &str,
    ) -> std::result::Result<Vec<u8>, String> {
        let path = c
            .object_path
            .as_deref()
            .ok_or("no accepted packets row for the enrollment")?;
        let bytes = self
            .store
            .get(path)
            .await
            .map_err(|_| "packet cannot be read from landing/".to_string())?;
        if c.packet_sha256.as_deref() != Some(job::sha256_hex(&bytes).as_str()) {
            return Err("packet in landing/ changed since ingest".into());
        }
        let packet = packet::open(&bytes, &self.options.limits)
            .map_err(|r| format!("packet no longer opens ({})", r.code))?;
        if packet.biodata.nik.as_str() != c.nik || packet.biodata.regency_code != c.regency_code {
            return Err("packet biodata differs from the enrollments row".into());
        }
        let face = CardFace::compose(&packet.biodata, self.issued).map_err(|e| e.to_string())?;
        let card = Card {
            enrollment_id: c.enrollment_id.clone(),
            job_id: job_id.into(),
            run_id: self.run_id.into(),
            reason: reason.into(),
            regency_code: c.regency_code.clone(),
            face,
            chip: Chip::from_packet(&packet),
        };
        card.seal(self.key)
            .and_then(|r: CardRecord| r.to_bytes())
            .map_err(|e| e.to_string())
    }
}

/// Commits the `personalization_jobs` rows of signed jobs in one Delta commit (none: no
/// commit). This commit is what makes a card exported; a run (or a recovery) calls it once.
pub(crate) async fn commit_jobs(store: &Store, rows: &[PersonalizationJobRecord]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    lake::delta::append(
        store,
        lake::Table::PersonalizationJobs,
        vec![lake::tables::personalization_jobs::to_batch(rows)?],
        None,
    )
    .await?;
    Ok(())
}
