//! Twelve Data (API key as `apikey=`).
//!
//! - `GET {base}/quote?symbol=AAPL&apikey=K`: one object of string numbers (`close`,
//!   `previous_close`, `change`, `percent_change`, `fifty_two_week.{low,high}`, `datetime`,
//!   `timestamp`). With `symbol=AAPL,MSFT` the answer is an object keyed by symbol; each symbol
//!   costs one credit.
//! - `GET {base}/time_series?symbol=AAPL&interval=1day&outputsize=N&apikey=K`:
//!   `{"values":[{"datetime":"2024-11-01","close":".."},..],"status":"ok"}`, newest first.
//!
//! Errors come inside the body, whatever the HTTP status:
//! `{"code":429|400|404|401|403,"message":"..","status":"error"}`. Commodities are spot pairs
//! (`XAU/USD`) and coins `BTC/USD`.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use serde_json::Value;
use time::{Date, OffsetDateTime};

use super::http::Http;
use super::registry::ProviderId;
use super::{
    HistoryRange, Limits, PricePoint, Quote, QuoteError, QuoteProvider, clean_currency, clean_text,
    lenient_decimal, symbols,
};
use crate::domain::{AssetKind, Symbol};

/// Client for Twelve Data.
pub struct TwelveDataProvider {
    http: Http,
    base_url: String,
    api_key: String,
}

/// Symbols per batch request: each costs a credit, and the free tier has 8 a minute.
const BATCH_SIZE: usize = 8;

/// The longest name kept.
const MAX_NAME_CHARS: usize = 200;

/// The most points `/time_series` returns.
const MAX_OUTPUTSIZE: i64 = 5000;

#[derive(Deserialize)]
struct TdQuote {
    symbol: Option<String>,
    name: Option<String>,
    currency: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    close: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    previous_close: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    change: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    percent_change: Option<Decimal>,
    fifty_two_week: Option<TdRange>,
    datetime: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    timestamp: Option<Decimal>,
}

#[derive(Deserialize)]
struct TdRange {
    #[serde(default, deserialize_with = "lenient_decimal")]
    low: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    high: Option<Decimal>,
}

#[derive(Deserialize)]
struct TdSeries {
    values: Option<Vec<TdPoint>>,
}

#[derive(Deserialize)]
struct TdPoint {
    datetime: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    close: Option<Decimal>,
}

/// An error stated in the body: its code and lower-cased message.
fn body_error(value: &Value) -> Option<(i64, String)> {
    let object = value.as_object()?;
    let code = object.get("code").and_then(Value::as_i64);
    let is_error = object.get("status").and_then(Value::as_str) == Some("error");
    if !is_error && code.is_none() {
        return None;
    }
    let message = object
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    Some((code.unwrap_or(0), message))
}

fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.get(..10)?, format).ok()
}

/// Twelve Data's code for an asset: stocks as typed, commodities and coins as USD pairs.
fn code_of(symbol: &Symbol, kind: AssetKind) -> Option<String> {
    match kind {
        AssetKind::Stock | AssetKind::Etf => Some(symbol.to_string()),
        AssetKind::Commodity => symbols::commodity(symbol)
            .and_then(|c| c.twelvedata)
            .map(str::to_string),
        AssetKind::Crypto => Some(format!("{}/USD", symbols::crypto_ticker(symbol))),
        AssetKind::Item => None,
    }
}

impl TwelveDataProvider {
    /// `base_url` is everything before `/quote`; `api_key` may be empty.
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> reqwest::Result<Self> {
        Ok(Self {
            http: Http::new(ProviderId::TwelveData, timeout)?,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
        })
    }

    /// The error a body's code stands for; `asked` names what an unknown symbol was.
    fn classify(&self, asked: &str, code: i64, message: &str) -> QuoteError {
        match code {
            429 => self.http.throttled(None),
            404 => QuoteError::NotFound(asked.to_string()),
            400 if message.contains("symbol") => QuoteError::NotFound(asked.to_string()),
            401 => self.http.unavailable("key refused (code 401)"),
            403 => self
                .http
                .unavailable("not available on this key's plan (code 403)"),
            _ => self.http.unavailable(format!("answered error code {code}")),
        }
    }

