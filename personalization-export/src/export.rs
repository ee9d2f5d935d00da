//! The export run: every personalizable enrollment not yet exported becomes a sealed card in
//! its regency/city's job, `personalization_jobs` records it, and each service point gets its
//! results.
//!
//! The one idea to hold in mind — crash safety without a second card. The order is:
//! 1. write an *in-flight plan* `state/export-inflight/<run_id>.json` (job ids and folders,
//!    no personal data);
//! 2. write each job: card files, then `manifest.json`, then `manifest.sig` (last: a job is
//!    complete, and printable, exactly when its signature exists);
//! 3. commit all `personalization_jobs` rows of the run in one Delta commit;
//! 4. write the site-result feed, delete the plan, finish the `runs` row.
//!
//! A run killed between 2 and 3 leaves signed jobs that the table does not know. The next run
//! first reads every in-flight plan and *rolls forward*: a signed job that passes
//! [`crate::job::check_job`] is adopted (its rows are committed as they were written, with the
//! old run and job ids), an unsigned partial job is deleted (no office may print from an
//! unsigned job). So a job an office may already have picked up is never exported again under
//! a new id, and no enrollment gets a second card. A signed job that fails its check stops
//! the export (a person must look): guessing either way could print a card twice or never.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use lake::delta::{self, sql_literal};
use lake::run::{self, RunCounts};
use lake::tables::identity_status::PERSONALIZABLE;
use lake::tables::personalization_jobs::{self, PersonalizationJobRecord};
use lake::{Store, Table};
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::card::{Card, CardFace, CardRecord, Chip, REASON_NEW, REASON_REISSUE};
use crate::error::{ExportError, Result};
use crate::feed::{self, FeedRow};
use crate::job::{self, FileEntry, JobManifest};
use crate::keys::{self, DcKey};
use crate::read::{collect, longs, strings};

/// Folder of the in-flight plans, relative to the store root.
pub const INFLIGHT_PREFIX: &str = "state/export-inflight";

/// Test-only fault injection: when this variable is `1`, the export process aborts after
/// writing its job files and before committing `personalization_jobs` (the crash window the
/// roll-forward recovery exists for). Unset in production.
pub const FAULT_ABORT_BEFORE_COMMIT: &str = "TUNGGAL_FAULT_EXPORT_ABORT_BEFORE_COMMIT";

/// How an export run is made.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The DC signing key file; `None`: `TUNGGAL_SIGNING_KEY`, else the store's default
    /// (see [`crate::keys`]).
    pub signing_key: Option<PathBuf>,
    /// Date of issue printed on the cards; `None`: today (UTC).
    pub issue_date: Option<NaiveDate>,
    /// Packets fetched from the store at the same time.
    pub fetch_concurrency: usize,
    /// Size limits when re-reading packets.
    pub limits: packet::Limits,
    /// Written into every manifest as `software`.
    pub software: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            signing_key: None,
            issue_date: None,
            fetch_concurrency: 16,
            limits: packet::Limits::default(),
            software: format!("tunggal {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// One job written by a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSummary {
    /// Regency/city `PP.KK`.
    pub regency_code: String,
    /// Its printed name.
    pub regency_name: String,
    /// The job id.
    pub job_id: String,
    /// Cards in the job.
    pub cards: usize,
    /// The job folder, relative to the store root.
    pub dir: String,
}

