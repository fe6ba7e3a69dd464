//! `/api/v1/quotes` (one or several symbols) and `/api/v1/assets/{symbol}/history`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{MarketKind, QuoteParams, exact_symbol, path_symbol, validation};
use crate::domain::{AssetKey, AssetKind, FieldError, HistoryRange, PricePoint, Quote, Symbol};
use crate::portfolio::quotes;
use crate::web::AppState;
use crate::web::error::{ApiError, AppError, Problem};
use crate::web::extract::{ApiPath, ApiQuery};
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/quotes", get(get_quotes))
        .route("/quotes/{symbol}", get(get_quote))
        .route("/assets/{symbol}/history", get(get_history))
}

/// The latest quote for a symbol.
#[utoipa::path(get, path = "/api/v1/quotes/{symbol}", tag = "quotes",
    params(("symbol" = String, Path, description = "Ticker, for example AAPL", max_length = 20, pattern = r"^[A-Za-z0-9._=^-]*[A-Za-z0-9][A-Za-z0-9._=^-]*$"), QuoteParams),
    responses(
        (status = 200, description = "The quote", body = Quote),
        (status = 400, description = "Unknown kind (items have no market price)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No provider knows the symbol", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed symbol", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every provider failed; `detail` names them", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_quote(
    State(state): State<AppState>,
    ApiUser(_): ApiUser,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(params): ApiQuery<QuoteParams>,
) -> Result<Json<Quote>, ApiError> {
    let symbol = path_symbol(&symbol)?;
    let kind = params.kind.map_or(AssetKind::Stock, AssetKind::from);
    let quote = quotes::look_up(&state.quotes, &symbol, kind)
        .await
        .map_err(AppError::Domain)?;
    Ok(Json(quote))
}

/// Most symbols one `GET /quotes` may ask for.
const MAX_SYMBOLS: usize = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuotesParams {
    /// Comma-separated symbols, at most 50; malformed or unknown ones are listed in `missing`.
    #[param(example = "AAPL,MSFT", pattern = r"^[^,]*(,[^,]*){0,49}$")]
    pub symbols: String,
    /// Kind of every symbol; default `stock`.
    pub kind: Option<MarketKind>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteList {
    pub items: Vec<Quote>,
    /// Symbols no provider could price, and malformed ones, as sent.
    pub missing: Vec<String>,
}

/// Quotes for several symbols at once.
#[utoipa::path(get, path = "/api/v1/quotes", tag = "quotes", params(QuotesParams),
    responses(
        (status = 200, description = "The quotes found, and the symbols without one", body = QuoteList),
        (status = 400, description = "Missing `symbols` or unknown kind", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than 50 symbols", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The request ran past the time limit", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_quotes(
    State(state): State<AppState>,
    ApiUser(_): ApiUser,
    ApiQuery(params): ApiQuery<QuotesParams>,
) -> Result<Json<QuoteList>, ApiError> {
    let kind = params.kind.map_or(AssetKind::Stock, AssetKind::from);
    let parts: Vec<&str> = params.symbols.split(',').collect();
    if parts.len() > MAX_SYMBOLS {
        return Err(validation(vec![FieldError::new(
            "symbols",
            format!("Ask for at most {MAX_SYMBOLS} symbols at once."),
        )]));
    }
    // A malformed symbol is one no service can price: it is reported missing, like an unknown one.
    let mut symbols: Vec<Symbol> = Vec::new();
    let mut missing = Vec::new();
    for raw in parts.into_iter().filter(|p| !p.is_empty()) {
        match Symbol::parse(raw)
            .ok()
            .filter(|_| exact_symbol(raw).is_ok())
        {
            Some(symbol) if !symbols.contains(&symbol) => symbols.push(symbol),
            Some(_) => {}
            None => missing.push(raw.to_string()),
        }
    }
    let keys: Vec<_> = symbols.iter().map(|s| (s.clone(), kind)).collect();
    let mut found = state.quotes.quotes(&keys).await;
    let mut items = Vec::new();
    for key in keys {
        match found.remove(&key) {
            Some(q) => items.push(q),
            None => missing.push(key.0.to_string()),
        }
    }
    Ok(Json(QuoteList { items, missing }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Kind of asset; default `stock`.
    pub kind: Option<AssetKind>,
    /// `1m`, `6m` (default), `1y` or `5y`.
    pub range: Option<HistoryRange>,
}

/// Daily closes of an asset.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    #[schema(example = "AAPL")]
    pub symbol: String,
    pub kind: AssetKind,
    pub range: HistoryRange,
    /// Oldest first.
    pub points: Vec<PricePoint>,
}

/// Price history: stored prices, completed from the first provider that has a daily series.
#[utoipa::path(get, path = "/api/v1/assets/{symbol}/history", tag = "quotes",
    params(("symbol" = String, Path, description = "Ticker or item symbol", max_length = 20, pattern = r"^[A-Za-z0-9._=^-]*[A-Za-z0-9][A-Za-z0-9._=^-]*$"), HistoryParams),
    responses(
        (status = 200, description = "Daily closes, oldest first (empty when none are known)", body = History),
        (status = 400, description = "Unknown kind or range", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed symbol", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every price service asked for the history failed or is paused after failures (`detail` names them and why), or the request ran past the time limit", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_history(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<History>, ApiError> {
    let symbol = path_symbol(&symbol)?;
    let kind = params.kind.unwrap_or(AssetKind::Stock);
    let range = params.range.unwrap_or_default();
    let key = AssetKey {
        symbol: symbol.clone(),
        kind,
        owner: user.owner(),
    };
    let history = state.quotes.history(&key, range).await;
    if let Some(failed) = history.failed {
        return Err(AppError::unavailable(format!(
            "No price history for {symbol} right now: {failed}. An empty history would be 200 with no points; try again in a minute."
        ))
        .into());
    }
    Ok(Json(History {
        symbol: symbol.to_string(),
        kind,
        range,
        points: history.points,
    }))
}
