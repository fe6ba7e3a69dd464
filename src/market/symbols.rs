//! Friendly names for commodities and coins, and each provider's own code for them, so a person
//! can add "gold" or "BTC" without knowing `GC=F` or `bitcoin`.

use crate::domain::{AssetKind, Symbol};

/// A commodity and its code at each provider that prices it.
#[derive(Debug, PartialEq, Eq)]
pub struct Commodity {
    /// What people type (upper-cased); the first one is the canonical symbol.
    pub names: &'static [&'static str],
    pub label: &'static str,
    /// Yahoo's front-month future.
    pub yahoo: &'static str,
    /// Twelve Data's spot pair, where it has one.
    pub twelvedata: Option<&'static str>,
    /// Alpha Vantage's commodity function, where it has one.
    pub alphavantage: Option<&'static str>,
    /// Stooq's continuous future.
    pub stooq: Option<&'static str>,
}

macro_rules! commodity {
    ($names:expr, $label:expr, $yahoo:expr, $td:expr, $av:expr, $stooq:expr) => {
        Commodity {
            names: $names,
            label: $label,
            yahoo: $yahoo,
            twelvedata: $td,
            alphavantage: $av,
            stooq: $stooq,
        }
    };
}

/// Every commodity known by name.
pub const COMMODITIES: &[Commodity] = &[
    commodity!(
        &["GOLD", "XAU"],
        "Gold",
        "GC=F",
        Some("XAU/USD"),
        None,
        Some("gc.f")
    ),
    commodity!(
        &["SILVER", "XAG"],
        "Silver",
        "SI=F",
        Some("XAG/USD"),
        None,
        Some("si.f")
    ),
    commodity!(
        &["PLATINUM", "XPT"],
        "Platinum",
        "PL=F",
        Some("XPT/USD"),
        None,
        Some("pl.f")
    ),
    commodity!(
        &["PALLADIUM", "XPD"],
        "Palladium",
        "PA=F",
        Some("XPD/USD"),
        None,
        Some("pa.f")
    ),
    commodity!(
        &["COPPER"],
        "Copper",
        "HG=F",
        None,
        Some("COPPER"),
        Some("hg.f")
    ),
    commodity!(
        &["ALUMINUM", "ALUMINIUM"],
        "Aluminium",
        "ALI=F",
        None,
        Some("ALUMINUM"),
        None
    ),
    commodity!(
        &["WTI", "CRUDE-OIL", "CRUDE", "OIL"],
        "Crude oil (WTI)",
        "CL=F",
        Some("WTI/USD"),
        Some("WTI"),
        Some("cl.f")
    ),
    commodity!(
        &["BRENT", "BRENT-OIL"],
        "Crude oil (Brent)",
        "BZ=F",
        Some("XBR/USD"),
        Some("BRENT"),
        Some("cb.f")
    ),
    commodity!(
        &["NATURAL-GAS", "NATGAS", "GAS"],
        "Natural gas",
        "NG=F",
        Some("NG/USD"),
        Some("NATURAL_GAS"),
        Some("ng.f")
    ),
    commodity!(
        &["WHEAT"],
        "Wheat",
        "ZW=F",
        None,
        Some("WHEAT"),
        Some("zw.f")
    ),
    commodity!(&["CORN"], "Corn", "ZC=F", None, Some("CORN"), Some("zc.f")),
    commodity!(
        &["COFFEE"],
        "Coffee",
        "KC=F",
        None,
        Some("COFFEE"),
        Some("kc.f")
    ),
    commodity!(
        &["SUGAR"],
        "Sugar",
        "SB=F",
        None,
        Some("SUGAR"),
        Some("sb.f")
    ),
    commodity!(
        &["COTTON"],
        "Cotton",
        "CT=F",
        None,
        Some("COTTON"),
        Some("ct.f")
    ),
];

/// The commodity a symbol names: a friendly name (`GOLD`, `CRUDE-OIL`) or Yahoo's code (`GC=F`).
pub fn commodity(symbol: &Symbol) -> Option<&'static Commodity> {
    let s = symbol.as_str();
    COMMODITIES
        .iter()
        .find(|c| c.names.contains(&s) || c.yahoo == s)
}

/// A coin and its CoinGecko id.
#[derive(Debug, PartialEq, Eq)]
pub struct Coin {
    pub ticker: &'static str,
    /// The coin's name, upper-cased, also accepted as a symbol.
    pub name: &'static str,
    pub coingecko: &'static str,
}

macro_rules! coin {
    ($ticker:expr, $name:expr, $id:expr) => {
        Coin {
            ticker: $ticker,
            name: $name,
            coingecko: $id,
        }
    };
}

