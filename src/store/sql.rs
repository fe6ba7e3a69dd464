//! SQL both backends run as is (sqlx binds `$N` on SQLite too), and the row both read back.

use std::borrow::Cow;

use rust_decimal::Decimal;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::backend::StoredDecimal;
use super::{BreakerRecord, StoreError, StoreResult};
use crate::domain::cash::CashTx;
use crate::domain::csv::{Stage, Upload};
use crate::domain::transaction::DAY_FORMAT;
use crate::domain::{
    ApiToken, Asset, AssetKey, AssetKind, Holding, HoldingFields, OwnerId, PricePoint, Quote,
    Session, StoredQuote, Symbol, Transaction, TxAmounts, User, WatchEntry, WatchFields,
};

macro_rules! select_holding {
    () => {
        "SELECT h.id, h.quantity, h.cost_basis, h.notes, h.created_at, h.updated_at, \
         a.id AS asset_id, a.symbol, a.kind, a.name, a.currency \
         FROM holdings h JOIN assets a ON a.id = h.asset_id "
    };
}

pub const LIST_HOLDINGS: &str = concat!(
    select_holding!(),
    "WHERE h.owner_id = $1 ORDER BY a.symbol, a.kind, h.id"
);
pub const GET_HOLDING: &str = concat!(select_holding!(), "WHERE h.owner_id = $1 AND h.id = $2");
pub const FIND_HOLDING: &str = concat!(
    select_holding!(),
    "WHERE h.owner_id = $1 AND a.symbol = $2 AND a.kind = $3"
);

/// Market assets are shared: one row per (kind, symbol). `$5` (the owner) is bound but unused.
/// A name or currency that is not known (NULL) keeps the recorded one; a new asset without a
/// known currency is taken to be in US dollars.
pub const UPSERT_MARKET_ASSET: &str = "INSERT INTO assets (owner_id, symbol, kind, name, currency) \
     VALUES (NULL, $1, $2, $3, COALESCE($4, 'USD')) \
     ON CONFLICT (kind, symbol) WHERE owner_id IS NULL \
     DO UPDATE SET name = COALESCE($3, assets.name), currency = COALESCE($4, assets.currency) \
     RETURNING id";

/// Items belong to their owner: one row per (owner, kind, symbol).
pub const UPSERT_OWNED_ASSET: &str = "INSERT INTO assets (owner_id, symbol, kind, name, currency) \
     VALUES ($5, $1, $2, $3, COALESCE($4, 'USD')) \
     ON CONFLICT (owner_id, kind, symbol) WHERE owner_id IS NOT NULL \
     DO UPDATE SET name = COALESCE($3, assets.name), currency = COALESCE($4, assets.currency) \
     RETURNING id";

pub const INSERT_HOLDING: &str = "INSERT INTO holdings \
     (owner_id, asset_id, quantity, cost_basis, notes, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id";

pub const UPDATE_HOLDING: &str = "UPDATE holdings \
     SET asset_id = $1, quantity = $2, cost_basis = $3, notes = $4, updated_at = $5 \
     WHERE id = $6 AND owner_id = $7";

pub const DELETE_HOLDING: &str = "DELETE FROM holdings WHERE id = $1 AND owner_id = $2";

pub const BUMP_VERSION: &str =
    "UPDATE users SET holdings_version = holdings_version + 1 WHERE id = $1";

pub const HOLDINGS_VERSION: &str = "SELECT holdings_version FROM users WHERE id = $1";

/// One holding joined with its asset, as either backend returns it.
#[derive(sqlx::FromRow)]
pub struct HoldingRow<D> {
    id: i64,
    quantity: D,
    cost_basis: Option<D>,
    notes: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    asset_id: i64,
    symbol: String,
    kind: String,
    name: Option<String>,
    currency: String,
}

