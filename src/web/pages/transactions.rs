//! A holding's page (`/portfolio/{id}`): its position, price chart and quote statistics, and
//! its transactions (list, add, edit, delete).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::asset::HistoryCard;
use super::layout::{FormErrors, Layout, QuoteView};
use crate::domain::transaction::TxRequest;
use crate::domain::{
    AssetKey, DomainError, HistoryRange, Holding, Position, SortDir, SortKey, Totals, Transaction,
    TxDraft, TxFields, TxKind,
};
use crate::portfolio::performance::Measured;
use crate::portfolio::{self, holding_accounts, holdings, today, transactions};
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::extract::{PageForm, PagePath, PageQuery};
use crate::web::format;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portfolio/{id}", get(holding_page))
        .route(
            "/portfolio/{id}/transactions",
            get(to_holding_page).post(add_page),
        )
        .route("/transactions/{id}/edit", get(edit_page).post(save_page))
        .route(
            "/transactions/{id}/delete",
            get(confirm_delete).post(delete_page),
        )
}

/// One transaction, formatted for a table.
pub struct TxRowView {
    pub id: i64,
    pub date: String,
    pub kind: &'static str,
    pub quantity: String,
    pub price: String,
    pub amount: String,
    pub ratio: String,
    pub fees: String,
    pub notes: String,
}

impl TxRowView {
    pub fn new(t: &Transaction) -> Self {
        let a = &t.amounts;
        let show = |d: Option<Decimal>, f: fn(Decimal) -> String| d.map(f).unwrap_or_default();
        TxRowView {
            id: t.id,
            date: a.day.to_string(),
            kind: a.kind.as_str(),
            quantity: show(a.quantity, format::quantity),
            price: show(a.price, format::price),
            amount: show(a.amount, |d| format::fixed(d, 2)),
            ratio: show(a.ratio, |d| d.normalize().to_string()),
            fees: if a.fees.is_zero() {
                String::new()
            } else {
                format::fixed(a.fees, 2)
            },
            notes: t.notes.clone().unwrap_or_default(),
        }
    }

    /// The amounts in one line, for narrow screens: `4 × 150.00`, `50.00`, `2:1`, with
    /// `+ 2.00 fees` when there are some.
    pub fn summary(&self) -> String {
        let mut line = match (self.quantity.is_empty(), self.price.is_empty()) {
            (false, false) => format!("{} × {}", self.quantity, self.price),
            (false, true) => self.quantity.clone(),
            _ if !self.amount.is_empty() => self.amount.clone(),
            _ if !self.ratio.is_empty() => format!("{}:1", self.ratio),
            _ => String::new(),
        };
        if !self.fees.is_empty() {
            line.push_str(&format!(" + {} fees", self.fees));
        }
        line
    }
}

/// The add or edit form: what was typed and what is wrong with it.
#[derive(Default)]
pub struct TxForm {
    pub draft: TxDraft,
    pub errors: FormErrors,
    /// Why the store refused it (selling more than held, …).
    pub refused: Option<String>,
}

impl TxForm {
    fn selected(&self, kind: &str) -> bool {
        self.draft.kind.eq_ignore_ascii_case(kind)
    }

    /// Whether the account select shows `id` chosen: the one typed, else the first (default).
    fn account_chosen(&self, id: &i64, index: &usize) -> bool {
        match self.draft.account.trim() {
            "" => *index == 0,
            chosen => chosen == id.to_string(),
        }
    }
}

/// The owner's accounts for a form's select: `(id, name)`, the default first.
async fn account_choices(state: &AppState, auth: &Authed) -> Result<Vec<(i64, String)>, PageError> {
    Ok(
        holding_accounts::list(state.store.as_ref(), auth.user.owner())
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect(),
    )
}

/// The position's figures, formatted, in the asset's currency.
pub struct PositionView {
    pub quantity: String,
    pub average_cost: String,
    pub cost: String,
    pub value: String,
    pub day_change: String,
    pub day_trend: &'static str,
    pub gain: String,
    pub gain_percent: Option<String>,
    pub gain_trend: &'static str,
    pub realized: String,
    pub realized_trend: &'static str,
    pub dividends: String,
    /// Share of the portfolio's value in the base currency.
    pub weight: String,
}

