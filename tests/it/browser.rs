//! The original app's story in real headless Chromium, driven through ChromeDriver.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{
    PASSWORD, TestApp, TestDb, USER, iex_quote, row_symbols, skip, spawn_app, spawn_fresh_app,
    yahoo_chart, yahoo_fixture,
};

const TEST: &str = "browser::the_portfolio_story_in_a_real_browser";
const DARK_TEST: &str = "browser::dark_mode_follows_the_system_and_the_toggle";
const AXE_TEST: &str =
    "browser::every_page_is_axe_clean_and_fits_light_and_dark_on_a_laptop_and_a_phone";
const WATCH_TEST: &str = "browser::the_watchlist_in_a_real_browser";
const GAINS_TEST: &str = "browser::transactions_gains_dark_mode_and_an_import_in_a_real_browser";
const CASH_TEST: &str = "browser::cash_returns_and_income_in_a_real_browser";

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

/// Starts ChromeDriver and a headless Chromium with its own profile; `extra_args` are added to
/// Chromium's command line. `None` (after saying so) when either is not installed.
async fn start_browser(test: &str, extra_args: &[&str]) -> Option<(Driver, Client)> {
    let Some(chromedriver) = find("CHROMEDRIVER", "/usr/bin/chromedriver") else {
        skip(
            test,
            "chromedriver not found (apt-get install chromium-driver, or set CHROMEDRIVER)",
        );
        return None;
    };
    let Some(chromium) = find("CHROME_BIN", "/usr/bin/chromium") else {
        skip(
            test,
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

    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ]
    .into_iter()
    .chain(extra_args.iter().copied())
    .map(str::to_string)
    .collect();
    args.push(format!(
        "--user-data-dir={}",
        driver._profile.path().display()
    ));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium, "args": args }),
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

/// Opens a closed disclosure (`<details>`) by clicking its summary, as a person would.
async fn disclose(client: &Client, details: &str) {
    let d = element(client, details).await;
    if d.attr("open").await.expect("open attribute").is_none() {
        click(client, &format!("{details} > summary")).await;
    }
}

/// Follows one of a holding's row menu links (`transactions`, `edit`, `delete`).
async fn row_action(client: &Client, symbol: &str, action: &str) {
    let row = format!("tr[data-symbol={symbol}]");
    disclose(client, &format!("{row} .row-menu")).await;
    click_to_navigate(client, &format!("{row} .row-menu a[href$='{action}']")).await;
}

async fn add_through_form(client: &Client, app: &TestApp, symbol: &str, quantity: &str) {
    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    disclose(client, "#add-holding").await;
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
    disclose(client, "#add-holding").await;
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
        c.quote_providers_commodity = "yahoo".parse().expect("providers")
    })
    .await;
    let Some((_driver, client)) = start_browser(TEST, &[]).await else {
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
    assert_eq!(
        element(&client, "#add-cost")
            .await
            .prop("value")
            .await
            .expect("cost")
            .as_deref(),
        Some("189.84"),
        "the cost per unit starts at the price"
    );
    click_to_navigate(&client, "#add-from-quote button").await;
    assert_eq!(
        text(&client, "#flash").await,
        "Added AAPL to the portfolio."
    );
    assert_eq!(
        text(&client, "tr[data-symbol=AAPL] td.gain").await,
        "0.00",
        "its cost is known, so its gain is"
    );

    // Two more through the add form.
    add_through_form(&client, &app, "MSFT", "2").await;
    add_through_form(&client, &app, "KO", "10").await;
    assert_eq!(rows(&client).await, ["AAPL", "KO", "MSFT"]);

    // Sort by price by clicking its header, then flip it.
    click_to_navigate(&client, "thead th:nth-child(3) a").await;
    assert_eq!(rows(&client).await, ["KO", "AAPL", "MSFT"]);
    assert!(text(&client, "thead th:nth-child(3)").await.ends_with('↑'));
    click_to_navigate(&client, "thead th:nth-child(3) a").await;
    assert_eq!(rows(&client).await, ["MSFT", "AAPL", "KO"]);
    assert!(text(&client, "thead th:nth-child(3)").await.ends_with('↓'));
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/portfolio?sort=price&dir=desc")
    );

    // Edit one.
    row_action(&client, "KO", "edit").await;
    fill(&client, "#quantity", "12.5").await;
    click_to_navigate(&client, "#save-button").await;
    assert_eq!(text(&client, "#flash").await, "Saved KO.");
    assert_eq!(
        text(&client, "tr[data-symbol=KO] td.quantity").await,
        "12.5"
    );
    assert_eq!(text(&client, "tr[data-symbol=KO] td.value").await, "738.75");

    // Delete one, confirming first.
    row_action(&client, "MSFT", "delete").await;
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

    // The charts under the table: a KO buy a month ago and its stored closes give the value
    // line something to draw; both doughnuts show AAPL and KO.
    seed_history(&app, "KO", 30).await;
    client
        .goto(&app.url("/portfolio?range=1m"))
        .await
        .expect("portfolio");
    for css in [
        "#value-chart",
        "#allocation-holding svg.doughnut",
        "#allocation-kind svg.doughnut",
        "#allocation-holding .chart-legend",
    ] {
        let chart = element(&client, css).await;
        client
            .execute(
                "arguments[0].scrollIntoView({behavior: 'instant'})",
                vec![json!(chart)],
            )
            .await
            .expect("scroll");
        assert!(chart.is_displayed().await.unwrap(), "{css} is visible");
        let size = chart.rectangle().await.expect("size");
        assert!(size.2 > 100.0 && size.3 > 50.0, "{css} has room: {size:?}");
    }
    let slices = client
        .find_all(Locator::Css("#allocation-holding path.slice"))
        .await
        .expect("slices");
    assert_eq!(slices.len(), 2, "AAPL and KO");
    assert_eq!(
        text(
            &client,
            "#allocation-kind tr[data-label=Stock] .legend-percent"
        )
        .await,
        "100.0%"
    );
    assert_eq!(
        element(&client, "#value-chart")
            .await
            .attr("data-points")
            .await
            .unwrap()
            .as_deref(),
        Some("31")
    );
    client
        .execute(
            "document.getElementById('charts').scrollIntoView({behavior: 'instant'})",
            vec![],
        )
        .await
        .expect("scroll to the charts");
    std::fs::write(
        dir.join("portfolio-charts.png"),
        client.screenshot().await.expect("screenshot"),
    )
    .expect("save screenshot");

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

    // The item's holding page leads to the prices entered by hand.
    click_to_navigate(&client, "tr[data-symbol=WATCH] th.col-holding a").await;
    assert_eq!(text(&client, "#position-price").await, "—");
    click_to_navigate(&client, "#asset-link").await;
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
    // A holding's page: its position (1.5 × 2,650.50), price and chart.
    click_to_navigate(&client, "tr[data-symbol=GOLD] th.col-holding a").await;
    assert_eq!(text(&client, "#position-price").await, "2,650.50");
    assert_eq!(text(&client, "#position-value").await, "3,975.75");
    assert_eq!(text(&client, "#summary-quantity").await, "1.5");
    element(&client, "#price-chart").await;
    element(&client, "#transactions-table").await;

    // Notes are text: script and markup in them run nowhere.
    let xss = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>";
    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    disclose(&client, "#columns-chooser").await;
    click(&client, "#col-notes").await;
    click_to_navigate(&client, "#columns-save").await;
    disclose(&client, "#add-holding").await;
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

