//! Alpha Vantage (API key). Every call is `GET {base}/query?function=..&apikey=K`:
//!
//! - `function=GLOBAL_QUOTE&symbol=IBM`: `{"Global Quote":{"05. price":"225.9700",..}}`, all
//!   values strings, the change percent with a `%`; an unknown symbol is `{"Global Quote":{}}`.
//! - `function=TIME_SERIES_DAILY&symbol=IBM&outputsize=compact|full`:
//!   `{"Time Series (Daily)":{"2024-11-01":{"4. close":".."},..}}`, newest first.
//! - `function=WTI|BRENT|NATURAL_GAS|COPPER|..&interval=daily|monthly`:
//!   `{"name":..,"unit":..,"data":[{"date":"2025-06-01","value":"68.17"},..]}`, newest first,
//!   `"."` for a missing value.
//!
//! Throttling and errors arrive with HTTP 200: a `Note` or `Information` key (limit reached, or
//! a premium-only feature) or an `Error Message` (bad symbol, bad key).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};
use time::{Date, OffsetDateTime};

use super::http::Http;
use super::registry::ProviderId;
use super::{
    HistoryRange, Limits, PricePoint, Quote, QuoteError, QuoteProvider, clean_text,
    lenient_decimal, symbols,
};
use crate::domain::{AssetKind, Symbol};

/// Client for Alpha Vantage.
pub struct AlphaVantageProvider {
    http: Http,
    base_url: String,
    api_key: String,
    /// Set once the key has been refused `outputsize=full` (a premium feature since 2024), so
    /// later histories go straight to `compact` instead of spending a request on the refusal.
    full_refused: AtomicBool,
}

/// The longest name kept.
const MAX_NAME_CHARS: usize = 200;

/// Commodity functions Alpha Vantage serves only monthly.
const MONTHLY_ONLY: &[&str] = &[
    "COPPER", "ALUMINUM", "WHEAT", "CORN", "COTTON", "SUGAR", "COFFEE",
];

/// Calendar days `outputsize=compact` (the latest 100 trading days) safely covers.
const COMPACT_DAYS: i64 = 140;

/// The reason given when the key may not use a premium feature.
const PREMIUM_ONLY: &str = "premium feature not available to this key";

#[derive(Deserialize)]
struct GlobalQuote {
    #[serde(rename = "01. symbol")]
    symbol: Option<String>,
    #[serde(rename = "05. price", default, deserialize_with = "lenient_decimal")]
    price: Option<Decimal>,
    #[serde(rename = "07. latest trading day")]
    latest_trading_day: Option<String>,
    #[serde(
        rename = "08. previous close",
        default,
        deserialize_with = "lenient_decimal"
    )]
    previous_close: Option<Decimal>,
    #[serde(rename = "09. change", default, deserialize_with = "lenient_decimal")]
    change: Option<Decimal>,
    #[serde(rename = "10. change percent")]
    change_percent: Option<String>,
}

#[derive(Deserialize)]
struct DailyBar {
    #[serde(rename = "4. close", default, deserialize_with = "lenient_decimal")]
    close: Option<Decimal>,
}

#[derive(Deserialize)]
struct CommoditySeries {
    name: Option<String>,
    unit: Option<String>,
    data: Option<Vec<CommodityPoint>>,
}

#[derive(Deserialize)]
struct CommodityPoint {
    #[serde(default)]
    date: Option<String>,
    // "." (missing) reads as None.
    #[serde(default, deserialize_with = "lenient_decimal")]
    value: Option<Decimal>,
}

fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.get(..10)?, format).ok()
}

/// "2.3322%" → 2.3322.
fn parse_percent(text: Option<String>) -> Option<Decimal> {
    let text = text?;
    let number = text.trim().trim_end_matches('%');
    crate::domain::parse_decimal(number).map(|d| d.normalize())
}

/// True for the texts Alpha Vantage sends when a request budget is spent. The daily-limit
/// text also invites to "premium plans", so wording about limits decides, not "premium".
fn is_limit_text(text: &str) -> bool {
    [
        "rate limit",
        "call frequency",
        "requests per",
        "calls per",
        "per day",
        "per minute",
        "per second",
        "spreading out",
    ]
    .iter()
    .any(|w| text.contains(w))
}