impl PositionView {
    fn new(p: &Position, totals: &Totals) -> Self {
        let dash = format::or_dash;
        let average = p
            .ledger
            .as_ref()
            .map_or(p.holding.cost_basis, |l| l.average_cost());
        PositionView {
            quantity: format::quantity(p.holding.quantity),
            average_cost: dash(average.map(format::price)),
            cost: dash(p.cost().map(|c| format::fixed(c, 2))),
            value: dash(p.market_value().map(|v| format::fixed(v, 2))),
            day_change: dash(p.day_change().map(format::money_signed)),
            day_trend: format::trend_class(p.day_change()),
            gain: dash(p.gain().map(format::money_signed)),
            gain_percent: p.gain_percent().map(format::percent),
            gain_trend: format::trend_class(p.gain()),
            realized: dash(p.realized().map(format::money_signed)),
            realized_trend: format::trend_class(p.realized()),
            dividends: dash(p.dividends().map(|d| format::fixed(d, 2))),
            weight: dash(totals.weight(p).map(format::share)),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "holding.html")]
pub struct HoldingPage {
    layout: Layout,
    holding_id: i64,
    symbol: String,
    kind: &'static str,
    kind_label: &'static str,
    name: Option<String>,
    currency: String,
    base: String,
    position: PositionView,
    /// Its money-weighted return a year since its first trade, or why there is none.
    xirr: super::portfolio::XirrLine,
    quote: Option<QuoteView>,
    history: HistoryCard,
    returns: Option<super::returns::ReturnsView>,
    rows: Vec<TxRowView>,
    form: TxForm,
    kinds: [TxKind; 5],
    accounts: Vec<(i64, String)>,
    flash: Option<String>,
}

/// The holding's page: its position among the owner's (for its weight), the price chart over
/// `range`, and its transactions, with `form` as the add form.
async fn holding_view(
    state: &AppState,
    auth: &Authed,
    holding: &Holding,
    range: HistoryRange,
    form: TxForm,
    flash: Option<String>,
) -> Result<HoldingPage, PageError> {
    let owner = auth.user.owner();
    let store = state.store.as_ref();
    let positions = holdings::load(
        store,
        &state.quotes,
        &state.holdings,
        owner,
        None,
        SortKey::default(),
        SortDir::default(),
    )
    .await?;
    // The weight is of everything the portfolio is worth, its cash included.
    let reader = state.reader(owner, None);
    let totals = holdings::today_totals(reader, &positions, None, &auth.base_currency).await?;
    let measured = Measured::Holding(holding.id);
    let (returns, _) =
        super::returns::returns_card(state, auth, measured, &positions, &totals, None).await?;
    let position = match positions.into_iter().find(|p| p.holding.id == holding.id) {
        Some(p) => p,
        None => {
            let quote = holdings::current_quote(&state.quotes, owner, holding).await;
            holdings::position(store, owner, holding.clone(), quote).await?
        }
    };
    let txs = transactions::list(store, owner, Some(holding.id)).await?;
    let asset = &holding.asset;
    let key = AssetKey {
        symbol: asset.symbol.clone(),
        kind: asset.kind,
        owner,
    };
    let id = holding.id;
    let history = HistoryCard::load(
        state,
        &key,
        range,
        |r| format!("/portfolio/{id}?range={}", r.as_str()),
        "",
    )
    .await;
    Ok(HoldingPage {
        layout: Layout::new("portfolio", auth),
        holding_id: id,
        symbol: asset.symbol.to_string(),
        kind: asset.kind.as_str(),
        kind_label: asset.kind.label(),
        name: position.name().map(str::to_string),
        currency: position.currency().to_string(),
        base: totals.base.clone(),
        xirr: super::portfolio::XirrLine::new(holdings::holding_money_weighted(
            &position,
            txs.iter().map(|t| &t.amounts),
            totals.rate(position.currency()),
        )),
        position: PositionView::new(&position, &totals),
        quote: position.quote.as_ref().map(QuoteView::new),
        history,
        returns,
        rows: txs.iter().map(TxRowView::new).collect(),
        form,
        kinds: TxKind::ALL,
        accounts: account_choices(state, auth).await?,
        flash,
    })
}

#[derive(Deserialize, Default)]
struct HoldingQuery {
    saved: Option<String>,
    range: Option<HistoryRange>,
}

async fn holding_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
    PageQuery(q): PageQuery<HoldingQuery>,
) -> Result<Response, PageError> {
    let holding = holdings::owned(state.store.as_ref(), auth.user.owner(), id).await?;
    let flash = match q.saved.as_deref() {
        Some(what @ ("added" | "updated" | "deleted")) => Some(format!("Transaction {what}.")),
        _ => None,
    };
    let range = q.range.unwrap_or_default();
    Ok(
        holding_view(&state, &auth, &holding, range, new_form(), flash)
            .await?
            .into_response(),
    )
}

/// The former transactions page's address: the holding page lists them now (a holding of
/// someone else is a 404 here too).
async fn to_holding_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    holdings::owned(state.store.as_ref(), auth.user.owner(), id).await?;
    Ok(Redirect::permanent(&format!("/portfolio/{id}#transactions")).into_response())
}