/// A buy of 5 `symbol` `days` ago and a close for each day since, rising from 50 by 0.25 a
/// day, written straight to the store (the first account holds `symbol` already).
async fn seed_history(app: &TestApp, symbol: &str, days: i64) {
    use stock_ticker::domain::PricePoint;
    use stock_ticker::domain::ledger::{TxAmounts, TxKind};
    use stock_ticker::domain::{AssetKey, TxFields};
    use stock_ticker::domain::{AssetKind, Symbol};
    let owner = crate::helpers::first_owner();
    let symbol = Symbol::parse(symbol).expect("symbol");
    let holding = app
        .store
        .find_holding(owner, &symbol, AssetKind::Stock)
        .await
        .expect("read holding")
        .expect("held");
    let today = time::OffsetDateTime::now_utc().date();
    let fields = TxFields {
        amounts: TxAmounts {
            kind: TxKind::Buy,
            day: today - time::Duration::days(days),
            quantity: Some(5.into()),
            price: Some(50.into()),
            amount: None,
            ratio: None,
            fees: 0.into(),
            account: 0,
        },
        notes: None,
    };
    app.store
        .add_transaction(owner, holding.id, &fields)
        .await
        .expect("add the buy")
        .expect("held");
    let closes: Vec<PricePoint> = (1..=days)
        .map(|n| PricePoint {
            date: today - time::Duration::days(n),
            close: rust_decimal::Decimal::new(5000 + 25 * (days - n), 2),
        })
        .collect();
    app.store
        .save_prices(
            &AssetKey {
                symbol,
                kind: AssetKind::Stock,
                owner,
            },
            &closes,
            "test",
        )
        .await
        .expect("save closes");
}

/// Signs in as the test app's account through the login form.
async fn log_in(client: &Client, app: &TestApp) {
    client.goto(&app.url("/login")).await.expect("login page");
    fill(client, "#username", USER).await;
    fill(client, "#password", PASSWORD).await;
    click_to_navigate(client, "#login-button").await;
}

/// Runs a script and returns its answer as text.
async fn script_text(client: &Client, script: &str) -> String {
    let value = client.execute(script, vec![]).await.expect(script);
    value.as_str().unwrap_or_default().to_string()
}

/// The colour mode Bootstrap is in: the root element's `data-bs-theme`.
async fn theme(client: &Client) -> String {
    script_text(
        client,
        "return document.documentElement.getAttribute('data-bs-theme')",
    )
    .await
}

/// Relative luminance (0 black … 1 white) of a CSS `rgb()`/`rgba()` colour, as the browser
/// computed it.
fn luminance(css: &str) -> f64 {
    let channels: Vec<f64> = css
        .trim_start_matches("rgba(")
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .take(3)
        .map(|c| c.trim().parse::<f64>().expect(css) / 255.0)
        .map(|c| {
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        })
        .collect();
    0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
}

/// The body's computed background and text luminance.
async fn body_luminance(client: &Client) -> (f64, f64) {
    let background = script_text(
        client,
        "return getComputedStyle(document.body).backgroundColor",
    )
    .await;
    let color = script_text(client, "return getComputedStyle(document.body).color").await;
    (luminance(&background), luminance(&color))
}

