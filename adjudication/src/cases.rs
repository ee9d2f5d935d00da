//! The case store: users, sessions, cases, claims, decisions and the audit trail in one SQLite
//! file (WAL mode), so a console restarts with everything it knew.
//!
//! The one idea to hold in mind: every state change of a case is one `BEGIN IMMEDIATE`
//! transaction that checks the state it starts from (who holds the claim, whether the case is
//! still open, who decided) and writes the audit row in the same transaction. Two adjudicators
//! racing for a case therefore serialise on SQLite's write lock, and exactly one wins.
//!
//! A connection is opened per operation (cheap for SQLite); [`CaseStore`] is only the path.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::auth::{self, Role};
use crate::error::{AdjudicationError, Result};

/// How long a claim holds a case for its adjudicator unless renewed or released.
pub const DEFAULT_CLAIM_SECONDS: i64 = 30 * 60;
/// How long a session lives after login.
pub const DEFAULT_SESSION_SECONDS: i64 = 8 * 60 * 60;

/// Case kind: biometrics match an enrollment under a different NIK.
pub const KIND_GANDA: &str = "ganda";
/// Case kind: the same NIK enrolled again with other biometrics.
pub const KIND_NIK_CONFLICT: &str = "nik_conflict";

/// Case state: waiting for an adjudicator.
pub const STATE_OPEN: &str = "open";
/// Case state: decided, waiting for a second adjudicator or supervisor to confirm.
pub const STATE_PENDING: &str = "pending_confirmation";
/// Case state: the decision is final.
pub const STATE_DECIDED: &str = "decided";
/// Case state: the cluster changed before a decision; a newer case replaces this one.
pub const STATE_SUPERSEDED: &str = "superseded";

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('adjudicator', 'supervisor', 'auditor')),
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
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
    remote_addr TEXT
);
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

/// Handle on the case store file.
#[derive(Clone, Debug)]
pub struct CaseStore {
    path: PathBuf,
}

/// A user as stored (without the password hash).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Disabled users cannot log in and their sessions end.
    pub disabled: bool,
}

/// A logged-in session.
#[derive(Clone, Debug, Serialize)]
pub struct Session {
    /// The user.
    pub user: User,
    /// The CSRF token every state-changing request of this session must carry.
    pub csrf: String,
    /// Expiry (unix seconds).
    pub expires_at: i64,
}

/// A case as listed in the queue.
#[derive(Clone, Debug, Serialize)]
pub struct CaseSummary {
    /// Case id.
    pub case_id: String,
    /// The cluster it came from.
    pub cluster_id: String,
    /// `ganda` or `nik_conflict`.
    pub kind: String,
    /// Province code of the enrollment under question.
    pub province_code: String,
    /// Regency code of the enrollment under question.
    pub regency_code: String,
    /// Start of the SLA clock (unix seconds).
    pub sla_since: i64,
    /// Hours since `sla_since`.
    pub age_hours: i64,
    /// Case state.
    pub state: String,
    /// Who holds the claim, if it has not expired.
    pub claimed_by: Option<String>,
    /// Claim expiry (unix seconds).
    pub claim_expires: Option<i64>,
    /// Enrollments of the case.
    pub members: Vec<CaseMember>,
}

/// An enrollment of a case with the identity status it had when the case was made.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CaseMember {
    /// Enrollment id.
    pub enrollment_id: String,
    /// Identity status at case creation.
    pub status: String,
}

/// A decision recorded in the case store.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    /// Decision id.
    pub decision_id: String,
    /// Case id.
    pub case_id: String,
    /// One of `lake::tables::decisions::OUTCOME_*`.
    pub outcome: String,
    /// For `duplicate`: the record that stands.
    pub keep_enrollment_id: Option<String>,
    /// Fraud flagged.
    pub fraud: bool,
    /// The decider's comment.
    pub comment: String,
    /// Decider.
    pub decided_by: String,
    /// When decided (unix seconds).
    pub decided_at: i64,
    /// Whether a second person must confirm.
    pub needs_confirmation: bool,
    /// `pending`, `final` or `rejected`.
    pub state: String,
    /// Confirming (or rejecting) second person.
    pub confirmed_by: Option<String>,
    /// When confirmed or rejected.
    pub confirmed_at: Option<i64>,
    /// The second person's comment.
    pub review_comment: Option<String>,
    /// Order in which decisions became final (export order).
    pub final_seq: Option<i64>,
    /// When written to the lake.
    pub exported_at: Option<i64>,
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

