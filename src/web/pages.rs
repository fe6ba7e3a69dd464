//! Server-rendered pages. They work without JavaScript; errors are HTML pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::OpenApi;

use super::AppState;
use super::api::ApiDoc;
use super::extract::{PageForm, PagePath, PageQuery};
use super::format;
use super::portfolio_charts::{self, DoughnutView, ValueChartView};
use super::session::{Authed, MaybeAuthed};
use crate::domain::{AssetKind, Symbol};
use crate::error::{AppError, FieldError, PageError};
use crate::market::Quote;
use crate::portfolio::{self, HoldingDraft, Position, SortDir, SortKey};
use crate::store::{Holding, OwnerId};
use crate::valuation::{self, ValueRange};
use crate::watchlist::{self, WatchDraft, Watched};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/watchlist", axum::routing::post(add_watch))
        .route("/watchlist/{id}/delete", axum::routing::post(remove_watch))
        .route("/portfolio", get(portfolio_page).post(add_holding))
        .route("/portfolio/{id}/edit", get(edit_form).post(save_edit))
        .route(
            "/portfolio/{id}/delete",
            get(confirm_delete).post(delete_holding),
        )
        .route("/about", get(about))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
}

/// What the frame of every page needs: the active tab, who is signed in, and the form token.
pub struct Layout {
    pub nav: &'static str,
    pub user: Option<String>,
    pub csrf: String,
}

impl Layout {
    pub fn new(nav: &'static str, auth: &Authed) -> Self {
        Layout {
            nav,
            user: Some(auth.user.username.clone()),
            csrf: auth.csrf.clone(),
        }
    }

    /// For pages anyone may see.
    pub fn public(nav: &'static str, auth: Option<&Authed>) -> Self {
        match auth {
            Some(auth) => Layout::new(nav, auth),
            None => Layout {
                nav,
                user: None,
                csrf: String::new(),
            },
        }
    }
}

/// An option of the kind selector.
pub struct KindOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub fn kind_options(selected: &str, include_items: bool) -> Vec<KindOption> {
    AssetKind::ALL
        .into_iter()
        .filter(|k| include_items || k.is_market_priced())
        .map(|k| KindOption {
            value: k.as_str(),
            label: k.label(),
            selected: k.as_str() == selected,
        })
        .collect()
}

/// What was typed into a form (a holding by default), with the problems found in it.
#[derive(Default)]
pub struct FormView<D = HoldingDraft> {
    pub draft: D,
    pub errors: Vec<FieldError>,
}

impl<D> FormView<D> {
    /// The problem with one field, if any.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// Bootstrap's class for a field with a problem.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.error(field).is_some() {
            " is-invalid"
        } else {
            ""
        }
    }
}

// ----- quote lookup -------------------------------------------------------------------------

#[derive(Deserialize)]
struct IndexQuery {
    symbol: Option<String>,
    kind: Option<String>,
    watched: Option<String>,
    unwatched: Option<String>,
}

impl IndexQuery {
    fn flash(&self) -> Option<String> {
        let sym = |s: &Option<String>| s.as_deref().and_then(|s| Symbol::parse(s).ok());
        if let Some(s) = sym(&self.watched) {
            Some(format!("Now watching {s}."))
        } else {
            sym(&self.unwatched).map(|s| format!("Stopped watching {s}."))
        }
    }
}

