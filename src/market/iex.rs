//! The IEX Cloud quote format, spoken by any IEX-compatible server.
//!
//! `GET {base}/stable/stock/{symbol}/quote?token=T` answers one JSON object; an unknown symbol is
//! a 404. Percent fields are fractions in the Cloud API (0.0123 = 1.23 %).

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{Quote, QuoteError, QuoteProvider, lenient_decimal, percent_change};
use crate::domain::Symbol;

/// Client for an IEX-format quote endpoint.
pub struct IexProvider {
    client: reqwest::Client,
    base_url: String,
    token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IexQuote {
    symbol: Option<String>,
    company_name: Option<String>,
    currency: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    latest_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    previous_close: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    change: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    change_percent: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    market_cap: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pe_ratio: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    ytd_change: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    week52_high: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    week52_low: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    iex_bid_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    iex_bid_size: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    iex_ask_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    iex_ask_size: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    latest_update: Option<Decimal>,
}

/// IEX Cloud sends percents as fractions: 0.0123 is 1.23 %.
fn fraction_to_percent(f: Decimal) -> Decimal {
    (f * Decimal::ONE_HUNDRED).round_dp(4).normalize()
}

impl IexProvider {
    /// `base_url` is everything before `/stable/...`; `token` may be empty for servers without one.
    pub fn new(base_url: &str, token: &str, timeout: Duration) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("stock-ticker/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    fn unavailable(&self, reason: impl Into<String>) -> QuoteError {
        QuoteError::Unavailable {
            provider: self.name().to_string(),
            reason: reason.into(),
        }
    }

    fn to_quote(&self, symbol: &Symbol, raw: IexQuote) -> Result<Quote, QuoteError> {
        let price = raw
            .latest_price
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| self.unavailable("response has no price"))?;
        // Prefer a percent computed from the prices: it does not depend on whether this server
        // sends changePercent as a fraction (IEX Cloud) or as a percent (the older API).
        let change_percent = raw
            .previous_close
            .and_then(|prev| percent_change(price, prev))
            .or(raw.change_percent.map(fraction_to_percent));
        let positive = |d: Option<Decimal>| d.filter(|v| *v > Decimal::ZERO);
        let as_of = raw
            .latest_update
            .and_then(|ms| ms.trunc().to_i64())
            .and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            });
        if let Some(sym) = &raw.symbol
            && !sym.eq_ignore_ascii_case(symbol.as_str())
        {
            return Err(self.unavailable(format!("asked for {symbol}, answered {sym}")));
        }
        Ok(Quote {
            symbol: symbol.clone(),
            name: raw.company_name.filter(|n| !n.trim().is_empty()),
            currency: raw
                .currency
                .filter(|c| c.len() == 3)
                .map(|c| c.to_ascii_uppercase()),
            price,
            previous_close: raw.previous_close,
            change: raw.change.or(raw.previous_close.map(|p| price - p)),
            change_percent,
            market_cap: positive(raw.market_cap),
            pe_ratio: raw.pe_ratio,
            ytd_change: raw.ytd_change.map(fraction_to_percent),
            week52_high: positive(raw.week52_high),
            week52_low: positive(raw.week52_low),
            bid: positive(raw.iex_bid_price),
            ask: positive(raw.iex_ask_price),
            bid_size: positive(raw.iex_bid_size),
            ask_size: positive(raw.iex_ask_size),
            as_of,
            source: self.name().to_string(),
            stale: false,
        })
    }
}

#[async_trait]
impl QuoteProvider for IexProvider {
    fn name(&self) -> &str {
        "iex"
    }

    #[tracing::instrument(skip_all, fields(provider = "iex", %symbol), err(level = "warn"))]
    async fn quote(&self, symbol: &Symbol) -> Result<Quote, QuoteError> {
        let url = format!(
            "{}/stable/stock/{}/quote",
            self.base_url,
            symbol.as_str().to_ascii_lowercase()
        );
        let mut request = self.client.get(&url);
        if !self.token.is_empty() {
            request = request.query(&[("token", &self.token)]);
        }
        let response = request.send().await.map_err(|e| {
            // reqwest's error text includes the URL, and with it the token: keep only the kind.
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            self.unavailable(kind)
        })?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(QuoteError::NotFound(symbol.to_string()));
        }
        if !status.is_success() {
            return Err(self.unavailable(format!("HTTP {}", status.as_u16())));
        }
        let body = response
            .bytes()
            .await
            .map_err(|_| self.unavailable("response body was cut off"))?;
        let raw: IexQuote = serde_json::from_slice(&body)
            .map_err(|_| self.unavailable("response is not a JSON quote"))?;
        self.to_quote(symbol, raw)
    }
}
