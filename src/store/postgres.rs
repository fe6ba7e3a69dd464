//! PostgreSQL backend for production. Decimals are NUMERIC.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use time::{Date, OffsetDateTime};

use super::sql::{self, HoldingRow};
use super::{ApiToken, ImportTx, NewSession, Session, Transaction, TxFields, User};
use super::{
    AssetKey, DEFAULT_OWNER, Holding, HoldingFields, OwnerId, Store, StoreError, StoreResult,
    StoredQuote, WatchEntry, WatchFields,
};
use crate::domain::{AssetKind, Symbol};
use crate::market::{PricePoint, Quote};

type TxRowOf = sql::TxRow<Decimal>;
type DecimalOf = Decimal;

/// How this backend binds a decimal.
fn stored(d: rust_decimal::Decimal) -> Decimal {
    d
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

type Row = HoldingRow<Decimal>;

/// Store on a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the server named by the URL.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    async fn upsert_asset(
        tx: &mut sqlx::PgConnection,
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
            .fetch_one(&mut *tx)
            .await?;
        Ok(id)
    }

    // ----- transactions (the same text in both backends; only the decimal type differs) -----

    async fn insert_transaction(
        conn: &mut sqlx::PgConnection,
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
            .bind(a.quantity.map(stored))
            .bind(a.price.map(stored))
            .bind(a.amount.map(stored))
            .bind(a.ratio.map(stored))
            .bind(stored(a.fees))
            .bind(fields.notes.as_deref())
            .bind(OffsetDateTime::now_utc())
            .fetch_one(&mut *conn)
            .await?;
        Ok(id)
    }

    /// Replaces a stored transaction's fields (the caller has replayed them).
    async fn write_transaction(
        conn: &mut sqlx::PgConnection,
        owner: OwnerId,
        id: i64,
        fields: &TxFields,
    ) -> StoreResult<()> {
        let a = &fields.amounts;
        sqlx::query(sql::UPDATE_TRANSACTION)
            .bind(a.kind.as_str())
            .bind(a.day)
            .bind(a.quantity.map(stored))
            .bind(a.price.map(stored))
            .bind(a.amount.map(stored))
            .bind(a.ratio.map(stored))
            .bind(stored(a.fees))
            .bind(fields.notes.as_deref())
            .bind(id)
            .bind(owner.0)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn holding_transactions(
        conn: &mut sqlx::PgConnection,
        owner: OwnerId,
        holding_id: i64,
    ) -> StoreResult<Vec<Transaction>> {
        let rows: Vec<TxRowOf> = sqlx::query_as(sql::HOLDING_TRANSACTIONS)
            .bind(owner.0)
            .bind(holding_id)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(TxRowOf::into_transaction).collect()
    }

    async fn set_derived(
        conn: &mut sqlx::PgConnection,
        holding_id: i64,
        ledger: &crate::ledger::Ledger,
    ) -> StoreResult<()> {
        let (quantity, cost) = sql::derived(ledger);
        sqlx::query(sql::SET_DERIVED)
            .bind(stored(quantity))
            .bind(cost.map(stored))
            .bind(OffsetDateTime::now_utc())
            .bind(holding_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Takes the owner's write lock (the version bump) first, so concurrent changes to one
    /// owner's transactions replay one after the other.
    async fn begin_owner(
        &self,
        owner: OwnerId,
    ) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
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
        conn: &mut sqlx::PgConnection,
        owner: OwnerId,
        holding_id: i64,
        edit: sql::TxEdit<'_>,
    ) -> StoreResult<()> {
        let mut txs = Self::holding_transactions(conn, owner, holding_id).await?;
        let ledger = sql::replay_with(&mut txs, edit)?;
        Self::set_derived(conn, holding_id, &ledger).await
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
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
        self.pool
            .set_connect_options(PgConnectOptions::from_str(url)?);
        Ok(())
    }

    async fn list_holdings(&self, owner: OwnerId) -> StoreResult<Vec<Holding>> {
        let rows: Vec<Row> = sqlx::query_as(sql::LIST_HOLDINGS)
            .bind(owner.0)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Row::into_holding).collect()
    }

    async fn get_holding(&self, owner: OwnerId, id: i64) -> StoreResult<Option<Holding>> {
        let row: Option<Row> = sqlx::query_as(sql::GET_HOLDING)
            .bind(owner.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Row::into_holding).transpose()
    }

    async fn find_holding(
        &self,
        owner: OwnerId,
        symbol: &Symbol,
        kind: AssetKind,
    ) -> StoreResult<Option<Holding>> {
        let row: Option<Row> = sqlx::query_as(sql::FIND_HOLDING)
            .bind(owner.0)
            .bind(symbol.as_str())
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(Row::into_holding).transpose()
    }

    async fn create_holding(&self, owner: OwnerId, fields: &HoldingFields) -> StoreResult<Holding> {
        let mut tx = self.begin_owner(owner).await?;
        let asset_id = Self::upsert_asset(&mut tx, owner, fields).await?;
        let now = OffsetDateTime::now_utc();
        let id: i64 = sqlx::query_scalar(sql::INSERT_HOLDING)
            .bind(owner.0)
            .bind(asset_id)
            .bind(stored(fields.quantity))
            .bind(fields.cost_basis.map(stored))
            .bind(fields.notes.as_deref())
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        // The quantity and cost become the holding's opening buy.
        Self::insert_transaction(&mut tx, owner, id, &sql::opening_buy(fields, now.date())).await?;
        tx.commit().await?;
        self.get_holding(owner, id)
            .await?
            .ok_or_else(|| StoreError::vanished(id))
    }

    async fn update_holding(
        &self,
        owner: OwnerId,
        id: i64,
        fields: &HoldingFields,
    ) -> StoreResult<Option<Holding>> {
        let mut tx = self.begin_owner(owner).await?;
        let current: Option<Row> = sqlx::query_as(sql::GET_HOLDING)
            .bind(owner.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(current) = current.map(Row::into_holding).transpose()? else {
            return Ok(None);
        };
        let asset_id = Self::upsert_asset(&mut tx, owner, fields).await?;
        sqlx::query(sql::UPDATE_HOLDING)
            .bind(asset_id)
            .bind(stored(current.quantity))
            .bind(current.cost_basis.map(stored))
            .bind(fields.notes.as_deref())
            .bind(OffsetDateTime::now_utc())
            .bind(id)
            .bind(owner.0)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        if current.quantity != fields.quantity || current.cost_basis != fields.cost_basis {
            // Only a holding made by the simple form (one buy) can have them set by hand: its
            // opening buy changes with them.
            let txs = Self::holding_transactions(&mut tx, owner, id).await?;
            match txs.as_slice() {
                [only] if only.amounts.kind == crate::ledger::TxKind::Buy => {
                    // The cost per unit given is an average, fees included: the rewritten
                    // buy carries it as its price, with no separate fees.
                    let mut opening = sql::opening_buy(fields, only.amounts.day);
                    opening.notes = only.notes.clone();
                    Self::check_and_derive(
                        &mut tx,
                        owner,
                        id,
                        sql::TxEdit::Update(only.id, &opening),
                    )
                    .await?;
                    Self::write_transaction(&mut tx, owner, only.id, &opening).await?;
                }
                _ => {
                    return Err(sql::quantity_from_transactions(
                        &current.asset.symbol,
                        txs.len(),
                    ));
                }
            }
        }
        tx.commit().await?;
        self.get_holding(owner, id).await
    }

    async fn delete_holding(&self, owner: OwnerId, id: i64) -> StoreResult<bool> {
        // The owner's lock first, as every transaction write takes it: an import naming this
        // holding then finishes before it goes (or starts after), never deadlocks with it.
        let mut tx = self.begin_owner(owner).await?;
        let done = sqlx::query(sql::DELETE_HOLDING)
            .bind(id)
            .bind(owner.0)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn transactions(
        &self,
        owner: OwnerId,
        holding: Option<i64>,
    ) -> StoreResult<Vec<Transaction>> {
        let rows: Vec<TxRowOf> = match holding {
            Some(id) => {
                sqlx::query_as(sql::HOLDING_TRANSACTIONS)
                    .bind(owner.0)
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_as(sql::TRANSACTIONS)
                    .bind(owner.0)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.into_iter().map(TxRowOf::into_transaction).collect()
    }

    async fn get_transaction(&self, owner: OwnerId, id: i64) -> StoreResult<Option<Transaction>> {
        let row: Option<TxRowOf> = sqlx::query_as(sql::GET_TRANSACTION)
            .bind(owner.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(TxRowOf::into_transaction).transpose()
    }

    async fn add_transaction(
        &self,
        owner: OwnerId,
        holding_id: i64,
        fields: &TxFields,
    ) -> StoreResult<Option<Transaction>> {
        let mut tx = self.begin_owner(owner).await?;
        let exists: Option<i64> = sqlx::query_scalar(sql::HOLDING_EXISTS)
            .bind(holding_id)
            .bind(owner.0)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        Self::check_and_derive(&mut tx, owner, holding_id, sql::TxEdit::Add(fields)).await?;
        let id = Self::insert_transaction(&mut tx, owner, holding_id, fields).await?;
        tx.commit().await?;
        self.get_transaction(owner, id).await
    }

    async fn update_transaction(
        &self,
        owner: OwnerId,
        id: i64,
        fields: &TxFields,
    ) -> StoreResult<Option<Transaction>> {
        let mut tx = self.begin_owner(owner).await?;
        let holding_id: Option<i64> = sqlx::query_scalar(sql::HOLDING_OF_TRANSACTION)
            .bind(id)
            .bind(owner.0)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(holding_id) = holding_id else {
            return Ok(None);
        };
        Self::check_and_derive(&mut tx, owner, holding_id, sql::TxEdit::Update(id, fields)).await?;
        Self::write_transaction(&mut tx, owner, id, fields).await?;
        tx.commit().await?;
        self.get_transaction(owner, id).await
    }

    async fn delete_transaction(&self, owner: OwnerId, id: i64) -> StoreResult<bool> {
        let mut tx = self.begin_owner(owner).await?;
        let holding_id: Option<i64> = sqlx::query_scalar(sql::HOLDING_OF_TRANSACTION)
            .bind(id)
            .bind(owner.0)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(holding_id) = holding_id else {
            return Ok(false);
        };
        Self::check_and_derive(&mut tx, owner, holding_id, sql::TxEdit::Delete(id)).await?;
        sqlx::query(sql::DELETE_TRANSACTION)
            .bind(id)
            .bind(owner.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn import_transactions(
        &self,
        owner: OwnerId,
        rows: &[ImportTx],
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> StoreResult<usize> {
        let mut tx = self.begin_owner(owner).await?;
        // The holding of every asset named, made (empty) when not held yet.
        let mut holdings: std::collections::HashMap<(Symbol, AssetKind), i64> =
            std::collections::HashMap::new();
        let mut holding_ids = Vec::with_capacity(rows.len());
        let now = OffsetDateTime::now_utc();
        for row in rows {
            let key = (row.symbol.clone(), row.kind);
            let id = match holdings.get(&key) {
                Some(id) => *id,
                None => {
                    let found: Option<Row> = sqlx::query_as(sql::FIND_HOLDING)
                        .bind(owner.0)
                        .bind(row.symbol.as_str())
                        .bind(row.kind.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let id = match found {
                        Some(h) => h.into_holding()?.id,
                        None => {
                            let fields = sql::import_holding(row);
                            let asset_id = Self::upsert_asset(&mut tx, owner, &fields).await?;
                            sqlx::query_scalar(sql::INSERT_HOLDING)
                                .bind(owner.0)
                                .bind(asset_id)
                                .bind(stored(rust_decimal::Decimal::ZERO))
                                .bind(None::<DecimalOf>)
                                .bind(None::<&str>)
                                .bind(now)
                                .fetch_one(&mut *tx)
                                .await
                                .map_err(StoreError::from_write)?
                        }
                    };
                    holdings.insert(key, id);
                    id
                }
            };
            holding_ids.push(id);
        }
        let mut written = 0;
        for (chunk, ids) in rows
            .chunks(sql::IMPORT_CHUNK)
            .zip(holding_ids.chunks(sql::IMPORT_CHUNK))
        {
            let mut insert = sqlx::QueryBuilder::new(sql::INSERT_TRANSACTIONS_HEAD);
            insert.push_values(chunk.iter().zip(ids), |mut b, (row, holding_id)| {
                let a = &row.fields.amounts;
                b.push_bind(owner.0)
                    .push_bind(*holding_id)
                    .push_bind(a.kind.as_str())
                    .push_bind(a.day)
                    .push_bind(a.quantity.map(stored))
                    .push_bind(a.price.map(stored))
                    .push_bind(a.amount.map(stored))
                    .push_bind(a.ratio.map(stored))
                    .push_bind(stored(a.fees))
                    .push_bind(row.fields.notes.clone())
                    .push_bind(now);
            });
            insert.build().execute(&mut *tx).await?;
            written += chunk.len();
            progress(written);
        }
        let mut touched: Vec<i64> = holdings.into_values().collect();
        touched.sort_unstable();
        for holding_id in touched {
            let txs = Self::holding_transactions(&mut tx, owner, holding_id).await?;
            let ledger = sql::replay(&txs)?;
            Self::set_derived(&mut tx, holding_id, &ledger).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn base_currency(&self, owner: OwnerId) -> StoreResult<String> {
        let currency: Option<String> = sqlx::query_scalar(sql::BASE_CURRENCY)
            .bind(owner.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(currency.unwrap_or_else(|| "USD".into()))
    }

    async fn set_base_currency(&self, owner: OwnerId, currency: &str) -> StoreResult<()> {
        let mut tx = self.begin_owner(owner).await?;
        sqlx::query(sql::SET_BASE_CURRENCY)
            .bind(currency)
            .bind(owner.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_to_watchlist(
        &self,
        owner: OwnerId,
        asset: &WatchFields,
        limit: usize,
    ) -> StoreResult<WatchEntry> {
        let fields = sql::watched_asset(asset)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::LOCK_OWNER)
            .bind(owner.0)
            .execute(&mut *tx)
            .await?;
        let asset_id = Self::upsert_asset(&mut tx, owner, &fields).await?;
        let watched: Option<i64> = sqlx::query_scalar(sql::WATCHED)
            .bind(owner.0)
            .bind(asset_id)
            .fetch_optional(&mut *tx)
            .await?;
        if watched.is_some() {
            return Err(StoreError::Conflict);
        }
        let count: i64 = sqlx::query_scalar(sql::COUNT_WATCHED)
            .bind(owner.0)
            .fetch_one(&mut *tx)
            .await?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= limit {
            return Err(StoreError::WatchlistFull);
        }
        let id: i64 = sqlx::query_scalar(sql::INSERT_WATCH)
            .bind(owner.0)
            .bind(asset_id)
            .bind(OffsetDateTime::now_utc())
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        tx.commit().await?;
        let row: Option<sql::WatchRow> = sqlx::query_as(sql::GET_WATCH)
            .bind(owner.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(sql::WatchRow::into_entry)
            .transpose()?
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "watchlist entry {id} vanished after it was written"
                ))
            })
    }

    async fn watchlist(&self, owner: OwnerId) -> StoreResult<Vec<WatchEntry>> {
        let rows: Vec<sql::WatchRow> = sqlx::query_as(sql::WATCHLIST)
            .bind(owner.0)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(sql::WatchRow::into_entry).collect()
    }

    async fn remove_from_watchlist(&self, owner: OwnerId, id: i64) -> StoreResult<bool> {
        let done = sqlx::query(sql::DELETE_WATCH)
            .bind(id)
            .bind(owner.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn holdings_version(&self, owner: OwnerId) -> StoreResult<i64> {
        let version: Option<i64> = sqlx::query_scalar(sql::HOLDINGS_VERSION)
            .bind(owner.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(version.unwrap_or(0))
    }

    async fn latest_quote(
        &self,
        symbol: &Symbol,
        kind: AssetKind,
    ) -> StoreResult<Option<StoredQuote>> {
        let row: Option<(String, OffsetDateTime)> = sqlx::query_as(sql::LATEST_QUOTE)
            .bind(symbol.as_str())
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|(json, fetched_at)| sql::stored_quote(&json, fetched_at))
            .transpose()
    }

    async fn save_quote(
        &self,
        kind: AssetKind,
        quote: &Quote,
        fetched_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(quote).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let fields = sql::market_asset(&quote.symbol, kind, quote);
        let mut tx = self.pool.begin().await?;
        let asset_id = Self::upsert_asset(&mut tx, DEFAULT_OWNER, &fields).await?;
        sqlx::query(sql::UPSERT_QUOTE)
            .bind(asset_id)
            .bind(json)
            .bind(&quote.source)
            .bind(fetched_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::UPSERT_PRICE)
            .bind(asset_id)
            .bind(quote.as_of.unwrap_or(fetched_at).date())
            .bind(quote.price)
            .bind(&quote.source)
            .bind(fetched_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn save_prices(
        &self,
        asset: &AssetKey,
        points: &[PricePoint],
        source: &str,
    ) -> StoreResult<()> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.pool.begin().await?;
        let fields = sql::asset_fields(asset);
        let asset_id = Self::upsert_asset(&mut tx, asset.owner, &fields).await?;
        for p in points {
            sqlx::query(sql::UPSERT_PRICE)
                .bind(asset_id)
                .bind(p.date)
                .bind(p.close)
                .bind(source)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        if !asset.kind.is_market_priced() {
            sqlx::query(sql::BUMP_VERSION)
                .bind(asset.owner.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn prices(&self, asset: &AssetKey, from: Date) -> StoreResult<Vec<PricePoint>> {
        let rows: Vec<(Date, Decimal)> = sqlx::query_as(sql::PRICES)
            .bind(asset.symbol.as_str())
            .bind(asset.kind.as_str())
            .bind(asset.owner_id())
            .bind(from)
            .fetch_all(&self.pool)
            .await?;
        sql::one_per_day(rows)
    }

    async fn claim_for_refresh(
        &self,
        stale_before: OffsetDateTime,
        claim_until: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<(Symbol, AssetKind)>> {
        let now = OffsetDateTime::now_utc();
        let candidates: Vec<(i64, String, String)> = sqlx::query_as(sql::REFRESH_CANDIDATES)
            .bind(stale_before)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut claimed = Vec::new();
        for (id, symbol, kind) in candidates {
            let done = sqlx::query(sql::CLAIM)
                .bind(claim_until)
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
            if done.rows_affected() == 1 {
                claimed.push(sql::parse_key(&symbol, &kind)?);
            }
        }
        Ok(claimed)
    }

    async fn needs_setup(&self) -> StoreResult<bool> {
        let with_password: i64 = sqlx::query_scalar(sql::NEEDS_SETUP)
            .fetch_one(&self.pool)
            .await?;
        Ok(with_password == 0)
    }

    async fn setup_admin(&self, username: &str, password_hash: &str) -> StoreResult<User> {
        let done = sqlx::query(sql::SETUP_ADMIN)
            .bind(username)
            .bind(password_hash)
            .bind(true)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        let user: Option<User> = sqlx::query_as(sql::USER_BY_ID)
            .bind(1_i64)
            .fetch_optional(&self.pool)
            .await?;
        user.ok_or_else(|| StoreError::Corrupt("the first account vanished".into()))
    }

    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> StoreResult<User> {
        let user = sqlx::query_as(sql::INSERT_USER)
            .bind(username)
            .bind(password_hash)
            .bind(is_admin)
            .bind(OffsetDateTime::now_utc())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        Ok(user)
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
        Ok(sqlx::query_as(sql::USER_BY_NAME)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        Ok(sqlx::query_as(sql::USERS).fetch_all(&self.pool).await?)
    }

    async fn set_password(&self, user: OwnerId, password_hash: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(sql::SET_PASSWORD)
            .bind(password_hash)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::DELETE_USER_SESSIONS)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        sqlx::query(sql::INSERT_SESSION)
            .bind(&session.id_hash)
            .bind(session.user.0)
            .bind(&session.csrf_token)
            .bind(session.created_at)
            .bind(session.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<Option<Session>> {
        let row: Option<sql::SessionRow> = sqlx::query_as(sql::SESSION)
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(sql::SessionRow::into_session))
    }

    async fn touch_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(sql::TOUCH_SESSION)
            .bind(id_hash)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query(sql::DELETE_SESSION)
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_token(
        &self,
        user: OwnerId,
        label: &str,
        prefix: &str,
        token_hash: &str,
    ) -> StoreResult<ApiToken> {
        let token = sqlx::query_as(sql::INSERT_TOKEN)
            .bind(user.0)
            .bind(label)
            .bind(prefix)
            .bind(token_hash)
            .bind(OffsetDateTime::now_utc())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        Ok(token)
    }

    async fn tokens(&self, user: OwnerId) -> StoreResult<Vec<ApiToken>> {
        Ok(sqlx::query_as(sql::TOKENS)
            .bind(user.0)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn revoke_token(&self, user: OwnerId, id: i64) -> StoreResult<bool> {
        let done = sqlx::query(sql::REVOKE_TOKEN)
            .bind(id)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn user_by_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<User>> {
        let row: Option<sql::TokenUserRow> = sqlx::query_as(sql::USER_BY_TOKEN)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        // Noted at most once a minute, so API calls rarely write.
        if row
            .last_used_at
            .is_none_or(|t| now - t > time::Duration::minutes(1))
        {
            sqlx::query(sql::TOKEN_USED)
                .bind(token_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(row.user))
    }
}
