//! Returns over ranges (1M, YTD, 1Y, 3Y, 5Y, All), time-weighted and money-weighted, of the
//! whole portfolio, one account or one holding. Each is read from one value line a day of
//! what is measured, from the owner's first money in to today: the holdings' value (their
//! units times the close of each day, see [`value_over_time`]) plus the cash of the accounts
//! that track it, and the money that went in and out (see [`crate::domain::returns`]).
//! Amounts convert to the base currency at today's rates.

use std::collections::HashMap;

use rust_decimal::Decimal;
use time::Date;

use super::holdings::CashView;
use super::valuation::{self, HeldAsset, HistoryCache};
use crate::domain::returns::{self, DailyValues, NoRate, ReturnRange, Scope};
use crate::domain::valuation::{AssetHistory, value_over_time};
use crate::domain::{OwnerId, Position, PricePoint, Totals, TxAmounts};
use crate::market::QuoteService;
use crate::store::{PriceStore, StoreResult};

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measured {
    Portfolio,
    Account(i64),
    Holding(i64),
}

/// The returns over one range.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeReturn {
    pub range: ReturnRange,
    /// The day whose closing value it starts from; `None`: from before the first money in
    /// (All, or a range reaching back before it).
    pub from: Option<Date>,
    /// Time-weighted, over the whole range (not a year).
    pub twr: Result<Decimal, NoRate>,
    /// The time-weighted return as a rate a year, for spans of a year or more.
    pub twr_a_year: Option<Decimal>,
    /// Money-weighted, a year.
    pub xirr: Result<Decimal, NoRate>,
    /// The money-weighted return over the whole range (the yearly rate compounded over it).
    pub mwr: Option<Decimal>,
}

/// The owner's assets with their daily closes from the first money in, gathered once for
/// any number of things measured.
pub struct Gathered {
    first: Date,
    today: Date,
    assets: Vec<HeldAsset>,
    closes: Vec<Vec<PricePoint>>,
    /// History fetches still running when it stopped waiting.
    pub pending: usize,
}

/// The owner's records the returns are read from: every position, its transactions (by
/// holding id, in replay order), the cash, and today's rates (`totals`).
#[derive(Clone, Copy)]
pub struct Records<'a> {
    pub positions: &'a [Position],
    pub transactions: &'a HashMap<i64, Vec<TxAmounts>>,
    pub cash: &'a CashView,
    pub totals: &'a Totals,
}

/// The first day of money in or out: the first transaction or cash transaction.
fn first_day(transactions: &HashMap<i64, Vec<TxAmounts>>, cash: &CashView) -> Option<Date> {
    let trade = transactions
        .values()
        .filter_map(|txs| txs.iter().map(|t| t.day).min())
        .min();
    let moved = cash.transactions.iter().map(|c| c.day).min();
    trade.into_iter().chain(moved).min()
}

/// Reads (and, where the store lacks them, asks for) the closes the returns need; `None` when
/// nothing was ever recorded.
pub async fn gather(
    store: &dyn PriceStore,
    quotes: &QuoteService,
    cache: &HistoryCache,
    records: Records<'_>,
    owner: OwnerId,
    today: Date,
) -> StoreResult<Option<Gathered>> {
    let transactions = records.transactions;
    let Some(first) = first_day(transactions, records.cash).map(|d| d.min(today)) else {
        return Ok(None);
    };
    let held = valuation::held_assets(records.positions, records.totals, owner);
    let (assets, closes, pending) =
        valuation::closes(store, quotes, cache, held, transactions, first, today).await?;
    Ok(Some(Gathered {
        first,
        today,
        assets,
        closes,
        pending,
    }))
}

