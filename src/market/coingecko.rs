//! CoinGecko: crypto prices in USD, keyless, with an optional demo key sent as the
//! `x-cg-demo-api-key` header.
//!
//! - `GET {base}/api/v3/coins/markets?vs_currency=usd&ids=bitcoin,ethereum&per_page=250&page=1`:
//!   `[{"id":"bitcoin","symbol":"btc","name":"Bitcoin","current_price":49053,"market_cap":..,
//!   "high_24h":..,"low_24h":..,"price_change_percentage_24h":-4.37931,"last_updated":"2021-05-15T15:59:43.867Z",..}]`;
//!   ids it does not know are left out. Up to 50 ids per call. The coin's name comes with its
//!   price, so no other request is needed for it.
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
use serde::Deserialize;
use serde_json::Value;
use time::{Date, OffsetDateTime};

use super::http::{Answer, Http};
use super::registry::ProviderId;
use super::{
    HistoryRange, Limits, PricePoint, Quote, QuoteError, QuoteProvider, clean_text, lenient_decimal,
};
use crate::domain::{AssetKind, Symbol, parse_decimal};
use crate::market::symbols;

/// The longest coin name kept.
const MAX_NAME_CHARS: usize = 200;

/// Most ids in one `coins/markets` request.
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

/// One coin in a `coins/markets` answer.
#[derive(Deserialize)]
struct Market {
    id: String,
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    current_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    price_change_percentage_24h: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    market_cap: Option<Decimal>,
    last_updated: Option<String>,
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

    /// Prices (with names) for up to [`BATCH_SIZE`] ids in one request, by id.
    async fn markets(&self, ids: &[&str]) -> Result<HashMap<String, Market>, QuoteError> {
        let request = self.get("/api/v3/coins/markets").query(&[
            ("vs_currency", "usd"),
            ("ids", ids.join(",").as_str()),
            ("per_page", "250"),
            ("page", "1"),
        ]);
        let answer = self.http.send(request).await?;
        let value = self.check(&answer)?;
        let coins: Vec<Market> = serde_json::from_value(value)
            .map_err(|_| self.http.unavailable("response is not the expected JSON"))?;
        Ok(coins.into_iter().map(|c| (c.id.clone(), c)).collect())
    }

    fn to_quote(&self, symbol: &Symbol, raw: &Market) -> Result<Quote, QuoteError> {
        let price = raw
            .current_price
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| self.http.unavailable("response has no price"))?;
        let as_of = raw.last_updated.as_deref().and_then(|t| {
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
        // The 24 h change is a rolling window, not a change since a close: coins have no
        // close, so previous_close (and with it the absolute change) stays empty rather than
        // showing a back-computed number as if CoinGecko had sent it.
        Ok(Quote {
            name: clean_text(raw.name.clone(), MAX_NAME_CHARS),
            currency: Some("USD".to_string()),
            change_percent: raw
                .price_change_percentage_24h
                .map(|p| p.round_dp(4).normalize()),
            market_cap: raw.market_cap.filter(|m| *m > Decimal::ZERO),
            as_of,
            ..Quote::new(symbol.clone(), price, self.name())
        })
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
        let prices = self.markets(&[id]).await?;
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
            prices.extend(self.markets(chunk).await?);
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

    /// A real captured answer (see tests/fixtures/PROVENANCE.md).
    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/coingecko/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[tokio::test]
    async fn a_real_markets_answer_gives_price_name_and_change_and_the_demo_key_is_sent() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v3/coins/markets"))
            .and(query_param("ids", "bitcoin"))
            .and(query_param("vs_currency", "usd"))
            .and(header("x-cg-demo-api-key", KEY))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_string(fixture("coins-markets-bitcoin-usd.json")),
            )
            .mount(&server)
            .await;
        let q = btc_quote(&server).await.unwrap();
        assert_eq!(q.symbol.as_str(), "BTC");
        assert_eq!(q.name.as_deref(), Some("Bitcoin"));
        assert_eq!(q.source, "coingecko");
        assert_eq!(q.price.to_string(), "49053");
        assert_eq!(q.change_percent.unwrap().to_string(), "-4.3793");
        assert_eq!(q.market_cap.unwrap().to_string(), "917825524991");
        assert_eq!(q.currency.as_deref(), Some("USD"));
        assert_eq!(
            q.as_of.unwrap(),
            time::macros::datetime!(2021-05-15 15:59:43.867 UTC)
        );
        assert_eq!((q.previous_close, q.change), (None, None));
    }

