//! A holding's transactions, replayed in order, give its quantity, cost basis and gains.
//!
//! The average-cost method: a buy adds `quantity × price + fees` to the cost; a sell takes out
//! the average cost of the units sold (`cost × sold / held`) and realizes `quantity × price −
//! fees − that cost`; a split multiplies the quantity and leaves the cost alone; a dividend adds
//! `amount − fees` to the dividends received; a fee (custody, account) is a realized loss of its
//! amount. All in the asset's currency. Selling more than is held at that point is refused, so
//! the quantity never goes negative.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;

/// What a transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TxKind {
    Buy,
    Sell,
    Dividend,
    Fee,
    Split,
}

impl TxKind {
    pub const ALL: [TxKind; 5] = [
        TxKind::Buy,
        TxKind::Sell,
        TxKind::Dividend,
        TxKind::Fee,
        TxKind::Split,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Buy => "buy",
            TxKind::Sell => "sell",
            TxKind::Dividend => "dividend",
            TxKind::Fee => "fee",
            TxKind::Split => "split",
        }
    }
}

impl std::str::FromStr for TxKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "buy" | "purchase" | "bought" => Ok(TxKind::Buy),
            "sell" | "sale" | "sold" => Ok(TxKind::Sell),
            "dividend" | "div" => Ok(TxKind::Dividend),
            "fee" | "fees" => Ok(TxKind::Fee),
            "split" => Ok(TxKind::Split),
            other => Err(format!(
                "type {other:?} is not one of buy, sell, dividend, fee, split"
            )),
        }
    }
}

impl std::fmt::Display for TxKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The amounts of one transaction; which ones apply depends on its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct TxAmounts {
    pub kind: TxKind,
    pub day: Date,
    /// Units bought or sold (buy, sell).
    pub quantity: Option<Decimal>,
    /// Price per unit (buy, sell); a buy without one has an unknown cost.
    pub price: Option<Decimal>,
    /// Cash received or paid in total (dividend, fee).
    pub amount: Option<Decimal>,
    /// New units per old unit (split): 2 for a 2-for-1 split, 0.5 for a 1-for-2 reverse split.
    pub ratio: Option<Decimal>,
    /// Commission or withholding (buy, sell, dividend).
    pub fees: Decimal,
    /// The account the units are in: each account's units are replayed on their own (a sell
    /// takes from its account's units, at their average cost).
    pub account: i64,
}

/// Where a holding stands after its transactions: the sums over its accounts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ledger {
    pub quantity: Decimal,
    /// Total cost of the units held; `None` once a buy without a price is part of it.
    pub cost: Option<Decimal>,
    /// Gains realized by sells, less standalone fees.
    pub realized: Decimal,
    /// What the units sold had cost (of sells whose cost was known): with `cost`, the money
    /// put into the position.
    pub sold_cost: Decimal,
    /// Dividends received, net of their fees.
    pub dividends: Decimal,
    /// Every fee paid (on buys, sells, dividends and standalone).
    pub fees: Decimal,
    /// Each account's own, by account id.
    books: BTreeMap<i64, Book>,
}

/// One account's units of an asset and what they did: a ledger of one account.
#[derive(Debug, Clone, PartialEq, Default)]
struct Book {
    quantity: Decimal,
    cost: Option<Decimal>,
    realized: Decimal,
    sold_cost: Decimal,
    dividends: Decimal,
    fees: Decimal,
}

/// Why a list of transactions cannot stand, and which one (its position in the replay order).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub index: usize,
    pub message: String,
}

impl Ledger {
    /// Average cost per unit, when known and something is held.
    pub fn average_cost(&self) -> Option<Decimal> {
        let cost = self.cost?;
        if self.quantity.is_zero() {
            return None;
        }
        cost.checked_div(self.quantity).map(|c| c.round_dp(8))
    }

    /// A ledger before any transaction, to [`Ledger::apply`] them to one at a time in replay
    /// order.
    pub fn start() -> Ledger {
        Ledger {
            cost: Some(Decimal::ZERO),
            ..Ledger::default()
        }
    }

