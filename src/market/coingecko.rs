//! CoinGecko: crypto prices in USD, keyless, with an optional demo key sent as the
//! `x-cg-demo-api-key` header.
//!
//! - `GET {base}/api/v3/simple/price?ids=bitcoin,ethereum&vs_currencies=usd&include_24hr_change=true&include_last_updated_at=true&include_market_cap=true`:
//!   `{"bitcoin":{"usd":40067,"usd_24h_change":1.2,"usd_market_cap":..,"last_updated_at":1705957200}}`;
//!   ids it does not know are left out of the answer. Up to 50 ids per call.
//! - `GET {base}/api/v3/coins/{id}/market_chart?vs_currency=usd&days=N&interval=daily`:
//!   `{"prices":[[ms, price],..],..}`; an unknown id is a 404 `{"error":"coin not found"}`.
//!
//! Ids are CoinGecko's coin ids (`bitcoin`), taken from [`symbols::coin`]; coins not in that
//! table are not supported. Errors come as `{"status":{"error_code":..,"error_message":..}}`,
//! sometimes wrapped in `{"error":..}`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use serde_json::Value;
use time::{Date, OffsetDateTime};

use super::http::{Answer, Http};
use super::registry::ProviderId;
use super::{HistoryRange, Limits, PricePoint, Quote, QuoteError, QuoteProvider, lenient_decimal};
use crate::domain::{AssetKind, Symbol, parse_decimal};
use crate::market::symbols;

/// Most ids in one `simple/price` request.
const BATCH_SIZE: usize = 50;

/// The demo plan (and keyless use) only serves market charts for the past 365 days; a longer
/// request is refused with HTTP 401 (error code 10012), so longer ranges are cut to this.
const MAX_HISTORY_DAYS: i64 = 365;

/// Client for the CoinGecko public API.
pub struct CoinGeckoProvider {
    http: Http,
    base_url: String,
    api_key: String,
}

/// One coin's entry in a `simple/price` answer.
#[derive(Deserialize)]
struct SimplePrice {
    #[serde(default, deserialize_with = "lenient_decimal")]
    usd: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    usd_24h_change: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    usd_market_cap: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    last_updated_at: Option<Decimal>,
}

#[derive(Deserialize)]
struct MarketChart {
    prices: Option<Vec<Vec<Value>>>,
}

/// The CoinGecko id for a symbol, when the coin table knows it.
fn coin_id(symbol: &Symbol) -> Option<&'static str> {
    symbols::coin(symbol).map(|c| c.coingecko)
}

/// A JSON number or numeric string as an exact decimal.
fn json_decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => parse_decimal(&n.to_string()),
        Value::String(s) => parse_decimal(s),
        _ => None,
    }
}

impl CoinGeckoProvider {
    /// `base_url` is everything before `/api/v3/...`; `api_key` is a demo key, or empty for none.
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> reqwest::Result<Self> {
        Ok(Self {
            http: Http::new(ProviderId::CoinGecko, timeout)?,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
        })
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.client().get(format!("{}{path}", self.base_url));
        if self.api_key.is_empty() {
            request
        } else {
            request.header("x-cg-demo-api-key", &self.api_key)
        }
    }

    /// Judges an answer: key refusals, other statuses, HTML, and error objects inside a 200.
    fn check(&self, answer: &Answer) -> Result<Value, QuoteError> {
        if matches!(
            answer.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return Err(self
                .http
                .unavailable(format!("key refused (HTTP {})", answer.status.as_u16())));
        }
        let value: Value = self.http.expect_json(answer)?;
        let status = value
            .get("status")
            .or_else(|| value.get("error").and_then(|e| e.get("status")));
        if let Some(status) = status {
            let code = status.get("error_code").and_then(Value::as_i64);
            let message = status
                .get("error_message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            if code == Some(429) || message.contains("rate limit") {
                return Err(self.http.throttled(None));
            }
            return Err(self.http.unavailable(match code {
                Some(code) => format!("service reported error {code}"),
                None => "service reported an error".to_string(),
            }));
        }
        if value.get("error").is_some() {
            return Err(self.http.unavailable("service reported an error"));
        }
        Ok(value)
    }

