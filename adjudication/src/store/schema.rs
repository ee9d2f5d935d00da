//! The case store's tables, and bringing a file up to them.
//!
//! The one idea to hold in mind: `apply` is idempotent (`CREATE … IF NOT EXISTS`), so opening
//! a store written by an earlier version adds what is missing and changes nothing else; the
//! strings in `CHECK` constraints are those of [`super::vocabulary`] and never change.

use rusqlite::{params, Connection};

use crate::error::Result;

/// The users table (its role list grew `analyst`; see [`migrate_roles`]).
const USERS: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('adjudicator', 'supervisor', 'auditor', 'analyst')),
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
"#;

/// The tables. `audit` is append-only: triggers refuse `UPDATE` and `DELETE`.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username),
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    remote_addr TEXT
);
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    province_code TEXT NOT NULL,
    regency_code TEXT NOT NULL,
    sla_since INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    claimed_by TEXT,
    claim_expires INTEGER
);
CREATE INDEX IF NOT EXISTS cases_queue ON cases (state, sla_since);
CREATE TABLE IF NOT EXISTS case_members (
    case_id TEXT NOT NULL REFERENCES cases(case_id),
    enrollment_id TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (case_id, enrollment_id)
);
CREATE TABLE IF NOT EXISTS decisions (
    decision_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(case_id),
    outcome TEXT NOT NULL,
    keep_enrollment_id TEXT,
    fraud INTEGER NOT NULL,
    comment TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at INTEGER NOT NULL,
    needs_confirmation INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'final', 'rejected')),
    confirmed_by TEXT,
    confirmed_at INTEGER,
    review_comment TEXT,
    final_seq INTEGER UNIQUE,
    exported_at INTEGER
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    username TEXT,
    action TEXT NOT NULL,
    case_id TEXT,
    target TEXT,
    detail TEXT,
    remote_addr TEXT,
    hash TEXT
);
CREATE INDEX IF NOT EXISTS audit_logins_by_user ON audit (username, action, time);
CREATE INDEX IF NOT EXISTS audit_logins_by_addr ON audit (remote_addr, action, time);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE IF NOT EXISTS audit_export (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    up_to INTEGER NOT NULL,
    exported_at INTEGER NOT NULL
);
"#;

/// Brings the file behind `conn` up to the schema: WAL mode, every table, and a random store
/// id fixed at creation.
pub(super) fn apply(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.execute_batch(USERS)?;
    migrate_roles(conn)?;
    conn.execute_batch(SCHEMA)?;
    add_audit_hash(conn)?;
    add_user_language(conn)?;
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?1)",
        params![uuid::Uuid::new_v4().to_string()],
    )?;
    Ok(())
}

/// Rebuilds a `users` table written before the `analyst` role existed (SQLite cannot alter a
/// `CHECK` constraint in place); a no-op on a current file.
fn migrate_roles(conn: &Connection) -> Result<()> {
    let sql: String = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'",
        [],
        |r| r.get(0),
    )?;
    if sql.contains("'analyst'") {
        return Ok(());
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // SQLite's recipe: new table, copy, drop, rename (renaming the old table away would
    // rewrite the sessions' foreign key to follow it).
    let create_new = USERS.replace("EXISTS users (", "EXISTS users_new (");
    let rebuilt = conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         {create_new}
         INSERT INTO users_new (username, role, password_hash, disabled, created_at)
             SELECT username, role, password_hash, disabled, created_at FROM users;
         DROP TABLE users;
         ALTER TABLE users_new RENAME TO users;
         COMMIT;"
    ));
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if rebuilt.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    Ok(rebuilt?)
}

/// Adds the hash chain's column to an `audit` table written before it existed (its older rows
/// keep no hash: the chain starts after them).
fn add_audit_hash(conn: &Connection) -> Result<()> {
    add_column(conn, "audit", "hash", "TEXT")
}

/// Adds the users' chosen console language (`id`, `en`; null: the default) to a `users`
/// table written before it existed.
fn add_user_language(conn: &Connection) -> Result<()> {
    add_column(conn, "users", "lang", "TEXT")
}

/// Adds `column` (of SQL type `decl`) to `table` unless it is there: how a file written by an
/// earlier version gains a column (SQLite's `ADD COLUMN` has no `IF NOT EXISTS`).
fn add_column(conn: &Connection, table: &str, column: &str, decl: &str) -> Result<()> {
    let present: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
        params![table, column],
        |r| r.get(0),
    )?;
    if !present {
        conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
    }
    Ok(())
}
