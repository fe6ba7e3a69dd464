//! The money-weighted return (XIRR): the yearly rate at which the money put in, when it was
//! put in, grows to what came out and what is held now.
//!
//! A flow is money between the investor and the portfolio, from the investor's side: put in
//! (negative) or taken out (positive); what is held today counts as taken out today. Which
//! transactions are flows depends on what is measured:
//!
//! - an account that tracks its cash (see [`super::cash`]): its deposits and withdrawals, and
//!   its transfers when the account is measured alone (between two accounts of a portfolio
//!   measured whole, a transfer moves nothing in or out); its trades only move its cash;
//! - an account that does not: its trades, paid from outside it (a buy puts
//!   `quantity × price + fees` in, a sell takes `quantity × price − fees` out, a dividend
//!   takes its amount less fees out, a holding's fee puts its amount in);
//! - a holding measured alone: its trades, as in an account that does not track cash.
//!
//! Amounts convert to the base currency at one rate per currency (today's).

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use serde::{Deserialize, Serialize};
use time::{Date, Month};

use super::cash::{CashKind, CashTx, trade_effect};
use super::ledger::{TxAmounts, TxKind};

/// Money between the investor and what is measured: positive when it comes out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flow {
    pub day: Date,
    pub amount: Decimal,
}

/// Why there is no rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoRate {
    #[error("there is nothing to measure yet: it needs money put in and a value or money out")]
    TooFewFlows,
    #[error("money only went one way (in, or out), so no rate makes the flows balance")]
    NoSignChange,
    #[error("no rate between −100 % and +1,000,000 % a year balances the flows")]
    NoConvergence,
    #[error("it all happened today: a yearly rate needs time to pass")]
    NoTime,
    #[error("some of it has no price or no exchange rate to your base currency yet")]
    Incomplete,
    #[error(
        "on some day it was worth nothing or less (more owed than held), and a return cannot be carried across that"
    )]
    WipedOut,
}

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every account: transfers between them move nothing in or out.
    Portfolio,
    /// One account: its transfers are flows.
    Account(i64),
}

impl Scope {
    /// Whether `account` is measured.
    fn holds(self, account: i64) -> bool {
        match self {
            Scope::Portfolio => true,
            Scope::Account(a) => a == account,
        }
    }
}

/// Amounts converted into the base currency as they come, and the currencies without a rate.
struct Converted<F> {
    rate: F,
    out: Vec<Flow>,
    no_rate: BTreeSet<String>,
}

impl<F: Fn(&str) -> Option<Decimal>> Converted<F> {
    fn new(rate: F) -> Self {
        Converted {
            rate,
            out: Vec::new(),
            no_rate: BTreeSet::new(),
        }
    }

    fn push(&mut self, day: Date, amount: Decimal, currency: &str) {
        match (self.rate)(currency).and_then(|r| amount.checked_mul(r)) {
            Some(amount) => self.out.push(Flow { day, amount }),
            None => {
                self.no_rate.insert(currency.to_string());
            }
        }
    }
}

/// The flows of a scope, and what kept some out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flows {
    /// By day.
    pub flows: Vec<Flow>,
    /// Currencies without a rate: their flows are left out.
    pub no_rate: BTreeSet<String>,
    /// A buy or sell in scope without a price (its money is unknown).
    pub unknown_amount: bool,
}

impl Flows {
    /// Whether every flow is known and in.
    pub fn complete(&self) -> bool {
        self.no_rate.is_empty() && !self.unknown_amount
    }
}

/// The flows of `scope`: `cash` transactions and holdings' `trades` (each with its currency),
/// the accounts that track cash being `tracked`, converted by `rate` (base units per unit).
pub fn flows<'a>(
    scope: Scope,
    cash: &[CashTx],
    trades: impl IntoIterator<Item = (&'a str, &'a TxAmounts)>,
    tracked: &BTreeSet<i64>,
    rate: impl Fn(&str) -> Option<Decimal>,
) -> Flows {
    let mut out = Converted::new(rate);
    let mut unknown_amount = false;
    for c in cash {
        let from = scope.holds(c.account);
        let to = c.to_account.is_some_and(|a| scope.holds(a));
        let amount = match c.kind {
            CashKind::Deposit if from => -c.amount,
            CashKind::Withdrawal if from => c.amount,
            // Leaving what is measured for an account outside it; arriving from one.
            CashKind::Transfer if from && !to => c.amount,
            CashKind::Transfer if to && !from => -c.amount,
            // Interest and the account's fees stay in its cash: no money in or out.
            _ => continue,
        };
        out.push(c.day, amount, &c.currency);
    }
    for (currency, t) in trades {
        if !scope.holds(t.account) {
            continue;
        }
        // A buy or sell whose money is unknown (no price): neither the cash it moved nor the
        // money put in is known, so no rate is right.
        if matches!(t.kind, TxKind::Buy | TxKind::Sell)
            && (t.price.is_none() || t.quantity.is_none())
        {
            unknown_amount = true;
        }
        if tracked.contains(&t.account) {
            continue;
        }
        // Paid from outside: what it would have done to the account's cash, the investor's
        // pocket does (a buy takes from it: money in; a sell adds to it: money out).
        if let Some(effect) = trade_effect(t) {
            out.push(t.day, effect, currency);
        }
    }
    out.out.sort_by_key(|f| f.day);
    Flows {
        flows: out.out,
        no_rate: out.no_rate,
        unknown_amount,
    }
}