/// What one export run did.
#[derive(Clone, Debug, Default)]
pub struct ExportSummary {
    /// The run id.
    pub run_id: String,
    /// Id of the DC key that signed the jobs.
    pub key_id: String,
    /// Whether this run created the key (first use of the default).
    pub key_created: bool,
    /// Where the public key is published in the store.
    pub public_key_path: String,
    /// Personalizable enrollments not yet exported, found at the start.
    pub candidates: usize,
    /// Of those, left out because a later personalizable enrollment of the same NIK exists
    /// (only the latest capture of a person gets a card).
    pub superseded: usize,
    /// Cards exported by this run.
    pub exported: usize,
    /// Of those, first cards.
    pub new_cards: usize,
    /// Of those, re-issues (re-enrollment of a lost or damaged card).
    pub reissues: usize,
    /// Jobs written, one per regency/city.
    pub jobs: Vec<JobSummary>,
    /// Enrollments that could not be exported, counted per reason (they stay candidates).
    pub failed: BTreeMap<String, usize>,
    /// Jobs of interrupted runs adopted (signed, checked, then recorded).
    pub adopted_jobs: usize,
    /// Cards in those jobs.
    pub adopted_cards: usize,
    /// Unsigned partial jobs of interrupted runs removed.
    pub removed_partial_jobs: usize,
    /// Site-result files written.
    pub feed_files: usize,
    /// Rows in them.
    pub feed_rows: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl ExportSummary {
    /// Enrollments that failed, in all.
    pub fn failed_total(&self) -> usize {
        self.failed.values().sum()
    }

    /// JSON for `runs.detail`.
    pub fn detail_json(&self) -> String {
        serde_json::json!({
            "key_id": self.key_id,
            "superseded": self.superseded,
            "new": self.new_cards,
            "reissue": self.reissues,
            "jobs": self.jobs.len(),
            "failed_by_reason": self.failed,
            "adopted_jobs": self.adopted_jobs,
            "adopted_cards": self.adopted_cards,
            "removed_partial_jobs": self.removed_partial_jobs,
            "feed_files": self.feed_files,
            "feed_rows": self.feed_rows,
        })
        .to_string()
    }
}

impl std::fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "export run {}", self.run_id)?;
        writeln!(
            f,
            "  signing key {}{}; public key at {}",
            self.key_id,
            if self.key_created {
                " (created now)"
            } else {
                ""
            },
            self.public_key_path
        )?;
        if self.adopted_jobs + self.removed_partial_jobs > 0 {
            writeln!(
                f,
                "  interrupted run recovered: {} signed job(s) adopted ({} cards), {} partial job(s) removed",
                self.adopted_jobs, self.adopted_cards, self.removed_partial_jobs
            )?;
        }
        writeln!(
            f,
            "  to personalize {:>7}   superseded {:>6}   failed {:>6}",
            self.candidates,
            self.superseded,
            self.failed_total()
        )?;
        writeln!(
            f,
            "  exported {:>7} cards ({} new, {} reissue) in {} job(s)",
            self.exported,
            self.new_cards,
            self.reissues,
            self.jobs.len()
        )?;
        for j in &self.jobs {
            writeln!(
                f,
                "    {:<6} {:<32} {:>6} cards  {}/",
                j.regency_code, j.regency_name, j.cards, j.dir
            )?;
        }
        for (reason, n) in &self.failed {
            writeln!(f, "  not exported: {reason}: {n}")?;
        }
        writeln!(
            f,
            "  site results: {} row(s) in {} file(s) under {}/",
            self.feed_rows,
            self.feed_files,
            feed::FEED_PREFIX
        )?;
        write!(f, "  elapsed {:.1?}", self.elapsed)
    }
}

/// The in-flight plan of a run (see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct InflightPlan {
    run_id: String,
    jobs: Vec<PlannedJob>,
}

/// One planned job.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PlannedJob {
    job_id: String,
    regency_code: String,
    dir: String,
}

fn inflight_path(run_id: &str) -> String {
    format!("{INFLIGHT_PREFIX}/{run_id}.json")
}

/// One enrollment to personalize.
#[derive(Debug, Clone)]
struct Candidate {
    enrollment_id: String,
    status: String,
    nik: String,
    captured: i64,
    regency_code: String,
    object_path: Option<String>,
    packet_sha256: Option<String>,
}