/// Every visible piece of text whose contrast with what is behind it is under `minimum`
/// (WCAG's ratio; colours with transparency are blended over the backgrounds beneath them).
const LOW_CONTRAST: &str = r#"
const minimum = arguments[0];
const parse = (css) => {
  const m = css.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const [r, g, b, a] = m[1].split(',').map((x) => parseFloat(x));
  return [r, g, b, a === undefined ? 1 : a];
};
const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
const background = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let colour = [255, 255, 255, 1];
  for (const layer of layers.reverse()) colour = over(layer, colour);
  return colour;
};
const lum = (c) => {
  const [r, g, b] = c.slice(0, 3).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const problems = [];
for (const el of document.body.querySelectorAll('*')) {
  const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join('');
  if (!text || el.closest('.visually-hidden')) continue;
  const rect = el.getBoundingClientRect();
  if (rect.width === 0 || rect.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
  const back = background(el);
  const fore = over(parse(getComputedStyle(el).color), back);
  const [hi, lo] = [lum(fore), lum(back)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  if (ratio < minimum) problems.push(`${el.tagName.toLowerCase()}.${el.className} "${text.slice(0, 30)}": ${ratio.toFixed(2)}`);
}
return problems;
"#;

async fn low_contrast(client: &Client, minimum: f64) -> Vec<String> {
    let found = client
        .execute(LOW_CONTRAST, vec![json!(minimum)])
        .await
        .expect("contrast scan");
    serde_json::from_value(found).expect("a list of problems")
}

/// Opens the navbar's theme menu and picks a mode.
async fn choose_theme(client: &Client, mode: &str) {
    click(client, "#theme-toggle").await;
    let item = element(client, &format!("[data-theme-value={mode}]")).await;
    for _ in 0..20 {
        if item.is_displayed().await.unwrap_or(false) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    item.click().await.expect("choose the theme");
}

async fn reload(client: &Client) {
    client.refresh().await.expect("reload");
    element(client, "body").await;
}

#[tokio::test]
async fn dark_mode_follows_the_system_and_the_toggle() {
    let app = spawn_app().await;
    let Some((_driver, client)) = start_browser(DARK_TEST, &[]).await else {
        return;
    };
    let holding = seed_every_page(&app).await;

    log_in(&client, &app).await;
    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    assert_eq!(
        theme(&client).await,
        "light",
        "auto follows the system, which is light here"
    );
    assert!(
        element(&client, "#theme-toggle")
            .await
            .is_displayed()
            .await
            .unwrap(),
        "the toggle shows in the navbar"
    );
    let (background, text) = body_luminance(&client).await;
    assert!(background > 0.8 && text < 0.1, "light: {background} {text}");

    choose_theme(&client, "dark").await;
    assert_eq!(theme(&client).await, "dark");
    let (background, text) = body_luminance(&client).await;
    assert!(
        background < 0.05,
        "the body background is dark: {background}"
    );
    assert!(text > 0.6, "and its text light: {text}");
    reload(&client).await;
    assert_eq!(theme(&client).await, "dark", "kept across a reload");
    assert!(body_luminance(&client).await.0 < 0.05);
    let dark_item = element(&client, "[data-theme-value=dark]").await;
    assert_eq!(
        dark_item.attr("aria-pressed").await.unwrap().as_deref(),
        Some("true"),
        "the menu marks the choice"
    );
    assert_eq!(
        element(&client, "#theme-toggle")
            .await
            .attr("aria-label")
            .await
            .unwrap()
            .as_deref(),
        Some("Colour theme (dark)")
    );

    // Every page reads well in dark mode: dark background, and no text fainter than 4.5:1.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    for (name, path) in every_page(&app, holding).await {
        client.goto(&app.url(&path)).await.expect(&path);
        element(&client, "footer").await;
        assert_eq!(theme(&client).await, "dark", "{path}");
        assert!(body_luminance(&client).await.0 < 0.05, "{path}");
        assert_eq!(
            low_contrast(&client, 4.5).await,
            Vec::<String>::new(),
            "{path}"
        );
        std::fs::write(
            dir.join(format!("dark-{name}.png")),
            client.screenshot().await.expect("screenshot"),
        )
        .expect("save screenshot");
        if name == "portfolio" {
            element(&client, "#value-chart").await;
            client
                .execute(
                    "document.getElementById('allocation-kind').scrollIntoView({block: 'end', behavior: 'instant'})",
                    vec![],
                )
                .await
                .expect("scroll to the charts");
            std::fs::write(
                dir.join("dark-portfolio-charts.png"),
                client.screenshot().await.expect("screenshot"),
            )
            .expect("save screenshot");
        }
    }
    // Gains and losses keep their colours, lightened for the dark background.
    client.goto(&app.url("/")).await.expect("home");
    let loss = element(&client, "tr[data-watch-symbol=AAPL] td.change").await;
    let gain = element(&client, "tr[data-watch-symbol=KO] td.change").await;
    assert_eq!(
        loss.css_value("color").await.unwrap(),
        "rgba(234, 134, 143, 1)"
    );
    assert_eq!(
        gain.css_value("color").await.unwrap(),
        "rgba(117, 183, 152, 1)"
    );

    choose_theme(&client, "light").await;
    assert_eq!(theme(&client).await, "light");
    assert!(body_luminance(&client).await.0 > 0.8);
    reload(&client).await;
    assert_eq!(theme(&client).await, "light", "kept across a reload");
    assert_eq!(low_contrast(&client, 4.5).await, Vec::<String>::new());
    choose_theme(&client, "auto").await;
    assert_eq!(theme(&client).await, "light", "auto: the system's light");
    assert_eq!(
        script_text(&client, "return localStorage.getItem('stock-ticker-theme')").await,
        "auto"
    );
    client.close().await.expect("close browser");

    // A system set to dark gets dark pages before anything is chosen, even before signing in.
    let Some((_driver, client)) = start_browser(DARK_TEST, &["--force-dark-mode"]).await else {
        return;
    };
    client.goto(&app.url("/login")).await.expect("login page");
    assert_eq!(theme(&client).await, "dark", "auto follows a dark system");
    assert!(body_luminance(&client).await.0 < 0.05);
    log_in(&client, &app).await;
    choose_theme(&client, "light").await;
    reload(&client).await;
    assert_eq!(
        theme(&client).await,
        "light",
        "a choice beats the system's preference"
    );
    client.close().await.expect("close browser");
}

#[tokio::test]
async fn the_watchlist_in_a_real_browser() {
    let app = spawn_app().await;
    let Some((_driver, client)) = start_browser(WATCH_TEST, &[]).await else {
        return;
    };
    app.mock_simple("MSFT", "Microsoft Corporation", 415.5)
        .await;
    app.mock_simple("KO", "Coca-Cola Company", 59.1).await;
    log_in(&client, &app).await;

    // Watch from a quote card: back on the card, which now says so.
    client
        .goto(&app.url("/?symbol=msft"))
        .await
        .expect("lookup");
    click_to_navigate(&client, "#watch-button").await;
    assert_eq!(text(&client, "#flash").await, "Now watching MSFT.");
    assert!(text(&client, "#watching").await.contains("watchlist"));
    assert_eq!(
        text(&client, "tr[data-watch-symbol=MSFT] td.price").await,
        "415.50 USD"
    );

    // Watch through the form, choosing a kind.
    fill(&client, "#watch-symbol", "ko").await;
    element(&client, "#watch-kind")
        .await
        .select_by_value("stock")
        .await
        .expect("kind");
    click_to_navigate(&client, "#watch-add-button").await;
    assert_eq!(text(&client, "#flash").await, "Now watching KO.");
    assert_eq!(text(&client, "#watch-count").await, "2 of 50");
    assert_eq!(
        text(&client, "tr[data-watch-symbol=KO] td.name").await,
        "Coca-Cola Company"
    );

    // Its link opens the asset page.
    click_to_navigate(&client, "tr[data-watch-symbol=KO] td:first-child a").await;
    assert!(text(&client, "h1").await.starts_with("KO"));
    assert!(
        element(&client, "#watching")
            .await
            .is_displayed()
            .await
            .unwrap()
    );

    // Remove one.
    client.goto(&app.url("/")).await.expect("home");
    click_to_navigate(&client, "tr[data-watch-symbol=MSFT] button").await;
    assert_eq!(text(&client, "#flash").await, "Stopped watching MSFT.");
    assert!(
        client
            .find(Locator::Css("tr[data-watch-symbol=MSFT]"))
            .await
            .is_err()
    );
    assert_eq!(text(&client, "#watch-count").await, "1 of 50");
    client.close().await.expect("close browser");
}

/// Waits until a page's text contains `what` (a page that refreshes itself, say).
async fn wait_for_text(client: &Client, css: &str, what: &str) -> String {
    for _ in 0..100 {
        if let Ok(found) = client.find(Locator::Css(css)).await
            && let Ok(text) = found.text().await
            && text.contains(what)
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never said {what:?}");
}

#[tokio::test]
async fn transactions_gains_dark_mode_and_an_import_in_a_real_browser() {
    let app = spawn_app().await;
    let Some((_driver, client)) = start_browser(GAINS_TEST, &[]).await else {
        return;
    };
    let mut aapl = iex_quote("AAPL", "Apple Inc.", 130.0);
    aapl["previousClose"] = json!(125.0);
    app.mock_quote("AAPL", aapl).await;
    app.mock_simple("MSFT", "Microsoft Corporation", 400.0)
        .await;
    log_in(&client, &app).await;

    // A holding from the simple form: 10 at 100 (its opening buy).
    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    disclose(&client, "#add-holding").await;
    fill(&client, "#add-form #symbol", "AAPL").await;
    fill(&client, "#add-form #quantity", "10").await;
    fill(&client, "#add-form #cost_basis", "100").await;
    click_to_navigate(&client, "#add-button").await;

    // Its transactions: sell 4 at 150 with a 2 fee, and a dividend.
    row_action(&client, "AAPL", "transactions").await;
    assert_eq!(text(&client, "#summary-quantity").await, "10");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    element(&client, "#tx-form #type")
        .await
        .select_by_value("sell")
        .await
        .expect("type");
    client
        .execute(
            "document.querySelector('#tx-form #date').value = arguments[0]",
            vec![json!(today)],
        )
        .await
        .expect("date");
    fill(&client, "#tx-form #quantity", "4").await;
    fill(&client, "#tx-form #price", "150").await;
    fill(&client, "#tx-form #fees", "2").await;
    click_to_navigate(&client, "#tx-add-button").await;
    assert_eq!(text(&client, "#flash").await, "Transaction added.");
    assert_eq!(text(&client, "#summary-quantity").await, "6");
    // 4 × 150 − 2 − 4 × 100
    assert_eq!(text(&client, "#summary-realized").await, "+198.00");

    // Selling more than is left is refused on the page, with the reason.
    element(&client, "#tx-form #type")
        .await
        .select_by_value("sell")
        .await
        .expect("type");
    fill(&client, "#tx-form #quantity", "7").await;
    fill(&client, "#tx-form #price", "1").await;
    click(&client, "#tx-add-button").await;
    assert!(
        wait_for_text(&client, "#refused", "only 6 are held")
            .await
            .contains("sell of AAPL")
    );

    // The portfolio shows the gains: 6 × 130 = 780 against a cost of 600. The summary says
    // how the day and the whole went: +30 today on yesterday's 750 (6 × 125); 180 unrealized
    // + 198 realized.
    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    assert_eq!(text(&client, "#summary-value").await, "780.00 USD");
    assert_eq!(text(&client, "#summary-day").await, "+30.00 USD");
    assert_eq!(text(&client, "#summary-day-percent").await, "+4.00%");
    assert_eq!(text(&client, "#summary-gain").await, "+378.00 USD");
    assert!(
        client.find(Locator::Css("td.cost")).await.is_err(),
        "cost is not among the default columns"
    );
    // Cost, realized and day change through the column chooser, kept for the account.
    disclose(&client, "#columns-chooser").await;
    for column in ["cost", "realized", "day_change"] {
        click(&client, &format!("#col-{column}")).await;
    }
    click_to_navigate(&client, "#columns-save").await;
    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    assert_eq!(
        text(&client, "tr[data-symbol=AAPL] td.value").await,
        "780.00"
    );
    assert_eq!(
        text(&client, "tr[data-symbol=AAPL] td.cost").await,
        "600.00"
    );
    assert_eq!(
        text(&client, "tr[data-symbol=AAPL] td.gain").await,
        "+180.00"
    );
    assert_eq!(
        text(&client, "tr[data-symbol=AAPL] td.gain-percent").await,
        "+30.00%"
    );
    assert_eq!(
        text(&client, "tr[data-symbol=AAPL] td.realized").await,
        "+198.00"
    );
    assert_eq!(
        text(&client, "tr[data-symbol=AAPL] td.day-change").await,
        "+30.00"
    );
    assert_eq!(text(&client, ".total-value").await, "780.00 USD");

    // Dark mode, chosen from the navbar, stays on the next page.
    choose_theme(&client, "dark").await;
    assert_eq!(theme(&client).await, "dark");

    // Import a small CSV through the page: upload, check, import.
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("broker.csv");
    std::fs::write(
        &file,
        "Trade Date,Action,Ticker,Shares,Unit Price,Commission\n\
         2024-02-01,buy,MSFT,3,350,1\n\
         2024-03-01,sell,MSFT,1,380,1\n",
    )
    .expect("write");
    client.goto(&app.url("/import")).await.expect("import");
    assert_eq!(theme(&client).await, "dark");
    element(&client, "#file")
        .await
        .send_keys(file.to_str().expect("path"))
        .await
        .expect("choose the file");
    click_to_navigate(&client, "#upload-button").await;
    click_to_navigate(&client, "#check-button").await;
    assert!(
        text(&client, "#check-ok")
            .await
            .contains("All 2 rows can be imported")
    );
    click_to_navigate(&client, "#commit-button").await;
    wait_for_text(&client, "#import-done", "Imported 2 transactions.").await;
    click_to_navigate(&client, "#import-done a").await;
    assert_eq!(rows(&client).await, ["AAPL", "MSFT"]);
    assert_eq!(
        text(&client, "tr[data-symbol=MSFT] td.value").await,
        "800.00"
    );
    // 380 − 1 − 350.333… (the average of 3 at 350 plus a 1 fee)
    assert_eq!(
        text(&client, "tr[data-symbol=MSFT] td.realized").await,
        "+28.67"
    );
    // Both allocation charts take the new holding in: 780 and 800 of 1,580.
    let slices = client
        .find_all(Locator::Css("#allocation-holding path.slice"))
        .await
        .expect("slices");
    assert_eq!(slices.len(), 2, "AAPL and MSFT");
    let legend = text(&client, "#allocation-holding .chart-legend").await;
    assert!(
        legend.contains("49.4%") && legend.contains("50.6%"),
        "{legend}"
    );
    assert!(
        element(&client, "#allocation-kind svg.doughnut")
            .await
            .is_displayed()
            .await
            .unwrap_or(false)
    );
    let dir_out = std::path::Path::new("test-artifacts");
    std::fs::create_dir_all(dir_out).expect("artifacts dir");
    std::fs::write(
        dir_out.join("portfolio-gains-dark.png"),
        client.screenshot().await.expect("screenshot"),
    )
    .expect("save");
    client.close().await.expect("close browser");
}

const PRICES_TEST: &str = "browser::stale_loading_and_minor_unit_prices_in_a_real_browser";

/// True when the page is wider than the window (it scrolls sideways).
async fn scrolls_sideways(client: &Client) -> bool {
    client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await
        .expect("measure")
        .as_bool()
        .unwrap_or(true)
}

/// Whether an element lies inside the first screen (no scrolling either way).
async fn in_first_screen(client: &Client, css: &str) -> bool {
    element(client, css).await;
    client
        .execute(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect(); \
             return r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight \
                 && r.left >= 0 && r.right <= window.innerWidth",
            vec![json!(css)],
        )
        .await
        .expect("measure")
        .as_bool()
        .unwrap_or(false)
}

/// The symbols of table rows whose market value or menu is beyond the table's visible box.
const CUT_OFF_ROWS: &str = "const box = document.querySelector('.table-wrap').getBoundingClientRect(); \
    return [...document.querySelectorAll('#portfolio tbody tr')].filter(tr => \
        ['td.value', '.row-menu'].some(css => { const r = tr.querySelector(css).getBoundingClientRect(); \
            return r.width === 0 || r.right > box.right + 0.5; })) \
        .map(tr => tr.dataset.symbol).join(' ')";

/// Visible controls in the page's main part less than 44 px tall, described.
const SMALL_TAP_TARGETS: &str = "return [...document.querySelectorAll( \
        'main button, main summary, main select, main input:not([type=hidden]), main a.btn, \
         #holding-cards a, .navbar-toggler')] \
    .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height < 44; }) \
    .map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().height)}px`) \
    .join('; ')";

#[tokio::test]
async fn stale_loading_and_minor_unit_prices_in_a_real_browser() {
    use stock_ticker::domain::{AssetKind, Quote, Symbol};
    let app = crate::helpers::spawn_app_with(TestDb::sqlite().await, |c| {
        for chain in [
            &mut c.quote_providers_stock,
            &mut c.quote_providers_etf,
            &mut c.quote_providers_commodity,
            &mut c.quote_providers_crypto,
        ] {
            *chain = "yahoo".parse().expect("providers");
        }
        // The hanging service is still being waited for on the last view (then "no price").
        c.quote_timeout_secs = 120;
    })
    .await;
    let Some((_driver, client)) = start_browser(PRICES_TEST, &[]).await else {
        return;
    };
    // Ten holdings of every kind: real Yahoo answers for London (in pence), Frankfurt (in
    // euros), Apple, Bitcoin and gold; three whose last price is ten minutes old while Yahoo
    // hangs; one Yahoo has never priced; an item with its own price.
    for (code, fixture) in [
        ("AAPL", "chart-aapl-us-equity-daily.json"),
        ("OCDO.L", "chart-ocdo-l-gbp-pence.json"),
        ("WSU.DE", "chart-wsu-de-eur-with-null-row.json"),
        ("BTC-USD", "chart-btc-usd-crypto.json"),
        ("GC=F", "chart-gc-f-gold-future-usd.json"),
        ("EURUSD=X", "chart-eurusd-x-fx.json"),
        ("GBPUSD=X", "chart-eurusd-x-fx.json"),
    ] {
        app.mock_yahoo(code, yahoo_fixture(fixture)).await;
    }
    for code in ["MSFT", "KO", "SPY", "NVDA"] {
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .and(wiremock::matchers::path(format!(
                "/v8/finance/chart/{code}"
            )))
            .respond_with(
                wiremock::ResponseTemplate::new(200)
                    .set_body_json(yahoo_chart(code, code, 1.0, 1.0))
                    .set_delay(Duration::from_secs(300)),
            )
            .mount(&app.iex)
            .await;
    }
    let ten_minutes_ago = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
    for (symbol, kind, price, name) in [
        ("MSFT", AssetKind::Stock, "415.26", "Microsoft Corporation"),
        ("KO", AssetKind::Stock, "59.10", "The Coca-Cola Company"),
        ("SPY", AssetKind::Etf, "566.10", "SPDR S&P 500 ETF Trust"),
    ] {
        let quote = Quote {
            currency: Some("USD".into()),
            name: Some(name.into()),
            ..Quote::new(
                Symbol::parse(symbol).unwrap(),
                price.parse().unwrap(),
                "yahoo",
            )
        };
        app.store
            .save_quote(kind, &quote, ten_minutes_ago)
            .await
            .unwrap();
    }
    for (symbols, kind) in [
        (
            &["AAPL", "OCDO.L", "WSU.DE", "MSFT", "KO", "NVDA"][..],
            AssetKind::Stock,
        ),
        (&["SPY"][..], AssetKind::Etf),
        (&["BTC-USD"][..], AssetKind::Crypto),
        (&["GC=F"][..], AssetKind::Commodity),
    ] {
        app.seed_holdings(symbols, kind).await;
    }
    app.add_holding("WATCH", "item", "1").await;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    app.post_json(
        "/api/v1/assets/WATCH/prices",
        &json!({"date": today, "price": "9500"}),
    )
    .await;

    log_in(&client, &app).await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    for (width, height) in [(1280, 800), (390, 844)] {
        client.set_window_size(width, height).await.expect("resize");
        for mode in ["light", "dark"] {
            let started = std::time::Instant::now();
            client
                .goto(&app.url("/portfolio"))
                .await
                .expect("portfolio");
            element(&client, "footer").await;
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "the page did not wait for the hanging service: {:?}",
                started.elapsed()
            );
            if theme(&client).await != mode {
                // As the navbar's theme menu stores it (the menu is folded away on a phone).
                client
                    .execute(
                        "localStorage.setItem('stock-ticker-theme', arguments[0])",
                        vec![json!(mode)],
                    )
                    .await
                    .expect("choose the theme");
                reload(&client).await;
            }
            assert_eq!(theme(&client).await, mode);
            assert_eq!(rows(&client).await.len(), 10);
            assert!(
                !scrolls_sideways(&client).await,
                "/portfolio at {width} px scrolls sideways"
            );
            for css in ["#summary-value", "#summary-day"] {
                assert!(
                    in_first_screen(&client, css).await,
                    "{css} is in the first screen at {width} px"
                );
            }
            let (stale_badges, cards) = if width >= 576 {
                ("td.price .stale", false)
            } else {
                ("[data-card] .stale", true)
            };
            let stale = client
                .find_all(Locator::Css(stale_badges))
                .await
                .expect("stale badges");
            assert_eq!(
                stale.len(),
                3,
                "MSFT, KO and SPY show their last price, stale"
            );
            assert_eq!(text(&client, "#summary-stale").await, "3 stale");
            if cards {
                // A card per holding, each with its value and menu, and no tap target under
                // 44 px.
                let shown = client
                    .find_all(Locator::Css("[data-card] .card-value"))
                    .await
                    .expect("cards");
                assert_eq!(shown.len(), 10);
                assert!(shown[0].is_displayed().await.expect("shown"));
                assert!(
                    element(&client, "#sort-menu")
                        .await
                        .is_displayed()
                        .await
                        .expect("sort")
                );
                let small = script_text(&client, SMALL_TAP_TARGETS).await;
                assert_eq!(small, "", "tap targets under 44 px at {width} px");
            } else {
                assert!(
                    stale[0].text().await.unwrap().contains("10 min ago"),
                    "with its age"
                );
                let loading = text(&client, "tr[data-symbol=NVDA] td.price").await;
                assert_eq!(loading, "loading — refresh", "NVDA has no price yet");
                let london = text(&client, "tr[data-symbol='OCDO.L'] td.price").await;
                assert_eq!(london, "3.37 GBP", "pence read as pounds");
                let cut = script_text(&client, CUT_OFF_ROWS).await;
                assert_eq!(cut, "", "rows whose value or menu is off to the right");
            }
            std::fs::write(
                dir.join(format!("prices-portfolio-{width}-{mode}.png")),
                client.screenshot().await.expect("screenshot"),
            )
            .expect("save screenshot");
            // And further down: the rest of the rows (or cards) and the totals.
            client
                .execute(
                    "window.scrollBy({top: window.innerHeight * 0.8, behavior: 'instant'})",
                    vec![],
                )
                .await
                .expect("scroll");
            std::fs::write(
                dir.join(format!("prices-portfolio-{width}-{mode}-more.png")),
                client.screenshot().await.expect("screenshot"),
            )
            .expect("save screenshot");

            for (name, path) in [
                ("london", "/assets/OCDO.L?kind=stock"),
                ("bitcoin", "/assets/BTC-USD?kind=crypto"),
            ] {
                client.goto(&app.url(path)).await.expect(path);
                element(&client, "footer").await;
                assert!(
                    !scrolls_sideways(&client).await,
                    "{path} at {width} px scrolls sideways"
                );
                let card = text(&client, "#quote-card").await;
                if name == "london" {
                    assert!(card.contains("Ocado Group plc"), "{card}");
                    assert!(card.contains("As quoted"), "{card}");
                    assert!(card.contains("As quoted\n336.57 GBp"), "{card}");
                    assert!(card.contains("52-week high\n3.42"), "{card}");
                } else {
                    assert!(card.contains("58,754.79"), "{card}");
                }
                std::fs::write(
                    dir.join(format!("prices-{name}-{width}-{mode}.png")),
                    client.screenshot().await.expect("screenshot"),
                )
                .expect("save screenshot");
            }
        }
    }
    client.close().await.expect("close browser");
}

/// Visible elements reaching past the window's right edge outside any box that scrolls
/// sideways (clipped, not scrollable), described.
const CUT_OFF: &str = "const w = document.documentElement.clientWidth; \
    return [...document.querySelectorAll('body *')].filter(e => { \
        const r = e.getBoundingClientRect(); \
        if (!e.checkVisibility() || r.width === 0 || r.right <= w + 1) return false; \
        for (let a = e.parentElement; a; a = a.parentElement) { \
            const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll') return false; } \
        return true; }) \
    .slice(0, 5).map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className} right ${Math.round(e.getBoundingClientRect().right)}`) \
    .join('; ')";

/// Seeds something for every kind of page: stocks and an ETF (one with a long name), items
/// with prices, a watchlist with a gain and a loss, a stock's stored history. The AAPL
/// holding's id comes back.
async fn seed_every_page(app: &TestApp) -> i64 {
    for (symbol, name, price, previous) in [
        ("AAPL", "Apple Inc.", 189.84, 191.56),
        ("KO", "Coca-Cola Company", 59.1, 58.0),
        ("MSFT", "Microsoft Corporation", 415.5, 410.0),
        (
            "BRK.B",
            "Berkshire Hathaway Inc. Class B Common Stock",
            452.2,
            450.0,
        ),
        ("SPY", "SPDR S&P 500 ETF Trust", 566.1, 560.0),
        // Quoted but not held: its card offers the quick add.
        ("NVDA", "NVIDIA Corporation", 181.3, 179.9),
    ] {
        let mut q = iex_quote(symbol, name, price);
        q["previousClose"] = json!(previous);
        q["change"] = json!(((price - previous) * 100.0).round() / 100.0);
        app.mock_quote(symbol, q).await;
    }
    // A holding in euros on days of Yahoo's real EUR/USD history: the summary splits its gain
    // into the price's and the euro's part, and a dividend on a day without a rate is named.
    app.mock_euro_stock().await;
    app.record_all(&[
        json!({"symbol": "SAP", "type": "buy", "date": "2020-01-02", "quantity": "10", "price": "100", "currency": "EUR"}),
        json!({"symbol": "SAP", "type": "dividend", "date": "2020-01-20", "amount": "20"}),
    ])
    .await;
    // Its closes over the chart's range, rising from 100 to 120 EUR.
    let today = time::OffsetDateTime::now_utc().date();
    let closes: Vec<stock_ticker::domain::PricePoint> = (1..=200)
        .map(|n| stock_ticker::domain::PricePoint {
            date: today - time::Duration::days(n),
            close: rust_decimal::Decimal::new(12000 - 10 * n, 2),
        })
        .collect();
    let sap_key = stock_ticker::domain::AssetKey {
        symbol: stock_ticker::domain::Symbol::parse("SAP").expect("symbol"),
        kind: stock_ticker::domain::AssetKind::Stock,
        owner: crate::helpers::first_owner(),
    };
    app.store
        .save_prices(&sap_key, &closes, "test")
        .await
        .expect("save closes");
    let holding = app.add_holding("AAPL", "stock", "3").await;
    for (symbol, kind, quantity) in [
        ("KO", "stock", "10"),
        ("MSFT", "stock", "2.5"),
        ("BRK.B", "stock", "4"),
        ("SPY", "etf", "12"),
        ("WATCH", "item", "1"),
        ("PAINTING", "item", "1"),
    ] {
        app.add_holding(symbol, kind, quantity).await;
    }
    for (days, price) in [(40, "9500"), (10, "10250")] {
        let date = (today - time::Duration::days(days)).to_string();
        app.post_json(
            "/api/v1/assets/WATCH/prices",
            &json!({"date": date, "price": price}),
        )
        .await;
    }
    app.watch("KO", "stock").await;
    app.watch("AAPL", "stock").await;
    seed_history(app, "KO", 40).await;
    seed_history(app, "AAPL", 40).await;
    // A second account, holding some of the KO.
    let broker: serde_json::Value = app
        .post_json("/api/v1/accounts", &json!({"name": "Broker"}))
        .await
        .json()
        .await
        .expect("account");
    let r = app
        .post_json(
            "/api/v1/transactions",
            &json!({"symbol": "KO", "account_id": broker["id"], "type": "buy", "date": "2025-06-02", "quantity": "3", "price": "61.5", "notes": "at the broker"}),
        )
        .await;
    assert_eq!(r.status(), 201, "a buy in the second account");
    // Cash in the second account, interest on it, and a dividend: the cash and income pages.
    let recent = (today - time::Duration::days(20)).to_string();
    for (path, body) in [
        (
            "/api/v1/cash",
            json!({"type": "deposit", "date": "2025-06-01", "amount": "1000", "currency": "USD", "account_id": broker["id"], "notes": "first transfer from the bank"}),
        ),
        (
            "/api/v1/cash",
            json!({"type": "interest", "date": recent, "amount": "2.10", "currency": "USD", "account_id": broker["id"]}),
        ),
        (
            "/api/v1/transactions",
            json!({"symbol": "KO", "type": "dividend", "date": recent, "amount": "5.10"}),
        ),
    ] {
        let r = app.post_json(path, &body).await;
        assert_eq!(r.status(), 201, "{body}");
    }
    holding
}

/// Every page a signed-in person sees (with `holding`'s pages and its opening buy's),
/// named for its screenshots.
async fn every_page(app: &TestApp, holding: i64) -> Vec<(&'static str, String)> {
    let list: serde_json::Value = app
        .get(&format!("/api/v1/transactions?holding_id={holding}"))
        .await
        .json()
        .await
        .expect("transactions");
    let buy = list["items"][0]["id"].as_i64().expect("the opening buy");
    vec![
        ("home", "/?symbol=aapl".to_string()),
        ("quick-add", "/?symbol=nvda".into()),
        ("portfolio", "/portfolio".into()),
        ("holding", format!("/portfolio/{holding}")),
        ("activity", "/activity".into()),
        ("accounts", "/accounts".into()),
        ("cash", "/cash".into()),
        ("income", "/income".into()),
        ("asset-item", "/assets/WATCH?kind=item".into()),
        ("asset-stock", "/assets/KO?kind=stock".into()),
        ("edit", format!("/portfolio/{holding}/edit")),
        ("delete", format!("/portfolio/{holding}/delete")),
        ("tx-edit", format!("/transactions/{buy}/edit")),
        ("tx-delete", format!("/transactions/{buy}/delete")),
        ("import", "/import".into()),
        ("status", "/status".into()),
        ("account", "/account".into()),
        ("about", "/about".into()),
        ("api-docs", "/api/v1/docs".into()),
        ("not-found", "/no/such/page".into()),
    ]
}

/// axe-core, the accessibility checker, from npm (`axe-core@4.11.0`, MPL-2.0, licence beside it).
const AXE: &str = include_str!("../vendor/axe-core-4.11.0/axe.min.js");

/// axe-core's violations on the page shown: `rule (impact): first nodes`, one per rule.
async fn axe_violations(client: &Client) -> Vec<String> {
    client
        .execute(&format!("{AXE}\n;return true"), vec![])
        .await
        .expect("load axe-core");
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => \
                 `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)));",
            vec![],
        )
        .await
        .expect("run axe-core");
    serde_json::from_value(found).expect("a list of violations")
}

#[tokio::test]
async fn every_page_is_axe_clean_and_fits_light_and_dark_on_a_laptop_and_a_phone() {
    let app = spawn_app().await;
    let Some((_driver, client)) = start_browser(AXE_TEST, &[]).await else {
        return;
    };
    let holding = seed_every_page(&app).await;
    app.post_form(
        "/portfolio/columns",
        &[
            ("quantity", "on"),
            ("price", "on"),
            ("value", "on"),
            ("notes", "on"),
        ],
    )
    .await;

    log_in(&client, &app).await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    let pages = every_page(&app, holding).await;
    for (width, height) in [(1280, 800), (390, 844)] {
        client.set_window_size(width, height).await.expect("resize");
        for mode in ["light", "dark"] {
            client
                .execute(
                    "localStorage.setItem('stock-ticker-theme', arguments[0])",
                    vec![json!(mode)],
                )
                .await
                .expect("choose the theme");
            for (name, path) in &pages {
                client.goto(&app.url(path)).await.expect(path);
                element(&client, "footer").await;
                assert_eq!(theme(&client).await, mode, "{path}");
                assert_eq!(
                    axe_violations(&client).await,
                    Vec::<String>::new(),
                    "{path} at {width} px, {mode}"
                );
                assert!(
                    !scrolls_sideways(&client).await,
                    "{path} at {width} px, {mode} scrolls sideways"
                );
                assert_eq!(
                    script_text(&client, CUT_OFF).await,
                    "",
                    "{path} at {width} px, {mode}: cut off at the right"
                );
                std::fs::write(
                    dir.join(format!("pages-{name}-{width}-{mode}.png")),
                    client.screenshot().await.expect("screenshot"),
                )
                .expect("save screenshot");
            }
        }
    }
    client.close().await.expect("close browser");
}

/// Sets a date field, which typing cannot fill the same way in every locale.
async fn set_date(client: &Client, css: &str, day: time::Date) {
    client
        .execute(
            "document.querySelector(arguments[0]).value = arguments[1]",
            vec![json!(css), json!(day.to_string())],
        )
        .await
        .expect("date");
}

/// Records a cash transaction through the Cash page's form.
async fn record_cash(
    client: &Client,
    app: &TestApp,
    kind: &str,
    day: time::Date,
    amount: &str,
    account: &str,
) {
    client.goto(&app.url("/cash")).await.expect("cash page");
    element(client, "#cash-type")
        .await
        .select_by_value(kind)
        .await
        .expect("type");
    set_date(client, "#cash-date", day).await;
    fill(client, "#cash-amount", amount).await;
    fill(client, "#cash-currency", "USD").await;
    element(client, "#cash-account")
        .await
        .select_by_label(account)
        .await
        .expect("account");
    click_to_navigate(client, "#record-cash-button").await;
    element(client, "#flash").await;
}

/// A deposit, a buy, a dividend and a withdrawal in one account and a deposit in another, all
/// through the pages; then the summary, the returns and the income chart read at desktop and
/// phone widths. Hand-worked: 2,000 in on day −200 and 1,000 of it buying 10 AAPL at 100 (its
/// close until yesterday); 500 into Bank on day −100; a dividend of 20 on day −50; 300 out on
/// day −10; AAPL at 120 today. Value 10 × 120 + (2,000 − 1,000 + 20 − 300) + 500 = 2,420.
/// Time-weighted: 2,520 / 2,500 (the dividend) × 2,420 / 2,220 (today's rise) − 1 = +9.88 %.
#[tokio::test]
async fn cash_returns_and_income_in_a_real_browser() {
    use stock_ticker::domain::{AssetKey, AssetKind, PricePoint, Symbol};
    let app = spawn_app().await;
    let Some((_driver, client)) = start_browser(CASH_TEST, &[]).await else {
        return;
    };
    app.mock_quote("AAPL", iex_quote("AAPL", "Apple Inc.", 120.0))
        .await;
    let today = time::OffsetDateTime::now_utc().date();
    let ago = |n: i64| today - time::Duration::days(n);
    let closes: Vec<PricePoint> = (1..=200)
        .map(|n| PricePoint {
            date: ago(n),
            close: 100.into(),
        })
        .collect();
    let key = AssetKey {
        symbol: Symbol::parse("AAPL").expect("symbol"),
        kind: AssetKind::Stock,
        owner: crate::helpers::first_owner(),
    };
    app.store
        .save_prices(&key, &closes, "test")
        .await
        .expect("closes");

    log_in(&client, &app).await;
    client.goto(&app.url("/accounts")).await.expect("accounts");
    fill(&client, "#new-name", "Bank").await;
    click_to_navigate(&client, "#add-account-button").await;
    record_cash(&client, &app, "deposit", ago(200), "2000", "Default").await;
    record_cash(&client, &app, "deposit", ago(100), "500", "Bank").await;

    client
        .goto(&app.url("/portfolio"))
        .await
        .expect("portfolio");
    disclose(&client, "#add-holding").await;
    fill(&client, "#add-form #symbol", "AAPL").await;
    fill(&client, "#add-form #quantity", "10").await;
    fill(&client, "#add-form #cost_basis", "100").await;
    set_date(&client, "#add-form #date", ago(200)).await;
    click_to_navigate(&client, "#add-button").await;
    assert_eq!(
        text(&client, "#flash").await,
        "Added AAPL to the portfolio."
    );

    row_action(&client, "AAPL", "transactions").await;
    element(&client, "#tx-form #type")
        .await
        .select_by_value("dividend")
        .await
        .expect("type");
    set_date(&client, "#tx-form #date", ago(50)).await;
    fill(&client, "#tx-form #amount", "20").await;
    click_to_navigate(&client, "#tx-add-button").await;
    assert_eq!(text(&client, "#flash").await, "Transaction added.");
    record_cash(&client, &app, "withdrawal", ago(10), "300", "Default").await;

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    for (width, height) in [(1280, 800), (390, 844)] {
        client.set_window_size(width, height).await.expect("resize");
        client
            .goto(&app.url("/portfolio"))
            .await
            .expect("portfolio");
        assert_eq!(text(&client, "#summary-value").await, "2,420.00 USD");
        assert!(
            in_first_screen(&client, "#summary-value").await,
            "the value is in the first screen at {width} px"
        );
        assert_eq!(
            text(&client, "#summary-cash-balance").await,
            "1,220.00 USD",
            "720 in Default and 500 in Bank"
        );
        let all = text(&client, "#returns tr[data-range='All'] .twr").await;
        assert_eq!(all, "+9.88%", "at {width} px");
        assert!(!scrolls_sideways(&client).await, "/portfolio at {width} px");
        client
            .execute(
                "document.getElementById('returns-card').scrollIntoView({behavior: 'instant'})",
                vec![],
            )
            .await
            .expect("scroll");
        std::fs::write(
            dir.join(format!("cash-returns-{width}.png")),
            client.screenshot().await.expect("screenshot"),
        )
        .expect("save");

        client.goto(&app.url("/income")).await.expect("income");
        assert_eq!(text(&client, "#income-trailing").await, "20.00 USD");
        let bars = element(&client, "#income-chart")
            .await
            .attr("data-bars")
            .await
            .expect("bars");
        assert_eq!(bars.as_deref(), Some("12"));
        assert!(!scrolls_sideways(&client).await, "/income at {width} px");
        std::fs::write(
            dir.join(format!("cash-income-{width}.png")),
            client.screenshot().await.expect("screenshot"),
        )
        .expect("save");
    }
    client.close().await.expect("close browser");
}
