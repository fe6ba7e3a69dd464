//! Accounts a user keeps assets in — a broker, a bank, "Wallet", "Collectibles" — and the rules
//! for their names. Every transaction is in one account; a holding's units in each account are
//! replayed on their own (see [`super::ledger`]). A user's first account is made for them,
//! named [`DEFAULT_ACCOUNT`]; transactions recorded without naming an account go to the
//! oldest one.

use time::OffsetDateTime;

/// The name of the account made for a user who has none.
pub const DEFAULT_ACCOUNT: &str = "Default";
/// Longest account name, in characters.
pub const ACCOUNT_NAME_MAX: usize = 60;
/// Most accounts one user may have.
pub const MAX_ACCOUNTS: usize = 100;

/// An account of a user's, with how many transactions are in it.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldingAccount {
    pub id: i64,
    pub name: String,
    pub transactions: u64,
    /// Whether transactions that name no account go here: the owner's oldest account.
    pub default: bool,
    pub created_at: OffsetDateTime,
}

/// Why an account name cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadAccountName {
    #[error("Name the account, for example \"Broker\" or \"Wallet\".")]
    Empty,
    #[error("An account name has at most {ACCOUNT_NAME_MAX} characters.")]
    TooLong,
    #[error("An account name cannot hold control characters.")]
    ControlCharacters,
}

/// An account name as typed: trimmed, inner runs of spaces kept; 1 to 60 characters, no
/// control characters. Two names that differ only in case are the same account.
pub fn account_name(input: &str) -> Result<String, BadAccountName> {
    // Control characters anywhere, even where the trim would drop them (a tab, a line break),
    // and the length as sent: what the API documents.
    if input.chars().any(char::is_control) {
        return Err(BadAccountName::ControlCharacters);
    }
    let name = input.trim();
    if name.is_empty() {
        return Err(BadAccountName::Empty);
    }
    if input.chars().count() > ACCOUNT_NAME_MAX {
        return Err(BadAccountName::TooLong);
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_and_must_say_something_short_and_printable() {
        assert_eq!(account_name("  Schwab IRA "), Ok("Schwab IRA".into()));
        assert_eq!(account_name("Wallet — €"), Ok("Wallet — €".into()));
        assert_eq!(account_name("   "), Err(BadAccountName::Empty));
        assert_eq!(account_name(&"x".repeat(61)), Err(BadAccountName::TooLong));
        assert_eq!(account_name(&"é".repeat(60)), Ok("é".repeat(60)));
        assert_eq!(
            account_name("a\u{7}b"),
            Err(BadAccountName::ControlCharacters)
        );
        // Even where a trim would have dropped it.
        assert_eq!(
            account_name("T\u{b}"),
            Err(BadAccountName::ControlCharacters)
        );
    }
}