impl<D: StoredDecimal> HoldingRow<D> {
    pub fn into_holding(self) -> StoreResult<Holding> {
        Ok(Holding {
            id: self.id,
            asset: Asset {
                id: self.asset_id,
                symbol: Symbol::parse(&self.symbol)
                    .map_err(|_| StoreError::Corrupt(format!("symbol {:?}", self.symbol)))?,
                kind: self
                    .kind
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("kind {:?}", self.kind)))?,
                name: self.name,
                currency: self.currency,
            },
            quantity: self.quantity.into_decimal()?,
            cost_basis: self
                .cost_basis
                .map(StoredDecimal::into_decimal)
                .transpose()?,
            notes: self.notes,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub const LATEST_QUOTE: &str = "SELECT q.quote, q.fetched_at FROM quotes q JOIN assets a ON a.id = q.asset_id \
     WHERE a.owner_id IS NULL AND a.symbol = $1 AND a.kind = $2";

pub const UPSERT_QUOTE: &str = "INSERT INTO quotes (asset_id, quote, source, fetched_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (asset_id) DO UPDATE SET quote = excluded.quote, source = excluded.source, \
     fetched_at = excluded.fetched_at";

pub const UPSERT_PRICE: &str = "INSERT INTO prices (asset_id, day, price, source, recorded_at) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (asset_id, day, source) DO UPDATE SET price = excluded.price, recorded_at = excluded.recorded_at";

/// Where an asset's prices from a day on are: every source's price of a day, newest record
/// first (the caller keeps the first), in the order of the index `prices_newest`, so nothing is
/// sorted. The asset is found first, on its own, so the index is read for that one asset.
macro_rules! prices_from {
    () => {
        "FROM prices p WHERE p.asset_id = (SELECT a.id FROM assets a \
         WHERE a.symbol = $1 AND a.kind = $2 \
         AND ((a.owner_id IS NULL AND $3 IS NULL) OR a.owner_id = $3)) \
         AND p.day >= $4 ORDER BY p.day, p.recorded_at DESC"
    };
}

pub const PRICES: &str = concat!("SELECT p.day, p.price ", prices_from!());

/// [`PRICES`] as one row: a JSON array of `[day, price]` in the subquery's order, which the
/// aggregate keeps (SQLite hands rows over one at a time, and five years are 1,800 of them;
/// the reader checks the order).
pub const PRICES_JSON: &str = concat!(
    "SELECT COALESCE(json_group_array(json_array(day, price)), '[]') \
     FROM (SELECT p.day, p.price ",
    prices_from!(),
    ")"
);

/// Held or watched market assets whose quote is missing or older than `$1`, not claimed past `$2`.
pub const REFRESH_CANDIDATES: &str = "SELECT a.id, a.symbol, a.kind FROM assets a \
     LEFT JOIN quotes q ON q.asset_id = a.id \
     WHERE a.owner_id IS NULL AND a.kind <> 'item' \
     AND (EXISTS (SELECT 1 FROM holdings h WHERE h.asset_id = a.id) \
     OR EXISTS (SELECT 1 FROM watchlist w WHERE w.asset_id = a.id)) \
     AND (q.fetched_at IS NULL OR q.fetched_at < $1) \
     AND (a.refresh_claimed_until IS NULL OR a.refresh_claimed_until < $2) \
     ORDER BY q.fetched_at NULLS FIRST LIMIT $3";

/// Claims one asset unless another instance got there first (the claim is re-checked).
pub const CLAIM: &str = "UPDATE assets SET refresh_claimed_until = $1 WHERE id = $2 \
     AND (refresh_claimed_until IS NULL OR refresh_claimed_until < $3)";

/// Reads a stored quote back.
pub fn stored_quote(json: &str, fetched_at: OffsetDateTime) -> StoreResult<StoredQuote> {
    let quote = serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("stored quote: {e}")))?;
    Ok(StoredQuote { quote, fetched_at })
}

/// The asset row a fetched quote belongs to (the quote's name and currency are recorded).
pub fn market_asset(symbol: &Symbol, kind: AssetKind, quote: &Quote) -> HoldingFields {
    HoldingFields {
        symbol: symbol.clone(),
        kind,
        name: quote.name.clone(),
        currency: quote.currency.clone(),
        quantity: Decimal::ZERO,
        cost_basis: None,
        notes: None,
        opened: None,
    }
}

/// The asset row for prices entered or fetched without a quote.
pub fn asset_fields(asset: &AssetKey) -> HoldingFields {
    HoldingFields {
        symbol: asset.symbol.clone(),
        kind: asset.kind,
        name: None,
        currency: None,
        quantity: Decimal::ZERO,
        cost_basis: None,
        notes: None,
        opened: None,
    }
}

