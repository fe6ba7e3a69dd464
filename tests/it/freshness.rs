//! Prices never keep a page waiting: known prices show at once (marked stale past the TTL) and
//! are refreshed in the background; a price nobody has yet is waited for at most the deadline;
//! a failed batch moves to the next service instead of one request per symbol to the one that
//! failed; and a service that comes back is found by a background probe, not by a page.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};
use stock_ticker::domain::{AssetKind, Quote, Symbol};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{TestApp, TestDb, iex_quote, row_symbols, spawn_app_with, yahoo_chart};

const SYMBOLS: [&str; 10] = [
    "AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH", "III", "JJJ",
];

/// Holdings with a stored quote fetched `age` ago (price 10 each), written straight to the
/// database as a previous run of the app would have left them.
async fn holdings_with_old_prices(app: &TestApp, age: time::Duration) {
    let fetched = time::OffsetDateTime::now_utc() - age;
    for s in SYMBOLS {
        let quote = Quote {
            currency: Some("USD".into()),
            name: Some(format!("{s} Corp")),
            ..Quote::new(Symbol::parse(s).unwrap(), Decimal::TEN, "iex")
        };
        app.store
            .save_quote(AssetKind::Stock, &quote, fetched)
            .await
            .unwrap();
    }
    app.seed_holdings(&SYMBOLS, AssetKind::Stock).await;
}

/// Every IEX-format request hangs for `delay` before answering price 12.
async fn slow_service(app: &TestApp, delay: Duration) {
    let mut batch = serde_json::Map::new();
    for s in SYMBOLS {
        batch.insert(s.into(), json!({"quote": iex_quote(s, s, 12.0)}));
    }
    Mock::given(method("GET"))
        .and(path("/stable/stock/market/batch"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(Value::Object(batch))
                .set_delay(delay),
        )
        .mount(&app.iex)
        .await;
}

async fn timed_page(app: &TestApp, url: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let response = app.get(url).await;
    let status = response.status().as_u16();
    let html = response.text().await.unwrap();
    (status, html, started.elapsed())
}

async fn a_hanging_service_never_holds_the_portfolio_page(db: TestDb) {
    let app = spawn_app_with(db, |c| {
        c.quote_ttl_secs = 60;
        c.quote_timeout_secs = 5;
    })
    .await;
    holdings_with_old_prices(&app, time::Duration::minutes(10)).await;
    slow_service(&app, Duration::from_secs(5)).await;

    for view in 0..3 {
        let (status, html, took) = timed_page(&app, "/portfolio").await;
        assert_eq!(status, 200, "view {view}");
        assert!(
            took < Duration::from_millis(700),
            "view {view} took {took:?}: it would take 5 s had it waited for the service"
        );
        assert_eq!(row_symbols(&html).len(), 10);
        assert_eq!(
            html.matches("me-1 stale\">stale · 10 min ago</span>")
                .count(),
            10,
            "view {view}: every row shows its last price, marked stale with its age"
        );
        assert!(html.contains("100.00 USD"), "the stale prices still count");
    }
    // The background refresh may still be on its way out.
    let started = Instant::now();
    while app.upstream_requests("/stable/stock/market/batch").await == 0
        && started.elapsed() < Duration::from_secs(3)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.upstream_requests("/stable/stock/market/batch").await,
        1,
        "one background refresh for all ten, shared by the views meanwhile"
    );
}

async fn a_stale_price_is_refreshed_in_the_background_for_the_next_view(db: TestDb) {
    let app = spawn_app_with(db, |c| c.quote_ttl_secs = 60).await;
    holdings_with_old_prices(&app, time::Duration::minutes(10)).await;
    slow_service(&app, Duration::from_millis(300)).await;

    let (_, first, took) = timed_page(&app, "/portfolio").await;
    assert!(took < Duration::from_millis(300), "took {took:?}");
    assert!(first.contains("100.00 USD"), "the stored prices, at once");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, second, _) = timed_page(&app, "/portfolio").await;
    assert!(
        second.contains("120.00 USD"),
        "the fresh prices, fetched meanwhile"
    );
    assert!(!second.contains("me-1 stale\""), "and no longer stale");
    let stored = app
        .stored_quote("AAA", AssetKind::Stock)
        .await
        .expect("stored");
    assert_eq!(
        stored.quote.price.to_string(),
        "12",
        "and stored for other instances"
    );
}

on_sqlite_and_postgres!(
    "freshness":
    a_hanging_service_never_holds_the_portfolio_page,
    a_stale_price_is_refreshed_in_the_background_for_the_next_view,
);

#[tokio::test]
async fn a_price_nobody_has_yet_is_waited_for_at_most_the_deadline_then_kept() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| c.quote_page_deadline_ms = 300).await;
    app.seed_holdings(&["NEW"], AssetKind::Stock).await;
    Mock::given(method("GET"))
        .and(path("/stable/stock/new/quote"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(iex_quote("NEW", "New Co", 21.0))
                .set_delay(Duration::from_millis(1200)),
        )
        .mount(&app.iex)
        .await;

    let (status, html, took) = timed_page(&app, "/portfolio").await;
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_millis(700),
        "waited {took:?}, the deadline is 300 ms"
    );
    assert!(
        html.contains("loading — refresh"),
        "the row says its price is on its way"
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (_, html, _) = timed_page(&app, "/portfolio").await;
    assert!(
        html.contains("21.00 USD"),
        "the late answer was kept for this view"
    );
    assert!(!html.contains("loading — refresh"));
    assert_eq!(app.upstream_requests("/stable/stock/new/quote").await, 1);
}

