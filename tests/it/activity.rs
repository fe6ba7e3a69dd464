//! The activity list: every transaction of the owner, a page at a time, filtered and sorted,
//! through the API and on /activity, on both backends.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, spawn_app_on};

on_sqlite_and_postgres!("activity": pages_filters_and_order, bad_parameters_are_400);

/// Notes that JSON and HTML must escape, read back as written.
const NOTES: &str = "lot \"B\" \\ 50% — ünïcode <b>&amp;</b>";

/// Three assets, 12 transactions: AAA buys on the 1st..6th of March 2024 and a sell on the 7th,
/// BBB a buy on the 2nd and a dividend on the 4th, CCC buys on the 3rd, 5th and 7th (entered
/// after AAA's 7th, so later in the same day's order).
async fn seed(app: &TestApp) -> Vec<i64> {
    for (s, name) in [("AAA", "Alpha"), ("BBB", "Beta"), ("CCC", "Gamma")] {
        app.mock_simple(s, name, 10.0).await;
    }
    let mut bodies: Vec<Value> = (1..=6)
        .map(|day| json!({"symbol": "AAA", "type": "buy", "date": format!("2024-03-0{day}"), "quantity": "2", "price": "10"}))
        .collect();
    bodies.extend([
        json!({"symbol": "AAA", "type": "sell", "date": "2024-03-07", "quantity": "1", "price": "12"}),
        json!({"symbol": "BBB", "type": "buy", "date": "2024-03-02", "quantity": "5", "price": "20"}),
        json!({"symbol": "BBB", "type": "dividend", "date": "2024-03-04", "amount": "3"}),
    ]);
    bodies.extend([3, 5, 7].map(|day| json!({"symbol": "CCC", "type": "buy", "date": format!("2024-03-0{day}"), "quantity": "1", "price": "5", "notes": NOTES})));
    let mut ids = Vec::new();
    for body in bodies {
        let r = app.post_json("/api/v1/transactions", &body).await;
        assert_eq!(r.status(), 201, "{body}");
        ids.push(
            r.json::<Value>().await.expect("json")["id"]
                .as_i64()
                .expect("id"),
        );
    }
    ids
}

async fn list(app: &TestApp, query: &str) -> Value {
    let r = app.get(&format!("/api/v1/transactions?{query}")).await;
    assert_eq!(r.status(), 200, "{query}");
    r.json().await.expect("json")
}

fn keys(page: &Value) -> Vec<(String, String, i64)> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| {
            (
                t["symbol"].as_str().unwrap_or_default().to_string(),
                t["date"].as_str().unwrap_or_default().to_string(),
                t["id"].as_i64().unwrap_or_default(),
            )
        })
        .collect()
}

/// Every page of `query` in turn, `limit` rows each: the rows, and how many pages it took.
async fn walk(app: &TestApp, query: &str, limit: usize) -> (Vec<(String, String, i64)>, usize) {
    let (mut rows, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut q = format!("{query}&limit={limit}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let page = list(app, &q).await;
        assert!(page["items"].as_array().expect("items").len() <= limit);
        rows.extend(keys(&page));
        pages += 1;
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (rows, pages),
        }
    }
}

