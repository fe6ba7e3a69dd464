//! `/income`: dividends and interest by month (a bar chart of the last twelve and its table),
//! by year, by holding and by account, in the base currency; every account or one.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::income::{Split, month_label, yield_on_cost};
use crate::portfolio::{holding_accounts, income, today};
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::PageQuery;
use crate::web::format;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new().route("/income", get(income_page))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct IncomeQuery {
    account: Option<i64>,
}

/// One month's bar: its dividends at the bottom, its interest on top, in a 600 × 200 box.
pub struct BarView {
    pub x: String,
    pub dividends_y: String,
    pub dividends_height: String,
    pub interest_y: String,
    pub interest_height: String,
    /// "Mar"; on a phone "M".
    pub short: String,
    pub initial: String,
    pub title: String,
}

/// One row of a table of periods.
pub struct PeriodRow {
    pub label: String,
    pub dividends: String,
    pub interest: String,
    pub total: String,
}

impl PeriodRow {
    fn new(label: String, s: &Split) -> Self {
        PeriodRow {
            label,
            dividends: format::fixed(s.dividends, 2),
            interest: format::fixed(s.interest, 2),
            total: format::fixed(s.total(), 2),
        }
    }
}

pub struct HoldingRow {
    pub symbol: String,
    pub href: String,
    pub all_time: String,
    pub trailing: String,
    pub yield_on_cost: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "income.html")]
pub struct IncomePage {
    layout: Layout,
    base: String,
    /// "All accounts" and each account (label, href, active), with two or more.
    account_links: Vec<(String, String, bool)>,
    this_year: String,
    year: i32,
    trailing: String,
    trailing_dividends: String,
    trailing_interest: String,
    yield_on_cost: String,
    /// The largest month of the chart, its axis's top.
    axis_top: String,
    bars: Vec<BarView>,
    months: Vec<PeriodRow>,
    years: Vec<PeriodRow>,
    holdings: Vec<HoldingRow>,
    accounts: Vec<PeriodRow>,
    left_out: Option<String>,
    /// Where past exchange rates were missing, in words.
    fx_notes: Vec<String>,
    has_income: bool,
}

/// A yield: "5.30%".
fn share(d: Decimal) -> String {
    format!("{}%", format::fixed(d, 2))
}

/// Chart height in the box's units, and where its baseline is.
const PLOT_TOP: f64 = 8.0;
const BASELINE: f64 = 196.0;

async fn income_page(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(q): PageQuery<IncomeQuery>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let store = state.store.as_ref();
    let accounts = holding_accounts::list(store, owner).await?;
    if let Some(id) = q.account
        && !accounts.iter().any(|a| a.id == id)
    {
        return Err(AppError::not_found(format!("You have no account {id}.")).into());
    }
    let base = auth.base_currency.clone();
    let reader = state.reader(owner, None);
    let report = income::report(reader, &base, q.account).await?;
    let income = &report.income;
    let today = today();
    let money = |d: Decimal| format!("{} {base}", format::fixed(d, 2));

    let twelve = income.last_twelve_months(today);
    let top = twelve
        .iter()
        .map(|(_, s)| s.total())
        .max()
        .unwrap_or_default();
    let scale = |d: Decimal| {
        let top = top.to_f64().unwrap_or(0.0);
        if top <= 0.0 {
            0.0
        } else {
            // A month whose fees outweigh its dividends draws no bar below the baseline.
            (d.to_f64().unwrap_or(0.0) / top * (BASELINE - PLOT_TOP)).max(0.0)
        }
    };
    let px = |x: f64| format!("{x:.1}");
    let bars = twelve
        .iter()
        .enumerate()
        .map(|(i, (month, s))| {
            let dividends = scale(s.dividends);
            let interest = scale(s.interest);
            let label = month_label(*month);
            BarView {
                x: px(i as f64 * 50.0 + 8.0),
                dividends_y: px(BASELINE - dividends),
                dividends_height: px(dividends),
                interest_y: px(BASELINE - dividends - interest),
                interest_height: px(interest),
                short: label.chars().take(3).collect(),
                initial: label.chars().take(1).collect(),
                title: format!(
                    "{label}: {} (dividends {}, interest {})",
                    money(s.total()),
                    format::fixed(s.dividends, 2),
                    format::fixed(s.interest, 2)
                ),
            }
        })
        .collect();
    let months = twelve
        .iter()
        .rev()
        .map(|(m, s)| PeriodRow::new(month_label(*m), s))
        .collect();
    let years = income
        .years
        .iter()
        .rev()
        .map(|(y, s)| PeriodRow::new(y.to_string(), s))
        .collect();
    let mut holdings: Vec<(Decimal, HoldingRow)> = income
        .holdings
        .iter()
        .map(|(id, h)| {
            let cost = report.holding_cost.get(id).copied().unwrap_or_default();
            (
                h.trailing_12m,
                HoldingRow {
                    symbol: h.symbol.clone(),
                    href: format!("/portfolio/{id}"),
                    all_time: format::fixed(h.all_time, 2),
                    trailing: format::fixed(h.trailing_12m, 2),
                    yield_on_cost: format::or_dash(yield_on_cost(h.trailing_12m, cost).map(share)),
                },
            )
        })
        .collect();
    holdings.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.symbol.cmp(&b.1.symbol)));
    let account_rows = if q.account.is_none() && accounts.len() > 1 {
        accounts
            .iter()
            .map(|a| {
                let s = income.accounts.get(&a.id).copied().unwrap_or_default();
                PeriodRow::new(a.name.clone(), &s)
            })
            .collect()
    } else {
        Vec::new()
    };
    let account_links = if accounts.len() > 1 {
        std::iter::once((
            "All accounts".to_string(),
            "/income".to_string(),
            q.account.is_none(),
        ))
        .chain(accounts.iter().map(|a| {
            (
                a.name.clone(),
                format!("/income?account={}", a.id),
                q.account == Some(a.id),
            )
        }))
        .collect()
    } else {
        Vec::new()
    };
    let this_year = income.years.get(&today.year()).copied().unwrap_or_default();
    let page = IncomePage {
        layout: Layout::new("income", &auth),
        account_links,
        this_year: money(this_year.total()),
        year: today.year(),
        trailing: money(income.trailing_12m.total()),
        trailing_dividends: format::fixed(income.trailing_12m.dividends, 2),
        trailing_interest: format::fixed(income.trailing_12m.interest, 2),
        yield_on_cost: format::or_dash(report.yield_on_cost().map(share)),
        axis_top: money(top),
        bars,
        months,
        years,
        holdings: holdings.into_iter().map(|(_, h)| h).collect(),
        accounts: account_rows,
        left_out: (!income.no_rate.is_empty()).then(|| {
            format!(
                "Left out: payments in {} (no exchange rate to {base}).",
                income
                    .no_rate
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }),
        has_income: !income.years.is_empty(),
        fx_notes: format::fx_notes(&base, &report.fx_today, &report.fx_gaps),
        base,
    };
    Ok(page.into_response())
}
