//! Ticker symbols and the kinds of asset they name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest accepted symbol, in characters.
pub const SYMBOL_MAX_LEN: usize = 20;

/// Why text is not a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error("Please enter a ticker symbol.")]
    Empty,
    #[error("A symbol has at most {SYMBOL_MAX_LEN} characters.")]
    TooLong,
    #[error(
        "A symbol may contain only letters, digits and . - = ^ _ (for example AAPL, BRK.B, GC=F)."
    )]
    BadCharacters,
}

/// A validated, upper-cased ticker symbol such as `AAPL`, `BRK.B`, `GC=F` or `^GSPC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Symbol(String);

impl Symbol {
    /// Trims, upper-cases and checks a symbol typed by a person or sent to the API.
    pub fn parse(input: &str) -> Result<Self, SymbolError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(SymbolError::Empty);
        }
        if s.chars().count() > SYMBOL_MAX_LEN {
            return Err(SymbolError::TooLong);
        }
        let ok = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '=' | '^' | '_'));
        if !ok || !s.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err(SymbolError::BadCharacters);
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
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        let s = s.trim().to_ascii_lowercase();
        AssetKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(UnknownKind)
    }
}

/// A kind that is none of [`AssetKind::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Kind must be one of stock, etf, commodity, crypto, item.")]
pub struct UnknownKind;

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
    fn kinds_parse_case_insensitively() {
        assert_eq!("ETF".parse::<AssetKind>().unwrap(), AssetKind::Etf);
        assert!("bond".parse::<AssetKind>().is_err());
    }
}
