//! CSV import and export: the page's steps, every problem of a bad file reported with nothing
//! written, a 100,000-row file with progress, the command line, and an export → import round
//! trip that gives the same portfolio.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::command;
use crate::helpers::{TestApp, TestDb, iex_quote, spawn_app, spawn_app_on};

const HEADER: &str = "date,type,symbol,kind,quantity,price,amount,ratio,fees,currency,notes";

/// A multipart body as the upload form sends it: its content type and bytes.
pub fn upload_form(csrf: &str, name: &str, csv: &str) -> (String, String) {
    let boundary = "----stock-ticker-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts `csv` to the upload form as a browser does (multipart, with the form's token).
async fn upload(app: &TestApp, name: &str, csv: &str) -> reqwest::Response {
    let (content_type, body) = upload_form(&app.csrf, name, csv);
    app.client
        .post(app.url("/import"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload")
}

/// Uploads and returns the import's page path (`/import/{id}`).
async fn uploaded(app: &TestApp, csv: &str) -> String {
    let r = upload(app, "transactions.csv", csv).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    r.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("location")
        .to_string()
}

/// The mapping the page guessed, as its form would send it.
pub fn guessed_mapping(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in page.split("<select").skip(1) {
        let Some(name) = part
            .split("name=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        else {
            continue;
        };
        let selected = part
            .split("<option value=\"")
            .skip(1)
            .find(|o| o.split('>').next().is_some_and(|t| t.contains("selected")))
            .and_then(|o| o.split('"').next())
            .unwrap_or("");
        out.push((name.to_string(), selected.to_string()));
    }
    out
}

/// Pairs as a form sends them.
fn as_form(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn check(app: &TestApp, import: &str) -> (u16, String) {
    let page = app.get(import).await.text().await.expect("mapping page");
    let mapping = guessed_mapping(&page);
    let form = as_form(&mapping);
    let r = app.post_form(&format!("{import}/check"), &form).await;
    let status = r.status().as_u16();
    (status, r.text().await.expect("check page"))
}

/// Uploads a file's bytes as they are (any encoding) and returns the import's page path.
async fn uploaded_bytes(app: &TestApp, name: &str, bytes: &[u8]) -> String {
    let boundary = "----stock-ticker-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: text/csv\r\n\r\n",
        app.csrf
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = app
        .client
        .post(app.url("/import"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 303, "{name}");
    r.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("location")
        .to_string()
}

/// Commits an import with the mapping its page guessed and waits until it is done.
async fn commit_guessed(app: &TestApp, import: &str) {
    let page = app.get(import).await.text().await.expect("page");
    let mapping = guessed_mapping(&page);
    let form = as_form(&mapping);
    let r = app.post_form(&format!("{import}/commit"), &form).await;
    assert_eq!(r.status(), 303);
    wait_until_done(app, import).await;
}

/// Waits until an import's page says it is done (and never that it failed).
async fn wait_until_done(app: &TestApp, import: &str) {
    for _ in 0..200 {
        let page = app.get(import).await.text().await.expect("page");
        if page.contains("id=\"import-done\"") {
            return;
        }
        assert!(!page.contains("import-failed"), "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{import} did not finish");
}

async fn transaction_count(app: &TestApp) -> u64 {
    let list: Value = app
        .get("/api/v1/transactions")
        .await
        .json()
        .await
        .expect("list");
    list["total"].as_u64().expect("total")
}

/// A file's `account` column puts each row in the account of that name (any case); empty is
/// the default account; a name you have no account of refuses the file, saying so.
async fn account_names(app: &TestApp) -> Vec<String> {
    let list: Value = app
        .get("/api/v1/accounts")
        .await
        .json()
        .await
        .expect("accounts");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn rows_go_to_the_accounts_they_name() {
    let app = spawn_app().await;
    app.mock_simple("AAA", "Alpha", 10.0).await;
    let r = app
        .post_json("/api/v1/accounts", &json!({"name": "Broker"}))
        .await;
    let broker = r.json::<Value>().await.expect("account")["id"]
        .as_i64()
        .expect("id");
    let nowhere = "date,type,symbol,kind,quantity,price,account\n\
        2024-03-01,buy,AAA,stock,5,10,broker\n\
        2024-03-02,buy,AAA,stock,1,10,Nowhere\n";
    let (status, page) = check(&app, &uploaded(&app, nowhere).await).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("You have no account named &#34;Nowhere&#34;"),
        "{page}"
    );
    assert_eq!(transaction_count(&app).await, 0);

    // Asked to create the accounts it names: the check lists "Nowhere" (once, whatever the
    // case) and creates nothing; the import, once confirmed, creates it and fills it.
    let before = account_names(&app).await;
    let import = uploaded(
        &app,
        &format!("{nowhere}2024-03-03,buy,AAA,stock,1,10,NOWHERE\n"),
    )
    .await;
    let page = app.get(&import).await.text().await.expect("mapping page");
    assert!(page.contains("id=\"create_accounts\""), "{page}");
    let mut mapping = guessed_mapping(&page);
    mapping.push(("create_accounts".into(), "on".into()));
    let r = app
        .post_form(&format!("{import}/check"), &as_form(&mapping))
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.expect("check page");
    assert!(
        page.contains("id=\"new-accounts\">“Nowhere”</span>"),
        "{page}"
    );
    assert!(
        page.contains("name=\"create_accounts\" value=\"on\""),
        "{page}"
    );
    assert_eq!(account_names(&app).await, before, "a check creates nothing");
    let r = app
        .post_form(&format!("{import}/commit"), &as_form(&mapping))
        .await;
    assert_eq!(r.status(), 303);
    wait_until_done(&app, &import).await;
    let after = account_names(&app).await;
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert!(after.contains(&"Nowhere".to_string()), "{after:?}");
    assert_eq!(transaction_count(&app).await, 3);
    // Undo, for the rest of the story.
    let list: Value = app
        .get("/api/v1/transactions")
        .await
        .json()
        .await
        .expect("list");
    for t in list["items"].as_array().expect("items") {
        let id = t["id"].as_i64().expect("id");
        let r = app
            .client
            .delete(app.url(&format!("/api/v1/transactions/{id}")))
            .send()
            .await
            .expect("delete");
        assert_eq!(r.status(), 204);
    }
    assert_eq!(transaction_count(&app).await, 0);

    let good = "date,type,symbol,kind,quantity,price,account\n\
        2024-03-01,buy,AAA,stock,5,10,broker\n\
        2024-03-02,buy,AAA,stock,2,10,\n\
        2024-03-03,sell,AAA,stock,4,12,BROKER\n";
    commit_guessed(&app, &uploaded(&app, good).await).await;
    let in_broker: Value = app
        .get(&format!("/api/v1/transactions?account_id={broker}"))
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(in_broker["total"], 2, "{in_broker}");
    assert_eq!(transaction_count(&app).await, 3);
    // The export names each row's account.
    let exported = app
        .get("/export/transactions.csv")
        .await
        .text()
        .await
        .expect("csv");
    assert!(
        exported
            .lines()
            .next()
            .is_some_and(|h| h.ends_with(",notes,account,to_account"))
    );
    assert!(
        exported.contains("2024-03-01,buy,AAA,stock,5,10,,,,USD,,Broker"),
        "{exported}"
    );
    assert!(
        exported.contains("2024-03-02,buy,AAA,stock,2,10,,,,USD,,Default"),
        "{exported}"
    );
}

#[tokio::test]
async fn a_bad_file_shows_every_problem_and_writes_nothing() {
    let app = spawn_app().await;
    app.mock_simple("AAPL", "Apple Inc.", 100.0).await;
    app.mock_quote_status("NOPE", 404, "Unknown symbol").await;
    let tomorrow = (time::OffsetDateTime::now_utc().date() + time::Duration::days(1)).to_string();
    let csv = format!(
        "{HEADER}\n\
         2024-01-02,buy,AAPL,stock,10,100,,,,USD,\n\
         2024-13-40,buy,AAPL,stock,1,100,,,,,\n\
         2024-01-03,buy,AAPL,stock,-5,100,,,,,\n\
         2024-01-04,buy,NOPE,stock,1,1,,,,,\n\
         2024-01-05,buy,AAPL,stock,1,100\n\
         {tomorrow},buy,AAPL,stock,1,100,,,,,\n\
         2024-01-06,sell,AAPL,stock,50,100,,,,,\n\
         2024-01-07,transfer,AAPL,stock,1,1,,,,,\n\
         2024-01-08,buy,AAPL,stock,1,1,,,,EUR,\n"
    );
    let import = uploaded(&app, &csv).await;
    let (status, page) = check(&app, &import).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("8 problems in 9 rows"), "{page}");
    for (line, text) in [
        ("3", "is not a date"),
        ("4", "greater than zero"),
        ("5", "No price service knows the symbol NOPE"),
        ("6", "the header has 11"),
        ("7", "in the future"),
        ("8", "only 10 are held"),
        ("9", "A transfer is cash and has no symbol"),
        ("10", "priced in USD"),
    ] {
        assert!(
            page.contains(&format!("<tr><td>{line}</td>")) && page.contains(text),
            "line {line}: {text:?} missing"
        );
    }
    assert!(
        !page.contains("commit-button"),
        "no way to write a bad file"
    );
    // Committing anyway (a hand-made post) checks again and writes nothing.
    let r = app
        .post_form(
            &format!("{import}/commit"),
            &[
                ("col_date", "0"),
                ("col_type", "1"),
                ("col_symbol", "2"),
                ("col_quantity", "4"),
                ("col_price", "5"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(transaction_count(&app).await, 0);

    // No rows, and a file that is not CSV.
    let import = uploaded(&app, &format!("{HEADER}\n")).await;
    let (status, page) = check(&app, &import).await;
    assert_eq!(status, 422);
    assert!(page.contains("a header but no rows"), "{page}");
    let r = upload(&app, "empty.csv", "").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.expect("page").contains("Choose a CSV file"));
    // Columns that cannot be matched must be chosen by hand.
    let import = uploaded(&app, "when,what,which\n2024-01-01,buy,AAPL\n").await;
    let (status, page) = check(&app, &import).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("No column is chosen for date, type, symbol"),
        "{page}"
    );
    assert_eq!(transaction_count(&app).await, 0);
}

#[tokio::test]
async fn an_upload_needs_the_form_token_and_stays_with_its_owner() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/import"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\na,b\r\n--x--\r\n")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    let import = uploaded(
        &app,
        &format!("{HEADER}\n2024-01-02,buy,AAPL,stock,1,1,,,,,\n"),
    )
    .await;
    let stranger = reqwest::Client::new()
        .get(app.url(&import))
        .send()
        .await
        .expect("get");
    assert!(
        stranger.url().path().starts_with("/login"),
        "{}",
        stranger.url()
    );
}

/// A file of `rows` buys and sells of 20 symbols that add up, and the quantity of S000.
fn big_file(rows: usize) -> (String, i64) {
    let mut csv = String::with_capacity(rows * 60);
    csv.push_str(HEADER);
    csv.push('\n');
    let mut held = [0_i64; 20];
    for i in 0..rows {
        let s = i % 20;
        let day = time::macros::date!(2015 - 01 - 01) + time::Duration::days((i / 40) as i64);
        if i % 7 == 6 && held[s] >= 2 {
            held[s] -= 2;
            csv.push_str(&format!("{day},sell,S{s:03},stock,2,12.5,,,0.25,USD,\n"));
        } else {
            held[s] += 3;
            csv.push_str(&format!("{day},buy,S{s:03},stock,3,10.25,,,,USD,row {i}\n"));
        }
    }
    (csv, held[0])
}

async fn mock_symbols(app: &TestApp) {
    for s in 0..20 {
        let symbol = format!("S{s:03}");
        app.mock_quote(&symbol, iex_quote(&symbol, "Test Co", 11.0))
            .await;
    }
}

async fn big_import(app: &TestApp) {
    mock_symbols(app).await;
    let (csv, s000) = big_file(100_000);
    let import = uploaded(app, &csv).await;
    let (status, page) = check(app, &import).await;
    assert_eq!(status, 200, "{}", &page[..page.len().min(3000)]);
    assert!(page.contains("All 100000 rows can be imported"));
    let page = app.get(&import).await.text().await.expect("page");
    let mapping = guessed_mapping(&page);
    let form = as_form(&mapping);
    let r = app.post_form(&format!("{import}/commit"), &form).await;
    assert_eq!(r.status(), 303);
    let mut saw_progress = false;
    let mut done = false;
    for _ in 0..1200 {
        let page = app.get(&import).await.text().await.expect("page");
        if page.contains("id=\"import-progress\"") {
            assert!(
                page.contains("http-equiv=\"refresh\""),
                "the page refreshes itself"
            );
            assert!(page.contains("of 100000 rows written"));
            saw_progress = true;
        }
        if page.contains("id=\"import-done\"") {
            assert!(page.contains("Imported 100000 transactions."), "{page}");
            done = true;
            break;
        }
        assert!(!page.contains("import-failed"), "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done, "the import finished");
    assert!(saw_progress, "progress was shown while writing");
    assert_eq!(transaction_count(app).await, 100_000);
    let holdings: Value = app
        .get("/api/v1/holdings")
        .await
        .json()
        .await
        .expect("holdings");
    assert_eq!(holdings["total"], 20);
    assert_eq!(holdings["items"][0]["symbol"], "S000");
    assert_eq!(holdings["items"][0]["quantity"], s000.to_string());
}

/// An app whose check requests wait for their answer as long as a 100,000-row file takes to
/// check on a busy machine (the test binary runs many tests at once).
async fn big_app(db: TestDb) -> TestApp {
    crate::helpers::spawn_app_with(db, |c| c.import_answer_wait_secs = 120).await
}

#[tokio::test]
async fn a_100000_row_file_imports_with_progress_on_sqlite() {
    big_import(&big_app(TestDb::sqlite().await).await).await;
}

#[tokio::test]
async fn a_100000_row_file_imports_with_progress_on_postgres() {
    let Some(db) =
        TestDb::postgres("import::a_100000_row_file_imports_with_progress_on_postgres").await
    else {
        return;
    };
    big_import(&big_app(db).await).await;
}

#[tokio::test]
async fn a_100000_row_file_with_one_bad_row_writes_nothing() {
    let app = big_app(TestDb::sqlite().await).await;
    mock_symbols(&app).await;
    let (mut csv, _) = big_file(100_000);
    csv.push_str("2015-01-02,sell,S001,stock,1000000,1,,,,USD,\n");
    csv.push_str("2015-01-02,buy,S001,stock,abc,1,,,,USD,\n");
    let import = uploaded(&app, &csv).await;
    let (status, page) = check(&app, &import).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("2 problems in 100002 rows"),
        "{}",
        &page[..page.len().min(4000)]
    );
    assert!(
        page.contains("<tr><td>100002</td>") && page.contains("only"),
        "the oversell is found"
    );
    assert!(
        page.contains("<tr><td>100003</td>"),
        "the bad number is found"
    );
    assert_eq!(transaction_count(&app).await, 0);
}

/// The user's cash per account (by name) and currency, with what moved it.
async fn cash_of(client: &reqwest::Client, app: &TestApp) -> Vec<Value> {
    items_of(client, app, "/api/v1/cash/balances", |b| {
        json!([
            b["account"],
            b["currency"],
            b["balance"],
            b["net_deposits"],
            b["interest"],
            b["fees"]
        ])
    })
    .await
}

/// Each item of a list the API gives, as `pick` sees it.
async fn items_of(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    pick: impl Fn(&Value) -> Value,
) -> Vec<Value> {
    let list: Value = client
        .get(app.url(path))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(pick)
        .collect()
}

/// Holdings as the API shows them, without ids and times.
async fn portfolio_of(client: &reqwest::Client, app: &TestApp) -> Vec<Value> {
    items_of(client, app, "/api/v1/holdings", |h| {
        json!([
            h["symbol"],
            h["kind"],
            h["quantity"],
            h["cost_total"],
            h["realized_gain"],
            h["dividends"],
            h["market_value"]
        ])
    })
    .await
}

#[tokio::test]
async fn export_then_import_gives_the_same_portfolio() {
    let app = spawn_app().await;
    app.mock_simple("AAPL", "Apple Inc.", 130.0).await;
    app.mock_simple("MSFT", "Microsoft", 400.0).await;
    app.mock_simple("KO", "Coca-Cola", 60.0).await;
    // A holding from the simple form without a cost: an opening buy with no price.
    let ko = app.add_holding("KO", "stock", "3").await;
    let r = app
        .patch_json(
            &format!("/api/v1/holdings/{ko}"),
            &json!({"notes": "@SUM(1+1)*cmd|' /C calc'!A0"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    for body in [
        json!({"symbol": "AAPL", "type": "buy", "date": "2024-03-01", "quantity": "10", "price": "100", "fees": "1", "notes": "first, with a comma"}),
        json!({"symbol": "AAPL", "type": "buy", "date": "2024-03-02", "quantity": "30", "price": "120.125"}),
        json!({"symbol": "AAPL", "type": "sell", "date": "2024-04-01", "quantity": "15", "price": "140", "fees": "5"}),
        json!({"symbol": "AAPL", "type": "split", "date": "2024-05-01", "ratio": "2"}),
        json!({"symbol": "AAPL", "type": "dividend", "date": "2024-05-02", "amount": "50", "fees": "7.5", "notes": "=HYPERLINK(\"http://x.example\",\"x\")"}),
        json!({"symbol": "MSFT", "type": "buy", "date": "2024-01-05", "quantity": "0.5", "price": "380"}),
        json!({"symbol": "MSFT", "type": "fee", "date": "2024-01-06", "amount": "2", "notes": "\"quoted\" note"}),
    ] {
        let r = app.post_json("/api/v1/transactions", &body).await;
        assert_eq!(r.status(), 201);
    }
    // Cash: a deposit, a transfer to a second account, a withdrawal there, interest and a fee
    // charged to the account; the buys and sells of the default account move its cash too.
    let r = app
        .post_json("/api/v1/accounts", &json!({"name": "Broker, cash"}))
        .await;
    assert_eq!(r.status(), 201);
    let broker = r.json::<Value>().await.expect("account")["id"].clone();
    for body in [
        json!({"type": "deposit", "date": "2024-01-02", "amount": "10000", "currency": "USD"}),
        json!({"type": "transfer", "date": "2024-01-03", "amount": "2500.5", "currency": "USD", "to_account_id": broker, "notes": "monthly, to the broker"}),
        json!({"type": "withdrawal", "date": "2024-06-01", "amount": "100", "currency": "USD", "account_id": broker}),
        json!({"type": "interest", "date": "2024-06-30", "amount": "12.34", "currency": "USD"}),
        json!({"type": "fee", "date": "2024-07-01", "amount": "5", "currency": "USD", "notes": "=account fee"}),
    ] {
        let r = app.post_json("/api/v1/cash", &body).await;
        assert_eq!(r.status(), 201, "{body}");
    }
    let exported = app.get("/export/transactions.csv").await;
    assert_eq!(
        exported.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        exported.headers()["content-disposition"]
            .to_str()
            .unwrap_or("")
            .contains("transactions.csv")
    );
    let csv = exported.text().await.expect("csv");
    assert!(csv.starts_with(HEADER), "{csv}");
    assert_eq!(csv.lines().count(), 14);
    assert!(
        csv.contains(
            "2024-01-03,transfer,,,,,2500.5,,,USD,\"monthly, to the broker\",Default,\"Broker, cash\"\n"
        ),
        "a transfer names both accounts: {csv}"
    );
    assert!(
        csv.contains("2024-07-01,fee,,,,,5,,,USD,'=account fee,Default,\n"),
        "{csv}"
    );
    // No cell a spreadsheet would run as a formula: the note is kept behind a quote mark.
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.contains(",=") && !csv.contains(",\"="), "{csv}");
    let holdings = app.get("/export/holdings.csv").await.text().await.unwrap();
    assert!(holdings.contains("'@SUM(1+1)"), "{holdings}");
    assert!(!holdings.contains(",@"), "{holdings}");

    // Into a second account through the command line.
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
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("export.csv");
    std::fs::write(&file, &csv).expect("write");
    let out = command(&app.database_url())
        .args([
            "import",
            file.to_str().expect("path"),
            "--user",
            "bob",
            "--offline",
            "--create-accounts",
        ])
        .output()
        .expect("import");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 13 transactions"));
    assert!(
        stderr.contains("13/13 rows written (100%)"),
        "progress: {stderr}"
    );

    let (token, prefix) = stock_ticker::portfolio::auth::new_api_token().expect("token");
    store
        .create_token(
            bob.owner(),
            "t",
            &prefix,
            &stock_ticker::portfolio::auth::sha256_hex(&token),
        )
        .await
        .expect("token");
    let bob_client = reqwest::Client::builder()
        .default_headers(
            [(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {token}").parse().expect("header"),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .expect("client");
    let alice = portfolio_of(&app.client, &app).await;
    let bobs = portfolio_of(&bob_client, &app).await;
    assert_eq!(alice.len(), 3);
    assert_eq!(alice, bobs, "the same holdings, costs, gains and dividends");
    let alice_cash = cash_of(&app.client, &app).await;
    assert_eq!(alice_cash.len(), 2, "{alice_cash:?}");
    assert_eq!(
        alice_cash,
        cash_of(&bob_client, &app).await,
        "the same cash in the same accounts"
    );
    let notes: Value = bob_client
        .get(app.url("/api/v1/transactions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["notes"] == "=HYPERLINK(\"http://x.example\",\"x\")"),
        "the import took the quote mark off again: {notes}"
    );
    // And the export of the copy is the export of the original.
    let out = command(&app.database_url())
        .args(["export", "--user", "bob"])
        .output()
        .expect("export");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), csv);

    // A bad file on the command line: every problem, exit 1, nothing written.
    std::fs::write(
        &file,
        format!("{HEADER}\n2024-01-01,sell,ZZZ,stock,1,1,,,,,\nxx,buy,ZZZ,stock,1,1,,,,,\n"),
    )
    .expect("write");
    let out = command(&app.database_url())
        .args([
            "import",
            file.to_str().expect("path"),
            "--user",
            "bob",
            "--offline",
        ])
        .output()
        .expect("import");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 2: quantity"), "{stderr}");
    assert!(stderr.contains("line 3: date"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(portfolio_of(&bob_client, &app).await, bobs);

    // A file naming an account bob does not have: refused, unless asked to create it.
    std::fs::write(
        &file,
        format!("{HEADER},account\n2024-01-01,buy,ZZZ,stock,1,1,,,,,,Pension\n"),
    )
    .expect("write");
    let run = |create: bool| {
        let mut c = command(&app.database_url());
        c.args([
            "import",
            file.to_str().expect("path"),
            "--user",
            "bob",
            "--offline",
        ]);
        if create {
            c.arg("--create-accounts");
        }
        c.output().expect("import")
    };
    let out = run(false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no account named \"Pension\""), "{stderr}");
    let out = run(true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("creating the accounts Pension"), "{stderr}");
    let names: Vec<String> = store
        .holding_accounts(bob.owner())
        .await
        .expect("accounts")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert!(names.contains(&"Pension".to_string()), "{names:?}");
}

#[tokio::test]
async fn a_commit_sent_twice_imports_once_and_a_wide_file_is_refused() {
    let app = spawn_app().await;
    mock_symbols(&app).await;
    let (csv, _) = big_file(2_000);
    let import = uploaded(&app, &csv).await;
    let page = app.get(&import).await.text().await.expect("page");
    let mapping = guessed_mapping(&page);
    let form = as_form(&mapping);
    let commit = format!("{import}/commit");
    let (a, b) = tokio::join!(app.post_form(&commit, &form), app.post_form(&commit, &form));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (303, 303));
    for _ in 0..200 {
        let page = app.get(&import).await.text().await.expect("page");
        if page.contains("id=\"import-done\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(transaction_count(&app).await, 2_000, "written once");

    let wide = format!("{}\n", vec!["c"; 101].join(","));
    let r = upload(&app, "wide.csv", &wide).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .expect("page")
            .contains("The file has 101 columns; at most 100 are read.")
    );
}

#[tokio::test]
async fn an_import_whose_server_stopped_says_so_and_a_stopped_check_can_be_committed_again() {
    use stock_ticker::domain::csv::{NewUpload, Stage};
    let app = spawn_app().await;
    let owner = crate::helpers::first_owner();
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::minutes(3);
    for (id, stage) in [
        ("stopped-write", Stage::Writing),
        ("stopped-check", Stage::Checking),
    ] {
        let upload = NewUpload {
            id: id.into(),
            owner,
            file_name: "items.csv".into(),
            content: format!("{HEADER}\n2024-01-02,buy,WATCH1,item,1,100,,,,USD,\n").into_bytes(),
            headers: HEADER.split(',').map(String::from).collect(),
        };
        app.store
            .create_upload(&upload, long_ago, 5)
            .await
            .expect("upload");
        // The instance that was checking or writing it stopped three minutes ago.
        let moved = app
            .store
            .move_upload(owner, id, &Stage::Uploaded, &stage, (0, 1), long_ago)
            .await
            .expect("stage");
        assert!(moved);
    }

    let write = app
        .get("/import/stopped-write")
        .await
        .text()
        .await
        .expect("page");
    assert!(write.contains("id=\"import-interrupted\""), "{write}");
    assert!(
        write.contains("nothing of it was written. Check it and import it again."),
        "{write}"
    );
    assert!(
        write.contains("id=\"check-button\""),
        "the file is kept: {write}"
    );
    assert_eq!(transaction_count(&app).await, 0, "nothing was written");

    let (status, page) = check(&app, "/import/stopped-check").await;
    assert_eq!(status, 200, "the check starts again: {page}");
    let mapping = guessed_mapping(&app.get("/import/stopped-check").await.text().await.unwrap());
    let r = app
        .post_form("/import/stopped-check/commit", &as_form(&mapping))
        .await;
    assert_eq!(r.status(), 303);
    for _ in 0..50 {
        if transaction_count(&app).await == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the commit after the stopped check wrote nothing");
}

#[tokio::test]
async fn imports_wait_their_turn_and_their_page_says_how_many_are_ahead() {
    let app = crate::helpers::spawn_app_with(TestDb::sqlite().await, |c| {
        c.import_workers = 1;
        c.quote_timeout_secs = 30;
    })
    .await;
    // The price service takes 9 s to say whether SLOW exists: the first file's check holds the
    // one worker that long.
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/stable/stock/slow/quote"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(iex_quote("SLOW", "Slow Corp", 10.0))
                .set_delay(Duration::from_secs(9)),
        )
        .mount(&app.iex)
        .await;
    app.mock_simple("AAPL", "Apple Inc.", 100.0).await;
    let first = uploaded(
        &app,
        &format!("{HEADER}\n2024-01-02,buy,SLOW,stock,1,10,,,,USD,\n"),
    )
    .await;
    let second = uploaded(
        &app,
        &format!("{HEADER}\n2024-01-02,buy,AAPL,stock,2,100,,,,USD,\n"),
    )
    .await;

    let first_check = {
        let (app_client, url) = (app.client.clone(), app.url(&format!("{first}/check")));
        let page = app.get(&first).await.text().await.unwrap();
        let mut form = guessed_mapping(&page);
        form.push(("csrf".into(), app.csrf.clone()));
        tokio::spawn(async move { app_client.post(url).form(&form).send().await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, _) = check(&app, &second).await;
    assert_eq!(
        status, 303,
        "a check that cannot start soon goes to its page"
    );
    let page = app.get(&second).await.text().await.unwrap();
    assert!(
        page.contains("id=\"import-queued\"") && page.contains("yours is next"),
        "{page}"
    );
    assert!(
        page.contains("http-equiv=\"refresh\""),
        "the page refreshes"
    );
    let first_page = app.get(&first).await.text().await.unwrap();
    assert!(
        first_page.contains("id=\"import-checking\""),
        "{first_page}"
    );

    // Once the first is checked, the second runs, and its page shows the result.
    let answer = first_check.await.unwrap().unwrap();
    assert_eq!(answer.status(), 303);
    assert!(
        page_shows(&app.client, &app.url(&second), "id=\"check-ok\"", 200).await,
        "the second check ran once the worker was free"
    );
    let page = app.get(&second).await.text().await.unwrap();
    assert!(page.contains("All 1 rows can be imported"), "{page}");
    assert!(page.contains("commit-button"));
    let first_page = app.get(&first).await.text().await.unwrap();
    assert!(first_page.contains("id=\"check-ok\""), "{first_page}");
}

/// The real binary, signed in through its login form.
async fn signed_in(port: u16) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let login = client
        .post(format!("{base}/login"))
        .form(&[("username", "ops"), ("password", "ops password 123")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303, "signed in");
    (client, base)
}

/// Views `url` every 100 ms, at most `tries` times, until it shows `text`; whether it did.
async fn page_shows(client: &reqwest::Client, url: &str, text: &str, tries: usize) -> bool {
    for _ in 0..tries {
        let page = client.get(url).send().await.unwrap();
        if page.text().await.unwrap().contains(text) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Uploads `csv`, checks it with the guessed mapping and presses Import; the import's page.
async fn start_import(client: &reqwest::Client, base: &str, csv: String) -> String {
    let page = client.get(format!("{base}/import")).send().await.unwrap();
    let page = page.text().await.unwrap();
    let csrf = crate::helpers::form_token(&page);
    let (content_type, body) = upload_form(&csrf, "big.csv", &csv);
    let r = client
        .post(format!("{base}/import"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let import = r.headers()["location"].to_str().unwrap().to_string();
    let page = client.get(format!("{base}{import}")).send().await.unwrap();
    let mut form = guessed_mapping(&page.text().await.unwrap());
    form.push(("csrf".into(), csrf));
    client
        .post(format!("{base}{import}/check"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let url = format!("{base}{import}");
    assert!(
        page_shows(client, &url, "id=\"check-ok\"", 600).await,
        "checked"
    );
    let r = client
        .post(format!("{base}{import}/commit"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    import
}

#[tokio::test]
async fn sigterm_during_an_import_rolls_it_back_and_keeps_the_upload_for_another_try() {
    use std::process::Command;
    let db = TestDb::sqlite().await;
    crate::cli::add_user(&db.url, "ops", "ops password 123");
    let iex = wiremock::MockServer::start().await;
    for s in 0..20 {
        let symbol = format!("S{s:03}");
        wiremock::Mock::given(wiremock::matchers::path(format!(
            "/stable/stock/{}/quote",
            symbol.to_ascii_lowercase()
        )))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(iex_quote(&symbol, "Test Co", 11.0)),
        )
        .mount(&iex)
        .await;
    }
    // Warnings only: the log is read once the server has stopped (a full pipe would stall it).
    let grace = [("SHUTDOWN_GRACE_SECS", "2"), ("RUST_LOG", "warn")];
    let (child, port) = crate::cli::serve_with(&db.url, &iex.uri(), &grace).await;
    let (client, base) = signed_in(port).await;
    let (csv, _) = big_file(150_000);
    let import = start_import(&client, &base, csv).await;

    // SIGTERM while rows are being written.
    let mut writing = false;
    for _ in 0..600 {
        let page = client.get(format!("{base}{import}")).send().await.unwrap();
        let page = page.text().await.unwrap();
        assert!(
            !page.contains("id=\"import-done\""),
            "the import ended before SIGTERM"
        );
        if page.contains("id=\"import-progress\"") && !page.contains("Importing… 0 of") {
            writing = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(writing, "the rows were being written");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "gone within the grace period: {:?}",
        started.elapsed()
    );
    let store = db.store().await;
    let owner = store.user_by_name("ops").await.unwrap().unwrap().owner();
    assert!(
        store.transactions(owner, None).await.unwrap().is_empty(),
        "all or nothing: nothing of it was written"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("an import was rolled back"),
        "the log says so"
    );

    // After the restart the page says what happened, and the same upload imports.
    let (mut child, port) = crate::cli::serve_with(&db.url, &iex.uri(), &grace).await;
    let (client, base) = signed_in(port).await;
    let page = client.get(format!("{base}{import}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("id=\"import-interrupted\""), "{page}");
    assert!(page.contains("nothing of it was written"), "{page}");
    let mut form = guessed_mapping(&page);
    let csrf = crate::helpers::form_token(&page);
    form.push(("csrf".into(), csrf));
    let r = client
        .post(format!("{base}{import}/commit"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let url = format!("{base}{import}");
    let done = page_shows(&client, &url, "Imported 150000 transactions.", 1200).await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(done, "imported on the second try");
    assert_eq!(
        store.transactions(owner, None).await.unwrap().len(),
        150_000
    );
}

/// Broker files as brokers write them: US dates with commas, European dates with semicolons,
/// and a Windows-1252 file with tabs; each format guessed from the file, shown with its first
/// rows, and changeable (a day-first file read as US is refused, naming the row).
async fn broker_files(app: &TestApp) {
    for (symbol, name, price) in [
        ("AAPL", "Apple Inc.", 190.0),
        ("MSFT", "Microsoft Corporation", 415.0),
        ("SAP", "SAP SE", 200.0),
    ] {
        app.mock_simple(symbol, name, price).await;
    }
    // US: month first, told by 12/31.
    let us = "Date,Action,Symbol,Quantity,Price\n03/04/2024,buy,AAPL,10,100\n12/31/2024,sell,AAPL,4,150\n";
    let import = uploaded_bytes(app, "us.csv", us.as_bytes()).await;
    let page = app.get(&import).await.text().await.expect("mapping page");
    assert!(
        page.contains("<option value=\"us\" selected>"),
        "US dates guessed"
    );
    assert!(
        page.contains("<td>12/31/2024</td>"),
        "the first rows are shown"
    );
    let (status, checked) = check(app, &import).await;
    assert_eq!(status, 200, "{checked}");
    assert!(checked.contains("<td>2024-03-04</td>"), "read as 4 March");
    commit_guessed(app, &import).await;

    // European: day first with dots, separated by semicolons.
    let eu = "Datum;Type;Symbol;Quantity;Price\n04.03.2024;buy;MSFT;5;410.5\n";
    let import = uploaded_bytes(app, "eu.csv", eu.as_bytes()).await;
    let page = app.get(&import).await.text().await.expect("mapping page");
    assert!(
        page.contains("<option value=\"eu\" selected>"),
        "day first guessed"
    );
    assert!(
        page.contains("<td>04.03.2024</td><td>buy</td><td>MSFT</td>"),
        "columns split at ;"
    );
    commit_guessed(app, &import).await;

    // Windows-1252 (what Excel saves on Windows), tab-separated: é and € read right.
    let mut latin =
        b"date\ttype\tsymbol\tquantity\tprice\tnotes\n2024-03-01\tbuy\tSAP\t3\t150\t".to_vec();
    latin.extend_from_slice(b"Soci\xe9t\xe9 G\xe9n\xe9rale \x80\n");
    let import = uploaded_bytes(app, "latin.csv", &latin).await;
    let page = app.get(&import).await.text().await.expect("mapping page");
    assert!(page.contains("<option value=\"iso\" selected>"));
    assert!(page.contains("Société Générale €"), "{page}");
    commit_guessed(app, &import).await;

    let list: Value = app
        .get("/api/v1/transactions")
        .await
        .json()
        .await
        .expect("list");
    let rows: Vec<(String, String, String)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| {
            (
                t["symbol"].as_str().unwrap_or_default().to_string(),
                t["date"].as_str().unwrap_or_default().to_string(),
                t["quantity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for row in [
        ("AAPL", "2024-03-04", "10"),
        ("AAPL", "2024-12-31", "4"),
        ("MSFT", "2024-03-04", "5"),
        ("SAP", "2024-03-01", "3"),
    ] {
        assert!(
            rows.contains(&(row.0.into(), row.1.into(), row.2.into())),
            "{row:?} in {rows:?}"
        );
    }
    let sap = list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|t| t["symbol"] == "SAP"))
        .expect("SAP");
    assert_eq!(sap["notes"], "Société Générale €");

    // A day-first file read as month first: 25/12 is no date, and nothing is written.
    let before = transaction_count(app).await;
    let import = uploaded_bytes(
        app,
        "day-first.csv",
        b"date,type,symbol,quantity,price\n25/12/2024,buy,AAPL,1,100\n",
    )
    .await;
    let page = app.get(&import).await.text().await.expect("mapping page");
    assert!(
        page.contains("<option value=\"eu\" selected>"),
        "25/12 is day first"
    );
    let mut form = guessed_mapping(&page);
    for (k, v) in &mut form {
        if k == "date_format" {
            *v = "us".into();
        }
    }
    let r = app
        .post_form(&format!("{import}/check"), &as_form(&form))
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("page");
    assert!(
        html.contains("25/12/2024"),
        "the row's date is named: {html}"
    );
    assert!(
        html.contains("<option value=\"us\" selected>"),
        "the choice stays"
    );
    assert_eq!(transaction_count(app).await, before, "nothing written");
}

#[tokio::test]
async fn broker_files_import_on_sqlite() {
    broker_files(&spawn_app().await).await;
}

#[tokio::test]
async fn broker_files_import_on_postgres() {
    let Some(db) = TestDb::postgres("import::broker_files_import_on_postgres").await else {
        return;
    };
    broker_files(&spawn_app_on(db).await).await;
}
