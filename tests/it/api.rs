//! The JSON API against the real server and an IEX-format upstream.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::{method, path};

use crate::helpers::{TestApp, TestDb, iex_quote, spawn_app, spawn_app_on, spawn_app_with};

async fn problem(response: reqwest::Response) -> Value {
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "errors are problem+json"
    );
    response.json().await.expect("problem body")
}

/// Four holdings whose values order differently on every column; DDD is an item with no price.
pub async fn seed_sortable(app: &TestApp) {
    let mut a = iex_quote("AAA", "Alpha Corp", 10.0);
    a["previousClose"] = json!(9.0);
    a["marketCap"] = json!(5_000_000_000_i64);
    a["ytdChange"] = json!(0.05);
    a["week52High"] = json!(12.0);
    a["week52Low"] = json!(8.0);
    app.mock_quote("AAA", a).await;
    let mut b = iex_quote("BBB", "Beta Inc", 500.0);
    b["previousClose"] = json!(550.0);
    b["marketCap"] = json!(2_000_000_000_000_i64);
    b["ytdChange"] = json!(-0.10);
    b["week52High"] = json!(600.0);
    b["week52Low"] = json!(400.0);
    app.mock_quote("BBB", b).await;
    let mut c = iex_quote("CCC", "charlie ltd", 2.0);
    c["previousClose"] = json!(2.0);
    c["week52Low"] = json!(1.0);
    app.mock_quote("CCC", c).await;
    app.add_holding("AAA", "stock", "30").await;
    app.add_holding("BBB", "etf", "1").await;
    app.add_holding("CCC", "stock", "200").await;
    app.add_holding("DDD", "item", "5").await;
}

/// Every column, both directions, with the order a person expects (missing values last).
pub const SORT_CASES: &[(&str, &str, [&str; 4])] = &[
    ("symbol", "asc", ["AAA", "BBB", "CCC", "DDD"]),
    ("symbol", "desc", ["DDD", "CCC", "BBB", "AAA"]),
    ("name", "asc", ["AAA", "BBB", "CCC", "DDD"]),
    ("name", "desc", ["CCC", "BBB", "AAA", "DDD"]),
    ("kind", "asc", ["BBB", "DDD", "AAA", "CCC"]),
    ("kind", "desc", ["AAA", "CCC", "DDD", "BBB"]),
    ("quantity", "asc", ["BBB", "DDD", "AAA", "CCC"]),
    ("quantity", "desc", ["CCC", "AAA", "DDD", "BBB"]),
    ("price", "asc", ["CCC", "AAA", "BBB", "DDD"]),
    ("price", "desc", ["BBB", "AAA", "CCC", "DDD"]),
    ("change_percent", "asc", ["BBB", "CCC", "AAA", "DDD"]),
    ("change_percent", "desc", ["AAA", "CCC", "BBB", "DDD"]),
    ("value", "asc", ["AAA", "CCC", "BBB", "DDD"]),
    ("value", "desc", ["BBB", "CCC", "AAA", "DDD"]),
    // One currency: the weight orders as the value.
    ("weight", "asc", ["AAA", "CCC", "BBB", "DDD"]),
    ("weight", "desc", ["BBB", "CCC", "AAA", "DDD"]),
    ("previous_close", "asc", ["CCC", "AAA", "BBB", "DDD"]),
    ("previous_close", "desc", ["BBB", "AAA", "CCC", "DDD"]),
    ("market_cap", "asc", ["AAA", "BBB", "CCC", "DDD"]),
    ("market_cap", "desc", ["BBB", "AAA", "CCC", "DDD"]),
    ("ytd_change", "asc", ["BBB", "AAA", "CCC", "DDD"]),
    ("ytd_change", "desc", ["AAA", "BBB", "CCC", "DDD"]),
    ("week52_high", "asc", ["AAA", "BBB", "CCC", "DDD"]),
    ("week52_high", "desc", ["BBB", "AAA", "CCC", "DDD"]),
    ("week52_low", "asc", ["CCC", "AAA", "BBB", "DDD"]),
    ("week52_low", "desc", ["BBB", "AAA", "CCC", "DDD"]),
];

async fn listed_symbols(app: &TestApp, query: &str) -> Vec<String> {
    let response = app.get(&format!("/api/v1/holdings{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["total"], body["items"].as_array().unwrap().len());
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["symbol"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn creating_a_holding_returns_201_with_location_and_the_quote() {
    let app = spawn_app().await;
    let mut q = iex_quote("AAPL", "Apple Inc.", 189.84);
    q["previousClose"] = json!(191.56);
    q["change"] = json!(-1.72);
    app.mock_quote("AAPL", q).await;

    let response = app
        .post_holding(
            json!({"symbol": "aapl", "quantity": "10.5", "cost_basis": "150.25", "notes": "core"}),
        )
        .await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/holdings/{}", body["id"]));
    assert_eq!(body["symbol"], "AAPL");
    assert_eq!(body["kind"], "stock");
    assert_eq!(body["name"], "Apple Inc.");
    assert_eq!(body["quantity"], "10.5");
    assert_eq!(body["cost_basis"], "150.25");
    assert_eq!(body["notes"], "core");
    assert_eq!(body["market_value"], "1993.32");
    assert_eq!(body["quote"]["price"], "189.84");
    assert_eq!(body["quote"]["previous_close"], "191.56");
    assert_eq!(body["quote"]["change"], "-1.72");
    assert_eq!(body["quote"]["change_percent"], "-0.8979");
    assert_eq!(body["quote"]["source"], "iex");
    assert_eq!(body["quote"]["as_of"], "2024-01-22T21:00:00Z");

    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched["id"], body["id"]);
    assert_eq!(fetched["quantity"], "10.5");
}

#[tokio::test]
async fn adding_a_held_symbol_returns_409_naming_the_holding() {
    let app = spawn_app().await;
    app.mock_simple("MSFT", "Microsoft", 400.0).await;
    let id = app.add_holding("MSFT", "stock", "1").await;

    let response = app
        .post_holding(json!({"symbol": "msft", "quantity": "2"}))
        .await;

    assert_eq!(response.status(), 409);
    let body = problem(response).await;
    assert_eq!(body["existing_id"], id);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("already hold MSFT")
    );
    let stored = app.holdings().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].quantity.to_string(), "1");
}

