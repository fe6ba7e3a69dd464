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
    pub name: Option<String>,
    pub currency: Option<String>,
    #[schema(value_type = String, example = "189.84")]
    pub price: Decimal,
    #[schema(value_type = Option<String>)]
    pub previous_close: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub change: Option<Decimal>,
    /// Change since the previous close, in percent (1.5 means 1.5 %).
    #[schema(value_type = Option<String>)]
    pub change_percent: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub market_cap: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub pe_ratio: Option<Decimal>,
    /// Change since the start of the year, in percent.
    #[schema(value_type = Option<String>)]
    pub ytd_change: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub week52_high: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub week52_low: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub bid: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub ask: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub bid_size: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub ask_size: Option<Decimal>,
    /// When the provider last updated the price.
    #[serde(with = "time::serde::rfc3339::option")]
    pub as_of: Option<OffsetDateTime>,
    /// The provider that answered, as configured (for example `iex`).
    pub source: String,
    /// True when the price is an old one shown because the provider failed.
    pub stale: bool,
}

/// Why a provider gave no quote.
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
    provider: Arc<dyn QuoteProvider>,
    concurrency: usize,
}

impl QuoteService {
    pub fn new(provider: Arc<dyn QuoteProvider>, concurrency: usize) -> Self {
        Self {
            provider,
            concurrency: concurrency.max(1),
        }
    }

    /// The names of the providers consulted, for error messages.
    pub fn provider_names(&self) -> Vec<String> {
        vec![self.provider.name().to_string()]
    }

    /// One quote.
    pub async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        if !kind.is_market_priced() {
            return Err(QuoteError::NoProvider(kind));
        }
        self.provider.quote(symbol).await
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

/// Percent change from `previous` to `current`, rounded to 4 places.
pub(crate) fn percent_change(current: Decimal, previous: Decimal) -> Option<Decimal> {
    if previous.is_zero() {
        return None;
    }
    Some(
        ((current - previous) / previous * Decimal::ONE_HUNDRED)
            .round_dp(4)
            .normalize(),
    )
}