/// Keeps the first price of each day from rows ordered by day, newest record first.
pub fn one_per_day<D: StoredDecimal>(rows: Vec<(Date, D)>) -> StoreResult<Vec<PricePoint>> {
    let mut points: Vec<PricePoint> = Vec::with_capacity(rows.len());
    for (date, price) in rows {
        if points.last().is_some_and(|p| p.date == date) {
            continue;
        }
        points.push(PricePoint {
            date,
            close: price.into_decimal()?,
        });
    }
    Ok(points)
}

/// A stored symbol and kind, checked.
pub fn parse_key(symbol: &str, kind: &str) -> StoreResult<(Symbol, AssetKind)> {
    let symbol =
        Symbol::parse(symbol).map_err(|_| StoreError::Corrupt(format!("symbol {symbol:?}")))?;
    let kind = kind
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("kind {kind:?}")))?;
    Ok((symbol, kind))
}

pub const NEEDS_SETUP: &str = "SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL";

pub const SETUP_ADMIN: &str = "UPDATE users SET username = $1, password_hash = $2, is_admin = $3 \
     WHERE id = 1 AND password_hash IS NULL \
     AND NOT EXISTS (SELECT 1 FROM users WHERE password_hash IS NOT NULL)";

pub const INSERT_USER: &str = "INSERT INTO users (username, password_hash, is_admin, created_at) \
     VALUES ($1, $2, $3, $4) RETURNING id, username, password_hash, is_admin, created_at";

pub const USER_BY_NAME: &str =
    "SELECT id, username, password_hash, is_admin, created_at FROM users WHERE username = $1";
pub const USER_BY_ID: &str =
    "SELECT id, username, password_hash, is_admin, created_at FROM users WHERE id = $1";
pub const USERS: &str =
    "SELECT id, username, password_hash, is_admin, created_at FROM users ORDER BY id";
pub const SET_PASSWORD: &str = "UPDATE users SET password_hash = $1 WHERE id = $2";
pub const DELETE_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
pub const DELETE_USER_TOKENS: &str = "DELETE FROM api_tokens WHERE user_id = $1";

pub const INSERT_SESSION: &str = "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
     VALUES ($1, $2, $3, $4, $4, $5)";
pub const SESSION: &str = "SELECT u.id, u.username, u.password_hash, u.is_admin, u.created_at, \
     u.holdings_version, u.base_currency, u.table_columns, s.csrf_token, s.created_at AS session_created_at, s.last_seen_at, s.expires_at \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2";
pub const TOUCH_SESSION: &str =
    "UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1";
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1";

pub const INSERT_TOKEN: &str = "INSERT INTO api_tokens (user_id, label, prefix, token_hash, created_at) \
     VALUES ($1, $2, $3, $4, $5) RETURNING id, label, prefix, created_at, last_used_at";
pub const TOKENS: &str = "SELECT id, label, prefix, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY id";
pub const REVOKE_TOKEN: &str = "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2";
pub const USER_BY_TOKEN: &str = "SELECT u.id, u.username, u.password_hash, u.is_admin, u.created_at, \
     t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1";
pub const TOKEN_USED: &str = "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1";

/// An account as stored.
#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub created_at: OffsetDateTime,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            username: r.username,
            password_hash: r.password_hash,
            is_admin: r.is_admin,
            created_at: r.created_at,
        }
    }
}

/// An API token as listed.
#[derive(sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub label: String,
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        ApiToken {
            id: r.id,
            label: r.label,
            prefix: r.prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// A session row joined with its account.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub holdings_version: i64,
    pub base_currency: String,
    pub table_columns: Option<String>,
    pub csrf_token: String,
    pub session_created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl SessionRow {
    pub fn into_session(self) -> Session {
        Session {
            user: self.user.into(),
            holdings_version: self.holdings_version,
            base_currency: self.base_currency,
            table_columns: self.table_columns,
            csrf_token: self.csrf_token,
            created_at: self.session_created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
        }
    }
}

/// A token's account and when the token was last used.
#[derive(sqlx::FromRow)]
pub struct TokenUserRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub last_used_at: Option<OffsetDateTime>,
}

macro_rules! transaction_joins {
    () => {
        "FROM transactions t JOIN holdings h ON h.id = t.holding_id \
         JOIN assets a ON a.id = h.asset_id "
    };
}

macro_rules! select_transaction {
    () => {
        concat!(
            "SELECT t.id, t.holding_id, a.symbol, a.kind AS asset_kind, a.currency, t.kind, \
             t.day, t.quantity, t.price, t.amount, t.ratio, t.fees, t.notes, t.created_at, \
             t.account_id ",
            transaction_joins!()
        )
    };
}

