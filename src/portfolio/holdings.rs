//! Holdings: a portfolio's positions with their quotes, adding and changing a holding, and
//! the totals in the owner's base currency.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use time::Date;

use super::performance::{self, Measured, RangeReturn};
use super::valuation;
use crate::domain::activity::{ActivityPage, ActivityQuery};
use crate::domain::cash::{CashBook, CashTx};
use crate::domain::fx::{self, FxHistory};
use crate::domain::holding::{UNKNOWN_SYMBOL_ADVICE, already_held, no_holding};
use crate::domain::position::{self, sort_by_weight, sort_positions, sums_by_currency};
use crate::domain::returns::{self, NoRate, Scope};
use crate::domain::{
    AssetKey, AssetKind, DomainError, Holding, HoldingFields, Ledger, OwnerId, Position, Quote,
    SortDir, SortKey, Symbol, TableColumns, Totals, Transaction, TxAmounts, ValidHolding,
};
use crate::market::{QuoteError, QuoteService};
use crate::store::{Store, StoreError, StoreResult};

/// Each owner's holdings (and items' prices) as last read, with the version they were read at.
///
/// A page costs one small query for the owner's version instead of reading every holding; any
/// change to the holdings, on any instance, bumps the version and so reloads the list.
#[derive(Clone)]
pub struct HoldingsCache {
    cache: moka::future::Cache<i64, Arc<Snapshot>>,
    /// The closes the value chart read, and which assets' history it asked for recently.
    pub history: super::valuation::HistoryCache,
}

struct Snapshot {
    version: i64,
    holdings: Vec<Holding>,
    /// Items' latest manual prices, by holding id.
    item_quotes: HashMap<i64, Quote>,
    /// What each holding's transactions add up to, by holding id.
    ledgers: HashMap<i64, Ledger>,
    /// Each holding's transactions in replay order, by holding id.
    transactions: Arc<HashMap<i64, Vec<TxAmounts>>>,
    /// Every transaction, by day then as entered: the activity list's rows.
    all: Arc<Vec<Transaction>>,
    /// The cash of every account and currency, and the cash transactions.
    cash: Arc<CashView>,
    /// The first day each currency was traded or moved in: how far back its exchange rates
    /// are needed.
    first_days: BTreeMap<String, Date>,
}

/// The owner's cash transactions and the balances they (and the trades) leave.
#[derive(Debug, Clone, Default)]
pub struct CashView {
    pub book: CashBook,
    pub transactions: Vec<CashTx>,
}

impl Default for HoldingsCache {
    fn default() -> Self {
        Self {
            cache: moka::future::Cache::builder().max_capacity(10_000).build(),
            history: Default::default(),
        }
    }
}

impl HoldingsCache {
    async fn snapshot(
        &self,
        store: &dyn Store,
        quotes: &QuoteService,
        owner: OwnerId,
        known_version: Option<i64>,
    ) -> StoreResult<Arc<Snapshot>> {
        // The version is read before the list: a change in between makes the next page reload.
        let version = match known_version {
            Some(v) => v,
            None => store.holdings_version(owner).await?,
        };
        if let Some(snapshot) = self.cache.get(&owner.0).await
            && snapshot.version == version
        {
            return Ok(snapshot);
        }
        let holdings = store.list_holdings(owner).await?;
        let all = store.transactions(owner, None).await?;
        let mut transactions: HashMap<i64, Vec<TxAmounts>> = HashMap::new();
        for t in &all {
            transactions
                .entry(t.holding_id)
                .or_default()
                .push(t.amounts.clone());
        }
        let cash_txs = store.cash_transactions(owner).await?;
        let cash = CashBook::new(
            &cash_txs,
            all.iter().map(|t| (t.currency.as_str(), &t.amounts)),
        );
        let first_days = first_days(&all, &cash_txs);
        let ledgers = logged(position::replay_each(&transactions));
        let mut item_quotes = HashMap::new();
        for h in holdings.iter().filter(|h| !h.asset.kind.is_market_priced()) {
            if let Some(q) = current_quote(quotes, owner, h).await {
                item_quotes.insert(h.id, q);
            }
        }
        let snapshot = Arc::new(Snapshot {
            version,
            holdings,
            item_quotes,
            ledgers,
            transactions: Arc::new(transactions),
            all: Arc::new(all),
            cash: Arc::new(CashView {
                book: cash,
                transactions: cash_txs,
            }),
            first_days,
        });
        self.cache.insert(owner.0, snapshot.clone()).await;
        Ok(snapshot)
    }

