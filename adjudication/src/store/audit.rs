//! The audit trail: who did what to which case, when and from where, appended in the same
//! transaction as the change it records; read back by auditors and exported to the lake.
//!
//! The one idea to hold in mind: `record` is the only INSERT into `audit`, used both on its
//! own connection (views, logins) and inside a case's transaction (claims, decisions), so a
//! state change and its trace commit together or not at all. The table is append-only
//! (triggers refuse `UPDATE` and `DELETE`), and, since whoever can write the file can drop
//! triggers, hash-chained: each row's `hash` is the SHA-256 of the previous row's hash and its
//! own fields ([`chain_hash`]); the chain goes to the lake with the rows, and
//! [`CaseStore::verify_audit_chain`] (with `lakeview::verify_audit`, `tunggal audit verify`)
//! finds any deleted or edited row.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

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
    /// The hash chain's link ([`chain_hash`]); `None` for rows written before the chain.
    pub hash: Option<String>,
}

/// The hash of an audit row: SHA-256 (hex) over the previous row's hash (empty for the first
/// chained row) and every field of `e` but its own hash, as one canonical JSON array.
pub fn chain_hash(prev: &str, e: &AuditEntry) -> String {
    let canonical = serde_json::json!([
        prev,
        e.seq,
        e.time,
        e.username,
        e.action,
        e.case_id,
        e.target,
        e.detail,
        e.remote_addr
    ])
    .to_string();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// What a check of an audit chain found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Rows checked.
    pub rows: usize,
    /// Rows written before the chain existed (not covered by it).
    pub unchained: usize,
    /// The last row's sequence number and hash: note it elsewhere to detect a rewrite of the
    /// whole chain.
    pub head: Option<(i64, String)>,
    /// Every inconsistency found (missing sequence numbers, a hash that does not match).
    pub problems: Vec<String>,
}

impl ChainReport {
    /// Checks `rows` (ordered by `seq`): sequence numbers without gaps, every hash matching
    /// its row and its predecessor's hash.
    pub fn check(rows: &[AuditEntry]) -> ChainReport {
        let mut report = ChainReport {
            rows: rows.len(),
            ..Default::default()
        };
        let mut prev: Option<&AuditEntry> = None;
        let mut chained = false;
        for e in rows {
            if let Some(p) = prev {
                if e.seq != p.seq + 1 {
                    report.problems.push(format!(
                        "rows {}..{} are missing (deleted)",
                        p.seq + 1,
                        e.seq - 1
                    ));
                }
            }
            match &e.hash {
                None if !chained => report.unchained += 1,
                None => report.problems.push(format!(
                    "row {} has no hash (inserted outside the chain)",
                    e.seq
                )),
                Some(h) => {
                    chained = true;
                    let link = prev.and_then(|p| p.hash.as_deref()).unwrap_or("");
                    if *h != chain_hash(link, e) {
                        report
                            .problems
                            .push(format!("row {} does not match its hash (edited)", e.seq));
                    }
                }
            }
            prev = Some(e);
        }
        report.head = prev.and_then(|p| p.hash.clone().map(|h| (p.seq, h)));
        report
    }
}

/// An audit row from a query whose first nine columns are `seq, time, username, action,
/// case_id, target, detail, remote_addr, hash` (the audit table's order).
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
        hash: r.get(8)?,
    })
}

/// Appends one audit row through `conn`: a plain connection, or a transaction (which derefs
/// to one) so the row commits with the change it records. The row's sequence number and hash
/// are computed under SQLite's write lock (the caller's transaction, or one opened here), so
/// concurrent writers extend one chain.
pub(super) fn record(
    conn: &Connection,
    username: Option<&str>,
    action: AuditAction,
    case_id: Option<&str>,
    target: Option<&str>,
    detail: Option<&str>,
    remote_addr: &str,
) -> Result<()> {
    let own_transaction = conn.is_autocommit();
    if own_transaction {
        conn.execute_batch("BEGIN IMMEDIATE")?;
    }
    let appended = append(conn, username, action, case_id, target, detail, remote_addr);
    if own_transaction {
        match &appended {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(_) => {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    }
    appended
}

fn append(
    conn: &Connection,
    username: Option<&str>,
    action: AuditAction,
    case_id: Option<&str>,
    target: Option<&str>,
    detail: Option<&str>,
    remote_addr: &str,
) -> Result<()> {
    // AUTOINCREMENT's counter, not MAX(seq): a deleted last row leaves a visible gap.
    let (last, prev): (i64, Option<String>) = conn.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit'), 0),
                (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let entry = AuditEntry {
        seq: last + 1,
        time: now(),
        username: username.map(str::to_string),
        action: action.as_str().to_string(),
        case_id: case_id.map(str::to_string),
        target: target.map(str::to_string),
        detail: detail.map(str::to_string),
        remote_addr: Some(remote_addr.to_string()),
        hash: None,
    };
    let hash = chain_hash(prev.as_deref().unwrap_or(""), &entry);
    conn.execute(
        "INSERT INTO audit (seq, time, username, action, case_id, target, detail, remote_addr, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            entry.seq,
            entry.time,
            entry.username,
            entry.action,
            entry.case_id,
            entry.target,
            entry.detail,
            entry.remote_addr,
            hash
        ],
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
            "SELECT seq, time, username, action, case_id, target, detail, remote_addr, hash FROM audit
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
            "SELECT a.seq, a.time, a.username, a.action, a.case_id, a.target, a.detail, a.remote_addr, a.hash, u.role
             FROM audit a LEFT JOIN users u ON u.username = a.username
             WHERE a.seq > ?1 ORDER BY a.seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit_sql(limit)], |r| {
            Ok((audit_entry(r)?, r.get(9)?))
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

    /// Checks the whole audit trail of this file against its hash chain: every deletion (a
    /// gap in `seq`, or rows missing after the last one, which AUTOINCREMENT remembers) and
    /// every edit (a row not matching its hash) is a problem.
    pub fn verify_audit_chain(&self) -> Result<ChainReport> {
        let rows = self.audit_trail(0, usize::MAX, None, None)?;
        let mut report = ChainReport::check(&rows);
        let counter: i64 = self.conn()?.query_row(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit'), 0)",
            [],
            |r| r.get(0),
        )?;
        let last = rows.last().map_or(0, |e| e.seq);
        if counter > last {
            report.problems.push(format!(
                "rows {}..{counter} are missing (deleted at the end)",
                last + 1
            ));
        }
        if rows.first().is_some_and(|e| e.seq != 1) {
            report.problems.push(format!(
                "rows 1..{} are missing (deleted at the start)",
                rows[0].seq - 1
            ));
        }
        Ok(report)
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
