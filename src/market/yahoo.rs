//! Yahoo Finance chart API v8 (keyless): the default source for stocks, ETFs, commodities
//! (front-month futures such as `GC=F`) and crypto (`BTC-USD` pairs).
//!
//! - `GET {base}/v8/finance/chart/{code}?interval=1d&range=5d`: the quote is
//!   `chart.result[0].meta`; the daily bars beside it give the previous close when `meta` leaves
//!   it out.
//! - `GET {base}/v8/finance/chart/{code}?interval=1d&period1=..&period2=..`: daily closes as
//!   parallel arrays `timestamp` and `indicators.quote[0].close`, with `null` gaps.
//! - Only when a chart call is refused (401/403, "Invalid Crumb"): `GET {cookie_url}` for the
//!   session cookie (`https://fc.yahoo.com`), then `GET {base}/v1/test/getcrumb` for a crumb that
//!   later chart calls carry as `&crumb=..`.
//!
//! An unknown symbol is a 404 whose body is `{"chart":{"result":null,"error":{"code":"Not Found"}}}`;
//! throttling is a 429 with the text "Too Many Requests".

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use time::{Date, OffsetDateTime, Time};
use tokio::sync::Mutex;

use super::http::{Answer, Http};
use super::registry::ProviderId;
use super::{
    HistoryRange, Limits, PricePoint, Quote, QuoteError, QuoteProvider, clean_currency, clean_text,
    lenient_decimal, symbols,
};
use crate::domain::{AssetKind, MinorUnit, Symbol};

/// The longest instrument name kept.
const MAX_NAME_CHARS: usize = 200;

/// How far before a quote's session the bar taken as its previous close may be: a weekend
/// and a holiday or two.
const PREVIOUS_SESSION_WITHIN: time::Duration = time::Duration::days(7);

/// The longest crumb accepted; real ones are about a dozen characters.
const MAX_CRUMB_CHARS: usize = 100;

/// Client for Yahoo's chart API.
pub struct YahooProvider {
    http: Http,
    base_url: String,
    cookie_url: String,
    /// The crumb from the last handshake; `None` until Yahoo first asks for one.
    crumb: Mutex<Option<String>>,
    per_minute: u32,
}

#[derive(Deserialize)]
struct Envelope {
    chart: Option<Chart>,
}

#[derive(Deserialize)]
struct Chart {
    #[serde(default)]
    result: Option<Vec<ChartResult>>,
    #[serde(default)]
    error: Option<ChartError>,
}

#[derive(Deserialize)]
struct ChartError {
    code: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct ChartResult {
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    timestamp: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    indicators: Option<Indicators>,
}

// `chartPreviousClose` is left out on purpose: it is the close before the requested range,
// not yesterday's close.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Meta {
    currency: Option<String>,
    long_name: Option<String>,
    short_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    regular_market_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    previous_close: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    regular_market_previous_close: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    fifty_two_week_high: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    fifty_two_week_low: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    regular_market_time: Option<Decimal>,
    /// The exchange's offset from UTC in seconds.
    #[serde(default, deserialize_with = "lenient_decimal")]
    gmtoffset: Option<Decimal>,
}

#[derive(Deserialize)]
struct Indicators {
    #[serde(default)]
    quote: Vec<Bars>,
}

#[derive(Deserialize)]
struct Bars {
    #[serde(default)]
    close: Option<Vec<serde_json::Value>>,
}

impl ChartResult {
    /// The exchange's UTC offset in seconds (0 when absent or absurd).
    fn offset(&self) -> i64 {
        self.meta
            .gmtoffset
            .and_then(|o| o.trunc().to_i64())
            .filter(|o| o.abs() <= 18 * 3600)
            .unwrap_or(0)
    }

    /// `(exchange-local date, close)` for every bar with both a time and a positive close,
    /// oldest first, one per date (the later bar wins).
    fn closes(&self) -> Vec<(Date, Decimal)> {
        let offset = self.offset();
        let times = self.timestamp.as_deref().unwrap_or_default();
        let closes = self
            .indicators
            .as_ref()
            .and_then(|i| i.quote.first())
            .and_then(|q| q.close.as_deref())
            .unwrap_or_default();
        let mut bars: Vec<(i64, Decimal)> = times
            .iter()
            .zip(closes)
            .filter_map(|(t, c)| {
                let close = lenient_decimal(c.clone()).ok()??;
                (close > Decimal::ZERO).then_some((t.as_i64()?, close))
            })
            .collect();
        // Newest first, so that when Yahoo repeats the live session's bar the later one stays.
        bars.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        let mut points: Vec<(Date, Decimal)> = bars
            .into_iter()
            .filter_map(|(t, close)| Some((local_date(t, offset)?, close)))
            .collect();
        points.dedup_by_key(|(d, _)| *d);
        points.reverse();
        points
    }
}

