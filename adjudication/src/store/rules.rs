//! The decision state machine as pure rules: who may claim, decide and confirm a case, and
//! which states a case and its decision move to. The store's transactions read the current
//! state, ask these rules, and write what they answer; every rule is tested here without a
//! database.
//!
//! 1. Only adjudicators and supervisors claim, decide and confirm ([`require_worker`]).
//! 2. An `open` case may be claimed by any of them; a `pending_confirmation` case by any of
//!    them except its decider; a `decided` or `superseded` case by nobody ([`may_claim`]).
//! 3. Deciding and confirming need the caller's own live claim ([`require_own_claim`]).
//! 4. A decision has a comment and one of the four outcomes ([`check_decision`]), is made on
//!    an `open` case ([`require_state`]), and a `duplicate` names the member that stands
//!    ([`record_that_stands`]).
//! 5. A decision that releases a held (`ganda` or `nik_conflict`) enrollment to
//!    personalization (`duplicate`: the record that stands; `different_persons` and
//!    `reenrollment`: every member), a fraud flag, and any decision by someone who took part
//!    in a rejected decision on the case (as decider or reviewer) need a second person: the
//!    decision is `pending` and the case `pending_confirmation`. Only a plain `refer_back` by
//!    someone new to the case, which releases nobody held, is `final` at once
//!    ([`needs_confirmation`], [`after_decision`]).
//! 6. A confirmation (confirm or reject) happens on a `pending_confirmation` case with a pending decision, by someone
//!    other than the decider; rejecting needs a comment ([`may_confirm`]).
//! 7. A confirmed decision is `final` and its case `decided`; a rejected one is `rejected` and
//!    its case `open` again ([`after_confirmation`]).
//! 8. An `open` case whose cluster changed, or no longer needs adjudication, is `superseded`
//!    (the queue's `upsert_cases`).
//!
//! [`permissions`] derives from the same rules what the case page offers the user.

use serde::Serialize;

use super::{CaseMember, CaseState, DecisionInput, DecisionState};
use crate::auth::Role;
use crate::error::{AdjudicationError, Result};
use lake::vocabulary::Outcome;

/// Rule 1: only roles that work cases may `verb` them (`claim`, `decide`, `confirm`).
pub fn require_worker(role: Role, verb: &str) -> Result<()> {
    if role.can_decide() {
        Ok(())
    } else {
        Err(AdjudicationError::Forbidden(format!(
            "a {} cannot {verb}",
            role.as_str()
        )))
    }
}

/// Rule 2: whether `me` may claim a case in `state` whose pending decision (if any) was made
/// by `pending_decider`.
pub fn may_claim(state: CaseState, pending_decider: Option<&str>, me: &str) -> Result<()> {
    match state {
        CaseState::Open => Ok(()),
        CaseState::PendingConfirmation if pending_decider == Some(me) => Err(
            AdjudicationError::Forbidden("the decider cannot confirm their own decision".into()),
        ),
        CaseState::PendingConfirmation => Ok(()),
        CaseState::Decided | CaseState::Superseded => Err(wrong_state(state)),
    }
}

/// Rule 3: `me` holds a claim on the case that has not expired at `now`.
pub fn require_own_claim(
    me: &str,
    claimed_by: Option<&str>,
    claim_expires: Option<i64>,
    now: i64,
) -> Result<()> {
    let live = claim_expires.is_some_and(|e| e > now);
    if claimed_by == Some(me) && live {
        Ok(())
    } else {
        Err(AdjudicationError::Conflict(
            "claim the case first (or your claim expired)".into(),
        ))
    }
}

/// Rules 4 and 6: the case is in the state the operation starts from.
pub fn require_state(state: CaseState, expected: CaseState) -> Result<()> {
    if state == expected {
        Ok(())
    } else {
        Err(wrong_state(state))
    }
}

fn wrong_state(state: CaseState) -> AdjudicationError {
    AdjudicationError::Conflict(format!("the case is {state}"))
}

/// Rule 4: the decision has a comment and a known outcome (the lake's `decisions.outcome`
/// vocabulary); returns the trimmed comment and the outcome.
pub fn check_decision(input: &DecisionInput) -> Result<(&str, Outcome)> {
    let comment = input.comment.trim();
    if comment.is_empty() {
        return Err(AdjudicationError::BadRequest(
            "a comment is required".into(),
        ));
    }
    let outcome = input.outcome.parse::<Outcome>().map_err(|_| {
        AdjudicationError::BadRequest(format!("unknown outcome {:?}", input.outcome))
    })?;
    Ok((comment, outcome))
}

