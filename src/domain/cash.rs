//! Cash an account holds, per currency, and the transactions that move it.
//!
//! A cash transaction is a deposit (money paid into the account), a withdrawal (taken out),
//! interest (paid on the cash), a fee (charged to the account, not to a holding) or a transfer
//! (moved to another of the owner's accounts). An account that has any of them — either side of
//! a transfer counts — tracks its cash: from then on every buy in it takes `quantity × price +
//! fees` from its cash in the asset's currency, every sell adds `quantity × price − fees`, a
//! dividend adds `amount − fees`, a holding's fee takes its amount and a split's fees are taken.
//! A buy may leave the balance below zero (as on a margin account); the page shows it in red.
//! An account with none of them shows no cash: its buys are taken to be paid from outside it.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::amount::{self, parse_decimal, parse_notes};
use super::currency::iso_currency;
use super::ledger::{TxAmounts, TxKind};
use super::transaction::{not_after, read_date};
use super::{DomainError, Problems};

/// What a cash transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CashKind {
    Deposit,
    Withdrawal,
    Interest,
    Fee,
    Transfer,
}

impl CashKind {
    pub const ALL: [CashKind; 5] = [
        CashKind::Deposit,
        CashKind::Withdrawal,
        CashKind::Interest,
        CashKind::Fee,
        CashKind::Transfer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CashKind::Deposit => "deposit",
            CashKind::Withdrawal => "withdrawal",
            CashKind::Interest => "interest",
            CashKind::Fee => "fee",
            CashKind::Transfer => "transfer",
        }
    }

    /// The word a page shows.
    pub fn label(self) -> &'static str {
        match self {
            CashKind::Deposit => "Deposit",
            CashKind::Withdrawal => "Withdrawal",
            CashKind::Interest => "Interest",
            CashKind::Fee => "Fee",
            CashKind::Transfer => "Transfer",
        }
    }

    /// Whether it takes money out of its account (so the account must hold the currency).
    pub fn takes_out(self) -> bool {
        matches!(
            self,
            CashKind::Withdrawal | CashKind::Fee | CashKind::Transfer
        )
    }

    /// Its effect on its own account's balance: `amount` with the sign it moves it by.
    pub fn signed(self, amount: Decimal) -> Decimal {
        if self.takes_out() { -amount } else { amount }
    }
}

impl std::str::FromStr for CashKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "deposit" => Ok(CashKind::Deposit),
            "withdrawal" | "withdraw" => Ok(CashKind::Withdrawal),
            "interest" => Ok(CashKind::Interest),
            "fee" => Ok(CashKind::Fee),
            "transfer" => Ok(CashKind::Transfer),
            other => Err(format!(
                "type {other:?} is not one of deposit, withdrawal, interest, fee, transfer"
            )),
        }
    }
}

/// A cash transaction as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CashTx {
    pub id: i64,
    pub kind: CashKind,
    pub day: Date,
    /// Above zero; the kind says which way it moves the balance.
    pub amount: Decimal,
    pub currency: String,
    /// The account it is in (a transfer's: the one the money leaves).
    pub account: i64,
    /// A transfer's: the account the money goes to.
    pub to_account: Option<i64>,
    pub notes: Option<String>,
    pub created_at: OffsetDateTime,
}

/// What a cash transaction write records (the account resolved by the use case).
#[derive(Debug, Clone, PartialEq)]
pub struct CashFields {
    pub kind: CashKind,
    pub day: Date,
    pub amount: Decimal,
    pub currency: String,
    /// `None`: the owner's default account.
    pub account: Option<i64>,
    pub to_account: Option<i64>,
    pub notes: Option<String>,
}

/// Every field as text, as a form or a JSON body sends it, before any checks.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CashDraft {
    #[serde(rename = "type")]
    pub kind: String,
    pub date: String,
    pub amount: String,
    pub currency: String,
    pub account_id: String,
    pub to_account_id: String,
    pub notes: String,
}

/// An account id as typed: empty is none.
fn account_id(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| format!("{text:?} is not an account."))
}