#[tokio::test]
async fn an_unknown_symbol_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.mock_quote_status("NOPE", 404, "Unknown symbol").await;

    let response = app
        .post_holding(json!({"symbol": "NOPE", "quantity": "1"}))
        .await;

    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    assert_eq!(body["errors"][0]["field"], "symbol");
    assert!(app.holdings().await.is_empty());
}

#[tokio::test]
async fn a_holding_can_be_added_while_the_provider_is_down() {
    let app = spawn_app().await;
    app.mock_quote_status("IBM", 500, "oops").await;

    let response = app
        .post_holding(json!({"symbol": "IBM", "quantity": "3"}))
        .await;

    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["quote"], Value::Null);
    assert_eq!(body["market_value"], Value::Null);
    assert_eq!(app.holdings().await.len(), 1);
}

#[tokio::test]
async fn bad_input_gets_a_4xx_and_changes_nothing() {
    let app = spawn_app().await;
    app.mock_simple("KEEP", "Kept Corp", 1.0).await;
    app.add_holding("KEEP", "stock", "1").await;
    let before = app.holdings().await;
    let long = "A".repeat(21);
    let huge_note = "x".repeat(1001);
    let cases: Vec<(Value, u16)> = vec![
        (json!({"symbol": "", "quantity": "1"}), 422),
        (json!({"symbol": "   ", "quantity": "1"}), 422),
        (json!({"symbol": long, "quantity": "1"}), 422),
        (json!({"symbol": "AA PL", "quantity": "1"}), 422),
        (json!({"symbol": "<script>", "quantity": "1"}), 422),
        (
            json!({"symbol": "X'; DROP TABLE holdings;--", "quantity": "1"}),
            422,
        ),
        (json!({"symbol": "OK", "quantity": "0"}), 422),
        (json!({"symbol": "OK", "quantity": "-5"}), 422),
        (json!({"symbol": "OK", "quantity": -5}), 422),
        (json!({"symbol": "OK", "quantity": "1e40"}), 422),
        (json!({"symbol": "OK", "quantity": 1e13}), 422),
        (json!({"symbol": "OK", "quantity": 10.5}), 422),
        (json!({"symbol": "OK", "quantity": 1000000000001_i64}), 422),
        (json!({"symbol": " OK", "quantity": "1"}), 422),
        (json!({"symbol": "OK", "quantity": " 1"}), 422),
        (json!({"symbol": "OK", "quantity": "1,000"}), 422),
        (json!({"symbol": "OK", "quantity": "1e3"}), 422),
        (json!({"symbol": "OK", "quantity": "010"}), 422),
        (json!({"symbol": "OK", "quantity": "+1"}), 422),
        (json!({"symbol": "OK", "quantity": "1."}), 422),
        (json!({"symbol": "OK", "quantity": ".5"}), 422),
        (json!({"symbol": "OK", "quantity": "1.000000000"}), 422),
        (json!({"symbol": "OK", "quantity": "0.00000000"}), 422),
        (
            json!({"symbol": "OK", "quantity": "1", "cost_basis": ""}),
            422,
        ),
        (json!({"symbol": "OK", "quantity": "ten"}), 422),
        (json!({"symbol": "OK", "quantity": "0.000000001"}), 422),
        (json!({"symbol": "OK", "quantity": true}), 422),
        (json!({"symbol": "OK", "quantity": null}), 422),
        (json!({"symbol": "OK"}), 422),
        (json!({"quantity": "1"}), 422),
        (
            json!({"symbol": "OK", "quantity": "1", "kind": "bond"}),
            422,
        ),
        (
            json!({"symbol": "OK", "quantity": "1", "cost_basis": "-1"}),
            422,
        ),
        (
            json!({"symbol": "OK", "quantity": "1", "notes": huge_note}),
            422,
        ),
        (json!({"symbol": "OK", "quantity": "1", "owner_id": 2}), 422),
        (json!(["OK", 1]), 422),
        (json!(["OK", "stock", "1", null, null]), 422),
        (json!({"symbol": "OK", "quantity": "1,5"}), 422),
    ];
    for (body, status) in cases {
        let response = app.post_holding(body.clone()).await;
        assert_eq!(response.status(), status, "{body}");
        let problem = problem(response).await;
        assert!(
            !problem["detail"].as_str().unwrap().is_empty(),
            "{body}: a message"
        );
    }

    let malformed = app
        .client
        .post(app.url("/api/v1/holdings"))
        .header("content-type", "application/json")
        .body(r#"{"symbol": "OK", "quantity": "#)
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    problem(malformed).await;

    let wrong_type = app
        .client
        .post(app.url("/api/v1/holdings"))
        .header("content-type", "text/plain")
        .body(r#"{"symbol": "OK", "quantity": "1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
    problem(wrong_type).await;

    let too_big = app
        .client
        .post(app.url("/api/v1/holdings"))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"symbol": "OK", "quantity": "1", "notes": "{}"}}"#,
            "x".repeat(70_000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    problem(too_big).await;

    assert_eq!(app.holdings().await, before);
}

#[tokio::test]
async fn the_api_takes_plain_decimals_and_whole_numbers_exactly() {
    let app = spawn_app().await;
    for (i, (quantity, stored)) in [
        (json!("0.00000001"), "0.00000001"),
        (json!("1000000000000"), "1000000000000"),
        (json!("1000000000000.00000000"), "1000000000000"),
        (json!("0.10"), "0.1"),
        (json!("123456789012.12345678"), "123456789012.12345678"),
        (json!(7), "7"),
        (json!(7.0), "7"),
        (json!(1_000_000_000_000_i64), "1000000000000"),
    ]
    .into_iter()
    .enumerate()
    {
        let symbol = format!("ITEM{i}");
        let response = app
            .post_holding(
                json!({"symbol": symbol, "kind": "item", "quantity": quantity, "cost_basis": 0}),
            )
            .await;
        assert_eq!(response.status(), 201, "{quantity}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["quantity"],
            stored,
            "{quantity}"
        );
    }
}

#[tokio::test]
async fn validation_errors_name_every_bad_field() {
    let app = spawn_app().await;

    let response = app
        .post_holding(json!({"symbol": "", "quantity": "-1", "cost_basis": "abc"}))
        .await;

    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["symbol", "quantity", "cost_basis"]);
}