pub const TRANSACTIONS: &str = concat!(
    select_transaction!(),
    "WHERE t.owner_id = $1 ORDER BY t.day, t.id"
);
pub const HOLDING_TRANSACTIONS: &str = concat!(
    select_transaction!(),
    "WHERE t.owner_id = $1 AND t.holding_id = $2 ORDER BY t.day, t.id"
);
/// `page` (a statement that selects transactions as [`TxRow`] reads them) as one row: a JSON
/// array of arrays in the same column order, `[]` when empty. SQLite builds it in the order
/// its subquery gives, which the reader checks.
pub fn as_json_array(page: &str) -> String {
    format!(
        "SELECT COALESCE(json_group_array(json_array(id, holding_id, symbol, asset_kind, \
         currency, kind, day, quantity, price, amount, ratio, fees, notes, created_at, \
         account_id)), '[]') \
         FROM ({page})"
    )
}

/// A transaction as [`as_json_array`] writes it (SQLite keeps decimals and days as text).
#[derive(serde::Deserialize)]
pub struct JsonTxRow<'a>(
    i64,
    i64,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Cow<'a, str>,
    i64,
);

impl JsonTxRow<'_> {
    pub fn into_transaction(self) -> StoreResult<Transaction> {
        let JsonTxRow(
            id,
            holding_id,
            symbol,
            asset_kind,
            currency,
            kind,
            day,
            quantity,
            price,
            amount,
            ratio,
            fees,
            notes,
            created_at,
            account,
        ) = self;
        let corrupt = |what: &str, value: &str| StoreError::Corrupt(format!("{what} {value:?}"));
        let dec = |d: Option<Cow<'_, str>>| {
            d.map(|d| d.parse::<Decimal>().map_err(|_| corrupt("decimal", &d)))
                .transpose()
        };
        let (symbol, asset_kind) = parse_key(&symbol, &asset_kind)?;
        Ok(Transaction {
            id,
            holding_id,
            symbol,
            asset_kind,
            currency: currency.into_owned(),
            amounts: TxAmounts {
                kind: kind
                    .parse()
                    .map_err(|_| corrupt("transaction kind", &kind))?,
                day: Date::parse(&day, DAY_FORMAT).map_err(|_| corrupt("day", &day))?,
                quantity: dec(quantity)?,
                price: dec(price)?,
                amount: dec(amount)?,
                ratio: dec(ratio)?,
                fees: fees.parse().map_err(|_| corrupt("decimal", &fees))?,
                account,
            },
            notes: notes.map(Cow::into_owned),
            created_at: OffsetDateTime::parse(&created_at, &Rfc3339)
                .map_err(|_| corrupt("time", &created_at))?,
        })
    }
}

pub const GET_TRANSACTION: &str =
    concat!(select_transaction!(), "WHERE t.owner_id = $1 AND t.id = $2");
pub const HOLDING_OF_TRANSACTION: &str =
    "SELECT holding_id FROM transactions WHERE id = $1 AND owner_id = $2";
/// The asset of one of the owner's holdings: symbol, kind and currency.
pub const HOLDING_ASSET: &str = "SELECT a.symbol, a.kind, a.currency FROM holdings h \
     JOIN assets a ON a.id = h.asset_id WHERE h.id = $1 AND h.owner_id = $2";
pub const INSERT_TRANSACTION: &str = "INSERT INTO transactions \
     (owner_id, holding_id, kind, day, quantity, price, amount, ratio, fees, notes, created_at, \
     account_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id";
/// Values per row of [`insert_transactions`].
pub const TRANSACTION_VALUES: usize = 12;
/// A many-row insert of `rows` transactions ([`TRANSACTION_VALUES`] values each, bound in
/// column order), its `n`th value written `placeholder(n)`.
pub fn insert_transactions(rows: usize, placeholder: fn(usize) -> String) -> String {
    let mut text = String::from(
        "INSERT INTO transactions \
         (owner_id, holding_id, kind, day, quantity, price, amount, ratio, fees, notes, created_at, \
         account_id) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            text.push_str(", ");
        }
        text.push('(');
        for col in 0..TRANSACTION_VALUES {
            if col > 0 {
                text.push_str(", ");
            }
            text.push_str(&placeholder(row * TRANSACTION_VALUES + col + 1));
        }
        text.push(')');
    }
    text
}
pub const UPDATE_TRANSACTION: &str = "UPDATE transactions SET kind = $1, day = $2, quantity = $3, \
     price = $4, amount = $5, ratio = $6, fees = $7, notes = $8, account_id = $9 \
     WHERE id = $10 AND owner_id = $11";
