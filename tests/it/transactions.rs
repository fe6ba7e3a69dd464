//! Transactions through the API and the pages: what a holding and its gains become, what is
//! refused, and totals across currencies.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, iex_quote, sign_in, spawn_app, spawn_app_on, yahoo_chart};

/// AAPL at 130 (previous close 125).
async fn mock_aapl(app: &TestApp) {
    let mut quote = iex_quote("AAPL", "Apple Inc.", 130.0);
    quote["previousClose"] = json!(125.0);
    app.mock_quote("AAPL", quote).await;
}

/// A form post's answer, following its redirect (303) the way a browser does.
async fn submit(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let r = app.post_form(path, form).await;
    if r.status() != 303 {
        return r;
    }
    let to = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("location")
        .to_string();
    app.get(&to).await
}

async fn record(app: &TestApp, body: Value) -> (u16, Value) {
    let r = app.post_json("/api/v1/transactions", &body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn holding(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/v1/holdings/{id}"))
        .await
        .json()
        .await
        .expect("holding json")
}

/// The hand-computed story of the README's average-cost method:
/// buy 10 @ 100 + 1 fee (1,001), buy 30 @ 120 + 2 fee (3,602): 40 units costing 4,603;
/// sell 15 @ 140 − 5 fee: proceeds 2,095, cost out 4,603 × 15/40 = 1,726.125, realized
/// 368.875; 25 units left costing 2,876.875; dividend 50 − 7.5 withheld = 42.5; a 12 fee
/// makes realized 356.875. At 130: value 3,250, unrealized 373.125 (12.97 %); day change
/// 25 × 5 = 125.
async fn gains_story(app: &TestApp) {
    mock_aapl(app).await;
    let (status, first) = record(
        app,
        json!({"symbol": "AAPL", "type": "buy", "date": "2024-03-01", "quantity": "10", "price": "100", "fees": "1"}),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    let id = first["holding_id"].as_i64().expect("holding id");
    for body in [
        json!({"holding_id": id, "type": "buy", "date": "2024-03-02", "quantity": 30, "price": "120", "fees": "2"}),
        json!({"holding_id": id, "type": "sell", "date": "2024-04-01", "quantity": "15", "price": "140", "fees": "5"}),
        json!({"holding_id": id, "type": "dividend", "date": "2024-05-01", "amount": "50", "fees": "7.5", "currency": "USD"}),
        json!({"symbol": "AAPL", "type": "fee", "date": "2024-05-02", "amount": "12", "notes": "custody"}),
    ] {
        let (status, body) = record(app, body).await;
        assert_eq!(status, 201, "{body}");
    }
    let h = holding(app, id).await;
    assert_eq!(h["quantity"], "25");
    assert_eq!(h["cost_total"], "2876.875");
    assert_eq!(h["cost_basis"], "115.075");
    assert_eq!(h["market_value"], "3250");
    assert_eq!(h["unrealized_gain"], "373.125");
    assert_eq!(h["unrealized_gain_percent"], "12.97");
    assert_eq!(h["realized_gain"], "356.875");
    assert_eq!(h["dividends"], "42.5");
    assert_eq!(h["day_change"], "125");

    // Selling more than is held is refused, names the transaction, and writes nothing.
    let (status, problem) = record(
        app,
        json!({"holding_id": id, "type": "sell", "date": "2024-06-01", "quantity": "26", "price": "1"}),
    )
    .await;
    assert_eq!(
        status, 409,
        "a conflict with the holding as it stands: {problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("only 25 are held")),
        "{problem}"
    );
    let list: Value = app
        .get(&format!("/api/v1/transactions?holding_id={id}"))
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(list["total"], 5);
    assert_eq!(holding(app, id).await["quantity"], "25");

    // A 2-for-1 split doubles the units and keeps the cost.
    let (status, _) = record(
        app,
        json!({"holding_id": id, "type": "split", "date": "2024-06-03", "ratio": 2}),
    )
    .await;
    assert_eq!(status, 201);
    let h = holding(app, id).await;
    assert_eq!(h["quantity"], "50");
    assert_eq!(h["cost_total"], "2876.875");

    // The holding's page: 50 × 130 = 6,500 against 2,876.875 (57.5375 each): +3,623.125 or
    // 125.94 %; today 50 × 5; the only holding, so all of the portfolio.
    let page = app
        .get(&format!("/portfolio/{id}"))
        .await
        .text()
        .await
        .expect("holding page");
    for (field, want) in [
        ("position-value", "6,500.00"),
        ("position-day", "+250.00"),
        ("position-gain", "+3,623.13"),
        ("position-gain-percent", "+125.94%"),
        ("summary-quantity", "50"),
        ("summary-average", "57.54"),
        ("summary-cost", "2,876.88"),
        ("summary-realized", "+356.88"),
        ("summary-dividends", "42.50"),
    ] {
        assert!(
            page.contains(&format!("id=\"{field}\">{want}<")),
            "{field} should be {want}: {page}"
        );
    }
    assert!(
        page.contains(
            "id=\"summary-weight\" title=\"Share of the portfolio value in USD\">100.00%<"
        ),
        "{page}"
    );
    assert!(page.contains("id=\"transactions-table\""), "{page}");
    assert!(
        page.contains(">Previous close<"),
        "the quote's statistics: {page}"
    );
    // The total gain, 3,623.125 unrealized + 356.875 realized + 42.5 dividends = 4,022.5, is a
    // share of all the money put in: the 2,876.875 held and the 1,726.125 the 15 sold had cost.
    let portfolio = app.get("/portfolio").await.text().await.expect("portfolio");
    assert!(
        portfolio.contains("id=\"summary-gain\">+4,022.50 USD<"),
        "{portfolio}"
    );
    assert!(
        portfolio.contains("id=\"summary-gain-percent\">+87.39%<"),
        "{portfolio}"
    );
}

#[tokio::test]
async fn gains_follow_transactions_on_sqlite() {
    gains_story(&spawn_app().await).await;
}

#[tokio::test]
async fn gains_follow_transactions_on_postgres() {
    let Some(db) = TestDb::postgres("transactions::gains_follow_transactions_on_postgres").await
    else {
        return;
    };
    gains_story(&spawn_app_on(db).await).await;
}

#[tokio::test]
async fn bad_transactions_get_clear_4xx_and_change_nothing() {
    let app = spawn_app().await;
    mock_aapl(&app).await;
    let (_, first) = record(
        &app,
        json!({"symbol": "AAPL", "type": "buy", "date": "2024-03-01", "quantity": "10", "price": "100"}),
    )
    .await;
    let id = first["holding_id"].as_i64().expect("id");
    let tomorrow = (time::OffsetDateTime::now_utc().date() + time::Duration::days(1)).to_string();
    let cases = [
        (
            json!({"holding_id": id, "type": "buy", "date": tomorrow, "quantity": "1", "price": "1"}),
            409,
            "in the future",
        ),
        (
            json!({"holding_id": id, "type": "buy", "date": "1899-12-31", "quantity": "1", "price": "1"}),
            422,
            "1900",
        ),
        (
            json!({"holding_id": id, "type": "buy", "date": "2024-03-01", "quantity": "-1", "price": "1"}),
            422,
            "plain digits",
        ),
        (
            json!({"holding_id": id, "type": "buy", "date": "2024-03-01", "quantity": "0", "price": "1"}),
            422,
            "greater than 0",
        ),
        (
            json!({"holding_id": id, "type": "sell", "date": "2024-03-01", "quantity": "1"}),
            422,
            "Price per unit is required",
        ),
        (
            json!({"holding_id": id, "type": "dividend", "date": "2024-03-01"}),
            422,
            "Amount",
        ),
        (
            json!({"holding_id": id, "type": "buy", "date": "2024-03-01", "quantity": "1", "price": "1", "currency": "EUR"}),
            409,
            "priced in USD",
        ),
        (
            json!({"holding_id": id, "type": "buy", "date": tomorrow, "quantity": "1", "price": "1", "currency": "EUR", "notes": "\u{7}"}),
            422,
            "notes",
        ),
        (
            json!({"holding_id": id, "type": "buy", "date": "2023-02-29", "quantity": "1", "price": "1"}),
            422,
            "not a date",
        ),
        (
            json!({"holding_id": id, "type": "buy", "date": "2024-03-01", "quantity": null, "price": "1"}),
            422,
            "Quantity",
        ),
        (
            json!({"holding_id": id, "type": "fee", "date": "2024-03-01", "amount": "1", "price": -1}),
            422,
            "0 or more",
        ),
        (
            json!({"holding_id": 1.5, "type": "buy", "date": "2024-03-01", "quantity": "1", "price": "1"}),
            422,
            "not a whole number",
        ),
        (
            json!({"holding_id": id, "type": "gift", "date": "2024-03-01"}),
            422,
            "body does not match",
        ),
        (
            json!({"type": "buy", "date": "2024-03-01", "quantity": "1", "price": "1"}),
            422,
            "holding_id",
        ),
        (
            json!({"holding_id": 999_999, "type": "buy", "date": "2024-03-01", "quantity": "1", "price": "1"}),
            404,
            "no holding",
        ),
    ];
    for (body, status, text) in cases {
        let (got, problem) = record(&app, body.clone()).await;
        assert_eq!(got, status, "{body}: {problem}");
        assert!(
            problem.to_string().contains(text),
            "{body}: {text:?} not in {problem}"
        );
    }
    let list: Value = app
        .get("/api/v1/transactions")
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(list["total"], 1, "nothing refused was written");

    // Another user sees none of it.
    let tx_id = first["id"].as_i64().expect("tx id");
    let store = stock_ticker::store::connect(&app.database_url(), 2)
        .await
        .expect("store");
    let bob = store
        .create_user(
            "bob",
            &crate::helpers::password_hash("bob-password-1"),
            false,
        )
        .await
        .expect("bob");
    let bob_owner = bob.owner();
    let visitor = sign_in(store.as_ref(), bob).await;
    let (token, prefix) = stock_ticker::portfolio::auth::new_api_token().expect("token");
    store
        .create_token(
            bob_owner,
            "t",
            &prefix,
            &stock_ticker::portfolio::auth::sha256_hex(&token),
        )
        .await
        .expect("token");
    let bob_api = |path: &str| {
        reqwest::Client::new()
            .get(app.url(path))
            .bearer_auth(&token)
    };
    let r = bob_api(&format!("/api/v1/transactions/{tx_id}"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let r: Value = bob_api("/api/v1/transactions")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(r["total"], 0);
    for path in [
        format!("/portfolio/{id}/transactions"),
        format!("/portfolio/{id}"),
    ] {
        let r = visitor
            .client
            .get(app.url(&path))
            .send()
            .await
            .expect("page");
        assert_eq!(r.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn the_transactions_page_adds_refuses_edits_and_deletes() {
    let app = spawn_app().await;
    mock_aapl(&app).await;
    let id = app.add_holding("AAPL", "stock", "10").await;

    // The former transactions address leads to the holding's page, which lists them.
    let moved = app.get(&format!("/portfolio/{id}/transactions")).await;
    assert_eq!(moved.status(), 308);
    assert_eq!(
        moved.headers()["location"],
        format!("/portfolio/{id}#transactions").as_str()
    );
    let page = app
        .get(&format!("/portfolio/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("id=\"transactions-table\""),
        "the opening buy is listed"
    );

    // The opening buy is dated today (the day the holding was added).
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let path = format!("/portfolio/{id}/transactions");
    let r = submit(
        &app,
        &path,
        &[
            ("type", "sell"),
            ("date", &today),
            ("quantity", "4"),
            ("price", "1,250.5"),
        ],
    )
    .await;
    let status = r.status();
    let html = r.text().await.expect("html");
    assert!(html.contains("Transaction added."), "{status} {html}");
    assert!(html.contains("id=\"summary-quantity\">6<"), "10 − 4 held");

    let r = submit(
        &app,
        &path,
        &[
            ("type", "sell"),
            ("date", &today),
            ("quantity", "7"),
            ("price", "1"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("html");
    assert!(html.contains("only 6 are held"), "{html}");
    assert!(
        html.contains("value=\"7\""),
        "the form keeps what was typed"
    );

    let r = submit(
        &app,
        &path,
        &[("type", "split"), ("date", "not a date"), ("ratio", "x")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("html");
    assert!(html.contains("is not a date"), "{html}");
    assert!(html.contains("Ratio"), "{html}");

    // Edit the sell (the second transaction) down to 2; then delete it.
    let list: Value = app
        .get(&format!("/api/v1/transactions?holding_id={id}"))
        .await
        .json()
        .await
        .expect("list");
    let sell_id = list["items"][1]["id"].as_i64().expect("sell id");
    let r = submit(
        &app,
        &format!("/transactions/{sell_id}/edit"),
        &[
            ("type", "sell"),
            ("date", &today),
            ("quantity", "2"),
            ("price", "1250.5"),
        ],
    )
    .await;
    assert!(
        r.text()
            .await
            .expect("html")
            .contains("id=\"summary-quantity\">8<")
    );
    // With two transactions, the edit page shows the quantity and cost as theirs, with a way
    // to record more; saving changes the notes only, whatever else is sent.
    let edit = app
        .get(&format!("/portfolio/{id}/edit"))
        .await
        .text()
        .await
        .expect("edit page");
    assert!(edit.contains("id=\"locked-quantity\">8<"), "{edit}");
    assert!(edit.contains(&format!(
        "href=\"/portfolio/{id}#tx-form\" id=\"record-link\""
    )));
    assert!(!edit.contains("name=\"quantity\""), "no quantity field");
    let r = submit(
        &app,
        &format!("/portfolio/{id}/edit"),
        &[("quantity", "99"), ("cost_basis", "1"), ("notes", "kept")],
    )
    .await;
    assert!(r.url().path().starts_with("/portfolio"), "{}", r.url());
    let h = holding(&app, id).await;
    assert_eq!(
        (h["quantity"].as_str(), h["notes"].as_str()),
        (Some("8"), Some("kept"))
    );
    // Deleting the holding says its transactions go with it.
    let confirm = app
        .get(&format!("/portfolio/{id}/delete"))
        .await
        .text()
        .await
        .expect("confirm page");
    assert!(confirm.contains("with its 2 transactions"), "{confirm}");
    // A transaction's Delete asks first, saying what it was; asking deletes nothing.
    let ask = app.get(&format!("/transactions/{sell_id}/delete")).await;
    assert_eq!(ask.status(), 200);
    let ask = ask.text().await.expect("confirm page");
    assert!(ask.contains("Delete this sell of AAPL?"), "{ask}");
    assert!(ask.contains("1,250.50 USD"), "{ask}");
    assert_eq!(holding(&app, id).await["quantity"], "8");
    let r = submit(&app, &format!("/transactions/{sell_id}/delete"), &[]).await;
    assert!(
        r.text()
            .await
            .expect("html")
            .contains("id=\"summary-quantity\">10<")
    );
    // The opening buy cannot go while ... nothing depends on it; but its holding's quantity is
    // now set by hand only while it is the one transaction.
    let r = submit(
        &app,
        &format!("/portfolio/{id}/edit"),
        &[("quantity", "12"), ("cost_basis", ""), ("notes", "")],
    )
    .await;
    assert!(r.url().path().starts_with("/portfolio"), "{}", r.url());
    assert_eq!(holding(&app, id).await["quantity"], "12");

    // An error page keeps the signed-in navbar.
    let missing = app.get("/no/such/page").await;
    assert_eq!(missing.status(), 404);
    let missing = missing.text().await.expect("page");
    assert!(missing.contains("id=\"logout-button\""), "{missing}");
    assert!(!missing.contains(">Log in<"), "{missing}");
    let gone = app.get("/transactions/999999/delete").await;
    assert_eq!(gone.status(), 404);
    assert!(
        gone.text()
            .await
            .expect("page")
            .contains("id=\"account-link\"")
    );
}

#[tokio::test]
async fn totals_convert_every_currency_into_the_base_one() {
    let app = spawn_app().await;
    mock_aapl(&app).await;
    let mut sap = iex_quote("SAP", "SAP SE", 200.0);
    sap["currency"] = json!("EUR");
    app.mock_quote("SAP", sap).await;
    // 1 EUR = 1.10 USD, 1 USD = 0.9 EUR.
    app.mock_yahoo("EURUSD=X", yahoo_chart("EURUSD=X", "EUR/USD", 1.1, 1.1))
        .await;
    app.mock_yahoo("USDEUR=X", yahoo_chart("USDEUR=X", "USD/EUR", 0.9, 0.9))
        .await;
    for body in [
        json!({"symbol": "AAPL", "type": "buy", "date": "2024-03-01", "quantity": "10", "price": "100"}),
        json!({"symbol": "SAP", "type": "buy", "date": "2024-03-01", "quantity": "5", "price": "150", "currency": "EUR"}),
    ] {
        let (status, b) = record(&app, body).await;
        assert_eq!(status, 201, "{b}");
    }
    let html = app.get("/portfolio").await.text().await.expect("page");
    // USD: value 1,300, gain 300; EUR: value 1,000 (= 1,100 USD), gain 250 (= 275 USD).
    assert!(
        html.contains("<td class=\"text-end total-value\">2,400.00 USD</td>"),
        "{html}"
    );
    assert!(
        html.contains("total-gain text-success\">+575.00<"),
        "{html}"
    );
    assert!(
        html.contains("1 EUR = 1.1 USD"),
        "the rate is shown: {html}"
    );

    let r = submit(&app, "/portfolio/currency", &[("currency", "eur")]).await;
    assert_eq!(r.status(), 200, "{}", r.url());
    let html = r.text().await.expect("page");
    // 1,300 USD × 0.9 = 1,170 EUR, plus 1,000 EUR.
    assert!(
        html.contains("<td class=\"text-end total-value\">2,170.00 EUR</td>"),
        "{html}"
    );
    // Refused, said next to the field with what was typed, and the base stays EUR: not a
    // code, not an ISO 4217 currency, and one no exchange-rate service prices.
    for (typed, says) in [
        ("euro", "not a currency code of ISO 4217"),
        ("XYZ", "not a currency code of ISO 4217"),
        ("CHF", "No exchange-rate service prices CHF right now"),
    ] {
        let r = app
            .post_form("/portfolio/currency", &[("currency", typed)])
            .await;
        assert_eq!(r.status(), 422, "{typed}");
        let html = r.text().await.expect("page");
        assert!(html.contains("id=\"currency-error\""), "{html}");
        assert!(html.contains(says), "{typed}: {html}");
        assert!(
            html.contains(&format!("value=\"{typed}\"")),
            "{typed} is kept"
        );
    }
    let html = app.get("/portfolio").await.text().await.expect("page");
    assert!(html.contains("2,170.00 EUR"), "still in EUR");
}

#[tokio::test]
async fn a_shared_assets_currency_is_never_set_from_input() {
    let app = spawn_app().await;
    // The price service is down: nothing says what VOD is priced in.
    app.mock_quote_status("VOD", 500, "down").await;
    let (status, problem) = record(
        &app,
        json!({"symbol": "VOD", "type": "buy", "date": "2024-03-01", "quantity": "10", "price": "1", "currency": "GBP"}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem.to_string().contains("priced in USD"), "{problem}");
    assert_eq!(problem["errors"][0]["field"], "currency", "{problem}");
    // An item is the owner's own: its currency may come from the transaction.
    let (status, item) = record(
        &app,
        json!({"symbol": "PAINTING", "kind": "item", "type": "buy", "date": "2024-03-01", "quantity": "1", "price": "900", "currency": "EUR"}),
    )
    .await;
    assert_eq!(status, 201, "{item}");
    assert_eq!(item["currency"], "EUR");
    // A reverse split of 1:3 through the form keeps whole units.
    let id = item["holding_id"].as_i64().expect("id");
    let (status, _) = record(
        &app,
        json!({"holding_id": id, "type": "buy", "date": "2024-03-02", "quantity": "299", "price": "900", "currency": "EUR"}),
    )
    .await;
    assert_eq!(status, 201);
    let page = app
        .post_form(
            &format!("/portfolio/{id}/transactions"),
            &[("type", "split"), ("date", "2024-03-03"), ("ratio", "1:3")],
        )
        .await;
    assert_eq!(page.status(), 303);
    assert_eq!(holding(&app, id).await["quantity"], "100");
}

#[tokio::test]
async fn changes_that_conflict_with_the_holding_as_it_stands_are_409_and_write_nothing() {
    let app = spawn_app().await;
    mock_aapl(&app).await;
    let aapl = app.add_holding("AAPL", "stock", "1").await;
    let (status, bought) = record(
        &app,
        json!({"holding_id": aapl, "type": "buy", "date": "2024-01-02", "quantity": "10", "price": "100"}),
    )
    .await;
    assert_eq!(status, 201, "{bought}");
    let (_, sold) = record(
        &app,
        json!({"holding_id": aapl, "type": "sell", "date": "2024-02-01", "quantity": "8", "price": "110"}),
    )
    .await;

    // holding_id names a holding of another asset than symbol.
    let (status, problem) = record(
        &app,
        json!({"holding_id": aapl, "symbol": "MSFT", "type": "buy", "date": "2024-01-03", "quantity": "1", "price": "1"}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Holding")
    );

    // Deleting the buy the sell needs.
    let buy = format!("/api/v1/transactions/{}", bought["id"]);
    let r = app.client.delete(app.url(&buy)).send().await.unwrap();
    assert_eq!(r.status(), 409);

    // A replacement may repeat its own holding and asset, in any case; not another's.
    let body = |symbol: &str| json!({"symbol": symbol, "kind": "stock", "type": "buy", "date": "2024-01-02", "quantity": "12", "price": "100"});
    let r = app
        .client
        .put(app.url(&buy))
        .json(&body("aapl"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let r = app
        .client
        .put(app.url(&buy))
        .json(&body("MSFT"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let list: Value = app
        .get(&format!("/api/v1/transactions?holding_id={aapl}"))
        .await
        .json()
        .await
        .unwrap();
    // The opening unit, the buy (now 12) and the sell: nothing more was written.
    assert_eq!(list["total"], 3, "{sold}");
    assert_eq!(holding(&app, aapl).await["quantity"], "5");
}

#[tokio::test]
async fn without_an_exchange_rate_service_any_iso_currency_can_be_the_base() {
    let app = crate::helpers::spawn_app_with(crate::helpers::TestDb::sqlite().await, |c| {
        c.quote_providers_fx = "".parse().expect("an empty list")
    })
    .await;
    let r = submit(&app, "/portfolio/currency", &[("currency", "chf")]).await;
    assert_eq!(r.status(), 200, "{}", r.url());
    let html = app.get("/portfolio").await.text().await.expect("page");
    assert!(html.contains("value=\"CHF\""), "the base is CHF");
    let r = app
        .post_form("/portfolio/currency", &[("currency", "XYZ")])
        .await;
    assert_eq!(r.status(), 422, "still an ISO 4217 code");
}

#[tokio::test]
async fn a_holding_added_with_a_day_opens_with_a_buy_on_that_day() {
    let app = spawn_app().await;
    mock_aapl(&app).await;
    // The quick add and the add form send the day it was bought.
    let r = app
        .post_form(
            "/portfolio",
            &[
                ("symbol", "AAPL"),
                ("quantity", "3"),
                ("cost_basis", "150"),
                ("date", "2024-03-01"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let list: Value = app
        .get("/api/v1/transactions")
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(list["items"][0]["date"], "2024-03-01");
    assert_eq!(list["items"][0]["price"], "150");
    // A day after today, or no day at all, is said next to the field; nothing is added.
    let tomorrow = (time::OffsetDateTime::now_utc().date() + time::Duration::days(1)).to_string();
    for (day, says) in [
        (tomorrow.as_str(), "in the future"),
        ("31/02/2024", "not a date"),
    ] {
        let r = app
            .post_form(
                "/portfolio",
                &[("symbol", "MSFT"), ("quantity", "1"), ("date", day)],
            )
            .await;
        assert_eq!(r.status(), 422, "{day}");
        let html = r.text().await.expect("page");
        assert!(html.contains(says), "{day}: {html}");
        assert!(html.contains(&format!("value=\"{day}\"")), "{day} is kept");
    }
    assert_eq!(app.holdings().await.len(), 1, "only AAPL");
}
