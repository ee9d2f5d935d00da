//! The console's window on the lake: reading clusters into cases, reading a case's evidence
//! (biodata, templates, match scores, NIK history, images), and writing final decisions to the
//! `decisions` table and the audit trail to the `audit` table, each exactly once.
//!
//! Lake tables change only when the nightly job commits, so the console keeps one DataFusion
//! session for a short while ([`LakeView`]) instead of re-reading every table's log on each
//! page.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, BinaryArray, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use lake::delta::sql_literal;
use lake::tables::audit;
use lake::tables::decisions as d;
use lake::tables::identity_status as status;
use lake::{Store, Table};

use crate::cases::{self, CaseMember, CaseStore, Decision, NewCase, UpsertSummary};
use crate::error::{AdjudicationError, Result};

/// One value of a query result: text (every non-binary type, as Arrow prints it), bytes, or
/// null.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// Any non-binary value in its text form.
    Text(String),
    /// A binary value.
    Bytes(Vec<u8>),
}

/// A query result row by column name.
pub type Row = HashMap<String, Cell>;

/// Text of a column of a row (empty for null or missing).
pub fn text(row: &Row, column: &str) -> String {
    match row.get(column) {
        Some(Cell::Text(s)) => s.clone(),
        _ => String::new(),
    }
}

fn bytes(row: &Row, column: &str) -> Option<Vec<u8>> {
    match row.get(column) {
        Some(Cell::Bytes(b)) => Some(b.clone()),
        _ => None,
    }
}

/// Runs `sql` and returns its rows.
pub async fn query(ctx: &SessionContext, sql: &str) -> Result<Vec<Row>> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let mut out = Vec::new();
    for batch in batches {
        rows_of(&batch, &mut out)?;
    }
    Ok(out)
}

fn rows_of(batch: &RecordBatch, out: &mut Vec<Row>) -> Result<()> {
    let schema = batch.schema();
    let mut columns: Vec<(String, Arc<dyn Array>, bool)> = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let col = batch.column(i);
        let binary = matches!(
            field.data_type(),
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView
        );
        let cast = arrow::compute::cast(
            col,
            if binary {
                &DataType::Binary
            } else {
                &DataType::Utf8
            },
        )?;
        columns.push((field.name().clone(), cast, binary));
    }
    for r in 0..batch.num_rows() {
        let mut row = Row::new();
        for (name, col, binary) in &columns {
            let cell = if col.is_null(r) {
                Cell::Null
            } else if *binary {
                let a = col.as_any().downcast_ref::<BinaryArray>().expect("binary");
                Cell::Bytes(a.value(r).to_vec())
            } else {
                let a = col.as_any().downcast_ref::<StringArray>().expect("utf8");
                Cell::Text(a.value(r).to_string())
            };
            row.insert(name.clone(), cell);
        }
        out.push(row);
    }
    Ok(())
}

fn in_list<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<String> = values.map(sql_literal).collect();
    if list.is_empty() {
        "(NULL)".into()
    } else {
        format!("({})", list.join(", "))
    }
}

/// A DataFusion session over the lake tables, reused for `ttl` and then opened anew (the
/// nightly job may have committed meanwhile).
pub struct LakeView {
    store: Store,
    ttl: Duration,
    ctx: tokio::sync::Mutex<Option<(Instant, SessionContext)>>,
}

impl LakeView {
    /// A view of `store`'s lake, refreshed every `ttl`.
    pub fn new(store: Store, ttl: Duration) -> LakeView {
        LakeView {
            store,
            ttl,
            ctx: tokio::sync::Mutex::new(None),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current session (opened when older than the time to live).
    pub async fn context(&self) -> Result<SessionContext> {
        let mut guard = self.ctx.lock().await;
        if let Some((at, ctx)) = guard.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(ctx.clone());
            }
        }
        let ctx = lake::lake_context(&self.store).await?;
        *guard = Some((Instant::now(), ctx.clone()));
        Ok(ctx)
    }

    /// Forgets the session, so the next read sees the newest commits.
    pub async fn refresh(&self) {
        *self.ctx.lock().await = None;
    }
}

