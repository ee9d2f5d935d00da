//! Final decisions and the audit trail, from the case store to the lake, each exactly once:
//! every lake commit carries a Delta application transaction whose version is the case
//! store's watermark, so a crash between the commit and moving the watermark is repaired by
//! reading the version back.

use lake::tables::audit;
use lake::tables::decisions as d;
use lake::vocabulary::{Effect, IdentityStatus, Outcome};
use lake::{Store, Table};

use crate::error::Result;
use crate::store::{self, CaseMember, CaseStore, Decision, UpsertSummary};

use super::cases_from_lake;

/// What an outcome means for one member of the case (the `effect` column of `decisions`):
/// a duplicate keeps one enrollment and blocks the others; a referral sends back the members
/// that wait for adjudication and lets the others proceed; any other outcome lets every
/// member proceed.
pub fn effect_of(decision: &Decision, member: &CaseMember) -> Effect {
    match decision.outcome {
        Outcome::Duplicate => {
            if decision.keep_enrollment_id.as_deref() == Some(member.enrollment_id.as_str()) {
                Effect::Proceed
            } else {
                Effect::Block
            }
        }
        Outcome::ReferBack => {
            // A member's status is `unknown` when the lake had none: it does not wait.
            let waits = member
                .status
                .parse::<IdentityStatus>()
                .is_ok_and(IdentityStatus::needs_adjudication);
            if waits {
                Effect::Refer
            } else {
                Effect::Proceed
            }
        }
        Outcome::DifferentPersons | Outcome::Reenrollment => Effect::Proceed,
    }
}

/// Serialises the exports of one process: the decision and audit exports each read a
/// watermark, commit, and move it, which two concurrent exports would do twice.
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
        cases.mark_exported(version, store::now())?;
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
                outcome: decision.outcome,
                effect: effect_of(decision, member),
                fraud: decision.fraud,
                decided_by: decision.decided_by.clone(),
                decided_time: store::to_time(decision.decided_time),
                confirmed_by: decision.confirmed_by.clone(),
                confirmed_time: decision.confirmed_time.map(store::to_time),
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
/// Exactly once, like [`export_decisions`]: each commit (at most `AUDIT_CHUNK` (50,000) rows)
/// carries a Delta application transaction (`tunggal-adjudication-audit-<store id>`,
/// version = the last entry's `seq`), and the case store keeps a watermark (`audit_export`;
/// the audit table itself refuses updates). If the process dies between the lake commit and
/// moving the watermark, the next export reads that version back and only moves it.
pub async fn export_audit(store: &Store, cases: &CaseStore) -> Result<usize> {
    let _guard = EXPORT_LOCK.lock().await;
    let app_id = format!("tunggal-adjudication-audit-{}", cases.store_id()?);
    if let Some(version) = lake::delta::app_version(store, Table::Audit, &app_id).await? {
        cases.mark_audit_exported(version, store::now())?;
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
                time: store::to_time(e.time),
                username: e.username,
                role,
                action: e.action,
                case_id: e.case_id,
                detail: e.detail,
                remote_addr: e.remote_addr.unwrap_or_default(),
                exported_time,
                target: e.target,
                hash: e.hash,
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

/// Checks the audit trail in both places it lives, for `tunggal audit verify`: the case
/// store's hash chain ([`CaseStore::verify_audit_chain`]), the lake copy's chain, and that
/// every row the watermark says was exported is in the lake with the same hash. Whoever edits
/// or deletes rows in one place (dropping the SQLite triggers, rewriting a Delta file) breaks
/// a chain or the agreement between the two.
pub async fn verify_audit(
    store: &Store,
    cases: &CaseStore,
) -> Result<(store::audit::ChainReport, store::audit::ChainReport)> {
    let local = cases.verify_audit_chain()?;
    let ctx = lake::lake_context(store).await?;
    let lake_rows =
        lake::query::rows(&ctx, "SELECT * FROM audit ORDER BY seq", audit::from_batch).await?;
    let entries: Vec<store::AuditEntry> = lake_rows
        .into_iter()
        .map(|r| store::AuditEntry {
            seq: r.seq,
            time: r.time.timestamp(),
            username: r.username,
            action: r.action,
            case_id: r.case_id,
            target: r.target,
            detail: r.detail,
            remote_addr: Some(r.remote_addr),
            hash: r.hash,
        })
        .collect();
    let mut in_lake = store::audit::ChainReport::check(&entries);
    let watermark = cases.audit_exported_up_to()?;
    let last = entries.last().map_or(0, |e| e.seq);
    if watermark > last {
        in_lake.problems.push(format!(
            "rows {}..{watermark} were exported but are not in the lake (deleted)",
            last + 1
        ));
    }
    let local_rows = cases.audit_trail(0, usize::MAX, None, None)?;
    let by_seq: std::collections::HashMap<i64, &store::AuditEntry> =
        local_rows.iter().map(|e| (e.seq, e)).collect();
    for e in &entries {
        match by_seq.get(&e.seq) {
            None => in_lake.problems.push(format!(
                "row {} is in the lake but not in the case store (deleted there)",
                e.seq
            )),
            Some(local) if !same_row(local, e) => in_lake.problems.push(format!(
                "row {} differs between the case store and the lake (edited)",
                e.seq
            )),
            Some(_) => {}
        }
    }
    Ok((local, in_lake))
}

/// Whether two copies of an audit row agree in every field (the lake keeps a missing address
/// as an empty string).
fn same_row(local: &store::AuditEntry, lake: &store::AuditEntry) -> bool {
    let addr = |e: &store::AuditEntry| e.remote_addr.clone().unwrap_or_default();
    (
        local.seq,
        local.time,
        &local.username,
        &local.action,
        &local.case_id,
        &local.target,
        &local.detail,
        &local.hash,
    ) == (
        lake.seq,
        lake.time,
        &lake.username,
        &lake.action,
        &lake.case_id,
        &lake.target,
        &lake.detail,
        &lake.hash,
    ) && addr(local) == addr(lake)
}
