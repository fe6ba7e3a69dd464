//! A transaction: as typed into a form or read from a CSV row (text), or sent to the API
//! (typed), and the rules its amounts meet for its type; a holding's transactions replayed.

use rust_decimal::Decimal;
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::amount::{self, AmountError, MAX_AMOUNT, parse_decimal, parse_notes};
use super::ledger::{Ledger, TxAmounts, TxKind};
use super::{AssetKind, DomainError, FieldError, HoldingFields, Problems, Symbol};

/// The earliest date a transaction may have.
pub const EARLIEST: Date = super::EARLIEST_PRICE_DATE;

/// One transaction of a holding, with the asset it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub id: i64,
    pub holding_id: i64,
    pub symbol: Symbol,
    pub asset_kind: AssetKind,
    /// The asset's currency, which every amount is in.
    pub currency: String,
    pub amounts: TxAmounts,
    pub notes: Option<String>,
    pub created_at: OffsetDateTime,
}

/// What a transaction write records.
#[derive(Debug, Clone, PartialEq)]
pub struct TxFields {
    pub amounts: TxAmounts,
    pub notes: Option<String>,
}

/// One row of an import: the asset (held already or not) and the transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportTx {
    pub symbol: Symbol,
    pub kind: AssetKind,
    /// Name and currency to record on an asset not seen before (`None`: unknown, USD).
    pub name: Option<String>,
    pub currency: Option<String>,
    pub fields: TxFields,
}

/// One row of a file to write: a holding's transaction, or a cash one (its accounts found).
#[derive(Debug, Clone, PartialEq)]
pub enum ImportRow {
    Trade(ImportTx),
    Cash(super::cash::CashFields),
}

impl From<ImportTx> for ImportRow {
    fn from(row: ImportTx) -> Self {
        ImportRow::Trade(row)
    }
}

/// Every field as text, before any checks.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct TxDraft {
    #[serde(rename = "type")]
    pub kind: String,
    pub date: String,
    pub quantity: String,
    pub price: String,
    pub amount: String,
    pub ratio: String,
    pub fees: String,
    pub currency: String,
    pub notes: String,
    /// The account's id; empty: the default one (an edit: where it is).
    #[serde(rename = "account_id")]
    pub account: String,
}

/// `YYYY-MM-DD` (a time after it, as in `2024-03-01T10:00:00Z`, is ignored), from 1900 to today.
pub fn parse_date(input: &str, today: Date) -> Result<Date, String> {
    read_date(input).and_then(|date| not_after(date, today))
}

/// How a day is written everywhere a day is text: `2024-03-01`.
pub const DAY_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// `YYYY-MM-DD` (a time after it is ignored), from 1900 on: the date's own rules, which hold
/// whenever it is sent.
pub fn read_date(input: &str) -> Result<Date, String> {
    let s = input.trim();
    let day = s.get(..10).unwrap_or(s);
    let date = Date::parse(day, DAY_FORMAT)
        .map_err(|_| format!("Date {s:?} is not a date in the form 2024-03-01."))?;
    if date < EARLIEST {
        return Err("The date must be in 1900 or later.".into());
    }
    Ok(date)
}

/// A day no later than `today`: the rule that depends on when it is sent.
pub fn not_after(date: Date, today: Date) -> Result<Date, String> {
    if date > today {
        return Err(format!("Date {date} is in the future."));
    }
    Ok(date)
}

/// One amount of a transaction as read from text or JSON, before its type's rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Given {
    /// Not given (an empty field, an absent or null JSON member).
    Absent,
    /// Given, but not a number (the rule for the field says so, in its words).
    NotANumber,
    /// Given but not readable; the reader has said why.
    Unreadable,
    Value(Decimal),
}

impl From<Option<Decimal>> for Given {
    fn from(d: Option<Decimal>) -> Self {
        d.map_or(Given::Absent, Given::Value)
    }
}

