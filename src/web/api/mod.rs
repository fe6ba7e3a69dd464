//! The JSON API under `/api/v1`, one module per resource, its OpenAPI document assembled
//! from them, and what they share: how decimals and symbols are read from a body.

mod accounts;
mod cash;
mod holdings;
mod income;
mod items;
mod quotes;
mod returns;
mod summary;
pub mod transactions;
mod watchlist;

use axum::Json;
use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::AppState;
use super::error::{ApiError, AppError, Problem};
use crate::domain::{
    AmountError, AssetKind, FieldError, HistoryRange, PricePoint, Problems, Quote, SortDir,
    SortKey, Symbol, TxKind,
};

/// Every resource under `/api/v1`, its OpenAPI document and the docs page.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(holdings::router())
        .merge(transactions::router())
        .merge(accounts::router())
        .merge(cash::router())
        .merge(income::router())
        .merge(returns::router())
        .merge(summary::router())
        .merge(quotes::router())
        .merge(items::router())
        .merge(watchlist::router())
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(crate::web::pages::about::api_docs))
}

/// The OpenAPI 3.1 document, generated from the handlers and types below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "stock-ticker API",
        description = "Holdings and quotes. Decimals are JSON strings on output and strings or numbers on input. Errors are RFC 9457 problem details."
    ),
    paths(holdings::list_holdings, holdings::create_holding, holdings::get_holding, holdings::replace_holding, holdings::patch_holding, holdings::delete_holding,
        quotes::get_quotes, quotes::get_quote, quotes::get_history, items::add_price,
        watchlist::list_watchlist, watchlist::watch, watchlist::get_watched, watchlist::unwatch,
        transactions::list, transactions::create, transactions::get_one, transactions::replace, transactions::remove,
        accounts::list_accounts, accounts::create_account, accounts::get_account, accounts::rename_account, accounts::delete_account,
        cash::list_cash, cash::create_cash, cash::get_cash, cash::replace_cash, cash::delete_cash, cash::balances, income::get_income, returns::get_returns, returns::get_benchmark, returns::put_benchmark, returns::delete_benchmark, summary::get_summary),
    components(schemas(holdings::HoldingOut, holdings::HoldingList, holdings::HoldingInput, holdings::HoldingPatch, Quote, Problem, FieldError, AssetKind, MarketKind, SortKey, SortDir, crate::domain::activity::ActivitySort,
        quotes::QuoteList, quotes::History, PricePoint, HistoryRange, items::PriceInput,
        watchlist::WatchOut, watchlist::WatchList, watchlist::WatchInput,
        transactions::TxOut, transactions::TxList, transactions::TxInput, TxKind,
        accounts::AccountOut, accounts::AccountList, accounts::AccountInput,
        cash::CashOut, cash::CashList, cash::CashInput, cash::BalanceOut, cash::BalanceList, crate::domain::cash::CashKind,
        income::IncomeOut, income::PeriodOut, income::HoldingIncomeOut, income::AccountIncomeOut,
        returns::ReturnsOut, returns::RateOut, returns::RangeOut, crate::domain::returns::ReturnRange, returns::BenchmarkOut, returns::BenchmarkInput, returns::AccountRateOut, returns::HoldingRateOut,
        summary::SummaryOut, summary::FxRateOut, summary::FxGapOut)),
    tags((name = "holdings", description = "Positions in the portfolio"), (name = "quotes", description = "Latest prices"), (name = "transactions", description = "Buys, sells, dividends, fees and splits; holdings follow them"), (name = "watchlist", description = "Symbols followed without holding them"), (name = "accounts", description = "Where assets are kept; every transaction is in one"), (name = "cash", description = "Deposits, withdrawals, interest, fees and transfers; the cash each account holds; income; returns")),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// Every operation needs a personal API token and answers 401 without a valid one.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
        let unauthorized = ResponseBuilder::new()
            .description("No valid API token (send `Authorization: Bearer <token>`)")
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "Problem",
                    ))))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .insert("401".into(), RefOr::T(unauthorized.clone()));
            }
        }
    }
}

async fn openapi_json() -> impl IntoResponse {
    Json(document())
}

/// A day from 1900-01-01 to 2099-12-31 that is on the calendar (February 29 in leap years
/// only). Days after today are refused with 409, which no pattern can say.
const DATE_PATTERN: &str = concat!(
    "^((19|20)[0-9]{2}-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])",
    "|(19|20)[0-9]{2}-(0[469]|11)-(0[1-9]|[12][0-9]|30)",
    "|(19|20)[0-9]{2}-02-(0[1-9]|1[0-9]|2[0-8])",
    "|(19(0[48]|[2468][048]|[13579][26])|20([02468][048]|[13579][26]))-02-29)$"
);

