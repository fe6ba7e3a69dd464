//! Transactions: every write replays the holding's transactions in its database transaction.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Type};
use time::{Date, OffsetDateTime};

use super::{Conn, SqlStore};
use crate::domain::transaction::TxEdit;
use crate::domain::{ImportTx, OwnerId, Transaction, TxFields};
use crate::store::backend::Col;
use crate::store::sql::{self, TxRow};
use crate::store::{Backend, Batches, StoreError, StoreResult, TransactionStore};

#[async_trait]
impl<B: Backend> TransactionStore for SqlStore<B>
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
    async fn transactions(
        &self,
        owner: OwnerId,
        holding: Option<i64>,
    ) -> StoreResult<Vec<Transaction>> {
        let rows: Vec<TxRow<B::Dec>> = match holding {
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
        rows.into_iter().map(TxRow::into_transaction).collect()
    }

    async fn get_transaction(&self, owner: OwnerId, id: i64) -> StoreResult<Option<Transaction>> {
        let mut conn = self.pool.acquire().await?;
        Self::transaction_in(&mut conn, owner, id).await
    }

    async fn add_transaction(
        &self,
        owner: OwnerId,
        holding_id: i64,
        fields: &TxFields,
    ) -> StoreResult<Option<Transaction>> {
        let mut tx = self.begin_owner(owner).await?;
        let asset: Option<(String, String, String)> = sqlx::query_as(sql::HOLDING_ASSET)
            .bind(holding_id)
            .bind(owner.0)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((symbol, kind, currency)) = asset else {
            return Ok(None);
        };
        let (symbol, kind) = sql::parse_key(&symbol, &kind)?;
        let edit = TxEdit::Add {
            fields,
            symbol: &symbol,
            kind,
            currency: &currency,
        };
        Self::check_and_derive(&mut tx, owner, holding_id, edit).await?;
        let id = Self::insert_transaction(&mut tx, owner, holding_id, fields).await?;
        let saved = Self::transaction_in(&mut tx, owner, id).await?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn record_for_asset(&self, owner: OwnerId, row: &ImportTx) -> StoreResult<Transaction> {
        let mut tx = self.begin_owner(owner).await?;
        let now = OffsetDateTime::now_utc();
        let mut held = std::collections::HashMap::new();
        let ids =
            Self::holdings_for(&mut tx, owner, std::slice::from_ref(row), &mut held, now).await?;
        let holding_id = ids
            .first()
            .copied()
            .ok_or_else(|| StoreError::Corrupt("no holding for the row".into()))?;
        let edit = TxEdit::Add {
            fields: &row.fields,
            symbol: &row.symbol,
            kind: row.kind,
            currency: row.currency.as_deref().unwrap_or("USD"),
        };
        Self::check_and_derive(&mut tx, owner, holding_id, edit).await?;
        let id = Self::insert_transaction(&mut tx, owner, holding_id, &row.fields).await?;
        let saved = Self::transaction_in(&mut tx, owner, id)
            .await?
            .ok_or_else(|| StoreError::vanished("transaction", id))?;
        tx.commit().await?;
        Ok(saved)
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
        Self::check_and_derive(&mut tx, owner, holding_id, TxEdit::Update(id, fields)).await?;
        Self::write_transaction(&mut tx, owner, id, fields).await?;
        let saved = Self::transaction_in(&mut tx, owner, id).await?;
        tx.commit().await?;
        Ok(saved)
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
        Self::check_and_derive(&mut tx, owner, holding_id, TxEdit::Delete(id)).await?;
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
        batches: &mut Batches,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> StoreResult<usize> {
        let mut tx = self.begin_owner(owner).await?;
        let written = Self::import_rows(&mut tx, owner, batches, progress).await?;
        tx.commit().await?;
        Ok(written)
    }
}
