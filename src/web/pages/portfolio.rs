//! `/portfolio`: the holdings table (sortable by any column, the order in the URL), the
//! totals in the base currency, the charts, and the add form.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::charts::{self, DoughnutView, ValueChartView};
use super::layout::{FormView, KindOption, Layout, kind_options, sort_marks};
use super::returns::{ReturnsView, returns_card};
use crate::domain::valuation::ValueRange;
use crate::domain::{
    DomainError, HoldingDraft, Position, SortDir, SortKey, Symbol, TableColumns, Totals,
};
use crate::portfolio::holdings::Listing;
use crate::portfolio::performance::Measured;
use crate::portfolio::{self, holding_accounts, holdings, transactions, valuation};
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{PageForm, PageQuery};
use crate::web::format;
use crate::web::page_cache::PageKey;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portfolio", get(portfolio_page).post(add_holding))
        .route("/portfolio/columns", post(choose_columns))
        .route("/portfolio/currency", post(set_currency))
}

#[derive(Deserialize, Default)]
pub(super) struct PortfolioQuery {
    sort: Option<SortKey>,
    dir: Option<SortDir>,
    /// The value chart's range.
    range: Option<ValueRange>,
    /// Only what one account holds.
    account: Option<i64>,
    added: Option<String>,
    updated: Option<String>,
    deleted: Option<String>,
    /// Set after the column chooser was saved.
    columns: Option<String>,
}

impl PortfolioQuery {
    fn flash(&self) -> Option<String> {
        let sym = |s: &Option<String>| s.as_deref().and_then(|s| Symbol::parse(s).ok());
        if let Some(s) = sym(&self.added) {
            Some(format!("Added {s} to the portfolio."))
        } else if let Some(s) = sym(&self.updated) {
            Some(format!("Saved {s}."))
        } else if self.columns.is_some() {
            Some("The table shows the columns you chose, on every device you sign in on.".into())
        } else {
            sym(&self.deleted).map(|s| format!("Deleted {s} from the portfolio."))
        }
    }

    /// The portfolio URL with this sort order and chart range, and one extra pair.
    pub(super) fn url_with(&self, extra: Option<(&str, &str)>) -> String {
        let mut pairs = Vec::new();
        if let Some(sort) = self.sort {
            pairs.push(("sort", sort.as_str()));
        }
        if let Some(dir) = self.dir {
            pairs.push(("dir", dir.as_str()));
        }
        if let Some(range) = self.range {
            pairs.push(("range", range.as_str()));
        }
        let account = self.account.map(|a| a.to_string());
        if let Some(a) = &account {
            pairs.push(("account", a));
        }
        pairs.extend(extra);
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            "/portfolio".into()
        } else {
            format!("/portfolio?{query}")
        }
    }
}

/// `/portfolio` saying what was just done to a holding (`key` is `added`, `updated` or
/// `deleted`).
pub fn flash_url(key: &str, symbol: &Symbol) -> String {
    PortfolioQuery::default().url_with(Some((key, symbol.as_str())))
}

/// A column header: a link that sorts by it.
pub struct HeaderView {
    pub label: &'static str,
    pub href: String,
    pub arrow: &'static str,
    pub aria_sort: &'static str,
    pub numeric: bool,
}

/// One cell of a chosen column: its column's name (`gain_percent`), its classes and text.
pub struct Cell {
    pub column: &'static str,
    pub class: String,
    pub text: String,
}

impl Cell {
    /// A number, right-aligned, classed by its column (`gain-percent`, or `total-gain-percent`
    /// with the prefix `total-`) and its trend.
    fn new(prefix: &str, column: &'static str, text: String, trend: &'static str) -> Self {
        let mut class = format!("text-end {prefix}{}", column.replace('_', "-"));
        if !trend.is_empty() {
            class.push(' ');
            class.push_str(trend);
        }
        Cell {
            column,
            class,
            text,
        }
    }
}

/// A holding as the table (a row) and the phone (a card) show it.
pub struct RowView {
    pub id: i64,
    pub symbol: String,
    pub name: String,
    pub price: Option<String>,
    pub currency: String,
    pub value: String,
    pub day_change: String,
    pub day_trend: &'static str,
    pub gain: String,
    pub gain_trend: &'static str,
    pub notes: Option<String>,
    /// Source and age, shown on hover.
    pub freshness: Option<String>,
    pub stale: bool,
    /// How long ago a stale price was fetched ("5 min ago").
    pub stale_age: Option<String>,
    /// No price yet, but one is being fetched: the next view may have it.
    pub loading: bool,
    /// The chosen columns' cells, in table order.
    pub cells: Vec<Cell>,
}

