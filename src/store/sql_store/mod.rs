//! The one store: every capability over any [`Backend`]. Each `impl` below carries the same
//! `where` clause, the sqlx abilities the code relies on (run statements on a connection, bind
//! and read back the column types it uses); SQLite and PostgreSQL both have them.

mod accounts;
mod cash;
mod holdings;
mod imports;
mod prices;
mod transactions;

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Pool, Type};
use time::{Date, OffsetDateTime};

use super::backend::Col;
use super::sql::{self, HoldingRow, TxRow};
use super::{Backend, Batches, Lifecycle, StoreError, StoreResult};
use crate::domain::cash::{CashFields, CashTx};
use crate::domain::csv::Stage;
use crate::domain::holding_account::DEFAULT_ACCOUNT;
use crate::domain::transaction::{TxEdit, derived, import_holding, replay, replay_with};
use crate::domain::{
    AssetKind, DomainError, FieldError, Holding, HoldingFields, ImportRow, ImportTx, Ledger,
    OwnerId, Symbol, Transaction, TxFields,
};

/// A store on a database of backend `B`.
pub struct SqlStore<B: Backend> {
    pool: Pool<B::Db>,
}

type Conn<B> = <<B as Backend>::Db as Database>::Connection;
type Tx<B> = sqlx::Transaction<'static, <B as Backend>::Db>;

