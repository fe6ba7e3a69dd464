//! The original app's story in real headless Chromium, driven through ChromeDriver.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{TestApp, TestDb, iex_quote, row_symbols, skip, spawn_fresh_app, yahoo_chart};

const TEST: &str = "browser::the_portfolio_story_in_a_real_browser";

/// A ChromeDriver process, killed when dropped.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(var: &str, default: &str) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_string()));
    path.exists().then_some(path)
}

async fn start_browser() -> Option<(Driver, Client)> {
    let Some(chromedriver) = find("CHROMEDRIVER", "/usr/bin/chromedriver") else {
        skip(
            TEST,
            "chromedriver not found (apt-get install chromium-driver, or set CHROMEDRIVER)",
        );
        return None;
    };
    let Some(chromium) = find("CHROME_BIN", "/usr/bin/chromium") else {
        skip(
            TEST,
            "chromium not found (apt-get install chromium, or set CHROME_BIN)",
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: profile,
    };

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-component-update",
                "--disable-sync", "--window-size=1400,1000",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    for _ in 0..50 {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&driver.url)
            .await
        {
            Ok(client) => return Some((driver, client)),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!(
        "chromedriver at {} did not start a browser session",
        driver.url
    );
}

async fn rows(client: &Client) -> Vec<String> {
    row_symbols(&client.source().await.expect("page source"))
}

/// Waits for an element: a click that submits a form returns before the next page is in.
async fn element(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn text(client: &Client, css: &str) -> String {
    element(client, css).await.text().await.expect("text")
}

async fn fill(client: &Client, css: &str, value: &str) {
    let field = element(client, css).await;
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

async fn click(client: &Client, css: &str) {
    element(client, css).await.click().await.expect("click");
}

/// Clicks something that loads another page, and waits until that page is the one shown.
async fn click_to_navigate(client: &Client, css: &str) {
    let before = client.current_url().await.expect("url");
    click(client, css).await;
    for _ in 0..100 {
        let now = client.current_url().await.expect("url");
        let ready = client
            .execute("return document.readyState", vec![])
            .await
            .expect("readyState");
        if now != before && ready == "complete" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("clicking {css} on {before} did not load another page");
}

async fn add_through_form(client: &Client, app: &TestApp, symbol: &str, quantity: &str) {
    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    fill(client, "#add-form #symbol", symbol).await;
    fill(client, "#add-form #quantity", quantity).await;
    click_to_navigate(client, "#add-button").await;
    let flash = text(client, "#flash").await;
    assert_eq!(flash, format!("Added {symbol} to the portfolio."));
}

async fn add_kind_through_form(
    client: &Client,
    app: &TestApp,
    symbol: &str,
    kind: &str,
    quantity: &str,
) {
    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    fill(client, "#add-form #symbol", symbol).await;
    element(client, "#add-form #kind")
        .await
        .select_by_value(kind)
        .await
        .expect("choose the kind");
    fill(client, "#add-form #quantity", quantity).await;
    click_to_navigate(client, "#add-button").await;
    let flash = text(client, "#flash").await;
    assert_eq!(
        flash,
        format!("Added {} to the portfolio.", symbol.to_ascii_uppercase())
    );
}

#[tokio::test]
async fn the_portfolio_story_in_a_real_browser() {
    let app = spawn_fresh_app(TestDb::sqlite().await, |c| {
        c.quote_providers_commodity = "yahoo".into()
    })
    .await;
    let Some((_driver, client)) = start_browser().await else {
        return;
    };
    let mut aapl = iex_quote("AAPL", "Apple Inc.", 189.84);
    aapl["previousClose"] = json!(191.56);
    app.mock_quote("AAPL", aapl).await;
    app.mock_simple("MSFT", "Microsoft Corporation", 415.5)
        .await;
    app.mock_simple("KO", "Coca-Cola Company", 59.1).await;

    // A fresh install sends the first visitor to /setup; the admin it creates is signed in.
    client.goto(&app.url("/")).await.expect("home");
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/setup")
    );
    fill(&client, "#code", crate::helpers::SETUP_CODE).await;
    fill(&client, "#username", "admin").await;
    fill(&client, "#password", "a long enough password").await;
    fill(&client, "#confirm", "a long enough password").await;
    click_to_navigate(&client, "#setup-button").await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/portfolio")
    );
    assert_eq!(text(&client, "#account-link").await, "admin");

    // Logging out and in again, through the login form.
    click_to_navigate(&client, "#logout-button").await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/login")
    );
    fill(&client, "#username", "admin").await;
    fill(&client, "#password", "a long enough password").await;
    click_to_navigate(&client, "#login-button").await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/portfolio")
    );

    // Look up a ticker and add it from the quote card.
    client.goto(&app.url("/")).await.expect("home");
    fill(&client, "#symbol", "aapl").await;
    click_to_navigate(&client, "#lookup-form button[type=submit]").await;
    assert_eq!(text(&client, "#quote-name").await, "Apple Inc.");
    assert_eq!(text(&client, "#quote-price").await, "189.84");
    fill(&client, "#add-quantity", "3").await;
    click_to_navigate(&client, "#add-from-quote button").await;
    assert_eq!(
        text(&client, "#flash").await,
        "Added AAPL to the portfolio."
    );

    // Two more through the add form.
    add_through_form(&client, &app, "MSFT", "2").await;
    add_through_form(&client, &app, "KO", "10").await;
    assert_eq!(rows(&client).await, ["AAPL", "KO", "MSFT"]);

    // Sort by price by clicking its header, then flip it.
    click_to_navigate(&client, "th:nth-child(5) a").await;
    assert_eq!(rows(&client).await, ["KO", "AAPL", "MSFT"]);
    assert!(text(&client, "th:nth-child(5)").await.ends_with('↑'));
    click_to_navigate(&client, "th:nth-child(5) a").await;
    assert_eq!(rows(&client).await, ["MSFT", "AAPL", "KO"]);
    assert!(text(&client, "th:nth-child(5)").await.ends_with('↓'));
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/portfolio?sort=price&dir=desc")
    );

    // Edit one.
    click_to_navigate(&client, "tr[data-symbol=KO] a[href$=edit]").await;
    fill(&client, "#quantity", "12.5").await;
    click_to_navigate(&client, "#save-button").await;
    assert_eq!(text(&client, "#flash").await, "Saved KO.");
    assert_eq!(
        text(&client, "tr[data-symbol=KO] td:nth-child(4)").await,
        "12.5"
    );
    assert_eq!(text(&client, "tr[data-symbol=KO] td.value").await, "738.75");

    // Delete one, confirming first.
    click_to_navigate(&client, "tr[data-symbol=MSFT] a[href$=delete]").await;
    assert!(text(&client, "h1").await.contains("Delete MSFT?"));
    click_to_navigate(&client, "#confirm-delete-button").await;
    assert_eq!(
        text(&client, "#flash").await,
        "Deleted MSFT from the portfolio."
    );
    assert_eq!(rows(&client).await, ["AAPL", "KO"]);
    // 3 × 189.84 + 12.5 × 59.1
    assert_eq!(text(&client, ".total-value").await, "1,308.27 USD");

    let screenshot = client.screenshot().await.expect("screenshot");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    std::fs::write(dir.join("portfolio.png"), screenshot).expect("save screenshot");

    // Gold by its name, and a watch priced by hand.
    app.mock_yahoo("GC=F", yahoo_chart("GC=F", "Gold", 2650.5, 2640.0))
        .await;
    add_kind_through_form(&client, &app, "gold", "commodity", "1.5").await;
    add_kind_through_form(&client, &app, "watch", "item", "1").await;
    assert_eq!(
        text(&client, "tr[data-symbol=GOLD] td.price").await,
        "2,650.50 USD"
    );
    assert_eq!(
        text(&client, "tr[data-symbol=WATCH] td.price").await,
        "no price"
    );

    click_to_navigate(&client, "tr[data-symbol=WATCH] td:first-child a").await;
    let today = time::OffsetDateTime::now_utc().date();
    let days_ago = |n| (today - time::Duration::days(n)).to_string();
    for (date, price) in [(days_ago(40), "9500"), (days_ago(10), "10250")] {
        client
            .execute(
                "document.getElementById('price-date').value = arguments[0]",
                vec![json!(date)],
            )
            .await
            .expect("set the date");
        fill(&client, "#price-value", price).await;
        click(&client, "#add-price-button").await;
        element(&client, "#manual-prices").await;
    }
    let chart = element(&client, "#price-chart").await;
    assert_eq!(
        chart.attr("data-points").await.unwrap().as_deref(),
        Some("2"),
        "both prices on the chart"
    );
    std::fs::write(
        dir.join("asset-item.png"),
        client.screenshot().await.expect("screenshot"),
    )
    .expect("save");

    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    assert_eq!(
        text(&client, "tr[data-symbol=WATCH] td.price").await,
        "10,250.00 USD"
    );
    click_to_navigate(&client, "tr[data-symbol=GOLD] td:first-child a").await;
    assert_eq!(text(&client, "#quote-price").await, "2,650.50");
    element(&client, "#price-chart").await;

    // Notes are text: script and markup in them run nowhere.
    let xss = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>";
    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    fill(&client, "#add-form #symbol", "card").await;
    element(&client, "#add-form #kind")
        .await
        .select_by_value("item")
        .await
        .expect("kind");
    fill(&client, "#add-form #quantity", "1").await;
    fill(&client, "#add-form #notes", xss).await;
    click_to_navigate(&client, "#add-button").await;
    assert_eq!(text(&client, "tr[data-symbol=CARD] td.notes").await, xss);
    assert!(client.get_alert_text().await.is_err(), "no dialog opened");
    assert!(
        client.find(Locator::Css("td.notes img")).await.is_err(),
        "no element was injected"
    );

    // About, through the navbar.
    click_to_navigate(&client, "a.nav-link[href='/about']").await;
    assert!(text(&client, "#delay-note").await.contains("delayed"));

    // A phone-width window collapses the navbar behind its toggler.
    client.set_window_size(390, 844).await.expect("resize");
    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    let toggler = client
        .find(Locator::Css(".navbar-toggler"))
        .await
        .expect("toggler");
    assert!(
        toggler.is_displayed().await.unwrap(),
        "menu button shows on a phone"
    );
    toggler.click().await.expect("open menu");
    let link = client
        .find(Locator::Css("a.nav-link[href='/about']"))
        .await
        .expect("about link");
    for _ in 0..20 {
        if link.is_displayed().await.unwrap_or(false) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        link.is_displayed().await.unwrap(),
        "Bootstrap's script opened the menu (it loaded under the CSP)"
    );
    std::fs::write(
        dir.join("portfolio-phone.png"),
        client.screenshot().await.expect("screenshot"),
    )
    .expect("save");

    client.close().await.expect("close browser");
}