    /// The owner's transactions by holding id, in replay order (from the same snapshot as
    /// [`load`], so usually without a query).
    pub async fn transactions(
        &self,
        store: &dyn Store,
        quotes: &QuoteService,
        owner: OwnerId,
        known_version: Option<i64>,
    ) -> StoreResult<Arc<HashMap<i64, Vec<TxAmounts>>>> {
        let snapshot = self.snapshot(store, quotes, owner, known_version).await?;
        Ok(snapshot.transactions.clone())
    }

    /// The cash of the owner's accounts (from the same snapshot as [`load`]).
    pub async fn cash(
        &self,
        store: &dyn Store,
        quotes: &QuoteService,
        owner: OwnerId,
        known_version: Option<i64>,
    ) -> StoreResult<Arc<CashView>> {
        let snapshot = self.snapshot(store, quotes, owner, known_version).await?;
        Ok(snapshot.cash.clone())
    }
}

/// Which positions a list shows, and in which order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Listing {
    /// Only what one account holds (its units, cost and gains); `None`: every account.
    pub account: Option<i64>,
    pub key: SortKey,
    pub dir: SortDir,
}

/// Loads an owner's holdings, fetches their quotes concurrently and sorts them.
/// `known_version` is the owner's holdings version when the caller has just read it.
pub async fn load(
    store: &dyn Store,
    quotes: &QuoteService,
    cache: &HoldingsCache,
    owner: OwnerId,
    known_version: Option<i64>,
    key: SortKey,
    dir: SortDir,
) -> StoreResult<Vec<Position>> {
    let listing = Listing {
        account: None,
        key,
        dir,
    };
    load_listing(store, quotes, cache, owner, known_version, listing).await
}

/// [`load`], for every account or one: in one account, a holding is its units there (what
/// that account's transactions add up to), and a holding with none of them is left out.
pub async fn load_listing(
    store: &dyn Store,
    quotes: &QuoteService,
    cache: &HoldingsCache,
    owner: OwnerId,
    known_version: Option<i64>,
    listing: Listing,
) -> StoreResult<Vec<Position>> {
    let snapshot = cache.snapshot(store, quotes, owner, known_version).await?;
    let wanted: Vec<_> = snapshot
        .holdings
        .iter()
        .map(|h| (h.asset.symbol.clone(), h.asset.kind))
        .collect();
    let mut found = quotes.quotes(&wanted).await;
    let mut positions: Vec<Position> = snapshot
        .holdings
        .iter()
        .filter_map(|holding| {
            let (holding, ledger) = match listing.account {
                None => (holding.clone(), snapshot.ledgers.get(&holding.id).cloned()),
                Some(account) => {
                    let mine: Vec<&TxAmounts> = snapshot
                        .transactions
                        .get(&holding.id)?
                        .iter()
                        .filter(|t| t.account == account)
                        .collect();
                    if mine.is_empty() {
                        return None;
                    }
                    let ledger = Ledger::replay(mine).ok()?;
                    let mut in_account = holding.clone();
                    in_account.quantity = ledger.quantity;
                    in_account.cost_basis = ledger.average_cost();
                    (in_account, Some(ledger))
                }
            };
            let quote = if holding.asset.kind.is_market_priced() {
                found.remove(&(holding.asset.symbol.clone(), holding.asset.kind))
            } else {
                snapshot.item_quotes.get(&holding.id).cloned()
            };
            Some(Position {
                holding,
                quote,
                ledger,
            })
        })
        .collect();
    if listing.key == SortKey::Weight {
        // A weight is a value in the base currency: the order needs the exchange rates.
        let base = store.base_currency(owner).await?;
        let totals = totals(&positions, quotes, &base).await;
        sort_by_weight(&mut positions, &totals, listing.dir);
    } else {
        sort_positions(&mut positions, listing.key, listing.dir);
    }
    Ok(positions)
}

