//! `/api/v1/transactions`: list, record, read, replace and delete transactions.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

use super::{DecimalInput, body_symbol, cost_schema, decimal_schema, validation};
use crate::domain::activity::{
    ActivityFilter, ActivityPage, ActivityQuery, ActivitySort, Cursor, PAGE_DEFAULT, PAGE_MAX,
};
use crate::domain::transaction::{DAY_FORMAT, Given, TxRequest, TxTyped, TxValues};
use crate::domain::{
    AssetKind, DomainError, FieldError, MAX_AMOUNT, Problems, SortDir, Symbol, Transaction, TxKind,
};
use crate::portfolio::{holdings, transactions};
use crate::web::AppState;
use crate::web::error::{ApiError, AppError, Problem};
use crate::web::extract::{ApiJson, ApiPath, ApiQuery};
use crate::web::session::ApiUser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/transactions", get(list).post(create))
        .route(
            "/transactions/{id}",
            get(get_one).put(replace).delete(remove),
        )
}

/// A transaction as the API shows it. Amounts are in the asset's currency. It borrows the
/// transaction it shows: a page of the list is written from the rows kept in memory.
#[derive(Debug, Serialize, ToSchema)]
pub struct TxOut<'a> {
    pub id: i64,
    pub holding_id: i64,
    /// The account it is in (`/api/v1/accounts`).
    pub account_id: i64,
    #[schema(value_type = String, example = "AAPL")]
    pub symbol: &'a str,
    pub kind: AssetKind,
    #[serde(rename = "type")]
    pub tx_type: TxKind,
    #[schema(value_type = String, format = Date, example = "2024-03-01")]
    #[serde(serialize_with = "super::iso_day")]
    pub date: Date,
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
    #[schema(value_type = String, example = "USD")]
    pub currency: &'a str,
    #[schema(value_type = Option<String>, required = true)]
    pub notes: Option<&'a str>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl<'a> From<&'a Transaction> for TxOut<'a> {
    fn from(t: &'a Transaction) -> Self {
        let n = |d: Option<Decimal>| d.map(|d| d.normalize());
        let a = &t.amounts;
        TxOut {
            id: t.id,
            holding_id: t.holding_id,
            account_id: a.account,
            symbol: t.symbol.as_str(),
            kind: t.asset_kind,
            tx_type: a.kind,
            date: a.day,
            quantity: n(a.quantity),
            price: n(a.price),
            amount: n(a.amount),
            ratio: n(a.ratio),
            fees: a.fees.normalize(),
            currency: &t.currency,
            notes: t.notes.as_deref(),
            created_at: t.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TxList<'a> {
    pub items: Vec<TxOut<'a>>,
    /// Every transaction the filter passes, on all pages.
    pub total: u64,
    /// The cursor of the next page (`cursor=`), `null` on the last.
    #[schema(required = true, example = "2024-03-01~42")]
    pub next: Option<String>,
}

/// A transaction to record. Give `holding_id`, or `symbol` (and `kind`) to use the holding of
/// that asset, made when not held yet. Which amounts a type needs: buy and sell `quantity` and
/// `price`; dividend and fee `amount`; split `ratio` (new units per old). `fees` is optional.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TxInput {
    #[serde(default, deserialize_with = "super::whole_number")]
    pub holding_id: Option<i64>,
    /// One of your accounts (`/api/v1/accounts`); absent: your first account when recording,
    /// the account it is in when replacing. Another user's account, or none, is a 409.
    #[serde(default, deserialize_with = "super::whole_number")]
    pub account_id: Option<i64>,
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
    /// `YYYY-MM-DD`, from 1900-01-01; a day after today (UTC) answers 409.
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
    /// The asset's currency when given (another answers 409); a new item's currency.
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
    /// The body read: every amount in its plain form and within its schema's bounds, used by
    /// the type or not; the date written `YYYY-MM-DD`; a three-letter currency. The type's own
    /// rules come after, in the use case.
    fn typed(&self) -> Result<TxTyped, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut read = |field: &str, d: &Option<DecimalInput>, positive: bool| -> Given {
            let Some(d) = d else { return Given::Absent };
            match d.decimal(field) {
                Err(e) => {
                    errors.push(e);
                    Given::Unreadable
                }
                Ok(Err(_)) => Given::NotANumber,
                Ok(Ok(d)) => {
                    if d > MAX_AMOUNT || d < Decimal::ZERO || (positive && d == Decimal::ZERO) {
                        errors.push(FieldError::new(
                            field,
                            if positive {
                                "Must be greater than 0 and at most 1,000,000,000,000."
                            } else {
                                "Must be 0 or more and at most 1,000,000,000,000."
                            },
                        ));
                    }
                    Given::Value(d)
                }
            }
        };
        let values = TxValues {
            quantity: read("quantity", &self.quantity, true),
            price: read("price", &self.price, false),
            amount: read("amount", &self.amount, true),
            ratio: read("ratio", &self.ratio, true),
            fees: read("fees", &self.fees, false),
        };
        if !super::is_plain_date(&self.date) {
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
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TxTyped {
            kind: self.tx_type,
            date: self.date.clone(),
            values,
            currency: self.currency.clone(),
            notes: self.notes.clone(),
            account: self.account_id,
        })
    }
}

