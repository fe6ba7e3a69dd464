//! A holding's edit and delete pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::layout::{FormView, Layout};
use super::portfolio::flash_url;
use crate::domain::{DomainError, Holding, HoldingDraft, OwnerId};
use crate::portfolio::{holdings, transactions};
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{PageForm, PagePath};
use crate::web::format;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portfolio/{id}/edit", get(edit_form).post(save_edit))
        .route(
            "/portfolio/{id}/delete",
            get(confirm_delete).post(delete_holding),
        )
}

async fn owned_holding(state: &AppState, owner: OwnerId, id: i64) -> Result<Holding, PageError> {
    Ok(holdings::owned(state.store.as_ref(), owner, id).await?)
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
    /// The quantity and cost come from more than the opening buy: shown, not editable.
    locked: bool,
    quantity: String,
    cost: String,
    /// Why the change was refused (what was typed stays on the form).
    refused: Option<String>,
}

impl EditPage {
    fn new(auth: &Authed, h: &Holding, transactions: usize, form: FormView) -> Self {
        EditPage {
            layout: Layout::new("portfolio", auth),
            id: h.id,
            symbol: h.asset.symbol.to_string(),
            kind_label: h.asset.kind.label(),
            name: h.asset.name.clone(),
            form,
            locked: transactions > 1,
            quantity: format::quantity(h.quantity),
            cost: h
                .cost_basis
                .map_or_else(|| format::NONE.to_string(), format::price),
            refused: None,
        }
    }
}

/// How many transactions a holding has (its quantity and cost are theirs past the first).
async fn transaction_count(state: &AppState, owner: OwnerId, id: i64) -> Result<usize, PageError> {
    Ok(transactions::list(state.store.as_ref(), owner, Some(id))
        .await?
        .len())
}

async fn edit_form(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let h = owned_holding(&state, auth.user.owner(), id).await?;
    let count = transaction_count(&state, auth.user.owner(), id).await?;
    let form = FormView::refused(
        HoldingDraft {
            symbol: h.asset.symbol.to_string(),
            kind: h.asset.kind.as_str().to_string(),
            quantity: h.quantity.normalize().to_string(),
            cost_basis: h
                .cost_basis
                .map(|c| c.normalize().to_string())
                .unwrap_or_default(),
            notes: h.notes.clone().unwrap_or_default(),
            date: String::new(),
        },
        vec![],
    );
    Ok(EditPage::new(&auth, &h, count, form).into_response())
}

async fn save_edit(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
    PageForm(form): PageForm<HoldingDraft>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let h = owned_holding(&state, owner, id).await?;
    let count = transaction_count(&state, owner, id).await?;
    // The symbol and kind are fixed on this page; only the position itself changes, and only
    // the notes once transactions decide the quantity and cost.
    let keep = |now: String, typed: String| if count > 1 { now } else { typed };
    let draft = HoldingDraft {
        symbol: h.asset.symbol.to_string(),
        kind: h.asset.kind.as_str().to_string(),
        quantity: keep(h.quantity.normalize().to_string(), form.quantity),
        cost_basis: keep(
            h.cost_basis
                .map(|c| c.normalize().to_string())
                .unwrap_or_default(),
            form.cost_basis,
        ),
        notes: form.notes,
        date: String::new(),
    };
    let result = match draft.validate_edit(&h) {
        Ok(valid) => holdings::update(state.store.as_ref(), &state.quotes, owner, &h, valid)
            .await
            .map_err(PageError::from),
        Err(e) => Err(AppError::Domain(e).into()),
    };
    match result {
        Ok(saved) => {
            let url = flash_url("updated", &saved.holding.asset.symbol);
            Ok(Redirect::to(&url).into_response())
        }
        Err(PageError(AppError::Domain(DomainError::Invalid(errors)))) => {
            let page = EditPage::new(&auth, &h, count, FormView::refused(draft, errors));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(PageError(AppError::Domain(DomainError::Refused(why)))) => {
            let page = EditPage {
                refused: Some(why),
                ..EditPage::new(&auth, &h, count, FormView::refused(draft, vec![]))
            };
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(other) => Err(other),
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
    /// The transactions deleted with it.
    transactions: usize,
}

async fn confirm_delete(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let h = owned_holding(&state, auth.user.owner(), id).await?;
    let transactions = transaction_count(&state, auth.user.owner(), id).await?;
    Ok(DeletePage {
        transactions,
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
    holdings::delete(state.store.as_ref(), auth.user.owner(), id).await?;
    let url = flash_url("deleted", &h.asset.symbol);
    Ok(Redirect::to(&url).into_response())
}