/// A transaction's amounts as read, for its type's rules ([`TxValues::check`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TxValues {
    pub quantity: Given,
    pub price: Given,
    pub amount: Given,
    pub ratio: Given,
    pub fees: Given,
}

/// An amount above zero: `what` names it in the message.
fn above_zero(given: Given, what: &str) -> Result<Option<Decimal>, String> {
    match given {
        Given::Unreadable => Ok(None),
        Given::Absent | Given::NotANumber => {
            Err(AmountError::NotANumber.describe(what, "10 or 0.5"))
        }
        Given::Value(d) => amount::positive(d)
            .map(Some)
            .map_err(|e| e.describe(what, "10 or 0.5")),
    }
}

/// An amount of zero or more; absent is zero.
fn zero_or_more(given: Given, what: &str) -> Result<Option<Decimal>, String> {
    match given {
        Given::Unreadable => Ok(None),
        Given::Absent => Ok(Some(Decimal::ZERO)),
        Given::NotANumber => Err(AmountError::NotANumber.describe(what, "")),
        Given::Value(d) => amount::not_negative(d)
            .map(Some)
            .map_err(|e| e.describe(what, "")),
    }
}

/// The order problems are reported in: the form's.
const FIELD_ORDER: [&str; 10] = [
    "quantity",
    "price",
    "amount",
    "ratio",
    "fees",
    "type",
    "date",
    "currency",
    "notes",
    "account_id",
];

/// The amounts `kind` uses, each present when it passed: `(quantity, price, amount, ratio)`.
type Used = (
    Option<Decimal>,
    Option<Decimal>,
    Option<Decimal>,
    Option<Decimal>,
);

impl TxValues {
    /// Applies the rules of `kind` (when it is known) and of the fees: buy and sell take a
    /// quantity above zero and a price of zero or more (required for a sell; a buy without one
    /// has an unknown cost); dividend and fee an amount above zero; split a ratio above zero.
    /// Amounts the type does not use are dropped. Problems go to `p`, in field order.
    pub fn check(&self, kind: Option<TxKind>, p: &mut Problems) -> (Used, Option<Decimal>) {
        let mut check = |field: &str, r: Result<Option<Decimal>, String>| {
            r.map_err(|m| p.push(field, m)).ok().flatten()
        };
        let (mut quantity, mut price, mut amount, mut ratio) = (None, None, None, None);
        match kind {
            Some(kind @ (TxKind::Buy | TxKind::Sell)) => {
                quantity = check("quantity", above_zero(self.quantity, "Quantity"));
                price = check(
                    "price",
                    match (kind, self.price) {
                        (TxKind::Sell, Given::Absent) => Err("Price per unit is required.".into()),
                        (_, Given::Absent) => Ok(None),
                        (_, given) => zero_or_more(given, "Price"),
                    },
                );
            }
            Some(TxKind::Dividend | TxKind::Fee) => {
                amount = check("amount", above_zero(self.amount, "Amount"));
            }
            Some(TxKind::Split) => ratio = check("ratio", split_ratio(self.ratio)),
            None => {}
        }
        let fees = check("fees", zero_or_more(self.fees, "Fees"));
        ((quantity, price, amount, ratio), fees)
    }
}

/// A split ratio above zero and at most 10^12 (new-for-old ratios keep up to 20 places).
fn split_ratio(given: Given) -> Result<Option<Decimal>, String> {
    match given {
        Given::Unreadable => Ok(None),
        Given::Absent | Given::NotANumber => {
            Err(AmountError::NotANumber.describe("Ratio", "10 or 0.5"))
        }
        Given::Value(r) if r <= Decimal::ZERO => {
            Err(AmountError::NotPositive.describe("Ratio", ""))
        }
        Given::Value(r) if r > MAX_AMOUNT => Err(AmountError::TooLarge.describe("Ratio", "")),
        Given::Value(r) => Ok(Some(r.round_dp(20).normalize())),
    }
}