/// Exports every personalizable enrollment not yet exported: one signed job per regency/city,
/// `personalization_jobs` rows, and the site-result feed. Safe to re-run (a re-run with
/// nothing new writes nothing) and to kill at any point (see the module docs).
pub async fn export(store: &Store, options: &ExportOptions) -> Result<ExportSummary> {
    let started = Instant::now();
    let key = keys::resolve(options.signing_key.as_deref(), store)?;
    let run = run::start(store, "export").await?;
    info!(run_id = %run.run_id, key_id = key.key_id(), "export started");
    let mut summary = ExportSummary {
        run_id: run.run_id.clone(),
        key_id: key.key_id().into(),
        key_created: key.created,
        ..ExportSummary::default()
    };
    let result = run_export(store, options, &key, &run.run_id, &mut summary).await;
    summary.elapsed = started.elapsed();
    let counts = RunCounts {
        seen: summary.candidates as i64,
        processed: (summary.exported + summary.failed_total()) as i64,
        accepted: summary.exported as i64,
        rejected: summary.failed_total() as i64,
    };
    match result {
        Ok(()) => {
            run.finish(store, run::SUCCEEDED, &counts, Some(&summary.detail_json()))
                .await?;
            info!(
                exported = summary.exported,
                jobs = summary.jobs.len(),
                "export finished"
            );
            Ok(summary)
        }
        Err(err) => {
            let detail = serde_json::json!({ "error": err.to_string() }).to_string();
            if let Err(e) = run.finish(store, run::FAILED, &counts, Some(&detail)).await {
                warn!("could not record the failed export run: {e}");
            }
            Err(err)
        }
    }
}

