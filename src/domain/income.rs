//! Income: dividends (net of their fees) and interest, summed by month, by year, by holding
//! and by account in the owner's base currency, with the last twelve months and the yield on
//! cost they make.
//!
//! Each payment converts at the rate the caller gives for its currency and day (its own day's,
//! see [`crate::domain::fx`]); a payment in a currency without one is left out of every sum
//! and its currency named.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use time::{Date, Month};

/// Where a payment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomeKind {
    /// A holding's dividend, net of its fees.
    Dividend,
    /// Interest paid on an account's cash.
    Interest,
}

/// One payment, in its own currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub day: Date,
    pub kind: IncomeKind,
    pub amount: Decimal,
    pub currency: String,
    pub account: i64,
    /// A dividend's holding: its id and symbol.
    pub holding: Option<(i64, String)>,
}

/// Dividends and interest of one period, in the base currency.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Split {
    pub dividends: Decimal,
    pub interest: Decimal,
}

impl Split {
    pub fn total(&self) -> Decimal {
        self.dividends
            .checked_add(self.interest)
            .unwrap_or(self.dividends)
    }

    fn add(&mut self, kind: IncomeKind, amount: Decimal) {
        let to = match kind {
            IncomeKind::Dividend => &mut self.dividends,
            IncomeKind::Interest => &mut self.interest,
        };
        *to = to.checked_add(amount).unwrap_or(*to);
    }
}

/// One holding's dividends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HoldingIncome {
    pub symbol: String,
    pub all_time: Decimal,
    pub trailing_12m: Decimal,
}

/// Every sum of the payments, in the base currency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Income {
    /// By `(year, month 1–12)`, every month from the first payment's to today's (months
    /// without one are zero), so a chart has no gaps.
    pub months: BTreeMap<(i32, u8), Split>,
    pub years: BTreeMap<i32, Split>,
    /// By holding id.
    pub holdings: BTreeMap<i64, HoldingIncome>,
    /// By account id.
    pub accounts: BTreeMap<i64, Split>,
    /// The twelve months up to today: from the day after the same day a year ago.
    pub trailing_12m: Split,
    /// Currencies of payments left out: no rate to the base currency.
    pub no_rate: BTreeSet<String>,
}

/// The first day of the trailing twelve months that end `today`.
pub fn trailing_start(today: Date) -> Date {
    let year_ago = Date::from_calendar_date(today.year() - 1, today.month(), today.day())
        .or_else(|_| Date::from_calendar_date(today.year() - 1, today.month(), 28))
        .unwrap_or(today);
    year_ago.next_day().unwrap_or(year_ago)
}

impl Income {
    /// Sums `payments` (any order) converted by `rate` (base units per unit of a currency on
    /// a day).
    pub fn new(
        payments: &[Payment],
        mut rate: impl FnMut(&str, Date) -> Option<Decimal>,
        today: Date,
    ) -> Income {
        let mut income = Income::default();
        let from = trailing_start(today);
        for p in payments {
            let Some(amount) = rate(&p.currency, p.day).and_then(|r| p.amount.checked_mul(r))
            else {
                income.no_rate.insert(p.currency.clone());
                continue;
            };
            let month = (p.day.year(), u8::from(p.day.month()));
            income.months.entry(month).or_default().add(p.kind, amount);
            income
                .years
                .entry(p.day.year())
                .or_default()
                .add(p.kind, amount);
            income
                .accounts
                .entry(p.account)
                .or_default()
                .add(p.kind, amount);
            let recent = p.day >= from && p.day <= today;
            if recent {
                income.trailing_12m.add(p.kind, amount);
            }
            if let Some((id, symbol)) = &p.holding {
                let h = income.holdings.entry(*id).or_insert_with(|| HoldingIncome {
                    symbol: symbol.clone(),
                    ..HoldingIncome::default()
                });
                h.all_time = h.all_time.checked_add(amount).unwrap_or(h.all_time);
                if recent {
                    h.trailing_12m = h.trailing_12m.checked_add(amount).unwrap_or(h.trailing_12m);
                }
            }
        }
        income.fill_months(today);
        income
    }

    /// Every month from the first with a payment to today's, zero where none.
    fn fill_months(&mut self, today: Date) {
        let Some(&(mut year, mut month)) = self.months.keys().next() else {
            return;
        };
        let last = (today.year(), u8::from(today.month()));
        while (year, month) <= last {
            self.months.entry((year, month)).or_default();
            if month == 12 {
                year += 1;
                month = 1;
            } else {
                month += 1;
            }
        }
    }