impl RowView {
    fn new(p: &Position, loading: bool, totals: &Totals, columns: &TableColumns) -> Self {
        let h = &p.holding;
        let q = p.quote.as_ref();
        let dash = format::or_dash;
        let cells = columns
            .keys
            .iter()
            .map(|key| {
                let column = key.as_str();
                let (text, trend) = match key {
                    SortKey::Kind => {
                        return Cell {
                            column,
                            class: "kind".into(),
                            text: h.asset.kind.label().into(),
                        };
                    }
                    SortKey::Quantity => (format::quantity(h.quantity), ""),
                    // Drawn by the template (badges, the loading link).
                    SortKey::Price => (String::new(), ""),
                    SortKey::ChangePercent => {
                        let c = q.and_then(|q| q.change_percent);
                        (dash(c.map(format::percent)), format::trend_class(c))
                    }
                    SortKey::Value => (dash(p.market_value().map(|v| format::fixed(v, 2))), ""),
                    SortKey::Weight => (dash(totals.weight(p).map(format::share)), ""),
                    SortKey::Cost => (dash(p.cost().map(|v| format::fixed(v, 2))), ""),
                    SortKey::Gain => (
                        dash(p.gain().map(format::money_signed)),
                        format::trend_class(p.gain()),
                    ),
                    SortKey::GainPercent => (
                        dash(p.gain_percent().map(format::percent)),
                        format::trend_class(p.gain()),
                    ),
                    SortKey::Realized => (
                        dash(p.realized().map(format::money_signed)),
                        format::trend_class(p.realized()),
                    ),
                    SortKey::Dividends => (dash(p.dividends().map(|v| format::fixed(v, 2))), ""),
                    SortKey::DayChange => (
                        dash(p.day_change().map(format::money_signed)),
                        format::trend_class(p.day_change()),
                    ),
                    SortKey::PreviousClose => (
                        dash(q.and_then(|q| q.previous_close).map(format::price)),
                        "",
                    ),
                    SortKey::MarketCap => {
                        (dash(q.and_then(|q| q.market_cap).map(format::compact)), "")
                    }
                    SortKey::YtdChange => {
                        let c = q.and_then(|q| q.ytd_change);
                        (dash(c.map(format::percent)), format::trend_class(c))
                    }
                    SortKey::Week52High => {
                        (dash(q.and_then(|q| q.week52_high).map(format::price)), "")
                    }
                    SortKey::Week52Low => {
                        (dash(q.and_then(|q| q.week52_low).map(format::price)), "")
                    }
                    SortKey::Symbol | SortKey::Name => (String::new(), ""),
                };
                Cell::new("", column, text, trend)
            })
            .collect();
        RowView {
            id: h.id,
            symbol: h.asset.symbol.to_string(),
            name: p.name().unwrap_or(format::NONE).to_string(),
            price: q.map(|q| format::price(q.price)),
            currency: p.currency().to_string(),
            value: dash(p.market_value().map(|v| format::fixed(v, 2))),
            day_change: dash(p.day_change().map(format::money_signed)),
            day_trend: format::trend_class(p.day_change()),
            gain: dash(p.gain().map(format::money_signed)),
            gain_trend: format::trend_class(p.gain()),
            notes: h.notes.clone(),
            freshness: q.map(format::freshness),
            stale: q.is_some_and(|q| q.stale),
            stale_age: q
                .filter(|q| q.stale)
                .and_then(|q| q.fetched_at)
                .map(format::age),
            loading: q.is_none() && loading,
            cells,
        }
    }
}

