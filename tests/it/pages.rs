//! The server-rendered pages, read as HTML.

use serde_json::json;

use crate::api::{SORT_CASES, seed_sortable};
use crate::helpers::{iex_quote, row_symbols, spawn_app};

async fn page(app: &crate::helpers::TestApp, path: &str, status: u16) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), status, "{path}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{path}"
    );
    response.text().await.unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn the_quote_card_shows_everything_the_provider_gives() {
    let app = spawn_app().await;
    let mut q = iex_quote("AAPL", "Apple Inc.", 189.84);
    q["previousClose"] = json!(191.56);
    q["change"] = json!(-1.72);
    q["marketCap"] = json!(2_950_000_000_000_i64);
    q["peRatio"] = json!(29.5);
    q["ytdChange"] = json!(0.0134);
    q["week52High"] = json!(199.62);
    q["week52Low"] = json!(143.9);
    q["iexBidPrice"] = json!(189.8);
    q["iexBidSize"] = json!(100);
    q["iexAskPrice"] = json!(189.9);
    q["iexAskSize"] = json!(200);
    app.mock_quote("AAPL", q).await;

    let html = page(&app, "/?symbol=aapl", 200).await;

    for expected in [
        "Apple Inc.",
        "189.84",
        "-1.72",
        "-0.90%",
        "191.56",
        "2.95T",
        "29.50",
        "+1.34%",
        "199.62",
        "143.90",
        "189.80 × 100",
        "189.90 × 200",
        "2024-01-22 21:00 UTC",
        "Source: iex",
        "Add to portfolio",
    ] {
        assert!(html.contains(expected), "missing {expected:?}");
    }
}

#[tokio::test]
async fn lookup_problems_are_explained_on_the_page() {
    let app = spawn_app().await;
    app.mock_quote_status("NOPE", 404, "Unknown symbol").await;
    app.mock_quote_status("DOWN", 502, "Bad Gateway").await;

    let empty = page(&app, "/?symbol=", 422).await;
    assert!(empty.contains("Please enter a ticker symbol."));
    let odd = page(&app, "/?symbol=%3Cb%3E", 422).await;
    assert!(odd.contains("may contain only letters"));
    assert!(
        odd.contains("value=\"&#60;b&#62;\"") || odd.contains("value=\"&lt;b&gt;\""),
        "typed text kept, escaped"
    );
    let bad_kind = page(&app, "/?symbol=aapl&kind=bond", 422).await;
    assert!(bad_kind.contains("Kind must be one of"));
    let unknown = page(&app, "/?symbol=nope", 404).await;
    assert!(unknown.contains("Unknown symbol NOPE"));
    let down = page(&app, "/?symbol=down", 503).await;
    assert!(down.contains("No price for DOWN right now"));
    for html in [&empty, &unknown, &down] {
        assert!(
            !html.contains("panicked") && !html.contains("src/"),
            "no internals on the page"
        );
    }
}

#[tokio::test]
async fn adding_from_the_form_redirects_and_shows_the_row() {
    let app = spawn_app().await;
    app.mock_simple("MSFT", "Microsoft Corporation", 400.0)
        .await;

    let response = app
        .post_form(
            "/portfolio",
            &[
                ("symbol", "msft"),
                ("kind", "stock"),
                ("quantity", "2.5"),
                ("cost_basis", "300"),
                ("notes", ""),
            ],
        )
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/portfolio?added=MSFT");
    let html = page(&app, "/portfolio?added=MSFT", 200).await;
    assert!(html.contains("Added MSFT to the portfolio."));
    assert_eq!(row_symbols(&html), ["MSFT"]);
    assert!(html.contains("Microsoft Corporation"));
    assert!(html.contains("1,000.00"), "market value 2.5 × 400");
    assert!(html.contains("Total in USD"));
}

#[tokio::test]
async fn a_failed_add_keeps_what_was_typed_and_stores_nothing() {
    let app = spawn_app().await;

    let response = app
        .post_form(
            "/portfolio",
            &[
                ("symbol", "msft"),
                ("kind", "etf"),
                ("quantity", "-3"),
                ("cost_basis", "12x"),
                ("notes", "my note"),
            ],
        )
        .await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Quantity must be greater than zero."));
    assert!(html.contains("Cost per unit must be a number"));
    assert!(html.contains("value=\"msft\""));
    assert!(html.contains("value=\"-3\""));
    assert!(html.contains("value=\"12x\""));
    assert!(html.contains("value=\"my note\""));
    assert!(html.contains("<option value=\"etf\" selected>"));
    assert!(app.holdings().await.is_empty());
}