/// An amount typed as text.
fn read_text(text: &str) -> Given {
    if text.trim().is_empty() {
        return Given::Absent;
    }
    parse_decimal(text).map_or(Given::NotANumber, Given::Value)
}

/// A split ratio as typed: `2`, `0.5`, or new-for-old as `3:1` / `3-for-1` / `1:10`.
fn read_ratio(p: &mut Problems, text: &str) -> Given {
    let s = text.trim().to_ascii_lowercase();
    let pair = s
        .split_once(':')
        .or_else(|| s.split_once("-for-"))
        .or_else(|| s.split_once(" for "));
    let Some((new, old)) = pair else {
        // A plain number keeps to the places every amount does.
        return match read_text(&s) {
            Given::Value(d) => match amount::positive(d) {
                Ok(d) => Given::Value(d),
                Err(e) => {
                    p.push("ratio", e.describe("Ratio", "10 or 0.5"));
                    Given::Unreadable
                }
            },
            other => other,
        };
    };
    let part = |text: &str, what: &str| {
        amount::parse_positive(text).map_err(|e| e.describe(what, "10 or 0.5"))
    };
    // Kept to 20 places, so that 1:3 applied to 300 units gives 100, not 99.99999999.
    let ratio = part(new, "The split's new units").and_then(|new| {
        let old = part(old, "The split's old units")?;
        new.checked_div(old)
            .map(|r| r.round_dp(20).normalize())
            .ok_or_else(|| "Ratio must be greater than zero, for example 2 or 3:1.".to_string())
    });
    match ratio {
        Ok(r) => Given::Value(r),
        Err(m) => {
            p.push("ratio", m);
            Given::Unreadable
        }
    }
}

/// The type as typed: required, one of buy, sell, dividend, fee, split (or a synonym).
fn read_kind(text: &str) -> Result<TxKind, String> {
    match text.trim() {
        "" => Err("Type is required: buy, sell, dividend, fee or split.".to_string()),
        t => t.parse::<TxKind>().map_err(|m| format!("The {m}.")),
    }
}

/// The rule for the currency a transaction names: the asset's (`currency`), or none.
pub fn check_currency(given: &str, currency: &str) -> Result<(), String> {
    let given = given.trim();
    if !given.is_empty() && !given.eq_ignore_ascii_case(currency) {
        return Err(format!(
            "This asset is priced in {currency}: enter the amounts in {currency}, not {given}."
        ));
    }
    Ok(())
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

/// A transaction as typed values: the API's body, read (amounts as decimals, the date's form
/// checked), for its type's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct TxTyped {
    pub kind: TxKind,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub values: TxValues,
    pub currency: Option<String>,
    pub notes: Option<String>,
    /// The account it is in; none: the default one (an edit: where it is).
    pub account: Option<i64>,
}

impl TxTyped {
    /// Every problem at once: the amounts, the date, the currency and the notes.
    pub fn validate(&self, currency: &str, today: Date) -> Result<TxFields, DomainError> {
        let mut p = Problems::default();
        let (used, fees) = self.values.check(Some(self.kind), &mut p);
        // A day after today and another currency than the asset's are sent well: they
        // disagree with the day and the asset (409 when nothing else is wrong).
        let day = p
            .check("date", read_date(&self.date))
            .and_then(|day| p.check_state("date", not_after(day, today)));
        let given = self.currency.as_deref().unwrap_or("");
        p.check_state("currency", check_currency(given, currency));
        let mut fields = finish(
            p,
            Some(self.kind),
            day,
            used,
            fees,
            "",
            currency,
            self.notes.as_deref().unwrap_or(""),
        )?;
        fields.amounts.account = match self.account {
            None => 0,
            Some(id) if id > 0 => id,
            // Well formed, but no account has it: how things stand (409).
            Some(id) => {
                return Err(DomainError::Mismatch(vec![FieldError::new(
                    "account_id",
                    format!("You have no account {id}."),
                )]));
            }
        };
        Ok(fields)
    }
}