async fn run_export(
    store: &Store,
    options: &ExportOptions,
    key: &DcKey,
    run_id: &str,
    summary: &mut ExportSummary,
) -> Result<()> {
    summary.public_key_path = keys::publish(store, key).await?;
    let previous_cutoff = previous_export_start(store).await?;
    let adopted_runs = recover(store, key, summary).await?;

    let ctx = lake::lake_context(store).await?;
    let candidates = load_candidates(&ctx).await?;
    summary.candidates = candidates.len();
    let (siblings, exported_niks) = load_nik_context(&ctx).await?;
    drop(ctx);
    info!(
        candidates = candidates.len(),
        "personalizable enrollments not yet exported"
    );

    // Only the latest personalizable capture of a NIK gets a card; the reason follows history.
    let mut by_regency: BTreeMap<String, Vec<(Candidate, &'static str)>> = BTreeMap::new();
    for c in candidates {
        let later = siblings.get(&c.nik).is_some_and(|list| {
            list.iter()
                .any(|(id, t)| (*t, id.as_str()) > (c.captured, c.enrollment_id.as_str()))
        });
        if later {
            summary.superseded += 1;
            continue;
        }
        let reason = if c.status == lake::tables::identity_status::REENROLLMENT
            || exported_niks.contains(&c.nik)
        {
            REASON_REISSUE
        } else {
            REASON_NEW
        };
        by_regency
            .entry(c.regency_code.clone())
            .or_default()
            .push((c, reason));
    }

    let mut rows: Vec<PersonalizationJobRecord> = Vec::new();
    if !by_regency.is_empty() {
        let plan = InflightPlan {
            run_id: run_id.into(),
            jobs: by_regency
                .keys()
                .map(|r| PlannedJob {
                    job_id: job::job_id(run_id, r),
                    regency_code: r.clone(),
                    dir: job::job_dir(r, run_id),
                })
                .collect(),
        };
        store
            .put(
                &inflight_path(run_id),
                serde_json::to_vec_pretty(&plan)?.into(),
            )
            .await?;
        let issued = options
            .issue_date
            .unwrap_or_else(|| Utc::now().date_naive());
        for (regency, cards) in by_regency {
            write_job(
                store, options, key, run_id, &regency, cards, issued, &mut rows, summary,
            )
            .await?;
        }
    }

    if std::env::var(FAULT_ABORT_BEFORE_COMMIT).as_deref() == Ok("1") {
        eprintln!("fault injection: aborting after the job files, before the commit");
        std::process::abort();
    }
    if !rows.is_empty() {
        delta::append(
            store,
            Table::PersonalizationJobs,
            vec![personalization_jobs::to_batch(&rows)?],
            None,
        )
        .await?;
        info!(cards = rows.len(), "personalization_jobs committed");
    }

    let mut feed_runs = adopted_runs;
    if !rows.is_empty() {
        feed_runs.insert(run_id.to_string());
    }
    write_feed(store, run_id, previous_cutoff, &feed_runs, summary).await?;
    if summary.exported > 0 || !summary.jobs.is_empty() {
        delete_object(store, &inflight_path(run_id)).await?;
    } else {
        // A plan may have been written for regencies whose every card failed.
        delete_object(store, &inflight_path(run_id)).await.ok();
    }
    Ok(())
}

/// Writes one regency's job: its cards (fetched and sealed as they stream), then the manifest,
/// then the signature.
#[allow(clippy::too_many_arguments)]
async fn write_job(
    store: &Store,
    options: &ExportOptions,
    key: &DcKey,
    run_id: &str,
    regency: &str,
    cards: Vec<(Candidate, &'static str)>,
    issued: NaiveDate,
    rows: &mut Vec<PersonalizationJobRecord>,
    summary: &mut ExportSummary,
) -> Result<()> {
    let job_id = job::job_id(run_id, regency);
    let dir = job::job_dir(regency, run_id);
    let regency_name = reference::regions::regions()
        .regency(regency)
        .map(|r| r.name.to_uppercase())
        .unwrap_or_default();
    let created = Utc::now();
    let total = cards.len();
    let mut files: Vec<FileEntry> = Vec::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut job_rows = Vec::new();

    let mut built = futures::stream::iter(cards.into_iter().map(|(c, reason)| {
        let job_id = job_id.clone();
        async move {
            let made = build_card(store, options, key, run_id, &job_id, &c, reason, issued).await;
            (c, reason, made)
        }
    }))
    .buffered(options.fetch_concurrency.max(1));
    let mut done = 0usize;
    while let Some((c, reason, made)) = built.next().await {
        done += 1;
        let bytes = match made {
            Ok(bytes) => bytes,
            Err(why) => {
                warn!(enrollment_id = %c.enrollment_id, regency, "not exported: {why}");
                *summary.failed.entry(why).or_default() += 1;
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
        store.put(&path, bytes.into()).await?;
        *reasons.entry(reason.to_string()).or_default() += 1;
        job_rows.push(PersonalizationJobRecord {
            enrollment_id: c.enrollment_id.clone(),
            job_id: job_id.clone(),
            regency_code: regency.to_string(),
            run_id: run_id.to_string(),
            reason: reason.to_string(),
            exported_time: created,
            file: path,
            sha256: sha,
        });
        if done.is_multiple_of(500) {
            info!(regency, done, total, "cards written");
        }
    }
    if job_rows.is_empty() {
        return Ok(());
    }
    let manifest = JobManifest {
        format: job::JOB_FORMAT.into(),
        format_version: job::JOB_FORMAT_VERSION.into(),
        job_id: job_id.clone(),
        run_id: run_id.into(),
        regency_code: regency.into(),
        regency_name: regency_name.clone(),
        created,
        software: options.software.clone(),
        key_id: key.key_id().into(),
        record_count: files.len(),
        reasons,
        files,
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
    let signature = key.sign(&manifest_bytes).to_bytes().to_vec();
    store
        .put(&format!("{dir}/{}", job::MANIFEST), manifest_bytes.into())
        .await?;
    store
        .put(&format!("{dir}/{}", job::MANIFEST_SIG), signature.into())
        .await?;
    info!(regency, cards = job_rows.len(), job_id = %job_id, "job written");
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
    rows.extend(job_rows);
    Ok(())
}

/// Fetches one enrollment's packet and turns it into sealed card bytes; the error is a short
/// reason without personal data (it becomes a summary count).
#[allow(clippy::too_many_arguments)]
async fn build_card(
    store: &Store,
    options: &ExportOptions,
    key: &DcKey,
    run_id: &str,
    job_id: &str,
    c: &Candidate,
    reason: &str,
    issued: NaiveDate,
) -> std::result::Result<Vec<u8>, String> {
    let path = c
        .object_path
        .as_deref()
        .ok_or("no accepted packets row for the enrollment")?;
    let bytes = store
        .get(path)
        .await
        .map_err(|_| "packet cannot be read from landing/".to_string())?;
    if c.packet_sha256.as_deref() != Some(job::sha256_hex(&bytes).as_str()) {
        return Err("packet in landing/ changed since ingest".into());
    }
    let packet = packet::open(&bytes, &options.limits)
        .map_err(|r| format!("packet no longer opens ({})", r.code))?;
    if packet.biodata.nik.as_str() != c.nik || packet.biodata.regency_code != c.regency_code {
        return Err("packet biodata differs from the enrollments row".into());
    }
    let face = CardFace::compose(&packet.biodata, issued).map_err(|e| e.to_string())?;
    let card = Card {
        enrollment_id: c.enrollment_id.clone(),
        job_id: job_id.into(),
        run_id: run_id.into(),
        reason: reason.into(),
        regency_code: c.regency_code.clone(),
        face,
        chip: Chip::from_packet(&packet),
    };
    card.seal(key)
        .and_then(|r: CardRecord| r.to_bytes())
        .map_err(|e| e.to_string())
}

/// Personalizable enrollments with no `personalization_jobs` row, with their packet.
async fn load_candidates(ctx: &datafusion::prelude::SessionContext) -> Result<Vec<Candidate>> {
    let sql = format!(
        "{PERS} SELECT c.enrollment_id, c.status, c.nik, c.captured, c.regency_code, \
                k.object_path, k.sha256 \
         FROM pers c LEFT JOIN packets k \
           ON k.enrollment_id = c.enrollment_id AND k.status = 'accepted' \
         WHERE NOT EXISTS (SELECT 1 FROM personalization_jobs j \
                           WHERE j.enrollment_id = c.enrollment_id) \
         ORDER BY c.regency_code, c.enrollment_id"
    );
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for batch in collect(ctx, &sql).await? {
        let ids = strings(&batch, 0)?;
        let status = strings(&batch, 1)?;
        let nik = strings(&batch, 2)?;
        let captured = longs(&batch, 3)?;
        let regency = strings(&batch, 4)?;
        let object = strings(&batch, 5)?;
        let sha = strings(&batch, 6)?;
        for i in 0..batch.num_rows() {
            let Some(id) = ids[i].clone() else { continue };
            if !seen.insert(id.clone()) {
                continue;
            }
            out.push(Candidate {
                enrollment_id: id,
                status: status[i].clone().unwrap_or_default(),
                nik: nik[i].clone().unwrap_or_default(),
                captured: captured[i].unwrap_or_default(),
                regency_code: regency[i].clone().unwrap_or_default(),
                object_path: object[i].clone(),
                packet_sha256: sha[i].clone(),
            });
        }
    }
    Ok(out)
}

/// The personalizable enrollments with their NIK and capture time, as a SQL CTE.
const PERS: &str = "WITH pers AS ( \
    SELECT s.enrollment_id, s.status, e.nik, CAST(e.capture_finished AS BIGINT) AS captured, \
           e.regency_code \
    FROM identity_status s JOIN enrollments e ON e.enrollment_id = s.enrollment_id \
    WHERE s.status IN ('tunggal', 'reenrollment', 'cleared')), \
    cand AS (SELECT p.* FROM pers p WHERE NOT EXISTS \
       (SELECT 1 FROM personalization_jobs j WHERE j.enrollment_id = p.enrollment_id))";

/// For the candidates' NIKs: every personalizable enrollment of the NIK (id, capture time),
/// and the NIKs that already have an exported card.
async fn load_nik_context(
    ctx: &datafusion::prelude::SessionContext,
) -> Result<(HashMap<String, Vec<(String, i64)>>, HashSet<String>)> {
    debug_assert_eq!(PERSONALIZABLE.len(), 3);
    let mut siblings: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    let sql = format!(
        "{PERS} SELECT p.nik, p.enrollment_id, p.captured FROM pers p \
         WHERE p.nik IN (SELECT nik FROM cand)"
    );
    for batch in collect(ctx, &sql).await? {
        let nik = strings(&batch, 0)?;
        let id = strings(&batch, 1)?;
        let t = longs(&batch, 2)?;
        for i in 0..batch.num_rows() {
            if let (Some(n), Some(e)) = (nik[i].clone(), id[i].clone()) {
                siblings
                    .entry(n)
                    .or_default()
                    .push((e, t[i].unwrap_or_default()));
            }
        }
    }
    let sql = format!(
        "{PERS} SELECT DISTINCT e.nik FROM personalization_jobs j \
         JOIN enrollments e ON e.enrollment_id = j.enrollment_id \
         WHERE e.nik IN (SELECT nik FROM cand)"
    );
    let mut exported = HashSet::new();
    for batch in collect(ctx, &sql).await? {
        exported.extend(strings(&batch, 0)?.into_iter().flatten());
    }
    Ok((siblings, exported))
}

/// Start time (µs) of the last successful export run, the feed's cut-off.
async fn previous_export_start(store: &Store) -> Result<Option<i64>> {
    let ctx = lake::lake_context(store).await?;
    let batches = collect(
        &ctx,
        "SELECT CAST(max(started) AS BIGINT) FROM runs \
         WHERE stage = 'export' AND status = 'succeeded'",
    )
    .await?;
    Ok(batches
        .first()
        .filter(|b| b.num_rows() > 0)
        .map(|b| longs(b, 0))
        .transpose()?
        .and_then(|v| v[0]))
}

/// Writes this run's site-result files (see [`crate::feed`]).
async fn write_feed(
    store: &Store,
    run_id: &str,
    cutoff: Option<i64>,
    exported_runs: &BTreeSet<String>,
    summary: &mut ExportSummary,
) -> Result<()> {
    let ctx = lake::lake_context(store).await?;
    let runs = if exported_runs.is_empty() {
        "NULL".to_string()
    } else {
        exported_runs
            .iter()
            .map(|r| sql_literal(r))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = format!(
        "SELECT e.site, e.packet_id, s.enrollment_id, s.status, CAST(s.since AS BIGINT), \
                e.regency_code, j.job_id \
         FROM identity_status s JOIN enrollments e ON e.enrollment_id = s.enrollment_id \
         LEFT JOIN personalization_jobs j ON j.enrollment_id = s.enrollment_id \
         WHERE CAST(s.since AS BIGINT) > {cutoff} OR j.run_id IN ({runs}) \
         ORDER BY e.site, e.packet_id",
        cutoff = cutoff.unwrap_or(i64::MIN)
    );
    let mut rows = Vec::new();
    for batch in collect(&ctx, &sql).await? {
        let site = strings(&batch, 0)?;
        let packet = strings(&batch, 1)?;
        let id = strings(&batch, 2)?;
        let status = strings(&batch, 3)?;
        let since = longs(&batch, 4)?;
        let regency = strings(&batch, 5)?;
        let job = strings(&batch, 6)?;
        for i in 0..batch.num_rows() {
            rows.push((
                site[i].clone().unwrap_or_default(),
                FeedRow::new(
                    packet[i].clone().unwrap_or_default(),
                    id[i].clone().unwrap_or_default(),
                    status[i].clone().unwrap_or_default(),
                    since[i].unwrap_or_default(),
                    regency[i].clone().unwrap_or_default(),
                    job[i].clone(),
                ),
            ));
        }
    }
    for (site, site_rows) in feed::by_site(rows) {
        store
            .put(
                &feed::feed_path(&site, run_id),
                feed::to_csv(&site_rows)?.into(),
            )
            .await?;
        summary.feed_files += 1;
        summary.feed_rows += site_rows.len();
    }
    Ok(())
}

/// Rolls forward the in-flight plans of interrupted runs (see the module docs); returns the
/// runs whose jobs were adopted.
async fn recover(
    store: &Store,
    key: &DcKey,
    summary: &mut ExportSummary,
) -> Result<BTreeSet<String>> {
    let mut adopted_runs = BTreeSet::new();
    for plan_meta in store.list(INFLIGHT_PREFIX).await? {
        let plan_path = plan_meta.location.to_string();
        let plan: InflightPlan = serde_json::from_slice(&store.get(&plan_path).await?)
            .map_err(|e| ExportError::Recovery(format!("{plan_path} is unreadable ({e})")))?;
        warn!(run_id = %plan.run_id, jobs = plan.jobs.len(), "recovering an interrupted export run");
        let ctx = lake::lake_context(store).await?;
        let committed: HashSet<String> = collect(
            &ctx,
            &format!(
                "SELECT DISTINCT job_id FROM personalization_jobs WHERE run_id = {}",
                sql_literal(&plan.run_id)
            ),
        )
        .await?
        .iter()
        .map(|b| strings(b, 0))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .flatten()
        .collect();
        let mut rows = Vec::new();
        for planned in &plan.jobs {
            if committed.contains(&planned.job_id) {
                continue;
            }
            let files = read_job_files(store, &planned.dir).await?;
            if files.is_empty() {
                continue;
            }
            if !files.contains_key(job::MANIFEST_SIG) {
                for name in files.keys() {
                    delete_object(store, &format!("{}/{name}", planned.dir)).await?;
                }
                summary.removed_partial_jobs += 1;
                warn!(dir = %planned.dir, "removed an unsigned partial job");
                continue;
            }
            let public = match job::manifest_key_id(&files) {
                Some(id) if id == key.key_id() => Some(key.verifying_key()),
                Some(id) => keys::published(store, &id).await?,
                None => None,
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
            summary.adopted_jobs += 1;
            summary.adopted_cards += manifest.record_count;
            adopted_runs.insert(plan.run_id.clone());
            info!(dir = %planned.dir, cards = manifest.record_count, "adopted a signed job");
        }
        if !rows.is_empty() {
            delta::append(
                store,
                Table::PersonalizationJobs,
                vec![personalization_jobs::to_batch(&rows)?],
                None,
            )
            .await?;
        }
        delete_object(store, &plan_path).await?;
    }
    Ok(adopted_runs)
}

/// Every file of a job folder in the store, by path relative to the folder.
pub async fn read_job_files(store: &Store, dir: &str) -> Result<BTreeMap<String, Vec<u8>>> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let listed = store.list(&prefix).await?;
    let names: Vec<(String, String)> = listed
        .into_iter()
        .filter_map(|m| {
            let full = m.location.to_string();
            let rel = full.strip_prefix(&prefix)?.to_string();
            Some((full, rel))
        })
        .collect();
    futures::stream::iter(names.into_iter().map(|(full, rel)| async move {
        let bytes = store.get(&full).await?;
        Ok::<_, ExportError>((rel, bytes.to_vec()))
    }))
    .buffered(16)
    .try_collect()
    .await
}

async fn delete_object(store: &Store, path: &str) -> Result<()> {
    store
        .objects()
        .delete(&object_store::path::Path::from(path))
        .await?;
    Ok(())
}
