//! Accounts: creating them, their passwords and their API tokens.

use crate::domain::{ApiToken, DomainError, OwnerId, User, check_password, check_username};
use crate::store::{Store, StoreError};

use super::auth;

/// Most characters in a token's label.
pub const LABEL_MAX: usize = 100;

/// A name taken by another account.
fn taken(name: &str) -> DomainError {
    DomainError::Conflict {
        message: format!("The user name {name} is taken."),
        existing_id: None,
    }
}

/// Creates an account from the command line: on a fresh install the first account (which
/// becomes the admin and keeps anything held before accounts existed), otherwise a new one.
pub async fn add_user(
    store: &dyn Store,
    name: &str,
    password: String,
    admin: bool,
) -> super::Result<User> {
    let name = check_username(name).map_err(|e| DomainError::field("username", e.to_string()))?;
    check_password(&password).map_err(|e| DomainError::field("password", e.to_string()))?;
    let hash = auth::hash_password_blocking(password).await?;
    let created = if store.needs_setup().await? {
        store.setup_admin(&name, &hash).await
    } else {
        store.create_user(&name, &hash, admin).await
    };
    match created {
        Ok(user) => Ok(user),
        Err(StoreError::Conflict) => Err(taken(&name).into()),
        Err(e) => Err(e.into()),
    }
}

/// Sets a new password (checked, hashed off the async threads) and ends every session of
/// the account.
pub async fn set_password(store: &dyn Store, user: OwnerId, password: String) -> super::Result<()> {
    check_password(&password).map_err(|e| DomainError::field("password", e.to_string()))?;
    let hash = auth::hash_password_blocking(password).await?;
    store.set_password(user, &hash).await?;
    Ok(())
}

/// A new API token for the account, labelled (1 to [`LABEL_MAX`] characters, no control
/// characters): the token itself, shown this once; only its hash is stored.
pub async fn create_token(store: &dyn Store, user: OwnerId, label: &str) -> super::Result<String> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > LABEL_MAX || label.chars().any(char::is_control)
    {
        return Err(DomainError::field(
            "label",
            format!("Give the token a label of 1 to {LABEL_MAX} characters."),
        )
        .into());
    }
    let (token, prefix) = auth::new_api_token()?;
    store
        .create_token(user, label, &prefix, &auth::sha256_hex(&token))
        .await?;
    Ok(token)
}

/// The account's tokens, as listed.
pub async fn tokens(store: &dyn Store, user: OwnerId) -> super::Result<Vec<ApiToken>> {
    Ok(store.tokens(user).await?)
}

/// Revokes one of the account's tokens; a 404 when it is not theirs.
pub async fn revoke_token(store: &dyn Store, user: OwnerId, id: i64) -> super::Result<()> {
    if store.revoke_token(user, id).await? {
        Ok(())
    } else {
        Err(DomainError::NotFound(format!("You have no token {id}.")).into())
    }
}
