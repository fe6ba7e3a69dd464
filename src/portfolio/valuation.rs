//! Gathers what the value line needs ([`value_over_time`]): one price query per asset held in
//! the range (market assets' closes are then kept in memory for [`CLOSES_MEMORY`]), and, for
//! market assets whose stored closes do not reach back far enough, the price services' history
//! (fetched concurrently, at most [`FETCH_CONCURRENCY`] at a time, waited for at most
//! [`HISTORY_WAIT`]; what comes later is stored and drawn on a later view).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use rust_decimal::Decimal;
use time::Date;

use crate::domain::valuation::{
    AssetHistory, ValueRange, ValueSeries, first_held, history_range_for, merge, set_close,
    value_over_time,
};
use crate::domain::{
    AssetKey, EARLIEST_PRICE_DATE, HistoryRange, Ledger, OwnerId, Position, PricePoint, Symbol,
    Totals, TxAmounts,
};
use crate::market::QuoteService;
use crate::store::{PriceStore, StoreResult};

/// How far before the day a line starts its prices are read, so the last close before it
/// (a weekend, a holiday) carries into the first day.
pub const LOOKBACK_DAYS: i64 = 14;
/// Most history fetches one page runs at once.
pub const FETCH_CONCURRENCY: usize = 4;
/// The longest a page waits for price history the store lacks (never longer than the quote
/// service's deadline): the prices on a first view matter more than a complete line, which a
/// later view draws from what the fetches stored.
pub const HISTORY_WAIT: Duration = Duration::from_millis(50);
/// How long an asset's history, once asked for, is not asked for again by the portfolio page
/// (a service may have none, or be down: the page must not ask on every view).
pub const FETCH_MEMORY: Duration = Duration::from_secs(15 * 60);

/// An asset held by the owner, as the value line needs it.
#[derive(Debug, Clone)]
pub struct HeldAsset {
    pub holding_id: i64,
    pub key: AssetKey,
    /// How notes name it.
    pub label: String,
    /// Base-currency units one unit of its currency buys today; `None`: no rate.
    pub rate: Option<Decimal>,
    /// Today's price from the quote the table shows (market assets), so the line ends at the
    /// value the table totals.
    pub price_today: Option<Decimal>,
}

/// How long a market asset's stored closes, once read, are reused (by every account). Past
/// closes do not change; today's comes from the live quote; a history fetch made here clears
/// the asset's entry. Closes stored meanwhile by anything else (an asset page's history,
/// another instance) show after at most this long.
pub const CLOSES_MEMORY: Duration = Duration::from_secs(30 * 60);
/// Most closes kept in memory, over every asset (about 40 bytes each).
pub const CLOSES_CAPACITY: u64 = 2_000_000;

/// Stored closes read by the value line, which assets' history it asked for recently, per app.
#[derive(Clone)]
pub struct HistoryCache {
    asked: moka::future::Cache<(AssetKey, HistoryRange), ()>,
    /// A market asset's closes from `since` on, as last read.
    closes: moka::future::Cache<AssetKey, Arc<Closes>>,
    /// Counts the fetches that brought closes, so a page drawn from them can be reused until
    /// it moves.
    generation: Arc<AtomicU64>,
    /// Market assets whose history a page asked for and which has not come back yet.
    fetching: Arc<std::sync::Mutex<std::collections::HashSet<AssetKey>>>,
}

struct Closes {
    since: Date,
    points: Vec<PricePoint>,
}

impl Default for HistoryCache {
    fn default() -> Self {
        HistoryCache {
            asked: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(FETCH_MEMORY)
                .build(),
            closes: moka::future::Cache::builder()
                .max_capacity(CLOSES_CAPACITY)
                .weigher(|_, c: &Arc<Closes>| u32::try_from(c.points.len()).unwrap_or(u32::MAX))
                .time_to_live(CLOSES_MEMORY)
                .build(),
            generation: Arc::default(),
            fetching: Arc::default(),
        }
    }
}