/// Keeps the holdings table's columns the owner chose.
pub async fn set_table_columns(
    store: &dyn Store,
    owner: OwnerId,
    columns: &TableColumns,
) -> StoreResult<()> {
    store
        .set_table_columns(owner, columns.to_stored().as_deref())
        .await
}

/// A holding's price now: the market's, or for an item the latest one its owner entered.
pub async fn current_quote(
    quotes: &QuoteService,
    owner: OwnerId,
    holding: &Holding,
) -> Option<Quote> {
    let asset = &holding.asset;
    if asset.kind.is_market_priced() {
        quotes.quote(&asset.symbol, asset.kind).await.ok()
    } else {
        quotes
            .item_quote(&AssetKey {
                symbol: asset.symbol.clone(),
                kind: asset.kind,
                owner,
            })
            .await
    }
}

/// Replays every holding's transactions; a holding whose stored transactions do not add up
/// (they were checked when written) is left out and logged.
fn ledgers(transactions: Vec<Transaction>) -> HashMap<i64, Ledger> {
    logged(position::ledgers(transactions))
}

/// The ledgers; the holdings left out are logged.
fn logged((ledgers, refused): (HashMap<i64, Ledger>, Vec<(i64, String)>)) -> HashMap<i64, Ledger> {
    for (id, reason) in refused {
        tracing::warn!(holding = id, %reason, "stored transactions do not add up");
    }
    ledgers
}

/// Where an owner's records are read: the store, the price services and the snapshots.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    pub store: &'a dyn Store,
    pub quotes: &'a QuoteService,
    pub cache: &'a HoldingsCache,
    pub owner: OwnerId,
    /// The owner's holdings version when the caller has just read it.
    pub version: Option<i64>,
}

impl Reader<'_> {
    /// The owner's snapshot, as the version says.
    async fn snapshot(&self) -> StoreResult<Arc<Snapshot>> {
        self.cache
            .snapshot(self.store, self.quotes, self.owner, self.version)
            .await
    }
}

/// A page of the owner's activity list, read from the same snapshot as [`load`].
pub async fn activity(reader: Reader<'_>, q: &ActivityQuery) -> StoreResult<ActivityPage> {
    let snapshot = reader.snapshot().await?;
    Ok(ActivityPage::new(snapshot.all.clone(), q))
}

/// Sums per currency, then the total in `base` at today's exchange rates (no cash; enough to
/// weigh the holdings against each other).
pub async fn totals(positions: &[Position], quotes: &QuoteService, base: &str) -> Totals {
    at_today(positions, None, quotes, base).await
}

/// The totals of `positions` with the cash of the accounts `account` selects (every one for
/// `None`), in `base`: values and cash at today's rates; costs, realized gains, dividends and
/// interest at the rates of their own days where the currency's past rates are known (see
/// [`crate::domain::fx`]), the gain the currencies made apart.
pub async fn with_cash(
    reader: Reader<'_>,
    positions: &[Position],
    account: Option<i64>,
    base: &str,
) -> StoreResult<Totals> {
    let snapshot = reader.snapshot().await?;
    let cash = &snapshot.cash;
    let mut totals = at_today(positions, Some((&cash.book, account)), reader.quotes, base).await;
    let fx = fx_history(reader, base, &totals.rates, &snapshot.first_days).await;
    let shown = |a: i64| account.is_none_or(|only| only == a);
    let (own, gaps) = fx::own_day_sums(
        &fx,
        positions,
        &snapshot.transactions,
        account,
        &cash.transactions,
        shown,
    );
    totals.at_own_day_rates(&own);
    totals.fx_gaps = gaps.into_iter().collect();
    // Only currencies something happened in need past rates.
    totals.fx_today = totals
        .rates
        .iter()
        .map(|(c, _)| c.clone())
        .filter(|c| snapshot.first_days.contains_key(c) && !fx.has_history(c))
        .collect();
    Ok(totals)
}

