//! The portfolio's value on each day of a range: the quantity of each asset held that day (its
//! transactions replayed by date, as the ledger does) times its daily close on or before that
//! day, converted into the base currency at **today's** exchange rate (a simplification: past
//! rates are not stored, so a currency's moves show as moves of the assets priced in it).
//!
//! [`value_over_time`] is the computation, a pure function; `portfolio::valuation` gathers its
//! inputs.

use rust_decimal::Decimal;
use serde::Deserialize;
use time::Date;

use super::ledger::{Ledger, TxAmounts, TxKind};
use super::{HistoryRange, PricePoint};

/// How far back the value line reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
pub enum ValueRange {
    #[serde(rename = "1m")]
    Month1,
    #[default]
    #[serde(rename = "6m")]
    Month6,
    #[serde(rename = "1y")]
    Year1,
    /// From the first transaction.
    #[serde(rename = "all")]
    All,
}

impl ValueRange {
    pub const ALL: [ValueRange; 4] = [
        ValueRange::Month1,
        ValueRange::Month6,
        ValueRange::Year1,
        ValueRange::All,
    ];

    /// `1m`, `6m`, `1y`, `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueRange::Month1 => "1m",
            ValueRange::Month6 => "6m",
            ValueRange::Year1 => "1y",
            ValueRange::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ValueRange::Month1 => "1M",
            ValueRange::Month6 => "6M",
            ValueRange::Year1 => "1Y",
            ValueRange::All => "All",
        }
    }

    /// The day a return over this range starts from, as the returns' ranges count (the same
    /// day of the month one or six months, or a year, back); `None` for All (from the start).
    pub fn return_start(self, today: Date) -> Option<Date> {
        let months = match self {
            ValueRange::Month1 => 1,
            ValueRange::Month6 => 6,
            ValueRange::Year1 => 12,
            ValueRange::All => return None,
        };
        Some(super::returns::months_back(today, months))
    }

    /// The range's first day: as many days back from `today` as the asset charts' range of
    /// the same name, or for `All` the first transaction's day (today when there is none).
    pub fn start(self, today: Date, first_transaction: Option<Date>) -> Date {
        let back = |r: HistoryRange| r.start(today);
        match self {
            ValueRange::Month1 => back(HistoryRange::Month1),
            ValueRange::Month6 => back(HistoryRange::Month6),
            ValueRange::Year1 => back(HistoryRange::Year1),
            ValueRange::All => first_transaction.unwrap_or(today).min(today),
        }
    }
}

/// One asset's part in the computation.
#[derive(Debug, Clone)]
pub struct AssetHistory<'a> {
    /// How notes name it (the symbol).
    pub label: String,
    /// Its transactions in replay order.
    pub transactions: &'a [TxAmounts],
    /// Its daily closes, oldest first; they may begin before the range, so a close carries
    /// into it.
    pub prices: &'a [PricePoint],
    /// Base-currency units one unit of the asset's currency buys today; `None`: no rate.
    pub rate: Option<Decimal>,
}

/// The portfolio's value at the end of one day, and the net amount put into what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyValue {
    pub date: Date,
    pub value: Decimal,
    /// Buys less sells, fees included, of the assets drawn, up to that day (see
    /// [`value_over_time`]).
    pub invested: Decimal,
}

impl DailyValue {
    /// The gain from `start` to this day: the value's change less the money put in between,
    /// so that new money is not counted as growth.
    pub fn gain_since(&self, start: &DailyValue) -> Option<Decimal> {
        let value = self.value.checked_sub(start.value)?;
        let put_in = self.invested.checked_sub(start.invested)?;
        value.checked_sub(put_in)
    }

    /// That gain as a percent of what was at work (simple Dietz): the starting value plus half
    /// the money put in between; `None` when that is not positive.
    pub fn gain_percent_since(&self, start: &DailyValue) -> Option<Decimal> {
        let put_in = self.invested.checked_sub(start.invested)?;
        let at_work = start.value.checked_add(put_in.checked_div(Decimal::TWO)?)?;
        if at_work <= Decimal::ZERO {
            return None;
        }
        Some(
            self.gain_since(start)?
                .checked_mul(Decimal::ONE_HUNDRED)?
                .checked_div(at_work)?
                .round_dp(2),
        )
    }
}

