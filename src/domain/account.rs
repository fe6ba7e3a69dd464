//! Accounts, their sessions and API tokens, and the rules for names and passwords.

use time::OffsetDateTime;

use super::OwnerId;

/// Shortest accepted password, in characters.
pub const PASSWORD_MIN: usize = 10;
/// Longest accepted password (hashing cost grows with length).
pub const PASSWORD_MAX: usize = 256;

/// An account.
#[derive(Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// argon2id PHC string; `None` for the first owner until `/setup`.
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub created_at: OffsetDateTime,
}

// By hand, so the password hash never reaches a log through `{:?}`.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("has_password", &self.password_hash.is_some())
            .field("is_admin", &self.is_admin)
            .finish()
    }
}

impl User {
    pub fn owner(&self) -> OwnerId {
        OwnerId(self.id)
    }
}

/// What a new session records.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: String,
    pub user: OwnerId,
    pub csrf_token: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A signed-in session and its account.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// The account's holdings version as the session was read (saves a query per page).
    pub holdings_version: i64,
    /// The account's base currency (totals are shown in it), read with the session.
    pub base_currency: String,
    /// The holdings table's columns as stored (`None`: the default set).
    pub table_columns: Option<String>,
    pub csrf_token: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A personal API token as listed (the token itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: i64,
    pub label: String,
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// A user name that breaks the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("A user name has 3 to 32 letters, digits, dots, dashes or underscores.")]
pub struct BadUsername;

/// Checks a user name: 3 to 32 letters, digits, `.`, `_` or `-`; names are lower-cased, so
/// `Bob` and `bob` are one account.
pub fn check_username(name: &str) -> Result<String, BadUsername> {
    let name = name.trim().to_ascii_lowercase();
    let ok = (3..=32).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok { Ok(name) } else { Err(BadUsername) }
}

/// A new password that breaks the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadPassword {
    #[error("A password has at least {PASSWORD_MIN} characters.")]
    TooShort,
    #[error("A password has at most {PASSWORD_MAX} characters.")]
    TooLong,
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), BadPassword> {
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        Err(BadPassword::TooShort)
    } else if n > PASSWORD_MAX {
        Err(BadPassword::TooLong)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords_are_checked() {
        assert_eq!(check_username(" alice ").unwrap(), "alice");
        assert_eq!(check_username("Bob").unwrap(), "bob");
        assert!(check_username("al").is_err());
        assert!(check_username("alice smith").is_err());
        assert!(check_username("<script>").is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough!").is_ok());
    }
}
