//! `/cash`: the cash each account holds per currency, recording deposits, withdrawals,
//! interest, fees and transfers, and deleting them (after asking).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::layout::{FormErrors, Layout};
use crate::domain::DomainError;
use crate::domain::cash::{CashDraft, CashKind, CashTx};
use crate::domain::holding_account::HoldingAccount;
use crate::portfolio::{self, cash, holding_accounts, today};
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::extract::{PageForm, PagePath, PageQuery};
use crate::web::format;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cash", get(cash_page).post(record))
        .route("/cash/{id}/delete", post(delete))
}

/// One account's cash in one currency, as the table shows it.
pub struct BalanceRow {
    pub account: String,
    pub account_id: i64,
    pub currency: String,
    pub balance: String,
    pub negative: bool,
    pub net_deposits: String,
    pub interest: String,
    pub fees: String,
}

/// One cash transaction, as the list shows it.
pub struct CashRowView {
    pub id: i64,
    pub date: String,
    pub kind: &'static str,
    /// "Broker", or "Broker → Bank" for a transfer.
    pub accounts: String,
    /// Signed as it moves its account's cash ("+500.00 USD", "−20.00 USD").
    pub amount: String,
    pub trend: &'static str,
    pub notes: String,
}

impl CashRowView {
    /// `c` as a row, its accounts named by `name`.
    pub fn new(c: &CashTx, name: impl Fn(i64) -> String) -> CashRowView {
        let signed = c.kind.signed(c.amount);
        CashRowView {
            id: c.id,
            date: c.day.to_string(),
            kind: c.kind.label(),
            accounts: match c.to_account {
                Some(to) => format!("{} → {}", name(c.account), name(to)),
                None => name(c.account),
            },
            amount: format!("{} {}", format::money_signed(signed), c.currency),
            trend: format::trend_class(Some(signed)),
            notes: c.notes.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "cash.html")]
pub struct CashPage {
    layout: Layout,
    balances: Vec<BalanceRow>,
    rows: Vec<CashRowView>,
    accounts: Vec<HoldingAccount>,
    /// The form: what was typed (or today's defaults) and its problems.
    draft: CashDraft,
    errors: FormErrors,
    flash: Option<String>,
}

impl CashPage {
    fn kinds(&self) -> Vec<(&'static str, &'static str, bool)> {
        CashKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), k.label(), self.draft.kind == k.as_str()))
            .collect()
    }

    /// Whether `id` is the account chosen in the form's field (`to`: the transfer's).
    fn chosen(&self, id: &i64, to: bool) -> bool {
        let field = if to {
            &self.draft.to_account_id
        } else {
            &self.draft.account_id
        };
        field.trim() == id.to_string()
    }
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    saved: Option<String>,
}

async fn render(
    state: &AppState,
    auth: &Authed,
    draft: CashDraft,
    errors: FormErrors,
    flash: Option<String>,
) -> Result<CashPage, PageError> {
    let store = state.store.as_ref();
    let owner = auth.user.owner();
    let accounts = holding_accounts::list(store, owner).await?;
    let name = |id: i64| {
        accounts
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| format!("Account {id}"), |a| a.name.clone())
    };
    // The balances and the list from the holdings snapshot the portfolio reads too.
    let cash = state
        .holdings
        .cash(store, &state.quotes, owner, Some(auth.holdings_version))
        .await?;
    let balances = cash
        .book
        .balances
        .iter()
        .map(|((account, currency), b)| BalanceRow {
            account: name(*account),
            account_id: *account,
            currency: currency.clone(),
            balance: format::fixed(b.balance, 2),
            negative: b.balance < Decimal::ZERO,
            net_deposits: format::fixed(b.net_deposits, 2),
            interest: format::fixed(b.interest, 2),
            fees: format::fixed(b.fees, 2),
        })
        .collect();
    let rows = cash
        .transactions
        .iter()
        .rev()
        .map(|c| CashRowView::new(c, name))
        .collect();
    Ok(CashPage {
        layout: Layout::new("cash", auth),
        balances,
        rows,
        accounts,
        draft,
        errors,
        flash,
    })
}

/// The form's starting values: a deposit today in the base currency.
fn fresh_draft(auth: &Authed) -> CashDraft {
    CashDraft {
        kind: "deposit".into(),
        date: today().to_string(),
        currency: auth.base_currency.clone(),
        ..CashDraft::default()
    }
}

async fn cash_page(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(q): PageQuery<SavedQuery>,
) -> Result<Response, PageError> {
    let flash = match q.saved.as_deref() {
        Some("recorded") => Some("Recorded.".to_string()),
        Some("deleted") => Some("Deleted.".to_string()),
        _ => None,
    };
    let draft = fresh_draft(&auth);
    Ok(render(&state, &auth, draft, FormErrors::default(), flash)
        .await?
        .into_response())
}

async fn record(
    State(state): State<AppState>,
    auth: Authed,
    PageForm(draft): PageForm<CashDraft>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let outcome = match draft.check(today()) {
        Ok(fields) => cash::add(state.store.as_ref(), owner, &fields).await,
        Err(e) => Err(e.into()),
    };
    let (status, errors) = match outcome {
        Ok(_) => return Ok(Redirect::to("/cash?saved=recorded").into_response()),
        Err(portfolio::Error::Domain(DomainError::Invalid(errors))) => {
            (StatusCode::UNPROCESSABLE_ENTITY, errors)
        }
        Err(portfolio::Error::Domain(DomainError::Mismatch(errors))) => {
            (StatusCode::CONFLICT, errors)
        }
        Err(other) => return Err(other.into()),
    };
    let page = render(&state, &auth, draft, FormErrors(errors), None).await?;
    Ok((status, page).into_response())
}

async fn delete(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    cash::delete(state.store.as_ref(), auth.user.owner(), id).await?;
    Ok(Redirect::to("/cash?saved=deleted").into_response())
}