/// The flows of one holding's `trades` (in its currency, converted at `rate`), as if paid
/// from outside whichever account they are in.
pub fn holding_flows<'a>(trades: impl IntoIterator<Item = &'a TxAmounts>, rate: Decimal) -> Flows {
    let mut flows = Flows::default();
    for t in trades {
        if matches!(t.kind, TxKind::Buy | TxKind::Sell)
            && (t.price.is_none() || t.quantity.is_none())
        {
            flows.unknown_amount = true;
        }
        if let Some(amount) = trade_effect(t).and_then(|e| e.checked_mul(rate)) {
            flows.flows.push(Flow { day: t.day, amount });
        }
    }
    flows.flows.sort_by_key(|f| f.day);
    flows
}

/// The yearly rate `r` (0.1 for 10 %) at which `flows` plus `value` taken out on `today`
/// balance: Σ amount / (1 + r)^(days since the first flow / 365) = 0. Rounded to 6 places.
pub fn xirr(flows: &[Flow], value: Decimal, today: Date) -> Result<Decimal, NoRate> {
    let mut all: Vec<(f64, f64)> = Vec::with_capacity(flows.len() + 1);
    let first = flows.iter().map(|f| f.day).min().unwrap_or(today);
    let years = |day: Date| (day - first).whole_days() as f64 / 365.0;
    // One flow a day (the same sum, far fewer powers to take in each step).
    let mut by_day: Vec<(Date, f64)> = flows
        .iter()
        .map(|f| (f.day, f.amount.to_f64().unwrap_or(0.0)))
        .collect();
    by_day.sort_by_key(|(day, _)| *day);
    for (day, amount) in by_day {
        match all.last_mut() {
            Some((t, sum)) if *t == years(day) => *sum += amount,
            _ => all.push((years(day), amount)),
        }
    }
    if !value.is_zero() {
        all.push((years(today), value.to_f64().unwrap_or(0.0)));
    }
    all.retain(|(_, a)| *a != 0.0);
    if all.len() < 2 {
        return Err(NoRate::TooFewFlows);
    }
    if !(all.iter().any(|(_, a)| *a < 0.0) && all.iter().any(|(_, a)| *a > 0.0)) {
        return Err(NoRate::NoSignChange);
    }
    if all.iter().all(|(t, _)| *t == 0.0) {
        return Err(NoRate::NoTime);
    }
    let npv = |r: f64| -> f64 { all.iter().map(|(t, a)| a / (1.0 + r).powf(*t)).sum() };
    let slope = |r: f64| -> f64 {
        all.iter()
            .map(|(t, a)| -t * a / (1.0 + r).powf(t + 1.0))
            .sum()
    };
    // Newton's method from 10 %; bisection over (−100 %, +1,000,000 %) when it strays.
    let mut r = 0.1;
    for _ in 0..50 {
        let (f, d) = (npv(r), slope(r));
        if !f.is_finite() || !d.is_finite() || d == 0.0 {
            break;
        }
        let next = r - f / d;
        if !next.is_finite() || next <= -1.0 {
            break;
        }
        if (next - r).abs() < 1e-12 {
            return to_rate(next);
        }
        r = next;
    }
    let (mut low, mut high) = (-0.999_999_999, MAX_RATE);
    let (f_low, f_high) = (npv(low), npv(high));
    if !f_low.is_finite() || !f_high.is_finite() || f_low.signum() == f_high.signum() {
        return Err(NoRate::NoConvergence);
    }
    for _ in 0..300 {
        let mid = (low + high) / 2.0;
        let f = npv(mid);
        if f.signum() == f_low.signum() {
            low = mid;
        } else {
            high = mid;
        }
        if high - low < 1e-12 {
            break;
        }
    }
    to_rate((low + high) / 2.0)
}

/// A rate within (−100 %, +1,000,000 %] a year; beyond, the flows are too close in time for a
/// yearly rate to mean anything (a 19 % gain in a day is 10^27 % a year).
fn to_rate(r: f64) -> Result<Decimal, NoRate> {
    if !(r > -1.0 && r <= MAX_RATE) {
        return Err(NoRate::NoConvergence);
    }
    Decimal::from_f64(r)
        .map(|d| d.round_dp(6))
        .ok_or(NoRate::NoConvergence)
}

/// The highest yearly rate given: +1,000,000 %.
const MAX_RATE: f64 = 10_000.0;

/// How far back a return reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, utoipa::ToSchema)]
pub enum ReturnRange {
    #[serde(rename = "1m")]
    Month1,
    #[serde(rename = "ytd")]
    Ytd,
    #[serde(rename = "1y")]
    Year1,
    #[serde(rename = "3y")]
    Year3,
    #[serde(rename = "5y")]
    Year5,
    /// From before the first money in.
    #[serde(rename = "all")]
    All,
}

