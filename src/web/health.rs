//! What operators and load balancers ask: `/healthz` (the process answers), `/readyz` (the
//! database answers too) and `/metrics` (Prometheus text; on its own listener when
//! `METRICS_BIND` is set, so a public load balancer never reaches it).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

/// The checks; `/metrics` too when it has no listener of its own.
pub fn router(with_metrics: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    if with_metrics {
        router.route("/metrics", get(metrics_text))
    } else {
        router
    }
}

/// The listener of `METRICS_BIND`: `/metrics` and nothing else.
pub fn metrics_router() -> Router {
    Router::new().route("/metrics", get(metrics_text))
}

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Prometheus text: requests and latencies by route, upstream calls by provider and outcome,
/// quote cache results.
async fn metrics_text() -> Response {
    let body = crate::telemetry::metrics().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