/// A market asset's key as every account shares it (its prices belong to no one).
fn shared(key: &AssetKey) -> AssetKey {
    AssetKey {
        owner: OwnerId(0),
        ..key.clone()
    }
}

impl HistoryCache {
    /// Changes whenever a fetch brings closes this instance had not stored (reading stored
    /// closes into memory changes nothing a page shows).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    fn fetching(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<AssetKey>> {
        self.fetching.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An asset's stored closes from `since` on, oldest first: from memory when an earlier read
    /// reached back that far, else from the store (items always: their owner edits them).
    async fn closes(
        &self,
        store: &dyn PriceStore,
        key: &AssetKey,
        since: Date,
    ) -> StoreResult<Vec<PricePoint>> {
        if !key.kind.is_market_priced() {
            return store.prices(key, since).await;
        }
        let shared = shared(key);
        if let Some(known) = self.closes.get(&shared).await
            && known.since <= since
        {
            let start = known.points.partition_point(|p| p.date < since);
            return Ok(known.points[start..].to_vec());
        }
        let points = store.prices(key, since).await?;
        self.closes
            .insert(
                shared,
                Arc::new(Closes {
                    since,
                    points: points.clone(),
                }),
            )
            .await;
        Ok(points)
    }
}

/// The value line and how its inputs were gathered.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSeries {
    pub range: ValueRange,
    pub from: Date,
    pub to: Date,
    pub series: ValueSeries,
    /// History fetches still running when the page stopped waiting.
    pub pending: usize,
}

/// Gathers what [`value_over_time`] needs for `range` ending `today` and runs it.
/// `transactions` are the owner's, by holding id, in replay order.
pub async fn load(
    store: &dyn PriceStore,
    quotes: &QuoteService,
    cache: &HistoryCache,
    assets: Vec<HeldAsset>,
    transactions: &HashMap<i64, Vec<TxAmounts>>,
    range: ValueRange,
    today: Date,
) -> StoreResult<LoadedSeries> {
    let first_transaction = transactions
        .values()
        .filter_map(|txs| txs.first().map(|t| t.day))
        .min();
    let from = range.start(today, first_transaction);
    let empty: Vec<TxAmounts> = Vec::new();
    let (needed, prices, pending) =
        closes(store, quotes, cache, assets, transactions, from, today).await?;
    let inputs: Vec<AssetHistory<'_>> = needed
        .iter()
        .zip(prices.iter())
        .map(|(a, list)| AssetHistory {
            label: a.label.clone(),
            transactions: transactions.get(&a.holding_id).unwrap_or(&empty),
            prices: list,
            rate: a.rate,
        })
        .collect();
    Ok(LoadedSeries {
        range,
        from,
        to: today,
        series: value_over_time(&inputs, from, today),
        pending,
    })
}

/// The assets held at some point from `from` to `today` (by `transactions`, by holding id)
/// with their daily closes from a fortnight before the day each is first held (today's from
/// its live quote; history the store lacks asked for, see [`load`]), and how many history
/// fetches were still running when it stopped waiting.
pub async fn closes(
    store: &dyn PriceStore,
    quotes: &QuoteService,
    cache: &HistoryCache,
    assets: Vec<HeldAsset>,
    transactions: &HashMap<i64, Vec<TxAmounts>>,
    from: Date,
    today: Date,
) -> StoreResult<(Vec<HeldAsset>, Vec<Vec<PricePoint>>, usize)> {
    let empty: Vec<TxAmounts> = Vec::new();
    // Only assets held at some point of the range need prices.
    let needed: Vec<(HeldAsset, Date)> = assets
        .into_iter()
        .filter_map(|a| {
            let txs = transactions.get(&a.holding_id).unwrap_or(&empty);
            let steps = Ledger::quantities(txs).ok()?;
            let first = first_held(&steps, from, today)?;
            Some((a, first))
        })
        .collect();
    let (prices, pending) = fill(store, quotes, cache, &needed, today).await?;
    Ok((
        needed.into_iter().map(|(a, _)| a).collect(),
        prices,
        pending,
    ))
}

