//! Market data: the [`Quote`] model, the [`QuoteProvider`] trait and the service the web layer uses.

mod iex;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

use crate::domain::{AssetKind, Symbol};

pub use iex::IexProvider;

/// A price with whatever detail the provider gives; optional fields stay optional.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Quote {
    #[schema(value_type = String, example = "AAPL")]
    pub symbol: Symbol,
    #[schema(required = true)]
    pub name: Option<String>,
    #[schema(required = true)]
    pub currency: Option<String>,
    #[schema(value_type = String, example = "189.84")]
    pub price: Decimal,
    #[schema(value_type = Option<String>, required = true)]
    pub previous_close: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub change: Option<Decimal>,
    /// Change since the previous close, in percent (1.5 means 1.5 %).
    #[schema(value_type = Option<String>, required = true)]
    pub change_percent: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub market_cap: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub pe_ratio: Option<Decimal>,
    /// Change since the start of the year, in percent.
    #[schema(value_type = Option<String>, required = true)]
    pub ytd_change: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub week52_high: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub week52_low: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub bid: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub ask: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub bid_size: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub ask_size: Option<Decimal>,
    /// When the provider last updated the price.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub as_of: Option<OffsetDateTime>,
    /// The provider that answered, as configured (for example `iex`).
    pub source: String,
    /// True when the price is an old one shown because the provider failed.
    pub stale: bool,
}

/// Why no quote could be had.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum QuoteError {
    /// The provider does not know the symbol.
    #[error("unknown symbol {0}")]
    NotFound(String),
    /// The provider failed, throttled us or answered something that is not a price.
    #[error("{provider} failed: {reason}")]
    Unavailable { provider: String, reason: String },
    /// No provider prices this kind of asset.
    #[error("no price source for {0} assets")]
    NoProvider(AssetKind),
    /// No price service is configured at all.
    #[error("no price service is configured")]
    NotConfigured,
}

/// A market-data service.
#[async_trait]
pub trait QuoteProvider: Send + Sync + 'static {
    /// The name quotes carry in `source`.
    fn name(&self) -> &str;
    /// The latest quote for one symbol.
    async fn quote(&self, symbol: &Symbol) -> Result<Quote, QuoteError>;
}

/// What the web layer asks for prices; fetches many symbols concurrently with a bound.
#[derive(Clone)]
pub struct QuoteService {
    providers: Vec<Arc<dyn QuoteProvider>>,
    concurrency: usize,
}

impl QuoteService {
    /// Providers are asked in order; the first price wins.
    pub fn new(providers: Vec<Arc<dyn QuoteProvider>>, concurrency: usize) -> Self {
        Self {
            providers,
            concurrency: concurrency.max(1),
        }
    }

    /// The names of the providers consulted, for messages.
    pub fn provider_names(&self) -> Vec<String> {
        self.providers
            .iter()
            .map(|p| p.name().to_string())
            .collect()
    }

    /// One quote. A symbol is unknown only when every provider that answered said so.
    pub async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        if !kind.is_market_priced() {
            return Err(QuoteError::NoProvider(kind));
        }
        let mut last = QuoteError::NotConfigured;
        for provider in &self.providers {
            match provider.quote(symbol).await {
                Ok(quote) => return Ok(quote),
                Err(e @ QuoteError::Unavailable { .. }) => last = e,
                Err(e) if !matches!(last, QuoteError::Unavailable { .. }) => last = e,
                Err(_) => {}
            }
        }
        Err(last)
    }

    /// Quotes for many assets at once; assets without a price are absent from the map.
    pub async fn quotes(
        &self,
        assets: &[(Symbol, AssetKind)],
    ) -> HashMap<(Symbol, AssetKind), Quote> {
        let mut wanted: Vec<(Symbol, AssetKind)> = assets
            .iter()
            .filter(|(_, k)| k.is_market_priced())
            .cloned()
            .collect();
        wanted.sort();
        wanted.dedup();
        stream::iter(wanted)
            .map(|key| async move {
                let quote = self.quote(&key.0, key.1).await.ok();
                quote.map(|q| (key, q))
            })
            .buffer_unordered(self.concurrency)
            .filter_map(|entry| async move { entry })
            .collect()
            .await
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

/// Percent change from `previous` to `current`, rounded to 4 places; `None` on overflow.
pub(crate) fn percent_change(current: Decimal, previous: Decimal) -> Option<Decimal> {
    let ratio = current.checked_sub(previous)?.checked_div(previous)?;
    Some(
        ratio
            .checked_mul(Decimal::ONE_HUNDRED)?
            .round_dp(4)
            .normalize(),
    )
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

/// A three-letter currency code, upper-cased.
pub(crate) fn clean_currency(text: Option<String>) -> Option<String> {
    text.filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(|c| c.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn percent_change_never_overflows() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(percent_change(d("110"), d("100")), Some(d("10")));
        assert_eq!(percent_change(d("1"), Decimal::ZERO), None);
        assert_eq!(
            percent_change(Decimal::MAX, d("0.0000000000000000000000000001")),
            None
        );
    }

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
    }
}
