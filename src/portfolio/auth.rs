//! Credentials: password hashes (on the blocking pool), session ids, API tokens and login
//! throttling.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

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

/// [`hash_password`] on the blocking pool: argon2 takes tens of milliseconds of CPU on purpose,
/// which must not stall the threads serving other requests.
pub async fn hash_password_blocking(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await?
}

/// [`verify_password`] on the blocking pool. Without a hash (no such account, or one that
/// has no password yet) the password is checked against a made-up hash, also on the blocking
/// pool, so a wrong name takes as long as a wrong password and never matches.
pub async fn verify_password_blocking(hash: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_password(&hash, &password),
        None => {
            verify_password(dummy_hash(), &password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Compares secrets without stopping at the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A hash to verify against when the account does not exist (made on first use, which is on
/// the blocking pool like every verification).
fn dummy_hash() -> &'static str {
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

    /// Takes one attempt for every key, atomically: refused (with how long to wait) when a key
    /// has used its free attempts and is inside its lock-out, so parallel guesses cannot all
    /// slip in. Every attempt counts until [`Self::succeeded`] takes it back.
    pub fn attempt(&self, keys: &[String]) -> Result<(), Duration> {
        let now = std::time::Instant::now();
        let mut refused: Option<Duration> = None;
        for k in keys {
            self.failures.entry(k.clone()).and_compute_with(|old| {
                use moka::ops::compute::Op;
                let (count, last) = old.map_or((0, now), |e| e.into_value());
                let until = last + self.lock(count);
                if count >= FREE_FAILURES && now < until {
                    refused = refused.max(Some(until - now));
                    Op::Nop
                } else {
                    Op::Put((count + 1, now))
                }
            });
        }
        refused.map_or(Ok(()), Err)
    }

    /// A correct password: the account starts afresh, and the address (if counted) gets its
    /// attempt back.
    pub fn succeeded(&self, account_key: &str, address_key: Option<&str>) {
        self.failures.invalidate(account_key);
        let Some(address_key) = address_key else {
            return;
        };
        self.failures
            .entry(address_key.to_string())
            .and_compute_with(|old| {
                use moka::ops::compute::Op;
                match old.map(|e| e.into_value()) {
                    Some((n, t)) if n > 1 => Op::Put((n - 1, t)),
                    _ => Op::Remove,
                }
            });
    }
}

/// The throttle key for a client address: IPv6 clients are grouped by their /64, which one
/// household or host usually owns whole.
pub fn address_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => format!("ip:{v4}"),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The throttle key for a typed user name; names no account could have share one key, so
/// arbitrary input cannot grow the table.
pub fn account_key(name: &str) -> String {
    match crate::domain::check_username(name) {
        Ok(name) => format!("user:{name}"),
        Err(_) => "user:(invalid)".into(),
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
    fn throttling_starts_after_five_failures() {
        let t = LoginThrottle::default();
        let keys = vec!["user:alice".to_string()];
        for _ in 0..5 {
            assert_eq!(t.attempt(&keys), Ok(()));
        }
        assert!(
            t.attempt(&keys).is_err_and(|w| w > Duration::from_secs(25)),
            "the sixth waits"
        );
        t.succeeded("user:alice", Some("ip:1"));
        assert_eq!(t.attempt(&keys), Ok(()));
    }
}
