//! Users' roles, password hashing (argon2id), session and CSRF tokens, and the login rate
//! limiter.
//!
//! Session tokens are 256 random bits; only their SHA-256 is stored, so a stolen case store
//! does not hand out live sessions. Every state-changing request carries the session's CSRF
//! token (a hidden form field, or the `X-CSRF-Token` header for the JSON API).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
}

impl Role {
    /// Parses `adjudicator`, `supervisor` or `auditor`.
    pub fn parse(s: &str) -> Result<Role> {
        match s {
            "adjudicator" => Ok(Role::Adjudicator),
            "supervisor" => Ok(Role::Supervisor),
            "auditor" => Ok(Role::Auditor),
            other => Err(AdjudicationError::BadRequest(format!(
                "unknown role {other:?} (adjudicator, supervisor or auditor)"
            ))),
        }
    }

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Adjudicator => "adjudicator",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
        }
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

/// Failed-login limiter: at most `max_failures` failures per key (client address, and user
/// name) within `window`; further attempts are refused until the window has passed.
#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// A limiter allowing `max_failures` failures per key within `window`.
    pub fn new(max_failures: usize, window: Duration) -> LoginLimiter {
        LoginLimiter {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses when any key has reached its failure budget.
    pub fn check(&self, keys: &[&str]) -> Result<()> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        for key in keys {
            if let Some(times) = map.get_mut(*key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= self.max_failures {
                    return Err(AdjudicationError::TooManyAttempts(
                        "too many failed logins; wait a few minutes".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Records a failure for every key.
    pub fn failed(&self, keys: &[&str]) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.clear();
        }
        let now = Instant::now();
        for key in keys {
            map.entry(key.to_string()).or_default().push(now);
        }
    }

    /// Forgets the failures of `keys` after a successful login.
    pub fn succeeded(&self, keys: &[&str]) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            map.remove(*key);
        }
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
    fn limiter_refuses_after_budget() {
        let l = LoginLimiter::new(2, Duration::from_secs(60));
        l.failed(&["ip"]);
        assert!(l.check(&["ip"]).is_ok());
        l.failed(&["ip"]);
        assert!(l.check(&["ip", "user"]).is_err());
        assert!(l.check(&["other"]).is_ok());
    }
}
