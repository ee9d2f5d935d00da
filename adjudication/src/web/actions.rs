//! The case actions (`claim`, `release`, `decide`, `confirm`, `reject`), one function for the
//! HTML forms and the JSON API alike, and the one reading of a checkbox.
//!
//! The one idea to hold in mind: a decision that became final is exported to the lake at
//! once; if that fails it stays safe in the case store and the next sync exports it.

use serde::{Deserialize, Deserializer};

use super::auth::Authenticated;
use super::AppState;
use crate::error::{AdjudicationError, Result};
use crate::lakeview;
use crate::store::{Decision, DecisionInput, DecisionState, Verdict};

/// Fields of every case action (form fields or JSON members; absent ones are empty).
#[derive(Debug, Default, Deserialize)]
pub struct ActionInput {
    /// For `decide`: the outcome.
    #[serde(default)]
    pub outcome: Option<String>,
    /// For `decide` with `duplicate`: the record that stands.
    #[serde(default)]
    pub keep_enrollment_id: Option<String>,
    /// For `decide`: the fraud flag (JSON boolean, or a checkbox value: see [`is_checked`]).
    #[serde(default, deserialize_with = "checkbox")]
    pub fraud: bool,
    /// For `decide` (required) and `reject` (required), `confirm` (optional).
    #[serde(default)]
    pub comment: Option<String>,
}

/// Whether a form value means "checked": `on` (what browsers send for a checked box without
/// a `value`), `true`, `1` or `yes`, exactly so; anything else (and an absent field) is not.
pub fn is_checked(value: &str) -> bool {
    matches!(value, "on" | "true" | "1" | "yes")
}

/// Deserializes a flag given as a JSON boolean or as a checkbox string ([`is_checked`]).
fn checkbox<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Text(s) => is_checked(&s),
    })
}

/// Runs a case action for `who`; returns what the API answers (the case for `claim` and
/// `release`, the decision otherwise). Exports the decision to the lake when it became final.
pub async fn run_action(
    st: &AppState,
    who: &Authenticated,
    case_id: &str,
    action: &str,
    input: ActionInput,
) -> Result<serde_json::Value> {
    let addr = who.remote.as_str();
    let user = &who.session.user;
    let value = match action {
        "claim" => {
            serde_json::to_value(
                st.cases
                    .claim(user, case_id, st.config.claim_seconds, addr)?,
            )
        }
        "release" => {
            st.cases.release(user, case_id, addr)?;
            serde_json::to_value(st.cases.case(case_id)?)
        }
        "decide" => {
            let decision = DecisionInput {
                outcome: input.outcome.unwrap_or_default(),
                keep_enrollment_id: input.keep_enrollment_id,
                fraud: input.fraud,
                comment: input.comment.unwrap_or_default(),
            };
            let d = st.cases.decide(user, case_id, &decision, addr)?;
            super::metrics::decided(&d);
            export_if_final(st, &d).await;
            serde_json::to_value(st.cases.decision(&d.decision_id)?)
        }
        "confirm" | "reject" => {
            let verdict = if action == "confirm" {
                Verdict::Confirm
            } else {
                Verdict::Reject
            };
            let d = st.cases.confirm(
                user,
                case_id,
                verdict,
                input.comment.as_deref().unwrap_or(""),
                addr,
            )?;
            super::metrics::confirmed(verdict);
            export_if_final(st, &d).await;
            serde_json::to_value(st.cases.decision(&d.decision_id)?)
        }
        other => return Err(AdjudicationError::NotFound(format!("action {other}"))),
    };
    value.map_err(|e| AdjudicationError::Internal(e.into()))
}

async fn export_if_final(st: &AppState, d: &Decision) {
    if d.state == DecisionState::Final {
        if let Err(e) = lakeview::export_decisions(st.lake.store(), &st.cases).await {
            // The nightly sync exports it later; the decision itself is safe in the case store.
            tracing::warn!(error = %e, "decision export to the lake failed; sync will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkbox_values() {
        for v in ["on", "true", "1", "yes"] {
            assert!(is_checked(v), "{v}");
        }
        for v in ["", "off", "false", "0", "no", "ON", "Yes"] {
            assert!(!is_checked(v), "{v}");
        }
    }

    #[test]
    fn json_flags_are_booleans_or_checkbox_strings() {
        let parse = |v: serde_json::Value| serde_json::from_value::<ActionInput>(v).unwrap().fraud;
        assert!(parse(serde_json::json!({ "fraud": true })));
        assert!(parse(serde_json::json!({ "fraud": "yes" })));
        assert!(!parse(serde_json::json!({ "fraud": "no" })));
        assert!(!parse(serde_json::json!({})));
    }
}