/// The cases the lake calls for now: one per cluster with at least one member in status
/// `ganda` or `nik_conflict`.
pub async fn cases_from_lake(ctx: &SessionContext) -> Result<Vec<NewCase>> {
    let sql = format!(
        "SELECT c.cluster_id, c.enrollment_id, s.status,
                to_unixtime(e.capture_finished) AS captured,
                to_unixtime(s.first_result_time) AS flagged,
                e.province_code, e.regency_code
         FROM clusters c
         LEFT JOIN identity_status s ON s.enrollment_id = c.enrollment_id
         LEFT JOIN enrollments e ON e.enrollment_id = c.enrollment_id
         WHERE c.cluster_id IN (
             SELECT c2.cluster_id FROM clusters c2
             JOIN identity_status s2 ON s2.enrollment_id = c2.enrollment_id
             WHERE s2.status IN ('{}', '{}'))
         ORDER BY c.cluster_id, c.enrollment_id",
        status::GANDA,
        status::NIK_CONFLICT
    );
    let rows = query(ctx, &sql).await?;
    let mut by_cluster: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for row in rows {
        by_cluster
            .entry(text(&row, "cluster_id"))
            .or_default()
            .push(row);
    }
    let mut out = Vec::new();
    for (cluster_id, rows) in by_cluster {
        let flagged: Vec<&Row> = rows
            .iter()
            .filter(|r| {
                let s = text(r, "status");
                s == status::GANDA || s == status::NIK_CONFLICT
            })
            .collect();
        let kind = if flagged
            .iter()
            .any(|r| text(r, "status") == status::NIK_CONFLICT)
        {
            cases::KIND_NIK_CONFLICT
        } else {
            cases::KIND_GANDA
        };
        // The SLA clock runs from the capture of the oldest enrollment waiting on this case;
        // the region is that of the newest one (the enrollment under question).
        let secs = |r: &Row, c: &str| text(r, c).parse::<f64>().ok().map(|v| v as i64);
        let sla_since = flagged
            .iter()
            .filter_map(|r| secs(r, "captured").or_else(|| secs(r, "flagged")))
            .min()
            .unwrap_or_else(cases::now);
        let newest = flagged
            .iter()
            .max_by_key(|r| secs(r, "captured").unwrap_or(0))
            .copied()
            .unwrap_or(&rows[0]);
        out.push(NewCase {
            cluster_id,
            kind: kind.to_string(),
            province_code: text(newest, "province_code"),
            regency_code: text(newest, "regency_code"),
            sla_since,
            members: rows
                .iter()
                .map(|r| CaseMember {
                    enrollment_id: text(r, "enrollment_id"),
                    status: {
                        let s = text(r, "status");
                        if s.is_empty() {
                            "unknown".into()
                        } else {
                            s
                        }
                    },
                })
                .collect(),
        });
    }
    Ok(out)
}

/// What an outcome means for one member of the case (the `effect` column of `decisions`).
pub fn effect_of(decision: &Decision, member: &CaseMember) -> &'static str {
    match decision.outcome.as_str() {
        d::OUTCOME_DUPLICATE => {
            if decision.keep_enrollment_id.as_deref() == Some(member.enrollment_id.as_str()) {
                d::EFFECT_PROCEED
            } else {
                d::EFFECT_BLOCK
            }
        }
        d::OUTCOME_REFER_BACK => {
            if member.status == status::GANDA || member.status == status::NIK_CONFLICT {
                d::EFFECT_REFER
            } else {
                d::EFFECT_PROCEED
            }
        }
        _ => d::EFFECT_PROCEED,
    }
}

static EXPORT_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Writes every final decision not yet exported to the lake's `decisions` table, one row per
/// case member, in one commit; returns how many decisions went.
///
/// Exactly once: the commit carries a Delta application transaction
/// (`tunggal-adjudication-<store id>`, version = the last decision's `final_seq`). If the
/// process dies between the lake commit and marking the decisions exported, the next export
/// reads that version back and only marks them.
pub async fn export_decisions(store: &Store, cases: &CaseStore) -> Result<usize> {
    let _guard = EXPORT_LOCK.lock().await;
    let app_id = format!("tunggal-adjudication-{}", cases.store_id()?);
    if let Some(version) = lake::delta::app_version(store, Table::Decisions, &app_id).await? {
        cases.mark_exported(version, cases::now())?;
    }
    let pending = cases.unexported()?;
    let Some(last) = pending.last().and_then(|p| p.final_seq) else {
        return Ok(0);
    };
    let exported_time = chrono::Utc::now();
    let mut rows = Vec::new();
    for decision in &pending {
        let case = cases.case(&decision.case_id)?;
        for member in &case.members {
            rows.push(d::DecisionRecord {
                decision_id: decision.decision_id.clone(),
                case_id: decision.case_id.clone(),
                cluster_id: case.cluster_id.clone(),
                enrollment_id: member.enrollment_id.clone(),
                outcome: decision.outcome.clone(),
                effect: effect_of(decision, member).to_string(),
                fraud: decision.fraud,
                decided_by: decision.decided_by.clone(),
                decided_time: cases::to_time(decision.decided_at),
                confirmed_by: decision.confirmed_by.clone(),
                confirmed_time: decision.confirmed_at.map(cases::to_time),
                comment: decision.comment.clone(),
                exported_time,
            });
        }
    }
    let batch = d::to_batch(&rows)?;
    lake::delta::append(store, Table::Decisions, vec![batch], Some((&app_id, last))).await?;
    cases.mark_exported(last, exported_time.timestamp())?;
    tracing::info!(
        decisions = pending.len(),
        rows = rows.len(),
        "decisions exported to the lake"
    );
    Ok(pending.len())
}