/// The calendar date at the exchange of a unix time.
fn local_date(unix: i64, offset: i64) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp(unix.checked_add(offset)?)
        .ok()
        .map(|t| t.date())
}

/// Percent-encodes a symbol for a path segment. `=` is left as is: it is legal in a path and
/// is how Yahoo writes futures (`GC=F`); `^` (indices such as `^GSPC`) is not.
fn encode_segment(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for b in code.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'=') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// True when Yahoo refused the call for want of a cookie and crumb.
fn wants_crumb(answer: &Answer) -> bool {
    if matches!(
        answer.status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        return true;
    }
    let has_chart = serde_json::from_slice::<Envelope>(&answer.body)
        .ok()
        .and_then(|e| e.chart)
        .and_then(|c| c.result)
        .is_some_and(|r| !r.is_empty());
    if has_chart {
        return false;
    }
    let text = answer.text().to_ascii_lowercase();
    text.contains("invalid crumb") || text.contains("unauthorized")
}

fn is_throttle_text(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("too many requests") || text.contains("rate limit")
}

impl YahooProvider {
    /// `base_url` is everything before `/v8/finance/chart` (`https://query1.finance.yahoo.com`);
    /// `cookie_url` hands out the session cookie when Yahoo asks for a crumb
    /// (`https://fc.yahoo.com`).
    pub fn new(base_url: &str, cookie_url: &str, timeout: Duration) -> reqwest::Result<Self> {
        Ok(Self {
            http: Http::new(ProviderId::Yahoo, timeout)?,
            base_url: base_url.trim_end_matches('/').to_string(),
            cookie_url: cookie_url.to_string(),
            crumb: Mutex::new(None),
            per_minute: 60,
        })
    }

    /// Sends this `User-Agent` instead of stock-ticker's own: Yahoo throttles clients that do
    /// not look like a browser.
    pub fn with_user_agent(mut self, user_agent: &str, timeout: Duration) -> reqwest::Result<Self> {
        self.http = Http::with_user_agent(ProviderId::Yahoo, timeout, user_agent)?;
        Ok(self)
    }

    /// How many requests a minute to allow (Yahoo publishes no limit; 60 by default).
    pub fn with_requests_per_minute(mut self, per_minute: u32) -> Self {
        self.per_minute = per_minute.max(1);
        self
    }

    fn code(&self, symbol: &Symbol, kind: AssetKind) -> Result<String, QuoteError> {
        symbols::yahoo_code(symbol, kind).ok_or_else(|| QuoteError::NotFound(symbol.to_string()))
    }

    async fn fetch_chart(
        &self,
        code: &str,
        params: &[(&str, String)],
        crumb: Option<&str>,
    ) -> Result<Answer, QuoteError> {
        let url = format!(
            "{}/v8/finance/chart/{}",
            self.base_url,
            encode_segment(code)
        );
        let mut request = self.http.client().get(url).query(params);
        if let Some(crumb) = crumb {
            request = request.query(&[("crumb", crumb)]);
        }
        self.http.send(request).await
    }

    /// A chart call, with the cookie and crumb handshake done once if Yahoo demands it.
    async fn chart(
        &self,
        symbol: &Symbol,
        code: &str,
        params: &[(&str, String)],
    ) -> Result<ChartResult, QuoteError> {
        let crumb = self.crumb.lock().await.clone();
        let mut answer = self.fetch_chart(code, params, crumb.as_deref()).await?;
        if wants_crumb(&answer) {
            let fresh = self.renew_crumb(crumb.as_deref()).await?;
            answer = self.fetch_chart(code, params, Some(&fresh)).await?;
        }
        self.read_chart(symbol, &answer)
    }

    /// Gets a new cookie and crumb, unless another call already replaced `stale`.
    async fn renew_crumb(&self, stale: Option<&str>) -> Result<String, QuoteError> {
        let mut cached = self.crumb.lock().await;
        if let Some(current) = cached.as_deref()
            && Some(current) != stale
        {
            return Ok(current.to_string());
        }
        *cached = None;
        // Any status will do: the cookie store keeps whatever Set-Cookie came with it.
        self.http
            .send(self.http.client().get(&self.cookie_url))
            .await?;
        let answer = self
            .http
            .send(
                self.http
                    .client()
                    .get(format!("{}/v1/test/getcrumb", self.base_url)),
            )
            .await?;
        let text = answer.text();
        let crumb = text.trim();
        // Yahoo has answered the crumb call with the text "Too Many Requests".
        if is_throttle_text(crumb) {
            return Err(self.http.throttled(None));
        }
        if !answer.status.is_success() {
            return Err(self
                .http
                .unavailable(format!("no crumb (HTTP {})", answer.status.as_u16())));
        }
        let usable = !crumb.is_empty()
            && crumb.chars().count() <= MAX_CRUMB_CHARS
            && crumb.chars().all(|c| c.is_ascii_graphic())
            && !crumb.contains(['<', '{', '"']);
        if !usable {
            return Err(self.http.unavailable("answered no usable crumb"));
        }
        *cached = Some(crumb.to_string());
        Ok(crumb.to_string())
    }

