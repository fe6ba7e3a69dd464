//! A portfolio as people see it: holdings joined with their quotes, sorted and totalled.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::domain::{self, AssetKind, Symbol};
use crate::error::{AppError, FieldError};
use crate::ledger::{Ledger, TxAmounts};
use crate::market::{Quote, QuoteError, QuoteService};
use crate::store::{AssetKey, Holding, HoldingFields, OwnerId, Store, StoreError, StoreResult};

/// A column the portfolio can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    Symbol,
    Name,
    Kind,
    Quantity,
    Price,
    ChangePercent,
    Value,
    Cost,
    Gain,
    GainPercent,
    Realized,
    Dividends,
    DayChange,
    PreviousClose,
    MarketCap,
    YtdChange,
    Week52High,
    Week52Low,
}

impl SortKey {
    /// Every column, in table order, with its header label.
    pub const COLUMNS: [(SortKey, &'static str); 18] = [
        (SortKey::Symbol, "Symbol"),
        (SortKey::Name, "Name"),
        (SortKey::Kind, "Kind"),
        (SortKey::Quantity, "Quantity"),
        (SortKey::Price, "Price"),
        (SortKey::ChangePercent, "Change %"),
        (SortKey::Value, "Market value"),
        (SortKey::Cost, "Cost basis"),
        (SortKey::Gain, "Gain"),
        (SortKey::GainPercent, "Gain %"),
        (SortKey::Realized, "Realized"),
        (SortKey::Dividends, "Dividends"),
        (SortKey::DayChange, "Day change"),
        (SortKey::PreviousClose, "Prev. close"),
        (SortKey::MarketCap, "Market cap"),
        (SortKey::YtdChange, "YTD"),
        (SortKey::Week52High, "52w high"),
        (SortKey::Week52Low, "52w low"),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Symbol => "symbol",
            SortKey::Name => "name",
            SortKey::Kind => "kind",
            SortKey::Quantity => "quantity",
            SortKey::Price => "price",
            SortKey::ChangePercent => "change_percent",
            SortKey::Value => "value",
            SortKey::Cost => "cost",
            SortKey::Gain => "gain",
            SortKey::GainPercent => "gain_percent",
            SortKey::Realized => "realized",
            SortKey::Dividends => "dividends",
            SortKey::DayChange => "day_change",
            SortKey::PreviousClose => "previous_close",
            SortKey::MarketCap => "market_cap",
            SortKey::YtdChange => "ytd_change",
            SortKey::Week52High => "week52_high",
            SortKey::Week52Low => "week52_low",
        }
    }