/// One row of the audit trail.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    /// Sequence number (strictly increasing).
    pub seq: i64,
    /// When (unix seconds).
    pub time: i64,
    /// Who (absent for failed logins of unknown users).
    pub username: Option<String>,
    /// What: `login`, `login_failed`, `logout`, `case_view`, `image_view`, `claim`, `release`,
    /// `decide`, `confirm`, `reject`, `audit_view`, `audit_export`.
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

/// A case to create, derived from a cluster of the lake (input of [`CaseStore::upsert_cases`]).
#[derive(Clone, Debug)]
pub struct NewCase {
    /// The cluster.
    pub cluster_id: String,
    /// `ganda` or `nik_conflict`.
    pub kind: String,
    /// Province of the enrollment under question.
    pub province_code: String,
    /// Regency of the enrollment under question.
    pub regency_code: String,
    /// Start of the SLA clock (unix seconds).
    pub sla_since: i64,
    /// Members with their identity status (any order).
    pub members: Vec<CaseMember>,
}

impl NewCase {
    /// The case id: UUID v5 of the cluster and its sorted member set, so the same cluster
    /// state always yields the same case and a grown cluster yields a new one.
    pub fn case_id(&self) -> String {
        let mut ids: Vec<&str> = self
            .members
            .iter()
            .map(|m| m.enrollment_id.as_str())
            .collect();
        ids.sort_unstable();
        let key = format!("{}|{}", self.cluster_id, ids.join(","));
        uuid::Uuid::new_v5(&CASE_NAMESPACE, key.as_bytes()).to_string()
    }
}

/// Namespace of case ids.
const CASE_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6b1f_3a52_7c1e_4f0e_9d55_2a7f_c0de_ca5e);

/// What [`CaseStore::upsert_cases`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpsertSummary {
    /// Cases created now.
    pub created: usize,
    /// Cases that already existed.
    pub existing: usize,
    /// Open cases whose cluster changed or no longer needs adjudication.
    pub superseded: usize,
}

/// Filter of the queue.
#[derive(Clone, Debug, Default, serde::Deserialize, Serialize)]
pub struct QueueFilter {
    /// Province code (`PP`).
    #[serde(default)]
    pub province: Option<String>,
    /// Regency code (`PP.KK`).
    #[serde(default)]
    pub regency: Option<String>,
    /// `ganda` or `nik_conflict`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Include pending-confirmation cases (default: yes).
    #[serde(default)]
    pub state: Option<String>,
}

