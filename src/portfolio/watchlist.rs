//! A watchlist: market assets someone follows without holding them, each with its quote.

use crate::domain::watch::{self, UNKNOWN_SYMBOL_ADVICE, Watched};
use crate::domain::{AssetKind, MAX_WATCHED, OwnerId, Symbol, WatchEntry, WatchFields};
use crate::market::QuoteService;
use crate::store::{Store, StoreError, StoreResult};

/// The owner's watchlist, ordered by symbol, with quotes fetched together: cached ones at
/// once, the rest in one batch per provider that has a batch endpoint, then concurrently. A
/// symbol without any price has `quote: None`; it never fails the list.
pub async fn load(
    store: &dyn Store,
    quotes: &QuoteService,
    owner: OwnerId,
) -> StoreResult<Vec<Watched>> {
    let entries = store.watchlist(owner).await?;
    let wanted: Vec<_> = entries
        .iter()
        .map(|e| (e.asset.symbol.clone(), e.asset.kind))
        .collect();
    let mut found = quotes.quotes(&wanted).await;
    Ok(entries
        .into_iter()
        .map(|entry| {
            let quote = found.remove(&(entry.asset.symbol.clone(), entry.asset.kind));
            Watched { entry, quote }
        })
        .collect())
}

/// One of the owner's entries, or a 404 that does not say whether it exists for someone else.
pub async fn owned(store: &dyn Store, owner: OwnerId, id: i64) -> super::Result<WatchEntry> {
    Ok(store
        .watchlist(owner)
        .await?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| watch::no_entry(id))?)
}

/// One entry with its quote now.
pub async fn with_quote(quotes: &QuoteService, entry: WatchEntry) -> Watched {
    let quote = quotes
        .quote(&entry.asset.symbol, entry.asset.kind)
        .await
        .ok();
    Watched { entry, quote }
}

/// Starts following a market asset: 409 when it is already watched, 422 for an item, an
/// unknown symbol or a full watchlist. A provider that is down does not stop it (the entry
/// then shows no price until one can be had).
pub async fn add(
    store: &dyn Store,
    quotes: &QuoteService,
    owner: OwnerId,
    symbol: Symbol,
    kind: AssetKind,
) -> super::Result<Watched> {
    let kind =
        watch::market_kind(kind).map_err(|e| crate::domain::DomainError::Invalid(vec![e]))?;
    let find = |entries: Vec<WatchEntry>| {
        entries
            .into_iter()
            .find(|e| e.asset.symbol == symbol && e.asset.kind == kind)
    };
    // Checked before asking any provider; the store checks both again, atomically.
    let current = store.watchlist(owner).await?;
    let count = current.len();
    if let Some(existing) = find(current) {
        return Err(watch::already_watched(&existing).into());
    }
    if count >= MAX_WATCHED {
        return Err(watch::full().into());
    }
    let quote = super::holdings::describe(quotes, &symbol, kind, UNKNOWN_SYMBOL_ADVICE).await?;
    let fields = WatchFields {
        symbol: symbol.clone(),
        kind,
        name: quote.as_ref().and_then(|q| q.name.clone()),
        currency: quote.as_ref().and_then(|q| q.currency.clone()),
    };
    match store.add_to_watchlist(owner, &fields, MAX_WATCHED).await {
        Ok(entry) => Ok(Watched { entry, quote }),
        Err(StoreError::Conflict) => match find(store.watchlist(owner).await?) {
            Some(existing) => Err(watch::already_watched(&existing).into()),
            None => Err(super::holdings::conflict().into()),
        },
        Err(StoreError::LimitReached) => Err(watch::full().into()),
        Err(e) => Err(e.into()),
    }
}

/// Stops following an entry; a 404 when it is not the owner's.
pub async fn remove(store: &dyn Store, owner: OwnerId, id: i64) -> super::Result<()> {
    if store.remove_from_watchlist(owner, id).await? {
        Ok(())
    } else {
        Err(watch::no_entry(id).into())
    }
}