    /// GET `path` and return its JSON, with errors stated in the body turned into errors.
    async fn fetch(
        &self,
        path: &str,
        params: &[(&str, &str)],
        asked: &str,
    ) -> Result<Value, QuoteError> {
        let request = self
            .http
            .client()
            .get(format!("{}{path}", self.base_url))
            .query(params)
            .query(&[("apikey", &self.api_key)]);
        let answer = self.http.send(request).await?;
        if let Some((code, message)) = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .as_ref()
            .and_then(body_error)
        {
            return Err(self.classify(asked, code, &message));
        }
        if matches!(
            answer.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return Err(self
                .http
                .unavailable(format!("key refused (HTTP {})", answer.status.as_u16())));
        }
        self.http.expect_json(&answer)
    }

    fn to_quote(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
        code: &str,
        value: &Value,
    ) -> Result<Quote, QuoteError> {
        let raw = TdQuote::deserialize(value)
            .map_err(|_| self.http.unavailable("response is not the expected JSON"))?;
        if let Some(sym) = &raw.symbol
            && !sym.eq_ignore_ascii_case(code)
        {
            return Err(self
                .http
                .unavailable(format!("asked for {code}, answered {sym}")));
        }
        let price = raw
            .close
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| self.http.unavailable("response has no price"))?;
        let positive = |d: Option<Decimal>| d.filter(|v| *v > Decimal::ZERO);
        let range = raw.fifty_two_week;
        // Pairs name no currency; every pair asked for is quoted in US dollars.
        let pair_currency =
            matches!(kind, AssetKind::Commodity | AssetKind::Crypto).then(|| "USD".to_string());
        let as_of = raw
            .timestamp
            .and_then(|t| t.trunc().to_i64())
            .filter(|t| *t > 0)
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .or_else(|| {
                raw.datetime
                    .as_deref()
                    .and_then(parse_date)
                    .map(|d| d.midnight().assume_utc())
            });
        Ok(Quote {
            name: clean_text(raw.name, MAX_NAME_CHARS),
            currency: clean_currency(raw.currency).or(pair_currency),
            previous_close: positive(raw.previous_close),
            change: raw.change,
            change_percent: raw.percent_change,
            week52_high: positive(range.as_ref().and_then(|r| r.high)),
            week52_low: positive(range.as_ref().and_then(|r| r.low)),
            as_of,
            ..Quote::new(symbol.clone(), price, self.name())
        }
        .with_derived_change())
    }
}

#[async_trait]
impl QuoteProvider for TwelveDataProvider {
    fn id(&self) -> ProviderId {
        ProviderId::TwelveData
    }

    fn limits(&self) -> Limits {
        Limits {
            per_minute: Some(8),
            per_day: Some(800),
            batch_size: BATCH_SIZE,
            cost_per_symbol: true,
        }
    }

    fn supports(&self, symbol: &Symbol, kind: AssetKind) -> bool {
        code_of(symbol, kind).is_some()
    }

