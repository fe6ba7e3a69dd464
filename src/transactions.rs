//! A transaction as typed into a form, sent to the API or read from a CSV row, and its checks.

use rust_decimal::Decimal;
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use crate::domain::{MAX_AMOUNT, parse_decimal, parse_notes};
use crate::error::FieldError;
use crate::ledger::{TxAmounts, TxKind};
use crate::store::TxFields;

/// The earliest date a transaction may have.
pub const EARLIEST: Date = time::macros::date!(1900 - 01 - 01);

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
}

/// `YYYY-MM-DD` (a time after it, as in `2024-03-01T10:00:00Z`, is ignored), from 1900 to today.
pub fn parse_date(input: &str, today: Date) -> Result<Date, String> {
    let s = input.trim();
    let day = s.get(..10).unwrap_or(s);
    let date = Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| format!("Date {s:?} is not a date in the form 2024-03-01."))?;
    if date > today {
        return Err(format!("Date {date} is in the future."));
    }
    if date < EARLIEST {
        return Err("The date must be in 1900 or later.".into());
    }
    Ok(date)
}

/// A positive amount of at most 8 places.
fn positive(input: &str, what: &str) -> Result<Decimal, String> {
    let d = parse_decimal(input)
        .ok_or_else(|| format!("{what} must be a number, for example 10 or 0.5."))?;
    if d <= Decimal::ZERO {
        return Err(format!("{what} must be greater than zero."));
    }
    bounded(d, what)
}

/// Zero or more, at most 8 places; empty is zero.
fn not_negative(input: &str, what: &str) -> Result<Decimal, String> {
    if input.trim().is_empty() {
        return Ok(Decimal::ZERO);
    }
    let d = parse_decimal(input).ok_or_else(|| format!("{what} must be a number."))?;
    if d < Decimal::ZERO {
        return Err(format!("{what} cannot be negative."));
    }
    bounded(d, what)
}

fn bounded(d: Decimal, what: &str) -> Result<Decimal, String> {
    if d > MAX_AMOUNT {
        return Err(format!("{what} must be at most 1,000,000,000,000."));
    }
    let d = d.normalize();
    if d.scale() > 8 {
        return Err(format!("{what} may have at most 8 decimal places."));
    }
    Ok(d)
}

/// A split ratio: `2`, `0.5`, or new-for-old as `3:1` / `3-for-1` / `1:10`.
fn parse_ratio(input: &str) -> Result<Decimal, String> {
    let s = input.trim().to_ascii_lowercase();
    let pair = s
        .split_once(':')
        .or_else(|| s.split_once("-for-"))
        .or_else(|| s.split_once(" for "));
    let ratio = match pair {
        // Kept to 20 places, so that 1:3 applied to 300 units gives 100, not 99.99999999.
        Some((new, old)) => {
            let new = positive(new, "The split's new units")?;
            let old = positive(old, "The split's old units")?;
            new.checked_div(old).map(|r| r.round_dp(20).normalize())
        }
        None => Some(positive(&s, "Ratio")?),
    };
    match ratio {
        Some(r) if r > Decimal::ZERO && r <= MAX_AMOUNT => Ok(r),
        Some(r) if r > Decimal::ZERO => Err("Ratio must be at most 1,000,000,000,000.".into()),
        _ => Err("Ratio must be greater than zero, for example 2 or 3:1.".into()),
    }
}

impl TxDraft {
    /// Checks every field against the transaction's type; `currency` is the asset's, which the
    /// transaction must be in. Fields a type does not use are ignored.
    pub fn validate(&self, currency: &str, today: Date) -> Result<TxFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |field: &str, r: Result<Decimal, String>| {
            r.map_err(|m| errors.push(FieldError::new(field, m))).ok()
        };
        let kind = match self.kind.trim() {
            "" => Err("Type is required: buy, sell, dividend, fee or split.".to_string()),
            t => t.parse::<TxKind>().map_err(|m| format!("The {m}.")),
        };
        let (mut quantity, mut price, mut amount, mut ratio) = (None, None, None, None);
        if let Ok(kind) = &kind {
            match kind {
                TxKind::Buy | TxKind::Sell => {
                    quantity = check("quantity", positive(&self.quantity, "Quantity"));
                    // A buy without a price has an unknown cost (gains then show "—").
                    if *kind == TxKind::Sell || !self.price.trim().is_empty() {
                        price = check(
                            "price",
                            if self.price.trim().is_empty() {
                                Err("Price per unit is required.".into())
                            } else {
                                not_negative(&self.price, "Price")
                            },
                        );
                    }
                }
                TxKind::Dividend | TxKind::Fee => {
                    amount = check("amount", positive(&self.amount, "Amount"));
                }
                TxKind::Split => ratio = check("ratio", parse_ratio(&self.ratio)),
            }
        }
        let fees = check("fees", not_negative(&self.fees, "Fees"));
        let kind = kind
            .map_err(|m| errors.push(FieldError::new("type", m)))
            .ok();
        let day = parse_date(&self.date, today)
            .map_err(|m| errors.push(FieldError::new("date", m)))
            .ok();
        let given = self.currency.trim();
        if !given.is_empty() && !given.eq_ignore_ascii_case(currency) {
            errors.push(FieldError::new(
                "currency",
                format!("This asset is priced in {currency}: enter the amounts in {currency}, not {given}."),
            ));
        }
        let notes = parse_notes(&self.notes)
            .map_err(|m| errors.push(FieldError::new("notes", m)))
            .ok();
        match (kind, day, fees, notes) {
            (Some(kind), Some(day), Some(fees), Some(notes)) if errors.is_empty() => Ok(TxFields {
                amounts: TxAmounts {
                    kind,
                    day,
                    quantity,
                    price,
                    amount,
                    ratio,
                    fees,
                },
                notes,
            }),
            _ => Err(errors),
        }
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
        }
    }
}

/// Today in UTC, the day transactions may not be after.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(kind: &str, date: &str) -> TxDraft {
        TxDraft {
            kind: kind.into(),
            date: date.into(),
            ..TxDraft::default()
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

        let errors = draft("sell", "2024-03-01")
            .validate("USD", TODAY)
            .unwrap_err();
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
        let errors = bad.validate("USD", TODAY).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["fees", "type", "date", "currency"]);
        assert!(
            errors[1]
                .message
                .contains("buy, sell, dividend, fee, split")
        );
        assert!(errors[3].message.contains("priced in USD"));

        let future = draft("fee", "2024-07-01");
        let errors = future.validate("USD", TODAY).unwrap_err();
        assert!(errors.iter().any(|e| e.message.contains("in the future")));
        let mut negative = draft("buy", "2024-01-01");
        negative.quantity = "-3".into();
        negative.price = "1".into();
        let errors = negative.validate("USD", TODAY).unwrap_err();
        assert!(errors[0].message.contains("greater than zero"));
        assert!(parse_date("1899-12-31", TODAY).is_err());
        assert!(parse_date("2024-03-01T10:00:00Z", TODAY).is_ok());
    }
}