/// [`with_cash`] at today's rates alone: the value, cash and rates, for a figure that needs
/// no costs in the base currency (a weight, a return).
pub async fn today_totals(
    reader: Reader<'_>,
    positions: &[Position],
    account: Option<i64>,
    base: &str,
) -> StoreResult<Totals> {
    let snapshot = reader.snapshot().await?;
    let cash = Some((&snapshot.cash.book, account));
    Ok(at_today(positions, cash, reader.quotes, base).await)
}

/// [`with_cash`] at today's rates only.
async fn at_today(
    positions: &[Position],
    cash: Option<(&CashBook, Option<i64>)>,
    quotes: &QuoteService,
    base: &str,
) -> Totals {
    let (mut by_currency, unpriced) = sums_by_currency(positions);
    let mut tracked = false;
    if let Some((book, account)) = cash {
        let shown = |a: i64| account.is_none_or(|only| only == a);
        position::add_cash(&mut by_currency, &book.by_currency(shown));
        tracked = book.tracked.iter().any(|a| shown(*a));
    }
    let rates = futures::future::join_all(
        by_currency
            .keys()
            .map(|currency| quotes.fx_rate(currency, base)),
    )
    .await;
    Totals {
        cash_tracked: tracked,
        ..Totals::new(base, by_currency, unpriced, rates)
    }
}

/// The first day each currency was traded or moved in.
pub fn first_days(transactions: &[Transaction], cash: &[CashTx]) -> BTreeMap<String, Date> {
    let mut first_days: BTreeMap<String, Date> = BTreeMap::new();
    let days = transactions.iter().map(|t| (&t.currency, t.amounts.day));
    for (currency, day) in days.chain(cash.iter().map(|c| (&c.currency, c.day))) {
        let first = first_days.entry(currency.clone()).or_insert(day);
        *first = (*first).min(day);
    }
    first_days
}

/// The past exchange rates to `base` of each currency of `rates` (today's), from a fortnight
/// before the first day it was used (`first_days`): the stored daily closes of its pair
/// (`EURUSD=X`), and the history the store lacks asked of the exchange-rate services (waited
/// for briefly; a later view has what comes after). A currency whose past closes are not known
/// yet, or could not be read, has none (its amounts convert at today's rate).
pub async fn fx_history(
    reader: Reader<'_>,
    base: &str,
    rates: &[(String, rust_decimal::Decimal)],
    first_days: &BTreeMap<String, Date>,
) -> FxHistory {
    let today = super::today();
    let mut fx = FxHistory::new(base, rates.iter().cloned());
    let reads = rates.iter().filter_map(|(currency, rate)| {
        let since = *first_days.get(currency)?;
        let symbol = Symbol::parse(&format!("{currency}{base}=X")).ok()?;
        let key = AssetKey {
            symbol,
            kind: AssetKind::Stock,
            owner: reader.owner,
        };
        let history = &reader.cache.history;
        let read = valuation::asset_closes(
            reader.store,
            reader.quotes,
            history,
            key,
            since,
            Some(*rate),
            today,
        );
        Some(async move { (currency, read.await) })
    });
    for (currency, read) in futures::future::join_all(reads).await {
        match read {
            // Today's close alone (from the live rate) is no history.
            Ok((closes, _)) if closes.first().is_some_and(|p| p.date < today) => {
                fx.add(currency, closes)
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, %currency, "could not read past exchange rates"),
        }
    }
    fx
}

