//! Holdings and the watchlist.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Type};
use time::{Date, OffsetDateTime};

use super::{Conn, SqlStore};
use crate::domain::transaction::{TxEdit, opening_buy, quantity_from_transactions};
use crate::domain::{Holding, HoldingFields, OwnerId, TxKind, WatchEntry, WatchFields};
use crate::store::backend::Col;
use crate::store::sql::{self, HoldingRow};
use crate::store::{Backend, HoldingStore, StoreError, StoreResult};

#[async_trait]
impl<B: Backend> HoldingStore for SqlStore<B>
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
    async fn list_holdings(&self, owner: OwnerId) -> StoreResult<Vec<Holding>> {
        let rows: Vec<HoldingRow<B::Dec>> = sqlx::query_as(sql::LIST_HOLDINGS)
            .bind(owner.0)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(HoldingRow::into_holding).collect()
    }

    async fn get_holding(&self, owner: OwnerId, id: i64) -> StoreResult<Option<Holding>> {
        let row: Option<HoldingRow<B::Dec>> = sqlx::query_as(sql::GET_HOLDING)
            .bind(owner.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(HoldingRow::into_holding).transpose()
    }

    async fn find_holding(
        &self,
        owner: OwnerId,
        symbol: &crate::domain::Symbol,
        kind: crate::domain::AssetKind,
    ) -> StoreResult<Option<Holding>> {
        let row: Option<HoldingRow<B::Dec>> = sqlx::query_as(sql::FIND_HOLDING)
            .bind(owner.0)
            .bind(symbol.as_str())
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(HoldingRow::into_holding).transpose()
    }

    async fn create_holding(&self, owner: OwnerId, fields: &HoldingFields) -> StoreResult<Holding> {
        let mut tx = self.begin_owner(owner).await?;
        let now = OffsetDateTime::now_utc();
        let id = Self::insert_holding(&mut tx, owner, fields, now).await?;
        // The quantity and cost become the holding's opening buy, in the default account.
        let opening = opening_buy(fields, fields.opened.unwrap_or(now.date()));
        let opening = Self::in_account(&mut tx, owner, &opening, None).await?;
        Self::insert_transaction(&mut tx, owner, id, &opening).await?;
        tx.commit().await?;
        self.get_holding(owner, id)
            .await?
            .ok_or_else(|| StoreError::vanished("holding", id))
    }

    async fn update_holding(
        &self,
        owner: OwnerId,
        id: i64,
        fields: &HoldingFields,
    ) -> StoreResult<Option<Holding>> {
        let mut tx = self.begin_owner(owner).await?;
        let Some(current) = Self::holding_in(&mut tx, owner, id).await? else {
            return Ok(None);
        };
        let asset_id = Self::upsert_asset(&mut tx, owner, fields).await?;
        sqlx::query(sql::UPDATE_HOLDING)
            .bind(asset_id)
            .bind(B::stored(current.quantity))
            .bind(current.cost_basis.map(B::stored))
            .bind(fields.notes.as_deref())
            .bind(OffsetDateTime::now_utc())
            .bind(id)
            .bind(owner.0)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        let amounts_changed =
            current.quantity != fields.quantity || current.cost_basis != fields.cost_basis;
        if amounts_changed || fields.opened.is_some() {
            // Only a holding made by the simple form (one buy) can have them set by hand: its
            // opening buy changes with them.
            let txs = Self::holding_transactions(&mut tx, owner, id).await?;
            match txs.as_slice() {
                [only] if only.amounts.kind == TxKind::Buy => {
                    let day = fields.opened.unwrap_or(only.amounts.day);
                    if amounts_changed || day != only.amounts.day {
                        // The cost per unit given is an average, fees included: the rewritten
                        // buy carries it as its price, with no separate fees.
                        let mut opening = opening_buy(fields, day);
                        opening.notes = only.notes.clone();
                        opening.amounts.account = only.amounts.account;
                        Self::check_and_derive(
                            &mut tx,
                            owner,
                            id,
                            TxEdit::Update(only.id, &opening),
                        )
                        .await?;
                        Self::write_transaction(&mut tx, owner, only.id, &opening).await?;
                    }
                }
                txs => {
                    let moved = fields
                        .opened
                        .is_some_and(|day| txs.first().is_none_or(|t| t.amounts.day != day));
                    if amounts_changed || moved {
                        return Err(StoreError::Rule(quantity_from_transactions(
                            &current.asset.symbol,
                            txs.len(),
                        )));
                    }
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
        if B::rows_affected(&done) == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn holdings_version(&self, owner: OwnerId) -> StoreResult<i64> {
        let version: Option<i64> = sqlx::query_scalar(sql::HOLDINGS_VERSION)
            .bind(owner.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(version.unwrap_or(0))
    }

    async fn add_to_watchlist(
        &self,
        owner: OwnerId,
        asset: &WatchFields,
        limit: usize,
    ) -> StoreResult<WatchEntry> {
        let fields = sql::watched_asset(asset)?;
        let mut tx = self.pool.begin().await?;
        if let Some(lock) = B::LOCK_OWNER {
            sqlx::query(lock).bind(owner.0).execute(&mut *tx).await?;
        }
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
            return Err(StoreError::LimitReached);
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
            .ok_or_else(|| StoreError::vanished("watchlist entry", id))
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
        Ok(B::rows_affected(&done) > 0)
    }
}