/// The commodity function for a symbol, where Alpha Vantage has one.
fn commodity_function(symbol: &Symbol) -> Option<&'static str> {
    symbols::commodity(symbol).and_then(|c| c.alphavantage)
}

/// The series' points with a value, newest first.
fn commodity_points(series: &CommoditySeries) -> Vec<PricePoint> {
    let mut points: Vec<PricePoint> = series
        .data
        .iter()
        .flatten()
        .filter_map(|p| {
            Some(PricePoint {
                date: parse_date(p.date.as_deref()?)?,
                close: p.value.filter(|v| *v > Decimal::ZERO)?,
            })
        })
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.date));
    points
}

impl AlphaVantageProvider {
    /// `base_url` is everything before `/query`; `api_key` may be empty.
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> reqwest::Result<Self> {
        Ok(Self {
            http: Http::new(ProviderId::AlphaVantage, timeout)?,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
            full_refused: AtomicBool::new(false),
        })
    }

    /// One `/query` call: a JSON object with the in-body notes and errors turned into errors.
    async fn query(
        &self,
        symbol: &Symbol,
        params: &[(&str, &str)],
    ) -> Result<Map<String, Value>, QuoteError> {
        let request = self
            .http
            .client()
            .get(format!("{}/query", self.base_url))
            .query(params)
            .query(&[("apikey", &self.api_key)]);
        let answer = self.http.send(request).await?;
        if matches!(
            answer.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return Err(self
                .http
                .unavailable(format!("key refused (HTTP {})", answer.status.as_u16())));
        }
        let body: Map<String, Value> = self.http.expect_json(&answer)?;
        self.check_notes(symbol, &body)?;
        Ok(body)
    }

    /// Alpha Vantage reports limits and errors inside an HTTP 200.
    fn check_notes(&self, symbol: &Symbol, body: &Map<String, Value>) -> Result<(), QuoteError> {
        let text = |key: &str| {
            body.get(key)
                .map(|v| v.as_str().unwrap_or_default().to_ascii_lowercase())
        };
        let key_refused = |t: &str| {
            t.contains("apikey") || t.contains("api key is invalid") || t.contains("demo")
        };
        if body.contains_key("Note") {
            return Err(self.http.throttled(None));
        }
        if let Some(info) = text("Information") {
            if is_limit_text(&info) {
                return Err(self.http.throttled(None));
            }
            if info.contains("premium") {
                return Err(self.http.unavailable(PREMIUM_ONLY));
            }
            if key_refused(&info) {
                return Err(self.http.unavailable("key refused"));
            }
            return Err(self.http.throttled(None));
        }
        if let Some(message) = text("Error Message") {
            // A missing or invalid key is also an "Error Message", and says so.
            if key_refused(&message) {
                return Err(self.http.unavailable("key refused"));
            }
            return Err(QuoteError::NotFound(symbol.to_string()));
        }
        Ok(())
    }

    fn parse<T: serde::de::DeserializeOwned>(&self, value: Value) -> Result<T, QuoteError> {
        serde_json::from_value(value)
            .map_err(|_| self.http.unavailable("response is not the expected JSON"))
    }

