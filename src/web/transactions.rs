//! Transactions: a holding's page of them (list, add, edit, delete), the base currency
//! setting, and the JSON API under `/api/v1/transactions`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::api::{DecimalInput, cost_schema, decimal_schema, exact_symbol, validation};
use super::extract::{ApiJson, ApiPath, ApiQuery, PageForm, PagePath};
use super::format;
use super::pages::Layout;
use super::session::{ApiUser, Authed};
use crate::domain::{AssetKind, Symbol};
use crate::error::{ApiError, AppError, FieldError, PageError};
use crate::ledger::TxKind;
use crate::portfolio;
use crate::store::{Holding, ImportTx, OwnerId, Store, StoreError, Transaction, TxFields};
use crate::transactions::{TxDraft, today};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/portfolio/{id}/transactions",
            get(holding_page).post(add_page),
        )
        .route("/transactions/{id}/edit", get(edit_page).post(save_page))
        .route("/transactions/{id}/delete", post(delete_page))
        .route("/portfolio/currency", post(set_currency))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/transactions", get(list).post(create))
        .route(
            "/transactions/{id}",
            get(get_one).put(replace).delete(remove),
        )
}

// ----- pages --------------------------------------------------------------------------------

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

/// Problems with a form's fields, for the template.
#[derive(Default)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    pub fn error(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn invalid(&self, field: &str) -> &'static str {
        if self.error(field).is_some() {
            " is-invalid"
        } else {
            ""
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
    let txs = state.store.transactions(owner, Some(holding.id)).await?;
    let ledger = portfolio::ledgers(txs.clone()).remove(&holding.id);
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
    super::extract::PageQuery(q): super::extract::PageQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let holding = portfolio::owned(state.store.as_ref(), auth.user.owner(), id).await?;
    let form = TxForm {
        draft: TxDraft {
            kind: "buy".into(),
            date: today().to_string(),
            ..TxDraft::default()
        },
        ..TxForm::default()
    };
    let flash = q.saved.map(|what| format!("Transaction {what}."));
    Ok(holding_view(&state, &auth, &holding, form, flash)
        .await?
        .into_response())
}

/// Runs a store write; a refusal (or invalid fields) comes back as the form's problem.
fn refused_or(err: StoreError) -> Result<String, PageError> {
    match err {
        StoreError::Refused(why) => Ok(why),
        other => Err(other.into()),
    }
}