impl ReturnRange {
    pub const ALL: [ReturnRange; 6] = [
        ReturnRange::Month1,
        ReturnRange::Ytd,
        ReturnRange::Year1,
        ReturnRange::Year3,
        ReturnRange::Year5,
        ReturnRange::All,
    ];

    /// `1m`, `ytd`, `1y`, `3y`, `5y`, `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnRange::Month1 => "1m",
            ReturnRange::Ytd => "ytd",
            ReturnRange::Year1 => "1y",
            ReturnRange::Year3 => "3y",
            ReturnRange::Year5 => "5y",
            ReturnRange::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReturnRange::Month1 => "1M",
            ReturnRange::Ytd => "YTD",
            ReturnRange::Year1 => "1Y",
            ReturnRange::Year3 => "3Y",
            ReturnRange::Year5 => "5Y",
            ReturnRange::All => "All",
        }
    }

    /// The day whose closing value the range starts from (its return runs from the end of
    /// that day to the end of `today`): the same day of the month one month, or one, three or
    /// five years, before today (the month's last day when it is shorter), the last day of
    /// last year for YTD; `None` for All, which starts before the first money in.
    pub fn start(self, today: Date) -> Option<Date> {
        let months = match self {
            ReturnRange::Month1 => 1,
            ReturnRange::Year1 => 12,
            ReturnRange::Year3 => 36,
            ReturnRange::Year5 => 60,
            ReturnRange::Ytd => {
                return Date::from_calendar_date(today.year() - 1, Month::December, 31).ok();
            }
            ReturnRange::All => return None,
        };
        Some(months_back(today, months))
    }
}

/// The same day of the month `months` months before `day`, or that month's last day.
pub fn months_back(day: Date, months: i32) -> Date {
    let index = day.year() * 12 + i32::from(u8::from(day.month())) - 1 - months;
    let year = index.div_euclid(12);
    let month = u8::try_from(index.rem_euclid(12) + 1)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .unwrap_or(Month::January);
    let last = month.length(year);
    Date::from_calendar_date(year, month, day.day().min(last)).unwrap_or(day)
}

/// What something measured was worth at the end of each day from `first` on, one value a
/// day; `None` on a day some of it had no price.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyValues {
    pub first: Date,
    pub values: Vec<Option<Decimal>>,
}

impl DailyValues {
    /// Zero on every day from `first` to `last`.
    pub fn zeros(first: Date, last: Date) -> Self {
        let days = usize::try_from((last - first).whole_days() + 1).unwrap_or(0);
        DailyValues {
            first,
            values: vec![Some(Decimal::ZERO); days],
        }
    }

    /// The last day.
    pub fn last(&self) -> Date {
        self.first + time::Duration::days(self.values.len().saturating_sub(1) as i64)
    }

    fn index(&self, day: Date) -> Option<usize> {
        usize::try_from((day - self.first).whole_days())
            .ok()
            .filter(|i| *i < self.values.len())
    }

    /// The value at the end of `day`: `None` outside the days or where it is not known.
    pub fn at(&self, day: Date) -> Option<Decimal> {
        self.index(day).and_then(|i| self.values[i])
    }

    /// Adds `value(day)` to each day; a day either does not know stays unknown (as does one
    /// whose sum overflows).
    pub fn add(&mut self, mut value: impl FnMut(Date) -> Option<Decimal>) {
        let mut day = self.first;
        for v in &mut self.values {
            *v = v.zip(value(day)).and_then(|(a, b)| a.checked_add(b));
            day = day.next_day().unwrap_or(day);
        }
    }

    /// Adds `changes` (by day) from their day on: a balance kept by its movements.
    pub fn add_changes(&mut self, changes: &[Flow]) {
        let mut sorted = changes.to_vec();
        sorted.sort_by_key(|c| c.day);
        let mut next = 0;
        let mut balance = Some(Decimal::ZERO);
        self.add(|day| {
            while let Some(c) = sorted.get(next).filter(|c| c.day <= day) {
                balance = balance.and_then(|b| b.checked_add(c.amount));
                next += 1;
            }
            balance
        });
    }
}

/// The changes to the cash of the accounts `scope` measures that track it: every cash
/// transaction in or out of them (a transfer between two of them moves nothing) and the
/// cash their trades move, converted by `rate`; and the currencies without a rate.
pub fn cash_changes<'a>(
    scope: Scope,
    cash: &[CashTx],
    trades: impl IntoIterator<Item = (&'a str, &'a TxAmounts)>,
    tracked: &BTreeSet<i64>,
    rate: impl Fn(&str) -> Option<Decimal>,
) -> (Vec<Flow>, BTreeSet<String>) {
    let mut out = Converted::new(rate);
    for c in cash {
        let from = scope.holds(c.account);
        let to = c.to_account.is_some_and(|a| scope.holds(a));
        let amount = match c.kind {
            CashKind::Deposit | CashKind::Interest if from => c.amount,
            CashKind::Withdrawal | CashKind::Fee if from => -c.amount,
            CashKind::Transfer if from && !to => -c.amount,
            CashKind::Transfer if to && !from => c.amount,
            _ => continue,
        };
        out.push(c.day, amount, &c.currency);
    }
    for (currency, t) in trades {
        if scope.holds(t.account)
            && tracked.contains(&t.account)
            && let Some(effect) = trade_effect(t)
        {
            out.push(t.day, effect, currency);
        }
    }
    (out.out, out.no_rate)
}

