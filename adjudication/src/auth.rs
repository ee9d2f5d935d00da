//! Users' roles, password hashing (argon2id), session and CSRF tokens, the login lockout
//! policy ([`LoginLimits`]) and the gate that keeps password hashing off async workers
//! ([`LoginGate`]).
//!
//! Session tokens are 256 random bits; only their SHA-256 is stored, so a stolen case store
//! does not hand out live sessions. Every state-changing request carries the session's CSRF
//! token (a hidden form field, or the `X-CSRF-Token` header for the JSON API).

use std::time::Duration;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{AdjudicationError, Result};

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works cases: claims, decides, confirms others' decisions.
    Adjudicator,
    /// Everything an adjudicator does, and reads the audit trail.
    Supervisor,
    /// Reads cases and the audit trail; never decides.
    Auditor,
    /// Statistics over SQL (`tunggal serve-sql --console-users`) only: no console pages, no
    /// personal data, no biometrics (see docs/security.md, the access matrix).
    Analyst,
}

impl Role {
    /// Every role, in the order the docs list them.
    pub const ALL: [Role; 4] = [
        Role::Adjudicator,
        Role::Supervisor,
        Role::Auditor,
        Role::Analyst,
    ];

    /// Parses `adjudicator`, `supervisor`, `auditor` or `analyst`.
    pub fn parse(s: &str) -> Result<Role> {
        match s {
            "adjudicator" => Ok(Role::Adjudicator),
            "supervisor" => Ok(Role::Supervisor),
            "auditor" => Ok(Role::Auditor),
            "analyst" => Ok(Role::Analyst),
            other => Err(AdjudicationError::BadRequest(format!(
                "unknown role {other:?} (adjudicator, supervisor, auditor or analyst)"
            ))),
        }
    }

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Adjudicator => "adjudicator",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
            Role::Analyst => "analyst",
        }
    }

    /// May use the web console at all (analysts use SQL only).
    pub fn can_use_console(self) -> bool {
        !matches!(self, Role::Analyst)
    }

    /// Claims, decides and confirms.
    pub fn can_decide(self) -> bool {
        matches!(self, Role::Adjudicator | Role::Supervisor)
    }

    /// Reads and exports the audit trail.
    pub fn can_audit(self) -> bool {
        matches!(self, Role::Auditor | Role::Supervisor)
    }
}

/// An argon2 hash of a password nobody has, checked when a login names an unknown user so
/// that the answer takes as long as for a known one.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3P2d7l1mZ0bq1Hkq0dO4b1yq7c1m7d0C0h4ZJmQJt1U";

/// Hashes a password with argon2id (default parameters) and a random salt, in PHC form.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AdjudicationError::Internal(anyhow::anyhow!("argon2: {e}")))
}

/// Checks a password against a PHC hash; false for a malformed hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A user name: 1..64 characters of letters, digits, `.`, `-`, `_`.
pub fn check_username(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(AdjudicationError::BadRequest(
            "a user name is 1 to 64 letters, digits, '.', '-' or '_'".into(),
        ))
    }
}

/// A password of at least 10 characters.
pub fn check_password_strength(password: &str) -> Result<()> {
    if password.chars().count() >= 10 {
        Ok(())
    } else {
        Err(AdjudicationError::BadRequest(
            "a password has at least 10 characters".into(),
        ))
    }
}

/// 256 random bits, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256 of a token (what the case store keeps).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two tokens in constant time.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The login lockout policy, enforced by [`crate::CaseStore::login`] from the audit trail's
/// `login_failed` rows, so the console and Flight SQL (`serve-sql --console-users`), which
/// share the case store, share one limiter, and a restart forgets nothing.
///
/// Three budgets within `window`, each refusing further attempts (without checking the
/// password) until old failures leave the window:
/// - `per_user_and_address`: failures of one user name from one client address; the usual
///   lockout, which an attacker elsewhere cannot trigger for a user at their desk;
/// - `per_address`: failures from one client address over all user names (password spraying);
/// - `per_user`: failures of one user name over all addresses (guessing from many addresses);
///   kept high, since it lets anyone lock a user out everywhere.
///
/// A successful login clears the user-and-address budget only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures allowed per user name and client address.
    pub per_user_and_address: u32,
    /// Failures allowed per client address, all user names together.
    pub per_address: u32,
    /// Failures allowed per user name, all addresses together.
    pub per_user: u32,
    /// The window, in seconds.
    pub window_seconds: i64,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_user_and_address: 5,
            per_address: 20,
            per_user: 100,
            window_seconds: 15 * 60,
        }
    }
}

/// Runs password checks (argon2, deliberately slow) and their SQLite writes on the blocking
/// thread pool, at most `permits` at a time, so that a flood of anonymous logins can neither
/// occupy the async workers that serve logged-in users nor every core.
///
/// Shared by the console (actix workers) and Flight SQL (tokio workers); an attempt that
/// cannot get a permit within `wait` is refused as "too many attempts".
#[derive(Clone, Debug)]
pub struct LoginGate {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    wait: Duration,
}

impl Default for LoginGate {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        LoginGate::new((cores / 2).max(1), Duration::from_secs(10))
    }
}

impl LoginGate {
    /// A gate letting `permits` checks run at once; others wait up to `wait`.
    pub fn new(permits: usize, wait: Duration) -> LoginGate {
        LoginGate {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(permits.max(1))),
            wait,
        }
    }

    /// Runs `check` on the blocking pool once a permit is free.
    pub async fn run<T, F>(&self, check: F) -> Result<T>
    where
        F: FnOnce() -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                AdjudicationError::TooManyAttempts("too many logins at once; try again".into())
            })?
            .map_err(|e| AdjudicationError::Internal(e.into()))?;
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            check()
        })
        .await
        .map_err(|e| AdjudicationError::Internal(e.into()))?;
        joined
    }
}

/// Makes a value safe for a CSV cell that a spreadsheet will open: a value starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a formula (OWASP "CSV
/// injection"), so it gets a leading `'`.
pub fn neutralise_csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_verifies_only_the_password() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("x", DUMMY_HASH));
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=HYPERLINK(\"x\")", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise_csv_cell(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralise_csv_cell("adi"), "adi");
        assert!(Role::ALL
            .iter()
            .all(|r| Role::parse(r.as_str()).ok() == Some(*r)));
    }

    #[tokio::test]
    async fn the_login_gate_runs_checks_off_the_async_workers_one_at_a_time() {
        let gate = LoginGate::new(1, Duration::from_millis(50));
        let slow = gate.clone();
        let first = tokio::spawn(async move {
            slow.run(|| {
                std::thread::sleep(Duration::from_millis(300));
                Ok(1)
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The permit is taken: a second check waits, then is refused.
        assert!(matches!(
            gate.run(|| Ok(2)).await,
            Err(AdjudicationError::TooManyAttempts(_))
        ));
        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert_eq!(gate.run(|| Ok(3)).await.unwrap(), 3);
    }
}
