//! Spawns the real application per test: fresh database, port 0, wiremock upstream.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sqlx::Connection;
use stock_ticker::app::Application;
use stock_ticker::config::{Config, LogFormat};
use stock_ticker::domain::{DEFAULT_OWNER, Holding};
use stock_ticker::store::{self, Store};
use tempfile::TempDir;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Environment variable that turns a skipped PostgreSQL or browser test into a failure.
pub const REQUIRE_ALL: &str = "STOCK_TICKER_REQUIRE_ALL_TESTS";

/// Says a test could not run; fails instead when [`REQUIRE_ALL`] is set (as in CI).
pub fn skip(test: &str, why: &str) {
    if std::env::var_os(REQUIRE_ALL).is_some() {
        panic!("{test} cannot run: {why} (and {REQUIRE_ALL} is set)");
    }
    eprintln!("SKIPPED {test}: {why}");
}

/// A fresh, empty, migrated database that lives as long as the value.
pub struct TestDb {
    pub url: String,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        TestDb {
            url,
            _dir: Some(dir),
        }
    }

    /// A new database on the server named by TEST_DATABASE_URL, or `None` (after saying so).
    pub async fn postgres(test: &str) -> Option<TestDb> {
        let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
            skip(test, "TEST_DATABASE_URL is not set");
            return None;
        };
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "st_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos % 1_000_000_000
        );
        let mut admin = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| {
                panic!("TEST_DATABASE_URL is set but PostgreSQL does not answer: {e}")
            });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let (without_query, query) = base
            .split_once('?')
            .map_or((base.as_str(), None), |(a, b)| (a, Some(b)));
        let (server, _) = without_query
            .rsplit_once('/')
            .expect("TEST_DATABASE_URL names a database");
        let url = match query {
            Some(q) => format!("{server}/{name}?{q}"),
            None => format!("{server}/{name}"),
        };
        Some(TestDb { url, _dir: None })
    }

    /// The same database under a second name (for a second app instance); it does not own it.
    pub fn same(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            _dir: None,
        }
    }

    /// Opens and migrates the database.
    pub async fn store(&self) -> Arc<dyn Store> {
        let store = store::connect(&self.url, 5).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }
}

/// The running server, its upstream mock and a direct handle on its database.
pub struct TestApp {
    db_url: String,
    pub address: String,
    /// Signed in as [`USER`]: its API token and session cookie ride on every request.
    pub client: reqwest::Client,
    /// The signed-in session's form token, added to every [`TestApp::post_form`].
    pub csrf: String,
    pub iex: MockServer,
    pub store: Arc<dyn Store>,
    _db: TestDb,
}

/// The code test apps' /setup asks for.
pub const SETUP_CODE: &str = "test-setup-code";

/// The account every test app signs in as (it is the first account, id 1).
pub const USER: &str = "alice";
pub const PASSWORD: &str = "alice-password-1";

/// The first account's owner id.
pub fn first_owner() -> stock_ticker::domain::OwnerId {
    stock_ticker::domain::OwnerId(1)
}

/// A password hash, computed once per test run (argon2 is slow on purpose).
pub fn password_hash(password: &str) -> String {
    static HASHES: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let mut known = HASHES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, h)) = known.iter().find(|(p, _)| p == password) {
        return h.clone();
    }
    let hash = stock_ticker::portfolio::auth::hash_password(password).expect("hash");
    known.push((password.to_string(), hash.clone()));
    hash
}

/// Someone signed in: a client carrying their API token and session cookie, and their form token.
pub struct Visitor {
    pub client: reqwest::Client,
    pub csrf: String,
    /// The API token the client sends.
    pub token: String,
}

