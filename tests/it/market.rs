//! The quote service end to end: provider chains, the circuit breaker, single flight, batches,
//! stale fallback, friendly names, items' own prices, the asset page and `/status`.

use std::str::FromStr;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};
use stock_ticker::domain::{AssetKind, Symbol};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    TestApp, TestDb, iex_quote, spawn_app, spawn_app_on, spawn_app_with, yahoo_chart,
};

async fn quote(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn seed(app: &TestApp, symbols: &[&str], kind: AssetKind) {
    app.seed_holdings(symbols, kind).await;
}

#[tokio::test]
async fn a_failing_provider_falls_through_to_the_next_and_the_quote_names_who_answered() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.quote_providers_stock = "yahoo,iex".parse().expect("providers")
    })
    .await;
    Mock::given(method("GET"))
        .and(path("/v8/finance/chart/AAPL"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.iex)
        .await;
    app.mock_simple("AAPL", "Apple Inc.", 189.84).await;

    let (status, body) = quote(&app, "/api/v1/quotes/AAPL").await;

    assert_eq!(status, 200);
    assert_eq!(body["source"], "iex");
    assert_eq!(body["price"], "189.84");
    assert_eq!(
        app.upstream_requests("/v8/finance/chart/").await,
        1,
        "yahoo was asked first"
    );
}

#[tokio::test]
async fn yahoo_answers_by_default_order_and_its_quote_is_stored() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.quote_providers_stock = "yahoo,iex".parse().expect("providers")
    })
    .await;
    app.mock_yahoo(
        "NVDA",
        yahoo_chart("NVDA", "NVIDIA Corporation", 596.54, 590.1),
    )
    .await;

    let (status, body) = quote(&app, "/api/v1/quotes/NVDA").await;

    assert_eq!(status, 200);
    assert_eq!(body["source"], "yahoo");
    assert_eq!(
        body["previous_close"], "590.1",
        "previousClose, not chartPreviousClose"
    );
    let stored = app
        .stored_quote("NVDA", AssetKind::Stock)
        .await
        .expect("stored");
    assert_eq!(stored.quote.price.to_string(), "596.54");
    assert_eq!(
        app.upstream_requests("/stable/").await,
        0,
        "iex was not needed"
    );
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_a_background_probe_closes_it() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.quote_providers_stock = "yahoo,iex".parse().expect("providers");
        c.circuit_breaker_failures = 3;
        c.circuit_breaker_first_pause_secs = 1;
        c.circuit_breaker_cool_down_secs = 1;
    })
    .await;
    let broken = Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/v8/finance/chart/"))
        .respond_with(ResponseTemplate::new(503))
        .mount_as_scoped(&app.iex)
        .await;
    for s in ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"] {
        app.mock_simple(s, s, 10.0).await;
        let (status, body) = quote(&app, &format!("/api/v1/quotes/{s}")).await;
        assert_eq!(
            (status, body["source"].as_str()),
            (200, Some("iex")),
            "{s} falls through"
        );
    }
    assert_eq!(
        app.upstream_requests("/v8/finance/chart/").await,
        3,
        "after 3 failures yahoo is left alone"
    );
    let status_page = app.get("/status").await.text().await.unwrap();
    assert!(
        status_page.contains("quote-circuit\">open (paused after failures)"),
        "the status page shows the open circuit"
    );
    // The service comes back; no page request finds out, the probe does.
    drop(broken);
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/v8/finance/chart/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(yahoo_chart("ANY", "Any", 5.0, 4.0)))
        .mount(&app.iex)
        .await;
    app.mock_simple("GGG", "Ggg", 10.0).await;
    let (_, body) = quote(&app, "/api/v1/quotes/GGG").await;
    assert_eq!(
        body["source"], "iex",
        "while the circuit is open a read goes straight to the next service"
    );
    assert_eq!(app.upstream_requests("/v8/finance/chart/").await, 3);

    let closed = async {
        loop {
            let page = app.get("/status").await.text().await.unwrap();
            let yahoo = page
                .split("data-provider=\"yahoo\"")
                .nth(1)
                .unwrap_or_default();
            if yahoo
                .split("</tr>")
                .next()
                .unwrap_or_default()
                .contains("quote-circuit\">closed (working)")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("the probe closes the circuit within seconds");
    assert_eq!(
        app.upstream_requests("/v8/finance/chart/").await,
        4,
        "one trial request"
    );
    let (status, body) = quote(&app, "/api/v1/quotes/HHH").await;
    assert_eq!((status, body["source"].as_str()), (200, Some("yahoo")));
}

#[tokio::test]
async fn two_hundred_simultaneous_asks_for_one_symbol_cause_one_upstream_request() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/stable/stock/slow/quote"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(iex_quote("SLOW", "Slow", 3.0))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&app.iex)
        .await;

    let asks = (0..200).map(|_| app.client.get(app.url("/api/v1/quotes/SLOW")).send());
    let answers = futures::future::join_all(asks).await;

    assert!(
        answers
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status() == 200))
    );
    assert_eq!(app.upstream_requests("/stable/stock/slow/quote").await, 1);
}