/// The money-weighted return (XIRR) a year of every account (`None`) or one, since its first
/// flow, with what it holds now (`totals`, at today's rates) as taken out today; and the day it
/// starts from. The flows are the trades in `transactions` (by holding id; each holding's
/// currency from `positions`) and the cash transactions (see [`crate::domain::returns`]).
pub fn money_weighted(
    positions: &[Position],
    transactions: &HashMap<i64, Vec<TxAmounts>>,
    cash: &CashView,
    account: Option<i64>,
    totals: &Totals,
) -> (Result<rust_decimal::Decimal, NoRate>, Option<time::Date>) {
    let currency: HashMap<i64, &str> = positions
        .iter()
        .map(|p| (p.holding.id, p.holding.asset.currency.as_str()))
        .collect();
    let trades = transactions.iter().flat_map(|(id, txs)| {
        let c = currency.get(id).copied().unwrap_or("");
        txs.iter().map(move |t| (c, t))
    });
    let scope = account.map_or(Scope::Portfolio, Scope::Account);
    let flows = returns::flows(scope, &cash.transactions, trades, &cash.book.tracked, |c| {
        totals.rate(c)
    });
    let since = flows.flows.first().map(|f| f.day);
    if !flows.complete() || !totals.no_rate.is_empty() || totals.unpriced > 0 {
        return (Err(NoRate::Incomplete), since);
    }
    let value = totals.total.net_worth().unwrap_or(totals.total.value);
    (returns::xirr(&flows.flows, value, super::today()), since)
}

/// A money-weighted return a year and the day its first flow was on.
pub type Rate = (Result<rust_decimal::Decimal, NoRate>, Option<time::Date>);

/// The money-weighted return a year since the first money in, and the returns over each
/// range (see [`super::performance`]).
pub type Measure = (Rate, Vec<RangeReturn>);

/// The returns of the whole portfolio, each account and each holding.
pub struct ReturnsReport {
    pub base: String,
    pub portfolio: Measure,
    /// The benchmark the ranges' `benchmark` figures are of.
    pub benchmark: Option<(Symbol, AssetKind)>,
    /// `(account id, name, returns)`, oldest account first.
    pub accounts: Vec<(i64, String, Measure)>,
    /// `(holding id, symbol, returns)`, by symbol.
    pub holdings: Vec<(i64, String, Measure)>,
}

/// Every return of the owner's, in `base` at today's rates (see [`money_weighted`],
/// [`holding_money_weighted`] and [`super::performance`]).
pub async fn returns(
    store: &dyn Store,
    quotes: &QuoteService,
    cache: &HoldingsCache,
    owner: OwnerId,
    base: &str,
) -> super::Result<ReturnsReport> {
    let listing = |account| Listing {
        account,
        key: SortKey::Symbol,
        dir: SortDir::Asc,
    };
    let positions = load_listing(store, quotes, cache, owner, None, listing(None)).await?;
    let cash = cache.cash(store, quotes, owner, None).await?;
    let transactions = cache.transactions(store, quotes, owner, None).await?;
    // The returns convert at today's rates: the totals' values and rates are what they need.
    let totals = at_today(&positions, Some((&cash.book, None)), quotes, base).await;
    let records = performance::Records {
        positions: &positions,
        transactions: &transactions,
        cash: &cash,
        totals: &totals,
    };
    let today = super::today();
    let benchmark = store.benchmark(owner).await?;
    let history = &cache.history;
    let gathered = performance::gather(
        store,
        quotes,
        history,
        records,
        benchmark.clone(),
        owner,
        today,
    )
    .await?;
    let ranges = |measured| {
        gathered.as_ref().map_or_else(Vec::new, |g| {
            performance::measure(g, measured, records).ranges()
        })
    };
    let portfolio = (
        money_weighted(&positions, &transactions, &cash, None, &totals),
        ranges(Measured::Portfolio),
    );
    let mut accounts = Vec::new();
    for a in store.holding_accounts(owner).await? {
        let held = load_listing(store, quotes, cache, owner, None, listing(Some(a.id))).await?;
        let in_account = at_today(&held, Some((&cash.book, Some(a.id))), quotes, base).await;
        // Every holding's currency (a trade of any of them may be the account's).
        let rate = money_weighted(&positions, &transactions, &cash, Some(a.id), &in_account);
        accounts.push((a.id, a.name, (rate, ranges(Measured::Account(a.id)))));
    }
    let holdings = positions
        .iter()
        .map(|p| {
            let trades = transactions.get(&p.holding.id).into_iter().flatten();
            let rate = holding_money_weighted(p, trades, totals.rate(p.currency()));
            let symbol = p.holding.asset.symbol.to_string();
            (
                p.holding.id,
                symbol,
                (rate, ranges(Measured::Holding(p.holding.id))),
            )
        })
        .collect();
    Ok(ReturnsReport {
        base: base.to_string(),
        portfolio,
        benchmark,
        accounts,
        holdings,
    })
}