/// The time-weighted return from the end of `start` (before the first value for `None`) to
/// the end of the last day of `values`, as a fraction (0.1 for 10 %), rounded to 6 places:
/// the product of each day's growth, so that money put in or taken out does not count as
/// gain or loss. On each day money put in works from the day's start and money taken out
/// from its end: growth = (value + money out) / (the last known value + money in). A day
/// without a value joins the next one that has; a day that starts with nothing at work
/// (nothing held, or debts) adds nothing. `flows` are from the investor's side (negative in).
pub fn twr(values: &DailyValues, flows: &[Flow], start: Option<Date>) -> Result<Decimal, NoRate> {
    let steps = twr_steps(values, flows, start)?;
    let total = steps.last().map_or(Decimal::ZERO, |s| s.1);
    Ok(total.round_dp(6))
}

/// The time-weighted return of [`twr`] at the end of each day after the start that has a
/// value: the line the return draws.
pub fn twr_line(
    values: &DailyValues,
    flows: &[Flow],
    start: Option<Date>,
) -> Result<Vec<(Date, Decimal)>, NoRate> {
    Ok(twr_steps(values, flows, start)?
        .into_iter()
        .map(|(day, total, _)| (day, total))
        .collect())
}

/// The time-weighted return from the end of `from` (`None`: from the start) read off `steps`
/// (those of [`twr_steps`] from the start): the same as [`twr`] from `from`, without walking
/// the days again — its growth is the growth to the end over the growth to `from`.
pub fn twr_over(
    steps: Result<&[(Date, Decimal, usize)], &NoRate>,
    values: &DailyValues,
    from: Option<Date>,
) -> Result<Decimal, NoRate> {
    let steps = steps.map_err(|e| *e)?;
    let Some(&(_, total, worked)) = steps.last() else {
        return Err(NoRate::TooFewFlows);
    };
    let Some(from) = from.filter(|s| *s >= values.first) else {
        return Ok(total.round_dp(6));
    };
    values.at(from).ok_or(NoRate::Incomplete)?;
    let at = steps.partition_point(|(day, _, _)| *day <= from);
    let (before, worked_before) = match at.checked_sub(1).and_then(|i| steps.get(i)) {
        Some(&(_, r, w)) => (r, w),
        None => (Decimal::ZERO, 0),
    };
    if worked == worked_before {
        return Err(NoRate::TooFewFlows);
    }
    let growth = (Decimal::ONE + total)
        .checked_div(Decimal::ONE + before)
        .ok_or(NoRate::NoConvergence)?;
    Ok((growth - Decimal::ONE).round_dp(6))
}

/// Decimal places kept of a day's growth and of the growth so far: chained over 10,000 days
/// the rounding moves a return by less than 10⁻⁸ (returns are given to 6 places), and each
/// day's product stays within 28 digits instead of being cut back to them (which made the
/// chaining the costliest part of the returns).
const GROWTH_DP: u32 = 12;

/// A growth below this (all but wiped out) is kept whole: at 12 places it could round to
/// nothing.
const TINY_GROWTH: Decimal = Decimal::from_parts(1, 0, 0, false, 6);

/// `growth` at [`GROWTH_DP`] places, unless it is tiny.
fn trimmed(growth: Decimal) -> Decimal {
    if growth.abs() >= TINY_GROWTH {
        growth.round_dp(GROWTH_DP)
    } else {
        growth
    }
}

/// The steps of [`twr`]: at the end of each day after the start that has a value, the return
/// so far (unrounded) and how many days had money at work so far.
pub fn twr_steps(
    values: &DailyValues,
    flows: &[Flow],
    start: Option<Date>,
) -> Result<Vec<(Date, Decimal, usize)>, NoRate> {
    let last = values.last();
    let (from, mut prev) = match start {
        Some(s) if s >= values.first => (s, values.at(s).ok_or(NoRate::Incomplete)?),
        // Before the first value: nothing was at work.
        _ => (
            values.first.previous_day().unwrap_or(values.first),
            Decimal::ZERO,
        ),
    };
    if values.at(last).is_none() {
        return Err(NoRate::Incomplete);
    }
    let mut flows = flows.iter().filter(|f| f.day > from).peekable();
    let (mut money_in, mut money_out) = (Decimal::ZERO, Decimal::ZERO);
    let mut growth = Decimal::ONE;
    let mut worked = 0;
    let mut line = Vec::new();
    let mut day = from;
    while day < last {
        day = day.next_day().unwrap_or(last);
        while let Some(f) = flows.next_if(|f| f.day <= day) {
            let sum = if f.amount < Decimal::ZERO {
                money_in.checked_sub(f.amount).map(|m| money_in = m)
            } else {
                money_out.checked_add(f.amount).map(|m| money_out = m)
            };
            sum.ok_or(NoRate::NoConvergence)?;
        }
        let Some(value) = values.at(day) else {
            continue;
        };
        let working = prev.checked_add(money_in).ok_or(NoRate::NoConvergence)?;
        if working > Decimal::ZERO {
            let grew = value
                .checked_add(money_out)
                .and_then(|v| v.checked_div(working))
                .map(trimmed)
                .ok_or(NoRate::NoConvergence)?;
            // Worth nothing or less (more owed than held) at a day's end: growth cannot be
            // chained across it.
            if grew <= Decimal::ZERO {
                return Err(NoRate::WipedOut);
            }
            growth = growth
                .checked_mul(grew)
                .map(trimmed)
                .ok_or(NoRate::NoConvergence)?;
            worked += 1;
        }
        line.push((day, growth - Decimal::ONE, worked));
        prev = value;
        money_in = Decimal::ZERO;
        money_out = Decimal::ZERO;
    }
    if worked == 0 {
        return Err(NoRate::TooFewFlows);
    }
    Ok(line)
}