async fn add_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
    PageForm(draft): PageForm<TxDraft>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let holding = portfolio::owned(state.store.as_ref(), owner, id).await?;
    let outcome = match draft.validate(&holding.asset.currency, today()) {
        Err(errors) => Err((FormErrors(errors), None)),
        Ok(fields) => match state.store.add_transaction(owner, id, &fields).await {
            Ok(_) => Ok(()),
            Err(e) => Err((FormErrors::default(), Some(refused_or(e)?))),
        },
    };
    match outcome {
        Ok(()) => {
            Ok(Redirect::to(&format!("/portfolio/{id}/transactions?saved=added")).into_response())
        }
        Err((errors, refused)) => {
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

async fn owned_tx(store: &dyn Store, owner: OwnerId, id: i64) -> Result<Transaction, AppError> {
    store
        .get_transaction(owner, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no transaction {id}.")))
}

async fn edit_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let t = owned_tx(state.store.as_ref(), auth.user.owner(), id).await?;
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
    let t = owned_tx(state.store.as_ref(), owner, id).await?;
    let outcome = match draft.validate(&t.currency, today()) {
        Err(errors) => Err((FormErrors(errors), None)),
        Ok(fields) => match state.store.update_transaction(owner, id, &fields).await {
            Ok(_) => Ok(()),
            Err(e) => Err((FormErrors::default(), Some(refused_or(e)?))),
        },
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!(
            "/portfolio/{}/transactions?saved=updated",
            t.holding_id
        ))
        .into_response()),
        Err((errors, refused)) => Ok((
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
            .into_response()),
    }
}

async fn delete_page(
    State(state): State<AppState>,
    auth: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let owner = auth.user.owner();
    let t = owned_tx(state.store.as_ref(), owner, id).await?;
    match state.store.delete_transaction(owner, id).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/portfolio/{}/transactions?saved=deleted",
            t.holding_id
        ))
        .into_response()),
        Err(e) => {
            let refused = refused_or(e)?;
            let holding = portfolio::owned(state.store.as_ref(), owner, t.holding_id).await?;
            let form = TxForm {
                refused: Some(refused),
                draft: TxDraft {
                    kind: "buy".into(),
                    date: today().to_string(),
                    ..TxDraft::default()
                },
                ..TxForm::default()
            };
            let page = holding_view(&state, &auth, &holding, form, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct CurrencyForm {
    #[serde(default)]
    currency: String,
}

/// A three-letter currency code, upper-cased.
pub fn parse_currency(input: &str) -> Result<String, String> {
    let code = input.trim().to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(format!(
            "{:?} is not a currency code: use three letters such as USD or EUR.",
            input.trim()
        ))
    }
}

async fn set_currency(
    State(state): State<AppState>,
    auth: Authed,
    PageForm(form): PageForm<CurrencyForm>,
) -> Result<Response, PageError> {
    let code = parse_currency(&form.currency)
        .map_err(|m| AppError::Validation(vec![FieldError::new("currency", m)]))?;
    state
        .store
        .set_base_currency(auth.user.owner(), &code)
        .await?;
    Ok(Redirect::to("/portfolio").into_response())
}

// ----- API ----------------------------------------------------------------------------------

/// A transaction as the API shows it. Amounts are in the asset's currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct TxOut {
    pub id: i64,
    pub holding_id: i64,
    #[schema(example = "AAPL")]
    pub symbol: String,
    pub kind: AssetKind,
    #[serde(rename = "type")]
    pub tx_type: TxKind,
    #[schema(value_type = String, format = Date, example = "2024-03-01")]
    pub date: String,
    #[schema(value_type = Option<String>, required = true)]
    pub quantity: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub price: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub amount: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub ratio: Option<Decimal>,
    #[schema(value_type = String)]
    pub fees: Decimal,
    #[schema(example = "USD")]
    pub currency: String,
    #[schema(required = true)]
    pub notes: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Transaction> for TxOut {
    fn from(t: Transaction) -> Self {
        let n = |d: Option<Decimal>| d.map(|d| d.normalize());
        let a = t.amounts;
        TxOut {
            id: t.id,
            holding_id: t.holding_id,
            symbol: t.symbol.to_string(),
            kind: t.asset_kind,
            tx_type: a.kind,
            date: a.day.to_string(),
            quantity: n(a.quantity),
            price: n(a.price),
            amount: n(a.amount),
            ratio: n(a.ratio),
            fees: a.fees.normalize(),
            currency: t.currency,
            notes: t.notes,
            created_at: t.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TxList {
    pub items: Vec<TxOut>,
    pub total: usize,
}

/// A transaction to record. Give `holding_id`, or `symbol` (and `kind`) to use the holding of
/// that asset, made when not held yet. Which amounts a type needs: buy and sell `quantity` and
/// `price`; dividend and fee `amount`; split `ratio` (new units per old). `fees` is optional.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TxInput {
    #[serde(default)]
    pub holding_id: Option<i64>,
    #[serde(default)]
    #[schema(
        example = "AAPL",
        max_length = 20,
        pattern = r"^[A-Za-z0-9._=^-]*[A-Za-z0-9][A-Za-z0-9._=^-]*$"
    )]
    pub symbol: Option<String>,
    /// With `symbol`; defaults to `stock`.
    #[serde(default)]
    pub kind: Option<AssetKind>,
    #[serde(rename = "type")]
    pub tx_type: TxKind,
    /// `YYYY-MM-DD`, from 1900-01-01 to today.
    #[schema(example = "2024-03-01", pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub date: String,
    #[serde(default)]
    #[schema(schema_with = units_schema)]
    pub quantity: Option<DecimalInput>,
    #[serde(default)]
    #[schema(schema_with = cost_schema)]
    pub price: Option<DecimalInput>,
    #[serde(default)]
    #[schema(schema_with = units_schema)]
    pub amount: Option<DecimalInput>,
    #[serde(default)]
    #[schema(schema_with = units_schema)]
    pub ratio: Option<DecimalInput>,
    #[serde(default)]
    #[schema(schema_with = cost_schema)]
    pub fees: Option<DecimalInput>,
    /// Must be the asset's currency when given.
    #[serde(default)]
    #[schema(example = "USD", pattern = r"^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    #[serde(default)]
    #[schema(
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub notes: Option<String>,
}

/// An optional amount greater than 0 (quantity, amount, ratio).
fn units_schema() -> utoipa::openapi::schema::Schema {
    decimal_schema(
        true,
        true,
        "Greater than 0, at most 1,000,000,000,000, at most 8 decimal places: a string of plain digits (\"10.5\") or a whole number; null or absent when the type does not use it.",
    )
}

impl TxInput {
    /// The API's exact forms, as a draft the shared checks take.
    fn draft(&self) -> Result<TxDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut plain = |field: &str, d: &Option<DecimalInput>| match d {
            None => String::new(),
            Some(d) => d
                .plain(field)
                .map_err(|e| errors.push(e))
                .unwrap_or_default(),
        };
        let draft = TxDraft {
            kind: self.tx_type.as_str().into(),
            date: self.date.clone(),
            quantity: plain("quantity", &self.quantity),
            price: plain("price", &self.price),
            amount: plain("amount", &self.amount),
            ratio: plain("ratio", &self.ratio),
            fees: plain("fees", &self.fees),
            currency: self.currency.clone().unwrap_or_default(),
            notes: self.notes.clone().unwrap_or_default(),
        };
        // Every amount sent must fit its schema, used by the type or not.
        for (field, text, positive) in [
            ("quantity", &draft.quantity, true),
            ("price", &draft.price, false),
            ("amount", &draft.amount, true),
            ("ratio", &draft.ratio, true),
            ("fees", &draft.fees, false),
        ] {
            let Ok(d) = text.parse::<Decimal>() else {
                continue;
            };
            if d > crate::domain::MAX_AMOUNT || (positive && d <= Decimal::ZERO) {
                errors.push(FieldError::new(
                    field,
                    if positive {
                        "Must be greater than 0 and at most 1,000,000,000,000."
                    } else {
                        "Must be at most 1,000,000,000,000."
                    },
                ));
            }
        }
        if !self.date.is_ascii() || self.date.trim().len() != 10 || self.date.trim() != self.date {
            errors.push(FieldError::new(
                "date",
                "Date must be written as 2024-03-01.",
            ));
        }
        if let Some(c) = &self.currency
            && (c.len() != 3 || !c.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            errors.push(FieldError::new(
                "currency",
                "Currency must be a three-letter code such as USD.",
            ));
        }
        if errors.is_empty() {
            Ok(draft)
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TxListParams {
    /// Only this holding's transactions.
    pub holding_id: Option<i64>,
}

/// List transactions, oldest first (by date, then as entered).
#[utoipa::path(get, path = "/api/v1/transactions", tag = "transactions", params(TxListParams),
    responses(
        (status = 200, description = "The transactions", body = TxList),
        (status = 400, description = "holding_id is not a number", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(params): ApiQuery<TxListParams>,
) -> Result<Json<TxList>, ApiError> {
    let txs = state
        .store
        .transactions(user.owner(), params.holding_id)
        .await?;
    let items: Vec<TxOut> = txs.into_iter().map(TxOut::from).collect();
    Ok(Json(TxList {
        total: items.len(),
        items,
    }))
}

/// One transaction.
#[utoipa::path(get, path = "/api/v1/transactions/{id}", tag = "transactions",
    params(("id" = i64, Path, description = "Transaction id")),
    responses(
        (status = 200, description = "The transaction", body = TxOut),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transaction", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TxOut>, ApiError> {
    Ok(Json(
        owned_tx(state.store.as_ref(), user.owner(), id)
            .await?
            .into(),
    ))
}

/// Record a transaction.
#[utoipa::path(post, path = "/api/v1/transactions", tag = "transactions",
    request_body(content = TxInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded; `Location` names it", body = TxOut,
            headers(("location" = String, description = "URL of the new transaction"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such holding", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, an unknown symbol, or more sold than held", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<TxInput>,
) -> Result<Response, ApiError> {
    let owner = user.owner();
    let draft = input.draft().map_err(validation)?;
    let store = state.store.as_ref();
    let symbol = match &input.symbol {
        None => None,
        Some(text) => {
            exact_symbol(text).map_err(|e| validation(vec![e]))?;
            Some(Symbol::parse(text).map_err(|m| validation(vec![FieldError::new("symbol", m)]))?)
        }
    };
    let saved = match (input.holding_id, symbol) {
        (Some(id), symbol) => {
            let holding = portfolio::owned(store, owner, id).await?;
            if symbol.is_some_and(|s| s != holding.asset.symbol)
                || input.kind.is_some_and(|k| k != holding.asset.kind)
            {
                return Err(validation(vec![FieldError::new(
                    "symbol",
                    format!(
                        "Holding {id} is {} ({}); give holding_id or symbol, or both for the same asset.",
                        holding.asset.symbol, holding.asset.kind
                    ),
                )]));
            }
            let fields = draft
                .validate(&holding.asset.currency, today())
                .map_err(validation)?;
            store
                .add_transaction(owner, id, &fields)
                .await?
                .ok_or_else(|| AppError::no_holding(id))?
        }
        (None, Some(symbol)) => {
            let kind = input.kind.unwrap_or(AssetKind::Stock);
            record_for_asset(&state, owner, symbol, kind, &draft).await?
        }
        (None, None) => {
            return Err(validation(vec![FieldError::new(
                "holding_id",
                "Give holding_id, or symbol (and kind) of the asset.",
            )]));
        }
    };
    let location = format!("/api/v1/transactions/{}", saved.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(TxOut::from(saved)),
    )
        .into_response())
}

/// Records a transaction for an asset by symbol, making its holding when not held yet.
async fn record_for_asset(
    state: &AppState,
    owner: OwnerId,
    symbol: Symbol,
    kind: AssetKind,
    draft: &TxDraft,
) -> Result<Transaction, AppError> {
    let store = state.store.as_ref();
    if let Some(holding) = store.find_holding(owner, &symbol, kind).await? {
        let fields = draft
            .validate(&holding.asset.currency, today())
            .map_err(AppError::Validation)?;
        return store
            .add_transaction(owner, holding.id, &fields)
            .await?
            .ok_or_else(|| AppError::no_holding(holding.id));
    }
    let quote = if kind.is_market_priced() {
        portfolio::describe(
            &state.quotes,
            &symbol,
            kind,
            portfolio::UNKNOWN_SYMBOL_ADVICE,
        )
        .await?
    } else {
        None
    };
    // A market asset's currency comes from its quote (a new one without: USD, as its row
    // will be); only an item, the owner's own, takes the one given.
    let quoted = quote.as_ref().and_then(|q| q.currency.clone());
    let given = draft.currency.trim().to_ascii_uppercase();
    let currency = match (&quoted, kind.is_market_priced()) {
        (Some(c), _) => c.clone(),
        (None, false) if given.len() == 3 => given,
        _ => "USD".into(),
    };
    let fields = draft
        .validate(&currency, today())
        .map_err(AppError::Validation)?;
    let row = ImportTx {
        symbol: symbol.clone(),
        kind,
        name: quote.as_ref().and_then(|q| q.name.clone()),
        currency: if kind.is_market_priced() {
            quoted
        } else {
            Some(currency)
        },
        fields,
    };
    store.import_transactions(owner, &[row], &|_| {}).await?;
    let holding = store
        .find_holding(owner, &symbol, kind)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the new holding vanished")))?;
    store
        .transactions(owner, Some(holding.id))
        .await?
        .into_iter()
        .max_by_key(|t| t.id)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the new transaction vanished")))
}

/// Replace a transaction's type, date, amounts and notes (its holding stays).
#[utoipa::path(put, path = "/api/v1/transactions/{id}", tag = "transactions",
    params(("id" = i64, Path, description = "Transaction id")),
    request_body(content = TxInput, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced", body = TxOut),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transaction", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the holding's transactions would no longer add up", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TxInput>,
) -> Result<Json<TxOut>, ApiError> {
    let owner = user.owner();
    let draft = input.draft().map_err(validation)?;
    let t = owned_tx(state.store.as_ref(), owner, id).await?;
    if input.holding_id.is_some_and(|h| h != t.holding_id) || input.symbol.is_some() {
        return Err(validation(vec![FieldError::new(
            "holding_id",
            "A transaction stays with its holding: delete it and record it on the other one.",
        )]));
    }
    let fields = draft.validate(&t.currency, today()).map_err(validation)?;
    let saved = state
        .store
        .update_transaction(owner, id, &fields)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no transaction {id}.")))?;
    Ok(Json(saved.into()))
}

/// Delete a transaction.
#[utoipa::path(delete, path = "/api/v1/transactions/{id}", tag = "transactions",
    params(("id" = i64, Path, description = "Transaction id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transaction", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A later sell or split needs it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_transaction(user.owner(), id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(format!("There is no transaction {id}.")).into())
    }
}

use crate::error::Problem;