/// A transaction to record, as text (a form, a CSV row) or typed (the API).
#[derive(Debug, Clone, PartialEq)]
pub enum TxRequest {
    Text(TxDraft),
    Typed(TxTyped),
}

impl TxRequest {
    /// Checks it against its type's rules and the asset's `currency`.
    pub fn validate(&self, currency: &str, today: Date) -> Result<TxFields, DomainError> {
        match self {
            TxRequest::Text(draft) => draft.validate(currency, today),
            TxRequest::Typed(typed) => typed.validate(currency, today),
        }
    }

    /// The currency the sender named ("" for none).
    pub fn currency(&self) -> &str {
        match self {
            TxRequest::Text(draft) => draft.currency.trim(),
            TxRequest::Typed(typed) => typed.currency.as_deref().unwrap_or("").trim(),
        }
    }
}

/// The currency of a new asset's first transaction: a market asset's comes from its quote
/// (`quoted`; USD without one, as its row will be); only an item, the owner's own, takes the
/// one the sender named.
pub fn new_asset_currency(kind: AssetKind, quoted: Option<&str>, given: &str) -> String {
    let given = given.trim().to_ascii_uppercase();
    match (quoted, kind.is_market_priced()) {
        (Some(c), _) => c.to_string(),
        (None, false) if given.len() == 3 => given,
        _ => "USD".into(),
    }
}

/// The 404 for a transaction that is not the owner's.
pub fn no_transaction(id: i64) -> DomainError {
    DomainError::NotFound(format!("There is no transaction {id}."))
}

#[allow(clippy::too_many_arguments)]
fn finish(
    mut p: Problems,
    kind: Option<TxKind>,
    day: Option<Date>,
    (quantity, price, amount, ratio): Used,
    fees: Option<Decimal>,
    given_currency: &str,
    currency: &str,
    notes: &str,
) -> Result<TxFields, DomainError> {
    p.check("currency", check_currency(given_currency, currency));
    let notes = p.check("notes", parse_notes(notes));
    // Readers and rules find problems at different steps; they are reported in form order.
    p.0.sort_by_key(|e| FIELD_ORDER.iter().position(|f| *f == e.field));
    let fields = match (kind, day, fees, notes) {
        (Some(kind), Some(day), Some(fees), Some(notes)) => Some(TxFields {
            amounts: TxAmounts {
                kind,
                day,
                quantity,
                price,
                amount,
                ratio,
                fees,
                account: 0,
            },
            notes,
        }),
        _ => None,
    };
    p.finish(fields)
}

impl TxDraft {
    /// Checks every field against the transaction's type; `currency` is the asset's, which the
    /// transaction must be in. Fields a type does not use are ignored.
    pub fn validate(&self, currency: &str, today: Date) -> Result<TxFields, DomainError> {
        let mut p = Problems::default();
        let kind = read_kind(&self.kind);
        let known = kind.as_ref().ok().copied();
        // Only the amounts the type uses are read (a dividend's row may carry anything in its
        // quantity column).
        let uses = |k: &[TxKind]| known.is_some_and(|t| k.contains(&t));
        let mut values = TxValues {
            quantity: Given::Absent,
            price: Given::Absent,
            amount: Given::Absent,
            ratio: Given::Absent,
            fees: Given::Absent,
        };
        if uses(&[TxKind::Buy, TxKind::Sell]) {
            values.quantity = read_text(&self.quantity);
            values.price = read_text(&self.price);
        }
        if uses(&[TxKind::Dividend, TxKind::Fee]) {
            values.amount = read_text(&self.amount);
        }
        if uses(&[TxKind::Split]) {
            values.ratio = read_ratio(&mut p, &self.ratio);
        }
        values.fees = read_text(&self.fees);
        let (used, fees) = values.check(known, &mut p);
        let kind = p.check("type", kind);
        let day = p.check("date", parse_date(&self.date, today));
        let account = match self.account.trim() {
            "" => Some(0),
            id => p.check(
                "account_id",
                id.parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or("Choose one of your accounts."),
            ),
        };
        let mut fields = finish(
            p,
            kind,
            day,
            used,
            fees,
            &self.currency,
            currency,
            &self.notes,
        )?;
        fields.amounts.account = account.unwrap_or_default();
        Ok(fields)
    }