    /// Text columns; the rest are numbers.
    pub fn is_text(self) -> bool {
        matches!(self, SortKey::Symbol | SortKey::Name | SortKey::Kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortDir {
    #[default]
    Asc,
    Desc,
}

impl SortDir {
    pub fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }
}

/// A holding with its quote, when one could be had, and what its transactions add up to.
#[derive(Debug, Clone)]
pub struct Position {
    pub holding: Holding,
    pub quote: Option<Quote>,
    pub ledger: Option<Ledger>,
}

impl Position {
    /// Quantity times price; `None` without a price, or if the product is out of range.
    pub fn market_value(&self) -> Option<Decimal> {
        self.quote
            .as_ref()
            .and_then(|q| q.price.checked_mul(self.holding.quantity))
    }

    /// What the units held cost in total (average cost), when known.
    pub fn cost(&self) -> Option<Decimal> {
        match &self.ledger {
            Some(l) => l.cost.map(|c| c.round_dp(8)),
            None => self
                .holding
                .cost_basis
                .and_then(|c| c.checked_mul(self.holding.quantity)),
        }
    }

    /// Market value less cost.
    pub fn gain(&self) -> Option<Decimal> {
        self.market_value()?.checked_sub(self.cost()?)
    }

    /// The gain as a percent of the cost.
    pub fn gain_percent(&self) -> Option<Decimal> {
        let cost = self.cost().filter(|c| !c.is_zero())?;
        Some(
            self.gain()?
                .checked_mul(Decimal::ONE_HUNDRED)?
                .checked_div(cost)?
                .round_dp(2),
        )
    }

    /// Gains realized by sells (less standalone fees).
    pub fn realized(&self) -> Option<Decimal> {
        self.ledger.as_ref().map(|l| l.realized)
    }

    /// Dividends received, net.
    pub fn dividends(&self) -> Option<Decimal> {
        self.ledger.as_ref().map(|l| l.dividends)
    }

    /// Today's change of the value: quantity times the price's change since the previous close.
    pub fn day_change(&self) -> Option<Decimal> {
        let q = self.quote.as_ref()?;
        let change = q
            .change
            .or_else(|| q.previous_close.and_then(|p| q.price.checked_sub(p)))?;
        change.checked_mul(self.holding.quantity)
    }

    /// The currency prices are in: the quote's, else the one recorded for the asset.
    pub fn currency(&self) -> &str {
        self.quote
            .as_ref()
            .and_then(|q| q.currency.as_deref())
            .unwrap_or(&self.holding.asset.currency)
    }

    fn text_key(&self, key: SortKey) -> Option<String> {
        match key {
            SortKey::Symbol => Some(self.holding.asset.symbol.to_string()),
            SortKey::Name => self.name().map(str::to_lowercase),
            SortKey::Kind => Some(self.holding.asset.kind.as_str().to_string()),
            _ => None,
        }
    }

    fn number_key(&self, key: SortKey) -> Option<Decimal> {
        let q = self.quote.as_ref();
        match key {
            SortKey::Quantity => Some(self.holding.quantity),
            SortKey::Price => q.map(|q| q.price),
            SortKey::ChangePercent => q.and_then(|q| q.change_percent),
            SortKey::Value => self.market_value(),
            SortKey::Cost => self.cost(),
            SortKey::Gain => self.gain(),
            SortKey::GainPercent => self.gain_percent(),
            SortKey::Realized => self.realized(),
            SortKey::Dividends => self.dividends(),
            SortKey::DayChange => self.day_change(),
            SortKey::PreviousClose => q.and_then(|q| q.previous_close),
            SortKey::MarketCap => q.and_then(|q| q.market_cap),
            SortKey::YtdChange => q.and_then(|q| q.ytd_change),
            SortKey::Week52High => q.and_then(|q| q.week52_high),
            SortKey::Week52Low => q.and_then(|q| q.week52_low),
            _ => None,
        }
    }

    /// The asset's name: the stored one, else the quote's.
    pub fn name(&self) -> Option<&str> {
        self.holding
            .asset
            .name
            .as_deref()
            .or_else(|| self.quote.as_ref().and_then(|q| q.name.as_deref()))
    }
}

/// Missing values sort last whichever the direction.
fn cmp_nulls_last<T: Ord>(a: Option<T>, b: Option<T>, dir: SortDir) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => match dir {
            SortDir::Asc => a.cmp(&b),
            SortDir::Desc => b.cmp(&a),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Sorts in place by `key` and `dir`; ties fall back to symbol, then kind, ascending.
pub fn sort_positions(positions: &mut [Position], key: SortKey, dir: SortDir) {
    positions.sort_by(|a, b| {
        let primary = if key.is_text() {
            cmp_nulls_last(a.text_key(key), b.text_key(key), dir)
        } else {
            cmp_nulls_last(a.number_key(key), b.number_key(key), dir)
        };
        primary
            .then_with(|| a.holding.asset.symbol.cmp(&b.holding.asset.symbol))
            .then_with(|| a.holding.asset.kind.cmp(&b.holding.asset.kind))
            .then_with(|| a.holding.id.cmp(&b.holding.id))
    });
}

/// Each owner's holdings (and items' prices) as last read, with the version they were read at.
///
/// A page costs one small query for the owner's version instead of reading every holding; any
/// change to the holdings, on any instance, bumps the version and so reloads the list.
#[derive(Clone)]
pub struct HoldingsCache {
    cache: moka::future::Cache<i64, Arc<Snapshot>>,
    /// The closes the value chart read, and which assets' history it asked for recently.
    pub history: crate::valuation::HistoryCache,
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
        let ledgers = ledgers(all);
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
        .map(|holding| {
            let quote = if holding.asset.kind.is_market_priced() {
                found.remove(&(holding.asset.symbol.clone(), holding.asset.kind))
            } else {
                snapshot.item_quotes.get(&holding.id).cloned()
            };
            Position {
                holding: holding.clone(),
                quote,
                ledger: snapshot.ledgers.get(&holding.id).cloned(),
            }
        })
        .collect();
    sort_positions(&mut positions, key, dir);
    Ok(positions)
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

/// Replays every holding's transactions (given in replay order); a holding whose transactions
/// do not add up (they were checked when written) is left out and logged.
pub fn ledgers(transactions: Vec<crate::store::Transaction>) -> HashMap<i64, Ledger> {
    let mut by_holding: HashMap<i64, Vec<crate::ledger::TxAmounts>> = HashMap::new();
    for t in transactions {
        by_holding.entry(t.holding_id).or_default().push(t.amounts);
    }
    by_holding
        .into_iter()
        .filter_map(|(id, txs)| match Ledger::replay(&txs) {
            Ok(ledger) => Some((id, ledger)),
            Err(refusal) => {
                tracing::warn!(holding = id, reason = %refusal.message, "stored transactions do not add up");
                None
            }
        })
        .collect()
}

/// Sums of one currency (or, converted, of the whole portfolio).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sums {
    pub value: Decimal,
    /// Cost of the holdings that have both a price and a known cost.
    pub cost: Decimal,
    pub gain: Decimal,
    pub realized: Decimal,
    pub dividends: Decimal,
    pub day_change: Decimal,
}

impl Sums {
    /// The gain as a percent of its cost.
    pub fn gain_percent(&self) -> Option<Decimal> {
        if self.cost.is_zero() {
            return None;
        }
        Some(
            self.gain
                .checked_mul(Decimal::ONE_HUNDRED)?
                .checked_div(self.cost)?
                .round_dp(2),
        )
    }

    fn add(&mut self, other: &Sums, rate: Decimal) -> Option<()> {
        let conv = |v: Decimal| v.checked_mul(rate);
        let value = self.value.checked_add(conv(other.value)?)?;
        let cost = self.cost.checked_add(conv(other.cost)?)?;
        let gain = self.gain.checked_add(conv(other.gain)?)?;
        let realized = self.realized.checked_add(conv(other.realized)?)?;
        let dividends = self.dividends.checked_add(conv(other.dividends)?)?;
        let day_change = self.day_change.checked_add(conv(other.day_change)?)?;
        *self = Sums {
            value,
            cost,
            gain,
            realized,
            dividends,
            day_change,
        };
        Some(())
    }
}

/// The portfolio's totals: per currency, and converted into the owner's base currency.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub base: String,
    pub by_currency: BTreeMap<String, Sums>,
    /// Everything that could be converted, in the base currency.
    pub total: Sums,
    /// Holdings without a price (left out of values and gains).
    pub unpriced: usize,
    /// Currencies with no exchange rate to the base currency (left out of the total).
    pub no_rate: Vec<String>,
    /// The rates used, `(currency, rate to base)`, for the page to show.
    pub rates: Vec<(String, Decimal)>,
}

/// Sums per currency, then the total in `base` at today's exchange rates.
pub async fn totals(positions: &[Position], quotes: &QuoteService, base: &str) -> Totals {
    let mut by_currency: BTreeMap<String, Sums> = BTreeMap::new();
    let mut unpriced = 0;
    for p in positions {
        let sums = by_currency.entry(p.currency().to_string()).or_default();
        let one = Sums {
            value: p.market_value().unwrap_or_default(),
            cost: p.gain().and(p.cost()).unwrap_or_default(),
            gain: p.gain().unwrap_or_default(),
            realized: p.realized().unwrap_or_default(),
            dividends: p.dividends().unwrap_or_default(),
            day_change: p.day_change().unwrap_or_default(),
        };
        if p.market_value().is_none() {
            unpriced += 1;
        }
        if sums.add(&one, Decimal::ONE).is_none() {
            unpriced += 1;
        }
    }
    let mut total = Sums::default();
    let mut no_rate = Vec::new();
    let mut rates = Vec::new();
    let found = futures::future::join_all(
        by_currency
            .keys()
            .map(|currency| quotes.fx_rate(currency, base)),
    )
    .await;
    for ((currency, sums), rate) in by_currency.iter().zip(found) {
        match rate.and_then(|r| total.add(sums, r).map(|()| r)) {
            Some(rate) => {
                if currency != base {
                    rates.push((currency.clone(), rate));
                }
            }
            None => no_rate.push(currency.clone()),
        }
    }
    Totals {
        base: base.to_string(),
        by_currency,
        total,
        unpriced,
        no_rate,
        rates,
    }
}

/// Keeps the value, or records the problem under the field's name.
fn checked<T>(errors: &mut Vec<FieldError>, field: &str, result: Result<T, String>) -> Option<T> {
    result
        .map_err(|msg| errors.push(FieldError::new(field, msg)))
        .ok()
}

/// A holding as typed into a form or sent to the API, before any checks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HoldingDraft {
    pub symbol: String,
    pub kind: String,
    pub quantity: String,
    pub cost_basis: String,
    pub notes: String,
}

/// A holding whose every field passed its checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidHolding {
    pub symbol: Symbol,
    pub kind: AssetKind,
    pub quantity: Decimal,
    pub cost_basis: Option<Decimal>,
    pub notes: Option<String>,
}

