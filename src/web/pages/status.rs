//! `/status`: each price service's health, requests used and limits.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::layout::Layout;
use crate::market::CircuitState;
use crate::web::AppState;
use crate::web::format;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new().route("/status", get(status_page))
}

/// A row of the status table.
pub struct ProviderRow {
    pub name: &'static str,
    pub kinds: String,
    pub circuit: &'static str,
    pub circuit_class: &'static str,
    pub history: &'static str,
    pub history_class: &'static str,
    pub last_success: String,
    pub last_error: String,
    pub usage: String,
}

/// A circuit's words and badge colour.
fn badge(circuit: CircuitState) -> (&'static str, &'static str) {
    match circuit {
        CircuitState::Closed => ("closed (working)", "text-bg-success"),
        CircuitState::HalfOpen => ("half-open (probing)", "text-bg-warning"),
        CircuitState::Open => ("open (paused after failures)", "text-bg-danger"),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "status.html")]
pub struct StatusPage {
    layout: Layout,
    providers: Vec<ProviderRow>,
    breaker_failures: u32,
    breaker_first_pause: u64,
    breaker_cool_down: u64,
}

async fn status_page(State(state): State<AppState>, auth: Authed) -> StatusPage {
    let providers = state
        .quotes
        .health()
        .await
        .into_iter()
        .map(|h| {
            let (circuit, circuit_class) = badge(h.circuit);
            let (history, history_class) = badge(h.history_circuit);
            let mut usage = format!("{} today", h.requests_today);
            if let Some(d) = h.per_day {
                usage.push_str(&format!(" of {d} a day"));
            }
            if let Some(m) = h.per_minute {
                usage.push_str(&format!("; at most {m} a minute"));
            }
            ProviderRow {
                name: h.name,
                kinds: h
                    .kinds
                    .iter()
                    .map(|k| k.label())
                    .collect::<Vec<_>>()
                    .join(", "),
                circuit,
                circuit_class,
                history,
                history_class,
                last_success: h
                    .last_success
                    .map(format::timestamp)
                    .unwrap_or_else(|| "—".into()),
                last_error: match (h.last_failure, h.last_error) {
                    (Some(t), Some(e)) => format!("{} — {e}", format::timestamp(t)),
                    _ => "—".into(),
                },
                usage,
            }
        })
        .collect();
    StatusPage {
        layout: Layout::new("status", &auth),
        providers,
        breaker_failures: state.config.circuit_breaker_failures,
        breaker_first_pause: state.config.circuit_breaker_first_pause_secs,
        breaker_cool_down: state.config.circuit_breaker_cool_down_secs,
    }
}
