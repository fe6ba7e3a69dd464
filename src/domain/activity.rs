//! The activity list: every transaction of an owner, filtered, sorted and read a page at a time
//! with a keyset cursor (the last row's sort key), so rows added meanwhile neither repeat nor
//! go missing. Pages are read from the owner's transactions as already held in memory (see
//! [`ActivityQuery::select`]): a page costs no query but the version check.

use std::sync::Arc;

use time::Date;

use super::cash::CashTx;
use super::transaction::DAY_FORMAT;
use super::{SortDir, Symbol, Transaction, TxKind};

/// Rows on a page when none is asked for.
pub const PAGE_DEFAULT: usize = 100;
/// The most rows one page may have.
pub const PAGE_MAX: usize = 1000;

/// What the list is ordered by; ties go to the older transaction, then to the one entered first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActivitySort {
    /// By day, then as entered.
    #[default]
    Date,
    /// By symbol, then by day.
    Symbol,
}

impl ActivitySort {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivitySort::Date => "date",
            ActivitySort::Symbol => "symbol",
        }
    }
}

/// Which transactions to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityFilter {
    pub holding: Option<i64>,
    pub account: Option<i64>,
    pub symbol: Option<Symbol>,
    /// Any of these types; all when empty.
    pub kinds: Vec<TxKind>,
    /// From this day on, inclusive.
    pub from: Option<Date>,
    /// Up to this day, inclusive.
    pub to: Option<Date>,
}

/// Where a page starts: just after the row with this sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The row's symbol, when sorting by symbol (as stored: upper case). A cursor without one
    /// read for a list by symbol starts before every symbol; one with it read for a list by
    /// date ignores it, so every cursor written as [`Cursor::PATTERN`] says is one the list
    /// takes.
    pub symbol: Option<String>,
    pub day: Date,
    pub id: i64,
}

/// Why a cursor cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cursor {0:?} is not one this list gave; start again without it")]
pub struct BadCursor(pub String);

/// Between the cursor's parts: never in a symbol, a day or an id, and safe in a URL.
const SEP: char = '~';

impl Cursor {
    /// What a cursor looks like, `{day}` standing for the pattern of a day.
    pub const PATTERN: &'static str = "^([A-Z0-9._=^-]{1,20}~)?{day}~[1-9][0-9]{0,17}$";

    /// The cursor after `t` in a list sorted by `sort`.
    pub fn after(t: &Transaction, sort: ActivitySort) -> Cursor {
        Cursor {
            symbol: (sort == ActivitySort::Symbol).then(|| t.symbol.to_string()),
            day: t.amounts.day,
            id: t.id,
        }
    }

    /// `2024-03-01~42`, or `AAPL~2024-03-01~42` when sorting by symbol.
    pub fn encode(&self) -> String {
        let day = self.day.format(DAY_FORMAT).unwrap_or_default();
        match &self.symbol {
            Some(s) => format!("{s}{SEP}{day}{SEP}{}", self.id),
            None => format!("{day}{SEP}{}", self.id),
        }
    }

