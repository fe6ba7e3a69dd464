//! A Yahoo-format price service for `scripts/bench-portfolio`, fast enough not to be what is
//! measured (scripts/fake-upstream.py serves about 1,100 requests/s here; this, tens of
//! thousands). Every chart request answers the current price after the current delay:
//!
//!   GET /v8/finance/chart/{code}   a quote with two daily closes
//!   GET /__mode?state=ok|fail|hang&delay_ms=N&price=P   change how it answers (any subset)
//!   GET /__count   chart requests since the last reset: {"total": N, "paths": {...}}
//!   GET /__reset   forget the counts
//!
//! Usage: `cargo run --release --example fake_upstream -- 127.0.0.1:9000 50` (port, delay ms).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

#[derive(Clone, Copy)]
enum Answer {
    Ok,
    Fail,
    Hang,
}

struct Mode {
    answer: Answer,
    delay: Duration,
    price: f64,
    counts: BTreeMap<String, u64>,
}

type Shared = Arc<Mutex<Mode>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Mode> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

async fn chart(State(shared): State<Shared>, Path(code): Path<String>) -> Response {
    let (answer, delay, price) = {
        let mut mode = lock(&shared);
        *mode
            .counts
            .entry(format!("/v8/finance/chart/{code}"))
            .or_default() += 1;
        (mode.answer, mode.delay, mode.price)
    };
    match answer {
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Answer::Fail => {
            tokio::time::sleep(delay).await;
            return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
        }
        Answer::Ok => tokio::time::sleep(delay).await,
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    axum::Json(json!({"chart": {"result": [{
        "meta": {"currency": "USD", "symbol": code, "regularMarketPrice": price,
                 "previousClose": 120.0, "regularMarketTime": now, "longName": format!("{code} Inc")},
        "timestamp": [now - 172_800, now - 86_400],
        "indicators": {"quote": [{"close": [118.0, 120.0]}]}}], "error": null}}))
    .into_response()
}

async fn set_mode(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut mode = lock(&shared);
    match query.get("state").map(String::as_str) {
        Some("ok") => mode.answer = Answer::Ok,
        Some("fail") => mode.answer = Answer::Fail,
        Some("hang") => mode.answer = Answer::Hang,
        Some(other) => {
            return (StatusCode::BAD_REQUEST, format!("no state {other}")).into_response();
        }
        None => {}
    }
    if let Some(ms) = query.get("delay_ms").and_then(|v| v.parse::<f64>().ok()) {
        mode.delay = Duration::from_secs_f64(ms.max(0.0) / 1000.0);
    }
    if let Some(price) = query.get("price").and_then(|v| v.parse().ok()) {
        mode.price = price;
    }
    "ok".into_response()
}

async fn count(State(shared): State<Shared>) -> Response {
    let mode = lock(&shared);
    let total: u64 = mode.counts.values().sum();
    axum::Json(json!({"total": total, "paths": mode.counts})).into_response()
}

async fn reset(State(shared): State<Shared>) -> &'static str {
    lock(&shared).counts.clear();
    "{}"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:9000".into());
    let delay_ms: u64 = args.next().and_then(|d| d.parse().ok()).unwrap_or(0);
    let shared = Arc::new(Mutex::new(Mode {
        answer: Answer::Ok,
        delay: Duration::from_millis(delay_ms),
        price: 123.45,
        counts: BTreeMap::new(),
    }));
    let app = Router::new()
        .route("/v8/finance/chart/{code}", get(chart))
        .route("/__mode", get(set_mode))
        .route("/__count", get(count))
        .route("/__reset", get(reset))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, app).await
}