/// The owner's accounts, oldest first, with how many transactions each holds.
pub const HOLDING_ACCOUNTS: &str = "SELECT a.id, a.name, a.created_at, \
     (SELECT COUNT(*) FROM transactions t WHERE t.account_id = a.id) \
     + (SELECT COUNT(*) FROM cash_transactions c \
        WHERE c.account_id = a.id OR c.to_account_id = a.id) AS transactions \
     FROM portfolio_accounts a WHERE a.owner_id = $1 ORDER BY a.id";
pub const DEFAULT_ACCOUNT: &str =
    "SELECT id FROM portfolio_accounts WHERE owner_id = $1 ORDER BY id LIMIT 1";
pub const ACCOUNT_OWNED: &str = "SELECT id FROM portfolio_accounts WHERE id = $1 AND owner_id = $2";
pub const COUNT_ACCOUNTS: &str = "SELECT COUNT(*) FROM portfolio_accounts WHERE owner_id = $1";
/// `name_key` is the name in lower case as Rust writes it (every letter, not only A–Z), so a
/// name is unique whatever its case on both backends.
pub const INSERT_ACCOUNT: &str = "INSERT INTO portfolio_accounts \
     (owner_id, name, name_key, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
/// The default account, unless a request at the same moment made it first.
pub const INSERT_DEFAULT_ACCOUNT: &str = "INSERT INTO portfolio_accounts \
     (owner_id, name, name_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
pub const RENAME_ACCOUNT: &str =
    "UPDATE portfolio_accounts SET name = $1, name_key = $2 WHERE id = $3 AND owner_id = $4";
pub const ACCOUNT_HOLDINGS: &str =
    "SELECT DISTINCT holding_id FROM transactions WHERE account_id = $1 AND owner_id = $2";
pub const MOVE_ACCOUNT_TRANSACTIONS: &str =
    "UPDATE transactions SET account_id = $1 WHERE account_id = $2 AND owner_id = $3";
/// Cash transactions in or to an account.
pub const ACCOUNT_CASH: &str = "SELECT COUNT(*) FROM cash_transactions \
     WHERE (account_id = $1 OR to_account_id = $1) AND owner_id = $2";
/// Transfers between two accounts, either way: moving one account's into the other's would
/// make them transfers within one account.
pub const DELETE_TRANSFERS_BETWEEN: &str = "DELETE FROM cash_transactions WHERE owner_id = $3 \
     AND ((account_id = $1 AND to_account_id = $2) OR (account_id = $2 AND to_account_id = $1))";
pub const MOVE_ACCOUNT_CASH: &str =
    "UPDATE cash_transactions SET account_id = $1 WHERE account_id = $2 AND owner_id = $3";
pub const MOVE_ACCOUNT_TRANSFERS_IN: &str =
    "UPDATE cash_transactions SET to_account_id = $1 WHERE to_account_id = $2 AND owner_id = $3";
macro_rules! select_cash {
    () => {
        "SELECT id, kind, day, amount, currency, account_id, to_account_id, notes, created_at \
         FROM cash_transactions "
    };
}
pub const CASH_TRANSACTIONS: &str = concat!(select_cash!(), "WHERE owner_id = $1 ORDER BY day, id");
pub const GET_CASH: &str = concat!(select_cash!(), "WHERE owner_id = $1 AND id = $2");
pub const INSERT_CASH: &str = "INSERT INTO cash_transactions \
     (owner_id, account_id, kind, day, amount, currency, to_account_id, notes, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";
pub const UPDATE_CASH: &str = "UPDATE cash_transactions SET account_id = $1, kind = $2, \
     day = $3, amount = $4, currency = $5, to_account_id = $6, notes = $7 \
     WHERE id = $8 AND owner_id = $9";
pub const DELETE_CASH: &str = "DELETE FROM cash_transactions WHERE id = $1 AND owner_id = $2";

/// A cash transaction as either backend returns it.
#[derive(sqlx::FromRow)]
pub struct CashRow<D> {
    id: i64,
    kind: String,
    day: Date,
    amount: D,
    currency: String,
    account_id: i64,
    to_account_id: Option<i64>,
    notes: Option<String>,
    created_at: OffsetDateTime,
}

