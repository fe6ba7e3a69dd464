//! `/api/v1/holdings`: list (sorted), add, read, replace, change and delete holdings.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::{DecimalInput, amount, body_date, body_symbol, cost_schema, quantity_schema};
use crate::domain::amount::parse_notes;
use crate::domain::holding::{check_cost, check_quantity};
use crate::domain::{
    AssetKind, DomainError, Holding, OwnerId, Position, Problems, Quote, SortDir, SortKey,
    ValidHolding,
};
use crate::portfolio::holdings;
use crate::web::AppState;
use crate::web::error::{ApiError, AppError, Problem};
use crate::web::extract::{ApiJson, ApiPath, ApiQuery};
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/holdings", get(list_holdings).post(create_holding))
        .route(
            "/holdings/{id}",
            get(get_holding)
                .put(replace_holding)
                .patch(patch_holding)
                .delete(delete_holding),
        )
}

async fn owned_holding(state: &AppState, owner: OwnerId, id: i64) -> Result<Holding, ApiError> {
    Ok(holdings::owned(state.store.as_ref(), owner, id).await?)
}

/// A holding with its latest quote.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldingOut {
    pub id: i64,
    #[schema(example = "AAPL")]
    pub symbol: String,
    pub kind: AssetKind,
    #[schema(required = true)]
    pub name: Option<String>,
    /// The currency prices are in.
    #[schema(example = "USD")]
    pub currency: String,
    #[schema(value_type = String, example = "10.5")]
    pub quantity: Decimal,
    /// Average cost per unit, in the asset's currency.
    #[schema(value_type = Option<String>, example = "150.25", required = true)]
    pub cost_basis: Option<Decimal>,
    #[schema(required = true)]
    pub notes: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Quantity times the quote's price; null without a quote.
    #[schema(value_type = Option<String>, required = true)]
    pub market_value: Option<Decimal>,
    /// What the units held cost in total (average cost, fees included); null when a buy had no price.
    #[schema(value_type = Option<String>, required = true)]
    pub cost_total: Option<Decimal>,
    /// Market value less cost; null without a price or a known cost.
    #[schema(value_type = Option<String>, required = true)]
    pub unrealized_gain: Option<Decimal>,
    /// The unrealized gain as a percent of the cost.
    #[schema(value_type = Option<String>, required = true)]
    pub unrealized_gain_percent: Option<Decimal>,
    /// Gains realized by sells, less standalone fees.
    #[schema(value_type = Option<String>, required = true)]
    pub realized_gain: Option<Decimal>,
    /// Dividends received, net of their fees.
    #[schema(value_type = Option<String>, required = true)]
    pub dividends: Option<Decimal>,
    /// Quantity times today's price change.
    #[schema(value_type = Option<String>, required = true)]
    pub day_change: Option<Decimal>,
    /// The latest quote; null when no provider could price the asset.
    #[schema(required = true)]
    pub quote: Option<Quote>,
}

impl From<Position> for HoldingOut {
    fn from(p: Position) -> Self {
        let market_value = p.market_value().map(|v| v.normalize());
        let name = p.name().map(str::to_string);
        let currency = p.currency().to_string();
        let n = |d: Option<Decimal>| d.map(|d| d.round_dp(8).normalize());
        let (cost_total, unrealized_gain, unrealized_gain_percent) =
            (n(p.cost()), n(p.gain()), n(p.gain_percent()));
        let (realized_gain, dividends, day_change) =
            (n(p.realized()), n(p.dividends()), n(p.day_change()));
        let Position {
            holding: h, quote, ..
        } = p;
        HoldingOut {
            id: h.id,
            symbol: h.asset.symbol.to_string(),
            kind: h.asset.kind,
            name,
            currency,
            quantity: h.quantity.normalize(),
            cost_basis: h.cost_basis.map(|c| c.normalize()),
            notes: h.notes,
            created_at: h.created_at,
            updated_at: h.updated_at,
            market_value,
            cost_total,
            unrealized_gain,
            unrealized_gain_percent,
            realized_gain,
            dividends,
            day_change,
            quote,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldingList {
    pub items: Vec<HoldingOut>,
    pub total: usize,
}

/// A new holding, or the full replacement of one (PUT).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldingInput {
    /// Ticker: letters, digits and `. - = ^ _`, at most 20 characters; stored upper-cased.
    #[schema(
        example = "AAPL",
        max_length = 20,
        pattern = r"^[A-Za-z0-9._=^-]*[A-Za-z0-9][A-Za-z0-9._=^-]*$"
    )]
    pub symbol: String,
    /// Defaults to `stock`.
    #[serde(default)]
    pub kind: Option<AssetKind>,
    /// Greater than 0, at most 1,000,000,000,000, at most 8 decimal places.
    #[schema(schema_with = quantity_schema)]
    pub quantity: DecimalInput,
    /// Average cost per unit: 0 or more, at most 8 decimal places; null or absent for none.
    #[serde(default)]
    #[schema(schema_with = cost_schema)]
    pub cost_basis: Option<DecimalInput>,
    /// At most 1,000 characters.
    #[serde(default)]
    #[schema(
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub notes: Option<String>,
    /// The day it was bought, `YYYY-MM-DD` from 1900-01-01: its opening buy's day (today when
    /// absent on adding; kept when absent on a replace). A day after today (UTC), or moving the
    /// day of a holding with more transactions than its opening buy, answers 409.
    #[serde(default)]
    #[schema(example = "2024-03-01")]
    pub date: Option<String>,
}

