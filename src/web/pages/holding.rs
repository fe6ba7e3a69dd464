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
use crate::portfolio::holdings;
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
        },
        vec![],
    );
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
    match draft.validate_edit(&h) {
        Ok(valid) => {
            let saved = holdings::update(
                state.store.as_ref(),
                &state.quotes,
                auth.user.owner(),
                &h,
                valid,
            )
            .await?;
            let url = flash_url("updated", &saved.holding.asset.symbol);
            Ok(Redirect::to(&url).into_response())
        }
        Err(DomainError::Invalid(errors)) => {
            let page = EditPage::new(&auth, &h, FormView::refused(draft, errors));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(AppError::Domain(other).into()),
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
    holdings::delete(state.store.as_ref(), auth.user.owner(), id).await?;
    let url = flash_url("deleted", &h.asset.symbol);
    Ok(Redirect::to(&url).into_response())
}