impl<D: StoredDecimal> CashRow<D> {
    pub fn into_cash(self) -> StoreResult<CashTx> {
        Ok(CashTx {
            id: self.id,
            kind: self
                .kind
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("cash kind {:?}", self.kind)))?,
            day: self.day,
            amount: self.amount.into_decimal()?,
            currency: self.currency,
            account: self.account_id,
            to_account: self.to_account_id,
            notes: self.notes,
            created_at: self.created_at,
        })
    }
}

pub const DELETE_ACCOUNT: &str = "DELETE FROM portfolio_accounts WHERE id = $1 AND owner_id = $2";
pub const DELETE_TRANSACTION: &str = "DELETE FROM transactions WHERE id = $1 AND owner_id = $2";
/// A holding's quantity and average cost, as its transactions give them.
pub const SET_DERIVED: &str =
    "UPDATE holdings SET quantity = $1, cost_basis = $2, updated_at = $3 WHERE id = $4";
pub const BASE_CURRENCY: &str = "SELECT base_currency FROM users WHERE id = $1";
pub const SET_BASE_CURRENCY: &str = "UPDATE users SET base_currency = $1 WHERE id = $2";
pub const BENCHMARK: &str = "SELECT benchmark_symbol, benchmark_kind FROM users WHERE id = $1";
pub const SET_BENCHMARK: &str =
    "UPDATE users SET benchmark_symbol = $1, benchmark_kind = $2 WHERE id = $3";
pub const SET_TABLE_COLUMNS: &str = "UPDATE users SET table_columns = $1 WHERE id = $2";

/// Rows per many-row insert of an import.
pub const IMPORT_CHUNK: usize = 500;

/// A transaction joined with its asset, as either backend returns it.
#[derive(sqlx::FromRow)]
pub struct TxRow<D> {
    id: i64,
    holding_id: i64,
    symbol: String,
    asset_kind: String,
    currency: String,
    kind: String,
    day: Date,
    quantity: Option<D>,
    price: Option<D>,
    amount: Option<D>,
    ratio: Option<D>,
    fees: D,
    notes: Option<String>,
    created_at: OffsetDateTime,
    account_id: i64,
}

impl<D: StoredDecimal> TxRow<D> {
    pub fn into_transaction(self) -> StoreResult<Transaction> {
        let (symbol, asset_kind) = parse_key(&self.symbol, &self.asset_kind)?;
        let dec = |d: Option<D>| d.map(StoredDecimal::into_decimal).transpose();
        Ok(Transaction {
            id: self.id,
            holding_id: self.holding_id,
            symbol,
            asset_kind,
            currency: self.currency,
            amounts: TxAmounts {
                kind: self.kind.parse().map_err(|_| {
                    StoreError::Corrupt(format!("transaction kind {:?}", self.kind))
                })?,
                day: self.day,
                quantity: dec(self.quantity)?,
                price: dec(self.price)?,
                amount: dec(self.amount)?,
                ratio: dec(self.ratio)?,
                fees: self.fees.into_decimal()?,
                account: self.account_id,
            },
            notes: self.notes,
            created_at: self.created_at,
        })
    }
}

macro_rules! select_watch {
    () => {
        "SELECT w.id, w.created_at, a.id AS asset_id, a.symbol, a.kind, a.name, a.currency \
         FROM watchlist w JOIN assets a ON a.id = w.asset_id "
    };
}

pub const WATCHLIST: &str = concat!(
    select_watch!(),
    "WHERE w.owner_id = $1 ORDER BY a.symbol, a.kind, w.id"
);
pub const GET_WATCH: &str = concat!(select_watch!(), "WHERE w.owner_id = $1 AND w.id = $2");
pub const WATCHED: &str = "SELECT id FROM watchlist WHERE owner_id = $1 AND asset_id = $2";
pub const COUNT_WATCHED: &str = "SELECT COUNT(*) FROM watchlist WHERE owner_id = $1";
pub const INSERT_WATCH: &str =
    "INSERT INTO watchlist (owner_id, asset_id, created_at) VALUES ($1, $2, $3) RETURNING id";
pub const DELETE_WATCH: &str = "DELETE FROM watchlist WHERE id = $1 AND owner_id = $2";

