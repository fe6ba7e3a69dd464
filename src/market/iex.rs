//! The IEX Cloud format, spoken by any IEX-compatible server.
//!
//! - `GET {base}/stable/stock/{symbol}/quote?token=T`: one JSON object; an unknown symbol is a
//!   404 with the text "Unknown symbol".
//! - `GET {base}/stable/stock/market/batch?symbols=a,b&types=quote&token=T`:
//!   `{"A":{"quote":{..}},..}`, unknown symbols left out; up to 100 symbols.
//! - `GET {base}/stable/stock/{symbol}/chart/{range}?token=T`: `[{"date":"2024-01-02","close":..},..]`.
//!
//! Percent fields are fractions in the Cloud API (0.0123 = 1.23 %). IEX lists US stocks and ETFs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use time::OffsetDateTime;

use super::http::{Answer, Http};
use super::registry::ProviderId;
use super::{
    HistoryRange, Limits, PricePoint, Quote, QuoteError, QuoteProvider, clean_currency, clean_text,
    lenient_decimal, percent_change,
};
use crate::domain::{AssetKind, Symbol};
use crate::secrets::Secret;

/// Client for an IEX-format service.
pub struct IexProvider {
    http: Http,
    base_url: String,
    /// Fixed (SECRET_TOKEN) or read from Secrets Manager (SECRET_TOKEN_SECRET_ID).
    token: Arc<Secret>,
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

/// The longest company name kept.
const MAX_NAME_CHARS: usize = 200;

/// IEX answers an unknown symbol with 404 and the text "Unknown symbol"; any other 404 (a wrong
/// base URL, a proxy's page) is a broken service, not an unknown symbol.
fn is_unknown_symbol(answer: &Answer) -> bool {
    answer.status == StatusCode::NOT_FOUND
        && answer
            .text()
            .to_ascii_lowercase()
            .contains("unknown symbol")
}

fn is_refused(answer: &Answer) -> bool {
    matches!(
        answer.status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    )
}

/// Most symbols in one batch request.
const BATCH_SIZE: usize = 100;

#[derive(Deserialize)]
struct IexBatchEntry {
    quote: Option<IexQuote>,
}

#[derive(Deserialize)]
struct IexChartPoint {
    date: String,
    #[serde(default, deserialize_with = "lenient_decimal")]
    close: Option<Decimal>,
}

impl IexProvider {
    /// `base_url` is everything before `/stable/...`; the token may be empty for servers without one.
    pub fn new(base_url: &str, token: Arc<Secret>, timeout: Duration) -> reqwest::Result<Self> {
        Ok(Self {
            http: Http::new(ProviderId::Iex, timeout)?,
            base_url: base_url.trim_end_matches('/').to_string(),
            token,
        })
    }

    fn request(&self, path: &str, query: &[(&str, &str)], token: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .client()
            .get(format!("{}{path}", self.base_url))
            .query(query);
        if token.is_empty() {
            request
        } else {
            request.query(&[("token", token)])
        }
    }

    /// Sends a GET with the token. When the service refuses the token (401/403) and the token
    /// comes from Secrets Manager, the secret is read again and the request sent once more with
    /// a rotated value.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Answer, QuoteError> {
        let token = self.token.current().await;
        let answer = self.http.send(self.request(path, query, &token)).await?;
        if !is_refused(&answer) {
            return Ok(answer);
        }
        let answer = match self.token.refused(&token).await {
            Some(fresh) => self.http.send(self.request(path, query, &fresh)).await?,
            None => answer,
        };
        if is_refused(&answer) {
            return Err(self
                .http
                .unavailable(format!("token refused (HTTP {})", answer.status.as_u16())));
        }
        Ok(answer)
    }

    fn to_quote(&self, symbol: &Symbol, raw: IexQuote) -> Result<Quote, QuoteError> {
        let price = raw
            .latest_price
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| self.http.unavailable("response has no price"))?;
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
            return Err(self
                .http
                .unavailable(format!("asked for {symbol}, answered {sym}")));
        }
        Ok(Quote {
            name: clean_text(raw.company_name, MAX_NAME_CHARS),
            // IEX serves US listings; its quotes name a currency only sometimes.
            currency: Some(clean_currency(raw.currency).unwrap_or_else(|| "USD".to_string())),
            previous_close: raw.previous_close,
            change: raw.change,
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
            ..Quote::new(symbol.clone(), price, self.name())
        }
        .with_derived_change())
    }
}

