//! Exporting an account's transactions (the import's format) and holdings (with their accounts
//! and returns) as CSV.

use std::collections::{BTreeSet, HashMap};

use crate::domain::{OwnerId, SortDir, SortKey, csv};
use crate::market::QuoteService;
use crate::store::Store;

use super::HoldingsCache;

/// Every transaction, the cash ones too, in the format import reads, with its accounts' names:
/// exporting and importing into another user gives the same portfolio and the same cash.
pub async fn transactions(store: &dyn Store, owner: OwnerId) -> super::Result<Vec<u8>> {
    let txs = store.transactions(owner, None).await?;
    let cash = store.cash_transactions(owner).await?;
    let accounts = store
        .holding_accounts(owner)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    csv::export_transactions(&txs, &cash, &accounts).map_err(|e| super::Error::Internal(e.into()))
}

/// The holdings with their prices and gains, each in its asset's currency, the accounts each
/// is kept in, and its returns (in `base`: see [`super::holdings::returns`]).
pub async fn holdings(
    store: &dyn Store,
    quotes: &QuoteService,
    cache: &HoldingsCache,
    owner: OwnerId,
    known_version: Option<i64>,
    base: &str,
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
    let report = super::holdings::returns(store, quotes, cache, owner, base).await?;
    let transactions = cache
        .transactions(store, quotes, owner, known_version)
        .await?;
    let names: HashMap<i64, String> = store
        .holding_accounts(owner)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let returns = report
        .holdings
        .into_iter()
        .map(|(id, _, ((rate, _), ranges))| {
            let mut accounts: Vec<String> = transactions
                .get(&id)
                .into_iter()
                .flatten()
                .map(|t| t.account)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter_map(|a| names.get(&a).cloned())
                .collect();
            accounts.sort();
            let twr = ranges.iter().map(|r| r.twr.ok()).collect();
            let xirr = rate.ok();
            (
                id,
                csv::HoldingReturns {
                    accounts,
                    xirr,
                    twr,
                },
            )
        })
        .collect();
    csv::export_holdings(&positions, &returns).map_err(|e| super::Error::Internal(e.into()))
}
