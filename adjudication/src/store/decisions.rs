//! Claims and decisions: claiming and releasing a case, deciding it, confirming or rejecting
//! the decision, and the reads the lake export needs.
//!
//! The one idea to hold in mind: each operation is one `BEGIN IMMEDIATE` transaction that
//! reads the case's state, asks the pure rules of [`super::rules`] whether the move is
//! allowed and where it leads, writes the new state and the audit row, and commits; two
//! concurrent moves on one case serialise on SQLite's write lock.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use super::rules;
use super::{
    audit, empty_to_none, now, AuditAction, CaseState, CaseStore, CaseSummary, DecisionState, User,
};
use crate::error::{AdjudicationError, Result};
use lake::vocabulary::Outcome;

/// A decision recorded in the case store.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    /// Decision id.
    pub decision_id: String,
    /// Case id.
    pub case_id: String,
    /// What the adjudicator decided.
    pub outcome: Outcome,
    /// For `duplicate`: the record that stands.
    pub keep_enrollment_id: Option<String>,
    /// Fraud flagged.
    pub fraud: bool,
    /// The decider's comment.
    pub comment: String,
    /// Decider.
    pub decided_by: String,
    /// When decided (unix seconds).
    pub decided_time: i64,
    /// Whether a second person must confirm.
    pub needs_confirmation: bool,
    /// Where the decision stands.
    pub state: DecisionState,
    /// Confirming (or rejecting) second person.
    pub confirmed_by: Option<String>,
    /// When confirmed or rejected (unix seconds).
    pub confirmed_time: Option<i64>,
    /// The second person's comment.
    pub confirmation_comment: Option<String>,
    /// Order in which decisions became final (export order).
    pub final_seq: Option<i64>,
    /// When written to the lake (unix seconds).
    pub exported_time: Option<i64>,
}

/// The second person's answer to a pending decision ([`CaseStore::confirm`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The decision becomes final.
    Confirm,
    /// The decision is set aside and the case goes back to the queue.
    Reject,
}

/// What an adjudicator decides (input of [`CaseStore::decide`]).
#[derive(Clone, Debug, serde::Deserialize, Serialize)]
pub struct DecisionInput {
    /// `duplicate`, `different_persons`, `reenrollment` or `refer_back`.
    pub outcome: String,
    /// For `duplicate`: the enrollment that stands (the others are blocked).
    #[serde(default)]
    pub keep_enrollment_id: Option<String>,
    /// Fraud flag.
    #[serde(default)]
    pub fraud: bool,
    /// Required comment.
    pub comment: String,
}

impl CaseStore {
    /// The decisions of a case, oldest first.
    pub fn decisions_of(&self, case_id: &str) -> Result<Vec<Decision>> {
        let conn = self.conn()?;
        Self::query_decisions(
            &conn,
            "WHERE case_id = ?1 ORDER BY decided_at, decision_id",
            params![case_id],
        )
    }