    /// Reads a cursor written as [`Cursor::PATTERN`] says, and nothing else.
    pub fn parse(text: &str) -> Result<Cursor, BadCursor> {
        let bad = || BadCursor(text.chars().take(60).collect());
        let parts: Vec<&str> = text.split(SEP).collect();
        let (symbol, day, id) = match parts.as_slice() {
            [day, id] => (None, *day, *id),
            [symbol, day, id] => (Some(*symbol), *day, *id),
            _ => return Err(bad()),
        };
        let symbol_ok = |s: &str| {
            (1..=20).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"._=^-".contains(&b))
        };
        if symbol.is_some_and(|s| !symbol_ok(s)) {
            return Err(bad());
        }
        let id_ok = (1..=18).contains(&id.len())
            && !id.starts_with('0')
            && id.bytes().all(|b| b.is_ascii_digit());
        if day.len() != 10 || !id_ok {
            return Err(bad());
        }
        Ok(Cursor {
            symbol: symbol.map(str::to_string),
            day: Date::parse(day, DAY_FORMAT).map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

/// One page of the list: which rows, in which order, from where, how many.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityQuery {
    pub filter: ActivityFilter,
    pub sort: ActivitySort,
    pub dir: SortDir,
    pub after: Option<Cursor>,
    pub limit: usize,
}

impl Default for ActivityQuery {
    fn default() -> Self {
        ActivityQuery {
            filter: ActivityFilter::default(),
            sort: ActivitySort::default(),
            dir: SortDir::default(),
            after: None,
            limit: PAGE_DEFAULT,
        }
    }
}

impl ActivityQuery {
    fn keeps(&self, t: &Transaction) -> bool {
        let f = &self.filter;
        f.holding.is_none_or(|h| h == t.holding_id)
            && f.account.is_none_or(|a| a == t.amounts.account)
            && f.symbol.as_ref().is_none_or(|s| *s == t.symbol)
            && (f.kinds.is_empty() || f.kinds.contains(&t.amounts.kind))
            && f.from.is_none_or(|d| t.amounts.day >= d)
            && f.to.is_none_or(|d| t.amounts.day <= d)
    }

    /// Whether the list by date shows a cash transaction: no filter on a holding, a symbol or a
    /// type; the account on either side of it; the days.
    fn keeps_cash(&self, c: &CashTx) -> bool {
        let f = &self.filter;
        self.sort == ActivitySort::Date
            && f.holding.is_none()
            && f.symbol.is_none()
            && f.kinds.is_empty()
            && f.account
                .is_none_or(|a| c.account == a || c.to_account == Some(a))
            && f.from.is_none_or(|d| c.day >= d)
            && f.to.is_none_or(|d| c.day <= d)
    }

    /// How many of `cash` the list shows beside its transactions, on all pages.
    pub fn cash_total(&self, cash: &[CashTx]) -> u64 {
        cash.iter().filter(|c| self.keeps_cash(c)).count() as u64
    }

    /// The cash transactions (deposits, withdrawals, interest, fees, transfers) a page by date
    /// shows beside its rows, in the list's order: those whose day is past the day the page
    /// starts after (the cursor's) and up to its last row's day — from the first day on the
    /// first page, to the last on the last — so each is on exactly one page, among the
    /// transactions of its day. A list by symbol shows none.
    pub fn cash_beside<'a>(&self, cash: &'a [CashTx], page: &ActivityPage) -> Vec<&'a CashTx> {
        let after = self.after.as_ref().map(|c| c.day);
        let last = page.next.as_ref().map(|c| c.day);
        let mut rows: Vec<&CashTx> = cash
            .iter()
            .filter(|c| self.keeps_cash(c))
            .filter(|c| match self.dir {
                SortDir::Asc => after.is_none_or(|a| c.day > a) && last.is_none_or(|l| c.day <= l),
                SortDir::Desc => after.is_none_or(|a| c.day < a) && last.is_none_or(|l| c.day >= l),
            })
            .collect();
        rows.sort_by_key(|c| (c.day, c.id));
        if self.dir == SortDir::Desc {
            rows.reverse();
        }
        rows
    }

    /// The order of the list, ascending: by day then as entered, or by symbol first.
    fn order(&self, a: &Transaction, b: &Transaction) -> std::cmp::Ordering {
        let by_day = (a.amounts.day, a.id).cmp(&(b.amounts.day, b.id));
        match self.sort {
            ActivitySort::Date => by_day,
            ActivitySort::Symbol => a.symbol.as_str().cmp(b.symbol.as_str()).then(by_day),
        }
    }

    /// This page's rows out of every transaction of the owner (`all`, in any order), as
    /// places in `all`: those the filter keeps, in the list's order, after the cursor, up to one
    /// more than the limit (which says a next page exists); and how many the filter keeps in
    /// all.
    pub fn select(&self, all: &[Transaction]) -> (Vec<usize>, u64) {
        let mut rows: Vec<usize> = (0..all.len()).filter(|&i| self.keeps(&all[i])).collect();
        let total = rows.len() as u64;
        let order = |a: &usize, b: &usize| self.order(&all[*a], &all[*b]);
        if !rows.windows(2).all(|w| order(&w[0], &w[1]).is_lt()) {
            rows.sort_unstable_by(order);
        }
        if self.dir == SortDir::Desc {
            rows.reverse();
        }
        // A cursor without a symbol says nothing of where a list by symbol stands: it starts
        // over.
        let after = self
            .after
            .as_ref()
            .filter(|c| self.sort == ActivitySort::Date || c.symbol.is_some());
        let start = match after {
            None => 0,
            Some(c) => {
                let key = |t: &Transaction| {
                    let at = (t.amounts.day, t.id).cmp(&(c.day, c.id));
                    match (self.sort, &c.symbol) {
                        (ActivitySort::Symbol, Some(s)) => t.symbol.as_str().cmp(s).then(at),
                        _ => at,
                    }
                };
                // Rows up to and including the cursor's place come before the page.
                rows.partition_point(|&i| match self.dir {
                    SortDir::Asc => key(&all[i]).is_le(),
                    SortDir::Desc => key(&all[i]).is_ge(),
                })
            }
        };
        let end = start
            .saturating_add(self.limit)
            .saturating_add(1)
            .min(rows.len());
        (rows.get(start..end).unwrap_or_default().to_vec(), total)
    }
}

