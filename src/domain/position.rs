//! A portfolio as people see it: holdings joined with their quotes and ledgers, sorted, summed
//! per currency and converted into a base currency.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Deserialize;

use super::cash::Balance;
use super::fx::FxGap;
use super::ledger::{Ledger, TxAmounts};
use super::{Holding, Quote, Transaction};

/// A column the portfolio can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, utoipa::ToSchema)]
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
    /// Share of the portfolio's value (in the base currency).
    Weight,
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
    pub const COLUMNS: [(SortKey, &'static str); 19] = [
        (SortKey::Symbol, "Symbol"),
        (SortKey::Name, "Name"),
        (SortKey::Kind, "Kind"),
        (SortKey::Quantity, "Quantity"),
        (SortKey::Price, "Price"),
        (SortKey::ChangePercent, "Change %"),
        (SortKey::Value, "Market value"),
        (SortKey::Weight, "Weight"),
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
            SortKey::Weight => "weight",
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

impl std::str::FromStr for SortKey {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        SortKey::COLUMNS
            .iter()
            .map(|(key, _)| *key)
            .find(|key| key.as_str() == s)
            .ok_or(())
    }
}

/// The holdings table's columns a person chose. The holding (symbol and name) and its menu
/// always show; the rest keep the table's order whatever order they were chosen in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableColumns {
    pub keys: Vec<SortKey>,
    pub notes: bool,
}

impl TableColumns {
    /// What a table shows until its owner chooses: about eight columns, which fit a laptop.
    pub const DEFAULT: [SortKey; 7] = [
        SortKey::Quantity,
        SortKey::Price,
        SortKey::ChangePercent,
        SortKey::Value,
        SortKey::Weight,
        SortKey::Gain,
        SortKey::GainPercent,
    ];

    /// Every column that can be chosen, in table order, with its label.
    pub fn choices() -> impl Iterator<Item = (&'static str, &'static str)> {
        SortKey::COLUMNS
            .into_iter()
            .filter(|(key, _)| !matches!(key, SortKey::Symbol | SortKey::Name))
            .map(|(key, label)| (key.as_str(), label))
            .chain([("notes", "Notes")])
    }

    /// The columns named in `chosen` (unknown names are skipped); none named is the default.
    pub fn from_names<'a>(chosen: impl IntoIterator<Item = &'a str>) -> Self {
        let names: Vec<&str> = chosen.into_iter().map(str::trim).collect();
        let keys: Vec<SortKey> = SortKey::COLUMNS
            .iter()
            .map(|(key, _)| *key)
            .filter(|key| !matches!(key, SortKey::Symbol | SortKey::Name))
            .filter(|key| names.contains(&key.as_str()))
            .collect();
        let notes = names.contains(&"notes");
        if keys.is_empty() && !notes {
            return Self::default();
        }
        TableColumns { keys, notes }
    }

    /// As stored with the account: `None` is the default set.
    pub fn from_stored(stored: Option<&str>) -> Self {
        stored.map_or_else(Self::default, |s| Self::from_names(s.split(',')))
    }

    /// The stored form; `None` for the default set.
    pub fn to_stored(&self) -> Option<String> {
        if *self == Self::default() {
            return None;
        }
        let mut names: Vec<&str> = self.keys.iter().map(|k| k.as_str()).collect();
        if self.notes {
            names.push("notes");
        }
        Some(names.join(","))
    }

    pub fn shows(&self, name: &str) -> bool {
        (name == "notes" && self.notes) || self.keys.iter().any(|k| k.as_str() == name)
    }
}

impl Default for TableColumns {
    fn default() -> Self {
        TableColumns {
            keys: Self::DEFAULT.to_vec(),
            notes: false,
        }
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
        percent_of(self.gain()?, self.cost()?)
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
            // Within one currency the value orders as the weight; [`sort_by_weight`] orders
            // across currencies.
            SortKey::Value | SortKey::Weight => self.market_value(),
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
        primary.then_with(|| tie(a, b))
    });
}