#[tokio::test]
async fn a_portfolio_page_fetches_missing_quotes_in_one_batch_request() {
    let app = spawn_app().await;
    let symbols = ["AAA", "BBB", "CCC", "DDD", "EEE"];
    seed(&app, &symbols, AssetKind::Stock).await;
    let mut batch = serde_json::Map::new();
    for s in &symbols[..4] {
        batch.insert((*s).to_string(), json!({"quote": iex_quote(s, s, 10.0)}));
    }
    Mock::given(method("GET"))
        .and(path("/stable/stock/market/batch"))
        .and(query_param("types", "quote"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Object(batch)))
        .mount(&app.iex)
        .await;
    app.mock_simple("EEE", "Eee", 20.0).await;

    let html = app.get("/portfolio").await.text().await.unwrap();

    assert!(
        html.contains("60.00 USD"),
        "4 × 10 from the batch and 20 asked alone: every row priced"
    );
    assert_eq!(app.upstream_requests("/stable/stock/market/batch").await, 1);
    assert_eq!(
        app.upstream_requests("/stable/stock/eee/quote").await,
        1,
        "the one left out is asked alone"
    );
    assert_eq!(app.upstream_requests("/stable/stock/aaa/quote").await, 0);
}

#[tokio::test]
async fn when_every_provider_fails_the_last_stored_price_is_shown_marked_stale() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| c.quote_ttl_secs = 1).await;
    let live = Mock::given(method("GET"))
        .and(path("/stable/stock/aaa/quote"))
        .respond_with(ResponseTemplate::new(200).set_body_json(iex_quote("AAA", "Alpha", 12.5)))
        .mount_as_scoped(&app.iex)
        .await;
    app.add_holding("AAA", "stock", "2").await;
    drop(live);
    app.mock_quote_status("AAA", 500, "down").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let (status, body) = quote(&app, "/api/v1/quotes/AAA").await;
    let html = app.get("/portfolio").await.text().await.unwrap();

    assert_eq!(status, 200);
    assert_eq!(body["stale"], true);
    assert_eq!(body["price"], "12.5");
    assert!(
        html.contains("class=\"badge text-bg-warning me-1 stale\">stale · just now</span>"),
        "marked stale, with its age"
    );
    assert!(
        html.contains("a fresh one is being fetched, or every price service is failing"),
        "the hover text says why"
    );
    assert!(html.contains("25.00 USD"), "the stale price still counts");
}

#[tokio::test]
async fn throttling_is_retried_after_the_servers_retry_after_without_keeping_the_reader_waiting() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/stable/stock/busy/quote"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_string("Too Many Requests"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.iex)
        .await;
    app.mock_simple("BUSY", "Busy", 7.0).await;

    let started = Instant::now();
    let (status, body) = quote(&app, "/api/v1/quotes/BUSY").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("try again in a few seconds"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the reader waited the deadline, not the Retry-After"
    );

    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, body) = quote(&app, "/api/v1/quotes/BUSY").await;
    assert_eq!(status, 200);
    assert_eq!(body["price"], "7");
    assert_eq!(
        app.upstream_requests("/stable/stock/busy/quote").await,
        2,
        "asked again once, after the wait it was told"
    );
}

#[tokio::test]
async fn a_quote_fetched_by_one_instance_serves_another_from_the_database() {
    let db = TestDb::sqlite().await;
    let second_db = db.same();
    let first = spawn_app_with(db, |_| {}).await;
    let second = spawn_app_with(second_db, |_| {}).await;
    first.mock_simple("AAA", "Alpha", 10.0).await;

    assert_eq!(quote(&first, "/api/v1/quotes/AAA").await.0, 200);
    first
        .stored_quote("AAA", AssetKind::Stock)
        .await
        .expect("the first instance stored it");
    let (status, body) = quote(&second, "/api/v1/quotes/AAA").await;

    assert_eq!(status, 200);
    assert_eq!(body["price"], "10");
    assert_eq!(
        second.upstream_requests("/").await,
        0,
        "the second instance asked nobody"
    );
}

