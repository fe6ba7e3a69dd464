//! What goes over the wire: pages, API answers and static files compressed as the client asks
//! (brotli, gzip or not at all), and rendered pages kept only while nothing on them changed and
//! only for the session they were drawn for.

use std::io::Read;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};
use stock_ticker::domain::{AssetKind, Quote, Symbol};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{TestApp, TestDb, iex_quote, row_symbols, spawn_app_with};

on_sqlite_and_postgres!(
    "wire":
    pages_api_answers_and_files_are_compressed_as_the_client_asks,
    a_kept_page_follows_every_change_and_stays_with_its_session,
);

const SYMBOLS: [&str; 10] = [
    "AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH", "III", "JJJ",
];

/// A stored quote of `price` for every symbol, fetched just now.
async fn prices_stored(app: &TestApp, price: Decimal) {
    for s in SYMBOLS {
        let quote = Quote {
            currency: Some("USD".into()),
            name: Some(format!("{s} Corp")),
            ..Quote::new(Symbol::parse(s).unwrap(), price, "iex")
        };
        app.store
            .save_quote(AssetKind::Stock, &quote, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
    }
}

/// The service answers every batch, and every symbol asked alone, with `price`.
async fn service_prices(app: &TestApp, price: f64) {
    let mut batch = serde_json::Map::new();
    for s in SYMBOLS {
        batch.insert(s.into(), json!({"quote": iex_quote(s, s, price)}));
    }
    app.iex.reset().await;
    Mock::given(method("GET"))
        .and(path("/stable/stock/market/batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Object(batch)))
        .mount(&app.iex)
        .await;
    // A symbol asked alone (adding a holding once its stored price is past the TTL).
    for s in SYMBOLS {
        app.mock_simple(s, s, price).await;
    }
}

/// GETs `url` accepting `encoding` (no header when `None`): the `Content-Encoding` answered,
/// the bytes as sent, and the body decoded.
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    encoding: Option<&str>,
) -> (Option<String>, usize, Vec<u8>) {
    let mut request = client.get(url);
    if let Some(encoding) = encoding {
        request = request.header("Accept-Encoding", encoding);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{url} with {encoding:?}");
    let coding = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_string());
    let sent = response.bytes().await.unwrap();
    let mut decoded = Vec::new();
    match coding.as_deref() {
        Some("br") => {
            brotli::Decompressor::new(&sent[..], 4096)
                .read_to_end(&mut decoded)
                .expect("valid brotli");
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(&sent[..])
                .read_to_end(&mut decoded)
                .expect("valid gzip");
        }
        None => decoded = sent.to_vec(),
        Some(other) => panic!("{url}: unexpected Content-Encoding {other}"),
    }
    (coding, sent.len(), decoded)
}

async fn pages_api_answers_and_files_are_compressed_as_the_client_asks(db: TestDb) {
    let app = spawn_app_with(db, |_| {}).await;
    prices_stored(&app, Decimal::TEN).await;
    app.seed_holdings(&SYMBOLS, AssetKind::Stock).await;
    let page = app.url("/portfolio");

    let (coding, plain_size, plain) = fetch(&app.client, &page, None).await;
    assert_eq!(coding, None, "no Accept-Encoding, nothing compressed");
    let plain = String::from_utf8(plain).unwrap();
    assert_eq!(row_symbols(&plain), SYMBOLS, "the page itself");
    for (accepts, expected) in [
        ("gzip, deflate, br, zstd", Some("br")),
        ("br", Some("br")),
        ("gzip, deflate", Some("gzip")),
        ("br;q=0, gzip", Some("gzip")),
        ("identity", None),
        ("deflate", None),
    ] {
        let (coding, size, body) = fetch(&app.client, &page, Some(accepts)).await;
        assert_eq!(coding.as_deref(), expected, "page accepting {accepts}");
        let body = String::from_utf8(body).unwrap();
        assert_eq!(row_symbols(&body), SYMBOLS, "accepting {accepts}");
        assert_eq!(
            prices(&body),
            prices(&plain),
            "accepting {accepts}: the same prices"
        );
        if expected.is_some() {
            assert!(
                size * 5 < plain_size,
                "accepting {accepts}: {size} bytes sent for a {plain_size}-byte page"
            );
        }
    }

    // API answers are compressed on the way out.
    let api = app.url("/api/v1/holdings");
    let (coding, _, plain) = fetch(&app.client, &api, None).await;
    assert_eq!(coding, None);
    let plain: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(plain["items"].as_array().map(Vec::len), Some(10));
    for (accepts, expected) in [("br", "br"), ("gzip", "gzip")] {
        let (coding, size, body) = fetch(&app.client, &api, Some(accepts)).await;
        assert_eq!(coding.as_deref(), Some(expected), "API accepting {accepts}");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body, plain, "the same holdings, decoded from {accepts}");
        assert!(size < plain.to_string().len() / 2, "{size} bytes");
    }

    // Static files are compressed once, at their best, and never twice.
    let css = plain_css_link(&plain_page(&app).await);
    let files = app.url(&css);
    let (coding, plain_size, plain) = fetch(&app.client, &files, None).await;
    assert_eq!(coding, None);
    assert!(plain_size > 100_000, "Bootstrap's stylesheet: {plain_size}");
    for (accepts, expected) in [("gzip, br", "br"), ("gzip", "gzip")] {
        let response = app
            .client
            .get(&files)
            .header("Accept-Encoding", accepts)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.headers()["vary"], "accept-encoding");
        let (coding, size, body) = fetch(&app.client, &files, Some(accepts)).await;
        assert_eq!(
            coding.as_deref(),
            Some(expected),
            "file accepting {accepts}"
        );
        assert_eq!(body, plain, "the stylesheet, decoded from {expected}");
        assert!(size * 4 < plain_size, "{expected}: {size} of {plain_size}");
    }
}

