//! `/api/v1/cash`: deposits, withdrawals, interest, fees and transfers in your accounts, and
//! the cash each account holds per currency.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::{DecimalInput, decimal_schema, validation};
use crate::domain::cash::{CashDraft, CashFields, CashKind, CashTx};
use crate::domain::{FieldError, OwnerId};
use crate::portfolio::{cash, holding_accounts, today};
use crate::web::AppState;
use crate::web::error::{ApiError, Problem};
use crate::web::extract::{ApiJson, ApiPath, ApiQuery};
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cash", get(list_cash).post(create_cash))
        .route("/cash/balances", get(balances))
        .route(
            "/cash/{id}",
            get(get_cash).put(replace_cash).delete(delete_cash),
        )
}

/// A cash transaction. The amount is above zero; the type says which way it moves the
/// account's cash (a transfer moves it from `account_id` to `to_account_id`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CashOut {
    pub id: i64,
    #[serde(rename = "type")]
    pub cash_type: CashKind,
    #[schema(value_type = String, format = Date, example = "2024-03-01")]
    pub date: String,
    #[schema(value_type = String, example = "2500")]
    pub amount: Decimal,
    #[schema(example = "USD")]
    pub currency: String,
    pub account_id: i64,
    /// A transfer's destination; `null` otherwise.
    #[schema(required = true)]
    pub to_account_id: Option<i64>,
    #[schema(required = true)]
    pub notes: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<CashTx> for CashOut {
    fn from(c: CashTx) -> Self {
        CashOut {
            id: c.id,
            cash_type: c.kind,
            date: c.day.to_string(),
            amount: c.amount.normalize(),
            currency: c.currency,
            account_id: c.account,
            to_account_id: c.to_account,
            notes: c.notes,
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CashList {
    pub items: Vec<CashOut>,
    pub total: usize,
}

/// A cash transaction to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashInput {
    #[serde(rename = "type")]
    pub cash_type: CashKind,
    /// `YYYY-MM-DD`, from 1900-01-01; a day after today (UTC) answers 409.
    #[schema(example = "2024-03-01", pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub date: String,
    #[schema(schema_with = amount_schema)]
    pub amount: DecimalInput,
    /// ISO 4217, in capitals. Taking money out (withdrawal, fee, transfer) needs a currency
    /// the account has held (409 otherwise).
    #[schema(example = "USD")]
    pub currency: String,
    /// One of your accounts; absent: your first account when recording, the account it is in
    /// when replacing. Another user's account, or none, is a 409.
    #[serde(default, deserialize_with = "super::whole_number")]
    pub account_id: Option<i64>,
    /// Required for a transfer: another of your accounts (the account itself, or one not
    /// yours, is a 409); ignored otherwise.
    #[serde(default, deserialize_with = "super::whole_number")]
    pub to_account_id: Option<i64>,
    #[serde(default)]
    #[schema(
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub notes: Option<String>,
}

fn amount_schema() -> utoipa::openapi::schema::Schema {
    decimal_schema(
        true,
        false,
        "Greater than 0, at most 1,000,000,000,000, at most 8 decimal places: a string of plain digits (\"2500.50\") or a whole number.",
    )
}

impl CashInput {
    /// The body checked by the rules a form's fields meet, its amount first read in the one
    /// plain form the document describes.
    fn fields(&self) -> Result<CashFields, ApiError> {
        let amount = match self.amount.decimal("amount") {
            Err(e) => return Err(validation(vec![e])),
            Ok(Err(_)) => {
                return Err(validation(vec![FieldError::new(
                    "amount",
                    "Amount must be greater than 0 and at most 1,000,000,000,000.",
                )]));
            }
            Ok(Ok(d)) => d,
        };
        // The document lists the codes as written here: in capitals.
        if crate::domain::currency::ISO_4217
            .binary_search(&self.currency.as_str())
            .is_err()
        {
            return Err(validation(vec![FieldError::new(
                "currency",
                "Currency must be a currency code of ISO 4217 in capitals, such as USD.",
            )]));
        }
        if !super::is_plain_date(&self.date) {
            return Err(validation(vec![FieldError::new(
                "date",
                "Date must be written as 2024-03-01.",
            )]));
        }
        let text = |id: Option<i64>| id.map(|i| i.to_string()).unwrap_or_default();
        let draft = CashDraft {
            kind: self.cash_type.as_str().into(),
            date: self.date.clone(),
            amount: amount.to_string(),
            currency: self.currency.clone(),
            account_id: text(self.account_id),
            to_account_id: if self.cash_type == CashKind::Transfer {
                text(self.to_account_id)
            } else {
                String::new()
            },
            notes: self.notes.clone().unwrap_or_default(),
        };
        Ok(draft
            .check(today())
            .map_err(crate::portfolio::Error::from)?)
    }
}

/// Which cash transactions or balances.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CashParams {
    /// Only this account's (either side of a transfer); an account of someone else lists
    /// nothing.
    pub account_id: Option<i64>,
}

/// Your cash transactions, by day then as entered.
#[utoipa::path(get, path = "/api/v1/cash", tag = "cash", params(CashParams),
    responses(
        (status = 200, description = "Every cash transaction the filter passes", body = CashList),
        (status = 400, description = "A parameter is not a number or not known", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_cash(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(params): ApiQuery<CashParams>,
) -> Result<Json<CashList>, ApiError> {
    let items: Vec<CashOut> = cash::list(state.store.as_ref(), user.owner(), params.account_id)
        .await?
        .into_iter()
        .map(CashOut::from)
        .collect();
    Ok(Json(CashList {
        total: items.len(),
        items,
    }))
}

/// Record a cash transaction.
#[utoipa::path(post, path = "/api/v1/cash", tag = "cash",
    request_body(content = CashInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded; `Location` names it", body = CashOut,
            headers(("location" = String, description = "URL of the new cash transaction"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The day is after today, an account is not yours, a transfer goes to its own account, or money would leave an account in a currency it never held; `errors` names the field", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks its rule (amount, date, currency, notes; a transfer without an account to go to)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_cash(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<CashInput>,
) -> Result<Response, ApiError> {
    let fields = input.fields()?;
    let c = cash::add(state.store.as_ref(), user.owner(), &fields).await?;
    let location = format!("/api/v1/cash/{}", c.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(CashOut::from(c)),
    )
        .into_response())
}

/// One cash transaction.
#[utoipa::path(get, path = "/api/v1/cash/{id}", tag = "cash",
    params(("id" = i64, Path, description = "Cash transaction id")),
    responses(
        (status = 200, description = "The cash transaction", body = CashOut),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cash transaction of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_cash(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CashOut>, ApiError> {
    let c = cash::owned(state.store.as_ref(), user.owner(), id).await?;
    Ok(Json(CashOut::from(c)))
}

/// Replace a cash transaction.
#[utoipa::path(put, path = "/api/v1/cash/{id}", tag = "cash",
    params(("id" = i64, Path, description = "Cash transaction id")),
    request_body(content = CashInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The cash transaction as replaced", body = CashOut),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cash transaction of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The day is after today, an account is not yours, a transfer goes to its own account, or money would leave an account in a currency it never held; `errors` names the field", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks its rule", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace_cash(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CashInput>,
) -> Result<Json<CashOut>, ApiError> {
    let fields = input.fields()?;
    let c = cash::update(state.store.as_ref(), user.owner(), id, &fields).await?;
    Ok(Json(CashOut::from(c)))
}

/// Delete a cash transaction.
#[utoipa::path(delete, path = "/api/v1/cash/{id}", tag = "cash",
    params(("id" = i64, Path, description = "Cash transaction id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cash transaction of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_cash(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    cash::delete(state.store.as_ref(), user.owner(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One account's cash in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceOut {
    pub account_id: i64,
    #[schema(example = "Broker")]
    pub account: String,
    #[schema(example = "USD")]
    pub currency: String,
    /// Below zero when buys took more than the account held.
    #[schema(value_type = String, example = "1250.75")]
    pub balance: Decimal,
    /// Deposits and transfers in, less withdrawals and transfers out.
    #[schema(value_type = String)]
    pub net_deposits: Decimal,
    #[schema(value_type = String)]
    pub interest: Decimal,
    /// Fees charged to the account (not to a holding).
    #[schema(value_type = String)]
    pub fees: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceList {
    /// Every account and currency some transaction moved, by account then currency.
    pub items: Vec<BalanceOut>,
    /// The accounts that track cash (they have a cash transaction); buys in the others are
    /// taken to be paid from outside them.
    pub tracked_account_ids: Vec<i64>,
}

/// The cash each account holds per currency: its cash transactions, and the buys, sells,
/// dividends and fees of the accounts that track cash.
#[utoipa::path(get, path = "/api/v1/cash/balances", tag = "cash", params(CashParams),
    responses(
        (status = 200, description = "Balances by account and currency", body = BalanceList),
        (status = 400, description = "A parameter is not a number or not known", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn balances(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(params): ApiQuery<CashParams>,
) -> Result<Json<BalanceList>, ApiError> {
    Ok(Json(
        balance_list(&state, user.owner(), params.account_id).await?,
    ))
}

async fn balance_list(
    state: &AppState,
    owner: OwnerId,
    only: Option<i64>,
) -> Result<BalanceList, ApiError> {
    let store = state.store.as_ref();
    let accounts = holding_accounts::list(store, owner).await?;
    let cash = state
        .holdings
        .cash(store, &state.quotes, owner, None)
        .await?;
    let book = &cash.book;
    let name = |id: i64| {
        accounts
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    };
    let items = book
        .balances
        .iter()
        .filter(|((account, _), _)| only.is_none_or(|o| o == *account))
        .map(|((account, currency), b)| BalanceOut {
            account_id: *account,
            account: name(*account),
            currency: currency.clone(),
            balance: b.balance.normalize(),
            net_deposits: b.net_deposits.normalize(),
            interest: b.interest.normalize(),
            fees: b.fees.normalize(),
        })
        .collect();
    Ok(BalanceList {
        items,
        tracked_account_ids: book
            .tracked
            .iter()
            .copied()
            .filter(|a| only.is_none_or(|o| o == *a))
            .collect(),
    })
}
