//! The accounts a user keeps assets in: list, add, rename, delete (moving what they hold).

use crate::domain::holding_account::{HoldingAccount, MAX_ACCOUNTS, account_name};
use crate::domain::{DomainError, FieldError, OwnerId};
use crate::store::{Store, StoreError};

/// The owner's accounts, oldest first (the first takes transactions that name no account).
pub async fn list(store: &dyn Store, owner: OwnerId) -> super::Result<Vec<HoldingAccount>> {
    Ok(store.holding_accounts(owner).await?)
}

/// One of the owner's accounts, or a 404 that does not say whether it is someone else's.
pub async fn owned(store: &dyn Store, owner: OwnerId, id: i64) -> super::Result<HoldingAccount> {
    list(store, owner)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| DomainError::NotFound(format!("You have no account {id}.")).into())
}

fn valid_name(name: &str) -> super::Result<String> {
    account_name(name).map_err(|e| DomainError::field("name", e.to_string()).into())
}

/// What a name clash says: the account that has the name.
async fn clash(store: &dyn Store, owner: OwnerId, name: &str) -> super::Result<DomainError> {
    let existing = list(store, owner)
        .await?
        .into_iter()
        .find(|a| a.name.to_lowercase() == name.to_lowercase());
    Ok(DomainError::Conflict {
        message: format!("You already have an account named {name:?}."),
        existing_id: existing.map(|a| a.id),
    })
}

/// Adds an account named `name`.
pub async fn create(
    store: &dyn Store,
    owner: OwnerId,
    name: &str,
) -> super::Result<HoldingAccount> {
    let name = valid_name(name)?;
    match store.create_holding_account(owner, &name).await {
        Ok(id) => owned(store, owner, id).await,
        Err(StoreError::Conflict) => Err(clash(store, owner, &name).await?.into()),
        Err(StoreError::LimitReached) => Err(DomainError::Mismatch(vec![FieldError::new(
            "name",
            format!("You have {MAX_ACCOUNTS} accounts, the most there may be: delete one first."),
        )])
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Renames one of the owner's accounts.
pub async fn rename(
    store: &dyn Store,
    owner: OwnerId,
    id: i64,
    name: &str,
) -> super::Result<HoldingAccount> {
    let name = valid_name(name)?;
    owned(store, owner, id).await?;
    match store.rename_holding_account(owner, id, &name).await {
        Ok(_) => owned(store, owner, id).await,
        Err(StoreError::Conflict) => Err(clash(store, owner, &name).await?.into()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes one of the owner's accounts, its transactions moving to `move_to` when it has any.
pub async fn delete(
    store: &dyn Store,
    owner: OwnerId,
    id: i64,
    move_to: Option<i64>,
) -> super::Result<()> {
    if store.delete_holding_account(owner, id, move_to).await? {
        Ok(())
    } else {
        Err(DomainError::NotFound(format!("You have no account {id}.")).into())
    }
}