/// One market asset's daily closes from a fortnight before `since` to today (today's from
/// `price_today`), read and asked for as the value line's are; and how many history fetches
/// were still running when it stopped waiting.
pub async fn asset_closes(
    store: &dyn PriceStore,
    quotes: &QuoteService,
    cache: &HistoryCache,
    key: AssetKey,
    since: Date,
    price_today: Option<Decimal>,
    today: Date,
) -> StoreResult<(Vec<PricePoint>, usize)> {
    let asset = HeldAsset {
        holding_id: 0,
        label: key.symbol.to_string(),
        key,
        rate: Some(Decimal::ONE),
        price_today,
    };
    let (mut prices, pending) = fill(store, quotes, cache, &[(asset, since)], today).await?;
    Ok((prices.pop().unwrap_or_default(), pending))
}

/// The closes of each `needed` asset from a fortnight before the day it is first needed:
/// stored, today's from its live quote, and history the store lacks asked for.
async fn fill(
    store: &dyn PriceStore,
    quotes: &QuoteService,
    cache: &HistoryCache,
    needed: &[(HeldAsset, Date)],
    today: Date,
) -> StoreResult<(Vec<Vec<PricePoint>>, usize)> {
    let mut prices = stored_closes(store, cache, needed).await?;
    // Today's close is the live quote's price (the stored one may be older, or missing).
    for ((a, _), list) in needed.iter().zip(prices.iter_mut()) {
        if let Some(close) = a.price_today {
            set_close(list, today, close);
        }
    }
    let (wanted, elsewhere) = missing_history(cache, needed, &prices, today).await;
    let pending =
        elsewhere + fetch_history(quotes, cache, wanted, needed, &mut prices, today).await;
    Ok((prices, pending))
}

