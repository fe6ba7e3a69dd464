//! Exporting an account's transactions (the import's format) and holdings as CSV.

use crate::domain::{OwnerId, SortDir, SortKey, csv};
use crate::market::QuoteService;
use crate::store::Store;

use super::HoldingsCache;

/// Every transaction, in the format import reads, with its account's name: exporting and
/// importing into another user (with accounts of the same names) gives the same portfolio.
pub async fn transactions(store: &dyn Store, owner: OwnerId) -> super::Result<Vec<u8>> {
    let txs = store.transactions(owner, None).await?;
    let accounts = store
        .holding_accounts(owner)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    csv::export_transactions(&txs, &accounts).map_err(|e| super::Error::Internal(e.into()))
}

/// The holdings with their prices and gains, each in its asset's currency.
pub async fn holdings(
    store: &dyn Store,
    quotes: &QuoteService,
    cache: &HoldingsCache,
    owner: OwnerId,
    known_version: Option<i64>,
) -> super::Result<Vec<u8>> {
    let positions = super::holdings::load(
        store,
        quotes,
        cache,
        owner,
        known_version,
        SortKey::Symbol,
        SortDir::Asc,
    )
    .await?;
    csv::export_holdings(&positions).map_err(|e| super::Error::Internal(e.into()))
}
