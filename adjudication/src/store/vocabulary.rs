//! The case store's own vocabularies: case kinds, case states, decision states and audit
//! actions, each an enum whose `as_str` is the exact string kept in SQLite.
//!
//! The one idea to hold in mind: these strings are in every case store already written, so a
//! variant's string never changes; a new value is a new variant. Decision outcomes are not
//! here: they are stored in the lake too (`lake::tables::decisions`).

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

/// Derives the shared behaviour of a case store vocabulary: `as_str`, and reading and writing
/// it as SQLite text (an unknown stored string is an error, never a default).
macro_rules! stored_as_text {
    ($name:ident) => {
        impl $name {
            /// The string stored in the case store (and shown in pages and the API).
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e: strum::ParseError| FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

/// Why a cluster became a case.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CaseKind {
    /// Biometrics match an enrollment under a different NIK.
    Ganda,
    /// The same NIK enrolled again with other biometrics.
    NikConflict,
}
stored_as_text!(CaseKind);

/// Where a case stands; see [`crate::store::rules`] for the transitions.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CaseState {
    /// Waiting for an adjudicator.
    Open,
    /// Decided, waiting for a second adjudicator or a supervisor to confirm.
    PendingConfirmation,
    /// The decision is final.
    Decided,
    /// The cluster changed (or no longer needs adjudication) before a decision; a newer case
    /// replaces this one.
    Superseded,
}
stored_as_text!(CaseState);

/// Where a decision stands.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DecisionState {
    /// Waits for a second person's confirmation.
    Pending,
    /// Final: exported to the lake, applied by the next nightly run.
    Final,
    /// Rejected by the second person; the case went back to the queue.
    Rejected,
}
stored_as_text!(DecisionState);

/// What an audit row records.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AuditAction {
    /// A successful login.
    Login,
    /// A failed login (wrong name, wrong password or disabled user).
    LoginFailed,
    /// A logout.
    Logout,
    /// A case page (or its API twin) was read.
    CaseView,
    /// A photo or signature of a case member was served.
    ImageView,
    /// A case was claimed.
    Claim,
    /// A claim was released.
    Release,
    /// A decision was recorded.
    Decide,
    /// A second person confirmed a decision.
    Confirm,
    /// A second person rejected a decision.
    Reject,
    /// The audit trail was read.
    AuditView,
    /// The audit trail was exported as CSV.
    AuditExport,
}
stored_as_text!(AuditAction);

#[cfg(test)]
mod tests {
    use super::*;

    /// The strings existing case stores hold; they must never change.
    #[test]
    fn stored_strings_are_fixed() {
        let strings = |all: &[&'static str]| all.join(",");
        assert_eq!(
            strings(
                &CaseKind::VARIANTS
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "ganda,nik_conflict"
        );
        assert_eq!(
            strings(
                &CaseState::VARIANTS
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "open,pending_confirmation,decided,superseded"
        );
        assert_eq!(
            strings(
                &DecisionState::VARIANTS
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "pending,final,rejected"
        );
        assert_eq!(
            strings(&AuditAction::VARIANTS.iter().map(|v| v.as_str()).collect::<Vec<_>>()),
            "login,login_failed,logout,case_view,image_view,claim,release,decide,confirm,reject,audit_view,audit_export"
        );
    }

    #[test]
    fn strings_round_trip_and_unknown_ones_fail() {
        for s in CaseState::VARIANTS {
            assert_eq!(s.as_str().parse::<CaseState>().unwrap(), *s);
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert!("closed".parse::<CaseState>().is_err());
        assert!("PENDING".parse::<DecisionState>().is_err());
    }
}
