//! `/activity`: every transaction of the signed-in owner, newest first, filtered by account,
//! symbol, type and days, a page of 100 at a time (`limit` changes it) (keyset paging: the next
//! page starts after the last row shown, so it costs the same however far in). Listed by date,
//! the cash transactions of the page's days sit among its trades.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::cash::CashRowView;
use super::layout::{Layout, sort_marks};
use super::transactions::TxRowView;
use crate::domain::activity::ActivitySort;
use crate::domain::{SortDir, TxKind};
use crate::portfolio::{holding_accounts, transactions};
use crate::web::AppState;
use crate::web::api::transactions::TxListParams;
use crate::web::error::PageError;
use crate::web::extract::PageQuery;
use crate::web::session::Authed;

pub fn router() -> Router<AppState> {
    Router::new().route("/activity", get(activity_page))
}

/// A row: the transaction, its asset and where its holding's page is.
pub struct ActivityRow {
    pub tx: TxRowView,
    pub symbol: String,
    pub holding_id: i64,
    pub currency: String,
    pub account: String,
}

/// A line of the list: a holding's transaction, or a cash one beside them (see
/// [`ActivityQuery::cash_beside`](crate::domain::activity::ActivityQuery::cash_beside)).
pub enum ActivityLine {
    Tx(ActivityRow),
    Cash(CashRowView),
}

/// A sortable header: its link and arrow.
pub struct SortLink {
    pub href: String,
    pub arrow: &'static str,
    pub aria_sort: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "activity.html")]
pub struct ActivityPage {
    layout: Layout,
    rows: Vec<ActivityLine>,
    /// Transactions and cash transactions the filter passes, on every page.
    total: u64,
    /// The filter as typed, for the form.
    symbol: String,
    kind: String,
    from: String,
    to: String,
    kinds: [TxKind; 5],
    /// Every account `(id, name)`, and the one filtered on.
    accounts: Vec<(i64, String)>,
    account: Option<i64>,
    filtered: bool,
    date_sort: SortLink,
    symbol_sort: SortLink,
    /// The next page, and the first when this is not it.
    next: Option<String>,
    first: Option<String>,
}

/// The page's URL for this filter, order and cursor.
fn url(p: &TxListParams, cursor: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let account = p.account_id.map(|a| a.to_string());
    if let Some(a) = &account {
        pairs.push(("account_id", a));
    }
    for (name, value) in [
        ("symbol", &p.symbol),
        ("type", &p.types),
        ("from", &p.from),
        ("to", &p.to),
    ] {
        if let Some(v) = value {
            pairs.push((name, v));
        }
    }
    if let Some(sort) = p.sort {
        pairs.push(("sort", sort.as_str()));
    }
    if let Some(dir) = p.dir {
        pairs.push(("dir", dir.as_str()));
    }
    let limit = p.limit.map(|l| l.to_string());
    if let Some(l) = &limit {
        pairs.push(("limit", l));
    }
    if let Some(c) = cursor {
        pairs.push(("cursor", c));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        "/activity".into()
    } else {
        format!("/activity?{query}")
    }
}

async fn activity_page(
    State(state): State<AppState>,
    auth: Authed,
    PageQuery(mut params): PageQuery<TxListParams>,
) -> Result<Response, PageError> {
    // A form sends empty fields for "any".
    for field in [
        &mut params.symbol,
        &mut params.types,
        &mut params.from,
        &mut params.to,
        &mut params.cursor,
    ] {
        if field.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *field = None;
        }
    }
    // Every holding's, newest first unless asked otherwise.
    let dir = params.dir.unwrap_or(SortDir::Desc);
    let sort = params.sort.unwrap_or_default();
    params.holding_id = None;
    params.dir = Some(dir);
    let query = params.query()?;
    let page = transactions::activity(
        state.reader(auth.user.owner(), Some(auth.holdings_version)),
        &query,
    )
    .await?;
    let header = |column: ActivitySort| {
        let active = column == sort;
        let next_dir = match (active, dir) {
            (true, SortDir::Desc) => SortDir::Asc,
            (true, SortDir::Asc) => SortDir::Desc,
            // By day, newest first; by symbol, A to Z.
            (false, _) if column == ActivitySort::Date => SortDir::Desc,
            (false, _) => SortDir::Asc,
        };
        let target = TxListParams {
            sort: Some(column),
            dir: Some(next_dir),
            cursor: None,
            ..params.clone()
        };
        let (arrow, aria_sort) = sort_marks(active, dir);
        SortLink {
            href: url(&target, None),
            arrow,
            aria_sort,
        }
    };
    let here = TxListParams {
        cursor: None,
        ..params.clone()
    };
    let next = page.next.as_ref().map(|c| url(&here, Some(&c.encode())));
    let first = params.cursor.is_some().then(|| url(&here, None));
    let accounts: Vec<(i64, String)> =
        holding_accounts::list(state.store.as_ref(), auth.user.owner())
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
    let account_name = |id: i64| {
        accounts
            .iter()
            .find(|(a, _)| *a == id)
            .map(|(_, name)| name.clone())
            .unwrap_or_default()
    };
    // The cash transactions of the page's days.
    let cash = state
        .holdings
        .cash(
            state.store.as_ref(),
            &state.quotes,
            auth.user.owner(),
            Some(auth.holdings_version),
        )
        .await?;
    let mut lines: Vec<(time::Date, bool, ActivityLine)> = query
        .cash_beside(&cash.transactions, &page)
        .into_iter()
        .map(|c| {
            (
                c.day,
                false,
                ActivityLine::Cash(CashRowView::new(c, account_name)),
            )
        })
        .collect();
    lines.extend(page.items().map(|t| {
        let row = ActivityRow {
            tx: TxRowView::new(t),
            symbol: t.symbol.to_string(),
            holding_id: t.holding_id,
            currency: t.currency.clone(),
            account: account_name(t.amounts.account),
        };
        (t.amounts.day, true, ActivityLine::Tx(row))
    }));
    // Each day's cash first (either way), so a day split between two pages keeps its cash on
    // the first of them, before all of its trades; a list by symbol has no cash and stays as
    // it is.
    match (sort, dir) {
        (ActivitySort::Symbol, _) => {}
        (_, SortDir::Asc) => lines.sort_by_key(|(day, trade, _)| (*day, *trade)),
        (_, SortDir::Desc) => {
            lines.sort_by_key(|(day, trade, _)| (std::cmp::Reverse(*day), *trade));
        }
    }
    let rows = lines.into_iter().map(|(_, _, line)| line).collect();
    Ok(ActivityPage {
        layout: Layout::new("activity", &auth),
        rows,
        total: page.total + query.cash_total(&cash.transactions),
        filtered: here.account_id.is_some()
            || here.symbol.is_some()
            || here.types.is_some()
            || here.from.is_some()
            || here.to.is_some(),
        symbol: query
            .filter
            .symbol
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        kind: here.types.clone().unwrap_or_default(),
        from: here.from.clone().unwrap_or_default(),
        to: here.to.clone().unwrap_or_default(),
        kinds: TxKind::ALL,
        account: here.account_id,
        accounts,
        date_sort: header(ActivitySort::Date),
        symbol_sort: header(ActivitySort::Symbol),
        next,
        first,
    }
    .into_response())
}