/// The summary above the table and the totals row, in the base currency, with each
/// currency's own sums on hover.
pub struct TotalsView {
    pub base: String,
    pub value: String,
    pub day_change: String,
    pub day_change_percent: String,
    pub day_trend: &'static str,
    /// Unrealized + realized + dividends.
    pub total_gain: String,
    /// Of the cost of what is held; none without a cost.
    pub total_gain_percent: Option<String>,
    pub total_gain_trend: &'static str,
    /// The parts of the total gain, said in words.
    pub gain_parts: String,
    /// "1,000.00 USD + 500.00 EUR at 1.0850", shown on hover.
    pub breakdown: String,
    pub unpriced: usize,
    pub no_rate: Vec<String>,
    /// The totals row's cells under the chosen columns.
    pub cells: Vec<Cell>,
    /// With cash tracked: the holdings' value and the cash (the value is their sum), and
    /// whether the cash is below zero.
    pub cash: Option<CashLine>,
    /// The money-weighted return a year since the first money in, or why there is none.
    pub xirr: Option<XirrLine>,
    /// With holdings in other currencies: the gain split into the prices' and the
    /// currencies' parts.
    pub split: Option<GainSplit>,
    /// Where past exchange rates were missing, in words.
    pub fx_notes: Vec<String>,
}

/// "Price +120.00 · Currency −8.90".
pub struct GainSplit {
    pub price: String,
    pub price_trend: &'static str,
    pub currency: String,
    pub currency_trend: &'static str,
}

/// "+12.34 % a year since 2024-01-02", or why there is no such rate.
pub struct XirrLine {
    pub rate: Option<String>,
    pub trend: &'static str,
    pub words: String,
}

impl XirrLine {
    pub(super) fn new(
        (rate, since): (
            Result<Decimal, crate::domain::returns::NoRate>,
            Option<time::Date>,
        ),
    ) -> Self {
        match rate.and_then(|r| {
            r.checked_mul(Decimal::ONE_HUNDRED)
                .ok_or(crate::domain::returns::NoRate::NoConvergence)
        }) {
            Ok(percent) => {
                let percent = percent.round_dp(2);
                XirrLine {
                    rate: Some(format::percent(percent)),
                    trend: format::trend_class(Some(percent)),
                    words: since.map_or_else(
                        || "a year, money-weighted".to_string(),
                        |d| format!("a year since {d}, money-weighted"),
                    ),
                }
            }
            Err(why) => {
                use crate::domain::returns::NoRate;
                // Short: it shares a summary card with the total gain, on a phone too.
                let words = match why {
                    NoRate::TooFewFlows => "No yearly return yet.",
                    NoRate::NoSignChange => "No yearly return: money only went one way.",
                    NoRate::NoConvergence => "No yearly return balances the money in and out.",
                    NoRate::NoTime => "No yearly return yet: it all happened today.",
                    NoRate::Incomplete => {
                        "No yearly return: a price, a cost or an exchange rate is missing."
                    }
                    NoRate::WipedOut => "No yearly return: it was worth nothing or less.",
                };
                XirrLine {
                    rate: None,
                    trend: "",
                    words: words.to_string(),
                }
            }
        }
    }
}

/// The value's two parts when an account shown tracks its cash.
pub struct CashLine {
    pub holdings: String,
    pub cash: String,
    pub negative: bool,
}

