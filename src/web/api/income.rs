//! `/api/v1/income`: dividends and interest by month, year, holding and account, in your base
//! currency, with the last twelve months and the yield on cost.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::income::{Split, yield_on_cost};
use crate::portfolio::{holding_accounts, income};
use crate::web::AppState;
use crate::web::error::{ApiError, AppError, Problem};
use crate::web::extract::ApiQuery;
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new().route("/income", get(get_income))
}

/// Dividends (net of their fees) and interest of one period, in the base currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodOut {
    /// `2024` for a year, `2024-03` for a month.
    #[schema(example = "2024-03")]
    pub period: String,
    #[schema(value_type = String)]
    pub dividends: Decimal,
    #[schema(value_type = String)]
    pub interest: Decimal,
    #[schema(value_type = String)]
    pub total: Decimal,
}

impl PeriodOut {
    fn new(period: String, s: &Split) -> Self {
        PeriodOut {
            period,
            dividends: s.dividends.round_dp(2).normalize(),
            interest: s.interest.round_dp(2).normalize(),
            total: s.total().round_dp(2).normalize(),
        }
    }
}

/// One holding's dividends.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldingIncomeOut {
    pub holding_id: i64,
    #[schema(example = "KO")]
    pub symbol: String,
    #[schema(value_type = String)]
    pub all_time: Decimal,
    #[schema(value_type = String)]
    pub trailing_12m: Decimal,
    /// The last twelve months' dividends as a percent of what the units held now cost;
    /// `null` when nothing is held or its cost is unknown.
    #[schema(value_type = Option<String>, required = true)]
    pub yield_on_cost: Option<Decimal>,
}

/// One account's income.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountIncomeOut {
    pub account_id: i64,
    pub account: String,
    #[schema(value_type = String)]
    pub dividends: Decimal,
    #[schema(value_type = String)]
    pub interest: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncomeOut {
    /// Your base currency, which every amount is in (each converted at its own day's rate).
    #[schema(example = "USD")]
    pub currency: String,
    /// Every month from the first payment's to this one, oldest first (zero where none).
    pub months: Vec<PeriodOut>,
    /// Every year with a payment, oldest first.
    pub years: Vec<PeriodOut>,
    /// The twelve months up to today (from the day after the same day a year ago).
    pub trailing_12m: PeriodOut,
    /// The last twelve months' dividends of the holdings held now as a percent of what they
    /// cost (holdings sold meanwhile, or of unknown cost, left out of both).
    #[schema(value_type = Option<String>, required = true)]
    pub yield_on_cost: Option<Decimal>,
    pub holdings: Vec<HoldingIncomeOut>,
    pub accounts: Vec<AccountIncomeOut>,
    /// Currencies of payments left out: no exchange rate to `currency`.
    pub left_out_currencies: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IncomeParams {
    /// Only this account's income (404 when it is not one of yours).
    pub account_id: Option<i64>,
}

/// Your income: dividends and interest.
#[utoipa::path(get, path = "/api/v1/income", tag = "cash", params(IncomeParams),
    responses(
        (status = 200, description = "Income by month, year, holding and account", body = IncomeOut),
        (status = 400, description = "A parameter is not a number or not known", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_income(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(params): ApiQuery<IncomeParams>,
) -> Result<Json<IncomeOut>, ApiError> {
    let owner = user.owner();
    let store = state.store.as_ref();
    let accounts = holding_accounts::list(store, owner).await?;
    if let Some(id) = params.account_id
        && !accounts.iter().any(|a| a.id == id)
    {
        return Err(AppError::not_found(format!("You have no account {id}.")).into());
    }
    let base = store.base_currency(owner).await.map_err(AppError::from)?;
    let reader = state.reader(owner, None);
    let report = income::report(reader, &base, params.account_id).await?;
    let i = &report.income;
    let round = |d: Decimal| d.round_dp(2).normalize();
    Ok(Json(IncomeOut {
        currency: base,
        months: i
            .months
            .iter()
            .map(|((y, m), s)| PeriodOut::new(format!("{y}-{m:02}"), s))
            .collect(),
        years: i
            .years
            .iter()
            .map(|(y, s)| PeriodOut::new(y.to_string(), s))
            .collect(),
        trailing_12m: PeriodOut::new("trailing 12 months".into(), &i.trailing_12m),
        yield_on_cost: report.yield_on_cost(),
        holdings: i
            .holdings
            .iter()
            .map(|(id, h)| HoldingIncomeOut {
                holding_id: *id,
                symbol: h.symbol.clone(),
                all_time: round(h.all_time),
                trailing_12m: round(h.trailing_12m),
                yield_on_cost: yield_on_cost(
                    h.trailing_12m,
                    report.holding_cost.get(id).copied().unwrap_or_default(),
                ),
            })
            .collect(),
        accounts: accounts
            .iter()
            .filter(|a| params.account_id.is_none_or(|only| only == a.id))
            .map(|a| {
                let s = i.accounts.get(&a.id).copied().unwrap_or_default();
                AccountIncomeOut {
                    account_id: a.id,
                    account: a.name.clone(),
                    dividends: round(s.dividends),
                    interest: round(s.interest),
                }
            })
            .collect(),
        left_out_currencies: i.no_rate.iter().cloned().collect(),
    }))
}
