//! A case's evidence as the lake holds it: the members' enrollment, fingerprint, iris and
//! identity status rows, the nightly search's scores among them, every enrollment under
//! their NIKs, and the photo and signature out of their packets.
//!
//! Whole-table reads (`SELECT * FROM t WHERE …`) come back as the table modules' records;
//! the NIK history, a join, is read column by column into [`NikHistoryRecord`].

use sha2::Digest;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use dedup::thresholds::Thresholds;
use lake::delta::sql_literal;
use lake::tables::enrollments::{self, EnrollmentRecord};
use lake::tables::fingerprints::{self, FingerprintRecord};
use lake::tables::identity_status::{self, IdentityStatusRecord};
use lake::tables::irises::{self, IrisRecord};
use lake::tables::match_candidates::{self, MatchCandidateRecord};
use lake::tables::read::Columns;
use lake::vocabulary::{IdentityStatus, PacketStatus};

use super::{in_list, LakeView};
use crate::error::{AdjudicationError, Result};

/// A finger's stored bytes: the ISO record and the prepared template (each may be missing).
pub type FingerBytes = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The lake's rows about a case's members, read by [`evidence_records`].
#[derive(Clone, Debug, Default)]
pub struct EvidenceRecords {
    /// `enrollments` rows of the members.
    pub enrollments: Vec<EnrollmentRecord>,
    /// `fingerprints` rows of the members.
    pub fingers: Vec<FingerprintRecord>,
    /// `irises` rows of the members.
    pub irises: Vec<IrisRecord>,
    /// `match_candidates` among the members, newest first.
    pub candidates: Vec<MatchCandidateRecord>,
    /// Every enrollment under the members' NIKs, by NIK and capture time.
    pub history: Vec<NikHistoryRecord>,
    /// Current identity status of the members.
    pub statuses: Vec<IdentityStatusRecord>,
    /// The decision thresholds of the runs that scored the candidates, by run id.
    pub thresholds: HashMap<String, Thresholds>,
}

/// One enrollment under a NIK of a case member, with its identity status and card job: what
/// the case page's NIK history shows.
#[derive(Clone, Debug, PartialEq)]
pub struct NikHistoryRecord {
    /// Enrollment id.
    pub enrollment_id: String,
    /// NIK.
    pub nik: String,
    /// Name on that enrollment.
    pub name: String,
    /// Capture site.
    pub site: String,
    /// When its capture finished.
    pub captured: DateTime<Utc>,
    /// Its identity status (`None`: not deduplicated yet).
    pub status: Option<IdentityStatus>,
    /// When a card job was exported for it (`None`: never).
    pub card_job: Option<DateTime<Utc>>,
}

impl EvidenceRecords {
    /// The fingers' template bytes by (enrollment, position).
    pub fn finger_bytes(&self) -> HashMap<(String, u8), FingerBytes> {
        self.fingers
            .iter()
            .filter_map(|f| {
                let position = u8::try_from(f.position).ok()?;
                Some((
                    (f.enrollment_id.clone(), position),
                    (f.template.clone(), f.prepared.clone()),
                ))
            })
            .collect()
    }

    /// The iris codes by (enrollment, eye).
    pub fn iris_bytes(&self) -> HashMap<(String, String), Vec<u8>> {
        self.irises
            .iter()
            .filter_map(|i| Some(((i.enrollment_id.clone(), i.eye.clone()), i.code.clone()?)))
            .collect()
    }
}

