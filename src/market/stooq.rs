//! Stooq: CSV quotes and daily history for stocks, ETFs and commodity futures. An API key is
//! required since 2026 (`&apikey=K`).
//!
//! - `GET {base}/q/l/?s=aapl.us&f=sd2t2ohlcv&h&e=csv&apikey=K`: the header
//!   `Symbol,Date,Time,Open,High,Low,Close,Volume` and one row; an unknown symbol's row is
//!   all `N/D`.
//! - `GET {base}/q/d/l/?s=aapl.us&i=d&d1=YYYYMMDD&d2=YYYYMMDD&apikey=K`: the header
//!   `Date,Open,High,Low,Close,Volume` and one row per day, oldest first; an unknown symbol is
//!   the text `No data`.
//!
//! Every answer is sniffed: Stooq says "Exceeded the daily hits limit" and serves a
//! proof-of-work HTML page with HTTP 200, so a body that does not start with the expected
//! header is a failure whatever the status. Codes: US stocks and ETFs are lower-cased with
//! `.us` appended (`aapl.us`), symbols with a market suffix are kept (`vod.uk`), commodities
//! are Stooq's continuous futures from [`symbols::commodity`] (`gc.f`).

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use time::macros::{format_description, time};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::http::{Answer, Http};
use super::registry::ProviderId;
use super::{HistoryRange, Limits, PricePoint, Quote, QuoteError, QuoteProvider, clean_text};
use crate::domain::{AssetKind, Symbol, parse_decimal};
use crate::market::symbols;

/// The longest name kept.
const MAX_NAME_CHARS: usize = 200;

/// Stooq futures quoted in US dollars. The grain and soft futures (wheat, corn, coffee, sugar,
/// cotton) are quoted in US cents, so they get no currency rather than a wrong one.
const USD_FUTURES: &[&str] = &[
    "gc.f", "si.f", "pl.f", "pa.f", "hg.f", "cl.f", "cb.f", "ng.f",
];

/// Client for Stooq's CSV endpoints.
pub struct StooqProvider {
    http: Http,
    base_url: String,
    api_key: String,
}

/// Stooq's code for an asset, or `None` when Stooq cannot price it.
fn stooq_code(symbol: &Symbol, kind: AssetKind) -> Option<String> {
    match kind {
        AssetKind::Stock | AssetKind::Etf => {
            let s = symbol.as_str().to_ascii_lowercase();
            // `=` only appears in Yahoo's own codes (GC=F, EURUSD=X), which Stooq does not use.
            if s.contains('=') {
                return None;
            }
            if s.starts_with('^') {
                return Some(s);
            }
            match s.rsplit_once('.') {
                None => Some(format!("{s}.us")),
                // A share class (BRK.B) is `brk-b.us` at Stooq; market suffixes have two letters.
                Some((base, class)) if class.len() == 1 && !base.is_empty() => {
                    Some(format!("{base}-{class}.us"))
                }
                Some(_) => Some(s),
            }
        }
        AssetKind::Commodity => symbols::commodity(symbol)
            .and_then(|c| c.stooq)
            .map(str::to_string),
        AssetKind::Crypto | AssetKind::Item => None,
    }
}

/// The currency of a code's prices, where it is known: Stooq's CSV never names one.
fn currency_of(code: &str) -> Option<String> {
    (code.ends_with(".us") || USD_FUTURES.contains(&code)).then(|| "USD".to_string())
}

/// Splits CSV text into trimmed fields per non-empty line (no quoting in Stooq's answers).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    text.trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.split(',')
                .map(|f| f.trim().trim_matches('"').trim().to_string())
                .collect()
        })
        .collect()
}

/// A field of `row` by column name; `None` when absent, empty or `N/D`.
fn field<'a>(header: &[String], row: &'a [String], name: &str) -> Option<&'a str> {
    let i = header.iter().position(|h| h.eq_ignore_ascii_case(name))?;
    row.get(i)
        .map(String::as_str)
        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("n/d"))
}

fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .or_else(|_| Date::parse(text, format_description!("[year][month][day]")))
        .ok()
}

fn parse_time(text: &str) -> Option<Time> {
    let text = text.trim();
    Time::parse(text, format_description!("[hour]:[minute]:[second]"))
        .or_else(|_| Time::parse(text, format_description!("[hour][minute][second]")))
        .ok()
}