impl TotalsView {
    fn new(t: &Totals, columns: &TableColumns) -> Self {
        let s = &t.total;
        let base = &t.base;
        let breakdown = t
            .by_currency
            .iter()
            .map(|(cur, sums)| {
                let rate = t
                    .rate(cur)
                    .filter(|_| cur != base)
                    .map(|r| format!(" (1 {cur} = {} {base})", r.normalize()))
                    .unwrap_or_default();
                let cash = if t.cash_tracked {
                    format!(", cash {}", format::fixed(sums.cash, 2))
                } else {
                    String::new()
                };
                format!(
                    "{cur}: value {}, gain {}{cash}{rate}",
                    format::fixed(sums.value, 2),
                    format::money_signed(sums.gain)
                )
            })
            .collect::<Vec<_>>()
            .join(" · ");
        let cells = columns
            .keys
            .iter()
            .map(|key| {
                let column = key.as_str();
                let signed = |d: Decimal| (format::money_signed(d), format::trend_class(Some(d)));
                let (text, trend) = match key {
                    SortKey::Value => (format!("{} {base}", format::fixed(s.value, 2)), ""),
                    SortKey::Weight if !s.value.is_zero() => {
                        (format::share(Decimal::ONE_HUNDRED), "")
                    }
                    SortKey::Cost => (format::fixed(s.cost, 2), ""),
                    SortKey::Gain => signed(s.gain),
                    SortKey::GainPercent => (
                        format::or_dash(s.gain_percent().map(format::percent)),
                        format::trend_class(Some(s.gain)),
                    ),
                    SortKey::Realized => signed(s.realized),
                    SortKey::Dividends => (format::fixed(s.dividends, 2), ""),
                    SortKey::DayChange => signed(s.day_change),
                    SortKey::ChangePercent => (
                        format::or_dash(s.day_change_percent().map(format::percent)),
                        format::trend_class(Some(s.day_change)),
                    ),
                    _ => (String::new(), ""),
                };
                Cell::new("total-", column, text, trend)
            })
            .collect();
        let total_gain = s.total_gain();
        let cash = t.cash_tracked.then(|| CashLine {
            holdings: format!("{} {base}", format::fixed(s.value, 2)),
            cash: format!("{} {base}", format::fixed(s.cash, 2)),
            negative: s.cash < Decimal::ZERO,
        });
        let value = if t.cash_tracked {
            s.net_worth().unwrap_or(s.value)
        } else {
            s.value
        };
        let split = t
            .currency_gain
            .zip(t.price_gain())
            .map(|(currency, price)| {
                let signed = |d: Decimal| format!("{} {base}", format::money_signed(d));
                GainSplit {
                    price: signed(price),
                    price_trend: format::trend_class(Some(price)),
                    currency: signed(currency),
                    currency_trend: format::trend_class(Some(currency)),
                }
            });
        TotalsView {
            xirr: None,
            split,
            fx_notes: format::fx_notes(&t.base, &t.fx_today, &t.fx_gaps),
            cash,
            base: base.clone(),
            value: format!("{} {base}", format::fixed(value, 2)),
            day_change: format!("{} {base}", format::money_signed(s.day_change)),
            day_change_percent: format::or_dash(s.day_change_percent().map(format::percent)),
            day_trend: format::trend_class(Some(s.day_change)),
            total_gain: format::or_dash(
                total_gain.map(|g| format!("{} {base}", format::money_signed(g))),
            ),
            total_gain_percent: s.total_gain_percent().map(format::percent),
            total_gain_trend: format::trend_class(total_gain),
            gain_parts: format!(
                "{} unrealized{}, {} realized, {} dividends{}",
                format::money_signed(s.gain),
                t.currency_gain
                    .map(|c| format!(" (of which {} from currencies)", format::money_signed(c)))
                    .unwrap_or_default(),
                format::money_signed(s.realized),
                format::fixed(s.dividends, 2),
                if t.cash_tracked {
                    format!(
                        ", {} interest less account fees",
                        format::money_signed(s.interest)
                    )
                } else {
                    String::new()
                }
            ),
            breakdown,
            unpriced: t.unpriced,
            no_rate: t.no_rate.clone(),
            cells,
        }
    }
}

/// When the prices on the page were fetched: the oldest market price's age, and how many are
/// stale.
pub struct PricesView {
    pub age: Option<String>,
    pub stale: usize,
}

impl PricesView {
    fn new(positions: &[Position]) -> Self {
        let market = positions
            .iter()
            .filter(|p| p.holding.asset.kind.is_market_priced())
            .filter_map(|p| p.quote.as_ref());
        PricesView {
            age: market
                .clone()
                .filter_map(|q| q.fetched_at)
                .min()
                .map(format::age),
            stale: market.filter(|q| q.stale).count(),
        }
    }
}

/// A column the owner may show or hide.
pub struct ColumnChoice {
    pub name: &'static str,
    pub label: &'static str,
    pub shown: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "portfolio.html")]
pub struct PortfolioPage {
    layout: Layout,
    /// The first column's two sort links: symbol, then name.
    symbol_header: HeaderView,
    name_header: HeaderView,
    /// The chosen columns' headers.
    headers: Vec<HeaderView>,
    /// Every column, for the phone's sort menu, and which is the sort now.
    sorts: Vec<(&'static str, &'static str, bool)>,
    descending: bool,
    range: Option<&'static str>,
    rows: Vec<RowView>,
    totals: TotalsView,
    prices: PricesView,
    columns: Vec<ColumnChoice>,
    notes_column: bool,
    columns_action: String,
    form: FormView,
    kinds: Vec<KindOption>,
    form_action: String,
    conflict: Option<(String, i64)>,
    flash: Option<String>,
    doughnuts: Vec<DoughnutView>,
    value: Option<ValueChartView>,
    pub(super) returns: Option<ReturnsView>,
    /// When the first fresh price on the page turns stale.
    fresh_until: Option<time::OffsetDateTime>,
    /// Why the base currency typed was refused, and what was typed.
    currency_error: Option<String>,
    currency_typed: Option<String>,
    /// "All accounts" and each account, when there are two or more.
    account_links: Vec<AccountLink>,
    /// Each account's value and total gain, when showing all of them.
    by_account: Vec<AccountSums>,
}