/// Reads the evidence rows of a case's members: enrollments, fingerprints, irises, identity
/// status, match candidates among them, and the NIK history.
pub async fn evidence_records(ctx: &SessionContext, members: &[String]) -> Result<EvidenceRecords> {
    let ids = in_list(members);
    let enrollments = lake::query::rows(
        ctx,
        &format!("SELECT * FROM enrollments WHERE enrollment_id IN {ids}"),
        enrollments::from_batch,
    )
    .await?;
    let fingers = lake::query::rows(
        ctx,
        &format!("SELECT * FROM fingerprints WHERE enrollment_id IN {ids}"),
        fingerprints::from_batch,
    )
    .await?;
    let irises = lake::query::rows(
        ctx,
        &format!("SELECT * FROM irises WHERE enrollment_id IN {ids}"),
        irises::from_batch,
    )
    .await?;
    let candidates = lake::query::rows(
        ctx,
        &format!(
            "SELECT * FROM match_candidates
             WHERE probe_id IN {ids} AND candidate_id IN {ids} ORDER BY created DESC"
        ),
        match_candidates::from_batch,
    )
    .await?;
    let statuses = lake::query::rows(
        ctx,
        &format!("SELECT * FROM identity_status WHERE enrollment_id IN {ids}"),
        identity_status::from_batch,
    )
    .await?;
    let niks: Vec<&str> = enrollments.iter().map(|e| e.nik.as_str()).collect();
    let history = nik_history(ctx, &niks).await?;
    let mut run_ids: Vec<&str> = candidates.iter().map(|c| c.run_id.as_str()).collect();
    run_ids.sort_unstable();
    run_ids.dedup();
    let thresholds = run_thresholds(ctx, &run_ids).await?;
    Ok(EvidenceRecords {
        enrollments,
        fingers,
        irises,
        candidates,
        history,
        statuses,
        thresholds,
    })
}

/// The `match` threshold each dedup run flagged pairs at: the one its `runs` row records
/// (`detail.thresholds`), else the one dedup sets for the gallery it searched (`seen`) at its
/// default target FPIR. A run without a row (clusters planted by a test or a migration) gets
/// the threshold for today's deduplicated gallery.
async fn run_thresholds(
    ctx: &SessionContext,
    run_ids: &[&str],
) -> Result<HashMap<String, Thresholds>> {
    let mut out = HashMap::new();
    if run_ids.is_empty() {
        return Ok(out);
    }
    let defaults = dedup::DedupOptions::default();
    let for_gallery =
        |n: usize| dedup::thresholds::for_gallery(n, defaults.match_fpir, defaults.possible_fpir);
    let sql = format!(
        "SELECT run_id, seen, detail FROM runs WHERE run_id IN {}",
        in_list(run_ids)
    );
    for batch in lake::query::collect(ctx, &sql).await? {
        let c = Columns::new(&batch);
        let (run_id, seen, detail) = (c.text("run_id")?, c.longs("seen")?, c.text("detail")?);
        for r in 0..c.len() {
            let recorded = detail.opt(r).and_then(|d| recorded_thresholds(&d));
            let t = recorded.unwrap_or_else(|| for_gallery(seen.value(r).max(0) as usize));
            out.insert(run_id.string(r), t);
        }
    }
    if run_ids.iter().any(|id| !out.contains_key(*id)) {
        let batches =
            lake::query::collect(ctx, "SELECT count(*) AS n FROM identity_status").await?;
        let n = batches
            .first()
            .and_then(|b| Columns::new(b).longs("n").ok())
            .filter(|a| !a.is_empty())
            .map_or(0, |a| a.value(0).max(0) as usize);
        for id in run_ids {
            out.entry(id.to_string()).or_insert_with(|| for_gallery(n));
        }
    }
    Ok(out)
}

/// The thresholds a dedup run's `runs.detail` records (`{"thresholds": {"match_llr",
/// "possible_llr", "gallery"}}`), if it does.
fn recorded_thresholds(detail: &str) -> Option<Thresholds> {
    let d = serde_json::from_str::<serde_json::Value>(detail).ok()?;
    let t = d.get("thresholds")?;
    Some(Thresholds {
        match_llr: t.get("match_llr")?.as_f64()? as f32,
        possible_llr: t.get("possible_llr")?.as_f64()? as f32,
        gallery: t.get("gallery")?.as_u64()? as usize,
    })
}