/// The last Sunday of a month that has 31 days (March, October).
fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let last = Date::from_calendar_date(year, month, 31).ok()?;
    let back = i64::from(last.weekday().number_days_from_sunday());
    Some(last - time::Duration::days(back))
}

/// Stooq stamps quotes in Warsaw time (a US close reads 22:00 in winter and in summer):
/// CET, or CEST between the last Sundays of March and October at 01:00 UTC.
fn warsaw_to_utc(local: PrimitiveDateTime) -> Option<OffsetDateTime> {
    let year = local.year();
    let dst_start = last_sunday(year, Month::March)?
        .with_time(time!(1:00))
        .assume_utc();
    let dst_end = last_sunday(year, Month::October)?
        .with_time(time!(1:00))
        .assume_utc();
    let as_cet = local.assume_offset(UtcOffset::from_hms(1, 0, 0).ok()?);
    let summer = as_cet >= dst_start && as_cet < dst_end;
    let at = if summer {
        local.assume_offset(UtcOffset::from_hms(2, 0, 0).ok()?)
    } else {
        as_cet
    };
    Some(at.to_offset(UtcOffset::UTC))
}

impl StooqProvider {
    /// `base_url` is everything before `/q/...`; without an `api_key` Stooq is skipped.
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> reqwest::Result<Self> {
        Ok(Self {
            http: Http::new(ProviderId::Stooq, timeout)?,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
        })
    }

    /// A GET of `path` with the query built by hand: the documented `h` flag has no value.
    fn get(&self, path: &str, params: &[(&str, &str)], flags: &str) -> reqwest::RequestBuilder {
        let mut pairs = params.to_vec();
        pairs.push(("apikey", &self.api_key));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        self.http
            .client()
            .get(format!("{}{path}?{query}{flags}", self.base_url))
    }

    /// The CSV rows (header first) of an answer whose first line starts with `first_column`
    /// and names a Close column; anything else is a failure, whatever the HTTP status.
    fn csv(&self, answer: &Answer, first_column: &str) -> Result<Vec<Vec<String>>, QuoteError> {
        let text = answer.text();
        let lower = text.to_ascii_lowercase();
        if lower.contains("exceeded the daily hits limit") {
            return Err(self.http.throttled(None));
        }
        if matches!(
            answer.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return Err(self
                .http
                .unavailable(format!("key refused (HTTP {})", answer.status.as_u16())));
        }
        if !answer.status.is_success() {
            return Err(self
                .http
                .unavailable(format!("HTTP {}", answer.status.as_u16())));
        }
        let rows = parse_csv(&text);
        let header_ok = rows.first().is_some_and(|h| {
            h[0].eq_ignore_ascii_case(first_column)
                && h.iter().any(|c| c.eq_ignore_ascii_case("close"))
        });
        if header_ok {
            return Ok(rows);
        }
        Err(self.http.unavailable(if answer.is_html() {
            // Also the proof-of-work page and the "get an API key" page.
            "answered an HTML page instead of data"
        } else if lower.contains("apikey") || lower.contains("api key") {
            "key refused or missing"
        } else {
            "response is not the expected CSV"
        }))
    }

    fn code(&self, symbol: &Symbol, kind: AssetKind) -> Result<String, QuoteError> {
        if self.api_key.is_empty() {
            return Err(self.http.unavailable("no API key configured"));
        }
        stooq_code(symbol, kind).ok_or_else(|| QuoteError::NotFound(symbol.to_string()))
    }
}