/// Rule 4: the record that stands: a member of the case for a `duplicate` (required), none
/// for any other outcome.
pub fn record_that_stands(
    outcome: Outcome,
    keep: Option<String>,
    members: &[CaseMember],
) -> Result<Option<String>> {
    if outcome != Outcome::Duplicate {
        return Ok(None);
    }
    match keep {
        Some(k) if members.iter().any(|m| m.enrollment_id == k) => Ok(Some(k)),
        Some(_) => Err(AdjudicationError::BadRequest(
            "the record that stands must be a member of the case".into(),
        )),
        None => Err(AdjudicationError::BadRequest(
            "a duplicate decision names the record that stands".into(),
        )),
    }
}

/// Rule 5: whether a decision needs a second person's confirmation: it releases a held
/// enrollment (every outcome but `refer_back`), flags fraud, or its decider
/// `took_part_in_a_rejected_decision` on this case.
pub fn needs_confirmation(
    outcome: Outcome,
    fraud: bool,
    took_part_in_a_rejected_decision: bool,
) -> bool {
    outcome != Outcome::ReferBack || fraud || took_part_in_a_rejected_decision
}

/// Rule 5: the decision's and the case's state right after a decision.
pub fn after_decision(needs_confirmation: bool) -> (DecisionState, CaseState) {
    if needs_confirmation {
        (DecisionState::Pending, CaseState::PendingConfirmation)
    } else {
        (DecisionState::Final, CaseState::Decided)
    }
}

/// Rule 6: whether `me` may confirm (`accept`) or reject the decision `decided_by` made;
/// `comment` is the confirmer's (trimmed).
pub fn may_confirm(accept: bool, comment: &str, decided_by: &str, me: &str) -> Result<()> {
    if !accept && comment.is_empty() {
        return Err(AdjudicationError::BadRequest(
            "a comment is required to reject a decision".into(),
        ));
    }
    if decided_by == me {
        return Err(AdjudicationError::Forbidden(
            "the decider cannot confirm their own decision".into(),
        ));
    }
    Ok(())
}

/// Rule 7: the decision's and the case's state after a confirmation.
pub fn after_confirmation(accept: bool) -> (DecisionState, CaseState) {
    if accept {
        (DecisionState::Final, CaseState::Decided)
    } else {
        (DecisionState::Rejected, CaseState::Open)
    }
}

/// What the user may do on a case right now (what the case page offers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Permissions {
    /// The claim button.
    pub can_claim: bool,
    /// The user holds the claim (release button).
    pub holds_claim: bool,
    /// The decision form.
    pub can_decide: bool,
    /// The confirm and reject buttons.
    pub can_confirm: bool,
}