#[tokio::test]
async fn a_never_answering_service_costs_a_page_the_deadline_and_then_says_no_price() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.quote_page_deadline_ms = 300;
        c.quote_timeout_secs = 1;
    })
    .await;
    app.seed_holdings(&["HANG"], AssetKind::Stock).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&app.iex)
        .await;

    let (status, html, took) = timed_page(&app, "/portfolio").await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_millis(700), "took {took:?}");
    assert!(html.contains("loading — refresh"));
    // The request times out after 1 s: the row then says there is no price.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (_, html, took) = timed_page(&app, "/portfolio").await;
    assert!(
        took < Duration::from_millis(300),
        "a remembered failure costs nothing: {took:?}"
    );
    assert!(html.contains(">no price</span>"));
}

#[tokio::test]
async fn a_failed_batch_goes_to_the_next_service_not_one_request_per_symbol() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.quote_providers_stock = "iex,yahoo".parse().expect("providers");
    })
    .await;
    holdings_with_old_prices(&app, time::Duration::minutes(10)).await;
    Mock::given(method("GET"))
        .and(path("/stable/stock/market/batch"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.iex)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/v8/finance/chart/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(yahoo_chart("X", "X", 15.0, 14.0)))
        .mount(&app.iex)
        .await;

    let (status, _, _) = timed_page(&app, "/portfolio").await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, html, _) = timed_page(&app, "/portfolio").await;

    assert_eq!(app.upstream_requests("/stable/stock/market/batch").await, 1);
    let per_symbol: usize = app
        .iex
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().starts_with("/stable/stock/") && r.url.path().ends_with("/quote"))
        .count();
    assert_eq!(
        per_symbol, 0,
        "no request per symbol to the service whose batch failed"
    );
    assert_eq!(
        app.upstream_requests("/v8/finance/chart/").await,
        10,
        "the next service in the chain got them"
    );
    assert!(html.contains("150.00 USD"), "priced by the next service");
}

#[tokio::test]
async fn a_batch_that_times_out_is_not_asked_again_symbol_by_symbol() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.quote_timeout_secs = 1;
        c.quote_page_deadline_ms = 200;
    })
    .await;
    holdings_with_old_prices(&app, time::Duration::minutes(10)).await;
    slow_service(&app, Duration::from_secs(5)).await;

    let (status, _, took) = timed_page(&app, "/portfolio").await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_millis(500));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.upstream_requests("/stable/stock/market/batch").await, 1);
    assert_eq!(
        app.upstream_requests("/stable/stock/aaa/quote").await,
        0,
        "the batch's failure is every symbol's: nothing is asked alone"
    );
}

#[tokio::test]
async fn when_a_service_comes_back_the_page_turns_fresh_without_waiting() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.quote_ttl_secs = 60;
        c.circuit_breaker_failures = 1;
        c.circuit_breaker_first_pause_secs = 1;
        c.circuit_breaker_cool_down_secs = 2;
    })
    .await;
    holdings_with_old_prices(&app, time::Duration::minutes(10)).await;
    let outage = Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount_as_scoped(&app.iex)
        .await;
    let (_, html, _) = timed_page(&app, "/portfolio").await;
    assert!(html.contains("stale · 10 min ago"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(outage);
    slow_service(&app, Duration::ZERO).await;
    // Single quotes for the probe's trial.
    for s in SYMBOLS {
        app.mock_simple(s, s, 12.0).await;
    }

    let started = Instant::now();
    let fresh = loop {
        let (status, html, took) = timed_page(&app, "/portfolio").await;
        assert_eq!(status, 200);
        assert!(took < Duration::from_millis(500), "a view took {took:?}");
        if html.contains("120.00 USD") && !html.contains("me-1 stale\"") {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "never turned fresh"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(fresh < Duration::from_secs(5), "fresh after {fresh:?}");
}

#[tokio::test]
async fn a_single_quote_past_its_ttl_shows_the_stored_one_when_the_service_hangs() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| c.quote_ttl_secs = 60).await;
    holdings_with_old_prices(&app, time::Duration::minutes(10)).await;
    Mock::given(method("GET"))
        .and(path("/stable/stock/aaa/quote"))
        .and(query_param("token", "test-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(iex_quote("AAA", "Alpha", 12.0))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&app.iex)
        .await;

    let started = Instant::now();
    let response = app.get("/api/v1/quotes/AAA").await;
    let took = started.elapsed();
    let body: Value = response.json().await.unwrap();
    assert!(
        took < Duration::from_millis(1300),
        "the deadline, then the stored price: {took:?}"
    );
    assert_eq!(body["price"], "10");
    assert_eq!(body["stale"], true);
    assert!(body["fetched_at"].is_string(), "{body}");
    let html = app
        .get("/assets/AAA?kind=stock")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"quote-stale\""), "the card says so");
}