/// The return of an asset from its last close on or before `start` to its last close:
/// `None` when it has no close by `start`.
pub fn price_return(closes: &[crate::domain::PricePoint], start: Date) -> Option<Decimal> {
    let at_start = closes.iter().take_while(|p| p.date <= start).last()?;
    let end = closes.last()?;
    if at_start.close <= Decimal::ZERO {
        return None;
    }
    let growth = end.close.checked_div(at_start.close)?;
    Some((growth - Decimal::ONE).round_dp(6))
}

/// A return of `total` over the days from `from` to `to` as a rate a year (compounded), for
/// spans of a year or more; shorter spans have none (a month's luck is not a year's rate).
pub fn a_year(total: Decimal, from: Date, to: Date) -> Option<Decimal> {
    let days = (to - from).whole_days();
    if days < 365 {
        return None;
    }
    let growth = (Decimal::ONE + total).to_f64()?;
    if growth <= 0.0 {
        return None;
    }
    let rate = growth.powf(365.0 / days as f64) - 1.0;
    Decimal::from_f64(rate).map(|r| r.round_dp(6))
}

/// A rate a year (`rate`) compounded over the days from `from` to `to`: the return over them.
pub fn over_span(rate: Decimal, from: Date, to: Date) -> Option<Decimal> {
    let growth = (Decimal::ONE + rate).to_f64()?;
    let days = (to - from).whole_days();
    if growth <= 0.0 || days <= 0 {
        return None;
    }
    Decimal::from_f64(growth.powf(days as f64 / 365.0) - 1.0).map(|r| r.round_dp(6))
}