#[async_trait]
impl QuoteProvider for StooqProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Stooq
    }

    fn limits(&self) -> Limits {
        Limits {
            per_minute: None,
            // The daily quota is unpublished; stay well below what users report.
            per_day: Some(500),
            batch_size: 1,
            cost_per_symbol: false,
        }
    }

    fn supports(&self, symbol: &Symbol, kind: AssetKind) -> bool {
        !self.api_key.is_empty() && stooq_code(symbol, kind).is_some()
    }

    #[tracing::instrument(skip_all, fields(provider = "stooq", %symbol), err(level = "warn"))]
    async fn quote(&self, symbol: &Symbol, kind: AssetKind) -> Result<Quote, QuoteError> {
        let code = self.code(symbol, kind)?;
        let request = self.get(
            "/q/l/",
            &[("s", code.as_str()), ("f", "sd2t2ohlcv")],
            "&h&e=csv",
        );
        let answer = self.http.send(request).await?;
        let rows = self.csv(&answer, "symbol")?;
        let (header, row) = (&rows[0], rows.get(1));
        let row = row.ok_or_else(|| self.http.unavailable("response has no price"))?;
        let close = field(header, row, "close");
        if close.is_none() || field(header, row, "date").is_none() {
            return Err(QuoteError::NotFound(symbol.to_string()));
        }
        let price = close
            .and_then(parse_decimal)
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| self.http.unavailable("response has no price"))?;
        if let Some(answered) = field(header, row, "symbol")
            && !answered.eq_ignore_ascii_case(&code)
        {
            return Err(self.http.unavailable(format!(
                "asked for {code}, answered {}",
                clean_text(Some(answered.to_string()), 20).unwrap_or_default()
            )));
        }
        let date = field(header, row, "date").and_then(parse_date);
        let time = field(header, row, "time").and_then(parse_time);
        let as_of = date
            .zip(time)
            .and_then(|(d, t)| warsaw_to_utc(PrimitiveDateTime::new(d, t)));
        let name = field(header, row, "name")
            .map(str::to_string)
            .or_else(|| symbols::label(symbol, kind).map(str::to_string));
        // The quote row has no previous close: change and change % stay empty.
        Ok(Quote {
            name: clean_text(name, MAX_NAME_CHARS),
            currency: currency_of(&code),
            as_of,
            ..Quote::new(symbol.clone(), price.normalize(), self.name())
        }
        .with_derived_change())
    }

    #[tracing::instrument(skip_all, fields(provider = "stooq", %symbol), err(level = "warn"))]
    async fn history(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
        range: HistoryRange,
    ) -> Result<Vec<PricePoint>, QuoteError> {
        let code = self.code(symbol, kind)?;
        let today = OffsetDateTime::now_utc().date();
        let start = range.start(today);
        let day = format_description!("[year][month][day]");
        let (d1, d2) = (
            start.format(day).unwrap_or_default(),
            today.format(day).unwrap_or_default(),
        );
        let request = self.get(
            "/q/d/l/",
            &[("s", code.as_str()), ("i", "d"), ("d1", &d1), ("d2", &d2)],
            "",
        );
        let answer = self.http.send(request).await?;
        if answer.status.is_success() && answer.text().trim().eq_ignore_ascii_case("no data") {
            return Err(QuoteError::NotFound(symbol.to_string()));
        }
        let rows = self.csv(&answer, "date")?;
        let header = &rows[0];
        let mut history: Vec<PricePoint> = rows[1..]
            .iter()
            .filter_map(|row| {
                Some(PricePoint {
                    date: field(header, row, "date").and_then(parse_date)?,
                    close: field(header, row, "close")
                        .and_then(parse_decimal)
                        .filter(|c| *c > Decimal::ZERO)?
                        .normalize(),
                })
            })
            // A server that ignores d1 sends everything since listing.
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
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "stooq-secret-key";
    const QUOTE_HEADER: &str = "Symbol,Date,Time,Open,High,Low,Close,Volume";

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    fn provider(server: &MockServer, key: &str) -> StooqProvider {
        StooqProvider::new(&server.uri(), key, Duration::from_secs(1)).unwrap()
    }

    async fn answer(server: &MockServer, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(server)
            .await;
    }

    async fn aapl(server: &MockServer) -> Result<Quote, QuoteError> {
        provider(server, KEY)
            .quote(&sym("AAPL"), AssetKind::Stock)
            .await
    }

    fn is_unavailable(result: Result<Quote, QuoteError>, text: &str) -> bool {
        matches!(result, Err(QuoteError::Unavailable { reason, .. }) if reason.contains(text))
    }

    /// A real captured answer (see tests/fixtures/PROVENANCE.md).
    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/stooq/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[tokio::test]
    async fn real_csv_quotes_parse_with_either_line_ending() {
        for (file, close) in [
            ("quote-aapl-us-2023-11-03-crlf.csv", "176.65"),
            ("quote-aapl-us-2020-10-23-lf.csv", "115.05"),
        ] {
            let server = MockServer::start().await;
            answer(
                &server,
                ResponseTemplate::new(200).set_body_string(fixture(file)),
            )
            .await;
            let q = aapl(&server)
                .await
                .unwrap_or_else(|e| panic!("{file}: {e:?}"));
            assert_eq!(q.price.to_string(), close, "{file}");
            assert!(q.as_of.is_some(), "{file}: the row's date and time");
        }
    }

    #[tokio::test]
    async fn quote_parses_the_csv_row() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/q/l/"))
            .and(query_param("s", "aapl.us"))
            .and(query_param("f", "sd2t2ohlcv"))
            .and(query_param("h", ""))
            .and(query_param("e", "csv"))
            .and(query_param("apikey", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_string(format!(
                "{QUOTE_HEADER}\r\n AAPL.US,2024-11-01,22:00:09,220.965,225.35,220.27,222.910,65276741\r\n"
            )))
            .mount(&server)
            .await;
        let q = aapl(&server).await.unwrap();
        assert_eq!(q.symbol.as_str(), "AAPL");
        assert_eq!(q.source, "stooq");
        assert_eq!(q.price.to_string(), "222.91");
        assert_eq!(q.currency.as_deref(), Some("USD"));
        assert_eq!(
            (q.previous_close, q.change, q.change_percent),
            (None, None, None)
        );
        // 22:00:09 CET on 1 November (Europe is back on winter time) is 21:00:09 UTC.
        assert_eq!(q.as_of.unwrap().unix_timestamp(), 1_730_494_809);
    }

    #[tokio::test]
    async fn commodities_use_stooq_futures() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(query_param("s", "gc.f"))
            .respond_with(ResponseTemplate::new(200).set_body_string(format!(
                "{QUOTE_HEADER}\nGC.F,2024-07-01,16:30:00,2339.6,2345,2325.1,2338.4,0\n"
            )))
            .mount(&server)
            .await;
        let q = provider(&server, KEY)
            .quote(&sym("GOLD"), AssetKind::Commodity)
            .await
            .unwrap();
        assert_eq!(q.price.to_string(), "2338.4");
        assert_eq!(q.name.as_deref(), Some("Gold"));
        // Summer time: 16:30 CEST is 14:30 UTC.
        assert_eq!(
            q.as_of.unwrap().to_string(),
            "2024-07-01 14:30:00.0 +00:00:00"
        );
    }

    #[test]
    fn codes_follow_stooqs_conventions() {
        let code = |s: &str, k| stooq_code(&sym(s), k);
        assert_eq!(code("AAPL", AssetKind::Stock).as_deref(), Some("aapl.us"));
        assert_eq!(code("VOD.UK", AssetKind::Stock).as_deref(), Some("vod.uk"));
        assert_eq!(code("BRK.B", AssetKind::Stock).as_deref(), Some("brk-b.us"));
        assert_eq!(code("SPY", AssetKind::Etf).as_deref(), Some("spy.us"));
        assert_eq!(
            code("CRUDE-OIL", AssetKind::Commodity).as_deref(),
            Some("cl.f")
        );
        assert_eq!(code("ALUMINUM", AssetKind::Commodity), None);
        assert_eq!(code("GC=F", AssetKind::Stock), None);
        assert_eq!(code("BTC", AssetKind::Crypto), None);
        assert_eq!(currency_of("vod.uk"), None);
        assert_eq!(currency_of("zw.f"), None);
    }

    #[tokio::test]
    async fn history_is_oldest_first_and_skips_gaps() {
        let server = MockServer::start().await;
        let today = OffsetDateTime::now_utc().date();
        let day = |n: i64| {
            (today - time::Duration::days(n))
                .format(format_description!("[year]-[month]-[day]"))
                .unwrap()
        };
        Mock::given(method("GET"))
            .and(path("/q/d/l/"))
            .and(query_param("s", "aapl.us"))
            .and(query_param("i", "d"))
            .and(query_param("apikey", KEY))
            .and(query_param(
                "d2",
                today.format(format_description!("[year][month][day]")).unwrap(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_string(format!(
                "Date,Open,High,Low,Close,Volume\r\n{},1,1,1,180.5,100\r\n{},1,1,1,,100\r\n{},1,1,1,N/D,0\r\n{},1,1,1,182.25,100\r\n{},1,1,1,99,1\r\n",
                day(3),
                day(2),
                day(1),
                day(0),
                day(400),
            )))
            .mount(&server)
            .await;
        let points = provider(&server, KEY)
            .history(&sym("AAPL"), AssetKind::Stock, HistoryRange::Month1)
            .await
            .unwrap();
        let got: Vec<String> = points
            .iter()
            .map(|p| format!("{} {}", p.date, p.close))
            .collect();
        assert_eq!(
            got,
            [format!("{} 180.5", day(3)), format!("{} 182.25", day(0))]
        );
        let requests = server.received_requests().await.unwrap();
        assert!(requests[0].url.query().unwrap().contains("&d1="));
    }

    #[tokio::test]
    async fn unknown_symbols_are_not_found() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/q/d/l/"))
            .respond_with(ResponseTemplate::new(200).set_body_string("No data"))
            .mount(&server)
            .await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_string(format!(
                "{QUOTE_HEADER}\nAAPL.US,N/D,N/D,N/D,N/D,N/D,N/D,N/D\n"
            )),
        )
        .await;
        let p = provider(&server, KEY);
        let not_found = |s: &str| Err(QuoteError::NotFound(s.to_string()));
        assert_eq!(aapl(&server).await, not_found("AAPL"));
        let history = p
            .history(&sym("XYZQ"), AssetKind::Stock, HistoryRange::Month1)
            .await;
        assert_eq!(history.unwrap_err(), QuoteError::NotFound("XYZQ".into()));
        assert_eq!(
            p.quote(&sym("BTC"), AssetKind::Crypto).await,
            not_found("BTC")
        );
    }

    #[tokio::test]
    async fn server_error_is_unavailable() {
        let server = MockServer::start().await;
        answer(&server, ResponseTemplate::new(500)).await;
        assert!(is_unavailable(aapl(&server).await, "HTTP 500"));
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
            aapl(&server).await,
            Err(QuoteError::Throttled { retry_after: Some(d), .. }) if d == Duration::from_secs(7)
        ));
    }

    #[tokio::test]
    async fn daily_limit_text_inside_200_is_throttled() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_string("Exceeded the daily hits limit"),
        )
        .await;
        assert!(matches!(
            aapl(&server).await,
            Err(QuoteError::Throttled {
                retry_after: None,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn proof_of_work_page_is_unavailable() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_string(
                "<!DOCTYPE html><html><head><script>/* sha-256 challenge */</script></head>\
                 <body><form method=post action=/__verify></form></body></html>",
            ),
        )
        .await;
        assert!(is_unavailable(aapl(&server).await, "HTML"));
    }

    #[tokio::test]
    async fn malformed_csv_is_unavailable() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_string("Date;Close\n2024-11-01;222.91\n"),
        )
        .await;
        assert!(is_unavailable(aapl(&server).await, "not the expected CSV"));
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_string(format!(
                "{QUOTE_HEADER}\nAAPL.US,2024-11-01,22:00:09,1,1,1,abc,1\n"
            )),
        )
        .await;
        assert!(is_unavailable(aapl(&server).await, "no price"));
    }

    #[tokio::test]
    async fn slow_answer_times_out() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200)
                .set_body_string(QUOTE_HEADER)
                .set_delay(Duration::from_secs(3)),
        )
        .await;
        assert!(is_unavailable(aapl(&server).await, "timed out"));
    }

    #[tokio::test]
    async fn without_a_key_stooq_is_skipped() {
        let server = MockServer::start().await;
        let p = provider(&server, "");
        assert!(!p.supports(&sym("AAPL"), AssetKind::Stock));
        assert!(provider(&server, KEY).supports(&sym("AAPL"), AssetKind::Stock));
        assert!(!provider(&server, KEY).supports(&sym("WATCH"), AssetKind::Item));
        assert!(matches!(
            p.quote(&sym("AAPL"), AssetKind::Stock).await,
            Err(QuoteError::Unavailable { .. })
        ));
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn refused_key_never_appears_in_the_error() {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(403).set_body_string(format!("bad apikey {KEY}")),
        )
        .await;
        let err = aapl(&server).await.unwrap_err();
        assert!(matches!(
            &err,
            QuoteError::Unavailable { reason, .. } if reason == "key refused (HTTP 403)"
        ));
        assert!(!format!("{err} {err:?}").contains(KEY));
    }
}