/// One holding's money-weighted return a year (XIRR) since its first trade: its trades as
/// money in and out, its value now (at `rate` to the base currency) as taken out today.
pub fn holding_money_weighted<'a>(
    position: &Position,
    trades: impl IntoIterator<Item = &'a TxAmounts>,
    rate: Option<rust_decimal::Decimal>,
) -> (Result<rust_decimal::Decimal, NoRate>, Option<time::Date>) {
    let Some(rate) = rate else {
        return (Err(NoRate::Incomplete), None);
    };
    let flows = returns::holding_flows(trades, rate);
    let since = flows.flows.first().map(|f| f.day);
    let value = if position.holding.quantity.is_zero() {
        Some(rust_decimal::Decimal::ZERO)
    } else {
        position.market_value().and_then(|v| v.checked_mul(rate))
    };
    match value {
        Some(value) if flows.complete() => {
            (returns::xirr(&flows.flows, value, super::today()), since)
        }
        _ => (Err(NoRate::Incomplete), since),
    }
}

/// Asks the providers for a quote, which also gives the asset's name and currency.
/// An unknown symbol is refused (with `advice` on what to do); a provider that is down gives
/// no quote but no error. A crypto or commodity that its services cannot confirm (unknown,
/// or down) but the stock services know is refused as the wrong kind, with the right one.
pub async fn describe(
    quotes: &QuoteService,
    symbol: &Symbol,
    kind: AssetKind,
    advice: &str,
) -> Result<Option<Quote>, DomainError> {
    let error = match quotes.quote_to_check(symbol, kind).await {
        Ok(q) => return Ok(Some(q)),
        Err(e) => e,
    };
    // A coin or commodity known by name (ETH, GOLD) stays what it was chosen as, even when a
    // stock has the same ticker and its services cannot answer right now.
    let known_by_name = match kind {
        AssetKind::Crypto => crate::market::symbols::coin(symbol).is_some(),
        AssetKind::Commodity => crate::market::symbols::commodity(symbol).is_some(),
        _ => true,
    };
    if !known_by_name && let Ok(stock) = quotes.quote_to_check(symbol, AssetKind::Stock).await {
        let name = stock.name.map(|n| format!(" ({n})")).unwrap_or_default();
        let kind = kind.label().to_lowercase();
        return Err(match error {
            QuoteError::NotFound(_) => DomainError::field(
                "kind",
                format!(
                    "{symbol} is a stock{name}, and no {kind} service knows a {kind} called {symbol}. Choose the kind Stock (or ETF), or check the symbol."
                ),
            ),
            // Its services cannot answer now: the same request may pass later (409).
            _ => DomainError::Mismatch(vec![crate::domain::FieldError::new(
                "kind",
                format!(
                    "{symbol} is a stock{name}, and no {kind} service can confirm a {kind} called {symbol} right now. Choose the kind Stock (or ETF), or try again in a few minutes if you mean a {kind}."
                ),
            )]),
        });
    }
    match error {
        QuoteError::NotFound(_) => Err(DomainError::field(
            "symbol",
            format!("No price service knows the symbol {symbol}. {advice}"),
        )),
        // A provider that is down must not stop anyone from recording what they own.
        _ => Ok(None),
    }
}

/// The conflict a unique index reported, said with the holding that has the asset.
async fn conflict_for(
    store: &dyn Store,
    owner: OwnerId,
    symbol: &Symbol,
    kind: AssetKind,
) -> super::Result<DomainError> {
    Ok(match store.find_holding(owner, symbol, kind).await? {
        Some(existing) => already_held(&existing),
        None => conflict(),
    })
}

/// A unique index refused a holding whose twin is gone again by now.
pub fn conflict() -> DomainError {
    DomainError::Conflict {
        message: "This asset is already in the portfolio.".into(),
        existing_id: None,
    }
}