#[tokio::test]
async fn gold_by_name_is_priced_as_the_future_and_btc_by_coin_id() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.quote_providers_commodity = "yahoo".parse().expect("providers");
        c.quote_providers_crypto = "coingecko,yahoo".parse().expect("providers");
    })
    .await;
    app.mock_yahoo("GC=F", yahoo_chart("GC=F", "Gold Dec 26", 2650.5, 2640.0))
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v3/coins/markets"))
        .and(query_param("ids", "bitcoin"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": "bitcoin", "symbol": "btc", "name": "Bitcoin", "current_price": 40067.5, "price_change_percentage_24h": 1.2, "last_updated": "2024-01-22T21:00:00.000Z"}])))
        .mount(&app.iex)
        .await;

    let gold = app
        .post_holding(json!({"symbol": "gold", "kind": "commodity", "quantity": "2"}))
        .await;
    let btc = app
        .post_holding(json!({"symbol": "btc", "kind": "crypto", "quantity": "0.5"}))
        .await;

    assert_eq!(gold.status(), 201);
    let gold: Value = gold.json().await.unwrap();
    assert_eq!(gold["symbol"], "GOLD");
    assert_eq!(gold["quote"]["price"], "2650.5");
    assert_eq!(gold["market_value"], "5301");
    assert_eq!(btc.status(), 201);
    let btc: Value = btc.json().await.unwrap();
    assert_eq!(btc["quote"]["source"], "coingecko");
    assert_eq!(btc["name"], "Bitcoin", "the coin's name from CoinGecko");
    assert_eq!(btc["market_value"], "20033.75");
}

#[tokio::test]
async fn items_take_their_owners_latest_price_and_show_it_on_their_page() {
    let app = spawn_app().await;
    app.add_holding("WATCH", "item", "1").await;
    for (date, price) in [("2024-01-15", "9500"), ("2024-06-01", "10250.50")] {
        let response = app
            .post_json(
                "/api/v1/assets/WATCH/prices",
                &json!({"date": date, "price": price}),
            )
            .await;
        assert_eq!(response.status(), 201, "{date}");
    }
    let bad = app
        .post_json(
            "/api/v1/assets/WATCH/prices",
            &json!({"date": "2999-01-01", "price": "1"}),
        )
        .await;
    assert_eq!(
        bad.status(),
        409,
        "no future dates (sent well, but not yet)"
    );
    let bad = app
        .post_json(
            "/api/v1/assets/WATCH/prices",
            &json!({"date": "1899-12-31", "price": "1"}),
        )
        .await;
    assert_eq!(bad.status(), 422, "no dates before 1900");
    let bad = app
        .post_json(
            "/api/v1/assets/WATCH/prices",
            &json!({"date": "15/01/2024", "price": "1"}),
        )
        .await;
    assert_eq!(bad.status(), 422);

    let list: Value = app.get("/api/v1/holdings").await.json().await.unwrap();
    assert_eq!(list["items"][0]["quote"]["price"], "10250.5");
    assert_eq!(list["items"][0]["quote"]["source"], "manual");
    let history: Value = app
        .get("/api/v1/assets/WATCH/history?kind=item&range=5y")
        .await
        .json()
        .await
        .unwrap();
    let dates: Vec<&str> = history["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2024-01-15", "2024-06-01"], "oldest first");

    let page = app.get("/assets/WATCH?kind=item&range=5y").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("id=\"price-chart\""),
        "a chart with both prices"
    );
    assert!(html.contains("data-points=\"2\""));
    assert!(html.contains("10,250.50") && html.contains("9,500.00"));

    let form = app
        .post_form(
            "/assets/WATCH/prices",
            &[("date", "2024-07-01"), ("price", "-5")],
        )
        .await;
    assert_eq!(form.status(), 422);
    assert!(
        form.text()
            .await
            .unwrap()
            .contains("Price cannot be negative.")
    );
    let form = app
        .post_form(
            "/assets/WATCH/prices",
            &[("date", "2024-07-01"), ("price", "10,400")],
        )
        .await;
    assert_eq!(form.status(), 303);
    let list: Value = app.get("/api/v1/holdings").await.json().await.unwrap();
    assert_eq!(list["items"][0]["quote"]["price"], "10400");
}

