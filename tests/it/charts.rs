//! The portfolio page's charts, read as HTML: allocation doughnuts and their legends, and the
//! value over time computed from transactions and stored daily closes.

use serde_json::{Value, json};
use stock_ticker::domain::AssetKey;
use stock_ticker::domain::PricePoint;
use stock_ticker::domain::{AssetKind, Symbol};
use time::{Date, Duration, OffsetDateTime};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{TestApp, TestDb, first_owner, spawn_app, spawn_app_on};

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

fn days_ago(n: i64) -> Date {
    today() - Duration::days(n)
}

async fn record(app: &TestApp, body: Value) {
    let r = app.post_json("/api/v1/transactions", &body).await;
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, 201, "{body}: {text}");
}

async fn trade(app: &TestApp, symbol: &str, kind: &str, tx: &str, ago: i64, q: &str, p: &str) {
    record(
        app,
        json!({"symbol": symbol, "kind": kind, "type": tx, "date": days_ago(ago).to_string(),
               "quantity": q, "price": p}),
    )
    .await;
}

/// The same close on every day from `from` days ago to yesterday.
async fn closes(app: &TestApp, symbol: &str, kind: AssetKind, from: i64, close: &str) {
    let key = AssetKey {
        symbol: Symbol::parse(symbol).expect("symbol"),
        kind,
        owner: first_owner(),
    };
    let points: Vec<PricePoint> = (1..=from)
        .rev()
        .map(|n| PricePoint {
            date: days_ago(n),
            close: close.parse().expect("close"),
        })
        .collect();
    app.store
        .save_prices(&key, &points, "test")
        .await
        .expect("save prices");
}

async fn page(app: &TestApp, path: &str) -> String {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.expect("html")
}

/// The text between `start` (after it) and the next `end`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &html[html.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

/// The legend of one doughnut: (label, value, percent) per row.
fn legend(html: &str, chart: &str) -> Vec<(String, String, String)> {
    let card = between(html, &format!("id=\"{chart}\""), "</table>").unwrap_or_default();
    card.split("<tr data-label=\"")
        .skip(1)
        .map(|row| {
            let label = row.split('"').next().unwrap_or_default().to_string();
            let cell = |class: &str| {
                between(row, &format!("class=\"text-end {class}\">"), "</td>")
                    .unwrap_or_default()
                    .to_string()
            };
            (label, cell("legend-value"), cell("legend-percent"))
        })
        .collect()
}

