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
use time::Date;

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
}

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every account: transfers between them move nothing in or out.
    Portfolio,
    /// One account: its transfers are flows.
    Account(i64),
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
    let mut out = Vec::new();
    let mut no_rate = BTreeSet::new();
    let mut unknown_amount = false;
    let in_scope = |account: i64| match scope {
        Scope::Portfolio => true,
        Scope::Account(a) => a == account,
    };
    let mut push = |day: Date, amount: Decimal, currency: &str| match rate(currency)
        .and_then(|r| amount.checked_mul(r))
    {
        Some(amount) => out.push(Flow { day, amount }),
        None => {
            no_rate.insert(currency.to_string());
        }
    };
    for c in cash {
        let from = in_scope(c.account);
        let to = c.to_account.is_some_and(&in_scope);
        let amount = match c.kind {
            CashKind::Deposit if from => -c.amount,
            CashKind::Withdrawal if from => c.amount,
            // Leaving what is measured for an account outside it; arriving from one.
            CashKind::Transfer if from && !to => c.amount,
            CashKind::Transfer if to && !from => -c.amount,
            // Interest and the account's fees stay in its cash: no money in or out.
            _ => continue,
        };
        push(c.day, amount, &c.currency);
    }
    for (currency, t) in trades {
        if !in_scope(t.account) {
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
            push(t.day, effect, currency);
        }
    }
    out.sort_by_key(|f| f.day);
    Flows {
        flows: out,
        no_rate,
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
    let first = flows.first().map_or(today, |f| f.day);
    let years = |day: Date| (day - first).whole_days() as f64 / 365.0;
    for f in flows {
        all.push((years(f.day), f.amount.to_f64().unwrap_or(0.0)));
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

#[cfg(test)]
mod tests {
    use super::*;
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
