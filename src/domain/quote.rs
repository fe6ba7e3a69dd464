//! Prices: a quote with whatever detail a service gives, daily closes, history ranges.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::amount::AmountError;
use super::currency::MinorUnit;
use super::{DomainError, Problems, Symbol};

/// No price is older than this (PostgreSQL's DATE cannot hold `Date::MIN`).
pub const EARLIEST_PRICE_DATE: Date = time::macros::date!(1900 - 01 - 01);

/// A price with whatever detail the provider gives; optional fields stay optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Quote {
    #[schema(value_type = String, example = "AAPL")]
    pub symbol: Symbol,
    #[schema(required = true)]
    pub name: Option<String>,
    #[schema(required = true)]
    pub currency: Option<String>,
    #[schema(value_type = String, example = "189.84")]
    pub price: Decimal,
    #[schema(value_type = Option<String>, required = true)]
    pub previous_close: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub change: Option<Decimal>,
    /// Change since the previous close, in percent (1.5 means 1.5 %).
    #[schema(value_type = Option<String>, required = true)]
    pub change_percent: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub market_cap: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub pe_ratio: Option<Decimal>,
    /// Change since the start of the year, in percent.
    #[schema(value_type = Option<String>, required = true)]
    pub ytd_change: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub week52_high: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub week52_low: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub bid: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub ask: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub bid_size: Option<Decimal>,
    #[schema(value_type = Option<String>, required = true)]
    pub ask_size: Option<Decimal>,
    /// When the provider last updated the price.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub as_of: Option<OffsetDateTime>,
    /// The provider that answered, as configured (for example `iex`).
    pub source: String,
    /// True when the price is older than the quote TTL (`QUOTE_TTL_SECS`): shown while a
    /// fresh one is fetched, or because every provider failed.
    #[serde(default)]
    pub stale: bool,
    /// When this server got the price from the provider.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub fetched_at: Option<OffsetDateTime>,
    /// The unit the provider quoted in when it was a minor one (`GBp`: pence); every amount
    /// here is in `currency`, the major unit (GBP).
    #[serde(default)]
    #[schema(required = true, example = "GBp")]
    pub quoted_in: Option<String>,
}

impl Quote {
    /// A quote with only a price; providers fill in what else they know.
    pub fn new(symbol: Symbol, price: Decimal, source: &str) -> Self {
        Quote {
            symbol,
            name: None,
            currency: None,
            price,
            previous_close: None,
            change: None,
            change_percent: None,
            market_cap: None,
            pe_ratio: None,
            ytd_change: None,
            week52_high: None,
            week52_low: None,
            bid: None,
            ask: None,
            bid_size: None,
            ask_size: None,
            as_of: None,
            source: source.to_string(),
            stale: false,
            fetched_at: None,
            quoted_in: None,
        }
    }

    /// The quote in its currency's major unit: a provider's pence (`GBp`), cents (`USX`,
    /// `ZAc`) or agorot (`ILA`) become pounds, dollars, rand or shekels in every amount, and
    /// `quoted_in` keeps the unit the provider used. A quote in a major unit is unchanged.
    pub fn in_major_units(mut self) -> Self {
        let Some(unit) = self.currency.as_deref().and_then(MinorUnit::of) else {
            return self;
        };
        let scale = |d: &mut Option<Decimal>| *d = d.map(|v| unit.to_major(v));
        self.price = unit.to_major(self.price);
        for amount in [
            &mut self.previous_close,
            &mut self.change,
            &mut self.week52_high,
            &mut self.week52_low,
            &mut self.bid,
            &mut self.ask,
        ] {
            scale(amount);
        }
        self.currency = Some(unit.major.to_string());
        self.quoted_in = Some(unit.code.to_string());
        self
    }

    /// The price as the service quoted it, when that was in a minor unit: `(336.569, "GBp")`.
    pub fn as_quoted(&self) -> Option<(Decimal, &str)> {
        let unit = MinorUnit::of(self.quoted_in.as_deref()?)?;
        Some((unit.from_major(self.price), unit.code))
    }

    /// Fills `change` and `change_percent` from the previous close where the provider left them out.
    pub fn with_derived_change(mut self) -> Self {
        if let Some(prev) = self.previous_close {
            self.change = self.change.or_else(|| self.price.checked_sub(prev));
            self.change_percent = self
                .change_percent
                .or_else(|| percent_change(self.price, prev));
        }
        self
    }
}

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// One daily closing price.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PricePoint {
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date, example = "2024-11-01")]
    pub date: Date,
    #[schema(value_type = String, example = "222.91")]
    pub close: Decimal,
}

/// How far back a history reaches.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum HistoryRange {
    #[serde(rename = "1m")]
    Month1,
    #[default]
    #[serde(rename = "6m")]
    Month6,
    #[serde(rename = "1y")]
    Year1,
    #[serde(rename = "5y")]
    Year5,
}