impl HoldingInput {
    /// Reads the body's exact forms, then applies the rules every holding meets; reports
    /// every bad field once, in field order.
    fn validate(&self) -> Result<ValidHolding, DomainError> {
        let mut p = Problems::default();
        let symbol = body_symbol(&mut p, &self.symbol);
        let quantity = amount(&mut p, "quantity", Some(&self.quantity), check_quantity);
        let cost_basis = match &self.cost_basis {
            None => Some(None),
            Some(c) => amount(&mut p, "cost_basis", Some(c), check_cost).map(Some),
        };
        let notes = p.check("notes", parse_notes(self.notes.as_deref().unwrap_or("")));
        let opened = match &self.date {
            None => Some(None),
            Some(d) => body_date(&mut p, d).map(Some),
        };
        let valid = match (symbol, quantity, cost_basis, notes, opened) {
            (Some(symbol), Some(quantity), Some(cost_basis), Some(notes), Some(opened)) => {
                Some(ValidHolding {
                    symbol,
                    kind: self.kind.unwrap_or(AssetKind::Stock),
                    quantity,
                    cost_basis,
                    notes,
                    opened,
                })
            }
            _ => None,
        };
        p.finish(valid)
    }
}

/// Reads a present field, null included, as `Some(..)`, so absent and null stay apart.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to some fields of a holding; absent fields stay, null clears `cost_basis` or `notes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldingPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = quantity_schema)]
    pub quantity: Option<Option<DecimalInput>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = cost_schema)]
    pub cost_basis: Option<Option<DecimalInput>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$")]
    pub notes: Option<Option<String>>,
}

impl HoldingPatch {
    /// The holding with the fields sent changed, the others as they are; every field checked
    /// again by the rules every holding meets. A body amount in the wrong form is refused
    /// alone, before any rule.
    fn apply(&self, existing: &Holding) -> Result<ValidHolding, DomainError> {
        let read = |value: &DecimalInput, field| {
            value
                .decimal(field)
                .map_err(|e| DomainError::Invalid(vec![e]))
        };
        let quantity = match &self.quantity {
            Some(Some(v)) => Some(read(v, "quantity")?),
            // Null is no quantity, which the rule refuses.
            Some(None) => None,
            None => Some(Ok(existing.quantity)),
        };
        let cost_basis = match &self.cost_basis {
            Some(Some(v)) => Some(read(v, "cost_basis")?),
            Some(None) => None,
            None => existing.cost_basis.map(Ok),
        };
        let mut p = Problems::default();
        // The limits apply to what is sent; a field left out stays as it is, even past them
        // (transactions can take a holding there).
        let quantity = match quantity {
            Some(Ok(q)) if self.quantity.is_none() => Some(q),
            Some(q) => p.check("quantity", check_quantity(q)),
            None => {
                p.push("quantity", "Quantity is required.");
                None
            }
        };
        let cost_basis = match cost_basis {
            Some(Ok(c)) if self.cost_basis.is_none() => Some(Some(c)),
            Some(c) => p.check("cost_basis", check_cost(c)).map(Some),
            None => Some(None),
        };
        let notes = match &self.notes {
            Some(n) => n.clone().unwrap_or_default(),
            None => existing.notes.clone().unwrap_or_default(),
        };
        let notes = p.check("notes", parse_notes(&notes));
        let valid = match (quantity, cost_basis, notes) {
            (Some(quantity), Some(cost_basis), Some(notes)) => Some(ValidHolding {
                symbol: existing.asset.symbol.clone(),
                kind: existing.asset.kind,
                quantity,
                cost_basis,
                notes,
                opened: None,
            }),
            _ => None,
        };
        p.finish(valid)
    }
}