/// Every enrollment under `niks`, by NIK and capture time, with its identity status and card
/// job.
async fn nik_history(ctx: &SessionContext, niks: &[&str]) -> Result<Vec<NikHistoryRecord>> {
    let sql = format!(
        "SELECT e.enrollment_id, e.nik, e.name, e.site, e.capture_finished AS captured,
                s.status, j.exported_time AS card_job
         FROM enrollments e
         LEFT JOIN identity_status s ON s.enrollment_id = e.enrollment_id
         LEFT JOIN personalization_jobs j ON j.enrollment_id = e.enrollment_id
         WHERE e.nik IN {} ORDER BY e.nik, e.capture_finished",
        in_list(niks)
    );
    let mut out = Vec::new();
    for batch in lake::query::collect(ctx, &sql).await? {
        let c = Columns::new(&batch);
        let enrollment_id = c.text("enrollment_id")?;
        let nik = c.text("nik")?;
        let name = c.text("name")?;
        let site = c.text("site")?;
        let captured = c.times("captured")?;
        let status = c.text("status")?;
        let card_job = c.times("card_job")?;
        for r in 0..c.len() {
            out.push(NikHistoryRecord {
                enrollment_id: enrollment_id.string(r),
                nik: nik.string(r),
                name: name.string(r),
                site: site.string(r),
                captured: captured.get(r),
                status: status.opt(r).map(|s| s.parse()).transpose()?,
                card_job: card_job.opt(r),
            });
        }
    }
    Ok(out)
}

/// Reads a member image (`photo` or `signature`) out of the enrollment's accepted packet;
/// returns its bytes and content type.
///
/// The packet is read from `landing/`, which service points write and the DC does not own, so
/// the whole object is checked against the SHA-256 that ingest recorded in `packets.sha256`
/// (the packet whose signature, manifest and hashes ingest verified) before anything in it is
/// shown: a replaced object is [`AdjudicationError::Tampered`].
pub async fn image(
    view: &LakeView,
    enrollment_id: &str,
    kind: &str,
) -> Result<(Vec<u8>, &'static str)> {
    let ctx = view.context().await?;
    let batches = lake::query::collect(
        &ctx,
        &format!(
            "SELECT p.object_path, p.sha256 FROM enrollments e
             JOIN packets p ON p.packet_id = e.packet_id AND p.status = {}
             WHERE e.enrollment_id = {} LIMIT 1",
            sql_literal(PacketStatus::Accepted.as_str()),
            sql_literal(enrollment_id)
        ),
    )
    .await?;
    let row = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| {
            let columns = lake::tables::read::Columns::new(b);
            Ok::<_, lake::LakeError>((
                columns.text("object_path")?.opt(0),
                columns.text("sha256")?.opt(0),
            ))
        })
        .transpose()?;
    let (Some(path), Some(recorded)) = row.unwrap_or((None, None)) else {
        return Err(AdjudicationError::NotFound(
            "packet of the enrollment".into(),
        ));
    };
    let bytes = view.store().get(&path).await?;
    let actual = hex::encode(sha2::Sha256::digest(&bytes));
    if !actual.eq_ignore_ascii_case(&recorded) {
        return Err(AdjudicationError::Tampered(
            "the packet in landing/ is not the one ingest accepted (SHA-256 differs); its images are not shown".into(),
        ));
    }
    let packet = packet::open(&bytes, &packet::Limits::default()).map_err(|r| {
        AdjudicationError::Internal(anyhow::anyhow!("packet unreadable: {}", r.code.as_str()))
    })?;
    match kind {
        "photo" => Ok((packet.photo_jpg, "image/jpeg")),
        "signature" => Ok((packet.signature_png, "image/png")),
        _ => Err(AdjudicationError::NotFound(format!("image {kind}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lake::run::StageReport;

    #[test]
    fn the_threshold_a_dedup_run_records_is_read_back() {
        let mut summary = dedup::DedupSummary::default();
        assert_eq!(recorded_thresholds(&summary.detail().to_string()), None);
        let t = dedup::thresholds::for_gallery(250_000, 1e-4, 1e-2);
        summary.thresholds = Some(t);
        assert_eq!(recorded_thresholds(&summary.detail().to_string()), Some(t));
        assert_eq!(recorded_thresholds("not json"), None);
    }
}
