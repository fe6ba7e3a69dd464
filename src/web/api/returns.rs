//! `/api/v1/returns`: the money-weighted return a year (XIRR) since the first money in, and
//! the time- and money-weighted returns over 1M, YTD, 1Y, 3Y, 5Y and All, of the whole
//! portfolio, each account and each holding, in your base currency at today's rates.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::returns::ReturnRange;
use crate::portfolio::holdings::{self, Measure};
use crate::portfolio::performance::RangeReturn;
use crate::web::AppState;
use crate::web::error::{ApiError, AppError};
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new().route("/returns", get(get_returns))
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
