//! Secrets Manager at run time, against moto's Secrets Manager emulator over HTTP: the binary is
//! started with `AWS_ENDPOINT_URL` pointing at it, as the SDK is in a task pointed at AWS.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use serde_json::json;
use sqlx::Connection;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cli::{command, serve_with};
use crate::helpers::{TestDb, iex_quote, skip};

/// A moto server on a free port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `MOTO_SERVER`, else the one in the venv `.ci/run` makes, else `moto_server` on the PATH.
fn moto_binary() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return Some(path.into());
    }
    let venv = std::env::var_os("STOCK_TICKER_VENV")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| std::path::Path::new(&home).join(".cache/stock-ticker-venv"))
        });
    if let Some(candidate) = venv.map(|v| v.join("bin/moto_server"))
        && candidate.exists()
    {
        return Some(candidate);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|p| p.exists())
    })
}

impl Moto {
    async fn start(test: &str) -> Option<Moto> {
        let Some(binary) = moto_binary() else {
            skip(
                test,
                "moto_server was not found (pip install 'moto[server]'; or set MOTO_SERVER)",
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if reqwest::get(format!("{}/moto-api/", moto.endpoint))
                .await
                .is_ok()
            {
                return Some(moto);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not start on port {port}");
    }

    /// The SDK's client for the test's own calls (create, rotate).
    fn client(&self) -> aws_sdk_secretsmanager::Client {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .http_client(http)
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    /// What the binary needs to find this emulator the way a task finds AWS.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    async fn create(&self, name: &str, value: &str) {
        self.client()
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("create secret");
    }

    /// A new current version, as a rotation writes it.
    async fn rotate(&self, name: &str, value: &str) {
        self.client()
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .expect("put secret value");
    }
}

/// An API token for the first account, made directly in the database the binary will use.
async fn api_token(db: &TestDb) -> String {
    let store = db.store().await;
    let user = store
        .setup_admin("alice", &crate::helpers::password_hash("alice-password-1"))
        .await
        .expect("account");
    let (token, prefix) = stock_ticker::portfolio::auth::new_api_token().expect("token");
    store
        .create_token(
            user.owner(),
            "test",
            &prefix,
            &stock_ticker::portfolio::auth::sha256_hex(&token),
        )
        .await
        .expect("store token");
    store.close().await;
    token
}

/// IEX answers AAPL at `price` for `token` only, and 401 to any other token.
async fn iex_accepting(iex: &MockServer, token: &str, price: f64) {
    iex.reset().await;
    Mock::given(method("GET"))
        .and(path("/stable/stock/aapl/quote"))
        .and(query_param("token", token))
        .respond_with(ResponseTemplate::new(200).set_body_json(iex_quote(
            "AAPL",
            "Apple Inc.",
            price,
        )))
        .with_priority(1)
        .mount(iex)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid token"})))
        .with_priority(10)
        .mount(iex)
        .await;
}

/// The tokens IEX was sent, in order.
async fn tokens_sent(iex: &MockServer) -> Vec<String> {
    iex.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

async fn quote_price(port: u16, token: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/quotes/AAPL"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Stops the server with SIGTERM and returns its log.
async fn stop(child: Child) -> String {
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    assert!(out.status.success(), "the server exits 0 on SIGTERM");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn the_token_comes_from_a_secret_and_a_rotation_is_followed_without_restart() {
    let test = "the_token_comes_from_a_secret_and_a_rotation_is_followed_without_restart";
    let Some(moto) = Moto::start(test).await else {
        return;
    };
    let db = TestDb::sqlite().await;
    let api = api_token(&db).await;
    let iex = MockServer::start().await;
    moto.create("stock-ticker/iex-token", "first-secret-value")
        .await;
    iex_accepting(&iex, "first-secret-value", 101.5).await;

    let mut env = moto.env();
    env.extend([
        (
            "SECRET_TOKEN_SECRET_ID",
            "stock-ticker/iex-token".to_string(),
        ),
        // Only a refusal may make it read the secret again within this test.
        ("SECRET_TTL_SECS", "3600".to_string()),
        ("QUOTE_TTL_SECS", "1".to_string()),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (child, port) = serve_with(&db.url, &iex.uri(), &env).await;

    let (status, body) = quote_price(port, &api).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["price"], "101.5");
    assert_eq!(tokens_sent(&iex).await, ["first-secret-value"]);

    // Rotation: Secrets Manager gets a new version and the service stops taking the old one.
    moto.rotate("stock-ticker/iex-token", "second-secret-value")
        .await;
    iex_accepting(&iex, "second-secret-value", 202.25).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let (status, body) = quote_price(port, &api).await;
    assert_eq!(status, 200, "the rotated token is used at once: {body}");
    assert_eq!(body["price"], "202.25");
    assert_eq!(
        tokens_sent(&iex).await,
        ["first-secret-value", "second-secret-value"],
        "one refused request with the old token, one retry with the new"
    );

    // From now on the new token goes first.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = quote_price(port, &api).await;
    assert_eq!(status, 200);
    assert_eq!(
        tokens_sent(&iex).await.last().map(String::as_str),
        Some("second-secret-value")
    );
    assert_eq!(tokens_sent(&iex).await.len(), 3);

    let log = stop(child).await;
    assert!(
        log.contains("IEX token read from AWS Secrets Manager"),
        "{log}"
    );
    assert!(
        !log.contains("first-secret-value") && !log.contains("second-secret-value"),
        "a token reached the log: {log}"
    );
}

#[tokio::test]
async fn a_token_can_be_one_key_of_a_json_secret_and_a_wrong_one_stays_refused() {
    let test = "a_token_can_be_one_key_of_a_json_secret_and_a_wrong_one_stays_refused";
    let Some(moto) = Moto::start(test).await else {
        return;
    };
    let db = TestDb::sqlite().await;
    let api = api_token(&db).await;
    let iex = MockServer::start().await;
    moto.create(
        "stock-ticker/keys",
        r#"{"iex":"json-held-token","finnhub":"other-key"}"#,
    )
    .await;
    iex_accepting(&iex, "json-held-token", 55.0).await;

    let mut env = moto.env();
    env.extend([
        ("SECRET_TOKEN_SECRET_ID", "stock-ticker/keys".to_string()),
        ("SECRET_TOKEN_SECRET_KEY", "iex".to_string()),
        ("QUOTE_TTL_SECS", "1".to_string()),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (child, port) = serve_with(&db.url, &iex.uri(), &env).await;

    let (status, body) = quote_price(port, &api).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["price"], "55");
    assert_eq!(tokens_sent(&iex).await, ["json-held-token"]);

    // The service now refuses the token, but the secret was not rotated: one re-read finds the
    // same value, so there is no retry, and the quote is reported unavailable.
    iex_accepting(&iex, "a-token-nobody-has", 1.0).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = quote_price(port, &api).await;
    assert!(status == 503 || status == 200, "{status} {body}");
    if status == 200 {
        assert_eq!(
            body["stale"], true,
            "an old price is served as stale: {body}"
        );
    }
    assert_eq!(
        tokens_sent(&iex).await,
        ["json-held-token"],
        "the refused token is not sent twice"
    );
    let log = stop(child).await;
    assert!(!log.contains("json-held-token"), "{log}");
}

/// Runs `stock-ticker serve` with these variables and expects it to stop by itself before it
/// listens; returns its log.
async fn failed_start(db_url: &str, env: &[(&str, String)]) -> String {
    let mut child = command(db_url)
        .arg("serve")
        .env("BIND", "127.0.0.1:0")
        .env("REFRESH_INTERVAL_SECS", "0")
        .env("IEX_BASE_URL", "http://127.0.0.1:9")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    for _ in 0..300 {
        if child.try_wait().expect("wait").is_some() {
            let out = child.wait_with_output().expect("output");
            assert!(!out.status.success(), "{env:?}: the start must fail");
            return String::from_utf8_lossy(&out.stderr).into_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    panic!("{env:?}: the server started instead of refusing to");
}

#[tokio::test]
async fn missing_or_unusable_secrets_stop_the_start_with_a_clear_error() {
    let test = "missing_or_unusable_secrets_stop_the_start_with_a_clear_error";
    let Some(moto) = Moto::start(test).await else {
        return;
    };
    let db = TestDb::sqlite().await;
    moto.create(
        "stock-ticker/json",
        r#"{"iex":"value-1","other":"value-2"}"#,
    )
    .await;
    moto.create("stock-ticker/not-a-db", "just-a-token").await;

    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case; 5] = [
        (
            &[("SECRET_TOKEN_SECRET_ID", "stock-ticker/absent")],
            &[
                "SECRET_TOKEN_SECRET_ID",
                "\"stock-ticker/absent\"",
                "does not exist",
            ],
        ),
        (
            &[("DATABASE_SECRET_ID", "stock-ticker/absent-db")],
            &[
                "DATABASE_SECRET_ID",
                "\"stock-ticker/absent-db\"",
                "does not exist",
            ],
        ),
        (
            &[("SECRET_TOKEN_SECRET_ID", "stock-ticker/json")],
            &["SECRET_TOKEN_SECRET_KEY", "iex, other"],
        ),
        (
            &[("DATABASE_SECRET_ID", "stock-ticker/not-a-db")],
            &["not an RDS database secret"],
        ),
        (
            &[
                ("SECRET_TOKEN_SECRET_ID", "stock-ticker/json"),
                ("SECRET_TOKEN", "also-given"),
            ],
            &["not both"],
        ),
    ];
    for (vars, expected) in cases {
        let mut env = moto.env();
        env.extend(vars.iter().map(|(k, v)| (*k, v.to_string())));
        let stderr = failed_start(&db.url, &env).await;
        for text in expected {
            assert!(
                stderr.contains(text),
                "{vars:?}: {text:?} missing from: {stderr}"
            );
        }
        for value in ["value-1", "value-2", "just-a-token"] {
            assert!(!stderr.contains(value), "a secret value leaked: {stderr}");
        }
    }

    // Without a region the SDK cannot know which Secrets Manager to ask.
    let env: Vec<(&str, String)> = moto
        .env()
        .into_iter()
        .filter(|(k, _)| *k != "AWS_REGION")
        .chain([("SECRET_TOKEN_SECRET_ID", "stock-ticker/json".to_string())])
        .collect();
    let stderr = failed_start(&db.url, &env).await;
    assert!(stderr.contains("AWS_REGION"), "{stderr}");

    // A secret id on a server with no emulator behind the endpoint: unreachable, said so.
    let mut env = moto.env();
    env[0].1 = "http://127.0.0.1:9".into();
    env.push(("SECRET_TOKEN_SECRET_ID", "stock-ticker/json".into()));
    let stderr = failed_start(&db.url, &env).await;
    assert!(stderr.contains("could not be reached"), "{stderr}");
}

#[tokio::test]
async fn database_credentials_come_from_an_rds_secret() {
    let test = "database_credentials_come_from_an_rds_secret";
    let Some(db) = TestDb::postgres(test).await else {
        return;
    };
    let Some(moto) = Moto::start(test).await else {
        return;
    };
    let parsed = reqwest::Url::parse(&db.url).expect("database url");
    let username = if parsed.username().is_empty() {
        "postgres"
    } else {
        parsed.username()
    };
    moto.create(
        "stock-ticker/db",
        &rds_secret(&parsed, username, "p@ss/word:with?symbols"),
    )
    .await;

    // DATABASE_URL keeps its embedded default: the secret alone says where the database is.
    let mut env = moto.env();
    env.push(("DATABASE_SECRET_ID", "stock-ticker/db".into()));
    env.push(("SECRET_TTL_SECS", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let scratch = TestDb::sqlite().await;
    let (child, port) = serve_with(&scratch.url, "", &env).await;

    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    // A fresh install sends its visitor to set-up ...
    let home = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .expect("home");
    assert_eq!(home.url().path(), "/setup");
    // ... until an account exists in the PostgreSQL database the secret names, which the
    // server migrated.
    let store = db.store().await;
    store
        .setup_admin("bob", &crate::helpers::password_hash("bob-password-1"))
        .await
        .expect("account");
    let home = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .expect("home");
    assert_eq!(
        home.url().path(),
        "/login",
        "the server reads that database"
    );

    // A rotation (here: to another login role) reaches the pool without a restart.
    let role = format!("st_rot_{}", std::process::id());
    admin(&format!("DROP ROLE IF EXISTS {role}")).await;
    admin(&format!("CREATE ROLE {role} LOGIN SUPERUSER")).await;
    moto.rotate(
        "stock-ticker/db",
        &rds_secret(&parsed, &role, "rotated-pass"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let log = stop(child).await;
    admin(&format!("DROP ROLE IF EXISTS {role}")).await;
    assert!(
        log.contains("new database connections use the rotated credentials"),
        "{log}"
    );
    assert!(
        log.contains("database credentials read from AWS Secrets Manager"),
        "{log}"
    );
    assert!(
        !log.contains("p@ss/word") && !log.contains("rotated-pass"),
        "the password reached the log: {log}"
    );
    assert!(
        !std::path::Path::new(
            &scratch
                .url
                .replace("sqlite://", "")
                .replace("?mode=rwc", "")
        )
        .exists(),
        "the SQLite default was not used"
    );
}

/// The stack's database set-up: the app logs in as its own user (no superuser), acts as its
/// role through DATABASE_URL's `options[role]`, and follows a rotation with alternating users as
/// Secrets Manager's function performs it (a clone, member of the user, with its own password).
/// The clone here inherits nothing (NOINHERIT), so only acting as the role lets it read the
/// tables, and the tables keep one owner.
#[tokio::test]
async fn an_alternating_users_rotation_is_followed_acting_as_the_apps_role() {
    let test = "an_alternating_users_rotation_is_followed_acting_as_the_apps_role";
    let Some(db) = TestDb::postgres(test).await else {
        return;
    };
    let Some(moto) = Moto::start(test).await else {
        return;
    };
    let parsed = reqwest::Url::parse(&db.url).expect("database url");
    let dbname = parsed.path().trim_start_matches('/').to_string();
    let user = format!("st_app_{}", std::process::id());
    let clone = format!("{user}_clone");
    admin(&format!("DROP ROLE IF EXISTS {clone}")).await;
    admin(&format!("DROP ROLE IF EXISTS {user}")).await;
    // What the stack's database user task does.
    admin(&format!(
        "CREATE ROLE {user} LOGIN PASSWORD 'first-pass' NOSUPERUSER"
    ))
    .await;
    run_in(
        &db.url,
        &format!("GRANT CONNECT, TEMPORARY ON DATABASE {dbname} TO {user}"),
    )
    .await;
    run_in(
        &db.url,
        &format!("GRANT USAGE, CREATE ON SCHEMA public TO {user}"),
    )
    .await;
    moto.create(
        "stock-ticker/app-db",
        &rds_secret(&parsed, &user, "first-pass"),
    )
    .await;

    let mut env = moto.env();
    env.push(("DATABASE_SECRET_ID", "stock-ticker/app-db".into()));
    env.push(("SECRET_TTL_SECS", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let template = format!("postgres://?options[role]={user}");
    let (child, port) = serve_with(&template, "", &env).await;
    let home = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .expect("home");
    assert_eq!(home.url().path(), "/setup", "the app migrated and reads");
    let owners = || async {
        let mut connection = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::query_scalar::<_, String>(
            "SELECT DISTINCT tableowner::text FROM pg_tables WHERE schemaname = 'public'",
        )
        .fetch_all(&mut connection)
        .await
        .expect("owners")
    };
    assert_eq!(
        owners().await,
        vec![user.clone()],
        "the app's role owns its tables"
    );

    // The rotation: a clone of the user with a new password; the secret names it.
    admin(&format!(
        "CREATE ROLE {clone} LOGIN NOINHERIT PASSWORD 'second-pass'"
    ))
    .await;
    admin(&format!("GRANT {user} TO {clone}")).await;
    moto.rotate(
        "stock-ticker/app-db",
        &rds_secret(&parsed, &clone, "second-pass"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Connections made before the rotation end; the pool opens new ones as the clone.
    run_in(
        &db.url,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{user}'"),
    )
    .await;
    let store = db.store().await;
    store
        .setup_admin("bob", &crate::helpers::password_hash("bob-password-1"))
        .await
        .expect("account");
    let home = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .expect("home");
    assert_eq!(home.url().path(), "/login");
    assert_eq!(
        home.status(),
        200,
        "the clone reads the users table, acting as the app's role"
    );
    let sessions: Vec<String> = {
        let mut connection = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::query_scalar(
            "SELECT usename::text FROM pg_stat_activity WHERE datname = $1 AND usename LIKE 'st_app_%'",
        )
        .bind(&dbname)
        .fetch_all(&mut connection)
        .await
        .expect("sessions")
    };
    assert!(
        !sessions.is_empty() && sessions.iter().all(|s| *s == clone),
        "the app logs in as the clone now: {sessions:?}"
    );
    let log = stop(child).await;
    assert!(
        log.contains("new database connections use the rotated credentials"),
        "{log}"
    );
    assert_eq!(
        owners().await,
        vec![user.clone()],
        "one owner after the rotation"
    );
    run_in(&db.url, &format!("DROP OWNED BY {user}, {clone}")).await;
    admin(&format!("DROP ROLE IF EXISTS {clone}")).await;
    admin(&format!("DROP ROLE IF EXISTS {user}")).await;
}

/// Runs one statement in the database of `url`.
async fn run_in(url: &str, statement: &str) {
    let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query(statement)
        .execute(&mut connection)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

/// Runs one statement on the server of TEST_DATABASE_URL (roles).
async fn admin(statement: &str) {
    let url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    run_in(&url, statement).await;
}

/// An RDS database secret (the JSON Secrets Manager's rotation writes) for the database of
/// `url`, logging in as `username`.
fn rds_secret(url: &reqwest::Url, username: &str, password: &str) -> String {
    json!({
        "engine": "postgres",
        "host": url.host_str().unwrap_or("127.0.0.1"),
        "port": url.port().unwrap_or(5432),
        "username": username,
        "password": password,
        "dbname": url.path().trim_start_matches('/'),
    })
    .to_string()
}