    #[tokio::test]
    async fn without_a_key_no_key_header_is_sent() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_string(fixture("coins-markets-bitcoin-usd.json")),
        )
        .await;
        let q = provider(&server, "")
            .quote(&sym("BTC-USD"), AssetKind::Crypto)
            .await
            .unwrap();
        assert_eq!(q.price.to_string(), "49053");
        let requests = server.received_requests().await.unwrap();
        assert!(requests[0].headers.get("x-cg-demo-api-key").is_none());
    }

    #[tokio::test]
    async fn several_coins_take_one_request_and_keep_their_names() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v3/coins/markets"))
            .and(query_param("ids", "bitcoin,ethereum"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_string(fixture("coins-markets-bitcoin-ethereum-eth.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let assets = [
            (sym("BTC"), AssetKind::Crypto),
            (sym("ETH"), AssetKind::Crypto),
            (sym("PEPE"), AssetKind::Crypto),
            (sym("AAPL"), AssetKind::Stock),
        ];
        let quotes = provider(&server, "").quotes(&assets).await.unwrap();
        let got: Vec<String> = quotes
            .iter()
            .map(|q| {
                format!(
                    "{} {} {}",
                    q.symbol,
                    q.name.as_deref().unwrap_or("-"),
                    q.price
                )
            })
            .collect();
        assert_eq!(got, ["BTC Bitcoin 12.666344", "ETH Ethereum 1"]);
    }

    #[tokio::test]
    async fn real_error_answers_are_unavailable() {
        for (status, file) in [
            (500, "error-500-internal-server-error.json"),
            (422, "error-422-missing-parameter-ids.json"),
        ] {
            let server = MockServer::start().await;
            answer(
                &server,
                ResponseTemplate::new(status).set_body_string(fixture(file)),
            )
            .await;
            let e = btc_quote(&server).await.unwrap_err();
            assert!(
                matches!(&e, QuoteError::Unavailable { reason, .. } if reason == &format!("HTTP {status}")),
                "{file}: {e:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_real_daily_chart_keeps_each_days_last_price() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v3/coins/bitcoin/market_chart"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_string(fixture("market-chart-bitcoin-usd-90d-daily.json")),
            )
            .mount(&server)
            .await;
        let points = provider(&server, "")
            .history(&sym("BTC"), AssetKind::Crypto, HistoryRange::Month6)
            .await
            .unwrap();
        assert_eq!(points.len(), 90, "91 points, two of them on the last day");
        let first = &points[0];
        let last = &points[89];
        assert_eq!(
            (first.date.to_string(), first.close.to_string()),
            ("2021-02-15".into(), "48607.8745224845".into())
        );
        assert_eq!(
            (last.date.to_string(), last.close.to_string()),
            ("2021-05-15".into(), "49078.83040364477".into()),
            "the day's latest price"
        );
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
        answer(&server, ResponseTemplate::new(200).set_body_string("[]")).await;
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
            ResponseTemplate::new(200).set_body_string(r#"[{"id":"bitcoin","current_price":4006"#),
        )
        .await;
        assert!(matches!(
            btc_quote(&server).await,
            Err(QuoteError::Unavailable { reason, .. }) if reason.contains("JSON")
        ));
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200)
                .set_body_string(r#"[{"id":"bitcoin","name":"Bitcoin","current_price":null}]"#),
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
                .set_body_string(fixture("coins-markets-bitcoin-usd.json"))
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
