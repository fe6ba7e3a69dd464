//! `/api/v1/summary`: the portfolio's totals in your base currency, as the portfolio page's
//! summary and totals row show them: values and cash at today's exchange rates; costs,
//! realized gains, dividends and interest at the rate of each one's own day; the gain split
//! into the prices' part and the currencies'.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::{SortDir, SortKey};
use crate::portfolio::holding_accounts;
use crate::portfolio::holdings::{self, Listing};
use crate::web::AppState;
use crate::web::error::{ApiError, AppError, Problem};
use crate::web::extract::ApiQuery;
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new().route("/summary", get(get_summary))
}

/// One currency's rate to the base currency today.
#[derive(Debug, Serialize, ToSchema)]
pub struct FxRateOut {
    #[schema(example = "EUR")]
    pub currency: String,
    /// Base-currency units one unit of `currency` buys.
    #[schema(value_type = String, example = "1.0850")]
    pub rate: Decimal,
}

/// A day whose exchange rate was missing.
#[derive(Debug, Serialize, ToSchema)]
pub struct FxGapOut {
    #[schema(example = "EUR")]
    pub currency: String,
    /// The day a transaction needed a rate for.
    #[schema(value_type = String, format = Date)]
    pub day: String,
    /// The day of the rate used instead (the nearest earlier one); `null`: none was known
    /// that early, so today's rate was used.
    #[schema(value_type = Option<String>, format = Date, required = true)]
    pub used: Option<String>,
}

/// The totals, in `currency`. Amounts are rounded to 8 places.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryOut {
    /// Your base currency.
    #[schema(example = "USD")]
    pub currency: String,
    /// The holdings' market value (holdings without a price left out).
    #[schema(value_type = String)]
    pub value: Decimal,
    /// The cash of the accounts that track it; `null` when none shown does.
    #[schema(value_type = Option<String>, required = true)]
    pub cash: Option<Decimal>,
    /// The value and the cash.
    #[schema(value_type = String)]
    pub net_worth: Decimal,
    /// Today's change of the holdings' value.
    #[schema(value_type = String)]
    pub day_change: Decimal,
    /// What the holdings with a price and a known cost cost, at the rates of their purchases'
    /// own days (a holding entered without transactions, and a currency in
    /// `today_rate_currencies`, at today's).
    #[schema(value_type = String)]
    pub cost: Decimal,
    /// Their unrealized gain: value less cost; `price_gain` + `currency_gain`.
    #[schema(value_type = String)]
    pub gain: Decimal,
    /// The part of `gain` the prices made (the gain in each holding's own currency, at
    /// today's rate).
    #[schema(value_type = String)]
    pub price_gain: Decimal,
    /// The part of `gain` the currencies made (the cost at today's rates less at the
    /// purchases' own); zero when everything is in the base currency.
    #[schema(value_type = String)]
    pub currency_gain: Decimal,
    /// Gains realized by sells, each at its own days' rates.
    #[schema(value_type = String)]
    pub realized: Decimal,
    /// Dividends received, net of their fees, each at its day's rate.
    #[schema(value_type = String)]
    pub dividends: Decimal,
    /// Interest received less fees charged to accounts, each at its day's rate.
    #[schema(value_type = String)]
    pub interest: Decimal,
    /// `gain` + `realized` + `dividends` + `interest`.
    #[schema(value_type = String)]
    pub total_gain: Decimal,
    /// Holdings without a price (left out of `value` and `gain`).
    pub unpriced_holdings: usize,
    /// Currencies with no exchange rate to `currency` now (left out of every figure).
    pub left_out_currencies: Vec<String>,
    /// Today's rates used.
    pub rates: Vec<FxRateOut>,
    /// Currencies whose past rates are not known yet: their amounts use today's rate.
    pub today_rate_currencies: Vec<String>,
    /// Days whose rate came from another day.
    pub fx_gaps: Vec<FxGapOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SummaryParams {
    /// Only this account's holdings and cash (404 when it is not one of yours).
    pub account_id: Option<i64>,
}

/// Your portfolio's totals.
#[utoipa::path(get, path = "/api/v1/summary", tag = "holdings", params(SummaryParams),
    responses(
        (status = 200, description = "The totals in your base currency", body = SummaryOut),
        (status = 400, description = "A parameter is not a number or not known", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_summary(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(params): ApiQuery<SummaryParams>,
) -> Result<Json<SummaryOut>, ApiError> {
    let owner = user.owner();
    let store = state.store.as_ref();
    if let Some(id) = params.account_id
        && !holding_accounts::list(store, owner)
            .await?
            .iter()
            .any(|a| a.id == id)
    {
        return Err(AppError::not_found(format!("You have no account {id}.")).into());
    }
    let base = store.base_currency(owner).await.map_err(AppError::from)?;
    // One version for the positions and the records they are set beside.
    let version = store
        .holdings_version(owner)
        .await
        .map_err(AppError::from)?;
    let listing = Listing {
        account: params.account_id,
        key: SortKey::Symbol,
        dir: SortDir::Asc,
    };
    let cache = &state.holdings;
    let positions =
        holdings::load_listing(store, &state.quotes, cache, owner, Some(version), listing).await?;
    let reader = state.reader(owner, Some(version));
    let t = holdings::with_cash(reader, &positions, params.account_id, &base).await?;
    let s = &t.total;
    let round = |d: Decimal| d.round_dp(8).normalize();
    Ok(Json(SummaryOut {
        value: round(s.value),
        cash: t.cash_tracked.then(|| round(s.cash)),
        net_worth: round(s.net_worth().unwrap_or(s.value)),
        day_change: round(s.day_change),
        cost: round(s.cost),
        gain: round(s.gain),
        price_gain: round(t.price_gain().unwrap_or(s.gain)),
        currency_gain: round(t.currency_gain.unwrap_or_default()),
        realized: round(s.realized),
        dividends: round(s.dividends),
        interest: round(s.interest),
        total_gain: round(s.total_gain().unwrap_or(s.gain)),
        unpriced_holdings: t.unpriced,
        left_out_currencies: t.no_rate.clone(),
        rates: t
            .rates
            .iter()
            .map(|(currency, rate)| FxRateOut {
                currency: currency.clone(),
                rate: rate.normalize(),
            })
            .collect(),
        today_rate_currencies: t.fx_today.clone(),
        fx_gaps: t
            .fx_gaps
            .iter()
            .map(|g| FxGapOut {
                currency: g.currency.clone(),
                day: g.day.to_string(),
                used: g.used.map(|d| d.to_string()),
            })
            .collect(),
        currency: base,
    }))
}