/// A page of the list: its rows are read where they are kept (every transaction of the owner,
/// shared with the holdings' figures), not copied.
#[derive(Debug, Clone)]
pub struct ActivityPage {
    all: Arc<Vec<Transaction>>,
    rows: Vec<usize>,
    /// How many transactions pass the filter, on every page.
    pub total: u64,
    /// Where the next page starts; `None` on the last.
    pub next: Option<Cursor>,
}

impl ActivityPage {
    /// The page `q` asks for out of `all` (see [`ActivityQuery::select`]).
    pub fn new(all: Arc<Vec<Transaction>>, q: &ActivityQuery) -> ActivityPage {
        let (mut rows, total) = q.select(&all);
        let more = rows.len() > q.limit;
        rows.truncate(q.limit);
        let next = if more {
            rows.last().map(|&i| Cursor::after(&all[i], q.sort))
        } else {
            None
        };
        ActivityPage {
            all,
            rows,
            total,
            next,
        }
    }

    /// The page's transactions, in the list's order.
    pub fn items(&self) -> impl ExactSizeIterator<Item = &Transaction> {
        self.rows.iter().map(|&i| &self.all[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn transaction(id: i64, symbol: &str, day: Date, kind: TxKind, account: i64) -> Transaction {
        Transaction {
            id,
            holding_id: i64::from(symbol.as_bytes()[0]),
            symbol: Symbol::parse(symbol).unwrap(),
            asset_kind: crate::domain::AssetKind::Stock,
            currency: "USD".into(),
            amounts: crate::domain::TxAmounts {
                kind,
                day,
                quantity: Some(1.into()),
                price: Some(1.into()),
                amount: None,
                ratio: None,
                fees: 0.into(),
                account,
            },
            notes: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// Every page in turn, by its cursors.
    fn walk(q: &ActivityQuery, all: &[Transaction]) -> (Vec<i64>, u64) {
        let all = Arc::new(all.to_vec());
        let mut q = q.clone();
        let mut seen = Vec::new();
        loop {
            let page = ActivityPage::new(all.clone(), &q);
            assert!(page.items().len() <= q.limit);
            seen.extend(page.items().map(|t| t.id));
            match page.next {
                Some(next) => q.after = Some(next),
                None => return (seen, page.total),
            }
        }
    }

    #[test]
    fn pages_walked_by_their_cursors_give_every_kept_row_once_in_order() {
        let symbols = ["MSFT", "AAPL", "KO", "BRK.B"];
        let kinds = [TxKind::Buy, TxKind::Sell, TxKind::Dividend];
        // Ids in entry order; days out of order, several on one day.
        let all: Vec<Transaction> = (1..=40)
            .map(|id| {
                let day = date!(2024 - 01 - 01) + time::Duration::days((id * 7) % 11);
                let n = usize::try_from(id).unwrap();
                transaction(id, symbols[n % 4], day, kinds[n % 3], 1 + id % 2)
            })
            .collect();
        let filters = [
            ActivityFilter::default(),
            ActivityFilter {
                symbol: Some(Symbol::parse("KO").unwrap()),
                ..ActivityFilter::default()
            },
            ActivityFilter {
                account: Some(2),
                kinds: vec![TxKind::Buy, TxKind::Dividend],
                from: Some(date!(2024 - 01 - 03)),
                to: Some(date!(2024 - 01 - 08)),
                ..ActivityFilter::default()
            },
            ActivityFilter {
                holding: Some(i64::from(b'A')),
                ..ActivityFilter::default()
            },
        ];
        for filter in filters {
            for sort in [ActivitySort::Date, ActivitySort::Symbol] {
                for dir in [SortDir::Asc, SortDir::Desc] {
                    let q = ActivityQuery {
                        filter: filter.clone(),
                        sort,
                        dir,
                        after: None,
                        limit: 3,
                    };
                    let mut expected: Vec<&Transaction> =
                        all.iter().filter(|t| q.keeps(t)).collect();
                    expected.sort_by_key(|t| {
                        let symbol = (sort == ActivitySort::Symbol).then(|| t.symbol.to_string());
                        (symbol, t.amounts.day, t.id)
                    });
                    if dir == SortDir::Desc {
                        expected.reverse();
                    }
                    let expected: Vec<i64> = expected.iter().map(|t| t.id).collect();
                    assert!(!expected.is_empty(), "{filter:?}");
                    let (seen, total) = walk(&q, &all);
                    assert_eq!(seen, expected, "{filter:?} {sort:?} {dir:?}");
                    assert_eq!(total, expected.len() as u64);
                }
            }
        }
        // A cursor of a list by date read for a list by symbol starts over.
        let q = ActivityQuery {
            sort: ActivitySort::Symbol,
            after: Some(Cursor {
                symbol: None,
                day: date!(2024 - 01 - 05),
                id: 3,
            }),
            limit: 1000,
            ..ActivityQuery::default()
        };
        assert_eq!(q.select(&all).0.len(), 40);
    }

    #[test]
    fn each_cash_transaction_is_on_the_one_page_of_its_day() {
        // Transactions on days 1, 2, 2, 4, 6 and 6; cash on days 0, 2, 3, 6 and 9, one of
        // them a transfer from account 2 into account 1.
        let day = |n: i64| date!(2024 - 01 - 01) + time::Duration::days(n);
        let all: Vec<Transaction> = [1, 2, 2, 4, 6, 6]
            .into_iter()
            .zip(1..)
            .map(|(d, id)| transaction(id, "AAPL", day(d), TxKind::Buy, 1))
            .collect();
        let cash: Vec<CashTx> = [0, 2, 3, 6, 9]
            .into_iter()
            .zip(1..)
            .map(|(d, id)| CashTx {
                id,
                kind: crate::domain::cash::CashKind::Deposit,
                day: day(d),
                amount: 1.into(),
                currency: "USD".into(),
                account: if id == 3 { 2 } else { 1 },
                to_account: (id == 3).then_some(1),
                notes: None,
                created_at: time::OffsetDateTime::UNIX_EPOCH,
            })
            .collect();
        let all = Arc::new(all);
        for dir in [SortDir::Asc, SortDir::Desc] {
            for limit in 1..=7 {
                let mut q = ActivityQuery {
                    dir,
                    limit,
                    ..ActivityQuery::default()
                };
                assert_eq!(q.cash_total(&cash), 5);
                let mut seen: Vec<i64> = Vec::new();
                loop {
                    let page = ActivityPage::new(all.clone(), &q);
                    let beside = q.cash_beside(&cash, &page);
                    seen.extend(beside.iter().map(|c| c.id));
                    match page.next {
                        Some(next) => q.after = Some(next),
                        None => break,
                    }
                }
                let mut expected = vec![1, 2, 3, 4, 5];
                if dir == SortDir::Desc {
                    expected.reverse();
                }
                assert_eq!(
                    seen, expected,
                    "{dir:?}, {limit} a page: each once, in order"
                );
            }
        }
        // Either side of a transfer is the account's; a symbol, type or holding shows none,
        // nor does a list by symbol.
        let in_two = ActivityQuery {
            filter: ActivityFilter {
                account: Some(2),
                ..ActivityFilter::default()
            },
            ..ActivityQuery::default()
        };
        assert_eq!(in_two.cash_total(&cash), 1);
        for q in [
            ActivityQuery {
                filter: ActivityFilter {
                    symbol: Some(Symbol::parse("AAPL").unwrap()),
                    ..ActivityFilter::default()
                },
                ..ActivityQuery::default()
            },
            ActivityQuery {
                filter: ActivityFilter {
                    kinds: vec![TxKind::Buy],
                    ..ActivityFilter::default()
                },
                ..ActivityQuery::default()
            },
            ActivityQuery {
                sort: ActivitySort::Symbol,
                ..ActivityQuery::default()
            },
        ] {
            assert_eq!(q.cash_total(&cash), 0);
        }
    }

    #[test]
    fn a_cursor_reads_back_as_written_and_nothing_else() {
        let by_date = Cursor {
            symbol: None,
            day: date!(2024 - 03 - 01),
            id: 42,
        };
        assert_eq!(by_date.encode(), "2024-03-01~42");
        assert_eq!(Cursor::parse("2024-03-01~42"), Ok(by_date));
        let by_symbol = Cursor::parse("BRK.B~2024-03-01~7").unwrap();
        assert_eq!(by_symbol.symbol.as_deref(), Some("BRK.B"));
        assert_eq!(by_symbol.encode(), "BRK.B~2024-03-01~7");
        assert!(Cursor::parse("999999999999999999~2024-03-01~999999999999999999").is_ok());
        for text in [
            "aapl~2024-03-01~42",
            "2024-03-01~042",
            "2024-03-01~+42",
            "2024-03-01~0",
            "2024-02-30~4",
            "2024-3-1~4",
            "2024-03-01~4~",
            "~2024-03-01~4",
            "AAPL AAPL~2024-03-01~4",
            "",
            "2024-03-01~9999999999999999999",
        ] {
            assert!(Cursor::parse(text).is_err(), "{text}");
        }
    }
}