    fn query_decisions(
        conn: &Connection,
        tail: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Decision>> {
        let sql = format!(
            "SELECT decision_id, case_id, outcome, keep_enrollment_id, fraud, comment, decided_by, decided_at,
                    needs_confirmation, state, confirmed_by, confirmed_at, review_comment, final_seq, exported_at
             FROM decisions {tail}"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(args, |r| {
            Ok(Decision {
                decision_id: r.get(0)?,
                case_id: r.get(1)?,
                outcome: r
                    .get::<_, String>(2)?
                    .parse()
                    .map_err(|e: lake::LakeError| {
                        rusqlite::Error::FromSqlConversionFailure(
                            2,
                            rusqlite::types::Type::Text,
                            Box::new(e),
                        )
                    })?,
                keep_enrollment_id: r.get(3)?,
                fraud: r.get(4)?,
                comment: r.get(5)?,
                decided_by: r.get(6)?,
                decided_time: r.get(7)?,
                needs_confirmation: r.get(8)?,
                state: r.get(9)?,
                confirmed_by: r.get(10)?,
                confirmed_time: r.get(11)?,
                confirmation_comment: r.get(12)?,
                final_seq: r.get(13)?,
                exported_time: r.get(14)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Claims a case for `user` for `claim_seconds`: succeeds when the case is open (or
    /// pending confirmation, for a confirmer) and nobody else holds a live claim. The check
    /// and the write are one statement inside an immediate transaction, so of two concurrent
    /// claims exactly one succeeds.
    pub fn claim(
        &self,
        user: &User,
        case_id: &str,
        claim_seconds: i64,
        remote_addr: &str,
    ) -> Result<CaseSummary> {
        rules::require_worker(user.role, "claim cases")?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let state: CaseState = tx
            .query_row(
                "SELECT state FROM cases WHERE case_id = ?1",
                params![case_id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| AdjudicationError::NotFound(format!("case {case_id}")))?;
        let decider = match state {
            CaseState::PendingConfirmation => pending_decision(&tx, case_id)?.map(|(_, by)| by),
            _ => None,
        };
        rules::may_claim(state, decider.as_deref(), &user.username)?;
        let n = tx.execute(
            "UPDATE cases SET claimed_by = ?1, claim_expires = ?2
             WHERE case_id = ?3 AND (claimed_by IS NULL OR claimed_by = ?1 OR claim_expires <= ?4)",
            params![user.username, t + claim_seconds, case_id, t],
        )?;
        if n == 0 {
            let holder: Option<String> = tx
                .query_row(
                    "SELECT claimed_by FROM cases WHERE case_id = ?1",
                    params![case_id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            return Err(AdjudicationError::Conflict(format!(
                "the case is claimed by {}",
                holder.unwrap_or_else(|| "another user".into())
            )));
        }
        audit::record(
            &tx,
            Some(&user.username),
            AuditAction::Claim,
            Some(case_id),
            None,
            None,
            remote_addr,
        )?;
        tx.commit()?;
        self.case(case_id)
    }

    /// Releases `user`'s claim on a case (a no-op when they hold none).
    pub fn release(&self, user: &User, case_id: &str, remote_addr: &str) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE cases SET claimed_by = NULL, claim_expires = NULL WHERE case_id = ?1 AND claimed_by = ?2",
            params![case_id, user.username],
        )?;
        if n > 0 {
            audit::record(
                &tx,
                Some(&user.username),
                AuditAction::Release,
                Some(case_id),
                None,
                None,
                remote_addr,
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records `user`'s decision on a case they hold. Decisions that release a held
    /// enrollment, flag fraud, or come from someone who took part in a rejected decision on
    /// the case wait for confirmation by someone else ([`rules::needs_confirmation`]); a plain
    /// referral is final at once. Returns the decision.
    pub fn decide(
        &self,
        user: &User,
        case_id: &str,
        input: &DecisionInput,
        remote_addr: &str,
    ) -> Result<Decision> {
        rules::require_worker(user.role, "decide cases")?;
        let (comment, outcome) = rules::check_decision(input)?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state = require_claim(&tx, user, case_id)?;
        rules::require_state(state, CaseState::Open)?;
        let members = Self::members_of(&tx, case_id)?;
        let keep = rules::record_that_stands(
            outcome,
            empty_to_none(input.keep_enrollment_id.clone()),
            &members,
        )?;
        let took_part: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM decisions WHERE case_id = ?1 AND state = ?2
                              AND (decided_by = ?3 OR confirmed_by = ?3))",
            params![case_id, DecisionState::Rejected, user.username],
            |r| r.get(0),
        )?;
        let needs_confirmation = rules::needs_confirmation(outcome, input.fraud, took_part);
        let (decision_state, case_state) = rules::after_decision(needs_confirmation);
        let decision_id = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "INSERT INTO decisions (decision_id, case_id, outcome, keep_enrollment_id, fraud, comment, decided_by, decided_at, needs_confirmation, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                decision_id,
                case_id,
                outcome.as_str(),
                keep,
                input.fraud,
                comment,
                user.username,
                now(),
                needs_confirmation,
                DecisionState::Pending
            ],
        )?;
        settle(&tx, case_id, &decision_id, decision_state, case_state)?;
        let detail = format!(
            "outcome={outcome} fraud={} needs_confirmation={needs_confirmation}",
            input.fraud
        );
        audit::record(
            &tx,
            Some(&user.username),
            AuditAction::Decide,
            Some(case_id),
            Some(&decision_id),
            Some(&detail),
            remote_addr,
        )?;
        tx.commit()?;
        self.decision(&decision_id)
    }

    /// The second person's step on the pending decision of a case that `user` holds: the
    /// confirmer must be an adjudicator or supervisor other than the decider. A confirmed
    /// decision becomes final; a rejected one sends the case back to the queue.
    pub fn confirm(
        &self,
        user: &User,
        case_id: &str,
        verdict: Verdict,
        comment: &str,
        remote_addr: &str,
    ) -> Result<Decision> {
        let accept = verdict == Verdict::Confirm;
        rules::require_worker(user.role, "confirm decisions")?;
        let comment = comment.trim();
        if !accept && comment.is_empty() {
            // Checked before reading anything, as rule 6 would after.
            rules::may_confirm(accept, comment, "", &user.username)?;
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some((decision_id, decided_by)) = pending_decision(&tx, case_id)? else {
            return Err(AdjudicationError::Conflict(
                "the case has no decision waiting for confirmation".into(),
            ));
        };
        rules::may_confirm(accept, comment, &decided_by, &user.username)?;
        let state = require_claim(&tx, user, case_id)?;
        rules::require_state(state, CaseState::PendingConfirmation)?;
        tx.execute(
            "UPDATE decisions SET confirmed_by = ?2, confirmed_at = ?3, review_comment = ?4 WHERE decision_id = ?1",
            params![
                decision_id,
                user.username,
                now(),
                empty_to_none(Some(comment.to_string())),
            ],
        )?;
        let (decision_state, case_state) = rules::after_confirmation(accept);
        settle(&tx, case_id, &decision_id, decision_state, case_state)?;
        audit::record(
            &tx,
            Some(&user.username),
            if accept {
                AuditAction::Confirm
            } else {
                AuditAction::Reject
            },
            Some(case_id),
            Some(&decision_id),
            None,
            remote_addr,
        )?;
        tx.commit()?;
        self.decision(&decision_id)
    }

    /// One decision by id.
    pub fn decision(&self, decision_id: &str) -> Result<Decision> {
        let conn = self.conn()?;
        Self::query_decisions(&conn, "WHERE decision_id = ?1", params![decision_id])?
            .pop()
            .ok_or_else(|| AdjudicationError::NotFound(format!("decision {decision_id}")))
    }

    /// Final decisions not yet exported, in the order they became final.
    pub fn unexported(&self) -> Result<Vec<Decision>> {
        let conn = self.conn()?;
        Self::query_decisions(
            &conn,
            "WHERE state = ?1 AND exported_at IS NULL ORDER BY final_seq",
            params![DecisionState::Final],
        )
    }

    /// Marks every final decision with `final_seq <= up_to` as exported at `when`.
    pub fn mark_exported(&self, up_to: i64, when: i64) -> Result<usize> {
        Ok(self.conn()?.execute(
            "UPDATE decisions SET exported_at = ?2 WHERE state = ?3 AND exported_at IS NULL AND final_seq <= ?1",
            params![up_to, when, DecisionState::Final],
        )?)
    }
}

/// The pending decision of a case, if any: its id and decider.
fn pending_decision(conn: &Connection, case_id: &str) -> Result<Option<(String, String)>> {
    Ok(conn
        .query_row(
            "SELECT decision_id, decided_by FROM decisions WHERE case_id = ?1 AND state = ?2",
            params![case_id, DecisionState::Pending],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Rule 3 against the stored case: `user` holds a live claim on it; returns its state.
fn require_claim(tx: &Transaction<'_>, user: &User, case_id: &str) -> Result<CaseState> {
    let row: Option<(CaseState, Option<String>, Option<i64>)> = tx
        .query_row(
            "SELECT state, claimed_by, claim_expires FROM cases WHERE case_id = ?1",
            params![case_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (state, claimed_by, expires) =
        row.ok_or_else(|| AdjudicationError::NotFound(format!("case {case_id}")))?;
    rules::require_own_claim(&user.username, claimed_by.as_deref(), expires, now())?;
    Ok(state)
}

/// Writes where a decision and its case stand after a move, and ends the claim. A decision
/// that becomes final takes the next export sequence number.
fn settle(
    tx: &Transaction<'_>,
    case_id: &str,
    decision_id: &str,
    decision_state: DecisionState,
    case_state: CaseState,
) -> Result<()> {
    if decision_state == DecisionState::Final {
        tx.execute(
            "UPDATE decisions SET state = ?2, final_seq = (SELECT COALESCE(MAX(final_seq), 0) + 1 FROM decisions)
             WHERE decision_id = ?1",
            params![decision_id, decision_state],
        )?;
    } else {
        tx.execute(
            "UPDATE decisions SET state = ?2 WHERE decision_id = ?1",
            params![decision_id, decision_state],
        )?;
    }
    tx.execute(
        "UPDATE cases SET state = ?2, claimed_by = NULL, claim_expires = NULL WHERE case_id = ?1",
        params![case_id, case_state],
    )?;
    Ok(())
}
