//! Currency codes as price services send them, and the minor units some of them quote in.
//!
//! London prices come in pence (`GBp`, also written `GBX`), Johannesburg's in South African
//! cents (`ZAc`), Tel Aviv's in agorot (`ILA`) and US grain futures in cents (`USX`). Every
//! sum, conversion and stored price uses the major unit (GBP, ZAR, ILS, USD); the minor unit is
//! kept only to say how the service quoted it.

use rust_decimal::Decimal;

/// The currencies of ISO 4217 in use (not the funds, metals or test codes): what a base
/// currency may be.
pub const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// A base currency as typed: three letters (any case) naming a currency of ISO 4217.
pub fn iso_currency(input: &str) -> Result<String, String> {
    let code = input.trim().to_ascii_uppercase();
    if ISO_4217.binary_search(&code.as_str()).is_ok() {
        Ok(code)
    } else {
        Err(format!(
            "{:?} is not a currency code of ISO 4217: use three letters such as USD, EUR or GBP.",
            input.trim()
        ))
    }
}

/// A unit worth a hundredth of a major currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinorUnit {
    /// How it is written here (`GBp`).
    pub code: &'static str,
    /// The currency it is a hundredth of (`GBP`).
    pub major: &'static str,
}

/// The minor units known, with every spelling a service uses for each: the mixed-case one
/// (`GBp`) exactly, the upper-case ones (`GBX`) in any case. `gbp` or `GBP` is the pound.
const MINOR_UNITS: &[(&[&str], &[&str], MinorUnit)] = &[
    (
        &["GBp"],
        &["GBX"],
        MinorUnit {
            code: "GBp",
            major: "GBP",
        },
    ),
    (
        &["ZAc"],
        &["ZAC"],
        MinorUnit {
            code: "ZAc",
            major: "ZAR",
        },
    ),
    (
        &[],
        &["ILA"],
        MinorUnit {
            code: "ILA",
            major: "ILS",
        },
    ),
    (
        &["USc"],
        &["USX"],
        MinorUnit {
            code: "USX",
            major: "USD",
        },
    ),
];

impl MinorUnit {
    /// The minor unit a service's currency code names, if it names one.
    pub fn of(code: &str) -> Option<MinorUnit> {
        let code = code.trim();
        let upper = code.to_ascii_uppercase();
        MINOR_UNITS
            .iter()
            .find(|(exact, any_case, _)| {
                exact.contains(&code) || any_case.contains(&upper.as_str())
            })
            .map(|(_, _, unit)| *unit)
    }

    /// An amount in this unit, in the major currency.
    pub fn to_major(self, amount: Decimal) -> Decimal {
        (amount / Decimal::ONE_HUNDRED).normalize()
    }

    /// An amount in the major currency, in this unit (as the service quoted it).
    pub fn from_major(self, amount: Decimal) -> Decimal {
        (amount * Decimal::ONE_HUNDRED).normalize()
    }
}

/// A service's currency code as kept: a minor unit in its own spelling (`GBp`), anything else
/// of three letters upper-cased (`usd` is `USD`); `None` for anything that is no code.
pub fn currency_code(text: &str) -> Option<String> {
    let text = text.trim();
    if let Some(unit) = MinorUnit::of(text) {
        return Some(unit.code.to_string());
    }
    (text.len() == 3 && text.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| text.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_currencies_are_iso_4217_codes_in_any_case() {
        assert!(
            ISO_4217.windows(2).all(|w| w[0] < w[1]),
            "sorted, for the search"
        );
        assert_eq!(iso_currency(" eur ").as_deref(), Ok("EUR"));
        assert_eq!(iso_currency("JPY").as_deref(), Ok("JPY"));
        for bad in ["XYZ", "EURO", "US", "", "XAU", "BTC"] {
            assert!(iso_currency(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pence_cents_and_agorot_are_minor_units_of_their_currency() {
        let major = |c: &str| MinorUnit::of(c).map(|u| u.major);
        assert_eq!(major("GBp"), Some("GBP"));
        assert_eq!(major("GBX"), Some("GBP"));
        assert_eq!(major("gbx"), Some("GBP"));
        assert_eq!(major("ZAc"), Some("ZAR"));
        assert_eq!(major("ZAC"), Some("ZAR"));
        assert_eq!(major("ILA"), Some("ILS"));
        assert_eq!(major("USX"), Some("USD"));
        assert_eq!(major("USc"), Some("USD"));
        for major_currency in ["GBP", "gbp", "USD", "usd", "ZAR", "ILS", "EUR", ""] {
            assert_eq!(MinorUnit::of(major_currency), None, "{major_currency}");
        }
    }

    #[test]
    fn an_amount_in_pence_is_a_hundredth_in_pounds_exactly() {
        let pence = MinorUnit::of("GBp").unwrap();
        assert_eq!(
            pence.to_major("530.59".parse().unwrap()).to_string(),
            "5.3059"
        );
        assert_eq!(pence.to_major("100".parse().unwrap()).to_string(), "1");
        assert_eq!(
            pence.to_major("0.0001".parse().unwrap()).to_string(),
            "0.000001"
        );
    }

    #[test]
    fn codes_are_kept_in_one_spelling() {
        assert_eq!(currency_code("usd").as_deref(), Some("USD"));
        assert_eq!(currency_code("GBp").as_deref(), Some("GBp"));
        assert_eq!(currency_code("GBX").as_deref(), Some("GBp"));
        assert_eq!(currency_code("gbp").as_deref(), Some("GBP"));
        assert_eq!(currency_code("USc").as_deref(), Some("USX"));
        assert_eq!(currency_code("US$"), None);
        assert_eq!(currency_code("EURO"), None);
    }
}
