//! Accounts through the API, on both backends: every transaction is in one, each account's
//! units are replayed on their own, and deleting one moves what it holds.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, spawn_app_on};

on_sqlite_and_postgres!(
    "accounts": accounts_hold_transactions_apart,
    accounts_on_the_pages,
    existing_transactions_move_into_a_default_account
);

async fn body(r: reqwest::Response) -> Value {
    r.json().await.expect("json")
}

async fn accounts(app: &TestApp) -> Value {
    body(app.get("/api/v1/accounts").await).await
}

async fn record(app: &TestApp, tx: Value) -> reqwest::Response {
    app.post_json("/api/v1/transactions", &tx).await
}

async fn holding(app: &TestApp, id: i64) -> Value {
    body(app.get(&format!("/api/v1/holdings/{id}")).await).await
}

async fn accounts_hold_transactions_apart(db: TestDb) {
    let app = spawn_app_on(db).await;
    app.mock_simple("AAA", "Alpha", 40.0).await;

    // Everyone has a default account; a holding's opening buy goes there.
    let list = accounts(&app).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["name"], "Default");
    assert_eq!(list["items"][0]["default"], true);
    let default = list["items"][0]["id"].as_i64().expect("id");
    let r = app
        .post_json(
            "/api/v1/holdings",
            &json!({"symbol": "AAA", "quantity": "10", "cost_basis": "10", "date": "2024-01-02"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let aaa = body(r).await["id"].as_i64().expect("holding");
    assert_eq!(accounts(&app).await["items"][0]["transactions"], 1);

    // A second account; names are unique whatever the case, and must say something.
    let r = app
        .post_json("/api/v1/accounts", &json!({"name": " Broker "}))
        .await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let broker = body(r).await;
    assert_eq!(
        (broker["name"].as_str(), broker["default"].as_bool()),
        (Some("Broker"), Some(false))
    );
    let broker = broker["id"].as_i64().expect("id");
    assert_eq!(location, format!("/api/v1/accounts/{broker}"));
    let r = app
        .post_json("/api/v1/accounts", &json!({"name": "bROKER"}))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(body(r).await["existing_id"], broker);
    // Every letter has a case, not only A–Z, on either database.
    let r = app
        .post_json("/api/v1/accounts", &json!({"name": "Épargne"}))
        .await;
    assert_eq!(r.status(), 201);
    let savings = body(r).await["id"].as_i64().expect("id");
    let r = app
        .post_json("/api/v1/accounts", &json!({"name": "éPARGNE"}))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(body(r).await["existing_id"], savings);
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/accounts/{savings}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 204, "an empty account goes without asking");
    for bad in [
        json!({"name": "  "}),
        json!({"name": "x".repeat(61)}),
        json!({"name": "a\u{7}"}),
        json!({"title": "x"}),
    ] {
        let r = app.post_json("/api/v1/accounts", &bad).await;
        assert_eq!(r.status(), 422, "{bad}");
    }
    assert_eq!(accounts(&app).await["total"], 2, "nothing else was added");

    // Units are per account: 5 bought at 20 in Broker; Broker cannot sell 6 though 15 are held.
    let r = record(&app, json!({"holding_id": aaa, "account_id": broker, "type": "buy", "date": "2024-02-01", "quantity": "5", "price": "20"})).await;
    assert_eq!(r.status(), 201);
    assert_eq!(body(r).await["account_id"], broker);
    assert_eq!(holding(&app, aaa).await["quantity"], "15");
    let r = record(&app, json!({"holding_id": aaa, "account_id": broker, "type": "sell", "date": "2024-03-01", "quantity": "6", "price": "30"})).await;
    assert_eq!(r.status(), 409);
    assert!(
        body(r).await["detail"]
            .as_str()
            .is_some_and(|d| d.contains("only 5 are held"))
    );
    // Default sells 5 of its 10 at 30, at its own average cost (10): 100 realized, not the
    // 83.33 a cost averaged over both accounts (13.33) would make.
    let r = record(&app, json!({"holding_id": aaa, "type": "sell", "date": "2024-03-01", "quantity": "5", "price": "30"})).await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        body(r).await["account_id"],
        default,
        "no account named: the default"
    );
    let h = holding(&app, aaa).await;
    assert_eq!(
        (h["quantity"].as_str(), h["realized_gain"].as_str()),
        (Some("10"), Some("100"))
    );
    assert_eq!(
        h["cost_total"], "150",
        "5 × 10 in Default and 5 × 20 in Broker"
    );

    // Another user's account, or none, is refused on the field (409: any id is well formed,
    // and the account may exist later); nothing is written.
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
    for account in [bobs, 999_999, 0, -3] {
        let r = record(&app, json!({"holding_id": aaa, "account_id": account, "type": "buy", "date": "2024-03-02", "quantity": "1", "price": "1"})).await;
        assert_eq!(r.status(), 409, "{account}");
        assert_eq!(body(r).await["errors"][0]["field"], "account_id");
    }
    let r = bob
        .client
        .get(app.url(&format!("/api/v1/accounts/{broker}")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let listed = body(app.get("/api/v1/transactions").await).await;
    assert_eq!(listed["total"], 3);
    let in_broker = body(
        app.get(&format!("/api/v1/transactions?account_id={broker}"))
            .await,
    )
    .await;
    assert_eq!(in_broker["total"], 1);

    // Renaming, and a clash.
    let url = app.url(&format!("/api/v1/accounts/{broker}"));
    let r = app
        .client
        .put(&url)
        .json(&json!({"name": "Schwab"}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["name"], "Schwab");
    let r = app
        .client
        .put(&url)
        .json(&json!({"name": "default"}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 409);

    // Deleting an account with transactions needs somewhere for them to go.
    let delete = |query: String| {
        app.client
            .delete(app.url(&format!("/api/v1/accounts/{broker}{query}")))
            .send()
    };
    let r = delete(String::new()).await.expect("delete");
    assert_eq!(r.status(), 409);
    assert_eq!(body(r).await["errors"][0]["field"], "move_to");
    for to in [broker, bobs, -7] {
        let r = delete(format!("?move_to={to}")).await.expect("delete");
        assert_eq!(r.status(), 409, "{to}");
        assert_eq!(body(r).await["errors"][0]["field"], "move_to");
    }
    assert_eq!(accounts(&app).await["total"], 2, "still there");
    let r = delete(format!("?move_to={default}")).await.expect("delete");
    assert_eq!(r.status(), 204);
    let list = accounts(&app).await;
    assert_eq!(
        (
            list["total"].as_u64(),
            list["items"][0]["transactions"].as_u64()
        ),
        (Some(1), Some(3))
    );
    // One account now: the sell takes the average of all 15 (200 / 15 = 13.33…).
    let h = holding(&app, aaa).await;
    assert_eq!(h["quantity"], "10");
    assert!(
        h["realized_gain"]
            .as_str()
            .is_some_and(|g| g.starts_with("83.33")),
        "{h}"
    );
    let r = delete(String::new()).await.expect("delete");
    assert_eq!(r.status(), 404, "gone");
}

async fn page(app: &TestApp, path: &str) -> String {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.expect("html")
}

/// A form post; the redirect's target when it redirects, else the page with its status.
async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = app.post_form(path, form).await;
    let status = r.status().as_u16();
    if status == 303 {
        let to = r.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        return (303, page(app, &to).await);
    }
    (status, r.text().await.expect("html"))
}

async fn accounts_on_the_pages(db: TestDb) {
    let app = spawn_app_on(db).await;
    app.mock_simple("AAA", "Alpha", 40.0).await;
    let aaa = app.add_holding("AAA", "stock", "10").await;
    let html = page(&app, "/accounts").await;
    assert!(html.contains(">Default <span class=\"badge"), "{html}");
    // One account: the transaction form has no account select.
    assert!(
        !page(&app, &format!("/portfolio/{aaa}"))
            .await
            .contains("id=\"account\"")
    );

    let (status, html) = post(&app, "/accounts", &[("name", "Broker")]).await;
    assert_eq!(status, 303);
    assert!(html.contains("Account added."), "{html}");
    for (name, status, says) in [
        ("broker", 409, "already have an account named"),
        (" ", 422, "Name the account"),
    ] {
        let (got, html) = post(&app, "/accounts", &[("name", name)]).await;
        assert_eq!(got, status, "{name:?}");
        assert!(html.contains(says), "{html}");
        assert!(
            html.contains(&format!("id=\"new-name\" name=\"name\" value=\"{name}\"")),
            "what was typed is kept: {html}"
        );
    }
    let list = accounts(&app).await;
    assert_eq!(list["total"], 2);
    let default = list["items"][0]["id"].as_i64().expect("default");
    let broker = list["items"][1]["id"].as_i64().expect("broker");

    // Two accounts: the form offers them, the default first; a buy goes to Broker.
    let html = page(&app, &format!("/portfolio/{aaa}")).await;
    assert!(
        html.contains(&format!(
            "<option value=\"{default}\" selected>Default</option>"
        )),
        "{html}"
    );
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let buy = |account: String| {
        vec![
            ("type", "buy".to_string()),
            ("date", today.clone()),
            ("quantity", "5".to_string()),
            ("price", "20".to_string()),
            ("account_id", account),
        ]
    };
    let form: Vec<(&str, String)> = buy(broker.to_string());
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html) = post(&app, &format!("/portfolio/{aaa}/transactions"), &pairs).await;
    assert_eq!(status, 303, "{html}");
    assert!(html.contains("Transaction added."));
    // The portfolio of every account: 15 AAA; each account's value beside it (10 and 5 at 40);
    // one account's: its 5 only.
    let html = page(&app, "/portfolio").await;
    assert!(html.contains("class=\"text-end quantity\">15<"), "{html}");
    assert!(html.contains("id=\"account-pills\""), "{html}");
    for (name, value) in [("Default", "400.00 USD"), ("Broker", "200.00 USD")] {
        assert!(
            html.contains(&format!("<span class=\"fw-semibold\">{name}</span> <span class=\"account-value\">{value}</span>")),
            "{name}: {html}"
        );
    }
    let html = page(&app, &format!("/portfolio?account={broker}")).await;
    assert!(html.contains("class=\"text-end quantity\">5<"), "{html}");
    assert!(html.contains("id=\"summary-value\">200.00 USD<"), "{html}");
    assert!(
        html.contains(&format!(
            "href=\"/portfolio?sort=quantity&#38;dir=asc&#38;account={broker}\""
        )),
        "sorting keeps the account: {html}"
    );
    assert_eq!(app.get("/portfolio?account=999999").await.status(), 404);
    // Not an account of yours: the form says so, on the field.
    let form = buy("999999".into());
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html) = post(&app, &format!("/portfolio/{aaa}/transactions"), &pairs).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("You have no account 999999."), "{html}");

    // Activity shows the account, and filters by it ("All" is empty).
    let html = page(&app, "/activity").await;
    assert!(
        html.contains("<td class=\"d-none d-lg-table-cell account\">Broker</td>"),
        "{html}"
    );
    assert!(
        page(&app, "/activity?account_id=")
            .await
            .contains("2 transactions in all")
    );
    let html = page(&app, &format!("/activity?account_id={broker}")).await;
    assert!(html.contains("1 transaction matches"), "{html}");
    let tx = body(
        app.get(&format!("/api/v1/transactions?account_id={broker}"))
            .await,
    )
    .await["items"][0]["id"]
        .as_i64()
        .expect("the buy");
    let html = page(&app, &format!("/transactions/{tx}/edit")).await;
    assert!(
        html.contains(&format!(
            "<option value=\"{broker}\" selected>Broker</option>"
        )),
        "{html}"
    );

    // Rename; then deleting Broker needs a place for its buy.
    let (status, _) = post(
        &app,
        &format!("/accounts/{broker}/rename"),
        &[("name", "Schwab")],
    )
    .await;
    assert_eq!(status, 303);
    let (status, html) = post(
        &app,
        &format!("/accounts/{broker}/rename"),
        &[("name", "DEFAULT")],
    )
    .await;
    assert_eq!(status, 409);
    assert!(html.contains("value=\"DEFAULT\""), "{html}");
    let (status, html) = post(&app, &format!("/accounts/{broker}/delete"), &[]).await;
    assert_eq!(status, 409);
    assert!(html.contains("choose the account they move to"), "{html}");
    let (status, html) = post(
        &app,
        &format!("/accounts/{broker}/delete"),
        &[("move_to", &default.to_string())],
    )
    .await;
    assert_eq!(status, 303);
    assert!(html.contains("Account deleted."));
    let list = accounts(&app).await;
    assert_eq!(
        (
            list["total"].as_u64(),
            list["items"][0]["transactions"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(holding(&app, aaa).await["quantity"], "15");
}

/// The accounts migration (`20261201000001`) on a database that already holds transactions of
/// two users: each gets a "Default" account holding all of theirs, and the holdings add up as
/// before.
async fn existing_transactions_move_into_a_default_account(db: TestDb) {
    use std::borrow::Cow;
    use stock_ticker::domain::{OwnerId, Symbol};
    const ACCOUNTS: i64 = 20261201000001;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(if db.url.starts_with("sqlite") {
            "migrations/sqlite"
        } else {
            "migrations/postgres"
        });
    let mut before = sqlx::migrate::Migrator::new(dir).await.expect("migrations");
    before.migrations = Cow::Owned(
        before
            .migrations
            .iter()
            .filter(|m| m.version < ACCOUNTS)
            .cloned()
            .collect(),
    );
    // The data of a server from before accounts: user 1 (made by the first migration) and a
    // second user, each with a holding and its transactions.
    let statements = [
        "INSERT INTO users (id, username, created_at) VALUES (2, 'bob', '2024-01-01T00:00:00Z')",
        "INSERT INTO assets (id, owner_id, symbol, kind, name, currency) VALUES (1, NULL, 'AAA', 'stock', 'Alpha', 'USD')",
        "INSERT INTO holdings (id, owner_id, asset_id, quantity, cost_basis, notes, created_at, updated_at) VALUES (1, 1, 1, '6', '10', NULL, '2024-01-02T00:00:00Z', '2024-01-02T00:00:00Z')",
        "INSERT INTO holdings (id, owner_id, asset_id, quantity, cost_basis, notes, created_at, updated_at) VALUES (2, 2, 1, '3', '20', NULL, '2024-01-02T00:00:00Z', '2024-01-02T00:00:00Z')",
        "INSERT INTO transactions (owner_id, holding_id, kind, day, quantity, price, fees, created_at) VALUES (1, 1, 'buy', '2024-01-02', '10', '10', '0', '2024-01-02T00:00:00Z')",
        "INSERT INTO transactions (owner_id, holding_id, kind, day, quantity, price, fees, created_at) VALUES (1, 1, 'sell', '2024-02-02', '4', '15', '0', '2024-02-02T00:00:00Z')",
        "INSERT INTO transactions (owner_id, holding_id, kind, day, quantity, price, fees, created_at) VALUES (2, 2, 'buy', '2024-01-02', '3', '20', '0', '2024-01-02T00:00:00Z')",
    ];
    if db.url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        before.run(&pool).await.expect("migrations before accounts");
        for s in statements {
            sqlx::query(s).execute(&pool).await.expect(s);
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
        before.run(&pool).await.expect("migrations before accounts");
        for s in statements {
            sqlx::query(s).execute(&pool).await.expect(s);
        }
        pool.close().await;
    }
    // Every migration, as the server runs them on start.
    let store = db.store().await;
    for (owner, count) in [(OwnerId(1), 2), (OwnerId(2), 1)] {
        let accounts = store.holding_accounts(owner).await.expect("accounts");
        assert_eq!(accounts.len(), 1, "{owner:?}");
        assert_eq!(
            (accounts[0].name.as_str(), accounts[0].transactions),
            ("Default", count)
        );
        let txs = store.transactions(owner, None).await.expect("transactions");
        assert!(
            txs.iter().all(|t| t.amounts.account == accounts[0].id),
            "{txs:?}"
        );
    }
    // The holding replays as before: 10 bought at 10, 4 sold at 15 → 6 held, 20 realized.
    let alpha = Symbol::parse("AAA").expect("symbol");
    let held = store
        .find_holding(OwnerId(1), &alpha, stock_ticker::domain::AssetKind::Stock)
        .await
        .expect("find")
        .expect("held");
    let ledger = stock_ticker::domain::transaction::replay(
        &store
            .transactions(OwnerId(1), Some(held.id))
            .await
            .expect("txs"),
    )
    .expect("adds up");
    assert_eq!(
        (ledger.quantity.to_string(), ledger.realized.to_string()),
        ("6".to_string(), "20".to_string())
    );
}
