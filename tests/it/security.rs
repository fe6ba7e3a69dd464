//! Accounts, sessions, CSRF, API tokens, isolation between users, throttling, and secrets
//! kept out of logs.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, TestApp, TestDb, USER, password_hash, sign_in, spawn_app, spawn_app_with,
    spawn_fresh_app,
};

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn set_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A client that follows no redirects and carries nothing.
fn anonymous() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn login(app: &TestApp, user: &str, password: &str) -> reqwest::Response {
    login_from(app, None, user, password).await
}

/// A login form posted from this test (the peer, 127.0.0.1), with `X-Forwarded-For: client`
/// when given, as a load balancer would pass it on.
async fn login_from(
    app: &TestApp,
    client: Option<&str>,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let mut request = anonymous().post(app.url("/login"));
    if let Some(client) = client {
        request = request.header("X-Forwarded-For", client);
    }
    request
        .form(&[
            ("username", user),
            ("password", password),
            ("next", "/portfolio"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_fresh_install_sends_the_first_visitor_to_setup_once() {
    let app = spawn_fresh_app(TestDb::sqlite().await, |_| {}).await;
    let visitor = anonymous();

    let home = visitor.get(app.url("/portfolio")).send().await.unwrap();
    assert_eq!(location(&home), "/setup");
    let weak = visitor
        .post(app.url("/setup"))
        .form(&[
            ("username", "root"),
            ("password", "short"),
            ("confirm", "short"),
            ("code", crate::helpers::SETUP_CODE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), 422);
    assert!(app.store.needs_setup().await.unwrap(), "nothing created");

    let no_code = visitor
        .post(app.url("/setup"))
        .form(&[
            ("username", "root"),
            ("password", "a long password"),
            ("confirm", "a long password"),
            ("code", "guess"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_code.status(),
        403,
        "only whoever reads the server's log can claim it"
    );
    assert!(app.store.needs_setup().await.unwrap());
    let made = visitor
        .post(app.url("/setup"))
        .form(&[
            ("username", "Root"),
            ("password", "a long password"),
            ("confirm", "a long password"),
            ("code", crate::helpers::SETUP_CODE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 303);
    let cookie = set_cookie(&made);
    assert!(
        cookie.starts_with("st_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
    );
    assert!(
        !cookie.contains("Secure"),
        "COOKIE_SECURE is off by default"
    );
    let admin = app.store.user_by_name("root").await.unwrap().unwrap();
    assert!(admin.is_admin);
    assert_eq!(
        admin.id, 1,
        "the first account keeps what was held before accounts"
    );

    let again = visitor
        .post(app.url("/setup"))
        .form(&[
            ("username", "intruder"),
            ("password", "a long password"),
            ("confirm", "a long password"),
            ("code", crate::helpers::SETUP_CODE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&again), "/login", "setup happens once");
    assert!(app.store.user_by_name("intruder").await.unwrap().is_none());
}

#[tokio::test]
async fn without_a_session_pages_redirect_to_login_and_the_api_answers_401() {
    let app = spawn_app().await;
    app.add_holding("WATCH", "item", "1").await;
    let id = app.holdings().await[0].id;
    let visitor = anonymous();

    for path in [
        "/",
        "/portfolio",
        "/status",
        "/account",
        "/assets/WATCH?kind=item",
        &format!("/portfolio/{id}/edit"),
    ] {
        let r = visitor.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert!(location(&r).starts_with("/login?next="), "{path}");
    }
    for (verb, path) in [
        (reqwest::Method::GET, "/api/v1/holdings".to_string()),
        (reqwest::Method::POST, "/api/v1/holdings".to_string()),
        (reqwest::Method::GET, format!("/api/v1/holdings/{id}")),
        (reqwest::Method::DELETE, format!("/api/v1/holdings/{id}")),
        (reqwest::Method::GET, "/api/v1/quotes/AAPL".to_string()),
        (
            reqwest::Method::GET,
            "/api/v1/assets/WATCH/history?kind=item".to_string(),
        ),
    ] {
        for auth in [
            None,
            Some("Bearer st_0000000000000000000000000000000000000000"),
            Some("Basic YWxpY2U6eA=="),
        ] {
            let mut request = visitor
                .request(verb.clone(), app.url(&path))
                .json(&json!({"symbol": "X", "quantity": "1"}));
            if let Some(a) = auth {
                request = request.header("authorization", a);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 401, "{verb} {path} {auth:?}");
            assert_eq!(r.headers()["www-authenticate"], "Bearer");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
        }
    }
    for path in [
        "/about",
        "/healthz",
        "/readyz",
        "/api/v1/openapi.json",
        "/api/v1/docs",
        "/login",
        "/static/favicon.svg",
    ] {
        assert_eq!(
            visitor.get(app.url(path)).send().await.unwrap().status(),
            200,
            "{path} is public"
        );
    }
    assert_eq!(app.holdings().await.len(), 1, "nothing changed");
}

#[tokio::test]
async fn login_is_generic_rotates_the_session_and_logout_ends_it() {
    let app = spawn_app().await;

    let wrong = login(&app, USER, "not the password").await;
    let unknown = login(&app, "nobody", "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let (wrong, unknown) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    assert!(
        wrong.contains("Wrong user name or password.")
            && unknown.contains("Wrong user name or password.")
    );

    let first = login(&app, USER, PASSWORD).await;
    let second = login(&app, USER, PASSWORD).await;
    assert_eq!(first.status(), 303);
    assert_eq!(location(&first), "/portfolio");
    let (a, b) = (set_cookie(&first), set_cookie(&second));
    assert_ne!(a, b, "every login gets a new session id");

    let cookie = a.split(';').next().unwrap().to_string();
    let page = anonymous()
        .get(app.url("/account"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let csrf = crate::helpers::form_token(&html);
    let out = anonymous()
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&out), "/login");
    assert!(set_cookie(&out).contains("Max-Age=0"));
    let after = anonymous()
        .get(app.url("/account"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "the session is gone from the database");

    let evil = login_next(&app, "//evil.example/x").await;
    assert_eq!(location(&evil), "/portfolio", "no open redirect");
}

async fn login_next(app: &TestApp, next: &str) -> reqwest::Response {
    anonymous()
        .post(app.url("/login"))
        .form(&[("username", USER), ("password", PASSWORD), ("next", next)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_throttling_triggers_and_recovers() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| c.login_backoff_secs = 1).await;
    for _ in 0..5 {
        assert_eq!(login(&app, USER, "wrong password").await.status(), 401);
    }
    let locked = login(&app, USER, PASSWORD).await;
    assert_eq!(locked.status(), 429, "even the right password waits");
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("Too many failed logins")
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        login(&app, USER, PASSWORD).await.status(),
        303,
        "it recovers after the back-off"
    );
}

async fn login_via(app: &TestApp, client: &str, user: &str, password: &str) -> reqwest::Response {
    login_from(app, Some(client), user, password).await
}

#[tokio::test]
async fn behind_a_trusted_balancer_one_clients_failures_never_lock_out_another_user() {
    let app = spawn_app_with(TestDb::sqlite().await, |c| {
        c.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await;
    app.store
        .create_user("carol", &password_hash("carol-password-1"), false)
        .await
        .unwrap();
    // An attacker guesses bob's password five times, then tries more: all from one address.
    for _ in 0..5 {
        let r = login_via(&app, "198.51.100.66", "bob", "guess").await;
        assert_eq!(r.status(), 401);
    }
    assert_eq!(
        login_via(&app, "198.51.100.66", USER, "guess")
            .await
            .status(),
        429,
        "the attacker's own address is slowed down"
    );
    // Carol, through the same balancer from her own address, signs in at once.
    assert_eq!(
        login_via(&app, "203.0.113.7", "carol", "carol-password-1")
            .await
            .status(),
        303,
        "another user's login is never refused for someone else's failures"
    );
    // The attacker cannot escape the account's own limit by changing address.
    assert_eq!(
        login_via(&app, "192.0.2.1", "bob", "guess").await.status(),
        429,
        "bob's account stays slowed down from any address"
    );
    // A forged header sent straight to a server that trusts nobody changes nothing.
    let direct = spawn_app_with(TestDb::sqlite().await, |_| {}).await;
    for n in 0..5 {
        let r = login_via(&direct, &format!("192.0.2.{n}"), "bob", "guess").await;
        assert_eq!(r.status(), 401);
    }
    assert_eq!(
        login_via(&direct, "192.0.2.200", USER, "guess")
            .await
            .status(),
        429,
        "without trusted proxies the header is ignored: all five came from this peer"
    );
}

#[tokio::test]
async fn another_user_cannot_see_or_change_anything_of_mine() {
    let app = spawn_app().await;
    app.mock_simple("AAA", "Alpha", 10.0).await;
    let holding = app.add_holding("AAA", "stock", "3").await;
    app.add_holding("WATCH", "item", "1").await;
    assert_eq!(
        app.post_json(
            "/api/v1/assets/WATCH/prices",
            &json!({"date": "2024-01-02", "price": "100"})
        )
        .await
        .status(),
        201
    );
    let before = app.holdings().await;
    let bob = app.bob().await;
    let url = |p: &str| app.url(p);

    let list: Value = bob
        .client
        .get(url("/api/v1/holdings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    let api = [
        bob.client.get(url(&format!("/api/v1/holdings/{holding}"))),
        bob.client
            .put(url(&format!("/api/v1/holdings/{holding}")))
            .json(&json!({"symbol": "AAA", "quantity": "99"})),
        bob.client
            .patch(url(&format!("/api/v1/holdings/{holding}")))
            .json(&json!({"quantity": "99"})),
        bob.client
            .delete(url(&format!("/api/v1/holdings/{holding}"))),
        bob.client
            .post(url("/api/v1/assets/WATCH/prices"))
            .json(&json!({"date": "2024-01-03", "price": "1"})),
    ];
    for request in api {
        assert_eq!(request.send().await.unwrap().status(), 404);
    }
    let history: Value = bob
        .client
        .get(url("/api/v1/assets/WATCH/history?kind=item&range=5y"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["points"], json!([]), "my item's prices are mine");
    for path in [
        format!("/portfolio/{holding}/edit"),
        format!("/portfolio/{holding}/delete"),
        "/assets/WATCH?kind=item".into(),
    ] {
        assert_eq!(
            bob.client.get(url(&path)).send().await.unwrap().status(),
            404,
            "{path}"
        );
    }
    for (path, form) in [
        (
            format!("/portfolio/{holding}/edit"),
            vec![("quantity", "99")],
        ),
        (format!("/portfolio/{holding}/delete"), vec![]),
        (
            "/assets/WATCH/prices".to_string(),
            vec![("date", "2024-01-03"), ("price", "1")],
        ),
    ] {
        let mut form = form;
        form.push(("csrf", &bob.csrf));
        assert_eq!(
            bob.client
                .post(url(&path))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status(),
            404,
            "{path}"
        );
    }
    let page = bob
        .client
        .get(url("/portfolio"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("AAA") && !page.contains("WATCH"));

    assert_eq!(app.holdings().await, before, "nothing of mine changed");
    let mine: Value = app.get("/api/v1/holdings").await.json().await.unwrap();
    assert_eq!(mine["total"], 2);
    // Bob can hold the same symbols: his own rows.
    let bobs = bob
        .client
        .post(url("/api/v1/holdings"))
        .json(&json!({"symbol": "AAA", "quantity": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bobs.status(), 201);
    assert_eq!(app.holdings().await, before);
}

/// What a forged post is, its form, and an extra header.
type Forgery<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<(&'a str, &'a str)>);

#[tokio::test]
async fn form_posts_need_this_sessions_token_and_this_site() {
    let app = spawn_app().await;
    app.mock_simple("AAA", "Alpha", 10.0).await;
    let id = app.add_holding("AAA", "stock", "3").await;
    let bob = app.bob().await;
    let edit = app.url(&format!("/portfolio/{id}/edit"));

    let cases: Vec<Forgery> = vec![
        ("no token", vec![("quantity", "99")], None),
        (
            "a wrong token",
            vec![("quantity", "99"), ("csrf", "0123456789abcdef")],
            None,
        ),
        (
            "another session's token",
            vec![("quantity", "99"), ("csrf", bob.csrf.as_str())],
            None,
        ),
        (
            "a foreign origin",
            vec![("quantity", "99"), ("csrf", app.csrf.as_str())],
            Some(("origin", "https://evil.example")),
        ),
    ];
    for (what, form, header) in cases {
        let mut request = app.client.post(&edit).form(&form);
        if let Some((k, v)) = header {
            request = request.header(k, v);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{what}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{what}: a page"
        );
    }
    let delete = app
        .client
        .post(app.url(&format!("/portfolio/{id}/delete")))
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 403);
    assert_eq!(
        app.holdings().await[0].quantity.to_string(),
        "3",
        "nothing changed"
    );
    let ok = app
        .post_form(&format!("/portfolio/{id}/edit"), &[("quantity", "4")])
        .await;
    assert_eq!(ok.status(), 303);
}

#[tokio::test]
async fn api_tokens_are_shown_once_work_and_can_be_revoked() {
    let app = spawn_app().await;

    let created = app
        .post_form("/account/tokens", &[("label", "my script")])
        .await;
    assert_eq!(created.status(), 201);
    let html = created.text().await.unwrap();
    let token = html
        .split("id=\"new-token-value\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(token.starts_with("st_") && token.len() == 43);
    let listed = app.get("/account").await.text().await.unwrap();
    assert!(
        listed.contains("my script") && !listed.contains(&token),
        "the token is not shown again"
    );
    let stored = app
        .store
        .tokens(crate::helpers::first_owner())
        .await
        .unwrap();
    assert!(
        stored.iter().any(|t| t.prefix == token[..11]),
        "listed by its first characters only"
    );

    let with_token = anonymous()
        .get(app.url("/api/v1/holdings"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 200);

    let id = stored.iter().find(|t| t.label == "my script").unwrap().id;
    let revoked = app
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    let after = anonymous()
        .get(app.url("/api/v1/holdings"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions() {
    let app = spawn_app().await;
    let other = sign_in(
        app.store.as_ref(),
        app.store.user_by_name(USER).await.unwrap().unwrap(),
    )
    .await;
    let api = |scheme: &'static str| {
        let url = app.url("/api/v1/holdings");
        let header = format!("{scheme} {}", other.token);
        async move {
            anonymous()
                .get(url)
                .header("Authorization", header)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for scheme in ["Bearer", "bearer", "BEARER"] {
        assert_eq!(
            api(scheme).await,
            200,
            "the scheme's case does not matter: {scheme}"
        );
    }
    assert_eq!(api("Basic").await, 401);

    let wrong = app
        .post_form(
            "/account/password",
            &[
                ("current", "nope"),
                ("password", "a new long password"),
                ("confirm", "a new long password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    let changed = app
        .post_form(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "a new long password"),
                ("confirm", "a new long password"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 303);
    assert!(
        set_cookie(&changed).starts_with("st_session="),
        "this browser stays signed in"
    );
    assert_eq!(
        changed.headers()["location"],
        "/account?password=changed",
        "the account page says what ended"
    );
    assert_eq!(
        api("Bearer").await,
        401,
        "API tokens made under the old password end with it"
    );

    assert_eq!(
        other
            .client
            .get(app.url("/portfolio"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "the other session ended"
    );
    assert_eq!(login(&app, USER, PASSWORD).await.status(), 401);
    assert_eq!(login(&app, USER, "a new long password").await.status(), 303);
}

#[tokio::test]
async fn sign_up_is_closed_unless_allowed() {
    let closed = spawn_app().await;
    assert_eq!(
        anonymous()
            .get(closed.url("/signup"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let open = spawn_app_with(TestDb::sqlite().await, |c| c.allow_signup = true).await;
    let form = [
        ("username", "carol"),
        ("password", "carol password"),
        ("confirm", "carol password"),
    ];
    let made = anonymous()
        .post(open.url("/signup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 303);
    let taken = anonymous()
        .post(open.url("/signup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), 409);
    assert!(
        !open
            .store
            .user_by_name("carol")
            .await
            .unwrap()
            .unwrap()
            .is_admin
    );
}

#[tokio::test]
async fn injection_strings_are_stored_as_text_or_refused() {
    let app = spawn_app().await;
    let nasty = "'; DROP TABLE holdings; --";
    let item = app
        .post_holding(json!({"symbol": "WATCH", "kind": "item", "quantity": "1", "notes": nasty}))
        .await;
    assert_eq!(item.status(), 201);
    assert_eq!(item.json::<Value>().await.unwrap()["notes"], nasty);
    let symbol = app
        .post_holding(json!({"symbol": "X'OR'1'='1", "kind": "item", "quantity": "1"}))
        .await;
    assert_eq!(symbol.status(), 422);
    assert_eq!(
        app.get("/api/v1/holdings?sort=symbol;DROP%20TABLE%20holdings")
            .await
            .status(),
        400
    );
    assert_eq!(
        app.get("/portfolio?sort=symbol%27%20OR%201%3D1")
            .await
            .status(),
        400
    );
    let list: Value = app.get("/api/v1/holdings").await.json().await.unwrap();
    assert_eq!(list["items"][0]["notes"], nasty, "the table is intact");
}

#[tokio::test]
async fn passwords_and_tokens_never_reach_the_logs() {
    let db = TestDb::sqlite().await;
    let bin = env!("CARGO_BIN_EXE_stock-ticker");
    let mut add = Command::new(bin)
        .args(["user", "add", "dave", "--password-stdin"])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(b"dave secret password\n")
        .unwrap();
    let added = add.wait_with_output().unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(String::from_utf8_lossy(&added.stdout).contains("created dave (admin)"));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Command::new(bin)
        .env("DATABASE_URL", &db.url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "trace")
        .env("REFRESH_INTERVAL_SECS", "0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = anonymous();
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ok = client
        .post(format!("{base}/login"))
        .form(&[("username", "dave"), ("password", "dave secret password")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    let _ = client
        .post(format!("{base}/login"))
        .form(&[("username", "dave"), ("password", "wrong secret guess")])
        .send()
        .await
        .unwrap();
    let _ = client
        .get(format!("{base}/api/v1/holdings"))
        .bearer_auth("st_leakleakleakleakleakleakleakleakleakleak")
        .send()
        .await
        .unwrap();
    let session = set_cookie(&ok)
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("st_session=")
        .to_string();

    Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || server.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(
        logs.contains("logged in"),
        "the log is there to search: {}",
        logs.len()
    );
    for secret in [
        "dave secret password",
        "wrong secret guess",
        "st_leakleak",
        &session,
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into the log");
    }
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old() {
    use stock_ticker::domain::NewSession;
    let app = spawn_app_with(TestDb::sqlite().await, |c| c.session_max_secs = 3600).await;
    let user = app.store.user_by_name(USER).await.unwrap().unwrap();
    let now = time::OffsetDateTime::now_utc();
    for (id, created, expires) in [
        (
            "idle",
            now - time::Duration::minutes(10),
            now - time::Duration::seconds(1),
        ),
        (
            "old",
            now - time::Duration::hours(2),
            now + time::Duration::hours(1),
        ),
    ] {
        app.store
            .create_session(&NewSession {
                id_hash: stock_ticker::portfolio::auth::sha256_hex(id),
                user: user.owner(),
                csrf_token: "t".into(),
                created_at: created,
                expires_at: expires,
            })
            .await
            .unwrap();
        let r = anonymous()
            .get(app.url("/portfolio"))
            .header("cookie", format!("st_session={id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{id}");
        assert!(location(&r).starts_with("/login"), "{id}");
    }
    let gone = app
        .store
        .session(&stock_ticker::portfolio::auth::sha256_hex("old"), now)
        .await
        .unwrap();
    assert!(
        gone.is_none(),
        "a session past its absolute expiry is deleted"
    );
}

#[tokio::test]
async fn the_cli_lists_accounts_and_resets_passwords() {
    let app = spawn_app().await;
    let bin = env!("CARGO_BIN_EXE_stock-ticker");
    let db = app.database_url();
    let list = Command::new(bin)
        .args(["user", "list"])
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("alice\tadmin"));
    let mut reset = Command::new(bin)
        .args(["user", "reset-password", USER, "--password-stdin"])
        .env("DATABASE_URL", &db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    reset
        .stdin
        .take()
        .unwrap()
        .write_all(b"brand new password\n")
        .unwrap();
    assert!(reset.wait_with_output().unwrap().status.success());
    assert_eq!(
        app.get("/portfolio").await.status(),
        303,
        "the old session ended"
    );
    assert_eq!(login(&app, USER, "brand new password").await.status(), 303);
    let short = Command::new(bin)
        .args(["user", "add", "eve"])
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(
        !short.status.success(),
        "the password must come on standard input"
    );
}

#[tokio::test]
async fn next_never_leads_off_the_site() {
    let app = spawn_app().await;
    for next in [
        "//evil.example/x",
        "/\t/evil.example/x",
        "/\\evil.example",
        "/\n/evil.example",
        "https://evil.example",
        "/%0a",
    ] {
        let r = login_next(&app, next).await;
        assert_eq!(r.status(), 303, "{next:?}");
        let to = location(&r);
        assert!(
            to == "/portfolio" || to == "/%0a",
            "{next:?} went to {to:?}"
        );
    }
}

#[tokio::test]
async fn parallel_guesses_cannot_slip_past_the_throttle() {
    let app = spawn_app().await;
    let guesses = (0..20).map(|i| {
        let url = app.url("/login");
        async move {
            anonymous()
                .post(url)
                .form(&[
                    ("username", USER),
                    ("password", format!("wrong guess {i}").as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(
        checked, 5,
        "only the free attempts were checked: {statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 15);
}