    async fn stock_quote(&self, symbol: &Symbol) -> Result<Quote, QuoteError> {
        let mut body = self
            .query(
                symbol,
                &[("function", "GLOBAL_QUOTE"), ("symbol", symbol.as_str())],
            )
            .await?;
        let raw = match body.remove("Global Quote") {
            Some(Value::Object(m)) if m.is_empty() => {
                return Err(QuoteError::NotFound(symbol.to_string()));
            }
            Some(v) => self.parse::<GlobalQuote>(v)?,
            None => return Err(self.http.unavailable("response has no quote")),
        };
        if let Some(sym) = &raw.symbol
            && !sym.eq_ignore_ascii_case(symbol.as_str())
        {
            return Err(self
                .http
                .unavailable(format!("asked for {symbol}, answered {sym}")));
        }
        let price = raw
            .price
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| self.http.unavailable("response has no price"))?;
        Ok(Quote {
            previous_close: raw.previous_close.filter(|p| *p > Decimal::ZERO),
            change: raw.change,
            change_percent: parse_percent(raw.change_percent),
            // Only a trading day is given: the quote is as of that day.
            as_of: raw
                .latest_trading_day
                .as_deref()
                .and_then(parse_date)
                .map(|d| d.midnight().assume_utc()),
            ..Quote::new(symbol.clone(), price, self.name())
        }
        .with_derived_change())
    }

    async fn commodity_series(
        &self,
        symbol: &Symbol,
        function: &str,
    ) -> Result<CommoditySeries, QuoteError> {
        let interval = if MONTHLY_ONLY.contains(&function) {
            "monthly"
        } else {
            "daily"
        };
        let body = self
            .query(symbol, &[("function", function), ("interval", interval)])
            .await?;
        self.parse(Value::Object(body))
    }

    async fn commodity_quote(&self, symbol: &Symbol, function: &str) -> Result<Quote, QuoteError> {
        let series = self.commodity_series(symbol, function).await?;
        let points = commodity_points(&series);
        let latest = points
            .first()
            .ok_or_else(|| self.http.unavailable("response has no price"))?;
        let unit = series.unit.unwrap_or_default().to_ascii_lowercase();
        Ok(Quote {
            name: clean_text(series.name, MAX_NAME_CHARS),
            currency: (unit.contains("dollar") && !unit.contains("cent")).then(|| "USD".into()),
            previous_close: points.get(1).map(|p| p.close),
            as_of: Some(latest.date.midnight().assume_utc()),
            ..Quote::new(symbol.clone(), latest.close, self.name())
        }
        .with_derived_change())
    }

    async fn daily_series(
        &self,
        symbol: &Symbol,
        range: HistoryRange,
    ) -> Result<Map<String, Value>, QuoteError> {
        let want_full = range.days() > COMPACT_DAYS && !self.full_refused.load(Ordering::Relaxed);
        let size = if want_full { "full" } else { "compact" };
        let params = |size| {
            [
                ("function", "TIME_SERIES_DAILY"),
                ("symbol", symbol.as_str()),
                ("outputsize", size),
            ]
        };
        match self.query(symbol, &params(size)).await {
            Err(QuoteError::Unavailable { reason, .. }) if want_full && reason == PREMIUM_ONLY => {
                self.full_refused.store(true, Ordering::Relaxed);
                self.query(symbol, &params("compact")).await
            }
            other => other,
        }
    }
}

#[async_trait]
impl QuoteProvider for AlphaVantageProvider {
    fn id(&self) -> ProviderId {
        ProviderId::AlphaVantage
    }

    fn limits(&self) -> Limits {
        Limits {
            per_minute: Some(5),
            per_day: Some(25),
            batch_size: 1,
            cost_per_symbol: false,
        }
    }

    fn supports(&self, symbol: &Symbol, kind: AssetKind) -> bool {
        match kind {
            AssetKind::Stock | AssetKind::Etf => true,
            AssetKind::Commodity => commodity_function(symbol).is_some(),
            AssetKind::Crypto | AssetKind::Item => false,
        }
    }

