//! `/api/v1/assets/{symbol}/prices`: an owner's prices for their items.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{DecimalInput, decimal_schema, path_symbol, validation};
use crate::domain::PricePoint;
use crate::portfolio::items;
use crate::web::AppState;
use crate::web::error::{ApiError, Problem};
use crate::web::extract::{ApiJson, ApiPath};
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{symbol}/prices", post(add_price))
}

/// A price an owner enters for an item.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// The day of the price, from 1900-01-01; a day after today (UTC) answers 409.
    #[schema(value_type = String, format = Date, example = "2024-11-01")]
    pub date: String,
    #[schema(schema_with = cost_schema_required)]
    pub price: DecimalInput,
}

fn cost_schema_required() -> utoipa::openapi::schema::Schema {
    decimal_schema(
        false,
        false,
        "The price: 0 or more, at most 8 decimal places.",
    )
}

/// Record a price for an item (the latest one is its price).
#[utoipa::path(post, path = "/api/v1/assets/{symbol}/prices", tag = "quotes",
    params(("symbol" = String, Path, description = "The item's symbol", max_length = 20, pattern = r"^[A-Za-z0-9._=^-]*[A-Za-z0-9][A-Za-z0-9._=^-]*$")),
    request_body(content = PriceInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = PricePoint),
        (status = 404, description = "No item with this symbol is held", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A date after today (UTC)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid date or price", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_price(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(symbol): ApiPath<String>,
    ApiJson(input): ApiJson<PriceInput>,
) -> Result<Response, ApiError> {
    let symbol = path_symbol(&symbol)?;
    let item = items::held(state.store.as_ref(), user.owner(), &symbol).await?;
    let price = input
        .price
        .decimal("price")
        .map_err(|e| validation(vec![e]))?;
    let point = items::add_price(&state.quotes, &item, &input.date, price).await?;
    Ok((StatusCode::CREATED, Json(point)).into_response())
}