/// The OpenAPI document: [`ApiDoc`] and the rules its derive cannot say, so that a request the
/// document allows is one the server accepts (or answers 404/409 for, by the state of things):
/// which amounts each transaction type needs, that a transaction names its holding or asset,
/// which names a commodity has, and which days a date may be.
pub fn document() -> serde_json::Value {
    use serde_json::{Value, json};
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let schemas = &mut doc["components"]["schemas"];
    let mut commodities: Vec<&str> = crate::market::symbols::COMMODITIES
        .iter()
        .flat_map(|c| c.names.iter().copied().chain([c.yahoo]))
        .collect();
    commodities.sort_unstable();
    // Another kind (or none, which is a stock), or a commodity by one of its names.
    let kind_and_symbol = |others: Value| {
        json!({"anyOf": [
            {"properties": {"kind": {"enum": others}}},
            {"required": ["kind", "symbol"],
             "properties": {"kind": {"const": "commodity"}, "symbol": {"enum": commodities}}},
        ]})
    };
    // The amounts a transaction type needs, given (not null).
    let needs = |types: &[&str], fields: &[&str]| {
        let mut properties = json!({"type": {"enum": types}});
        for f in fields {
            properties[*f] = json!({"type": ["string", "integer"]});
        }
        json!({"required": fields, "properties": properties})
    };
    let tx = &mut schemas["TxInput"];
    tx["allOf"] = json!([
        {"anyOf": [
            {"required": ["holding_id"], "properties": {"holding_id": {"type": "integer"}}},
            {"required": ["symbol"], "properties": {"symbol": {"type": "string"}}},
        ]},
        {"oneOf": [
            needs(&["buy"], &["quantity"]),
            needs(&["sell"], &["quantity", "price"]),
            needs(&["dividend", "fee"], &["amount"]),
            needs(&["split"], &["ratio"]),
        ]},
        kind_and_symbol(json!(["stock", "etf", "crypto", "item", null])),
    ]);
    tx["properties"]["date"]["pattern"] = json!(DATE_PATTERN);
    tx["properties"]["date"]["format"] = json!("date");
    schemas["HoldingInput"]["allOf"] = json!([kind_and_symbol(json!([
        "stock", "etf", "crypto", "item", null
    ]))]);
    schemas["BenchmarkInput"]["allOf"] =
        json!([kind_and_symbol(json!(["stock", "etf", "crypto", null]))]);
    schemas["WatchInput"]["allOf"] =
        json!([kind_and_symbol(json!(["stock", "etf", "crypto", null]))]);
    schemas["PriceInput"]["properties"]["date"]["pattern"] = json!(DATE_PATTERN);
    // Cash: the ISO 4217 codes as the server reads them; a transfer names where it goes.
    let cash = &mut schemas["CashInput"];
    cash["properties"]["date"]["pattern"] = json!(DATE_PATTERN);
    cash["properties"]["date"]["format"] = json!("date");
    cash["properties"]["currency"]["enum"] = json!(crate::domain::currency::ISO_4217);
    cash["anyOf"] = json!([
        {"properties": {"type": {"enum": ["deposit", "withdrawal", "interest", "fee"]}}},
        {"required": ["to_account_id"],
         "properties": {"type": {"const": "transfer"}, "to_account_id": {"type": "integer"}}},
    ]);
    // The list's filters and cursor: days as the bodies take them.
    if let Some(params) = doc["paths"]["/api/v1/transactions"]["get"]["parameters"].as_array_mut() {
        let day = &DATE_PATTERN[1..DATE_PATTERN.len() - 1];
        for p in params {
            match p["name"].as_str() {
                Some("from" | "to") => p["schema"]["pattern"] = json!(DATE_PATTERN),
                Some("cursor") => {
                    p["schema"]["pattern"] = json!(
                        crate::domain::activity::Cursor::PATTERN
                            .replace("{day}", &format!("({day})"))
                    )
                }
                _ => {}
            }
        }
    }
    let schemas = &mut doc["components"]["schemas"];
    let opened = &mut schemas["HoldingInput"]["properties"]["date"];
    opened["pattern"] = json!(DATE_PATTERN);
    opened["format"] = json!("date");
    doc
}

/// A day as `YYYY-MM-DD`, written straight into the answer.
pub fn iso_day<S: serde::Serializer>(day: &time::Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(day)
}

/// An optional id: a JSON integer, or a number with no fraction (`5.0`), which JSON Schema
/// counts as an integer too.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let whole = n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 2f64.powi(53))
            .map(|f| f as i64)
    });
    whole
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("{n} is not a whole number")))
}

