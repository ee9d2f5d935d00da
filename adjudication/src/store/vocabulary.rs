//! The case store's own vocabularies: case kinds, case states, decision states and audit
//! actions, each an enum whose `as_str` is the exact string kept in SQLite.
//!
//! They are made by the same `lake::vocabulary!` macro as the lake's vocabularies (so `ALL`,
//! `FromStr`, `Display` and serde behave alike); this module only adds reading and writing
//! them as SQLite text, where an unknown stored string is an error, never a default.
//!
//! The one idea to hold in mind: these strings are in every case store already written, so a
//! variant's string never changes; a new value is a new variant. Decision outcomes are not
//! here: they are stored in the lake too (`lake::vocabulary::Outcome`).

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// Reads and writes a vocabulary as SQLite text.
macro_rules! stored_as_text {
    ($name:ident) => {
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
                    .map_err(|e: lake::LakeError| FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

lake::vocabulary! {
    /// Why a cluster became a case.
    CaseKind {
        /// Biometrics match an enrollment under a different NIK.
        Ganda = "ganda",
        /// The same NIK enrolled again with other biometrics.
        NikConflict = "nik_conflict",
    }
}
stored_as_text!(CaseKind);

lake::vocabulary! {
    /// Where a case stands; see [`crate::store::rules`] for the transitions.
    CaseState {
        /// Waiting for an adjudicator.
        Open = "open",
        /// Decided, waiting for a second adjudicator or a supervisor to confirm.
        PendingConfirmation = "pending_confirmation",
        /// The decision is final.
        Decided = "decided",
        /// The cluster changed (or no longer needs adjudication) before a decision; a newer
        /// case replaces this one.
        Superseded = "superseded",
    }
}
stored_as_text!(CaseState);

lake::vocabulary! {
    /// Where a decision stands.
    DecisionState {
        /// Waits for a second person's confirmation.
        Pending = "pending",
        /// Final: exported to the lake, applied by the next nightly run.
        Final = "final",
        /// Rejected by the second person; the case went back to the queue.
        Rejected = "rejected",
    }
}
stored_as_text!(DecisionState);

lake::vocabulary! {
    /// What an audit row records.
    AuditAction {
        /// A successful login.
        Login = "login",
        /// A failed login (wrong name, wrong password or disabled user).
        LoginFailed = "login_failed",
        /// A logout.
        Logout = "logout",
        /// A case page (or its API twin) was read.
        CaseView = "case_view",
        /// A photo or signature of a case member was served.
        ImageView = "image_view",
        /// A case was claimed.
        Claim = "claim",
        /// A claim was released.
        Release = "release",
        /// A decision was recorded.
        Decide = "decide",
        /// A second person confirmed a decision.
        Confirm = "confirm",
        /// A second person rejected a decision.
        Reject = "reject",
        /// The audit trail was read.
        AuditView = "audit_view",
        /// The audit trail was exported as CSV.
        AuditExport = "audit_export",
        /// A login refused without checking the password: the user name and address (or
        /// either alone) used up their failure budget (`auth::LoginLimits`).
        LoginLocked = "login_locked",
        /// A SQL statement over Flight SQL (detail: SHA-256 of its text, rows, outcome).
        SqlQuery = "sql_query",
        /// A user was added (`tunggal users add`); `target` is the account.
        UserAdd = "user_add",
        /// A user was disabled (`tunggal users disable`); `target` is the account.
        UserDisable = "user_disable",
        /// A user's password was reset (`tunggal users reset-password`); `target` is the
        /// account.
        UserResetPassword = "user_reset_password",
        /// An evidence image did not match the SHA-256 recorded at ingest: it was not shown.
        EvidenceTampered = "evidence_tampered",
    }
}
stored_as_text!(AuditAction);

#[cfg(test)]
mod tests {
    use super::*;

    /// The strings existing case stores hold; they must never change.
    #[test]
    fn stored_strings_are_fixed() {
        fn strings<T: AsRef<str>>(all: &[T]) -> String {
            all.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(",")
        }
        assert_eq!(strings(CaseKind::ALL), "ganda,nik_conflict");
        assert_eq!(
            strings(CaseState::ALL),
            "open,pending_confirmation,decided,superseded"
        );
        assert_eq!(strings(DecisionState::ALL), "pending,final,rejected");
        assert_eq!(
            strings(AuditAction::ALL),
            "login,login_failed,logout,case_view,image_view,claim,release,decide,confirm,reject,audit_view,audit_export,login_locked,sql_query,user_add,user_disable,user_reset_password,evidence_tampered"
        );
    }

    #[test]
    fn strings_round_trip_and_unknown_ones_fail() {
        for s in CaseState::ALL {
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
