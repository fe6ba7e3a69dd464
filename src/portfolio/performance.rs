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
use crate::domain::{
    AssetKey, AssetKind, DomainError, FieldError, OwnerId, Position, PricePoint, Symbol, Totals,
    TxAmounts,
};
use crate::market::QuoteService;
use crate::store::{PriceStore, Store, StoreResult};

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
    /// How many days the range spans (from what is measured's first day, for one reaching back
    /// before it).
    pub days: i64,
    /// The benchmark's price change over the range, when one is chosen (`None`: none is).
    pub benchmark: Option<Result<Decimal, NoRate>>,
}

/// The market asset the returns are set beside, and its closes.
pub struct Benchmark {
    pub symbol: Symbol,
    pub kind: AssetKind,
    closes: Vec<PricePoint>,
}

/// The owner's assets with their daily closes from the first money in, gathered once for
/// any number of things measured.
pub struct Gathered {
    first: Date,
    today: Date,
    assets: Vec<HeldAsset>,
    closes: Vec<Vec<PricePoint>>,
    pub benchmark: Option<Benchmark>,
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

/// Reads (and, where the store lacks them, asks for) the closes the returns need, the
/// `benchmark`'s too; `None` when nothing was ever recorded.
pub async fn gather(
    store: &dyn PriceStore,
    quotes: &QuoteService,
    cache: &HistoryCache,
    records: Records<'_>,
    benchmark: Option<(Symbol, AssetKind)>,
    owner: OwnerId,
    today: Date,
) -> StoreResult<Option<Gathered>> {
    let transactions = records.transactions;
    let Some(first) = first_day(transactions, records.cash).map(|d| d.min(today)) else {
        return Ok(None);
    };
    let held = valuation::held_assets(records.positions, records.totals, owner);
    let (assets, closes, mut pending) =
        valuation::closes(store, quotes, cache, held, transactions, first, today).await?;
    let benchmark = match benchmark {
        Some((symbol, kind)) => {
            // Its price today: the live quote (kept a while), or the last stored close.
            let price_today = quotes.quote(&symbol, kind).await.ok().map(|q| q.price);
            let key = AssetKey {
                symbol: symbol.clone(),
                kind,
                owner,
            };
            let (closes, waiting) =
                valuation::asset_closes(store, quotes, cache, key, first, price_today, today)
                    .await?;
            pending += waiting;
            Some(Benchmark {
                symbol,
                kind,
                closes,
            })
        }
        None => None,
    };
    Ok(Some(Gathered {
        first,
        today,
        assets,
        closes,
        benchmark,
        pending,
    }))
}

/// The value line of one thing measured and its money in and out (`None` when some of it
/// is unknown: a price, a rate, a trade's amount), from which its returns are read.
pub struct Measurement<'g> {
    gathered: &'g Gathered,
    /// The first day of what is measured (a holding bought later than the owner's first money
    /// starts later): ranges reaching back before it start from it.
    first: Date,
    values: DailyValues,
    flows: Option<Vec<returns::Flow>>,
}

/// Draws the value line of `measured` from what `gather` read.
pub fn measure<'g>(
    gathered: &'g Gathered,
    measured: Measured,
    records: Records<'_>,
) -> Measurement<'g> {
    let (values, flows) = line(gathered, measured, records);
    // Its own first day: its first money in or out, or the first day it is worth anything (or
    // held without a price), whichever comes first.
    let first_flow = flows.as_ref().and_then(|f| f.iter().map(|f| f.day).min());
    let first_value = values
        .values
        .iter()
        .position(|v| *v != Some(Decimal::ZERO))
        .map(|i| values.first + time::Duration::days(i as i64));
    let first = first_flow
        .into_iter()
        .chain(first_value)
        .min()
        .unwrap_or(gathered.first)
        .max(gathered.first);
    Measurement {
        gathered,
        first,
        values,
        flows,
    }
}

