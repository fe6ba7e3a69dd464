//! Cash in the owner's accounts: recording deposits, withdrawals, interest, fees and
//! transfers, and the balances they and the holdings' transactions leave.

use crate::domain::cash::{CashBook, CashFields, CashTx};
use crate::domain::{DomainError, FieldError, OwnerId};
use crate::store::Store;

/// One of the owner's cash transactions, or a 404 that does not say whether it is someone
/// else's.
pub async fn owned(store: &dyn Store, owner: OwnerId, id: i64) -> super::Result<CashTx> {
    store
        .get_cash(owner, id)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("You have no cash transaction {id}.")).into())
}

/// The owner's cash transactions by day, then as entered; one account's (either side of a
/// transfer) with `Some(account)`.
pub async fn list(
    store: &dyn Store,
    owner: OwnerId,
    account: Option<i64>,
) -> super::Result<Vec<CashTx>> {
    let mut all = store.cash_transactions(owner).await?;
    if let Some(a) = account {
        all.retain(|c| c.account == a || c.to_account == Some(a));
    }
    Ok(all)
}

/// The balances of every account and currency, from the cash transactions and the holdings'
/// transactions (`skip`: a cash transaction left out, the one an edit replaces).
pub async fn book(store: &dyn Store, owner: OwnerId, skip: Option<i64>) -> super::Result<CashBook> {
    let mut cash = store.cash_transactions(owner).await?;
    cash.retain(|c| Some(c.id) != skip);
    let trades = store.transactions(owner, None).await?;
    Ok(CashBook::new(
        &cash,
        trades.iter().map(|t| (t.currency.as_str(), &t.amounts)),
    ))
}

/// What takes money out of an account must be in a currency the account has held; a transfer
/// goes to another account. `skip`: the transaction an edit replaces.
async fn check(
    store: &dyn Store,
    owner: OwnerId,
    fields: &CashFields,
    skip: Option<i64>,
    kept_account: Option<i64>,
) -> super::Result<()> {
    if !fields.kind.takes_out() {
        return Ok(());
    }
    let accounts = store.holding_accounts(owner).await?;
    let account = match fields.account.or(kept_account) {
        Some(id) => accounts.iter().find(|a| a.id == id),
        None => accounts.iter().find(|a| a.default),
    };
    // An account that is not the owner's is the store's to refuse (409 on its field).
    let Some(account) = account else {
        return Ok(());
    };
    let book = book(store, owner, skip).await?;
    if book.holds(account.id, &fields.currency) {
        return Ok(());
    }
    let held = book.currencies(account.id);
    let advice = if held.is_empty() {
        "Record a deposit into it first.".to_string()
    } else {
        format!(
            "It holds {}: choose one of those, or record a deposit in {} first.",
            held.join(", "),
            fields.currency
        )
    };
    Err(DomainError::Mismatch(vec![FieldError::new(
        "currency",
        format!(
            "{} has never held {}. {advice}",
            account.name, fields.currency
        ),
    )])
    .into())
}

/// Records a cash transaction (`fields` checked by [`CashDraft::check`](crate::domain::cash::CashDraft::check)).
pub async fn add(store: &dyn Store, owner: OwnerId, fields: &CashFields) -> super::Result<CashTx> {
    check(store, owner, fields, None, None).await?;
    Ok(store.add_cash(owner, fields).await?)
}

/// Replaces one of the owner's cash transactions; no account named keeps its account.
pub async fn update(
    store: &dyn Store,
    owner: OwnerId,
    id: i64,
    fields: &CashFields,
) -> super::Result<CashTx> {
    let old = owned(store, owner, id).await?;
    check(store, owner, fields, Some(id), Some(old.account)).await?;
    store
        .update_cash(owner, id, fields)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("You have no cash transaction {id}.")).into())
}

/// Deletes one of the owner's cash transactions.
pub async fn delete(store: &dyn Store, owner: OwnerId, id: i64) -> super::Result<()> {
    if store.delete_cash(owner, id).await? {
        Ok(())
    } else {
        Err(DomainError::NotFound(format!("You have no cash transaction {id}.")).into())
    }
}
