//! Number and time formatting for pages.

use rust_decimal::{Decimal, RoundingStrategy};
use time::OffsetDateTime;

use crate::domain::fx::FxGap;
use time::macros::format_description;

/// Groups the integer part in thousands: `1234567.5` -> `1,234,567.5`.
fn group(text: &str) -> String {
    let (sign, digits) = text
        .strip_prefix('-')
        .map_or(("", text), |rest| ("-", rest));
    let (int, frac) = digits
        .split_once('.')
        .map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(text.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// Rounds to exactly `dp` places and groups thousands.
pub fn fixed(d: Decimal, dp: u32) -> String {
    let mut r = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(dp);
    group(&r.to_string())
}

/// A price: two places, or up to six significant places below 1 (crypto, pennies).
pub fn price(d: Decimal) -> String {
    if d.abs() >= Decimal::ONE || d.is_zero() {
        fixed(d, 2)
    } else {
        group(&d.round_dp(6).normalize().to_string())
    }
}

/// A quantity exactly as stored, with thousands grouped.
pub fn quantity(d: Decimal) -> String {
    group(&d.normalize().to_string())
}

/// A signed percent: `+1.23%`.
pub fn percent(d: Decimal) -> String {
    let sign = if d > Decimal::ZERO { "+" } else { "" };
    format!("{sign}{}%", fixed(d, 2))
}

/// A share of a whole: `12.34%`, no sign.
pub fn share(d: Decimal) -> String {
    format!("{}%", fixed(d, 2))
}

/// A signed amount: `+1.23`.
pub fn signed(d: Decimal) -> String {
    let sign = if d > Decimal::ZERO { "+" } else { "" };
    format!("{sign}{}", price(d))
}

/// A large amount in short form: `2.95T`, `310.4B`, `12.1M`.
pub fn compact(d: Decimal) -> String {
    let units = [(12, "T"), (9, "B"), (6, "M"), (3, "K")];
    for (exp, suffix) in units {
        let scale = Decimal::from_i128_with_scale(10_i128.pow(exp), 0);
        if d.abs() >= scale {
            return format!("{}{suffix}", fixed(d / scale, 2));
        }
    }
    fixed(d, 0)
}

/// A CSS class for a signed change.
pub fn trend_class(d: Option<Decimal>) -> &'static str {
    match d {
        Some(d) if d > Decimal::ZERO => "text-success",
        Some(d) if d < Decimal::ZERO => "text-danger",
        _ => "",
    }
}

/// `2024-01-22 21:00 UTC`.
pub fn timestamp(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_else(|_| utc.to_string())
}

/// How long ago: `just now`, `5 min ago`, `3 h ago`, `2 days ago`.
pub fn age(t: OffsetDateTime) -> String {
    let secs = (OffsetDateTime::now_utc() - t).whole_seconds().max(0);
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// What a cell shows for a value that is not known.
pub const NONE: &str = "—";

/// The value, or [`NONE`].
pub fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| NONE.to_string())
}

/// A signed amount of money: `+1,234.50`.
pub fn money_signed(d: Decimal) -> String {
    let sign = if d > Decimal::ZERO { "+" } else { "" };
    format!("{sign}{}", fixed(d, 2))
}

/// "Source: yahoo · as of 2024-01-22 21:00 UTC (3 min ago)", and why it is old when stale.
pub fn freshness(q: &crate::domain::Quote) -> String {
    let mut text = format!("Source: {}", q.source);
    if let Some(t) = q.as_of {
        text.push_str(&format!(" · as of {} ({})", timestamp(t), age(t)));
    }
    if q.stale {
        text.push_str(" · stale: the last known price");
        if let Some(t) = q.fetched_at {
            text.push_str(&format!(", fetched {}", age(t)));
        }
        text.push_str("; a fresh one is being fetched, or every price service is failing");
    }
    text
}

/// How many missing days a currency's note names before it counts the rest.
const GAPS_NAMED: usize = 3;

/// What the page says about past exchange rates it lacked: per currency, the days whose rate
/// came from an earlier day (or today's), and the currencies without any past rate yet.
pub fn fx_notes(base: &str, today_only: &[String], gaps: &[FxGap]) -> Vec<String> {
    let mut notes = Vec::new();
    for currency in today_only {
        notes.push(format!(
            "{currency}: its past rates to {base} are not known yet, so its costs, realized \
             gains, dividends and interest use today's rate."
        ));
    }
    let mut by_currency: std::collections::BTreeMap<&str, Vec<&FxGap>> = Default::default();
    for gap in gaps {
        by_currency.entry(&gap.currency).or_default().push(gap);
    }
    for (currency, gaps) in by_currency {
        let named = gaps
            .iter()
            .take(GAPS_NAMED)
            .map(|g| match g.used {
                Some(used) => format!("{} (the rate of {used} used)", g.day),
                None => format!("{} (before its first known rate: today's used)", g.day),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let more = match gaps.len().saturating_sub(GAPS_NAMED) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        notes.push(format!("{currency}: no rate to {base} for {named}{more}."));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn formats_read_naturally() {
        assert_eq!(fixed(d("1234567.555"), 2), "1,234,567.56");
        assert_eq!(fixed(d("-1234.5"), 2), "-1,234.50");
        assert_eq!(fixed(d("999"), 2), "999.00");
        assert_eq!(price(d("0.000123456")), "0.000123");
        assert_eq!(price(d("189.8")), "189.80");
        assert_eq!(quantity(d("12000.50")), "12,000.5");
        assert_eq!(percent(d("1.234")), "+1.23%");
        assert_eq!(percent(d("-0.5")), "-0.50%");
        assert_eq!(compact(d("2950000000000")), "2.95T");
        assert_eq!(compact(d("310400000000")), "310.40B");
        assert_eq!(compact(d("950")), "950");
    }
}