/// A link to the portfolio of every account or of one.
pub struct AccountLink {
    pub label: String,
    pub href: String,
    pub active: bool,
}

/// One account's share of the summary, in the base currency.
pub struct AccountSums {
    pub name: String,
    pub href: String,
    pub value: String,
    pub gain: String,
    pub gain_trend: &'static str,
}

impl PortfolioPage {
    /// Nothing on the page is still on its way (a price, the value line's history).
    fn is_complete(&self) -> bool {
        !self.rows.iter().any(|r| r.loading)
            && self.value.as_ref().is_none_or(|v| v.complete)
            && self.returns.as_ref().is_none_or(|r| r.complete)
    }
}

pub(super) async fn render_portfolio(
    state: &AppState,
    auth: &Authed,
    query: &PortfolioQuery,
    form: FormView,
    conflict: Option<(String, i64)>,
) -> Result<PortfolioPage, PageError> {
    let key = query.sort.unwrap_or_default();
    let dir = query.dir.unwrap_or_default();
    let owner = auth.user.owner();
    let accounts = holding_accounts::list(state.store.as_ref(), owner).await?;
    if let Some(id) = query.account
        && !accounts.iter().any(|a| a.id == id)
    {
        return Err(AppError::not_found(format!("You have no account {id}.")).into());
    }
    let listing = |account| Listing { account, key, dir };
    let positions = holdings::load_listing(
        state.store.as_ref(),
        &state.quotes,
        &state.holdings,
        owner,
        Some(auth.holdings_version),
        listing(query.account),
    )
    .await?;
    let header = |(column, label): (SortKey, &'static str)| {
        let active = column == key;
        let next = if active && dir == SortDir::Asc {
            SortDir::Desc
        } else {
            SortDir::Asc
        };
        let href = PortfolioQuery {
            sort: Some(column),
            dir: Some(next),
            range: query.range,
            account: query.account,
            ..PortfolioQuery::default()
        }
        .url_with(None);
        let (arrow, aria_sort) = sort_marks(active, dir);
        HeaderView {
            label,
            href,
            arrow,
            aria_sort,
            numeric: !column.is_text(),
        }
    };
    let chosen = &auth.columns();
    let label = |k: SortKey| {
        SortKey::COLUMNS
            .into_iter()
            .find(|(c, _)| *c == k)
            .map_or("", |(_, l)| l)
    };
    let headers = chosen
        .keys
        .iter()
        .map(|k| header((*k, label(*k))))
        .collect();
    let base = auth.base_currency.clone();
    let cash = state
        .holdings
        .cash(
            state.store.as_ref(),
            &state.quotes,
            owner,
            Some(auth.holdings_version),
        )
        .await?;
    let reader = state.reader(owner, Some(auth.holdings_version));
    let totals = holdings::with_cash(reader, &positions, query.account, &base).await?;
    let transactions = state
        .holdings
        .transactions(
            state.store.as_ref(),
            &state.quotes,
            owner,
            Some(auth.holdings_version),
        )
        .await?;
    let mut account_links = Vec::new();
    let mut by_account = Vec::new();
    if accounts.len() > 1 {
        let link = |account: Option<i64>| {
            PortfolioQuery {
                sort: query.sort,
                dir: query.dir,
                range: query.range,
                account,
                ..PortfolioQuery::default()
            }
            .url_with(None)
        };
        account_links.push(AccountLink {
            label: "All accounts".into(),
            href: link(None),
            active: query.account.is_none(),
        });
        for a in &accounts {
            account_links.push(AccountLink {
                label: a.name.clone(),
                href: link(Some(a.id)),
                active: query.account == Some(a.id),
            });
            if query.account.is_none() {
                let held = holdings::load_listing(
                    state.store.as_ref(),
                    &state.quotes,
                    &state.holdings,
                    owner,
                    Some(auth.holdings_version),
                    listing(Some(a.id)),
                )
                .await?;
                let sums = holdings::with_cash(reader, &held, Some(a.id), &base)
                    .await?
                    .total;
                let gain = sums.total_gain();
                by_account.push(AccountSums {
                    name: a.name.clone(),
                    href: link(Some(a.id)),
                    value: format!(
                        "{} {base}",
                        format::fixed(sums.net_worth().unwrap_or(sums.value), 2)
                    ),
                    gain: format::or_dash(
                        gain.map(|g| format!("{} {base}", format::money_signed(g))),
                    ),
                    gain_trend: format::trend_class(gain),
                });
            }
        }
    }
    let (doughnuts, value, returns) = if positions.is_empty() && !totals.cash_tracked {
        (Vec::new(), None, None)
    } else {
        let mut value = value_history(state, auth, query, &positions, &totals).await?;
        let measured = query.account.map_or(Measured::Portfolio, Measured::Account);
        // The return lines' range starts where the returns card's does.
        let today = time::OffsetDateTime::now_utc().date();
        let chart_from = query.range.unwrap_or_default().return_start(today);
        let (mut returns, comparison) =
            returns_card(state, auth, measured, &positions, &totals, Some(chart_from)).await?;
        // The benchmark's form comes back to this view (its account and range).
        if let Some(form) = returns.as_mut().and_then(|r| r.form.as_mut()) {
            form.action = action("/portfolio/benchmark", query);
        }
        value.comparison = comparison.and_then(|c| charts::comparison_chart(&c));
        (
            charts::allocations(&positions, &totals),
            Some(value),
            returns,
        )
    };
    let kind = if form.draft.kind.is_empty() {
        "stock".to_string()
    } else {
        form.draft.kind.clone()
    };
    let columns_action = action("/portfolio/columns", query);
    Ok(PortfolioPage {
        layout: Layout::new("portfolio", auth),
        symbol_header: header((SortKey::Symbol, "Symbol")),
        name_header: header((SortKey::Name, "Name")),
        headers,
        sorts: SortKey::COLUMNS
            .into_iter()
            .map(|(k, label)| (k.as_str(), label, k == key))
            .collect(),
        descending: dir == SortDir::Desc,
        range: query.range.map(|r| r.as_str()),
        rows: positions
            .iter()
            .map(|p| {
                let asset = &p.holding.asset;
                let loading = state.quotes.is_fetching(&asset.symbol, asset.kind);
                RowView::new(p, loading, &totals, chosen)
            })
            .collect(),
        totals: TotalsView {
            xirr: (!positions.is_empty() || totals.cash_tracked).then(|| {
                XirrLine::new(holdings::money_weighted(
                    &positions,
                    &transactions,
                    &cash,
                    query.account,
                    &totals,
                ))
            }),
            ..TotalsView::new(&totals, chosen)
        },
        prices: PricesView::new(&positions),
        columns: TableColumns::choices()
            .map(|(name, label)| ColumnChoice {
                name,
                label,
                shown: chosen.shows(name),
            })
            .collect(),
        notes_column: chosen.notes,
        columns_action,
        kinds: kind_options(&kind, true),
        form,
        form_action: query.url_with(None),
        conflict,
        flash: query.flash(),
        doughnuts,
        value,
        returns,
        fresh_until: fresh_until(&positions, state.quotes.ttl()),
        currency_error: None,
        currency_typed: None,
        account_links,
        by_account,
    })
}

