//! Recording, changing and deleting a holding's transactions, and the owner's base currency.
//! The store replays the holding's transactions in the same database transaction as every
//! write, so a change that would sell more than is held is refused and nothing is written.

use crate::domain::activity::{ActivityPage, ActivityQuery};
use crate::domain::currency::iso_currency;
use crate::domain::holding::{UNKNOWN_SYMBOL_ADVICE, no_holding};
use crate::domain::transaction::{TxRequest, new_asset_currency, no_transaction};
use crate::domain::{AssetKind, DomainError, ImportTx, OwnerId, Symbol, Transaction};
use crate::market::QuoteService;
use crate::store::Store;

use super::today;

/// One of the owner's transactions, or a 404 that does not say whether it exists for someone
/// else.
pub async fn owned(store: &dyn Store, owner: OwnerId, id: i64) -> super::Result<Transaction> {
    Ok(store
        .get_transaction(owner, id)
        .await?
        .ok_or_else(|| no_transaction(id))?)
}

/// The owner's transactions in replay order; one holding's with `Some(holding_id)`.
pub async fn list(
    store: &dyn Store,
    owner: OwnerId,
    holding: Option<i64>,
) -> super::Result<Vec<Transaction>> {
    Ok(store.transactions(owner, holding).await?)
}

/// A page of the owner's activity list (see [`crate::domain::activity`]).
pub async fn activity(
    reader: super::holdings::Reader<'_>,
    q: &ActivityQuery,
) -> super::Result<ActivityPage> {
    Ok(super::holdings::activity(reader, q).await?)
}

/// Records a transaction on one of the owner's holdings.
pub async fn add(
    store: &dyn Store,
    owner: OwnerId,
    holding_id: i64,
    input: &TxRequest,
) -> super::Result<Transaction> {
    let holding = super::holdings::owned(store, owner, holding_id).await?;
    let fields = input.validate(&holding.asset.currency, today())?;
    Ok(store
        .add_transaction(owner, holding_id, &fields)
        .await?
        .ok_or_else(|| no_holding(holding_id))?)
}

/// Records a transaction for an asset named by symbol and kind, making its holding when it is
/// not held yet (a new market asset must be known to a price service, which also gives its
/// name and currency).
pub async fn add_for_asset(
    store: &dyn Store,
    quotes: &QuoteService,
    owner: OwnerId,
    symbol: Symbol,
    kind: AssetKind,
    input: &TxRequest,
) -> super::Result<Transaction> {
    if let Some(holding) = store.find_holding(owner, &symbol, kind).await? {
        return add(store, owner, holding.id, input).await;
    }
    let quote = if kind.is_market_priced() {
        super::holdings::describe(quotes, &symbol, kind, UNKNOWN_SYMBOL_ADVICE).await?
    } else {
        None
    };
    let quoted = quote.as_ref().and_then(|q| q.currency.clone());
    let currency = new_asset_currency(kind, quoted.as_deref(), input.currency());
    let fields = input.validate(&currency, today())?;
    let row = ImportTx {
        symbol,
        kind,
        name: quote.as_ref().and_then(|q| q.name.clone()),
        // A shared (market) asset's currency is only ever written from a quote.
        currency: if kind.is_market_priced() {
            quoted
        } else {
            Some(currency)
        },
        fields,
    };
    Ok(store.record_for_asset(owner, &row).await?)
}

/// Replaces a transaction's type, date, amounts and notes; its holding stays.
pub async fn edit(
    store: &dyn Store,
    owner: OwnerId,
    id: i64,
    input: &TxRequest,
) -> super::Result<Transaction> {
    let current = owned(store, owner, id).await?;
    let fields = input.validate(&current.currency, today())?;
    Ok(store
        .update_transaction(owner, id, &fields)
        .await?
        .ok_or_else(|| no_transaction(id))?)
}

/// Deletes a transaction (refused when a later sell or split needs it); the deleted one comes
/// back, so the caller can say which holding it was of.
pub async fn delete(store: &dyn Store, owner: OwnerId, id: i64) -> super::Result<Transaction> {
    let current = owned(store, owner, id).await?;
    if store.delete_transaction(owner, id).await? {
        Ok(current)
    } else {
        Err(no_transaction(id).into())
    }
}

/// Sets the currency the owner's totals are shown in: a currency of ISO 4217 that the
/// exchange-rate services price (so that the totals can be shown in it), when any is
/// configured (without one, the totals add up the base currency's holdings only).
pub async fn set_base_currency(
    store: &dyn Store,
    quotes: &QuoteService,
    owner: OwnerId,
    text: &str,
) -> super::Result<()> {
    let code = iso_currency(text).map_err(|m| DomainError::field("currency", m))?;
    if quotes.has_fx_service() && quotes.fx_rate("USD", &code).await.is_none() {
        return Err(DomainError::field(
            "currency",
            format!(
                "No exchange-rate service prices {code} right now, so the totals cannot be shown in it. Try again in a few minutes, or choose another currency."
            ),
        )
        .into());
    }
    Ok(store.set_base_currency(owner, &code).await?)
}