#[tokio::test]
async fn adding_a_held_symbol_offers_to_edit_instead() {
    let app = spawn_app().await;
    app.mock_simple("MSFT", "Microsoft", 400.0).await;
    let id = app.add_holding("MSFT", "stock", "1").await;

    let response = app
        .post_form("/portfolio", &[("symbol", "MSFT"), ("quantity", "7")])
        .await;

    assert_eq!(response.status(), 409);
    let html = response.text().await.unwrap();
    assert!(html.contains("You already hold MSFT"));
    assert!(html.contains(&format!("href=\"/portfolio/{id}/edit\"")));
    assert!(html.contains("value=\"7\""), "typed quantity kept");
    assert_eq!(app.holdings().await[0].quantity.to_string(), "1");
}

#[tokio::test]
async fn the_table_sorts_by_every_header_with_arrows() {
    let app = spawn_app().await;
    seed_sortable(&app).await;

    let default = page(&app, "/portfolio", 200).await;
    assert_eq!(row_symbols(&default), ["AAA", "BBB", "CCC", "DDD"]);
    assert!(default.contains("aria-sort=\"ascending\"><a href=\"/portfolio?sort=symbol&#38;dir=desc\">Symbol<span class=\"sort-arrow\">↑</span>"));
    // A column the default set hides still sorts (from the URL or the phone's sort menu).
    let hidden = page(&app, "/portfolio?sort=market_cap&dir=desc", 200).await;
    assert!(
        !hidden.contains("sort=market_cap&#38;dir=asc\">"),
        "no Market cap header"
    );
    assert!(hidden.contains("<option value=\"market_cap\" selected>"));
    assert_eq!(hidden.matches("class=\"sort-arrow\"").count(), 0);

    // Every column shown through the chooser (kept for the account): every header sorts.
    let all: Vec<(&str, &str)> = stock_ticker::domain::TableColumns::choices()
        .map(|(name, _)| (name, "on"))
        .collect();
    let chosen = app.post_form("/portfolio/columns", &all).await;
    assert_eq!(chosen.status(), 303, "back to the portfolio");
    assert_eq!(location(&chosen), "/portfolio?columns=saved");
    let saved = page(&app, "/portfolio?columns=saved", 200).await;
    assert!(saved.contains("The table shows the columns you chose"));
    for (sort, dir, expected) in SORT_CASES {
        let html = page(&app, &format!("/portfolio?sort={sort}&dir={dir}"), 200).await;
        assert_eq!(row_symbols(&html), expected, "{sort} {dir}");
        let (arrow, aria, flipped) = if *dir == "asc" {
            ("↑", "ascending", "desc")
        } else {
            ("↓", "descending", "asc")
        };
        let link = format!("<a href=\"/portfolio?sort={sort}&#38;dir={flipped}\">");
        // Name shares the first column with Symbol, whose link comes first.
        let header = if *sort == "name" {
            link
        } else {
            format!("aria-sort=\"{aria}\">{link}")
        };
        assert!(
            html.contains(&header),
            "{sort} {dir}: active header links to the other direction"
        );
        assert_eq!(html.matches("class=\"sort-arrow\"").count(), 1, "one arrow");
        assert!(html.contains(&format!("<span class=\"sort-arrow\">{arrow}</span>")));
    }
    // And back to the default set.
    let reset = app
        .post_form(
            "/portfolio/columns?sort=price&dir=desc",
            &[("reset", "1"), ("notes", "on")],
        )
        .await;
    assert_eq!(
        location(&reset),
        "/portfolio?sort=price&dir=desc&columns=saved",
        "in the same order"
    );
    let html = page(&app, "/portfolio", 200).await;
    assert!(!html.contains("sort=market_cap&#38;dir=asc\">"));
    assert!(html.contains("sort=weight&#38;dir=asc\">Weight</a>"));
    let bad = page(&app, "/portfolio?sort=nonsense", 400).await;
    assert!(bad.contains("nonsense"));
}