#[async_trait]
impl QuoteProvider for IexProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Iex
    }

    fn limits(&self) -> Limits {
        Limits {
            per_minute: None,
            per_day: None,
            batch_size: BATCH_SIZE,
            cost_per_symbol: false,
        }
    }

    fn supports(&self, _symbol: &Symbol, kind: AssetKind) -> bool {
        matches!(kind, AssetKind::Stock | AssetKind::Etf)
    }

    #[tracing::instrument(skip_all, fields(provider = "iex", %symbol), err(level = "warn"))]
    async fn quote(&self, symbol: &Symbol, _kind: AssetKind) -> Result<Quote, QuoteError> {
        let path = format!(
            "/stable/stock/{}/quote",
            symbol.as_str().to_ascii_lowercase()
        );
        let answer = self.get(&path, &[]).await?;
        if is_unknown_symbol(&answer) {
            return Err(QuoteError::NotFound(symbol.to_string()));
        }
        let raw: IexQuote = self.http.expect_json(&answer)?;
        self.to_quote(symbol, raw)
    }

    #[tracing::instrument(skip_all, fields(provider = "iex", count = assets.len()), err(level = "warn"))]
    async fn quotes(&self, assets: &[(Symbol, AssetKind)]) -> Result<Vec<Quote>, QuoteError> {
        let mut found = Vec::new();
        for chunk in assets.chunks(BATCH_SIZE) {
            let symbols: Vec<String> = chunk
                .iter()
                .map(|(s, _)| s.as_str().to_ascii_lowercase())
                .collect();
            let symbols = symbols.join(",");
            let answer = self
                .get(
                    "/stable/stock/market/batch",
                    &[("symbols", &symbols), ("types", "quote")],
                )
                .await?;
            let mut answer: HashMap<String, IexBatchEntry> = self.http.expect_json(&answer)?;
            for (symbol, _) in chunk {
                let entry = answer
                    .remove(symbol.as_str())
                    .or_else(|| answer.remove(&symbol.as_str().to_ascii_lowercase()));
                if let Some(raw) = entry.and_then(|e| e.quote) {
                    found.push(self.to_quote(symbol, raw)?);
                }
            }
        }
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(provider = "iex", %symbol), err(level = "warn"))]
    async fn history(
        &self,
        symbol: &Symbol,
        _kind: AssetKind,
        range: HistoryRange,
    ) -> Result<Vec<PricePoint>, QuoteError> {
        let path = format!(
            "/stable/stock/{}/chart/{}",
            symbol.as_str().to_ascii_lowercase(),
            range.as_str()
        );
        let answer = self.get(&path, &[]).await?;
        if is_unknown_symbol(&answer) {
            return Err(QuoteError::NotFound(symbol.to_string()));
        }
        let points: Vec<IexChartPoint> = self.http.expect_json(&answer)?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let mut history: Vec<PricePoint> = points
            .into_iter()
            .filter_map(|p| {
                Some(PricePoint {
                    date: time::Date::parse(&p.date, format).ok()?,
                    close: p.close.filter(|c| *c > Decimal::ZERO)?,
                })
            })
            .collect();
        history.sort_by_key(|p| p.date);
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const TOKEN: &str = "IEXSECRETTOKEN42";

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    fn provider(server: &MockServer) -> IexProvider {
        IexProvider::new(
            &server.uri(),
            Arc::new(Secret::fixed(TOKEN)),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    /// A real captured answer (see tests/fixtures/PROVENANCE.md).
    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/iex/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[tokio::test]
    async fn captured_chart_is_oldest_first() {
        let server = MockServer::start().await;
        // The capture answered /chart/ytd; the same bars stand in for six months.
        Mock::given(method("GET"))
            .and(path("/stable/stock/gme/chart/6m"))
            .and(query_param("token", TOKEN))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_string(fixture("chart-gme-ytd-2022-03-16.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let h = provider(&server)
            .history(&sym("GME"), AssetKind::Stock, HistoryRange::Month6)
            .await
            .unwrap();
        let day = |p: &PricePoint| p.date.to_string();
        assert_eq!(h.len(), 50);
        assert_eq!(day(&h[0]), "2022-01-03");
        assert_eq!(h[0].close.to_string(), "152.84");
        assert_eq!(day(&h[48]), "2022-03-14");
        assert_eq!(h[48].close.to_string(), "78.11");
        assert_eq!(day(&h[49]), "2022-03-15");
        assert_eq!(h[49].close.to_string(), "82.64");
        assert!(
            h.windows(2).all(|w| w[0].date < w[1].date),
            "not oldest first"
        );
    }

    #[tokio::test]
    async fn captured_402_paid_subscribers_only_is_unavailable() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(402)
                    .set_body_string(fixture("error-402-paid-subscribers-only.txt")),
            )
            .expect(2)
            .mount(&server)
            .await;
        let p = provider(&server);
        let history = p
            .history(&sym("GME"), AssetKind::Stock, HistoryRange::Month6)
            .await
            .unwrap_err();
        let quote = p.quote(&sym("GME"), AssetKind::Stock).await.unwrap_err();
        for e in [history, quote] {
            assert_eq!(
                e,
                QuoteError::Unavailable {
                    provider: "iex".into(),
                    reason: "HTTP 402".into(),
                }
            );
            assert!(!format!("{e} {e:?}").contains(TOKEN), "token leaked: {e:?}");
        }
    }
}
