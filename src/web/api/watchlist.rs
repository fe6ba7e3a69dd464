//! `/api/v1/watchlist`: symbols followed without holding them.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{MarketKind, body_symbol};
use crate::domain::watch::{Watched, market_kind};
use crate::domain::{AssetKind, DomainError, Problems, Quote, Symbol};
use crate::portfolio::watchlist;
use crate::web::AppState;
use crate::web::error::{ApiError, AppError, Problem};
use crate::web::extract::{ApiJson, ApiPath};
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/watchlist", get(list_watchlist).post(watch))
        .route("/watchlist/{id}", get(get_watched).delete(unwatch))
}

/// A watched symbol with its latest quote.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchOut {
    pub id: i64,
    #[schema(example = "AAPL")]
    pub symbol: String,
    /// Always a kind with a market price.
    #[schema(value_type = MarketKind)]
    pub kind: AssetKind,
    #[schema(required = true)]
    pub name: Option<String>,
    /// The currency prices are in.
    #[schema(example = "USD")]
    pub currency: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The latest quote; null when no provider could price the asset.
    #[schema(required = true)]
    pub quote: Option<Quote>,
}

impl From<Watched> for WatchOut {
    fn from(w: Watched) -> Self {
        let name = w.name().map(str::to_string);
        let currency = w.currency().to_string();
        let Watched { entry, quote } = w;
        WatchOut {
            id: entry.id,
            symbol: entry.asset.symbol.to_string(),
            kind: entry.asset.kind,
            name,
            currency,
            created_at: entry.created_at,
            quote,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WatchList {
    pub items: Vec<WatchOut>,
    pub total: usize,
}

/// A symbol to watch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchInput {
    /// Ticker: letters, digits and `. - = ^ _`, at most 20 characters; stored upper-cased.
    #[schema(
        example = "AAPL",
        max_length = 20,
        pattern = r"^[A-Za-z0-9._=^-]*[A-Za-z0-9][A-Za-z0-9._=^-]*$"
    )]
    pub symbol: String,
    /// Defaults to `stock`. An item cannot be watched (it has no market price).
    #[serde(default)]
    #[schema(value_type = Option<MarketKind>)]
    pub kind: Option<AssetKind>,
}

impl WatchInput {
    /// The API's exact symbol form and a kind with a market price; every bad field once.
    fn validate(&self) -> Result<(Symbol, AssetKind), DomainError> {
        let mut p = Problems::default();
        let symbol = body_symbol(&mut p, &self.symbol);
        let kind = market_kind(self.kind.unwrap_or(AssetKind::Stock))
            .map_err(|e| p.0.push(e))
            .ok();
        p.finish(symbol.zip(kind))
    }
}

/// The watchlist, by symbol, with quotes.
#[utoipa::path(get, path = "/api/v1/watchlist", tag = "watchlist",
    responses(
        (status = 200, description = "Every watched symbol, by symbol; `quote` is null for one without a price", body = WatchList),
        (status = 503, description = "The request ran past the time limit", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_watchlist(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<WatchList>, ApiError> {
    let watched = watchlist::load(state.store.as_ref(), &state.quotes, user.owner()).await?;
    let items: Vec<WatchOut> = watched.into_iter().map(WatchOut::from).collect();
    Ok(Json(WatchList {
        total: items.len(),
        items,
    }))
}

/// Watch a symbol (at most 50 per account).
#[utoipa::path(post, path = "/api/v1/watchlist", tag = "watchlist",
    request_body(content = WatchInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Watched; `Location` names the new entry", body = WatchOut,
            headers(("location" = String, description = "URL of the new entry"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already watched (`existing_id` names that entry), the watchlist is full (50), or a stock's symbol was sent as a crypto or commodity that their services cannot confirm right now", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid symbol or kind, an item, or an unknown symbol", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The request ran past the time limit", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn watch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<WatchInput>,
) -> Result<Response, ApiError> {
    let (symbol, kind) = input.validate().map_err(AppError::Domain)?;
    let watched = watchlist::add(
        state.store.as_ref(),
        &state.quotes,
        user.owner(),
        symbol,
        kind,
    )
    .await?;
    let location = format!("/api/v1/watchlist/{}", watched.entry.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(WatchOut::from(watched)),
    )
        .into_response())
}

/// One watched symbol with its quote.
#[utoipa::path(get, path = "/api/v1/watchlist/{id}", tag = "watchlist",
    params(("id" = i64, Path, description = "Watchlist entry id")),
    responses(
        (status = 200, description = "The entry", body = WatchOut),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The request ran past the time limit", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_watched(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<WatchOut>, ApiError> {
    let entry = watchlist::owned(state.store.as_ref(), user.owner(), id).await?;
    let watched = watchlist::with_quote(&state.quotes, entry).await;
    Ok(Json(WatchOut::from(watched)))
}

/// Stop watching a symbol.
#[utoipa::path(delete, path = "/api/v1/watchlist/{id}", tag = "watchlist",
    params(("id" = i64, Path, description = "Watchlist entry id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unwatch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    watchlist::remove(state.store.as_ref(), user.owner(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