fn rows(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// An attribute of the element with this id.
fn attr(html: &str, id: &str, name: &str) -> Option<String> {
    let tag = between(html, &format!("id=\"{id}\""), ">")?;
    between(tag, &format!("{name}=\""), "\"").map(str::to_string)
}

/// The hand-computed portfolio:
///
/// AAPL (stock, quote 150): 10 bought 40 days ago, 2 sold 10 days ago; stored close 120.
/// MSFT (stock, quote 100): 5 bought 20 days ago; stored close 80.
/// VTI (ETF, quote 30): 1 bought 5 days ago; stored close 30.
/// WATCH (item): 1 bought 5 days ago, priced 20 by hand on that day.
///
/// Value: 40–21 days ago 10 × 120 = 1,200; 20–11 days ago + 5 × 80 = 1,600; 10–6 days ago
/// 8 × 120 + 400 = 1,360; 5–1 days ago + 30 + 20 = 1,410; today at the quotes
/// 8 × 150 + 5 × 100 + 30 + 20 = 1,750.
/// Allocation of 1,750: AAPL 1,200 (68.6 %), MSFT 500 (28.6 %), and VTI 30 (1.7 %) and
/// WATCH 20 (1.1 %), both under 2 %, as Other 50 (2.9 %). By kind: stock 1,700 (97.1 %),
/// ETF and item as Other 50 (2.9 %).
async fn charts_story(app: &TestApp) {
    app.mock_simple("AAPL", "Apple Inc.", 150.0).await;
    app.mock_simple("MSFT", "Microsoft Corporation", 100.0)
        .await;
    app.mock_simple("VTI", "Vanguard Total Stock Market ETF", 30.0)
        .await;
    trade(app, "AAPL", "stock", "buy", 40, "10", "100").await;
    trade(app, "MSFT", "stock", "buy", 20, "5", "90").await;
    trade(app, "AAPL", "stock", "sell", 10, "2", "125").await;
    trade(app, "VTI", "etf", "buy", 5, "1", "30").await;
    trade(app, "WATCH", "item", "buy", 5, "1", "20").await;
    let r = app
        .post_json(
            "/api/v1/assets/WATCH/prices",
            &json!({"date": days_ago(5).to_string(), "price": "20"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    closes(app, "AAPL", AssetKind::Stock, 60, "120").await;
    closes(app, "MSFT", AssetKind::Stock, 60, "80").await;
    closes(app, "VTI", AssetKind::Etf, 60, "30").await;

    let html = page(app, "/portfolio").await;
    assert_eq!(
        legend(&html, "allocation-holding"),
        rows(&[
            ("AAPL", "1,200.00", "68.6%"),
            ("MSFT", "500.00", "28.6%"),
            ("Other (2)", "50.00", "2.9%"),
        ])
    );
    assert!(
        html.contains("<small class=\"text-body-secondary legend-detail\">VTI, WATCH</small>"),
        "Other names what it holds"
    );
    assert!(
        html.contains("<title>AAPL: 1,200.00 USD (68.6%)</title>"),
        "each slice has a title with the same numbers"
    );
    assert_eq!(
        legend(&html, "allocation-kind"),
        rows(&[
            ("Stock", "1,700.00", "97.1%"),
            ("Other (2)", "50.00", "2.9%"),
        ])
    );
    assert!(!html.contains("class=\"small text-body-secondary mb-0 mt-2 left-out\""));

    // The value line, 6 months by default: it starts with the first buy, 40 days ago.
    assert!(html.contains("aria-current=\"true\">6M</a>"));
    assert_eq!(
        attr(&html, "value-first", "data-date"),
        Some(days_ago(40).to_string())
    );
    assert_eq!(
        attr(&html, "value-first", "data-value").as_deref(),
        Some("1200")
    );
    assert_eq!(
        attr(&html, "value-last", "data-date"),
        Some(today().to_string())
    );
    assert_eq!(
        attr(&html, "value-last", "data-value").as_deref(),
        Some("1750")
    );
    assert_eq!(
        attr(&html, "value-chart", "data-points").as_deref(),
        Some("41")
    );
    assert!(html.contains("low 1,200.00 USD · high 1,750.00 USD"));
    // Money put in: 1,000 (AAPL) + 450 (MSFT) − 250 (2 AAPL sold at 125) + 30 (VTI) + 20
    // (WATCH) = 1,250, against 1,000 on the first day. The gain is the value's change less
    // the 250 put in between: (1,750 − 1,200) − 250 = 300, on 1,200 + 250 / 2 at work.
    assert!(
        html.contains("Gain over 6M: <strong class=\"text-success\">+300.00 USD</strong> <span class=\"text-success\">(+22.64%)</span>"),
        "{html}"
    );
    assert!(html.contains("id=\"invested-line\""));
    assert!(html.contains(&format!(
        "The line starts on {}, the first day anything was held.",
        days_ago(40)
    )));

    // One month: from 31 days ago, when 10 AAPL were held.
    let month = page(app, "/portfolio?range=1m").await;
    assert_eq!(
        attr(&month, "value-first", "data-date"),
        Some(days_ago(31).to_string())
    );
    assert_eq!(
        attr(&month, "value-first", "data-value").as_deref(),
        Some("1200")
    );
    assert_eq!(
        attr(&month, "value-chart", "data-points").as_deref(),
        Some("32")
    );
    let all = page(app, "/portfolio?range=all").await;
    assert_eq!(
        attr(&all, "value-first", "data-date"),
        Some(days_ago(40).to_string())
    );
    assert!(
        !all.contains("The line starts on"),
        "All starts at the first transaction"
    );

    // The range links keep the sort order, and sorting keeps the range.
    let sorted = page(app, "/portfolio?sort=value&dir=desc&range=1y").await;
    for (range, label) in [("1m", "1M"), ("6m", "6M"), ("all", "All")] {
        assert!(
            sorted.contains(&format!(
                "href=\"/portfolio?sort=value&#38;dir=desc&#38;range={range}\">{label}</a>"
            )),
            "{range}"
        );
    }
    assert!(sorted.contains(
        "href=\"/portfolio?sort=value&#38;dir=desc&#38;range=1y\" aria-current=\"true\">1Y</a>"
    ));
    assert!(sorted.contains("href=\"/portfolio?sort=value&#38;dir=asc&#38;range=1y\">"));
    assert_eq!(app.get("/portfolio?range=5y").await.status(), 400);
}

#[tokio::test]
async fn charts_add_up_on_sqlite() {
    charts_story(&spawn_app().await).await;
}

#[tokio::test]
async fn charts_add_up_on_postgres() {
    let Some(db) = TestDb::postgres("charts::charts_add_up_on_postgres").await else {
        return;
    };
    charts_story(&spawn_app_on(db).await).await;
}

/// A chart answer in IEX's format: one close per day.
fn iex_chart(points: &[(Date, f64)]) -> Value {
    Value::Array(
        points
            .iter()
            .map(|(date, close)| json!({"date": date.to_string(), "close": close}))
            .collect(),
    )
}

#[tokio::test]
async fn missing_history_is_fetched_once_and_a_failing_service_only_leaves_a_note() {
    let app = spawn_app().await;
    app.mock_simple("TSLA", "Tesla, Inc.", 200.0).await;
    app.mock_simple("NVDA", "NVIDIA Corporation", 500.0).await;
    // TSLA's history is at the service; NVDA's fails.
    let tsla: Vec<(Date, f64)> = (1..=30).rev().map(|n| (days_ago(n), 190.0)).collect();
    Mock::given(method("GET"))
        .and(path("/stable/stock/tsla/chart/1m"))
        .respond_with(ResponseTemplate::new(200).set_body_json(iex_chart(&tsla)))
        .mount(&app.iex)
        .await;
    Mock::given(method("GET"))
        .and(path("/stable/stock/nvda/chart/1m"))
        .respond_with(ResponseTemplate::new(500).set_body_string("down"))
        .mount(&app.iex)
        .await;
    trade(&app, "TSLA", "stock", "buy", 10, "2", "180").await;

    // 2 × 190 for 10 days, then 2 × 200 today.
    let html = page(&app, "/portfolio?range=1m").await;
    assert_eq!(app.upstream_requests("/stable/stock/tsla/chart").await, 1);
    assert_eq!(
        attr(&html, "value-first", "data-value").as_deref(),
        Some("380")
    );
    assert_eq!(
        attr(&html, "value-first", "data-date"),
        Some(days_ago(10).to_string())
    );
    assert_eq!(
        attr(&html, "value-last", "data-value").as_deref(),
        Some("400")
    );
    let key = AssetKey {
        symbol: Symbol::parse("TSLA").expect("symbol"),
        kind: AssetKind::Stock,
        owner: first_owner(),
    };
    let stored = app.store.prices(&key, days_ago(30)).await.expect("prices");
    assert!(stored.len() >= 30, "what was fetched is stored");

    // NVDA: nothing stored and the service fails. The page still works and says so.
    trade(&app, "NVDA", "stock", "buy", 10, "1", "450").await;
    let html = page(&app, "/portfolio?range=1m").await;
    assert_eq!(app.upstream_requests("/stable/stock/nvda/chart").await, 1);
    assert!(
        html.contains(&format!(
            "id=\"no-value-history\">Only one day in this range has a value ({}: 900.00 USD), and one day is not a line.</p>",
            today()
        )),
        "only today is known: 2 × 200 + 500"
    );
    assert!(
        html.contains(&format!(
            "No price for NVDA from {} to {} (10 days): those days are left out rather than counted as zero.",
            days_ago(10),
            days_ago(1)
        )),
        "{}",
        between(&html, "id=\"value-notes\"", "</ul>").unwrap_or_default()
    );
    // The doughnuts do not need history: 400 + 500.
    assert_eq!(
        legend(&html, "allocation-holding"),
        rows(&[("NVDA", "500.00", "55.6%"), ("TSLA", "400.00", "44.4%")])
    );
    // Asked once: the next views do not ask the failing service again.
    page(&app, "/portfolio?range=1m").await;
    assert_eq!(app.upstream_requests("/stable/stock/nvda/chart").await, 1);
    assert_eq!(app.upstream_requests("/stable/stock/tsla/chart").await, 1);
}

#[tokio::test]
async fn holdings_without_a_price_or_a_rate_are_left_out_and_named() {
    let app = spawn_app().await;
    app.mock_simple("AAPL", "Apple Inc.", 10.0).await;
    let mut sap = crate::helpers::iex_quote("SAP", "SAP SE", 100.0);
    sap["currency"] = json!("EUR");
    app.mock_quote("SAP", sap).await;
    app.add_holding("AAPL", "stock", "3").await;
    app.add_holding("SAP", "stock", "1").await;
    app.add_holding("CARD", "item", "1").await;
    // No FX service answers: EUR has no rate to USD.
    let html = page(&app, "/portfolio").await;
    assert_eq!(
        legend(&html, "allocation-holding"),
        rows(&[("AAPL", "30.00", "100.0%")])
    );
    assert!(html.contains(
        "Left out: 1 holding without a price and 1 holding without an exchange rate to USD (SAP) are not in this chart."
    ));
    // Everything was bought today: one day is not a line.
    assert!(html.contains(&format!(
        "id=\"no-value-history\">Only one day in this range has a value ({}: 30.00 USD)",
        today()
    )));
    assert!(html.contains("Left out: SAP (no exchange rate to USD)."));
    assert!(html.contains("Left out: CARD (no stored prices)."));
    let empty = spawn_app().await;
    let html = page(&empty, "/portfolio").await;
    assert!(!html.contains("id=\"charts\""), "no holdings, no charts");
}

/// AAPL (USD): 10 held for 10 days at a close of 100; SAP (EUR): 5 at 200, 1 EUR = 1.1 USD
/// today. Every day is 1,000 + 5 × 200 × 1.1 = 2,100 USD; in EUR (1 USD = 0.9 EUR) it is
/// 900 + 1,000 = 1,900.
#[tokio::test]
async fn values_are_converted_at_todays_rate() {
    let app = spawn_app().await;
    app.mock_simple("AAPL", "Apple Inc.", 100.0).await;
    let mut sap = crate::helpers::iex_quote("SAP", "SAP SE", 200.0);
    sap["currency"] = json!("EUR");
    app.mock_quote("SAP", sap).await;
    app.mock_yahoo(
        "EURUSD=X",
        crate::helpers::yahoo_chart("EURUSD=X", "EUR/USD", 1.1, 1.1),
    )
    .await;
    app.mock_yahoo(
        "USDEUR=X",
        crate::helpers::yahoo_chart("USDEUR=X", "USD/EUR", 0.9, 0.9),
    )
    .await;
    trade(&app, "AAPL", "stock", "buy", 10, "10", "90").await;
    record(
        &app,
        json!({"symbol": "SAP", "type": "buy", "date": days_ago(10).to_string(),
               "quantity": "5", "price": "190", "currency": "EUR"}),
    )
    .await;
    closes(&app, "AAPL", AssetKind::Stock, 20, "100").await;
    closes(&app, "SAP", AssetKind::Stock, 20, "200").await;

    let html = page(&app, "/portfolio?range=1m").await;
    assert_eq!(
        legend(&html, "allocation-holding"),
        rows(&[("SAP", "1,100.00", "52.4%"), ("AAPL", "1,000.00", "47.6%")])
    );
    for id in ["value-first", "value-last"] {
        assert_eq!(
            attr(&html, id, "data-value").as_deref(),
            Some("2100"),
            "{id}"
        );
    }
    app.store
        .set_base_currency(first_owner(), "EUR")
        .await
        .expect("base currency");
    let html = page(&app, "/portfolio?range=1m").await;
    assert_eq!(
        legend(&html, "allocation-holding"),
        rows(&[("SAP", "1,000.00", "52.6%"), ("AAPL", "900.00", "47.4%")])
    );
    assert_eq!(
        attr(&html, "value-first", "data-value").as_deref(),
        Some("1900")
    );
    assert!(
        html.contains("in EUR at today&#39;s exchange rates")
            || html.contains("in EUR at today's exchange rates")
    );
}

#[test]
fn legend_rows_are_read_from_the_right_chart() {
    let html = "<div id=\"allocation-kind\"><table><tr data-label=\"Stock\" title=\"x\"><td class=\"text-end legend-value\">1.00</td><td class=\"text-end legend-percent\">100.0%</td></tr></table>";
    assert_eq!(
        legend(html, "allocation-kind"),
        rows(&[("Stock", "1.00", "100.0%")])
    );
    assert!(legend(html, "allocation-holding").is_empty());
}