#[tokio::test]
async fn a_market_asset_page_shows_the_quote_and_a_chart_from_provider_history() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.quote_providers_stock = "yahoo".parse().expect("providers")
    })
    .await;
    app.mock_yahoo(
        "NVDA",
        yahoo_chart("NVDA", "NVIDIA Corporation", 596.54, 590.1),
    )
    .await;

    let page = app.get("/assets/NVDA?range=1m").await;

    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("NVIDIA Corporation"));
    assert!(html.contains("596.54"));
    assert!(html.contains("id=\"price-chart\""), "the chart is drawn");
    assert!(
        html.contains("data-points=\"2\""),
        "the null close is skipped"
    );
    assert!(html.contains("aria-current=\"true\">1M</a>"));
    assert_eq!(
        app.get("/assets/NOPE?kind=item").await.status(),
        404,
        "no such item"
    );
    assert_eq!(app.get("/assets/A%20B").await.status(), 422);
}

#[tokio::test]
async fn several_quotes_at_once_report_what_is_missing() {
    let app = spawn_app().await;
    let mut batch = serde_json::Map::new();
    batch.insert(
        "AAA".into(),
        json!({"quote": iex_quote("AAA", "Alpha", 1.0)}),
    );
    batch.insert(
        "BBB".into(),
        json!({"quote": iex_quote("BBB", "Beta", 2.0)}),
    );
    Mock::given(method("GET"))
        .and(path("/stable/stock/market/batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Object(batch)))
        .mount(&app.iex)
        .await;
    app.mock_quote_status("ZZZ", 404, "Unknown symbol").await;

    let (status, body) = quote(&app, "/api/v1/quotes?symbols=AAA,BBB,ZZZ,a%20b,,AAA").await;

    assert_eq!(status, 200);
    let symbols: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["AAA", "BBB"]);
    assert_eq!(body["missing"], json!(["a b", "ZZZ"]));
    assert_eq!(app.upstream_requests("/stable/stock/market/batch").await, 1);
    let too_many = (0..51)
        .map(|i| format!("S{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        app.get(&format!("/api/v1/quotes?symbols={too_many}"))
            .await
            .status(),
        422
    );
}

#[tokio::test]
async fn broken_provider_answers_never_break_a_page() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.quote_providers_stock = "yahoo".parse().expect("providers")
    })
    .await;
    let answers = [
        (
            "HTML",
            ResponseTemplate::new(200).set_body_string("<html><body>Please verify</body></html>"),
        ),
        (
            "JUNK",
            ResponseTemplate::new(200).set_body_string("{\"chart\": ["),
        ),
        ("ERR", ResponseTemplate::new(500)),
        (
            "LIMIT",
            ResponseTemplate::new(429).set_body_string("Too Many Requests"),
        ),
        (
            "SLOW",
            ResponseTemplate::new(200).set_delay(Duration::from_secs(5)),
        ),
    ];
    for (symbol, answer) in answers {
        Mock::given(method("GET"))
            .and(path(format!("/v8/finance/chart/{symbol}")))
            .respond_with(answer)
            .mount(&app.iex)
            .await;
    }
    seed(
        &app,
        &["HTML", "JUNK", "ERR", "LIMIT", "SLOW"],
        AssetKind::Stock,
    )
    .await;

    let page = app.get("/portfolio").await;

    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert_eq!(html.matches("no price</span>").count(), 4);
    assert_eq!(
        html.matches("loading — refresh</a>").count(),
        1,
        "the slow one is still on its way when the page stops waiting"
    );
    let (status, _) = quote(&app, "/api/v1/quotes/HTML").await;
    assert_eq!(status, 503);
    let asked = app.upstream_requests("/v8/finance/chart/").await;
    assert_eq!(app.get("/portfolio").await.status(), 200);
    assert_eq!(
        app.upstream_requests("/v8/finance/chart/").await,
        asked,
        "failures are remembered briefly, not re-asked on every view"
    );
}

#[tokio::test]
async fn held_assets_are_refreshed_in_the_background() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| c.refresh_interval_secs = 1).await;
    seed(&app, &["AAA"], AssetKind::Stock).await;
    app.mock_simple("AAA", "Alpha", 10.0).await;

    let symbol = Symbol::parse("AAA").unwrap();
    let mut stored = None;
    for _ in 0..40 {
        stored = app
            .store
            .latest_quote(&symbol, AssetKind::Stock)
            .await
            .unwrap();
        if stored.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        stored.expect("refreshed without any page view").quote.price,
        Decimal::from_str("10").unwrap()
    );
}