impl HoldingDraft {
    /// The fields in the order problems are reported.
    pub const FIELDS: [&'static str; 5] = ["symbol", "kind", "quantity", "cost_basis", "notes"];

    /// Checks every field and reports every problem at once.
    pub fn validate(&self) -> Result<ValidHolding, Vec<FieldError>> {
        let mut errors = Vec::new();
        let symbol = checked(&mut errors, "symbol", Symbol::parse(&self.symbol));
        let kind = checked(
            &mut errors,
            "kind",
            if self.kind.trim().is_empty() {
                Ok(AssetKind::Stock)
            } else {
                self.kind.parse()
            },
        );
        let quantity = checked(
            &mut errors,
            "quantity",
            if self.quantity.trim().is_empty() {
                Err("Quantity is required.".into())
            } else {
                domain::parse_quantity(&self.quantity)
            },
        );
        let cost_basis = checked(
            &mut errors,
            "cost_basis",
            if self.cost_basis.trim().is_empty() {
                Ok(None)
            } else {
                domain::parse_cost(&self.cost_basis).map(Some)
            },
        );
        let notes = checked(&mut errors, "notes", domain::parse_notes(&self.notes));
        match (symbol, kind, quantity, cost_basis, notes) {
            (Some(symbol), Some(kind), Some(quantity), Some(cost_basis), Some(notes)) => {
                Ok(ValidHolding {
                    symbol,
                    kind,
                    quantity,
                    cost_basis,
                    notes,
                })
            }
            _ => Err(errors),
        }
    }
}

fn already_held(existing: &Holding) -> AppError {
    AppError::Conflict {
        message: format!(
            "You already hold {} ({}). Edit that holding instead.",
            existing.asset.symbol, existing.asset.kind
        ),
        existing_id: Some(existing.id),
    }
}

/// What to do about a symbol no price service knows, when adding a holding.
pub const UNKNOWN_SYMBOL_ADVICE: &str =
    "Check the spelling, or choose the kind \"item\" to price it yourself.";

/// Asks the providers for a quote, which also gives the asset's name and currency.
/// An unknown symbol is refused (with `advice` on what to do); a provider that is down gives
/// no quote but no error.
pub async fn describe(
    quotes: &QuoteService,
    symbol: &Symbol,
    kind: AssetKind,
    advice: &str,
) -> Result<Option<Quote>, AppError> {
    match quotes.quote(symbol, kind).await {
        Ok(q) => Ok(Some(q)),
        Err(QuoteError::NotFound(_)) => Err(AppError::Validation(vec![FieldError::new(
            "symbol",
            format!("No price service knows the symbol {symbol}. {advice}"),
        )])),
        // A provider that is down must not stop anyone from recording what they own.
        Err(_) => Ok(None),
    }
}

async fn conflict_for(
    store: &dyn Store,
    owner: OwnerId,
    symbol: &Symbol,
    kind: AssetKind,
) -> Result<AppError, AppError> {
    Ok(match store.find_holding(owner, symbol, kind).await? {
        Some(existing) => already_held(&existing),
        None => AppError::Store(StoreError::Conflict),
    })
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
    }
}