/// Current time in unix seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Unix seconds as a UTC time.
pub fn to_time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn empty_to_none(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

impl CaseStore {
    /// Opens (creating if needed) the case store at `path`: schema, WAL mode, store id.
    pub fn open(path: &Path) -> Result<CaseStore> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    AdjudicationError::Internal(anyhow::anyhow!(
                        "cannot create {}: {e}",
                        parent.display()
                    ))
                })?;
            }
        }
        let store = CaseStore {
            path: path.to_path_buf(),
        };
        let conn = store.conn()?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?1)",
            params![uuid::Uuid::new_v4().to_string()],
        )?;
        Ok(store)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> Result<Connection> {
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(conn)
    }

    /// A random id fixed at creation: names this case store in the lake's commit log, so the
    /// decisions export knows what it already wrote.
    pub fn store_id(&self) -> Result<String> {
        Ok(self
            .conn()?
            .query_row("SELECT value FROM meta WHERE key = 'store_id'", [], |r| {
                r.get(0)
            })?)
    }

    // ----- users -----

    /// Adds a user with an argon2 hash of `password`. Fails with `Conflict` if the name exists.
    pub fn add_user(&self, username: &str, role: Role, password: &str) -> Result<()> {
        auth::check_username(username)?;
        auth::check_password_strength(password)?;
        let hash = auth::hash_password(password)?;
        let conn = self.conn()?;
        let n = conn.execute(
            "INSERT OR IGNORE INTO users (username, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![username, role.as_str(), hash, now()],
        )?;
        if n == 0 {
            return Err(AdjudicationError::Conflict(format!(
                "user {username} already exists"
            )));
        }
        Ok(())
    }

    /// Disables a user and ends their sessions.
    pub fn disable_user(&self, username: &str) -> Result<()> {
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE users SET disabled = 1 WHERE username = ?1",
            params![username],
        )?;
        if n == 0 {
            return Err(AdjudicationError::NotFound(format!("user {username}")));
        }
        conn.execute(
            "DELETE FROM sessions WHERE username = ?1",
            params![username],
        )?;
        Ok(())
    }

    /// Sets a new password (and re-enables the user); ends their sessions.
    pub fn reset_password(&self, username: &str, password: &str) -> Result<()> {
        auth::check_password_strength(password)?;
        let hash = auth::hash_password(password)?;
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE users SET password_hash = ?2, disabled = 0 WHERE username = ?1",
            params![username, hash],
        )?;
        if n == 0 {
            return Err(AdjudicationError::NotFound(format!("user {username}")));
        }
        conn.execute(
            "DELETE FROM sessions WHERE username = ?1",
            params![username],
        )?;
        Ok(())
    }

    /// Every user.
    pub fn users(&self) -> Result<Vec<User>> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT username, role, disabled FROM users ORDER BY username")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (username, role, disabled) = row?;
            out.push(User {
                username,
                role: Role::parse(&role)?,
                disabled,
            });
        }
        Ok(out)
    }

    // ----- sessions -----

    /// Checks the password and opens a session; returns the session token (to put in the
    /// cookie; only its hash is stored) and the session. Wrong name, wrong password and
    /// disabled user all fail the same way.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        remote_addr: &str,
        session_seconds: i64,
    ) -> Result<(String, Session)> {
        let conn = self.conn()?;
        let row: Option<(String, String, bool)> = conn
            .query_row(
                "SELECT role, password_hash, disabled FROM users WHERE username = ?1",
                params![username],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        // Verify against a fixed hash when the user is unknown, so timing does not tell
        // which user names exist.
        let (role, hash, disabled) =
            row.unwrap_or_else(|| ("adjudicator".into(), auth::DUMMY_HASH.to_string(), true));
        let ok = auth::verify_password(password, &hash);
        if !ok || disabled {
            self.audit(
                Some(username),
                "login_failed",
                None,
                None,
                None,
                remote_addr,
            )?;
            return Err(AdjudicationError::Unauthenticated(
                "wrong user name or password".into(),
            ));
        }
        let token = auth::random_token();
        let csrf = auth::random_token();
        let t = now();
        let expires_at = t + session_seconds;
        conn.execute(
            "INSERT INTO sessions (token_hash, username, csrf, created_at, expires_at, remote_addr) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![auth::token_hash(&token), username, csrf, t, expires_at, remote_addr],
        )?;
        conn.execute("DELETE FROM sessions WHERE expires_at < ?1", params![t])?;
        self.audit(Some(username), "login", None, None, None, remote_addr)?;
        Ok((
            token,
            Session {
                user: User {
                    username: username.to_string(),
                    role: Role::parse(&role)?,
                    disabled: false,
                },
                csrf,
                expires_at,
            },
        ))
    }

    /// The live session of `token`, if any (expired sessions and disabled users have none).
    pub fn session(&self, token: &str) -> Result<Option<Session>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT s.username, u.role, s.csrf, s.expires_at FROM sessions s JOIN users u ON u.username = s.username
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
                params![auth::token_hash(token), now()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((username, role, csrf, expires_at)) => Ok(Some(Session {
                user: User {
                    username,
                    role: Role::parse(&role)?,
                    disabled: false,
                },
                csrf,
                expires_at,
            })),
        }
    }

    /// Ends the session of `token`.
    pub fn logout(&self, token: &str) -> Result<()> {
        self.conn()?.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            params![auth::token_hash(token)],
        )?;
        Ok(())
    }

    // ----- cases -----

    /// Creates the cases of `cases` that do not exist yet (idempotent: the case id derives
    /// from the cluster and its members), and supersedes open cases that are no longer among
    /// them (the cluster grew, or dedup no longer flags it).
    pub fn upsert_cases(&self, cases: &[NewCase]) -> Result<UpsertSummary> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut summary = UpsertSummary::default();
        let t = now();
        let mut current = std::collections::HashSet::new();
        for case in cases {
            let case_id = case.case_id();
            let n = tx.execute(
                "INSERT OR IGNORE INTO cases (case_id, cluster_id, kind, province_code, regency_code, sla_since, created_at, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open')",
                params![case_id, case.cluster_id, case.kind, case.province_code, case.regency_code, case.sla_since, t],
            )?;
            if n == 1 {
                summary.created += 1;
                for m in &case.members {
                    tx.execute(
                        "INSERT INTO case_members (case_id, enrollment_id, status) VALUES (?1, ?2, ?3)",
                        params![case_id, m.enrollment_id, m.status],
                    )?;
                }
            } else {
                summary.existing += 1;
            }
            current.insert(case_id);
        }
        let open: Vec<String> = {
            let mut stmt = tx.prepare("SELECT case_id FROM cases WHERE state = 'open'")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for case_id in open {
            if !current.contains(&case_id) {
                tx.execute(
                    "UPDATE cases SET state = 'superseded', claimed_by = NULL, claim_expires = NULL WHERE case_id = ?1",
                    params![case_id],
                )?;
                summary.superseded += 1;
            }
        }
        tx.commit()?;
        Ok(summary)
    }

    /// The queue: cases in `open` and `pending_confirmation` state (or the state asked for),
    /// oldest SLA clock first.
    pub fn queue(&self, filter: &QueueFilter, limit: usize) -> Result<Vec<CaseSummary>> {
        let conn = self.conn()?;
        let mut sql = String::from(
            "SELECT case_id, cluster_id, kind, province_code, regency_code, sla_since, state, claimed_by, claim_expires FROM cases WHERE 1 = 1",
        );
        let mut args: Vec<String> = Vec::new();
        match empty_to_none(filter.state.clone()) {
            Some(state) => {
                args.push(state);
                sql.push_str(&format!(" AND state = ?{}", args.len()));
            }
            None => sql.push_str(" AND state IN ('open', 'pending_confirmation')"),
        }
        if let Some(p) = empty_to_none(filter.province.clone()) {
            args.push(p);
            sql.push_str(&format!(" AND province_code = ?{}", args.len()));
        }
        if let Some(r) = empty_to_none(filter.regency.clone()) {
            args.push(r);
            sql.push_str(&format!(" AND regency_code = ?{}", args.len()));
        }
        if let Some(k) = empty_to_none(filter.kind.clone()) {
            args.push(k);
            sql.push_str(&format!(" AND kind = ?{}", args.len()));
        }
        sql.push_str(&format!(" ORDER BY sla_since, case_id LIMIT {limit}"));
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), Self::summary_row)?;
        let mut out: Vec<CaseSummary> = rows.collect::<rusqlite::Result<_>>()?;
        for case in &mut out {
            case.members = Self::members_of(&conn, &case.case_id)?;
        }
        Ok(out)
    }

    fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseSummary> {
        let sla_since: i64 = r.get(5)?;
        let claim_expires: Option<i64> = r.get(8)?;
        let live = claim_expires.is_some_and(|e| e > now());
        Ok(CaseSummary {
            case_id: r.get(0)?,
            cluster_id: r.get(1)?,
            kind: r.get(2)?,
            province_code: r.get(3)?,
            regency_code: r.get(4)?,
            sla_since,
            age_hours: (now() - sla_since).max(0) / 3600,
            state: r.get(6)?,
            claimed_by: if live { r.get(7)? } else { None },
            claim_expires: if live { claim_expires } else { None },
            members: Vec::new(),
        })
    }

    fn members_of(conn: &Connection, case_id: &str) -> Result<Vec<CaseMember>> {
        let mut stmt = conn.prepare(
            "SELECT enrollment_id, status FROM case_members WHERE case_id = ?1 ORDER BY enrollment_id",
        )?;
        let rows = stmt.query_map(params![case_id], |r| {
            Ok(CaseMember {
                enrollment_id: r.get(0)?,
                status: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One case, or `NotFound`.
    pub fn case(&self, case_id: &str) -> Result<CaseSummary> {
        let conn = self.conn()?;
        let mut case = conn
            .query_row(
                "SELECT case_id, cluster_id, kind, province_code, regency_code, sla_since, state, claimed_by, claim_expires FROM cases WHERE case_id = ?1",
                params![case_id],
                Self::summary_row,
            )
            .optional()?
            .ok_or_else(|| AdjudicationError::NotFound(format!("case {case_id}")))?;
        case.members = Self::members_of(&conn, case_id)?;
        Ok(case)
    }

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
                outcome: r.get(2)?,
                keep_enrollment_id: r.get(3)?,
                fraud: r.get(4)?,
                comment: r.get(5)?,
                decided_by: r.get(6)?,
                decided_at: r.get(7)?,
                needs_confirmation: r.get(8)?,
                state: r.get(9)?,
                confirmed_by: r.get(10)?,
                confirmed_at: r.get(11)?,
                review_comment: r.get(12)?,
                final_seq: r.get(13)?,
                exported_at: r.get(14)?,
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
        if !user.role.can_decide() {
            return Err(AdjudicationError::Forbidden(format!(
                "a {} cannot claim cases",
                user.role.as_str()
            )));
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let state: Option<String> = tx
            .query_row(
                "SELECT state FROM cases WHERE case_id = ?1",
                params![case_id],
                |r| r.get(0),
            )
            .optional()?;
        let state = state.ok_or_else(|| AdjudicationError::NotFound(format!("case {case_id}")))?;
        if state == STATE_PENDING {
            let decider: Option<String> = tx
                .query_row(
                    "SELECT decided_by FROM decisions WHERE case_id = ?1 AND state = 'pending'",
                    params![case_id],
                    |r| r.get(0),
                )
                .optional()?;
            if decider.as_deref() == Some(user.username.as_str()) {
                return Err(AdjudicationError::Forbidden(
                    "the decider cannot confirm their own decision".into(),
                ));
            }
        } else if state != STATE_OPEN {
            return Err(AdjudicationError::Conflict(format!("the case is {state}")));
        }
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
        audit_tx(
            &tx,
            Some(&user.username),
            "claim",
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
            audit_tx(
                &tx,
                Some(&user.username),
                "release",
                Some(case_id),
                None,
                None,
                remote_addr,
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn require_claim(tx: &rusqlite::Transaction<'_>, user: &User, case_id: &str) -> Result<String> {
        let row: Option<(String, Option<String>, Option<i64>)> = tx
            .query_row(
                "SELECT state, claimed_by, claim_expires FROM cases WHERE case_id = ?1",
                params![case_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (state, claimed_by, expires) =
            row.ok_or_else(|| AdjudicationError::NotFound(format!("case {case_id}")))?;
        let live = expires.is_some_and(|e| e > now());
        if claimed_by.as_deref() != Some(user.username.as_str()) || !live {
            return Err(AdjudicationError::Conflict(
                "claim the case first (or your claim expired)".into(),
            ));
        }
        Ok(state)
    }

    /// Records `user`'s decision on a case they hold. Decisions that block a person or flag
    /// fraud wait for confirmation by someone else; the others are final at once. Returns the
    /// decision.
    pub fn decide(
        &self,
        user: &User,
        case_id: &str,
        input: &DecisionInput,
        remote_addr: &str,
    ) -> Result<Decision> {
        use lake::tables::decisions as d;
        if !user.role.can_decide() {
            return Err(AdjudicationError::Forbidden(format!(
                "a {} cannot decide cases",
                user.role.as_str()
            )));
        }
        let comment = input.comment.trim();
        if comment.is_empty() {
            return Err(AdjudicationError::BadRequest(
                "a comment is required".into(),
            ));
        }
        let outcome = input.outcome.as_str();
        if ![
            d::OUTCOME_DUPLICATE,
            d::OUTCOME_DIFFERENT_PERSONS,
            d::OUTCOME_REENROLLMENT,
            d::OUTCOME_REFER_BACK,
        ]
        .contains(&outcome)
        {
            return Err(AdjudicationError::BadRequest(format!(
                "unknown outcome {outcome:?}"
            )));
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state = Self::require_claim(&tx, user, case_id)?;
        if state != STATE_OPEN {
            return Err(AdjudicationError::Conflict(format!("the case is {state}")));
        }
        let members = Self::members_of(&tx, case_id)?;
        let keep = empty_to_none(input.keep_enrollment_id.clone());
        if outcome == d::OUTCOME_DUPLICATE {
            match &keep {
                Some(k) if members.iter().any(|m| &m.enrollment_id == k) => {}
                Some(_) => {
                    return Err(AdjudicationError::BadRequest(
                        "the record that stands must be a member of the case".into(),
                    ))
                }
                None => {
                    return Err(AdjudicationError::BadRequest(
                        "a duplicate decision names the record that stands".into(),
                    ))
                }
            }
        }
        let keep = if outcome == d::OUTCOME_DUPLICATE {
            keep
        } else {
            None
        };
        let needs_confirmation = outcome == d::OUTCOME_DUPLICATE || input.fraud;
        let decision_id = uuid::Uuid::new_v4().to_string();
        let t = now();
        tx.execute(
            "INSERT INTO decisions (decision_id, case_id, outcome, keep_enrollment_id, fraud, comment, decided_by, decided_at, needs_confirmation, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                decision_id,
                case_id,
                outcome,
                keep,
                input.fraud,
                comment,
                user.username,
                t,
                needs_confirmation,
                "pending"
            ],
        )?;
        let new_state = if needs_confirmation {
            STATE_PENDING
        } else {
            finalize(&tx, &decision_id)?;
            STATE_DECIDED
        };
        tx.execute(
            "UPDATE cases SET state = ?2, claimed_by = NULL, claim_expires = NULL WHERE case_id = ?1",
            params![case_id, new_state],
        )?;
        let detail = format!(
            "outcome={outcome} fraud={} needs_confirmation={needs_confirmation}",
            input.fraud
        );
        audit_tx(
            &tx,
            Some(&user.username),
            "decide",
            Some(case_id),
            Some(&decision_id),
            Some(&detail),
            remote_addr,
        )?;
        tx.commit()?;
        self.decision(&decision_id)
    }

    /// Confirms (`accept = true`) or rejects the pending decision of a case that `user` holds.
    /// The confirmer must be an adjudicator or supervisor other than the decider. A confirmed
    /// decision becomes final; a rejected one sends the case back to the queue.
    pub fn review(
        &self,
        user: &User,
        case_id: &str,
        accept: bool,
        comment: &str,
        remote_addr: &str,
    ) -> Result<Decision> {
        if !user.role.can_decide() {
            return Err(AdjudicationError::Forbidden(format!(
                "a {} cannot confirm decisions",
                user.role.as_str()
            )));
        }
        let comment = comment.trim();
        if !accept && comment.is_empty() {
            return Err(AdjudicationError::BadRequest(
                "a comment is required to reject a decision".into(),
            ));
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let pending: Option<(String, String)> = tx
            .query_row(
                "SELECT decision_id, decided_by FROM decisions WHERE case_id = ?1 AND state = 'pending'",
                params![case_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((decision_id, decided_by)) = pending else {
            return Err(AdjudicationError::Conflict(
                "the case has no decision waiting for confirmation".into(),
            ));
        };
        if decided_by == user.username {
            return Err(AdjudicationError::Forbidden(
                "the decider cannot confirm their own decision".into(),
            ));
        }
        let state = Self::require_claim(&tx, user, case_id)?;
        if state != STATE_PENDING {
            return Err(AdjudicationError::Conflict(format!("the case is {state}")));
        }
        let t = now();
        tx.execute(
            "UPDATE decisions SET confirmed_by = ?2, confirmed_at = ?3, review_comment = ?4, state = ?5 WHERE decision_id = ?1",
            params![
                decision_id,
                user.username,
                t,
                empty_to_none(Some(comment.to_string())),
                if accept { "pending" } else { "rejected" }
            ],
        )?;
        let new_state = if accept {
            finalize(&tx, &decision_id)?;
            STATE_DECIDED
        } else {
            STATE_OPEN
        };
        tx.execute(
            "UPDATE cases SET state = ?2, claimed_by = NULL, claim_expires = NULL WHERE case_id = ?1",
            params![case_id, new_state],
        )?;
        audit_tx(
            &tx,
            Some(&user.username),
            if accept { "confirm" } else { "reject" },
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
            "WHERE state = 'final' AND exported_at IS NULL ORDER BY final_seq",
            [],
        )
    }

    /// Members of a case.
    pub fn members(&self, case_id: &str) -> Result<Vec<CaseMember>> {
        Self::members_of(&self.conn()?, case_id)
    }

    /// Marks every final decision with `final_seq <= up_to` as exported at `when`.
    pub fn mark_exported(&self, up_to: i64, when: i64) -> Result<usize> {
        Ok(self.conn()?.execute(
            "UPDATE decisions SET exported_at = ?2 WHERE state = 'final' AND exported_at IS NULL AND final_seq <= ?1",
            params![up_to, when],
        )?)
    }

    /// Cluster id of a case.
    pub fn cluster_of(&self, case_id: &str) -> Result<String> {
        Ok(self.case(case_id)?.cluster_id)
    }

    // ----- audit -----

    /// Appends one row to the audit trail.
    pub fn audit(
        &self,
        username: Option<&str>,
        action: &str,
        case_id: Option<&str>,
        target: Option<&str>,
        detail: Option<&str>,
        remote_addr: &str,
    ) -> Result<()> {
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO audit (time, username, action, case_id, target, detail, remote_addr) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![now(), username, action, case_id, target, detail, remote_addr],
        )?;
        Ok(())
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
        let mut stmt = conn.prepare(&format!(
            "SELECT seq, time, username, action, case_id, target, detail, remote_addr FROM audit
             WHERE seq > ?1 AND (?2 IS NULL OR case_id = ?2) AND (?3 IS NULL OR username = ?3)
             ORDER BY seq LIMIT {limit}"
        ))?;
        let rows = stmt.query_map(params![after, case_id, username], audit_entry)?;
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
        let rows = stmt.query_map(params![after, limit as i64], |r| {
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
        let mut rows = self.audit_trail((max - limit as i64).max(0), limit, None, None)?;
        rows.reverse();
        Ok(rows)
    }
}

/// Makes a decision final: it takes the next export sequence number.
fn finalize(tx: &rusqlite::Transaction<'_>, decision_id: &str) -> Result<()> {
    tx.execute(
        "UPDATE decisions SET state = 'final', final_seq = (SELECT COALESCE(MAX(final_seq), 0) + 1 FROM decisions)
         WHERE decision_id = ?1",
        params![decision_id],
    )?;
    Ok(())
}

fn audit_tx(
    tx: &rusqlite::Transaction<'_>,
    username: Option<&str>,
    action: &str,
    case_id: Option<&str>,
    target: Option<&str>,
    detail: Option<&str>,
    remote_addr: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO audit (time, username, action, case_id, target, detail, remote_addr) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![now(), username, action, case_id, target, detail, remote_addr],
    )?;
    Ok(())
}