/// Rules 1–6 applied to a case in `state` claimed by `claimed_by` (a live claim), whose
/// pending decision was made by `pending_decider`, for user `me` with `role`.
pub fn permissions(
    role: Role,
    me: &str,
    state: CaseState,
    claimed_by: Option<&str>,
    pending_decider: Option<&str>,
) -> Permissions {
    let worker = require_worker(role, "work cases").is_ok();
    let holds = claimed_by == Some(me);
    let free = claimed_by.is_none() || holds;
    let claimable = may_claim(state, pending_decider, me).is_ok();
    let pending = state == CaseState::PendingConfirmation;
    Permissions {
        can_claim: worker && !holds && free && claimable,
        holds_claim: holds,
        can_decide: worker && holds && state == CaseState::Open,
        can_confirm: worker && holds && pending && pending_decider != Some(me),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lake::vocabulary::IdentityStatus;

    fn input(outcome: &str, comment: &str) -> DecisionInput {
        DecisionInput {
            outcome: outcome.into(),
            keep_enrollment_id: None,
            fraud: false,
            comment: comment.into(),
        }
    }

    fn members() -> Vec<CaseMember> {
        ["e1", "e2"]
            .iter()
            .map(|id| CaseMember {
                enrollment_id: id.to_string(),
                status: IdentityStatus::Ganda.to_string(),
            })
            .collect()
    }

    #[test]
    fn rule_1_auditors_do_not_work_cases() {
        assert!(require_worker(Role::Adjudicator, "claim").is_ok());
        assert!(require_worker(Role::Supervisor, "claim").is_ok());
        assert!(matches!(
            require_worker(Role::Auditor, "claim"),
            Err(AdjudicationError::Forbidden(_))
        ));
    }

    #[test]
    fn rule_2_claims_open_and_pending_cases_but_not_ones_own_decision() {
        assert!(may_claim(CaseState::Open, None, "adi").is_ok());
        assert!(may_claim(CaseState::PendingConfirmation, Some("adi"), "budi").is_ok());
        assert!(matches!(
            may_claim(CaseState::PendingConfirmation, Some("adi"), "adi"),
            Err(AdjudicationError::Forbidden(_))
        ));
        for s in [CaseState::Decided, CaseState::Superseded] {
            assert!(matches!(
                may_claim(s, None, "adi"),
                Err(AdjudicationError::Conflict(_))
            ));
        }
    }

    #[test]
    fn rule_3_needs_ones_own_live_claim() {
        assert!(require_own_claim("adi", Some("adi"), Some(100), 99).is_ok());
        assert!(require_own_claim("adi", Some("adi"), Some(100), 100).is_err());
        assert!(require_own_claim("adi", Some("budi"), Some(100), 1).is_err());
        assert!(require_own_claim("adi", None, None, 1).is_err());
    }

    #[test]
    fn rule_4_a_decision_has_a_comment_a_known_outcome_and_an_open_case() {
        assert_eq!(
            check_decision(&input("duplicate", " why ")).unwrap(),
            ("why", Outcome::Duplicate)
        );
        assert!(check_decision(&input("duplicate", "  ")).is_err());
        assert!(check_decision(&input("maybe", "why")).is_err());
        assert!(require_state(CaseState::Open, CaseState::Open).is_ok());
        assert!(matches!(
            require_state(CaseState::Decided, CaseState::Open),
            Err(AdjudicationError::Conflict(m)) if m == "the case is decided"
        ));
    }

    #[test]
    fn rule_4_a_duplicate_names_a_member_that_stands() {
        let m = members();
        assert_eq!(
            record_that_stands(Outcome::Duplicate, Some("e2".into()), &m).unwrap(),
            Some("e2".into())
        );
        assert!(record_that_stands(Outcome::Duplicate, Some("x".into()), &m).is_err());
        assert!(record_that_stands(Outcome::Duplicate, None, &m).is_err());
        assert_eq!(
            record_that_stands(Outcome::DifferentPersons, Some("e2".into()), &m).unwrap(),
            None
        );
    }

    #[test]
    fn rule_5_duplicates_and_fraud_wait_for_a_second_person() {
        assert!(needs_confirmation(Outcome::Duplicate, false, false));
        assert!(needs_confirmation(Outcome::ReferBack, true, false));
        // Releasing every member of a ganda case is never one person's call.
        assert!(needs_confirmation(Outcome::DifferentPersons, false, false));
        assert!(needs_confirmation(Outcome::Reenrollment, false, false));
        assert!(!needs_confirmation(Outcome::ReferBack, false, false));
        // Nor is anything decided by someone whose earlier decision or review was rejected.
        assert!(needs_confirmation(Outcome::ReferBack, false, true));
        assert_eq!(
            after_decision(true),
            (DecisionState::Pending, CaseState::PendingConfirmation)
        );
        assert_eq!(
            after_decision(false),
            (DecisionState::Final, CaseState::Decided)
        );
    }

    #[test]
    fn rule_6_confirmations_are_by_another_person_and_rejections_explained() {
        assert!(may_confirm(true, "", "adi", "budi").is_ok());
        assert!(matches!(
            may_confirm(false, "", "adi", "budi"),
            Err(AdjudicationError::BadRequest(_))
        ));
        assert!(may_confirm(false, "no", "adi", "budi").is_ok());
        assert!(matches!(
            may_confirm(true, "", "adi", "adi"),
            Err(AdjudicationError::Forbidden(_))
        ));
    }

    #[test]
    fn rule_7_confirmation_finalises_and_rejection_reopens() {
        assert_eq!(
            after_confirmation(true),
            (DecisionState::Final, CaseState::Decided)
        );
        assert_eq!(
            after_confirmation(false),
            (DecisionState::Rejected, CaseState::Open)
        );
    }

    #[test]
    fn permissions_follow_the_rules() {
        let p = permissions(Role::Adjudicator, "adi", CaseState::Open, None, None);
        assert!(p.can_claim && !p.holds_claim && !p.can_decide && !p.can_confirm);
        let p = permissions(Role::Adjudicator, "adi", CaseState::Open, Some("adi"), None);
        assert!(!p.can_claim && p.holds_claim && p.can_decide);
        let p = permissions(Role::Auditor, "tono", CaseState::Open, None, None);
        assert!(!p.can_claim);
        let pending = CaseState::PendingConfirmation;
        let p = permissions(Role::Adjudicator, "adi", pending, None, Some("adi"));
        assert!(!p.can_claim);
        let p = permissions(Role::Supervisor, "sari", pending, Some("sari"), Some("adi"));
        assert!(p.can_confirm && !p.can_decide);
        let p = permissions(
            Role::Adjudicator,
            "budi",
            CaseState::Open,
            Some("adi"),
            None,
        );
        assert!(!p.can_claim && !p.holds_claim);
    }
}