/// Coins known by ticker; others still work at providers that take any ticker (Yahoo).
pub const COINS: &[Coin] = &[
    coin!("BTC", "BITCOIN", "bitcoin"),
    coin!("ETH", "ETHEREUM", "ethereum"),
    coin!("SOL", "SOLANA", "solana"),
    coin!("XRP", "RIPPLE", "ripple"),
    coin!("BNB", "BINANCECOIN", "binancecoin"),
    coin!("ADA", "CARDANO", "cardano"),
    coin!("DOGE", "DOGECOIN", "dogecoin"),
    coin!("TRX", "TRON", "tron"),
    coin!("DOT", "POLKADOT", "polkadot"),
    coin!("LTC", "LITECOIN", "litecoin"),
    coin!("BCH", "BITCOIN-CASH", "bitcoin-cash"),
    coin!("LINK", "CHAINLINK", "chainlink"),
    coin!("XLM", "STELLAR", "stellar"),
    coin!("AVAX", "AVALANCHE", "avalanche-2"),
    coin!("USDT", "TETHER", "tether"),
    coin!("USDC", "USD-COIN", "usd-coin"),
];

/// The coin a symbol names, by ticker (`BTC`), name (`BITCOIN`) or a `-USD` pair (`BTC-USD`).
pub fn coin(symbol: &Symbol) -> Option<&'static Coin> {
    let s = symbol.as_str();
    let s = s.strip_suffix("-USD").unwrap_or(s);
    COINS.iter().find(|c| c.ticker == s || c.name == s)
}

/// The ticker a crypto symbol stands for: `BTC` for `BTC`, `BITCOIN` or `BTC-USD`.
pub fn crypto_ticker(symbol: &Symbol) -> String {
    match coin(symbol) {
        Some(c) => c.ticker.to_string(),
        None => symbol
            .as_str()
            .strip_suffix("-USD")
            .unwrap_or(symbol.as_str())
            .to_string(),
    }
}

/// Yahoo's code: stocks and ETFs as typed, commodities as futures, coins as `-USD` pairs.
pub fn yahoo_code(symbol: &Symbol, kind: AssetKind) -> Option<String> {
    match kind {
        AssetKind::Stock | AssetKind::Etf => Some(symbol.to_string()),
        AssetKind::Commodity => commodity(symbol).map(|c| c.yahoo.to_string()),
        AssetKind::Crypto => Some(format!("{}-USD", crypto_ticker(symbol))),
        AssetKind::Item => None,
    }
}

/// A readable name for a commodity or coin, for assets added by friendly name.
pub fn label(symbol: &Symbol, kind: AssetKind) -> Option<&'static str> {
    match kind {
        AssetKind::Commodity => commodity(symbol).map(|c| c.label),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    #[test]
    fn friendly_names_map_to_each_providers_code() {
        assert_eq!(
            yahoo_code(&sym("gold"), AssetKind::Commodity).as_deref(),
            Some("GC=F")
        );
        assert_eq!(
            yahoo_code(&sym("GC=F"), AssetKind::Commodity).as_deref(),
            Some("GC=F")
        );
        assert_eq!(
            yahoo_code(&sym("crude-oil"), AssetKind::Commodity).as_deref(),
            Some("CL=F")
        );
        assert_eq!(
            commodity(&sym("natgas")).unwrap().alphavantage,
            Some("NATURAL_GAS")
        );
        assert_eq!(
            commodity(&sym("silver")).unwrap().twelvedata,
            Some("XAG/USD")
        );
        assert_eq!(yahoo_code(&sym("unobtainium"), AssetKind::Commodity), None);
        assert_eq!(
            yahoo_code(&sym("btc"), AssetKind::Crypto).as_deref(),
            Some("BTC-USD")
        );
        assert_eq!(
            yahoo_code(&sym("bitcoin"), AssetKind::Crypto).as_deref(),
            Some("BTC-USD")
        );
        assert_eq!(
            yahoo_code(&sym("PEPE"), AssetKind::Crypto).as_deref(),
            Some("PEPE-USD")
        );
        assert_eq!(coin(&sym("eth-usd")).unwrap().coingecko, "ethereum");
        assert_eq!(
            yahoo_code(&sym("AAPL"), AssetKind::Stock).as_deref(),
            Some("AAPL")
        );
        assert_eq!(yahoo_code(&sym("WATCH"), AssetKind::Item), None);
    }

    #[test]
    fn every_name_is_a_valid_symbol_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMODITIES {
            for n in c.names {
                assert_eq!(Symbol::parse(n).unwrap().as_str(), *n);
                assert!(seen.insert(*n), "{n} twice");
            }
        }
        for c in COINS {
            assert!(seen.insert(c.ticker) && seen.insert(c.name));
        }
    }
}