    #[tracing::instrument(skip_all, fields(provider = "twelvedata", %symbol), err(level = "warn"))]
    async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        let code = code_of(symbol, kind).ok_or_else(|| QuoteError::NotFound(symbol.to_string()))?;
        let body = self
            .fetch("/quote", &[("symbol", &code)], symbol.as_str())
            .await?;
        self.to_quote(symbol, kind, &code, &body)
    }

    /// Up to [`BATCH_SIZE`] symbols a request. Symbols Twelve Data refuses one by one (unknown,
    /// or not in the plan) are left out; throttling stops the whole call.
    #[tracing::instrument(skip_all, fields(provider = "twelvedata", count = assets.len()), err(level = "warn"))]
    async fn quotes(&self, assets: &[(Symbol, AssetKind)]) -> Result<Vec<Quote>, QuoteError> {
        let wanted: Vec<(&Symbol, AssetKind, String)> = assets
            .iter()
            .filter_map(|(s, k)| Some((s, *k, code_of(s, *k)?)))
            .collect();
        let mut found = Vec::new();
        for chunk in wanted.chunks(BATCH_SIZE) {
            let mut codes: Vec<&str> = Vec::new();
            for (_, _, code) in chunk {
                if !codes.contains(&code.as_str()) {
                    codes.push(code);
                }
            }
            let joined = codes.join(",");
            let body = match self.fetch("/quote", &[("symbol", &joined)], &joined).await {
                Err(QuoteError::NotFound(_)) => continue,
                other => other?,
            };
            // One symbol answers a plain quote; several answer an object keyed by symbol.
            let entries: HashMap<String, Value> = match body {
                single if codes.len() == 1 => {
                    HashMap::from([(codes[0].to_ascii_uppercase(), single)])
                }
                Value::Object(map) => map
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_uppercase(), v))
                    .collect(),
                _ => return Err(self.http.unavailable("response is not the expected JSON")),
            };
            for (symbol, kind, code) in chunk {
                let Some(entry) = entries.get(&code.to_ascii_uppercase()) else {
                    continue;
                };
                if let Some((code, message)) = body_error(entry) {
                    match self.classify(symbol.as_str(), code, &message) {
                        e @ QuoteError::Throttled { .. } => return Err(e),
                        e => tracing::debug!(%symbol, error = %e, "left out of the batch"),
                    }
                    continue;
                }
                match self.to_quote(symbol, *kind, code, entry) {
                    Ok(q) => found.push(q),
                    Err(e) => tracing::debug!(%symbol, error = %e, "left out of the batch"),
                }
            }
        }
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(provider = "twelvedata", %symbol), err(level = "warn"))]
    async fn history(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
        range: HistoryRange,
    ) -> Result<Vec<PricePoint>, QuoteError> {
        let code = code_of(symbol, kind).ok_or_else(|| QuoteError::NotFound(symbol.to_string()))?;
        // Calendar days are at least as many as trading days, so this reaches back far enough.
        let outputsize = range.days().min(MAX_OUTPUTSIZE).to_string();
        let body = self
            .fetch(
                "/time_series",
                &[
                    ("symbol", &code),
                    ("interval", "1day"),
                    ("outputsize", &outputsize),
                ],
                symbol.as_str(),
            )
            .await?;
        let series = TdSeries::deserialize(&body)
            .map_err(|_| self.http.unavailable("response is not the expected JSON"))?;
        let values = series
            .values
            .ok_or_else(|| self.http.unavailable("response has no values"))?;
        let start = range.start(OffsetDateTime::now_utc().date());
        let mut history: Vec<PricePoint> = values
            .into_iter()
            .filter_map(|p| {
                Some(PricePoint {
                    date: parse_date(p.datetime.as_deref()?)?,
                    close: p.close.filter(|c| *c > Decimal::ZERO)?,
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
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "TDSECRETKEY42";

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    fn provider(server: &MockServer) -> TwelveDataProvider {
        TwelveDataProvider::new(&server.uri(), KEY, Duration::from_secs(1)).unwrap()
    }

    fn quote_body(symbol: &str, close: &str) -> Value {
        json!({"symbol":symbol,"name":"Apple Inc","exchange":"NASDAQ","currency":"USD",
            "datetime":"2024-11-01","timestamp":1730491200,"open":"220.97","high":"225.35",
            "low":"220.27","close":close,"volume":"65276700","previous_close":"225.91",
            "change":"-3.00","percent_change":"-1.33","is_market_open":false,
            "fifty_two_week":{"low":"164.08","high":"237.49","range":"164.08 - 237.49"}})
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
            "{}/tests/fixtures/twelvedata/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    async fn quote_from(file: &str, symbol: &str) -> Result<Quote, QuoteError> {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/quote"))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture(file)))
            .mount(&server)
            .await;
        provider(&server)
            .quote(&sym(symbol), AssetKind::Stock)
            .await
    }

    #[tokio::test]
    async fn real_quotes_give_price_previous_close_and_range() {
        let amzn = quote_from("quote-amzn-market-open.json", "AMZN")
            .await
            .unwrap();
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(amzn.price, d("248.39"));
        assert_eq!(amzn.name.as_deref(), Some("Amazon.com Inc."));
        assert_eq!(amzn.currency.as_deref(), Some("USD"));
        assert_eq!(amzn.previous_close, Some(d("249.38")));
        assert_eq!(amzn.change, Some(d("-0.99000488")));
        assert_eq!(amzn.week52_low, Some(d("196")), "a low with no decimals");
        assert_eq!(amzn.week52_high, Some(d("287.20001")));

        let spy = quote_from("quote-spy-etf-market-open.json", "SPY")
            .await
            .unwrap();
        assert!(
            spy.name.as_deref().is_some_and(|n| n.contains("S&P")),
            "the escaped ampersand decodes: {:?}",
            spy.name
        );
        // From 2021, before `timestamp` and `is_market_open` were sent.
        let ibm = quote_from("quote-ibm-2021-07-01.json", "IBM")
            .await
            .unwrap();
        assert!(ibm.price > Decimal::ZERO && ibm.previous_close.is_some());
    }

    #[tokio::test]
    async fn real_error_bodies_are_never_prices() {
        let missing = quote_from("error-404-symbol-missing-or-invalid.json", "AAPL")
            .await
            .unwrap_err();
        assert!(
            matches!(missing, QuoteError::NotFound(_)),
            "the service's own unknown-symbol answer: {missing:?}"
        );
        let refused = quote_from("error-401-apikey-incorrect.json", "AAPL")
            .await
            .unwrap_err();
        assert!(
            is_unavailable(&refused),
            "a wrong key is the service failing: {refused:?}"
        );
    }

    #[tokio::test]
    async fn quote_is_parsed_and_the_key_sent() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/quote"))
            .and(query_param("symbol", "AAPL"))
            .and(query_param("apikey", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_json(quote_body("AAPL", "222.91")))
            .expect(1)
            .mount(&server)
            .await;
        let q = provider(&server)
            .quote(&sym("AAPL"), AssetKind::Stock)
            .await
            .unwrap();
        assert_eq!(q.symbol.as_str(), "AAPL");
        assert_eq!(q.price.to_string(), "222.91");
        assert_eq!(q.name.as_deref(), Some("Apple Inc"));
        assert_eq!(q.currency.as_deref(), Some("USD"));
        assert_eq!(q.previous_close.unwrap().to_string(), "225.91");
        assert_eq!(q.change.unwrap().to_string(), "-3");
        assert_eq!(q.change_percent.unwrap().to_string(), "-1.33");
        assert_eq!(q.week52_low.unwrap().to_string(), "164.08");
        assert_eq!(q.week52_high.unwrap().to_string(), "237.49");
        assert_eq!(q.as_of.unwrap().unix_timestamp(), 1_730_491_200);
        assert_eq!(q.source, "twelvedata");
    }

    #[tokio::test]
    async fn commodities_and_coins_are_asked_as_usd_pairs() {
        let server = MockServer::start().await;
        for (code, close) in [("XAU/USD", "2740.5"), ("BTC/USD", "69000.12")] {
            Mock::given(method("GET"))
                .and(path("/quote"))
                .and(query_param("symbol", code))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "symbol":code,"name":"pair","close":close,"previous_close":"1"})))
                .expect(1)
                .mount(&server)
                .await;
        }
        let p = provider(&server);
        let gold = p.quote(&sym("gold"), AssetKind::Commodity).await.unwrap();
        assert_eq!(gold.symbol.as_str(), "GOLD");
        assert_eq!(gold.price.to_string(), "2740.5");
        assert_eq!(gold.currency.as_deref(), Some("USD"));
        let btc = p.quote(&sym("BITCOIN"), AssetKind::Crypto).await.unwrap();
        assert_eq!(btc.price.to_string(), "69000.12");
        assert!(!p.supports(&sym("copper"), AssetKind::Commodity));
        assert!(!p.supports(&sym("WATCH"), AssetKind::Item));
    }

    #[tokio::test]
    async fn batch_is_keyed_by_symbol_and_leaves_unknown_out() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/quote"))
            .and(query_param("symbol", "AAPL,NOPE,MSFT"))
            .and(query_param("apikey", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "AAPL": quote_body("AAPL", "222.91"),
                "NOPE": {"code":400,"message":"**symbol** not found: NOPE.","status":"error"},
                "MSFT": quote_body("MSFT", "406.35")})))
            .expect(1)
            .mount(&server)
            .await;
        let assets = [
            (sym("AAPL"), AssetKind::Stock),
            (sym("NOPE"), AssetKind::Stock),
            (sym("MSFT"), AssetKind::Stock),
        ];
        let quotes = provider(&server).quotes(&assets).await.unwrap();
        let got: Vec<(String, String)> = quotes
            .iter()
            .map(|q| (q.symbol.to_string(), q.price.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("AAPL".into(), "222.91".into()),
                ("MSFT".into(), "406.35".into())
            ]
        );
    }

    #[tokio::test]
    async fn batch_is_chunked_by_eight() {
        let server = MockServer::start().await;
        let names: Vec<String> = (1..=9).map(|i| format!("S{i}")).collect();
        let first: serde_json::Map<String, Value> = names[..8]
            .iter()
            .map(|n| (n.clone(), quote_body(n, "10.5")))
            .collect();
        Mock::given(method("GET"))
            .and(query_param("symbol", names[..8].join(",")))
            .respond_with(ResponseTemplate::new(200).set_body_json(first))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(query_param("symbol", "S9"))
            .respond_with(ResponseTemplate::new(200).set_body_json(quote_body("S9", "99.5")))
            .expect(1)
            .mount(&server)
            .await;
        let assets: Vec<(Symbol, AssetKind)> =
            names.iter().map(|n| (sym(n), AssetKind::Stock)).collect();
        let p = provider(&server);
        assert_eq!(p.limits().batch_size, 8);
        let quotes = p.quotes(&assets).await.unwrap();
        assert_eq!(quotes.len(), 9);
        assert_eq!(quotes[8].symbol.as_str(), "S9");
        assert_eq!(quotes[8].price.to_string(), "99.5");
    }

    #[tokio::test]
    async fn batch_throttling_stops_the_call() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code":429,
                "message":"You have run out of API credits for the current minute.","status":"error"})))
            .mount(&server)
            .await;
        let assets = [
            (sym("AAPL"), AssetKind::Stock),
            (sym("MSFT"), AssetKind::Stock),
        ];
        let e = provider(&server).quotes(&assets).await.unwrap_err();
        assert!(matches!(
            e,
            QuoteError::Throttled {
                retry_after: None,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn history_is_oldest_first_within_range() {
        let server = MockServer::start().await;
        let day = |n: i64| (OffsetDateTime::now_utc().date() - time::Duration::days(n)).to_string();
        Mock::given(method("GET"))
            .and(path("/time_series"))
            .and(query_param("symbol", "AAPL"))
            .and(query_param("interval", "1day"))
            .and(query_param("outputsize", "31"))
            .and(query_param("apikey", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "meta":{"symbol":"AAPL","interval":"1day"},"status":"ok","values":[
                    {"datetime":day(1),"close":"222.91000"},{"datetime":day(2),"close":null},
                    {"datetime":day(3),"close":"220.5"},{"datetime":day(60),"close":"150"}]})))
            .expect(1)
            .mount(&server)
            .await;
        let h = provider(&server)
            .history(&sym("AAPL"), AssetKind::Stock, HistoryRange::Month1)
            .await
            .unwrap();
        let closes: Vec<String> = h.iter().map(|p| p.close.to_string()).collect();
        assert_eq!(closes, ["220.5", "222.91"]);
        assert_eq!(h[1].date.to_string(), day(1));
    }

    #[tokio::test]
    async fn body_errors_are_classified() {
        let err = |code: u16, message: &str| {
            ResponseTemplate::new(200)
                .set_body_json(json!({"code":code,"message":message,"status":"error"}))
        };
        let not_found = QuoteError::NotFound("AAPL".into());
        assert_eq!(
            aapl_error(err(400, "**symbol** not found: AAPL.")).await,
            not_found
        );
        assert_eq!(aapl_error(err(404, "Not found")).await, not_found);
        let throttled = aapl_error(err(429, "You have run out of API credits.")).await;
        assert!(matches!(
            throttled,
            QuoteError::Throttled {
                retry_after: None,
                ..
            }
        ));
        let bad_key = aapl_error(ResponseTemplate::new(401).set_body_json(
            json!({"code":401,"message":"**apikey** parameter is incorrect","status":"error"}),
        ))
        .await;
        assert!(bad_key.to_string().contains("key refused"), "{bad_key}");
        assert!(is_unavailable(
            &aapl_error(err(400, "**interval** is invalid")).await
        ));
        assert!(is_unavailable(
            &aapl_error(err(500, "internal error")).await
        ));
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
    async fn broken_answers_are_unavailable() {
        for response in [
            ResponseTemplate::new(500),
            ResponseTemplate::new(200).set_body_string("<!doctype html><html><body></body></html>"),
            ResponseTemplate::new(200).set_body_string("{\"symbol\":\"AAPL\",\"close\":"),
            ResponseTemplate::new(200).set_body_json(json!({"symbol":"AAPL","close":"0"})),
            ResponseTemplate::new(200).set_body_json(quote_body("MSFT", "1")),
        ] {
            let e = aapl_error(response).await;
            assert!(is_unavailable(&e), "{e:?}");
        }
    }

    #[tokio::test]
    async fn slow_answer_times_out() {
        let e = aapl_error(
            ResponseTemplate::new(200)
                .set_body_json(quote_body("AAPL", "1"))
                .set_delay(Duration::from_secs(3)),
        )
        .await;
        assert!(e.to_string().contains("timed out"), "{e}");
    }
}
