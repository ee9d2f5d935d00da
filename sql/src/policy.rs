//! Who sees what over Flight SQL: the access matrix of docs/security.md, as data.
//!
//! The one idea to hold in mind: a remote session is built to contain only what its role may
//! read. A table a role may not read is not registered at all, and a table it may read only
//! in part is replaced by a view of the permitted columns, so no statement, however written,
//! can name what is withheld (a refused column or table is "not found" at planning time).
//!
//! Personal data (NIK, names, dates and places of birth, addresses, KK numbers, religion,
//! marital status, occupation), biometrics (finger templates, iris codes) and the SIAK
//! extract (`residents`) are served to no role: they stay in the console, where every view
//! of a case is audited. The `audit` table is for supervisors and auditors only.

/// The columns of one table a role may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Columns {
    /// Every column.
    All,
    /// Only these.
    Only(&'static [&'static str]),
}

/// What one role may read over SQL: tables and their columns; anything not listed is
/// withheld.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The role's name (as `tunggal users add --role` spells it).
    pub role: &'static str,
    /// The tables it may read.
    pub tables: &'static [(&'static str, Columns)],
}

impl Grant {
    /// The columns of `table` this grant permits, or `None` when the table is withheld.
    pub fn columns(&self, table: &str) -> Option<Columns> {
        self.tables
            .iter()
            .find(|(name, _)| *name == table)
            .map(|(_, c)| *c)
    }
}

/// `enrollments` without personal data: ids, capture place, devices and times, sex,
/// citizenship and region codes (for coverage statistics).
const ENROLLMENT_STATS: Columns = Columns::Only(&[
    "enrollment_id",
    "packet_id",
    "sex",
    "citizenship",
    "village_code",
    "district_code",
    "regency_code",
    "province_code",
    "site",
    "station_id",
    "capture_started",
    "capture_finished",
    "finger_scanner",
    "iris_camera",
    "camera",
    "signature_pad",
    "run_id",
]);

/// `fingerprints` without the templates.
const FINGER_QUALITY: Columns = Columns::Only(&[
    "enrollment_id",
    "position",
    "minutiae_count",
    "quality",
    "missing_reason",
    "run_id",
]);

/// `irises` without the iris codes.
const IRIS_QUALITY: Columns = Columns::Only(&[
    "enrollment_id",
    "eye",
    "quality",
    "missing_reason",
    "run_id",
]);

/// `decisions` without the free-text comment (which may name people).
const DECISION_FACTS: Columns = Columns::Only(&[
    "decision_id",
    "case_id",
    "cluster_id",
    "enrollment_id",
    "outcome",
    "effect",
    "fraud",
    "decided_by",
    "decided_time",
    "confirmed_by",
    "confirmed_time",
    "exported_time",
]);

/// Analysts: statistics over every stage, no personal data, no biometrics.
pub const ANALYST: Grant = Grant {
    role: "analyst",
    tables: &[
        ("packets", Columns::All),
        ("enrollments", ENROLLMENT_STATS),
        ("fingerprints", FINGER_QUALITY),
        ("irises", IRIS_QUALITY),
        ("runs", Columns::All),
        ("match_candidates", Columns::All),
        ("clusters", Columns::All),
        ("identity_status", Columns::All),
        ("status_history", Columns::All),
        ("decisions", DECISION_FACTS),
        ("personalization_jobs", Columns::All),
        ("regions", Columns::All),
        ("stations", Columns::All),
    ],
};

/// Adjudicators: the analysts' statistics without the finger and iris tables at all (their
/// evidence is in the console, per case).
pub const ADJUDICATOR: Grant = Grant {
    role: "adjudicator",
    tables: &[
        ("packets", Columns::All),
        ("enrollments", ENROLLMENT_STATS),
        ("runs", Columns::All),
        ("match_candidates", Columns::All),
        ("clusters", Columns::All),
        ("identity_status", Columns::All),
        ("status_history", Columns::All),
        ("decisions", DECISION_FACTS),
        ("personalization_jobs", Columns::All),
        ("regions", Columns::All),
        ("stations", Columns::All),
    ],
};