    /// The draft a stored transaction is edited from.
    pub fn from_fields(fields: &TxFields, currency: &str) -> Self {
        let text = |d: Option<Decimal>| d.map(|d| d.normalize().to_string()).unwrap_or_default();
        let a = &fields.amounts;
        TxDraft {
            kind: a.kind.as_str().into(),
            date: a.day.to_string(),
            quantity: text(a.quantity),
            price: text(a.price),
            amount: text(a.amount),
            ratio: text(a.ratio),
            fees: if a.fees.is_zero() {
                String::new()
            } else {
                a.fees.normalize().to_string()
            },
            currency: currency.into(),
            notes: fields.notes.clone().unwrap_or_default(),
            account: a.account.to_string(),
        }
    }
}

/// A change to one holding's transactions, applied in memory before it is replayed.
pub enum TxEdit<'a> {
    /// A new transaction of the holding's asset (`symbol` and `kind`, amounts in `currency`).
    Add {
        fields: &'a TxFields,
        symbol: &'a Symbol,
        kind: AssetKind,
        currency: &'a str,
    },
    Update(i64, &'a TxFields),
    Delete(i64),
}

/// Applies `edit` to a holding's transactions (in replay order) and replays them: the ledger
/// when they still add up, [`DomainError::Refused`] naming the first that does not.
pub fn replay_with(txs: &mut Vec<Transaction>, edit: TxEdit<'_>) -> Result<Ledger, DomainError> {
    match edit {
        TxEdit::Add {
            fields,
            symbol,
            kind,
            currency,
        } => {
            txs.push(Transaction {
                // Sorts after every stored one of its day, as it will once stored.
                id: i64::MAX,
                holding_id: 0,
                symbol: symbol.clone(),
                asset_kind: kind,
                currency: currency.to_string(),
                amounts: fields.amounts.clone(),
                notes: fields.notes.clone(),
                // Never read: the replay looks only at the amounts.
                created_at: OffsetDateTime::UNIX_EPOCH,
            });
        }
        TxEdit::Update(id, fields) => {
            for t in txs.iter_mut().filter(|t| t.id == id) {
                t.amounts = fields.amounts.clone();
                t.notes = fields.notes.clone();
            }
        }
        TxEdit::Delete(id) => txs.retain(|t| t.id != id),
    }
    txs.sort_by_key(|t| (t.amounts.day, t.id));
    replay(txs)
}

/// Replays a holding's transactions; a refusal names the transaction.
pub fn replay(txs: &[Transaction]) -> Result<Ledger, DomainError> {
    Ledger::replay(txs.iter().map(|t| &t.amounts)).map_err(|refusal| {
        let what = txs
            .get(refusal.index)
            .map(|t| {
                format!(
                    "the {} of {} on {}",
                    t.amounts.kind, t.symbol, t.amounts.day
                )
            })
            .unwrap_or_else(|| "a transaction".into());
        DomainError::Refused(format!("{what} cannot be recorded: {}.", refusal.message))
    })
}

/// The quantity and average cost a ledger gives a holding.
pub fn derived(ledger: &Ledger) -> (Decimal, Option<Decimal>) {
    (
        ledger.quantity.normalize(),
        ledger.average_cost().map(|c| c.normalize()),
    )
}

