//! Cash through the API and the pages, on both backends: deposits, withdrawals, interest, fees
//! and transfers; trades move the cash of accounts that track it; bad input writes nothing.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, first_owner, spawn_app_on};

on_sqlite_and_postgres!(
    "cash": cash_follows_every_transaction_of_its_account,
    cash_on_the_pages,
    income_by_month_year_holding_and_account,
    returns_over_every_range
);

async fn body(r: reqwest::Response) -> Value {
    r.json().await.expect("json")
}

async fn cash(app: &TestApp, c: Value) -> reqwest::Response {
    app.post_json("/api/v1/cash", &c).await
}

/// `(account, currency) -> balance` of every balance.
async fn balances(app: &TestApp) -> Vec<(i64, String, String)> {
    let list = body(app.get("/api/v1/cash/balances").await).await;
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|b| {
            (
                b["account_id"].as_i64().expect("account"),
                b["currency"].as_str().expect("currency").to_string(),
                b["balance"].as_str().expect("balance").to_string(),
            )
        })
        .collect()
}

async fn cash_count(app: &TestApp) -> u64 {
    body(app.get("/api/v1/cash").await).await["total"]
        .as_u64()
        .expect("total")
}

async fn cash_follows_every_transaction_of_its_account(db: TestDb) {
    let app = spawn_app_on(db).await;
    app.mock_simple("AAA", "Alpha", 40.0).await;
    // The opening buy (10 at 10) is in Default, which tracks no cash yet.
    let r = app
        .post_holding(
            json!({"symbol": "AAA", "quantity": "10", "cost_basis": "10", "date": "2024-01-02"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let aaa = body(r).await["id"].as_i64().expect("holding");
    let default = body(app.get("/api/v1/accounts").await).await["items"][0]["id"]
        .as_i64()
        .expect("default");
    let r = app
        .post_json("/api/v1/accounts", &json!({"name": "Broker"}))
        .await;
    let broker = body(r).await["id"].as_i64().expect("broker");
    assert!(
        balances(&app).await.is_empty(),
        "no account tracks cash yet"
    );

    let r = cash(&app, json!({"type": "deposit", "date": "2024-01-02", "amount": "10000", "currency": "USD", "account_id": broker, "notes": "opening"})).await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let deposit = body(r).await;
    assert_eq!(
        (
            &deposit["type"],
            &deposit["amount"],
            &deposit["currency"],
            &deposit["account_id"]
        ),
        (
            &json!("deposit"),
            &json!("10000"),
            &json!("USD"),
            &json!(broker)
        )
    );
    assert_eq!(location, format!("/api/v1/cash/{}", deposit["id"]));

    // A buy, a dividend and a holding's fee in Broker move its cash.
    for tx in [
        json!({"holding_id": aaa, "account_id": broker, "type": "buy", "date": "2024-01-03", "quantity": "10", "price": "40", "fees": "1"}),
        json!({"holding_id": aaa, "account_id": broker, "type": "dividend", "date": "2024-02-01", "amount": "12.5"}),
    ] {
        let r = app.post_json("/api/v1/transactions", &tx).await;
        assert_eq!(r.status(), 201, "{tx}");
    }
    for c in [
        json!({"type": "interest", "date": "2024-02-01", "amount": "3.25", "currency": "USD", "account_id": broker}),
        json!({"type": "fee", "date": "2024-02-01", "amount": 5, "currency": "USD", "account_id": broker}),
        json!({"type": "withdrawal", "date": "2024-03-01", "amount": "1000", "currency": "USD", "account_id": broker}),
        json!({"type": "transfer", "date": "2024-03-02", "amount": "500", "currency": "USD", "account_id": broker, "to_account_id": default}),
    ] {
        let r = cash(&app, c.clone()).await;
        assert_eq!(r.status(), 201, "{c}");
    }
    // Broker: 10,000 − (10 × 40 + 1) + 12.5 + 3.25 − 5 − 1,000 − 500 = 8,109.75.
    // Default tracks cash since the transfer: 500 in, less its opening buy (10 × 10) = 400.
    assert_eq!(
        balances(&app).await,
        vec![
            (default, "USD".into(), "400".into()),
            (broker, "USD".into(), "8109.75".into()),
        ]
    );
    let list = body(app.get("/api/v1/cash/balances").await).await;
    let b = &list["items"][1];
    assert_eq!(
        (
            &b["account"],
            &b["net_deposits"],
            &b["interest"],
            &b["fees"]
        ),
        (
            &json!("Broker"),
            &json!("8500"),
            &json!("3.25"),
            &json!("5")
        )
    );
    assert_eq!(list["tracked_account_ids"], json!([default, broker]));

    // The portfolio counts the cash: 20 AAA at 40 = 800, cash 8,509.75; the total gain has
    // the interest less the account's fee (−1.75) beside the holding's gains.
    let html = app.get("/portfolio").await.text().await.expect("html");
    assert!(
        html.contains("id=\"summary-value\">9,309.75 USD<"),
        "{html}"
    );
    assert!(
        html.contains("id=\"summary-cash-balance\">8,509.75 USD<"),
        "{html}"
    );
    assert!(html.contains("-1.75 interest less account fees"), "{html}");
    // Money in: the 10,000 deposit; out: the 1,000 withdrawal and the 9,309.75 held now (the
    // transfer stays inside, and Default's buy is paid from its cash): a small gain a year.
    assert!(
        html.contains("a year since 2024-01-02, money-weighted"),
        "{html}"
    );
    assert!(html.contains("id=\"summary-xirr-rate\">+"), "{html}");
    let html = app
        .get(&format!("/portfolio?account={broker}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("id=\"summary-value\">8,509.75 USD<"),
        "{html}"
    );

    // Bad input: a clear 4xx, nothing written.
    let before = cash_count(&app).await;
    let bob = app.bob().await;
    let bobs: Value = bob
        .client
        .get(app.url("/api/v1/accounts"))
        .send()
        .await
        .expect("bob's")
        .json()
        .await
        .expect("json");
    let bobs = bobs["items"][0]["id"].as_i64().expect("bob's default");
    for (c, status, field) in [
        // Money out in a currency the account never held.
        (
            json!({"type": "withdrawal", "date": "2024-03-01", "amount": "10", "currency": "EUR", "account_id": broker}),
            409,
            "currency",
        ),
        (
            json!({"type": "transfer", "date": "2024-03-01", "amount": "10", "currency": "USD", "account_id": broker, "to_account_id": broker}),
            409,
            "to_account_id",
        ),
        (
            json!({"type": "deposit", "date": "2024-03-01", "amount": "10", "currency": "usd"}),
            422,
            "currency",
        ),
        (
            json!({"type": "transfer", "date": "2024-03-01", "amount": "10", "currency": "USD", "account_id": broker}),
            422,
            "to_account_id",
        ),
        (
            json!({"type": "deposit", "date": "2024-03-01", "amount": "10", "currency": "USD", "account_id": bobs}),
            409,
            "account_id",
        ),
        (
            json!({"type": "transfer", "date": "2024-03-01", "amount": "10", "currency": "USD", "account_id": broker, "to_account_id": bobs}),
            409,
            "to_account_id",
        ),
        (
            json!({"type": "deposit", "date": "2024-03-01", "amount": "-5", "currency": "USD"}),
            422,
            "amount",
        ),
        (
            json!({"type": "deposit", "date": "2024-03-01", "amount": "0", "currency": "USD"}),
            422,
            "amount",
        ),
        (
            json!({"type": "deposit", "date": "2024-03-01", "amount": "10", "currency": "XYZ"}),
            422,
            "currency",
        ),
        (
            json!({"type": "deposit", "date": "2999-01-01", "amount": "10", "currency": "USD"}),
            409,
            "date",
        ),
        (
            json!({"type": "deposit", "date": "01/03/2024", "amount": "10", "currency": "USD"}),
            422,
            "date",
        ),
    ] {
        let r = cash(&app, c.clone()).await;
        assert_eq!(r.status(), status, "{c}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{c}"
        );
        let problem = body(r).await;
        assert_eq!(problem["errors"][0]["field"], field, "{c}: {problem}");
    }
    let r = cash(&app, json!({"type": "withdrawal", "date": "2024-03-01", "amount": "10", "currency": "EUR", "account_id": broker})).await;
    let detail = body(r).await["errors"][0]["message"].to_string();
    assert!(
        detail.contains("Broker has never held EUR") && detail.contains("It holds USD"),
        "{detail}"
    );
    for bad in [
        json!({"type": "gift", "date": "2024-03-01", "amount": "10", "currency": "USD"}),
        json!({"type": "deposit", "date": "2024-03-01", "amount": "10", "currency": "USD", "extra": 1}),
    ] {
        let r = cash(&app, bad.clone()).await;
        assert!(r.status().is_client_error(), "{bad}");
    }
    assert_eq!(cash_count(&app).await, before, "nothing was written");
    let r = bob
        .client
        .get(app.url(&format!("/api/v1/cash/{}", deposit["id"])))
        .send()
        .await
        .expect("bob's look");
    assert_eq!(r.status(), 404, "another user's cash is not found");

    // Replacing and deleting.
    let id = deposit["id"].as_i64().expect("id");
    let r = app
        .client
        .put(app.url(&format!("/api/v1/cash/{id}")))
        .json(
            &json!({"type": "deposit", "date": "2024-01-02", "amount": "11000", "currency": "USD"}),
        )
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    assert_eq!(
        body(r).await["account_id"],
        broker,
        "no account named keeps its own"
    );
    assert!(
        balances(&app)
            .await
            .contains(&(broker, "USD".into(), "9109.75".into()))
    );

    // Deleting Broker moves its cash into Default; the transfer between the two goes.
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/accounts/{broker}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 409, "it has transactions");
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/accounts/{broker}?move_to={default}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 204);
    // 11,000 − 401 + 12.5 + 3.25 − 5 − 1,000 − 100 (the opening buy) = 9,509.75.
    assert_eq!(
        balances(&app).await,
        vec![(default, "USD".into(), "9509.75".into())]
    );
    assert_eq!(cash_count(&app).await, 4, "the transfer went");

    let r = app
        .client
        .delete(app.url(&format!("/api/v1/cash/{id}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 204);
    assert_eq!(app.get(&format!("/api/v1/cash/{id}")).await.status(), 404);
}

async fn cash_on_the_pages(db: TestDb) {
    let app = spawn_app_on(db).await;
    let html = app.get("/cash").await.text().await.expect("html");
    assert!(html.contains("No cash recorded yet"), "{html}");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert!(
        html.contains(&format!("name=\"date\" value=\"{today}\"")),
        "today is the default day"
    );

    let post = |form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app.post_form("/cash", &pairs).await;
            let status = r.status().as_u16();
            if status == 303 {
                let to = r.headers()["location"]
                    .to_str()
                    .expect("location")
                    .to_string();
                return (303, app.get(&to).await.text().await.expect("html"));
            }
            (status, r.text().await.expect("html"))
        }
    };
    let form = |kind: &str, amount: &str, currency: &str| {
        vec![
            ("type", kind.to_string()),
            ("date", today.clone()),
            ("amount", amount.to_string()),
            ("currency", currency.to_string()),
            ("notes", "from salary".to_string()),
        ]
    };
    let (status, html) = post(form("deposit", "2,500.50", "USD")).await;
    assert_eq!(status, 303);
    assert!(html.contains("Recorded."), "{html}");
    assert!(html.contains("+2,500.50 USD"), "{html}");
    let (status, html) = post(form("withdrawal", "3000", "USD")).await;
    assert_eq!(status, 303);
    assert!(
        html.contains("text-end text-nowrap balance text-danger\">-499.50<"),
        "a balance below zero is red: {html}"
    );

    // The portfolio shows the cash (below zero, in red) with no holding at all; everything
    // happened today, so there is no yearly rate yet, and it says so.
    let portfolio = app.get("/portfolio").await.text().await.expect("portfolio");
    assert!(
        portfolio.contains("class=\"text-danger\" id=\"summary-cash-balance\">-499.50 USD<"),
        "{portfolio}"
    );
    assert!(
        portfolio.contains("No yearly return yet: it all happened today"),
        "{portfolio}"
    );

    // Refused: the form says why next to the field and keeps what was typed.
    let (status, html) = post(form("withdrawal", "10", "EUR")).await;
    assert_eq!(status, 409);
    assert!(html.contains("Default has never held EUR"), "{html}");
    assert!(html.contains("name=\"currency\" value=\"EUR\""), "{html}");
    let (status, html) = post(form("deposit", "ten", "USD")).await;
    assert_eq!(status, 422);
    assert!(html.contains("Amount must be a number"), "{html}");
    assert!(html.contains("name=\"amount\" value=\"ten\""), "{html}");
    assert!(html.contains("Nothing was recorded"), "{html}");

    // Deleting asks first (a disclosure), then the balance follows.
    let list = body(app.get("/api/v1/cash").await).await;
    assert_eq!(list["total"], 2);
    let withdrawal = list["items"][1]["id"].as_i64().expect("id");
    assert!(
        html.contains("Delete this withdrawal of -3,000.00 USD?"),
        "{html}"
    );
    let r = app
        .post_form(&format!("/cash/{withdrawal}/delete"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let html = app
        .get("/cash?saved=deleted")
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("balance\">2,500.50<"), "{html}");
}

async fn income_by_month_year_holding_and_account(db: TestDb) {
    let app = spawn_app_on(db).await;
    app.mock_simple("KO", "Coca-Cola", 60.0).await;
    let today = time::OffsetDateTime::now_utc().date();
    let ago = |days: i64| (today - time::Duration::days(days)).to_string();
    let r = app
        .post_holding(
            json!({"symbol": "KO", "quantity": "10", "cost_basis": "50", "date": ago(500)}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let ko = body(r).await["id"].as_i64().expect("holding");
    let html = app.get("/income").await.text().await.expect("html");
    assert!(
        html.contains("No dividends or interest recorded yet"),
        "{html}"
    );

    let r = app
        .post_json("/api/v1/accounts", &json!({"name": "Bank"}))
        .await;
    let bank = body(r).await["id"].as_i64().expect("bank");
    for tx in [
        json!({"holding_id": ko, "type": "dividend", "date": ago(400), "amount": "8"}),
        json!({"holding_id": ko, "type": "dividend", "date": ago(30), "amount": "12.5", "fees": "1"}),
    ] {
        let r = app.post_json("/api/v1/transactions", &tx).await;
        assert_eq!(r.status(), 201, "{tx}");
    }
    // A dividend payer bought and sold within the year: its dividend is income, but it is
    // held no more, so it is no yield on the cost of what is held.
    app.mock_simple("PEP", "PepsiCo", 110.0).await;
    let r = app
        .post_holding(
            json!({"symbol": "PEP", "quantity": "5", "cost_basis": "100", "date": ago(300)}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let pep = body(r).await["id"].as_i64().expect("holding");
    for tx in [
        json!({"holding_id": pep, "type": "dividend", "date": ago(100), "amount": "20"}),
        json!({"holding_id": pep, "type": "sell", "date": ago(50), "quantity": "5", "price": "110"}),
    ] {
        let r = app.post_json("/api/v1/transactions", &tx).await;
        assert_eq!(r.status(), 201, "{tx}");
    }
    let r = cash(&app, json!({"type": "deposit", "date": ago(10), "amount": "1000", "currency": "USD", "account_id": bank})).await;
    assert_eq!(r.status(), 201);
    let r = cash(&app, json!({"type": "interest", "date": ago(0), "amount": "3.25", "currency": "USD", "account_id": bank})).await;
    assert_eq!(r.status(), 201);

    let income = body(app.get("/api/v1/income").await).await;
    assert_eq!(income["currency"], "USD");
    // The dividend of 400 days ago is outside the last twelve months.
    assert_eq!(
        (
            &income["trailing_12m"]["dividends"],
            &income["trailing_12m"]["interest"],
            &income["trailing_12m"]["total"]
        ),
        (&json!("31.5"), &json!("3.25"), &json!("34.75"))
    );
    // KO's 11.50 of dividends on its cost of 10 × 50 (PEP, sold, is in neither).
    assert_eq!(income["yield_on_cost"], "2.3");
    assert_eq!(income["holdings"][0]["symbol"], "KO");
    assert_eq!(income["holdings"][0]["all_time"], "19.5");
    let total: f64 = income["years"]
        .as_array()
        .expect("years")
        .iter()
        .map(|y| {
            y["total"]
                .as_str()
                .expect("total")
                .parse::<f64>()
                .expect("number")
        })
        .sum();
    assert!((total - 42.75).abs() < 1e-9, "{income}");
    let months = income["months"].as_array().expect("months");
    assert!(
        months.len() >= 13,
        "every month from the first payment's: {income}"
    );
    assert_eq!(
        months.last().expect("this month")["period"],
        format!("{}-{:02}", today.year(), u8::from(today.month()))
    );
    let bank_only = body(app.get(&format!("/api/v1/income?account_id={bank}")).await).await;
    assert_eq!(bank_only["trailing_12m"]["total"], "3.25");
    assert_eq!(bank_only["holdings"], json!([]));
    assert_eq!(
        app.get("/api/v1/income?account_id=999999").await.status(),
        404
    );

    let html = app.get("/income").await.text().await.expect("html");
    assert!(html.contains("id=\"income-trailing\">34.75 USD<"), "{html}");
    assert!(html.contains("id=\"income-yield\">2.30%<"), "{html}");
    assert!(html.contains("data-bars=\"12\""), "{html}");
    assert!(
        html.contains(&format!("<a href=\"/portfolio/{ko}\">KO</a>")),
        "{html}"
    );
    assert!(
        html.contains("id=\"income-accounts\""),
        "two accounts: a row each: {html}"
    );
    assert_eq!(app.get("/income?account=999999").await.status(), 404);

    // A holding bought 365 days ago for 1,000 and worth 1,100 now: 10 % a year, on its page and
    // in the API; PEP, sold at 110 after costing 500 and paying 20, has its own rate; the
    // portfolio's, with Bank's deposit counted, is there too.
    app.mock_simple("MMM", "3M", 110.0).await;
    let r = app
        .post_holding(
            json!({"symbol": "MMM", "quantity": "10", "cost_basis": "100", "date": ago(365)}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let mmm = body(r).await["id"].as_i64().expect("holding");
    let returns = body(app.get("/api/v1/returns").await).await;
    let rate_of = |symbol: &str| {
        returns["holdings"]
            .as_array()
            .expect("holdings")
            .iter()
            .find(|h| h["symbol"] == symbol)
            .cloned()
            .expect(symbol)
    };
    assert_eq!(rate_of("MMM")["xirr"], "0.1", "{returns}");
    assert_eq!(rate_of("MMM")["since"], ago(365));
    assert!(
        rate_of("PEP")["xirr"]
            .as_str()
            .is_some_and(|r| !r.starts_with('-')),
        "{returns}"
    );
    assert!(returns["portfolio"]["xirr"].is_string(), "{returns}");
    assert_eq!(returns["portfolio"]["reason"], Value::Null);
    assert_eq!(returns["accounts"].as_array().map(Vec::len), Some(2));
    let page = app
        .get(&format!("/portfolio/{mmm}"))
        .await
        .text()
        .await
        .expect("holding page");
    assert!(
        page.contains("id=\"position-xirr-rate\">+10.00%<"),
        "{page}"
    );
}

/// The range's entry of one measured thing in `GET /api/v1/returns`.
fn range<'a>(measured: &'a Value, name: &str) -> &'a Value {
    measured["ranges"]
        .as_array()
        .and_then(|list| list.iter().find(|r| r["range"] == name))
        .unwrap_or(&Value::Null)
}

fn fraction(v: &Value) -> f64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN)
}

/// Stores a close for each of the last `days` days (not today) of a market asset: `close(n)`
/// for the day `n` days ago.
async fn store_closes(
    app: &TestApp,
    symbol: &str,
    kind: stock_ticker::domain::AssetKind,
    days: i64,
    close: impl Fn(i64) -> i64,
) {
    let today = time::OffsetDateTime::now_utc().date();
    let key = stock_ticker::domain::AssetKey {
        symbol: stock_ticker::domain::Symbol::parse(symbol).expect("symbol"),
        kind,
        owner: first_owner(),
    };
    let closes: Vec<stock_ticker::domain::PricePoint> = (1..=days)
        .rev()
        .map(|n| stock_ticker::domain::PricePoint {
            date: today - time::Duration::days(n),
            close: close(n).into(),
        })
        .collect();
    app.store
        .save_prices(&key, &closes, "test")
        .await
        .expect("save prices");
}

/// Hand-worked: 2,000 deposited 400 days ago, 1,000 of it buying 10 AAPL at 100 the same
/// day; AAPL closes at 100 until 200 days ago, then at 120 (and 120 today); a dividend of 50
/// lands in cash 100 days ago; 500 is withdrawn 50 days ago.
///
/// Value: 2,000 → 2,200 (200 days ago) → 2,250 (the dividend, 100 days ago) → 1,750 (the
/// withdrawal, 50 days ago) → 1,750 today. Time-weighted: 2,200 / 2,000 × 2,250 / 2,200 ×
/// (1,750 + 500) / 2,250 − 1 = 12.5 % over every range that reaches back past 200 days,
/// 0 % over the last month. AAPL alone: 1,200 / 1,000 × (1,200 + 50) / 1,200 − 1 = 25 %.
async fn returns_over_every_range(db: TestDb) {
    let app = spawn_app_on(db).await;
    app.mock_simple("AAPL", "Apple Inc.", 120.0).await;
    let today = time::OffsetDateTime::now_utc().date();
    let ago = |days: i64| today - time::Duration::days(days);
    let accounts = body(app.get("/api/v1/accounts").await).await;
    let nothing = body(app.get("/api/v1/returns").await).await;
    assert_eq!(nothing["portfolio"]["ranges"], json!([]), "{nothing}");
    let r = cash(&app, json!({"type": "deposit", "date": ago(400).to_string(), "amount": "2000", "currency": "USD"})).await;
    assert_eq!(r.status(), 201, "{accounts}");
    let r = app
        .post_holding(json!({"symbol": "AAPL", "quantity": "10", "cost_basis": "100", "date": ago(400).to_string()}))
        .await;
    assert_eq!(r.status(), 201);
    let aapl = body(r).await["id"].as_i64().expect("holding");
    use stock_ticker::domain::AssetKind;
    store_closes(&app, "AAPL", AssetKind::Stock, 400, |n| {
        if n > 200 { 100 } else { 120 }
    })
    .await;
    for tx in [
        json!({"holding_id": aapl, "type": "dividend", "date": ago(100).to_string(), "amount": "50"}),
    ] {
        let r = app.post_json("/api/v1/transactions", &tx).await;
        assert_eq!(r.status(), 201, "{tx}");
    }
    let r = cash(&app, json!({"type": "withdrawal", "date": ago(50).to_string(), "amount": "500", "currency": "USD"})).await;
    assert_eq!(r.status(), 201);

    let returns = body(app.get("/api/v1/returns").await).await;
    let portfolio = &returns["portfolio"];
    let names: Vec<&str> = portfolio["ranges"]
        .as_array()
        .expect("ranges")
        .iter()
        .filter_map(|r| r["range"].as_str())
        .collect();
    assert_eq!(names, ["1m", "ytd", "1y", "3y", "5y", "all"], "{returns}");
    for name in ["ytd", "1y", "3y", "5y", "all"] {
        let r = range(portfolio, name);
        if name == "ytd" && today.ordinal() <= 200 {
            // This year began after the rise: only the dividend and the withdrawal are in it.
            continue;
        }
        assert_eq!(r["twr"], "0.125", "{name}: {returns}");
        assert_eq!(r["twr_reason"], Value::Null);
    }
    assert_eq!(range(portfolio, "1m")["twr"], "0", "{returns}");
    // A year back: the same day last year (the 28th for a 29 February).
    let year_ago = today
        .replace_year(today.year() - 1)
        .or_else(|_| (today - time::Duration::days(1)).replace_year(today.year() - 1))
        .expect("a day last year");
    assert_eq!(range(portfolio, "1y")["from"], year_ago.to_string());
    // Ranges reaching back before the first money start from nothing.
    assert_eq!(range(portfolio, "5y")["from"], Value::Null);
    // 12.5 % over 400 days, a year: 1.125^(365/400) − 1.
    let a_year = fraction(&range(portfolio, "all")["twr_a_year"]);
    let expected = 1.125_f64.powf(365.0 / 400.0) - 1.0;
    assert!((a_year - expected).abs() < 1e-6, "{a_year} vs {expected}");
    assert_eq!(range(portfolio, "1m")["twr_a_year"], Value::Null);
    // The money-weighted rate balances 2,000 in, 500 out and 1,750 held today.
    let rate = fraction(&range(portfolio, "all")["xirr"]);
    let npv = -2000.0
        + 500.0 / (1.0 + rate).powf(350.0 / 365.0)
        + 1750.0 / (1.0 + rate).powf(400.0 / 365.0);
    assert!(npv.abs() < 0.01, "XIRR {rate} leaves {npv}: {returns}");
    assert_eq!(
        range(portfolio, "all")["xirr"],
        portfolio["xirr"],
        "All is the rate since the first money in"
    );
    // Over the 400 days, the money-weighted return is that yearly rate compounded; a flat
    // month earned nothing.
    let over = fraction(&range(portfolio, "all")["mwr"]);
    assert!(
        ((1.0 + rate).powf(400.0 / 365.0) - 1.0 - over).abs() < 1e-6,
        "{returns}"
    );
    assert_eq!(range(portfolio, "1m")["mwr"], "0", "{returns}");
    // The one account is the whole portfolio.
    assert_eq!(returns["accounts"][0]["ranges"], portfolio["ranges"]);
    let holding = &returns["holdings"][0];
    assert_eq!(holding["symbol"], "AAPL");
    let rate_of_aapl = holding["xirr"].as_str().unwrap_or_default().to_string();
    assert!(!rate_of_aapl.is_empty(), "{returns}");
    assert_eq!(range(holding, "all")["twr"], "0.25", "{returns}");

    // A benchmark: SPY closes at 100 until 200 days ago, then 105, and trades at 110 today.
    assert_eq!(returns["benchmark"], Value::Null);
    assert_eq!(range(portfolio, "all")["benchmark"], Value::Null);
    app.mock_simple("SPY", "SPDR S&P 500 ETF", 110.0).await;
    store_closes(&app, "SPY", AssetKind::Etf, 420, |n| {
        if n > 200 { 100 } else { 105 }
    })
    .await;
    let put = |body: Value| {
        let request = app.client.put(app.url("/api/v1/benchmark")).json(&body);
        async move { request.send().await.expect("PUT") }
    };
    assert_eq!(app.get("/api/v1/benchmark").await.status(), 404);
    let r = put(json!({"symbol": "SPY"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await, json!({"symbol": "SPY", "kind": "etf"}));
    // Refused, and the choice stays: a symbol no service knows (422), one no service can
    // price now (409), one sent with spaces (422), an item (422: not a market asset).
    app.mock_quote_status("NOPE", 404, "Unknown symbol").await;
    app.mock_quote_status("DOWN", 503, "Service unavailable")
        .await;
    for (bad, status) in [
        (json!({"symbol": "NOPE"}), 422),
        (json!({"symbol": "DOWN", "kind": "stock"}), 409),
        (json!({"symbol": " SPY"}), 422),
        (json!({"symbol": "SPY", "kind": "item"}), 422),
    ] {
        let r = put(bad.clone()).await;
        let got = r.status();
        assert_eq!(got, status, "{bad}: {}", r.text().await.unwrap_or_default());
    }
    let chosen = body(app.get("/api/v1/benchmark").await).await;
    assert_eq!(chosen["symbol"], "SPY");
    let returns = body(app.get("/api/v1/returns").await).await;
    let portfolio = &returns["portfolio"];
    assert_eq!(returns["benchmark"]["symbol"], "SPY");
    // From before the first money in (All, 5Y): 100 → 110; over the last month: 105 → 110.
    assert_eq!(range(portfolio, "all")["benchmark"], "0.1", "{returns}");
    assert_eq!(range(portfolio, "5y")["benchmark"], "0.1");
    assert_eq!(range(portfolio, "1m")["benchmark"], "0.047619");
    assert_eq!(
        range(&returns["holdings"][0], "all")["benchmark"],
        "0.1",
        "a holding is set beside it too"
    );

    // The holdings export: each holding's accounts and returns.
    let csv = app
        .get("/export/holdings.csv")
        .await
        .text()
        .await
        .expect("csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let row: Vec<&str> = lines.next().expect("AAPL").split(',').collect();
    let cell = |name: &str| {
        let i = header.iter().position(|h| *h == name).expect(name);
        row[i]
    };
    assert_eq!(cell("symbol"), "AAPL");
    assert_eq!(cell("accounts"), "Default", "{csv}");
    assert_eq!(cell("twr_all"), "0.25", "{csv}");
    assert_eq!(cell("xirr"), rate_of_aapl.as_str(), "{csv}");

    // The pages: the portfolio's card and the holding's.
    let html = app
        .get("/portfolio?range=all")
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("id=\"benchmark-header\">SPY<"), "{html}");
    assert!(
        html.contains("action=\"/portfolio/benchmark?range=all\""),
        "the form comes back to the view it is on: {html}"
    );
    assert!(html.contains("id=\"comparison-chart\""), "{html}");
    assert!(
        html.contains("id=\"comparison-total\">+12.50%<"),
        "the line ends at the time-weighted return over All: {html}"
    );
    assert!(
        html.contains("id=\"comparison-benchmark\">+10.00%<"),
        "{html}"
    );
    // The form keeps what was typed and says why it was refused; the choice stays.
    let r = app
        .post_form(
            "/portfolio/benchmark",
            &[("symbol", "NOPE"), ("kind", "etf")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("html");
    assert!(html.contains("id=\"benchmark-error\""), "{html}");
    assert!(
        html.contains("No price service knows the symbol NOPE"),
        "{html}"
    );
    assert!(html.contains("value=\"NOPE\""), "{html}");
    assert_eq!(
        body(app.get("/api/v1/benchmark").await).await["symbol"],
        "SPY"
    );
    // An empty symbol chooses none, back on the view it was chosen from.
    let r = app
        .post_form(
            "/portfolio/benchmark?range=all",
            &[("symbol", ""), ("kind", "etf")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/portfolio?range=all#returns-card");
    assert_eq!(app.get("/api/v1/benchmark").await.status(), 404);
    let r = put(json!({"symbol": "SPY", "kind": "etf"})).await;
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .delete(app.url("/api/v1/benchmark"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status(), 204);
    assert_eq!(app.get("/api/v1/benchmark").await.status(), 404);

    let html = app.get("/portfolio").await.text().await.expect("html");
    let row = html
        .split("<tr data-range=\"All\">")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_default();
    assert!(row.contains("+12.50%"), "{row}");
    assert!(row.contains("from the start"), "{row}");
    let html = app
        .get(&format!("/portfolio/{aapl}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("id=\"returns-card\""), "{html}");
    assert!(html.contains("+25.00%"), "{html}");

    // A holding bought long after the first money: its ranges start from its own first day
    // (100 a month ago, 110 now: 10 % over every range that reaches back that far).
    app.mock_simple("MSFT", "Microsoft", 110.0).await;
    store_closes(&app, "MSFT", AssetKind::Stock, 30, |_| 100).await;
    let r = app
        .post_holding(json!({"symbol": "MSFT", "quantity": "1", "cost_basis": "100", "date": ago(30).to_string()}))
        .await;
    assert_eq!(r.status(), 201);
    let returns = body(app.get("/api/v1/returns").await).await;
    let msft = returns["holdings"]
        .as_array()
        .and_then(|list| list.iter().find(|h| h["symbol"] == "MSFT"))
        .cloned()
        .expect("MSFT");
    for name in ["1y", "3y", "all"] {
        let r = range(&msft, name);
        assert_eq!(r["from"], Value::Null, "{name}: {msft}");
        assert_eq!(r["twr"], "0.1", "{name}: {msft}");
        assert_eq!(r["twr_a_year"], Value::Null, "{name}: a month is no year");
        let over = fraction(&r["mwr"]);
        assert!((over - 0.1).abs() < 1e-6, "{name}: {msft}");
    }
}