/// Each needed asset's stored closes, from a fortnight before the day it is first needed
/// (an item's: all of them), eight reads at a time.
async fn stored_closes(
    store: &dyn PriceStore,
    cache: &HistoryCache,
    needed: &[(HeldAsset, Date)],
) -> StoreResult<Vec<Vec<PricePoint>>> {
    // Collected first: a lazy map inside the stream trips up the handler's `Send` bound.
    let reads: Vec<_> = needed
        .iter()
        .map(|(a, first)| {
            let since = if a.key.kind.is_market_priced() {
                *first - time::Duration::days(LOOKBACK_DAYS)
            } else {
                // An owner's prices are few and may be far apart: all of them.
                EARLIEST_PRICE_DATE
            };
            cache.closes(store, &a.key, since)
        })
        .collect();
    futures::stream::iter(reads)
        .buffered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Market assets whose stored closes begin after the day they are first needed and whose
/// history was not asked for lately: `(index in needed, asset, range to ask)`; and how many
/// of those asked for lately are still being fetched (for an earlier view).
async fn missing_history(
    cache: &HistoryCache,
    needed: &[(HeldAsset, Date)],
    prices: &[Vec<PricePoint>],
    today: Date,
) -> (Vec<(usize, AssetKey, HistoryRange)>, usize) {
    let mut wanted = Vec::new();
    let mut elsewhere = 0;
    for (i, ((a, first), closes)) in needed.iter().zip(prices).enumerate() {
        let covered = closes.first().is_some_and(|p| p.date <= *first);
        if covered || !a.key.kind.is_market_priced() {
            continue;
        }
        let history = history_range_for(*first - time::Duration::days(LOOKBACK_DAYS), today);
        let asked = (shared(&a.key), history);
        if cache.asked.contains_key(&asked) {
            if cache.fetching().contains(&asked.0) {
                elsewhere += 1;
            }
            continue;
        }
        cache.asked.insert(asked, ()).await;
        wanted.push((i, a.key.clone(), history));
    }
    (wanted, elsewhere)
}

/// Asks the price services for the `wanted` histories, at most [`FETCH_CONCURRENCY`] at a
/// time, and merges what comes within [`HISTORY_WAIT`] into `prices`; the rest
/// finish in the background (and store what they get for the next view). How many were still
/// running comes back.
async fn fetch_history(
    quotes: &QuoteService,
    cache: &HistoryCache,
    wanted: Vec<(usize, AssetKey, HistoryRange)>,
    needed: &[(HeldAsset, Date)],
    prices: &mut [Vec<PricePoint>],
    today: Date,
) -> usize {
    let count = wanted.len();
    if count == 0 {
        return 0;
    }
    let (tx, mut rx) = futures::channel::mpsc::unbounded();
    let wait = quotes.deadline().min(HISTORY_WAIT);
    let quotes = quotes.clone();
    cache
        .fetching()
        .extend(wanted.iter().map(|(_, key, _)| shared(key)));
    let cache = cache.clone();
    // Spawned, so fetches the page stops waiting for still finish and store their closes.
    tokio::spawn(async move {
        futures::stream::iter(wanted)
            .for_each_concurrent(FETCH_CONCURRENCY, |(i, key, history)| {
                let quotes = quotes.clone();
                let cache = cache.clone();
                let tx = tx.clone();
                async move {
                    // The service stores what it fetches; an error or nothing is no chart
                    // data, never a broken page.
                    let points = quotes.history(&key, history).await.points;
                    cache.fetching().remove(&shared(&key));
                    if !points.is_empty() {
                        cache.closes.invalidate(&shared(&key)).await;
                        cache.changed();
                    }
                    let _ = tx.unbounded_send((i, points));
                }
            })
            .await;
    });
    let mut received = 0;
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    while received < count {
        tokio::select! {
            answer = rx.next() => match answer {
                Some((i, points)) => {
                    received += 1;
                    if let (Some(list), Some((a, _))) = (prices.get_mut(i), needed.get(i)) {
                        merge(list, points);
                        // The live quote still wins for today.
                        if let Some(close) = a.price_today {
                            set_close(list, today, close);
                        }
                    }
                }
                None => break,
            },
            () = &mut deadline => break,
        }
    }
    count - received
}

/// The transactions (by holding id) that are in `account`.
pub fn in_account(
    transactions: &HashMap<i64, Vec<TxAmounts>>,
    account: i64,
) -> HashMap<i64, Vec<TxAmounts>> {
    transactions
        .iter()
        .map(|(id, txs)| {
            let mine = txs.iter().filter(|t| t.account == account).cloned();
            (*id, mine.collect())
        })
        .collect()
}

/// Symbols held under more than one kind (`GOLD` the stock and the commodity) are named with
/// their kind.
pub fn labels(positions: &[Position]) -> HashMap<i64, String> {
    let mut count: HashMap<&Symbol, usize> = HashMap::new();
    for p in positions {
        *count.entry(&p.holding.asset.symbol).or_default() += 1;
    }
    positions
        .iter()
        .map(|p| {
            let asset = &p.holding.asset;
            let label = if count.get(&asset.symbol).copied().unwrap_or(0) > 1 {
                format!("{} ({})", asset.symbol, asset.kind.label())
            } else {
                asset.symbol.to_string()
            };
            (p.holding.id, label)
        })
        .collect()
}

/// The assets of the positions as the value line needs them.
pub fn held_assets(positions: &[Position], totals: &Totals, owner: OwnerId) -> Vec<HeldAsset> {
    let names = labels(positions);
    positions
        .iter()
        .map(|p| {
            let asset = &p.holding.asset;
            HeldAsset {
                holding_id: p.holding.id,
                key: crate::domain::AssetKey {
                    symbol: asset.symbol.clone(),
                    kind: asset.kind,
                    owner,
                },
                label: names.get(&p.holding.id).cloned().unwrap_or_default(),
                rate: totals.rate(p.currency()),
                price_today: p
                    .quote
                    .as_ref()
                    .filter(|_| asset.kind.is_market_priced())
                    .map(|q| q.price),
            }
        })
        .collect()
}
