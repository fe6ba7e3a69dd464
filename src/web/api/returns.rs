//! `/api/v1/returns`: the money-weighted return a year (XIRR) since the first money in, and
//! the time- and money-weighted returns over 1M, YTD, 1Y, 3Y, 5Y and All, of the whole
//! portfolio, each account and each holding, in your base currency at today's rates.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{MarketKind, body_symbol};
use crate::domain::{AssetKind, DomainError, Problems, Symbol};
use crate::portfolio::performance;
use crate::web::extract::ApiJson;

use crate::domain::returns::ReturnRange;
use crate::portfolio::holdings::{self, Measure};
use crate::portfolio::performance::RangeReturn;
use crate::web::AppState;
use crate::web::error::{ApiError, AppError, Problem};
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new().route("/returns", get(get_returns)).route(
        "/benchmark",
        get(get_benchmark)
            .put(put_benchmark)
            .delete(delete_benchmark),
    )
}

/// A money-weighted return a year, or why there is none.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateOut {
    /// The yearly rate as a fraction (`0.1234` is +12.34 % a year); `null` when there is none.
    #[schema(value_type = Option<String>, required = true, example = "0.1234")]
    pub xirr: Option<Decimal>,
    /// The day of the first money in or out it counts from.
    #[schema(value_type = Option<String>, format = Date, required = true)]
    pub since: Option<String>,
    /// Why there is no rate; `null` when there is one.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// The returns over 1M, YTD, 1Y, 3Y, 5Y and All, in that order.
    pub ranges: Vec<RangeOut>,
}

/// The returns over one range: from the end of `from` to the end of today.
#[derive(Debug, Serialize, ToSchema)]
pub struct RangeOut {
    #[schema(example = "1y")]
    pub range: ReturnRange,
    /// The day whose closing value the range starts from; `null`: from before the first money
    /// in (All, or a range reaching back further than that).
    #[schema(value_type = Option<String>, format = Date, required = true)]
    pub from: Option<String>,
    /// The time-weighted return over the range as a fraction (`0.05` is +5 %), money put in or
    /// taken out left out; `null` when there is none.
    #[schema(value_type = Option<String>, required = true, example = "0.05")]
    pub twr: Option<Decimal>,
    /// The time-weighted return as a rate a year, for ranges of a year or more; else `null`.
    #[schema(value_type = Option<String>, required = true)]
    pub twr_a_year: Option<Decimal>,
    /// Why there is no time-weighted return; `null` when there is one.
    #[schema(required = true)]
    pub twr_reason: Option<String>,
    /// The money-weighted return a year over the range (XIRR: the value at its start as money
    /// put in then); `null` when there is none.
    #[schema(value_type = Option<String>, required = true)]
    pub xirr: Option<Decimal>,
    /// The money-weighted return over the whole range (the yearly rate compounded over it);
    /// `null` when there is none.
    #[schema(value_type = Option<String>, required = true)]
    pub mwr: Option<Decimal>,
    /// Why there is no money-weighted return; `null` when there is one.
    #[schema(required = true)]
    pub xirr_reason: Option<String>,
    /// The benchmark's price change over the range (from its last close on or before `from`,
    /// or before the first money in); `null` when none is chosen or it has no close then.
    #[schema(value_type = Option<String>, required = true)]
    pub benchmark: Option<Decimal>,
}

impl From<&RangeReturn> for RangeOut {
    fn from(r: &RangeReturn) -> Self {
        RangeOut {
            range: r.range,
            from: r.from.map(|d| d.to_string()),
            twr: r.twr.as_ref().ok().map(|t| t.normalize()),
            twr_a_year: r.twr_a_year.map(|t| t.normalize()),
            twr_reason: r.twr.as_ref().err().map(ToString::to_string),
            xirr: r.xirr.as_ref().ok().map(|x| x.normalize()),
            mwr: r.mwr.map(|m| m.normalize()),
            benchmark: r.benchmark.and_then(|b| b.ok()).map(|b| b.normalize()),
            xirr_reason: r.xirr.as_ref().err().map(ToString::to_string),
        }
    }
}

