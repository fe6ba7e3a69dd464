//! Finnhub (API key, sent in the `X-Finnhub-Token` header so it stays out of URLs).
//!
//! - `GET {base}/api/v1/quote?symbol=AAPL`:
//!   `{"c":261.74,"d":-1.2,"dp":-0.4563,"h":..,"l":..,"o":..,"pc":262.94,"t":1727985600}`
//!   (current, change, change %, previous close, unix seconds); an unknown symbol answers
//!   zeros (`c` = 0 and `t` = 0) rather than a 404.
//! - `GET {base}/api/v1/stock/candle?symbol=AAPL&resolution=D&from=..&to=..`:
//!   `{"s":"ok"|"no_data","t":[..],"c":[..]}`; paid-only on many keys (HTTP 403).
//!
//! 401 is a bad key; 429, or an `{"error":"API limit reached.."}` body, is throttling.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use time::OffsetDateTime;

use super::http::{Answer, Http};
use super::registry::ProviderId;
use super::{HistoryRange, Limits, PricePoint, Quote, QuoteError, QuoteProvider, lenient_decimal};
use crate::domain::{AssetKind, Symbol};

/// Client for Finnhub.
pub struct FinnhubProvider {
    http: Http,
    base_url: String,
    api_key: String,
}

#[derive(Deserialize)]
struct FinnhubQuote {
    #[serde(default, deserialize_with = "lenient_decimal")]
    c: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    d: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    dp: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pc: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    t: Option<Decimal>,
}

/// A number that may be `null` or a string.
#[derive(Deserialize)]
struct Lenient(#[serde(deserialize_with = "lenient_decimal")] Option<Decimal>);

#[derive(Deserialize)]
struct Candles {
    s: Option<String>,
    #[serde(default)]
    t: Vec<Lenient>,
    #[serde(default)]
    c: Vec<Lenient>,
}

/// Finnhub's error body.
#[derive(Deserialize)]
struct FinnhubError {
    error: String,
}

fn unix_time(seconds: Decimal) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(seconds.trunc().to_i64()?).ok()
}

impl FinnhubProvider {
    /// `base_url` is everything before `/api/v1/...`; `api_key` may be empty.
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> reqwest::Result<Self> {
        Ok(Self {
            http: Http::new(ProviderId::Finnhub, timeout)?,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
        })
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Answer, QuoteError> {
        let mut request = self
            .http
            .client()
            .get(format!("{}{path}", self.base_url))
            .query(query);
        if !self.api_key.is_empty() {
            request = request.header("X-Finnhub-Token", &self.api_key);
        }
        let answer = self.http.send(request).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            return Err(self.http.unavailable("key refused (HTTP 401)"));
        }
        // Finnhub states failures as {"error": ".."}, sometimes with a 200.
        if let Ok(e) = serde_json::from_slice::<FinnhubError>(&answer.body) {
            if e.error.to_ascii_lowercase().contains("limit") {
                return Err(self.http.throttled(None));
            }
            if answer.status.is_success() {
                return Err(self.http.unavailable("answered an error"));
            }
        }
        Ok(answer)
    }
}