/// Days on which an asset was held but had no close yet (on or before that day).
#[derive(Debug, Clone, PartialEq)]
pub struct Unpriced {
    pub label: String,
    pub first: Date,
    pub last: Date,
    pub days: usize,
}

/// The value line and what it leaves out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValueSeries {
    /// The first day something is held in the range: nothing is worth anything before it.
    pub start: Option<Date>,
    /// Each day whose value is known, oldest first, from the first day anything is held.
    pub points: Vec<DailyValue>,
    /// Days (from the first one with a holding) left out because some asset held that day
    /// had no price yet: a day is drawn only when every asset held has one, so the line
    /// starts once they all do. The assets are in `unpriced`.
    pub days_left_out: usize,
    pub unpriced: Vec<Unpriced>,
    /// Held in the range but left out entirely: no exchange rate to the base currency.
    pub no_rate: Vec<String>,
    /// Held in the range but left out entirely: not a single close on or before its end.
    pub no_prices: Vec<String>,
    /// Left out entirely: the stored transactions do not add up.
    pub refused: Vec<String>,
}

/// The first day in `from..=to` on which something is held, by the quantity steps of
/// [`Ledger::quantities`].
pub fn first_held(steps: &[(Date, Decimal)], from: Date, to: Date) -> Option<Date> {
    let at_start = steps
        .iter()
        .take_while(|(day, _)| *day <= from)
        .last()
        .map_or(Decimal::ZERO, |(_, q)| *q);
    if at_start > Decimal::ZERO {
        return Some(from);
    }
    steps
        .iter()
        .find(|(day, q)| *day > from && *day <= to && *q > Decimal::ZERO)
        .map(|(day, _)| *day)
}

struct Tracked<'a> {
    label: &'a str,
    transactions: &'a [TxAmounts],
    next_tx: usize,
    /// Net amount put in, in the asset's currency, up to the day reached.
    invested: Decimal,
    /// Units bought without a price, counted at the first close there is.
    unvalued: Decimal,
    steps: Vec<(Date, Decimal)>,
    next_step: usize,
    quantity: Decimal,
    held: bool,
    prices: &'a [PricePoint],
    next_price: usize,
    close: Option<Decimal>,
    /// `None` for a rate of 1 (most assets), which needs no multiplication.
    rate: Option<Decimal>,
    unpriced: Option<Unpriced>,
}

