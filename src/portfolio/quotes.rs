//! Looking up a price, and what a person reads when none can be had.

use crate::domain::{AssetKind, DomainError, Quote, Symbol};
use crate::market::{QuoteError, QuoteService};

/// The latest quote for a market asset, or why there is none in words a person can act on.
pub async fn look_up(
    quotes: &QuoteService,
    symbol: &Symbol,
    kind: AssetKind,
) -> Result<Quote, DomainError> {
    quotes
        .quote(symbol, kind)
        .await
        .map_err(|e| explain(symbol, e, &quotes.tried(kind)))
}

/// What a person reads when no quote could be had; `tried` are the services asked.
pub fn explain(symbol: &Symbol, err: QuoteError, tried: &[String]) -> DomainError {
    match err {
        QuoteError::NotFound(_) => DomainError::NotFound(format!(
            "Unknown symbol {symbol}: no price service knows it."
        )),
        QuoteError::NoProvider(kind) if kind.is_market_priced() => {
            DomainError::Unavailable(format!(
                "No price service is configured for {} assets on this server (QUOTE_PROVIDERS_{}).",
                kind.label(),
                kind.as_str().to_ascii_uppercase()
            ))
        }
        QuoteError::NoProvider(kind) => DomainError::field(
            "kind",
            format!(
                "{} assets have no market price; their owner enters it.",
                kind.label()
            ),
        ),
        QuoteError::NotConfigured => DomainError::Unavailable(
            "No price service is configured on this server (its operator sets IEX_BASE_URL)."
                .into(),
        ),
        QuoteError::Pending => DomainError::Unavailable(format!(
            "No price for {symbol} yet: the price services have not answered. It is still being fetched; try again in a few seconds."
        )),
        QuoteError::Unavailable { .. } | QuoteError::Throttled { .. } => {
            DomainError::Unavailable(format!(
                "No price for {symbol} right now: every price service failed (tried: {}). Try again in a minute.",
                tried.join(", ")
            ))
        }
    }
}