impl HistoryRange {
    pub const ALL: [HistoryRange; 4] = [
        HistoryRange::Month1,
        HistoryRange::Month6,
        HistoryRange::Year1,
        HistoryRange::Year5,
    ];

    pub fn days(self) -> i64 {
        match self {
            HistoryRange::Month1 => 31,
            HistoryRange::Month6 => 183,
            HistoryRange::Year1 => 366,
            HistoryRange::Year5 => 5 * 366,
        }
    }

    /// `1m`, `6m`, `1y`, `5y`.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryRange::Month1 => "1m",
            HistoryRange::Month6 => "6m",
            HistoryRange::Year1 => "1y",
            HistoryRange::Year5 => "5y",
        }
    }

    /// The first day the range covers, counting back from `today`.
    pub fn start(self, today: Date) -> Date {
        today - time::Duration::days(self.days())
    }
}

/// Percent change from `previous` to `current`, rounded to 4 places; `None` on overflow.
pub fn percent_change(current: Decimal, previous: Decimal) -> Option<Decimal> {
    let ratio = current.checked_sub(previous)?.checked_div(previous)?;
    Some(
        ratio
            .checked_mul(Decimal::ONE_HUNDRED)?
            .round_dp(4)
            .normalize(),
    )
}

/// A quote as stored, with the time it was fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredQuote {
    pub quote: Quote,
    pub fetched_at: OffsetDateTime,
}

/// A price an owner enters for an item: a day from 1900 to `today` (`YYYY-MM-DD`), and an
/// amount of zero or more (`price`, read by the caller from text or JSON).
pub fn manual_price(
    date: &str,
    price: Result<Decimal, AmountError>,
    today: Date,
) -> Result<PricePoint, DomainError> {
    let mut p = Problems::default();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = match Date::parse(date.trim(), format) {
        Ok(d) if d < EARLIEST_PRICE_DATE => Err("The date must be in 1900 or later."),
        Ok(d) => Ok(d),
        Err(_) => Err("Write the date as YYYY-MM-DD."),
    };
    // A day after today is sent well but not yet (409 when nothing else is wrong).
    let date = p.check("date", date).and_then(|d| {
        p.check_state(
            "date",
            if d > today {
                Err("The date cannot be in the future.")
            } else {
                Ok(d)
            },
        )
    });
    let close = p.check(
        "price",
        price
            .and_then(super::amount::not_negative)
            .map_err(|e| e.describe("Price", "150.25")),
    );
    p.finish(
        date.zip(close)
            .map(|(date, close)| PricePoint { date, close }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn a_quote_in_pence_is_kept_in_pounds_with_its_unit_noted() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let pence = Quote {
            currency: Some("GBp".into()),
            previous_close: Some(d("525.1")),
            week52_high: Some(d("600")),
            week52_low: Some(d("410.5")),
            bid: Some(d("530.5")),
            ask: Some(d("530.7")),
            bid_size: Some(d("1000")),
            market_cap: Some(d("14000000000")),
            ..Quote::new(Symbol::parse("VOD.L").unwrap(), d("530.59"), "yahoo")
        }
        .with_derived_change();
        let pounds = pence.clone().in_major_units();
        assert_eq!(pounds.price, d("5.3059"));
        assert_eq!(pounds.previous_close, Some(d("5.251")));
        assert_eq!(pounds.change, Some(d("0.0549")));
        assert_eq!(
            pounds.change_percent, pence.change_percent,
            "a ratio has no unit"
        );
        assert_eq!(
            (pounds.week52_high, pounds.week52_low),
            (Some(d("6")), Some(d("4.105")))
        );
        assert_eq!(
            (pounds.bid, pounds.ask),
            (Some(d("5.305")), Some(d("5.307")))
        );
        assert_eq!(pounds.bid_size, Some(d("1000")), "a size is a count");
        assert_eq!(pounds.currency.as_deref(), Some("GBP"));
        assert_eq!(pounds.quoted_in.as_deref(), Some("GBp"));
        assert_eq!(pounds.clone().in_major_units(), pounds, "only once");

        let dollars = Quote {
            currency: Some("USD".into()),
            ..Quote::new(Symbol::parse("AAPL").unwrap(), d("189.84"), "yahoo")
        };
        assert_eq!(dollars.clone().in_major_units(), dollars);
    }

    #[test]
    fn percent_change_never_overflows() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(percent_change(d("110"), d("100")), Some(d("10")));
        assert_eq!(percent_change(d("1"), Decimal::ZERO), None);
        assert_eq!(
            percent_change(Decimal::MAX, d("0.0000000000000000000000000001")),
            None
        );
    }
}