fn fields(v: ValidHolding, quote: Option<&Quote>) -> HoldingFields {
    HoldingFields {
        symbol: v.symbol,
        kind: v.kind,
        name: quote.and_then(|q| q.name.clone()),
        currency: quote.and_then(|q| q.currency.clone()),
        quantity: v.quantity,
        cost_basis: v.cost_basis,
        notes: v.notes,
        opened: v.opened,
    }
}

/// One of the owner's holdings, or a 404 that does not say whether it exists for someone else.
pub async fn owned(store: &dyn Store, owner: OwnerId, id: i64) -> super::Result<Holding> {
    Ok(store
        .get_holding(owner, id)
        .await?
        .ok_or_else(|| no_holding(id))?)
}

/// One holding as a position: with its quote and what its transactions add up to.
pub async fn position(
    store: &dyn Store,
    owner: OwnerId,
    holding: Holding,
    quote: Option<Quote>,
) -> StoreResult<Position> {
    let mut ledgers = ledgers(store.transactions(owner, Some(holding.id)).await?);
    Ok(Position {
        ledger: ledgers.remove(&holding.id),
        holding,
        quote,
    })
}

/// Adds a holding; a conflict when the asset is already held. The quote fetched to check the
/// symbol comes back with it.
pub async fn create(
    store: &dyn Store,
    quotes: &QuoteService,
    owner: OwnerId,
    v: ValidHolding,
) -> super::Result<Position> {
    if let Some(existing) = store.find_holding(owner, &v.symbol, v.kind).await? {
        return Err(already_held(&existing).into());
    }
    check_opened(&v)?;
    let quote = describe(quotes, &v.symbol, v.kind, UNKNOWN_SYMBOL_ADVICE).await?;
    let fields = fields(v, quote.as_ref());
    match store.create_holding(owner, &fields).await {
        Ok(holding) => Ok(position(store, owner, holding, quote).await?),
        Err(StoreError::Conflict) => Err(conflict_for(store, owner, &fields.symbol, fields.kind)
            .await?
            .into()),
        Err(e) => Err(e.into()),
    }
}

/// A purchase day after today is refused (the state of things, so a 409 on the API).
fn check_opened(v: &ValidHolding) -> Result<(), DomainError> {
    match v.opened {
        Some(day) => crate::domain::transaction::not_after(day, super::today())
            .map(|_| ())
            .map_err(|m| DomainError::Mismatch(vec![crate::domain::FieldError::new("date", m)])),
        None => Ok(()),
    }
}

/// Replaces a holding's fields; moving it to an asset already held is a conflict. A purchase
/// day, when given, moves the opening buy of a holding that has no other transaction.
pub async fn update(
    store: &dyn Store,
    quotes: &QuoteService,
    owner: OwnerId,
    existing: &Holding,
    v: ValidHolding,
) -> super::Result<Position> {
    check_opened(&v)?;
    let quote = if existing.asset.symbol != v.symbol || existing.asset.kind != v.kind {
        if let Some(other) = store.find_holding(owner, &v.symbol, v.kind).await? {
            return Err(already_held(&other).into());
        }
        describe(quotes, &v.symbol, v.kind, UNKNOWN_SYMBOL_ADVICE).await?
    } else {
        current_quote(quotes, owner, existing).await
    };
    let fields = fields(v, quote.as_ref());
    match store.update_holding(owner, existing.id, &fields).await {
        Ok(Some(holding)) => Ok(position(store, owner, holding, quote).await?),
        Ok(None) => Err(no_holding(existing.id).into()),
        Err(StoreError::Conflict) => Err(conflict_for(store, owner, &fields.symbol, fields.kind)
            .await?
            .into()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes one of the owner's holdings with its transactions; a 404 when it is not theirs.
pub async fn delete(store: &dyn Store, owner: OwnerId, id: i64) -> super::Result<()> {
    if store.delete_holding(owner, id).await? {
        Ok(())
    } else {
        Err(no_holding(id).into())
    }
}
