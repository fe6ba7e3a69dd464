//! Quantities, amounts of money and notes as people type them: exact decimals, bounded.

use std::str::FromStr;

use rust_decimal::Decimal;

/// Longest accepted holding or transaction note, in characters.
pub const NOTES_MAX_LEN: usize = 1000;
/// Most decimal places a quantity or an amount of money may have.
pub const MAX_SCALE: u32 = 8;
/// Upper bound for quantities and per-unit costs (one trillion).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// Parses a decimal amount written as `12`, `12.5`, `1,234.5` or `1.5e3`.
///
/// A comma is only read as a thousands separator in a correctly grouped number, so the
/// European `1,5` is refused rather than read as 15.
pub fn parse_decimal(input: &str) -> Option<Decimal> {
    let s = input.trim();
    if s.is_empty() {
        return None;
    }
    let plain = if s.contains(',') {
        ungroup(s)?
    } else {
        s.to_string()
    };
    Decimal::from_str(&plain)
        .or_else(|_| Decimal::from_scientific(&plain))
        .ok()
}

/// `-1,234,567.5` -> `-1234567.5`; `None` unless every group after the first has three digits.
fn ungroup(s: &str) -> Option<String> {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = unsigned
        .split_once('.')
        .map_or((unsigned, None), |(i, f)| (i, Some(f)));
    let mut groups = int.split(',');
    let first = groups.next()?;
    let first_ok = (1..=3).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_digit());
    let rest_ok = groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
    if !first_ok || !rest_ok || frac.is_some_and(|f| f.contains(',')) {
        return None;
    }
    Some(s.replace(',', ""))
}

/// Why a number is not an acceptable quantity or amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountError {
    NotANumber,
    /// Zero or less where only more than zero makes sense (a quantity).
    NotPositive,
    /// Less than zero (a price, a fee).
    Negative,
    /// More than [`MAX_AMOUNT`].
    TooLarge,
    /// More than [`MAX_SCALE`] decimal places.
    TooPrecise,
}

impl AmountError {
    /// The problem in words, naming the amount `what` ("Quantity") and, for text that is no
    /// number, giving an `example` of one ("10 or 0.5"; empty for none).
    pub fn describe(self, what: &str, example: &str) -> String {
        match self {
            AmountError::NotANumber if example.is_empty() => format!("{what} must be a number."),
            AmountError::NotANumber => format!("{what} must be a number, for example {example}."),
            AmountError::NotPositive => format!("{what} must be greater than zero."),
            AmountError::Negative => format!("{what} cannot be negative."),
            AmountError::TooLarge => format!("{what} must be at most 1,000,000,000,000."),
            AmountError::TooPrecise => {
                format!("{what} may have at most {MAX_SCALE} decimal places.")
            }
        }
    }
}

fn bounded(d: Decimal) -> Result<Decimal, AmountError> {
    if d > MAX_AMOUNT {
        return Err(AmountError::TooLarge);
    }
    let d = d.normalize();
    if d.scale() > MAX_SCALE {
        return Err(AmountError::TooPrecise);
    }
    Ok(d)
}

/// More than zero, at most [`MAX_AMOUNT`], at most [`MAX_SCALE`] places: a quantity, a
/// dividend, a split ratio.
pub fn positive(d: Decimal) -> Result<Decimal, AmountError> {
    if d <= Decimal::ZERO {
        return Err(AmountError::NotPositive);
    }
    bounded(d)
}

/// Zero or more, at most [`MAX_AMOUNT`], at most [`MAX_SCALE`] places: a price, a fee.
pub fn not_negative(d: Decimal) -> Result<Decimal, AmountError> {
    if d < Decimal::ZERO {
        return Err(AmountError::Negative);
    }
    bounded(d)
}

/// [`positive`], from text as [`parse_decimal`] reads it.
pub fn parse_positive(input: &str) -> Result<Decimal, AmountError> {
    positive(parse_decimal(input).ok_or(AmountError::NotANumber)?)
}

/// [`not_negative`], from text as [`parse_decimal`] reads it.
pub fn parse_not_negative(input: &str) -> Result<Decimal, AmountError> {
    not_negative(parse_decimal(input).ok_or(AmountError::NotANumber)?)
}

/// A holding's quantity ([`parse_positive`]), the problem said as the holding form says it.
pub fn parse_quantity(input: &str) -> Result<Decimal, String> {
    parse_positive(input).map_err(|e| e.describe("Quantity", "10 or 0.5"))
}

/// A cost per unit ([`parse_not_negative`]), the problem said as the holding form says it.
pub fn parse_cost(input: &str) -> Result<Decimal, String> {
    parse_not_negative(input).map_err(|e| e.describe("Cost per unit", "150.25"))
}

/// Why a note is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotesError {
    #[error("Notes have at most {NOTES_MAX_LEN} characters.")]
    TooLong,
    #[error("Notes may not contain control characters.")]
    ControlCharacters,
}

/// Trims a note; an empty note is no note.
pub fn parse_notes(input: &str) -> Result<Option<String>, NotesError> {
    // As sent, before the trim: what the API documents (a trailing vertical tab is refused,
    // not trimmed away).
    if input.chars().count() > NOTES_MAX_LEN {
        return Err(NotesError::TooLong);
    }
    if input
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(NotesError::ControlCharacters);
    }
    let s = input.trim();
    Ok((!s.is_empty()).then(|| s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_positive_bounded_exact() {
        assert_eq!(parse_quantity("10").unwrap().to_string(), "10");
        assert_eq!(parse_quantity("0.10").unwrap().to_string(), "0.1");
        assert_eq!(parse_quantity("1,234.5").unwrap().to_string(), "1234.5");
        assert_eq!(parse_quantity("1e3").unwrap().to_string(), "1000");
        assert_eq!(
            parse_quantity("0.00000001").unwrap().to_string(),
            "0.00000001"
        );
        assert_eq!(
            parse_quantity("1000000000000").unwrap().to_string(),
            "1000000000000"
        );
        for bad in [
            "0",
            "-1",
            "",
            "abc",
            "1e40",
            "1000000000000.1",
            "0.000000001",
            "NaN",
        ] {
            assert!(parse_quantity(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn costs_may_be_zero_but_not_negative() {
        assert_eq!(parse_cost("0").unwrap(), Decimal::ZERO);
        assert!(parse_cost("-0.01").is_err());
    }

    #[test]
    fn max_amount_is_one_trillion() {
        assert_eq!(MAX_AMOUNT.to_string(), "1000000000000");
    }
}