    /// Prices for up to [`BATCH_SIZE`] ids in one request, by id.
    async fn simple_prices(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, SimplePrice>, QuoteError> {
        let request = self.get("/api/v3/simple/price").query(&[
            ("ids", ids.join(",").as_str()),
            ("vs_currencies", "usd"),
            ("include_24hr_change", "true"),
            ("include_last_updated_at", "true"),
            ("include_market_cap", "true"),
        ]);
        let answer = self.http.send(request).await?;
        let value = self.check(&answer)?;
        serde_json::from_value(value)
            .map_err(|_| self.http.unavailable("response is not the expected JSON"))
    }

    fn to_quote(&self, symbol: &Symbol, raw: &SimplePrice) -> Result<Quote, QuoteError> {
        let price = raw
            .usd
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| self.http.unavailable("response has no price"))?;
        let as_of = raw
            .last_updated_at
            .and_then(|s| s.trunc().to_i64())
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok());
        // The 24 h change is a rolling window, not a change since a close: coins have no
        // close, so previous_close (and with it the absolute change) stays empty rather than
        // showing a back-computed number as if CoinGecko had sent it.
        Ok(Quote {
            currency: Some("USD".to_string()),
            change_percent: raw.usd_24h_change.map(|p| p.round_dp(4).normalize()),
            market_cap: raw.usd_market_cap.filter(|m| *m > Decimal::ZERO),
            as_of,
            ..Quote::new(symbol.clone(), price, self.name())
        }
        .with_derived_change())
    }
}

#[async_trait]
impl QuoteProvider for CoinGeckoProvider {
    fn id(&self) -> ProviderId {
        ProviderId::CoinGecko
    }

    fn limits(&self) -> Limits {
        Limits {
            per_minute: Some(30),
            // The allowance is 10,000 calls a month, which the per-minute pace keeps well inside.
            per_day: None,
            batch_size: BATCH_SIZE,
            cost_per_symbol: false,
        }
    }

    fn supports(&self, symbol: &Symbol, kind: AssetKind) -> bool {
        kind == AssetKind::Crypto && coin_id(symbol).is_some()
    }

