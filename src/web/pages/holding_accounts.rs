//! `/accounts`: where the owner keeps assets — add, rename, and delete (moving what a deleted
//! account holds to another).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::layout::{FormErrors, Layout};
use crate::domain::DomainError;
use crate::domain::holding_account::HoldingAccount;
use crate::portfolio::{self, holding_accounts};
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::extract::{PageForm, PagePath, PageQuery};
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(accounts_page).post(add))
        .route("/accounts/{id}/rename", post(rename))
        .route("/accounts/{id}/delete", post(delete))
}

/// What a refused form said, and which account's form it was (`None`: the add form).
pub struct Refusal {
    pub account: Option<i64>,
    pub typed: String,
    pub errors: FormErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts.html")]
pub struct AccountsPage {
    layout: Layout,
    accounts: Vec<HoldingAccount>,
    flash: Option<String>,
    refusal: Option<Refusal>,
}

impl AccountsPage {
    /// The problem of `field` on the form of `account` (`None`: the add form).
    fn error(&self, account: Option<i64>, field: &str) -> Option<&str> {
        self.refusal
            .as_ref()
            .filter(|r| r.account == account)
            .and_then(|r| r.errors.error(field))
    }

    /// What the form of `account` shows: what was typed when it was refused, else `current`.
    fn typed<'a>(&'a self, account: Option<i64>, current: &'a str) -> &'a str {
        self.refusal
            .as_ref()
            .filter(|r| r.account == account)
            .map_or(current, |r| r.typed.as_str())
    }

    /// The other accounts a deleted one's transactions may move to.
    fn others(&self, id: &i64) -> Vec<&HoldingAccount> {
        self.accounts.iter().filter(|a| a.id != *id).collect()
    }
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    saved: Option<String>,
}

async fn render(
    state: &AppState,
    auth: &Authed,
    flash: Option<String>,
    refusal: Option<Refusal>,
) -> Result<AccountsPage, PageError> {
    Ok(AccountsPage {
        layout: Layout::new("activity", auth),
        accounts: holding_accounts::list(state.store.as_ref(), auth.user.owner()).await?,
        flash,
        refusal,
    })
}

async fn accounts_page(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(q): PageQuery<SavedQuery>,
) -> Result<Response, PageError> {
    let flash = match q.saved.as_deref() {
        Some("added") => Some("Account added.".to_string()),
        Some("renamed") => Some("Account renamed.".to_string()),
        Some("deleted") => Some("Account deleted.".to_string()),
        _ => None,
    };
    Ok(render(&state, &auth, flash, None).await?.into_response())
}

/// The page again with a form's refusal on it (422, or 409 for a clash with how things are).
async fn refused(
    state: &AppState,
    auth: &Authed,
    account: Option<i64>,
    typed: String,
    err: portfolio::Error,
) -> Result<Response, PageError> {
    let (status, errors) = match err {
        portfolio::Error::Domain(DomainError::Invalid(errors)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, errors)
        }
        portfolio::Error::Domain(DomainError::Mismatch(errors)) => (StatusCode::CONFLICT, errors),
        portfolio::Error::Domain(DomainError::Conflict { message, .. }) => (
            StatusCode::CONFLICT,
            vec![crate::domain::FieldError::new("name", message)],
        ),
        other => return Err(other.into()),
    };
    let refusal = Refusal {
        account,
        typed,
        errors: FormErrors(errors),
    };
    let page = render(state, auth, None, Some(refusal)).await?;
    Ok((status, page).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NameForm {
    name: String,
}

async fn add(
    State(state): State<AppState>,
    auth: Authed,
    PageForm(form): PageForm<NameForm>,
) -> Result<Response, PageError> {
    match holding_accounts::create(state.store.as_ref(), auth.user.owner(), &form.name).await {
        Ok(_) => Ok(Redirect::to("/accounts?saved=added").into_response()),
        Err(e) => refused(&state, &auth, None, form.name, e).await,
    }
}

async fn rename(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
    PageForm(form): PageForm<NameForm>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    match holding_accounts::rename(state.store.as_ref(), owner, id, &form.name).await {
        Ok(_) => Ok(Redirect::to("/accounts?saved=renamed").into_response()),
        Err(e) => refused(&state, &auth, Some(id), form.name, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteForm {
    move_to: String,
}

async fn delete(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
    PageForm(form): PageForm<DeleteForm>,
) -> Result<Response, PageError> {
    let move_to = form.move_to.trim().parse::<i64>().ok();
    let owner = auth.user.owner();
    match holding_accounts::delete(state.store.as_ref(), owner, id, move_to).await {
        Ok(()) => Ok(Redirect::to("/accounts?saved=deleted").into_response()),
        Err(e) => refused(&state, &auth, Some(id), String::new(), e).await,
    }
}