/// The asset row a watchlist entry follows (always a shared market asset).
pub fn watched_asset(fields: &WatchFields) -> StoreResult<HoldingFields> {
    if !fields.kind.is_market_priced() {
        return Err(StoreError::Unsupported(
            "an item has no market price, so it cannot be watched",
        ));
    }
    Ok(HoldingFields {
        symbol: fields.symbol.clone(),
        kind: fields.kind,
        name: fields.name.clone(),
        currency: fields.currency.clone(),
        quantity: Decimal::ZERO,
        cost_basis: None,
        notes: None,
        opened: None,
    })
}

/// One watchlist entry joined with its asset.
#[derive(sqlx::FromRow)]
pub struct WatchRow {
    id: i64,
    created_at: OffsetDateTime,
    asset_id: i64,
    symbol: String,
    kind: String,
    name: Option<String>,
    currency: String,
}

impl WatchRow {
    pub fn into_entry(self) -> StoreResult<WatchEntry> {
        let (symbol, kind) = parse_key(&self.symbol, &self.kind)?;
        Ok(WatchEntry {
            id: self.id,
            asset: Asset {
                id: self.asset_id,
                symbol,
                kind,
                name: self.name,
                currency: self.currency,
            },
            created_at: self.created_at,
        })
    }
}

/// Microseconds since 1970-01-01 UTC: how the shared-state tables keep times, so they compare
/// exactly on SQLite (where timestamps are text) as on PostgreSQL.
pub fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// A time kept as [`micros`].
pub fn from_micros(us: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .map_err(|_| StoreError::Corrupt(format!("time {us}")))
}

pub const INSERT_UPLOAD: &str = "INSERT INTO import_uploads (id, owner_id, file_name, content, \
     headers, stage, written, total, created_us, used_us, beat_us) \
     VALUES ($1, $2, $3, $4, $5, 'uploaded', 0, 0, $6, $6, $6)";
/// The owner's uploads after the newest `$2`, which are forgotten (not one being checked or
/// written).
pub const OLDER_UPLOADS: &str = "DELETE FROM import_uploads WHERE owner_id = $1 \
     AND stage NOT IN ('checking', 'writing') AND id NOT IN \
     (SELECT id FROM import_uploads WHERE owner_id = $1 ORDER BY created_us DESC LIMIT $2)";
pub const UPLOAD: &str = "SELECT id, owner_id, file_name, headers, stage, message, written, total, \
     used_us, beat_us FROM import_uploads WHERE owner_id = $1 AND id = $2 AND used_us >= $3";
pub const UPLOAD_USED: &str =
    "UPDATE import_uploads SET used_us = $3 WHERE owner_id = $1 AND id = $2";
/// An upload's size, then its content a part at a time (`$3`: first byte, from 1; `$4`: bytes),
/// so no copy of a whole file passes through the driver.
pub const UPLOAD_SIZE: &str =
    "SELECT CAST(length(content) AS BIGINT) FROM import_uploads WHERE owner_id = $1 AND id = $2";
pub const UPLOAD_PART: &str = "SELECT substr(content, CAST($3 AS INTEGER), CAST($4 AS INTEGER)) FROM import_uploads \
     WHERE owner_id = $1 AND id = $2";
/// Moves an upload from stage `$7` to `$3` (with its message, rows written and total).
pub const MOVE_UPLOAD: &str = "UPDATE import_uploads SET stage = $3, message = $4, written = $5, \
     total = $6, beat_us = $8 WHERE owner_id = $1 AND id = $2 AND stage = $7";
/// A check's or write's heartbeat, with rows written (nothing once it has moved on).
pub const UPLOAD_BEAT: &str = "UPDATE import_uploads SET written = $3, beat_us = $4 \
     WHERE owner_id = $1 AND id = $2 AND stage = $5";
/// Puts an upload being written back to `uploaded`, with a note (`$3`) saying why.
pub const INTERRUPT_UPLOAD: &str = "UPDATE import_uploads SET stage = 'uploaded', message = $3, \
     written = 0, total = 0, beat_us = $4 WHERE owner_id = $1 AND id = $2 AND stage = 'writing'";
/// Forgets uploads unused since `$1`, but not a check or write alive since `$2`.
pub const PURGE_UPLOADS: &str = "DELETE FROM import_uploads WHERE used_us < $1 \
     AND NOT (stage IN ('checking', 'writing') AND beat_us >= $2)";