impl CashDraft {
    /// Checks every field, reporting every problem at once: a type, a day from 1900 to
    /// `today`, an amount above zero, an ISO 4217 currency, notes; a transfer names the
    /// account it goes to and another account can only be checked against the stored ones by
    /// the use case.
    pub fn check(&self, today: Date) -> Result<CashFields, DomainError> {
        let mut p = Problems::default();
        let kind = p.check(
            "type",
            self.kind.parse::<CashKind>().map_err(|_| {
                "Choose a type: deposit, withdrawal, interest, fee or transfer.".to_string()
            }),
        );
        let day = p
            .check("date", read_date(&self.date))
            .and_then(|d| p.check_state("date", not_after(d, today)));
        let amount = p.check(
            "amount",
            parse_decimal(&self.amount)
                .ok_or(amount::AmountError::NotANumber)
                .and_then(amount::positive)
                .map_err(|e| e.describe("Amount", "100 or 2,500.50")),
        );
        let currency = p.check("currency", iso_currency(&self.currency));
        let account = p.check("account_id", account_id(&self.account_id));
        let to_account = p.check("to_account_id", account_id(&self.to_account_id));
        let to_account = match (kind, to_account) {
            (Some(CashKind::Transfer), Some(None)) => {
                p.push(
                    "to_account_id",
                    "Choose the account the money goes to.".to_string(),
                );
                None
            }
            (Some(CashKind::Transfer), Some(to)) => to,
            _ => None,
        };
        let notes = p.check("notes", parse_notes(&self.notes));
        let fields = (|| {
            Some(CashFields {
                kind: kind?,
                day: day?,
                amount: amount?,
                currency: currency?,
                account: account?,
                to_account,
                notes: notes?,
            })
        })();
        p.finish(fields)
    }
}

/// What a holding's transaction does to the cash of its account, in the asset's currency:
/// `None` when it moves none (a split without fees) or what it moved is unknown (a buy without
/// a price).
pub fn trade_effect(tx: &TxAmounts) -> Option<Decimal> {
    let effect = match tx.kind {
        TxKind::Buy => -(tx.quantity?.checked_mul(tx.price?)?.checked_add(tx.fees)?),
        TxKind::Sell => tx.quantity?.checked_mul(tx.price?)?.checked_sub(tx.fees)?,
        TxKind::Dividend => tx.amount?.checked_sub(tx.fees)?,
        TxKind::Fee => -tx.amount?,
        TxKind::Split => -tx.fees,
    };
    (!effect.is_zero()).then_some(effect)
}

/// One account's cash in one currency, and what moved it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Balance {
    pub balance: Decimal,
    /// Deposits less withdrawals, transfers in less transfers out: money put in from outside
    /// the account.
    pub net_deposits: Decimal,
    /// Interest received.
    pub interest: Decimal,
    /// Fees charged to the account (not to a holding).
    pub fees: Decimal,
}

/// Cash per account and currency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CashBook {
    /// By `(account, currency)`: every pair some transaction moved.
    pub balances: BTreeMap<(i64, String), Balance>,
    /// The accounts that track their cash (they have a cash transaction).
    pub tracked: BTreeSet<i64>,
}

impl CashBook {
    /// The balances after `cash` transactions and the `trades` of holdings, each given with
    /// its asset's currency. Amounts too large to add are left out (they cannot be stored).
    pub fn new<'a>(
        cash: &[CashTx],
        trades: impl IntoIterator<Item = (&'a str, &'a TxAmounts)>,
    ) -> CashBook {
        let mut book = CashBook::default();
        for tx in cash {
            book.add_cash(tx);
        }
        // Every tracking account is known now: the trades move their cash.
        for (currency, trade) in trades {
            if book.tracked.contains(&trade.account)
                && let Some(effect) = trade_effect(trade)
            {
                add_to(&mut book.entry(trade.account, currency).balance, effect);
            }
        }
        book
    }

    fn entry(&mut self, account: i64, currency: &str) -> &mut Balance {
        self.balances
            .entry((account, currency.to_string()))
            .or_default()
    }

    fn add_cash(&mut self, tx: &CashTx) {
        self.tracked.insert(tx.account);
        self.tracked.extend(tx.to_account);
        let entry = self.entry(tx.account, &tx.currency);
        add_to(&mut entry.balance, tx.kind.signed(tx.amount));
        match tx.kind {
            CashKind::Deposit => add_to(&mut entry.net_deposits, tx.amount),
            CashKind::Withdrawal | CashKind::Transfer => {
                add_to(&mut entry.net_deposits, -tx.amount)
            }
            CashKind::Interest => add_to(&mut entry.interest, tx.amount),
            CashKind::Fee => add_to(&mut entry.fees, tx.amount),
        }
        if let Some(to) = tx.to_account {
            let entry = self.entry(to, &tx.currency);
            add_to(&mut entry.balance, tx.amount);
            add_to(&mut entry.net_deposits, tx.amount);
        }
    }

    /// Whether `account` has ever held `currency` (a transaction moved it).
    pub fn holds(&self, account: i64, currency: &str) -> bool {
        self.balances.contains_key(&(account, currency.to_string()))
    }

    /// The currencies `account` has held.
    pub fn currencies(&self, account: i64) -> Vec<&str> {
        self.balances
            .keys()
            .filter(|(a, _)| *a == account)
            .map(|(_, c)| c.as_str())
            .collect()
    }

    /// Each currency's sums over the accounts `keep` selects.
    pub fn by_currency(&self, keep: impl Fn(i64) -> bool) -> BTreeMap<String, Balance> {
        let mut sums: BTreeMap<String, Balance> = BTreeMap::new();
        for ((account, currency), b) in &self.balances {
            if !keep(*account) {
                continue;
            }
            let s = sums.entry(currency.clone()).or_default();
            add_to(&mut s.balance, b.balance);
            add_to(&mut s.net_deposits, b.net_deposits);
            add_to(&mut s.interest, b.interest);
            add_to(&mut s.fees, b.fees);
        }
        sums
    }
}

