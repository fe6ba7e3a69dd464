//! A watchlist as people see it: market assets someone follows without holding them, each with
//! its quote. Pages and the API share these rules.

use serde::Deserialize;

use crate::domain::{AssetKind, Symbol};
use crate::error::{AppError, FieldError};
use crate::market::{Quote, QuoteService};
use crate::portfolio;
use crate::store::{OwnerId, Store, StoreError, StoreResult, WatchEntry, WatchFields};

/// Most symbols one account may watch.
pub const MAX_WATCHED: usize = 50;

/// What to do about a symbol no price service knows, when watching it.
const UNKNOWN_SYMBOL_ADVICE: &str = "Check the spelling and the kind.";

/// A watched asset with its quote, when one could be had.
#[derive(Debug, Clone)]
pub struct Watched {
    pub entry: WatchEntry,
    pub quote: Option<Quote>,
}

impl Watched {
    /// The asset's name: the stored one, else the quote's.
    pub fn name(&self) -> Option<&str> {
        self.entry
            .asset
            .name
            .as_deref()
            .or_else(|| self.quote.as_ref().and_then(|q| q.name.as_deref()))
    }

    /// The currency prices are in: the quote's, else the one recorded for the asset.
    pub fn currency(&self) -> &str {
        self.quote
            .as_ref()
            .and_then(|q| q.currency.as_deref())
            .unwrap_or(&self.entry.asset.currency)
    }
}

/// A symbol and kind as typed into the form, before any checks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WatchDraft {
    pub symbol: String,
    pub kind: String,
}

impl WatchDraft {
    /// Checks both fields and reports every problem at once. The kind defaults to stock; an
    /// item is refused, since it has no market price to follow.
    pub fn validate(&self) -> Result<(Symbol, AssetKind), Vec<FieldError>> {
        let mut errors = Vec::new();
        let symbol = Symbol::parse(&self.symbol)
            .map_err(|m| errors.push(FieldError::new("symbol", m)))
            .ok();
        let kind = if self.kind.trim().is_empty() {
            Ok(AssetKind::Stock)
        } else {
            self.kind.parse::<AssetKind>()
        };
        let kind = match kind {
            Ok(kind) => match market_kind(kind) {
                Ok(kind) => Some(kind),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            Err(_) => {
                errors.push(FieldError::new(
                    "kind",
                    "Kind must be one of stock, etf, commodity, crypto.",
                ));
                None
            }
        };
        match (symbol, kind) {
            (Some(symbol), Some(kind)) => Ok((symbol, kind)),
            _ => Err(errors),
        }
    }
}

/// The kind, if it has a market price; items are refused with a message that says why.
pub fn market_kind(kind: AssetKind) -> Result<AssetKind, FieldError> {
    if kind.is_market_priced() {
        Ok(kind)
    } else {
        Err(FieldError::new(
            "kind",
            "An item has no market price, so it cannot be watched. Add it to the portfolio and enter its prices there.",
        ))
    }
}

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
pub async fn owned(store: &dyn Store, owner: OwnerId, id: i64) -> Result<WatchEntry, AppError> {
    store
        .watchlist(owner)
        .await?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| AppError::NotFound(format!("There is no watchlist entry {id}.")))
}

/// One entry with its quote now.
pub async fn with_quote(quotes: &QuoteService, entry: WatchEntry) -> Watched {
    let quote = quotes
        .quote(&entry.asset.symbol, entry.asset.kind)
        .await
        .ok();
    Watched { entry, quote }
}

fn already_watched(existing: &WatchEntry) -> AppError {
    AppError::Conflict {
        message: format!(
            "You already watch {} ({}).",
            existing.asset.symbol, existing.asset.kind
        ),
        existing_id: Some(existing.id),
    }
}

/// What a person reads when the watchlist is full.
pub fn full_message() -> String {
    format!("Your watchlist is full: it holds at most {MAX_WATCHED} symbols. Remove one first.")
}

fn full() -> AppError {
    AppError::Validation(vec![FieldError::new("symbol", full_message())])
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
) -> Result<Watched, AppError> {
    let kind = market_kind(kind).map_err(|e| AppError::Validation(vec![e]))?;
    let find = |entries: Vec<WatchEntry>| {
        entries
            .into_iter()
            .find(|e| e.asset.symbol == symbol && e.asset.kind == kind)
    };
    // Checked before asking any provider; the store checks both again, atomically.
    let current = store.watchlist(owner).await?;
    let count = current.len();
    if let Some(existing) = find(current) {
        return Err(already_watched(&existing));
    }
    if count >= MAX_WATCHED {
        return Err(full());
    }
    let quote = portfolio::describe(quotes, &symbol, kind, UNKNOWN_SYMBOL_ADVICE).await?;
    let fields = WatchFields {
        symbol: symbol.clone(),
        kind,
        name: quote.as_ref().and_then(|q| q.name.clone()),
        currency: quote.as_ref().and_then(|q| q.currency.clone()),
    };
    match store.add_to_watchlist(owner, &fields, MAX_WATCHED).await {
        Ok(entry) => Ok(Watched { entry, quote }),
        Err(StoreError::Conflict) => match find(store.watchlist(owner).await?) {
            Some(existing) => Err(already_watched(&existing)),
            None => Err(StoreError::Conflict.into()),
        },
        Err(StoreError::WatchlistFull) => Err(full()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(symbol: &str, kind: &str) -> WatchDraft {
        WatchDraft {
            symbol: symbol.into(),
            kind: kind.into(),
        }
    }

    #[test]
    fn drafts_default_to_stock_and_refuse_items() {
        let (symbol, kind) = draft(" aapl ", "").validate().unwrap();
        assert_eq!((symbol.as_str(), kind), ("AAPL", AssetKind::Stock));
        assert_eq!(
            draft("btc", "crypto").validate().unwrap().1,
            AssetKind::Crypto
        );
        let errors = draft("", "item").validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["symbol", "kind"]);
        assert!(errors[1].message.contains("cannot be watched"));
        let bond = draft("X", "bond").validate().unwrap_err();
        assert_eq!(
            bond[0].message,
            "Kind must be one of stock, etf, commodity, crypto."
        );
    }
}