/// Which transactions, in which order, from where. Every value the document allows is taken.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TxListParams {
    /// Only this holding's transactions.
    pub holding_id: Option<i64>,
    /// Only this account's (an account of someone else lists nothing; empty: every account).
    #[serde(default, deserialize_with = "empty_is_none")]
    pub account_id: Option<i64>,
    /// Only this asset's (any case).
    #[param(
        max_length = 20,
        pattern = r"^[A-Za-z0-9._=^-]*[A-Za-z0-9][A-Za-z0-9._=^-]*$"
    )]
    pub symbol: Option<String>,
    /// Only these types, comma-separated (`buy,sell`).
    #[serde(rename = "type")]
    #[param(
        rename = "type",
        pattern = r"^(buy|sell|dividend|fee|split)(,(buy|sell|dividend|fee|split))*$"
    )]
    pub types: Option<String>,
    /// From this day on, inclusive (`YYYY-MM-DD`).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Up to this day, inclusive (`YYYY-MM-DD`).
    #[param(format = Date)]
    pub to: Option<String>,
    /// `date` (default: by day, then as entered) or `symbol` (then by day).
    pub sort: Option<ActivitySort>,
    /// `asc` (default, oldest first) or `desc`.
    pub dir: Option<SortDir>,
    /// The `next` of the page before, with the same filter and order; absent for the first.
    pub cursor: Option<String>,
    /// Rows on a page, 1 to 1,000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