/// The portfolio's value on each day from `from` to `to`: for every asset, the quantity held
/// at the end of the day times its latest close on or before the day (carried forward over
/// days without one) times its rate, summed. Assets not held in the range play no part.
///
/// Beside it, the net amount invested in the same assets up to each day, at the same rates:
/// buys (quantity × price + fees) less sells (quantity × price − fees), plus standalone fees
/// (amount and fees); a buy recorded without a price counts its units at the close of its
/// day (the last one on or before it, else the first after it: its value when it came in) and
/// its fees. Dividends and splits move no money in or out.
pub fn value_over_time(assets: &[AssetHistory<'_>], from: Date, to: Date) -> ValueSeries {
    let mut series = ValueSeries::default();
    let mut tracked = Vec::new();
    // Nothing is drawn before the first day something is held.
    let mut start: Option<Date> = None;
    for asset in assets {
        let Ok(steps) = Ledger::quantities(asset.transactions) else {
            series.refused.push(asset.label.clone());
            continue;
        };
        let Some(first) = first_held(&steps, from, to) else {
            continue;
        };
        let Some(rate) = asset.rate else {
            series.no_rate.push(asset.label.clone());
            continue;
        };
        if !asset.prices.iter().any(|p| p.date <= to) {
            series.no_prices.push(asset.label.clone());
            continue;
        }
        start = Some(start.map_or(first, |s| s.min(first)));
        tracked.push(Tracked {
            label: &asset.label,
            transactions: asset.transactions,
            next_tx: 0,
            invested: Decimal::ZERO,
            unvalued: Decimal::ZERO,
            steps,
            next_step: 0,
            quantity: Decimal::ZERO,
            held: false,
            prices: asset.prices,
            next_price: 0,
            close: None,
            rate: (rate != Decimal::ONE).then_some(rate),
            unpriced: None,
        });
    }
    let Some(mut day) = start else {
        return series;
    };
    series.start = start;
    let mut started = false;
    while day <= to {
        let mut total = Some(Decimal::ZERO);
        let mut invested = Some(Decimal::ZERO);
        let mut known = true;
        let mut held = false;
        for t in &mut tracked {
            while let Some((step_day, quantity)) = t.steps.get(t.next_step) {
                if *step_day > day {
                    break;
                }
                t.quantity = *quantity;
                t.held = *quantity > Decimal::ZERO;
                t.next_step += 1;
            }
            while let Some(p) = t.prices.get(t.next_price) {
                if p.date > day {
                    break;
                }
                t.close = Some(p.close);
                t.next_price += 1;
            }
            while let Some(tx) = t.transactions.get(t.next_tx) {
                if tx.day > day {
                    break;
                }
                t.next_tx += 1;
                match money_in(tx) {
                    Some(flow) => t.invested = t.invested.checked_add(flow).unwrap_or(t.invested),
                    None => {
                        // Its fees are money put in now; its units count at their close.
                        t.invested = t.invested.checked_add(tx.fees).unwrap_or(t.invested);
                        t.unvalued += tx.quantity.unwrap_or_default();
                    }
                }
            }
            if let Some(close) = t.close
                && !t.unvalued.is_zero()
            {
                let cost = t.unvalued.checked_mul(close).unwrap_or_default();
                t.invested = t.invested.checked_add(cost).unwrap_or(t.invested);
                t.unvalued = Decimal::ZERO;
            }
            invested = invested.and_then(|sum| {
                let put_in = match t.rate {
                    Some(rate) => t.invested.checked_mul(rate)?,
                    None => t.invested,
                };
                sum.checked_add(put_in)
            });
            if !t.held {
                continue;
            }
            held = true;
            match t.close {
                Some(close) => {
                    total = total.and_then(|sum| {
                        let value = t.quantity.checked_mul(close)?;
                        let value = match t.rate {
                            Some(rate) => value.checked_mul(rate)?,
                            None => value,
                        };
                        sum.checked_add(value)
                    });
                }
                None => {
                    known = false;
                    let span = t.unpriced.get_or_insert(Unpriced {
                        label: t.label.to_string(),
                        first: day,
                        last: day,
                        days: 0,
                    });
                    span.last = day;
                    span.days += 1;
                }
            }
        }
        started |= held;
        if started {
            match (total.filter(|_| known), invested) {
                (Some(value), Some(invested)) => series.points.push(DailyValue {
                    date: day,
                    value,
                    invested,
                }),
                _ => series.days_left_out += 1,
            }
        }
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    series.unpriced = tracked.into_iter().filter_map(|t| t.unpriced).collect();
    series
}

/// The money a transaction puts into its asset (negative: takes out); `None` for a buy with
/// no price, whose cost is its first close.
fn money_in(tx: &TxAmounts) -> Option<Decimal> {
    let units = tx.quantity.unwrap_or_default();
    Some(match tx.kind {
        TxKind::Buy => units.checked_mul(tx.price?)?.checked_add(tx.fees)?,
        TxKind::Sell => tx
            .fees
            .checked_sub(units.checked_mul(tx.price.unwrap_or_default())?)?,
        TxKind::Fee => tx.amount.unwrap_or_default().checked_add(tx.fees)?,
        TxKind::Dividend | TxKind::Split => Decimal::ZERO,
    })
}

/// The smallest history range whose start (from `today`) is on or before `day`; the longest
/// when none reaches back that far.
pub fn history_range_for(day: Date, today: Date) -> HistoryRange {
    HistoryRange::ALL
        .into_iter()
        .find(|r| r.start(today) <= day)
        .unwrap_or(HistoryRange::Year5)
}

/// Adds `more` to `prices` (both oldest first), `more` winning on a day both have.
pub fn merge(prices: &mut Vec<PricePoint>, more: Vec<PricePoint>) {
    let mut by_day: std::collections::BTreeMap<Date, Decimal> =
        prices.drain(..).map(|p| (p.date, p.close)).collect();
    by_day.extend(more.into_iter().map(|p| (p.date, p.close)));
    prices.extend(
        by_day
            .into_iter()
            .map(|(date, close)| PricePoint { date, close }),
    );
}

/// Sets the close of `day`, the latest day `prices` (oldest first) may have.
pub fn set_close(prices: &mut Vec<PricePoint>, day: Date, close: Decimal) {
    match prices.last_mut() {
        Some(last) if last.date == day => last.close = close,
        Some(last) if last.date > day => merge(prices, vec![PricePoint { date: day, close }]),
        _ => prices.push(PricePoint { date: day, close }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::TxKind;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal literal")
    }

    fn tx(kind: TxKind, day: Date, quantity: &str, ratio: Option<&str>) -> TxAmounts {
        let trade = matches!(kind, TxKind::Buy | TxKind::Sell);
        TxAmounts {
            kind,
            day,
            quantity: trade.then(|| d(quantity)),
            price: trade.then(|| d("1")),
            amount: None,
            ratio: ratio.map(d),
            fees: Decimal::ZERO,
            account: 0,
        }
    }

    fn buy(day: Date, q: &str) -> TxAmounts {
        tx(TxKind::Buy, day, q, None)
    }

    fn sell(day: Date, q: &str) -> TxAmounts {
        tx(TxKind::Sell, day, q, None)
    }

    fn split(day: Date, ratio: &str) -> TxAmounts {
        tx(TxKind::Split, day, "0", Some(ratio))
    }

    fn closes(list: &[(Date, &str)]) -> Vec<PricePoint> {
        list.iter()
            .map(|(date, close)| PricePoint {
                date: *date,
                close: d(close),
            })
            .collect()
    }

    fn asset<'a>(
        label: &str,
        txs: &'a [TxAmounts],
        prices: &'a [PricePoint],
        rate: Option<&str>,
    ) -> AssetHistory<'a> {
        AssetHistory {
            label: label.into(),
            transactions: txs,
            prices,
            rate: rate.map(d),
        }
    }

    fn values(series: &ValueSeries) -> Vec<(Date, Decimal)> {
        series
            .points
            .iter()
            .map(|p| (p.date, p.value.normalize()))
            .collect()
    }

    /// The hand-computed story, 1–10 March 2024:
    ///
    /// A: 10 bought on 28 Feb, before the range; a 2-for-1 split on 6 Mar (20 units); 5 sold
    /// on 9 Mar (15 left). Its closes, as traded: 100 on 29 Feb, 110 on 4 Mar, 56 on 6 Mar
    /// (after the split), 60 on 8 Mar; none on 1–3, 5 and 7 Mar (gaps: the last carries).
    /// B, in EUR at 1.1: 4 bought mid-range on 3 Mar; closes 50 on 1 Mar, 55 on 5 Mar.
    ///
    /// Day  A qty × close   B qty × close × 1.1   total
    /// 1    10 × 100        —                     1000
    /// 2    10 × 100        —                     1000
    /// 3    10 × 100        4 × 50 × 1.1 = 220    1220
    /// 4    10 × 110        220                   1320
    /// 5    10 × 110        4 × 55 × 1.1 = 242    1342
    /// 6    20 × 56         242                   1362
    /// 7    20 × 56         242                   1362
    /// 8    20 × 60         242                   1442
    /// 9    15 × 60         242                   1142
    /// 10   15 × 60         242                   1142
    #[test]
    fn two_assets_with_a_buy_a_split_a_sell_and_a_gap() {
        let a_txs = [
            buy(date!(2024 - 02 - 28), "10"),
            split(date!(2024 - 03 - 06), "2"),
            sell(date!(2024 - 03 - 09), "5"),
        ];
        let a_prices = closes(&[
            (date!(2024 - 02 - 29), "100"),
            (date!(2024 - 03 - 04), "110"),
            (date!(2024 - 03 - 06), "56"),
            (date!(2024 - 03 - 08), "60"),
        ]);
        let b_txs = [buy(date!(2024 - 03 - 03), "4")];
        let b_prices = closes(&[(date!(2024 - 03 - 01), "50"), (date!(2024 - 03 - 05), "55")]);
        let series = value_over_time(
            &[
                asset("A", &a_txs, &a_prices, Some("1")),
                asset("B", &b_txs, &b_prices, Some("1.1")),
            ],
            date!(2024 - 03 - 01),
            date!(2024 - 03 - 10),
        );
        let expected: Vec<(Date, Decimal)> =
            [1000, 1000, 1220, 1320, 1342, 1362, 1362, 1442, 1142, 1142]
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        date!(2024 - 03 - 01) + time::Duration::days(i64::try_from(i).unwrap_or(0)),
                        Decimal::from(*v),
                    )
                })
                .collect();
        assert_eq!(values(&series), expected);
        assert_eq!(series.days_left_out, 0);
        assert!(series.unpriced.is_empty() && series.no_rate.is_empty());
    }

    /// The money put in beside the value, 1–6 March 2024, hand-worked:
    ///
    /// A: 10 bought on 28 Feb at 90 with a fee of 5 (put in: 905); a 2-for-1 split on 3 Mar
    /// (20 units, nothing put in); 5 sold on 5 Mar at 60 with a fee of 2 (taken out: 298); a
    /// dividend of 30 on 4 Mar (income, not money put in). Closes: 100 (1 Mar), 50 (3 Mar),
    /// 60 (5 Mar).
    /// B, in EUR at 2: 3 bought on 4 Mar with no price (its cost is its first close, 40 on
    /// 4 Mar: 120 EUR, 240 in the base); closes 40 (4 Mar), 45 (6 Mar).
    ///
    /// Day  value                       invested
    /// 1    10 × 100 = 1000             905
    /// 2    1000                        905
    /// 3    20 × 50 = 1000              905
    /// 4    1000 + 3 × 40 × 2 = 1240    905 + 240 = 1145
    /// 5    15 × 60 + 240 = 1140        1145 − 298 = 847
    /// 6    900 + 3 × 45 × 2 = 1170     847
    ///
    /// Gain over the range: (1170 − 1000) − (847 − 905) = 228; at work 1000 + (−58)/2 = 971,
    /// so 228 / 971 = 23.48 %. The value's own change (+17 %) would count the buy as growth
    /// and the sale as a loss.
    #[test]
    fn money_put_in_is_drawn_beside_the_value_and_the_gain_leaves_it_out() {
        let trade = |kind, day, q: &str, price: Option<&str>, fees: &str| TxAmounts {
            kind,
            day,
            quantity: Some(d(q)),
            price: price.map(d),
            amount: None,
            ratio: None,
            fees: d(fees),
            account: 0,
        };
        let dividend = TxAmounts {
            kind: TxKind::Dividend,
            day: date!(2024 - 03 - 04),
            quantity: None,
            price: None,
            amount: Some(d("30")),
            ratio: None,
            fees: Decimal::ZERO,
            account: 0,
        };
        let a_txs = [
            trade(TxKind::Buy, date!(2024 - 02 - 28), "10", Some("90"), "5"),
            split(date!(2024 - 03 - 03), "2"),
            dividend,
            trade(TxKind::Sell, date!(2024 - 03 - 05), "5", Some("60"), "2"),
        ];
        let a_prices = closes(&[
            (date!(2024 - 03 - 01), "100"),
            (date!(2024 - 03 - 03), "50"),
            (date!(2024 - 03 - 05), "60"),
        ]);
        let b_txs = [trade(TxKind::Buy, date!(2024 - 03 - 04), "3", None, "0")];
        let b_prices = closes(&[(date!(2024 - 03 - 04), "40"), (date!(2024 - 03 - 06), "45")]);
        let series = value_over_time(
            &[
                asset("A", &a_txs, &a_prices, Some("1")),
                asset("B", &b_txs, &b_prices, Some("2")),
            ],
            date!(2024 - 03 - 01),
            date!(2024 - 03 - 06),
        );
        let drawn: Vec<(i64, i64)> = series
            .points
            .iter()
            .map(|p| {
                let whole = |v: Decimal| i64::try_from(v).unwrap_or(i64::MIN);
                (whole(p.value), whole(p.invested))
            })
            .collect();
        assert_eq!(
            drawn,
            [
                (1000, 905),
                (1000, 905),
                (1000, 905),
                (1240, 1145),
                (1140, 847),
                (1170, 847)
            ]
        );
        let (first, last) = (&series.points[0], &series.points[5]);
        assert_eq!(last.gain_since(first), Some(d("228")));
        assert_eq!(last.gain_percent_since(first), Some(d("23.48")));
        // Over the day B came in, the gain is the market's move alone: nothing.
        assert_eq!(
            series.points[3].gain_since(&series.points[2]),
            Some(Decimal::ZERO)
        );
    }

    /// Fees are money put in too: a buy recorded without a price (3 units, fees 2) counts its
    /// units at their first close (40) and its fees; a standalone fee of 10 with fees of 1
    /// puts in 11. Invested: 3 × 40 + 2 = 122 on 2 Mar, 133 from 3 Mar.
    #[test]
    fn fees_of_a_buy_without_a_price_and_of_a_standalone_fee_are_put_in() {
        let txs = [
            TxAmounts {
                fees: d("2"),
                account: 0,
                price: None,
                ..buy(date!(2024 - 03 - 01), "3")
            },
            TxAmounts {
                kind: TxKind::Fee,
                day: date!(2024 - 03 - 03),
                quantity: None,
                price: None,
                amount: Some(d("10")),
                ratio: None,
                fees: d("1"),
                account: 0,
            },
        ];
        let prices = closes(&[(date!(2024 - 03 - 02), "40")]);
        let series = value_over_time(
            &[asset("A", &txs, &prices, Some("1"))],
            date!(2024 - 03 - 01),
            date!(2024 - 03 - 04),
        );
        let invested: Vec<Decimal> = series.points.iter().map(|p| p.invested).collect();
        assert_eq!(
            invested,
            [d("122"), d("133"), d("133")],
            "from 2 Mar, the first close"
        );
    }

    /// C is bought on 2 Mar but its first close is on 4 Mar: 2 and 3 Mar are unknown (not
    /// zero), so they are left out and the line starts on the 4th; 1 Mar holds nothing yet.
    #[test]
    fn days_before_an_assets_first_price_are_left_out_not_zero() {
        let c_txs = [buy(date!(2024 - 03 - 02), "3")];
        let c_prices = closes(&[(date!(2024 - 03 - 04), "7")]);
        let d_txs = [buy(date!(2024 - 02 - 01), "1")];
        let d_prices = closes(&[(date!(2024 - 02 - 01), "100")]);
        let series = value_over_time(
            &[
                asset("C", &c_txs, &c_prices, Some("1")),
                asset("D", &d_txs, &d_prices, Some("1")),
            ],
            date!(2024 - 03 - 01),
            date!(2024 - 03 - 05),
        );
        assert_eq!(
            values(&series),
            [
                (date!(2024 - 03 - 01), d("100")),
                (date!(2024 - 03 - 04), d("121")),
                (date!(2024 - 03 - 05), d("121"))
            ]
        );
        assert_eq!(series.days_left_out, 2);
        assert_eq!(
            series.unpriced,
            [Unpriced {
                label: "C".into(),
                first: date!(2024 - 03 - 02),
                last: date!(2024 - 03 - 03),
                days: 2
            }]
        );
    }

    #[test]
    fn the_line_starts_with_the_first_holding_and_selling_out_is_zero() {
        let txs = [
            buy(date!(2024 - 03 - 03), "2"),
            sell(date!(2024 - 03 - 04), "2"),
        ];
        let prices = closes(&[(date!(2024 - 03 - 01), "10")]);
        let series = value_over_time(
            &[asset("A", &txs, &prices, Some("1"))],
            date!(2024 - 03 - 01),
            date!(2024 - 03 - 05),
        );
        assert_eq!(
            values(&series),
            [
                (date!(2024 - 03 - 03), d("20")),
                (date!(2024 - 03 - 04), d("0")),
                (date!(2024 - 03 - 05), d("0"))
            ]
        );
        assert_eq!(series.days_left_out, 0);
    }

    #[test]
    fn assets_without_a_rate_or_any_price_are_left_out_and_named() {
        let txs = [buy(date!(2024 - 03 - 01), "1")];
        let prices = closes(&[(date!(2024 - 03 - 01), "5")]);
        let later = closes(&[(date!(2024 - 04 - 01), "5")]);
        let sold_before = [
            buy(date!(2024 - 01 - 01), "1"),
            sell(date!(2024 - 01 - 02), "1"),
        ];
        let oversold = [sell(date!(2024 - 03 - 01), "1")];
        let series = value_over_time(
            &[
                asset("OK", &txs, &prices, Some("1")),
                asset("NORATE", &txs, &prices, None),
                asset("NOPRICE", &txs, &later, Some("1")),
                asset("GONE", &sold_before, &[], None),
                asset("BAD", &oversold, &prices, Some("1")),
            ],
            date!(2024 - 03 - 01),
            date!(2024 - 03 - 02),
        );
        assert_eq!(
            values(&series),
            [
                (date!(2024 - 03 - 01), d("5")),
                (date!(2024 - 03 - 02), d("5"))
            ]
        );
        assert_eq!(series.no_rate, ["NORATE"]);
        assert_eq!(series.no_prices, ["NOPRICE"]);
        assert_eq!(series.refused, ["BAD"]);
        let nothing = value_over_time(&[], date!(2024 - 03 - 01), date!(2024 - 03 - 02));
        assert_eq!(nothing, ValueSeries::default());
    }

    #[test]
    fn ranges_count_back_from_today_or_start_at_the_first_transaction() {
        let today = date!(2024 - 07 - 01);
        assert_eq!(ValueRange::Month1.start(today, None), date!(2024 - 05 - 31));
        assert_eq!(ValueRange::Month6.start(today, None), date!(2023 - 12 - 31));
        assert_eq!(ValueRange::Year1.start(today, None), date!(2023 - 07 - 01));
        assert_eq!(
            ValueRange::All.start(today, Some(date!(2019 - 05 - 06))),
            date!(2019 - 05 - 06)
        );
        assert_eq!(ValueRange::All.start(today, None), today);
        assert_eq!(
            history_range_for(date!(2024 - 06 - 15), today),
            HistoryRange::Month1
        );
        assert_eq!(
            history_range_for(date!(2023 - 12 - 17), today),
            HistoryRange::Year1
        );
        assert_eq!(
            history_range_for(date!(2001 - 01 - 01), today),
            HistoryRange::Year5
        );
    }

    #[test]
    fn todays_close_is_replaced_or_added() {
        let mut prices = closes(&[(date!(2024 - 03 - 01), "1"), (date!(2024 - 03 - 03), "3")]);
        set_close(&mut prices, date!(2024 - 03 - 03), d("4"));
        set_close(&mut prices, date!(2024 - 03 - 04), d("5"));
        set_close(&mut prices, date!(2024 - 03 - 02), d("2"));
        assert_eq!(
            prices,
            closes(&[
                (date!(2024 - 03 - 01), "1"),
                (date!(2024 - 03 - 02), "2"),
                (date!(2024 - 03 - 03), "4"),
                (date!(2024 - 03 - 04), "5")
            ])
        );
        let mut none = Vec::new();
        set_close(&mut none, date!(2024 - 03 - 04), d("5"));
        assert_eq!(none, closes(&[(date!(2024 - 03 - 04), "5")]));
    }

    #[test]
    fn merged_prices_stay_one_per_day_in_order_and_new_ones_win() {
        let mut prices = closes(&[(date!(2024 - 03 - 01), "1"), (date!(2024 - 03 - 03), "3")]);
        merge(
            &mut prices,
            closes(&[(date!(2024 - 03 - 02), "2"), (date!(2024 - 03 - 03), "4")]),
        );
        assert_eq!(
            prices,
            closes(&[
                (date!(2024 - 03 - 01), "1"),
                (date!(2024 - 03 - 02), "2"),
                (date!(2024 - 03 - 03), "4")
            ])
        );
    }
}
