//! Market data: the [`QuoteProvider`] trait, one file per service, the [`registry`] that
//! builds them, and the [`QuoteService`] the use cases ask for prices.

mod alphavantage;
mod coingecko;
mod finnhub;
pub(crate) mod http;
mod iex;
pub mod registry;
mod service;
mod slot;
mod stooq;
pub mod symbols;
mod twelvedata;
mod yahoo;

use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

use crate::domain::{AssetKind, HistoryRange, PricePoint, Quote, Symbol, percent_change};

pub use registry::ProviderId;

pub use alphavantage::AlphaVantageProvider;
pub use coingecko::CoinGeckoProvider;
pub use finnhub::FinnhubProvider;
pub use iex::IexProvider;
pub use service::{CircuitState, History, ProviderHealth, QuoteService, Settings};
pub use stooq::StooqProvider;
pub use twelvedata::TwelveDataProvider;
pub use yahoo::YahooProvider;

/// Why no quote could be had.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum QuoteError {
    /// The provider does not know the symbol.
    #[error("unknown symbol {0}")]
    NotFound(String),
    /// The provider failed or answered something that is not a price.
    #[error("{provider} failed: {reason}")]
    Unavailable { provider: String, reason: String },
    /// The provider asked us to slow down (HTTP 429, or a throttling note inside a 200).
    #[error("{provider} is throttling requests")]
    Throttled {
        provider: String,
        retry_after: Option<Duration>,
    },
    /// No provider prices this kind of asset.
    #[error("no price source for {0} assets")]
    NoProvider(AssetKind),
    /// No price service is configured at all.
    #[error("no price service is configured")]
    NotConfigured,
    /// The services have not answered yet (within the deadline a read waits); the fetch goes
    /// on in the background and its answer is kept for the next read.
    #[error("no answer yet")]
    Pending,
}

impl QuoteError {
    /// Failures that count against a provider's health (an unknown symbol does not).
    pub fn is_provider_failure(&self) -> bool {
        matches!(
            self,
            QuoteError::Unavailable { .. } | QuoteError::Throttled { .. }
        )
    }
}

/// What a provider's free tier allows; the service paces requests to stay inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_minute: Option<u32>,
    pub per_day: Option<u32>,
    /// Most symbols one batch request may carry; 1 when there is no batch endpoint.
    pub batch_size: usize,
    /// True when a batch costs one request per symbol against the limits (Twelve Data's credits).
    pub cost_per_symbol: bool,
}

/// A market-data service.
#[async_trait]
pub trait QuoteProvider: Send + Sync + 'static {
    /// Which service this is.
    fn id(&self) -> ProviderId;

    /// The name quotes carry in `source` (`yahoo`, `iex`, ...).
    fn name(&self) -> &'static str {
        self.id().name()
    }

    /// Request budget and batch size.
    fn limits(&self) -> Limits;

    /// Whether this provider can price the asset at all (its own symbol for it exists).
    fn supports(&self, symbol: &Symbol, kind: AssetKind) -> bool;

    /// The latest quote for one asset.
    async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError>;

    /// Quotes for many assets in as few requests as the provider allows. Assets it does not
    /// know are left out. Without a batch endpoint this asks one at a time.
    async fn quotes(&self, assets: &[(Symbol, AssetKind)]) -> Result<Vec<Quote>, QuoteError> {
        let mut found = Vec::new();
        for (symbol, kind) in assets {
            match self.quote(symbol, *kind).await {
                Ok(q) => found.push(q),
                Err(QuoteError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// Daily closes, oldest first.
    async fn history(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
        range: HistoryRange,
    ) -> Result<Vec<PricePoint>, QuoteError> {
        let _ = (symbol, kind, range);
        Err(QuoteError::Unavailable {
            provider: self.name().to_string(),
            reason: "no history from this service".into(),
        })
    }
}

/// Reads a JSON number or numeric string as an exact decimal; anything else becomes `None`.
///
/// Providers send prices as JSON floats; going through their shortest decimal text keeps
/// `189.84` as `189.84` instead of the float's binary expansion.
pub(crate) fn lenient_decimal<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Decimal>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match value {
        Some(serde_json::Value::Number(n)) => crate::domain::parse_decimal(&n.to_string()),
        Some(serde_json::Value::String(s)) => crate::domain::parse_decimal(&s),
        _ => None,
    }
    .map(|d| d.normalize()))
}

/// Text from a provider made safe to store and show: no control characters, at most
/// `max` characters, `None` when nothing is left.
pub(crate) fn clean_text(text: Option<String>, max: usize) -> Option<String> {
    let words: Vec<String> = text?
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let joined: String = words.join(" ").chars().take(max).collect();
    (!joined.is_empty()).then_some(joined)
}

/// A currency code as the service sent it: three letters upper-cased, or a minor unit in its
/// own spelling (`GBp`), which [`Quote::in_major_units`] turns into the major currency.
pub(crate) fn clean_currency(text: Option<String>) -> Option<String> {
    crate::domain::currency_code(&text?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_text_is_cleaned() {
        assert_eq!(
            clean_text(Some(" Apple\u{0}\nInc. ".into()), 50).as_deref(),
            Some("Apple Inc.")
        );
        assert_eq!(clean_text(Some("\u{7}".into()), 50), None);
        assert_eq!(
            clean_text(Some("x".repeat(500)), 200).map(|s| s.len()),
            Some(200)
        );
        assert_eq!(clean_currency(Some("usd".into())).as_deref(), Some("USD"));
        assert_eq!(clean_currency(Some("US$".into())), None);
        assert_eq!(clean_currency(Some("GBp".into())).as_deref(), Some("GBp"));
    }
}
