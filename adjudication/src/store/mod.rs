//! The case store: users, sessions, cases, claims, decisions and the audit trail in one SQLite
//! file (WAL mode), so a console restarts with everything it knew.
//!
//! The one idea to hold in mind: every state change of a case is one `BEGIN IMMEDIATE`
//! transaction that checks the state it starts from (who holds the claim, whether the case is
//! still open, who decided) and writes the audit row in the same transaction. Two adjudicators
//! racing for a case therefore serialise on SQLite's write lock, and exactly one wins. The
//! checks themselves are the pure rules of [`rules`].
//!
//! A connection is opened per operation (cheap for SQLite); [`CaseStore`] is only the path.
//! The operations live by subject: [`users`], [`sessions`], [`queue`] (cases and their
//! members), [`decisions`] (claims and the decision state machine) and [`audit`].

pub mod audit;
pub mod decisions;
pub mod overview;
pub mod queue;
pub mod rules;
mod schema;
pub mod sessions;
pub mod users;
pub mod vocabulary;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::error::{AdjudicationError, Result};

pub use audit::AuditEntry;
pub use decisions::{Decision, DecisionInput, Verdict};
pub use queue::{CaseMember, CaseSummary, NewCase, QueueFilter, UpsertSummary};
pub use sessions::Session;
pub use users::User;
pub use vocabulary::{AuditAction, CaseKind, CaseState, DecisionState};

/// How long a claim holds a case for its adjudicator unless renewed or released.
pub const DEFAULT_CLAIM_SECONDS: i64 = 30 * 60;
/// How long a session lives after login.
pub const DEFAULT_SESSION_SECONDS: i64 = 8 * 60 * 60;

/// Case kind `ganda` as stored ([`CaseKind::Ganda`]), for callers that build [`NewCase`]s.
pub const KIND_GANDA: &str = "ganda";
/// Case kind `nik_conflict` as stored ([`CaseKind::NikConflict`]).
pub const KIND_NIK_CONFLICT: &str = "nik_conflict";

/// Handle on the case store file.
#[derive(Clone, Debug)]
pub struct CaseStore {
    path: PathBuf,
    limits: crate::auth::LoginLimits,
    actor: String,
}

impl CaseStore {
    /// Opens (creating if needed) the case store at `path`: schema, WAL mode, store id. The
    /// file holds password hashes and CSRF tokens, so it is created (or narrowed to) mode
    /// 0600; SQLite gives its `-wal` and `-shm` files the same mode.
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
        owner_only(path)?;
        let store = CaseStore {
            path: path.to_path_buf(),
            limits: Default::default(),
            actor: "local".into(),
        };
        schema::apply(&store.conn()?)?;
        Ok(store)
    }

    /// The same store, enforcing `limits` on logins (see [`crate::auth::LoginLimits`]).
    pub fn with_login_limits(mut self, limits: crate::auth::LoginLimits) -> CaseStore {
        self.limits = limits;
        self
    }

    /// The same store, recording `actor` (e.g. `local:<os user>`) as the remote address of
    /// the account changes it audits (`tunggal users …` runs with no session).
    pub fn with_actor(mut self, actor: impl Into<String>) -> CaseStore {
        self.actor = actor.into();
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A fresh connection with the store's settings (busy timeout, foreign keys).
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
}

/// Creates `path` readable and writable by its owner only (0600), or narrows an existing
/// file that is readable by others, before SQLite opens it.
fn owner_only(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| {
            AdjudicationError::Internal(anyhow::anyhow!("cannot open {}: {e}", path.display()))
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let mode = file.metadata().map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
    }
    Ok(())
}

/// Current time in unix seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Unix seconds as a UTC time.
pub fn to_time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// `None` for an absent or blank form value.
fn empty_to_none(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_constants_are_the_stored_strings() {
        assert_eq!(KIND_GANDA, CaseKind::Ganda.as_str());
        assert_eq!(KIND_NIK_CONFLICT, CaseKind::NikConflict.as_str());
    }
}
