//! `/api/v1/accounts`: where assets are kept (a broker, a bank, "Wallet"); every transaction
//! is in one.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::domain::holding_account::HoldingAccount;
use crate::portfolio::holding_accounts;
use crate::web::AppState;
use crate::web::error::{ApiError, Problem};
use crate::web::extract::{ApiJson, ApiPath, ApiQuery};
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list_accounts).post(create_account))
        .route(
            "/accounts/{id}",
            get(get_account).put(rename_account).delete(delete_account),
        )
}

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    pub id: i64,
    #[schema(example = "Broker")]
    pub name: String,
    /// Transactions in it.
    pub transactions: u64,
    /// Whether transactions that name no account go here (the oldest account).
    pub default: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<HoldingAccount> for AccountOut {
    fn from(a: HoldingAccount) -> Self {
        AccountOut {
            id: a.id,
            name: a.name,
            transactions: a.transactions,
            default: a.default,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountList {
    pub items: Vec<AccountOut>,
    pub total: usize,
}

/// An account's name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// 1 to 60 characters, no control characters; unique among yours, whatever the case.
    #[schema(
        example = "Broker",
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
}

/// Where a deleted account's transactions go.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// Another of your accounts; needed when the account has transactions.
    pub move_to: Option<i64>,
}

/// Your accounts, oldest first (the first is the default).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    responses((status = 200, description = "Every account, oldest first", body = AccountList)))]
pub async fn list_accounts(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<AccountList>, ApiError> {
    let accounts = holding_accounts::list(state.store.as_ref(), user.owner()).await?;
    let items: Vec<AccountOut> = accounts.into_iter().map(AccountOut::from).collect();
    Ok(Json(AccountList {
        total: items.len(),
        items,
    }))
}

/// Add an account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts",
    request_body(content = AccountInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `Location` names it", body = AccountOut,
            headers(("location" = String, description = "URL of the new account"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "You have an account of that name (`existing_id` names it), or 100 accounts already", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty, too long or unprintable name", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_account(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<AccountInput>,
) -> Result<Response, ApiError> {
    let a = holding_accounts::create(state.store.as_ref(), user.owner(), &input.name).await?;
    let location = format!("/api/v1/accounts/{}", a.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(AccountOut::from(a)),
    )
        .into_response())
}

/// One account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "Account id")),
    responses(
        (status = 200, description = "The account", body = AccountOut),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_account(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AccountOut>, ApiError> {
    let a = holding_accounts::owned(state.store.as_ref(), user.owner(), id).await?;
    Ok(Json(AccountOut::from(a)))
}

/// Rename an account.
#[utoipa::path(put, path = "/api/v1/accounts/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "Account id")),
    request_body(content = AccountInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The renamed account", body = AccountOut),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another account of yours has that name (`existing_id` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty, too long or unprintable name", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rename_account(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AccountInput>,
) -> Result<Json<AccountOut>, ApiError> {
    let a = holding_accounts::rename(state.store.as_ref(), user.owner(), id, &input.name).await?;
    Ok(Json(AccountOut::from(a)))
}

/// Delete an account; its transactions move to `move_to` (needed when it has any), and the
/// holdings they belong to are replayed.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "Account id"), DeleteParams),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id or move_to is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account has transactions and `move_to` names no other account of yours to move them to (absent, the account itself, or not yours); `errors` names `move_to`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_account(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<DeleteParams>,
) -> Result<StatusCode, ApiError> {
    holding_accounts::delete(state.store.as_ref(), user.owner(), id, params.move_to).await?;
    Ok(StatusCode::NO_CONTENT)
}