    /// The months of the twelve up to today's, oldest first.
    pub fn last_twelve_months(&self, today: Date) -> Vec<((i32, u8), Split)> {
        let mut out = Vec::with_capacity(12);
        let (mut year, mut month) = (today.year(), u8::from(today.month()));
        for _ in 0..12 {
            out.push((
                (year, month),
                self.months.get(&(year, month)).copied().unwrap_or_default(),
            ));
            if month == 1 {
                year -= 1;
                month = 12;
            } else {
                month -= 1;
            }
        }
        out.reverse();
        out
    }
}

/// `income` as a percent of `cost` (2 places), when there is a cost.
pub fn yield_on_cost(income: Decimal, cost: Decimal) -> Option<Decimal> {
    if cost <= Decimal::ZERO {
        return None;
    }
    Some(
        income
            .checked_mul(Decimal::ONE_HUNDRED)?
            .checked_div(cost)?
            .round_dp(2),
    )
}

/// "Mar 2024".
pub fn month_label((year, month): (i32, u8)) -> String {
    let name = Month::try_from(month).map_or("?", |m| match m {
        Month::January => "Jan",
        Month::February => "Feb",
        Month::March => "Mar",
        Month::April => "Apr",
        Month::May => "May",
        Month::June => "Jun",
        Month::July => "Jul",
        Month::August => "Aug",
        Month::September => "Sep",
        Month::October => "Oct",
        Month::November => "Nov",
        Month::December => "Dec",
    });
    format!("{name} {year}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn pay(day: Date, kind: IncomeKind, amount: &str, currency: &str, account: i64) -> Payment {
        Payment {
            day,
            kind,
            amount: d(amount),
            currency: currency.into(),
            account,
            holding: (kind == IncomeKind::Dividend).then(|| (7, "KO".to_string())),
        }
    }

    #[test]
    fn payments_add_up_by_month_year_holding_and_account_in_the_base_currency() {
        let today = date!(2024 - 06 - 15);
        let payments = [
            pay(date!(2023 - 06 - 15), IncomeKind::Dividend, "10", "USD", 1),
            pay(date!(2023 - 06 - 16), IncomeKind::Dividend, "20", "USD", 1),
            pay(date!(2024 - 03 - 01), IncomeKind::Dividend, "30", "EUR", 2),
            pay(
                date!(2024 - 03 - 31),
                IncomeKind::Interest,
                "1.25",
                "USD",
                2,
            ),
            pay(date!(2024 - 04 - 01), IncomeKind::Interest, "5", "JPY", 2),
        ];
        let rate = |c: &str, _: Date| match c {
            "USD" => Some(Decimal::ONE),
            "EUR" => Some(d("1.1")),
            _ => None,
        };
        let income = Income::new(&payments, rate, today);
        // The day a year ago is outside the twelve months; the day after it is in.
        assert_eq!(trailing_start(today), date!(2023 - 06 - 16));
        assert_eq!(income.trailing_12m.dividends, d("53.0"));
        assert_eq!(income.trailing_12m.interest, d("1.25"));
        assert_eq!(income.years[&2023].total(), d("30"));
        assert_eq!(income.years[&2024].dividends, d("33.0"));
        assert_eq!(income.months[&(2024, 3)].total(), d("34.25"));
        // Months without a payment are there, as zero, up to today's.
        assert_eq!(income.months.len(), 13);
        assert_eq!(income.months[&(2024, 6)], Split::default());
        assert_eq!(income.accounts[&2].total(), d("34.25"));
        let ko = &income.holdings[&7];
        assert_eq!((ko.all_time, ko.trailing_12m), (d("63.0"), d("53.0")));
        assert_eq!(income.no_rate, BTreeSet::from(["JPY".to_string()]));
        let twelve = income.last_twelve_months(today);
        assert_eq!(twelve.len(), 12);
        assert_eq!(twelve[0].0, (2023, 7));
        assert_eq!(twelve[11].0, (2024, 6));
        assert_eq!(yield_on_cost(d("53"), d("1000")), Some(d("5.30")));
        assert_eq!(yield_on_cost(d("53"), Decimal::ZERO), None);
        assert_eq!(month_label((2024, 3)), "Mar 2024");
        // A leap day's year ago is the 28th.
        assert_eq!(trailing_start(date!(2024 - 02 - 29)), date!(2023 - 03 - 01));
    }
}
