//! The `stock-ticker` binary itself: subcommands, defaults and start-up errors.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::TestDb;

pub const BIN: &str = env!("CARGO_BIN_EXE_stock-ticker");

/// The binary with only the variables a test gives it.
pub fn command(db_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "info");
    cmd
}

/// Adds an account with the command line (`user add NAME --password-stdin`).
pub fn add_user(db_url: &str, name: &str, password: &str) {
    let mut add = command(db_url)
        .args(["user", "add", name, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let line = format!("{password}\n");
    std::io::Write::write_all(&mut add.stdin.take().unwrap(), line.as_bytes()).unwrap();
    assert!(add.wait().unwrap().success());
}

#[tokio::test]
async fn migrate_creates_the_schema_and_exits_zero() {
    let db = TestDb::sqlite().await;

    let out = command(&db.url)
        .arg("migrate")
        .output()
        .expect("run migrate");

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied (sqlite)"));
    let again = command(&db.url)
        .arg("migrate")
        .output()
        .expect("run migrate again");
    assert!(again.status.success(), "migrating twice is fine");
    assert!(
        db.store()
            .await
            .list_holdings(stock_ticker::domain::DEFAULT_OWNER)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn too_few_database_connections_for_the_import_workers_is_a_clear_start_up_error() {
    let db = TestDb::sqlite().await;
    let out = command(&db.url)
        .arg("serve")
        .env("BIND", "127.0.0.1:0")
        .env("DATABASE_MAX_CONNECTIONS", "4")
        .env("IMPORT_WORKERS", "2")
        .output()
        .expect("run serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DATABASE_MAX_CONNECTIONS=4 is too few for IMPORT_WORKERS=2")
            && stderr.contains("at least 5"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_bad_database_url_is_a_clear_start_up_error_without_the_password() {
    for (url, expected) in [
        ("mysql://root:hunter2@localhost/x", "sqlite: or postgres:"),
        (
            "postgres://app:hunter2@127.0.0.1:1/none",
            "cannot open the database postgres://app:***@127.0.0.1:1/none",
        ),
    ] {
        let out = command(url).arg("migrate").output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}");
        assert!(stderr.contains(expected), "{url}: {stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "{url}: the password leaked: {stderr}"
        );
    }
}

#[tokio::test]
async fn with_no_subcommand_it_serves_and_stops_cleanly_on_sigterm() {
    let db = TestDb::sqlite().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = command(&db.url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start server");

    let url = format!("http://127.0.0.1:{port}/about");
    let mut answered = false;
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(&url).await {
            assert_eq!(r.status(), 200);
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "the server answered on BIND");

    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .expect("wait");
    assert!(out.status.success(), "exit 0 after SIGTERM");
    let logs = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|_| panic!("LOG_FORMAT=json gives JSON lines: {l}"))
        })
        .collect();
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(messages.contains(&"listening"), "{messages:?}");
    assert!(messages.contains(&"stopped"), "{messages:?}");
}

/// Starts `stock-ticker serve` (the container's command) on a free port; waits until it answers.
async fn serve(db_url: &str, iex: &str) -> (std::process::Child, u16) {
    serve_with(db_url, iex, &[]).await
}

/// The same with more environment variables.
pub async fn serve_with(
    db_url: &str,
    iex: &str,
    env: &[(&str, &str)],
) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = command(db_url)
        .arg("serve")
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("IEX_BASE_URL", iex)
        .env("QUOTE_PROVIDERS_STOCK", "iex")
        .env("QUOTE_TIMEOUT_SECS", "10")
        .env("REFRESH_INTERVAL_SECS", "0")
        .env("SHUTDOWN_GRACE_SECS", "10")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start server");
    for _ in 0..100 {
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            panic!("the server exited ({status}): {stderr}");
        }
        if reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .is_ok()
        {
            return (child, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start");
}

fn healthcheck(port: u16) -> bool {
    Command::new(BIN)
        .arg("healthcheck")
        .env_clear()
        .env("BIND", format!("0.0.0.0:{port}"))
        .output()
        .expect("run healthcheck")
        .status
        .success()
}

#[tokio::test]
async fn healthcheck_passes_while_serving_and_fails_when_down() {
    let db = TestDb::sqlite().await;
    let (child, port) = serve(&db.url, "").await;

    assert!(healthcheck(port), "the server answers /healthz");
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success());
    assert!(!healthcheck(port), "nothing answers any more");
}

#[tokio::test]
async fn sigterm_lets_a_slow_request_finish_refuses_new_ones_and_exits_zero() {
    let db = TestDb::sqlite().await;
    let iex = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/stable/stock/slow/quote"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(crate::helpers::iex_quote("SLOW", "Slow", 5.0))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&iex)
        .await;
    add_user(&db.url, "ops", "ops password 123");
    let token = command(&db.url)
        .args(["token", "create", "ops", "--label", "t"])
        .output()
        .unwrap();
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    // A quote read that waits for the slow service (reads wait 800 ms by default).
    let (child, port) =
        serve_with(&db.url, &iex.uri(), &[("QUOTE_PAGE_DEADLINE_MS", "5000")]).await;
    let base = format!("http://127.0.0.1:{port}");

    let slow = tokio::spawn({
        let url = format!("{base}/api/v1/quotes/SLOW");
        let token = token.clone();
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let fresh = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(fresh.is_err(), "a new connection after SIGTERM is refused");
    assert_eq!(
        slow.await
            .unwrap()
            .expect("the in-flight request completes"),
        200
    );
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "exit 0");
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopped"));
}

/// `holdings add-account` and `holdings accounts`: the default first, a clash refused.
#[tokio::test]
async fn accounts_are_listed_and_added_from_the_command_line() {
    let db = TestDb::sqlite().await;
    add_user(&db.url, "carol", "a long password 1");
    let run = |args: &[&str]| command(&db.url).args(args).output().expect("run");
    let added = run(&["holdings", "add-account", "--user", "carol", "Broker"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let id = String::from_utf8_lossy(&added.stdout).trim().to_string();
    let listed = run(&["holdings", "accounts", "--user", "carol"]);
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].ends_with("\t0\tDefault"), "{listed}");
    assert_eq!(lines[1], format!("{id}\t0\tBroker"));
    let clash = run(&["holdings", "add-account", "--user", "carol", "broker"]);
    assert!(!clash.status.success());
    assert!(
        String::from_utf8_lossy(&clash.stderr).contains("already have an account named"),
        "{}",
        String::from_utf8_lossy(&clash.stderr)
    );
    let nobody = run(&["holdings", "accounts", "--user", "nobody"]);
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("there is no user nobody"));
}