/// The returns of `measured` over every range, from what `gather` read.
pub fn ranges(gathered: &Gathered, measured: Measured, records: Records<'_>) -> Vec<RangeReturn> {
    let Gathered { first, today, .. } = *gathered;
    let (values, flows) = line(gathered, measured, records);
    ReturnRange::ALL
        .into_iter()
        .map(|range| {
            let from = range.start(today).filter(|s| *s >= first);
            let (twr, xirr) = match &flows {
                Some(flows) => (
                    returns::twr(&values, flows, from),
                    returns::xirr_from(&values, flows, from),
                ),
                None => (Err(NoRate::Incomplete), Err(NoRate::Incomplete)),
            };
            let span = from.unwrap_or(first);
            RangeReturn {
                range,
                from,
                twr_a_year: twr
                    .as_ref()
                    .ok()
                    .and_then(|t| returns::a_year(*t, span, today)),
                twr,
                mwr: xirr
                    .as_ref()
                    .ok()
                    .and_then(|x| returns::over_span(*x, span, today)),
                xirr,
            }
        })
        .collect()
}

/// The value line of `measured` and its money in and out; `None` for the flows when some of
/// it is unknown (a price, a rate, a trade's amount).
fn line(
    gathered: &Gathered,
    measured: Measured,
    records: Records<'_>,
) -> (DailyValues, Option<Vec<returns::Flow>>) {
    let Gathered {
        first,
        today,
        ref assets,
        ref closes,
        ..
    } = *gathered;
    let Records {
        positions,
        transactions,
        cash,
        totals,
    } = records;
    let mut values = DailyValues::zeros(first, today);
    let mut complete = true;
    // In one account: only its transactions.
    let own;
    let txs = match measured {
        Measured::Account(account) => {
            own = valuation::in_account(transactions, account);
            &own
        }
        _ => transactions,
    };
    let empty = Vec::new();
    let inputs: Vec<AssetHistory<'_>> = assets
        .iter()
        .zip(closes)
        .filter(|(a, _)| match measured {
            Measured::Holding(id) => a.holding_id == id,
            _ => true,
        })
        .map(|(a, prices)| AssetHistory {
            label: a.label.clone(),
            transactions: txs.get(&a.holding_id).unwrap_or(&empty),
            prices,
            rate: a.rate,
        })
        .collect();
    let series = value_over_time(&inputs, first, today);
    complete &= series.refused.is_empty() && series.no_rate.is_empty();
    complete &= series.no_prices.is_empty();
    let mut points = series.points.iter().peekable();
    values.add(|day| {
        if series.start.is_none_or(|s| day < s) {
            return Some(Decimal::ZERO);
        }
        while points.next_if(|p| p.date < day).is_some() {}
        points.next_if(|p| p.date == day).map(|p| p.value)
    });

    let currency: HashMap<i64, &str> = positions
        .iter()
        .map(|p| (p.holding.id, p.holding.asset.currency.as_str()))
        .collect();
    let trades = || {
        transactions.iter().flat_map(|(id, txs)| {
            let c = currency.get(id).copied().unwrap_or("");
            txs.iter().map(move |t| (c, t))
        })
    };
    let rate = |c: &str| totals.rate(c);
    let flows = match measured {
        Measured::Holding(id) => {
            let position = positions.iter().find(|p| p.holding.id == id);
            match position.and_then(|p| totals.rate(p.currency())) {
                Some(r) => returns::holding_flows(transactions.get(&id).into_iter().flatten(), r),
                None => {
                    complete = false;
                    returns::Flows::default()
                }
            }
        }
        Measured::Portfolio | Measured::Account(_) => {
            let scope = match measured {
                Measured::Account(a) => Scope::Account(a),
                _ => Scope::Portfolio,
            };
            let tracked = &cash.book.tracked;
            let (changes, no_rate) =
                returns::cash_changes(scope, &cash.transactions, trades(), tracked, rate);
            complete &= no_rate.is_empty();
            values.add_changes(&changes);
            returns::flows(scope, &cash.transactions, trades(), tracked, rate)
        }
    };
    complete &= flows.complete();
    (values, complete.then_some(flows.flows))
}
