//! A portfolio as people see it: holdings joined with their quotes and ledgers, sorted, summed
//! per currency and converted into a base currency.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Deserialize;

use super::ledger::{Ledger, TxAmounts};
use super::{Holding, Quote, Transaction};

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

/// Replays every holding's transactions (given in replay order). A holding whose
/// transactions do not add up (they were checked when written) is left out of the ledgers and
/// listed with the reason.
pub fn ledgers(transactions: Vec<Transaction>) -> (HashMap<i64, Ledger>, Vec<(i64, String)>) {
    let mut by_holding: HashMap<i64, Vec<TxAmounts>> = HashMap::new();
    for t in transactions {
        by_holding.entry(t.holding_id).or_default().push(t.amounts);
    }
    let mut refused = Vec::new();
    let ledgers = by_holding
        .into_iter()
        .filter_map(|(id, txs)| match Ledger::replay(&txs) {
            Ok(ledger) => Some((id, ledger)),
            Err(refusal) => {
                refused.push((id, refusal.message));
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
    (by_currency, unpriced)
}

impl Totals {
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