    /// Replays transactions already in order (by day, then as entered).
    pub fn replay<'a>(txs: impl IntoIterator<Item = &'a TxAmounts>) -> Result<Ledger, Refusal> {
        let mut ledger = Ledger::start();
        for (index, tx) in txs.into_iter().enumerate() {
            ledger
                .apply(tx)
                .map_err(|message| Refusal { index, message })?;
        }
        Ok(ledger)
    }

    /// The quantity held after each day's transactions (given in replay order), by the same
    /// rules as [`Ledger::replay`]: one `(day, quantity)` per day that has transactions.
    pub fn quantities<'a>(
        txs: impl IntoIterator<Item = &'a TxAmounts>,
    ) -> Result<Vec<(Date, Decimal)>, Refusal> {
        let mut ledger = Ledger::start();
        let mut steps: Vec<(Date, Decimal)> = Vec::new();
        for (index, tx) in txs.into_iter().enumerate() {
            ledger
                .apply(tx)
                .map_err(|message| Refusal { index, message })?;
            match steps.last_mut() {
                Some((day, quantity)) if *day == tx.day => *quantity = ledger.quantity,
                _ => steps.push((tx.day, ledger.quantity)),
            }
        }
        Ok(steps)
    }

    /// The next transaction in replay order, applied to its account's units; why not when it
    /// cannot be (nothing changes then).
    ///
    /// A split is the asset's, not an account's: it multiplies the units of every account
    /// that holds some, whichever account it is recorded in.
    pub fn apply(&mut self, tx: &TxAmounts) -> Result<(), String> {
        let start = || Book {
            cost: Some(Decimal::ZERO),
            ..Book::default()
        };
        if tx.kind == TxKind::Split {
            if tx.fees.is_sign_negative() {
                return Err("fees cannot be negative".into());
            }
            positive(tx.ratio, "ratio")?;
            if self.quantity.is_zero() {
                return Err(format!("a split on {} with nothing held", tx.day));
            }
            // Each account holding units splits them; the fees are the recording account's.
            let units_only = TxAmounts {
                fees: Decimal::ZERO,
                ..tx.clone()
            };
            let mut books = self.books.clone();
            for book in books.values_mut().filter(|b| !b.quantity.is_zero()) {
                book.apply(&units_only)?;
            }
            let overflow = || "the amounts are too large to add up".to_string();
            let book = books.entry(tx.account).or_insert_with(start);
            book.fees = book.fees.checked_add(tx.fees).ok_or_else(overflow)?;
            self.books = books;
            return self.add_up();
        }
        let book = self.books.entry(tx.account).or_insert_with(start);
        let mut next = book.clone();
        next.apply(tx)?;
        *book = next;
        self.add_up()
    }

    /// The sums over the accounts.
    fn add_up(&mut self) -> Result<(), String> {
        let overflow = || "the amounts are too large to add up".to_string();
        let sum = |f: fn(&Book) -> Decimal| {
            self.books
                .values()
                .try_fold(Decimal::ZERO, |a, b| a.checked_add(f(b)))
                .ok_or_else(overflow)
        };
        let quantity = sum(|b| b.quantity)?;
        let realized = sum(|b| b.realized)?;
        let sold_cost = sum(|b| b.sold_cost)?;
        let dividends = sum(|b| b.dividends)?;
        let fees = sum(|b| b.fees)?;
        // Unknown once any account's cost is.
        let mut cost = Some(Decimal::ZERO);
        for b in self.books.values() {
            cost = match (cost, b.cost) {
                (Some(total), Some(c)) => Some(total.checked_add(c).ok_or_else(overflow)?),
                _ => None,
            };
        }
        *self = Ledger {
            quantity,
            cost,
            realized,
            sold_cost,
            dividends,
            fees,
            books: std::mem::take(&mut self.books),
        };
        Ok(())
    }

    /// Market value at `price`.
    pub fn value(&self, price: Decimal) -> Option<Decimal> {
        self.quantity.checked_mul(price)
    }

    /// Unrealized gain at `price` (value − cost), when the cost is known.
    pub fn unrealized(&self, price: Decimal) -> Option<Decimal> {
        self.value(price)?.checked_sub(self.cost?)
    }

    /// Unrealized gain as a percent of the cost.
    pub fn unrealized_percent(&self, price: Decimal) -> Option<Decimal> {
        let cost = self.cost?;
        if cost.is_zero() {
            return None;
        }
        Some(
            self.unrealized(price)?
                .checked_mul(Decimal::ONE_HUNDRED)?
                .checked_div(cost)?
                .round_dp(2),
        )
    }
}