/// Audit rows per lake commit of the audit export.
const AUDIT_CHUNK: usize = 50_000;

/// Writes every audit trail entry not yet exported to the lake's `audit` table; returns how
/// many went.
///
/// Exactly once, like [`export_decisions`]: each commit (at most [`AUDIT_CHUNK`] rows)
/// carries a Delta application transaction (`tunggal-adjudication-audit-<store id>`,
/// version = the last entry's `seq`), and the case store keeps a watermark (`audit_export`;
/// the audit table itself refuses updates). If the process dies between the lake commit and
/// moving the watermark, the next export reads that version back and only moves it.
pub async fn export_audit(store: &Store, cases: &CaseStore) -> Result<usize> {
    let _guard = EXPORT_LOCK.lock().await;
    let app_id = format!("tunggal-adjudication-audit-{}", cases.store_id()?);
    if let Some(version) = lake::delta::app_version(store, Table::Audit, &app_id).await? {
        cases.mark_audit_exported(version, cases::now())?;
    }
    let mut exported = 0;
    loop {
        let after = cases.audit_exported_up_to()?;
        let pending = cases.audit_with_roles(after, AUDIT_CHUNK)?;
        let Some(last) = pending.last().map(|(e, _)| e.seq) else {
            break;
        };
        let exported_time = chrono::Utc::now();
        let rows: Vec<audit::AuditRecord> = pending
            .into_iter()
            .map(|(e, role)| audit::AuditRecord {
                seq: e.seq,
                time: cases::to_time(e.time),
                username: e.username,
                role,
                action: e.action,
                case_id: e.case_id,
                detail: e.detail,
                remote_addr: e.remote_addr.unwrap_or_default(),
                exported_time,
            })
            .collect();
        let batch = audit::to_batch(&rows)?;
        lake::delta::append(store, Table::Audit, vec![batch], Some((&app_id, last))).await?;
        cases.mark_audit_exported(last, exported_time.timestamp())?;
        exported += rows.len();
        if rows.len() < AUDIT_CHUNK {
            break;
        }
    }
    if exported > 0 {
        tracing::info!(entries = exported, "audit trail exported to the lake");
    }
    Ok(exported)
}

/// What [`crate::sync`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncSummary {
    /// Cases created, found existing, superseded.
    pub cases: UpsertSummary,
    /// Final decisions written to the lake now.
    pub decisions_exported: usize,
    /// Audit trail entries written to the lake now.
    pub audit_exported: usize,
}

/// Creates cases from the lake's current clusters, exports pending final decisions and the
/// audit trail entries not yet in the lake.
pub async fn sync_with(store: &Store, cases: &CaseStore) -> Result<SyncSummary> {
    let ctx = lake::lake_context(store).await?;
    let new_cases = cases_from_lake(&ctx).await?;
    let summary = cases.upsert_cases(&new_cases)?;
    let exported = export_decisions(store, cases).await?;
    let audit_exported = export_audit(store, cases).await?;
    Ok(SyncSummary {
        cases: summary,
        decisions_exported: exported,
        audit_exported,
    })
}

/// Reads a member image (`photo` or `signature`) out of the enrollment's packet.
pub async fn image(
    view: &LakeView,
    enrollment_id: &str,
    kind: &str,
) -> Result<(Vec<u8>, &'static str)> {
    let ctx = view.context().await?;
    let rows = query(
        &ctx,
        &format!(
            "SELECT p.object_path FROM enrollments e JOIN packets p ON p.packet_id = e.packet_id AND p.status = 'accepted'
             WHERE e.enrollment_id = {} LIMIT 1",
            sql_literal(enrollment_id)
        ),
    )
    .await?;
    let path = rows
        .first()
        .map(|r| text(r, "object_path"))
        .ok_or_else(|| AdjudicationError::NotFound("packet of the enrollment".into()))?;
    let bytes = view.store().get(&path).await?;
    let packet = packet::open(&bytes, &packet::Limits::default()).map_err(|r| {
        AdjudicationError::Internal(anyhow::anyhow!("packet unreadable: {}", r.code.as_str()))
    })?;
    match kind {
        "photo" => Ok((packet.photo_jpg, "image/jpeg")),
        "signature" => Ok((packet.signature_png, "image/png")),
        _ => Err(AdjudicationError::NotFound(format!("image {kind}"))),
    }
}

