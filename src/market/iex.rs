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

use super::{
    Quote, QuoteError, QuoteProvider, clean_currency, clean_text, lenient_decimal, percent_change,
};
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
fn fraction_to_percent(f: Decimal) -> Option<Decimal> {
    Some(f.checked_mul(Decimal::ONE_HUNDRED)?.round_dp(4).normalize())
}

/// Largest response body read from the service.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The longest company name kept.
const MAX_NAME_CHARS: usize = 200;

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
            .or(raw.change_percent.and_then(fraction_to_percent));
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
            name: clean_text(raw.company_name, MAX_NAME_CHARS),
            // IEX serves US listings; its quotes name a currency only sometimes.
            currency: Some(clean_currency(raw.currency).unwrap_or_else(|| "USD".to_string())),
            price,
            previous_close: raw.previous_close,
            change: raw
                .change
                .or(raw.previous_close.and_then(|p| price.checked_sub(p))),
            change_percent,
            market_cap: positive(raw.market_cap),
            pe_ratio: raw.pe_ratio,
            ytd_change: raw.ytd_change.and_then(fraction_to_percent),
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
        let body = read_limited(response)
            .await
            .map_err(|reason| self.unavailable(reason))?;
        // IEX answers an unknown symbol with 404 and the text "Unknown symbol"; any other 404
        // (a wrong base URL, a proxy's page) is a broken service, not an unknown symbol.
        if status == StatusCode::NOT_FOUND
            && String::from_utf8_lossy(&body)
                .to_ascii_lowercase()
                .contains("unknown symbol")
        {
            return Err(QuoteError::NotFound(symbol.to_string()));
        }
        if !status.is_success() {
            return Err(self.unavailable(format!("HTTP {}", status.as_u16())));
        }
        let raw: IexQuote = serde_json::from_slice(&body)
            .map_err(|_| self.unavailable("response is not a JSON quote"))?;
        self.to_quote(symbol, raw)
    }
}

/// Reads a response body, refusing one larger than [`MAX_BODY_BYTES`].
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, &'static str> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| "response body was cut off")?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err("response body is too large");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
