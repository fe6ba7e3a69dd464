//! The JSON API under `/api/v1`. Errors are `application/problem+json`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::session::ApiUser;
use crate::domain::{AssetKind, Symbol};
use crate::error::{ApiError, AppError, FieldError, Problem};
use crate::market::{HistoryRange, PricePoint, Quote};
use crate::portfolio::{self, HoldingDraft, Position, SortDir, SortKey, ValidHolding};
use crate::store::{AssetKey, Holding, OwnerId};
use crate::watchlist::{self, Watched};

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
        .route("/quotes", get(get_quotes))
        .route("/quotes/{symbol}", get(get_quote))
        .route("/assets/{symbol}/history", get(get_history))
        .route("/assets/{symbol}/prices", axum::routing::post(add_price))
        .route("/watchlist", get(list_watchlist).post(watch))
        .route("/watchlist/{id}", get(get_watched).delete(unwatch))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(super::pages::api_docs))
}

/// The OpenAPI 3.1 document, generated from the handlers and types below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "stock-ticker API",
        description = "Holdings and quotes. Decimals are JSON strings on output and strings or numbers on input. Errors are RFC 9457 problem details."
    ),
    paths(list_holdings, create_holding, get_holding, replace_holding, patch_holding, delete_holding, get_quotes, get_quote, get_history, add_price, list_watchlist, watch, get_watched, unwatch,
        super::transactions::list, super::transactions::create, super::transactions::get_one, super::transactions::replace, super::transactions::remove),
    components(schemas(HoldingOut, HoldingList, HoldingInput, HoldingPatch, Quote, Problem, FieldError, AssetKind, MarketKind, SortKey, SortDir, QuoteList, History, PricePoint, HistoryRange, PriceInput, WatchOut, WatchList, WatchInput,
        super::transactions::TxOut, super::transactions::TxList, super::transactions::TxInput, crate::ledger::TxKind)),
    tags((name = "holdings", description = "Positions in the portfolio"), (name = "quotes", description = "Latest prices"), (name = "transactions", description = "Buys, sells, dividends, fees and splits; holdings follow them"), (name = "watchlist", description = "Symbols followed without holding them")),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// Every operation needs a personal API token and answers 401 without a valid one.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
        let unauthorized = ResponseBuilder::new()
            .description("No valid API token (send `Authorization: Bearer <token>`)")
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "Problem",
                    ))))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .insert("401".into(), RefOr::T(unauthorized.clone()));
            }
        }
    }
}

async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
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

/// A decimal sent as a JSON string (`"10.5"`) or number (`10.5`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DecimalInput {
    Text(String),
    Number(serde_json::Number),
}

impl DecimalInput {
    /// The amount as text, if written in the one plain form the API takes (so that the
    /// OpenAPI patterns describe exactly what is accepted): digits with no sign, no leading
    /// zeros and at most 8 places, or a whole JSON number. Forms are more lenient.
    pub(super) fn plain(&self, field: &str) -> Result<String, FieldError> {
        match self {
            DecimalInput::Text(s) => {
                let (int, frac) = s
                    .split_once('.')
                    .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
                let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
                let int_ok = int == "0" || (digits(int) && !int.starts_with('0'));
                let frac_ok = frac.is_none_or(|f| digits(f) && f.len() <= 8);
                if int_ok && frac_ok {
                    Ok(s.clone())
                } else {
                    Err(FieldError::new(
                        field,
                        "Write the amount as plain digits with at most 8 decimal places, for example \"10.5\".",
                    ))
                }
            }
            DecimalInput::Number(n) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
            // JSON Schema counts 5.0 as an integer; below 2^53 a float says a whole number exactly.
            DecimalInput::Number(n)
                if n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15) =>
            {
                Ok(format!("{:.0}", n.as_f64().unwrap_or_default()))
            }
            DecimalInput::Number(_) => Err(FieldError::new(
                field,
                "Send a fractional amount as a string (\"10.5\") so it stays exact; JSON numbers must be whole.",
            )),
        }
    }
}

/// API symbols are taken as sent: no surrounding spaces to trim (forms trim them).
pub(super) fn exact_symbol(symbol: &str) -> Result<(), FieldError> {
    if symbol.trim() == symbol {
        Ok(())
    } else {
        Err(FieldError::new(
            "symbol",
            "A symbol may not start or end with spaces.",
        ))
    }
}

/// Decimals written as strings: plain digits, at most 8 places, at most 10^12.
const NON_NEGATIVE_DECIMAL: &str =
    r"^((0|[1-9][0-9]{0,11})(\.[0-9]{1,8})?|1000000000000(\.0{1,8})?)$";
/// The same, above zero: below 1, the first non-zero digit may stand in any of the 8 places.
const POSITIVE_DECIMAL: &str = r"^([1-9][0-9]{0,11}(\.[0-9]{1,8})?|0\.([1-9][0-9]{0,7}|0[1-9][0-9]{0,6}|00[1-9][0-9]{0,5}|000[1-9][0-9]{0,4}|0000[1-9][0-9]{0,3}|00000[1-9][0-9]{0,2}|000000[1-9][0-9]{0,1}|0000000[1-9])|1000000000000(\.0{1,8})?)$";

