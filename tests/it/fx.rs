//! Exchange rates of each day, on both backends: a holding in euros bought, partly sold and
//! paying a dividend on days of Yahoo's real EUR/USD history (tests/fixtures/yahoo), its cost,
//! realized gain and dividend at those days' rates, its value at today's, the gain split into
//! the price's and the currency's part, and the day without a rate named.

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, spawn_app_on};

on_sqlite_and_postgres!("fx": costs_and_income_convert_at_their_own_days_rates);

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn dec(v: &Value) -> Decimal {
    d(v.as_str()
        .unwrap_or_else(|| panic!("a decimal string: {v}")))
}

/// The summary once the euro's past rates are known (the first view starts their fetch).
async fn summary_with_history(app: &TestApp, query: &str) -> Value {
    for _ in 0..100 {
        let s: Value = app
            .get(&format!("/api/v1/summary{query}"))
            .await
            .json()
            .await
            .expect("json");
        if s["today_rate_currencies"]
            .as_array()
            .is_some_and(|c| c.is_empty())
        {
            return s;
        }
        assert_eq!(s["today_rate_currencies"], json!(["EUR"]), "{s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the euro's past rates never came");
}

async fn costs_and_income_convert_at_their_own_days_rates(db: TestDb) {
    let app = spawn_app_on(db).await;
    app.mock_euro_stock().await;
    app.record_all(&[
        json!({"symbol": "SAP", "type": "buy", "date": "2020-01-02", "quantity": "10", "price": "100", "currency": "EUR"}),
        json!({"symbol": "SAP", "type": "sell", "date": "2020-01-03", "quantity": "4", "price": "110"}),
        // No close after 3 January in the history: a gap of 17 days.
        json!({"symbol": "SAP", "type": "dividend", "date": "2020-01-20", "amount": "20"}),
    ])
    .await;
    let (jan2, jan3, today) = (
        d("1.1220825910568237"),
        d("1.1171437501907349"),
        d("1.1131"),
    );
    let s = summary_with_history(&app, "").await;
    assert_eq!(s["currency"], "USD");
    // Bought for 1,000 EUR on 2 January; 6 of 10 kept: 60 % of that day's cost.
    let cost_then = d("1000") * jan2;
    let kept = (cost_then * d("6") / d("10")).round_dp(8);
    assert_eq!(dec(&s["cost"]), kept, "{s}");
    assert_eq!(dec(&s["value"]), d("720") * today, "{s}");
    assert_eq!(dec(&s["gain"]), d("720") * today - kept, "{s}");
    // The price: 720 − 600 EUR at today's rate; the euro: 600 EUR now less then.
    assert_eq!(dec(&s["price_gain"]), d("120") * today, "{s}");
    assert_eq!(dec(&s["currency_gain"]), d("600") * today - kept, "{s}");
    assert!(
        dec(&s["currency_gain"]) < Decimal::ZERO,
        "the euro fell: {s}"
    );
    // Sold 4 for 440 EUR at 3 January's rate; they had cost the rest of the purchase.
    let realized = d("440") * jan3 - (cost_then - kept);
    assert_eq!(dec(&s["realized"]), realized.round_dp(8), "{s}");
    // The dividend on 20 January took 3 January's rate, and the page and the API say so.
    assert_eq!(dec(&s["dividends"]), (d("20") * jan3).round_dp(8), "{s}");
    assert_eq!(
        s["fx_gaps"],
        json!([{"currency": "EUR", "day": "2020-01-20", "used": "2020-01-03"}])
    );
    assert_eq!(s["rates"], json!([{"currency": "EUR", "rate": "1.1131"}]));

    let html = app.get("/portfolio").await.text().await.expect("page");
    let currency_gain = format!("{}", (d("600") * today - kept).abs().round_dp(2));
    assert!(
        html.contains("id=\"summary-currency-gain\">-") && html.contains(&currency_gain),
        "the currency's part of the gain, {currency_gain}, is on the summary: {html}"
    );
    assert!(
        html.contains("id=\"summary-price-gain\">+133.57 USD"),
        "the price's part: {html}"
    );
    assert!(
        html.contains("EUR: no rate to USD for 2020-01-20 (the rate of 2020-01-03 used)."),
        "the gap is named: {html}"
    );
    // The income: the dividend at its day's rate.
    let income: Value = app.get("/api/v1/income").await.json().await.expect("json");
    assert_eq!(
        income["years"],
        json!([{"period": "2020", "dividends": "22.34", "interest": "0", "total": "22.34"}])
    );
    let page = app.get("/income").await.text().await.expect("page");
    assert!(
        page.contains("2020-01-20 (the rate of 2020-01-03 used)"),
        "{page}"
    );

    // One account alone gives the same; bad parameters are refused and change nothing.
    let accounts: Value = app
        .get("/api/v1/accounts")
        .await
        .json()
        .await
        .expect("json");
    let id = accounts["items"][0]["id"].as_i64().expect("account id");
    let one = summary_with_history(&app, &format!("?account_id={id}")).await;
    assert_eq!(one["currency_gain"], s["currency_gain"]);
    for (query, status) in [
        ("?account_id=999999", 404),
        ("?account_id=x", 400),
        ("?bogus=1", 400),
    ] {
        let r = app.get(&format!("/api/v1/summary{query}")).await;
        assert_eq!(r.status(), status, "{query}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{query}"
        );
    }
    assert_eq!(summary_with_history(&app, "").await, s);
}
