//! The `stock-ticker` binary itself: subcommands, defaults and start-up errors.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_stock-ticker");

/// The binary with only the variables a test gives it.
fn command(db_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "info");
    cmd
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
            .list_holdings(stock_ticker::store::DEFAULT_OWNER)
            .await
            .unwrap()
            .is_empty()
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
