//! What the console shows, computed once for both renderings: [`view_case`] (a case, its
//! decisions, what the user may do, and the evidence) and [`read_audit`] (a window of the
//! audit trail). The HTML pages render these view models with templates; the API returns them
//! as JSON.
//!
//! The one idea to hold in mind: reading a case or the audit trail is itself audited, here,
//! so no handler can show one without leaving a trace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::web;
use serde::{Serialize, Serializer};

use super::auth::Authenticated;
use super::AppState;
use crate::error::{AdjudicationError, Result};
use crate::evidence::{self, Evidence};
use crate::lakeview;
use crate::store::rules::{self, Permissions};
use crate::store::{AuditAction, AuditEntry, CaseSummary, Decision, DecisionState};

/// A case as the console shows it.
#[derive(Clone, Debug, Serialize)]
pub struct CaseView {
    /// The case.
    pub case: CaseSummary,
    /// Its decisions, oldest first.
    pub decisions: Vec<Decision>,
    /// The decision waiting for confirmation, if any.
    pub pending: Option<Decision>,
    /// What the user may do on it now.
    pub permissions: Permissions,
    /// The evidence.
    #[serde(serialize_with = "serialize_arc")]
    pub evidence: Arc<Evidence>,
}

fn serialize_arc<S: Serializer>(ev: &Arc<Evidence>, s: S) -> std::result::Result<S::Ok, S::Error> {
    ev.as_ref().serialize(s)
}

/// Reads a case for `who`, with its evidence, and audits the view.
pub async fn view_case(st: &AppState, who: &Authenticated, case_id: &str) -> Result<CaseView> {
    let case = st.cases.case(case_id)?;
    let decisions = st.cases.decisions_of(case_id)?;
    let evidence = load_evidence(st, &case).await?;
    st.cases.audit(
        Some(who.username()),
        AuditAction::CaseView,
        Some(case_id),
        None,
        None,
        &who.remote,
    )?;
    let pending = decisions
        .iter()
        .find(|d| d.state == DecisionState::Pending)
        .cloned();
    let user = &who.session.user;
    let permissions = rules::permissions(
        user.role,
        &user.username,
        case.state,
        case.claimed_by.as_deref(),
        pending.as_ref().map(|d| d.decided_by.as_str()),
    );
    Ok(CaseView {
        case,
        decisions,
        pending,
        permissions,
        evidence,
    })
}

/// Which part of the audit trail to read.
#[derive(Clone, Debug)]
pub enum AuditWindow {
    /// The newest `n` rows, newest first (the audit page).
    Newest(usize),
    /// Rows after a sequence number, oldest first, optionally of one case or user.
    After {
        /// Rows with `seq > after`.
        after: i64,
        /// At most this many.
        limit: usize,
        /// Only this case's rows.
        case_id: Option<String>,
        /// Only this user's rows.
        username: Option<String>,
    },
}

/// Reads a window of the audit trail for an auditor or supervisor, and audits the reading as
/// `action` (`audit_view` or `audit_export`).
pub fn read_audit(
    st: &AppState,
    who: &Authenticated,
    window: &AuditWindow,
    action: AuditAction,
) -> Result<Vec<AuditEntry>> {
    who.require_auditor()?;
    let entries = match window {
        AuditWindow::Newest(n) => st.cases.audit_recent(*n)?,
        AuditWindow::After {
            after,
            limit,
            case_id,
            username,
        } => st
            .cases
            .audit_trail(*after, *limit, case_id.as_deref(), username.as_deref())?,
    };
    st.cases
        .audit(Some(who.username()), action, None, None, None, &who.remote)?;
    Ok(entries)
}

/// Evidence of recently viewed cases, by case id.
///
/// Building a case's evidence reads the lake and runs the matcher on every finger pair
/// (hundreds of milliseconds), and adjudicators reload a case page after each action, so
/// built evidence is kept. A case's members never change (a changed cluster is a new case),
/// so an entry stays right; the statuses and NIK history it shows are as of its building,
/// like any page already open. The bound: an entry is a few hundred kilobytes at most (three
/// SVG overlays per pair dominate), so [`EvidenceCache::CAPACITY`] entries stay well under
/// 200 MB, while a day's work of a console's adjudicators is far fewer cases. When full, the
/// cache is emptied at once rather than evicting one by one: simple, and its only cost is that
/// the next view of each case builds its evidence again.
#[derive(Debug, Default)]
pub struct EvidenceCache {
    entries: Mutex<HashMap<String, Arc<Evidence>>>,
}

impl EvidenceCache {
    /// Cases kept before the cache is emptied.
    pub const CAPACITY: usize = 512;

    fn get(&self, case_id: &str) -> Option<Arc<Evidence>> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(case_id)
            .cloned()
    }

    fn insert(&self, case_id: &str, evidence: Arc<Evidence>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(case_id.to_string(), evidence);
    }
}

/// Members in display order: records not under question (the earlier enrollment) first.
fn display_order(case: &CaseSummary) -> Vec<String> {
    let mut members = case.members.clone();
    members.sort_by_key(|m| {
        let flagged = m
            .status
            .parse::<lake::vocabulary::IdentityStatus>()
            .is_ok_and(|s| s.needs_adjudication());
        (flagged, m.enrollment_id.clone())
    });
    members.into_iter().map(|m| m.enrollment_id).collect()
}

async fn load_evidence(st: &AppState, case: &CaseSummary) -> Result<Arc<Evidence>> {
    if let Some(ev) = st.evidence.get(&case.case_id) {
        return Ok(ev);
    }
    let ids = display_order(case);
    let ctx = st.lake.context().await?;
    let rows = lakeview::evidence_records(&ctx, &ids).await?;
    let ev = web::block(move || evidence::build(&ids, &rows))
        .await
        .map_err(|e| AdjudicationError::Internal(anyhow::anyhow!("evidence: {e}")))?;
    let ev = Arc::new(ev);
    st.evidence.insert(&case.case_id, ev.clone());
    Ok(ev)
}