/// The money-weighted return a year (XIRR) from the end of `start` (before the first money
/// for `None`) to the end of the last day of `values`: the value at the start as money put
/// in then, the `flows` after it, and the last value as taken out.
pub fn xirr_from(
    values: &DailyValues,
    flows: &[Flow],
    start: Option<Date>,
) -> Result<Decimal, NoRate> {
    let last = values.last();
    let end = values.at(last).ok_or(NoRate::Incomplete)?;
    let mut all = Vec::with_capacity(flows.len() + 1);
    let from = match start {
        Some(s) if s >= values.first => {
            let at_start = values.at(s).ok_or(NoRate::Incomplete)?;
            all.push(Flow {
                day: s,
                amount: -at_start,
            });
            Some(s)
        }
        _ => None,
    };
    all.extend(flows.iter().filter(|f| from.is_none_or(|s| f.day > s)));
    xirr(&all, end, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_growth_is_cut_to_twelve_places_but_a_tiny_one_is_kept() {
        let g: Decimal = "1.00012345678901234567".parse().unwrap();
        assert_eq!(trimmed(g), "1.000123456789".parse::<Decimal>().unwrap());
        let tiny: Decimal = "0.00000000000012345".parse().unwrap();
        assert_eq!(trimmed(tiny), tiny, "not rounded to nothing");
    }
    use time::OffsetDateTime;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn flow(day: Date, amount: &str) -> Flow {
        Flow {
            day,
            amount: d(amount),
        }
    }

    #[test]
    fn a_year_at_ten_percent_and_the_spreadsheet_example() {
        // 1,000 in, 1,100 held a year (365 days) later: 10 %.
        let one = [flow(date!(2021 - 01 - 01), "-1000")];
        assert_eq!(xirr(&one, d("1100"), date!(2022 - 01 - 01)), Ok(d("0.1")));
        // The spreadsheet's own example: XIRR = 37.3362535 %.
        let flows = [
            flow(date!(2008 - 01 - 01), "-10000"),
            flow(date!(2008 - 03 - 01), "2750"),
            flow(date!(2008 - 10 - 30), "4250"),
            flow(date!(2009 - 02 - 15), "3250"),
        ];
        assert_eq!(
            xirr(&flows, d("2750"), date!(2009 - 04 - 01)),
            Ok(d("0.373363"))
        );
        // A loss: 1,000 in, 500 held two years later: 1 − √0.5 a year lost.
        let loss = [flow(date!(2020 - 01 - 01), "-1000")];
        assert_eq!(
            xirr(&loss, d("500"), date!(2021 - 12 - 31)),
            Ok(d("-0.292893"))
        );
    }

    #[test]
    fn no_rate_says_why() {
        let today = date!(2024 - 01 - 01);
        assert_eq!(xirr(&[], Decimal::ZERO, today), Err(NoRate::TooFewFlows));
        let only_in = [flow(date!(2023 - 01 - 01), "-100")];
        assert_eq!(
            xirr(&only_in, Decimal::ZERO, today),
            Err(NoRate::TooFewFlows)
        );
        let two_in = [
            flow(date!(2023 - 01 - 01), "-100"),
            flow(date!(2023 - 06 - 01), "-100"),
        ];
        assert_eq!(
            xirr(&two_in, Decimal::ZERO, today),
            Err(NoRate::NoSignChange)
        );
        let same_day = [flow(today, "-100")];
        assert_eq!(xirr(&same_day, d("100"), today), Err(NoRate::NoTime));
        // 19 % in a day is about 10^27 % a year: beyond any meaningful yearly rate.
        let yesterday = [flow(date!(2023 - 12 - 31), "-100")];
        assert_eq!(
            xirr(&yesterday, d("119"), today),
            Err(NoRate::NoConvergence)
        );
    }

    fn cash(kind: CashKind, day: Date, amount: &str, account: i64, to: Option<i64>) -> CashTx {
        CashTx {
            id: 0,
            kind,
            day,
            amount: d(amount),
            currency: "USD".into(),
            account,
            to_account: to,
            notes: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn trade(kind: TxKind, day: Date, quantity: &str, price: &str, account: i64) -> TxAmounts {
        TxAmounts {
            kind,
            day,
            quantity: Some(d(quantity)),
            price: Some(d(price)),
            amount: Some(d(price)),
            ratio: None,
            fees: Decimal::ZERO,
            account,
        }
    }

    /// Values from `first`, one a day (`None` for a day without a price).
    fn daily(first: Date, values: &[Option<&str>]) -> DailyValues {
        DailyValues {
            first,
            values: values.iter().map(|v| v.map(d)).collect(),
        }
    }

    #[test]
    fn time_weighted_leaves_deposits_and_withdrawals_out() {
        let day0 = date!(2024 - 01 - 01);
        let day = |n: i64| day0 + time::Duration::days(n);
        // Day 0: 1,000 deposited and bought; day 1: +10 % (1,100); day 2: 1,100 more put in
        // and the 2,200 gain 10 % (2,420); day 3: 420 taken out, no gain (2,000).
        let values = daily(
            day0,
            &[Some("1000"), Some("1100"), Some("2420"), Some("2000")],
        );
        let flows = [
            flow(day(0), "-1000"),
            flow(day(2), "-1100"),
            flow(day(3), "420"),
        ];
        // 1.1 × 1.1 × 1 − 1: the money moved is not gain.
        assert_eq!(twr(&values, &flows, None), Ok(d("0.21")));
        // From the end of day 1: only day 2's 10 %.
        assert_eq!(twr(&values, &flows, Some(day(1))), Ok(d("0.1")));
        // A start before the first value counts from nothing, like All.
        assert_eq!(
            twr(&values, &flows, Some(day0 - time::Duration::days(30))),
            Ok(d("0.21"))
        );
        // Three days of 10 % moves are far beyond any yearly rate given.
        assert_eq!(xirr_from(&values, &flows, None), Err(NoRate::NoConvergence));
    }

    #[test]
    fn money_weighted_over_a_range_starts_from_its_value_then() {
        // 1,000 put in on 2023-01-01 and flat for half a year, then up to 1,100 at the end
        // of the year (365 days later).
        let day0 = date!(2023 - 01 - 01);
        let mut values: Vec<Option<&str>> = vec![Some("1000"); 365];
        values.push(Some("1100"));
        let values = daily(day0, &values);
        let flows = [flow(day0, "-1000")];
        assert_eq!(xirr_from(&values, &flows, None), Ok(d("0.1")));
        assert_eq!(twr(&values, &flows, None), Ok(d("0.1")));
        // From the end of 2023-07-02 (182 days in): 1,000 then, 1,100 183 days later.
        let mid = day0 + time::Duration::days(182);
        let expected = 1.1_f64.powf(365.0 / 183.0) - 1.0;
        let got = xirr_from(&values, &flows, Some(mid))
            .unwrap()
            .to_f64()
            .unwrap();
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
        assert_eq!(twr(&values, &flows, Some(mid)), Ok(d("0.1")));
    }

    #[test]
    fn a_range_read_off_the_whole_line_is_the_range_walked_alone() {
        let day0 = date!(2024 - 01 - 01);
        let day = |n: i64| day0 + time::Duration::days(n);
        let values = daily(
            day0,
            &[
                Some("1000"),
                Some("1100"),
                None,
                Some("2420"),
                Some("2000"),
                Some("0"),
                Some("0"),
            ],
        );
        let flows = [
            flow(day(0), "-1000"),
            flow(day(2), "-1100"),
            flow(day(4), "420"),
            flow(day(5), "2050"),
        ];
        let steps = twr_steps(&values, &flows, None);
        for start in std::iter::once(None).chain((-1..7).map(|n| Some(day(n)))) {
            assert_eq!(
                twr_over(steps.as_deref(), &values, start),
                twr(&values, &flows, start),
                "from {start:?}"
            );
        }
    }

    #[test]
    fn a_dividend_is_gain_and_a_sold_holding_keeps_its_return() {
        let day0 = date!(2024 - 01 - 01);
        let day = |n: i64| day0 + time::Duration::days(n);
        // Bought for 1,000; flat; a 50 dividend on day 1; up to 1,200 on day 2; sold for
        // 1,200 on day 3; nothing held after.
        let values = daily(
            day0,
            &[
                Some("1000"),
                Some("1000"),
                Some("1200"),
                Some("0"),
                Some("0"),
            ],
        );
        let flows = [
            flow(day(0), "-1000"),
            flow(day(1), "50"),
            flow(day(3), "1200"),
        ];
        // 1.05 × 1.2 × 1 − 1 = 26 %: the dividend is return, the sale is not a loss.
        assert_eq!(twr(&values, &flows, None), Ok(d("0.26")));
        // From the end of day 3, nothing is at work: no return to give.
        assert_eq!(twr(&values, &flows, Some(day(3))), Err(NoRate::TooFewFlows));
    }

    #[test]
    fn the_line_gives_each_days_return_and_a_benchmark_its_price_change() {
        let day0 = date!(2024 - 01 - 01);
        let day = |n: i64| day0 + time::Duration::days(n);
        let values = daily(day0, &[Some("1000"), Some("1100"), None, Some("1210")]);
        let flows = [flow(day(0), "-1000")];
        let line = twr_line(&values, &flows, Some(day(0))).unwrap();
        assert_eq!(line, [(day(1), d("0.1")), (day(3), d("0.21"))]);
        let closes: Vec<crate::domain::PricePoint> = [(0, "400"), (1, "410"), (3, "500")]
            .iter()
            .map(|(n, c)| crate::domain::PricePoint {
                date: day(*n),
                close: d(c),
            })
            .collect();
        // From the last close on or before the start: a day without one carries the one before.
        assert_eq!(price_return(&closes, day(0)), Some(d("0.25")));
        assert_eq!(price_return(&closes, day(2)), Some(d("0.219512")));
        assert_eq!(price_return(&closes, day0 - time::Duration::days(1)), None);
    }

    #[test]
    fn a_day_without_a_price_joins_the_next_and_an_unknown_end_is_incomplete() {
        let day0 = date!(2024 - 01 - 01);
        let day = |n: i64| day0 + time::Duration::days(n);
        // Day 2 has no price; 500 put in that day works until day 3.
        let values = daily(day0, &[Some("1000"), Some("1000"), None, Some("1650")]);
        let flows = [flow(day(0), "-1000"), flow(day(2), "-500")];
        assert_eq!(twr(&values, &flows, None), Ok(d("0.1")));
        // A range starting on the unknown day, or ending unknown, has no rate.
        assert_eq!(twr(&values, &flows, Some(day(2))), Err(NoRate::Incomplete));
        // Worth less than nothing at a day's end (bought on margin, then a crash): no return
        // is carried across it, rather than a sign flipped.
        let wiped = daily(day0, &[Some("1000"), Some("-50"), Some("10")]);
        assert_eq!(twr(&wiped, &flows[..1], None), Err(NoRate::WipedOut));
        let open_end = daily(day0, &[Some("1000"), None]);
        assert_eq!(twr(&open_end, &flows, None), Err(NoRate::Incomplete));
        assert_eq!(xirr_from(&open_end, &flows, None), Err(NoRate::Incomplete));
    }

    #[test]
    fn cash_changes_follow_the_accounts_measured() {
        let jan = date!(2023 - 01 - 01);
        let cash = [
            cash(CashKind::Deposit, jan, "1000", 1, None),
            cash(CashKind::Interest, jan, "5", 1, None),
            cash(CashKind::Fee, jan, "2", 1, None),
            cash(CashKind::Transfer, jan, "200", 1, Some(2)),
            cash(CashKind::Withdrawal, jan, "50", 2, None),
        ];
        let buy = trade(TxKind::Buy, jan, "5", "100", 1);
        let elsewhere = trade(TxKind::Buy, jan, "1", "10", 3);
        let trades = [("USD", &buy), ("USD", &elsewhere)];
        let tracked = BTreeSet::from([1, 2]);
        let one = |_: &str| Some(Decimal::ONE);
        let sum = |(changes, _): (Vec<Flow>, BTreeSet<String>)| {
            changes.iter().map(|c| c.amount).sum::<Decimal>()
        };
        // Both accounts: 1,000 + 5 − 2 − 50 − 500 (the buy); the transfer moves nothing.
        assert_eq!(
            sum(cash_changes(Scope::Portfolio, &cash, trades, &tracked, one)),
            d("453")
        );
        assert_eq!(
            sum(cash_changes(
                Scope::Account(1),
                &cash,
                trades,
                &tracked,
                one
            )),
            d("303")
        );
        assert_eq!(
            sum(cash_changes(
                Scope::Account(2),
                &cash,
                trades,
                &tracked,
                one
            )),
            d("150")
        );
        let mut values = DailyValues::zeros(jan, jan + time::Duration::days(2));
        let (changes, _) = cash_changes(Scope::Account(2), &cash, trades, &tracked, one);
        values.add_changes(&changes);
        assert_eq!(values.at(jan + time::Duration::days(2)), Some(d("150")));
    }

    #[test]
    fn ranges_start_on_the_same_day_back_or_the_months_last() {
        let today = date!(2024 - 03 - 31);
        let start = |r: ReturnRange| r.start(today);
        assert_eq!(start(ReturnRange::Month1), Some(date!(2024 - 02 - 29)));
        assert_eq!(start(ReturnRange::Ytd), Some(date!(2023 - 12 - 31)));
        assert_eq!(start(ReturnRange::Year1), Some(date!(2023 - 03 - 31)));
        assert_eq!(start(ReturnRange::Year3), Some(date!(2021 - 03 - 31)));
        assert_eq!(
            ReturnRange::Year5.start(date!(2024 - 02 - 29)),
            Some(date!(2019 - 02 - 28))
        );
        assert_eq!(
            ReturnRange::Month1.start(date!(2024 - 01 - 15)),
            Some(date!(2023 - 12 - 15))
        );
        assert_eq!(start(ReturnRange::All), None);
        // 21 % over two years (730 days) is 10 % a year; under a year there is no yearly rate.
        let from = date!(2020 - 01 - 01);
        assert_eq!(
            a_year(d("0.21"), from, from + time::Duration::days(730)),
            Some(d("0.1"))
        );
        assert_eq!(
            a_year(d("0.05"), from, from + time::Duration::days(200)),
            None
        );
        // 10 % a year over two years is 21 % over them.
        assert_eq!(
            over_span(d("0.1"), from, from + time::Duration::days(730)),
            Some(d("0.21"))
        );
    }

    #[test]
    fn deposits_and_withdrawals_are_the_flows_of_accounts_that_track_cash() {
        let jan = date!(2023 - 01 - 01);
        let jul = date!(2023 - 07 - 01);
        let cash = [
            cash(CashKind::Deposit, jan, "1000", 1, None),
            cash(CashKind::Interest, jul, "5", 1, None),
            cash(CashKind::Transfer, jul, "200", 1, Some(2)),
            cash(CashKind::Withdrawal, jul, "50", 2, None),
        ];
        // Account 1 tracks cash: its buy moves cash, not money in. Account 3 does not: its
        // buy is money in, its dividend money out.
        let buy_1 = trade(TxKind::Buy, jan, "5", "100", 1);
        let buy_3 = trade(TxKind::Buy, jan, "2", "50", 3);
        let div_3 = trade(TxKind::Dividend, jul, "0", "4", 3);
        let trades = [("USD", &buy_1), ("USD", &buy_3), ("USD", &div_3)];
        let tracked = BTreeSet::from([1, 2]);
        let one = |_: &str| Some(Decimal::ONE);
        let all = flows(Scope::Portfolio, &cash, trades, &tracked, one);
        assert!(all.complete());
        let amounts: Vec<Decimal> = all.flows.iter().map(|f| f.amount).collect();
        assert_eq!(amounts, [d("-1000"), d("-100"), d("50"), d("4")]);
        // Account 1 alone: the transfer out is money out of it.
        let acct = flows(Scope::Account(1), &cash, trades, &tracked, one);
        let amounts: Vec<Decimal> = acct.flows.iter().map(|f| f.amount).collect();
        assert_eq!(amounts, [d("-1000"), d("200")]);
        // A currency without a rate is left out and named.
        let missing = flows(Scope::Portfolio, &cash, trades, &tracked, |_| None);
        assert_eq!(missing.no_rate, BTreeSet::from(["USD".to_string()]));
        assert!(!missing.complete());
        // A buy without a price: the money put in is unknown, in any account.
        let free = TxAmounts {
            price: None,
            ..trade(TxKind::Buy, jan, "1", "0", 1)
        };
        let with_free = [("USD", &buy_3), ("USD", &free)];
        let unknown = flows(Scope::Portfolio, &cash, with_free, &tracked, one);
        assert!(unknown.unknown_amount && !unknown.complete());
        // A holding alone: its trades, from the investor's side.
        let sell = trade(TxKind::Sell, jul, "5", "120", 1);
        let h = holding_flows([&buy_1, &sell], Decimal::ONE);
        assert_eq!(
            h.flows.iter().map(|f| f.amount).collect::<Vec<_>>(),
            [d("-500"), d("600")]
        );
        assert!(h.complete());
        assert!(!holding_flows([&free], Decimal::ONE).complete());
    }
}