/// A decimal sent as a JSON string (`"10.5"`) or number (`10.5`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DecimalInput {
    Text(String),
    Number(serde_json::Number),
}

impl DecimalInput {
    /// The amount, if written in the one plain form the API takes (so that the OpenAPI
    /// patterns describe exactly what is accepted): digits with no sign, no leading zeros and
    /// at most 8 places, or a whole JSON number. Forms are more lenient.
    /// Digits too many for an exact decimal are `Ok(Err(..))`: the field's own rule says so.
    pub fn decimal(&self, field: &str) -> Result<Result<Decimal, AmountError>, FieldError> {
        let exact =
            |text: &str| Ok(Decimal::from_str_exact(text).map_err(|_| AmountError::NotANumber));
        match self {
            DecimalInput::Text(s) => {
                let (int, frac) = s
                    .split_once('.')
                    .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
                let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
                let int_ok = int == "0" || (digits(int) && !int.starts_with('0'));
                let frac_ok = frac.is_none_or(|f| digits(f) && f.len() <= 8);
                if int_ok && frac_ok {
                    exact(s)
                } else {
                    Err(FieldError::new(
                        field,
                        "Write the amount as plain digits with at most 8 decimal places, for example \"10.5\".",
                    ))
                }
            }
            DecimalInput::Number(n) if n.is_u64() || n.is_i64() => exact(&n.to_string()),
            // JSON Schema counts 5.0 as an integer; below 2^53 a float says a whole number exactly.
            DecimalInput::Number(n)
                if n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15) =>
            {
                exact(&format!("{:.0}", n.as_f64().unwrap_or_default()))
            }
            DecimalInput::Number(_) => Err(FieldError::new(
                field,
                "Send a fractional amount as a string (\"10.5\") so it stays exact; JSON numbers must be whole.",
            )),
        }
    }
}

/// API symbols are taken as sent: no surrounding spaces to trim (forms trim them).
pub fn exact_symbol(symbol: &str) -> Result<(), FieldError> {
    if symbol.trim() == symbol {
        Ok(())
    } else {
        Err(FieldError::new(
            "symbol",
            "A symbol may not start or end with spaces.",
        ))
    }
}

/// Decimals written as strings: plain digits, at most 8 places, at most 10^12.
const NON_NEGATIVE_DECIMAL: &str =
    r"^((0|[1-9][0-9]{0,11})(\.[0-9]{1,8})?|1000000000000(\.0{1,8})?)$";
/// The same, above zero: below 1, the first non-zero digit may stand in any of the 8 places.
const POSITIVE_DECIMAL: &str = r"^([1-9][0-9]{0,11}(\.[0-9]{1,8})?|0\.([1-9][0-9]{0,7}|0[1-9][0-9]{0,6}|00[1-9][0-9]{0,5}|000[1-9][0-9]{0,4}|0000[1-9][0-9]{0,3}|00000[1-9][0-9]{0,2}|000000[1-9][0-9]{0,1}|0000000[1-9])|1000000000000(\.0{1,8})?)$";

/// A decimal as a string or a whole JSON number. (Fractional JSON numbers are accepted too,
/// but documenting them as strings keeps float rounding out of the contract.)
pub fn decimal_schema(
    positive: bool,
    nullable: bool,
    description: &str,
) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    let text = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(if positive {
            POSITIVE_DECIMAL
        } else {
            NON_NEGATIVE_DECIMAL
        }))
        .examples(["10.5"]);
    let number = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(if positive { 1 } else { 0 }))
        .maximum(Some(1_000_000_000_000_i64));
    let mut one_of = OneOfBuilder::new()
        .item(text)
        .item(number)
        .description(Some(description));
    if nullable {
        one_of = one_of.item(ObjectBuilder::new().schema_type(Type::Null));
    }
    Schema::OneOf(one_of.build())
}

pub fn quantity_schema() -> utoipa::openapi::schema::Schema {
    decimal_schema(
        true,
        false,
        "Greater than 0, at most 1,000,000,000,000, at most 8 decimal places: a string of plain digits (\"10.5\") or a whole number.",
    )
}

pub fn cost_schema() -> utoipa::openapi::schema::Schema {
    decimal_schema(
        false,
        true,
        "Average cost per unit, 0 or more, same form as quantity; null for none.",
    )
}

/// Kinds with a market price (items are priced by their owner).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MarketKind {
    Stock,
    Etf,
    Commodity,
    Crypto,
}