impl<B: Backend> SqlStore<B>
where
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> <B::Db as Database>::Arguments<'q>: IntoArguments<'q, B::Db>,
    usize: ColumnIndex<<B::Db as Database>::Row>,
    for<'a> &'a str: ColumnIndex<<B::Db as Database>::Row> + Encode<'a, B::Db> + Type<B::Db>,
    i64: Col<B::Db>,
    bool: Col<B::Db>,
    String: Col<B::Db>,
    Vec<u8>: Col<B::Db>,
    Date: Col<B::Db>,
    OffsetDateTime: Col<B::Db>,
    Option<i64>: Col<B::Db>,
    Option<String>: Col<B::Db>,
    Option<OffsetDateTime>: Col<B::Db>,
    Option<B::Dec>: Col<B::Db>,
    for<'a> Option<&'a str>: Encode<'a, B::Db> + Type<B::Db>,
{
    /// Connects to the database at `url`, without migrating.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        Ok(Self {
            pool: B::connect(url, max_connections).await?,
        })
    }

    /// Makes or updates the asset row `fields` names: market assets are shared, one row per
    /// (kind, symbol); items belong to `owner`.
    async fn upsert_asset(
        conn: &mut Conn<B>,
        owner: OwnerId,
        fields: &HoldingFields,
    ) -> StoreResult<i64> {
        let sql = if fields.kind.is_market_priced() {
            sql::UPSERT_MARKET_ASSET
        } else {
            sql::UPSERT_OWNED_ASSET
        };
        let id = sqlx::query_scalar(sql)
            .bind(fields.symbol.as_str())
            .bind(fields.kind.as_str())
            .bind(fields.name.as_deref())
            .bind(fields.currency.as_deref())
            .bind(owner.0)
            .fetch_one(&mut *conn)
            .await?;
        Ok(id)
    }

    async fn holding_in(
        conn: &mut Conn<B>,
        owner: OwnerId,
        id: i64,
    ) -> StoreResult<Option<Holding>> {
        let row: Option<HoldingRow<B::Dec>> = sqlx::query_as(sql::GET_HOLDING)
            .bind(owner.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(HoldingRow::into_holding).transpose()
    }

    /// An empty holding of an asset not held yet (its transactions come next).
    async fn insert_holding(
        conn: &mut Conn<B>,
        owner: OwnerId,
        fields: &HoldingFields,
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        let asset_id = Self::upsert_asset(conn, owner, fields).await?;
        let id = sqlx::query_scalar(sql::INSERT_HOLDING)
            .bind(owner.0)
            .bind(asset_id)
            .bind(B::stored(fields.quantity))
            .bind(fields.cost_basis.map(B::stored))
            .bind(fields.notes.as_deref())
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::from_write)?;
        Ok(id)
    }

    async fn insert_transaction(
        conn: &mut Conn<B>,
        owner: OwnerId,
        holding_id: i64,
        fields: &TxFields,
    ) -> StoreResult<i64> {
        let a = &fields.amounts;
        let id = sqlx::query_scalar(sql::INSERT_TRANSACTION)
            .bind(owner.0)
            .bind(holding_id)
            .bind(a.kind.as_str())
            .bind(a.day)
            .bind(a.quantity.map(B::stored))
            .bind(a.price.map(B::stored))
            .bind(a.amount.map(B::stored))
            .bind(a.ratio.map(B::stored))
            .bind(B::stored(a.fees))
            .bind(fields.notes.as_deref())
            .bind(OffsetDateTime::now_utc())
            .bind(a.account)
            .fetch_one(&mut *conn)
            .await?;
        Ok(id)
    }

    /// The account `fields` name made sure of: the owner's default for 0 (`keep`, when given,
    /// for 0 instead: an edit keeps its account), or one of the owner's (an account of someone
    /// else, or none, is a mismatch on the field: 409).
    async fn in_account(
        conn: &mut Conn<B>,
        owner: OwnerId,
        fields: &TxFields,
        keep: Option<i64>,
    ) -> StoreResult<TxFields> {
        let mut fields = fields.clone();
        fields.amounts.account = match (fields.amounts.account, keep) {
            (0, Some(kept)) => kept,
            (0, None) => Self::default_account_in(conn, owner).await?,
            (id, _) => Self::owned_account(conn, owner, id, "account_id").await?,
        };
        Ok(fields)
    }

    /// `id` made sure of as one of the owner's accounts; another's, or none, is a mismatch on
    /// `field` (409): well formed, but not an account of the owner's now.
    async fn owned_account(
        conn: &mut Conn<B>,
        owner: OwnerId,
        id: i64,
        field: &str,
    ) -> StoreResult<i64> {
        let found: Option<i64> = sqlx::query_scalar(sql::ACCOUNT_OWNED)
            .bind(id)
            .bind(owner.0)
            .fetch_optional(&mut *conn)
            .await?;
        found.ok_or_else(|| {
            StoreError::Rule(DomainError::Mismatch(vec![FieldError::new(
                field,
                format!("You have no account {id}."),
            )]))
        })
    }

    /// A cash transaction's accounts made sure of, as [`Self::in_account`] does a holding
    /// transaction's: none named is the owner's default (`keep`, when given: an edit keeps its
    /// account); a transfer's destination is another of the owner's accounts.
    async fn cash_accounts(
        conn: &mut Conn<B>,
        owner: OwnerId,
        fields: &CashFields,
        keep: Option<i64>,
    ) -> StoreResult<(i64, Option<i64>)> {
        let account = match (fields.account, keep) {
            (Some(id), _) => Self::owned_account(conn, owner, id, "account_id").await?,
            (None, Some(kept)) => kept,
            (None, None) => Self::default_account_in(conn, owner).await?,
        };
        let to = match fields.to_account {
            Some(to) => Some(Self::owned_account(conn, owner, to, "to_account_id").await?),
            None => None,
        };
        // Two well-formed ids that happen to be one account: the state of things (409).
        if to == Some(account) {
            return Err(StoreError::Rule(DomainError::Mismatch(vec![
                FieldError::new(
                    "to_account_id",
                    "A transfer goes to another account: choose a different one.",
                ),
            ])));
        }
        Ok((account, to))
    }

    async fn cash_in(conn: &mut Conn<B>, owner: OwnerId, id: i64) -> StoreResult<Option<CashTx>> {
        let row: Option<sql::CashRow<B::Dec>> = sqlx::query_as(sql::GET_CASH)
            .bind(owner.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(sql::CashRow::into_cash).transpose()
    }

    /// Records a cash transaction in its accounts (made sure of as [`Self::cash_accounts`]
    /// does); its id.
    async fn insert_cash(
        conn: &mut Conn<B>,
        owner: OwnerId,
        fields: &CashFields,
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        let (account, to) = Self::cash_accounts(conn, owner, fields, None).await?;
        sqlx::query_scalar(sql::INSERT_CASH)
            .bind(owner.0)
            .bind(account)
            .bind(fields.kind.as_str())
            .bind(fields.day)
            .bind(B::stored(fields.amount))
            .bind(fields.currency.as_str())
            .bind(to)
            .bind(fields.notes.as_deref())
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::from_write)
    }

    /// The owner's oldest account, made (named "Default") when they have none.
    async fn default_account_in(conn: &mut Conn<B>, owner: OwnerId) -> StoreResult<i64> {
        let oldest = sqlx::query_scalar::<_, i64>(sql::DEFAULT_ACCOUNT).bind(owner.0);
        if let Some(id) = oldest.fetch_optional(&mut *conn).await? {
            return Ok(id);
        }
        // Two first requests at once: one makes it, the other finds it made.
        sqlx::query(sql::INSERT_DEFAULT_ACCOUNT)
            .bind(owner.0)
            .bind(DEFAULT_ACCOUNT)
            .bind(DEFAULT_ACCOUNT.to_lowercase())
            .bind(OffsetDateTime::now_utc())
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from_write)?;
        sqlx::query_scalar::<_, i64>(sql::DEFAULT_ACCOUNT)
            .bind(owner.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::vanished("account", 0))
    }

    /// Replaces a stored transaction's fields (the caller has replayed them).
    async fn write_transaction(
        conn: &mut Conn<B>,
        owner: OwnerId,
        id: i64,
        fields: &TxFields,
    ) -> StoreResult<()> {
        let a = &fields.amounts;
        sqlx::query(sql::UPDATE_TRANSACTION)
            .bind(a.kind.as_str())
            .bind(a.day)
            .bind(a.quantity.map(B::stored))
            .bind(a.price.map(B::stored))
            .bind(a.amount.map(B::stored))
            .bind(a.ratio.map(B::stored))
            .bind(B::stored(a.fees))
            .bind(fields.notes.as_deref())
            .bind(a.account)
            .bind(id)
            .bind(owner.0)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn holding_transactions(
        conn: &mut Conn<B>,
        owner: OwnerId,
        holding_id: i64,
    ) -> StoreResult<Vec<Transaction>> {
        let rows: Vec<TxRow<B::Dec>> = sqlx::query_as(sql::HOLDING_TRANSACTIONS)
            .bind(owner.0)
            .bind(holding_id)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(TxRow::into_transaction).collect()
    }

    async fn set_derived(conn: &mut Conn<B>, holding_id: i64, ledger: &Ledger) -> StoreResult<()> {
        let (quantity, cost) = derived(ledger);
        sqlx::query(sql::SET_DERIVED)
            .bind(B::stored(quantity))
            .bind(cost.map(B::stored))
            .bind(OffsetDateTime::now_utc())
            .bind(holding_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Takes the owner's write lock (the version bump) first, so concurrent changes to one
    /// owner's transactions replay one after the other.
    async fn begin_owner(&self, owner: OwnerId) -> StoreResult<Tx<B>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::BUMP_VERSION)
            .bind(owner.0)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Replays a holding's transactions with `edit` and, when they add up, records the
    /// holding's new quantity and cost (the caller writes the edit itself).
    async fn check_and_derive(
        conn: &mut Conn<B>,
        owner: OwnerId,
        holding_id: i64,
        edit: TxEdit<'_>,
    ) -> StoreResult<()> {
        let mut txs = Self::holding_transactions(conn, owner, holding_id).await?;
        let ledger = replay_with(&mut txs, edit).map_err(StoreError::Rule)?;
        Self::set_derived(conn, holding_id, &ledger).await
    }

    async fn transaction_in(
        conn: &mut Conn<B>,
        owner: OwnerId,
        id: i64,
    ) -> StoreResult<Option<Transaction>> {
        let row: Option<TxRow<B::Dec>> = sqlx::query_as(sql::GET_TRANSACTION)
            .bind(owner.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(TxRow::into_transaction).transpose()
    }

    /// The holding of each asset the rows name, made (empty) when not held yet.
    async fn holdings_for(
        conn: &mut Conn<B>,
        owner: OwnerId,
        rows: &[ImportTx],
        holdings: &mut HashMap<(Symbol, AssetKind), i64>,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<i64>> {
        let mut ids = Vec::with_capacity(rows.len());
        for row in rows {
            let key = (row.symbol.clone(), row.kind);
            let id = match holdings.get(&key) {
                Some(id) => *id,
                None => {
                    let found: Option<sql::HoldingRow<B::Dec>> = sqlx::query_as(sql::FIND_HOLDING)
                        .bind(owner.0)
                        .bind(row.symbol.as_str())
                        .bind(row.kind.as_str())
                        .fetch_optional(&mut *conn)
                        .await?;
                    let id = match found {
                        Some(h) => h.into_holding()?.id,
                        None => {
                            Self::insert_holding(conn, owner, &import_holding(row), now).await?
                        }
                    };
                    holdings.insert(key, id);
                    id
                }
            };
            ids.push(id);
        }
        Ok(ids)
    }

    /// One many-row insert of `rows` (at most [`sql::IMPORT_CHUNK`]), each into its holding and
    /// its account (the default one for 0; the caller checked any other is the owner's).
    async fn insert_chunk(
        conn: &mut Conn<B>,
        owner: OwnerId,
        rows: &[ImportTx],
        holding_ids: &[i64],
        now: OffsetDateTime,
        default_account: i64,
    ) -> StoreResult<()> {
        let text = sql::insert_transactions(rows.len(), B::placeholder);
        let mut insert = sqlx::query(&text);
        for (row, holding_id) in rows.iter().zip(holding_ids) {
            let a = &row.fields.amounts;
            insert = insert
                .bind(owner.0)
                .bind(*holding_id)
                .bind(a.kind.as_str())
                .bind(a.day)
                .bind(a.quantity.map(B::stored))
                .bind(a.price.map(B::stored))
                .bind(a.amount.map(B::stored))
                .bind(a.ratio.map(B::stored))
                .bind(B::stored(a.fees))
                .bind(row.fields.notes.clone())
                .bind(now)
                .bind(match a.account {
                    0 => default_account,
                    id => id,
                });
        }
        insert.execute(&mut *conn).await?;
        Ok(())
    }

    /// Writes every row, creating holdings for assets not yet held, then replays each
    /// touched holding; the caller's transaction makes it all or nothing.
    async fn import_rows(
        conn: &mut Conn<B>,
        owner: OwnerId,
        batches: &mut Batches,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> StoreResult<usize> {
        let now = OffsetDateTime::now_utc();
        let mut holdings = HashMap::new();
        let mut written = 0;
        let default_account = Self::default_account_in(conn, owner).await?;
        loop {
            let rows = match batches.recv().await {
                // An empty batch says the rows are all there.
                Some(Ok(rows)) if rows.is_empty() => break,
                Some(rows) => rows?,
                None => {
                    return Err(StoreError::Corrupt(
                        "the rows to import stopped before their end".into(),
                    ));
                }
            };
            let mut trades = Vec::with_capacity(rows.len());
            let mut cash = Vec::new();
            for row in rows {
                match row {
                    ImportRow::Trade(t) => trades.push(t),
                    ImportRow::Cash(c) => cash.push(c),
                }
            }
            let holding_ids = Self::holdings_for(conn, owner, &trades, &mut holdings, now).await?;
            for (chunk, ids) in trades
                .chunks(sql::IMPORT_CHUNK)
                .zip(holding_ids.chunks(sql::IMPORT_CHUNK))
            {
                Self::insert_chunk(conn, owner, chunk, ids, now, default_account).await?;
                written += chunk.len();
                progress(written);
            }
            for fields in &cash {
                Self::insert_cash(conn, owner, fields, now).await?;
                written += 1;
            }
            progress(written);
        }
        let mut touched: Vec<i64> = holdings.into_values().collect();
        touched.sort_unstable();
        Self::rederive(conn, owner, touched).await?;
        Ok(written)
    }

    /// Replays each of `holdings` and records its quantity and cost; one whose transactions no
    /// longer add up refuses the whole write.
    async fn rederive(
        conn: &mut Conn<B>,
        owner: OwnerId,
        holdings: impl IntoIterator<Item = i64>,
    ) -> StoreResult<()> {
        for holding_id in holdings {
            let txs = Self::holding_transactions(conn, owner, holding_id).await?;
            let ledger = replay(&txs).map_err(StoreError::Rule)?;
            Self::set_derived(conn, holding_id, &ledger).await?;
        }
        Ok(())
    }

    /// Moves an upload from `from` to `to` with its rows written and total; `false` when it
    /// was not at `from`.
    async fn move_upload_in(
        conn: &mut Conn<B>,
        owner: OwnerId,
        id: &str,
        from: &Stage,
        to: &Stage,
        (written, total): (usize, usize),
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let done = sqlx::query(sql::MOVE_UPLOAD)
            .bind(owner.0)
            .bind(id)
            .bind(to.as_str())
            .bind(to.message())
            .bind(count(written))
            .bind(count(total))
            .bind(from.as_str())
            .bind(sql::micros(now))
            .execute(&mut *conn)
            .await?;
        Ok(B::rows_affected(&done) == 1)
    }

    /// Counts `cost` in one window when it stays within `limit`; `false` (nothing counted)
    /// when it would not. A minute's limit is lowered by what the minute before used, in
    /// proportion to how much of that minute still lies within the last 60 s (a sliding window,
    /// approximated): use spread over time stays within the limit over any 60 s, while requests
    /// bunched at a minute's very end can still come near twice it, as with fixed windows.
    async fn take_window(
        conn: &mut Conn<B>,
        provider: &str,
        period: &str,
        cost: u32,
        limit: u32,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let start = prices::window(now, period);
        let mut limit = i64::from(limit);
        if period == "minute" && limit < i64::from(u32::MAX) {
            let before: Option<i64> = sqlx::query_scalar(sql::BUDGET_USED)
                .bind(provider)
                .bind(period)
                .bind(sql::micros(start - time::Duration::MINUTE))
                .fetch_optional(&mut *conn)
                .await?;
            const MINUTE_US: i64 = 60_000_000;
            let elapsed = (sql::micros(now) - sql::micros(start)).clamp(0, MINUTE_US);
            let carried = (before.unwrap_or(0) * (MINUTE_US - elapsed) + MINUTE_US - 1) / MINUTE_US;
            limit = (limit - carried).max(0);
        }
        let used: Option<i64> = sqlx::query_scalar(sql::TAKE_BUDGET)
            .bind(provider)
            .bind(period)
            .bind(sql::micros(start))
            .bind(i64::from(cost))
            .bind(limit)
            .fetch_optional(&mut *conn)
            .await?;
        if used == Some(i64::from(cost)) && period == "minute" {
            // The first request of a minute forgets the provider's windows of two days ago.
            sqlx::query(sql::PURGE_BUDGET)
                .bind(provider)
                .bind(sql::micros(now - time::Duration::days(2)))
                .execute(&mut *conn)
                .await?;
        }
        // The insert of a new window is not checked by the upsert's WHERE.
        Ok(used.is_some_and(|u| u <= limit))
    }
}

#[async_trait]
impl<B: Backend> Lifecycle for SqlStore<B>
where
    Conn<B>: sqlx::migrate::Migrate,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> <B::Db as Database>::Arguments<'q>: IntoArguments<'q, B::Db>,
    usize: ColumnIndex<<B::Db as Database>::Row>,
    for<'a> &'a str: ColumnIndex<<B::Db as Database>::Row> + Encode<'a, B::Db> + Type<B::Db>,
    i64: Col<B::Db>,
    bool: Col<B::Db>,
    String: Col<B::Db>,
    Vec<u8>: Col<B::Db>,
    Date: Col<B::Db>,
    OffsetDateTime: Col<B::Db>,
    Option<i64>: Col<B::Db>,
    Option<String>: Col<B::Db>,
    Option<OffsetDateTime>: Col<B::Db>,
    Option<B::Dec>: Col<B::Db>,
    for<'a> Option<&'a str>: Encode<'a, B::Db> + Type<B::Db>,
{
    fn backend(&self) -> &'static str {
        B::NAME
    }

    fn is_shared(&self) -> bool {
        B::SHARED
    }

    async fn migrate(&self) -> StoreResult<()> {
        B::migrator().run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn reconnect_with(&self, url: &str) -> StoreResult<()> {
        B::reconnect(&self.pool, url)
    }
}
