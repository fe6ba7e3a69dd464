//! The Returns card of the portfolio and holding pages (time- and money-weighted returns over
//! each range, beside the chosen benchmark's), the benchmark's form, and the line of the
//! time-weighted return beside the benchmark's under the value chart.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use rust_decimal::Decimal;
use serde::Deserialize;
use time::Date;

use super::layout::{FormView, KindOption, kind_options};
use super::portfolio::{PortfolioQuery, render_portfolio};
use crate::domain::returns::{NoRate, ReturnRange};
use crate::domain::{AssetKind, DomainError, Position, Symbol, Totals};
use crate::portfolio::performance::{self, Comparison, Measured, RangeReturn};
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::extract::{PageForm, PageQuery};
use crate::web::format;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new().route("/portfolio/benchmark", post(set_benchmark))
}

/// One range's row of the returns table.
pub struct ReturnRow {
    pub label: &'static str,
    /// The day it starts from; `None`: from the start (before the first money in).
    pub since: Option<String>,
    pub twr: String,
    pub twr_trend: &'static str,
    /// The time-weighted return a year, for ranges of a year or more.
    pub twr_a_year: Option<String>,
    /// The money-weighted return over the range.
    pub mwr: String,
    pub mwr_trend: &'static str,
    /// The money-weighted return a year, for ranges of more than a year.
    pub xirr_a_year: Option<String>,
    /// The benchmark's price change over the range, when one is chosen.
    pub benchmark: Option<(String, &'static str)>,
}

/// The benchmark's form: what is chosen, or what was typed and why it was refused.
pub struct BenchmarkForm {
    /// Where it posts: the portfolio view it is on comes back after.
    pub action: String,
    pub symbol: String,
    pub kinds: Vec<KindOption>,
    pub error: Option<String>,
}

impl BenchmarkForm {
    fn new(symbol: String, kind: &str, error: Option<String>) -> Self {
        BenchmarkForm {
            action: "/portfolio/benchmark".into(),
            symbol,
            kinds: kind_options(kind, false),
            error,
        }
    }
}

/// The returns card: each range's time- and money-weighted return, and why any is missing.
pub struct ReturnsView {
    pub rows: Vec<ReturnRow>,
    /// Each reason a figure is missing ("—"), once, with the ranges it holds for.
    pub missing: Vec<String>,
    /// The benchmark's symbol, when one is chosen.
    pub benchmark: Option<String>,
    /// The benchmark's form (the portfolio page's card has one).
    pub form: Option<BenchmarkForm>,
    /// History fetches were still running when it was drawn.
    pub complete: bool,
}

/// A fraction as a percent, 2 places; `None` beyond what a decimal holds.
fn percent(fraction: Decimal) -> Option<Decimal> {
    fraction
        .checked_mul(Decimal::ONE_HUNDRED)
        .map(|p| p.round_dp(2))
}

impl ReturnsView {
    fn new(ranges: &[RangeReturn], benchmark: Option<&Symbol>, pending: usize) -> Self {
        let mut missing: Vec<(NoRate, Vec<&'static str>)> = Vec::new();
        let mut cell = |label: &'static str, value: &Result<Decimal, NoRate>| match value
            .and_then(|r| percent(r).ok_or(NoRate::NoConvergence))
        {
            Ok(percent) => (format::percent(percent), format::trend_class(Some(percent))),
            Err(why) => {
                match missing.iter_mut().find(|(w, _)| *w == why) {
                    Some((_, labels)) if !labels.contains(&label) => labels.push(label),
                    Some(_) => {}
                    None => missing.push((why, vec![label])),
                }
                ("—".to_string(), "")
            }
        };
        let rows = ranges
            .iter()
            .map(|r| {
                let label = r.range.label();
                let (twr, twr_trend) = cell(label, &r.twr);
                let over_range = r.xirr.and_then(|_| r.mwr.ok_or(NoRate::NoConvergence));
                let (mwr, mwr_trend) = cell(label, &over_range);
                let more_than_a_year = r.days > 366 && r.range != ReturnRange::Year1;
                let a_year = |rate: Option<Decimal>| {
                    rate.filter(|_| more_than_a_year)
                        .and_then(percent)
                        .map(format::percent)
                };
                ReturnRow {
                    label,
                    since: r.from.map(|d| d.to_string()),
                    twr,
                    twr_trend,
                    twr_a_year: a_year(r.twr_a_year),
                    mwr,
                    mwr_trend,
                    xirr_a_year: a_year(r.xirr.ok()),
                    benchmark: r.benchmark.map(|b| cell(label, &b)),
                }
            })
            .collect();
        ReturnsView {
            rows,
            missing: missing
                .into_iter()
                .map(|(why, labels)| {
                    let mut why = why.to_string();
                    if let Some(first) = why.get_mut(0..1) {
                        first.make_ascii_uppercase();
                    }
                    format!("{}: {why}.", labels.join(", "))
                })
                .collect(),
            benchmark: benchmark.map(ToString::to_string),
            form: None,
            complete: pending == 0,
        }
    }
}

/// The returns card of what is `measured` (all the owner's positions are in `positions`,
/// the rates in `totals`), with the benchmark's form for the portfolio; and, when asked for
/// with `chart_from` (the end of the day it starts from, `None` for the start), its
/// time-weighted return day by day beside the benchmark's. `None` when nothing was ever
/// recorded.
pub(super) async fn returns_card(
    state: &AppState,
    auth: &Authed,
    measured: Measured,
    positions: &[Position],
    totals: &Totals,
    chart_from: Option<Option<Date>>,
) -> Result<(Option<ReturnsView>, Option<Comparison>), PageError> {
    let owner = auth.user.owner();
    let store = state.store.as_ref();
    let version = Some(auth.holdings_version);
    let transactions = state
        .holdings
        .transactions(store, &state.quotes, owner, version)
        .await?;
    let cash = state
        .holdings
        .cash(store, &state.quotes, owner, version)
        .await?;
    let chosen = store.benchmark(owner).await?;
    let today = time::OffsetDateTime::now_utc().date();
    let records = performance::Records {
        positions,
        transactions: &transactions,
        cash: &cash,
        totals,
    };
    let history = &state.holdings.history;
    let gathered = performance::gather(
        store,
        &state.quotes,
        history,
        records,
        chosen.clone(),
        owner,
        today,
    )
    .await?;
    let Some(gathered) = gathered else {
        return Ok((None, None));
    };
    let measurement = performance::measure(&gathered, measured, records);
    let comparison = chart_from.and_then(|from| measurement.comparison(from));
    let mut view = ReturnsView::new(
        &measurement.ranges(),
        chosen.as_ref().map(|(s, _)| s),
        gathered.pending,
    );
    if !matches!(measured, Measured::Holding(_)) {
        view.form = Some(match &chosen {
            Some((symbol, kind)) => BenchmarkForm::new(symbol.to_string(), kind.as_str(), None),
            None => BenchmarkForm::new(String::new(), AssetKind::Etf.as_str(), None),
        });
    }
    Ok((Some(view), comparison))
}

#[derive(Deserialize)]
struct BenchmarkInput {
    #[serde(default)]
    symbol: String,
    #[serde(default)]
    kind: String,
}

/// Chooses the benchmark (an empty symbol: none); one that is not a market asset's symbol, or
/// that no price service prices now, keeps the form with its error on the portfolio page.
async fn set_benchmark(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(query): PageQuery<PortfolioQuery>,
    PageForm(form): PageForm<BenchmarkInput>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let outcome = performance::set_benchmark(
        state.store.as_ref(),
        &state.quotes,
        owner,
        &form.symbol,
        &form.kind,
    )
    .await;
    let (status, errors) = match outcome {
        Ok(_) => {
            let back = format!("{}#returns-card", query.url_with(None));
            return Ok(Redirect::to(&back).into_response());
        }
        Err(crate::portfolio::Error::Domain(DomainError::Invalid(errors))) => {
            (StatusCode::UNPROCESSABLE_ENTITY, errors)
        }
        Err(crate::portfolio::Error::Domain(DomainError::Mismatch(errors))) => {
            (StatusCode::CONFLICT, errors)
        }
        Err(other) => return Err(other.into()),
    };
    let mut page = render_portfolio(&state, &auth, &query, FormView::default(), None).await?;
    let message = errors.into_iter().map(|e| e.message).collect::<Vec<_>>();
    let mut form = BenchmarkForm::new(form.symbol, &form.kind, Some(message.join(" ")));
    form.action = super::portfolio::action("/portfolio/benchmark", &query);
    match page.returns.as_mut() {
        Some(card) => card.form = Some(form),
        // Nothing recorded yet: no card to keep the form in.
        None => {
            return Err(PageError::from(crate::web::error::AppError::BadRequest(
                "Record a holding or some cash first: a benchmark is set beside your returns."
                    .into(),
            )));
        }
    }
    Ok((status, page).into_response())
}