impl Book {
    /// The next transaction of this account, by the rules of the module's head.
    fn apply(&mut self, tx: &TxAmounts) -> Result<(), String> {
        let overflow = || "the amounts are too large to add up".to_string();
        let fees = tx.fees;
        if fees.is_sign_negative() {
            return Err("fees cannot be negative".into());
        }
        match tx.kind {
            TxKind::Buy => {
                let quantity = positive(tx.quantity, "quantity")?;
                self.quantity = self.quantity.checked_add(quantity).ok_or_else(overflow)?;
                self.cost = match (self.cost, tx.price) {
                    (Some(cost), Some(price)) => {
                        if price.is_sign_negative() {
                            return Err("price cannot be negative".into());
                        }
                        let paid = quantity
                            .checked_mul(price)
                            .and_then(|p| p.checked_add(fees))
                            .ok_or_else(overflow)?;
                        Some(cost.checked_add(paid).ok_or_else(overflow)?)
                    }
                    _ => None,
                };
            }
            TxKind::Sell => {
                let quantity = positive(tx.quantity, "quantity")?;
                let price = tx.price.ok_or("a sell needs a price")?;
                if price.is_sign_negative() {
                    return Err("price cannot be negative".into());
                }
                if quantity > self.quantity {
                    return Err(format!(
                        "sells {quantity} but only {} are held on {}",
                        self.quantity.normalize(),
                        tx.day
                    ));
                }
                let proceeds = quantity
                    .checked_mul(price)
                    .and_then(|p| p.checked_sub(fees))
                    .ok_or_else(overflow)?;
                let left = self.quantity - quantity;
                match self.cost {
                    Some(cost) => {
                        // The cost of what stays, rounded; what leaves is the rest, so the
                        // cost never drifts from the sum of its parts.
                        let kept = if left.is_zero() {
                            Decimal::ZERO
                        } else {
                            cost.checked_mul(left)
                                .and_then(|c| c.checked_div(self.quantity))
                                .ok_or_else(overflow)?
                                .round_dp(8)
                        };
                        let sold_cost = cost.checked_sub(kept).ok_or_else(overflow)?;
                        self.realized = proceeds
                            .checked_sub(sold_cost)
                            .and_then(|gain| self.realized.checked_add(gain))
                            .ok_or_else(overflow)?;
                        self.sold_cost =
                            self.sold_cost.checked_add(sold_cost).ok_or_else(overflow)?;
                        self.cost = Some(kept);
                    }
                    None => {
                        // Unknown cost: nothing can be said about the gain.
                        if left.is_zero() {
                            self.cost = Some(Decimal::ZERO);
                        }
                    }
                }
                self.quantity = left;
            }
            TxKind::Dividend => {
                let amount = positive(tx.amount, "amount")?;
                if fees > amount {
                    return Err("the fees of a dividend cannot exceed its amount".into());
                }
                self.dividends = self
                    .dividends
                    .checked_add(amount - fees)
                    .ok_or_else(overflow)?;
            }
            TxKind::Fee => {
                // A fee's own `fees` (a charge on the charge) count with its amount.
                let amount = positive(tx.amount, "amount")?
                    .checked_add(fees)
                    .ok_or_else(overflow)?;
                self.realized = self.realized.checked_sub(amount).ok_or_else(overflow)?;
                self.fees = self.fees.checked_add(amount).ok_or_else(overflow)?;
                return Ok(());
            }
            TxKind::Split => {
                let ratio = positive(tx.ratio, "ratio")?;
                if self.quantity.is_zero() {
                    return Err(format!("a split on {} with nothing held", tx.day));
                }
                self.quantity = self
                    .quantity
                    .checked_mul(ratio)
                    .ok_or_else(overflow)?
                    .round_dp(8);
            }
        }
        self.fees = self.fees.checked_add(fees).ok_or_else(overflow)?;
        Ok(())
    }
}