/// How to order the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SortParams {
    /// Column to sort by; default `symbol`. Missing values sort last either way.
    pub sort: Option<SortKey>,
    /// `asc` (default) or `desc`.
    pub dir: Option<SortDir>,
}

/// List holdings with their quotes.
#[utoipa::path(get, path = "/api/v1/holdings", tag = "holdings", params(SortParams),
    responses(
        (status = 200, description = "All holdings, sorted", body = HoldingList),
        (status = 400, description = "Unknown sort column or direction", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_holdings(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(params): ApiQuery<SortParams>,
) -> Result<Json<HoldingList>, ApiError> {
    let positions = holdings::load(
        state.store.as_ref(),
        &state.quotes,
        &state.holdings,
        user.owner(),
        None,
        params.sort.unwrap_or_default(),
        params.dir.unwrap_or_default(),
    )
    .await?;
    let items: Vec<_> = positions.into_iter().map(HoldingOut::from).collect();
    Ok(Json(HoldingList {
        total: items.len(),
        items,
    }))
}

/// Add a holding.
#[utoipa::path(post, path = "/api/v1/holdings", tag = "holdings",
    request_body(content = HoldingInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `Location` names the new holding", body = HoldingOut,
            headers(("location" = String, description = "URL of the new holding"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The asset is already held (`existing_id` names that holding), a `date` after today (UTC), or a stock's symbol was sent as a crypto or commodity that their services cannot confirm right now", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or unknown symbol", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_holding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<HoldingInput>,
) -> Result<Response, ApiError> {
    let valid = input.validate().map_err(AppError::Domain)?;
    let p = holdings::create(state.store.as_ref(), &state.quotes, user.owner(), valid).await?;
    let location = format!("/api/v1/holdings/{}", p.holding.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(HoldingOut::from(p)),
    )
        .into_response())
}

/// One holding with its quote.
#[utoipa::path(get, path = "/api/v1/holdings/{id}", tag = "holdings",
    params(("id" = i64, Path, description = "Holding id")),
    responses(
        (status = 200, description = "The holding", body = HoldingOut),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such holding", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_holding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HoldingOut>, ApiError> {
    let holding = owned_holding(&state, user.owner(), id).await?;
    let quote = holdings::current_quote(&state.quotes, user.owner(), &holding).await;
    let position = holdings::position(state.store.as_ref(), user.owner(), holding, quote).await?;
    Ok(Json(HoldingOut::from(position)))
}

/// Replace a holding (every field; absent optional fields are cleared).
#[utoipa::path(put, path = "/api/v1/holdings/{id}", tag = "holdings",
    params(("id" = i64, Path, description = "Holding id")),
    request_body(content = HoldingInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated holding", body = HoldingOut),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such holding", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another holding already holds that asset, the holding's quantity, cost and purchase day come from its transactions, a `date` after today (UTC), or a stock's symbol was sent as a crypto or commodity that their services cannot confirm right now", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or unknown symbol", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace_holding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<HoldingInput>,
) -> Result<Json<HoldingOut>, ApiError> {
    let existing = owned_holding(&state, user.owner(), id).await?;
    let valid = input.validate().map_err(AppError::Domain)?;
    let p = holdings::update(
        state.store.as_ref(),
        &state.quotes,
        user.owner(),
        &existing,
        valid,
    )
    .await?;
    Ok(Json(HoldingOut::from(p)))
}

/// Change some fields of a holding.
#[utoipa::path(patch, path = "/api/v1/holdings/{id}", tag = "holdings",
    params(("id" = i64, Path, description = "Holding id")),
    request_body(content = HoldingPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated holding", body = HoldingOut),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such holding", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The holding's quantity and cost come from its transactions", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_holding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<HoldingPatch>,
) -> Result<Json<HoldingOut>, ApiError> {
    let existing = owned_holding(&state, user.owner(), id).await?;
    let valid = patch.apply(&existing).map_err(AppError::Domain)?;
    let p = holdings::update(
        state.store.as_ref(),
        &state.quotes,
        user.owner(),
        &existing,
        valid,
    )
    .await?;
    Ok(Json(HoldingOut::from(p)))
}

/// Delete a holding.
#[utoipa::path(delete, path = "/api/v1/holdings/{id}", tag = "holdings",
    params(("id" = i64, Path, description = "Holding id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such holding", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_holding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    holdings::delete(state.store.as_ref(), user.owner(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
