//! Exchange rates over time: what a transaction in another currency cost or brought in the
//! base currency on its own day.
//!
//! Market values (and cash) convert at today's rate; costs, realized gains, dividends and
//! interest at the rate of the day they happened. The difference between the cost at today's
//! rate and at the purchases' own rates is the gain the currency made (see
//! [`crate::domain::Totals::at_own_day_rates`]): the gain at today's rate is the price's.
//!
//! A day without a close (a weekend, a holiday, a gap in a service's series) takes the nearest
//! earlier one; one more than [`GAP_DAYS`] older, or none earlier at all (today's rate is
//! used then), is a gap the page names.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;
use time::Date;

use super::cash::{CashKind, CashTx};
use super::ledger::{Ledger, TxAmounts};
use super::position::{Position, Sums};
use super::quote::PricePoint;

/// How much older than its day a rate may be without being a gap: a weekend and a holiday.
pub const GAP_DAYS: i64 = 4;

/// A day whose rate came from another day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FxGap {
    pub currency: String,
    /// The day a rate was wanted for.
    pub day: Date,
    /// The day of the rate used; `None`: no close on or before it, today's rate was used.
    pub used: Option<Date>,
}

/// Each currency's daily closes in the base currency, and today's rates.
#[derive(Debug, Clone, Default)]
pub struct FxHistory {
    base: String,
    /// Oldest first, one per day.
    closes: HashMap<String, Vec<PricePoint>>,
    today: HashMap<String, Decimal>,
}

impl FxHistory {
    /// Rates to `base`; `today` is each currency's rate now (the base's own is 1 anyway).
    pub fn new(base: &str, today: impl IntoIterator<Item = (String, Decimal)>) -> FxHistory {
        FxHistory {
            base: base.to_ascii_uppercase(),
            closes: HashMap::new(),
            today: today.into_iter().collect(),
        }
    }

    /// Adds a currency's daily closes (oldest first). Currencies are ISO 4217 codes, upper
    /// case, as stored; they are looked up as given.
    pub fn add(&mut self, currency: &str, closes: Vec<PricePoint>) {
        self.closes.insert(currency.to_string(), closes);
    }

    /// Whether past closes of `currency` are known (the base currency needs none).
    pub fn has_history(&self, currency: &str) -> bool {
        currency.eq_ignore_ascii_case(&self.base)
            || self.closes.get(currency).is_some_and(|c| !c.is_empty())
    }

    /// Today's rate of `currency`.
    pub fn today(&self, currency: &str) -> Option<Decimal> {
        if currency.eq_ignore_ascii_case(&self.base) {
            return Some(Decimal::ONE);
        }
        self.today.get(currency).copied()
    }

    /// The rate of `day`: its close or the nearest earlier one; today's when none is that
    /// early. With the gap, when it is one. `None`: no rate at all.
    pub fn on(&self, currency: &str, day: Date) -> Option<(Decimal, Option<FxGap>)> {
        if currency.eq_ignore_ascii_case(&self.base) {
            return Some((Decimal::ONE, None));
        }
        let gap = |used| FxGap {
            currency: currency.to_string(),
            day,
            used,
        };
        let closes = self.closes.get(currency).map_or(&[][..], Vec::as_slice);
        let after = closes.partition_point(|p| p.date <= day);
        match after.checked_sub(1).and_then(|i| closes.get(i)) {
            Some(p) => {
                let stale = (day - p.date).whole_days() > GAP_DAYS;
                Some((p.close, stale.then(|| gap(Some(p.date)))))
            }
            None => {
                let rate = self.today(currency)?;
                // Without any history the caller names the currency as a whole.
                let named = (!closes.is_empty()).then(|| gap(None));
                Some((rate, named))
            }
        }
    }
}

/// Converts amounts at their own day's rate, remembering the gaps it met.
pub struct Converter<'a> {
    fx: &'a FxHistory,
    pub gaps: BTreeSet<FxGap>,
}

