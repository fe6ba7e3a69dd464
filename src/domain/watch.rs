//! A watchlist: market assets someone follows without holding them, and its rules.

use serde::Deserialize;
use time::OffsetDateTime;

use super::{Asset, AssetKind, DomainError, FieldError, Problems, Quote, Symbol};

/// Most symbols one account may watch.
pub const MAX_WATCHED: usize = 50;

/// What to do about a symbol no price service knows, when watching it.
pub const UNKNOWN_SYMBOL_ADVICE: &str = "Check the spelling and the kind.";

/// A symbol someone follows without holding it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEntry {
    pub id: i64,
    /// Always a market asset (the shared row): items have no market price to follow.
    pub asset: Asset,
    pub created_at: OffsetDateTime,
}

/// The asset a new watchlist entry follows, as a quote describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchFields {
    pub symbol: Symbol,
    pub kind: AssetKind,
    /// Name to record on the asset; `None` keeps the recorded one.
    pub name: Option<String>,
    /// Currency to record on the asset; `None` keeps the recorded one (USD for a new asset).
    pub currency: Option<String>,
}

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
    pub fn validate(&self) -> Result<(Symbol, AssetKind), DomainError> {
        let mut p = Problems::default();
        let symbol = p.check("symbol", Symbol::parse(&self.symbol));
        let kind = match super::holding::kind_or_stock(&self.kind) {
            Ok(kind) => match market_kind(kind) {
                Ok(kind) => Some(kind),
                Err(e) => {
                    p.0.push(e);
                    None
                }
            },
            Err(_) => {
                p.push("kind", "Kind must be one of stock, etf, commodity, crypto.");
                None
            }
        };
        p.finish(symbol.zip(kind))
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

/// What a person reads on watching an asset twice.
pub fn already_watched(existing: &WatchEntry) -> DomainError {
    DomainError::Conflict {
        message: format!(
            "You already watch {} ({}).",
            existing.asset.symbol, existing.asset.kind
        ),
        existing_id: Some(existing.id),
    }
}

/// What a person reads when the watchlist is full: the same symbol is taken once one is
/// removed (a conflict with the watchlist as it stands).
pub fn full() -> DomainError {
    DomainError::Mismatch(vec![super::FieldError::new(
        "symbol",
        format!(
            "Your watchlist is full: it holds at most {MAX_WATCHED} symbols. Remove one first."
        ),
    )])
}

/// The 404 for an entry that is not the owner's.
pub fn no_entry(id: i64) -> DomainError {
    DomainError::NotFound(format!("There is no watchlist entry {id}."))
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

    fn problems(d: WatchDraft) -> Vec<FieldError> {
        match d.validate() {
            Err(DomainError::Invalid(errors)) => errors,
            other => panic!("{other:?}"),
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
        let errors = problems(draft("", "item"));
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["symbol", "kind"]);
        assert!(errors[1].message.contains("cannot be watched"));
        let bond = problems(draft("X", "bond"));
        assert_eq!(
            bond[0].message,
            "Kind must be one of stock, etf, commodity, crypto."
        );
    }
}