#[tokio::test]
async fn items_are_priced_by_hand_on_postgres_too() {
    let Some(db) = TestDb::postgres("market::items_are_priced_by_hand_on_postgres_too").await
    else {
        return;
    };
    let app = spawn_app_on(db).await;
    app.add_holding("CARD", "item", "3").await;
    let today = time::OffsetDateTime::now_utc().date();
    for (days, price) in [(20, "40"), (5, "45.5")] {
        let date = (today - time::Duration::days(days)).to_string();
        let response = app
            .post_json(
                "/api/v1/assets/CARD/prices",
                &json!({"date": date, "price": price}),
            )
            .await;
        assert_eq!(response.status(), 201);
    }

    let list: Value = app.get("/api/v1/holdings").await.json().await.unwrap();
    let page = app.get("/assets/CARD?kind=item").await;

    assert_eq!(list["items"][0]["quote"]["price"], "45.5");
    assert_eq!(list["items"][0]["market_value"], "136.5");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("data-points=\"2\""));
}

#[tokio::test]
async fn prices_are_only_entered_for_items_one_holds() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/assets/GHOST/prices",
            &json!({"date": "2024-01-02", "price": "1"}),
        )
        .await;
    assert_eq!(response.status(), 404);
    let form = app
        .post_form(
            "/assets/GHOST/prices",
            &[("date", "2024-01-02"), ("price", "1")],
        )
        .await;
    assert_eq!(form.status(), 404);
}

#[tokio::test]
async fn a_kind_with_no_configured_service_says_so() {
    let app = spawn_app().await;
    let (status, body) = quote(&app, "/api/v1/quotes/BTC?kind=crypto").await;
    assert_eq!(status, 503);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("QUOTE_PROVIDERS_CRYPTO")
    );
    let added = app
        .post_holding(json!({"symbol": "BTC", "kind": "crypto", "quantity": "1"}))
        .await;
    assert_eq!(added.status(), 201, "it can still be held");
}

on_sqlite_and_postgres!(
    "market":
    failed_history_never_pauses_quotes_and_is_told_apart_from_an_empty_one,
);

/// The IEX-format service answers 404 (not "Unknown symbol") for every chart: its history
/// endpoint is broken, its quotes are fine.
async fn failed_history_never_pauses_quotes_and_is_told_apart_from_an_empty_one(db: TestDb) {
    let app = spawn_app_with(db, |c| {
        c.circuit_breaker_failures = 3;
        c.circuit_breaker_first_pause_secs = 60;
        c.circuit_breaker_cool_down_secs = 60;
    })
    .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/stable/stock/orcl/chart/"))
        .respond_with(ResponseTemplate::new(404).set_body_string("Not Found"))
        .mount(&app.iex)
        .await;
    app.mock_quote("ORCL", iex_quote("ORCL", "Oracle Corporation", 182.5))
        .await;

    // A service with no series for a symbol is an empty history, not a failure.
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            "^/stable/stock/newco/chart/",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&app.iex)
        .await;
    let answer = app.get("/api/v1/assets/NEWCO/history?range=6m").await;
    assert_eq!(answer.status(), 200);
    let empty: Value = answer.json().await.unwrap();
    assert_eq!(empty["points"], json!([]));

    for attempt in 0..6 {
        let answer = app.get("/api/v1/assets/ORCL/history?range=6m").await;
        assert_eq!(answer.status(), 503, "attempt {attempt}");
        assert_eq!(answer.headers()["content-type"], "application/problem+json");
        let problem: Value = answer.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("No price history for ORCL right now: iex failed: ")
                && !detail.contains("iex failed: iex failed"),
            "the failure names the service: {detail}"
        );
    }
    assert_eq!(
        app.upstream_requests("/stable/stock/orcl/chart/").await,
        3,
        "after 3 failures the history circuit is open and the service is left alone"
    );

    // Quotes from the same service go on, for everyone.
    let (status, body) = quote(&app, "/api/v1/quotes/ORCL").await;
    assert_eq!((status, body["source"].as_str()), (200, Some("iex")));
    let bob = app.bob().await;
    let answer = bob
        .client
        .get(app.url("/api/v1/quotes/ORCL"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "another user's quote is not paused");
    let status_page = app.get("/status").await.text().await.unwrap();
    let iex = status_page
        .split("data-provider=\"iex\"")
        .nth(1)
        .and_then(|row| row.split("</tr>").next())
        .unwrap_or_default()
        .to_string();
    assert!(iex.contains("quote-circuit\">closed (working)"), "{iex}");
    assert!(
        iex.contains("history-circuit\">open (paused after failures)"),
        "{iex}"
    );

    // The asset page draws what it can and says why the chart is missing.
    let page = app.get("/assets/ORCL?range=6m").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("182.5"), "the quote is shown");
    assert!(
        html.contains("id=\"history-unavailable\"")
            && html.contains("Price history is unavailable right now"),
        "the chart card says the history failed"
    );
    assert!(!html.contains("id=\"no-history\""), "not 'no history yet'");
}