impl<'a> Converter<'a> {
    pub fn new(fx: &'a FxHistory) -> Self {
        Converter {
            fx,
            gaps: BTreeSet::new(),
        }
    }

    /// The rate of `currency` on `day` (see [`FxHistory::on`]).
    pub fn rate(&mut self, currency: &str, day: Date) -> Option<Decimal> {
        let (rate, gap) = self.fx.on(currency, day)?;
        if let Some(gap) = gap {
            self.gaps.insert(gap);
        }
        Some(rate)
    }

    /// A transaction's amounts (price, cash amount, fees) in the base currency at its day's
    /// rate; units and split ratios stay as they are.
    pub fn transaction(&mut self, currency: &str, tx: &TxAmounts) -> Option<TxAmounts> {
        let rate = self.rate(currency, tx.day)?;
        let times = |v: Option<Decimal>| match v {
            Some(v) => v.checked_mul(rate).map(Some),
            None => Some(None),
        };
        Some(TxAmounts {
            price: times(tx.price)?,
            amount: times(tx.amount)?,
            fees: tx.fees.checked_mul(rate)?,
            ..tx.clone()
        })
    }

    /// What a holding's transactions add up to in the base currency, each at its own day's
    /// rate; `None` when a rate is missing or they do not add up.
    pub fn ledger<'t>(
        &mut self,
        currency: &str,
        txs: impl IntoIterator<Item = &'t TxAmounts>,
    ) -> Option<Ledger> {
        let converted = txs
            .into_iter()
            .map(|t| self.transaction(currency, t))
            .collect::<Option<Vec<_>>>()?;
        Ledger::replay(&converted).ok()
    }
}

/// Each foreign currency's cost, realized gain, sold cost, dividends and interest (less the
/// accounts' fees) in the base currency at the rate of each transaction's own day: over the
/// `positions` (their transactions in `transactions`, by holding id, only `account`'s when
/// given) and the cash transactions of the accounts `shown` keeps. Only those fields of each
/// [`Sums`] are filled; they cover what [`crate::domain::position::sums_by_currency`] and
/// [`crate::domain::position::add_cash`] sum, so the two can be set side by side. A position
/// without transactions (a quantity and cost entered alone) has no day: it counts at today's
/// rate. Returns the gaps met too.
pub fn own_day_sums(
    fx: &FxHistory,
    positions: &[Position],
    transactions: &HashMap<i64, Vec<TxAmounts>>,
    account: Option<i64>,
    cash: &[CashTx],
    shown: impl Fn(i64) -> bool,
) -> (BTreeMap<String, Sums>, BTreeSet<FxGap>) {
    let mut conv = Converter::new(fx);
    let mut sums: BTreeMap<String, Sums> = BTreeMap::new();
    let foreign = |c: &str| !c.eq_ignore_ascii_case(&fx.base) && fx.has_history(c);
    for p in positions.iter().filter(|p| foreign(p.currency())) {
        let currency = p.currency();
        let Some(today) = fx.today(currency) else {
            continue;
        };
        let txs: Vec<&TxAmounts> = transactions
            .get(&p.holding.id)
            .into_iter()
            .flatten()
            .filter(|t| account.is_none_or(|a| a == t.account))
            .collect();
        let ledger = if txs.is_empty() {
            None
        } else {
            conv.ledger(currency, txs)
        };
        let at_today = |v: Option<Decimal>| v.and_then(|v| v.checked_mul(today));
        // Cost, realized gain, sold cost, dividends.
        let [cost, realized, sold_cost, dividends] = match ledger {
            Some(l) => [
                p.gain().and(l.cost).map(|c| c.round_dp(8)),
                Some(l.realized),
                Some(l.sold_cost),
                Some(l.dividends),
            ],
            None => [
                at_today(p.gain().and(p.cost())),
                at_today(p.realized()),
                at_today(p.ledger.as_ref().map(|l| l.sold_cost)),
                at_today(p.dividends()),
            ],
        };
        let s = sums.entry(currency.to_string()).or_default();
        add(&mut s.cost, cost);
        add(&mut s.realized, realized);
        add(&mut s.sold_cost, sold_cost);
        add(&mut s.dividends, dividends);
    }
    for tx in cash
        .iter()
        .filter(|t| shown(t.account) && foreign(&t.currency))
    {
        let sign = match tx.kind {
            CashKind::Interest => Decimal::ONE,
            CashKind::Fee => Decimal::NEGATIVE_ONE,
            _ => continue,
        };
        let amount = conv
            .rate(&tx.currency, tx.day)
            .and_then(|r| tx.amount.checked_mul(r))
            .and_then(|a| a.checked_mul(sign));
        let s = sums.entry(tx.currency.clone()).or_default();
        add(&mut s.interest, amount);
    }
    (sums, conv.gaps)
}

