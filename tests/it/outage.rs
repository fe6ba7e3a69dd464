//! The database going away mid-request, as a PostgreSQL restart or failover does (its backend
//! terminated with `pg_terminate_backend`): a read is made again on a fresh connection and
//! succeeds, a write answers 503 with `Retry-After` and a problem body, and no write that was
//! acknowledged is lost.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::helpers::{TestApp, TestDb, spawn_app_on};

async fn app(test: &str) -> Option<(TestApp, PgConnection)> {
    let db = TestDb::postgres(test).await?;
    let app = spawn_app_on(db).await;
    let admin = PgConnection::connect(&app.database_url())
        .await
        .expect("a connection of the test's own");
    Some((app, admin))
}

/// Locks `table` in the test's open transaction, so the app's next use of it waits.
async fn lock(admin: &mut PgConnection, table: &str) {
    sqlx::query("BEGIN").execute(&mut *admin).await.unwrap();
    sqlx::query(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        .execute(&mut *admin)
        .await
        .unwrap();
}

/// The backend pid of the app's connection that waits for the lock (a client's, never an
/// autovacuum worker's, which may wait for the same lock).
async fn waiter(admin: &mut PgConnection) -> i32 {
    for _ in 0..400 {
        let waiting: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND backend_type = 'client backend' AND wait_event_type = 'Lock' LIMIT 1",
        )
        .fetch_optional(&mut *admin)
        .await
        .unwrap();
        if let Some(pid) = waiting {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no request of the app waited for the lock");
}

async fn terminate(admin: &mut PgConnection, pid: i32) {
    let done: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut *admin)
        .await
        .unwrap();
    assert!(done, "backend {pid} terminated");
}

#[tokio::test]
async fn a_read_that_loses_its_connection_is_made_again_and_succeeds() {
    let Some((app, mut admin)) = app("outage::read").await else {
        return;
    };
    app.add_holding("PAINTING", "item", "1").await;

    // Every API request reads its token first: the read waits there, inside the database.
    lock(&mut admin, "api_tokens").await;
    let client = app.client.clone();
    let url = app.url("/api/v1/holdings");
    let read = tokio::spawn(async move { client.get(url).send().await });
    let pid = waiter(&mut admin).await;
    terminate(&mut admin, pid).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("COMMIT").execute(&mut admin).await.unwrap();

    let answer = read.await.unwrap().unwrap();
    assert_eq!(answer.status(), 200, "the read was made again");
    let list: Value = answer.json().await.unwrap();
    assert_eq!(list["items"][0]["symbol"], "PAINTING");
}

#[tokio::test]
async fn a_write_that_loses_its_connection_answers_503_and_can_be_sent_again() {
    let Some((app, mut admin)) = app("outage::write").await else {
        return;
    };
    lock(&mut admin, "holdings").await;
    let client = app.client.clone();
    let url = app.url("/api/v1/holdings");
    let write = tokio::spawn(async move {
        client
            .post(url)
            .json(&json!({"symbol": "VASE", "kind": "item", "quantity": "2"}))
            .send()
            .await
    });
    let pid = waiter(&mut admin).await;
    terminate(&mut admin, pid).await;
    let answer = write.await.unwrap().unwrap();
    sqlx::query("COMMIT").execute(&mut admin).await.unwrap();

    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["retry-after"], "2");
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    let problem: Value = answer.json().await.unwrap();
    assert_eq!(problem["status"], 503);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("The database is not answering right now"),
        "{problem}"
    );
    let list: Value = app.get("/api/v1/holdings").await.json().await.unwrap();
    assert_eq!(list["total"], 0, "the write was not committed");
    assert_eq!(
        app.post_holding(json!({"symbol": "VASE", "kind": "item", "quantity": "2"}))
            .await
            .status(),
        201,
        "sent again, it goes through"
    );

    // A page that loses its connection says what to do, with the same status.
    let client = app.client.clone();
    let url = app.url("/portfolio");
    let csrf = app.csrf.clone();
    lock(&mut admin, "holdings").await;
    let form = tokio::spawn(async move {
        client
            .post(url)
            .form(&[
                ("csrf", csrf.as_str()),
                ("symbol", "LAMP"),
                ("kind", "item"),
                ("quantity", "1"),
            ])
            .send()
            .await
    });
    let pid = waiter(&mut admin).await;
    terminate(&mut admin, pid).await;
    let answer = form.await.unwrap().unwrap();
    sqlx::query("COMMIT").execute(&mut admin).await.unwrap();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["retry-after"], "2");
    let html = answer.text().await.unwrap();
    assert!(html.contains("The database is not answering right now"));
}

#[tokio::test]
async fn connections_killed_all_through_a_run_of_writes_lose_no_acknowledged_write() {
    let Some((app, mut admin)) = app("outage::writes").await else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut killed = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .fetch_one(&mut admin)
                .await
                .unwrap();
                killed += u64::try_from(n).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            killed
        })
    };
    let mut acknowledged = HashSet::new();
    let mut unavailable = 0;
    for i in 0..150 {
        let symbol = format!("ITEM{i}");
        let answer = app
            .post_holding(json!({"symbol": symbol, "kind": "item", "quantity": "1"}))
            .await;
        match answer.status().as_u16() {
            201 => {
                acknowledged.insert(symbol);
            }
            503 => {
                assert!(answer.headers().contains_key("retry-after"));
                unavailable += 1;
            }
            other => panic!(
                "{symbol}: {other} {}",
                answer.text().await.unwrap_or_default()
            ),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let killed = killer.await.unwrap();
    assert!(killed > 0, "connections were killed");

    let stored: HashSet<String> = app
        .holdings()
        .await
        .into_iter()
        .map(|h| h.asset.symbol.to_string())
        .collect();
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    eprintln!(
        "{} acknowledged, {unavailable} answered 503, {killed} connections killed",
        acknowledged.len()
    );
}