/// Where a change to one of the holding's transactions lands: its page, saying what was done.
fn saved_url(holding_id: i64, what: &str) -> String {
    format!("/portfolio/{holding_id}?saved={what}#transactions")
}

/// A use case's refusal as the form shows it: its fields' problems, or why the change would
/// not add up; anything else is an error page.
fn on_form(err: portfolio::Error) -> Result<(FormErrors, Option<String>), PageError> {
    match err {
        portfolio::Error::Domain(DomainError::Invalid(errors) | DomainError::Mismatch(errors)) => {
            Ok((FormErrors(errors), None))
        }
        portfolio::Error::Domain(DomainError::Refused(why)) => {
            Ok((FormErrors::default(), Some(why)))
        }
        other => Err(other.into()),
    }
}

/// An empty add form: a buy, today.
fn new_form() -> TxForm {
    TxForm {
        draft: TxDraft {
            kind: "buy".into(),
            date: today().to_string(),
            ..TxDraft::default()
        },
        ..TxForm::default()
    }
}

async fn add_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
    PageForm(draft): PageForm<TxDraft>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let holding = holdings::owned(state.store.as_ref(), owner, id).await?;
    let input = TxRequest::Text(draft.clone());
    match transactions::add(state.store.as_ref(), owner, id, &input).await {
        Ok(_) => Ok(Redirect::to(&saved_url(id, "added")).into_response()),
        Err(e) => {
            let (errors, refused) = on_form(e)?;
            let form = TxForm {
                draft,
                errors,
                refused,
            };
            let page =
                holding_view(&state, &auth, &holding, HistoryRange::default(), form, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "transaction_edit.html")]
pub struct TxEditPage {
    layout: Layout,
    id: i64,
    holding_id: i64,
    symbol: String,
    form: TxForm,
    kinds: [TxKind; 5],
    accounts: Vec<(i64, String)>,
}

async fn edit_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let t = transactions::owned(state.store.as_ref(), auth.user.owner(), id).await?;
    let fields = TxFields {
        amounts: t.amounts.clone(),
        notes: t.notes.clone(),
    };
    Ok(TxEditPage {
        layout: Layout::new("portfolio", &auth),
        id,
        holding_id: t.holding_id,
        symbol: t.symbol.to_string(),
        form: TxForm {
            draft: TxDraft::from_fields(&fields, &t.currency),
            ..TxForm::default()
        },
        kinds: TxKind::ALL,
        accounts: account_choices(&state, &auth).await?,
    }
    .into_response())
}

async fn save_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
    PageForm(draft): PageForm<TxDraft>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let t = transactions::owned(state.store.as_ref(), owner, id).await?;
    let input = TxRequest::Text(draft.clone());
    match transactions::edit(state.store.as_ref(), owner, id, &input)
        .await
        .map_err(on_form)
    {
        Ok(_) => Ok(Redirect::to(&saved_url(t.holding_id, "updated")).into_response()),
        Err(refusal) => {
            let (errors, refused) = refusal?;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                TxEditPage {
                    layout: Layout::new("portfolio", &auth),
                    id,
                    holding_id: t.holding_id,
                    symbol: t.symbol.to_string(),
                    form: TxForm {
                        draft,
                        errors,
                        refused,
                    },
                    kinds: TxKind::ALL,
                    accounts: account_choices(&state, &auth).await?,
                },
            )
                .into_response())
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "tx_delete.html")]
pub struct TxDeletePage {
    layout: Layout,
    holding_id: i64,
    symbol: String,
    currency: String,
    row: TxRowView,
}

/// Asks before a transaction is deleted, saying what it was.
async fn confirm_delete(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let t = transactions::owned(state.store.as_ref(), auth.user.owner(), id).await?;
    Ok(TxDeletePage {
        layout: Layout::new("portfolio", &auth),
        holding_id: t.holding_id,
        symbol: t.symbol.to_string(),
        currency: t.currency.clone(),
        row: TxRowView::new(&t),
    }
    .into_response())
}

async fn delete_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let t = transactions::owned(state.store.as_ref(), owner, id).await?;
    match transactions::delete(state.store.as_ref(), owner, id).await {
        Ok(_) => Ok(Redirect::to(&saved_url(t.holding_id, "deleted")).into_response()),
        Err(e) => {
            let (_, refused) = on_form(e)?;
            let holding = holdings::owned(state.store.as_ref(), owner, t.holding_id).await?;
            let form = TxForm {
                refused,
                ..new_form()
            };
            let page =
                holding_view(&state, &auth, &holding, HistoryRange::default(), form, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