async fn plain_page(app: &TestApp) -> String {
    app.get("/portfolio").await.text().await.unwrap()
}

/// The first version-stamped stylesheet a page links.
fn plain_css_link(html: &str) -> String {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with("/static/") && href.ends_with(".css"))
        .expect("a stylesheet link")
        .to_string()
}

/// Views the portfolio until `done` holds of it, for up to `within`.
async fn view_until(app: &TestApp, within: Duration, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let html = plain_page(app).await;
        if done(&html) || started.elapsed() > within {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_kept_page_follows_every_change_and_stays_with_its_session(db: TestDb) {
    let app = spawn_app_with(db, |c| c.quote_ttl_secs = 3).await;
    service_prices(&app, 12.0).await;
    prices_stored(&app, Decimal::TEN).await;
    app.seed_holdings(&SYMBOLS[..5], AssetKind::Stock).await;

    let first = plain_page(&app).await;
    assert_eq!(row_symbols(&first), SYMBOLS[..5]);
    assert!(
        first.contains(&app.csrf),
        "the page carries its session's form token"
    );
    assert_eq!(
        plain_page(&app).await,
        first,
        "a second view, nothing changed"
    );

    // Another account never gets alice's page, nor her form token.
    let bob = app.bob().await;
    let bobs = bob
        .client
        .get(app.url("/portfolio"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row_symbols(&bobs).is_empty(), "bob holds nothing");
    assert!(bobs.contains("bob") && !bobs.contains(&app.csrf));
    assert!(bobs.contains(&bob.csrf));

    // Holdings added through the API show on the very next view.
    for s in &SYMBOLS[5..] {
        app.add_holding(s, "stock", "1").await;
    }
    let added = plain_page(&app).await;
    assert_eq!(row_symbols(&added), SYMBOLS, "all ten, at once");
    assert!(
        prices(&added).iter().all(|p| p == "10.00" || p == "12.00"),
        "every row priced: {:?}",
        prices(&added)
    );

    // When the prices on it turn stale, the page is drawn again (stale) and the fresh prices
    // fetched meanwhile show on a later view, within seconds, not when a kept copy expires.
    let fresh = view_until(&app, Duration::from_secs(15), |html| {
        prices(html) == ["12.00"; 10]
    })
    .await;
    assert_eq!(
        prices(&fresh),
        ["12.00"; 10],
        "every row at the service's new price"
    );
    assert!(!fresh.contains("me-1 stale"), "and none marked stale");
}

/// The price column of a portfolio page, row by row.
fn prices(html: &str) -> Vec<String> {
    html.split("<td class=\"text-end price\"")
        .skip(1)
        .filter_map(|cell| {
            let cell = cell.split("</td>").next()?;
            let text = cell.split(" <small").next()?;
            Some(text.rsplit('>').next()?.trim().to_string())
        })
        .collect()
}