/// One of the owner's holdings, or a 404 that does not say whether it exists for someone else.
pub async fn owned(store: &dyn Store, owner: OwnerId, id: i64) -> Result<Holding, AppError> {
    store
        .get_holding(owner, id)
        .await?
        .ok_or_else(|| AppError::no_holding(id))
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

/// Adds a holding; 409 when the asset is already held. The quote fetched to check the
/// symbol comes back with it.
pub async fn create(
    store: &dyn Store,
    quotes: &QuoteService,
    owner: OwnerId,
    v: ValidHolding,
) -> Result<Position, AppError> {
    if let Some(existing) = store.find_holding(owner, &v.symbol, v.kind).await? {
        return Err(already_held(&existing));
    }
    let quote = describe(quotes, &v.symbol, v.kind, UNKNOWN_SYMBOL_ADVICE).await?;
    let fields = fields(v, quote.as_ref());
    match store.create_holding(owner, &fields).await {
        Ok(holding) => Ok(position(store, owner, holding, quote).await?),
        Err(StoreError::Conflict) => {
            Err(conflict_for(store, owner, &fields.symbol, fields.kind).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Replaces a holding's fields; moving it to an asset already held is a 409.
pub async fn update(
    store: &dyn Store,
    quotes: &QuoteService,
    owner: OwnerId,
    existing: &Holding,
    v: ValidHolding,
) -> Result<Position, AppError> {
    let quote = if existing.asset.symbol != v.symbol || existing.asset.kind != v.kind {
        if let Some(other) = store.find_holding(owner, &v.symbol, v.kind).await? {
            return Err(already_held(&other));
        }
        describe(quotes, &v.symbol, v.kind, UNKNOWN_SYMBOL_ADVICE).await?
    } else {
        current_quote(quotes, owner, existing).await
    };
    let fields = fields(v, quote.as_ref());
    match store.update_holding(owner, existing.id, &fields).await {
        Ok(Some(holding)) => Ok(position(store, owner, holding, quote).await?),
        Ok(None) => Err(AppError::NotFound(format!(
            "There is no holding {}.",
            existing.id
        ))),
        Err(StoreError::Conflict) => {
            Err(conflict_for(store, owner, &fields.symbol, fields.kind).await?)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AssetKind, Symbol};
    use crate::store::Asset;
    use time::OffsetDateTime;

    fn position(id: i64, symbol: &str, qty: i64, price: Option<i64>) -> Position {
        let symbol = Symbol::parse(symbol).unwrap();
        Position {
            holding: Holding {
                id,
                asset: Asset {
                    id,
                    symbol: symbol.clone(),
                    kind: AssetKind::Stock,
                    name: None,
                    currency: "USD".into(),
                },
                quantity: Decimal::from(qty),
                cost_basis: None,
                notes: None,
                created_at: OffsetDateTime::UNIX_EPOCH,
                updated_at: OffsetDateTime::UNIX_EPOCH,
            },
            quote: price.map(|p| Quote {
                symbol,
                name: None,
                currency: Some("USD".into()),
                price: Decimal::from(p),
                previous_close: None,
                change: None,
                change_percent: None,
                market_cap: None,
                pe_ratio: None,
                ytd_change: None,
                week52_high: None,
                week52_low: None,
                bid: None,
                ask: None,
                bid_size: None,
                ask_size: None,
                as_of: None,
                source: "test".into(),
                stale: false,
            }),
            ledger: None,
        }
    }

    fn order(positions: &[Position]) -> Vec<&str> {
        positions
            .iter()
            .map(|p| p.holding.asset.symbol.as_str())
            .collect()
    }

    #[test]
    fn missing_prices_sort_last_both_ways() {
        let mut ps = vec![
            position(1, "B", 1, Some(20)),
            position(2, "A", 1, None),
            position(3, "C", 1, Some(10)),
        ];
        sort_positions(&mut ps, SortKey::Price, SortDir::Asc);
        assert_eq!(order(&ps), ["C", "B", "A"]);
        sort_positions(&mut ps, SortKey::Price, SortDir::Desc);
        assert_eq!(order(&ps), ["B", "C", "A"]);
    }

    #[tokio::test]
    async fn value_is_quantity_times_price_and_totals_skip_unpriced() {
        let mut ps = vec![
            position(1, "A", 3, Some(10)),
            position(2, "B", 2, Some(100)),
            position(3, "C", 5, None),
            position(4, "D", 1, Some(50)),
        ];
        ps[3].holding.asset.currency = "EUR".into();
        if let Some(q) = ps[3].quote.as_mut() {
            q.currency = Some("EUR".into());
        }
        assert_eq!(ps[0].market_value(), Some(Decimal::from(30)));
        // No exchange-rate service here: EUR cannot join a USD total, and says so.
        let quotes = QuoteService::new(
            vec![],
            &HashMap::new(),
            None,
            crate::market::Settings::default(),
        );
        let t = totals(&ps, &quotes, "USD").await;
        assert_eq!(t.by_currency["USD"].value, Decimal::from(230));
        assert_eq!(t.by_currency["EUR"].value, Decimal::from(50));
        assert_eq!(t.total.value, Decimal::from(230));
        assert_eq!(t.no_rate, ["EUR"]);
        assert_eq!(t.unpriced, 1);
    }

    #[test]
    fn drafts_report_every_problem_at_once() {
        let draft = HoldingDraft {
            symbol: "".into(),
            kind: "bond".into(),
            quantity: "-1".into(),
            cost_basis: "abc".into(),
            notes: "x".repeat(1001),
        };
        let errors = draft.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["symbol", "kind", "quantity", "cost_basis", "notes"]
        );
    }

    #[test]
    fn ties_fall_back_to_symbol() {
        let mut ps = vec![
            position(1, "Z", 5, None),
            position(2, "M", 5, None),
            position(3, "A", 1, None),
        ];
        sort_positions(&mut ps, SortKey::Quantity, SortDir::Desc);
        assert_eq!(order(&ps), ["M", "Z", "A"]);
    }
}