/// A quote, formatted for the card.
pub struct QuoteView {
    pub symbol: String,
    pub name: Option<String>,
    pub price: String,
    pub currency: String,
    pub change: Option<String>,
    pub change_percent: Option<String>,
    pub trend: &'static str,
    pub details: Vec<(&'static str, String)>,
    pub as_of: Option<String>,
    pub source: String,
    pub stale: bool,
}

impl QuoteView {
    pub fn new(q: &Quote) -> Self {
        let mut details = Vec::new();
        let mut add = |label, value: Option<String>| {
            if let Some(v) = value {
                details.push((label, v));
            }
        };
        add("Previous close", q.previous_close.map(format::price));
        add("Market cap", q.market_cap.map(format::compact));
        add("P/E ratio", q.pe_ratio.map(|p| format::fixed(p, 2)));
        add("YTD change", q.ytd_change.map(format::percent));
        add("52-week high", q.week52_high.map(format::price));
        add("52-week low", q.week52_low.map(format::price));
        let side = |price: Option<Decimal>, size: Option<Decimal>| {
            price.map(|p| match size {
                Some(s) => format!("{} × {}", format::price(p), format::quantity(s)),
                None => format::price(p),
            })
        };
        add("Bid", side(q.bid, q.bid_size));
        add("Ask", side(q.ask, q.ask_size));
        QuoteView {
            symbol: q.symbol.to_string(),
            name: q.name.clone(),
            price: format::price(q.price),
            currency: q.currency.clone().unwrap_or_default(),
            change: q.change.map(format::signed),
            change_percent: q.change_percent.map(format::percent),
            trend: format::trend_class(q.change.or(q.change_percent)),
            details,
            as_of: q.as_of.map(format::timestamp),
            source: q.source.clone(),
            stale: q.stale,
        }
    }
}

/// A row of the watchlist card, formatted.
pub struct WatchRowView {
    pub id: i64,
    pub symbol: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub name: String,
    pub price: Option<String>,
    pub currency: String,
    pub change_percent: String,
    pub trend: &'static str,
    /// Source and age, shown on hover.
    pub freshness: Option<String>,
    pub stale: bool,
}

impl WatchRowView {
    fn new(w: &Watched) -> Self {
        let asset = &w.entry.asset;
        let q = w.quote.as_ref();
        WatchRowView {
            id: w.entry.id,
            symbol: asset.symbol.to_string(),
            kind: asset.kind.as_str(),
            kind_label: asset.kind.label(),
            name: w.name().unwrap_or(NONE).to_string(),
            price: q.map(|q| format::price(q.price)),
            currency: w.currency().to_string(),
            change_percent: or_dash(q.and_then(|q| q.change_percent).map(format::percent)),
            trend: format::trend_class(q.and_then(|q| q.change_percent)),
            freshness: q.map(freshness),
            stale: q.is_some_and(|q| q.stale),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
pub struct IndexPage {
    layout: Layout,
    query: String,
    kinds: Vec<KindOption>,
    kind: String,
    quote: Option<QuoteView>,
    error: Option<String>,
    held_id: Option<i64>,
    /// The watchlist entry of the quote shown, if it is watched.
    watch_id: Option<i64>,
    /// The quote card offers "Watch" (always: the lookup shows market quotes only).
    can_watch: bool,
    /// Where the quote card's "Watch" returns to.
    watch_back: &'static str,
    watchlist: Vec<WatchRowView>,
    watch_limit: usize,
    watch_form: FormView<WatchDraft>,
    watch_kinds: Vec<KindOption>,
    watch_conflict: Option<String>,
    flash: Option<String>,
}

impl IndexPage {
    fn new(auth: &Authed, query: String, kind: &str) -> Self {
        IndexPage {
            layout: Layout::new("home", auth),
            query,
            kinds: kind_options(kind, false),
            kind: kind.to_string(),
            quote: None,
            error: None,
            held_id: None,
            watch_id: None,
            can_watch: true,
            watch_back: "quote",
            watchlist: Vec::new(),
            watch_limit: watchlist::MAX_WATCHED,
            watch_form: FormView::default(),
            watch_kinds: kind_options("stock", false),
            watch_conflict: None,
            flash: None,
        }
    }

    /// Shows the owner's watchlist, and whether the quote on the card is on it.
    fn show_watchlist(&mut self, watched: &[Watched]) {
        if let Some(q) = &self.quote {
            self.watch_id = watched
                .iter()
                .find(|w| {
                    w.entry.asset.symbol.as_str() == q.symbol
                        && w.entry.asset.kind.as_str() == self.kind
                })
                .map(|w| w.entry.id);
        }
        self.watchlist = watched.iter().map(WatchRowView::new).collect();
    }
}

async fn index(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(q): PageQuery<IndexQuery>,
) -> Result<Response, PageError> {
    let kind_text = q.kind.clone().unwrap_or_default();
    let kind = match kind_text.trim() {
        "" => Ok(AssetKind::Stock),
        text => text.parse::<AssetKind>(),
    };
    let mut page = IndexPage::new(
        &auth,
        q.symbol.clone().unwrap_or_default(),
        kind.as_ref().map_or("stock", |k| k.as_str()),
    );
    page.flash = q.flash();
    // The lookup and the watchlist's quotes are fetched at the same time.
    let (status, watched) = tokio::join!(
        look_up(&state, &auth, &q, kind, &mut page),
        watchlist::load(state.store.as_ref(), &state.quotes, auth.user.owner())
    );
    let status = status?;
    page.show_watchlist(&watched?);
    Ok((status, page).into_response())
}

/// Fills the quote card (or the reason there is none) for a lookup, if one was asked for.
async fn look_up(
    state: &AppState,
    auth: &Authed,
    q: &IndexQuery,
    kind: Result<AssetKind, String>,
    page: &mut IndexPage,
) -> Result<StatusCode, PageError> {
    let kind = match kind {
        Ok(kind) => kind,
        Err(msg) => {
            page.error = Some(msg);
            return Ok(StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let Some(raw) = &q.symbol else {
        return Ok(StatusCode::OK);
    };
    let symbol = match Symbol::parse(raw) {
        Ok(s) => s,
        Err(msg) => {
            page.error = Some(msg);
            return Ok(StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    page.query = symbol.to_string();
    match state.quotes.quote(&symbol, kind).await {
        Ok(quote) => {
            page.quote = Some(QuoteView::new(&quote));
            page.held_id = state
                .store
                .find_holding(auth.user.owner(), &symbol, kind)
                .await?
                .map(|h| h.id);
            Ok(StatusCode::OK)
        }
        Err(e) => {
            let err = AppError::from_quote(&symbol, e, &state.quotes.tried(kind));
            page.error = Some(err.public_message());
            Ok(err.status())
        }
    }
}

// ----- watchlist ----------------------------------------------------------------------------

/// The watch form: the symbol and kind, and where to go back to afterwards.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WatchForm {
    symbol: String,
    kind: String,
    /// `quote` (the lookup's card) or `asset` (an asset page); anything else is the home page.
    back: String,
}

async fn add_watch(
    State(state): State<AppState>,
    auth: Authed,
    PageForm(form): PageForm<WatchForm>,
) -> Result<Response, PageError> {
    let draft = WatchDraft {
        symbol: form.symbol,
        kind: form.kind,
    };
    let result = match draft.validate() {
        Ok((symbol, kind)) => {
            watchlist::add(
                state.store.as_ref(),
                &state.quotes,
                auth.user.owner(),
                symbol,
                kind,
            )
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    let (errors, conflict, status) = match result {
        Ok(w) => {
            let asset = &w.entry.asset;
            let (symbol, kind) = (asset.symbol.as_str(), asset.kind.as_str());
            let url = match form.back.as_str() {
                "quote" => format!(
                    "/?{}",
                    serde_urlencoded::to_string([
                        ("symbol", symbol),
                        ("kind", kind),
                        ("watched", symbol)
                    ])
                    .unwrap_or_default()
                ),
                "asset" => format!("/assets/{symbol}?kind={kind}"),
                _ => format!(
                    "/?{}",
                    serde_urlencoded::to_string([("watched", symbol)]).unwrap_or_default()
                ),
            };
            return Ok(Redirect::to(&url).into_response());
        }
        Err(AppError::Validation(errors)) => (errors, None, StatusCode::UNPROCESSABLE_ENTITY),
        Err(AppError::Conflict { message, .. }) => (vec![], Some(message), StatusCode::CONFLICT),
        Err(other) => return Err(other.into()),
    };
    let kind = if draft.kind.trim().is_empty() {
        "stock".to_string()
    } else {
        draft.kind.clone()
    };
    let mut page = IndexPage::new(&auth, String::new(), "stock");
    page.watch_kinds = kind_options(&kind, false);
    page.watch_form = FormView { draft, errors };
    page.watch_conflict = conflict;
    let watched = watchlist::load(state.store.as_ref(), &state.quotes, auth.user.owner()).await?;
    page.show_watchlist(&watched);
    Ok((status, page).into_response())
}

async fn remove_watch(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let entry = watchlist::owned(state.store.as_ref(), owner, id).await?;
    if !state.store.remove_from_watchlist(owner, id).await? {
        return Err(AppError::NotFound(format!("There is no watchlist entry {id}.")).into());
    }
    let query = serde_urlencoded::to_string([("unwatched", entry.asset.symbol.as_str())])
        .unwrap_or_default();
    Ok(Redirect::to(&format!("/?{query}")).into_response())
}

// ----- portfolio ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct PortfolioQuery {
    sort: Option<SortKey>,
    dir: Option<SortDir>,
    /// The value chart's range.
    range: Option<ValueRange>,
    added: Option<String>,
    updated: Option<String>,
    deleted: Option<String>,
}

impl PortfolioQuery {
    fn flash(&self) -> Option<String> {
        let sym = |s: &Option<String>| s.as_deref().and_then(|s| Symbol::parse(s).ok());
        if let Some(s) = sym(&self.added) {
            Some(format!("Added {s} to the portfolio."))
        } else if let Some(s) = sym(&self.updated) {
            Some(format!("Saved {s}."))
        } else {
            sym(&self.deleted).map(|s| format!("Deleted {s} from the portfolio."))
        }
    }

    /// The portfolio URL with this sort order and chart range, and one extra pair.
    fn url_with(&self, extra: Option<(&str, &str)>) -> String {
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
        pairs.extend(extra);
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            "/portfolio".into()
        } else {
            format!("/portfolio?{query}")
        }
    }
}

/// `/portfolio` with the given sort order and one extra pair, when present.
fn portfolio_url(
    sort: Option<SortKey>,
    dir: Option<SortDir>,
    extra: Option<(&str, &str)>,
) -> String {
    let pairs: Vec<(&str, &str)> = sort
        .map(|s| ("sort", s.as_str()))
        .into_iter()
        .chain(dir.map(|d| ("dir", d.as_str())))
        .chain(extra)
        .collect();
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        "/portfolio".into()
    } else {
        format!("/portfolio?{query}")
    }
}

/// A column header: a link that sorts by it.
pub struct HeaderView {
    pub label: &'static str,
    pub href: String,
    pub arrow: &'static str,
    pub aria_sort: &'static str,
    pub numeric: bool,
}

/// A table row, formatted.
pub struct RowView {
    pub id: i64,
    pub symbol: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub name: String,
    pub quantity: String,
    pub price: Option<String>,
    pub currency: String,
    pub change_percent: String,
    pub trend: &'static str,
    pub value: String,
    pub cost: String,
    pub gain: String,
    pub gain_percent: String,
    pub gain_trend: &'static str,
    pub realized: String,
    pub realized_trend: &'static str,
    pub dividends: String,
    pub day_change: String,
    pub day_trend: &'static str,
    pub previous_close: String,
    pub market_cap: String,
    pub ytd_change: String,
    pub ytd_trend: &'static str,
    pub week52_high: String,
    pub week52_low: String,
    pub notes: Option<String>,
    /// Source and age, shown on hover.
    pub freshness: Option<String>,
    pub stale: bool,
}

const NONE: &str = "—";

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| NONE.to_string())
}

impl RowView {
    fn new(p: &Position) -> Self {
        let h = &p.holding;
        let q = p.quote.as_ref();
        RowView {
            id: h.id,
            symbol: h.asset.symbol.to_string(),
            kind: h.asset.kind.as_str(),
            kind_label: h.asset.kind.label(),
            name: p.name().unwrap_or(NONE).to_string(),
            quantity: format::quantity(h.quantity),
            price: q.map(|q| format::price(q.price)),
            currency: p.currency().to_string(),
            change_percent: or_dash(q.and_then(|q| q.change_percent).map(format::percent)),
            trend: format::trend_class(q.and_then(|q| q.change_percent)),
            value: or_dash(p.market_value().map(|v| format::fixed(v, 2))),
            cost: or_dash(p.cost().map(|v| format::fixed(v, 2))),
            gain: or_dash(p.gain().map(money_signed)),
            gain_percent: or_dash(p.gain_percent().map(format::percent)),
            gain_trend: format::trend_class(p.gain()),
            realized: or_dash(p.realized().map(money_signed)),
            realized_trend: format::trend_class(p.realized()),
            dividends: or_dash(p.dividends().map(|v| format::fixed(v, 2))),
            day_change: or_dash(p.day_change().map(money_signed)),
            day_trend: format::trend_class(p.day_change()),
            previous_close: or_dash(q.and_then(|q| q.previous_close).map(format::price)),
            market_cap: or_dash(q.and_then(|q| q.market_cap).map(format::compact)),
            ytd_change: or_dash(q.and_then(|q| q.ytd_change).map(format::percent)),
            ytd_trend: format::trend_class(q.and_then(|q| q.ytd_change)),
            week52_high: or_dash(q.and_then(|q| q.week52_high).map(format::price)),
            week52_low: or_dash(q.and_then(|q| q.week52_low).map(format::price)),
            notes: h.notes.clone(),
            freshness: q.map(freshness),
            stale: q.is_some_and(|q| q.stale),
        }
    }
}

/// A signed amount of money: `+1,234.50`.
fn money_signed(d: Decimal) -> String {
    let sign = if d > Decimal::ZERO { "+" } else { "" };
    format!("{sign}{}", format::fixed(d, 2))
}

/// The totals row, in the base currency, with each currency's own sums on hover.
pub struct TotalsView {
    pub base: String,
    pub value: String,
    pub cost: String,
    pub gain: String,
    pub gain_percent: String,
    pub gain_trend: &'static str,
    pub realized: String,
    pub realized_trend: &'static str,
    pub dividends: String,
    pub day_change: String,
    pub day_trend: &'static str,
    /// "1,000.00 USD + 500.00 EUR at 1.0850", shown on hover.
    pub breakdown: String,
    pub unpriced: usize,
    pub no_rate: Vec<String>,
}

impl TotalsView {
    fn new(t: &portfolio::Totals) -> Self {
        let s = &t.total;
        let base = &t.base;
        let breakdown = t
            .by_currency
            .iter()
            .map(|(cur, sums)| {
                let rate = t
                    .rates
                    .iter()
                    .find(|(c, _)| c == cur)
                    .map(|(_, r)| format!(" (1 {cur} = {} {base})", r.normalize()))
                    .unwrap_or_default();
                format!(
                    "{cur}: value {}, gain {}{rate}",
                    format::fixed(sums.value, 2),
                    money_signed(sums.gain)
                )
            })
            .collect::<Vec<_>>()
            .join(" · ");
        TotalsView {
            base: base.clone(),
            value: format!("{} {base}", format::fixed(s.value, 2)),
            cost: format::fixed(s.cost, 2),
            gain: money_signed(s.gain),
            gain_percent: or_dash(s.gain_percent().map(format::percent)),
            gain_trend: format::trend_class(Some(s.gain)),
            realized: money_signed(s.realized),
            realized_trend: format::trend_class(Some(s.realized)),
            dividends: format::fixed(s.dividends, 2),
            day_change: money_signed(s.day_change),
            day_trend: format::trend_class(Some(s.day_change)),
            breakdown,
            unpriced: t.unpriced,
            no_rate: t.no_rate.clone(),
        }
    }
}

/// "Source: yahoo · as of 2024-01-22 21:00 UTC (3 min ago)", and why it is old when stale.
fn freshness(q: &Quote) -> String {
    let mut text = format!("Source: {}", q.source);
    if let Some(t) = q.as_of {
        text.push_str(&format!(
            " · as of {} ({})",
            format::timestamp(t),
            format::age(t)
        ));
    }
    if q.stale {
        text.push_str(" · every price service failed, so this is the last known price");
    }
    text
}

#[derive(Template, WebTemplate)]
#[template(path = "portfolio.html")]
pub struct PortfolioPage {
    layout: Layout,
    headers: Vec<HeaderView>,
    rows: Vec<RowView>,
    totals: TotalsView,
    form: FormView,
    kinds: Vec<KindOption>,
    form_action: String,
    conflict: Option<(String, i64)>,
    flash: Option<String>,
    doughnuts: Vec<DoughnutView>,
    value: Option<ValueChartView>,
}

async fn render_portfolio(
    state: &AppState,
    auth: &Authed,
    query: &PortfolioQuery,
    form: FormView,
    conflict: Option<(String, i64)>,
) -> Result<PortfolioPage, PageError> {
    let key = query.sort.unwrap_or_default();
    let dir = query.dir.unwrap_or_default();
    let positions = portfolio::load(
        state.store.as_ref(),
        &state.quotes,
        &state.holdings,
        auth.user.owner(),
        Some(auth.holdings_version),
        key,
        dir,
    )
    .await?;
    let headers = SortKey::COLUMNS
        .into_iter()
        .map(|(column, label)| {
            let active = column == key;
            let next = if active && dir == SortDir::Asc {
                SortDir::Desc
            } else {
                SortDir::Asc
            };
            let href = portfolio_url(
                Some(column),
                Some(next),
                query.range.map(|r| ("range", r.as_str())),
            );
            HeaderView {
                label,
                href,
                arrow: match (active, dir) {
                    (false, _) => "",
                    (true, SortDir::Asc) => "↑",
                    (true, SortDir::Desc) => "↓",
                },
                aria_sort: match (active, dir) {
                    (false, _) => "none",
                    (true, SortDir::Asc) => "ascending",
                    (true, SortDir::Desc) => "descending",
                },
                numeric: !column.is_text(),
            }
        })
        .collect();
    let base = state.store.base_currency(auth.user.owner()).await?;
    let totals = portfolio::totals(&positions, &state.quotes, &base).await;
    let (doughnuts, value) = if positions.is_empty() {
        (Vec::new(), None)
    } else {
        let value = value_history(state, auth, query, &positions, &totals).await?;
        (
            portfolio_charts::allocations(&positions, &totals),
            Some(value),
        )
    };
    let kind = if form.draft.kind.is_empty() {
        "stock".to_string()
    } else {
        form.draft.kind.clone()
    };
    Ok(PortfolioPage {
        layout: Layout::new("portfolio", auth),
        headers,
        rows: positions.iter().map(RowView::new).collect(),
        totals: TotalsView::new(&totals),
        kinds: kind_options(&kind, true),
        form,
        form_action: query.url_with(None),
        conflict,
        flash: query.flash(),
        doughnuts,
        value,
    })
}

/// The value-over-time card: the owner's transactions (from the holdings snapshot) and the
/// prices of what they held, for the range asked for.
async fn value_history(
    state: &AppState,
    auth: &Authed,
    query: &PortfolioQuery,
    positions: &[Position],
    totals: &portfolio::Totals,
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
    let range = query.range.unwrap_or_default();
    let loaded = valuation::load(
        state.store.as_ref(),
        &state.quotes,
        &state.holdings.history,
        portfolio_charts::held_assets(positions, totals, owner),
        &transactions,
        range,
        time::OffsetDateTime::now_utc().date(),
    )
    .await?;
    Ok(portfolio_charts::value_chart(&loaded, &totals.base, |r| {
        PortfolioQuery {
            sort: query.sort,
            dir: query.dir,
            range: Some(r),
            ..PortfolioQuery::default()
        }
        .url_with(None)
    }))
}

async fn portfolio_page(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(q): PageQuery<PortfolioQuery>,
) -> Result<Response, PageError> {
    Ok(
        render_portfolio(&state, &auth, &q, FormView::default(), None)
            .await?
            .into_response(),
    )
}

async fn add_holding(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(q): PageQuery<PortfolioQuery>,
    PageForm(draft): PageForm<HoldingDraft>,
) -> Result<Response, PageError> {
    let result = match draft.validate() {
        Ok(valid) => {
            portfolio::create(
                state.store.as_ref(),
                &state.quotes,
                auth.user.owner(),
                valid,
            )
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    let (form, conflict, status) = match result {
        Ok(p) => {
            let url = q.url_with(Some(("added", p.holding.asset.symbol.as_str())));
            return Ok(Redirect::to(&url).into_response());
        }
        Err(AppError::Validation(errors)) => (
            FormView { draft, errors },
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(AppError::Conflict {
            message,
            existing_id: Some(id),
        }) => (
            FormView {
                draft,
                errors: vec![],
            },
            Some((message, id)),
            StatusCode::CONFLICT,
        ),
        Err(other) => return Err(other.into()),
    };
    let page = render_portfolio(&state, &auth, &q, form, conflict).await?;
    Ok((status, page).into_response())
}

// ----- edit and delete ----------------------------------------------------------------------

async fn owned_holding(state: &AppState, owner: OwnerId, id: i64) -> Result<Holding, PageError> {
    Ok(portfolio::owned(state.store.as_ref(), owner, id).await?)
}

#[derive(Template, WebTemplate)]
#[template(path = "edit.html")]
pub struct EditPage {
    layout: Layout,
    id: i64,
    symbol: String,
    kind_label: &'static str,
    name: Option<String>,
    form: FormView,
}

impl EditPage {
    fn new(auth: &Authed, h: &Holding, form: FormView) -> Self {
        EditPage {
            layout: Layout::new("portfolio", auth),
            id: h.id,
            symbol: h.asset.symbol.to_string(),
            kind_label: h.asset.kind.label(),
            name: h.asset.name.clone(),
            form,
        }
    }
}

async fn edit_form(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let h = owned_holding(&state, auth.user.owner(), id).await?;
    let form = FormView {
        draft: HoldingDraft {
            symbol: h.asset.symbol.to_string(),
            kind: h.asset.kind.as_str().to_string(),
            quantity: h.quantity.normalize().to_string(),
            cost_basis: h
                .cost_basis
                .map(|c| c.normalize().to_string())
                .unwrap_or_default(),
            notes: h.notes.clone().unwrap_or_default(),
        },
        errors: vec![],
    };
    Ok(EditPage::new(&auth, &h, form).into_response())
}

async fn save_edit(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
    PageForm(form): PageForm<HoldingDraft>,
) -> Result<Response, PageError> {
    let h = owned_holding(&state, auth.user.owner(), id).await?;
    // The symbol and kind are fixed on this page; only the position itself changes.
    let draft = HoldingDraft {
        symbol: h.asset.symbol.to_string(),
        kind: h.asset.kind.as_str().to_string(),
        quantity: form.quantity,
        cost_basis: form.cost_basis,
        notes: form.notes,
    };
    match draft.validate() {
        Ok(valid) => {
            let saved = portfolio::update(
                state.store.as_ref(),
                &state.quotes,
                auth.user.owner(),
                &h,
                valid,
            )
            .await?;
            let url = PortfolioQuery::default()
                .url_with(Some(("updated", saved.holding.asset.symbol.as_str())));
            Ok(Redirect::to(&url).into_response())
        }
        Err(errors) => {
            let page = EditPage::new(&auth, &h, FormView { draft, errors });
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "delete.html")]
pub struct DeletePage {
    layout: Layout,
    id: i64,
    symbol: String,
    kind_label: &'static str,
    quantity: String,
}

async fn confirm_delete(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let h = owned_holding(&state, auth.user.owner(), id).await?;
    Ok(DeletePage {
        layout: Layout::new("portfolio", &auth),
        id: h.id,
        symbol: h.asset.symbol.to_string(),
        kind_label: h.asset.kind.label(),
        quantity: format::quantity(h.quantity),
    }
    .into_response())
}

async fn delete_holding(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let h = owned_holding(&state, auth.user.owner(), id).await?;
    if !state.store.delete_holding(auth.user.owner(), id).await? {
        return Err(AppError::no_holding(id).into());
    }
    let url = PortfolioQuery::default().url_with(Some(("deleted", h.asset.symbol.as_str())));
    Ok(Redirect::to(&url).into_response())
}

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

// ----- about, API docs, errors --------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "about.html")]
pub struct AboutPage {
    layout: Layout,
    version: &'static str,
    providers: String,
}

async fn about(State(state): State<AppState>, MaybeAuthed(auth): MaybeAuthed) -> AboutPage {
    AboutPage {
        layout: Layout::public("about", auth.as_ref()),
        version: env!("CARGO_PKG_VERSION"),
        providers: state.quotes.provider_names().join(", "),
    }
}

/// One API operation on the docs page.
pub struct OperationView {
    pub method: &'static str,
    pub path: String,
    pub summary: String,
    pub responses: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "api_docs.html")]
pub struct ApiDocsPage {
    layout: Layout,
    operations: Vec<OperationView>,
}

/// A human-readable page built from the same OpenAPI document the API serves.
pub async fn api_docs(MaybeAuthed(auth): MaybeAuthed) -> ApiDocsPage {
    use utoipa::openapi::RefOr;
    let doc = ApiDoc::openapi();
    let mut operations = Vec::new();
    for (path, item) in &doc.paths.paths {
        let methods = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in methods {
            let Some(op) = op else { continue };
            let responses = op
                .responses
                .responses
                .iter()
                .map(|(code, r)| {
                    let text = match r {
                        RefOr::T(r) => r.description.clone(),
                        RefOr::Ref(r) => r.ref_location.clone(),
                    };
                    (code.clone(), text)
                })
                .collect();
            operations.push(OperationView {
                method,
                path: path.clone(),
                summary: op
                    .summary
                    .clone()
                    .or_else(|| op.description.clone())
                    .unwrap_or_default(),
                responses,
            });
        }
    }
    ApiDocsPage {
        layout: Layout::public("api", auth.as_ref()),
        operations,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub title: String,
    pub message: String,
}
