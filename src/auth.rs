//! Passwords, session ids, API tokens and login throttling.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

/// Shortest accepted password, in characters.
pub const PASSWORD_MIN: usize = 10;
/// Longest accepted password (hashing cost grows with length).
pub const PASSWORD_MAX: usize = 256;

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// True when `password` matches the stored hash. A malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to verify against when the account does not exist, so a wrong name takes as long as
/// a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password at all").unwrap_or_default())
}

/// `bytes` random bytes from the operating system, hex-encoded.
pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// SHA-256, hex-encoded: how session ids and API tokens are stored.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new API token (`st_` and 40 hex digits) and the prefix lists show.
pub fn new_api_token() -> anyhow::Result<(String, String)> {
    let token = format!("st_{}", random_hex(20)?);
    let prefix = token.chars().take(11).collect();
    Ok((token, prefix))
}

/// Checks a user name: 3 to 32 letters, digits, `.`, `_` or `-`.
pub fn check_username(name: &str) -> Result<String, String> {
    let name = name.trim();
    let ok = (3..=32).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(name.to_string())
    } else {
        Err("A user name has 3 to 32 letters, digits, dots, dashes or underscores.".into())
    }
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        Err(format!(
            "A password has at least {PASSWORD_MIN} characters."
        ))
    } else if n > PASSWORD_MAX {
        Err(format!("A password has at most {PASSWORD_MAX} characters."))
    } else {
        Ok(())
    }
}

/// Failed logins allowed per account and per address before a back-off.
pub const FREE_FAILURES: u32 = 5;

/// Counts failed logins per account and per client address; after [`FREE_FAILURES`] each new
/// failure doubles a lock-out (from `LOGIN_BACKOFF_SECS`, at most 30 times it). A success
/// clears the account's count.
#[derive(Clone)]
pub struct LoginThrottle {
    failures: moka::sync::Cache<String, (u32, std::time::Instant)>,
    base: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

impl LoginThrottle {
    /// `base` is the first lock-out; each further failure doubles it, up to 30 × `base`.
    pub fn new(base: Duration) -> Self {
        Self {
            failures: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
            base,
        }
    }

    fn lock(&self, count: u32) -> Duration {
        let extra = count.saturating_sub(FREE_FAILURES).min(5);
        (self.base * (1u32 << extra)).min(self.base * 30)
    }

    /// How long until these keys may try again; `None` when they may now.
    pub fn wait(&self, keys: &[String]) -> Option<Duration> {
        let now = std::time::Instant::now();
        keys.iter()
            .filter_map(|k| self.failures.get(k))
            .filter(|(count, _)| *count >= FREE_FAILURES)
            .filter_map(|(count, last)| (last + self.lock(count)).checked_duration_since(now))
            .max()
    }

    pub fn failed(&self, keys: &[String]) {
        let now = std::time::Instant::now();
        for k in keys {
            let count = self.failures.get(k).map_or(0, |(c, _)| c);
            self.failures.insert(k.clone(), (count + 1, now));
        }
    }

    pub fn succeeded(&self, account_key: &str) {
        self.failures.invalidate(account_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse batterY"));
        assert!(!verify_password("garbage", "anything"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, prefix) = new_api_token().unwrap();
        let (b, _) = new_api_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.starts_with(&prefix));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert_eq!(check_username(" alice ").unwrap(), "alice");
        assert!(check_username("al").is_err());
        assert!(check_username("alice smith").is_err());
        assert!(check_username("<script>").is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough!").is_ok());
    }

    #[test]
    fn throttling_starts_after_five_failures() {
        let t = LoginThrottle::default();
        let keys = vec!["user:alice".to_string()];
        for _ in 0..4 {
            t.failed(&keys);
        }
        assert_eq!(t.wait(&keys), None);
        t.failed(&keys);
        assert!(t.wait(&keys).is_some_and(|w| w > Duration::from_secs(25)));
        t.succeeded("user:alice");
        assert_eq!(t.wait(&keys), None);
    }
}