/// The opening buy of a holding made with a quantity and a cost (the simple form).
pub fn opening_buy(fields: &HoldingFields, day: Date) -> TxFields {
    TxFields {
        amounts: TxAmounts {
            kind: TxKind::Buy,
            day,
            quantity: Some(fields.quantity),
            price: fields.cost_basis,
            amount: None,
            ratio: None,
            fees: Decimal::ZERO,
            account: 0,
        },
        notes: None,
    }
}

/// Why a holding's quantity or cost cannot be set by hand.
pub fn quantity_from_transactions(symbol: &Symbol, count: usize) -> DomainError {
    DomainError::Refused(format!(
        "The quantity, cost and purchase day of {symbol} come from its {count} transactions: change those instead."
    ))
}

/// The asset of an imported row not held yet.
pub fn import_holding(row: &ImportTx) -> HoldingFields {
    HoldingFields {
        symbol: row.symbol.clone(),
        kind: row.kind,
        name: row.name.clone(),
        currency: row.currency.clone(),
        quantity: Decimal::ZERO,
        cost_basis: None,
        notes: None,
        opened: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldError;

    fn draft(kind: &str, date: &str) -> TxDraft {
        TxDraft {
            kind: kind.into(),
            date: date.into(),
            ..TxDraft::default()
        }
    }

    fn invalid(r: Result<TxFields, DomainError>) -> Vec<FieldError> {
        match r {
            Err(DomainError::Invalid(errors)) => errors,
            other => panic!("{other:?}"),
        }
    }

    const TODAY: Date = time::macros::date!(2024 - 06 - 30);

    #[test]
    fn each_type_needs_its_own_fields() {
        let mut buy = draft("buy", "2024-03-01");
        buy.quantity = "10".into();
        buy.price = "1,234.5".into();
        buy.fees = "1".into();
        let f = buy.validate("USD", TODAY).unwrap();
        assert_eq!(f.amounts.price, Some("1234.5".parse().unwrap()));
        assert_eq!(f.amounts.fees, Decimal::ONE);

        let errors = invalid(draft("sell", "2024-03-01").validate("USD", TODAY));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["quantity", "price"]);

        let mut div = draft("Dividend", "2024-03-01");
        div.amount = "12.5".into();
        div.quantity = "ignored".into();
        assert!(
            div.validate("USD", TODAY).is_ok(),
            "unused fields are ignored"
        );

        for (ratio, expected) in [
            ("2", "2"),
            ("3:1", "3"),
            ("1:10", "0.1"),
            ("3-for-2", "1.5"),
        ] {
            let mut split = draft("split", "2024-03-01");
            split.ratio = ratio.into();
            let f = split.validate("USD", TODAY).unwrap();
            assert_eq!(f.amounts.ratio, Some(expected.parse().unwrap()), "{ratio}");
        }
    }

    #[test]
    fn bad_input_is_named_field_by_field() {
        let bad = TxDraft {
            kind: "transfer".into(),
            date: "2024-13-01".into(),
            fees: "-1".into(),
            currency: "EUR".into(),
            ..TxDraft::default()
        };
        let errors = invalid(bad.validate("USD", TODAY));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["fees", "type", "date", "currency"]);
        assert!(
            errors[1]
                .message
                .contains("buy, sell, dividend, fee, split")
        );
        assert!(errors[3].message.contains("priced in USD"));

        let future = draft("fee", "2024-07-01");
        let errors = invalid(future.validate("USD", TODAY));
        assert!(errors.iter().any(|e| e.message.contains("in the future")));
        let mut negative = draft("buy", "2024-01-01");
        negative.quantity = "-3".into();
        negative.price = "1".into();
        let errors = invalid(negative.validate("USD", TODAY));
        assert!(errors[0].message.contains("greater than zero"));
        assert!(parse_date("1899-12-31", TODAY).is_err());
        assert!(parse_date("2024-03-01T10:00:00Z", TODAY).is_ok());
    }
}
