//! Logins, sessions and logouts.
//!
//! The one idea to hold in mind: the session token lives only in the user's cookie; the store
//! keeps its SHA-256, so a stolen case store hands out no live session. Every login, failed or
//! not, is audited.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{audit, now, AuditAction, CaseStore, User};
use crate::auth::{self, Role};
use crate::error::{AdjudicationError, Result};

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

impl CaseStore {
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
            audit::record(
                &conn,
                Some(username),
                AuditAction::LoginFailed,
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
        audit::record(
            &conn,
            Some(username),
            AuditAction::Login,
            None,
            None,
            None,
            remote_addr,
        )?;
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
}
