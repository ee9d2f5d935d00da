//! The console's users: adding, disabling, resetting passwords, listing.
//!
//! The one idea to hold in mind: only an argon2 hash of a password is stored; disabling a
//! user or resetting their password ends their sessions at once (console and Flight SQL
//! alike, as both hold case store sessions); every change is audited in its transaction.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{audit, now, AuditAction, CaseStore};
use crate::auth::{self, Role};
use crate::error::{AdjudicationError, Result};

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

impl CaseStore {
    /// Records the console language `username` chose (`id`, `en`), so that it follows them
    /// to any browser they log in from.
    pub fn set_language(&self, username: &str, lang: &str) -> Result<()> {
        self.conn()?.execute(
            "UPDATE users SET lang = ?2 WHERE username = ?1",
            params![username, lang],
        )?;
        Ok(())
    }

    /// The console language `username` chose, if any.
    pub fn language(&self, username: &str) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT lang FROM users WHERE username = ?1",
                params![username],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// Adds a user with an argon2 hash of `password`. Fails with `Conflict` if the name exists.
    pub fn add_user(&self, username: &str, role: Role, password: &str) -> Result<()> {
        auth::check_username(username)?;
        auth::check_password_strength(password)?;
        let hash = auth::hash_password(password)?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "INSERT OR IGNORE INTO users (username, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![username, role.as_str(), hash, now()],
        )?;
        if n == 0 {
            return Err(AdjudicationError::Conflict(format!(
                "user {username} already exists"
            )));
        }
        let detail = format!("role={}", role.as_str());
        self.audit_account(&tx, AuditAction::UserAdd, username, Some(&detail))?;
        tx.commit()?;
        Ok(())
    }

    /// Disables a user and ends their sessions.
    pub fn disable_user(&self, username: &str) -> Result<()> {
        self.change_user(
            username,
            AuditAction::UserDisable,
            "UPDATE users SET disabled = 1 WHERE username = ?1",
            params![username],
        )
    }

    /// Sets a new password (and re-enables the user); ends their sessions.
    pub fn reset_password(&self, username: &str, password: &str) -> Result<()> {
        auth::check_password_strength(password)?;
        let hash = auth::hash_password(password)?;
        self.change_user(
            username,
            AuditAction::UserResetPassword,
            "UPDATE users SET password_hash = ?2, disabled = 0 WHERE username = ?1",
            params![username, hash],
        )
    }

    /// Runs `update` on `username`'s row, ends every session of that user (a changed
    /// account must log in again) and audits `action`, in one transaction; an unknown user is
    /// an error.
    fn change_user(
        &self,
        username: &str,
        action: AuditAction,
        update: &str,
        args: impl rusqlite::Params,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if tx.execute(update, args)? == 0 {
            return Err(AdjudicationError::NotFound(format!("user {username}")));
        }
        let ended = tx.execute(
            "DELETE FROM sessions WHERE username = ?1",
            params![username],
        )?;
        let detail = format!("sessions_ended={ended}");
        self.audit_account(&tx, action, username, Some(&detail))?;
        tx.commit()?;
        Ok(())
    }

    /// The audit row of an account change: the account as `target` (and in `detail`, which
    /// the lake export keeps), this store's actor as the address (the CLI has no session).
    fn audit_account(
        &self,
        conn: &rusqlite::Connection,
        action: AuditAction,
        username: &str,
        detail: Option<&str>,
    ) -> Result<()> {
        let detail = match detail {
            Some(d) => format!("account={username} {d}"),
            None => format!("account={username}"),
        };
        audit::record(
            conn,
            None,
            action,
            None,
            Some(username),
            Some(&detail),
            &self.actor,
        )
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
}