    #[tracing::instrument(skip_all, fields(provider = "alphavantage", %symbol), err(level = "warn"))]
    async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        match kind {
            AssetKind::Stock | AssetKind::Etf => self.stock_quote(symbol).await,
            AssetKind::Commodity => match commodity_function(symbol) {
                Some(function) => self.commodity_quote(symbol, function).await,
                None => Err(QuoteError::NotFound(symbol.to_string())),
            },
            AssetKind::Crypto | AssetKind::Item => Err(QuoteError::NotFound(symbol.to_string())),
        }
    }

    #[tracing::instrument(skip_all, fields(provider = "alphavantage", %symbol), err(level = "warn"))]
    async fn history(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
        range: HistoryRange,
    ) -> Result<Vec<PricePoint>, QuoteError> {
        let start = range.start(OffsetDateTime::now_utc().date());
        let mut history = match kind {
            AssetKind::Stock | AssetKind::Etf => {
                let mut body = self.daily_series(symbol, range).await?;
                let series = match body.remove("Time Series (Daily)") {
                    Some(Value::Object(m)) => m,
                    _ => return Err(self.http.unavailable("response has no daily series")),
                };
                series
                    .into_iter()
                    .filter_map(|(date, bar)| {
                        let bar: DailyBar = serde_json::from_value(bar).ok()?;
                        Some(PricePoint {
                            date: parse_date(&date)?,
                            close: bar.close.filter(|c| *c > Decimal::ZERO)?,
                        })
                    })
                    .collect::<Vec<_>>()
            }
            AssetKind::Commodity => {
                let function = commodity_function(symbol)
                    .ok_or_else(|| QuoteError::NotFound(symbol.to_string()))?;
                // A monthly average is not a daily close; another provider may have those.
                if MONTHLY_ONLY.contains(&function) {
                    return Err(self
                        .http
                        .unavailable("only monthly data for this commodity"));
                }
                commodity_points(&self.commodity_series(symbol, function).await?)
            }
            AssetKind::Crypto | AssetKind::Item => {
                return Err(QuoteError::NotFound(symbol.to_string()));
            }
        };
        history.retain(|p| p.date >= start);
        history.sort_by_key(|p| p.date);
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "AVSECRETKEY42";

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    fn provider(server: &MockServer) -> AlphaVantageProvider {
        AlphaVantageProvider::new(&server.uri(), KEY, Duration::from_secs(1)).unwrap()
    }

    fn day(days_ago: i64) -> String {
        (OffsetDateTime::now_utc().date() - time::Duration::days(days_ago)).to_string()
    }

    async fn serve(server: &MockServer, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(path("/query"))
            .respond_with(response)
            .mount(server)
            .await;
    }

    async fn ibm_error(response: ResponseTemplate) -> QuoteError {
        let server = MockServer::start().await;
        serve(&server, response).await;
        let e = provider(&server)
            .quote(&sym("IBM"), AssetKind::Stock)
            .await
            .unwrap_err();
        assert!(!format!("{e} {e:?}").contains(KEY), "key leaked: {e:?}");
        e
    }

    fn is_unavailable(e: &QuoteError) -> bool {
        matches!(e, QuoteError::Unavailable { .. })
    }

    #[tokio::test]
    async fn global_quote_is_parsed_and_the_key_sent() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/query"))
            .and(query_param("function", "GLOBAL_QUOTE"))
            .and(query_param("symbol", "IBM"))
            .and(query_param("apikey", KEY))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"Global Quote":{
                "01. symbol":"IBM","02. open":"225.5400","03. high":"226.1900",
                "04. low":"223.8900","05. price":"225.9700","06. volume":"9226278",
                "07. latest trading day":"2024-10-04","08. previous close":"220.8200",
                "09. change":"5.1500","10. change percent":"2.3322%"}})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let q = provider(&server)
            .quote(&sym("IBM"), AssetKind::Stock)
            .await
            .unwrap();
        assert_eq!(q.symbol.as_str(), "IBM");
        assert_eq!(q.price.to_string(), "225.97");
        assert_eq!(q.previous_close.unwrap().to_string(), "220.82");
        assert_eq!(q.change.unwrap().to_string(), "5.15");
        assert_eq!(q.change_percent.unwrap().to_string(), "2.3322");
        assert_eq!(q.as_of.unwrap().date().to_string(), "2024-10-04");
        assert_eq!(q.source, "alphavantage");
    }

    #[tokio::test]
    async fn commodity_quote_skips_missing_values() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/query"))
            .and(query_param("function", "WTI"))
            .and(query_param("interval", "daily"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "name":"Crude Oil Prices WTI","interval":"daily","unit":"dollars per barrel",
                "data":[{"date":"2025-06-03","value":"."},{"date":"2025-06-02","value":"68.17"},
                        {"date":"2025-06-01","value":"."},{"date":"2025-05-30","value":"66.50"}]})))
            .expect(1)
            .mount(&server)
            .await;
        let q = provider(&server)
            .quote(&sym("crude-oil"), AssetKind::Commodity)
            .await
            .unwrap();
        assert_eq!(q.symbol.as_str(), "CRUDE-OIL");
        assert_eq!(q.price.to_string(), "68.17");
        assert_eq!(q.previous_close.unwrap().to_string(), "66.5");
        assert_eq!(q.change.unwrap().to_string(), "1.67");
        assert_eq!(q.as_of.unwrap().date().to_string(), "2025-06-02");
        assert_eq!(q.currency.as_deref(), Some("USD"));
        assert_eq!(q.name.as_deref(), Some("Crude Oil Prices WTI"));
    }

    #[tokio::test]
    async fn monthly_only_commodities_ask_monthly() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/query"))
            .and(query_param("function", "COPPER"))
            .and(query_param("interval", "monthly"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data":[{"date":"2025-05-01","value":"9532.1"}]})))
            .expect(1)
            .mount(&server)
            .await;
        let p = provider(&server);
        let q = p.quote(&sym("COPPER"), AssetKind::Commodity).await.unwrap();
        assert_eq!(q.price.to_string(), "9532.1");
        assert!(p.supports(&sym("copper"), AssetKind::Commodity));
        assert!(!p.supports(&sym("gold"), AssetKind::Commodity));
        assert!(!p.supports(&sym("BTC"), AssetKind::Crypto));
        assert!(!p.supports(&sym("WATCH"), AssetKind::Item));
    }

    #[tokio::test]
    async fn history_is_oldest_first_within_range() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/query"))
            .and(query_param("function", "TIME_SERIES_DAILY"))
            .and(query_param("outputsize", "compact"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "Meta Data":{"2. Symbol":"IBM"},
                "Time Series (Daily)":{
                    day(1):{"1. open":"1","4. close":"222.9100"},
                    day(2):{"4. close":"220.5"},
                    day(3):{"4. close":"."},
                    day(90):{"4. close":"199"}}})))
            .mount(&server)
            .await;
        let h = provider(&server)
            .history(&sym("IBM"), AssetKind::Stock, HistoryRange::Month1)
            .await
            .unwrap();
        let closes: Vec<String> = h.iter().map(|p| p.close.to_string()).collect();
        assert_eq!(closes, ["220.5", "222.91"]);
        assert_eq!(h[1].date.to_string(), day(1));
    }

    #[tokio::test]
    async fn refused_full_history_falls_back_to_compact_once() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(query_param("outputsize", "full"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Information":
                "Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium feature for the TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium features"})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(query_param("outputsize", "compact"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "Time Series (Daily)":{day(5):{"4. close":"101.5"}}})))
            .expect(2)
            .mount(&server)
            .await;
        let p = provider(&server);
        for _ in 0..2 {
            let h = p
                .history(&sym("IBM"), AssetKind::Stock, HistoryRange::Year1)
                .await
                .unwrap();
            assert_eq!(h[0].close.to_string(), "101.5");
        }
    }

    #[tokio::test]
    async fn commodity_history_skips_dots_and_monthly_is_refused() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(query_param("function", "BRENT"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data":[
                {"date":day(1),"value":"70.1"},{"date":day(2),"value":"."},
                {"date":day(3),"value":"69.8"}]})))
            .mount(&server)
            .await;
        let p = provider(&server);
        let h = p
            .history(&sym("BRENT"), AssetKind::Commodity, HistoryRange::Month1)
            .await
            .unwrap();
        let closes: Vec<String> = h.iter().map(|p| p.close.to_string()).collect();
        assert_eq!(closes, ["69.8", "70.1"]);
        let e = p
            .history(&sym("WHEAT"), AssetKind::Commodity, HistoryRange::Month1)
            .await
            .unwrap_err();
        assert!(is_unavailable(&e), "{e:?}");
    }

    #[tokio::test]
    async fn unknown_symbol_is_not_found() {
        let empty =
            ibm_error(ResponseTemplate::new(200).set_body_json(json!({"Global Quote":{}}))).await;
        assert_eq!(empty, QuoteError::NotFound("IBM".into()));
        let error = ibm_error(ResponseTemplate::new(200).set_body_json(json!({"Error Message":
            "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for GLOBAL_QUOTE."})))
        .await;
        assert_eq!(error, QuoteError::NotFound("IBM".into()));
    }

    #[tokio::test]
    async fn invalid_key_message_is_not_an_unknown_symbol() {
        let e = ibm_error(ResponseTemplate::new(200).set_body_json(json!({"Error Message":
            "the parameter apikey is invalid or missing. Please claim your free API key on (https://www.alphavantage.co/support/#api-key)."})))
        .await;
        assert!(is_unavailable(&e), "{e:?}");
        let e = ibm_error(ResponseTemplate::new(401)).await;
        assert!(e.to_string().contains("key refused (HTTP 401)"), "{e}");
    }

    #[tokio::test]
    async fn notes_inside_200_are_throttling() {
        for body in [
            json!({"Note":"Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day."}),
            json!({"Information":"Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."}),
        ] {
            let e = ibm_error(ResponseTemplate::new(200).set_body_json(body)).await;
            assert!(
                matches!(
                    e,
                    QuoteError::Throttled {
                        retry_after: None,
                        ..
                    }
                ),
                "{e:?}"
            );
        }
    }

    #[tokio::test]
    async fn http_429_carries_retry_after() {
        let e = ibm_error(ResponseTemplate::new(429).insert_header("Retry-After", "7")).await;
        assert!(matches!(
            e,
            QuoteError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(7)
        ));
    }

    #[tokio::test]
    async fn broken_answers_are_unavailable() {
        for response in [
            ResponseTemplate::new(500),
            ResponseTemplate::new(200)
                .set_body_string("<!DOCTYPE html><html><body>hi</body></html>"),
            ResponseTemplate::new(200).set_body_string("{\"Global Quote\": {\"05. pri"),
            ResponseTemplate::new(200).set_body_json(json!({"Global Quote":{"01. symbol":"IBM"}})),
        ] {
            let e = ibm_error(response).await;
            assert!(is_unavailable(&e), "{e:?}");
        }
    }

    #[tokio::test]
    async fn slow_answer_times_out() {
        let e = ibm_error(
            ResponseTemplate::new(200)
                .set_body_json(json!({"Global Quote":{"05. price":"1"}}))
                .set_delay(Duration::from_secs(3)),
        )
        .await;
        assert!(e.to_string().contains("timed out"), "{e}");
    }

    /// A captured answer, or a hand-written one where noted (see tests/fixtures/PROVENANCE.md).
    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/alphavantage/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// A quote for `symbol` from the fixture `file`, served once for GLOBAL_QUOTE and that symbol.
    async fn quote_from(file: &str, symbol: &str) -> Result<Quote, QuoteError> {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/query"))
            .and(query_param("function", "GLOBAL_QUOTE"))
            .and(query_param("symbol", symbol))
            .and(query_param("apikey", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture(file)))
            .expect(1)
            .mount(&server)
            .await;
        provider(&server)
            .quote(&sym(symbol), AssetKind::Stock)
            .await
    }

    /// The error of a history for `symbol` answered (exactly once) with `body`.
    async fn history_error(body: String, symbol: &str, range: HistoryRange) -> QuoteError {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/query"))
            .and(query_param("function", "TIME_SERIES_DAILY"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
        let e = provider(&server)
            .history(&sym(symbol), AssetKind::Stock, range)
            .await
            .unwrap_err();
        assert!(!format!("{e} {e:?}").contains(KEY), "key leaked: {e:?}");
        e
    }

    fn is_throttled_without_wait(e: &QuoteError) -> bool {
        matches!(
            e,
            QuoteError::Throttled {
                retry_after: None,
                ..
            }
        )
    }

    #[tokio::test]
    async fn captured_global_quotes_are_read() {
        // file, symbol, price, previous close, change, change percent, latest trading day
        for (file, symbol, price, previous, change, percent, day) in [
            (
                "global-quote-msft.json",
                "MSFT",
                "112.13",
                "112.79",
                "-0.66",
                "-0.5852",
                "2018-10-05",
            ),
            (
                "global-quote-ibm.json",
                "IBM",
                "121.74",
                "121.23",
                "0.51",
                "0.4207",
                "2020-05-08",
            ),
        ] {
            let q = quote_from(file, symbol)
                .await
                .unwrap_or_else(|e| panic!("{file}: {e:?}"));
            assert_eq!(q.symbol.as_str(), symbol, "{file}");
            assert_eq!(q.price.to_string(), price, "{file}");
            assert_eq!(q.previous_close.unwrap().to_string(), previous, "{file}");
            assert_eq!(q.change.unwrap().to_string(), change, "{file}");
            assert_eq!(q.change_percent.unwrap().to_string(), percent, "{file}");
            let as_of = q.as_of.unwrap();
            assert_eq!(as_of.date().to_string(), day, "{file}");
            assert_eq!(as_of.time(), time::Time::MIDNIGHT, "{file}");
            assert_eq!(q.source, "alphavantage", "{file}");
        }
    }

    #[tokio::test]
    async fn captured_quote_of_another_symbol_is_refused() {
        let e = ibm_error(
            ResponseTemplate::new(200).set_body_string(fixture("global-quote-msft.json")),
        )
        .await;
        assert_eq!(
            e,
            QuoteError::Unavailable {
                provider: "alphavantage".into(),
                reason: "asked for IBM, answered MSFT".into(),
            }
        );
    }

    /// The captured daily series (MSFT, 2018-01-17 to 2018-06-08, newest first) with every date
    /// moved forward by whole weeks so that its newest day falls in the last seven days:
    /// `history` keeps only the days of the range counted back from today, which a 2018 capture
    /// is not in. Closes, keys, layout, order and weekdays stay as captured. Returns the body and
    /// the shift.
    fn recent_daily_series() -> (String, time::Duration) {
        let captured = fixture("time-series-daily-msft-compact.json");
        let today = OffsetDateTime::now_utc().date();
        let newest = time::Date::from_calendar_date(2018, time::Month::June, 8).unwrap();
        let shift = time::Duration::weeks((today - newest).whole_weeks());
        let value: Value = serde_json::from_str(&captured).unwrap();
        let days = value["Time Series (Daily)"].as_object().unwrap();
        assert_eq!(days.len(), 100, "the capture changed");
        let mut body = captured.clone();
        // The shifted dates are years after the captured ones, so no date is replaced twice.
        for day in days.keys() {
            let moved = parse_date(day).unwrap() + shift;
            body = body.replace(&format!("\"{day}\""), &format!("\"{moved}\""));
        }
        (body, shift)
    }

    #[tokio::test]
    async fn captured_daily_series_is_oldest_first() {
        let (body, shift) = recent_daily_series();
        let server = MockServer::start().await;
        // Six months asks outputsize=full; the compact capture stands in for it.
        Mock::given(method("GET"))
            .and(path("/query"))
            .and(query_param("function", "TIME_SERIES_DAILY"))
            .and(query_param("symbol", "MSFT"))
            .and(query_param("apikey", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
        let h = provider(&server)
            .history(&sym("MSFT"), AssetKind::Stock, HistoryRange::Month6)
            .await
            .unwrap();
        let at = |y, m, d| time::Date::from_calendar_date(y, m, d).unwrap() + shift;
        assert_eq!(h.len(), 100);
        assert_eq!(h[0].date, at(2018, time::Month::January, 17));
        assert_eq!(h[0].close.to_string(), "90.14");
        assert_eq!(h[1].date, at(2018, time::Month::January, 18));
        assert_eq!(h[98].date, at(2018, time::Month::June, 7));
        assert_eq!(h[98].close.to_string(), "100.88");
        assert_eq!(h[99].date, at(2018, time::Month::June, 8));
        assert_eq!(h[99].close.to_string(), "101.63");
        assert!(
            h.windows(2).all(|w| w[0].date < w[1].date),
            "not oldest first"
        );
    }

    #[tokio::test]
    async fn captured_daily_series_older_than_the_range_is_left_out() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(200)
                .set_body_string(fixture("time-series-daily-msft-compact.json")),
        )
        .await;
        let h = provider(&server)
            .history(&sym("MSFT"), AssetKind::Stock, HistoryRange::Year5)
            .await
            .unwrap();
        assert!(h.is_empty(), "{h:?}");
    }

    #[tokio::test]
    async fn throttling_bodies_are_throttled() {
        for file in [
            "note-call-frequency-handwritten.json",
            "information-daily-rate-limit-handwritten.json",
        ] {
            let e = ibm_error(ResponseTemplate::new(200).set_body_string(fixture(file))).await;
            assert!(is_throttled_without_wait(&e), "{file}: {e:?}");
            // A year asks outputsize=full; the daily limit's text also names "premium plans",
            // but it must not read as a refused premium feature (that would be retried compact).
            let e = history_error(fixture(file), "IBM", HistoryRange::Year1).await;
            assert!(is_throttled_without_wait(&e), "{file}: {e:?}");
        }
    }

    #[tokio::test]
    async fn invalid_call_error_message_is_not_found() {
        let body = fixture("error-message-invalid-call-time-series-daily-handwritten.json");
        let e = history_error(body, "MSFT", HistoryRange::Month1).await;
        assert_eq!(e, QuoteError::NotFound("MSFT".into()));
    }

    #[test]
    fn limits_are_the_free_tier() {
        let p = AlphaVantageProvider::new("http://localhost", KEY, Duration::from_secs(1)).unwrap();
        assert_eq!(p.limits().per_minute, Some(5));
        assert_eq!(p.limits().per_day, Some(25));
        assert_eq!(p.limits().batch_size, 1);
    }
}