/// Signs `user` in directly through the store: a session and an API token.
pub async fn sign_in(store: &dyn Store, user: stock_ticker::domain::User) -> Visitor {
    use stock_ticker::portfolio::auth;
    let session_id = auth::random_hex(32).unwrap();
    let csrf = auth::random_hex(32).unwrap();
    let now = time::OffsetDateTime::now_utc();
    store
        .create_session(&stock_ticker::domain::NewSession {
            id_hash: auth::sha256_hex(&session_id),
            user: user.owner(),
            csrf_token: csrf.clone(),
            created_at: now,
            expires_at: now + time::Duration::hours(1),
        })
        .await
        .expect("session");
    let (token, prefix) = auth::new_api_token().unwrap();
    store
        .create_token(user.owner(), "tests", &prefix, &auth::sha256_hex(&token))
        .await
        .expect("token");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    headers.insert(
        reqwest::header::COOKIE,
        format!("st_session={session_id}").parse().unwrap(),
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client");
    Visitor {
        client,
        csrf,
        token,
    }
}

/// Settings for a test server; every field set so the environment cannot change a test.
pub fn test_config(db: &TestDb, iex: &MockServer) -> Config {
    let mut config = Config::from_env();
    config.bind = "127.0.0.1:0".parse().expect("address");
    config.database_url = db.url.clone();
    config.database_max_connections = 5;
    config.secret_token = "test-token".into();
    config.secret_token_secret_id.clear();
    config.secret_token_secret_key.clear();
    config.database_secret_id.clear();
    config.iex_base_url = iex.uri();
    // Every provider talks to the one mock server; each test chooses the chains it needs.
    config.yahoo_base_url = iex.uri();
    config.yahoo_cookie_url = iex.uri();
    config.coingecko_base_url = iex.uri();
    config.alphavantage_base_url = iex.uri();
    config.finnhub_base_url = iex.uri();
    config.twelvedata_base_url = iex.uri();
    config.stooq_base_url = iex.uri();
    for key in [
        &mut config.alphavantage_api_key,
        &mut config.finnhub_api_key,
        &mut config.twelvedata_api_key,
        &mut config.stooq_api_key,
        &mut config.coingecko_api_key,
    ] {
        key.clear();
    }
    config.quote_providers_stock = "iex".parse().expect("providers");
    config.quote_providers_etf = "iex".parse().expect("providers");
    config.quote_providers_commodity = Default::default();
    config.quote_providers_crypto = Default::default();
    config.quote_providers_fx = "yahoo".parse().expect("providers");
    config.quote_ttl_secs = 60;
    config.refresh_interval_secs = 0;
    config.quote_timeout_secs = 2;
    config.quote_concurrency = 8;
    config.request_timeout_secs = 30;
    config.max_body_bytes = 65_536;
    config.log_format = LogFormat::Pretty;
    config.cookie_secure = false;
    config.allow_signup = false;
    config.session_idle_secs = 3600;
    config.session_max_secs = 86_400;
    config.login_backoff_secs = 30;
    config.trusted_proxies = Default::default();
    config.setup_code = SETUP_CODE.into();
    config.import_answer_wait_secs = 5;
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(TestDb::sqlite().await).await
}

pub async fn spawn_app_on(db: TestDb) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// Spawns the app with settings changed by `tweak` after the test defaults are set.
pub async fn spawn_app_with(db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let mut app = spawn_fresh_app(db, tweak).await;
    let user = match app.store.user_by_name(USER).await.expect("read user") {
        Some(user) => user,
        None => app
            .store
            .setup_admin(USER, &password_hash(PASSWORD))
            .await
            .expect("first account"),
    };
    let visitor = sign_in(app.store.as_ref(), user).await;
    app.client = visitor.client;
    app.csrf = visitor.csrf;
    app
}

/// A freshly installed app: no account yet (the first visit goes to /setup).
pub async fn spawn_fresh_app(db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let iex = MockServer::start().await;
    let mut config = test_config(&db, &iex);
    tweak(&mut config);
    let app = Application::build(config).await.expect("build app");
    let address = format!("http://{}", app.local_addr().expect("local addr"));
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let store = db.store().await;
    TestApp {
        db_url: db.url.clone(),
        address,
        client,
        csrf: String::new(),
        iex,
        store,
        _db: db,
    }
}

/// A quote in the IEX Cloud format, as the service documents it.
pub fn iex_quote(symbol: &str, name: &str, price: f64) -> Value {
    json!({
        "symbol": symbol,
        "companyName": name,
        "primaryExchange": "NASDAQ",
        "calculationPrice": "tops",
        "open": price,
        "close": price,
        "high": price,
        "low": price,
        "latestPrice": price,
        "latestSource": "IEX real time price",
        "latestTime": "3:59:59 PM",
        "latestUpdate": 1_705_957_200_000_i64,
        "latestVolume": 51_234_567,
        "iexRealtimePrice": price,
        "delayedPrice": price,
        "previousClose": null,
        "change": null,
        "changePercent": null,
        "iexMarketPercent": 0.0213,
        "iexVolume": 1_093_000,
        "avgTotalVolume": 60_123_000,
        "iexBidPrice": 0,
        "iexBidSize": 0,
        "iexAskPrice": 0,
        "iexAskSize": 0,
        "marketCap": null,
        "peRatio": null,
        "week52High": null,
        "week52Low": null,
        "ytdChange": null
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Serves `body` for the symbol's quote URL, requiring the configured token.
    pub async fn mock_quote(&self, symbol: &str, body: Value) {
        Mock::given(method("GET"))
            .and(path(format!(
                "/stable/stock/{}/quote",
                symbol.to_ascii_lowercase()
            )))
            .and(wiremock::matchers::query_param("token", "test-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.iex)
            .await;
    }

    /// Answers the symbol's quote URL with this status and text body.
    pub async fn mock_quote_status(&self, symbol: &str, status: u16, body: &str) {
        Mock::given(method("GET"))
            .and(path(format!(
                "/stable/stock/{}/quote",
                symbol.to_ascii_lowercase()
            )))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&self.iex)
            .await;
    }

    /// Serves a Yahoo chart answer for a provider code such as `GC=F`.
    pub async fn mock_yahoo(&self, code: &str, body: Value) {
        Mock::given(method("GET"))
            .and(path(format!("/v8/finance/chart/{code}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.iex)
            .await;
    }

    /// SAP quoted at 120 EUR today, and Yahoo's real EUR/USD answer (today 1.1131; closes of
    /// 1.1220825910568237 on 1 and 2 January 2020 and 1.1171437501907349 on the 3rd).
    pub async fn mock_euro_stock(&self) {
        let mut sap = iex_quote("SAP", "SAP SE", 120.0);
        sap["currency"] = json!("EUR");
        self.mock_quote("SAP", sap).await;
        self.mock_yahoo("EURUSD=X", yahoo_fixture("chart-eurusd-x-fx.json"))
            .await;
    }

    /// Records each transaction through the API, expecting 201.
    pub async fn record_all(&self, transactions: &[Value]) {
        for tx in transactions {
            let r = self.post_json("/api/v1/transactions", tx).await;
            assert_eq!(
                r.status(),
                201,
                "{tx}: {}",
                r.text().await.unwrap_or_default()
            );
        }
    }

    /// Requests the mock server received on paths starting with `prefix`.
    pub async fn upstream_requests(&self, prefix: &str) -> usize {
        let requests = self.iex.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|r| r.url.path().starts_with(prefix))
            .count()
    }

    /// A simple quote: `price` with a company name.
    pub async fn mock_simple(&self, symbol: &str, name: &str, price: f64) {
        self.mock_quote(symbol, iex_quote(symbol, name, price))
            .await;
    }

    /// A second account, "bob", signed in: its client and form token.
    pub async fn bob(&self) -> Visitor {
        let bob = self
            .store
            .create_user("bob", &password_hash("bob-password-1"), false)
            .await
            .expect("bob");
        sign_in(self.store.as_ref(), bob).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }

    pub async fn post_holding(&self, body: Value) -> reqwest::Response {
        self.post_json("/api/v1/holdings", &body).await
    }

    /// Adds a holding through the API and returns its id.
    pub async fn add_holding(&self, symbol: &str, kind: &str, quantity: &str) -> i64 {
        let response = self
            .post_holding(json!({"symbol": symbol, "kind": kind, "quantity": quantity}))
            .await;
        assert_eq!(response.status(), 201, "adding {symbol}");
        let body: Value = response.json().await.expect("json");
        body["id"].as_i64().expect("id")
    }

    /// Holdings of one unit each, written straight to the database, so no quote was fetched
    /// while adding them.
    pub async fn seed_holdings(&self, symbols: &[&str], kind: stock_ticker::domain::AssetKind) {
        for s in symbols {
            let fields = stock_ticker::domain::HoldingFields {
                symbol: stock_ticker::domain::Symbol::parse(s).expect("symbol"),
                kind,
                name: None,
                currency: None,
                quantity: rust_decimal::Decimal::ONE,
                cost_basis: None,
                notes: None,
                opened: None,
            };
            self.store
                .create_holding(stock_ticker::domain::DEFAULT_OWNER, &fields)
                .await
                .expect("holding");
        }
    }

    /// Watches a symbol through the API and returns the entry's id.
    pub async fn watch(&self, symbol: &str, kind: &str) -> i64 {
        let response = self
            .post_json(
                "/api/v1/watchlist",
                &json!({"symbol": symbol, "kind": kind}),
            )
            .await;
        assert_eq!(response.status(), 201, "watching {symbol}");
        let body: Value = response.json().await.expect("json");
        body["id"].as_i64().expect("id")
    }

    /// Posts a form as the signed-in user's browser would, form token included.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut fields = form.to_vec();
        fields.push(("csrf", &self.csrf));
        self.client
            .post(self.url(path))
            .form(&fields)
            .send()
            .await
            .expect("POST form")
    }

    /// The stored quote of a market asset, waiting up to 2 s for the background write.
    pub async fn stored_quote(
        &self,
        symbol: &str,
        kind: stock_ticker::domain::AssetKind,
    ) -> Option<stock_ticker::domain::StoredQuote> {
        let symbol = stock_ticker::domain::Symbol::parse(symbol).expect("symbol");
        for _ in 0..40 {
            if let Some(q) = self
                .store
                .latest_quote(&symbol, kind)
                .await
                .expect("read quote")
            {
                return Some(q);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        None
    }

    /// The app's `DATABASE_URL`, for running the binary's subcommands against it.
    pub fn database_url(&self) -> String {
        self.db_url.clone()
    }

    /// What the database holds, read directly.
    pub async fn holdings(&self) -> Vec<Holding> {
        self.store.list_holdings(DEFAULT_OWNER).await.expect("list")
    }
}

/// The CSRF token a page's forms carry.
pub fn form_token(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form with its token")
        .to_string()
}

/// A Yahoo chart API v8 answer, as documented: the quote lives in `meta`.
/// A real Yahoo chart answer kept in `tests/fixtures/yahoo` (see its PROVENANCE.md).
pub fn yahoo_fixture(name: &str) -> Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/yahoo")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

pub fn yahoo_chart(code: &str, name: &str, price: f64, previous_close: f64) -> Value {
    json!({"chart": {"result": [{
        "meta": {
            "currency": "USD", "symbol": code, "exchangeName": "CMX", "instrumentType": "FUTURE",
            "regularMarketTime": 1_705_957_200, "regularMarketPrice": price,
            "previousClose": previous_close, "chartPreviousClose": previous_close * 0.5,
            "longName": name, "shortName": name,
            "fiftyTwoWeekHigh": price * 1.2, "fiftyTwoWeekLow": price * 0.8
        },
        "timestamp": [1_705_415_400, 1_705_501_800, 1_705_588_200],
        "indicators": {"quote": [{"close": [previous_close * 0.98, null, previous_close]}]}
    }], "error": null}})
}

/// The `data-symbol` of each portfolio row, in page order.
pub fn row_symbols(html: &str) -> Vec<String> {
    html.split("data-symbol=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}
