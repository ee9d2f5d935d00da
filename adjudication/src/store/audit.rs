//! The audit trail: who did what to which case, when and from where, appended in the same
//! transaction as the change it records; read back by auditors and exported to the lake.
//!
//! The one idea to hold in mind: [`record`] is the only INSERT into `audit`, used both on its
//! own connection (views, logins) and inside a case's transaction (claims, decisions), so a
//! state change and its trace commit together or not at all. The table is append-only
//! (triggers refuse `UPDATE` and `DELETE`).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{now, AuditAction, CaseStore};
use crate::error::Result;

/// One row of the audit trail.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    /// Sequence number (strictly increasing).
    pub seq: i64,
    /// When (unix seconds).
    pub time: i64,
    /// Who (absent for failed logins of unknown users).
    pub username: Option<String>,
    /// What: one of [`AuditAction`]'s strings (kept as stored, as the lake export copies it).
    pub action: String,
    /// The case concerned.
    pub case_id: Option<String>,
    /// The object concerned (an enrollment id, an image kind).
    pub target: Option<String>,
    /// Details (outcome, …; never personal data).
    pub detail: Option<String>,
    /// From where (client address).
    pub remote_addr: Option<String>,
}

/// An audit row from a query whose first eight columns are `seq, time, username, action,
/// case_id, target, detail, remote_addr` (the audit table's order).
fn audit_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        time: r.get(1)?,
        username: r.get(2)?,
        action: r.get(3)?,
        case_id: r.get(4)?,
        target: r.get(5)?,
        detail: r.get(6)?,
        remote_addr: r.get(7)?,
    })
}

/// Appends one audit row through `conn`: a plain connection, or a transaction (which derefs
/// to one) so the row commits with the change it records.
pub(super) fn record(
    conn: &Connection,
    username: Option<&str>,
    action: AuditAction,
    case_id: Option<&str>,
    target: Option<&str>,
    detail: Option<&str>,
    remote_addr: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO audit (time, username, action, case_id, target, detail, remote_addr) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![now(), username, action, case_id, target, detail, remote_addr],
    )?;
    Ok(())
}

impl CaseStore {
    /// Appends one row to the audit trail (for actions that change nothing else: views,
    /// logouts; state changes write theirs inside their own transaction).
    pub fn audit(
        &self,
        username: Option<&str>,
        action: AuditAction,
        case_id: Option<&str>,
        target: Option<&str>,
        detail: Option<&str>,
        remote_addr: &str,
    ) -> Result<()> {
        record(
            &self.conn()?,
            username,
            action,
            case_id,
            target,
            detail,
            remote_addr,
        )
    }

    /// Audit rows with `seq > after`, oldest first, at most `limit`; filtered by case and
    /// user when given.
    pub fn audit_trail(
        &self,
        after: i64,
        limit: usize,
        case_id: Option<&str>,
        username: Option<&str>,
    ) -> Result<Vec<AuditEntry>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT seq, time, username, action, case_id, target, detail, remote_addr FROM audit
             WHERE seq > ?1 AND (?2 IS NULL OR case_id = ?2) AND (?3 IS NULL OR username = ?3)
             ORDER BY seq LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![after, case_id, username, limit_sql(limit)],
            audit_entry,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Audit rows with `seq > after`, oldest first, at most `limit`, each with its user's
    /// current role (none for unknown user names): what the lake export writes.
    pub fn audit_with_roles(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(AuditEntry, Option<String>)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT a.seq, a.time, a.username, a.action, a.case_id, a.target, a.detail, a.remote_addr, u.role
             FROM audit a LEFT JOIN users u ON u.username = a.username
             WHERE a.seq > ?1 ORDER BY a.seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit_sql(limit)], |r| {
            Ok((audit_entry(r)?, r.get(8)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The audit export watermark: every audit row with `seq` up to it is in the lake (0 when
    /// none is).
    pub fn audit_exported_up_to(&self) -> Result<i64> {
        Ok(self
            .conn()?
            .query_row("SELECT up_to FROM audit_export WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(0))
    }

    /// Records that every audit row with `seq <= up_to` is in the lake (the watermark never
    /// moves back).
    pub fn mark_audit_exported(&self, up_to: i64, when: i64) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO audit_export (id, up_to, exported_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET up_to = excluded.up_to, exported_at = excluded.exported_at
             WHERE excluded.up_to > audit_export.up_to",
            params![up_to, when],
        )?;
        Ok(())
    }

    /// The newest `limit` audit rows, newest first.
    pub fn audit_recent(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let max: i64 =
            self.conn()?
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))?;
        let mut rows = self.audit_trail((max - limit_sql(limit)).max(0), limit, None, None)?;
        rows.reverse();
        Ok(rows)
    }
}

/// A row limit as SQLite's integer (limits beyond `i64` mean "all").
fn limit_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