/// Supervisors: the adjudicators' tables, whole decisions, and the audit trail.
pub const SUPERVISOR: Grant = Grant {
    role: "supervisor",
    tables: &[
        ("packets", Columns::All),
        ("enrollments", ENROLLMENT_STATS),
        ("runs", Columns::All),
        ("match_candidates", Columns::All),
        ("clusters", Columns::All),
        ("identity_status", Columns::All),
        ("status_history", Columns::All),
        ("decisions", Columns::All),
        ("personalization_jobs", Columns::All),
        ("regions", Columns::All),
        ("stations", Columns::All),
        ("audit", Columns::All),
    ],
};

/// Auditors: the analysts' tables, whole decisions, and the audit trail.
pub const AUDITOR: Grant = Grant {
    role: "auditor",
    tables: &[
        ("packets", Columns::All),
        ("enrollments", ENROLLMENT_STATS),
        ("fingerprints", FINGER_QUALITY),
        ("irises", IRIS_QUALITY),
        ("runs", Columns::All),
        ("match_candidates", Columns::All),
        ("clusters", Columns::All),
        ("identity_status", Columns::All),
        ("status_history", Columns::All),
        ("decisions", Columns::All),
        ("personalization_jobs", Columns::All),
        ("regions", Columns::All),
        ("stations", Columns::All),
        ("audit", Columns::All),
    ],
};

/// Every grant, one per role that may use SQL at all.
pub const GRANTS: [Grant; 4] = [ANALYST, ADJUDICATOR, SUPERVISOR, AUDITOR];

/// The grant of `role`, or `None` for a role that may not use SQL.
pub fn grant_for_role(role: &str) -> Option<Grant> {
    GRANTS.iter().find(|g| g.role == role).copied()
}

/// Restricts `ctx` to what `grant` permits: withheld tables are deregistered, partly
/// permitted ones replaced by a view of their permitted columns (in the table's order).
pub async fn restrict(
    ctx: &datafusion::prelude::SessionContext,
    grant: &Grant,
) -> datafusion::error::Result<()> {
    let names: Vec<String> = ctx
        .catalog("datafusion")
        .and_then(|c| c.schema("public"))
        .map(|s| s.table_names())
        .unwrap_or_default();
    for name in names {
        match grant.columns(&name) {
            None => {
                ctx.deregister_table(name.as_str())?;
            }
            Some(Columns::All) => {}
            Some(Columns::Only(keep)) => {
                let frame = ctx.table(name.as_str()).await?;
                let present: Vec<String> = frame
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().to_string())
                    .filter(|n| keep.contains(&n.as_str()))
                    .collect();
                let present: Vec<&str> = present.iter().map(String::as_str).collect();
                let view = frame.select_columns(&present)?.into_view();
                ctx.deregister_table(name.as_str())?;
                ctx.register_table(name.as_str(), view)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_role_reads_biometrics_personal_data_or_siak() {
        for grant in GRANTS {
            assert!(grant.columns("residents").is_none(), "{}", grant.role);
            for (table, secret) in [
                ("fingerprints", "template"),
                ("fingerprints", "prepared"),
                ("irises", "code"),
                ("enrollments", "nik"),
                ("enrollments", "name"),
                ("enrollments", "birth_date"),
                ("enrollments", "address"),
                ("enrollments", "operator_nik"),
            ] {
                match grant.columns(table) {
                    None => {}
                    Some(Columns::All) => panic!("{} reads all of {table}", grant.role),
                    Some(Columns::Only(cols)) => {
                        assert!(!cols.contains(&secret), "{} reads {secret}", grant.role)
                    }
                }
            }
        }
        assert!(ADJUDICATOR.columns("fingerprints").is_none());
        assert!(ADJUDICATOR.columns("irises").is_none());
        assert!(ANALYST.columns("audit").is_none());
        assert!(grant_for_role("nobody").is_none());
    }
}