/// `to += by`, left as it was when the sum is too large (no stored amount gets there).
fn add_to(to: &mut Decimal, by: Decimal) {
    *to = to.checked_add(by).unwrap_or(*to);
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn cash(kind: CashKind, amount: Decimal, account: i64, to: Option<i64>) -> CashTx {
        CashTx {
            id: 0,
            kind,
            day: date!(2024 - 01 - 02),
            amount,
            currency: "USD".into(),
            account,
            to_account: to,
            notes: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn trade(kind: TxKind, account: i64) -> TxAmounts {
        TxAmounts {
            kind,
            day: date!(2024 - 01 - 03),
            quantity: Some(d("10")),
            price: Some(d("150")),
            amount: Some(d("12.5")),
            ratio: Some(d("2")),
            fees: d("1"),
            account,
        }
    }

    #[test]
    fn trades_move_the_cash_of_accounts_that_track_it_only() {
        let buy = trade(TxKind::Buy, 1);
        let sell = TxAmounts {
            quantity: Some(d("4")),
            price: Some(d("160")),
            ..trade(TxKind::Sell, 1)
        };
        let dividend = trade(TxKind::Dividend, 1);
        let elsewhere = trade(TxKind::Buy, 3);
        let book = CashBook::new(
            &[
                cash(CashKind::Deposit, d("2000"), 1, None),
                cash(CashKind::Interest, d("3.25"), 1, None),
                cash(CashKind::Fee, d("5"), 1, None),
                cash(CashKind::Transfer, d("500"), 1, Some(2)),
                cash(CashKind::Withdrawal, d("100"), 2, None),
            ],
            [
                ("USD", &buy),
                ("USD", &sell),
                ("USD", &dividend),
                ("USD", &elsewhere),
            ],
        );
        let one = &book.balances[&(1, "USD".to_string())];
        // 2000 + 3.25 − 5 − 500 − (1500 + 1) + (640 − 1) + (12.5 − 1) = 647.75
        assert_eq!(one.balance, d("647.75"));
        assert_eq!(one.net_deposits, d("1500"));
        assert_eq!((one.interest, one.fees), (d("3.25"), d("5")));
        let two = &book.balances[&(2, "USD".to_string())];
        assert_eq!((two.balance, two.net_deposits), (d("400"), d("400")));
        // Account 3 has no cash transaction: its buy is paid from outside.
        assert!(!book.holds(3, "USD"));
        assert_eq!(book.tracked, BTreeSet::from([1, 2]));
        let all = book.by_currency(|_| true);
        assert_eq!(all["USD"].balance, d("1047.75"));
        assert_eq!(all["USD"].net_deposits, d("1900"));
    }

    #[test]
    fn a_buy_may_take_the_balance_below_zero_and_an_unknown_cost_moves_nothing() {
        let buy = trade(TxKind::Buy, 1);
        let free = TxAmounts {
            price: None,
            ..trade(TxKind::Buy, 1)
        };
        let book = CashBook::new(
            &[cash(CashKind::Deposit, d("1000"), 1, None)],
            [("USD", &buy), ("USD", &free)],
        );
        assert_eq!(book.balances[&(1, "USD".to_string())].balance, d("-501"));
        assert_eq!(trade_effect(&free), None);
        assert_eq!(
            trade_effect(&TxAmounts {
                fees: Decimal::ZERO,
                ..trade(TxKind::Split, 1)
            }),
            None
        );
    }

    #[test]
    fn a_draft_is_checked_field_by_field() {
        let today = date!(2024 - 06 - 01);
        let draft = CashDraft {
            kind: "Deposit".into(),
            date: "2024-05-01".into(),
            amount: "2,500.50".into(),
            currency: "eur".into(),
            ..CashDraft::default()
        };
        let fields = draft.check(today).unwrap();
        assert_eq!(fields.kind, CashKind::Deposit);
        assert_eq!(
            (fields.amount, fields.currency.as_str()),
            (d("2500.50"), "EUR")
        );
        assert_eq!((fields.account, fields.to_account), (None, None));

        let bad = CashDraft {
            kind: "transfer".into(),
            date: "2024-07-01".into(),
            amount: "-5".into(),
            currency: "XYZ".into(),
            ..CashDraft::default()
        };
        let Err(DomainError::Invalid(errors)) = bad.check(today) else {
            panic!("a bad draft passed");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["date", "amount", "currency", "to_account_id"]);
        // A day in the future alone is a mismatch (it may pass later).
        let later = CashDraft {
            date: "2024-07-01".into(),
            ..draft
        };
        assert!(matches!(later.check(today), Err(DomainError::Mismatch(_))));
    }
}