/// Orders by each position's value in the base currency (its weight), once the rates are
/// known; positions without a price or a rate last.
pub fn sort_by_weight(positions: &mut [Position], totals: &Totals, dir: SortDir) {
    positions.sort_by(|a, b| {
        cmp_nulls_last(totals.value_in_base(a), totals.value_in_base(b), dir)
            .then_with(|| tie(a, b))
    });
}

/// Equal keys fall back to the symbol, the kind, then the holding's id.
fn tie(a: &Position, b: &Position) -> Ordering {
    a.holding
        .asset
        .symbol
        .cmp(&b.holding.asset.symbol)
        .then_with(|| a.holding.asset.kind.cmp(&b.holding.asset.kind))
        .then_with(|| a.holding.id.cmp(&b.holding.id))
}

/// Replays every holding's transactions (given in replay order). A holding whose
/// transactions do not add up (they were checked when written) is left out of the ledgers and
/// listed with the reason.
pub fn ledgers(transactions: Vec<Transaction>) -> (HashMap<i64, Ledger>, Vec<(i64, String)>) {
    let mut by_holding: HashMap<i64, Vec<TxAmounts>> = HashMap::new();
    for t in transactions {
        by_holding.entry(t.holding_id).or_default().push(t.amounts);
    }
    replay_each(&by_holding)
}

/// [`ledgers`] of transactions already grouped by holding id (each in replay order).
pub fn replay_each(
    by_holding: &HashMap<i64, Vec<TxAmounts>>,
) -> (HashMap<i64, Ledger>, Vec<(i64, String)>) {
    let mut refused = Vec::new();
    let ledgers = by_holding
        .iter()
        .filter_map(|(id, txs)| match Ledger::replay(txs) {
            Ok(ledger) => Some((*id, ledger)),
            Err(refusal) => {
                refused.push((*id, refusal.message));
                None
            }
        })
        .collect();
    (ledgers, refused)
}

/// Sums of one currency (or, converted, of the whole portfolio).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sums {
    pub value: Decimal,
    /// Cost of the holdings that have both a price and a known cost.
    pub cost: Decimal,
    pub gain: Decimal,
    pub realized: Decimal,
    /// What the units sold had cost: with `cost`, the money put into the positions.
    pub sold_cost: Decimal,
    pub dividends: Decimal,
    pub day_change: Decimal,
    /// Cash held (below zero when buys took more than there was), in accounts that track it.
    pub cash: Decimal,
    /// Interest received less fees charged to accounts (not to holdings).
    pub interest: Decimal,
}

impl Sums {
    /// What everything is worth: the holdings' value and the cash.
    pub fn net_worth(&self) -> Option<Decimal> {
        self.value.checked_add(self.cash)
    }

    /// The gain as a percent of its cost.
    pub fn gain_percent(&self) -> Option<Decimal> {
        percent_of(self.gain, self.cost)
    }

    /// Everything earned: the unrealized gain, the realized one, the dividends and the
    /// interest (less the accounts' fees).
    pub fn total_gain(&self) -> Option<Decimal> {
        self.gain
            .checked_add(self.realized)?
            .checked_add(self.dividends)?
            .checked_add(self.interest)
    }

    /// The total gain as a percent of the money put in: the cost of what is held and of what
    /// was sold (a fully sold holding's gain counts against what it cost, not against nothing).
    pub fn total_gain_percent(&self) -> Option<Decimal> {
        percent_of(self.total_gain()?, self.cost.checked_add(self.sold_cost)?)
    }

    /// Today's change as a percent of what everything was worth before it (yesterday's
    /// closes, and the cash).
    pub fn day_change_percent(&self) -> Option<Decimal> {
        percent_of(
            self.day_change,
            self.net_worth()?.checked_sub(self.day_change)?,
        )
    }