impl From<&Measure> for RateOut {
    fn from(((rate, since), ranges): &Measure) -> Self {
        RateOut {
            xirr: rate.as_ref().ok().map(|r| r.normalize()),
            since: since.map(|d| d.to_string()),
            reason: rate.as_ref().err().map(ToString::to_string),
            ranges: ranges.iter().map(RangeOut::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountRateOut {
    pub account_id: i64,
    pub account: String,
    #[serde(flatten)]
    pub rate: RateOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldingRateOut {
    pub holding_id: i64,
    #[schema(example = "AAPL")]
    pub symbol: String,
    #[serde(flatten)]
    pub rate: RateOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnsOut {
    /// Your base currency: amounts convert into it at today's rates.
    #[schema(example = "USD")]
    pub currency: String,
    pub portfolio: RateOut,
    /// The market asset the ranges' `benchmark` figures are of; `null` when none is chosen.
    #[schema(required = true)]
    pub benchmark: Option<BenchmarkOut>,
    pub accounts: Vec<AccountRateOut>,
    pub holdings: Vec<HoldingRateOut>,
}

/// Money-weighted returns a year (XIRR) since the first money in, and time- and
/// money-weighted returns over each range: the whole portfolio, each account (its transfers
/// count as money in and out) and each holding (its trades, as if paid from outside).
#[utoipa::path(get, path = "/api/v1/returns", tag = "cash",
    responses((status = 200, description = "Every money-weighted return", body = ReturnsOut)))]
pub async fn get_returns(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<ReturnsOut>, ApiError> {
    let owner = user.owner();
    let store = state.store.as_ref();
    let base = store.base_currency(owner).await.map_err(AppError::from)?;
    let report = holdings::returns(store, &state.quotes, &state.holdings, owner, &base).await?;
    Ok(Json(ReturnsOut {
        currency: report.base,
        portfolio: RateOut::from(&report.portfolio),
        benchmark: report.benchmark.map(BenchmarkOut::from),
        accounts: report
            .accounts
            .iter()
            .map(|(id, name, rate)| AccountRateOut {
                account_id: *id,
                account: name.clone(),
                rate: RateOut::from(rate),
            })
            .collect(),
        holdings: report
            .holdings
            .iter()
            .map(|(id, symbol, rate)| HoldingRateOut {
                holding_id: *id,
                symbol: symbol.clone(),
                rate: RateOut::from(rate),
            })
            .collect(),
    }))
}

/// The market asset the returns are set beside.
#[derive(Debug, Serialize, ToSchema)]
pub struct BenchmarkOut {
    #[schema(example = "SPY")]
    pub symbol: String,
    pub kind: AssetKind,
}

impl From<(Symbol, AssetKind)> for BenchmarkOut {
    fn from((symbol, kind): (Symbol, AssetKind)) -> Self {
        BenchmarkOut {
            symbol: symbol.to_string(),
            kind,
        }
    }
}

/// The benchmark to choose.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkInput {
    /// An index or a fund that follows one: letters, digits and `. - = ^ _`, at most 20
    /// characters; a price service must price it now.
    #[schema(
        example = "SPY",
        max_length = 20,
        pattern = r"^[A-Za-z0-9._=^-]*[A-Za-z0-9][A-Za-z0-9._=^-]*$"
    )]
    pub symbol: String,
    /// Defaults to `etf`.
    #[serde(default)]
    pub kind: Option<MarketKind>,
}

/// The benchmark chosen.
#[utoipa::path(get, path = "/api/v1/benchmark", tag = "cash",
    responses(
        (status = 200, description = "The benchmark", body = BenchmarkOut),
        (status = 404, description = "None is chosen", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_benchmark(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<BenchmarkOut>, ApiError> {
    let chosen = state
        .store
        .benchmark(user.owner())
        .await
        .map_err(AppError::from)?;
    match chosen {
        Some(b) => Ok(Json(BenchmarkOut::from(b))),
        None => Err(AppError::from(DomainError::NotFound("No benchmark is chosen.".into())).into()),
    }
}

/// Chooses the benchmark: its price change over each range is given beside the returns.
#[utoipa::path(put, path = "/api/v1/benchmark", tag = "cash",
    request_body(content = BenchmarkInput, content_type = "application/json"),
    responses(
        (status = 200, description = "Chosen", body = BenchmarkOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No price service can price it right now, or a stock's symbol was sent as a crypto or commodity that their services cannot confirm; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A symbol no price service knows, or malformed; nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_benchmark(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<BenchmarkInput>,
) -> Result<Json<BenchmarkOut>, ApiError> {
    let mut p = Problems::default();
    let symbol = body_symbol(&mut p, &input.symbol);
    p.finish(symbol).map_err(AppError::from)?;
    let kind = AssetKind::from(input.kind.unwrap_or(MarketKind::Etf));
    let chosen = performance::set_benchmark(
        state.store.as_ref(),
        &state.quotes,
        user.owner(),
        &input.symbol,
        kind.as_str(),
    )
    .await?;
    match chosen {
        Some(b) => Ok(Json(BenchmarkOut::from(b))),
        None => Err(AppError::BadRequest("A benchmark needs a symbol.".into()).into()),
    }
}

/// Chooses no benchmark.
#[utoipa::path(delete, path = "/api/v1/benchmark", tag = "cash",
    responses((status = 204, description = "None is chosen now")))]
pub async fn delete_benchmark(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .set_benchmark(user.owner(), None)
        .await
        .map_err(AppError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
