//! Domain types parsed from user input before any handler logic or SQL runs.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Longest accepted symbol, in characters.
pub const SYMBOL_MAX_LEN: usize = 20;
/// Longest accepted holding note, in characters.
pub const NOTES_MAX_LEN: usize = 1000;
/// Most decimal places a quantity or an amount of money may have.
pub const MAX_SCALE: u32 = 8;
/// Upper bound for quantities and per-unit costs (one trillion).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// A validated, upper-cased ticker symbol such as `AAPL`, `BRK.B`, `GC=F` or `^GSPC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Symbol(String);

impl Symbol {
    /// Trims, upper-cases and checks a symbol typed by a person or sent to the API.
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Please enter a ticker symbol.".into());
        }
        if s.chars().count() > SYMBOL_MAX_LEN {
            return Err(format!("A symbol has at most {SYMBOL_MAX_LEN} characters."));
        }
        let ok = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '=' | '^' | '_'));
        if !ok || !s.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err(
                "A symbol may contain only letters, digits and . - = ^ _ (for example AAPL, BRK.B, GC=F)."
                    .into(),
            );
        }
        Ok(Symbol(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Symbol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Symbol::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of thing an asset is; it decides where its price comes from.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    Stock,
    Etf,
    Commodity,
    Crypto,
    Item,
}

impl AssetKind {
    pub const ALL: [AssetKind; 5] = [
        AssetKind::Stock,
        AssetKind::Etf,
        AssetKind::Commodity,
        AssetKind::Crypto,
        AssetKind::Item,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Stock => "stock",
            AssetKind::Etf => "etf",
            AssetKind::Commodity => "commodity",
            AssetKind::Crypto => "crypto",
            AssetKind::Item => "item",
        }
    }

    /// Human label for pages.
    pub fn label(self) -> &'static str {
        match self {
            AssetKind::Stock => "Stock",
            AssetKind::Etf => "ETF",
            AssetKind::Commodity => "Commodity",
            AssetKind::Crypto => "Crypto",
            AssetKind::Item => "Item",
        }
    }

    /// Items are priced by their owner, never by a market-data service.
    pub fn is_market_priced(self) -> bool {
        self != AssetKind::Item
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AssetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        AssetKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| "Kind must be one of stock, etf, commodity, crypto, item.".to_string())
    }
}

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

fn check_amount(d: Decimal, what: &str) -> Result<Decimal, String> {
    if d > MAX_AMOUNT {
        return Err(format!("{what} must be at most 1,000,000,000,000."));
    }
    let d = d.normalize();
    if d.scale() > MAX_SCALE {
        return Err(format!(
            "{what} may have at most {MAX_SCALE} decimal places."
        ));
    }
    Ok(d)
}

/// A holding's quantity: greater than zero, at most [`MAX_AMOUNT`], at most 8 decimal places.
pub fn parse_quantity(input: &str) -> Result<Decimal, String> {
    let d = parse_decimal(input).ok_or("Quantity must be a number, for example 10 or 0.5.")?;
    if d <= Decimal::ZERO {
        return Err("Quantity must be greater than zero.".into());
    }
    check_amount(d, "Quantity")
}

/// A cost per unit: zero or more, at most [`MAX_AMOUNT`], at most 8 decimal places.
pub fn parse_cost(input: &str) -> Result<Decimal, String> {
    let d = parse_decimal(input).ok_or("Cost per unit must be a number, for example 150.25.")?;
    if d < Decimal::ZERO {
        return Err("Cost per unit cannot be negative.".into());
    }
    check_amount(d, "Cost per unit")
}

/// Trims a note; an empty note is no note.
pub fn parse_notes(input: &str) -> Result<Option<String>, String> {
    let s = input.trim();
    if s.chars().count() > NOTES_MAX_LEN {
        return Err(format!("Notes have at most {NOTES_MAX_LEN} characters."));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("Notes may not contain control characters.".into());
    }
    Ok((!s.is_empty()).then(|| s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_normalised_or_rejected() {
        let cases = [
            ("aapl", Some("AAPL")),
            ("  brk.b ", Some("BRK.B")),
            ("gc=f", Some("GC=F")),
            ("^gspc", Some("^GSPC")),
            ("btc-usd", Some("BTC-USD")),
            ("", None),
            ("   ", None),
            ("AA PL", None),
            ("AAPL'; DROP TABLE holdings;--", None),
            ("<script>", None),
            ("ÄPFEL", None),
            ("...", None),
            ("ABCDEFGHIJKLMNOPQRSTU", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                Symbol::parse(input).ok().map(|s| s.0),
                want.map(String::from),
                "{input:?}"
            );
        }
    }

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

    #[test]
    fn kinds_parse_case_insensitively() {
        assert_eq!("ETF".parse::<AssetKind>().unwrap(), AssetKind::Etf);
        assert!("bond".parse::<AssetKind>().is_err());
    }
}