/// Reads the evidence rows of a case's members: enrollments, fingerprints, irises, identity
/// status, match candidates among them, and the NIK history.
pub async fn evidence_rows(ctx: &SessionContext, members: &[String]) -> Result<EvidenceRows> {
    let ids = in_list(members.iter().map(String::as_str));
    let enrollments = query(
        ctx,
        &format!(
            "SELECT e.*, CAST(e.capture_started AS VARCHAR) AS started, CAST(e.capture_finished AS VARCHAR) AS finished
             FROM enrollments e WHERE e.enrollment_id IN {ids}"
        ),
    )
    .await?;
    let fingers = query(
        ctx,
        &format!(
            "SELECT enrollment_id, position, template, prepared, quality, missing_reason FROM fingerprints WHERE enrollment_id IN {ids}"
        ),
    )
    .await?;
    let irises = query(
        ctx,
        &format!(
            "SELECT enrollment_id, eye, code, quality, missing_reason FROM irises WHERE enrollment_id IN {ids}"
        ),
    )
    .await?;
    let candidates = query(
        ctx,
        &format!(
            "SELECT probe_id, candidate_id, relation, llr, band, finger_llr, iris_llr, swapped, created FROM match_candidates
             WHERE probe_id IN {ids} AND candidate_id IN {ids} ORDER BY created DESC"
        ),
    )
    .await?;
    let niks: Vec<String> = enrollments.iter().map(|r| text(r, "nik")).collect();
    let history = query(
        ctx,
        &format!(
            "SELECT e.enrollment_id, e.nik, e.name, e.site, CAST(e.capture_finished AS VARCHAR) AS finished,
                    s.status, CAST(j.exported_time AS VARCHAR) AS card_job
             FROM enrollments e
             LEFT JOIN identity_status s ON s.enrollment_id = e.enrollment_id
             LEFT JOIN personalization_jobs j ON j.enrollment_id = e.enrollment_id
             WHERE e.nik IN {} ORDER BY e.nik, e.capture_finished",
            in_list(niks.iter().map(String::as_str))
        ),
    )
    .await?;
    let statuses = query(
        ctx,
        &format!("SELECT enrollment_id, status FROM identity_status WHERE enrollment_id IN {ids}"),
    )
    .await?;
    Ok(EvidenceRows {
        enrollments,
        fingers,
        irises,
        candidates,
        history,
        statuses,
    })
}

/// Raw evidence rows of a case, as read from the lake.
#[derive(Debug, Default)]
pub struct EvidenceRows {
    /// `enrollments` rows of the members.
    pub enrollments: Vec<Row>,
    /// `fingerprints` rows of the members.
    pub fingers: Vec<Row>,
    /// `irises` rows of the members.
    pub irises: Vec<Row>,
    /// `match_candidates` among the members, newest first.
    pub candidates: Vec<Row>,
    /// Every enrollment under the members' NIKs.
    pub history: Vec<Row>,
    /// Current identity status of the members.
    pub statuses: Vec<Row>,
}

/// A finger's stored bytes: the ISO record and the prepared template (each may be missing).
pub type FingerBytes = (Option<Vec<u8>>, Option<Vec<u8>>);

impl EvidenceRows {
    /// The finger rows' template bytes by (enrollment, position).
    pub fn finger_bytes(&self) -> HashMap<(String, u8), FingerBytes> {
        self.fingers
            .iter()
            .filter_map(|r| {
                let pos: u8 = text(r, "position").parse().ok()?;
                Some((
                    (text(r, "enrollment_id"), pos),
                    (bytes(r, "template"), bytes(r, "prepared")),
                ))
            })
            .collect()
    }

    /// The iris codes by (enrollment, eye).
    pub fn iris_bytes(&self) -> HashMap<(String, String), Vec<u8>> {
        self.irises
            .iter()
            .filter_map(|r| {
                Some((
                    (text(r, "enrollment_id"), text(r, "eye")),
                    bytes(r, "code")?,
                ))
            })
            .collect()
    }
}
