//! Income: the owner's dividends and interest summed for the income page and the API, with
//! the yield they make on what the holdings held now cost.

use std::collections::{BTreeSet, HashMap};

use rust_decimal::Decimal;

use super::holdings::{self, Reader};
use crate::domain::cash::CashKind;
use crate::domain::fx::{Converter, FxGap};
use crate::domain::income::{Income, IncomeKind, Payment};
use crate::domain::{Ledger, TxAmounts, TxKind};

/// The income of every account or one, in `base`, and the cost it is a yield on.
#[derive(Debug, Clone)]
pub struct IncomeReport {
    pub base: String,
    pub income: Income,
    /// What the holdings held now cost, in `base` (holdings without a known cost, or without
    /// a rate, left out).
    pub cost: Decimal,
    /// Each held holding's cost, in `base`, by holding id.
    pub holding_cost: HashMap<i64, Decimal>,
    /// Days whose exchange rate came from another day.
    pub fx_gaps: Vec<FxGap>,
    /// Currencies whose past rates are not known yet (today's rate used).
    pub fx_today: Vec<String>,
}

impl IncomeReport {
    /// The last twelve months' dividends of the holdings held now (with a known cost) as a
    /// percent of what those cost: a holding sold in the year paid dividends on no cost here.
    pub fn yield_on_cost(&self) -> Option<Decimal> {
        let dividends = self
            .holding_cost
            .keys()
            .filter_map(|id| self.income.holdings.get(id))
            .try_fold(Decimal::ZERO, |sum, h| sum.checked_add(h.trailing_12m))?;
        crate::domain::income::yield_on_cost(dividends, self.cost)
    }
}

/// Gathers the payments (dividends net of their fees, interest) of the owner's accounts —
/// only `account`'s when given — and sums them in `base`, each at its own day's exchange rate
/// (see [`crate::domain::fx`]); the holdings' cost likewise.
pub async fn report(
    reader: Reader<'_>,
    base: &str,
    account: Option<i64>,
) -> super::Result<IncomeReport> {
    let Reader {
        store,
        quotes,
        owner,
        ..
    } = reader;
    let shown = |a: i64| account.is_none_or(|only| only == a);
    let transactions = store.transactions(owner, None).await?;
    let cash = store.cash_transactions(owner).await?;
    let mut payments = Vec::new();
    let mut by_holding: HashMap<i64, (String, Vec<&TxAmounts>)> = HashMap::new();
    for t in &transactions {
        let a = &t.amounts;
        if !shown(a.account) {
            continue;
        }
        by_holding
            .entry(t.holding_id)
            .or_insert_with(|| (t.currency.clone(), Vec::new()))
            .1
            .push(a);
        if a.kind == TxKind::Dividend
            && let Some(net) = a.amount.and_then(|amount| amount.checked_sub(a.fees))
        {
            payments.push(Payment {
                day: a.day,
                kind: IncomeKind::Dividend,
                amount: net,
                currency: t.currency.clone(),
                account: a.account,
                holding: Some((t.holding_id, t.symbol.to_string())),
            });
        }
    }
    for c in cash
        .iter()
        .filter(|c| c.kind == CashKind::Interest && shown(c.account))
    {
        payments.push(Payment {
            day: c.day,
            kind: IncomeKind::Interest,
            amount: c.amount,
            currency: c.currency.clone(),
            account: c.account,
            holding: None,
        });
    }
    let currencies: BTreeSet<&str> = payments
        .iter()
        .map(|p| p.currency.as_str())
        .chain(by_holding.values().map(|(c, _)| c.as_str()))
        .collect();
    let rates: HashMap<String, Option<Decimal>> = futures::future::join_all(
        currencies
            .into_iter()
            .map(|c| async move { (c.to_string(), quotes.fx_rate(c, base).await) }),
    )
    .await
    .into_iter()
    .collect();
    let today_rates: Vec<(String, Decimal)> = rates
        .iter()
        .filter(|(c, _)| !c.eq_ignore_ascii_case(base))
        .filter_map(|(c, r)| Some((c.clone(), (*r)?)))
        .collect();
    let first_days = holdings::first_days(&transactions, &cash);
    let fx = holdings::fx_history(reader, base, &today_rates, &first_days).await;
    let mut conv = Converter::new(&fx);
    let income = Income::new(&payments, |c, day| conv.rate(c, day), super::today());
    let mut cost = Decimal::ZERO;
    let mut holding_cost = HashMap::new();
    for (id, (currency, txs)) in by_holding {
        // Only what is held now has a cost here (and needs its rates).
        if Ledger::replay(txs.iter().copied()).map_or(true, |l| l.quantity.is_zero()) {
            continue;
        }
        // Its cost in the base currency, each purchase at its own day's rate.
        let Some(ledger) = conv.ledger(&currency, txs) else {
            continue;
        };
        if let Some(c) = ledger.cost {
            cost = cost.checked_add(c).unwrap_or(cost);
            holding_cost.insert(id, c);
        }
    }
    let fx_today = today_rates
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| first_days.contains_key(c) && !fx.has_history(c))
        .collect();
    Ok(IncomeReport {
        base: base.to_string(),
        income,
        cost,
        holding_cost,
        fx_gaps: conv.gaps.into_iter().collect(),
        fx_today,
    })
}