    fn add(&mut self, other: &Sums, rate: Decimal) -> Option<()> {
        let conv = |v: Decimal| v.checked_mul(rate);
        let value = self.value.checked_add(conv(other.value)?)?;
        let cost = self.cost.checked_add(conv(other.cost)?)?;
        let gain = self.gain.checked_add(conv(other.gain)?)?;
        let realized = self.realized.checked_add(conv(other.realized)?)?;
        let sold_cost = self.sold_cost.checked_add(conv(other.sold_cost)?)?;
        let dividends = self.dividends.checked_add(conv(other.dividends)?)?;
        let day_change = self.day_change.checked_add(conv(other.day_change)?)?;
        let cash = self.cash.checked_add(conv(other.cash)?)?;
        let interest = self.interest.checked_add(conv(other.interest)?)?;
        *self = Sums {
            value,
            cost,
            gain,
            realized,
            sold_cost,
            dividends,
            day_change,
            cash,
            interest,
        };
        Some(())
    }
}

/// `part` as a percent of a positive `whole`, to 2 places.
fn percent_of(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole <= Decimal::ZERO {
        return None;
    }
    Some(
        part.checked_mul(Decimal::ONE_HUNDRED)?
            .checked_div(whole)?
            .round_dp(2),
    )
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
    /// Whether cash is counted: an account shown tracks its cash.
    pub cash_tracked: bool,
    /// The part of `total.gain` the currencies made: what the holdings' cost is worth at
    /// today's rates less what it was at the rates of the purchases' own days (the rest of the
    /// gain is the prices'). `None` until [`Totals::at_own_day_rates`] converted a currency.
    pub currency_gain: Option<Decimal>,
    /// Days whose exchange rate came from another day (see [`crate::domain::fx`]).
    pub fx_gaps: Vec<FxGap>,
    /// Currencies whose past rates are not known (yet): their costs, realized gains,
    /// dividends and interest convert at today's rate.
    pub fx_today: Vec<String>,
}

/// Each currency's sums over the positions, and how many positions have no price (or sums
/// too large to add).
pub fn sums_by_currency(positions: &[Position]) -> (BTreeMap<String, Sums>, usize) {
    let mut by_currency: BTreeMap<String, Sums> = BTreeMap::new();
    let mut unpriced = 0;
    for p in positions {
        let sums = by_currency.entry(p.currency().to_string()).or_default();
        let one = Sums {
            value: p.market_value().unwrap_or_default(),
            cost: p.gain().and(p.cost()).unwrap_or_default(),
            gain: p.gain().unwrap_or_default(),
            realized: p.realized().unwrap_or_default(),
            sold_cost: p.ledger.as_ref().map(|l| l.sold_cost).unwrap_or_default(),
            dividends: p.dividends().unwrap_or_default(),
            day_change: p.day_change().unwrap_or_default(),
            ..Sums::default()
        };
        if p.market_value().is_none() {
            unpriced += 1;
        }
        if sums.add(&one, Decimal::ONE).is_none() {
            unpriced += 1;
        }
    }
    (by_currency, unpriced)
}

/// Adds each currency's cash (balance, and interest less the accounts' fees) to its sums.
pub fn add_cash(by_currency: &mut BTreeMap<String, Sums>, cash: &BTreeMap<String, Balance>) {
    for (currency, b) in cash {
        let sums = by_currency.entry(currency.clone()).or_default();
        let one = Sums {
            cash: b.balance,
            interest: b.interest.checked_sub(b.fees).unwrap_or_default(),
            ..Sums::default()
        };
        // Sums too large to add cannot be stored: each part is at most 10^12.
        let _ = sums.add(&one, Decimal::ONE);
    }
}

impl Totals {
    /// How many base-currency units one unit of `currency` buys (1 for the base itself, in
    /// any case), at the rates the totals used.
    pub fn rate(&self, currency: &str) -> Option<Decimal> {
        if currency.eq_ignore_ascii_case(&self.base) {
            return Some(Decimal::ONE);
        }
        self.rates
            .iter()
            .find(|(c, _)| c == currency)
            .map(|(_, rate)| *rate)
    }

    /// A position's market value in the base currency.
    pub fn value_in_base(&self, p: &Position) -> Option<Decimal> {
        p.market_value()?.checked_mul(self.rate(p.currency())?)
    }

    /// A position's share of what everything is worth (cash included), in percent (2 places).
    pub fn weight(&self, p: &Position) -> Option<Decimal> {
        percent_of(self.value_in_base(p)?, self.total.net_worth()?)
    }

