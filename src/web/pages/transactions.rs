//! A holding's transactions page (list, add, edit, delete) and the base currency setting.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::layout::{FormErrors, Layout};
use crate::domain::transaction::TxRequest;
use crate::domain::{DomainError, Holding, Transaction, TxDraft, TxFields, TxKind, position};
use crate::portfolio::{self, holdings, today, transactions};
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::extract::{PageForm, PagePath, PageQuery};
use crate::web::format;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/portfolio/{id}/transactions",
            get(holding_page).post(add_page),
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
    fn new(t: &Transaction) -> Self {
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
}

#[derive(Template, WebTemplate)]
#[template(path = "transactions.html")]
pub struct HoldingTxPage {
    layout: Layout,
    holding_id: i64,
    symbol: String,
    kind_label: &'static str,
    currency: String,
    quantity: String,
    average_cost: String,
    realized: String,
    dividends: String,
    rows: Vec<TxRowView>,
    form: TxForm,
    kinds: [TxKind; 5],
    flash: Option<String>,
}

async fn holding_view(
    state: &AppState,
    auth: &Authed,
    holding: &Holding,
    form: TxForm,
    flash: Option<String>,
) -> Result<HoldingTxPage, PageError> {
    let owner = auth.user.owner();
    let txs = transactions::list(state.store.as_ref(), owner, Some(holding.id)).await?;
    let ledger = position::ledgers(txs.clone()).0.remove(&holding.id);
    let none = || "—".to_string();
    Ok(HoldingTxPage {
        layout: Layout::new("portfolio", auth),
        holding_id: holding.id,
        symbol: holding.asset.symbol.to_string(),
        kind_label: holding.asset.kind.label(),
        currency: holding.asset.currency.clone(),
        quantity: format::quantity(holding.quantity),
        average_cost: holding.cost_basis.map(format::price).unwrap_or_else(none),
        realized: ledger
            .as_ref()
            .map(|l| format::fixed(l.realized, 2))
            .unwrap_or_else(none),
        dividends: ledger
            .as_ref()
            .map(|l| format::fixed(l.dividends, 2))
            .unwrap_or_else(none),
        rows: txs.iter().map(TxRowView::new).collect(),
        form,
        kinds: TxKind::ALL,
        flash,
    })
}

#[derive(Deserialize, Default)]
struct FlashQuery {
    saved: Option<String>,
}

async fn holding_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
    PageQuery(q): PageQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let holding = holdings::owned(state.store.as_ref(), auth.user.owner(), id).await?;
    let flash = q.saved.map(|what| format!("Transaction {what}."));
    Ok(holding_view(&state, &auth, &holding, new_form(), flash)
        .await?
        .into_response())
}

/// A use case's refusal as the form shows it: its fields' problems, or why the change would
/// not add up; anything else is an error page.
fn on_form(err: portfolio::Error) -> Result<(FormErrors, Option<String>), PageError> {
    match err {
        portfolio::Error::Domain(DomainError::Invalid(errors)) => Ok((FormErrors(errors), None)),
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
        Ok(_) => {
            Ok(Redirect::to(&format!("/portfolio/{id}/transactions?saved=added")).into_response())
        }
        Err(e) => {
            let (errors, refused) = on_form(e)?;
            let form = TxForm {
                draft,
                errors,
                refused,
            };
            let page = holding_view(&state, &auth, &holding, form, None).await?;
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
        Ok(_) => Ok(Redirect::to(&format!(
            "/portfolio/{}/transactions?saved=updated",
            t.holding_id
        ))
        .into_response()),
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
        Ok(_) => Ok(Redirect::to(&format!(
            "/portfolio/{}/transactions?saved=deleted",
            t.holding_id
        ))
        .into_response()),
        Err(e) => {
            let (_, refused) = on_form(e)?;
            let holding = holdings::owned(state.store.as_ref(), owner, t.holding_id).await?;
            let form = TxForm {
                refused,
                ..new_form()
            };
            let page = holding_view(&state, &auth, &holding, form, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