/// When the first of the positions' fresh prices turns stale.
fn fresh_until(positions: &[Position], ttl: std::time::Duration) -> Option<time::OffsetDateTime> {
    let ttl = time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX);
    positions
        .iter()
        .filter_map(|p| p.quote.as_ref())
        .filter(|q| !q.stale)
        .filter_map(|q| q.fetched_at?.checked_add(ttl))
        .min()
}

/// The value-over-time card: the owner's transactions (from the holdings snapshot) and the
/// prices of what they held, for the range asked for.
async fn value_history(
    state: &AppState,
    auth: &Authed,
    query: &PortfolioQuery,
    positions: &[Position],
    totals: &Totals,
) -> Result<ValueChartView, PageError> {
    let owner = auth.user.owner();
    let transactions = state
        .holdings
        .transactions(
            state.store.as_ref(),
            &state.quotes,
            owner,
            Some(auth.holdings_version),
        )
        .await?;
    // In one account: only its transactions.
    let transactions = match query.account {
        None => transactions,
        Some(account) => std::sync::Arc::new(valuation::in_account(&transactions, account)),
    };
    let range = query.range.unwrap_or_default();
    let loaded = valuation::load(
        state.store.as_ref(),
        &state.quotes,
        &state.holdings.history,
        valuation::held_assets(positions, totals, owner),
        &transactions,
        range,
        time::OffsetDateTime::now_utc().date(),
    )
    .await?;
    Ok(charts::value_chart(&loaded, &totals.base, |r| {
        PortfolioQuery {
            sort: query.sort,
            dir: query.dir,
            range: Some(r),
            account: query.account,
            ..PortfolioQuery::default()
        }
        .url_with(None)
    }))
}

