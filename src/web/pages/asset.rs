//! `/assets/{symbol}`: the quote card, a price chart (server-rendered SVG, so no script is
//! needed and the CSP stays strict), and for items the owner's prices with a form to add one.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use time::OffsetDateTime;

use super::layout::{Layout, QuoteView};
use crate::domain::amount::parse_not_negative;
use crate::domain::{
    AssetKey, AssetKind, DomainError, FieldError, HistoryRange, PricePoint, Symbol, UnknownKind,
};
use crate::market::QuoteError;
use crate::portfolio::{self, items, quotes};
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{PageForm, PagePath, PageQuery};
use crate::web::format;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/{symbol}", get(asset_page))
        .route("/assets/{symbol}/prices", axum::routing::post(add_price))
}

#[derive(Deserialize, Default)]
struct AssetQuery {
    kind: Option<String>,
    range: Option<HistoryRange>,
}

/// A range link above the chart.
pub struct RangeLink {
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

/// The chart, laid out in SVG user units.
pub struct Chart {
    pub points: String,
    pub area: String,
    pub high: String,
    pub low: String,
    pub first_date: String,
    pub last_date: String,
    pub trend: &'static str,
    pub count: usize,
}

const CHART_W: f64 = 800.0;
const CHART_H: f64 = 240.0;
const CHART_PAD: f64 = 8.0;

impl Chart {
    /// Scales the closes into the box; `None` with fewer than two points.
    pub fn new(points: &[PricePoint]) -> Option<Chart> {
        if points.len() < 2 {
            return None;
        }
        let closes: Vec<f64> = points
            .iter()
            .map(|p| p.close.to_f64().unwrap_or(0.0))
            .collect();
        let (lo, hi) = closes
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), c| (lo.min(*c), hi.max(*c)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        // x follows the calendar, so gaps (weekends, months between manual prices) keep their width.
        let first_day = points[0].date.to_julian_day();
        let days = f64::from((points[points.len() - 1].date.to_julian_day() - first_day).max(1));
        let coords: Vec<String> = points
            .iter()
            .zip(&closes)
            .map(|(p, c)| {
                let x = CHART_PAD
                    + f64::from(p.date.to_julian_day() - first_day) / days
                        * (CHART_W - 2.0 * CHART_PAD);
                let y = CHART_PAD + (hi - c) / span * (CHART_H - 2.0 * CHART_PAD);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let line = coords.join(" ");
        let area = format!(
            "{CHART_PAD:.1},{CHART_H:.1} {line} {:.1},{CHART_H:.1}",
            CHART_W - CHART_PAD
        );
        let (first, last) = (points[0].close, points[points.len() - 1].close);
        let max = points
            .iter()
            .map(|p| p.close)
            .max()
            .unwrap_or(Decimal::ZERO);
        let min = points
            .iter()
            .map(|p| p.close)
            .min()
            .unwrap_or(Decimal::ZERO);
        Some(Chart {
            points: line,
            area,
            high: format::price(max),
            low: format::price(min),
            first_date: points[0].date.to_string(),
            last_date: points[points.len() - 1].date.to_string(),
            trend: if last >= first {
                "chart-up"
            } else {
                "chart-down"
            },
            count: points.len(),
        })
    }
}

/// The price chart card (`price_chart.html`): the chart, its range links, and why it is
/// missing or short.
pub struct HistoryCard {
    pub chart: Option<Chart>,
    pub ranges: Vec<RangeLink>,
    pub range_label: &'static str,
    /// The price services failed to give the history (distinct from having none).
    pub note: Option<String>,
    /// Said after "No price history yet" (": add prices below").
    pub empty_hint: &'static str,
}

impl HistoryCard {
    /// The asset's closes over `range`, with range links made by `href`.
    pub async fn load(
        state: &AppState,
        key: &AssetKey,
        range: HistoryRange,
        href: impl Fn(HistoryRange) -> String,
        empty_hint: &'static str,
    ) -> HistoryCard {
        let history = state.quotes.history(key, range).await;
        HistoryCard {
            chart: Chart::new(&history.points),
            ranges: HistoryRange::ALL
                .into_iter()
                .map(|r| RangeLink {
                    label: range_label(r),
                    href: href(r),
                    active: r == range,
                })
                .collect(),
            range_label: range_label(range),
            note: history
                .failed
                .as_ref()
                .map(|e| history_note(e, history.points.len())),
            empty_hint,
        }
    }
}

/// A manual price in the item's table.
pub struct PriceRow {
    pub date: String,
    pub price: String,
}

/// What the chart card says when the price services failed to give the history.
fn history_note(failed: &QuoteError, stored: usize) -> String {
    let shown = match stored {
        0 => "Nothing is stored here for this range yet".to_string(),
        1 => "The chart shows the one day stored here".to_string(),
        n => format!("The chart shows the {n} days stored here"),
    };
    format!(
        "Price history is unavailable right now ({failed}). {shown}; reload the page in a minute."
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "asset.html")]
pub struct AssetPage {
    layout: Layout,
    symbol: String,
    kind: &'static str,
    kind_label: &'static str,
    name: Option<String>,
    quote: Option<QuoteView>,
    held_id: Option<i64>,
    /// The watchlist entry of this asset, if it is watched.
    watch_id: Option<i64>,
    /// Market assets can be watched; items cannot.
    can_watch: bool,
    /// Where the quote card's "Watch" returns to.
    watch_back: &'static str,
    error: Option<String>,
    history: HistoryCard,
    is_item: bool,
    prices: Vec<PriceRow>,
    form_date: String,
    form_price: String,
    form_errors: Vec<FieldError>,
    today: String,
}

impl AssetPage {
    /// The problem with one field of the price form, if any.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.form_errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

fn parse_kind(kind: Option<&str>) -> Result<AssetKind, AppError> {
    match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(AssetKind::Stock),
        Some(k) => k
            .parse()
            .map_err(|e: UnknownKind| AppError::BadRequest(e.to_string())),
    }
}

fn parse_symbol(raw: &str) -> Result<Symbol, AppError> {
    Symbol::parse(raw).map_err(|e| DomainError::field("symbol", e.to_string()).into())
}

async fn render(
    state: &AppState,
    auth: &Authed,
    symbol: Symbol,
    kind: AssetKind,
    range: HistoryRange,
    form: (String, String, Vec<FieldError>),
) -> Result<AssetPage, PageError> {
    let key = AssetKey {
        symbol: symbol.clone(),
        kind,
        owner: auth.user.owner(),
    };
    let held = state
        .store
        .find_holding(auth.user.owner(), &symbol, kind)
        .await?;
    let watch_id = if kind.is_market_priced() {
        state
            .store
            .watchlist(auth.user.owner())
            .await?
            .into_iter()
            .find(|w| w.asset.symbol == symbol && w.asset.kind == kind)
            .map(|w| w.id)
    } else {
        None
    };
    let (quote, error) = if kind.is_market_priced() {
        match quotes::look_up(&state.quotes, &symbol, kind).await {
            Ok(q) => (Some(q), None),
            Err(e) => (None, Some(AppError::Domain(e).public_message())),
        }
    } else {
        (state.quotes.item_quote(&key).await, None)
    };
    if !kind.is_market_priced() && held.is_none() && quote.is_none() {
        return Err(AppError::not_found(format!(
            "You have no item {symbol}. Add it on the portfolio page first."
        ))
        .into());
    }
    let is_item = !kind.is_market_priced();
    let history = HistoryCard::load(
        state,
        &key,
        range,
        |r| {
            format!(
                "/assets/{}?kind={}&range={}",
                symbol,
                kind.as_str(),
                r.as_str()
            )
        },
        if is_item { ": add prices below" } else { "" },
    )
    .await;
    let prices = if kind.is_market_priced() {
        Vec::new()
    } else {
        price_rows(items::prices(state.store.as_ref(), &key).await?)
    };
    let name = held
        .as_ref()
        .and_then(|h| h.asset.name.clone())
        .or_else(|| quote.as_ref().and_then(|q| q.name.clone()));
    let today = OffsetDateTime::now_utc().date().to_string();
    let (form_date, form_price, form_errors) = form;
    Ok(AssetPage {
        layout: Layout::new("portfolio", auth),
        symbol: symbol.to_string(),
        kind: kind.as_str(),
        kind_label: kind.label(),
        name,
        quote: quote.as_ref().map(QuoteView::new),
        held_id: held.map(|h| h.id),
        watch_id,
        can_watch: kind.is_market_priced(),
        watch_back: "asset",
        error,
        history,
        is_item,
        prices,
        form_date: if form_date.is_empty() {
            today.clone()
        } else {
            form_date
        },
        form_price,
        form_errors,
        today,
    })
}

/// An item's prices, newest first.
fn price_rows(prices: Vec<PricePoint>) -> Vec<PriceRow> {
    prices
        .into_iter()
        .rev()
        .map(|p| PriceRow {
            date: p.date.to_string(),
            price: format::price(p.close),
        })
        .collect()
}

fn range_label(r: HistoryRange) -> &'static str {
    match r {
        HistoryRange::Month1 => "1M",
        HistoryRange::Month6 => "6M",
        HistoryRange::Year1 => "1Y",
        HistoryRange::Year5 => "5Y",
    }
}

async fn asset_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(raw): PagePath<String>,
    PageQuery(q): PageQuery<AssetQuery>,
) -> Result<Response, PageError> {
    let kind = parse_kind(q.kind.as_deref())?;
    let symbol = parse_symbol(&raw)?;
    let page = render(
        &state,
        &auth,
        symbol,
        kind,
        q.range.unwrap_or_default(),
        Default::default(),
    )
    .await?;
    Ok(page.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PriceForm {
    date: String,
    price: String,
}

async fn add_price(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(raw): PagePath<String>,
    PageForm(form): PageForm<PriceForm>,
) -> Result<Response, PageError> {
    let symbol = parse_symbol(&raw)?;
    let item = items::held(state.store.as_ref(), auth.user.owner(), &symbol).await?;
    let kind = AssetKind::Item;
    let price = parse_not_negative(&form.price);
    match items::add_price(&state.quotes, &item, &form.date, price).await {
        Ok(_) => Ok(Redirect::to(&format!("/assets/{symbol}?kind=item")).into_response()),
        Err(portfolio::Error::Domain(
            DomainError::Invalid(errors) | DomainError::Mismatch(errors),
        )) => {
            let page = render(
                &state,
                &auth,
                symbol,
                kind,
                HistoryRange::default(),
                (form.date, form.price, errors),
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
