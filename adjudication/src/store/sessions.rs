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
    /// Checks the password and opens a console session; see [`CaseStore::login_via`].
    pub fn login(
        &self,
        username: &str,
        password: &str,
        remote_addr: &str,
        session_seconds: i64,
    ) -> Result<(String, Session)> {
        self.login_via(username, password, remote_addr, "console", session_seconds)
    }

    /// Checks the password and opens a session; returns the session token (to put in the
    /// cookie, or to hand a Flight SQL client; only its hash is stored) and the session.
    /// `channel` (`console`, `flight-sql`) goes into the audit row's detail.
    ///
    /// Wrong name, wrong password and disabled user all fail the same way. A malformed user
    /// name is refused before anything else and audited without it (so no formula or forged
    /// line reaches the audit trail). A user name or address over its failure budget
    /// ([`crate::auth::LoginLimits`], counted from this store's audit trail, so shared by
    /// every process using it) is refused without checking the password.
    pub fn login_via(
        &self,
        username: &str,
        password: &str,
        remote_addr: &str,
        channel: &str,
        session_seconds: i64,
    ) -> Result<(String, Session)> {
        let conn = self.conn()?;
        if auth::check_username(username).is_err() {
            audit::record(
                &conn,
                None,
                AuditAction::LoginFailed,
                None,
                None,
                Some(&format!("{channel}: malformed user name")),
                remote_addr,
            )?;
            return Err(AdjudicationError::Unauthenticated(
                "wrong user name or password".into(),
            ));
        }
        if let Some(budget) = self.locked_out(&conn, username, remote_addr)? {
            audit::record(
                &conn,
                Some(username),
                AuditAction::LoginLocked,
                None,
                None,
                Some(&format!("{channel}: {budget}")),
                remote_addr,
            )?;
            return Err(AdjudicationError::TooManyAttempts(
                "too many failed logins; wait a few minutes".into(),
            ));
        }
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
                Some(channel),
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
            Some(channel),
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

    /// Which failure budget, if any, `username` from `remote_addr` has used up within the
    /// window (see [`crate::auth::LoginLimits`]).
    fn locked_out(
        &self,
        conn: &rusqlite::Connection,
        username: &str,
        remote_addr: &str,
    ) -> Result<Option<&'static str>> {
        let l = self.limits;
        let since = now() - l.window_seconds;
        let failed = AuditAction::LoginFailed;
        let pair: u32 = conn.query_row(
            "SELECT count(*) FROM audit WHERE username = ?1 AND remote_addr = ?2 AND action = ?3
               AND time > ?4
               AND seq > COALESCE((SELECT max(seq) FROM audit
                                   WHERE username = ?1 AND remote_addr = ?2 AND action = ?5), 0)",
            params![username, remote_addr, failed, since, AuditAction::Login],
            |r| r.get(0),
        )?;
        if pair >= l.per_user_and_address {
            return Ok(Some("locked out: user name and address"));
        }
        let addr: u32 = conn.query_row(
            "SELECT count(*) FROM audit WHERE remote_addr = ?1 AND action = ?2 AND time > ?3",
            params![remote_addr, failed, since],
            |r| r.get(0),
        )?;
        if addr >= l.per_address {
            return Ok(Some("locked out: address"));
        }
        let user: u32 = conn.query_row(
            "SELECT count(*) FROM audit WHERE username = ?1 AND action = ?2 AND time > ?3",
            params![username, failed, since],
            |r| r.get(0),
        )?;
        if user >= l.per_user {
            return Ok(Some("locked out: user name"));
        }
        Ok(None)
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