    /// Judges a chart answer: the first result, or why there is none.
    fn read_chart(&self, symbol: &Symbol, answer: &Answer) -> Result<ChartResult, QuoteError> {
        let chart = serde_json::from_slice::<Envelope>(&answer.body)
            .ok()
            .and_then(|e| e.chart);
        let error_code = chart
            .as_ref()
            .and_then(|c| c.error.as_ref())
            .and_then(|e| e.code.clone())
            .unwrap_or_default();
        if error_code.eq_ignore_ascii_case("Not Found") {
            return Err(QuoteError::NotFound(symbol.to_string()));
        }
        if is_throttle_text(&error_code) || (chart.is_none() && is_throttle_text(&answer.text())) {
            return Err(self.http.throttled(None));
        }
        let status = answer.status;
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(self
                .http
                .unavailable(format!("access refused (HTTP {})", status.as_u16())));
        }
        if !status.is_success() {
            return Err(self.http.unavailable(format!("HTTP {}", status.as_u16())));
        }
        if answer.is_html() {
            return Err(self
                .http
                .unavailable("answered an HTML page instead of data"));
        }
        let Some(chart) = chart else {
            return Err(self.http.unavailable("response is not the expected JSON"));
        };
        if let Some(error) = chart.error {
            let what = clean_text(error.code.or(error.description), 60)
                .unwrap_or_else(|| "unknown".into());
            return Err(self.http.unavailable(format!("answered error: {what}")));
        }
        chart
            .result
            .and_then(|r| r.into_iter().next())
            .ok_or_else(|| self.http.unavailable("response has no chart"))
    }

    fn to_quote(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
        chart: ChartResult,
    ) -> Result<Quote, QuoteError> {
        let positive = |d: Option<Decimal>| d.filter(|v| *v > Decimal::ZERO);
        let price = positive(chart.meta.regular_market_price)
            .ok_or_else(|| self.http.unavailable("response has no price"))?;
        let as_of_unix = chart
            .meta
            .regular_market_time
            .and_then(|t| t.trunc().to_i64());
        let previous_close = positive(chart.meta.previous_close)
            .or(positive(chart.meta.regular_market_previous_close))
            .or_else(|| {
                // With range=5d Yahoo often leaves previousClose out; the last daily bar before
                // the session of regularMarketTime is the previous session's close, when it is
                // from the week before (an older bar would give a change over months).
                let session = local_date(as_of_unix?, chart.offset())?;
                chart
                    .closes()
                    .into_iter()
                    .rev()
                    .find(|(date, _)| *date < session)
                    .filter(|(date, _)| session - *date <= PREVIOUS_SESSION_WITHIN)
                    .map(|(_, close)| close)
            });
        let meta = chart.meta;
        let name = clean_text(meta.long_name, MAX_NAME_CHARS)
            .or_else(|| clean_text(meta.short_name, MAX_NAME_CHARS))
            .or_else(|| symbols::label(symbol, kind).map(str::to_string));
        Ok(Quote {
            name,
            currency: clean_currency(meta.currency),
            previous_close,
            week52_high: positive(meta.fifty_two_week_high),
            week52_low: positive(meta.fifty_two_week_low),
            as_of: as_of_unix.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
            ..Quote::new(symbol.clone(), price, self.name())
        }
        .with_derived_change()
        .in_major_units())
    }
}