/// The page a signed-in person lives on, kept rendered while nothing on it changed (see
/// [`crate::web::page_cache`]).
async fn portfolio_page(
    State(state): State<AppState>,
    auth: Authed,
    uri: Uri,
    headers: HeaderMap,
    PageQuery(q): PageQuery<PortfolioQuery>,
) -> Result<Response, PageError> {
    // Read before the page is drawn: whatever arrives meanwhile makes a new key.
    let key = PageKey::new(
        &auth,
        uri.path_and_query().map_or("/portfolio", |p| p.as_str()),
        state.quotes.generation(),
        state.holdings.history.generation(),
    );
    if let Some(page) = state.pages.get(&key) {
        return Ok(page.respond(&headers));
    }
    let page = render_portfolio(&state, &auth, &q, FormView::default(), None).await?;
    let complete = page.is_complete();
    let html = page
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot render the portfolio: {e}")))?;
    let until = page.fresh_until;
    Ok(state
        .pages
        .put(key, html, complete, until)
        .respond(&headers))
}

async fn add_holding(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(q): PageQuery<PortfolioQuery>,
    PageForm(draft): PageForm<HoldingDraft>,
) -> Result<Response, PageError> {
    let result = match draft.validate() {
        Ok(valid) => {
            holdings::create(
                state.store.as_ref(),
                &state.quotes,
                auth.user.owner(),
                valid,
            )
            .await
        }
        Err(e) => Err(e.into()),
    };
    let (form, conflict, status) = match result {
        Ok(p) => {
            let url = q.url_with(Some(("added", p.holding.asset.symbol.as_str())));
            return Ok(Redirect::to(&url).into_response());
        }
        Err(portfolio::Error::Domain(
            DomainError::Invalid(errors) | DomainError::Mismatch(errors),
        )) => (
            FormView::refused(draft, errors),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(portfolio::Error::Domain(DomainError::Conflict {
            message,
            existing_id: Some(id),
        })) => (
            FormView::refused(draft, vec![]),
            Some((message, id)),
            StatusCode::CONFLICT,
        ),
        Err(other) => return Err(other.into()),
    };
    let page = render_portfolio(&state, &auth, &q, form, conflict).await?;
    Ok((status, page).into_response())
}

/// Keeps the columns ticked in the chooser (or the default set, with `reset`) for the owner,
/// then shows the table again in the same order.
/// A form's action on the portfolio page: `path` with the view's query (sort, range, account),
/// so the answer comes back to the same view.
pub(super) fn action(path: &str, query: &PortfolioQuery) -> String {
    let url = query.url_with(None);
    format!("{path}{}", url.strip_prefix("/portfolio").unwrap_or(""))
}

async fn choose_columns(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(q): PageQuery<PortfolioQuery>,
    PageForm(form): PageForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let columns = if form.contains_key("reset") {
        TableColumns::default()
    } else {
        TableColumns::from_names(form.keys().map(String::as_str))
    };
    holdings::set_table_columns(state.store.as_ref(), auth.user.owner(), &columns).await?;
    Ok(Redirect::to(&q.url_with(Some(("columns", "saved")))).into_response())
}

#[derive(Deserialize)]
struct CurrencyForm {
    #[serde(default)]
    currency: String,
}

/// Sets the base currency; a code that is not one, or that no exchange-rate service prices,
/// is said next to the field with what was typed.
async fn set_currency(
    State(state): State<AppState>,
    auth: Authed,
    PageForm(form): PageForm<CurrencyForm>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    match transactions::set_base_currency(
        state.store.as_ref(),
        &state.quotes,
        owner,
        &form.currency,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/portfolio").into_response()),
        Err(portfolio::Error::Domain(DomainError::Invalid(errors))) => {
            let query = PortfolioQuery::default();
            let mut page =
                render_portfolio(&state, &auth, &query, FormView::default(), None).await?;
            page.currency_error = errors.into_iter().next().map(|e| e.message);
            page.currency_typed = Some(form.currency);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
