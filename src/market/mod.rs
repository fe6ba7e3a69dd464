//! Market data: the [`Quote`] model, the [`QuoteProvider`] trait and the service the web layer uses.

mod alphavantage;
mod coingecko;
mod finnhub;
pub(crate) mod http;
mod iex;
mod service;
mod stooq;
pub mod symbols;
mod twelvedata;
mod yahoo;

use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use time::{Date, OffsetDateTime};

use crate::domain::{AssetKind, Symbol};

pub use alphavantage::AlphaVantageProvider;
pub use coingecko::CoinGeckoProvider;
pub use finnhub::FinnhubProvider;
pub use iex::IexProvider;
pub use service::{CircuitState, EARLIEST_PRICE_DATE, ProviderHealth, QuoteService, Settings};
pub use stooq::StooqProvider;
pub use twelvedata::TwelveDataProvider;
pub use yahoo::YahooProvider;

/// A price with whatever detail the provider gives; optional fields stay optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// True when the price is an old one shown because every provider failed.
    #[serde(default)]
    pub stale: bool,
}

impl Quote {
    /// A quote with only a price; providers fill in what else they know.
    pub fn new(symbol: Symbol, price: Decimal, source: &str) -> Self {
        Quote {
            symbol,
            name: None,
            currency: None,
            price,
            previous_close: None,
            change: None,
            change_percent: None,
            market_cap: None,
            pe_ratio: None,
            ytd_change: None,
            week52_high: None,
            week52_low: None,
            bid: None,
            ask: None,
            bid_size: None,
            ask_size: None,
            as_of: None,
            source: source.to_string(),
            stale: false,
        }
    }

    /// Fills `change` and `change_percent` from the previous close where the provider left them out.
    pub fn with_derived_change(mut self) -> Self {
        if let Some(prev) = self.previous_close {
            self.change = self.change.or_else(|| self.price.checked_sub(prev));
            self.change_percent = self
                .change_percent
                .or_else(|| percent_change(self.price, prev));
        }
        self
    }
}

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

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// One daily closing price.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PricePoint {
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date, example = "2024-11-01")]
    pub date: Date,
    #[schema(value_type = String, example = "222.91")]
    pub close: Decimal,
}

/// How far back a history reaches.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum HistoryRange {
    #[serde(rename = "1m")]
    Month1,
    #[default]
    #[serde(rename = "6m")]
    Month6,
    #[serde(rename = "1y")]
    Year1,
    #[serde(rename = "5y")]
    Year5,
}

impl HistoryRange {
    pub const ALL: [HistoryRange; 4] = [
        HistoryRange::Month1,
        HistoryRange::Month6,
        HistoryRange::Year1,
        HistoryRange::Year5,
    ];

    pub fn days(self) -> i64 {
        match self {
            HistoryRange::Month1 => 31,
            HistoryRange::Month6 => 183,
            HistoryRange::Year1 => 366,
            HistoryRange::Year5 => 5 * 366,
        }
    }

    /// `1m`, `6m`, `1y`, `5y`.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryRange::Month1 => "1m",
            HistoryRange::Month6 => "6m",
            HistoryRange::Year1 => "1y",
            HistoryRange::Year5 => "5y",
        }
    }

    /// The first day the range covers, counting back from `today`.
    pub fn start(self, today: Date) -> Date {
        today - time::Duration::days(self.days())
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
    /// The name quotes carry in `source` (`yahoo`, `iex`, ...).
    fn name(&self) -> &'static str;

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