impl TxListParams {
    /// The query these parameters ask for; a 400 naming the first one that cannot be read.
    pub fn query(&self) -> Result<ActivityQuery, AppError> {
        let bad = |m: String| AppError::BadRequest(m);
        let day = |name: &str, v: &Option<String>| {
            v.as_deref()
                .map(|d| {
                    super::is_plain_date(d)
                        .then(|| time::Date::parse(d, DAY_FORMAT).ok())
                        .flatten()
                        .ok_or_else(|| bad(format!("{name} must be a day written as 2024-03-01")))
                })
                .transpose()
        };
        let symbol = self
            .symbol
            .as_deref()
            .map(|s| Symbol::parse(s).map_err(|e| bad(format!("symbol: {e}"))))
            .transpose()?;
        let kinds = match self.types.as_deref() {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|k| {
                    k.parse::<TxKind>().map_err(|_| {
                        bad(format!(
                            "type {k:?} is not one of buy, sell, dividend, fee, split"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let limit = self.limit.unwrap_or(PAGE_DEFAULT);
        if !(1..=PAGE_MAX).contains(&limit) {
            return Err(bad(format!("limit must be from 1 to {PAGE_MAX}")));
        }
        let after = self
            .cursor
            .as_deref()
            .map(|c| Cursor::parse(c).map_err(|e| bad(e.to_string())))
            .transpose()?;
        Ok(ActivityQuery {
            filter: ActivityFilter {
                holding: self.holding_id,
                account: self.account_id,
                symbol,
                kinds,
                from: day("from", &self.from)?,
                to: day("to", &self.to)?,
            },
            sort: self.sort.unwrap_or_default(),
            dir: self.dir.unwrap_or_default(),
            after,
            limit,
        })
    }
}

/// A number from a query, where a form's empty choice ("all") is none.
fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{text:?} is not a number"))),
    }
}

/// List transactions a page at a time: oldest first by default (by day, then as entered), or
/// as `sort` and `dir` say, filtered by holding, symbol, type and days. `next` is the cursor of
/// the following page (`null` on the last); `total` counts every transaction the filter passes.
/// Filters: holding, account, symbol, type and days.
#[utoipa::path(get, path = "/api/v1/transactions", tag = "transactions", params(TxListParams),
    responses(
        (status = 200, description = "A page of transactions", body = TxList),
        (status = 400, description = "A parameter that cannot be read: holding_id not a number, an unknown type, sort or dir, a day not written YYYY-MM-DD, a malformed symbol or cursor, limit outside 1 to 1,000, an unknown parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(params): ApiQuery<TxListParams>,
) -> Result<Response, ApiError> {
    let q = params.query()?;
    let page = transactions::activity(state.reader(user.owner(), None), &q).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        list_json(&page),
    )
        .into_response())
}

/// A page of the list as [`TxList`] serializes it (a test holds the two to the same bytes),
/// written straight into one buffer: only the text a user wrote (symbol, currency, notes) goes
/// through JSON's escaping; keys, numbers, days, types and times cannot need it.
fn list_json(page: &ActivityPage) -> Vec<u8> {
    use std::io::Write;
    let mut out: Vec<u8> = Vec::with_capacity(64 + page.items().len() * 320);
    // Writes to a Vec cannot fail.
    let text = |out: &mut Vec<u8>, s: &str| {
        let _ = serde_json::to_writer(&mut *out, s);
    };
    let number = |out: &mut Vec<u8>, d: Option<Decimal>| match d {
        Some(d) => {
            let _ = write!(out, "\"{}\"", d.normalize());
        }
        None => out.extend_from_slice(b"null"),
    };
    out.extend_from_slice(b"{\"items\":[");
    for (i, t) in page.items().enumerate() {
        let a = &t.amounts;
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(
            out,
            "{{\"id\":{},\"holding_id\":{},\"account_id\":{},\"symbol\":",
            t.id, t.holding_id, a.account
        );
        text(&mut out, t.symbol.as_str());
        let _ = write!(
            out,
            ",\"kind\":\"{}\",\"type\":\"{}\",\"date\":\"{}\",\"quantity\":",
            t.asset_kind.as_str(),
            a.kind.as_str(),
            a.day
        );
        number(&mut out, a.quantity);
        out.extend_from_slice(b",\"price\":");
        number(&mut out, a.price);
        out.extend_from_slice(b",\"amount\":");
        number(&mut out, a.amount);
        out.extend_from_slice(b",\"ratio\":");
        number(&mut out, a.ratio);
        out.extend_from_slice(b",\"fees\":");
        number(&mut out, Some(a.fees));
        out.extend_from_slice(b",\"currency\":");
        text(&mut out, &t.currency);
        out.extend_from_slice(b",\"notes\":");
        match &t.notes {
            Some(n) => text(&mut out, n),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"created_at\":\"");
        let _ = t
            .created_at
            .format_into(&mut out, &time::format_description::well_known::Rfc3339);
        out.extend_from_slice(b"\"}");
    }
    let _ = write!(out, "],\"total\":{},\"next\":", page.total);
    match &page.next {
        Some(c) => text(&mut out, &c.encode()),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    out
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
) -> Result<Response, ApiError> {
    let t = transactions::owned(state.store.as_ref(), user.owner(), id).await?;
    Ok(Json(TxOut::from(&t)).into_response())
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
        (status = 409, description = "More sold than held (the holding's transactions would no longer add up), `holding_id` names a holding of another asset than `symbol` and `kind`, a date after today (UTC), a `currency` other than the asset's, or a stock's symbol sent as a crypto or commodity that their services cannot confirm right now (`errors` names the field)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or an unknown symbol", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<TxInput>,
) -> Result<Response, ApiError> {
    let owner = user.owner();
    let request = TxRequest::Typed(input.typed().map_err(validation)?);
    let store = state.store.as_ref();
    let mut p = Problems::default();
    let symbol = input
        .symbol
        .as_deref()
        .map(|text| body_symbol(&mut p, text));
    let symbol = match symbol {
        None => None,
        Some(parsed) => Some(p.finish(parsed).map_err(AppError::Domain)?),
    };
    let saved = match (input.holding_id, symbol) {
        (Some(id), symbol) => {
            let holding = holdings::owned(store, owner, id).await?;
            if symbol.is_some_and(|s| s != holding.asset.symbol)
                || input.kind.is_some_and(|k| k != holding.asset.kind)
            {
                return Err(AppError::Domain(DomainError::Refused(format!(
                    "Holding {id} is {} ({}); give holding_id or symbol, or both for the same asset.",
                    holding.asset.symbol, holding.asset.kind
                )))
                .into());
            }
            transactions::add(store, owner, id, &request).await?
        }
        (None, Some(symbol)) => {
            let kind = input.kind.unwrap_or(AssetKind::Stock);
            transactions::add_for_asset(store, &state.quotes, owner, symbol, kind, &request).await?
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
        Json(TxOut::from(&saved)),
    )
        .into_response())
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
        (status = 409, description = "The holding's transactions would no longer add up, the body names another holding or asset than the transaction's, a date after today (UTC), or a `currency` other than the asset's (`errors` names the field)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TxInput>,
) -> Result<Response, ApiError> {
    let owner = user.owner();
    let request = TxRequest::Typed(input.typed().map_err(validation)?);
    let t = transactions::owned(state.store.as_ref(), owner, id).await?;
    let elsewhere = input.holding_id.is_some_and(|h| h != t.holding_id)
        || input
            .symbol
            .as_deref()
            .is_some_and(|s| !s.trim().eq_ignore_ascii_case(t.symbol.as_str()))
        || input.kind.is_some_and(|k| k != t.asset_kind);
    if elsewhere {
        return Err(AppError::Domain(DomainError::Refused(
            "A transaction stays with its holding: delete it and record it on the other one."
                .into(),
        ))
        .into());
    }
    let saved = transactions::edit(state.store.as_ref(), owner, id, &request).await?;
    Ok(Json(TxOut::from(&saved)).into_response())
}

/// Delete a transaction.
#[utoipa::path(delete, path = "/api/v1/transactions/{id}", tag = "transactions",
    params(("id" = i64, Path, description = "Transaction id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transaction", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A later sell or split needs it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    transactions::delete(state.store.as_ref(), user.owner(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::TxAmounts;

    /// The hand-written page is what serializing the documented shape gives, byte for byte:
    /// hostile text, absent amounts, fractions, times with and without their fraction, and both
    /// ends of the list.
    #[test]
    fn a_page_is_written_as_its_documented_shape() {
        let notes = [
            Some("lot \"B\" \\ 50% — ünïcode <b>&amp;</b>\u{1}\n\t".to_string()),
            None,
            Some(String::new()),
        ];
        let all: Vec<Transaction> = (1..=7)
            .map(|id| Transaction {
                id,
                holding_id: id * 3,
                symbol: Symbol::parse(["BRK.B", "^GSPC", "EURUSD=X"][(id % 3) as usize]).unwrap(),
                asset_kind: [AssetKind::Stock, AssetKind::Etf, AssetKind::Item][(id % 3) as usize],
                currency: "EUR".into(),
                amounts: TxAmounts {
                    kind: TxKind::ALL[(id % 5) as usize],
                    day: time::macros::date!(2024 - 02 - 29) + time::Duration::days(id),
                    quantity: (id % 2 == 0).then(|| "1.50000".parse().unwrap()),
                    price: Some("-0.00000001".parse::<Decimal>().unwrap() * Decimal::from(id)),
                    amount: None,
                    ratio: (id == 3).then(|| Decimal::new(3, 0)),
                    fees: Decimal::new(250, 2),
                    account: 2,
                },
                notes: notes[(id % 3) as usize].clone(),
                created_at: time::macros::datetime!(2024-03-01 12:30:45.123456 UTC)
                    + time::Duration::seconds(id * 7_777)
                    + time::Duration::nanoseconds(if id == 4 { -123_456_000 } else { 0 }),
            })
            .collect();
        let all = Arc::new(all);
        for limit in [3, 100] {
            let q = ActivityQuery {
                limit,
                ..ActivityQuery::default()
            };
            let page = ActivityPage::new(all.clone(), &q);
            let documented = serde_json::to_vec(&TxList {
                total: page.total,
                next: page.next.as_ref().map(Cursor::encode),
                items: page.items().map(TxOut::from).collect(),
            })
            .unwrap();
            assert_eq!(
                String::from_utf8(list_json(&page)).unwrap(),
                String::from_utf8(documented).unwrap()
            );
        }
    }
}