/// A decimal as a string or a whole JSON number. (Fractional JSON numbers are accepted too,
/// but documenting them as strings keeps float rounding out of the contract.)
pub(super) fn decimal_schema(
    positive: bool,
    nullable: bool,
    description: &str,
) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    let text = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(if positive {
            POSITIVE_DECIMAL
        } else {
            NON_NEGATIVE_DECIMAL
        }))
        .examples(["10.5"]);
    let number = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(if positive { 1 } else { 0 }))
        .maximum(Some(1_000_000_000_000_i64));
    let mut one_of = OneOfBuilder::new()
        .item(text)
        .item(number)
        .description(Some(description));
    if nullable {
        one_of = one_of.item(ObjectBuilder::new().schema_type(Type::Null));
    }
    Schema::OneOf(one_of.build())
}

pub(super) fn quantity_schema() -> utoipa::openapi::schema::Schema {
    decimal_schema(
        true,
        false,
        "Greater than 0, at most 1,000,000,000,000, at most 8 decimal places: a string of plain digits (\"10.5\") or a whole number.",
    )
}

pub(super) fn cost_schema() -> utoipa::openapi::schema::Schema {
    decimal_schema(
        false,
        true,
        "Average cost per unit, 0 or more, same form as quantity; null for none.",
    )
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
}

impl HoldingInput {
    /// Checks the API's exact forms, then the rules forms share; reports every bad field once.
    fn validate(&self) -> Result<ValidHolding, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut exact = |checked: Result<String, FieldError>| {
            checked.map_err(|e| errors.push(e)).unwrap_or_default()
        };
        let quantity = exact(self.quantity.plain("quantity"));
        let cost_basis = self
            .cost_basis
            .as_ref()
            .map(|c| exact(c.plain("cost_basis")))
            .unwrap_or_default();
        if let Err(e) = exact_symbol(&self.symbol) {
            errors.push(e);
        }
        let draft = HoldingDraft {
            symbol: self.symbol.clone(),
            kind: self.kind.unwrap_or(AssetKind::Stock).as_str().to_string(),
            quantity,
            cost_basis,
            notes: self.notes.clone().unwrap_or_default(),
        };
        match draft.validate() {
            Ok(valid) if errors.is_empty() => Ok(valid),
            Ok(_) => Err(errors),
            Err(more) => {
                let seen: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
                errors.extend(more.into_iter().filter(|e| !seen.contains(&e.field)));
                errors.sort_by_key(|e| HoldingDraft::FIELDS.iter().position(|f| *f == e.field));
                Err(errors)
            }
        }
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

/// How to order the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SortParams {
    /// Column to sort by; default `symbol`. Missing values sort last either way.
    pub sort: Option<SortKey>,
    /// `asc` (default) or `desc`.
    pub dir: Option<SortDir>,
}

/// Kinds with a market price (items are priced by their owner).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MarketKind {
    Stock,
    Etf,
    Commodity,
    Crypto,
}