    #[tracing::instrument(skip_all, fields(provider = "coingecko", %symbol), err(level = "warn"))]
    async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        let id = coin_id(symbol)
            .filter(|_| kind == AssetKind::Crypto)
            .ok_or_else(|| QuoteError::NotFound(symbol.to_string()))?;
        let prices = self.simple_prices(&[id]).await?;
        match prices.get(id) {
            Some(raw) => self.to_quote(symbol, raw),
            None => Err(QuoteError::NotFound(symbol.to_string())),
        }
    }

    #[tracing::instrument(skip_all, fields(provider = "coingecko", count = assets.len()), err(level = "warn"))]
    async fn quotes(&self, assets: &[(Symbol, AssetKind)]) -> Result<Vec<Quote>, QuoteError> {
        let wanted: Vec<(&Symbol, &'static str)> = assets
            .iter()
            .filter(|(_, kind)| *kind == AssetKind::Crypto)
            .filter_map(|(symbol, _)| Some((symbol, coin_id(symbol)?)))
            .collect();
        // BTC and BITCOIN are one coin: ask for each id once.
        let mut ids: Vec<&str> = Vec::new();
        for (_, id) in &wanted {
            if !ids.contains(id) {
                ids.push(id);
            }
        }
        let mut prices = HashMap::new();
        for chunk in ids.chunks(BATCH_SIZE) {
            prices.extend(self.simple_prices(chunk).await?);
        }
        // A coin the answer leaves out, or sends without a price, is left out here too, so one
        // odd coin does not cost the whole batch.
        Ok(wanted
            .into_iter()
            .filter_map(|(symbol, id)| self.to_quote(symbol, prices.get(id)?).ok())
            .collect())
    }

    #[tracing::instrument(skip_all, fields(provider = "coingecko", %symbol), err(level = "warn"))]
    async fn history(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
        range: HistoryRange,
    ) -> Result<Vec<PricePoint>, QuoteError> {
        let id = coin_id(symbol)
            .filter(|_| kind == AssetKind::Crypto)
            .ok_or_else(|| QuoteError::NotFound(symbol.to_string()))?;
        let days = range.days().min(MAX_HISTORY_DAYS).to_string();
        let request = self
            .get(&format!("/api/v3/coins/{id}/market_chart"))
            .query(&[
                ("vs_currency", "usd"),
                ("days", days.as_str()),
                ("interval", "daily"),
            ]);
        let answer = self.http.send(request).await?;
        if answer.status == StatusCode::NOT_FOUND
            && answer.text().to_ascii_lowercase().contains("not found")
        {
            return Err(QuoteError::NotFound(symbol.to_string()));
        }
        let chart: MarketChart = serde_json::from_value(self.check(&answer)?)
            .map_err(|_| self.http.unavailable("response is not the expected JSON"))?;
        let prices = chart
            .prices
            .ok_or_else(|| self.http.unavailable("response has no prices"))?;
        // Daily charts carry one point per midnight plus the latest price: keep each UTC day's
        // last point.
        let mut days: BTreeMap<Date, (i128, Decimal)> = BTreeMap::new();
        for point in prices {
            let (Some(ms), Some(price)) = (
                point.first().and_then(Value::as_f64),
                point.get(1).and_then(json_decimal),
            ) else {
                continue;
            };
            if price <= Decimal::ZERO || !ms.is_finite() {
                continue;
            }
            let ms = ms as i128;
            let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000) else {
                continue;
            };
            let entry = days.entry(at.date()).or_insert((ms, price));
            if ms >= entry.0 {
                *entry = (ms, price);
            }
        }
        Ok(days
            .into_iter()
            .map(|(date, (_, close))| PricePoint {
                date,
                close: close.normalize(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "CG-demo-secret";

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    fn provider(server: &MockServer, key: &str) -> CoinGeckoProvider {
        CoinGeckoProvider::new(&server.uri(), key, Duration::from_secs(1)).unwrap()
    }

    async fn answer(server: &MockServer, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(server)
            .await;
    }

    async fn btc_quote(server: &MockServer) -> Result<Quote, QuoteError> {
        provider(server, KEY)
            .quote(&sym("BTC"), AssetKind::Crypto)
            .await
    }

    #[tokio::test]
    async fn quote_parses_simple_price_and_sends_the_demo_key() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v3/simple/price"))
            .and(query_param("ids", "bitcoin"))
            .and(query_param("vs_currencies", "usd"))
            .and(query_param("include_24hr_change", "true"))
            .and(query_param("include_last_updated_at", "true"))
            .and(query_param("include_market_cap", "true"))
            .and(header("x-cg-demo-api-key", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"bitcoin":{"usd":40067.12,"usd_market_cap":784623454321.5,"usd_24h_change":1.23456789,"last_updated_at":1705957200}}"#,
            ))
            .mount(&server)
            .await;
        let q = btc_quote(&server).await.unwrap();
        assert_eq!(q.symbol.as_str(), "BTC");
        assert_eq!(q.source, "coingecko");
        assert_eq!(q.price.to_string(), "40067.12");
        assert_eq!(q.change_percent.unwrap().to_string(), "1.2346");
        assert_eq!(q.market_cap.unwrap().to_string(), "784623454321.5");
        assert_eq!(q.currency.as_deref(), Some("USD"));
        assert_eq!(q.as_of.unwrap().unix_timestamp(), 1_705_957_200);
        assert_eq!((q.previous_close, q.change), (None, None));
    }

    #[tokio::test]
    async fn without_a_key_no_key_header_is_sent() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_string(r#"{"ethereum":{"usd":"2223.37"}}"#),
        )
        .await;
        let q = provider(&server, "")
            .quote(&sym("ETH-USD"), AssetKind::Crypto)
            .await
            .unwrap();
        assert_eq!(q.price.to_string(), "2223.37");
        assert_eq!(q.change_percent, None);
        let requests = server.received_requests().await.unwrap();
        assert!(requests[0].headers.get("x-cg-demo-api-key").is_none());
    }

    #[tokio::test]
    async fn three_coins_take_one_request() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v3/simple/price"))
            .and(query_param("ids", "bitcoin,ethereum,solana"))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"bitcoin":{"usd":40067},"ethereum":{"usd":2223.37},"solana":{"usd":95.1}}"#,
            ))
            .expect(1)
            .mount(&server)
            .await;
        let assets = [
            (sym("BTC"), AssetKind::Crypto),
            (sym("ETH"), AssetKind::Crypto),
            (sym("PEPE"), AssetKind::Crypto),
            (sym("SOLANA"), AssetKind::Crypto),
            (sym("AAPL"), AssetKind::Stock),
        ];
        let quotes = provider(&server, "").quotes(&assets).await.unwrap();
        let got: Vec<String> = quotes
            .iter()
            .map(|q| format!("{}={}", q.symbol, q.price))
            .collect();
        assert_eq!(got, ["BTC=40067", "ETH=2223.37", "SOLANA=95.1"]);
    }

    #[tokio::test]
    async fn history_keeps_each_days_last_point_oldest_first() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v3/coins/bitcoin/market_chart"))
            .and(query_param("vs_currency", "usd"))
            .and(query_param("days", "31"))
            .and(query_param("interval", "daily"))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"prices":[[1704067200000,42261.04],[1704153600000,null],[1704240000000,44950.5],
                   [1704281000000,45001.25]],"market_caps":[],"total_volumes":[]}"#,
            ))
            .mount(&server)
            .await;
        let points = provider(&server, "")
            .history(&sym("BTC"), AssetKind::Crypto, HistoryRange::Month1)
            .await
            .unwrap();
        let got: Vec<String> = points
            .iter()
            .map(|p| format!("{} {}", p.date, p.close))
            .collect();
        assert_eq!(got, ["2024-01-01 42261.04", "2024-01-03 45001.25"]);
    }

    #[tokio::test]
    async fn five_years_are_cut_to_the_free_365_days() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(query_param("days", "365"))
            .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"prices":[]}"#))
            .expect(1)
            .mount(&server)
            .await;
        let points = provider(&server, "")
            .history(&sym("ETH"), AssetKind::Crypto, HistoryRange::Year5)
            .await
            .unwrap();
        assert!(points.is_empty());
    }

    #[tokio::test]
    async fn unknown_coins_are_not_found() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v3/coins/bitcoin/market_chart"))
            .respond_with(
                ResponseTemplate::new(404).set_body_string(r#"{"error":"coin not found"}"#),
            )
            .mount(&server)
            .await;
        answer(&server, ResponseTemplate::new(200).set_body_string("{}")).await;
        let p = provider(&server, "");
        let not_found = |s: &str| Err(QuoteError::NotFound(s.to_string()));
        assert_eq!(btc_quote(&server).await, not_found("BTC"));
        assert_eq!(
            p.quote(&sym("PEPE"), AssetKind::Crypto).await,
            not_found("PEPE")
        );
        let history = p
            .history(&sym("BTC"), AssetKind::Crypto, HistoryRange::Month1)
            .await;
        assert_eq!(history.unwrap_err(), QuoteError::NotFound("BTC".into()));
        assert!(p.supports(&sym("btc"), AssetKind::Crypto));
        assert!(!p.supports(&sym("PEPE"), AssetKind::Crypto));
        assert!(!p.supports(&sym("BTC"), AssetKind::Stock));
    }

    #[tokio::test]
    async fn server_error_is_unavailable() {
        let server = MockServer::start().await;
        answer(&server, ResponseTemplate::new(500)).await;
        assert!(matches!(
            btc_quote(&server).await,
            Err(QuoteError::Unavailable { reason, .. }) if reason == "HTTP 500"
        ));
    }

    #[tokio::test]
    async fn http_429_is_throttled_with_retry_after() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(429).insert_header("Retry-After", "7"),
        )
        .await;
        assert!(matches!(
            btc_quote(&server).await,
            Err(QuoteError::Throttled { retry_after: Some(d), .. }) if d == Duration::from_secs(7)
        ));
    }

    #[tokio::test]
    async fn rate_limit_note_inside_200_is_throttled() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_string(
                r#"{"status":{"error_code":429,"error_message":"You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits."}}"#,
            ),
        )
        .await;
        assert!(matches!(
            btc_quote(&server).await,
            Err(QuoteError::Throttled {
                retry_after: None,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn html_page_is_unavailable() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200)
                .set_body_string("<!DOCTYPE html><html><body>Just a moment...</body></html>"),
        )
        .await;
        assert!(matches!(
            btc_quote(&server).await,
            Err(QuoteError::Unavailable { reason, .. }) if reason.contains("HTML")
        ));
    }

    #[tokio::test]
    async fn malformed_json_is_unavailable() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_string(r#"{"bitcoin":{"usd":4006"#),
        )
        .await;
        assert!(matches!(
            btc_quote(&server).await,
            Err(QuoteError::Unavailable { reason, .. }) if reason.contains("JSON")
        ));
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_string(r#"{"bitcoin":{"eur":37000}}"#),
        )
        .await;
        assert!(matches!(
            btc_quote(&server).await,
            Err(QuoteError::Unavailable { reason, .. }) if reason == "response has no price"
        ));
    }

    #[tokio::test]
    async fn slow_answer_times_out() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200)
                .set_body_string(r#"{"bitcoin":{"usd":40067}}"#)
                .set_delay(Duration::from_secs(3)),
        )
        .await;
        assert!(matches!(
            btc_quote(&server).await,
            Err(QuoteError::Unavailable { reason, .. }) if reason == "timed out"
        ));
    }

    #[tokio::test]
    async fn refused_key_never_appears_in_the_error() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(401).set_body_string(format!(
                r#"{{"status":{{"error_code":10010,"error_message":"invalid key {KEY}"}}}}"#
            )),
        )
        .await;
        let err = btc_quote(&server).await.unwrap_err();
        assert!(matches!(
            &err,
            QuoteError::Unavailable { reason, .. } if reason == "key refused (HTTP 401)"
        ));
        assert!(!format!("{err} {err:?}").contains(KEY));
    }
}