#[async_trait]
impl QuoteProvider for FinnhubProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Finnhub
    }

    fn limits(&self) -> Limits {
        Limits {
            per_minute: Some(60),
            per_day: None,
            batch_size: 1,
            cost_per_symbol: false,
        }
    }

    fn supports(&self, _symbol: &Symbol, kind: AssetKind) -> bool {
        matches!(kind, AssetKind::Stock | AssetKind::Etf)
    }

    #[tracing::instrument(skip_all, fields(provider = "finnhub", %symbol), err(level = "warn"))]
    async fn quote(&self, symbol: &Symbol, _kind: AssetKind) -> Result<Quote, QuoteError> {
        let answer = self
            .get("/api/v1/quote", &[("symbol", symbol.to_string())])
            .await?;
        if answer.status == StatusCode::FORBIDDEN {
            return Err(self.http.unavailable("key refused (HTTP 403)"));
        }
        let raw: FinnhubQuote = self.http.expect_json(&answer)?;
        let zero = |d: Option<Decimal>| d.is_none_or(|v| v.is_zero());
        if zero(raw.c) && zero(raw.t) {
            return Err(QuoteError::NotFound(symbol.to_string()));
        }
        let price = raw
            .c
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| self.http.unavailable("response has no price"))?;
        Ok(Quote {
            previous_close: raw.pc.filter(|p| *p > Decimal::ZERO),
            change: raw.d,
            change_percent: raw.dp,
            as_of: raw.t.filter(|t| *t > Decimal::ZERO).and_then(unix_time),
            ..Quote::new(symbol.clone(), price, self.name())
        }
        .with_derived_change())
    }

    /// An empty history when Finnhub has no candles in the range ("no_data"): that answer also
    /// comes for real symbols on holidays or fresh listings, so it does not prove the symbol unknown.
    #[tracing::instrument(skip_all, fields(provider = "finnhub", %symbol), err(level = "warn"))]
    async fn history(
        &self,
        symbol: &Symbol,
        _kind: AssetKind,
        range: HistoryRange,
    ) -> Result<Vec<PricePoint>, QuoteError> {
        let now = OffsetDateTime::now_utc();
        let start = range.start(now.date());
        let from = start.midnight().assume_utc().unix_timestamp();
        let query = [
            ("symbol", symbol.to_string()),
            ("resolution", "D".to_string()),
            ("from", from.to_string()),
            ("to", now.unix_timestamp().to_string()),
        ];
        let answer = self.get("/api/v1/stock/candle", &query).await?;
        if answer.status == StatusCode::FORBIDDEN {
            return Err(self
                .http
                .unavailable("daily candles refused for this key (HTTP 403)"));
        }
        let candles: Candles = self.http.expect_json(&answer)?;
        match candles.s.as_deref() {
            Some("ok") => {}
            Some("no_data") => return Ok(Vec::new()),
            _ => return Err(self.http.unavailable("response has no candles")),
        }
        let mut history: Vec<PricePoint> = candles
            .t
            .iter()
            .zip(&candles.c)
            .filter_map(|(t, c)| {
                Some(PricePoint {
                    date: unix_time(t.0?)?.date(),
                    close: c.0.filter(|v| *v > Decimal::ZERO)?,
                })
            })
            .filter(|p| p.date >= start)
            .collect();
        history.sort_by_key(|p| p.date);
        history.dedup_by_key(|p| p.date);
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "FHSECRETKEY42";

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    fn provider(server: &MockServer) -> FinnhubProvider {
        FinnhubProvider::new(&server.uri(), KEY, Duration::from_secs(1)).unwrap()
    }

    async fn aapl_error(response: ResponseTemplate) -> QuoteError {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(&server)
            .await;
        let e = provider(&server)
            .quote(&sym("AAPL"), AssetKind::Stock)
            .await
            .unwrap_err();
        assert!(!format!("{e} {e:?}").contains(KEY), "key leaked: {e:?}");
        e
    }

    fn is_unavailable(e: &QuoteError) -> bool {
        matches!(e, QuoteError::Unavailable { .. })
    }

    /// A real captured answer (see tests/fixtures/PROVENANCE.md).
    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/finnhub/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    async fn quote_from(status: u16, file: &str) -> Result<Quote, QuoteError> {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_string(fixture(file)))
            .mount(&server)
            .await;
        provider(&server)
            .quote(&sym("AAPL"), AssetKind::Stock)
            .await
    }

    #[tokio::test]
    async fn a_real_quote_gives_price_change_and_previous_close() {
        let q = quote_from(200, "quote-aapl.json").await.unwrap();
        assert_eq!(q.price.to_string(), "308.82");
        assert_eq!(q.previous_close.unwrap().to_string(), "304.99");
        assert_eq!(q.change.unwrap().to_string(), "3.83");
        assert_eq!(q.change_percent.unwrap().to_string(), "1.2558");
        assert_eq!(q.as_of.unwrap().unix_timestamp(), 1_779_480_000);
    }

    #[tokio::test]
    async fn real_unknown_symbol_and_refusal_answers_are_never_prices() {
        // Finnhub answers an unknown symbol with HTTP 200 and zeros (and null changes).
        let unknown = quote_from(200, "quote-unknown-symbol-all-zero.json")
            .await
            .unwrap_err();
        assert!(
            matches!(unknown, QuoteError::NotFound(_)),
            "zeros are Finnhub's unknown symbol, never a price of 0: {unknown:?}"
        );
        let refused = quote_from(403, "error-403-no-access-stock-candle.json")
            .await
            .unwrap_err();
        assert!(is_unavailable(&refused), "{refused:?}");
    }

    #[tokio::test]
    async fn quote_is_parsed_and_the_key_sent_in_a_header() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/quote"))
            .and(query_param("symbol", "AAPL"))
            .and(query_param_is_missing("token"))
            .and(header("X-Finnhub-Token", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "c":261.74,"d":-1.2,"dp":-0.4563,"h":263.31,"l":260.68,"o":261.07,
                "pc":262.94,"t":1727985600})))
            .expect(1)
            .mount(&server)
            .await;
        let q = provider(&server)
            .quote(&sym("AAPL"), AssetKind::Stock)
            .await
            .unwrap();
        assert_eq!(q.symbol.as_str(), "AAPL");
        assert_eq!(q.price.to_string(), "261.74");
        assert_eq!(q.previous_close.unwrap().to_string(), "262.94");
        assert_eq!(q.change.unwrap().to_string(), "-1.2");
        assert_eq!(q.change_percent.unwrap().to_string(), "-0.4563");
        assert_eq!(q.as_of.unwrap().unix_timestamp(), 1_727_985_600);
        assert_eq!(q.source, "finnhub");
    }

    #[tokio::test]
    async fn zeros_mean_unknown_symbol() {
        let e = aapl_error(ResponseTemplate::new(200).set_body_json(json!({
            "c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0})))
        .await;
        assert_eq!(e, QuoteError::NotFound("AAPL".into()));
    }

    #[tokio::test]
    async fn refused_key_is_unavailable() {
        for status in [401, 403] {
            let e = aapl_error(
                ResponseTemplate::new(status).set_body_json(json!({"error":"Invalid API key"})),
            )
            .await;
            assert!(
                e.to_string()
                    .contains(&format!("key refused (HTTP {status})")),
                "{e}"
            );
        }
    }

    #[tokio::test]
    async fn http_429_carries_retry_after() {
        let e = aapl_error(ResponseTemplate::new(429).insert_header("Retry-After", "7")).await;
        assert!(matches!(
            e,
            QuoteError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(7)
        ));
    }

    #[tokio::test]
    async fn limit_note_inside_200_is_throttling() {
        let e = aapl_error(ResponseTemplate::new(200).set_body_json(json!({
            "error":"API limit reached. Please try again later. Remaining Limit: 0"})))
        .await;
        assert!(matches!(
            e,
            QuoteError::Throttled {
                retry_after: None,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn broken_answers_are_unavailable() {
        for response in [
            ResponseTemplate::new(500),
            ResponseTemplate::new(200).set_body_string("<html><body>maintenance</body></html>"),
            ResponseTemplate::new(200).set_body_string("{\"c\":261.7"),
            ResponseTemplate::new(200).set_body_json(json!({"c":0,"t":1727985600})),
        ] {
            let e = aapl_error(response).await;
            assert!(is_unavailable(&e), "{e:?}");
        }
    }

    #[tokio::test]
    async fn slow_answer_times_out() {
        let e = aapl_error(
            ResponseTemplate::new(200)
                .set_body_json(json!({"c":1,"t":1}))
                .set_delay(Duration::from_secs(3)),
        )
        .await;
        assert!(e.to_string().contains("timed out"), "{e}");
    }

    #[tokio::test]
    async fn candles_become_oldest_first_history_without_nulls() {
        let server = MockServer::start().await;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let day = 86_400;
        Mock::given(method("GET"))
            .and(path("/api/v1/stock/candle"))
            .and(query_param("symbol", "AAPL"))
            .and(query_param("resolution", "D"))
            .and(header("X-Finnhub-Token", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "s":"ok","t":[now - 3 * day, now - 2 * day, now - day],
                "c":[220.5, null, "222.91"],"o":[1,2,3]})))
            .expect(1)
            .mount(&server)
            .await;
        let h = provider(&server)
            .history(&sym("AAPL"), AssetKind::Stock, HistoryRange::Month1)
            .await
            .unwrap();
        let closes: Vec<String> = h.iter().map(|p| p.close.to_string()).collect();
        assert_eq!(closes, ["220.5", "222.91"]);
        assert!(h[0].date < h[1].date);
    }

    #[tokio::test]
    async fn no_candles_is_empty_and_paid_only_is_unavailable() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(query_param("symbol", "NONE"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"s":"no_data"})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(query_param("symbol", "AAPL"))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({
                "error":"You don't have access to this resource."})))
            .mount(&server)
            .await;
        let p = provider(&server);
        let h = p
            .history(&sym("NONE"), AssetKind::Stock, HistoryRange::Month6)
            .await
            .unwrap();
        assert!(h.is_empty());
        let e = p
            .history(&sym("AAPL"), AssetKind::Stock, HistoryRange::Month6)
            .await
            .unwrap_err();
        assert!(is_unavailable(&e), "{e:?}");
    }

    #[test]
    fn limits_and_supported_kinds() {
        let p = FinnhubProvider::new("http://localhost", KEY, Duration::from_secs(1)).unwrap();
        assert_eq!(p.limits().per_minute, Some(60));
        assert_eq!(p.limits().batch_size, 1);
        assert!(p.supports(&sym("SPY"), AssetKind::Etf));
        assert!(!p.supports(&sym("GOLD"), AssetKind::Commodity));
        assert!(!p.supports(&sym("BTC"), AssetKind::Crypto));
    }
}