#[async_trait]
impl QuoteProvider for YahooProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Yahoo
    }

    fn limits(&self) -> Limits {
        // Yahoo publishes no limit and throttles freely: stay polite.
        Limits {
            per_minute: Some(self.per_minute),
            per_day: None,
            batch_size: 1,
            cost_per_symbol: false,
        }
    }

    fn supports(&self, symbol: &Symbol, kind: AssetKind) -> bool {
        match kind {
            AssetKind::Stock | AssetKind::Etf | AssetKind::Crypto => true,
            AssetKind::Commodity => symbols::yahoo_code(symbol, kind).is_some(),
            AssetKind::Item => false,
        }
    }

    #[tracing::instrument(skip_all, fields(provider = "yahoo", %symbol), err(level = "warn"))]
    async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        let code = self.code(symbol, kind)?;
        let params = [("interval", "1d".to_string()), ("range", "5d".to_string())];
        let chart = self.chart(symbol, &code, &params).await?;
        self.to_quote(symbol, kind, chart)
    }

    #[tracing::instrument(skip_all, fields(provider = "yahoo", %symbol), err(level = "warn"))]
    async fn history(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
        range: HistoryRange,
    ) -> Result<Vec<PricePoint>, QuoteError> {
        let code = self.code(symbol, kind)?;
        let now = OffsetDateTime::now_utc();
        let start = range
            .start(now.date())
            .with_time(Time::MIDNIGHT)
            .assume_utc();
        let params = [
            ("interval", "1d".to_string()),
            ("period1", start.unix_timestamp().to_string()),
            ("period2", now.unix_timestamp().to_string()),
        ];
        let chart = self.chart(symbol, &code, &params).await?;
        // London's closes come in pence, like its quotes: kept in pounds.
        let unit = chart.meta.currency.as_deref().and_then(MinorUnit::of);
        Ok(chart
            .closes()
            .into_iter()
            .map(|(date, close)| PricePoint {
                date,
                close: unit.map_or(close, |u| u.to_major(close)),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const NVDA: &str = r#"{"chart":{"result":[{"meta":{"currency":"USD","symbol":"NVDA",
      "exchangeName":"NMS","instrumentType":"EQUITY","regularMarketTime":1705957200,
      "gmtoffset":-18000,"regularMarketPrice":596.54,"previousClose":590.1,
      "chartPreviousClose":547.1,"longName":"NVIDIA Corporation","shortName":"NVIDIA Corp",
      "fiftyTwoWeekHigh":600.0,"fiftyTwoWeekLow":260.0},
      "timestamp":[1705415400,1705501800],
      "indicators":{"quote":[{"open":[550.18,null],"close":[563.82,null]}],
      "adjclose":[{"adjclose":[563.82,null]}]}}],"error":null}}"#;

    const NOT_FOUND: &str = r#"{"chart":{"result":null,"error":{"code":"Not Found",
      "description":"No data found, symbol may be delisted"}}}"#;

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    fn provider(server: &MockServer) -> YahooProvider {
        let cookie_url = format!("{}/consent", server.uri());
        YahooProvider::new(&server.uri(), &cookie_url, Duration::from_secs(1)).unwrap()
    }

    fn chart_body(meta: &str) -> String {
        format!(r#"{{"chart":{{"result":[{{"meta":{meta}}}],"error":null}}}}"#)
    }

    async fn answer_with(template: ResponseTemplate) -> (MockServer, YahooProvider) {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(template)
            .mount(&server)
            .await;
        let p = provider(&server);
        (server, p)
    }

    async fn stock_quote_error(template: ResponseTemplate) -> QuoteError {
        let (_server, p) = answer_with(template).await;
        p.quote(&sym("NVDA"), AssetKind::Stock).await.unwrap_err()
    }

    #[tokio::test]
    async fn quote_reads_meta_with_previous_close_not_chart_previous_close() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v8/finance/chart/NVDA"))
            .and(query_param("interval", "1d"))
            .and(query_param("range", "5d"))
            .and(query_param_is_missing("crumb"))
            .respond_with(ResponseTemplate::new(200).set_body_string(NVDA))
            .expect(1)
            .mount(&server)
            .await;
        let q = provider(&server)
            .quote(&sym("nvda"), AssetKind::Stock)
            .await
            .unwrap();
        assert_eq!(q.symbol.as_str(), "NVDA");
        assert_eq!(q.source, "yahoo");
        assert_eq!(q.price.to_string(), "596.54");
        assert_eq!(q.previous_close.unwrap().to_string(), "590.1");
        assert_eq!(q.change.unwrap().to_string(), "6.44");
        assert_eq!(q.change_percent.unwrap().to_string(), "1.0913");
        assert_eq!(q.name.as_deref(), Some("NVIDIA Corporation"));
        assert_eq!(q.currency.as_deref(), Some("USD"));
        assert_eq!(q.week52_high.unwrap().to_string(), "600");
        assert_eq!(q.week52_low.unwrap().to_string(), "260");
        assert_eq!(q.as_of.unwrap().unix_timestamp(), 1705957200);
    }

    #[tokio::test]
    async fn missing_previous_close_comes_from_the_prior_session_bar() {
        // Sessions of 2024-01-17, -19 and -22 (09:30 New York); the price is from the 22nd.
        let body = r#"{"chart":{"result":[{"meta":{"currency":"USD","regularMarketPrice":596.54,
          "regularMarketTime":1705957200,"gmtoffset":-18000,"chartPreviousClose":547.1},
          "timestamp":[1705501800,1705674600,1705933800],
          "indicators":{"quote":[{"close":[560.53,594.91,null]}]}}],"error":null}}"#;
        let (_server, p) = answer_with(ResponseTemplate::new(200).set_body_string(body)).await;
        let q = p.quote(&sym("NVDA"), AssetKind::Stock).await.unwrap();
        assert_eq!(q.previous_close.unwrap().to_string(), "594.91");
    }

    #[tokio::test]
    async fn commodity_by_name_asks_for_the_future_and_keeps_a_label() {
        let server = MockServer::start().await;
        Mock::given(path("/v8/finance/chart/GC=F"))
            .respond_with(ResponseTemplate::new(200).set_body_string(chart_body(
                r#"{"currency":"USD","symbol":"GC=F","regularMarketPrice":2034.5}"#,
            )))
            .expect(1)
            .mount(&server)
            .await;
        let q = provider(&server)
            .quote(&sym("gold"), AssetKind::Commodity)
            .await
            .unwrap();
        assert_eq!(q.symbol.as_str(), "GOLD");
        assert_eq!(q.name.as_deref(), Some("Gold"));
        assert_eq!(q.price.to_string(), "2034.5");
    }

    #[tokio::test]
    async fn crypto_asks_for_the_usd_pair() {
        let server = MockServer::start().await;
        Mock::given(path("/v8/finance/chart/BTC-USD"))
            .respond_with(ResponseTemplate::new(200).set_body_string(chart_body(
                r#"{"currency":"USD","regularMarketPrice":43012.25,"shortName":"Bitcoin USD"}"#,
            )))
            .expect(1)
            .mount(&server)
            .await;
        let q = provider(&server)
            .quote(&sym("BTC"), AssetKind::Crypto)
            .await
            .unwrap();
        assert_eq!(q.symbol.as_str(), "BTC");
        assert_eq!(q.name.as_deref(), Some("Bitcoin USD"));
        assert_eq!(q.price.to_string(), "43012.25");
    }

    #[tokio::test]
    async fn index_caret_is_percent_encoded() {
        let server = MockServer::start().await;
        Mock::given(path("/v8/finance/chart/%5EGSPC"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_string(chart_body(r#"{"regularMarketPrice":4850.43}"#)),
            )
            .expect(1)
            .mount(&server)
            .await;
        let q = provider(&server)
            .quote(&sym("^GSPC"), AssetKind::Etf)
            .await
            .unwrap();
        assert_eq!(q.price.to_string(), "4850.43");
    }

    #[tokio::test]
    async fn supports_and_limits() {
        let p = YahooProvider::new("http://x", "http://y", Duration::from_secs(1)).unwrap();
        assert!(p.supports(&sym("AAPL"), AssetKind::Stock));
        assert!(p.supports(&sym("SPY"), AssetKind::Etf));
        assert!(p.supports(&sym("PEPE"), AssetKind::Crypto));
        assert!(p.supports(&sym("SILVER"), AssetKind::Commodity));
        assert!(!p.supports(&sym("UNOBTAINIUM"), AssetKind::Commodity));
        assert!(!p.supports(&sym("WATCH"), AssetKind::Item));
        assert_eq!(p.name(), "yahoo");
        assert_eq!(p.limits().per_minute, Some(60));
        assert_eq!(p.limits().per_day, None);
        assert_eq!(p.limits().batch_size, 1);
    }

    #[tokio::test]
    async fn history_skips_nulls_oldest_first() {
        let server = MockServer::start().await;
        let start = HistoryRange::Month1
            .start(OffsetDateTime::now_utc().date())
            .with_time(Time::MIDNIGHT)
            .assume_utc()
            .unix_timestamp();
        // Out of order, a null close, a null timestamp and the live bar repeated.
        let body = r#"{"chart":{"result":[{"meta":{"regularMarketPrice":596.54,"gmtoffset":-18000},
          "timestamp":[1705957200,1705674600,1705415400,1705501800,null,1705933800],
          "indicators":{"quote":[{"close":[596.54,594.91,563.82,null,1.5,590.0]}]}}],"error":null}}"#;
        Mock::given(path("/v8/finance/chart/NVDA"))
            .and(query_param("interval", "1d"))
            .and(query_param("period1", start.to_string()))
            .and(query_param_is_missing("range"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
        let h = provider(&server)
            .history(&sym("NVDA"), AssetKind::Stock, HistoryRange::Month1)
            .await
            .unwrap();
        let got: Vec<String> = h
            .iter()
            .map(|p| format!("{} {}", p.date, p.close))
            .collect();
        assert_eq!(
            got,
            [
                "2024-01-16 563.82",
                "2024-01-19 594.91",
                "2024-01-22 596.54"
            ]
        );
    }

    #[tokio::test]
    async fn history_sends_a_period_ending_now() {
        let server = MockServer::start().await;
        Mock::given(path("/v8/finance/chart/NVDA"))
            .respond_with(ResponseTemplate::new(200).set_body_string(NVDA))
            .mount(&server)
            .await;
        let before = OffsetDateTime::now_utc().unix_timestamp();
        provider(&server)
            .history(&sym("NVDA"), AssetKind::Stock, HistoryRange::Year1)
            .await
            .unwrap();
        let requests = server.received_requests().await.unwrap();
        let period2: i64 = requests[0]
            .url
            .query_pairs()
            .find(|(k, _)| k == "period2")
            .unwrap()
            .1
            .parse()
            .unwrap();
        assert!((before..before + 5).contains(&period2));
    }

    #[tokio::test]
    async fn unknown_symbol_is_not_found() {
        let e = stock_quote_error(ResponseTemplate::new(404).set_body_string(NOT_FOUND)).await;
        assert_eq!(e, QuoteError::NotFound("NVDA".into()));
    }

    #[tokio::test]
    async fn a_bare_404_is_unavailable_not_unknown() {
        let e = stock_quote_error(ResponseTemplate::new(404).set_body_string("no route")).await;
        assert!(matches!(e, QuoteError::Unavailable { reason, .. } if reason == "HTTP 404"));
    }

    #[tokio::test]
    async fn server_error_is_unavailable() {
        let e = stock_quote_error(ResponseTemplate::new(500)).await;
        assert!(matches!(e, QuoteError::Unavailable { reason, .. } if reason == "HTTP 500"));
    }

    #[tokio::test]
    async fn too_many_requests_is_throttled_with_retry_after() {
        let e = stock_quote_error(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "7")
                .set_body_string("Too Many Requests"),
        )
        .await;
        assert_eq!(
            e,
            QuoteError::Throttled {
                provider: "yahoo".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
    }

    #[tokio::test]
    async fn throttling_inside_a_200_is_throttled() {
        let e = stock_quote_error(ResponseTemplate::new(200).set_body_string("Too Many Requests"))
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
    async fn html_page_is_unavailable() {
        let e = stock_quote_error(
            ResponseTemplate::new(200)
                .set_body_string("<!DOCTYPE html><html><body>Will be right back</body></html>"),
        )
        .await;
        assert!(matches!(e, QuoteError::Unavailable { reason, .. } if reason.contains("HTML")));
    }

    #[tokio::test]
    async fn malformed_json_is_unavailable() {
        let e =
            stock_quote_error(ResponseTemplate::new(200).set_body_string(r#"{"chart":{"#)).await;
        assert!(matches!(e, QuoteError::Unavailable { reason, .. } if reason.contains("JSON")));
    }

    #[tokio::test]
    async fn a_zero_price_is_unavailable() {
        let body = chart_body(r#"{"regularMarketPrice":0}"#);
        let e = stock_quote_error(ResponseTemplate::new(200).set_body_string(body)).await;
        assert!(matches!(e, QuoteError::Unavailable { reason, .. } if reason.contains("no price")));
    }

    #[tokio::test]
    async fn slow_answer_times_out() {
        let e = stock_quote_error(
            ResponseTemplate::new(200)
                .set_body_string(NVDA)
                .set_delay(Duration::from_secs(3)),
        )
        .await;
        assert!(matches!(e, QuoteError::Unavailable { reason, .. } if reason == "timed out"));
    }

    /// A real captured chart answer (see tests/fixtures/PROVENANCE.md).
    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/yahoo/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    async fn quote_from(file: &str, symbol: &str, kind: AssetKind) -> Result<Quote, QuoteError> {
        let (_server, p) =
            answer_with(ResponseTemplate::new(200).set_body_string(fixture(file))).await;
        p.quote(&sym(symbol), kind).await
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn real_answers_give_price_name_and_currency_for_every_kind_of_asset() {
        let cases = [
            (
                "chart-aapl-us-equity-daily.json",
                "AAPL",
                AssetKind::Stock,
                "222.5",
                Some("USD"),
                Some("Apple Inc."),
            ),
            (
                "chart-btc-usd-crypto.json",
                "BTC",
                AssetKind::Crypto,
                "58754.793",
                Some("USD"),
                Some("Bitcoin USD"),
            ),
            (
                "chart-eurusd-x-fx.json",
                "EURUSD=X",
                AssetKind::Stock,
                "1.1131",
                Some("USD"),
                Some("EUR/USD"),
            ),
            (
                "chart-gc-f-gold-future-usd.json",
                "GOLD",
                AssetKind::Commodity,
                "2609.4",
                Some("USD"),
                Some("Gold Dec 24"),
            ),
            (
                "chart-gspc-index-range-1d.json",
                "^GSPC",
                AssetKind::Etf,
                "5085.06",
                Some("USD"),
                None,
            ),
            (
                "chart-wsu-de-eur-with-null-row.json",
                "WSU.DE",
                AssetKind::Stock,
                "33.35",
                Some("EUR"),
                None,
            ),
            (
                "chart-lucyw-null-currency-empty-indicators.json",
                "LUCYW",
                AssetKind::Stock,
                "0.1246",
                None,
                Some("Innovative Eyewear, Inc."),
            ),
        ];
        for (file, symbol, kind, price, currency, name) in cases {
            let q = quote_from(file, symbol, kind).await.unwrap();
            assert_eq!(q.price, d(price), "{file}");
            assert_eq!(q.currency.as_deref(), currency, "{file}");
            if kind != AssetKind::Etf {
                assert_eq!(q.name.as_deref(), name, "{file}");
            }
            assert!(q.as_of.is_some(), "{file}");
            assert_eq!(q.quoted_in, None, "{file}");
        }
    }

    #[tokio::test]
    async fn a_bar_from_long_before_the_session_is_no_previous_close() {
        // These answers carry bars from 2020 (or a month back) beside a price from 2023-2024:
        // no previous close, no change, rather than a change of hundreds of percent.
        for (file, symbol) in [
            ("chart-aapl-us-equity-daily.json", "AAPL"),
            ("chart-btc-usd-crypto.json", "BTC-USD"),
            ("chart-gc-f-gold-future-usd.json", "GC=F"),
            ("chart-wsu-de-eur-with-null-row.json", "WSU.DE"),
            ("chart-gspc-index-range-1d.json", "^GSPC"),
        ] {
            let q = quote_from(file, symbol, AssetKind::Stock).await.unwrap();
            assert_eq!(
                (q.previous_close, q.change, q.change_percent),
                (None, None, None),
                "{file}"
            );
        }
        let with_meta = quote_from(
            "chart-aapl-1m-intraday-with-previousclose.json",
            "AAPL",
            AssetKind::Stock,
        )
        .await
        .unwrap();
        assert_eq!(
            with_meta.previous_close,
            Some(d("226.78")),
            "meta's own previousClose"
        );
    }

    #[tokio::test]
    async fn a_london_price_in_pence_is_kept_in_pounds() {
        let q = quote_from("chart-ocdo-l-gbp-pence.json", "OCDO.L", AssetKind::Stock)
            .await
            .unwrap();
        assert_eq!(q.price, d("3.36569"));
        assert_eq!(q.currency.as_deref(), Some("GBP"));
        assert_eq!(q.quoted_in.as_deref(), Some("GBp"));
        assert_eq!(
            (q.week52_high, q.week52_low),
            (Some(d("3.418")), Some(d("3.242")))
        );
        assert_eq!(q.name.as_deref(), Some("Ocado Group plc"));

        let (_server, p) = answer_with(
            ResponseTemplate::new(200).set_body_string(fixture("chart-ocdo-l-gbp-pence.json")),
        )
        .await;
        let history = p
            .history(&sym("OCDO.L"), AssetKind::Stock, HistoryRange::Month1)
            .await
            .unwrap();
        let closes: Vec<String> = history
            .iter()
            .map(|p| format!("{} {}", p.date, p.close))
            .collect();
        assert_eq!(closes, ["2020-01-02 12.595"], "closes in pounds too");
    }

    #[tokio::test]
    async fn a_future_quoted_in_cents_is_kept_in_dollars() {
        // Hand-written in the shape of the gold capture: no public capture of a cents future.
        let q = quote_from(
            "chart-zc-f-corn-cents-handwritten.json",
            "ZC=F",
            AssetKind::Stock,
        )
        .await
        .unwrap();
        assert_eq!(q.price, d("4.2025"));
        assert_eq!(q.currency.as_deref(), Some("USD"));
        assert_eq!(q.quoted_in.as_deref(), Some("USX"));
        assert_eq!(
            q.previous_close,
            Some(d("4.155")),
            "the previous session's bar, in dollars"
        );
        assert_eq!(q.change, Some(d("0.0475")));
        assert_eq!(q.change_percent, Some(d("1.1432")));
        assert_eq!(
            (q.week52_high, q.week52_low),
            (Some(d("4.7")), Some(d("3.8625")))
        );
    }

    #[tokio::test]
    async fn real_answers_without_a_price_or_for_a_delisted_symbol() {
        let e = quote_from(
            "chart-adh-null-currency-no-price.json",
            "ADH",
            AssetKind::Stock,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, QuoteError::Unavailable { reason, .. } if reason.contains("no price")));
        let (_server, p) = answer_with(
            ResponseTemplate::new(404)
                .set_body_string(fixture("chart-error-404-six-delisted.json")),
        )
        .await;
        let e = p.quote(&sym("SIX"), AssetKind::Stock).await.unwrap_err();
        assert_eq!(e, QuoteError::NotFound("SIX".into()));
    }

    /// Mounts the consent cookie and crumb endpoints, each expected `times` times.
    async fn mount_handshake(server: &MockServer, crumb: &str, times: u64) {
        Mock::given(path("/consent"))
            .respond_with(
                ResponseTemplate::new(404).insert_header("Set-Cookie", "A3=d=xyz; Path=/"),
            )
            .expect(times)
            .mount(server)
            .await;
        Mock::given(path("/v1/test/getcrumb"))
            .and(header("cookie", "A3=d=xyz"))
            .respond_with(ResponseTemplate::new(200).set_body_string(crumb))
            .expect(times)
            .mount(server)
            .await;
    }

    #[tokio::test]
    async fn refused_chart_call_does_the_crumb_handshake_once_and_reuses_it() {
        let server = MockServer::start().await;
        Mock::given(path("/v8/finance/chart/NVDA"))
            .and(query_param_is_missing("crumb"))
            .respond_with(ResponseTemplate::new(401).set_body_string(
                r#"{"finance":{"result":null,"error":{"code":"Unauthorized","description":"Invalid Crumb"}}}"#,
            ))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/v8/finance/chart/NVDA"))
            .and(query_param("crumb", "abc123"))
            .respond_with(ResponseTemplate::new(200).set_body_string(NVDA))
            .expect(2)
            .mount(&server)
            .await;
        mount_handshake(&server, "abc123", 1).await;
        let p = provider(&server);
        for _ in 0..2 {
            let q = p.quote(&sym("NVDA"), AssetKind::Stock).await.unwrap();
            assert_eq!(q.price.to_string(), "596.54");
        }
    }

    #[tokio::test]
    async fn an_expired_crumb_is_renewed() {
        let server = MockServer::start().await;
        Mock::given(path("/v8/finance/chart/NVDA"))
            .and(query_param("crumb", "old"))
            .respond_with(ResponseTemplate::new(403))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/v8/finance/chart/NVDA"))
            .and(query_param("crumb", "new"))
            .respond_with(ResponseTemplate::new(200).set_body_string(NVDA))
            .expect(1)
            .mount(&server)
            .await;
        mount_handshake(&server, "new", 1).await;
        let p = provider(&server);
        *p.crumb.lock().await = Some("old".into());
        let q = p.quote(&sym("NVDA"), AssetKind::Stock).await.unwrap();
        assert_eq!(q.price.to_string(), "596.54");
        assert_eq!(p.crumb.lock().await.as_deref(), Some("new"));
    }

    #[tokio::test]
    async fn a_refusal_after_the_handshake_is_unavailable_without_looping() {
        let server = MockServer::start().await;
        Mock::given(path("/v8/finance/chart/NVDA"))
            .respond_with(ResponseTemplate::new(401))
            .expect(2)
            .mount(&server)
            .await;
        mount_handshake(&server, "abc123", 1).await;
        let e = provider(&server)
            .quote(&sym("NVDA"), AssetKind::Stock)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, QuoteError::Unavailable { reason, .. } if reason == "access refused (HTTP 401)")
        );
        let text = e.to_string();
        assert!(!text.contains("abc123") && !text.contains(&server.uri()));
    }

    #[tokio::test]
    async fn a_throttled_crumb_call_is_throttled() {
        let server = MockServer::start().await;
        Mock::given(path("/v8/finance/chart/NVDA"))
            .respond_with(ResponseTemplate::new(401))
            .mount(&server)
            .await;
        mount_handshake(&server, "Too Many Requests", 1).await;
        let e = provider(&server)
            .quote(&sym("NVDA"), AssetKind::Stock)
            .await
            .unwrap_err();
        assert!(matches!(e, QuoteError::Throttled { .. }));
    }
}