/// An upload as stored (without its content).
#[derive(sqlx::FromRow)]
pub struct UploadRow {
    id: String,
    owner_id: i64,
    file_name: String,
    headers: String,
    stage: String,
    message: Option<String>,
    written: i64,
    total: i64,
    pub used_us: i64,
    beat_us: i64,
}

impl UploadRow {
    pub fn into_upload(self) -> StoreResult<Upload> {
        let count = |n: i64| usize::try_from(n).unwrap_or(0);
        let note = (self.stage == "uploaded")
            .then(|| self.message.clone())
            .flatten();
        let stage = Stage::from_parts(&self.stage, self.message, count(self.written))
            .ok_or_else(|| StoreError::Corrupt(format!("upload stage {:?}", self.stage)))?;
        let headers = serde_json::from_str(&self.headers)
            .map_err(|e| StoreError::Corrupt(format!("upload headers: {e}")))?;
        Ok(Upload {
            id: self.id,
            owner: OwnerId(self.owner_id),
            file_name: self.file_name,
            headers,
            stage,
            written: count(self.written),
            total: count(self.total),
            beat: from_micros(self.beat_us)?,
            note,
        })
    }
}

/// Counts requests in a provider's window when the sum stays within `$5`; no row comes back
/// when it would not.
pub const TAKE_BUDGET: &str = "INSERT INTO provider_budget (provider, period, window_us, used) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (provider, period, window_us) \
     DO UPDATE SET used = provider_budget.used + excluded.used \
     WHERE provider_budget.used + excluded.used <= $5 \
     RETURNING used";
pub const BUDGET_USED: &str = "SELECT used FROM provider_budget \
     WHERE provider = $1 AND period = $2 AND window_us = $3";
/// A provider's windows that ended more than a day ago are no longer read.
pub const PURGE_BUDGET: &str = "DELETE FROM provider_budget WHERE provider = $1 AND window_us < $2";

pub const BREAKER: &str = "SELECT failures, open_until_us, trial_us, last_success_us, \
     last_failure_us, last_error FROM provider_breaker WHERE provider = $1";
pub const ENSURE_BREAKER: &str =
    "INSERT INTO provider_breaker (provider) VALUES ($1) ON CONFLICT (provider) DO NOTHING";
/// Takes the trial of an open breaker whose pause ended (`$2` now, `$3` now − cool-down).
pub const CLAIM_TRIAL: &str = "UPDATE provider_breaker SET trial_us = $2 \
     WHERE provider = $1 AND open_until_us IS NOT NULL AND open_until_us <= $2 \
     AND (trial_us IS NULL OR trial_us < $3)";
/// Gives back a trial that was claimed at `$2` and never sent.
pub const RELEASE_TRIAL: &str =
    "UPDATE provider_breaker SET trial_us = NULL WHERE provider = $1 AND trial_us = $2";
pub const BREAKER_SUCCEEDED: &str = "UPDATE provider_breaker SET failures = 0, \
     open_until_us = NULL, trial_us = NULL, last_success_us = $2 WHERE provider = $1";
/// A failure: `$4` whether it counts, `$5` the threshold, `$6` the end of a new pause.
pub const BREAKER_FAILED: &str = "UPDATE provider_breaker SET \
     last_failure_us = $2, last_error = $3, \
     failures = CASE WHEN $4 THEN failures + 1 ELSE failures END, \
     open_until_us = CASE WHEN $4 AND (trial_us IS NOT NULL OR failures + 1 >= $5) \
         THEN $6 ELSE open_until_us END, \
     trial_us = NULL \
     WHERE provider = $1";

/// A provider's breaker as stored.
#[derive(sqlx::FromRow)]
pub struct BreakerRow {
    failures: i64,
    open_until_us: Option<i64>,
    trial_us: Option<i64>,
    last_success_us: Option<i64>,
    last_failure_us: Option<i64>,
    last_error: Option<String>,
}

impl BreakerRow {
    pub fn into_record(self) -> StoreResult<BreakerRecord> {
        let time = |us: Option<i64>| us.map(from_micros).transpose();
        Ok(BreakerRecord {
            failures: u32::try_from(self.failures).unwrap_or(u32::MAX),
            open_until: time(self.open_until_us)?,
            trial_started: time(self.trial_us)?,
            last_success: time(self.last_success_us)?,
            last_failure: time(self.last_failure_us)?,
            last_error: self.last_error,
        })
    }
}