fn positive(value: Option<Decimal>, name: &str) -> Result<Decimal, String> {
    match value {
        Some(v) if v > Decimal::ZERO => Ok(v),
        Some(_) => Err(format!("{name} must be greater than 0")),
        None => Err(format!("{name} is required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal literal")
    }

    fn day(n: u8) -> Date {
        Date::from_calendar_date(2024, time::Month::March, n).expect("date")
    }

    fn buy(n: u8, q: &str, p: &str, fees: &str) -> TxAmounts {
        TxAmounts {
            kind: TxKind::Buy,
            day: day(n),
            quantity: Some(d(q)),
            price: Some(d(p)),
            amount: None,
            ratio: None,
            fees: d(fees),
            account: 0,
        }
    }

    fn sell(n: u8, q: &str, p: &str, fees: &str) -> TxAmounts {
        TxAmounts {
            kind: TxKind::Sell,
            ..buy(n, q, p, fees)
        }
    }

    fn cash(kind: TxKind, n: u8, amount: &str, fees: &str) -> TxAmounts {
        TxAmounts {
            kind,
            day: day(n),
            quantity: None,
            price: None,
            amount: Some(d(amount)),
            ratio: None,
            fees: d(fees),
            account: 0,
        }
    }

    fn split(n: u8, ratio: &str) -> TxAmounts {
        TxAmounts {
            kind: TxKind::Split,
            day: day(n),
            quantity: None,
            price: None,
            amount: None,
            ratio: Some(d(ratio)),
            fees: Decimal::ZERO,
            account: 0,
        }
    }

    #[test]
    fn each_account_sells_its_own_units_at_its_own_average_cost() {
        let in_account = |account, tx: TxAmounts| TxAmounts { account, ..tx };
        // Account 1: 10 @ 10; account 2: 5 @ 20. Account 1 sells 5 @ 30: 150 − 50 = 100.
        let l = Ledger::replay(&[
            in_account(1, buy(1, "10", "10", "0")),
            in_account(2, buy(2, "5", "20", "0")),
            in_account(1, sell(3, "5", "30", "0")),
        ])
        .unwrap();
        assert_eq!(
            (l.quantity, l.cost, l.realized, l.sold_cost),
            (d("10"), Some(d("150")), d("100"), d("50"))
        );
        // Account 2 holds 5: it cannot sell 6, though 15 are held in all.
        let refused = Ledger::replay(&[
            in_account(1, buy(1, "10", "10", "0")),
            in_account(2, buy(2, "5", "20", "0")),
            in_account(2, sell(3, "6", "30", "0")),
        ])
        .unwrap_err();
        assert_eq!(refused.index, 2);
        assert!(
            refused.message.contains("only 5 are held"),
            "{}",
            refused.message
        );
        // A split is the asset's: recorded in account 1, it doubles account 2's units too, and
        // recorded in an account that holds none it still applies.
        let l = Ledger::replay(&[
            in_account(1, buy(1, "10", "10", "0")),
            in_account(2, buy(2, "5", "20", "0")),
            in_account(3, split(3, "2")),
            in_account(2, sell(4, "10", "30", "0")),
        ])
        .unwrap();
        assert_eq!(
            (l.quantity, l.cost, l.realized),
            (d("20"), Some(d("100")), d("200"))
        );
        assert!(Ledger::replay(&[in_account(1, split(1, "2"))]).is_err());
        // A buy without a price in one account makes the whole cost unknown.
        let mut unpriced = buy(2, "1", "1", "0");
        unpriced.price = None;
        let l = Ledger::replay(&[
            in_account(1, buy(1, "10", "10", "0")),
            in_account(2, unpriced),
        ])
        .unwrap();
        assert_eq!((l.quantity, l.cost), (d("11"), None));
    }

    #[test]
    fn the_cost_of_what_was_sold_adds_up_with_what_is_held_to_what_was_paid() {
        // 10 @ 100 + 10 fee = 1010; selling 4 takes 404 of it, then the last 6 take 606.
        let l = Ledger::replay(&[buy(1, "10", "100", "10"), sell(2, "4", "120", "0")]).unwrap();
        assert_eq!((l.cost, l.sold_cost), (Some(d("606")), d("404")));
        assert_eq!(l.realized, d("76"), "480 − 404");
        let l = Ledger::replay(&[
            buy(1, "10", "100", "10"),
            sell(2, "4", "120", "0"),
            sell(3, "6", "90", "0"),
        ])
        .unwrap();
        assert_eq!((l.cost, l.sold_cost), (Some(d("0")), d("1010")));
    }

    #[test]
    fn buys_at_several_prices_average_their_cost_with_fees() {
        // 10 @ 100 + 1 fee = 1001; 30 @ 120 + 2 fee = 3602; 40 units cost 4603.
        let l = Ledger::replay(&[buy(1, "10", "100", "1"), buy(2, "30", "120", "2")]).unwrap();
        assert_eq!(l.quantity, d("40"));
        assert_eq!(l.cost, Some(d("4603")));
        assert_eq!(l.average_cost(), Some(d("115.075")));
        assert_eq!(l.fees, d("3"));
        // At 130: value 5200, unrealized 597, 12.97 % of 4603.
        assert_eq!(l.value(d("130")), Some(d("5200")));
        assert_eq!(l.unrealized(d("130")), Some(d("597")));
        assert_eq!(l.unrealized_percent(d("130")), Some(d("12.97")));
    }

    #[test]
    fn a_partial_sell_realizes_against_the_average_cost() {
        // 40 units costing 4603 (avg 115.075); sell 15 @ 140 with 5 fee:
        // proceeds 2095, cost out 4603 × 15/40 = 1726.125, realized 368.875.
        let l = Ledger::replay(&[
            buy(1, "10", "100", "1"),
            buy(2, "30", "120", "2"),
            sell(3, "15", "140", "5"),
        ])
        .unwrap();
        assert_eq!(l.quantity, d("25"));
        assert_eq!(l.cost, Some(d("2876.875")));
        assert_eq!(l.realized, d("368.875"));
        assert_eq!(
            l.average_cost(),
            Some(d("115.075")),
            "a sell keeps the average"
        );
        assert_eq!(l.fees, d("8"));
    }

    #[test]
    fn a_split_multiplies_units_and_keeps_the_cost() {
        // 10 @ 300 = 3000; 3-for-1 → 30 units at avg 100; sell 12 @ 110 → realized 120.
        let l = Ledger::replay(&[
            buy(1, "10", "300", "0"),
            split(2, "3"),
            sell(3, "12", "110", "0"),
        ])
        .unwrap();
        assert_eq!(l.quantity, d("18"));
        assert_eq!(l.cost, Some(d("1800")));
        assert_eq!(l.realized, d("120"));
        // A reverse split halves the units.
        let l = Ledger::replay(&[buy(1, "10", "5", "0"), split(2, "0.5")]).unwrap();
        assert_eq!(l.quantity, d("5"));
        assert_eq!(l.average_cost(), Some(d("10")));
    }

    #[test]
    fn dividends_and_fees_are_counted_apart_from_the_cost() {
        let l = Ledger::replay(&[
            buy(1, "100", "20", "0"),
            cash(TxKind::Dividend, 2, "50", "7.5"),
            cash(TxKind::Fee, 3, "12", "0"),
        ])
        .unwrap();
        assert_eq!(l.cost, Some(d("2000")));
        assert_eq!(l.dividends, d("42.5"));
        assert_eq!(l.realized, d("-12"));
        assert_eq!(l.fees, d("19.5"));
    }

    #[test]
    fn selling_everything_leaves_no_cost_dust() {
        // Thirds do not divide evenly; the last sell takes the exact remainder.
        let l = Ledger::replay(&[
            buy(1, "3", "10", "0.01"),
            sell(2, "1", "11", "0"),
            sell(3, "1", "11", "0"),
            sell(4, "1", "11", "0"),
        ])
        .unwrap();
        assert_eq!(l.quantity, Decimal::ZERO);
        assert_eq!(l.cost, Some(Decimal::ZERO));
        assert_eq!(l.realized, d("2.99"), "3 × 11 − 30.01");
    }

    #[test]
    fn overselling_and_bad_amounts_are_refused_naming_the_transaction() {
        let r = Ledger::replay(&[buy(1, "5", "10", "0"), sell(2, "6", "10", "0")]).unwrap_err();
        assert_eq!(r.index, 1);
        assert!(r.message.contains("only 5 are held"), "{}", r.message);
        let r = Ledger::replay(&[sell(1, "1", "10", "0")]).unwrap_err();
        assert_eq!(r.index, 0);
        let r = Ledger::replay(&[buy(1, "-1", "10", "0")]).unwrap_err();
        assert!(r.message.contains("greater than 0"));
        let r = Ledger::replay(&[buy(1, "1", "10", "-1")]).unwrap_err();
        assert!(r.message.contains("negative"));
        let r = Ledger::replay(&[split(1, "2")]).unwrap_err();
        assert!(r.message.contains("nothing held"));
        let r = Ledger::replay(&[buy(1, "1", "1", "0"), cash(TxKind::Dividend, 2, "1", "2")])
            .unwrap_err();
        assert!(r.message.contains("exceed"));
    }

    #[test]
    fn a_buy_without_price_makes_the_cost_unknown_until_sold_out() {
        let mut no_price = buy(1, "5", "0", "0");
        no_price.price = None;
        let l = Ledger::replay(&[no_price.clone(), buy(2, "5", "10", "0")]).unwrap();
        assert_eq!(l.quantity, d("10"));
        assert_eq!(l.cost, None);
        assert_eq!(l.unrealized(d("12")), None);
        let l =
            Ledger::replay(&[no_price, sell(2, "5", "10", "0"), buy(3, "2", "7", "0")]).unwrap();
        assert_eq!(l.cost, Some(d("14")), "a fresh start after selling out");
    }

    #[test]
    fn a_fee_counts_its_own_fees_and_huge_sums_are_refused_not_panics() {
        let mut fee = cash(TxKind::Fee, 1, "10", "5");
        fee.kind = TxKind::Fee;
        let l = Ledger::replay(&[fee]).unwrap();
        assert_eq!(l.realized, d("-15"));
        assert_eq!(l.fees, d("15"));
        // A cost at Decimal's limit and a sell whose fees push the loss past it: refused.
        let max = Decimal::MAX.to_string();
        let r = Ledger::replay(&[buy(1, "1", &max, "0"), sell(2, "1", "0", "1000000000000")])
            .unwrap_err();
        assert_eq!(r.index, 1);
        assert!(r.message.contains("too large"), "{}", r.message);
    }

    #[test]
    fn a_one_for_three_reverse_split_keeps_whole_units() {
        let third = d("1").checked_div(d("3")).unwrap().round_dp(20);
        let mut s = split(2, "1");
        s.ratio = Some(third);
        let l = Ledger::replay(&[buy(1, "300", "1", "0"), s, sell(3, "100", "1", "0")]).unwrap();
        assert_eq!(l.quantity, Decimal::ZERO);
    }

    #[test]
    fn quantities_step_once_per_day_like_the_replay() {
        // Two buys on day 1, a dividend (no change) on 2, a 3-for-1 split on 3, a sell on 4.
        let steps = Ledger::quantities(&[
            buy(1, "10", "300", "0"),
            buy(1, "5", "310", "0"),
            cash(TxKind::Dividend, 2, "20", "0"),
            split(3, "3"),
            sell(4, "12", "110", "0"),
        ])
        .unwrap();
        assert_eq!(
            steps,
            [
                (day(1), d("15")),
                (day(2), d("15")),
                (day(3), d("45")),
                (day(4), d("33"))
            ]
        );
        let r = Ledger::quantities(&[buy(1, "1", "1", "0"), sell(2, "2", "1", "0")]).unwrap_err();
        assert_eq!(r.index, 1);
    }

    /// For any sequence of transactions, a replay either refuses one or never holds a negative
    /// quantity or cost — checked on 20,000 pseudo-random sequences.
    #[test]
    fn quantity_and_cost_never_go_negative() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut refused = 0;
        for _ in 0..20_000 {
            let mut txs = Vec::new();
            for i in 0..(1 + next(8)) {
                let q = Decimal::new(i64::try_from(next(2000)).unwrap_or(1) + 1, 2);
                let p = Decimal::new(i64::try_from(next(50_000)).unwrap_or(0), 2);
                let f = Decimal::new(i64::try_from(next(300)).unwrap_or(0), 2);
                let n = u8::try_from(1 + i).unwrap_or(1);
                txs.push(match next(5) {
                    0 | 1 => buy(n, &q.to_string(), &p.to_string(), &f.to_string()),
                    2 => sell(n, &q.to_string(), &p.to_string(), &f.to_string()),
                    3 => split(
                        n,
                        ["2", "0.5", "3", "1.5"][usize::try_from(next(4)).unwrap_or(0)],
                    ),
                    _ => cash(TxKind::Dividend, n, &(q + f).to_string(), &f.to_string()),
                });
            }
            match Ledger::replay(&txs) {
                Ok(l) => {
                    assert!(!l.quantity.is_sign_negative(), "{txs:?} → {l:?}");
                    if let Some(cost) = l.cost {
                        assert!(!cost.is_sign_negative(), "{txs:?} → {l:?}");
                    }
                    assert!(!l.dividends.is_sign_negative());
                }
                Err(_) => refused += 1,
            }
        }
        assert!(
            refused > 0 && refused < 20_000,
            "both outcomes were exercised"
        );
    }
}