async fn pages_filters_and_order(db: TestDb) {
    let app = spawn_app_on(db).await;
    let ids = seed(&app).await;

    // Oldest first, by day then as entered, 5 a page: 3 pages, each row once.
    let all = list(&app, "limit=100").await;
    assert_eq!(all["total"], 12);
    assert!(all["next"].is_null());
    let mut expected = keys(&all);
    let (walked, pages) = walk(&app, "sort=date", 5).await;
    assert_eq!((walked.clone(), pages), (expected.clone(), 3));
    let days: Vec<&str> = walked.iter().map(|(_, d, _)| d.as_str()).collect();
    assert!(days.windows(2).all(|w| w[0] <= w[1]), "{days:?}");
    assert_eq!(
        walked
            .iter()
            .filter(|(_, d, _)| d == "2024-03-07")
            .map(|(s, _, _)| s.as_str())
            .collect::<Vec<_>>(),
        ["AAA", "CCC"],
        "the same day as entered"
    );
    // Newest first is the same list backwards.
    expected.reverse();
    assert_eq!(walk(&app, "dir=desc", 4).await.0, expected);
    // By symbol, then by day.
    let (by_symbol, _) = walk(&app, "sort=symbol", 5).await;
    let mut sorted = by_symbol.clone();
    sorted.sort();
    assert_eq!(by_symbol, sorted);
    let (by_symbol_desc, _) = walk(&app, "sort=symbol&dir=desc", 5).await;
    sorted.reverse();
    assert_eq!(by_symbol_desc, sorted);

    let notes: Vec<&str> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|t| t["symbol"] == "CCC")
        .filter_map(|t| t["notes"].as_str())
        .collect();
    assert_eq!(notes, [NOTES; 3]);
    let first_row = &all["items"][0];
    assert_eq!(
        (
            &first_row["quantity"],
            &first_row["price"],
            &first_row["fees"],
            &first_row["amount"]
        ),
        (&json!("2"), &json!("10"), &json!("0"), &Value::Null),
        "{first_row}"
    );

    // A cursor without a symbol, in a list by symbol, says nothing of where it stands: the list
    // starts over (not an empty page).
    let top = list(&app, "sort=symbol&dir=desc&limit=3").await;
    let restart = list(&app, "sort=symbol&dir=desc&limit=3&cursor=2024-03-05~1").await;
    assert_eq!(keys(&restart), keys(&top));

    // Filters: a symbol in any case, types, days inclusive; total counts every match.
    let aaa = list(&app, "symbol=aaa&limit=2").await;
    assert_eq!(
        (aaa["total"].as_u64(), aaa["items"].as_array().map(Vec::len)),
        (Some(7), Some(2))
    );
    let sells_and_dividends = list(&app, "type=sell,dividend").await;
    assert_eq!(
        keys(&sells_and_dividends),
        [
            ("BBB".to_string(), "2024-03-04".to_string(), ids[8]),
            ("AAA".to_string(), "2024-03-07".to_string(), ids[6]),
        ]
    );
    let window = list(&app, "from=2024-03-03&to=2024-03-04").await;
    assert_eq!(window["total"], 4, "{window}");
    let (filtered, _) = walk(&app, "from=2024-03-03&to=2024-03-05&type=buy&dir=desc", 2).await;
    // AAA on the 3rd, 4th and 5th, CCC on the 3rd and 5th (BBB's dividend is no buy).
    assert_eq!(filtered.len(), 5, "{filtered:?}");
    let none = list(&app, "from=2024-03-08").await;
    assert_eq!(
        (none["total"].as_u64(), none["next"].is_null()),
        (Some(0), true)
    );

    // A row written between two pages does not repeat one already read nor shift the next.
    let first = list(&app, "limit=6").await;
    let cursor = first["next"].as_str().expect("more").to_string();
    let r = app
        .post_json(
            "/api/v1/transactions",
            &json!({"symbol": "BBB", "type": "buy", "date": "2024-03-01", "quantity": "1", "price": "20"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let rest = list(&app, &format!("limit=100&cursor={cursor}")).await;
    let seen: Vec<i64> = keys(&first)
        .iter()
        .chain(keys(&rest).iter())
        .map(|k| k.2)
        .collect();
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        (seen.len(), unique.len()),
        (12, 12),
        "each of the 12 once; the new one was before the cursor"
    );
    assert_eq!(rest["total"], 13);

    // The page shows them newest first, the filter kept in its form.
    let page = app.get("/activity?symbol=ccc").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("3 transactions match"), "{html}");
    assert!(html.contains("value=\"CCC\""), "{html}");
    let first_day = html.find("2024-03-07").expect("the 7th");
    assert!(
        first_day < html.find("2024-03-03").expect("the 3rd"),
        "newest first"
    );
    assert!(!html.contains(">AAA</a>"), "only CCC: {html}");
    assert!(
        html.contains(">buy 1 × 5.00 <span"),
        "the amounts in one cell on a phone: {html}"
    );
    assert!(
        html.contains("lot &#34;B&#34; \\ 50% — ünïcode &#60;b&#62;&#38;amp;&#60;/b&#62;"),
        "notes escaped once: {html}"
    );

    // Cash beside the trades: a deposit before the first buy, a withdrawal between the 4th
    // and the 5th, interest after the last trade. Walked three rows at a time, newest first,
    // each is on one page, among its days.
    for body in [
        json!({"type": "deposit", "date": "2024-02-28", "amount": "1000", "currency": "USD", "notes": "opening"}),
        json!({"type": "withdrawal", "date": "2024-03-04", "amount": "50", "currency": "USD"}),
        json!({"type": "interest", "date": "2024-03-09", "amount": "1.5", "currency": "USD"}),
    ] {
        let r = app.post_json("/api/v1/cash", &body).await;
        assert_eq!(r.status(), 201, "{body}");
    }
    let mut url = "/activity?limit=3".to_string();
    let mut days: Vec<String> = Vec::new();
    let mut cash_rows = Vec::new();
    let mut is_cash = Vec::new();
    loop {
        let html = app.get(&url).await.text().await.expect("html");
        assert!(
            html.contains("16 transactions in all"),
            "13 and 3 in cash: {html}"
        );
        for row in html.split("<tr ").skip(1) {
            let day = row
                .split("<td class=\"text-nowrap\">")
                .nth(1)
                .and_then(|r| r.get(..10))
                .expect("a day")
                .to_string();
            is_cash.push(row.starts_with("class=\"cash-row\""));
            if row.starts_with("class=\"cash-row\"") {
                cash_rows.push((
                    day.clone(),
                    row.contains(">withdrawal<"),
                    row.contains("-50.00 USD"),
                ));
            }
            days.push(day);
        }
        let Some(next) = html
            .split("id=\"next-page\"")
            .next()
            .filter(|_| html.contains("id=\"next-page\""))
            .and_then(|before| before.rsplit("href=\"").next())
            .and_then(|h| h.split('"').next())
        else {
            break;
        };
        url = next.replace("&#38;", "&");
    }
    let mut newest_first = days.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(days, newest_first, "one order across the pages: {days:?}");
    assert_eq!(days.len(), 16, "every row once: {days:?}");
    assert_eq!(
        cash_rows,
        [
            ("2024-03-09".to_string(), false, false),
            ("2024-03-04".to_string(), true, true),
            ("2024-02-28".to_string(), false, false),
        ]
    );
    // A day's cash comes first among its rows (so a day split between pages keeps it on one).
    for (day, _, _) in &cash_rows {
        let first = days.iter().position(|d| d == day).expect("the day");
        assert!(
            is_cash[first],
            "the cash of {day} before its trades: {days:?}"
        );
    }
    // Sorted by symbol, the page keeps that order (and shows no cash).
    let html = app
        .get("/activity?sort=symbol&dir=asc")
        .await
        .text()
        .await
        .expect("html");
    assert!(!html.contains("cash-row"), "{html}");
    assert!(
        html.rfind(">AAA</a>") < html.find(">BBB</a>")
            && html.rfind(">BBB</a>") < html.find(">CCC</a>"),
        "by symbol: {html}"
    );
    // A symbol or a type is about holdings: no cash then.
    let html = app
        .get("/activity?type=buy")
        .await
        .text()
        .await
        .expect("html");
    assert!(!html.contains("cash-row"), "{html}");
    // The API's list stays the holdings' transactions; cash has its own.
    assert_eq!(list(&app, "").await["total"], 13);
}

async fn bad_parameters_are_400(db: TestDb) {
    let app = spawn_app_on(db).await;
    seed(&app).await;
    for query in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "type=gift",
        "type=buy,",
        "from=2024-02-30",
        "to=03/01/2024",
        "sort=amount",
        "dir=up",
        "cursor=yesterday",
        "cursor=2024-03-01~007",
        "symbol=%24%24",
        "holding_id=x",
        "colour=blue",
    ] {
        let r = app.get(&format!("/api/v1/transactions?{query}")).await;
        assert_eq!(r.status(), 400, "{query}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{query}"
        );
        let page = app.get(&format!("/activity?{query}")).await;
        assert_eq!(page.status(), 400, "{query}");
        let html = page.text().await.expect("html");
        assert!(
            html.contains("id=\"logout-button\""),
            "the page keeps the navbar: {html}"
        );
    }
    // Nothing was lost: the list still has every transaction.
    assert_eq!(list(&app, "").await["total"], 12);
}