/// `to += by`; a part unknown (or too large) counts as nothing, as the today's-rate sums do.
fn add(to: &mut Decimal, by: Option<Decimal>) {
    if let Some(sum) = by.and_then(|b| to.checked_add(b)) {
        *to = sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cash::CashKind;
    use crate::domain::ledger::TxKind;
    use crate::domain::position::{add_cash, sums_by_currency};
    use crate::domain::{Asset, AssetKind, Holding, Quote, Symbol, Totals};
    use time::OffsetDateTime;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn close(date: Date, close: &str) -> PricePoint {
        PricePoint {
            date,
            close: d(close),
        }
    }

    fn tx(kind: TxKind, day: Date, quantity: &str, price: &str, amount: &str) -> TxAmounts {
        let opt = |s: &str| (!s.is_empty()).then(|| d(s));
        TxAmounts {
            kind,
            day,
            quantity: opt(quantity),
            price: opt(price),
            amount: opt(amount),
            ratio: None,
            fees: Decimal::ZERO,
            account: 1,
        }
    }

    fn position(id: i64, symbol: &str, currency: &str, price: &str, txs: &[TxAmounts]) -> Position {
        let ledger = Ledger::replay(txs).unwrap();
        let symbol = Symbol::parse(symbol).unwrap();
        Position {
            holding: Holding {
                id,
                asset: Asset {
                    id,
                    symbol: symbol.clone(),
                    kind: AssetKind::Stock,
                    name: None,
                    currency: currency.into(),
                },
                quantity: ledger.quantity,
                cost_basis: ledger.average_cost(),
                notes: None,
                created_at: OffsetDateTime::UNIX_EPOCH,
                updated_at: OffsetDateTime::UNIX_EPOCH,
            },
            quote: Some(Quote {
                currency: Some(currency.into()),
                ..Quote::new(symbol, d(price), "test")
            }),
            ledger: Some(ledger),
        }
    }

    fn cash(kind: CashKind, day: Date, amount: &str, currency: &str) -> CashTx {
        CashTx {
            id: 0,
            kind,
            day,
            amount: d(amount),
            currency: currency.into(),
            account: 1,
            to_account: None,
            notes: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// EUR closes 1.10 on 2 Jan, 1.20 on 3 Jan, 1.05 on 1 Feb; today 1.08. GBP: one close,
    /// 1.27 on 2 Jan; today 1.25.
    fn rates() -> FxHistory {
        let mut fx = FxHistory::new(
            "USD",
            [("EUR".into(), d("1.08")), ("GBP".into(), d("1.25"))],
        );
        fx.add(
            "EUR",
            vec![
                close(date!(2024 - 01 - 02), "1.10"),
                close(date!(2024 - 01 - 03), "1.20"),
                close(date!(2024 - 02 - 01), "1.05"),
            ],
        );
        fx.add("GBP", vec![close(date!(2024 - 01 - 02), "1.27")]);
        fx
    }

    #[test]
    fn a_day_takes_its_close_or_the_nearest_earlier_and_names_a_gap() {
        let fx = rates();
        assert_eq!(fx.on("EUR", date!(2024 - 01 - 03)), Some((d("1.20"), None)));
        // A weekend and more, up to four days: the earlier close, no gap.
        assert_eq!(fx.on("EUR", date!(2024 - 02 - 05)), Some((d("1.05"), None)));
        let gap = |day, used| FxGap {
            currency: "EUR".into(),
            day,
            used,
        };
        assert_eq!(
            fx.on("EUR", date!(2024 - 01 - 10)),
            Some((
                d("1.20"),
                Some(gap(date!(2024 - 01 - 10), Some(date!(2024 - 01 - 03))))
            ))
        );
        // Before the first close: today's rate, named.
        assert_eq!(
            fx.on("EUR", date!(2023 - 12 - 01)),
            Some((d("1.08"), Some(gap(date!(2023 - 12 - 01), None))))
        );
        assert_eq!(
            fx.on("usd", date!(2020 - 01 - 01)),
            Some((Decimal::ONE, None))
        );
        assert_eq!(fx.on("JPY", date!(2024 - 01 - 03)), None);
        assert!(!fx.has_history("JPY") && fx.has_history("USD"));
    }

    /// Worked by hand: 10 SAP bought at 100 EUR + 5 fee on 2 Jan (1,005 EUR = 1,105.50 USD at
    /// 1.10), 4 sold at 110 on 3 Jan (440 EUR = 528 USD at 1.20; they cost 402 EUR, 442.20
    /// USD), a 20 EUR dividend on 5 Feb (21 USD at 1 Feb's 1.05), the 6 left at 120 EUR today
    /// (720 EUR = 777.60 USD at 1.08). 3 BP.L bought at 5 GBP on 15 Jan (15 GBP = 19.05 USD: a
    /// gap, 2 Jan's 1.27 used), at 6 today (18 GBP = 22.50 USD at 1.25). 100 AAPL in USD untouched. Interest 10 EUR on 3 Jan (12 USD),
    /// an account fee of 2 EUR on 1 Feb (2.10 USD).
    #[test]
    fn costs_realized_gains_dividends_and_interest_convert_at_their_own_days_rates() {
        let fx = rates();
        let mut sap_buy = tx(TxKind::Buy, date!(2024 - 01 - 02), "10", "100", "");
        sap_buy.fees = d("5");
        let sap = [
            sap_buy,
            tx(TxKind::Sell, date!(2024 - 01 - 03), "4", "110", ""),
            tx(TxKind::Dividend, date!(2024 - 02 - 05), "", "", "20"),
        ];
        let bp = [tx(TxKind::Buy, date!(2024 - 01 - 15), "3", "5", "")];
        let aapl = [tx(TxKind::Buy, date!(2024 - 01 - 02), "100", "150", "")];
        let positions = vec![
            position(1, "SAP", "EUR", "120", &sap),
            position(2, "BP.L", "GBP", "6", &bp),
            position(3, "AAPL", "USD", "200", &aapl),
        ];
        let transactions: HashMap<i64, Vec<TxAmounts>> =
            HashMap::from([(1, sap.to_vec()), (2, bp.to_vec()), (3, aapl.to_vec())]);
        let cash_txs = [
            cash(CashKind::Interest, date!(2024 - 01 - 03), "10", "EUR"),
            cash(CashKind::Fee, date!(2024 - 02 - 01), "2", "EUR"),
            cash(CashKind::Deposit, date!(2024 - 01 - 01), "5000", "EUR"),
        ];
        let (own, gaps) = own_day_sums(&fx, &positions, &transactions, None, &cash_txs, |_| true);
        let eur = &own["EUR"];
        assert_eq!(eur.cost, d("663.30"));
        assert_eq!(eur.realized, d("85.80"));
        assert_eq!(eur.sold_cost, d("442.20"));
        assert_eq!(eur.dividends, d("21.00"));
        assert_eq!(eur.interest, d("9.90"));
        assert_eq!(own["GBP"].cost, d("19.05"));
        assert!(!own.contains_key("USD"));
        assert_eq!(
            gaps.into_iter().collect::<Vec<_>>(),
            [FxGap {
                currency: "GBP".into(),
                day: date!(2024 - 01 - 15),
                used: Some(date!(2024 - 01 - 02)),
            }]
        );

        let (mut by_currency, unpriced) = sums_by_currency(&positions);
        let mut book = crate::domain::cash::CashBook::default();
        book.balances.insert(
            (1, "EUR".into()),
            crate::domain::cash::Balance {
                balance: d("5008"),
                net_deposits: d("5000"),
                interest: d("10"),
                fees: d("2"),
            },
        );
        add_cash(&mut by_currency, &book.by_currency(|_| true));
        let rate = |c: &str| fx.today(c);
        let today_rates = by_currency.keys().map(|c| rate(c)).collect();
        let mut totals = Totals::new("USD", by_currency, unpriced, today_rates);
        // At today's rates: SAP cost 603 EUR = 651.24, gain 117 EUR = 126.36; BP cost 15 GBP
        // = 18.75, gain 3 GBP = 3.75; AAPL cost 15,000, gain 5,000.
        assert_eq!(totals.total.cost, d("15669.99"));
        assert_eq!(totals.total.gain, d("5130.11"));
        totals.at_own_day_rates(&own);
        let t = &totals.total;
        // 663.30 + 19.05 + 15,000.
        assert_eq!(t.cost, d("15682.35"));
        // Values at today's rates less the costs at their own: 777.60 − 663.30, 22.50 − 19.05.
        assert_eq!(t.gain, d("5117.75"));
        // The cost at today's rate less at its own day's: 651.24 − 663.30 and 18.75 − 19.05.
        assert_eq!(totals.currency_gain, Some(d("-12.36")));
        assert_eq!(totals.price_gain(), Some(d("5130.11")));
        assert_eq!(t.realized, d("85.80"));
        assert_eq!(t.sold_cost, d("442.20"));
        assert_eq!(t.dividends, d("21.00"));
        assert_eq!(t.interest, d("9.90"));
        // Value and cash stay at today's rates.
        assert_eq!(t.value, d("20800.10"));
        assert_eq!(t.cash, d("5408.64"));
    }

    #[test]
    fn interest_in_a_currency_held_as_cash_alone_has_no_currency_gain() {
        let fx = rates();
        let cash_txs = [cash(CashKind::Interest, date!(2024 - 01 - 03), "10", "EUR")];
        let (own, _) = own_day_sums(&fx, &[], &HashMap::new(), None, &cash_txs, |_| true);
        let mut by_currency = std::collections::BTreeMap::new();
        by_currency.insert(
            "EUR".to_string(),
            Sums {
                cash: d("10"),
                interest: d("10"),
                ..Sums::default()
            },
        );
        let mut totals = Totals::new("USD", by_currency, 0, vec![Some(d("1.08"))]);
        totals.at_own_day_rates(&own);
        assert_eq!(totals.total.interest, d("12.00"), "at 3 January's 1.20");
        assert_eq!(totals.total.cash, d("10.80"), "at today's 1.08");
        assert_eq!(totals.currency_gain, None, "no holding: no split to show");
    }

    #[test]
    fn a_currency_without_past_rates_keeps_todays() {
        let fx = FxHistory::new("USD", [("EUR".into(), d("1.08"))]);
        let buy = [tx(TxKind::Buy, date!(2024 - 01 - 02), "1", "100", "")];
        let positions = vec![position(1, "SAP", "EUR", "120", &buy)];
        let transactions = HashMap::from([(1, buy.to_vec())]);
        let (own, gaps) = own_day_sums(&fx, &positions, &transactions, None, &[], |_| true);
        assert!(own.is_empty() && gaps.is_empty());
    }
}