impl Measurement<'_> {
    /// The returns over every range.
    pub fn ranges(&self) -> Vec<RangeReturn> {
        let Measurement {
            gathered,
            first,
            values,
            flows,
        } = self;
        let (first, today) = (*first, gathered.today);
        // The line from the start, once: each range's time-weighted return is read from it.
        let steps = flows
            .as_ref()
            .map(|flows| returns::twr_steps(values, flows, None));
        ReturnRange::ALL
            .into_iter()
            .map(|range| {
                let from = range.start(today).filter(|s| *s >= first);
                let (twr, xirr) = match (flows, &steps) {
                    (Some(flows), Some(steps)) => (
                        returns::twr_over(steps.as_deref(), values, from),
                        returns::xirr_from(values, flows, from),
                    ),
                    _ => (Err(NoRate::Incomplete), Err(NoRate::Incomplete)),
                };
                let span = from.unwrap_or(first);
                // From the close before the first money in, for a range starting before it.
                let base_day = from.unwrap_or_else(|| first.previous_day().unwrap_or(first));
                let benchmark = gathered
                    .benchmark
                    .as_ref()
                    .map(|b| returns::price_return(&b.closes, base_day).ok_or(NoRate::Incomplete));
                RangeReturn {
                    benchmark,
                    range,
                    from,
                    days: (today - span).whole_days(),
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

    /// The time-weighted return day by day from the end of `from` (`None`: from the start,
    /// before the first money in), and the benchmark's price change over the same days (each `(day, fraction)`), for the chart that sets them side
    /// by side; `None` when there is no benchmark or no line.
    pub fn comparison(&self, from: Option<Date>) -> Option<Comparison> {
        let gathered = self.gathered;
        let benchmark = gathered.benchmark.as_ref()?;
        let start = from.filter(|from| *from >= self.first);
        let portfolio = returns::twr_line(&self.values, self.flows.as_ref()?, start).ok()?;
        let base_day = start.unwrap_or_else(|| self.first.previous_day().unwrap_or(self.first));
        let base = benchmark
            .closes
            .iter()
            .take_while(|p| p.date <= base_day)
            .last()
            .map(|p| p.close)
            .filter(|c| *c > Decimal::ZERO)?;
        let prices = benchmark
            .closes
            .iter()
            .filter(|p| p.date > base_day)
            .filter_map(|p| Some((p.date, p.close.checked_div(base)? - Decimal::ONE)))
            .collect();
        Some(Comparison {
            symbol: benchmark.symbol.to_string(),
            portfolio,
            benchmark: prices,
        })
    }
}

/// Two return lines over the same days.
pub struct Comparison {
    pub symbol: String,
    pub portfolio: Vec<(Date, Decimal)>,
    pub benchmark: Vec<(Date, Decimal)>,
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

/// Chooses the market asset the owner's returns are set beside: `symbol` of `kind` (stock,
/// ETF, commodity or crypto), which a price service must price now; an empty symbol chooses
/// none. Returns what was chosen.
pub async fn set_benchmark(
    store: &dyn Store,
    quotes: &QuoteService,
    owner: OwnerId,
    symbol: &str,
    kind: &str,
) -> super::Result<Option<(Symbol, AssetKind)>> {
    if symbol.trim().is_empty() {
        store.set_benchmark(owner, None).await?;
        return Ok(None);
    }
    let symbol = Symbol::parse(symbol).map_err(|e| DomainError::field("symbol", e.to_string()))?;
    let kind: AssetKind = kind
        .parse()
        .ok()
        .filter(|k: &AssetKind| k.is_market_priced())
        .ok_or_else(|| {
            DomainError::field(
                "kind",
                "A benchmark is a market asset: choose stock, ETF, commodity or crypto.",
            )
        })?;
    let advice =
        "Check the symbol (an index such as ^GSPC, or a fund that follows one, such as SPY).";
    if super::holdings::describe(quotes, &symbol, kind, advice)
        .await?
        .is_none()
    {
        return Err(DomainError::Mismatch(vec![FieldError::new(
            "symbol",
            format!(
                "No price service can price {symbol} right now, and a benchmark needs its prices. Try again in a few minutes."
            ),
        )])
        .into());
    }
    store.set_benchmark(owner, Some((&symbol, kind))).await?;
    Ok(Some((symbol, kind)))
}