#[tokio::test]
async fn put_replaces_and_patch_changes_only_what_is_sent() {
    let app = spawn_app().await;
    app.mock_simple("AAA", "Alpha", 10.0).await;
    app.mock_simple("BBB", "Beta", 20.0).await;
    let id = app.add_holding("AAA", "stock", "1").await;
    let url = app.url(&format!("/api/v1/holdings/{id}"));

    let patched: Value = app
        .client
        .patch(&url)
        .json(&json!({"notes": "first lot", "cost_basis": 9}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["quantity"], "1");
    assert_eq!(patched["notes"], "first lot");
    assert_eq!(patched["cost_basis"], "9");

    let cleared: Value = app
        .client
        .patch(&url)
        .json(&json!({"cost_basis": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["cost_basis"], Value::Null);
    assert_eq!(cleared["notes"], "first lot");

    let replaced = app
        .client
        .put(&url)
        .json(&json!({"symbol": "BBB", "quantity": "4"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(replaced["symbol"], "BBB");
    assert_eq!(replaced["quantity"], "4");
    assert_eq!(replaced["notes"], Value::Null);
    assert_eq!(replaced["market_value"], "80");
}

/// The opening buy's day of a holding, as the transactions list gives it.
async fn opening_days(app: &TestApp, id: i64) -> Vec<String> {
    let list: Value = app
        .get(&format!("/api/v1/transactions?holding_id={id}"))
        .await
        .json()
        .await
        .expect("list");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["date"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `date` on adding dates the opening buy; a replace moves it while it is the only
/// transaction; a later day, a malformed one, or moving a holding with more transactions is
/// refused and writes nothing.
async fn purchase_day_story(app: &TestApp) {
    app.mock_simple("AAA", "Alpha", 10.0).await;
    let tomorrow = (time::OffsetDateTime::now_utc().date() + time::Duration::days(1)).to_string();
    for (date, status, field) in [
        (tomorrow.as_str(), 409, "date"),
        ("03/01/2024", 422, "date"),
        ("2023-02-29", 422, "date"),
        (" 2024-03-01", 422, "date"),
    ] {
        let r = app
            .post_json(
                "/api/v1/holdings",
                &json!({"symbol": "AAA", "quantity": "2", "date": date}),
            )
            .await;
        assert_eq!(r.status(), status, "{date}");
        let body = problem(r).await;
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    let listed: Value = app
        .get("/api/v1/holdings")
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(listed["total"], 0, "nothing was added");

    let r = app
        .post_json(
            "/api/v1/holdings",
            &json!({"symbol": "AAA", "quantity": "2", "cost_basis": "8", "date": "2024-03-01"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");
    assert_eq!(opening_days(app, id).await, ["2024-03-01"]);

    let url = app.url(&format!("/api/v1/holdings/{id}"));
    let put = |body: Value| app.client.put(&url).json(&body).send();
    let r = put(json!({"symbol": "AAA", "quantity": "2", "cost_basis": "8", "date": "2023-12-29"}))
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    assert_eq!(opening_days(app, id).await, ["2023-12-29"], "moved");
    let r = put(json!({"symbol": "AAA", "quantity": "2", "cost_basis": "8"}))
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    assert_eq!(opening_days(app, id).await, ["2023-12-29"], "kept");
    let r = put(json!({"symbol": "AAA", "quantity": "2", "date": tomorrow}))
        .await
        .expect("put");
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await["errors"][0]["field"], "date");

    // With a second transaction the day is the transactions' to say.
    let r = app
        .post_json(
            "/api/v1/transactions",
            &json!({"holding_id": id, "type": "buy", "date": "2024-05-02", "quantity": "1", "price": "9"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = put(json!({"symbol": "AAA", "quantity": "3", "date": "2024-01-02"}))
        .await
        .expect("put");
    assert_eq!(r.status(), 409);
    assert!(
        problem(r).await["detail"]
            .as_str()
            .is_some_and(|d| d.contains("come from its 2 transactions"))
    );
    assert_eq!(opening_days(app, id).await, ["2023-12-29", "2024-05-02"]);
    // Naming the day and amounts it already has is fine: only the notes change.
    let now: Value = app
        .get(&format!("/api/v1/holdings/{id}"))
        .await
        .json()
        .await
        .expect("holding");
    let r = put(json!({"symbol": "AAA", "quantity": "3", "cost_basis": now["cost_basis"], "date": "2023-12-29", "notes": "two lots"}))
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.expect("json")["notes"], "two lots");
}

#[tokio::test]
async fn a_holding_takes_the_day_it_was_bought_on_sqlite() {
    purchase_day_story(&spawn_app().await).await;
}

#[tokio::test]
async fn a_holding_takes_the_day_it_was_bought_on_postgres() {
    let Some(db) = TestDb::postgres("api::a_holding_takes_the_day_it_was_bought_on_postgres").await
    else {
        return;
    };
    purchase_day_story(&spawn_app_on(db).await).await;
}

#[tokio::test]
async fn put_onto_an_asset_already_held_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    app.mock_simple("AAA", "Alpha", 10.0).await;
    app.mock_simple("BBB", "Beta", 20.0).await;
    let a = app.add_holding("AAA", "stock", "1").await;
    let b = app.add_holding("BBB", "stock", "2").await;
    let before = app.holdings().await;

    let response = app
        .client
        .put(app.url(&format!("/api/v1/holdings/{a}")))
        .json(&json!({"symbol": "BBB", "quantity": "4"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["existing_id"], b);
    assert_eq!(app.holdings().await, before);
}

#[tokio::test]
async fn bad_updates_get_a_4xx_and_change_nothing() {
    let app = spawn_app().await;
    app.mock_simple("AAA", "Alpha", 10.0).await;
    let id = app.add_holding("AAA", "stock", "1").await;
    let before = app.holdings().await;
    let url = app.url(&format!("/api/v1/holdings/{id}"));

    let cases = [
        (reqwest::Method::PATCH, json!({"quantity": "0"}), 422),
        (reqwest::Method::PATCH, json!({"quantity": null}), 422),
        (reqwest::Method::PATCH, json!({"symbol": "BBB"}), 422),
        (reqwest::Method::PATCH, json!({"notes": 5}), 422),
        (reqwest::Method::PUT, json!({"symbol": "AAA"}), 422),
        (
            reqwest::Method::PUT,
            json!({"symbol": "A A", "quantity": "1"}),
            422,
        ),
    ];
    for (verb, body, status) in cases {
        let response = app
            .client
            .request(verb.clone(), &url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{verb} {body}");
        problem(response).await;
    }
    assert_eq!(app.holdings().await, before);
}

#[tokio::test]
async fn missing_holdings_are_404_and_malformed_ids_400() {
    let app = spawn_app().await;
    for verb in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let body = if verb == reqwest::Method::PATCH {
            json!({"quantity": "1"})
        } else {
            json!({"symbol": "AAA", "quantity": "1"})
        };
        let response = app
            .client
            .request(verb.clone(), app.url("/api/v1/holdings/4242"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{verb}");
        problem(response).await;
        let response = app
            .client
            .request(verb.clone(), app.url("/api/v1/holdings/abc"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{verb}");
        problem(response).await;
    }
    let unknown = app.get("/api/v1/nothing-here").await;
    assert_eq!(unknown.status(), 404);
    problem(unknown).await;
}

#[tokio::test]
async fn delete_answers_204_then_404() {
    let app = spawn_app().await;
    app.mock_simple("AAA", "Alpha", 10.0).await;
    let id = app.add_holding("AAA", "stock", "1").await;
    let url = app.url(&format!("/api/v1/holdings/{id}"));

    assert_eq!(app.client.delete(&url).send().await.unwrap().status(), 204);
    assert_eq!(app.client.delete(&url).send().await.unwrap().status(), 404);
    assert!(app.holdings().await.is_empty());
}

#[tokio::test]
async fn the_list_sorts_by_every_column_both_ways_with_missing_values_last() {
    let app = spawn_app().await;
    seed_sortable(&app).await;

    assert_eq!(
        listed_symbols(&app, "").await,
        ["AAA", "BBB", "CCC", "DDD"],
        "default: symbol ascending"
    );
    for (sort, dir, expected) in SORT_CASES {
        assert_eq!(
            listed_symbols(&app, &format!("?sort={sort}&dir={dir}")).await,
            expected,
            "{sort} {dir}"
        );
    }
}

#[tokio::test]
async fn unknown_sort_columns_and_directions_are_400() {
    let app = spawn_app().await;
    for query in [
        "?sort=id;DROP TABLE holdings",
        "?sort=owner_id",
        "?dir=sideways",
        "?sort=price&dir=1",
    ] {
        let response = app.get(&format!("/api/v1/holdings{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        problem(response).await;
    }
}

#[tokio::test]
async fn a_quote_has_every_field_the_provider_gives() {
    let app = spawn_app().await;
    let mut q = iex_quote("AAPL", "Apple Inc.", 189.84);
    q["previousClose"] = json!(191.56);
    q["change"] = json!(-1.72);
    q["marketCap"] = json!(2_950_000_000_000_i64);
    q["peRatio"] = json!(29.5);
    q["ytdChange"] = json!(-0.0134);
    q["week52High"] = json!(199.62);
    q["week52Low"] = json!(143.9);
    q["iexBidPrice"] = json!(189.8);
    q["iexBidSize"] = json!(100);
    q["iexAskPrice"] = json!(189.9);
    q["iexAskSize"] = json!(200);
    app.mock_quote("AAPL", q).await;

    let response = app.get("/api/v1/quotes/aapl").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["symbol"], "AAPL");
    assert_eq!(body["name"], "Apple Inc.");
    assert_eq!(body["price"], "189.84");
    assert_eq!(body["market_cap"], "2950000000000");
    assert_eq!(body["pe_ratio"], "29.5");
    assert_eq!(body["ytd_change"], "-1.34");
    assert_eq!(body["week52_high"], "199.62");
    assert_eq!(body["week52_low"], "143.9");
    assert_eq!(body["bid"], "189.8");
    assert_eq!(body["bid_size"], "100");
    assert_eq!(body["ask"], "189.9");
    assert_eq!(body["ask_size"], "200");
    assert_eq!(body["stale"], false);
}

#[tokio::test]
async fn quote_failures_have_clear_statuses() {
    let app = spawn_app().await;
    app.mock_quote_status("NOPE", 404, "Unknown symbol").await;
    app.mock_quote_status("DOWN", 500, "Internal Server Error")
        .await;
    app.mock_quote_status(
        "HTML",
        200,
        "<html><body>Please verify you are human</body></html>",
    )
    .await;
    app.mock_quote_status("LIMIT", 429, "Too Many Requests")
        .await;
    app.mock_quote("ZERO", json!({"symbol": "ZERO", "latestPrice": null}))
        .await;

    assert_eq!(app.get("/api/v1/quotes/NOPE").await.status(), 404);
    for symbol in ["DOWN", "HTML", "LIMIT", "ZERO"] {
        let response = app.get(&format!("/api/v1/quotes/{symbol}")).await;
        assert_eq!(response.status(), 503, "{symbol}");
        let body = problem(response).await;
        assert!(
            body["detail"].as_str().unwrap().contains("tried: iex"),
            "{symbol}: names the providers"
        );
    }
    assert_eq!(app.get("/api/v1/quotes/A%20B").await.status(), 422);
    assert_eq!(
        app.get("/api/v1/quotes/AAPL?kind=item").await.status(),
        400,
        "items have no market price"
    );
    assert_eq!(app.get("/api/v1/quotes/AAPL?kind=bond").await.status(), 400);
}

#[tokio::test]
async fn a_slow_provider_times_out_as_503() {
    let app = spawn_app().await;
    wiremock::Mock::given(method("GET"))
        .and(path("/stable/stock/slow/quote"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(iex_quote("SLOW", "Slow", 1.0))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&app.iex)
        .await;

    let started = std::time::Instant::now();
    let response = app.get("/api/v1/quotes/SLOW").await;

    assert_eq!(response.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "gave up after the 2 s timeout"
    );
}

#[tokio::test]
async fn the_token_never_appears_in_an_error() {
    let app = spawn_app().await;
    app.mock_quote_status("DOWN", 500, "error").await;
    let body = app.get("/api/v1/quotes/DOWN").await.text().await.unwrap();
    assert!(!body.contains("test-token"), "{body}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();

    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (p, verbs) in [
        ("/api/v1/holdings", vec!["get", "post"]),
        (
            "/api/v1/holdings/{id}",
            vec!["get", "put", "patch", "delete"],
        ),
        ("/api/v1/quotes/{symbol}", vec!["get"]),
        ("/api/v1/watchlist", vec!["get", "post"]),
        ("/api/v1/watchlist/{id}", vec!["get", "delete"]),
    ] {
        for verb in verbs {
            assert!(paths[p][verb].is_object(), "{verb} {p}");
        }
    }
    assert!(doc["paths"]["/api/v1/holdings"]["post"]["responses"]["201"].is_object());
    let watch = &doc["paths"]["/api/v1/watchlist"]["post"]["responses"];
    for status in ["201", "401", "409", "422"] {
        assert!(
            watch[status].is_object(),
            "POST /watchlist documents {status}"
        );
    }
    let kind = &doc["components"]["schemas"]["WatchInput"]["properties"]["kind"]["oneOf"];
    assert!(
        kind.as_array()
            .unwrap()
            .iter()
            .any(|s| s["$ref"] == "#/components/schemas/MarketKind"),
        "the document offers only kinds that can be watched: {kind}"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn the_api_behaves_the_same_on_postgres() {
    let Some(db) = TestDb::postgres("api::the_api_behaves_the_same_on_postgres").await else {
        return;
    };
    let app = spawn_app_on(db).await;
    seed_sortable(&app).await;
    app.mock_quote("NUL", iex_quote("NUL", "Nul\u{0}Corp", 5.0))
        .await;
    let nul = app
        .post_holding(json!({"symbol": "NUL", "quantity": "1"}))
        .await;
    assert_eq!(
        nul.status(),
        201,
        "PostgreSQL TEXT cannot hold NUL: the name is cleaned first"
    );
    assert_eq!(nul.json::<Value>().await.unwrap()["name"], "Nul Corp");
    let id = app
        .holdings()
        .await
        .iter()
        .find(|h| h.asset.symbol.as_str() == "NUL")
        .unwrap()
        .id;
    assert_eq!(
        app.client
            .delete(app.url(&format!("/api/v1/holdings/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    for (sort, dir, expected) in SORT_CASES {
        assert_eq!(
            listed_symbols(&app, &format!("?sort={sort}&dir={dir}")).await,
            expected,
            "{sort} {dir}"
        );
    }
    let dup = app
        .post_holding(json!({"symbol": "AAA", "quantity": "1"}))
        .await;
    assert_eq!(dup.status(), 409);
    let bad = app
        .post_holding(json!({"symbol": "EEE", "quantity": "-1"}))
        .await;
    assert_eq!(bad.status(), 422);
    assert_eq!(app.holdings().await.len(), 4);
    let first = app.holdings().await[0].id;
    let patched = app
        .patch_json(
            &format!("/api/v1/holdings/{first}"),
            &json!({"quantity": "0.00000001"}),
        )
        .await;
    assert_eq!(
        patched.json::<Value>().await.unwrap()["quantity"],
        "0.00000001"
    );
    assert_eq!(
        app.client
            .delete(app.url(&format!("/api/v1/holdings/{first}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(app.holdings().await.len(), 3);

    // The watchlist on PostgreSQL: add, duplicate, list with quotes, remove.
    let watched = app.watch("AAA", "stock").await;
    let dup = app
        .post_json("/api/v1/watchlist", &json!({"symbol": "AAA"}))
        .await;
    assert_eq!(dup.status(), 409);
    app.watch("BBB", "etf").await;
    let list: Value = app.get("/api/v1/watchlist").await.json().await.unwrap();
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["symbol"], "AAA");
    assert_eq!(list["items"][1]["quote"]["price"], "500");
    assert_eq!(
        app.client
            .delete(app.url(&format!("/api/v1/watchlist/{watched}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
}

#[tokio::test]
async fn absurd_upstream_numbers_never_break_the_portfolio() {
    let app = spawn_app().await;
    let mut huge = iex_quote("HUGE", "Huge Corp", 1e20);
    huge["previousClose"] = json!(1e-28);
    huge["ytdChange"] = json!(1e27);
    huge["change"] = json!(null);
    app.mock_quote("HUGE", huge).await;
    app.mock_simple("SMALL", "Small Corp", 2.0).await;
    app.add_holding("HUGE", "stock", "1000000000").await;
    app.add_holding("SMALL", "stock", "3").await;

    for sort in ["value", "price", "change_percent", "ytd_change"] {
        let response = app
            .get(&format!("/api/v1/holdings?sort={sort}&dir=desc"))
            .await;
        assert_eq!(response.status(), 200, "{sort}");
        let body: Value = response.json().await.unwrap();
        let huge = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["symbol"] == "HUGE")
            .unwrap();
        assert_eq!(
            huge["market_value"],
            Value::Null,
            "1e20 × 1e9 does not fit: no value rather than a crash"
        );
        assert_eq!(huge["quote"]["price"], "100000000000000000000");
    }
    let page = app.get("/portfolio").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("6.00 USD"),
        "the total still adds up what fits"
    );
}

#[tokio::test]
async fn provider_text_is_cleaned_before_it_is_stored() {
    let app = spawn_app().await;
    let mut q = iex_quote("NUL", "Nul\u{0}Corp\nInc.", 5.0);
    q["currency"] = json!("eur");
    app.mock_quote("NUL", q).await;

    let response = app
        .post_holding(json!({"symbol": "NUL", "quantity": "2"}))
        .await;

    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "Nul Corp Inc.");
    assert_eq!(body["currency"], "EUR");
    assert_eq!(body["quote"]["currency"], "EUR");
    let stored = &app.holdings().await[0];
    assert_eq!(stored.asset.name.as_deref(), Some("Nul Corp Inc."));
    assert_eq!(stored.asset.currency, "EUR");
}

#[tokio::test]
async fn a_404_that_is_not_unknown_symbol_is_an_outage_not_a_verdict() {
    let app = spawn_app().await;
    app.mock_quote_status("AAPL", 404, "<html>Not Found</html>")
        .await;

    assert_eq!(app.get("/api/v1/quotes/AAPL").await.status(), 503);
    let added = app
        .post_holding(json!({"symbol": "AAPL", "quantity": "1"}))
        .await;
    assert_eq!(added.status(), 201, "a broken service does not stop an add");
}

#[tokio::test]
async fn without_a_price_service_quotes_say_so_and_holdings_still_work() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| c.iex_base_url = String::new()).await;

    let response = app.get("/api/v1/quotes/AAPL").await;
    assert_eq!(response.status(), 503);
    assert!(
        problem(response).await["detail"]
            .as_str()
            .unwrap()
            .contains("No price service is configured")
    );
    assert_eq!(
        app.post_holding(json!({"symbol": "AAPL", "quantity": "1"}))
            .await
            .status(),
        201
    );
    let list: Value = app.get("/api/v1/holdings").await.json().await.unwrap();
    assert_eq!(list["items"][0]["quote"], Value::Null);
    assert_eq!(
        app.iex.received_requests().await.unwrap().len(),
        0,
        "nothing was sent anywhere"
    );
}

#[tokio::test]
async fn a_request_past_the_time_limit_is_503_problem_json() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.request_timeout_secs = 1;
        c.quote_timeout_secs = 10;
        // A read that would wait for the slow service longer than the request may take.
        c.quote_page_deadline_ms = 5_000;
    })
    .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/stable/stock/slow/quote"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(iex_quote("SLOW", "Slow", 1.0))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&app.iex)
        .await;

    let response = app.get("/api/v1/quotes/SLOW").await;

    assert_eq!(response.status(), 503);
    assert!(
        problem(response).await["detail"]
            .as_str()
            .unwrap()
            .contains("longer than 1 s")
    );
}

#[tokio::test]
async fn wrong_methods_are_405_in_the_routes_own_format() {
    let app = spawn_app().await;
    let api = app
        .client
        .delete(app.url("/api/v1/holdings"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 405);
    problem(api).await;
    let page = app
        .client
        .delete(app.url("/portfolio"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 405);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn api_responses_are_not_cached() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/holdings").await;
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_upstream_calls_by_provider() {
    let app = spawn_app().await;
    app.mock_simple("MET", "Metrics Inc", 3.0).await;
    assert_eq!(app.get("/api/v1/quotes/MET").await.status(), 200);
    assert_eq!(app.get("/api/v1/holdings/424242").await.status(), 404);

    let response = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/holdings/{id}",status="404"}"#
        ),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(
        text.contains(r#"upstream_requests_total{provider="iex",outcome="ok"}"#),
        "{text}"
    );
    assert!(!text.contains("424242"), "no raw paths");
}

/// AAPL with a change, and MSFT, for the watchlist tests.
pub async fn mock_watchable(app: &TestApp) {
    let mut q = iex_quote("AAPL", "Apple Inc.", 189.84);
    q["previousClose"] = json!(191.56);
    q["change"] = json!(-1.72);
    app.mock_quote("AAPL", q).await;
    app.mock_simple("MSFT", "Microsoft Corporation", 415.5)
        .await;
}

#[tokio::test]
async fn the_watchlist_lists_symbols_by_name_with_their_quotes() {
    let app = spawn_app().await;
    mock_watchable(&app).await;
    app.mock_quote_status("DOWN", 500, "oops").await;

    let response = app
        .post_json(
            "/api/v1/watchlist",
            &json!({"symbol": "msft", "kind": "stock"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let created: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/watchlist/{}", created["id"]));
    assert_eq!(created["symbol"], "MSFT");
    assert_eq!(created["kind"], "stock");
    assert_eq!(created["name"], "Microsoft Corporation");
    assert_eq!(created["quote"]["price"], "415.5");
    let one: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(one["id"], created["id"]);
    assert_eq!(one["quote"]["price"], "415.5");

    // The kind defaults to stock; a symbol whose service is down is watched all the same.
    let aapl = app
        .post_json("/api/v1/watchlist", &json!({"symbol": "AAPL"}))
        .await;
    assert_eq!(aapl.status(), 201);
    let down = app
        .post_json("/api/v1/watchlist", &json!({"symbol": "DOWN"}))
        .await;
    assert_eq!(down.status(), 201);

    let list: Value = app.get("/api/v1/watchlist").await.json().await.unwrap();
    assert_eq!(list["total"], 3);
    let items = list["items"].as_array().unwrap();
    let symbols: Vec<&str> = items
        .iter()
        .map(|i| i["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["AAPL", "DOWN", "MSFT"], "by symbol");
    assert_eq!(items[0]["name"], "Apple Inc.");
    assert_eq!(items[0]["quote"]["price"], "189.84");
    assert_eq!(items[0]["quote"]["change_percent"], "-0.8979");
    assert_eq!(
        items[1]["quote"],
        Value::Null,
        "no price is null, not an error"
    );
    assert_eq!(items[2]["quote"]["price"], "415.5");

    let holdings: Value = app.get("/api/v1/holdings").await.json().await.unwrap();
    assert_eq!(holdings["total"], 0, "watching is not holding");
}

#[tokio::test]
async fn watching_twice_is_409_and_bad_input_422() {
    let app = spawn_app().await;
    mock_watchable(&app).await;
    app.mock_quote_status("NOPE", 404, "Unknown symbol").await;
    let id = app.watch("MSFT", "stock").await;

    let again = app
        .post_json(
            "/api/v1/watchlist",
            &json!({"symbol": "msft", "kind": "stock"}),
        )
        .await;
    assert_eq!(again.status(), 409);
    let body = problem(again).await;
    assert_eq!(body["existing_id"], id);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("already watch MSFT")
    );
    // The same symbol as another kind is another asset.
    app.mock_quote("MSFT", iex_quote("MSFT", "Microsoft ETF?", 1.0))
        .await;
    assert_eq!(
        app.post_json(
            "/api/v1/watchlist",
            &json!({"symbol": "MSFT", "kind": "etf"})
        )
        .await
        .status(),
        201
    );

    let item = app
        .post_json(
            "/api/v1/watchlist",
            &json!({"symbol": "WATCH", "kind": "item"}),
        )
        .await;
    assert_eq!(item.status(), 422);
    let body = problem(item).await;
    assert_eq!(body["errors"][0]["field"], "kind");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("has no market price, so it cannot be watched")
    );
    let unknown = app
        .post_json("/api/v1/watchlist", &json!({"symbol": "NOPE"}))
        .await;
    assert_eq!(unknown.status(), 422);
    let body = problem(unknown).await;
    assert_eq!(body["errors"][0]["field"], "symbol");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("No price service knows the symbol NOPE")
    );

    for body in [
        json!({"symbol": ""}),
        json!({"symbol": " AAPL"}),
        json!({"symbol": "AA PL"}),
        json!({"symbol": "A".repeat(21)}),
        json!({"symbol": "AAPL", "kind": "bond"}),
        json!({"symbol": "AAPL", "owner_id": 2}),
        json!({"kind": "stock"}),
        json!(["AAPL", "stock"]),
        json!({"symbol": "", "kind": "item"}),
    ] {
        let response = app.post_json("/api/v1/watchlist", &body).await;
        assert_eq!(response.status(), 422, "{body}");
        problem(response).await;
    }
    let both = app
        .post_json("/api/v1/watchlist", &json!({"symbol": "", "kind": "item"}))
        .await;
    let fields: Vec<String> = problem(both).await["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["symbol", "kind"], "every bad field at once");
    let malformed = app
        .client
        .post(app.url("/api/v1/watchlist"))
        .header("content-type", "application/json")
        .body("{\"symbol\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let form = app
        .client
        .post(app.url("/api/v1/watchlist"))
        .form(&[("symbol", "AAPL")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);

    let list: Value = app.get("/api/v1/watchlist").await.json().await.unwrap();
    assert_eq!(list["total"], 2, "nothing else was added");
}

#[tokio::test]
async fn unwatching_answers_204_then_404() {
    let app = spawn_app().await;
    mock_watchable(&app).await;
    let id = app.watch("AAPL", "stock").await;
    let url = app.url(&format!("/api/v1/watchlist/{id}"));

    assert_eq!(app.client.delete(&url).send().await.unwrap().status(), 204);
    assert_eq!(app.client.delete(&url).send().await.unwrap().status(), 404);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 404);
    let list: Value = app.get("/api/v1/watchlist").await.json().await.unwrap();
    assert_eq!(list["total"], 0);
    for path in ["/api/v1/watchlist/abc", "/api/v1/watchlist/4242"] {
        let response = app.client.delete(app.url(path)).send().await.unwrap();
        let expected = if path.ends_with("abc") { 400 } else { 404 };
        assert_eq!(response.status(), expected, "{path}");
        problem(response).await;
    }
    let watched_again = app.watch("AAPL", "stock").await;
    assert!(watched_again > id, "a removed entry's id is not reused");
}

#[tokio::test]
async fn the_watchlist_holds_at_most_50_symbols() {
    let app = spawn_app().await;
    mock_watchable(&app).await;
    let owner = crate::helpers::first_owner();
    for i in 0..50 {
        let fields = stock_ticker::domain::WatchFields {
            symbol: stock_ticker::domain::Symbol::parse(&format!("W{i:02}")).unwrap(),
            kind: stock_ticker::domain::AssetKind::Stock,
            name: None,
            currency: None,
        };
        app.store
            .add_to_watchlist(owner, &fields, 50)
            .await
            .expect("seed");
    }

    let response = app
        .post_json("/api/v1/watchlist", &json!({"symbol": "AAPL"}))
        .await;

    assert_eq!(
        response.status(),
        409,
        "a full watchlist conflicts with its state"
    );
    let body = problem(response).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("at most 50 symbols"),
        "{body}"
    );
    let list: Value = app.get("/api/v1/watchlist").await.json().await.unwrap();
    assert_eq!(list["total"], 50);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["quote"].is_null()),
        "unpriced symbols list with a null quote"
    );
}

#[tokio::test]
async fn another_account_cannot_see_or_remove_my_watchlist() {
    let app = spawn_app().await;
    mock_watchable(&app).await;
    let id = app.watch("AAPL", "stock").await;
    let bob = app.bob().await;
    let url = |p: &str| app.url(p);

    let list: Value = bob
        .client
        .get(url("/api/v1/watchlist"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    let entry = format!("/api/v1/watchlist/{id}");
    assert_eq!(
        bob.client.get(url(&entry)).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        bob.client
            .delete(url(&entry))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let form = bob
        .client
        .post(url(&format!("/watchlist/{id}/delete")))
        .form(&[("csrf", bob.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 404);
    let home = bob
        .client
        .get(url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("id=\"watch-empty\"") && !home.contains("data-watch-symbol"),
        "my watchlist is not on bob's page"
    );

    let mine: Value = app.get("/api/v1/watchlist").await.json().await.unwrap();
    assert_eq!(mine["total"], 1, "nothing of mine changed");
    // Bob may watch the same symbol: his own entry.
    let his = bob
        .client
        .post(url("/api/v1/watchlist"))
        .json(&json!({"symbol": "AAPL"}))
        .send()
        .await
        .unwrap();
    assert_eq!(his.status(), 201);
    let mine: Value = app.get("/api/v1/watchlist").await.json().await.unwrap();
    assert_eq!(mine["items"][0]["id"], id);
    assert_eq!(mine["total"], 1);
}

#[tokio::test]
async fn a_holding_past_the_input_limit_can_still_be_edited() {
    let app = spawn_app().await;
    app.mock_simple("PENNY", "Penny Corp", 0.01).await;
    // Two buys at the input limit each: the holding ends above it.
    for date in ["2024-01-02", "2024-01-03"] {
        let r = app
            .post_json(
                "/api/v1/transactions",
                &json!({"symbol": "PENNY", "type": "buy", "date": date,
                        "quantity": "1000000000000", "price": "0.01"}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let held = app.holdings().await;
    let id = held[0].id;
    assert_eq!(held[0].quantity.to_string(), "2000000000000");

    // A notes-only change is not refused for the quantity it did not touch.
    let r = app
        .patch_json(
            &format!("/api/v1/holdings/{id}"),
            &json!({"notes": "long-term"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    // The edit page sends every field back; unchanged ones stand.
    let h: Value = app
        .get(&format!("/api/v1/holdings/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let cost = h["cost_basis"].as_str().unwrap_or_default().to_string();
    let r = app
        .post_form(
            &format!("/portfolio/{id}/edit"),
            &[
                ("quantity", "2,000,000,000,000"),
                ("cost_basis", &cost),
                ("notes", "long-term, kept"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let after = app.holdings().await;
    assert_eq!(after[0].notes.as_deref(), Some("long-term, kept"));
    assert_eq!(after[0].quantity.to_string(), "2000000000000");

    // New input still keeps to the limit.
    let r = app
        .patch_json(
            &format!("/api/v1/holdings/{id}"),
            &json!({"quantity": "2000000000001"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        app.holdings().await[0].quantity.to_string(),
        "2000000000000"
    );
}

#[tokio::test]
async fn a_stock_added_as_crypto_is_refused_with_the_kind_it_is() {
    let app = spawn_app().await;
    app.mock_simple("MSFT", "Microsoft Corporation", 415.0)
        .await;
    app.mock_simple("ETH", "Ethan Allen Interiors Inc.", 30.0)
        .await;
    // The crypto services cannot confirm a crypto called MSFT (none answers here); the stock
    // services know the stock: 409, as the same request may pass once they answer.
    let r = app
        .post_json(
            "/api/v1/holdings",
            &json!({"symbol": "MSFT", "kind": "crypto", "quantity": "1"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    let body = problem(r).await;
    assert_eq!(body["errors"][0]["field"], "kind", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("MSFT is a stock (Microsoft Corporation)"),
        "{body}"
    );
    assert!(app.holdings().await.is_empty(), "nothing was added");
    // The same from the page's form: said next to the kind, with what was typed kept.
    let r = app
        .post_form(
            "/portfolio",
            &[("symbol", "MSFT"), ("kind", "crypto"), ("quantity", "1")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("page");
    assert!(html.contains("Choose the kind Stock"), "{html}");
    // A coin known by name stays a coin even though a stock has its ticker and the crypto
    // services cannot confirm it now.
    let r = app
        .post_json(
            "/api/v1/holdings",
            &json!({"symbol": "ETH", "kind": "crypto", "quantity": "1"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}

#[tokio::test]
async fn metrics_bind_moves_metrics_off_the_public_listener() {
    use stock_ticker::app::Application;
    let db = TestDb::sqlite().await;
    let iex = wiremock::MockServer::start().await;
    let mut config = crate::helpers::test_config(&db, &iex);
    config.metrics_bind = "127.0.0.1:0".parse().expect("address");
    let app = Application::build(config).await.expect("build app");
    let public = app.local_addr().expect("address");
    let private = app.metrics_addr().expect("METRICS_BIND listens");
    assert_ne!(public.port(), private.port());
    tokio::spawn(app.run_until(std::future::pending()));

    // The public listener answers the checks but not /metrics ...
    let healthz = reqwest::get(format!("http://{public}/healthz"))
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200);
    let hidden = reqwest::get(format!("http://{public}/metrics"))
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);
    // ... which the metrics listener serves, counting the public listener's requests, and
    // nothing else.
    let metrics = reqwest::get(format!("http://{private}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"}"#),
        "{text}"
    );
    let other = reqwest::get(format!("http://{private}/healthz"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}