impl From<MarketKind> for AssetKind {
    fn from(k: MarketKind) -> Self {
        match k {
            MarketKind::Stock => AssetKind::Stock,
            MarketKind::Etf => AssetKind::Etf,
            MarketKind::Commodity => AssetKind::Commodity,
            MarketKind::Crypto => AssetKind::Crypto,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteParams {
    /// Kind of asset; default `stock`.
    pub kind: Option<MarketKind>,
}

/// A symbol from the path, taken as sent (422 when malformed).
fn path_symbol(raw: &str) -> Result<Symbol, ApiError> {
    exact_symbol(raw).map_err(|e| validation(vec![e]))?;
    Symbol::parse(raw).map_err(|m| validation(vec![FieldError::new("symbol", m)]))
}

pub(super) fn validation(errors: Vec<FieldError>) -> ApiError {
    ApiError(AppError::Validation(errors))
}

async fn owned_holding(state: &AppState, owner: OwnerId, id: i64) -> Result<Holding, ApiError> {
    Ok(portfolio::owned(state.store.as_ref(), owner, id).await?)
}

/// List holdings with their quotes.
#[utoipa::path(get, path = "/api/v1/holdings", tag = "holdings", params(SortParams),
    responses(
        (status = 200, description = "All holdings, sorted", body = HoldingList),
        (status = 400, description = "Unknown sort column or direction", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_holdings(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(params): ApiQuery<SortParams>,
) -> Result<Json<HoldingList>, ApiError> {
    let positions = portfolio::load(
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
        (status = 409, description = "The asset is already held; `existing_id` names that holding", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or unknown symbol", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_holding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<HoldingInput>,
) -> Result<Response, ApiError> {
    let valid = input.validate().map_err(validation)?;
    let p = portfolio::create(state.store.as_ref(), &state.quotes, user.owner(), valid).await?;
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
async fn get_holding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HoldingOut>, ApiError> {
    let holding = owned_holding(&state, user.owner(), id).await?;
    let quote = portfolio::current_quote(&state.quotes, user.owner(), &holding).await;
    let position = portfolio::position(state.store.as_ref(), user.owner(), holding, quote).await?;
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
        (status = 409, description = "Another holding already holds that asset", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or unknown symbol", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace_holding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<HoldingInput>,
) -> Result<Json<HoldingOut>, ApiError> {
    let existing = owned_holding(&state, user.owner(), id).await?;
    let valid = input.validate().map_err(validation)?;
    let p = portfolio::update(
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
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_holding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<HoldingPatch>,
) -> Result<Json<HoldingOut>, ApiError> {
    let existing = owned_holding(&state, user.owner(), id).await?;
    let plain = |value: &Option<Option<DecimalInput>>, field, current: Option<Decimal>| match value
    {
        Some(Some(v)) => v.plain(field).map_err(|e| validation(vec![e])),
        Some(None) => Ok(String::new()),
        None => Ok(current.map(|c| c.to_string()).unwrap_or_default()),
    };
    let draft = HoldingDraft {
        symbol: existing.asset.symbol.to_string(),
        kind: existing.asset.kind.as_str().to_string(),
        quantity: plain(&patch.quantity, "quantity", Some(existing.quantity))?,
        cost_basis: plain(&patch.cost_basis, "cost_basis", existing.cost_basis)?,
        notes: match &patch.notes {
            Some(n) => n.clone().unwrap_or_default(),
            None => existing.notes.clone().unwrap_or_default(),
        },
    };
    let valid = draft.validate().map_err(validation)?;
    let p = portfolio::update(
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
async fn delete_holding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_holding(user.owner(), id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(AppError::NotFound(format!(
            "There is no holding {id}."
        ))))
    }
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
async fn get_quote(
    State(state): State<AppState>,
    ApiUser(_): ApiUser,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(params): ApiQuery<QuoteParams>,
) -> Result<Json<Quote>, ApiError> {
    let symbol = path_symbol(&symbol)?;
    let kind = params.kind.map_or(AssetKind::Stock, AssetKind::from);
    let quote = state.quotes.quote(&symbol, kind).await;
    quote
        .map(Json)
        .map_err(|e| ApiError(AppError::from_quote(&symbol, e, &state.quotes.tried(kind))))
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
async fn get_quotes(
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
        (status = 503, description = "The request ran past the time limit", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_history(
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
    let points = state.quotes.history(&key, range).await.unwrap_or_default();
    Ok(Json(History {
        symbol: symbol.to_string(),
        kind,
        range,
        points,
    }))
}

/// A price an owner enters for an item.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// The day of the price, not in the future.
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
        (status = 422, description = "Invalid date or price", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_price(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(symbol): ApiPath<String>,
    ApiJson(input): ApiJson<PriceInput>,
) -> Result<Response, ApiError> {
    let symbol = path_symbol(&symbol)?;
    super::asset_page::held_item(&state, user.owner(), &symbol).await?;
    let price = input
        .price
        .plain("price")
        .map_err(|e| validation(vec![e]))?;
    let point = super::asset_page::validate_price(&input.date, &price).map_err(validation)?;
    let key = AssetKey {
        symbol,
        kind: AssetKind::Item,
        owner: user.owner(),
    };
    state.quotes.add_manual_price(&key, point.clone()).await?;
    Ok((StatusCode::CREATED, Json(point)).into_response())
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
    fn validate(&self) -> Result<(Symbol, AssetKind), Vec<FieldError>> {
        let mut errors = Vec::new();
        let symbol = match exact_symbol(&self.symbol) {
            Ok(()) => Symbol::parse(&self.symbol)
                .map_err(|m| errors.push(FieldError::new("symbol", m)))
                .ok(),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let kind = watchlist::market_kind(self.kind.unwrap_or(AssetKind::Stock))
            .map_err(|e| errors.push(e))
            .ok();
        match (symbol, kind) {
            (Some(symbol), Some(kind)) => Ok((symbol, kind)),
            _ => Err(errors),
        }
    }
}

/// The watchlist, by symbol, with quotes.
#[utoipa::path(get, path = "/api/v1/watchlist", tag = "watchlist",
    responses(
        (status = 200, description = "Every watched symbol, by symbol; `quote` is null for one without a price", body = WatchList),
        (status = 503, description = "The request ran past the time limit", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_watchlist(
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
        (status = 409, description = "Already watched; `existing_id` names that entry", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid symbol or kind, an item, an unknown symbol, or a full watchlist (50)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The request ran past the time limit", body = Problem, content_type = "application/problem+json"),
    ))]
async fn watch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<WatchInput>,
) -> Result<Response, ApiError> {
    let (symbol, kind) = input.validate().map_err(validation)?;
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
async fn get_watched(
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
async fn unwatch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    if state.store.remove_from_watchlist(user.owner(), id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(AppError::NotFound(format!(
            "There is no watchlist entry {id}."
        ))))
    }
}