impl From<MarketKind> for AssetKind {
    fn from(k: MarketKind) -> Self {
        match k {
            MarketKind::Stock => AssetKind::Stock,
            MarketKind::Etf => AssetKind::Etf,
            MarketKind::Commodity => AssetKind::Commodity,
            MarketKind::Crypto => AssetKind::Crypto,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteParams {
    /// Kind of asset; default `stock`.
    pub kind: Option<MarketKind>,
}

/// A symbol as sent in a body: no surrounding spaces, then the rules every symbol follows;
/// its problem goes to `p` under `symbol`.
pub fn body_symbol(p: &mut Problems, raw: &str) -> Option<Symbol> {
    match exact_symbol(raw) {
        Ok(()) => p.check("symbol", Symbol::parse(raw)),
        Err(e) => {
            p.0.push(e);
            None
        }
    }
}

/// Whether a body's date is written exactly `YYYY-MM-DD` (no spaces, no time).
pub fn is_plain_date(raw: &str) -> bool {
    raw.is_ascii() && raw.len() == 10 && raw.trim() == raw
}

/// A day as sent in a body: written exactly `YYYY-MM-DD`, then a calendar day from 1900 on;
/// its problem goes to `p` under `date`.
pub fn body_date(p: &mut Problems, raw: &str) -> Option<time::Date> {
    if !is_plain_date(raw) {
        p.push("date", "Date must be written as 2024-03-01.");
        return None;
    }
    p.check("date", crate::domain::transaction::read_date(raw))
}

/// A symbol from the path, taken as sent (422 when malformed).
pub fn path_symbol(raw: &str) -> Result<Symbol, ApiError> {
    let mut p = Problems::default();
    let symbol = body_symbol(&mut p, raw);
    Ok(p.finish(symbol).map_err(AppError::Domain)?)
}

/// Reads an amount from the body: its form first (plain digits; a wrong one goes to `p`
/// under `field`), then `rule`, the domain's bounds for it.
pub fn amount(
    p: &mut Problems,
    field: &str,
    input: Option<&DecimalInput>,
    rule: fn(Result<Decimal, AmountError>) -> Result<Decimal, String>,
) -> Option<Decimal> {
    let read = input?.decimal(field).map_err(|e| p.0.push(e)).ok()?;
    p.check(field, rule(read))
}

/// Problems with the body's fields (422).
pub fn validation(errors: Vec<FieldError>) -> ApiError {
    ApiError(AppError::invalid(errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_pattern_takes_every_day_on_the_calendar_from_1900_to_2099_and_no_other() {
        let pattern = regex_lite::Regex::new(DATE_PATTERN).expect("pattern");
        let mut day = time::macros::date!(1900 - 01 - 01);
        let mut days = 0;
        while day.year() < 2100 {
            assert!(pattern.is_match(&day.to_string()), "{day}");
            day = day.next_day().expect("next day");
            days += 1;
        }
        assert_eq!(days, 73_049);
        for not_a_day in [
            "1899-12-31",
            "2100-01-01",
            "1900-02-29",
            "2023-02-29",
            "2024-02-30",
            "2024-04-31",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "2024-1-01",
            "2024-01-01T00:00:00Z",
        ] {
            assert!(!pattern.is_match(not_a_day), "{not_a_day}");
        }
    }

    #[test]
    fn the_document_says_which_amounts_each_transaction_type_needs() {
        let doc = document();
        let tx = &doc["components"]["schemas"]["TxInput"];
        let types = tx["allOf"][1]["oneOf"]
            .as_array()
            .expect("one rule per type");
        let needed = |t: &str| {
            types
                .iter()
                .find(|rule| {
                    rule["properties"]["type"]["enum"]
                        .as_array()
                        .is_some_and(|e| e.iter().any(|v| v == t))
                })
                .map(|rule| rule["required"].clone())
        };
        assert_eq!(needed("buy"), Some(serde_json::json!(["quantity"])));
        assert_eq!(
            needed("sell"),
            Some(serde_json::json!(["quantity", "price"]))
        );
        assert_eq!(needed("fee"), Some(serde_json::json!(["amount"])));
        assert_eq!(needed("split"), Some(serde_json::json!(["ratio"])));
        assert_eq!(tx["properties"]["date"]["pattern"], DATE_PATTERN);
        let opened = &doc["components"]["schemas"]["HoldingInput"]["properties"]["date"];
        assert_eq!(
            (&opened["pattern"], &opened["format"]),
            (&serde_json::json!(DATE_PATTERN), &serde_json::json!("date"))
        );
        let commodity = &doc["components"]["schemas"]["WatchInput"]["allOf"][0]["anyOf"][1];
        let names = commodity["properties"]["symbol"]["enum"]
            .as_array()
            .expect("names");
        assert!(names.iter().any(|n| n == "GOLD") && names.iter().any(|n| n == "GC=F"));
        assert!(!names.iter().any(|n| n == "AAPL"));
    }
}