    /// Converts each currency's sums into `base` at `rates` (one per currency of
    /// `by_currency`, in its order; `None`: no rate, so the currency is left out and named).
    pub fn new(
        base: &str,
        by_currency: BTreeMap<String, Sums>,
        unpriced: usize,
        rates: Vec<Option<Decimal>>,
    ) -> Totals {
        let mut total = Sums::default();
        let mut no_rate = Vec::new();
        let mut used = Vec::new();
        for ((currency, sums), rate) in by_currency.iter().zip(rates) {
            match rate.and_then(|r| total.add(sums, r).map(|()| r)) {
                Some(rate) => {
                    if currency != base {
                        used.push((currency.clone(), rate));
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
            rates: used,
            cash_tracked: false,
            currency_gain: None,
            fx_gaps: Vec::new(),
            fx_today: Vec::new(),
        }
    }

    /// The price gain: the gain less what the currencies made.
    pub fn price_gain(&self) -> Option<Decimal> {
        self.total
            .gain
            .checked_sub(self.currency_gain.unwrap_or_default())
    }

    /// Takes each currency's cost, realized gain, sold cost, dividends and interest in `own`
    /// (in the base currency at the rate of each transaction's own day, see
    /// [`crate::domain::fx::own_day_sums`]) in place of the same at today's rate; the gain
    /// becomes today's value less that cost, and the change in cost is the currency gain.
    /// Currencies without today's rate stay left out.
    pub fn at_own_day_rates(&mut self, own: &BTreeMap<String, Sums>) {
        for (currency, o) in own {
            if currency.eq_ignore_ascii_case(&self.base) {
                continue;
            }
            let (Some(s), Some(rate)) = (self.by_currency.get(currency), self.rate(currency))
            else {
                continue;
            };
            // What each part moves by: at its own days' rates less at today's.
            let delta = |own: Decimal, local: Decimal| own.checked_sub(local.checked_mul(rate)?);
            let Some([cost, realized, sold_cost, dividends, interest]) = (|| {
                Some([
                    delta(o.cost, s.cost)?,
                    delta(o.realized, s.realized)?,
                    delta(o.sold_cost, s.sold_cost)?,
                    delta(o.dividends, s.dividends)?,
                    delta(o.interest, s.interest)?,
                ])
            })() else {
                continue;
            };
            let t = &self.total;
            let moved = (|| {
                Some(Sums {
                    cost: t.cost.checked_add(cost)?,
                    gain: t.gain.checked_sub(cost)?,
                    realized: t.realized.checked_add(realized)?,
                    sold_cost: t.sold_cost.checked_add(sold_cost)?,
                    dividends: t.dividends.checked_add(dividends)?,
                    interest: t.interest.checked_add(interest)?,
                    ..t.clone()
                })
            })();
            let gained = self.currency_gain.unwrap_or_default().checked_sub(cost);
            if let (Some(moved), Some(gained)) = (moved, gained) {
                self.total = moved;
                // Only holdings have a currency gain (cash in a currency moves no cost).
                if !(s.cost.is_zero() && o.cost.is_zero()) {
                    self.currency_gain = Some(gained);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Asset, AssetKind, Symbol};
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
                currency: Some("USD".into()),
                ..Quote::new(symbol, Decimal::from(p), "test")
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
    fn table_columns_keep_the_table_order_and_fall_back_to_the_default() {
        let chosen = TableColumns::from_names(["notes", "dividends", "quantity", "bogus"]);
        assert_eq!(chosen.keys, [SortKey::Quantity, SortKey::Dividends]);
        assert!(chosen.notes && chosen.shows("notes") && !chosen.shows("price"));
        assert_eq!(
            chosen.to_stored().as_deref(),
            Some("quantity,dividends,notes")
        );
        assert_eq!(
            TableColumns::from_stored(chosen.to_stored().as_deref()),
            chosen
        );
        // Nothing (or nothing known) chosen is the default, stored as nothing.
        assert_eq!(
            TableColumns::from_names(["symbol", ""]),
            TableColumns::default()
        );
        assert_eq!(TableColumns::from_stored(None).keys, TableColumns::DEFAULT);
        assert_eq!(TableColumns::default().to_stored(), None);
        assert_eq!(TableColumns::choices().count(), 18);
    }

    #[test]
    fn weights_are_shares_of_the_total_in_the_base_currency_and_sort_across_currencies() {
        let mut ps = vec![
            position(1, "A", 3, Some(10)),
            position(2, "B", 1, Some(60)),
            position(3, "C", 1, None),
        ];
        // A is 30 USD; B is 60 EUR, 66 USD at 1.1; C has no price.
        ps[1].holding.asset.currency = "EUR".into();
        if let Some(q) = ps[1].quote.as_mut() {
            q.currency = Some("EUR".into());
        }
        let (by_currency, unpriced) = sums_by_currency(&ps);
        let rates = by_currency
            .keys()
            .map(|c| {
                Some(if c == "EUR" {
                    Decimal::new(11, 1)
                } else {
                    Decimal::ONE
                })
            })
            .collect();
        let t = Totals::new("USD", by_currency, unpriced, rates);
        assert_eq!(t.total.value, Decimal::from(96));
        assert_eq!(t.weight(&ps[0]), Some(Decimal::new(3125, 2)));
        assert_eq!(t.weight(&ps[1]), Some(Decimal::new(6875, 2)));
        assert_eq!(t.weight(&ps[2]), None);
        sort_by_weight(&mut ps, &t, SortDir::Desc);
        assert_eq!(order(&ps), ["B", "A", "C"]);
        sort_by_weight(&mut ps, &t, SortDir::Asc);
        assert_eq!(order(&ps), ["A", "B", "C"], "no price sorts last both ways");
    }

    #[test]
    fn the_total_gain_counts_realized_gains_and_dividends_and_today_is_a_share_of_yesterday() {
        let sums = Sums {
            value: Decimal::from(1100),
            cost: Decimal::from(1000),
            gain: Decimal::from(100),
            realized: Decimal::from(50),
            sold_cost: Decimal::from(250),
            dividends: Decimal::from(25),
            day_change: Decimal::from(100),
            ..Sums::default()
        };
        assert_eq!(sums.total_gain(), Some(Decimal::from(175)));
        // 175 on the 1,000 held plus the 250 that the sold units had cost.
        assert_eq!(sums.total_gain_percent(), Some(Decimal::from(14)));
        let sold_out = Sums {
            realized: Decimal::from(30),
            sold_cost: Decimal::from(200),
            ..Sums::default()
        };
        assert_eq!(
            sold_out.total_gain_percent(),
            Some(Decimal::from(15)),
            "a fully sold holding's gain is a share of what it cost"
        );
        // 100 on a value of 1,000 yesterday.
        assert_eq!(sums.day_change_percent(), Some(Decimal::from(10)));
        assert_eq!(Sums::default().day_change_percent(), None);
        assert_eq!(Sums::default().total_gain_percent(), None);
        // Cash counts in what everything is worth (today's change is a share of it too), and
        // interest less the accounts' fees in the gain.
        let with_cash = Sums {
            cash: Decimal::from(400),
            interest: Decimal::from(5),
            ..sums
        };
        assert_eq!(with_cash.net_worth(), Some(Decimal::from(1500)));
        assert_eq!(with_cash.total_gain(), Some(Decimal::from(180)));
        // 100 on the 1,400 everything was worth yesterday.
        assert_eq!(
            with_cash.day_change_percent(),
            Some("7.14".parse().unwrap())
        );
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

    #[test]
    fn value_is_quantity_times_price_and_totals_skip_unpriced() {
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
        // No exchange rate for EUR: it cannot join a USD total, and says so.
        let (by_currency, unpriced) = sums_by_currency(&ps);
        let rates = by_currency
            .keys()
            .map(|c| (c == "USD").then_some(Decimal::ONE))
            .collect();
        let t = Totals::new("USD", by_currency, unpriced, rates);
        assert_eq!(t.by_currency["USD"].value, Decimal::from(230));
        assert_eq!(t.by_currency["EUR"].value, Decimal::from(50));
        assert_eq!(t.total.value, Decimal::from(230));
        assert_eq!(t.no_rate, ["EUR"]);
        assert_eq!(t.unpriced, 1);
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