#[tokio::test]
async fn totals_add_up_priced_holdings_and_count_the_rest() {
    let app = spawn_app().await;
    seed_sortable(&app).await;

    let html = page(&app, "/portfolio", 200).await;

    // 30 × 10 + 1 × 500 + 200 × 2; the item has no price.
    assert!(html.contains("1,200.00 USD"), "total");
    assert!(html.contains("1 holding without a price is not included."));
    assert!(html.contains("no price"));
}

#[tokio::test]
async fn edit_saves_and_rejects_bad_input_without_change() {
    let app = spawn_app().await;
    app.mock_simple("AAA", "Alpha", 10.0).await;
    let id = app.add_holding("AAA", "stock", "1").await;

    let form = page(&app, &format!("/portfolio/{id}/edit"), 200).await;
    assert!(form.contains("Edit AAA"));
    assert!(form.contains("value=\"1\""));

    let bad = app
        .post_form(
            &format!("/portfolio/{id}/edit"),
            &[("quantity", "abc"), ("notes", "kept")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Quantity must be a number"));
    assert!(html.contains(">kept</textarea>"));
    assert_eq!(app.holdings().await[0].quantity.to_string(), "1");

    let ok = app
        .post_form(
            &format!("/portfolio/{id}/edit"),
            &[
                ("quantity", "12.75"),
                ("cost_basis", "9"),
                ("notes", "more"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(location(&ok), "/portfolio?updated=AAA");
    let stored = &app.holdings().await[0];
    assert_eq!(stored.quantity.to_string(), "12.75");
    assert_eq!(stored.notes.as_deref(), Some("more"));

    page(&app, "/portfolio/999/edit", 404).await;
    page(&app, "/portfolio/abc/edit", 400).await;
}

#[tokio::test]
async fn delete_asks_first_then_removes() {
    let app = spawn_app().await;
    app.mock_simple("AAA", "Alpha", 10.0).await;
    let id = app.add_holding("AAA", "stock", "3").await;

    let confirm = page(&app, &format!("/portfolio/{id}/delete"), 200).await;
    assert!(confirm.contains("Delete AAA?"));
    assert_eq!(app.holdings().await.len(), 1, "asking deletes nothing");

    let response = app.post_form(&format!("/portfolio/{id}/delete"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/portfolio?deleted=AAA");
    assert!(app.holdings().await.is_empty());
    assert_eq!(
        app.post_form(&format!("/portfolio/{id}/delete"), &[])
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn notes_render_as_text_not_markup() {
    let app = spawn_app().await;
    app.add_holding("WATCH", "item", "1").await;
    let id = app.holdings().await[0].id;
    app.client
        .patch(app.url(&format!("/api/v1/holdings/{id}")))
        .json(&json!({"notes": "<script>alert(1)</script>\"><img src=x onerror=alert(1)>"}))
        .send()
        .await
        .unwrap();

    app.post_form("/portfolio/columns", &[("notes", "on")])
        .await;
    let html = page(&app, "/portfolio", 200).await;

    assert!(
        html.contains("<td class=\"notes\">"),
        "the notes column is shown"
    );
    assert!(!html.contains("<script>alert(1)"));
    assert!(!html.contains("<img src=x"));
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || html.contains("&lt;script&gt;")
    );
}

#[tokio::test]
async fn about_and_docs_pages_explain_the_app() {
    let app = spawn_app().await;

    let about = page(&app, "/about", 200).await;
    assert!(about.contains("Quotes may be delayed"));
    assert!(about.contains("iex"));
    let docs = page(&app, "/api/v1/docs", 200).await;
    for route in [
        "/api/v1/holdings",
        "/api/v1/holdings/{id}",
        "/api/v1/quotes/{symbol}",
        "/api/v1/openapi.json",
    ] {
        assert!(docs.contains(route), "{route}");
    }
    assert!(
        !docs.contains('`'),
        "backticks are drawn as code, not shown"
    );
    assert!(docs.contains("<code>Authorization: Bearer &#60;token&#62;</code>"));
    // Request bodies list their fields: a transaction's type, required, with its values.
    assert!(docs.contains("JSON body: <code>TxInput</code>"));
    assert!(docs.contains(
        "<code>type</code> <span class=\"text-body-secondary\">buy | sell | dividend | fee | split, required</span>"
    ));
    assert!(docs.contains(
        "<code>date</code> <span class=\"text-body-secondary\">string (date), required</span>"
    ));
    let missing = page(&app, "/no/such/page", 404).await;
    assert!(missing.contains("There is nothing at /no/such/page."));
}

#[tokio::test]
async fn assets_come_from_the_binary_with_long_cache_headers() {
    let app = spawn_app().await;
    let html = page(&app, "/", 200).await;
    let css_href = html
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.starts_with("/static/app-"))
        .unwrap();

    let theme_src = html
        .split("src=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.starts_with("/static/theme-"))
        .unwrap();

    for path in [
        "/static/vendor/bootstrap-5.3.9/bootstrap.min.css",
        "/static/vendor/bootstrap-5.3.9/bootstrap.bundle.min.js",
        css_href,
        theme_src,
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(response.bytes().await.unwrap().len() > 100);
    }
    assert_eq!(app.get("/static/../Cargo.toml").await.status(), 404);
    assert_eq!(app.get("/static/nothing.js").await.status(), 404);
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN or other origin"
    );
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/portfolio", "/api/v1/holdings", "/nowhere"] {
        let response = app.get(path).await;
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    }
    let html = page(&app, "/", 200).await;
    assert!(
        !html.contains("<script>") && !html.contains("style=\""),
        "no inline script or style"
    );
}

#[tokio::test]
async fn forms_posted_from_another_site_change_nothing() {
    let app = spawn_app().await;
    app.mock_simple("AAA", "Alpha", 10.0).await;
    let id = app.add_holding("AAA", "stock", "1").await;
    let forged: [(&str, &str); 3] = [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
    ];
    for (name, value) in forged {
        for (path, form) in [
            (
                "/portfolio".to_string(),
                vec![("symbol", "BBB"), ("quantity", "1")],
            ),
            (format!("/portfolio/{id}/edit"), vec![("quantity", "99")]),
            (format!("/portfolio/{id}/delete"), vec![]),
        ] {
            let response = app
                .client
                .post(app.url(&path))
                .header(name, value)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{name}: {value} on {path}");
            assert!(
                response
                    .text()
                    .await
                    .unwrap()
                    .contains("sent from another site")
            );
        }
    }
    let stored = app.holdings().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].quantity.to_string(), "1");

    let host = app.address.trim_start_matches("http://").to_string();
    let same = app
        .client
        .post(app.url(&format!("/portfolio/{id}/edit")))
        .header("origin", format!("http://{host}"))
        .form(&[("quantity", "2"), ("csrf", app.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 303, "a form from this site is accepted");
    let browser = app
        .client
        .post(app.url(&format!("/portfolio/{id}/edit")))
        .header("sec-fetch-site", "same-origin")
        .form(&[("quantity", "3"), ("csrf", app.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), 303);
    assert_eq!(app.holdings().await[0].quantity.to_string(), "3");
}

#[tokio::test]
async fn pages_are_not_cached_but_assets_are() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/portfolio").await.headers()["cache-control"],
        "no-store"
    );
    let css = app
        .get("/static/vendor/bootstrap-5.3.9/bootstrap.min.css")
        .await;
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}

/// The `data-watch-symbol` of each watchlist row, in page order.
fn watch_symbols(html: &str) -> Vec<String> {
    html.split("data-watch-symbol=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

/// The watchlist row of one symbol, as HTML.
fn watch_row<'a>(html: &'a str, symbol: &str) -> &'a str {
    let start = html
        .find(&format!("data-watch-symbol=\"{symbol}\""))
        .unwrap_or_else(|| panic!("no row for {symbol}"));
    let rest = &html[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

#[tokio::test]
async fn the_home_page_shows_the_watchlist_with_prices() {
    let app = spawn_app().await;
    crate::api::mock_watchable(&app).await;
    app.mock_quote_status("DOWN", 500, "oops").await;
    app.watch("MSFT", "stock").await;
    app.watch("AAPL", "stock").await;
    app.watch("DOWN", "etf").await;

    let html = page(&app, "/", 200).await;

    assert!(html.contains("Watchlist"));
    assert_eq!(watch_symbols(&html), ["AAPL", "DOWN", "MSFT"]);
    assert!(html.contains("3 of 50"));
    let aapl = watch_row(&html, "AAPL");
    for expected in [
        "href=\"/assets/AAPL?kind=stock\"",
        "Apple Inc.",
        "189.84",
        "-0.90%",
        "text-danger",
        "Remove",
    ] {
        assert!(
            aapl.contains(expected),
            "AAPL row lacks {expected:?}: {aapl}"
        );
    }
    assert!(watch_row(&html, "MSFT").contains("415.50"));
    let down = watch_row(&html, "DOWN");
    assert!(down.contains("no price"), "{down}");
    assert!(down.contains("href=\"/assets/DOWN?kind=etf\""));
    // The remove button posts the form token, like every other form.
    assert!(aapl.contains(&format!("name=\"csrf\" value=\"{}\"", app.csrf)));
}

#[tokio::test]
async fn watching_from_the_form_and_from_the_quote_card() {
    let app = spawn_app().await;
    crate::api::mock_watchable(&app).await;
    let empty = page(&app, "/", 200).await;
    assert!(empty.contains("Nothing watched yet"));
    for kind in ["stock", "etf", "commodity", "crypto"] {
        assert!(
            empty.contains(&format!("<option value=\"{kind}\"")),
            "{kind}"
        );
    }
    assert!(
        !empty.contains("<option value=\"item\""),
        "items cannot be watched, so they are not offered"
    );

    let response = app
        .post_form("/watchlist", &[("symbol", " msft "), ("kind", "stock")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/?watched=MSFT");
    let html = page(&app, "/?watched=MSFT", 200).await;
    assert!(html.contains("Now watching MSFT."));
    assert_eq!(watch_symbols(&html), ["MSFT"]);

    // A lookup offers "Watch"; watching from the card comes back to the card.
    let card = page(&app, "/?symbol=aapl", 200).await;
    assert!(card.contains("id=\"watch-button\""));
    let response = app
        .post_form(
            "/watchlist",
            &[("symbol", "AAPL"), ("kind", "stock"), ("back", "quote")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let back = location(&response);
    assert_eq!(back, "/?symbol=AAPL&kind=stock&watched=AAPL");
    let html = page(&app, &back, 200).await;
    assert!(html.contains("Now watching AAPL."));
    assert!(html.contains("id=\"quote-card\""));
    assert!(html.contains("On your <a href=\"/#watchlist\">watchlist</a>"));
    assert!(!html.contains("id=\"watch-button\""), "no second Watch");
    assert_eq!(watch_symbols(&html), ["AAPL", "MSFT"]);
    // A back value other than the two known ones goes home, never elsewhere.
    app.mock_simple("KO", "Coca-Cola", 59.1).await;
    let response = app
        .post_form(
            "/watchlist",
            &[("symbol", "KO"), ("back", "https://evil.example/")],
        )
        .await;
    assert_eq!(location(&response), "/?watched=KO");

    // Asset pages offer it too, for market assets only.
    let asset = page(&app, "/assets/MSFT?kind=etf", 200).await;
    assert!(
        asset.contains("id=\"watch-button\""),
        "MSFT the ETF is not watched"
    );
    assert!(asset.contains("name=\"back\" value=\"asset\""));
    let watched = page(&app, "/assets/MSFT?kind=stock", 200).await;
    assert!(watched.contains("id=\"watching\""));
    let response = app
        .post_form(
            "/watchlist",
            &[("symbol", "MSFT"), ("kind", "etf"), ("back", "asset")],
        )
        .await;
    assert_eq!(location(&response), "/assets/MSFT?kind=etf");
    app.add_holding("WATCH", "item", "1").await;
    app.post_json(
        "/api/v1/assets/WATCH/prices",
        &json!({"date": "2024-01-02", "price": "100"}),
    )
    .await;
    let item = page(&app, "/assets/WATCH?kind=item", 200).await;
    assert!(item.contains("id=\"quote-card\""));
    assert!(
        !item.contains("watch-button") && !item.contains("id=\"watching\""),
        "an item cannot be watched"
    );
}

#[tokio::test]
async fn watch_form_problems_are_explained_and_keep_what_was_typed() {
    let app = spawn_app().await;
    crate::api::mock_watchable(&app).await;
    app.mock_quote_status("NOPE", 404, "Unknown symbol").await;
    app.watch("MSFT", "stock").await;

    let empty = app
        .post_form("/watchlist", &[("symbol", ""), ("kind", "etf")])
        .await;
    assert_eq!(empty.status(), 422);
    let html = empty.text().await.unwrap();
    assert!(html.contains("Please enter a ticker symbol."));
    assert!(
        html.contains("<option value=\"etf\" selected>"),
        "kind kept"
    );
    assert_eq!(watch_symbols(&html), ["MSFT"], "the list is still there");

    let item = app
        .post_form("/watchlist", &[("symbol", "card"), ("kind", "item")])
        .await;
    assert_eq!(item.status(), 422);
    let html = item.text().await.unwrap();
    assert!(html.contains("cannot be watched"));
    assert!(html.contains("value=\"card\""));

    let unknown = app.post_form("/watchlist", &[("symbol", "nope")]).await;
    assert_eq!(unknown.status(), 422);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("No price service knows the symbol NOPE")
    );

    let twice = app.post_form("/watchlist", &[("symbol", "msft")]).await;
    assert_eq!(twice.status(), 409);
    let html = twice.text().await.unwrap();
    assert!(html.contains("You already watch MSFT (stock)."));
    assert_eq!(watch_symbols(&html), ["MSFT"]);

    let no_token = app
        .client
        .post(app.url("/watchlist"))
        .form(&[("symbol", "AAPL")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403, "the form token is required");
    let list: serde_json::Value = app.get("/api/v1/watchlist").await.json().await.unwrap();
    assert_eq!(list["total"], 1, "nothing was added");
}

#[tokio::test]
async fn a_full_watchlist_says_so_on_the_page() {
    let app = spawn_app().await;
    crate::api::mock_watchable(&app).await;
    for i in 0..50 {
        let fields = stock_ticker::domain::WatchFields {
            symbol: stock_ticker::domain::Symbol::parse(&format!("W{i:02}")).unwrap(),
            kind: stock_ticker::domain::AssetKind::Stock,
            name: None,
            currency: None,
        };
        app.store
            .add_to_watchlist(crate::helpers::first_owner(), &fields, 50)
            .await
            .unwrap();
    }

    let response = app.post_form("/watchlist", &[("symbol", "AAPL")]).await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Your watchlist is full: it holds at most 50 symbols."));
    assert!(html.contains("50 of 50"));
    assert_eq!(watch_symbols(&html).len(), 50);
    assert_eq!(
        html.matches("no price").count(),
        50,
        "symbols without a price show so, the page still renders"
    );
}

#[tokio::test]
async fn removing_from_the_watchlist() {
    let app = spawn_app().await;
    crate::api::mock_watchable(&app).await;
    let id = app.watch("AAPL", "stock").await;
    app.watch("MSFT", "stock").await;

    let response = app.post_form(&format!("/watchlist/{id}/delete"), &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/?unwatched=AAPL");
    let html = page(&app, "/?unwatched=AAPL", 200).await;
    assert!(html.contains("Stopped watching AAPL."));
    assert_eq!(watch_symbols(&html), ["MSFT"]);
    assert_eq!(
        app.post_form(&format!("/watchlist/{id}/delete"), &[])
            .await
            .status(),
        404
    );
    assert_eq!(
        app.post_form("/watchlist/abc/delete", &[]).await.status(),
        400
    );
}

#[tokio::test]
async fn the_colour_mode_is_set_before_the_page_is_drawn() {
    let app = spawn_app().await;
    let signed_out = reqwest::Client::new();
    for path in ["/", "/portfolio", "/about", "/login", "/nowhere"] {
        // The login page as someone signed out sees it; the rest signed in.
        let client = if path == "/login" {
            &signed_out
        } else {
            &app.client
        };
        let response = client.get(app.url(path)).send().await.unwrap();
        let html = response.text().await.unwrap();
        let head = &html[..html.find("</head>").expect("a head")];
        let tag = head
            .split("<script ")
            .nth(1)
            .unwrap_or_else(|| panic!("{path}: the theme script is in <head>"));
        let tag = &tag[..tag.find('>').unwrap()];
        assert!(tag.contains("src=\"/static/theme-"), "{path}: {tag}");
        assert!(
            !tag.contains("defer") && !tag.contains("async"),
            "{path}: it runs before the body is drawn"
        );
        for mode in ["light", "dark", "auto"] {
            assert!(
                html.contains(&format!("data-theme-value=\"{mode}\"")),
                "{path}: the navbar offers {mode}"
            );
        }
    }
    let html = page(&app, "/", 200).await;
    let src = html
        .split("<script src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let script = app.get(src).await;
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let body = script.text().await.unwrap();
    assert!(body.contains("prefers-color-scheme") && body.contains("localStorage"));
}
